/**
 * What the wasm backend's op families (dense.ts, convolution.ts, pooling.ts, math.ts, updates.ts,
 * memory.ts) share: the runtime, how many threads a kernel may use, how a kernel is cut into parts,
 * and how a geometry block is written. Every op has the same shape: copy the operands into the
 * runtime's transient arena (skipped for arrays that already live in WebAssembly memory), run the
 * kernel — split over the worker threads when the work is big enough to pay for the hand-off — and
 * copy the result out. Only float32 is fast; an op given float64 operands goes to the reference.
 */
import type { KernelSet, Conv2dGeometry, PoolGeometry } from '../backend.js';
import type { Storage } from '../../tensor/tensor.js';
import type { WasmRuntime } from './runtime.js';
import { MAX_PARTS } from './protocol.js';
import {
  GEO_N,
  GEO_C,
  GEO_H,
  GEO_W,
  GEO_K,
  GEO_KH,
  GEO_KW,
  GEO_OH,
  GEO_OW,
  GEO_SH,
  GEO_SW,
  GEO_PH,
  GEO_PW,
  GEO_DH,
  GEO_DW,
  GEO_G,
  GEO_INTS,
  GEO_POOL,
  GEO_RELU,
  CONV_POOL_INTS,
} from './abi.generated.js';

/**
 * Below this many multiply-adds a product runs on one thread: handing parts to the workers costs
 * an atomic store, a notify and a wake-up (protocol.ts), which a product this small does not repay.
 */
export const PARALLEL_MACS = 1 << 19;
/** Below this many elements a memory-bound op stays in plain JS (the copies cost more than they save). */
export const SMALL_ELEMENTWISE = 1 << 11;

/** The backend methods the families provide; each family returns its `Pick` of it and ops.ts merges them. */
export type WasmOps = KernelSet;

/** The runtime and the thread budget, as every family's ops see them. */
export interface WasmContext {
  readonly rt: WasmRuntime;
  /**
   * How many parts to cut a kernel into: 1 below PARALLEL_MACS or on one thread, else `perThread`
   * parts per thread (threads claim parts dynamically, so more parts balance a late worker, at the
   * price of re-packing a GEMM operand once per part), at most `items`.
   */
  partsFor(macs: number, items: number, perThread: number): number;
}

export function makeContext(rt: WasmRuntime, maxThreads: () => number): WasmContext {
  return {
    rt,
    partsFor(macs, items, perThread) {
      const T = Math.min(maxThreads(), rt.threads);
      return macs >= PARALLEL_MACS && T > 1 ? Math.max(1, Math.min(T * perThread, items, MAX_PARTS)) : 1;
    },
  };
}

/** True when every operand given is float32 (null: an operand the op does not have). */
export const f32 = (...xs: (Storage | null)[]): boolean => xs.every((x) => x === null || x instanceof Float32Array);

/** [start, end) of part t when `total` items are cut in `parts` pieces whose starts are multiples of `unit`. */
export function cut(total: number, parts: number, t: number, unit: number): [number, number] {
  const units = Math.ceil(total / unit);
  const lo = Math.min(total, Math.round((units * t) / parts) * unit);
  const hi = Math.min(total, Math.round((units * (t + 1)) / parts) * unit);
  return [lo, hi];
}

/** An Int32Array copied into the arena; its address. */
export function putI32(rt: WasmRuntime, a: Int32Array): number {
  const p = rt.alloc(a.length * 4);
  rt.i32.set(a, p >> 2);
  rt.copiedBytes += a.length * 4;
  return p;
}

/** The Int32Array at arena address p copied out into `a` (its length). */
export function takeI32(rt: WasmRuntime, p: number, a: Int32Array): void {
  a.set(rt.i32.subarray(p >> 2, (p >> 2) + a.length));
  rt.copiedBytes += a.length * 4;
}

/** Writes a geometry block (asm/geometry.ts) at i32 index `at`; a pooling's K is its C. */
function writeGeometry(i32: Int32Array, at: number, g: Conv2dGeometry | PoolGeometry): void {
  i32[at + GEO_N] = g.n;
  i32[at + GEO_C] = g.c;
  i32[at + GEO_H] = g.h;
  i32[at + GEO_W] = g.w;
  i32[at + GEO_K] = 'k' in g ? g.k : g.c;
  i32[at + GEO_KH] = g.kh;
  i32[at + GEO_KW] = g.kw;
  i32[at + GEO_OH] = g.oh;
  i32[at + GEO_OW] = g.ow;
  i32[at + GEO_SH] = g.strideH;
  i32[at + GEO_SW] = g.strideW;
  i32[at + GEO_PH] = g.padH;
  i32[at + GEO_PW] = g.padW;
  const conv = 'groups' in g;
  i32[at + GEO_DH] = conv ? g.dilationH : 1;
  i32[at + GEO_DW] = conv ? g.dilationW : 1;
  i32[at + GEO_G] = conv ? g.groups : 1;
}

/** A convolution's or a pooling's geometry block in the arena; its address. */
export function geometryBlock(rt: WasmRuntime, g: Conv2dGeometry | PoolGeometry): number {
  const p = rt.alloc(GEO_INTS * 4);
  writeGeometry(rt.i32, p >> 2, g);
  return p;
}

/** A convolution + max pooling block in the arena (the convolution's geometry, the pooling's, the ReLU flag); its address. */
export function convPoolBlock(rt: WasmRuntime, g: Conv2dGeometry, pg: PoolGeometry, relu: boolean): number {
  const p = rt.alloc(CONV_POOL_INTS * 4);
  writeGeometry(rt.i32, p >> 2, g);
  writeGeometry(rt.i32, (p >> 2) + GEO_POOL, pg);
  rt.i32[(p >> 2) + GEO_RELU] = +relu;
  return p;
}
