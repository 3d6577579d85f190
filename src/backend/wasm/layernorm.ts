/**
 * Layer normalisation over rows (asm/layernorm.ts): the normalisation and the per-feature affine
 * in one kernel call forward and one backward, the rows split over the threads. LayerNorm on the
 * batch-norm kernels (one channel per row) took a normalisation, a product by the weight and a sum
 * with the bias forward, and five kernels backward, each with its own copies in and out. RMSNorm
 * the same way, where rmsnorm.ts's JavaScript loop runs otherwise.
 */
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, SMALL_ELEMENTWISE, cut, f32 } from './context.js';
import type { KernelArgs } from './runtime.js';

export function layerNormOps({
  rt,
  partsFor,
}: WasmContext): Pick<WasmOps, 'layerNorm' | 'layerNormBackward' | 'rmsNorm' | 'rmsNormBackward'> {
  /** [r0, r1) of each part when `rows` rows are split for `work` values read and written. */
  const rowParts = (rows: number, work: number): [number, number][] => {
    const T = partsFor(work, rows, 2);
    return Array.from({ length: T }, (_, t) => cut(rows, T, t, 1)).filter(([lo, hi]) => hi > lo);
  };

  function layerNorm(
    x: Storage,
    w: Storage | null,
    b: Storage | null,
    out: Storage,
    rows: number,
    features: number,
    eps: number,
    mean: Float64Array,
    invstd: Float64Array,
  ): boolean {
    if (!f32(x, w, b, out) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const px = rt.put(x as Float32Array),
      pw = w ? rt.put(w as Float32Array) : 0,
      pb = b ? rt.put(b as Float32Array) : 0,
      py = rt.outPtr(out as Float32Array),
      ps = rt.alloc(rows * 16);
    rt.parallel(
      'lnForward',
      rowParts(rows, 3 * x.length).map(([r0, r1]): KernelArgs<'lnForward'> => [px, py, pw, pb, features, eps, ps, rows, r0, r1]),
    );
    mean.set(rt.f64.subarray(ps >> 3, (ps >> 3) + rows));
    invstd.set(rt.f64.subarray((ps >> 3) + rows, (ps >> 3) + 2 * rows));
    rt.take(py, out as Float32Array);
    return true;
  }

  function layerNormBackward(
    g: Storage,
    x: Storage,
    w: Storage | null,
    mean: Float64Array,
    invstd: Float64Array,
    gx: Storage,
    gw: Storage | null,
    gb: Storage | null,
    rows: number,
    features: number,
  ): boolean {
    if (!f32(g, x, w, gx, gw, gb) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const pg = rt.put(g as Float32Array),
      px = rt.put(x as Float32Array),
      pw = w ? rt.put(w as Float32Array) : 0,
      pgx = rt.outPtr(gx as Float32Array),
      ps = rt.alloc(rows * 16);
    const parts = rowParts(rows, 4 * x.length);
    const sums = gw || gb;
    // each part's float64 sums of g·x̂ and g (F each), zeroed here, added up below
    const accs = parts.map(() => (sums ? rt.alloc(features * 16) : 0));
    for (const p of accs) if (p) rt.k.zero(p, features * 4);
    const scratch = accs.map((p) => (p ? rt.alloc(rt.k.lnBackwardScratchBytes(features)) : 0));
    rt.f64.set(mean, ps >> 3);
    rt.f64.set(invstd, (ps >> 3) + rows);
    rt.parallel(
      'lnBackward',
      parts.map(([r0, r1], t): KernelArgs<'lnBackward'> => [pg, px, pw, ps, pgx, accs[t], features, rows, r0, r1, sums ? scratch[t] : 0]),
    );
    if (sums) {
      const f = rt.f64;
      for (let j = 0; j < features; j++) {
        let sw = 0,
          sb = 0;
        for (const p of accs) {
          sw += f[(p >> 3) + j];
          sb += f[(p >> 3) + features + j];
        }
        if (gw) (gw as Float32Array)[j] = sw;
        if (gb) (gb as Float32Array)[j] = sb;
      }
    }
    rt.take(pgx, gx as Float32Array);
    return true;
  }

  function rmsNorm(x: Storage, w: Storage | null, out: Storage, rows: number, features: number, eps: number, r: Float64Array): boolean {
    if (!f32(x, w, out) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const px = rt.put(x as Float32Array),
      pw = w ? rt.put(w as Float32Array) : 0,
      py = rt.outPtr(out as Float32Array),
      ps = rt.alloc(rows * 8);
    rt.parallel(
      'rmsForward',
      rowParts(rows, 2 * x.length).map(([r0, r1]): KernelArgs<'rmsForward'> => [px, py, pw, features, eps, ps, r0, r1]),
    );
    r.set(rt.f64.subarray(ps >> 3, (ps >> 3) + rows));
    rt.take(py, out as Float32Array);
    return true;
  }

  function rmsNormBackward(
    g: Storage,
    x: Storage,
    w: Storage | null,
    r: Float64Array,
    gx: Storage,
    gw: Storage | null,
    rows: number,
    features: number,
  ): boolean {
    if (!f32(g, x, w, gx, gw) || x.length < SMALL_ELEMENTWISE) return false;
    rt.reset();
    const pg = rt.put(g as Float32Array),
      px = rt.put(x as Float32Array),
      pw = w ? rt.put(w as Float32Array) : 0,
      pgx = rt.outPtr(gx as Float32Array),
      ps = rt.alloc(rows * 8);
    const parts = rowParts(rows, 3 * x.length);
    // each part's float64 sums of g·x·r (F), zeroed here, added up below
    const accs = parts.map(() => (gw ? rt.alloc(features * 8) : 0));
    for (const p of accs) if (p) rt.k.zero(p, features * 2);
    const scratch = accs.map((p) => (p ? rt.alloc(rt.k.lnBackwardScratchBytes(features)) : 0));
    rt.f64.set(r, ps >> 3);
    rt.parallel(
      'rmsBackward',
      parts.map(([r0, r1], t): KernelArgs<'rmsBackward'> => [pg, px, pw, ps, pgx, accs[t], features, r0, r1, scratch[t]]),
    );
    if (gw) {
      const f = rt.f64;
      for (let j = 0; j < features; j++) {
        let s = 0;
        for (const p of accs) s += f[(p >> 3) + j];
        (gw as Float32Array)[j] = s;
      }
    }
    rt.take(pgx, gx as Float32Array);
    return true;
  }

  return { layerNorm, layerNormBackward, rmsNorm, rmsNormBackward };
}
