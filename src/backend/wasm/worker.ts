/**
 * A kernel worker: instantiates the kernels on the shared memory, then loops forever claiming
 * parts of the jobs that the main thread posts (see protocol.ts). Runs under Node's worker_threads
 * (init data in workerData) or as a browser Web Worker (init data in the first message).
 */
import { SEQ, SPIN_MS, KERNEL_FNS, runParts, spinThenWait, type WorkerInit } from './protocol.js';

function serve(init: WorkerInit, ready: () => void): never {
  const instance = new WebAssembly.Instance(init.module as WebAssembly.Module, {
    env: { memory: init.memory as WebAssembly.Memory, abort: () => { throw new Error('wasm kernel abort'); } },
  });
  const fns = KERNEL_FNS.map((name) => instance.exports[name] as (...a: number[]) => void);
  // The control block is in the first pages, so views made now stay valid after memory.grow.
  const i32 = new Int32Array(init.memory.buffer);
  const f64 = new Float64Array(init.memory.buffer);
  const base = init.ctl >> 2;
  let seen = Atomics.load(i32, base + SEQ);
  ready();
  for (;;) {
    seen = spinThenWait(i32, base + SEQ, (seq) => seq !== seen, SPIN_MS);
    runParts(i32, f64, base, seen, fns, true);
  }
}

declare const self: { onmessage: ((e: { data: WorkerInit }) => void) | null; postMessage(m: unknown): void } | undefined;

const isNode = typeof globalThis.process === 'object' && typeof (globalThis.process as { versions?: { node?: string } }).versions?.node === 'string';
if (isNode) {
  const name = 'node:worker_threads'; // computed, so browser bundlers leave it alone
  // The parts of node:worker_threads used, typed locally: this module type-checks without Node's types.
  const wt = (await import(/* @vite-ignore */ name)) as { workerData: unknown; parentPort: { postMessage(m: unknown): void } | null };
  serve(wt.workerData as WorkerInit, () => wt.parentPort!.postMessage('ready'));
} else if (typeof self !== 'undefined') {
  self.onmessage = (e) => serve(e.data, () => self!.postMessage('ready'));
}
