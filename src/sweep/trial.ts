/**
 * One trial of a sweep: a full training run of a workload with one optimizer, one point of the
 * search space and one seed, evaluated on the test set every `evalEvery` steps until it reaches the
 * target or spends its step budget. The sweep-wide training settings of descent train (label
 * smoothing, class weights, MixUp/CutMix, gradient accumulation) are fields of the spec.
 *
 * A trial is a pure function of its spec (same seed ⇒ same curve, bit for bit), which is what lets
 * the local pool and Redis workers on other machines stand in for each other. Its identity is a
 * hash of the spec, so a result is stored once under that key however often the trial is run.
 *
 * Wall-clock counts training only: evaluation time is measured and left out (AlgoPerf's rule, so a
 * workload that is evaluated often is not charged for it).
 */
import { createHash } from 'node:crypto';
import { Rng } from '../tensor/rng.js';
import { DataLoader } from '../data/loader.js';
import { createOptimizer } from '../optim/registry.js';
import type { BaseHyper, Optimizer } from '../optim/optimizer.js';
import { parseSchedule } from '../schedule/parse.js';
import { scheduleCallback } from '../schedule/driver.js';
import { evaluate, fitRun, TrainingError, type Callback } from '../train/trainer.js';
import { crossEntropyWith } from '../autograd/cross-entropy.js';
import { classWeightsFor, type ClassWeights } from '../train/class-weights.js';
import { getModel, modelSampleShape } from '../train/models.js';
import type { Dataset } from '../data/dataset.js';
import { mixupCutmix } from '../augment/mix.js';
import { getWorkload, loadSweepData } from './workloads.js';

export interface TrialSpec {
  workload: string;
  /** 'embedded', 'full' or a folder of Fashion-MNIST's IDX files. */
  data: string;
  /** Only the first N training / test samples (quick runs and tests). */
  limit?: number;
  testLimit?: number;
  /** ε of the cross-entropy the trial trains on and evaluates with (absent: the plain loss; ids of such specs are unchanged). */
  labelSmoothing?: number;
  /** Per-class weights of that cross-entropy, or 'balanced' over the trial's training data (absent: unweighted; ids of such specs are unchanged). */
  classWeights?: ClassWeights;
  /** α of MixUp on the training batches, as descent train --mixup (absent: none; ids of such specs are unchanged). */
  mixup?: number;
  /** α of CutMix on the training batches, as descent train --cutmix; with mixup, one of the two per batch (absent: none). */
  cutmix?: number;
  /** Batches whose gradients each step sums, as descent train --accumulate (absent: 1); the budget counts steps. */
  accumulate?: number;
  budget: number;
  target: number;
  evalEvery: number;
  optimizer: string;
  /** The optimizer's options (the point of the search space, defaults left out). */
  options: Record<string, unknown>;
  /** A schedule of src/schedule by name over the budget (absent: constant). */
  schedule?: string;
  seed: number;
}

/** One evaluation: after `step` steps, `seconds` of training. */
export interface CurvePoint {
  step: number;
  seconds: number;
  /** Mean training loss of the steps since the previous point. */
  trainLoss: number;
  testLoss: number;
  testAccuracy: number;
}

