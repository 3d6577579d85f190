/**
 * The losses of torch.nn.functional beyond cross-entropy and MSE, formula for formula PyTorch
 * 1.13's (aten's Loss.cpp, BinaryCrossEntropy.cpp):
 *
 *   l1Loss                           |x − y|
 *   smoothL1Loss (β ≥ 0)             ½d²/β where d = |x − y| < β, else d − ½β; β = 0 is l1Loss
 *   huberLoss (δ > 0)                ½d² where d < δ, else δ·(d − ½δ)      (= β·smoothL1Loss with β = δ)
 *   binaryCrossEntropyWithLogits     w·[(1 − y)·x + (1 + (p − 1)·y)·log(1 + e⁻ˣ)]   (p: posWeight)
 *   binaryCrossEntropy               −w·[y·max(log x, −100) + (1 − y)·max(log(1 − x), −100)]
 *   klDiv                            y·(log y − x), 0 where y = 0 (xlogy); e^y·(y − x) with logTarget
 *
 * (nllLoss is beside crossEntropy, whose targets and weights it shares.) Each reduces by 'mean'
 * (over every element: a weighted BCE divides by the element count, not by the weights' sum as
 * cross-entropy does with class weights), 'sum' or 'none'; klDiv also by 'batchmean', the sum
 * divided by the batch size, the true KL divergence per sample (its 'mean' divides by every
 * element, as PyTorch's does, which warns about it).
 *
 * Input and target have one shape (PyTorch broadcasts the regression losses with a warning; here a
 * mismatch is refused, as mseLoss refuses it). Every loss is composed of ops that run where the
 * input lives, so a device input keeps the whole loss on the device; a host target is uploaded.
 * The Huber family's and BCE-with-logits' gradients come from their differentiable ops, which
 * equal PyTorch's (its gradient at |x − y| = δ is δ, at 0 it is 0; log(1 + e⁻ˣ) is softplus(−x),
 * whose derivative −σ(−x) gives (1 + (p − 1)·y)·σ(x) − p·y, σ(0) = ½ included). binaryCrossEntropy
 * and klDiv are recorded with PyTorch's explicit gradients: BCE's w·(x − y)/max(x·(1 − x), ε), ε = 1e-12 as a float,
 * stays finite at x = 0 and 1, where the clamped logs have no derivative.
 */
import { Tensor, allocStorage, full } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { broadcastShapes, fmtShape, shapeEq, ShapeError } from '../tensor/shape.js';
import { checkOptions, checkValue, num, bool, oneOf, spec, tensor, type SchemaOf } from '../util/options.js';
import { noGrad, record } from './engine.js';
import { softplus } from './activations.js';
import {
  abs,
  add,
  cast,
  checkReduction,
  div,
  exp,
  log,
  maximum,
  mean,
  mul,
  neg,
  rawBinary,
  square,
  sub,
  sum,
  type Reduction,
} from './ops.js';

/** A loss's element values reduced: as they are ('none'), their sum, or their mean. */
function reduce(values: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? values : reduction === 'sum' ? sum(values) : mean(values);
}

/** Input and target of one shape (and dtype), or an error naming the loss. */
function sameShape(owner: string, input: Tensor, target: Tensor): void {
  if (!(target instanceof Tensor))
    throw new TypeError(`${owner}: the target must be a Tensor of the input's shape ${fmtShape(input.shape)}`);
  if (!shapeEq(input.shape, target.shape))
    throw new ShapeError(`${owner}: input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} differ; expected one shape`);
  if (input.dtype !== target.dtype)
    throw new TypeError(`${owner}: input is ${input.dtype} and target ${target.dtype}; convert one with .to()`);
}

/** A reduction string or an options object, checked against `schema`; the reduction defaults to 'mean'. */
function settings<T extends { reduction?: string }>(owner: string, arg: string | T | undefined, schema: SchemaOf<T>): T {
  if (arg === undefined || typeof arg === 'string') {
    if (arg !== undefined) checkReduction(owner, arg);
    return { reduction: arg ?? 'mean' } as T;
  }
  const o = checkOptions(owner, arg, schema);
  return { ...o, reduction: o.reduction ?? 'mean' };
}

