/**
 * DropConnect (Wan, Zeiler, Zhang, LeCun & Fergus, ICML 2013): a linear layer whose *weights* are
 * dropped while training, r = a((M ⊙ W) v + b) with M_ij ~ Bernoulli(1 − p).
 *
 * Conventions chosen here:
 * - p is the *drop* probability (as in Dropout; the paper's p is the keep probability).
 * - Inverted scaling: kept weights are multiplied by 1/(1 − p) while training, so the mean network
 *   at inference is plain W (the paper keeps W and multiplies by the keep probability at inference;
 *   the two are the same function).
 * - The bias is not dropped.
 * - masks: 'example' (default, the paper): every example of a batch has its own mask, N·out·in
 *   Bernoulli draws per batch (p rounded to a multiple of 2⁻¹⁶, see perExampleMasks) and plain-loop
 *   products; on the MLP's 784→256 layer that is several times the cost of the whole rest of a step. 'batch': one mask per mini-batch, a single
 *   matmul with W ⊙ M — much faster, but the examples of a batch share a sub-network.
 * - inference: 'mean' (default) evaluates a(W v + b). 'gaussian' is the paper's moment matching
 *   (its Algorithm 2): each pre-activation u = (M ⊙ W) v + b is approximated by a Gaussian with the
 *   same mean and variance, μ = W v + b and σ² = p/(1 − p) · (W ⊙ W)(v ⊙ v), and the output is the
 *   average of a(u) over `samples` draws (Z in the paper). With activation 'none' that average is μ
 *   exactly, so μ is returned. Gaussian inference is not differentiated (it is for evaluation).
 * - The activation belongs to the layer (as in the paper), because moment matching averages a(u),
 *   not u: none, relu, tanh, sigmoid, or one of activation.ts's with its parameters (leakyrelu
 *   with negativeSlope, elu with alpha, gelu with approximate, silu, softplus with beta and
 *   threshold; PyTorch's defaults). Moment matching samples u, so it takes any of them: a(u) is
 *   the activation's own formula (the reference backend's kernel), applied to each draw.
 */
