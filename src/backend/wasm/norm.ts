/**
 * Batch normalisation (asm/norm.ts): the batchNorm and batchNormBackward extensions, and
 * batchNormPool/batchNormPoolBackward, which add max pooling (asm/pool.ts's kernels) after it. Each
 * is one call that copies its operands into the arena once and runs its passes there — the
 * statistics, then the normalisation (then the pooling); the sums, then the input's gradient — split
 * by channels over the threads when the tensor is big. With pooling, the full-size normalised
 * values and their gradient exist only in the arena, never as arrays of their own. Only float32
 * runs here; the caller's float64 loops (src/nn/batchnorm.ts) take what these decline.
 */
import type { IndexStorage, Storage } from '../../tensor/tensor.js';
import type { PoolGeometry } from '../backend.js';
import { type WasmContext, type WasmOps, SMALL_ELEMENTWISE, cut, f32, geometryBlock, putI32, takeI32 } from './context.js';
import { overPlanes, poolWork } from './pooling.js';
import type { KernelArgs } from './runtime.js';

type NormFn = 'bnStats' | 'bnApply' | 'bnBackward';
/** Float64 slots per channel in a kernel's channel block (asm/norm.ts CH_SLOTS). */
const SLOTS = 4;

export function normOps(cx: WasmContext): Pick<WasmOps, 'batchNorm' | 'batchNormBackward' | 'batchNormPool' | 'batchNormPoolBackward'> {
  const { rt, partsFor } = cx;
  /** Runs `fn` over channels [0, c), in parts when `work` (values read and written) is big. */
  function overChannels<F extends NormFn>(fn: F, c: number, work: number, args: (c0: number, c1: number) => KernelArgs<F>): void {
    const T = partsFor(work, c, 2);
    const parts: KernelArgs<F>[] = [];
    for (let t = 0; t < T; t++) {
      const [c0, c1] = cut(c, T, t, 1);
      if (c1 > c0) parts.push(args(c0, c1));
    }
    rt.parallel(fn, parts);
  }

  /** A channel block in the arena: each channel's three constants from `at`; its address. */
  function channelBlock(c: number, at: (ch: number) => readonly [number, number, number]): number {
    const p = rt.alloc(c * SLOTS * 8);
    const f = rt.f64;
    for (let ch = 0, o = p >> 3; ch < c; ch++, o += SLOTS) {
      const v = at(ch);
      f[o] = v[0];
      f[o + 1] = v[1];
      f[o + 2] = v[2];
    }
    return p;
  }

  /**
   * In the arena: with `batchStats` the channels' statistics of the values at px into mean and
   * variance, then the normalised values (ReLU when relu) at po.
   */
  function normalise(
    px: number,
    po: number,
    size: number,
    n: number,
    c: number,
    inner: number,
    mean: Float64Array,
    variance: Float64Array,
    eps: number,
    batchStats: boolean,
    w: Float32Array | null,
    b: Float32Array | null,
    relu: boolean,
  ): void {
    if (batchStats) {
      const ps = rt.alloc(c * 16);
      overChannels('bnStats', c, 2 * size, (c0, c1) => [px, n, c, inner, ps, c0, c1]);
      mean.set(rt.f64.subarray(ps >> 3, (ps >> 3) + c));
      variance.set(rt.f64.subarray((ps >> 3) + c, (ps >> 3) + 2 * c));
    }
    const pc = channelBlock(c, (ch) => [mean[ch], (w ? w[ch] : 1) / Math.sqrt(variance[ch] + eps), b ? b[ch] : 0]);
    overChannels('bnApply', c, 2 * size, (c0, c1) => [px, po, n, c, inner, pc, +relu, c0, c1]);
  }

  /** In the arena: the backward from the gradient at pgy into pgx and `sums` (no ReLU when py is 0). */
  function backward(
    pgy: number,
    px: number,
    py: number,
    pgx: number,
    size: number,
    n: number,
    c: number,
    inner: number,
    mean: Float64Array,
    invstd: Float64Array,
    w: Float32Array | null,
    batchStats: boolean,
    sums: Float64Array,
  ): void {
    const ps = rt.alloc(c * 16);
    const pc = channelBlock(c, (ch) => [mean[ch], invstd[ch], invstd[ch] * (w ? w[ch] : 1)]);
    overChannels('bnBackward', c, 4 * size, (c0, c1) => [pgy, px, py, pgx, n, c, inner, pc, ps, +batchStats, +(py !== 0), c0, c1]);
    sums.set(rt.f64.subarray(ps >> 3, (ps >> 3) + 2 * c));
  }

  function batchNorm(
    x: Storage,
    out: Storage,
    n: number,
    c: number,
    inner: number,
    mean: Float64Array,
    variance: Float64Array,
    eps: number,
    batchStats: boolean,
    weight: Storage | null,
    bias: Storage | null,
    relu: boolean,
  ): boolean {
    if (!f32(x, out, weight, bias) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const px = rt.put(x as Float32Array),
      po = rt.outPtr(out as Float32Array);
    normalise(
      px,
      po,
      x.length,
      n,
      c,
      inner,
      mean,
      variance,
      eps,
      batchStats,
      weight as Float32Array | null,
      bias as Float32Array | null,
      relu,
    );
    rt.take(po, out as Float32Array);
    return true;
  }

  function batchNormPool(
    x: Storage,
    out: Storage,
    idx: IndexStorage,
    pg: PoolGeometry,
    mean: Float64Array,
    variance: Float64Array,
    eps: number,
    batchStats: boolean,
    weight: Storage | null,
    bias: Storage | null,
    relu: boolean,
  ): boolean {
    if (!f32(x, out, weight, bias) || !(idx instanceof Int32Array) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    // the normalised values live only in the arena, between the two kernels
    const px = rt.put(x as Float32Array),
      pz = rt.alloc(x.length * 4),
      po = rt.outPtr(out as Float32Array),
      pi = rt.alloc(idx.length * 4),
      geo = geometryBlock(rt, pg);
    normalise(
      px,
      pz,
      x.length,
      pg.n,
      pg.c,
      pg.h * pg.w,
      mean,
      variance,
      eps,
      batchStats,
      weight as Float32Array | null,
      bias as Float32Array | null,
      relu,
    );
    overPlanes(cx, 'maxPool2d', pg.n * pg.c, poolWork(pg), (p0, p1) => [pz, po, pi, geo, p0, p1]);
    rt.take(po, out as Float32Array);
    takeI32(rt, pi, idx);
    return true;
  }

  function batchNormBackward(
    gy: Storage,
    x: Storage,
    y: Storage | null,
    gx: Storage,
    n: number,
    c: number,
    inner: number,
    mean: Float64Array,
    invstd: Float64Array,
    weight: Storage | null,
    batchStats: boolean,
    sums: Float64Array,
  ): boolean {
    if (!f32(gy, x, y, gx, weight) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const pgy = rt.put(gy as Float32Array),
      px = rt.put(x as Float32Array),
      py = y ? rt.put(y as Float32Array) : 0,
      pgx = rt.outPtr(gx as Float32Array);
    backward(pgy, px, py, pgx, x.length, n, c, inner, mean, invstd, weight as Float32Array | null, batchStats, sums);
    rt.take(pgx, gx as Float32Array);
    return true;
  }

  function batchNormPoolBackward(
    gp: Storage,
    pooled: Storage,
    idx: IndexStorage,
    x: Storage,
    gx: Storage,
    pg: PoolGeometry,
    mean: Float64Array,
    invstd: Float64Array,
    weight: Storage | null,
    batchStats: boolean,
    relu: boolean,
    sums: Float64Array,
  ): boolean {
    if (!f32(gp, pooled, x, gx, weight) || !(idx instanceof Int32Array) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const pgp = rt.put(gp as Float32Array),
      pp = rt.put(pooled as Float32Array),
      pi = putI32(rt, idx),
      px = rt.put(x as Float32Array),
      pgy = rt.alloc(x.length * 4),
      pgx = rt.outPtr(gx as Float32Array);
    const plane = pg.h * pg.w;
    overPlanes(cx, 'bnPoolScatter', pg.n * pg.c, poolWork(pg), (p0, p1) => [pgp, pp, pi, pgy, plane, pg.oh * pg.ow, +relu, p0, p1]);
    backward(pgy, px, 0, pgx, x.length, pg.n, pg.c, plane, mean, invstd, weight as Float32Array | null, batchStats, sums);
    rt.take(pgx, gx as Float32Array);
    return true;
  }

  return { batchNorm, batchNormBackward, batchNormPool, batchNormPoolBackward };
}
