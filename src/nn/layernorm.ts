/**
 * Layer normalisation (Ba, Kiros & Hinton 2016), PyTorch's nn.LayerNorm: each sample is normalised
 * over its last dimensions (`normalizedShape`), by its own mean and biased variance,
 *
 *   y = (x − μ) / √(σ² + eps) · weight + bias        (weight, bias of shape normalizedShape)
 *
 * the same in training and evaluation (no running statistics, no batch dependence). The
 * normalisation is normaliseRows (one op on the host, autograd ops on a device), the affine part
 * autograd ops, so it runs on every backend and differentiates to any order.
 */
import type { Tensor, DType } from '../tensor/tensor.js';
import { fmtShape, ShapeError, sizeOf } from '../tensor/shape.js';
import { layerNormRows } from './norm-host.js';
import { Module, parameter, type MaskSupport } from './module.js';
import { bool, checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';

export interface LayerNormOptions {
  /** Added to the variance before its square root; default 1e-5. */
  eps?: number;
  /** Learn a per-element scale (weight, initially 1) and shift (bias, initially 0). Default true. */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, whether there is a bias (PyTorch 2's bias=); default true. */
  bias?: boolean;
  dtype?: DType;
}

const schema: SchemaOf<LayerNormOptions> = { eps: num, elementwiseAffine: bool, bias: bool, dtype: oneOf('float32', 'float64') };

export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  /** `new LayerNorm(64)` normalises the last dimension of size 64; `new LayerNorm([C, H, W])` the last three. */
  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    checkOptions('LayerNorm', opts, schema);
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (!shape.length || !shape.every((d) => Number.isInteger(d) && d >= 1))
      throw new RangeError(`LayerNorm: normalizedShape must be positive integers, got ${JSON.stringify(normalizedShape)}`);
    this.normalizedShape = shape;
    this.eps = opts.eps ?? 1e-5;
    if (!(this.eps >= 0)) throw new RangeError(`LayerNorm: invalid eps ${this.eps}; expected ≥ 0`);
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine
      ? this.registerParameter(
          'weight',
          parameter(shape, dtype, (t) => t.data.fill(1)),
        )
      : null;
    this.bias =
      affine && opts.bias !== false
        ? this.registerParameter(
            'bias',
            parameter(shape, dtype, (t) => t.data.fill(0)),
          )
        : null;
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.ndim - k);
    if (x.ndim < k || tail.some((d, i) => d !== this.normalizedShape[i]))
      throw new ShapeError(`${this.describe()}: expected input [*, ${this.normalizedShape.join(', ')}], got ${fmtShape(x.shape)}`);
    return layerNormRows(x, x.size / sizeOf(tail), this.weight, this.bias, this.eps);
  }

  override describe(): string {
    return `LayerNorm(${this.normalizedShape.join('×')}${this.eps !== 1e-5 ? `, eps ${this.eps}` : ''}${this.weight ? '' : ', no affine'})`;
  }
}
