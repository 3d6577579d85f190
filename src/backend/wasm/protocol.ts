/**
 * The job protocol between the main thread and the kernel workers, over a control block in the
 * shared WebAssembly memory (no postMessage per job: a message costs tens of µs, an atomic store
 * and a notify cost well under one).
 *
 * One slot of SLOT_BYTES per worker, at `ctl + index·SLOT_BYTES`:
 *   i32[0] seq    bumped by the main thread when a job is posted (the worker waits on it)
 *   i32[1] done   set to seq by the worker when the job is finished (the main thread waits on it)
 *   i32[2] fn     index into KERNEL_FNS
 *   i32[3] nargs
 *   i32[4] error  non-zero if the job threw (the message is lost; the main thread rethrows)
 *   f64[4..]      arguments (pointers, sizes and floats all fit in a double)
 */
export const SLOT_BYTES = 256;
export const MAX_ARGS = 24;
export const SEQ = 0, DONE = 1, FN = 2, NARGS = 3, ERROR = 4;
export const ARGS_F64 = 4; // f64 index of the first argument within a slot

/** Kernels a worker may run (exports of asm/kernels.ts). */
export const KERNEL_FNS = ['gemm', 'conv2dForward', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'adam', 'sgd', 'binary', 'unary'] as const;
export type KernelFn = (typeof KERNEL_FNS)[number];

/** How long an idle worker spins before it blocks in Atomics.wait (waking a blocked one costs ~50 µs). */
export const SPIN_MS = 2;

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctl: number;
  index: number;
}
