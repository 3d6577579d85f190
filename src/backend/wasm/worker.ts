/**
 * A kernel worker's loop: instantiates the kernels on the shared memory, then claims parts of the
 * jobs that the main thread posts (see protocol.ts) forever. worker-node.ts (Node's
 * worker_threads: init data in workerData) and worker-browser.ts (a module Web Worker: init data
 * in the first message) are the scripts that start it.
 */
import { SEQ, SEQ_SLEEPERS, SPIN_MS, KERNEL_FNS, runParts, spinThenWait, type WorkerInit } from './protocol.js';

export function serve(init: WorkerInit, ready: () => void): never {
  const instance = new WebAssembly.Instance(init.module as WebAssembly.Module, {
    env: {
      memory: init.memory as WebAssembly.Memory,
      abort: () => {
        throw new Error('wasm kernel abort');
      },
    },
  });
  const fns = KERNEL_FNS.map((name) => instance.exports[name] as (...a: number[]) => void);
  // The control block is in the first pages, so views made now stay valid after memory.grow.
  const i32 = new Int32Array(init.memory.buffer);
  const f64 = new Float64Array(init.memory.buffer);
  const base = init.ctl >> 2;
  let seen = Atomics.load(i32, base + SEQ);
  ready();
  for (;;) {
    seen = spinThenWait(i32, base + SEQ, (seq) => seq !== seen, SPIN_MS, base + SEQ_SLEEPERS);
    runParts(i32, f64, base, seen, fns, true);
  }
}
