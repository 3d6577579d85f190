/**
 * What the wasm backend needs from the runtime it runs in, beyond WebAssembly itself: how many
 * cores there are, whether kernel workers can share this thread's memory, and how to start one.
 * Node's answer is platform-node.ts (worker_threads, node:os), a browser's platform-browser.ts
 * (Web Workers, navigator); index.ts picks one. Everything else of the backend is isomorphic.
 */
import type { WorkerInit } from './protocol.js';

/** A started kernel worker: serving jobs on the shared memory until terminated. */
export interface KernelWorker {
  terminate(): unknown;
}

export interface WasmPlatform {
  /** Logical cores available to this program (≥ 1). */
  cores(): Promise<number>;
  /** True where kernel workers can run on this thread's shared memory and this thread may block in Atomics.wait. */
  canThread(): boolean;
  /** Starts a kernel worker on `init` and resolves once it serves jobs (rejects if it fails to start). */
  spawn(init: WorkerInit): Promise<KernelWorker>;
}
