/**
 * The job protocol between the main thread and the kernel workers, over a control block in the
 * shared WebAssembly memory: a job is posted with atomic stores and a notify, not with a
 * postMessage, which goes through the event loop and a structured clone.
 *
 * A job is a kernel cut into parts (more parts than threads). Every thread, the caller included,
 * claims parts with a compare-and-swap on TICKET until none is left, so a worker that wakes late
 * (a wake-up from Atomics.wait is slow, and slower still on a loaded machine) simply finds less or
 * no work, and the caller never waits for a part nobody has started. A claim takes a quarter of
 * the parts left (at least one), and a thread adds its count to DONE once, when it finds no part
 * left: every atomic on the control block moves a cache line between the cores, so a job costs a
 * few claims per thread rather than one per part.
 *
 * The caller claims parts from the front, the workers from the back. Parts are cut in the same
 * order from one call to the next (a product's columns, a parameter's rows), so the caller keeps
 * computing on the low end of each operand and the worker on the high end: the rows of W that
 * one core updates in Adam are the rows it packs in the next forward, still in its cache.
 *
 * i32 slots at `ctl`:
 *   SEQ     bumped when a job is posted (idle workers wait on it)
 *   TICKET  (seq & 0xffff) << 16 | back << 8 | front: parts [front, back) are unclaimed (back
 *           starts at the part count). A claim is valid only for the current job, and only while
 *           front < back in that same word (a thread that read the count from a slot of its own
 *           could see the next job's count while the caller is still writing that job, claim a
 *           part of the finished one and run it on half-written arguments)
 *   DONE    parts finished, added by each thread when it runs out of parts (the caller waits
 *           until all are)
 *   FN, NARGS, ERROR
 *   SEQ_SLEEPERS, DONE_SLEEPERS  threads blocked (or about to block) in Atomics.wait on SEQ, on DONE
 * f64 arguments from byte ctl + ARGS_BYTE: part p's arguments at [p·NARGS, (p+1)·NARGS).
 */
import type { KernelExports } from './abi.generated.js';

export const SEQ = 0,
  TICKET = 1,
  DONE = 2,
  FN = 3,
  NARGS = 4,
  ERROR = 5,
  SEQ_SLEEPERS = 6,
  DONE_SLEEPERS = 7;
export const ARGS_BYTE = 64;
export const MAX_PARTS = 32; // ≤ 255: TICKET holds front and back in 8 bits each
export const MAX_ARGS = 16;
export const CTL_BYTES = ARGS_BYTE + MAX_PARTS * MAX_ARGS * 8;

/** Kernels a worker may run (exports of asm/exports.ts; FN holds the index in this list). */
export const KERNEL_FNS = [
  'gemm',
  'conv2dForward',
  'conv2dLayerBackward',
  'convPoolForward',
  'convPoolBackward',
  'adam',
  'sgd',
  'binary',
  'unary',
  'maxPool2d',
  'scatterPlanes',
  'fmpArgmax',
  'avgPool2d',
  'avgPool2dBackward',
  'gemmPackedA',
  'gemmPackedB',
  'logSoftmax',
  'bnStats',
  'bnApply',
  'bnBackward',
  'bnPoolScatter',
  'activationForward',
  'lstmRows',
  'gruRows',
  'rnnRows',
  'lstmBackRows',
  'gruBackRows',
  'rnnBackRows',
  'gemmBatch',
  'lnForward',
  'lnBackward',
  'rmsForward',
  'rmsBackward',
  'attnForward',
  'attnBackward',
  'dropoutMask',
  'dropoutApply',
] as const satisfies readonly (keyof KernelExports)[];
export type KernelFn = (typeof KERNEL_FNS)[number];

/**
 * How long an idle worker spins before it blocks in Atomics.wait. Waking a blocked worker costs
 * the poster an Atomics.notify, which on the 2-vCPU benchmark VM took 40–140 µs on average (up to
 * milliseconds under load; a worker woken every 2 ms, 300 wakes); spinning longer saves those
 * wakes (W6: 20 ms left 50 of ~700 a profile run) but took a core from the main thread on the
 * loaded VM (W6's step 230 → 270–330 ms with other processes running), so a worker spins briefly.
 */
export const SPIN_MS = 1;

