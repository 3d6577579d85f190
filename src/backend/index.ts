import { registerBackend, registerBackendHint } from './backend.js';
import { referenceBackend } from './reference.js';

export * from './backend.js';
export { referenceBackend } from './reference.js';

registerBackend(referenceBackend);
// The wasm backend and its embedded binary are in the descent/wasm entry (descent/node starts it).
registerBackendHint('wasm', "call `await initWasm()` (or `initWasmSync()` for one thread) from 'descent/wasm' first");
// The WebGPU backend registers itself when started (initWebGPU, in src/backend/webgpu); models move there with Module.to('webgpu').
registerBackendHint('webgpu', 'call `await initWebGPU()` first (in Node it needs the optional dependency webgpu, Dawn)');