export interface TrialResult {
  id: string;
  spec: TrialSpec;
  /** reached: the target was met; budget: the budget was spent first; diverged: the run stopped (loss not finite or exploded). */
  status: 'reached' | 'budget' | 'diverged';
  curve: CurvePoint[];
  stepsToTarget: number | null;
  secondsToTarget: number | null;
  steps: number;
  seconds: number;
  evaluations: number;
  bestAccuracy: number;
  /** Why a diverged run stopped. */
  error?: string;
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function hashOf(v: unknown, chars = 16): string {
  return createHash('sha256').update(canonicalJson(v)).digest('hex').slice(0, chars);
}

/** A trial's key: the hash of everything that changes its result. */
export function trialId(spec: TrialSpec): string {
  return hashOf(spec);
}

/** Thrown by the trial's callback to end the run between two steps (fit's own stop flag waits for the epoch's end). */
class EndTrial extends Error {}

function subset(ds: Dataset, n: number | undefined): Dataset {
  return n === undefined || n >= ds.length ? ds : ds.slice(0, n);
}

/** Run one trial on this process's current backend. */
export function runTrial(spec: TrialSpec, now: () => number = () => performance.now()): TrialResult {
  const w = getWorkload(spec.workload);
  const data = loadSweepData(spec.data);
  const train = subset(data.train, spec.limit);
  const test = subset(data.test, spec.testLimit);
  const model = getModel(w.model);
  const sampleShape = modelSampleShape(model.input, train.shape);
  const rng = new Rng(spec.seed);
  const net = model.build({ rng: rng.fork('model'), inputShape: train.shape, classes: train.classes.length });
  const optimizer = createOptimizer(spec.optimizer, net.namedParameters(), spec.options) as Optimizer<BaseHyper>;
  const fullBatch = w.batchSize === 'full';
  const mix = mixupCutmix({ mixup: spec.mixup, cutmix: spec.cutmix, numClasses: train.classes.length });
  if (fullBatch && (mix || spec.accumulate !== undefined))
    throw new RangeError(`trial: workload ${w.name} takes full-batch steps; mixup, cutmix and accumulate need mini-batches`);
  const loader = fullBatch
    ? new DataLoader(train, { batchSize: train.length, sampleShape })
    : new DataLoader(train, { batchSize: w.batchSize as number, shuffle: true, dropLast: false, rng: rng.fork('data'), sampleShape, mix });
  const testLoader = new DataLoader(test, { batchSize: 1000, sampleShape });
  const criterion =
    spec.labelSmoothing !== undefined || spec.classWeights !== undefined
      ? crossEntropyWith({
          labelSmoothing: spec.labelSmoothing,
          weight: spec.classWeights !== undefined ? classWeightsFor(spec.classWeights, train, 'trial classWeights') : undefined,
        })
      : undefined;
  const callbacks: Callback[] = [];
  if (spec.schedule !== undefined) {
    const parsed = parseSchedule(spec.schedule, { lr: optimizer.lr, total: spec.budget });
    if (parsed.kind !== 'schedule')
      throw new RangeError(`trial: schedule "${spec.schedule}" depends on the test loss; a sweep takes schedules of the step`);
    callbacks.push(scheduleCallback(parsed.schedule, { unit: 'step' }));
  }
  const curve: CurvePoint[] = [];
  let start = 0,
    evalSeconds = 0,
    lossSum = 0,
    lossCount = 0,
    steps = 0;
  let reachedAt: CurvePoint | null = null;
  callbacks.push({
    onTrainBegin() {
      start = now();
    },
    onStepEnd(s, loss) {
      steps = s.step;
      lossSum += loss;
      lossCount++;
      if (s.step % spec.evalEvery !== 0 && s.step !== spec.budget) return;
      const t0 = now();
      const seconds = (t0 - start - evalSeconds) / 1000;
      const e = evaluate(net, testLoader, { optimizer, loss: criterion });
      evalSeconds += now() - t0;
      const p: CurvePoint = { step: s.step, seconds, trainLoss: lossSum / lossCount, testLoss: e.testLoss, testAccuracy: e.testAccuracy };
      lossSum = 0;
      lossCount = 0;
      curve.push(p);
      if (p.testAccuracy >= spec.target) reachedAt = p;
      if (reachedAt || s.step >= spec.budget) throw new EndTrial();
    },
  });
  const accumulate = spec.accumulate ?? 1;
  const stepsPerEpoch = fullBatch ? 1 : Math.ceil(loader.length / accumulate);
  let error: string | undefined;
  try {
    fitRun({
      model: net,
      optimizer,
      train: loader,
      epochs: Math.ceil(spec.budget / stepsPerEpoch),
      rng: rng.fork('train'),
      callbacks,
      fullBatch,
      loss: criterion,
      ...(accumulate > 1 ? { accumulate } : {}),
    });
  } catch (e) {
    if (e instanceof TrainingError) error = e.message;
    else if (!(e instanceof EndTrial)) throw e;
  }
  const hit = reachedAt as CurvePoint | null;
  return {
    id: trialId(spec),
    spec,
    status: hit ? 'reached' : error !== undefined ? 'diverged' : 'budget',
    curve,
    stepsToTarget: hit ? hit.step : null,
    secondsToTarget: hit ? hit.seconds : null,
    steps,
    seconds: (now() - start - evalSeconds) / 1000,
    evaluations: curve.length,
    bestAccuracy: curve.reduce((m, p) => Math.max(m, p.testAccuracy), 0),
    ...(error !== undefined ? { error } : {}),
  };
}
