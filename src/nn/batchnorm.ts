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
 * ops (no read-back on a device), written into the buffers' own storage.
 *
 * Under the dropout and ensemble rules of this library (modes are forward's arguments): a
 * forward({ training: true }) updates the running statistics, as PyTorch's model.train() forward
 * does — an optimizer that evaluates its closure several times per step (L-BFGS, SAM) updates them
 * each time, as it does in PyTorch.
 */
import { Tensor, allocStorage, full, type DType, type HostStorage } from '../tensor/tensor.js';
import { extension, kernelsFor } from '../backend/backend.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { isDeviceStorage } from '../tensor/device.js';
import { isGradEnabled, noGrad, record } from '../autograd/engine.js';
import { toDevice } from '../autograd/device.js';
import { poolGeometry, scatterPlanes } from '../autograd/conv.js';
import { add, div, mul, relu as reluOp, reshape, sqrt, sub } from '../autograd/ops.js';
import { Module, parameter, type ForwardOptions } from './module.js';
import { batchNormBackward, batchStatistics, momentsOver, normGradient } from './norm-host.js';
import type { MaxPool2d } from './pool.js';
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

/**
 * target ← a + b, written into target's storage (a of target's size, b of it or a number; the
 * kernels allow out to alias an input). A host operand is uploaded where target lives, as ops do.
 */
function addInto(target: Tensor, a: Tensor, b: Tensor | number): void {
  const bt = typeof b === 'number' ? full([], b, { dtype: target.dtype }) : b;
  const k = kernelsFor(target.storage, a.storage, bt.storage);
  k.backend.binary('add', k.on(a.storage), [a.size], k.on(bt.storage), [bt.size], target.storage, [target.size]);
}

/** 1 where y > 0 or NaN (where ReLU passes its gradient, as threshold_backward), else 0: a constant of y's shape. */
function positiveMask(y: HostStorage, shape: readonly number[]): Tensor {
  const m = allocStorage(y instanceof Float64Array ? 'float64' : 'float32', y.length);
  for (let i = 0; i < y.length; i++) m[i] = y[i] <= 0 ? 0 : 1;
  return new Tensor(m, shape);
}

/** What BatchNorm1d and BatchNorm2d share (`instanceof BatchNorm` finds both). */
export abstract class BatchNorm extends Module {
  readonly eps: number;
  /** The running statistics' momentum (null: cumulative average); updateBatchNorm sets it to null while it runs. */
  momentum: number | null;
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
      this.runningMean = this.registerBuffer('running_mean', full(c, 0, { dtype }));
      this.runningVar = this.registerBuffer('running_var', full(c, 1, { dtype }));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', full([], 0, { dtype }));
    } else {
      this.runningMean = this.runningVar = this.numBatchesTracked = null;
    }
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    return this.normalise(x, opts, false);
  }

  /**
   * forward, then ReLU when `relu`, then `pool` when given (BatchNormReLU, BatchNormReLUMaxPool): on
   * the host one op, with no array for the normalised values (nor, pooled on wasm, for the ReLU's).
   */
  normalise(x: Tensor, opts: ForwardOptions | undefined, relu: boolean, pool: MaxPool2d | null = null): Tensor {
    const C = this.numFeatures;
    if (!this.ranks.includes(x.ndim) || x.shape[1] !== C)
      throw new ShapeError(`${this.describe()}: expected input ${this.layout.replaceAll('C', String(C))}, got ${fmtShape(x.shape)}`);
    const training = opts?.training ?? false;
    const batchStats = training || !this.runningMean;
    const n = x.size / C;
    if (training && n <= 1)
      throw new ShapeError(`${this.describe()}: training needs more than 1 value per channel, got input ${fmtShape(x.shape)}`);
    const onHost = [x, this.weight, this.bias, this.runningMean, this.runningVar].every((t) => !t || !isDeviceStorage(t.storage));
    if (onHost) {
      if (!pool) return this.hostForward(x, batchStats, training, relu);
      return this.hostPoolForward(x, batchStats, training, relu, pool) ?? pool.forward(this.hostForward(x, batchStats, training, relu));
    }
    const y = this.composite(x, batchStats, training);
    const z = relu ? reluOp(y) : y;
    return pool ? pool.forward(z) : z;
  }

  /** The layer as autograd ops: its definition, run where the values live (a device's kernels). */
  private composite(x: Tensor, batchStats: boolean, training: boolean): Tensor {
    const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
    const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
    let y: Tensor;
    if (batchStats) {
      const { mu, v, d, invstd } = momentsOver(x, axes, this.eps);
      y = mul(d, invstd);
      if (training && this.runningMean) this.track(mu, v, x.size / this.numFeatures);
    } else {
      y = div(sub(x, reshape(this.runningMean!, bshape)), sqrt(add(reshape(this.runningVar!, bshape), this.eps)));
    }
    if (this.weight) y = add(mul(y, reshape(this.weight, bshape)), reshape(this.bias!, bshape));
    return y;
  }

  /**
   * The same on the host as one op: one output array forward and one input gradient backward (the
   * composite allocates about ten arrays of x's size each way, and a fresh large array costs its
   * page faults). The backend's batchNorm extension runs it where it has one (wasm: SIMD over
   * threads); the loops here, in float64, take the rest. Its backward is PyTorch's
   * batch_norm_backward; under createGraph it is the composite's gradient instead, so second
   * derivatives go through it.
   */
  private hostForward(x: Tensor, batchStats: boolean, training: boolean, relu: boolean): Tensor {
    const C = this.numFeatures;
    const N = x.shape[0];
    const inner = x.size / N / C;
    const xd = x.data;
    const w = this.weight?.data ?? null,
      b = this.bias?.data ?? null;
    const { mu, varB } = this.channelStats(batchStats);
    const out = allocStorage(x.dtype, x.size);
    if (!extension('batchNorm')?.(xd, out, N, C, inner, mu, varB, this.eps, batchStats, w, b, relu)) {
      if (batchStats) batchStatistics(xd, N, C, inner, mu, varB);
      for (let c = 0; c < C; c++) {
        const scale = (w ? w[c] : 1) / Math.sqrt(varB[c] + this.eps),
          shift = b ? b[c] : 0,
          m = mu[c];
        // ReLU as torch.relu: v ≤ 0 ? 0 : v, so NaN stays NaN (in the same pass: each pass over a fresh array costs)
        for (let i = 0; i < N; i++)
          for (let o = (i * C + c) * inner, e = o + inner; o < e; o++) {
            const v = (xd[o] - m) * scale + shift;
            out[o] = relu && v <= 0 ? 0 : v;
          }
      }
    }
    if (batchStats && training && this.runningMean) this.trackHost(mu, varB, N * inner);
    const invstd = varB.map((v) => 1 / Math.sqrt(v + this.eps));
    return this.recordHost(
      relu ? 'batchNormReLU' : 'batchNorm',
      x,
      new Tensor(out, x.shape),
      { batchStats, mu, invstd },
      (g) => (relu ? mul(g, positiveMask(out, x.shape)) : g),
      (gy, gx, sums) => {
        if (!extension('batchNormBackward')?.(gy, xd, relu ? out : null, gx, N, C, inner, mu, invstd, w, batchStats, sums))
          batchNormBackward(gy, xd, relu ? out : null, gx, N, C, inner, mu, invstd, w, batchStats, sums);
      },
    );
  }

  /**
   * pool(relu(batchNorm(x))) (ReLU when `relu`) as one op on a backend with the batchNormPool
   * extension: the full-size normalised values are never an array here. Null where the backend has
   * none or declines, having computed nothing (the caller composes the two ops).
   */
  private hostPoolForward(x: Tensor, batchStats: boolean, training: boolean, relu: boolean, pool: MaxPool2d): Tensor | null {
    const ext = extension('batchNormPool');
    if (!ext) return null;
    const pargs = { stride: pool.stride, padding: pool.padding, ceilMode: pool.ceilMode };
    const pg = poolGeometry(x.shape, pool.kernelSize, pargs, pool.describe());
    const C = this.numFeatures;
    const xd = x.data;
    const w = this.weight?.data ?? null;
    const { mu, varB } = this.channelStats(batchStats);
    const idx = new Int32Array(pg.n * pg.c * pg.oh * pg.ow);
    const out = allocStorage(x.dtype, idx.length);
    if (!ext(xd, out, idx, pg, mu, varB, this.eps, batchStats, w, this.bias?.data ?? null, relu)) return null;
    if (batchStats && training && this.runningMean) this.trackHost(mu, varB, pg.n * pg.h * pg.w);
    const invstd = varB.map((v) => 1 / Math.sqrt(v + this.eps));
    const pooledShape = [pg.n, pg.c, pg.oh, pg.ow];
    return this.recordHost(
      'batchNormPool',
      x,
      new Tensor(out, pooledShape),
      { batchStats, mu, invstd },
      (g) => scatterPlanes(relu ? mul(g, positiveMask(out, pooledShape)) : g, idx, x.shape),
      (gp, gx, sums) => {
        if (extension('batchNormPoolBackward')?.(gp, out, idx, xd, gx, pg, mu, invstd, w, batchStats, relu, sums)) return;
        // the pooled gradient scattered to the arg-max offsets (through ReLU where the pooled value is ≤ 0), then the loops
        const gz = allocStorage(x.dtype, x.size);
        const plane = pg.h * pg.w,
          pooledPlane = pg.oh * pg.ow;
        for (let p = 0; p < idx.length; p++) if (!(relu && out[p] <= 0)) gz[Math.floor(p / pooledPlane) * plane + idx[p]] += gp[p];
        batchNormBackward(gz, xd, null, gx, pg.n, C, plane, mu, invstd, w, batchStats, sums);
      },
    );
  }

  /** The channels' mean and variance: zeros to be computed from the batch, or the running statistics. */
  private channelStats(batchStats: boolean): { mu: Float64Array; varB: Float64Array } {
    const C = this.numFeatures;
    const mu = new Float64Array(C),
      varB = new Float64Array(C);
    if (!batchStats) {
      mu.set(this.runningMean!.data);
      varB.set(this.runningVar!.data);
    }
    return { mu, varB };
  }

  /**
   * Records a host op over x (and the affine parameters): `backward` writes the input's gradient
   * into gx and the per-channel sums that are the bias' and weight's gradients. Under createGraph the
   * gradients are normGradient's, in differentiable ops of x, the parameters and `gz` (the op's
   * output gradient brought back to the normalised values: through ReLU's mask and pooling's
   * scatter), so second derivatives go through them.
   */
  private recordHost(
    op: string,
    x: Tensor,
    y: Tensor,
    stats: { batchStats: boolean; mu: Float64Array; invstd: Float64Array },
    gz: (g: Tensor) => Tensor,
    backward: (g: HostStorage, gx: HostStorage, sums: Float64Array) => void,
  ): Tensor {
    const C = this.numFeatures;
    const inputs = this.weight ? [x, this.weight, this.bias!] : [x];
    return record(op, inputs, y, (g) => {
      if (isGradEnabled()) {
        const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
        const channels = (a: Float64Array) =>
          new Tensor(
            allocStorage(x.dtype, C).map((_, c) => a[c]),
            bshape,
          );
        const fixed = stats.batchStats ? null : { mean: channels(stats.mu), invstd: channels(stats.invstd) };
        const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
        const r = normGradient(x, gz(g), axes, this.eps, this.weight && reshape(this.weight, bshape), fixed);
        return this.weight ? [r.gx, reshape(r.gw, [C]), reshape(r.gb, [C])] : [r.gx];
      }
      const gx = allocStorage(x.dtype, x.size);
      const sums = new Float64Array(2 * C);
      backward(g.data, gx, sums);
      if (!this.weight) return [new Tensor(gx, x.shape)];
      const gw = allocStorage(x.dtype, C),
        gb = allocStorage(x.dtype, C);
      for (let c = 0; c < C; c++) {
        gb[c] = sums[c];
        gw[c] = sums[C + c];
      }
      return [new Tensor(gx, x.shape), new Tensor(gw, [C]), new Tensor(gb, [C])];
    });
  }

  /** trackHost: the running statistics' update on the host, from float64 batch statistics over M values per channel. */
  private trackHost(mu: Float64Array, varB: Float64Array, M: number): void {
    const nbt = this.numBatchesTracked!.data;
    nbt[0] += 1;
    const f = this.momentum ?? 1 / nbt[0];
    const rm = this.runningMean!.data,
      rv = this.runningVar!.data;
    for (let c = 0; c < this.numFeatures; c++) {
      rm[c] = (1 - f) * rm[c] + f * mu[c];
      rv[c] = (1 - f) * rv[c] + (f * varB[c] * M) / (M - 1);
    }
  }

  /**
   * The running statistics' update from a batch's mean and biased variance over n values per
   * channel. Each new value is written into the buffer's own storage (the last addition's output),
   * so a buffer keeps its memory — on a device, the buffer allocated by Module.to, outside every step.
   */
  private track(mu: Tensor, v: Tensor, n: number): void {
    noGrad(() => {
      const C = [this.numFeatures];
      const nbt = this.numBatchesTracked!;
      addInto(nbt, nbt, 1);
      // f as a number, or (cumulative average) as the 0-d tensor 1/num_batches_tracked, so a device never reads back
      const f: number | Tensor = this.momentum ?? div(1, nbt);
      const keep = typeof f === 'number' ? 1 - f : sub(1, f);
      const rm = this.runningMean!,
        rv = this.runningVar!;
      addInto(rm, mul(rm, keep), mul(reshape(mu.detach(), C), f));
      addInto(rv, mul(rv, keep), mul(reshape(v.detach(), C), typeof f === 'number' ? (f * n) / (n - 1) : mul(f, n / (n - 1))));
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

/** Whether `model` holds a BatchNorm layer (anywhere among its sub-modules). */
export function hasBatchNorm(model: Module): boolean {
  return model instanceof BatchNorm || model.children().some(([, c]) => hasBatchNorm(c));
}

/** Whether the model has a BatchNorm layer that keeps running statistics (the ones updateBatchNorm recomputes). */
export function tracksBatchNorm(model: Module): boolean {
  return (model instanceof BatchNorm && model.runningMean !== null) || model.children().some(([, c]) => tracksBatchNorm(c));
}

type Batch = Tensor | { x: Tensor };

/** The model's BatchNorm layers that keep running statistics, reset, momentum null; a function that restores their momenta. */
function startUpdate(model: Module): { layers: BatchNorm[]; restore(): void } {
  const layers: BatchNorm[] = [];
  const walk = (m: Module) => {
    if (m instanceof BatchNorm && m.runningMean) layers.push(m);
    for (const [, c] of m.children()) walk(c);
  };
  walk(model);
  const momenta = layers.map((l) => l.momentum);
  for (const l of layers) {
    l.resetRunningStats();
    l.momentum = null;
  }
  return {
    layers,
    restore: () =>
      layers.forEach((l, i) => {
        l.momentum = momenta[i];
      }),
  };
}

/**
 * Recomputes every BatchNorm layer's running statistics from `batches` (PyTorch's
 * torch.optim.swa_utils.update_bn): after weight averaging (SWA, EMA) the averaged weights never
 * produced the running statistics the model holds, so the statistics are reset and then set to the
 * plain average over these batches (momentum null while it runs, then restored), with forward
 * passes in training mode and no gradients. A batch is a tensor or a { x } (a DataLoader's batch).
 * `rng` is for the stochastic layers a training-mode forward runs (dropout). A model without
 * BatchNorm is left as it is. On the host; a model on a device: updateBatchNormAsync.
 */
export function updateBatchNorm(model: Module, batches: Iterable<Batch>, opts: { rng?: ForwardOptions['rng'] } = {}): void {
  const { layers, restore } = startUpdate(model);
  if (!layers.length) return;
  if (layers[0].runningMean!.device !== 'cpu')
    throw new Error(`updateBatchNorm: the model lives on ${layers[0].runningMean!.device}; use await updateBatchNormAsync(model, batches)`);
  try {
    for (const b of batches) {
      const x = b instanceof Tensor ? b : b.x;
      noGrad(() => model.forward(x, { training: true, rng: opts.rng }));
    }
  } finally {
    restore();
  }
}

/** updateBatchNorm on any device, from batches sync or async: each batch is moved to the model's device. */
export async function updateBatchNormAsync(
  model: Module,
  batches: Iterable<Batch> | AsyncIterable<Batch>,
  opts: { rng?: ForwardOptions['rng'] } = {},
): Promise<void> {
  const { layers, restore } = startUpdate(model);
  if (!layers.length) return;
  const device = layers[0].runningMean!.device;
  try {
    for await (const b of batches) {
      const x = b instanceof Tensor ? b : b.x;
      const xd = x.device === device ? x : await toDevice(x, device);
      noGrad(() => model.forward(xd, { training: true, rng: opts.rng }));
    }
  } finally {
    restore();
  }
}
