/**
 * Adaptive average pooling, PyTorch's F.adaptive_avg_pool2d: the output has a chosen size oh × ow,
 * and its cell (i, j) is the mean of the input rows [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉) and columns
 * [⌊j·W/ow⌋, ⌈(j+1)·W/ow⌉). Where oh does not divide H neighbouring bins overlap; where oh > H
 * rows repeat.
 *
 * Written with autograd ops, so it differentiates to any order and runs on every backend, a device
 * included, in the cheapest exact form the sizes allow:
 *
 * - 1 × 1 (global average pooling): the mean over H and W.
 * - oh divides H and ow divides W: every bin is a window of one size and stride, so it is
 *   avgPool2d (its kernels, forward and backward).
 * - otherwise the mean is separable, per plane Y = (A_h · X · A_wᵀ) / (|bin_h|·|bin_w|), A the 0/1
 *   matrices of bin membership: the columns are summed by one mm over every row of the batch
 *   ([N·C·H, W] · A_wᵀ), the rows by a broadcast product with A_h summed over H (a product per plane
 *   would be a batched mm, which runs on the host only). With 0/1 weights the sums are of the input
 *   values themselves, divided once by the bin's size, as PyTorch does; O(N·C·H·ow·(W + oh)) work
 *   instead of the O(N·C·H·W·oh·ow) of one product with the Kronecker matrix A_h ⊗ A_w.
 */
import { fromData, type Tensor } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { div, mean, mm, mul, reshape, sum } from './ops.js';
import { avgPool2d } from './conv.js';

/** An output size: one number for both sides, or [oh, ow], where null keeps the input's size on that side (PyTorch's None). */
export type AdaptiveSize = number | readonly [number | null, number | null];

/** `size` checked and made a pair ([oh, ow], nulls kept); a RangeError naming `what` otherwise. */
export function adaptiveSize(size: AdaptiveSize, what: string): [number | null, number | null] {
  const p = typeof size === 'number' ? [size, size] : Array.isArray(size) ? [...size] : [];
  if (p.length !== 2 || p.some((v) => v !== null && !(Number.isInteger(v) && v >= 1)))
    throw new RangeError(
      `${what}: outputSize must be an integer ≥ 1 or a pair of them (null keeps the input's size), got ${JSON.stringify(size)}`,
    );
  return p as [number | null, number | null];
}

/** The bins of an adaptive pooling of `n` cells into `o`: [start, end) of each, PyTorch's. */
export function adaptiveBins(n: number, o: number): [number, number][] {
  return Array.from({ length: o }, (_, i) => [Math.floor((i * n) / o), Math.ceil(((i + 1) * n) / o)]);
}

/** A [o, n] 0/1 matrix whose row i marks bin i's cells, in x's dtype. */
function membership(n: number, o: number, x: Tensor): Tensor {
  const a = new Float64Array(o * n);
  adaptiveBins(n, o).forEach(([s, e], i) => a.fill(1, i * n + s, i * n + e));
  return fromData(a, [o, n], { dtype: x.dtype });
}

/**
 * PyTorch's F.adaptive_avg_pool2d of x [N, C, H, W] or [C, H, W]; `what` names it in errors.
 * `outputSize` is a number or [oh, ow], where null keeps the input's height or width.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize, what = 'adaptiveAvgPool2d'): Tensor {
  const size = adaptiveSize(outputSize, what);
  if ((x.ndim !== 3 && x.ndim !== 4) || x.shape.slice(-2).some((d) => d < 1))
    throw new ShapeError(`${what}: expected input [N, C, H, W] or [C, H, W] with H, W ≥ 1, got ${fmtShape(x.shape)}`);
  const [H, W] = x.shape.slice(-2);
  const oh = size[0] ?? H,
    ow = size[1] ?? W;
  const x4 = x.ndim === 3 ? reshape(x, [1, ...x.shape]) : x;
  const [N, C] = x4.shape;
  let y: Tensor;
  if (oh === 1 && ow === 1) y = mean(x4, [2, 3], true);
  else if (H % oh === 0 && W % ow === 0) y = avgPool2d(x4, [H / oh, W / ow], {}, what);
  else {
    const cols = mm(reshape(x4, [N * C * H, W]), membership(W, ow, x), false, true); // [N·C·H, ow]: Σ over each column bin
    const ah = reshape(membership(H, oh, x), [1, oh, H, 1]);
    const sums = sum(mul(reshape(cols, [N * C, 1, H, ow]), ah), 2); // [N·C, oh, ow]: Σ over each row bin
    const count = new Float64Array(oh * ow);
    const bh = adaptiveBins(H, oh),
      bw = adaptiveBins(W, ow);
    for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) count[i * ow + j] = (bh[i][1] - bh[i][0]) * (bw[j][1] - bw[j][0]);
    y = reshape(div(sums, fromData(count, [oh, ow], { dtype: x.dtype })), [N, C, oh, ow]);
  }
  return x.ndim === 3 ? reshape(y, [C, oh, ow]) : y;
}
