/**
 * `await ready()`: the one line a program needs for the fastest backend this runtime allows — the
 * wasm backend (WebAssembly SIMD; relaxed SIMD where the engine validates it; worker threads where
 * shared memory and workers are available: always in Node, in browsers inside a Web Worker on a
 * cross-origin-isolated page) made current. Exported by `descent/wasm`; the Node entry
 * (`descent/node`) awaits it on import, so a Node program needs no line at all. The reference
 * backend stays one call away: `setBackend('reference')`.
 *
 * Runs in Node and browsers; not part of the isomorphic `descent` entry, which leaves the wasm
 * backend and its binary out.
 */
import { backend, setBackend, type Backend } from './backend.js';
import { initWasm, type WasmOptions } from './wasm/index.js';

let started: Promise<Backend> | null = null;

/**
 * Starts the wasm backend (once: later calls return the first call's promise) and makes it current.
 * Where WebAssembly SIMD is missing (engines older than 2021) it leaves the reference backend
 * current and resolves to it; `backend().name` says which runs.
 */
export function ready(opts: WasmOptions = {}): Promise<Backend> {
  started ??= initWasm(opts).then(
    () => setBackend('wasm'),
    () => backend(),
  );
  return started;
}
