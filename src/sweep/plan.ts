/**
 * A sweep's spec (what the user asked for, checked) and the trials it expands to.
 *
 * Tuning rules (AlgoPerf's): `external` — each optimizer gets the same number of points of the
 * search space; a study is one seed, in which every point is trained with that seed; `self` — the
 * optimizer's defaults only, one trial per seed. Scoring takes the best trial of each study and
 * the median over studies (score.ts).
 */
import { createOptimizer, getOptimizer, optimizerNames } from '../optim/registry.js';
import { Tensor } from '../tensor/tensor.js';
import { reEvaluatesLoss } from '../train/trainer.js';
import { clip, didYouMean } from '../util/names.js';
import { SweepSpecError, parseSpace, pointFor, samplePoints, type Sampler } from './space.js';
import { hashOf, type TrialSpec } from './trial.js';
import type { ClassWeights } from '../train/class-weights.js';
import { dataSize, getWorkload } from './workloads.js';

export interface SweepSpec {
  workloads: string[];
  optimizers: string[];
  space: string;
  sampler: Sampler;
  /** Points per optimizer (grid: values per range). */
  points: number;
  /** Studies: seeds firstSeed..firstSeed + seeds − 1. */
  seeds: number;
  /** The first study's seed (absent: 1), so more studies of the same points can be added as a sweep of their own. */
  firstSeed?: number;
  tuning: 'external' | 'self';
  data: string;
  limit?: number;
  testLimit?: number;
  /** ε of every trial's cross-entropy, PyTorch's label_smoothing (absent: the plain loss). */
  labelSmoothing?: number;
  /** Per-class weights of every trial's cross-entropy, or 'balanced' over each trial's training data (absent: unweighted). */
  classWeights?: ClassWeights;
  /** α of MixUp on every trial's training batches (absent: none). */
  mixup?: number;
  /** α of CutMix on every trial's training batches; with mixup, one of the two per batch (absent: none). */
  cutmix?: number;
  /** Batches per step of every trial, their gradients summed (absent or 1: one); budgets count steps. */
  accumulate?: number;
  /** Overrides of the workloads' own settings (all workloads). */
  target?: number;
  budget?: number;
  evalEvery?: number;
}

/** Check a spec's names (optimizers, workloads, space) and return it normalised (lower-case names). */
export function checkSweepSpec(s: SweepSpec): SweepSpec {
  const optimizers = s.optimizers.map((k) => k.trim().toLowerCase()).filter((k) => k);
  if (!optimizers.length) throw new SweepSpecError('--optimizers: expected a comma-separated list of optimizers');
  for (const k of optimizers) {
    if (!optimizerNames().includes(k))
      throw new SweepSpecError(
        `--optimizers: unknown optimizer "${clip(k)}"; expected names from ${optimizerNames().join(', ')}${didYouMean(k, optimizerNames())}`,
      );
    if (['lbfgs', 'newton'].includes(k))
      throw new SweepSpecError(`--optimizers: ${k} takes closure steps; a sweep compares first-order optimizers`);
  }
  const workloads = s.workloads.map((w) => getWorkload(w).name);
  if (!workloads.length) throw new SweepSpecError('--workloads: expected a comma-separated list of workloads');
  const known = [...new Set(optimizers.flatMap((k) => getOptimizer(k).options))];
  const dims = parseSpace(s.space, known);
  for (const d of dims) {
    if (d.name === 'base' && d.kind === 'choice')
      for (const v of d.values)
        if (!WRAPPABLE().includes(String(v)))
          throw new SweepSpecError(
            `search space: base=${clip(String(v))}: expected a first-order optimizer to wrap, one of ${WRAPPABLE().join(', ')}${didYouMean(String(v), WRAPPABLE())}`,
          );
    const readers = optimizers.filter((k) => pointForNames(k).includes(d.name));
    if (!readers.length) throw new SweepSpecError(`search space: ${d.name} is read by none of ${optimizers.join(', ')}`);
  }
  // the options that need mini-batch steps, and an accumulation the optimizer can take
  const minibatch = (['mixup', 'cutmix', 'accumulate'] as const).filter((k) => s[k] !== undefined && !(k === 'accumulate' && s[k] === 1));
  const full = workloads.find((w) => getWorkload(w).batchSize === 'full');
  if (minibatch.length && full)
    throw new SweepSpecError(
      `--${minibatch[0]}: workload ${full} takes full-batch steps, and --${minibatch[0]} ${minibatch[0] === 'accumulate' ? 'sums the gradients of' : 'mixes'} mini-batches; leave ${full} out of --workloads`,
    );
  if (s.accumulate !== undefined && s.accumulate > 1)
    for (const k of optimizers)
      if (reEvaluatesLoss(createOptimizer(k, [['probe', new Tensor(new Float64Array(1), [1, 1], true)]], {})))
        throw new SweepSpecError(
          `--accumulate ${s.accumulate}: ${k} re-evaluates the loss inside its step (a closure over one batch), so gradients cannot be summed over batches; leave it out of --optimizers`,
        );
  if (s.tuning === 'self' && dims.length)
    throw new SweepSpecError(
      '--space: the self-tuning rule trains each optimizer with its defaults; leave --space out or use --tuning external',
    );
  // accumulate 1 is the plain loop: left out, so the trials' ids are those of a sweep without it
  const { accumulate, ...rest } = s;
  return {
    ...rest,
    ...(accumulate !== undefined && accumulate !== 1 ? { accumulate } : {}),
    optimizers: [...new Set(optimizers)],
    workloads: [...new Set(workloads)],
  };
}

