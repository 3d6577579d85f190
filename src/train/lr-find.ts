/**
 * The learning-rate range test (Smith 2017, "Cyclical Learning Rates", §3.3; fastai's lr_find,
 * pytorch-lr-finder's range_test): train for `steps` batches while the rate grows from `startLr` to
 * `endLr`, record the loss of each batch, and read a good rate off the curve — where the loss falls
 * fastest, before it blows up. Then put the model and the optimizer back as they were, so the real
 * run starts from the same weights.
 *
 *   step i (0-based) trains at lrᵢ = startLr·(endLr/startLr)^(i/(steps − 1))   ('exp', the default)
 *                                    startLr + (endLr − startLr)·i/(steps − 1)  ('linear')
 *   loss i is the batch's loss computed before step i's update, so it shows the effect of lr₀…lrᵢ₋₁
 *   smoothed:   sᵢ = smoothing·lossᵢ + (1 − smoothing)·sᵢ₋₁, s₀ = loss₀     (pytorch-lr-finder's)
 *   stop early once sᵢ > divergeThreshold·min s (or sᵢ is not finite): the rate is past usable
 *   suggestion: the rate where ds/d log₁₀ lr is most negative (central differences, one-sided at the
 *               ends), over the curve without its first `skipStart` and last `skipEnd` points
 *               (pytorch-lr-finder's defaults 10 and 5, which keep the noisy start and the blow-up
 *               out); minLossLr: where s is lowest (fastai suggests a tenth of it)
 *
 * Penalty terms (lossTerms) and gradient edits (onGradients) of the callbacks apply as in fit;
 * nothing else of them runs (the test sets the rate itself, so schedules are left out). Optimizers
 * that re-evaluate the loss within a step (L-BFGS, Newton, SAM) are refused.
 */
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../tensor/rng.js';
import { isDeviceStorage } from '../tensor/device.js';
import { add } from '../autograd/ops.js';
import type { Module } from '../nn/module.js';
import { fuse } from '../nn/fuse.js';
import type { AnyOptimizer } from '../optim/optimizer.js';
import { setScheduledLr } from '../schedule/driver.js';
import { captureWeights, restoreWeights } from '../ensemble/averaging.js';
import { bool, checkOptions, num, oneOf, rng as rngSpec, spec, type SchemaOf } from '../util/options.js';
import { lossFunction, lossSpec, type Loss } from './loss.js';
import { reEvaluatesLoss, type BatchSource, type Callback, type TrainState } from './trainer.js';

export interface LrFindOptions {
  model: Module;
  /** Its rate is set each step (every parameter group in proportion to the first, as schedules do) and put back at the end. */
  optimizer: AnyOptimizer;
  train: BatchSource;
  /** Default crossEntropy. */
  loss?: Loss;
  /** Dropout masks and other training randomness; default new Rng(0). */
  rng?: Rng;
  /** The first rate, > 0 (default 1e-7). */
  startLr?: number;
  /** The last rate, > startLr (default 10). */
  endLr?: number;
  /** Batches to train, ≥ 2 (default 100); the source's epochs are cycled through as needed. */
  steps?: number;
  /** 'exp' (default: equal ratios, Smith's and fastai's) or 'linear' (equal differences). */
  mode?: 'exp' | 'linear';
  /** Weight of the new loss in the running average, in (0, 1] (default 0.05; 1 is no smoothing). */
  smoothing?: number;
  /** Stop once the smoothed loss exceeds this many times its minimum, > 1 (default 5). */
  divergeThreshold?: number;
  /** Points left out of the suggestion at the start and at the end (default 10 and 5). */
  skipStart?: number;
  skipEnd?: number;
  /** Penalty terms and gradient edits (lossTerms, onGradients) as in fit. */
  callbacks?: Callback[];
  /** Put the weights, buffers and optimizer state back as they were (default true). */
  restore?: boolean;
}

export interface LrFindResult {
  /** The rate of each step taken. */
  lrs: number[];
  /** Each step's batch loss (data loss, before the update). */
  losses: number[];
  /** The running average of `losses` (see the header). */
  smoothed: number[];
  /** The rate where the smoothed loss falls fastest against log₁₀ lr; null when too few points are left after skipStart and skipEnd. */
  suggestion: number | null;
  /** The rate of the lowest smoothed loss. */
  minLossLr: number;
  /** Whether the smoothed loss passed divergeThreshold times its minimum (or became non-finite) before `steps`. */
  diverged: boolean;
}

const schema: SchemaOf<LrFindOptions> = {
  model: spec('a Module', (v) => typeof v === 'object' && v !== null && typeof (v as { forward?: unknown }).forward === 'function'),
  optimizer: spec('an Optimizer', (v) => typeof v === 'object' && v !== null && typeof (v as { step?: unknown }).step === 'function'),
  train: spec(
    'a batch source (a DataLoader)',
    (v) => typeof v === 'object' && v !== null && typeof (v as { epoch?: unknown }).epoch === 'function',
  ),
  loss: lossSpec,
  rng: rngSpec,
  startLr: num,
  endLr: num,
  steps: num,
  mode: oneOf('exp', 'linear'),
  smoothing: num,
  divergeThreshold: num,
  skipStart: num,
  skipEnd: num,
  callbacks: spec('an array of callbacks', (v) => Array.isArray(v)),
  restore: bool,
};

/** The rate of step i of n from start to end. */
export function rangeTestLr(i: number, n: number, start: number, end: number, mode: 'exp' | 'linear'): number {
  const f = n === 1 ? 0 : i / (n - 1);
  return mode === 'exp' ? start * (end / start) ** f : start + (end - start) * f;
}

