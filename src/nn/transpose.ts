/**
 * torch.transpose(x, dim0, dim1) as a layer: [N, C, L] → [N, L, C] with the defaults (between
 * Embedding and Conv1d). It runs on the host and on a device (autograd/transpose.ts).
 */
import type { Tensor } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { transpose } from '../autograd/transpose.js';
import { Module } from './module.js';

export class Transpose extends Module {
  /** The two axes swapped; negative ones count from the end of the input's shape (the batch axis is 0). */
  constructor(
    readonly dim0 = -2,
    readonly dim1 = -1,
  ) {
    super();
    for (const [k, v] of [
      ['dim0', dim0],
      ['dim1', dim1],
    ] as const) {
      if (!Number.isInteger(v)) throw new RangeError(`Transpose: ${k} must be an integer, got ${JSON.stringify(v)}`);
    }
  }

  /** The input's permutation: the identity with dim0 and dim1 swapped. */
  perm(ndim: number): number[] {
    const axis = (d: number) => {
      if (d < -ndim || d >= ndim)
        throw new ShapeError(
          `${this.describe()}: axis ${d} is out of range for an input of rank ${ndim} (expected [${-ndim}, ${ndim - 1}])`,
        );
      return d < 0 ? d + ndim : d;
    };
    const a = axis(this.dim0),
      b = axis(this.dim1);
    const p = Array.from({ length: ndim }, (_, i) => i);
    [p[a], p[b]] = [p[b], p[a]];
    return p;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 1) throw new ShapeError(`${this.describe()}: expected a tensor with at least one axis, got ${fmtShape(x.shape)}`);
    const p = this.perm(x.ndim);
    const swapped = p.flatMap((a, i) => (a === i ? [] : [i]));
    return swapped.length ? transpose(x, swapped[0], swapped[1]) : x;
  }

  override describe(): string {
    return `Transpose(${this.dim0}, ${this.dim1})`;
  }
}