import { Tensor, allocStorage, type DType, type HostStorage } from '../tensor/tensor.js';
import { Rng, nextDefaultRng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { add, mm, mul, relu, sigmoid, tanh } from '../autograd/ops.js';
import { elu, finiteArg, gelu, geluApproximate, leakyRelu, silu, softplus, type GeluApproximate } from '../autograd/activations.js';
import type { UnaryOp } from '../backend/backend.js';
import { referenceBackend } from '../backend/reference.js';
import { record } from '../autograd/engine.js';
import { Module, parameter, type ForwardOptions } from './module.js';
import { initializers, weightOptionSpecs, type InitName } from './init.js';
import { bool, checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';
import { checkDropP, fillDropMask, needRng } from './dropout.js';

const ACTIVATIONS = ['none', 'relu', 'tanh', 'sigmoid', 'leakyrelu', 'elu', 'gelu', 'silu', 'softplus'] as const;
/** The activations a DropConnect layer applies (its `activation` option; the spec's `act=`). */
export type DropConnectActivation = (typeof ACTIVATIONS)[number];

/** The parameters of DropConnect's activations, each taken only with its own activation (PyTorch's defaults when left out). */
export interface DropConnectActivationOptions {
  /** With activation 'leakyrelu': the slope for u ≤ 0 (PyTorch's negative_slope); default 0.01. */
  negativeSlope?: number;
  /** With activation 'elu': the value approached as u → −∞ is −alpha; default 1. */
  alpha?: number;
  /** With activation 'gelu': 'none' (u·Φ(u) through erf, the default) or 'tanh'. */
  approximate?: GeluApproximate;
  /** With activation 'softplus': log(1 + e^(beta·u))/beta; default 1. */
  beta?: number;
  /** With activation 'softplus': the identity where beta·u exceeds it; default 20. */
  threshold?: number;
}

export interface DropConnectOptions extends DropConnectActivationOptions {
  /** Probability of dropping each weight, in [0, 1). Default 0.5. */
  p?: number;
  masks?: 'example' | 'batch';
  inference?: 'mean' | 'gaussian';
  /** Z, the number of Gaussian samples per unit for inference 'gaussian'. Default 100. */
  samples?: number;
  activation?: DropConnectActivation;
  bias?: boolean;
  dtype?: DType;
  init?: InitName;
  rng?: Rng;
}

const dropConnectSchema: SchemaOf<DropConnectOptions> = {
  p: num,
  masks: oneOf('example', 'batch'),
  inference: oneOf('mean', 'gaussian'),
  samples: num,
  activation: oneOf(...ACTIVATIONS),
  negativeSlope: num,
  alpha: num,
  approximate: oneOf('none', 'tanh'),
  beta: num,
  threshold: num,
  bias: bool,
  ...weightOptionSpecs,
};

/** The activation each parameter belongs to. */
const PARAMETER_OF: Record<keyof DropConnectActivationOptions, DropConnectActivation> = {
  negativeSlope: 'leakyrelu',
  alpha: 'elu',
  approximate: 'gelu',
  beta: 'softplus',
  threshold: 'softplus',
};

/** An activation with its parameters: the tensor op, and the same function as a unary kernel (null: the identity) with its scalars. */
interface Activation {
  apply: (x: Tensor) => Tensor;
  op: UnaryOp | null;
  scalars: number[];
  options: DropConnectActivationOptions;
}

/** The activation `name` with the parameters in `o`, checked as its module checks them; a parameter of another activation is refused. */
function activationOf(name: DropConnectActivation, o: DropConnectActivationOptions): Activation {
  for (const k of Object.keys(PARAMETER_OF) as (keyof DropConnectActivationOptions)[])
    if (o[k] !== undefined && PARAMETER_OF[k] !== name)
      throw new RangeError(`DropConnect: ${k} is a parameter of activation '${PARAMETER_OF[k]}', not of '${name}'`);
  switch (name) {
    case 'none':
      return { apply: (x) => x, op: null, scalars: [], options: {} };
    case 'relu':
    case 'tanh':
    case 'sigmoid':
      return { apply: { relu, tanh, sigmoid }[name], op: name, scalars: [], options: {} };
    case 'leakyrelu': {
      const s = finiteArg(o.negativeSlope ?? 0.01, 'DropConnect', 'negativeSlope');
      return { apply: (x) => leakyRelu(x, s), op: 'leakyRelu', scalars: [s], options: { negativeSlope: s } };
    }
    case 'elu': {
      const a = finiteArg(o.alpha ?? 1, 'DropConnect', 'alpha');
      return { apply: (x) => elu(x, a), op: 'elu', scalars: [a], options: { alpha: a } };
    }
    case 'gelu': {
      const g = geluApproximate(o.approximate ?? 'none', 'DropConnect');
      return { apply: (x) => gelu(x, g), op: g === 'none' ? 'gelu' : 'geluTanh', scalars: [], options: { approximate: g } };
    }
    case 'silu':
      return { apply: silu, op: 'silu', scalars: [], options: {} };
    case 'softplus': {
      const b = finiteArg(o.beta ?? 1, 'DropConnect', 'beta', true);
      const t = finiteArg(o.threshold ?? 20, 'DropConnect', 'threshold');
      return { apply: (x) => softplus(x, b, t), op: 'softplus', scalars: [b, t], options: { beta: b, threshold: t } };
    }
  }
}

/**
 * The per-example masked product y[n, o] = s·Σ_i m[n, o, i]·W[o, i]·x[n, i] and its two backward
 * products. Like convolution it is trilinear in (x, W, gy), so the three are each other's
 * derivatives and second derivatives work.
 */
function maskedOps(m: Uint8Array, s: number, N: number, O: number, I: number) {
  const fwd = (x: Tensor, w: Tensor): Tensor => {
    const out = allocStorage(x.dtype, N * O);
    const xd = x.data,
      wd = w.data;
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        const mb = (n * O + o) * I,
          wb = o * I,
          xb = n * I;
        let acc = 0;
        for (let i = 0; i < I; i++) acc += m[mb + i] * wd[wb + i] * xd[xb + i]; // branch-free: masks are 0/1
        out[n * O + o] = acc * s;
      }
    return record('dropConnect', [x, w], new Tensor(out, [N, O]), (gy) => [
      x.requiresGrad ? backInput(gy, w) : null,
      w.requiresGrad ? backWeight(x, gy) : null,
    ]);
  };
  const backInput = (gy: Tensor, w: Tensor): Tensor => {
    const out = allocStorage(gy.dtype, N * I);
    const gd = gy.data,
      wd = w.data;
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        const g = gd[n * O + o] * s;
        if (g === 0) continue;
        const mb = (n * O + o) * I,
          wb = o * I,
          xb = n * I;
        for (let i = 0; i < I; i++) out[xb + i] += m[mb + i] * g * wd[wb + i];
      }
    return record('dropConnectBackInput', [gy, w], new Tensor(out, [N, I]), (ggx) => [
      gy.requiresGrad ? fwd(ggx, w) : null,
      w.requiresGrad ? backWeight(ggx, gy) : null,
    ]);
  };
  const backWeight = (x: Tensor, gy: Tensor): Tensor => {
    const out = allocStorage(x.dtype, O * I);
    const gd = gy.data,
      xd = x.data;
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        const g = gd[n * O + o] * s;
        if (g === 0) continue;
        const mb = (n * O + o) * I,
          wb = o * I,
          xb = n * I;
        for (let i = 0; i < I; i++) out[wb + i] += m[mb + i] * g * xd[xb + i];
      }
    return record('dropConnectBackWeight', [x, gy], new Tensor(out, [O, I]), (ggw) => [
      x.requiresGrad ? backInput(gy, ggw) : null,
      gy.requiresGrad ? fwd(x, ggw) : null,
    ]);
  };
  return fwd;
}

