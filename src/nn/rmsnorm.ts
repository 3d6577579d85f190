/**
 * Root-mean-square layer normalisation (Zhang & Sennrich 2019), PyTorch 2.4+'s nn.RMSNorm and
 * F.rms_norm: each sample is scaled over its last dimensions (`normalizedShape`) by the root of its
 * mean square, with no centring and no bias,
 *
 *   y = x / √(mean(x²) + eps) · weight        (weight of shape normalizedShape, initially 1)
 *
 * the same in training and evaluation. eps left out is PyTorch's None: the machine epsilon of x's
 * dtype (float32 2⁻²³ ≈ 1.19e-7, float64 2⁻⁵² ≈ 2.22e-16), as torch.finfo(dtype).eps. Composed of
 * autograd ops, so it runs on every backend and differentiates to any order.
 */
import type { Tensor, DType } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { div, mean, mul, reshape, sqrt, square, add } from '../autograd/ops.js';
import { Module, parameter, type MaskSupport } from './module.js';
import { bool, checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';

/** torch.finfo(dtype).eps: rms_norm's eps when none is given. */
export const machineEps = (dtype: DType): number => (dtype === 'float64' ? 2 ** -52 : 2 ** -23);

/** `normalizedShape` as a list of positive integers, or an error naming `what`. */
function shapeArg(normalizedShape: number | readonly number[], what: string): number[] {
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : Array.isArray(normalizedShape) ? [...normalizedShape] : [];
  if (!shape.length || !shape.every((d) => Number.isInteger(d) && d >= 1))
    throw new RangeError(`${what}: normalizedShape must be positive integers, got ${JSON.stringify(normalizedShape)}`);
  return shape;
}

/**
 * F.rms_norm: x / √(mean(x²) + eps) over x's last dimensions, which must equal `normalizedShape`,
 * times `weight` (of that shape) when given; eps null or left out is the machine epsilon of x's dtype.
 */
export function rmsNorm(x: Tensor, normalizedShape: number | readonly number[], weight: Tensor | null = null, eps?: number | null): Tensor {
  const shape = shapeArg(normalizedShape, 'rmsNorm');
  const e = eps ?? machineEps(x.dtype);
  if (typeof e !== 'number' || !(e >= 0)) throw new RangeError(`rmsNorm: invalid eps ${e}; expected a number ≥ 0`);
  const k = shape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (x.ndim < k || tail.some((d, i) => d !== shape[i]))
    throw new ShapeError(`rmsNorm: expected input [*, ${shape.join(', ')}] (normalizedShape), got ${fmtShape(x.shape)}`);
  if (weight && (weight.ndim !== k || weight.shape.some((d, i) => d !== shape[i])))
    throw new ShapeError(`rmsNorm: expected weight ${fmtShape(shape)} (normalizedShape), got ${fmtShape(weight.shape)}`);
  const F = tail.reduce((a, d) => a * d, 1);
  const x2 = reshape(x, [x.size / F || 0, F]);
  // 1/√(mean(x²) + eps) per row, PyTorch's rsqrt of the mean square, then x times it and the weight
  const inv = div(1, sqrt(add(mean(square(x2), 1, true), e)));
  const y = reshape(mul(x2, inv), x.shape);
  return weight ? mul(y, weight) : y;
}

export interface RMSNormOptions {
  /** Added to the mean square before its root; default the machine epsilon of the input's dtype (PyTorch's None). */
  eps?: number;
  /** Learn a per-element scale (weight, initially 1). Default true. */
  elementwiseAffine?: boolean;
  dtype?: DType;
}

const schema: SchemaOf<RMSNormOptions> = { eps: num, elementwiseAffine: bool, dtype: oneOf('float32', 'float64') };

export class RMSNorm extends Module {
  readonly normalizedShape: readonly number[];
  /** The eps given, or null: the machine epsilon of each input's dtype. */
  readonly eps: number | null;
  readonly weight: Tensor | null;

  /** `new RMSNorm(64)` normalises the last dimension of size 64; `new RMSNorm([C, H, W])` the last three. */
  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    super();
    checkOptions('RMSNorm', opts, schema);
    this.normalizedShape = shapeArg(normalizedShape, 'RMSNorm');
    this.eps = opts.eps ?? null;
    if (this.eps !== null && !(this.eps >= 0)) throw new RangeError(`RMSNorm: invalid eps ${this.eps}; expected ≥ 0`);
    this.weight =
      (opts.elementwiseAffine ?? true)
        ? this.registerParameter(
            'weight',
            parameter([...this.normalizedShape], opts.dtype ?? 'float32', (t) => t.data.fill(1)),
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
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }

  override describe(): string {
    return `RMSNorm(${this.normalizedShape.join('×')}${this.eps !== null ? `, eps ${this.eps}` : ''}${this.weight ? '' : ', no affine'})`;
  }
}