/**
 * The rate where `smoothed` falls fastest against log₁₀ of `lrs` (numpy.gradient's central
 * differences over uneven spacing, one-sided at the ends), over the points from `skipStart` to
 * `length − skipEnd`; null when fewer than 2 points remain.
 */
export function steepestLr(lrs: readonly number[], smoothed: readonly number[], skipStart: number, skipEnd: number): number | null {
  const x = lrs.slice(skipStart, Math.max(skipStart, lrs.length - skipEnd)).map(Math.log10);
  const y = smoothed.slice(skipStart, skipStart + x.length);
  const n = x.length;
  if (n < 2) return null;
  let best = 0,
    bestSlope = Infinity;
  for (let i = 0; i < n; i++) {
    let slope: number;
    if (i === 0) slope = (y[1] - y[0]) / (x[1] - x[0]);
    else if (i === n - 1) slope = (y[n - 1] - y[n - 2]) / (x[n - 1] - x[n - 2]);
    else {
      const h0 = x[i] - x[i - 1],
        h1 = x[i + 1] - x[i];
      slope = (h0 * h0 * y[i + 1] + (h1 * h1 - h0 * h0) * y[i] - h1 * h1 * y[i - 1]) / (h0 * h1 * (h0 + h1));
    }
    if (slope < bestSlope) {
      bestSlope = slope;
      best = i;
    }
  }
  return lrs[skipStart + best];
}

function positive(v: number, name: string): number {
  if (!(v > 0 && v < Infinity)) throw new RangeError(`lrFind: invalid ${name} ${v}; expected a finite number > 0`);
  return v;
}

function count(v: number, name: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`lrFind: invalid ${name} ${v}; expected an integer ≥ ${min}`);
  return v;
}

/** The learning-rate range test (see the header): the curve, the suggested rate, and the model and optimizer put back. */
export function lrFind(options: LrFindOptions): LrFindResult {
  const o = checkOptions('lrFind', options, schema, { required: ['model', 'optimizer', 'train'] });
  const startLr = positive(o.startLr ?? 1e-7, 'startLr');
  const endLr = positive(o.endLr ?? 10, 'endLr');
  if (!(endLr > startLr)) throw new RangeError(`lrFind: endLr ${endLr} must be larger than startLr ${startLr}`);
  const steps = count(o.steps ?? 100, 'steps', 2);
  const smoothing = o.smoothing ?? 0.05;
  if (!(smoothing > 0 && smoothing <= 1)) throw new RangeError(`lrFind: invalid smoothing ${smoothing}; expected in (0, 1]`);
  const divergeThreshold = o.divergeThreshold ?? 5;
  if (!(divergeThreshold > 1)) throw new RangeError(`lrFind: invalid divergeThreshold ${divergeThreshold}; expected > 1`);
  const skipStart = count(o.skipStart ?? 10, 'skipStart', 0);
  const skipEnd = count(o.skipEnd ?? 5, 'skipEnd', 0);
  const { model, optimizer } = o;
  const p = model.parameters().find((t) => isDeviceStorage(t.storage));
  if (p) throw new Error(`lrFind: the model's parameters live on ${p.device}; run the range test on the host (wasm or reference backend)`);
  if (reEvaluatesLoss(optimizer))
    throw new RangeError(`lrFind: ${optimizer.rule.name} re-evaluates the loss within its step; the range test takes one loss per step`);
  const lossFn = lossFunction(o.loss);
  const cbs = o.callbacks ?? [];
  const rng = o.rng ?? new Rng(0);
  const net = fuse(model);
  const weights = captureWeights(model);
  const optimizerState = optimizer.stateDict();
  const groupLrs = optimizer.paramGroups.map((g) => g.lr);
  const s: TrainState = { model, optimizer, epoch: 1, epochs: 1, step: 0, stepsPerEpoch: steps, stop: false };
  const result: LrFindResult = { lrs: [], losses: [], smoothed: [], suggestion: null, minLossLr: NaN, diverged: false };
  let best = Infinity;
  try {
    let epoch = 0;
    let batches = o.train.epoch(epoch)[Symbol.iterator]();
    for (let i = 0; i < steps; i++) {
      let next = batches.next();
      if (next.done) {
        batches = o.train.epoch(++epoch)[Symbol.iterator]();
        next = batches.next();
        if (next.done) throw new RangeError('lrFind: the training source yields no batch');
      }
      const lr = rangeTestLr(i, steps, startLr, endLr, o.mode ?? 'exp');
      setScheduledLr(optimizer, lr, 'lrFind');
      optimizer.zeroGrad({ setToNone: false });
      const dataLoss = lossFn(net.forward(next.value.x, { training: true, rng: rng.fork(`step:${i}`) }), next.value.y);
      let total: Tensor = dataLoss;
      for (const c of cbs) for (const t of Object.values(c.lossTerms?.(s) ?? {})) total = add(total, t);
      const loss = dataLoss.item();
      const smoothed = i === 0 ? loss : smoothing * loss + (1 - smoothing) * result.smoothed[i - 1];
      result.lrs.push(lr);
      result.losses.push(loss);
      result.smoothed.push(smoothed);
      if (smoothed < best) {
        best = smoothed;
        result.minLossLr = lr;
      }
      if (!Number.isFinite(smoothed) || smoothed > divergeThreshold * best) {
        result.diverged = true;
        break;
      }
      total.backward();
      for (const c of cbs) c.onGradients?.(s);
      optimizer.step();
      s.step++;
    }
  } finally {
    if (o.restore ?? true) {
      restoreWeights(model, weights);
      optimizer.loadStateDict(optimizerState);
      optimizer.setLr((_g, i) => groupLrs[i]);
      optimizer.zeroGrad();
    }
  }
  result.suggestion = steepestLr(result.lrs, result.smoothed, skipStart, skipEnd);
  return result;
}
