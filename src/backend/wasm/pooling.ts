/**
 * Pooling (asm/pool.ts): max and average pooling and their backwards. Memory-bound: one pass over
 * the input, split by (n, c) planes over the threads only for inputs of POOL_PARALLEL elements
 * touched or more.
 */
import type { PoolGeometry } from '../backend.js';
import { referenceBackend } from '../reference.js';
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, SMALL_ELEMENTWISE, cut, f32, geometryBlock, putI32, takeI32 } from './context.js';
import type { KernelArgs } from './runtime.js';
import type { KernelFn } from './protocol.js';

/**
 * Below this many elements touched (poolWork) a pooling kernel runs on one thread. A pooling is a
 * single pass over memory whose operand copies run on the calling thread before and after it, so
 * a second thread shortens only the pass itself, and a late worker delays the whole step: only
 * inputs far bigger than W2's pools (3.2 M and 1.6 M elements touched) are split.
 */
export const POOL_PARALLEL = 1 << 22;
/** Elements a pooling kernel touches: the input once, each window once per output. */
export const poolWork = (g: PoolGeometry): number => g.n * g.c * (g.h * g.w + g.oh * g.ow * g.kh * g.kw);

/**
 * Outputs from which fractional max pooling's arg-max splits its planes over the threads. Each
 * output scans a window of 1–3 × 1–3 cells with scalar compares, ~10 ns (64 × 16 × 28 × 28 → 19 × 19,
 * 370 k outputs: 3.9 ms on one thread, where maxPool2d 2 × 2 takes 0.39 ms over the same input), so
 * inputs far below POOL_PARALLEL are worth a second thread.
 */
export const FMP_PARALLEL = 1 << 14;

type PoolFn = 'maxPool2d' | 'scatterPlanes' | 'avgPool2d' | 'avgPool2dBackward' | 'fmpArgmax';

/** Runs pooling kernel `fn` over planes [0, planes), cut into parts when `work` (elements touched) is POOL_PARALLEL or more. */
export function overPlanes<F extends KernelFn>(
  { rt, partsFor }: WasmContext,
  fn: F,
  planes: number,
  work: number,
  args: (p0: number, p1: number) => KernelArgs<F>,
): void {
  const T = work >= POOL_PARALLEL ? partsFor(work, planes, 4) : 1;
  const parts: KernelArgs<F>[] = [];
  for (let t = 0; t < T; t++) {
    const [p0, p1] = cut(planes, T, t, 1);
    parts.push(args(p0, p1));
  }
  rt.parallel(fn, parts);
}

export function poolingOps(cx: WasmContext): Pick<WasmOps, PoolFn> {
  const { rt } = cx;
  const overPlanesOf = <F extends KernelFn>(fn: F, planes: number, work: number, args: (p0: number, p1: number) => KernelArgs<F>) =>
    overPlanes(cx, fn, planes, work, args);

  function maxPool2d(x: Storage, out: Storage, idx: Int32Array, g: PoolGeometry): void {
    if (!f32(x, out) || x.length < SMALL_ELEMENTWISE) return referenceBackend.maxPool2d(x, out, idx, g);
    rt.reset();
    const px = rt.put(x as Float32Array),
      po = rt.outPtr(out as Float32Array),
      pi = rt.alloc(idx.length * 4),
      geo = geometryBlock(rt, g);
    overPlanesOf('maxPool2d', g.n * g.c, poolWork(g), (p0, p1) => [px, po, pi, geo, p0, p1]);
    rt.take(po, out as Float32Array);
    takeI32(rt, pi, idx);
  }

  function scatterPlanes(gy: Storage, idx: Int32Array, gx: Storage, planes: number, inPlane: number, outPlane: number): void {
    if (!f32(gy, gx) || gx.length < SMALL_ELEMENTWISE) return referenceBackend.scatterPlanes(gy, idx, gx, planes, inPlane, outPlane);
    rt.reset();
    const pgy = rt.put(gy as Float32Array),
      pi = putI32(rt, idx),
      pgx = rt.outPtr(gx as Float32Array);
    overPlanesOf('scatterPlanes', planes, planes * (inPlane + outPlane), (p0, p1) => [pgy, pi, pgx, inPlane, outPlane, p0, p1]);
    rt.take(pgx, gx as Float32Array);
  }

  function avgPool2d(x: Storage, out: Storage, g: PoolGeometry, countIncludePad: boolean): void {
    if (!f32(x, out) || x.length < SMALL_ELEMENTWISE) return referenceBackend.avgPool2d(x, out, g, countIncludePad);
    rt.reset();
    const px = rt.put(x as Float32Array),
      po = rt.outPtr(out as Float32Array),
      geo = geometryBlock(rt, g);
    overPlanesOf('avgPool2d', g.n * g.c, poolWork(g), (p0, p1) => [px, po, geo, +countIncludePad, p0, p1]);
    rt.take(po, out as Float32Array);
  }

  function avgPool2dBackward(gy: Storage, gx: Storage, g: PoolGeometry, countIncludePad: boolean): void {
    if (!f32(gy, gx) || gx.length < SMALL_ELEMENTWISE) return referenceBackend.avgPool2dBackward(gy, gx, g, countIncludePad);
    rt.reset();
    const pgy = rt.put(gy as Float32Array),
      pgx = rt.outPtr(gx as Float32Array),
      geo = geometryBlock(rt, g);
    overPlanesOf('avgPool2dBackward', g.n * g.c, poolWork(g), (p0, p1) => [pgy, pgx, geo, +countIncludePad, p0, p1]);
    rt.take(pgx, gx as Float32Array);
  }

  function fmpArgmax(
    x: Storage,
    idx: Int32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    rows: Int32Array,
    cols: Int32Array,
    oh: number,
    ow: number,
  ): boolean {
    if (!f32(x)) return false;
    rt.reset();
    const px = rt.put(x as Float32Array),
      pi = rt.alloc(idx.length * 4),
      pr = putI32(rt, rows),
      pc = putI32(rt, cols);
    const outputs = n * c * oh * ow;
    overPlanesOf('fmpArgmax', n * c, outputs >= FMP_PARALLEL ? POOL_PARALLEL : 0, (p0, p1) => [px, pi, pr, pc, c, h, w, oh, ow, p0, p1]);
    takeI32(rt, pi, idx);
    return true;
  }

  return { maxPool2d, scatterPlanes, avgPool2d, avgPool2dBackward, fmpArgmax };
}
