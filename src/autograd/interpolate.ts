/**
 * Resampling of images and sequences: PyTorch 1.13's F.interpolate in the modes 'nearest',
 * 'nearest-exact', 'linear' ([N, C, L]) and 'bilinear' ([N, C, H, W]).
 *
 * Each of these is separable and linear in x: along an axis of size n resampled to m, out = A·x
 * with A an [m, n] matrix whose row o holds the weights of output o's source taps (one 1 for the
 * nearest modes; λ0 at i0 and λ1 at i1 for the linear ones), the width first, then the height. On
 * the host each axis is a loop over its taps (O(output); the backward adds each gradient into its
 * taps). On a device, which has no such kernel, each axis is a product with the constant matrix —
 * x·Awᵀ, then Ah·(…) — whose backward (gx = Ahᵀ·gy·Aw) and every higher derivative the products
 * have; it adds the zero weights too: exact for finite values, but there an infinite or NaN entry
 * of x spreads across its row instead of staying local. A test holds the two forms equal.
 *
 * The backward is the adjoint of the forward everywhere. PyTorch 1.13's nearest backward is not
 * where m = n or m = 2n comes from a scale factor (its backward takes the special cases below, its
 * NCHW forward does not), so there descent's input gradient differs from PyTorch's.
 *
 * Source positions, as PyTorch 1.13's CPU kernel computes them for contiguous NCHW (and [N, C, L])
 * input, in the input's dtype (`dst` the output index, n → m). Its channels-last kernel — which
 * 1.13 also takes for a contiguous 4-D input with one channel — keeps the legacy nearest's older
 * special cases m = n (a copy) and m = 2n (⌊dst/2⌋), so there nearest can differ where a scale
 * factor gives one of those sizes; descent follows the NCHW kernel for every input.
 *   scale = 1/scaleFactor when a scale factor is given (and not recomputed), else n/m
 *   nearest        src = min(⌊dst·scale⌋, n − 1): the legacy rule, with the product rounded to
 *                  float32 before the floor (ATen's floorf), even for m = n with a scale factor
 *                  ≠ 1 (10 by 1.05 gives 0 0 1 2 …)
 *   nearest-exact  src = min(⌊max((dst + ½)·scale − ½, 0) + ½⌋, n − 1), likewise
 *   linear         s = alignCorners ? dst·(n − 1)/(m − 1) : max(scale·(dst + ½) − ½, 0);
 *                  i0 = ⌊s⌋, i1 = min(i0 + 1, n − 1), λ1 = s − i0, λ0 = 1 − λ1; m = n copies
 */
import { Tensor, allocStorage, type DType } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { bool, checkOptions, nullable, oneOf, spec, type SchemaOf } from '../util/options.js';
import { isDeviceStorage } from '../tensor/device.js';
import { record } from './engine.js';
import { matmul } from './ops.js';

export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear';
export const INTERPOLATE_MODES: readonly InterpolateMode[] = ['nearest', 'nearest-exact', 'linear', 'bilinear'];

export interface InterpolateOptions {
  /** The output's spatial size: one number for every spatial axis, or one per axis ([H, W] or [L]). */
  size?: number | readonly number[] | null;
  /** Multiplier of each spatial size (one for all, or one per axis): the output is ⌊size·scaleFactor⌋. */
  scaleFactor?: number | readonly number[] | null;
  /** Default 'nearest' (PyTorch's legacy nearest); 'linear' takes [N, C, L], 'bilinear' [N, C, H, W]. */
  mode?: InterpolateMode;
  /**
   * Linear modes only: map the corner pixels' centres onto each other (src = dst·(n − 1)/(m − 1))
   * instead of the pixel edges (half-pixel centres). PyTorch's default, false, applies when unset.
   */
  alignCorners?: boolean | null;
  /**
   * With a scaleFactor: place the source positions by the output size (scale n/m) rather than by
   * 1/scaleFactor, as PyTorch's recompute_scale_factor=True (default false).
   */
  recomputeScaleFactor?: boolean | null;
}

const numbers = spec(
  'a number or an array of numbers',
  (v) => typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number')),
);
export const interpolateSchema: SchemaOf<InterpolateOptions> = {
  size: nullable(numbers),
  scaleFactor: nullable(numbers),
  mode: oneOf(...INTERPOLATE_MODES),
  alignCorners: nullable(bool),
  recomputeScaleFactor: nullable(bool),
};

/** One resampled axis: n → m with the coordinate scale ATen would get (null: computed from n and m). */
interface Axis {
  n: number;
  m: number;
  scale: number | null;
}

/**
 * The checks that need no input: a known mode, exactly one of size and scaleFactor, sizes that are
 * integers ≥ 1, scale factors positive and finite, alignCorners only with a linear mode.
 */
