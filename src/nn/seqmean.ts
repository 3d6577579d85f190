/**
 * The mean over the steps of a sequence, [N, T, F] → [N, F] (PyTorch's x.mean(dim=1); Keras'
 * GlobalAveragePooling1D): what ends a sequence before a classifier's Linear. With a padding mask
 * [N, T] (ForwardOptions.mask, 1 = padding, which a Sequential passes on from an Embedding with
 * maskPadding) it is each sample's mean over its other steps, as Keras' with a mask; a sample whose
 * steps are all padding gets 0. The weights (1 − mask)/count are a constant made on the host, so
 * the mean runs wherever x lives.
 */
import { Tensor, allocStorage } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { mean, mul, sum } from '../autograd/ops.js';
import { Module, type ForwardOptions, type MaskSupport } from './module.js';

export class SequenceMean extends Module {
  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    const what = this.describe();
    if (!(x instanceof Tensor) || x.ndim !== 3)
      throw new ShapeError(`${what}: expected a sequence [N, T, F], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
    const mask = opts?.mask;
    if (!mask) return mean(x, 1);
    const [n, t] = x.shape;
    if (mask.ndim !== 2 || mask.shape[0] !== n || mask.shape[1] !== t)
      throw new ShapeError(`${what}: expected a padding mask [${n}, ${t}] ([N, T]), got ${fmtShape(mask.shape)}`);
    const m = mask.data;
    const w = allocStorage(x.dtype, n * t);
    for (let i = 0; i < n; i++) {
      let kept = 0;
      for (let j = 0; j < t; j++) if (m[i * t + j] === 0) kept++;
      for (let j = 0; j < t; j++) w[i * t + j] = m[i * t + j] === 0 ? 1 / kept : 0;
    }
    return sum(mul(x, new Tensor(w, [n, t, 1])), 1);
  }

  /** Reads the mask, and its output has no steps left to mask. */
  override get maskSupport(): MaskSupport {
    return 'own';
  }
}
