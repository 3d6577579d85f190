/**
 * Batch normalisation (Ioffe & Szegedy 2015), PyTorch's nn.BatchNorm1d / nn.BatchNorm2d.
 *
 * Per channel c (dimension 1 of the input; the others are averaged over):
 *
 *   y = (x − μ) / √(σ² + eps) · weight[c] + bias[c]
 *
 * While training, μ and σ² are the batch's mean and biased variance (divided by n, the values per
 * channel), and the running statistics — buffers, saved and moved with the parameters — follow
 *
 *   running_mean ← (1 − f)·running_mean + f·μ        running_var ← (1 − f)·running_var + f·σ²·n/(n − 1)
 *
 * with f = momentum (0.1), or 1/num_batches_tracked when momentum is null (the cumulative average),
 * as PyTorch does: the running variance is the unbiased estimate, the normalisation uses the biased
 * one. In evaluation μ and σ² are the running statistics; without them (trackRunningStats: false)
 * the batch's statistics are used in both modes. Training on one value per channel is an error, as
 * in PyTorch (its variance is 0/0).
 *
 * The normalisation is written with autograd ops, so its gradients are theirs and it runs on every
 * backend, a device included; the running statistics are updated outside the graph with the same
 * ops (no read-back on a device), their tensors replaced in place (see moveStorage).
 *
 * Under the dropout and ensemble rules of this library (modes are forward's arguments): a
 * forward({ training: true }) updates the running statistics, as PyTorch's model.train() forward
 * does — an optimizer that evaluates its closure several times per step (L-BFGS, SAM) updates them
 * each time, as it does in PyTorch.
 */
import { Tensor, allocStorage, moveStorage, type DType } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { isDeviceStorage } from '../tensor/device.js';
import { noGrad } from '../autograd/engine.js';
import { add, div, mean, mul, reshape, sqrt, sub } from '../autograd/ops.js';
import { Module, parameter, type ForwardOptions } from './module.js';
import { bool, checkOptions, num, nullable, oneOf, type SchemaOf } from '../util/options.js';

export interface BatchNormOptions {
  /** Added to the variance before its square root; default 1e-5. */
  eps?: number;
  /** Weight of the newest batch in the running statistics, in [0, 1]; null: their cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learn a per-channel scale (weight, initially 1) and shift (bias, initially 0). Default true. */
  affine?: boolean;
  /** Keep running statistics for evaluation. Default true; false: batch statistics in evaluation too. */
  trackRunningStats?: boolean;
  dtype?: DType;
}

const schema: SchemaOf<BatchNormOptions> = {
  eps: num,
  momentum: nullable(num),
  affine: bool,
  trackRunningStats: bool,
  dtype: oneOf('float32', 'float64'),
};

function filled(dtype: DType, shape: number[], v: number): Tensor {
  const s = allocStorage(
    dtype,
    shape.reduce((a, b) => a * b, 1),
  );
  s.fill(v);
  return new Tensor(s, shape);
}