export function checkInterpolateArgs(opts: InterpolateOptions, what = 'interpolate'): void {
  const mode = opts.mode ?? 'nearest';
  if (!INTERPOLATE_MODES.includes(mode))
    throw new RangeError(`${what}: unknown mode ${JSON.stringify(mode)}; expected one of ${INTERPOLATE_MODES.join(', ')}`);
  if (opts.alignCorners != null && (mode === 'nearest' || mode === 'nearest-exact'))
    throw new RangeError(`${what}: alignCorners applies to the linear modes ('linear', 'bilinear'), not to mode '${mode}'`);
  const { size, scaleFactor } = opts;
  if ((size == null) === (scaleFactor == null))
    throw new RangeError(`${what}: expected exactly one of size and scaleFactor, got ${size == null ? 'neither' : 'both'}`);
  const list = (v: number | readonly number[]) => (typeof v === 'number' ? [v] : v);
  if (size != null && !list(size).every((v) => Number.isInteger(v) && v >= 1))
    throw new RangeError(`${what}: size must hold integers ≥ 1, got ${JSON.stringify(size)}`);
  if (scaleFactor != null && !list(scaleFactor).every((v) => v > 0 && Number.isFinite(v)))
    throw new RangeError(`${what}: scaleFactor must be positive and finite, got ${JSON.stringify(scaleFactor)}`);
}

/**
 * The spatial axes of an interpolation of an input of shape `shape`: one size or scale factor for
 * every spatial axis, or one per axis, and positive output sizes. `what` names the caller.
 */
export function interpolateAxes(shape: readonly number[], opts: InterpolateOptions, what = 'interpolate'): Axis[] {
  checkInterpolateArgs(opts, what);
  const mode = opts.mode ?? 'nearest';
  const spatial = shape.length - 2;
  if (shape.length !== 3 && shape.length !== 4)
    throw new ShapeError(`${what}: expected input [N, C, L] or [N, C, H, W], got ${fmtShape(shape)}`);
  if (mode === 'linear' && spatial !== 1)
    throw new ShapeError(`${what}: mode 'linear' takes input [N, C, L], got ${fmtShape(shape)}; use 'bilinear' for images`);
  if (mode === 'bilinear' && spatial !== 2)
    throw new ShapeError(`${what}: mode 'bilinear' takes input [N, C, H, W], got ${fmtShape(shape)}; use 'linear' for sequences`);
  const { size, scaleFactor } = opts;
  const given = (size ?? scaleFactor)!;
  const list = typeof given === 'number' ? Array<number>(spatial).fill(given) : [...given];
  if (list.length !== spatial)
    throw new ShapeError(
      `${what}: ${size != null ? 'size' : 'scaleFactor'} ${JSON.stringify(given)} has ${list.length} values, expected ${spatial} (one per spatial axis of the input ${fmtShape(shape)})`,
    );
  return list.map((v, i) => {
    const n = shape[i + 2];
    if (size != null) return { n, m: v, scale: null };
    const m = Math.floor(n * v);
    if (m < 1) throw new ShapeError(`${what}: scaleFactor ${v} turns size ${n} into ${n * v}, which rounds down to 0`);
    return { n, m, scale: opts.recomputeScaleFactor ? null : 1 / v };
  });
}

/**
 * The source index of each output position for a nearest mode, as ATen's CPU kernel for
 * contiguous NCHW input computes it in `dtype` arithmetic (its floorf rounds to float32 first).
 */
export function nearestIndices(a: Axis, exact: boolean, dtype: DType): Int32Array {
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  const scale = r(a.scale ?? a.n / a.m);
  const idx = new Int32Array(a.m);
  for (let o = 0; o < a.m; o++) {
    const src = exact ? Math.fround(r(Math.max(r(r(scale * r(o + 0.5)) - 0.5), 0)) + 0.5) : Math.fround(r(scale * o));
    idx[o] = Math.min(Math.floor(src), a.n - 1);
  }
  return idx;
}

/**
 * Each output position's source taps along one axis: i0 with weight 1 − l1 and i1 with weight l1
 * (the nearest modes: i1 = i0, l1 = 0); `identity` when the axis is copied as it is.
 */
export interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  l1: Float64Array;
  identity: boolean;
}

/** The taps of an axis's resampling in `mode`, in `dtype` arithmetic where ATen's nearest rounds. */
export function axisTaps(a: Axis, mode: InterpolateMode, alignCorners: boolean, dtype: DType): AxisTaps {
  const { n, m } = a;
  const l1 = new Float64Array(m);
  let i0: Int32Array, i1: Int32Array;
  if (mode === 'nearest' || mode === 'nearest-exact') {
    i0 = i1 = nearestIndices(a, mode === 'nearest-exact', dtype);
  } else if (m === n) {
    i0 = i1 = Int32Array.from({ length: m }, (_, o) => o);
  } else {
    i0 = new Int32Array(m);
    i1 = new Int32Array(m);
    const ratio = alignCorners ? (m > 1 ? (n - 1) / (m - 1) : 0) : (a.scale ?? n / m);
    for (let o = 0; o < m; o++) {
      const s = alignCorners ? ratio * o : Math.max(ratio * (o + 0.5) - 0.5, 0);
      i0[o] = Math.trunc(s);
      i1[o] = i0[o] < n - 1 ? i0[o] + 1 : i0[o];
      l1[o] = s - i0[o];
    }
  }
  const identity = m === n && i0.every((v, o) => v === o && l1[o] === 0);
  return { i0, i1, l1, identity };
}

