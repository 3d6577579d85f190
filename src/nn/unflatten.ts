/**
 * PyTorch's nn.Identity, and nn.Unflatten, the inverse of Flatten: one dimension of the input
 * (`dim`, negative counting from the end) viewed as several (`unflattenedSize`, whose product is
 * that dimension's size; one entry may be -1, inferred). Both are views of the same storage.
 */
import type { Tensor } from '../tensor/tensor.js';
import { fmtShape, normAxis, ShapeError } from '../tensor/shape.js';
import { reshape } from '../autograd/ops.js';
import { Module, type MaskSupport } from './module.js';

/** x itself: a placeholder layer (a Residual's shortcut, a removed head). */
export class Identity extends Module {
  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Dimension `dim` as `unflattenedSize` (`new Unflatten(1, [C, H, W])` turns [N, C·H·W] into [N, C, H, W]). */
export class Unflatten extends Module {
  readonly dim: number;
  readonly unflattenedSize: readonly number[];

  constructor(dim: number, unflattenedSize: readonly number[]) {
    super();
    if (!Number.isInteger(dim)) throw new TypeError(`Unflatten: dim must be an integer, got ${String(dim)}`);
    if (
      !Array.isArray(unflattenedSize) ||
      !unflattenedSize.length ||
      !unflattenedSize.every((d) => Number.isInteger(d) && (d >= 0 || d === -1)) ||
      unflattenedSize.filter((d) => d === -1).length > 1
    )
      throw new RangeError(
        `Unflatten: unflattenedSize must be a non-empty list of sizes ≥ 0 with at most one -1, got ${JSON.stringify(unflattenedSize)}`,
      );
    this.dim = dim;
    this.unflattenedSize = [...unflattenedSize];
  }

  forward(x: Tensor): Tensor {
    const d = normAxis(this.dim, x.ndim, 'Unflatten dim');
    const n = x.shape[d];
    const sizes = [...this.unflattenedSize];
    const known = sizes.reduce((a, s) => (s === -1 ? a : a * s), 1);
    const free = sizes.indexOf(-1);
    if (free >= 0 && known > 0 && n % known === 0) sizes[free] = n / known;
    if (sizes.includes(-1) || sizes.reduce((a, s) => a * s, 1) !== n)
      throw new ShapeError(
        `${this.describe()}: dimension ${d} of the input ${fmtShape(x.shape)} has size ${n}, expected the product of ${fmtShape(this.unflattenedSize)}`,
      );
    return reshape(x, [...x.shape.slice(0, d), ...sizes, ...x.shape.slice(d + 1)]);
  }

  override get maskSupport(): MaskSupport {
    // a mask is [N, L]: it stays right while the batch and step dimensions do (for -1 the input has a feature axis after L)
    return this.dim >= 2 || this.dim === -1 ? 'keep' : 'refuse';
  }

  override describe(): string {
    return `Unflatten(dim=${this.dim}, ${fmtShape(this.unflattenedSize)})`;
  }
}