/**
 * WebAssembly.Module and WebAssembly.Memory as the declarations name them: local structural types, so
 * the published .d.ts type-check without a lib that declares the WebAssembly namespace (ES2022 with
 * Node 20's types has none, and the DOM lib is not a requirement of the package).
 */
export type WasmModuleHandle = object;
export interface WasmMemoryHandle {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WorkerInit {
  module: WasmModuleHandle;
  memory: WasmMemoryHandle;
  ctl: number;
  index: number;
}

type Fn = (...args: number[]) => void;

/**
 * Reads i32[index] until `ready` accepts it: spinning for `spinMs` (the clock read every 256
 * loads), then blocked in Atomics.wait (at most `waitMs` at a time) until a notify. Returns the
 * accepted value. Both sides of the protocol wait this way: a worker for the next job, the caller
 * for the workers' last parts. While blocked the thread counts itself in i32[sleepers], so that
 * `wake` skips the notify when nobody sleeps (see there).
 */
export function spinThenWait(
  i32: Int32Array,
  index: number,
  ready: (v: number) => boolean,
  spinMs: number,
  sleepers: number,
  waitMs = Infinity,
): number {
  const until = performance.now() + spinMs;
  for (let spins = 1; ; spins++) {
    const v = Atomics.load(i32, index);
    if (ready(v)) return v;
    if ((spins & 255) === 0 && performance.now() > until) {
      Atomics.add(i32, sleepers, 1);
      Atomics.wait(i32, index, v, waitMs);
      Atomics.sub(i32, sleepers, 1);
    }
  }
}

/**
 * Atomics.notify on i32[index] only when a thread counts itself in i32[sleepers]: the notify is
 * the costly part of posting a job (see SPIN_MS). Called after the store to i32[index]. A thread
 * that is about to block adds itself before its Atomics.wait(index, v): the atomics are
 * sequentially consistent, so either this load sees the count (and notifies), or the add comes
 * after it and so after the store, and the wait then finds i32[index] ≠ v and returns at once.
 */
export function wake(i32: Int32Array, index: number, sleepers: number): void {
  if (Atomics.load(i32, sleepers) > 0) Atomics.notify(i32, index);
}

/** TICKET's value for job `seq` with parts [front, back) unclaimed (a new job: front 0, back = its part count). */
export function ticket(seq: number, back: number, front = 0): number {
  return ((seq & 0xffff) << 16) | (back << 8) | front;
}

/**
 * Claims and runs parts of the current job `seq` until none is left; returns how many it ran.
 * Shared by the caller (from the front) and the workers (`fromBack`).
 */
export function runParts(i32: Int32Array, f64: Float64Array, base: number, seq: number, fns: readonly Fn[], fromBack = false): number {
  const tag = ((seq & 0xffff) << 16) | 0; // as an i32, like the values Atomics returns
  let ran = 0;
  for (;;) {
    const t = Atomics.load(i32, base + TICKET);
    if ((t & ~0xffff) !== tag) break;
    const front = t & 0xff,
      back = (t >> 8) & 0xff;
    if (front >= back) break;
    // a quarter of what is left (at least one part): few claims while much is left, single parts
    // at the end so the threads still finish together
    const take = Math.max(1, (back - front) >> 2);
    if (Atomics.compareExchange(i32, base + TICKET, t, fromBack ? t - 256 * take : t + take) !== t) continue;
    // The claim succeeded, so the job cannot change until these parts are done: read them now.
    const n = i32[base + NARGS],
      fn = fns[i32[base + FN]];
    for (let q = 0; q < take; q++) {
      const part = fromBack ? back - 1 - q : front + q;
      const a0 = ((base << 2) + ARGS_BYTE) / 8 + part * n;
      const args = new Array<number>(n);
      for (let i = 0; i < n; i++) args[i] = f64[a0 + i];
      try {
        fn(...args);
      } catch {
        Atomics.store(i32, base + ERROR, 1);
      }
    }
    ran += take;
  }
  // One add and one notify per thread and job, not per part: each is a cache line (and V8's
  // futex mutex) taken from the other core. The caller waits for DONE to reach the part count;
  // a thread gets here only once its claimed parts are finished.
  if (ran) {
    Atomics.add(i32, base + DONE, ran);
    wake(i32, base + DONE, base + DONE_SLEEPERS);
  }
  return ran;
}
