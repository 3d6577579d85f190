/**
 * Batch normalisation (asm/norm.ts): the batchNorm and batchNormBackward extensions. Each is one
 * call that copies its operands into the arena once and runs two passes over them there — the
 * statistics, then the normalisation; the sums, then the input's gradient — split by channels
 * over the threads when the tensor is big. Only float32 runs here; the caller's float64 loops
 * (src/nn/batchnorm.ts) take what these decline.
 */
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, SMALL_ELEMENTWISE, cut, f32 } from './context.js';
import type { KernelArgs } from './runtime.js';

type NormFn = 'bnStats' | 'bnApply' | 'bnBackward';
/** Float64 slots per channel in a kernel's channel block (asm/norm.ts CH_SLOTS). */
const SLOTS = 4;

export function normOps({ rt, partsFor }: WasmContext): Pick<WasmOps, 'batchNorm' | 'batchNormBackward'> {
  /** Runs `fn` over channels [0, c), in parts when the tensor (`size` values, `passes` passes) is big. */
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
    const w = weight as Float32Array | null,
      b = bias as Float32Array | null;
    rt.reset();
    const px = rt.put(x as Float32Array),
      po = rt.outPtr(out as Float32Array);
    if (batchStats) {
      const ps = rt.alloc(c * 16);
      overChannels('bnStats', c, 2 * x.length, (c0, c1) => [px, n, c, inner, ps, c0, c1]);
      const s = rt.f64.subarray(ps >> 3, (ps >> 3) + 2 * c);
      for (let ch = 0; ch < c; ch++) {
        mean[ch] = s[2 * ch];
        variance[ch] = s[2 * ch + 1];
      }
    }
    const pc = channelBlock(c, (ch) => [mean[ch], (w ? w[ch] : 1) / Math.sqrt(variance[ch] + eps), b ? b[ch] : 0]);
    overChannels('bnApply', c, 2 * x.length, (c0, c1) => [px, po, n, c, inner, pc, +relu, c0, c1]);
    rt.take(po, out as Float32Array);
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
    const w = weight as Float32Array | null;
    rt.reset();
    const pgy = rt.put(gy as Float32Array),
      px = rt.put(x as Float32Array),
      py = y ? rt.put(y as Float32Array) : 0,
      pgx = rt.outPtr(gx as Float32Array),
      ps = rt.alloc(c * 16);
    const pc = channelBlock(c, (ch) => [mean[ch], invstd[ch], invstd[ch] * (w ? w[ch] : 1)]);
    overChannels('bnBackward', c, 4 * x.length, (c0, c1) => [pgy, px, py, pgx, n, c, inner, pc, ps, +batchStats, +(y !== null), c0, c1]);
    const s = rt.f64.subarray(ps >> 3, (ps >> 3) + 2 * c);
    for (let ch = 0; ch < c; ch++) {
      sums[ch] = s[2 * ch];
      sums[c + ch] = s[2 * ch + 1];
    }
    rt.take(pgx, gx as Float32Array);
    return true;
  }

  return { batchNorm, batchNormBackward };
}