const reductionSpec = oneOf('mean', 'sum', 'none');

/** PyTorch's F.l1_loss: |input − target|, reduced. */
export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkReduction('L1Loss', reduction);
  sameShape('L1Loss', input, target);
  return reduce(abs(sub(input, target)), reduction);
}

export interface SmoothL1Options {
  reduction?: Reduction;
  /** Where the quadratic part ends, ≥ 0 (PyTorch's beta); default 1. 0 is l1Loss. */
  beta?: number;
}

export interface HuberOptions {
  reduction?: Reduction;
  /** Where the quadratic part ends, > 0 (PyTorch's delta); default 1. */
  delta?: number;
}

/** a·m² + c·(d − m) with d = |x − y| and m = min(d, knee): the Huber family (see the header). */
function huberFamily(input: Tensor, target: Tensor, knee: number, a: number, c: number, reduction: Reduction): Tensor {
  const d = abs(sub(input, target));
  const m = neg(maximum(neg(d), -knee));
  return reduce(add(mul(square(m), a), mul(sub(d, m), c)), reduction);
}

/** SmoothL1Loss's options with their defaults, checked (β finite and ≥ 0). */
export function smoothL1Settings(options: Reduction | SmoothL1Options | undefined): Required<SmoothL1Options> {
  const o = settings<SmoothL1Options>('SmoothL1Loss', options, { reduction: reductionSpec, beta: num });
  const beta = o.beta ?? 1;
  if (!(beta >= 0 && beta < Infinity)) throw new RangeError(`SmoothL1Loss: invalid beta ${beta}; expected a finite number ≥ 0`);
  return { reduction: o.reduction!, beta };
}

/** PyTorch's F.smooth_l1_loss: ½d²/β where d = |input − target| < β, else d − ½β (see the header). */
export function smoothL1Loss(input: Tensor, target: Tensor, options?: Reduction | SmoothL1Options): Tensor {
  const { reduction, beta } = smoothL1Settings(options);
  sameShape('SmoothL1Loss', input, target);
  return beta === 0 ? l1Loss(input, target, reduction) : huberFamily(input, target, beta, 0.5 / beta, 1, reduction);
}

/** HuberLoss's options with their defaults, checked (δ finite and > 0). */
export function huberSettings(options: Reduction | HuberOptions | undefined): Required<HuberOptions> {
  const o = settings<HuberOptions>('HuberLoss', options, { reduction: reductionSpec, delta: num });
  const delta = o.delta ?? 1;
  if (!(delta > 0 && delta < Infinity)) throw new RangeError(`HuberLoss: invalid delta ${delta}; expected a finite number > 0`);
  return { reduction: o.reduction!, delta };
}

/** PyTorch's F.huber_loss: ½d² where d = |input − target| < δ, else δ·(d − ½δ). */
export function huberLoss(input: Tensor, target: Tensor, options?: Reduction | HuberOptions): Tensor {
  const { reduction, delta } = huberSettings(options);
  sameShape('HuberLoss', input, target);
  return huberFamily(input, target, delta, 0.5, delta, reduction);
}

/** A weight given as numbers or a Tensor: numbers become a Tensor [n] (broadcast along the last axis). */
type WeightLike = ArrayLike<number> | Tensor;

const weightSpec = spec(
  'a Tensor or an array of numbers (broadcast to the input)',
  (v) => tensor.test(v) || Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array,
);

export interface BCEOptions {
  reduction?: Reduction;
  /** A weight of every element's loss, broadcast to the input's shape (PyTorch's weight). */
  weight?: WeightLike;
}

export interface BCEWithLogitsOptions extends BCEOptions {
  /**
   * The weight of the positive term of each class, broadcast to the input's shape, usually one
   * number per class along the last axis (PyTorch's pos_weight: negatives/positives balances a
   * class's recall against its precision).
   */
  posWeight?: WeightLike;
}

