/**
 * Resampling of images and sequences: PyTorch 1.13's F.interpolate in the modes 'nearest',
 * 'nearest-exact', 'linear' ([N, C, L]) and 'bilinear' ([N, C, H, W]).
 *
 * Each of these is separable and linear in x: along an axis of size n resampled to m, out = A·x
 * with A an [m, n] matrix whose row o holds the weights of output o's source positions (one 1 for
 * the nearest modes; λ0 at i0 and λ1 at i1 for the linear ones). So the op is one or two matrix
 * products with constant matrices — x·Awᵀ along the width, then Ah·(…) along the height — whose
 * backward (gx = Ahᵀ·gy·Aw) and every higher derivative the products already have, on every backend
 * (the matrices are uploaded where x lives). A product adds the zero weights too: exact for finite
 * values, but an infinite or NaN entry of x spreads across its row instead of staying local.
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

/** The [m, n] matrix of an axis's resampling in `mode`, as row-major values. */
export function interpolationMatrix(a: Axis, mode: InterpolateMode, alignCorners: boolean, dtype: DType): Tensor {
  const { n, m } = a;
  const A = allocStorage(dtype, m * n);
  if (mode === 'nearest' || mode === 'nearest-exact') {
    const idx = nearestIndices(a, mode === 'nearest-exact', dtype);
    for (let o = 0; o < m; o++) A[o * n + idx[o]] = 1;
  } else {
    const ratio = alignCorners ? (m > 1 ? (n - 1) / (m - 1) : 0) : (a.scale ?? n / m);
    for (let o = 0; o < m; o++) {
      if (m === n) {
        A[o * n + o] = 1;
        continue;
      }
      const s = alignCorners ? ratio * o : Math.max(ratio * (o + 0.5) - 0.5, 0);
      const i0 = Math.trunc(s);
      const i1 = i0 < n - 1 ? i0 + 1 : i0;
      const l1 = s - i0;
      A[o * n + i0] += 1 - l1;
      A[o * n + i1] += l1;
    }
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
  // an axis whose matrix is the identity (the linear modes at an unchanged size; nearest with scale 1) is skipped
  const matrix = (a: Axis) => {
    const A = interpolationMatrix(a, mode, align, x.dtype);
    return a.m === a.n && Array.from({ length: a.n }, (_, i) => A.data[i * a.n + i]).every((v) => v === 1) ? null : A;
  };
  const last = matrix(axes[axes.length - 1]);
  // the last axis: x·Aᵀ, one product over all rows; then the height: A·(…), one matrix for every image
  let y = last ? matmul(x, transposed(last)) : x;
  const first = axes.length === 2 ? matrix(axes[0]) : null;
  if (first) y = matmul(first, y);
  return y;
}

/** Aᵀ of a constant matrix, as a new row-major tensor. */
function transposed(a: Tensor): Tensor {
  const [m, n] = a.shape;
  const out = allocStorage(a.dtype, m * n);
  const d = a.data;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = d[i * n + j];
  return new Tensor(out, [n, m]);
}
