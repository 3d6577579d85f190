/**
 * The wasm backend's platform under Node: cores from node:os, kernel workers on worker_threads
 * (worker-node.ts). Node's modules are imported by a computed name when first used, so a browser
 * bundle that reaches this file (through descent/wasm) neither resolves nor loads them.
 */
import type { KernelWorker, WasmPlatform } from './platform.js';
import type { WorkerInit } from './protocol.js';

/**
 * The parts of node:os and node:worker_threads used here, typed locally: a browser bundle (the lab)
 * type-checks this file too, without Node's type declarations.
 */
interface NodeOs {
  availableParallelism(): number;
}
interface NodeWorker {
  once(event: 'message' | 'error' | 'exit', listener: (arg: unknown) => void): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  removeAllListeners(event: string): unknown;
  unref(): void;
  terminate(): unknown;
}
interface NodeWorkerThreads {
  Worker: new (url: URL, options: { workerData: unknown }) => NodeWorker;
}

/** A Node built-in, imported by a computed name so bundlers for the browser leave it alone. */
function nodeImport<T>(name: string): Promise<T> {
  return import(/* @vite-ignore */ name) as Promise<T>;
}

export const nodePlatform: WasmPlatform = {
  async cores() {
    const os = await nodeImport<NodeOs>('node:os');
    return os.availableParallelism();
  },
  canThread() {
    return true; // every Node ≥ 20 thread may share memory and block in Atomics.wait
  },
  async spawn(init: WorkerInit): Promise<KernelWorker> {
    const { Worker } = await nodeImport<NodeWorkerThreads>('node:worker_threads');
    const w = new Worker(new URL('./worker-node.js', import.meta.url), { workerData: init });
    await new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`wasm backend: kernel worker exited with code ${code} while starting`)));
    });
    w.removeAllListeners('exit');
    w.removeAllListeners('error');
    w.on('error', () => {});
    w.unref(); // an idle pool must not keep the process alive
    return w;
  },
};