/** The weight as a Tensor of the input's dtype that broadcasts to the input's shape, or an error naming it. */
function weightTensor(owner: string, name: string, w: WeightLike, input: Tensor): Tensor {
  let t: Tensor;
  if (w instanceof Tensor) t = cast(w, input.dtype);
  else {
    const data = allocStorage(input.dtype, w.length);
    for (let i = 0; i < w.length; i++) {
      if (typeof w[i] !== 'number') throw new TypeError(`${owner}: ${name}[${i}] is ${String(w[i])}, expected a number`);
      data[i] = w[i];
    }
    t = new Tensor(data, [w.length]);
  }
  let shape: readonly number[] | null = null;
  try {
    shape = broadcastShapes(input.shape, t.shape, owner);
  } catch {
    /* reported below */
  }
  if (!shape || !shapeEq(shape, input.shape))
    throw new ShapeError(`${owner}: ${name} ${fmtShape(t.shape)} does not broadcast to the input's shape ${fmtShape(input.shape)}`);
  return t;
}

/** BCEWithLogitsLoss's options, checked, with the default reduction. */
export function bceWithLogitsSettings(options: Reduction | BCEWithLogitsOptions | undefined): BCEWithLogitsOptions {
  return settings<BCEWithLogitsOptions>('BCEWithLogitsLoss', options, {
    reduction: reductionSpec,
    weight: weightSpec,
    posWeight: weightSpec,
  });
}

/**
 * PyTorch's F.binary_cross_entropy_with_logits: the logits x against targets y in [0, 1] of its
 * shape (labels 0/1 or probabilities): w·[(1 − y)·x + (1 + (p − 1)·y)·softplus(−x)], stable for
 * any x (see the header). One logit per binary decision: [N] or [N, 1] for a binary classifier,
 * [N, C] for C independent labels (multi-label).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options?: Reduction | BCEWithLogitsOptions): Tensor {
  const owner = 'BCEWithLogitsLoss';
  const o = bceWithLogitsSettings(options);
  sameShape(owner, input, target);
  const sp = softplus(neg(input));
  const logWeight = o.posWeight === undefined ? null : add(mul(sub(weightTensor(owner, 'posWeight', o.posWeight, input), 1), target), 1);
  let l = add(mul(sub(1, target), input), logWeight ? mul(logWeight, sp) : sp);
  if (o.weight !== undefined) l = mul(l, weightTensor(owner, 'weight', o.weight, input));
  return reduce(l, o.reduction!);
}

/** PyTorch's clamp of BCE's logs: log 0 = −∞ would make a confident wrong prediction's loss infinite. */
const LOG_FLOOR = -100;
/** PyTorch's floor of x·(1 − x) in BCE's gradient: ATen's EPSILON, 1e-12 as a float (9.99999996e-13), in float64 too. */
const GRAD_EPS = Math.fround(1e-12);

/** Elements of a host tensor outside [0, 1] (NaN included) are refused, as PyTorch refuses them; a device input is not read. */
function checkProbabilities(owner: string, input: Tensor): void {
  if (isDeviceStorage(input.storage)) return;
  const d = input.data;
  for (let i = 0; i < d.length; i++)
    if (!(d[i] >= 0 && d[i] <= 1))
      throw new RangeError(
        `${owner}: input[${i}] is ${d[i]}; expected probabilities in [0, 1] (for logits use binaryCrossEntropyWithLogits)`,
      );
}

/** BCELoss's options, checked, with the default reduction. */
export function bceSettings(options: Reduction | BCEOptions | undefined): BCEOptions {
  return settings<BCEOptions>('BCELoss', options, { reduction: reductionSpec, weight: weightSpec });
}

