import { registerBackend } from './backend.js';
import { referenceBackend } from './reference.js';

export * from './backend.js';
export { referenceBackend } from './reference.js';
export { ready } from './ready.js';
export { initWasm, initWasmSync, setWasmThreads, wasmInfo, wasmFloat32Array, wasmPersistentBytes, shutdownWasmWorkers, setWinogradEnabled, type WasmOptions } from './wasm/index.js';

registerBackend(referenceBackend);
