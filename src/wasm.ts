/**
 * descent/wasm — the WebAssembly backend, with its kernels' binary embedded: SIMD (relaxed SIMD
 * where the engine validates it) and, where shared memory and workers allow, worker threads.
 * Runs in Node and in browsers; the isomorphic `descent` entry does not include it.
 *
 *   import { ready } from 'descent/wasm';
 *   await ready();            // wasm made current (the reference backend where SIMD is missing)
 *
 * `descent/node` re-exports all of this and awaits `ready()` on import.
 */
export { ready } from './backend/ready.js';
export {
  initWasm,
  initWasmSync,
  setWasmThreads,
  setWinogradEnabled,
  shutdownWasmWorkers,
  wasmFloat32Array,
  wasmInfo,
  wasmPersistentBytes,
  type WasmOptions,
} from './backend/wasm/index.js';