/** The [m, n] matrix A of an axis's resampling (out = A·x along the axis), from its taps. */
export function interpolationMatrix(a: Axis, mode: InterpolateMode, alignCorners: boolean, dtype: DType): Tensor {
  const { n, m } = a;
  const { i0, i1, l1 } = axisTaps(a, mode, alignCorners, dtype);
  const A = allocStorage(dtype, m * n);
  for (let o = 0; o < m; o++) {
    A[o * n + i0[o]] += 1 - l1[o];
    A[o * n + i1[o]] += l1[o];
  }
  return new Tensor(A, [m, n]);
}

/** PyTorch's F.interpolate(x, size | scale_factor, mode, align_corners) for x [N, C, L] or [N, C, H, W]. */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  checkOptions('interpolate', opts, interpolateSchema);
  return interpolateWith(x, opts, 'interpolate');
}

/** interpolate without checking the option names (Upsample checks its own); `what` names the caller in errors. */
export function interpolateWith(x: Tensor, opts: InterpolateOptions, what: string): Tensor {
  const axes = interpolateAxes(x.shape, opts, what);
  const mode = opts.mode ?? 'nearest';
  const align = opts.alignCorners ?? false;
  let y = x;
  // the last axis first, then the height (PyTorch's order of the bilinear sums); a copied axis is skipped
  for (let k = axes.length - 1; k >= 0; k--) {
    const taps = axisTaps(axes[k], mode, align, x.dtype);
    if (taps.identity) continue;
    const axis = k + 2;
    y = isDeviceStorage(y.storage)
      ? resampleByProduct(y, axis, interpolationMatrix(axes[k], mode, align, x.dtype))
      : resampleByTaps(y, axis, taps);
  }
  return y;
}

/**
 * The axis resampled as a product with its matrix A [m, n]: x·Aᵀ for the last axis (one product
 * over all rows), A·x for the height (one matrix for every image). Runs wherever matmul does; the
 * matrix is uploaded there.
 */
function resampleByProduct(x: Tensor, axis: number, A: Tensor): Tensor {
  return axis === x.ndim - 1 ? matmul(x, transposed(A)) : matmul(A, x);
}

/** x viewed as [outer, n, inner] around `axis`. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return [outer, shape[axis], shape.slice(axis + 1).reduce((a, b) => a * b, 1)];
}

/**
 * The axis resampled on the host from its taps: y[…, j, …] = x[…, i0[j], …]·(1 − l1[j]) +
 * x[…, i1[j], …]·l1[j] — O(output), where the product with the matrix is O(output·n). Its backward
 * is the adjoint below, whose backward is this op again (both are linear), to any order.
 */
function resampleByTaps(x: Tensor, axis: number, t: AxisTaps): Tensor {
  const [outer, n, inner] = around(x.shape, axis);
  const m = t.i0.length;
  const shape = [...x.shape];
  shape[axis] = m;
  const out = allocStorage(x.dtype, outer * m * inner);
  const d = x.data;
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < m; j++) {
      const a = (o * n + t.i0[j]) * inner,
        b = (o * n + t.i1[j]) * inner,
        c = (o * m + j) * inner;
      const w1 = t.l1[j],
        w0 = 1 - w1;
      if (w1 === 0) for (let k = 0; k < inner; k++) out[c + k] = d[a + k];
      else for (let k = 0; k < inner; k++) out[c + k] = d[a + k] * w0 + d[b + k] * w1;
    }
  return record('interpolate', [x], new Tensor(out, shape), (g) => [resampleAdjoint(g, axis, t, x.shape)]);
}

/** The adjoint of resampleByTaps: each output's gradient added into its taps, weighted (zeros elsewhere). */
function resampleAdjoint(g: Tensor, axis: number, t: AxisTaps, xShape: readonly number[]): Tensor {
  const [outer, n, inner] = around(xShape, axis);
  const m = t.i0.length;
  const out = allocStorage(g.dtype, outer * n * inner);
  const d = g.data;
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < m; j++) {
      const a = (o * n + t.i0[j]) * inner,
        b = (o * n + t.i1[j]) * inner,
        c = (o * m + j) * inner;
      const w1 = t.l1[j],
        w0 = 1 - w1;
      if (w1 === 0) for (let k = 0; k < inner; k++) out[a + k] += d[c + k];
      else
        for (let k = 0; k < inner; k++) {
          out[a + k] += d[c + k] * w0;
          out[b + k] += d[c + k] * w1;
        }
    }
  return record('interpolate.backward', [g], new Tensor(out, xShape), (gg) => [resampleByTaps(gg, axis, t)]);
}

/** Aᵀ of a constant matrix, as a new row-major tensor. */
function transposed(a: Tensor): Tensor {
  const [m, n] = a.shape;
  const out = allocStorage(a.dtype, m * n);
  const d = a.data;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = d[i * n + j];
  return new Tensor(out, [n, m]);
}
