/**
 * A kernel worker: instantiates the kernels on the shared memory, then loops forever running the
 * jobs that the main thread posts in its control slot (see protocol.ts). Runs under Node's
 * worker_threads (init data in workerData) or as a browser Web Worker (init data in the first
 * message).
 */
import { SLOT_BYTES, SEQ, DONE, FN, NARGS, ERROR, ARGS_F64, KERNEL_FNS, SPIN_MS, type WorkerInit } from './protocol.js';

type Fn = (...args: number[]) => void;

function serve(init: WorkerInit, ready: () => void): never {
  const instance = new WebAssembly.Instance(init.module, {
    env: { memory: init.memory, abort: () => { throw new Error('wasm kernel abort'); } },
  });
  const fns = KERNEL_FNS.map((name) => instance.exports[name] as Fn);
  const base = init.ctl + init.index * SLOT_BYTES;
  // The control block is in the first pages, so views made now stay valid after memory.grow.
  const i32 = new Int32Array(init.memory.buffer, base, SLOT_BYTES / 4);
  const f64 = new Float64Array(init.memory.buffer, base, SLOT_BYTES / 8);
  let seen = Atomics.load(i32, SEQ);
  ready();
  for (;;) {
    let seq = Atomics.load(i32, SEQ);
    if (seq === seen) {
      const until = performance.now() + SPIN_MS;
      for (let spins = 0; seq === seen; spins++) {
        if ((spins & 1023) === 1023 && performance.now() > until) {
          Atomics.wait(i32, SEQ, seen);
        }
        seq = Atomics.load(i32, SEQ);
      }
    }
    seen = seq;
    const n = i32[NARGS];
    const args = new Array<number>(n);
    for (let i = 0; i < n; i++) args[i] = f64[ARGS_F64 + i];
    try {
      fns[i32[FN]](...args);
      i32[ERROR] = 0;
    } catch {
      i32[ERROR] = 1;
    }
    Atomics.store(i32, DONE, seq);
    Atomics.notify(i32, DONE);
  }
}

declare const self: { onmessage: ((e: { data: WorkerInit }) => void) | null; postMessage(m: unknown): void } | undefined;

const isNode = typeof globalThis.process === 'object' && typeof (globalThis.process as { versions?: { node?: string } }).versions?.node === 'string';
if (isNode) {
  const name = 'node:worker_threads'; // computed, so browser bundlers leave it alone
  const wt = (await import(/* @vite-ignore */ name)) as typeof import('node:worker_threads');
  serve(wt.workerData as WorkerInit, () => wt.parentPort!.postMessage('ready'));
} else if (typeof self !== 'undefined') {
  self.onmessage = (e) => serve(e.data, () => self!.postMessage('ready'));
}