/**
 * n Bernoulli(1 − p) keep-flags (1 = keep). Two flags per 32-bit draw, from its 16-bit halves: the
 * masks of a big layer are tens of millions of draws per batch, and the generator is the cost. So
 * p is rounded to a multiple of 2⁻¹⁶ here (exact for 0.5, 0.25, …; off by at most 7.6·10⁻⁶).
 */
export function perExampleMasks(n: number, p: number, rng: Rng): Uint8Array {
  const m = new Uint8Array(n);
  const t = Math.round(p * 65536);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const u = rng.nextU32();
    m[i] = +((u & 0xffff) >= t);
    m[i + 1] = +(u >>> 16 >= t);
  }
  if (i < n) m[i] = +((rng.nextU32() & 0xffff) >= t);
  return m;
}

export class DropConnect extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly p: number;
  readonly masks: 'example' | 'batch';
  readonly inference: 'mean' | 'gaussian';
  readonly samples: number;
  readonly activation: DropConnectActivation;
  /** The activation's parameters, its defaults filled in ({} for those without any). */
  readonly activationOptions: Readonly<DropConnectActivationOptions>;
  private readonly act: Activation;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: DropConnectOptions = {},
  ) {
    super();
    checkOptions('DropConnect', opts, dropConnectSchema);
    for (const [k, v] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`DropConnect: ${k} must be a positive integer, got ${v}`);
    }
    this.p = checkDropP(opts.p ?? 0.5, 'DropConnect');
    this.masks = opts.masks ?? 'example';
    if (this.masks !== 'example' && this.masks !== 'batch')
      throw new RangeError(`DropConnect: masks must be 'example' or 'batch', got ${JSON.stringify(opts.masks)}`);
    this.inference = opts.inference ?? 'mean';
    if (this.inference !== 'mean' && this.inference !== 'gaussian')
      throw new RangeError(`DropConnect: inference must be 'mean' or 'gaussian', got ${JSON.stringify(opts.inference)}`);
    this.samples = opts.samples ?? 100;
    if (!Number.isInteger(this.samples) || this.samples < 1)
      throw new RangeError(`DropConnect: samples must be a positive integer, got ${opts.samples}`);
    this.activation = opts.activation ?? 'none';
    if (!ACTIVATIONS.includes(this.activation))
      throw new RangeError(`DropConnect: activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(opts.activation)}`);
    this.act = activationOf(this.activation, opts);
    this.activationOptions = Object.freeze(this.act.options);
    const rng = opts.rng ?? nextDefaultRng();
    const dtype = opts.dtype ?? 'float32';
    const init = initializers[opts.init ?? 'torch'];
    if (!init) throw new RangeError(`DropConnect: unknown init "${opts.init}"; expected one of ${Object.keys(initializers).join(', ')}`);
    this.weight = this.registerParameter(
      'weight',
      parameter([outFeatures, inFeatures], dtype, (t) => init(t, rng)),
    );
    const b = 1 / Math.sqrt(inFeatures);
    this.bias =
      opts.bias === false
        ? null
        : this.registerParameter(
            'bias',
            parameter([outFeatures], dtype, (t) => {
              for (let i = 0; i < t.size; i++) t.data[i] = -b + 2 * b * rng.uniform();
            }),
          );
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    if (x.ndim !== 2 || x.shape[1] !== this.inFeatures) {
      throw new ShapeError(`${this.describe()}: expected input [N, ${this.inFeatures}], got ${fmtShape(x.shape)}`);
    }
    const act = this.act.apply;
    const withBias = (y: Tensor) => (this.bias ? add(y, this.bias) : y);
    if (!opts?.training || this.p === 0) {
      if (this.inference === 'gaussian' && this.p > 0 && this.activation !== 'none') return this.gaussian(x, opts?.rng);
      return act(withBias(mm(x, this.weight, false, true)));
    }
    const rng = needRng(opts, this.describe());
    const [N, I, O] = [x.shape[0], this.inFeatures, this.outFeatures];
    if (this.masks === 'batch') {
      return act(withBias(mm(x, mul(this.weight, new Tensor(this.batchMask(rng), [O, I])), false, true)));
    }
    const m = perExampleMasks(N * O * I, this.p, rng);
    return act(withBias(maskedOps(m, 1 / (1 - this.p), N, O, I)(x, this.weight)));
  }

  /**
   * The [out, in] weight mask of a training forward with masks 'batch', drawn from `rng` as forward
   * draws it: 1/(1 − p) where a connection is kept, 0 where dropped. Given a generator in the state
   * forward received, it is the mask forward used (the lab draws the dropped connections this way).
   */
  batchMask(rng: Rng): HostStorage {
    const mask = allocStorage(this.weight.dtype, this.outFeatures * this.inFeatures);
    fillDropMask(mask, this.p, rng);
    return mask;
  }

  /**
   * Moment-matching inference: the average of a(u) over Z draws of u ~ N(μ, σ²) per unit, drawn
   * in order (unit by unit, row by row), a applied to them in float64 by the activation's kernel.
   */
  private gaussian(x: Tensor, given?: Rng): Tensor {
    const rng = given ?? new Rng(0x5eed); // evaluation stays deterministic without an rng
    const [N, I, O] = [x.shape[0], this.inFeatures, this.outFeatures];
    const xd = x.data,
      wd = this.weight.data,
      bd = this.bias?.data;
    const { op, scalars } = this.act;
    if (op === null) throw new Error('DropConnect: Gaussian inference of the identity is μ itself'); // forward never asks
    const ratio = this.p / (1 - this.p);
    const Z = this.samples;
    const u = new Float64Array(Z);
    const out = allocStorage(x.dtype, N * O);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        let mu = bd ? bd[o] : 0,
          v = 0;
        for (let i = 0; i < I; i++) {
          const t = wd[o * I + i] * xd[n * I + i];
          mu += t;
          v += t * t;
        }
        const sd = Math.sqrt(ratio * v);
        for (let z = 0; z < Z; z++) u[z] = mu + sd * rng.normal();
        referenceBackend.unary(op, u, u, scalars);
        let s = 0;
        for (let z = 0; z < Z; z++) s += u[z];
        out[n * O + o] = s / Z;
      }
    return new Tensor(out, [N, O]);
  }

  override describe(): string {
    const params = Object.entries(this.activationOptions).map(([k, v]) => `${k}=${v}`);
    const act = this.activation === 'none' ? '' : `, ${this.activation}${params.length ? `(${params.join(', ')})` : ''}`;
    return `DropConnect(${this.inFeatures}→${this.outFeatures}, p=${this.p}${act})`;
  }
}