/** The optimizers a wrapper (SAM, ASAM, Lookahead) takes as its base: first-order, not closure-driven, not wrappers. */
const WRAPPABLE = () => optimizerNames().filter((k) => !['lbfgs', 'newton', 'sam', 'asam', 'lookahead'].includes(k));

function pointForNames(opt: string): string[] {
  const o = getOptimizer(opt).options;
  return o.includes('betas') ? [...o, 'beta1', 'beta2', 'schedule'] : [...o, 'schedule'];
}

/** The hash that names the sweep (its results file's header holds it). */
export function sweepHash(s: SweepSpec): string {
  return hashOf({ format: 'descent-sweep', ...s });
}

/** Every trial of the sweep, in a fixed order: workload, optimizer, point, seed. */
export function planTrials(s: SweepSpec): TrialSpec[] {
  const trials: TrialSpec[] = [];
  for (const wname of s.workloads) {
    const w = getWorkload(wname);
    const settings = w[dataSize(s.data)];
    for (const opt of s.optimizers) {
      const spec = getOptimizer(opt);
      const known = [...new Set(s.optimizers.flatMap((k) => getOptimizer(k).options))];
      const dims = s.tuning === 'self' ? [] : parseSpace(s.space, known).filter((d) => pointForNames(opt).includes(d.name));
      const points = samplePoints(dims, s.sampler, s.points, 0);
      const preset = spec.preset as { betas?: [number, number] } | undefined;
      for (const p of points) {
        const { options, schedule } = pointFor(p, spec.options, preset);
        const first = s.firstSeed ?? 1;
        for (let seed = first; seed < first + s.seeds; seed++) {
          trials.push({
            workload: w.name,
            data: s.data,
            limit: s.limit,
            testLimit: s.testLimit,
            ...(s.labelSmoothing !== undefined ? { labelSmoothing: s.labelSmoothing } : {}),
            ...(s.classWeights !== undefined ? { classWeights: s.classWeights } : {}),
            ...(s.mixup !== undefined ? { mixup: s.mixup } : {}),
            ...(s.cutmix !== undefined ? { cutmix: s.cutmix } : {}),
            ...(s.accumulate !== undefined ? { accumulate: s.accumulate } : {}),
            budget: s.budget ?? settings.budget,
            target: s.target ?? settings.target,
            evalEvery: s.evalEvery ?? settings.evalEvery,
            optimizer: opt,
            options,
            ...(schedule !== undefined ? { schedule } : {}),
            seed,
          });
        }
      }
    }
  }
  return trials;
}