/** What BatchNorm1d and BatchNorm2d share (`instanceof BatchNorm` finds both). */
export abstract class BatchNorm extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** The per-channel scale (γ) and shift (β); null without affine. */
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  /** The running statistics (buffers); null without trackRunningStats. */
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  /** How many training batches the running statistics have seen (a 0-d buffer; PyTorch's int64 num_batches_tracked). */
  readonly numBatchesTracked: Tensor | null;

  constructor(
    readonly numFeatures: number,
    opts: BatchNormOptions,
    private readonly kind: string,
    /** The input ranks this layer takes, and how a message describes them. */
    private readonly ranks: readonly number[],
    private readonly layout: string,
  ) {
    super();
    checkOptions(kind, opts, schema);
    if (!Number.isInteger(numFeatures) || numFeatures < 1)
      throw new RangeError(`${kind}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.eps = opts.eps ?? 1e-5;
    if (!(this.eps >= 0)) throw new RangeError(`${kind}: invalid eps ${this.eps}; expected ≥ 0`);
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1))
      throw new RangeError(`${kind}: invalid momentum ${this.momentum}; expected a number in [0, 1] or null`);
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const dtype = opts.dtype ?? 'float32';
    const c = [numFeatures];
    this.weight = this.affine
      ? this.registerParameter(
          'weight',
          parameter(c, dtype, (t) => t.data.fill(1)),
        )
      : null;
    this.bias = this.affine
      ? this.registerParameter(
          'bias',
          parameter(c, dtype, (t) => t.data.fill(0)),
        )
      : null;
    if (this.trackRunningStats) {
      this.runningMean = this.registerBuffer('running_mean', filled(dtype, c, 0));
      this.runningVar = this.registerBuffer('running_var', filled(dtype, c, 1));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', filled(dtype, [], 0));
    } else {
      this.runningMean = this.runningVar = this.numBatchesTracked = null;
    }
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    const C = this.numFeatures;
    if (!this.ranks.includes(x.ndim) || x.shape[1] !== C)
      throw new ShapeError(`${this.describe()}: expected input ${this.layout.replaceAll('C', String(C))}, got ${fmtShape(x.shape)}`);
    const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
    const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
    const training = opts?.training ?? false;
    let y: Tensor;
    if (training || !this.runningMean) {
      const n = x.size / C;
      if (training && n <= 1)
        throw new ShapeError(`${this.describe()}: training needs more than 1 value per channel, got input ${fmtShape(x.shape)}`);
      const mu = mean(x, axes, true);
      const d = sub(x, mu);
      const v = mean(mul(d, d), axes, true);
      y = div(d, sqrt(add(v, this.eps)));
      if (training && this.runningMean) this.track(mu, v, n);
    } else {
      y = div(sub(x, reshape(this.runningMean, bshape)), sqrt(add(reshape(this.runningVar!, bshape), this.eps)));
    }
    if (this.weight) y = add(mul(y, reshape(this.weight, bshape)), reshape(this.bias!, bshape));
    return y;
  }

  /** The running statistics' update from a batch's mean and biased variance over n values per channel. */
  private track(mu: Tensor, v: Tensor, n: number): void {
    noGrad(() => {
      const C = [this.numFeatures];
      const nbt = add(this.numBatchesTracked!, 1);
      moveStorage(this.numBatchesTracked!, nbt.storage);
      // f as a number, or (cumulative average) as the 0-d tensor 1/num_batches_tracked, so a device never reads back
      const f: number | Tensor = this.momentum ?? div(1, nbt);
      const keep = typeof f === 'number' ? 1 - f : sub(1, f);
      const rm = add(mul(this.runningMean!, keep), mul(reshape(mu.detach(), C), f));
      const rv = add(
        mul(this.runningVar!, keep),
        mul(reshape(v.detach(), C), typeof f === 'number' ? (f * n) / (n - 1) : mul(f, n / (n - 1))),
      );
      moveStorage(this.runningMean!, rm.storage);
      moveStorage(this.runningVar!, rv.storage);
    });
  }

  /** Sets the running statistics back to mean 0, variance 1, no batches (PyTorch's reset_running_stats). */
  resetRunningStats(): void {
    for (const [t, v] of [
      [this.runningMean, 0],
      [this.runningVar, 1],
      [this.numBatchesTracked, 0],
    ] as const) {
      if (!t) continue;
      // a buffer on a device takes the values as an upload, ordered with its queue
      if (isDeviceStorage(t.storage)) t.storage.write(new Float32Array(t.size).fill(v));
      else t.data.fill(v);
    }
  }

  override describe(): string {
    const extra = [
      this.eps !== 1e-5 ? `eps ${this.eps}` : '',
      this.momentum !== 0.1 ? `momentum ${this.momentum}` : '',
      this.affine ? '' : 'affine false',
      this.trackRunningStats ? '' : 'no running stats',
    ].filter(Boolean);
    return `${this.kind}(${[String(this.numFeatures), ...extra].join(', ')})`;
  }
}

/** Batch normalisation of [N, C] or [N, C, L] inputs (after a Linear layer), statistics per feature C. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts, 'BatchNorm1d', [2, 3], '[N, C] or [N, C, L]');
  }
}

/** Batch normalisation of [N, C, H, W] inputs (after a Conv2d layer), statistics per channel C. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts, 'BatchNorm2d', [4], '[N, C, H, W]');
  }
}
