/**
 * Group normalisation (Wu & He 2018), PyTorch's nn.GroupNorm: the C channels of each sample are split
 * into G groups of C/G consecutive channels, and each group is normalised over its channels and all
 * their positions by its own mean and biased variance,
 *
 *   y = (x − μ[n, g]) / √(σ²[n, g] + eps) · weight[c] + bias[c]        (weight, bias of shape [C])
 *
 * the same in training and evaluation (no running statistics, no batch dependence: it works with a
 * batch of one). G = 1 normalises each sample whole (LayerNorm over [C, *] with a per-channel affine);
 * G = C each channel of each sample (instance normalisation). Input [N, C, *]. Normalised as
 * LayerNorm is (normaliseRows: each group's channels and positions are one contiguous row), so it
 * runs on every backend and differentiates to any order.
 */
import type { Tensor, DType } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { add, mul, reshape } from '../autograd/ops.js';
import { normaliseRows } from './norm-host.js';
import { Module, parameter } from './module.js';
import { bool, checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';

export interface GroupNormOptions {
  /** Added to the variance before its square root; default 1e-5. */
  eps?: number;
  /** Learn a per-channel scale (weight, initially 1) and shift (bias, initially 0). Default true. */
  affine?: boolean;
  dtype?: DType;
}

const schema: SchemaOf<GroupNormOptions> = { eps: num, affine: bool, dtype: oneOf('float32', 'float64') };

export class GroupNorm extends Module {
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  /** `new GroupNorm(numGroups, numChannels)`: numGroups must divide numChannels. */
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: GroupNormOptions = {},
  ) {
    super();
    checkOptions('GroupNorm', opts, schema);
    for (const [name, v] of [
      ['numGroups', numGroups],
      ['numChannels', numChannels],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`GroupNorm: ${name} must be a positive integer, got ${v}`);
    if (numChannels % numGroups)
      throw new RangeError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    this.eps = opts.eps ?? 1e-5;
    if (!(this.eps >= 0)) throw new RangeError(`GroupNorm: invalid eps ${this.eps}; expected ≥ 0`);
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.affine ?? true;
    this.weight = affine
      ? this.registerParameter(
          'weight',
          parameter([numChannels], dtype, (t) => t.data.fill(1)),
        )
      : null;
    this.bias = affine
      ? this.registerParameter(
          'bias',
          parameter([numChannels], dtype, (t) => t.data.fill(0)),
        )
      : null;
  }

  forward(x: Tensor): Tensor {
    const C = this.numChannels;
    if (x.ndim < 2 || x.shape[1] !== C) throw new ShapeError(`${this.describe()}: expected input [N, ${C}, *], got ${fmtShape(x.shape)}`);
    // each group's channels and positions are contiguous in [N, C, *]: one row per (sample, group)
    let y = normaliseRows(x, x.shape[0] * this.numGroups, this.eps);
    const cshape = x.shape.map((s, i) => (i === 1 ? s : 1)).slice(1);
    if (this.weight) y = add(mul(y, reshape(this.weight, cshape)), reshape(this.bias!, cshape));
    return y;
  }

  override describe(): string {
    return `GroupNorm(${this.numGroups}, ${this.numChannels}${this.eps !== 1e-5 ? `, eps ${this.eps}` : ''}${this.weight ? '' : ', no affine'})`;
  }
}
