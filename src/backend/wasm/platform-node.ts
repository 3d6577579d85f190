/**
 * The wasm backend's platform under Node: cores from node:os, kernel workers on worker_threads
 * (worker-node.ts). Node's modules are imported by a computed name when first used, so a browser
 * bundle that reaches this file (through descent/wasm) neither resolves nor loads them.
 */
import type * as NodeOs from 'node:os';
import type * as NodeWorkerThreads from 'node:worker_threads';
import type { KernelWorker, WasmPlatform } from './platform.js';
import type { WorkerInit } from './protocol.js';

/** A Node built-in, imported by a computed name so bundlers for the browser leave it alone. */
function nodeImport<T>(name: string): Promise<T> {
  return import(/* @vite-ignore */ name) as Promise<T>;
}

export const nodePlatform: WasmPlatform = {
  async cores() {
    const os = await nodeImport<typeof NodeOs>('node:os');
    return os.availableParallelism();
  },
  canThread() {
    return true; // every Node ≥ 20 thread may share memory and block in Atomics.wait
  },
  async spawn(init: WorkerInit): Promise<KernelWorker> {
    const { Worker } = await nodeImport<typeof NodeWorkerThreads>('node:worker_threads');
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
