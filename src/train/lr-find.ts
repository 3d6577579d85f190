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
 *
 * lrFind runs on the host; lrFindAsync runs the same test on any backend, a device (WebGPU) included,
 * reading each loss a step late as fitAsync does (the curve and the restored state are lrFind's).
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
import { reEvaluatesLoss, type BatchSource, type Callback, type LabeledBatch, type TrainState } from './trainer.js';
import { trainStep } from './step-scope.js';
import { deviceStepScope, scalarOf, stepOnDevice } from './async.js';

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

function positive(who: string, v: number, name: string): number {
  if (!(v > 0 && v < Infinity)) throw new RangeError(`${who}: invalid ${name} ${v}; expected a finite number > 0`);
  return v;
}

function count(who: string, v: number, name: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${who}: invalid ${name} ${v}; expected an integer ≥ ${min}`);
  return v;
}

/** A range test's checked options, the running curve and its state; shared by lrFind and lrFindAsync. */
interface RangeTest {
  o: LrFindOptions;
  steps: number;
  cbs: Callback[];
  s: TrainState;
  result: LrFindResult;
  /** The lowest smoothed loss so far. */
  best: number;
  /** The rate of step i. */
  lrOf(i: number): number;
  /** The batch of the next step, the source's epochs cycled through. */
  nextBatch(): LabeledBatch;
  /** Appends a step's rate and loss to the curve; true when the smoothed loss has diverged (the curve ends there). */
  record(lr: number, loss: number): boolean;
  /** The step's forward pass: its data loss (the curve's) and the total the gradients are taken of (penalty terms added). */
  forward(x: Tensor, y: LabeledBatch['y'], i: number): { dataLoss: Tensor; total: Tensor };
}

function setUp(who: string, options: LrFindOptions): RangeTest {
  const o = checkOptions(who, options, schema, { required: ['model', 'optimizer', 'train'] });
  const startLr = positive(who, o.startLr ?? 1e-7, 'startLr');
  const endLr = positive(who, o.endLr ?? 10, 'endLr');
  if (!(endLr > startLr)) throw new RangeError(`${who}: endLr ${endLr} must be larger than startLr ${startLr}`);
  const steps = count(who, o.steps ?? 100, 'steps', 2);
  const smoothing = o.smoothing ?? 0.05;
  if (!(smoothing > 0 && smoothing <= 1)) throw new RangeError(`${who}: invalid smoothing ${smoothing}; expected in (0, 1]`);
  const divergeThreshold = o.divergeThreshold ?? 5;
  if (!(divergeThreshold > 1)) throw new RangeError(`${who}: invalid divergeThreshold ${divergeThreshold}; expected > 1`);
  count(who, o.skipStart ?? 10, 'skipStart', 0);
  count(who, o.skipEnd ?? 5, 'skipEnd', 0);
  const { model, optimizer } = o;
  if (reEvaluatesLoss(optimizer))
    throw new RangeError(`${who}: ${optimizer.rule.name} re-evaluates the loss within its step; the range test takes one loss per step`);
  const mode = o.mode ?? 'exp';
  const lossFn = lossFunction(o.loss);
  const cbs = o.callbacks ?? [];
  const rng = o.rng ?? new Rng(0);
  const net = fuse(model);
  const s: TrainState = { model, optimizer, epoch: 1, epochs: 1, step: 0, stepsPerEpoch: steps, stop: false };
  let epoch = 0;
  let batches = o.train.epoch(epoch)[Symbol.iterator]();
  const t: RangeTest = {
    o,
    steps,
    cbs,
    s,
    result: { lrs: [], losses: [], smoothed: [], suggestion: null, minLossLr: NaN, diverged: false },
    best: Infinity,
    lrOf: (i) => rangeTestLr(i, steps, startLr, endLr, mode),
    nextBatch() {
      let next = batches.next();
      if (next.done) {
        batches = o.train.epoch(++epoch)[Symbol.iterator]();
        next = batches.next();
        if (next.done) throw new RangeError(`${who}: the training source yields no batch`);
      }
      return next.value;
    },
    record(lr, loss) {
      const r = t.result;
      const i = r.lrs.length;
      const smoothed = i === 0 ? loss : smoothing * loss + (1 - smoothing) * r.smoothed[i - 1];
      r.lrs.push(lr);
      r.losses.push(loss);
      r.smoothed.push(smoothed);
      if (smoothed < t.best) {
        t.best = smoothed;
        r.minLossLr = lr;
      }
      if (Number.isFinite(smoothed) && smoothed <= divergeThreshold * t.best) return false;
      r.diverged = true;
      return true;
    },
    forward(x, y, i) {
      const dataLoss = lossFn(net.forward(x, { training: true, rng: rng.fork(`step:${i}`) }), y);
      let total: Tensor = dataLoss;
      for (const c of cbs) for (const v of Object.values(c.lossTerms?.(s) ?? {})) total = add(total, v);
      return { dataLoss, total };
    },
  };
  return t;
}

/** The curve's suggestion, once the curve is complete. */
function finish(t: RangeTest): LrFindResult {
  t.result.suggestion = steepestLr(t.result.lrs, t.result.smoothed, t.o.skipStart ?? 10, t.o.skipEnd ?? 5);
  return t.result;
}

/** The learning-rate range test (see the header): the curve, the suggested rate, and the model and optimizer put back. */
export function lrFind(options: LrFindOptions): LrFindResult {
  const t = setUp('lrFind', options);
  const { model, optimizer } = t.o;
  const p = model.parameters().find((x) => isDeviceStorage(x.storage));
  if (p) throw new Error(`lrFind: the model's parameters live on ${p.device}; run the range test there with await lrFindAsync(options)`);
  const weights = captureWeights(model);
  const optimizerState = optimizer.stateDict();
  const groupLrs = optimizer.paramGroups.map((g) => g.lr);
  try {
    for (let i = 0; i < t.steps; i++) {
      const batch = t.nextBatch();
      const lr = t.lrOf(i);
      setScheduledLr(optimizer, lr, 'lrFind');
      // each step in a step scope, as fit's (step-scope.ts); true: the loss diverged, no update
      const stop = trainStep(
        model,
        optimizer,
        () => {
          optimizer.zeroGrad({ setToNone: false });
          const { dataLoss, total } = t.forward(batch.x, batch.y, i);
          if (t.record(lr, dataLoss.item())) return true;
          total.backward();
          for (const c of t.cbs) c.onGradients?.(t.s);
          optimizer.step();
          t.s.step++;
          return false;
        },
        [t.cbs, t.s],
      );
      if (stop) break;
    }
  } finally {
    if (t.o.restore ?? true) {
      restoreWeights(model, weights);
      optimizer.loadStateDict(optimizerState);
      optimizer.setLr((_g, i) => groupLrs[i]);
      optimizer.zeroGrad();
    }
  }
  return finish(t);
}

/**
 * lrFind for parameters on any backend, a device (WebGPU) included, as fitAsync trains them: each
 * step is queued with no read inside it (in a step scope on a device backend, as fitAsync's), and its
 * loss is read while the next step is queued. The curve, the divergence stop and the suggestion are
 * lrFind's: the test stops after the first step whose smoothed loss diverged and the curve ends
 * there, as lrFind's does. Since that loss arrives a step late, the diverged step's update has been
 * applied by then (lrFind applies none of it) and the next step's forward and backward passes have
 * run, without an update; the weights, buffers, optimizer state and rates are put back afterwards
 * exactly as by lrFind (the values read back before the first step are written where they live, the
 * optimizer state loaded with loadStateDict, which puts it on the parameters' device). With
 * `restore: false` the weights keep that one update more than lrFind's.
 */
export async function lrFindAsync(options: LrFindOptions): Promise<LrFindResult> {
  const t = setUp('lrFindAsync', options);
  const { model, optimizer } = t.o;
  const named = model.namedState();
  // every read is issued before the first is awaited: one wait for the device
  const [values, optimizerState] = await Promise.all([Promise.all(named.map(([, x]) => x.read())), optimizer.readStateDict()]);
  const groupLrs = optimizer.paramGroups.map((g) => g.lr);
  const openStep = deviceStepScope(model, optimizer);
  // the step queued before this one, its loss not yet read
  let pending: { lr: number; loss: Promise<number> } | undefined;
  try {
    let stopped = false;
    for (let i = 0; i < t.steps && !stopped; i++) {
      const batch = t.nextBatch();
      const lr = t.lrOf(i);
      setScheduledLr(optimizer, lr, 'lrFindAsync');
      const endStep = openStep();
      try {
        optimizer.zeroGrad({ setToNone: false });
        const { dataLoss, total } = t.forward(batch.x, batch.y, i);
        // issued now (its copy queued before the step's storage is freed), awaited in the next step
        const loss = scalarOf(dataLoss);
        total.backward();
        // the step before's loss decides whether this step's update is applied
        if (pending) stopped = t.record(pending.lr, await pending.loss);
        // a stopped step's loss is off the curve, but its read is awaited: nothing is left in flight
        if (stopped) await loss;
        pending = stopped ? undefined : { lr, loss };
        if (!stopped) {
          for (const c of t.cbs) c.onGradients?.(t.s);
          await stepOnDevice(optimizer);
          t.s.step++;
        }
      } finally {
        endStep();
      }
    }
    if (pending) t.record(pending.lr, await pending.loss);
  } finally {
    if (t.o.restore ?? true) {
      // written after every queued step (a write is ordered after the kernels queued before it)
      for (const [k, [, x]] of named.entries()) {
        const st = x.storage;
        if (isDeviceStorage(st)) st.write(values[k] as Float32Array);
        else st.set(values[k]);
      }
      optimizer.loadStateDict(optimizerState);
      optimizer.setLr((_g, i) => groupLrs[i]);
      optimizer.zeroGrad();
    }
  }
  return finish(t);
}