/**
 * PyTorch's F.binary_cross_entropy: probabilities x in [0, 1] against targets y of its shape,
 * −w·[y·max(log x, −100) + (1 − y)·max(log(1 − x), −100)]. Its gradients are PyTorch's:
 * w·(x − y)/max(x·(1 − x), ε), ε = 1e-12 as a float, for x and −w·log(x/(1 − x)) for y. A sigmoid followed by this
 * loss is less accurate than binaryCrossEntropyWithLogits on the logits.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options?: Reduction | BCEOptions): Tensor {
  const owner = 'BCELoss';
  const o = bceSettings(options);
  sameShape(owner, input, target);
  checkProbabilities(owner, input);
  const w = o.weight === undefined ? null : weightTensor(owner, 'weight', o.weight, input);
  const weighted = (t: Tensor) => (w ? mul(t, w) : t);
  const values = noGrad(() => {
    const logX = maximum(log(input), LOG_FLOOR);
    const log1mX = maximum(log(sub(1, input)), LOG_FLOOR);
    return weighted(neg(add(mul(target, logX), mul(sub(1, target), log1mX))));
  });
  const l = record('binaryCrossEntropy', [input, target], values, (g) => [
    input.requiresGrad ? weighted(div(mul(g, sub(input, target)), maximum(mul(input, sub(1, input)), GRAD_EPS))) : null,
    target.requiresGrad ? weighted(mul(g, sub(log(sub(1, input)), log(input)))) : null,
  ]);
  return reduce(l, o.reduction!);
}

export type KLDivReduction = Reduction | 'batchmean';

export interface KLDivOptions {
  /** 'mean' (default: over every element, as PyTorch's), 'batchmean' (the sum divided by the batch size: the KL divergence per sample), 'sum' or 'none'. */
  reduction?: KLDivReduction;
  /** The target is given as log-probabilities (PyTorch's log_target); default false. */
  logTarget?: boolean;
}

/** KLDivLoss's options with their defaults, checked. */
export function klDivSettings(options: KLDivReduction | KLDivOptions | undefined): Required<KLDivOptions> {
  const reduction = oneOf('mean', 'batchmean', 'sum', 'none');
  if (typeof options === 'string' || options === undefined) {
    if (options !== undefined) checkValue('KLDivLoss', 'reduction', options, reduction);
    return { reduction: options ?? 'mean', logTarget: false };
  }
  const o = checkOptions('KLDivLoss', options, { reduction, logTarget: bool });
  return { reduction: o.reduction ?? 'mean', logTarget: o.logTarget ?? false };
}

/**
 * PyTorch's F.kl_div: the input is log-probabilities log q, the target probabilities p (or log p
 * with logTarget); each element is p·(log p − log q), 0 where p = 0, and the 'batchmean' reduction
 * gives KL(p‖q) per sample. Gradients: −p for the input; log p + 1 − log q (e^{log p}·(log p − log q + 1)
 * with logTarget) for the target.
 */
export function klDiv(input: Tensor, target: Tensor, options?: KLDivReduction | KLDivOptions): Tensor {
  const owner = 'KLDivLoss';
  const { reduction, logTarget } = klDivSettings(options);
  sameShape(owner, input, target);
  // log p, with log 1 = 0 standing in where p = 0 (whose term p·log p is 0). p and log p serve the
  // backward too; they are computed with grad mode as it is, so that a createGraph backward
  // differentiates them in the target. The backward holds log p only when the target takes a gradient.
  const logP = logTarget ? target : log(add(target, rawBinary('eq', target, full([], 0, { dtype: target.dtype }), owner)));
  const p = logTarget ? exp(target) : target;
  const values = noGrad(() => mul(p, sub(logP, input)));
  const logPKept = target.requiresGrad ? logP : null;
  const l = record('klDiv', [input, target], values, (g) => [
    input.requiresGrad ? neg(mul(g, p)) : null,
    logPKept ? mul(g, logTarget ? mul(p, add(sub(target, input), 1)) : add(sub(logPKept, input), 1)) : null,
  ]);
  if (reduction !== 'batchmean') return reduce(l, reduction);
  return div(sum(l), input.ndim === 0 ? 1 : input.shape[0]);
}
