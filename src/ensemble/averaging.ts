/**
 * Weight averaging and weight snapshots.
 *
 *   SWA (Izmailov et al. 2018):  w̄ ← (n·w̄ + w)/(n + 1), equal weights for every sample taken
 *   EMA:                         w̄ ← β·w̄ + (1 − β)·w, the first sample copied (PyTorch
 *                                AveragedModel's rule; no bias correction needed then)
 * Averages accumulate in float64 and are copied into a model of the same architecture with copyTo.
 * They average the parameters only, as PyTorch's AveragedModel does by default: copyTo leaves a
 * model's buffers (BatchNorm's running statistics) as they are, and updateBatchNorm (nn/batchnorm.ts,
 * PyTorch's update_bn) recomputes them for the averaged weights.
 * A snapshot (captureWeights) holds the parameters and the buffers: each snapshot is a whole model.
 *
 * The callbacks' types are structural (the trainer's fit); they take the model from the train state.
 */
import type { HostStorage } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { checkOptions, num, type SchemaOf } from '../util/options.js';

/** A copy of a model's parameter and buffer values, by name. */
export type WeightSnapshot = Map<string, HostStorage>;

export function captureWeights(model: Module): WeightSnapshot {
  return new Map(model.namedState().map(([n, p]) => [n, p.data.slice() as HostStorage]));
}

/** Copy a snapshot's values into a model of the same architecture (names and sizes must match). */
export function restoreWeights(model: Module, snap: WeightSnapshot): void {
  for (const [n, p] of model.namedState()) {
    const v = snap.get(n);
    if (!v) throw new Error(`restoreWeights: snapshot has no parameter "${n}"`);
    if (v.length !== p.size) throw new Error(`restoreWeights: parameter "${n}" has ${p.size} values, snapshot has ${v.length}`);
    p.data.set(v);
  }
}

/** A WeightAverage's exact state (checkpoints): the sample count and the float64 averages by name. */
export interface WeightAverageState {
  kind: 'swa' | 'ema';
  decay: number;
  n: number;
  avg: Record<string, Float64Array>;
}

export class WeightAverage {
  /** Samples taken so far. */
  n = 0;
  private avg = new Map<string, Float64Array>();

  /** kind 'swa' (equal weights) or 'ema' with decay β ∈ [0, 1). */
  constructor(
    readonly kind: 'swa' | 'ema',
    readonly decay = 0.999,
  ) {
    if (typeof decay !== 'number')
      throw new TypeError(`WeightAverage: invalid decay ${JSON.stringify(decay)}; expected a number in [0, 1)`);
    if (kind !== 'swa' && kind !== 'ema') throw new RangeError(`WeightAverage: invalid kind ${JSON.stringify(kind)}; expected swa or ema`);
    if (kind === 'ema' && !(decay >= 0 && decay < 1))
      throw new RangeError(`WeightAverage: invalid EMA decay ${decay}; expected a number in [0, 1)`);
  }

  update(model: Module): void {
    for (const [name, p] of model.namedParameters()) {
      let a = this.avg.get(name);
      if (!a) this.avg.set(name, (a = new Float64Array(p.size)));
      const d = p.data;
      if (this.n === 0) a.set(d);
      else if (this.kind === 'swa') {
        const k = 1 / (this.n + 1);
        for (let i = 0; i < d.length; i++) a[i] += (d[i] - a[i]) * k;
      } else {
        const b = this.decay;
        for (let i = 0; i < d.length; i++) a[i] = b * a[i] + (1 - b) * d[i];
      }
    }
    this.n++;
  }

  /** The averaged values of one parameter. */
  get(name: string): Float64Array | undefined {
    return this.avg.get(name);
  }

  /** A copy of the state (for checkpoints). */
  stateDict(): WeightAverageState {
    return { kind: this.kind, decay: this.decay, n: this.n, avg: Object.fromEntries([...this.avg].map(([k, v]) => [k, v.slice()])) };
  }

  /** Continue from a state taken by stateDict() of an average of the same kind and decay. */
  loadStateDict(st: WeightAverageState): void {
    if (st.kind !== this.kind || st.decay !== this.decay)
      throw new RangeError(`WeightAverage: state is ${st.kind} (decay ${st.decay}), this average is ${this.kind} (decay ${this.decay})`);
    if (!Number.isInteger(st.n) || st.n < 0) throw new RangeError(`WeightAverage: invalid sample count ${st.n}`);
    this.n = st.n;
    this.avg = new Map(Object.entries(st.avg).map(([k, v]) => [k, Float64Array.from(v)]));
  }

  /** Write the averaged weights into a model (the trained one, or a fresh copy of the architecture). */
  copyTo(model: Module): void {
    if (this.n === 0) throw new Error(`WeightAverage (${this.kind}): no samples taken yet`);
    for (const [name, p] of model.namedParameters()) {
      const a = this.avg.get(name);
      if (!a) throw new Error(`WeightAverage: no average for parameter "${name}"`);
      p.data.set(a);
    }
  }
}

interface ModelState {
  model: Module;
  /** The epoch being run, numbered from 1. */
  epoch: number;
  step: number;
  stepsPerEpoch: number;
}

export interface SwaCallbackOptions {
  /** First epoch (1-based) whose weights are sampled; default 1. */
  startEpoch?: number;
  /** Sample every this many updates (from startEpoch on) instead of at the end of each epoch. */
  everySteps?: number;
}
const swaSchema: SchemaOf<SwaCallbackOptions> = { startEpoch: num, everySteps: num };

/** When SWA samples (swaCallback's rule, shared with fitAsync's averages on a device): the checked options' two tests. */
export function swaSampling(o: SwaCallbackOptions = {}): { atStep(s: ModelState): boolean; atEpoch(s: ModelState): boolean } {
  checkOptions('swaCallback', o, swaSchema);
  if (o.startEpoch !== undefined && !(Number.isInteger(o.startEpoch) && o.startEpoch >= 1))
    throw new RangeError(`swaCallback: invalid startEpoch ${o.startEpoch}; expected an integer ≥ 1`);
  if (o.everySteps !== undefined && !(Number.isInteger(o.everySteps) && o.everySteps >= 1))
    throw new RangeError(`swaCallback: invalid everySteps ${o.everySteps}; expected an integer ≥ 1`);
  const start = o.startEpoch ?? 1;
  const every = o.everySteps;
  return {
    atStep: (s) => every !== undefined && s.epoch >= start && s.step % every === 0,
    atEpoch: (s) => every === undefined && s.epoch >= start,
  };
}

/**
 * SWA as a callback: samples the weights at the end of every epoch from `startEpoch` (1-based,
 * default 1) on, or every `everySteps` updates once that epoch is reached.
 */
export function swaCallback(avg: WeightAverage, o: SwaCallbackOptions = {}) {
  const due = swaSampling(o);
  if (!(avg instanceof WeightAverage)) throw new TypeError('swaCallback: the first argument must be a WeightAverage');
  return {
    onStepEnd(s: ModelState): void {
      if (due.atStep(s)) avg.update(s.model);
    },
    onEpochEnd(s: ModelState): void {
      if (due.atEpoch(s)) avg.update(s.model);
    },
  };
}

/** EMA of the weights as a callback: one update after every optimizer step. */
export function emaCallback(avg: WeightAverage) {
  return {
    onStepEnd(s: ModelState): void {
      avg.update(s.model);
    },
  };
}
