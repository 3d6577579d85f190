/**
 * Penalties, proximal steps, constraints and decoupled decay as trainer callbacks. The types are
 * structural (the trainer's Callback and TrainState fit them): regularize/ sits below train/.
 *
 *   penaltyCallback        adds λR(W) to the loss each step, reported per epoch as its own term;
 *                          with any L1 part it also reports the fraction of near-zero weights
 *   l1ProximalCallback     L1 by proximal gradient (ISTA): after each step
 *                            w ← sign(w)·max(|w| − ηλ, 0)      (soft-thresholding)
 *                          which lands weights on exact zeros, unlike the subgradient λ·sign(w) that
 *                          only makes them oscillate around 0. The loss term is reported, not
 *                          differentiated. Exact for plain SGD; with momentum or Adam it is the
 *                          usual heuristic.
 *   maxNormCallback        after each step, each unit's incoming weight vector (a slice along dim 0:
 *                          a row of a Linear weight, an output channel of a Conv2d weight) is
 *                          rescaled to L2 norm c if it is longer (Srebro & Shraibman 2005; Hinton et
 *                          al. 2012 with dropout)
 *   decoupledDecayCallback θ ← θ − ηλθ_prev after the step (AdamW's decay, for any optimizer)
 *
 * The edits of the parameters run in `onUpdate`, right after optimizer.step() and before the next
 * forward pass, in `fit` and in `fitAsync` alike. For parameters on a device (WebGPU) they are
 * queued there as kernels (device.ts) and the reports are read back asynchronously: `onStepEnd`
 * and `onEpochEnd` then return a promise, which fitAsync awaits.
 */
import type { Tensor } from '../tensor/tensor.js';
import { l1Penalty, l2Penalty, elasticNetPenalty, nearZeroFraction, norms } from './penalties.js';
import { checkOptions, num, tensors, type SchemaOf } from '../util/options.js';
import type { DeviceStorage } from '../tensor/device.js';
import { isDeviceStorage } from '../tensor/device.js';
import { addScaledInPlace, l1NormOn, maxNormOn, nearZeroFractionOn, negatedCopyInto, onDevice, softThresholdOn } from './device.js';

interface Group {
  lr: number;
  params: Tensor[];
}
export interface RegState {
  optimizer: { readonly lr: number; paramGroups: readonly Group[] };
}
export interface RegRecord {
  terms: Record<string, number>;
  [extra: string]: unknown;
}

export interface PenaltyOptions {
  /** The parameters penalised; `selectParameters(model)` gives the weights without the biases. */
  params: readonly Tensor[];
  /** λ₁ of the L1 term λ₁·Σ|w| (Lasso); 0 or absent: none. */
  l1?: number;
  /** λ₂ of the L2 term λ₂·Σw² (Ridge; no ½); 0 or absent: none. Both given: Elastic Net. */
  l2?: number;
  /** Threshold of the near-zero fraction reported with L1 (|w| ≤ tol). Default 1e-3. */
  nearZeroTol?: number;
}

const penaltySchema: SchemaOf<PenaltyOptions> = { params: tensors, l1: num, l2: num, nearZeroTol: num };

export interface L1ProximalOptions {
  params: readonly Tensor[];
  /** λ ≥ 0: each step soft-thresholds by η·λ. */
  lambda: number;
  /** Threshold of the near-zero fraction reported (|w| ≤ tol). Default 1e-3. */
  nearZeroTol?: number;
}
const l1ProximalSchema: SchemaOf<L1ProximalOptions> = { params: tensors, lambda: num, nearZeroTol: num };

export interface MaxNormOptions {
  params: readonly Tensor[];
  /** c > 0: the largest L2 norm of a unit's incoming weights. */
  maxNorm: number;
}
const maxNormSchema: SchemaOf<MaxNormOptions> = { params: tensors, maxNorm: num };

export interface DecoupledDecayOptions {
  params: readonly Tensor[];
  /** λ ≥ 0: θ ← θ − ηλθ after each step. */
  weightDecay: number;
}
const decoupledDecaySchema: SchemaOf<DecoupledDecayOptions> = { params: tensors, weightDecay: num };

/** The learning rate of the group that holds p (groups may have their own). */
function lrOf(s: RegState): (p: Tensor) => number {
  const m = new Map<Tensor, number>();
  for (const g of s.optimizer.paramGroups) for (const p of g.params) m.set(p, g.lr);
  return (p) => m.get(p) ?? s.optimizer.lr;
}

/** L1, L2 or Elastic Net (both given) as a loss term named l1, l2 or elasticNet. */
export function penaltyCallback(o: PenaltyOptions) {
  checkOptions('penaltyCallback', o, penaltySchema, { required: ['params'] });
  const l1 = o.l1 ?? 0,
    l2 = o.l2 ?? 0;
  const name = l1 > 0 && l2 > 0 ? 'elasticNet' : l1 > 0 ? 'l1' : 'l2';
  const tol = o.nearZeroTol ?? 1e-3;
  return {
    lossTerms(): Record<string, Tensor> {
      if (l1 > 0 && l2 > 0) return { [name]: elasticNetPenalty(o.params, l1, l2) };
      if (l1 > 0) return { l1: l1Penalty(o.params, l1) };
      return { l2: l2Penalty(o.params, l2) };
    },
    onEpochEnd(_s: unknown, r: RegRecord): void | Promise<void> {
      if (!(l1 > 0)) return;
      if (onDevice(o.params))
        return nearZeroFractionOn(o.params, tol).then((v) => {
          r.nearZero = v;
        });
      r.nearZero = nearZeroFraction(o.params, tol);
    },
  };
}

/** L1 by soft-thresholding after each step; reports the term l1 and the fractions nearZero and zeros. */
export function l1ProximalCallback(o: L1ProximalOptions) {
  checkOptions('l1ProximalCallback', o, l1ProximalSchema, { required: ['params', 'lambda'] });
  if (!(o.lambda >= 0 && Number.isFinite(o.lambda))) throw new RangeError(`L1 proximal: invalid λ ${o.lambda}; expected a number ≥ 0`);
  const tol = o.nearZeroTol ?? 1e-3;
  let sum = 0,
    n = 0;
  // Σ|w| after each step's thresholding, still to arrive from the device, oldest first: the k-th
  // onStepEnd settles the k-th onUpdate's step, so it awaits that one read and none issued after
  // it (fitAsync settles a step while the next is queued: waiting for the newest would stall it)
  const pending: Promise<number>[] = [];
  const take = (l1s: number[]) => {
    for (const v of l1s) {
      sum += o.lambda * v;
      n++;
    }
  };
  return {
    /** The epoch's running sum of the term is kept in checkpoints under this key. */
    key: 'l1Proximal',
    state: () => ({ sum, n }),
    loadState(st: unknown): void {
      ({ sum, n } = st as { sum: number; n: number });
    },
    onEpochBegin(): void {
      sum = 0;
      n = 0;
    },
    onUpdate(s: RegState): void {
      const lr = lrOf(s);
      for (const p of o.params) {
        if (isDeviceStorage(p.storage)) softThresholdOn(p, lr(p) * o.lambda);
        else softThreshold(p.data, lr(p) * o.lambda);
      }
      if (onDevice(o.params)) {
        pending.push(
          l1NormOn(o.params)
            .read()
            .then((v) => v[0]),
        );
        return;
      }
      sum += o.lambda * norms(o.params).l1;
      n++;
    },
    onStepEnd(): void | Promise<void> {
      const oldest = pending.shift();
      if (oldest) return oldest.then((v) => take([v]));
    },
    onEpochEnd(_s: unknown, r: RegRecord): void | Promise<void> {
      if (onDevice(o.params))
        // every step is settled by now; a read still pending (a loop that settles no step) counts here
        return Promise.all([Promise.all(pending.splice(0)), nearZeroFractionOn(o.params, tol), nearZeroFractionOn(o.params, 0)]).then(
          ([rest, near, zeros]) => {
            take(rest);
            r.terms.l1 = n ? sum / n : 0;
            r.nearZero = near;
            r.zeros = zeros;
          },
        );
      r.terms.l1 = n ? sum / n : 0;
      r.nearZero = nearZeroFraction(o.params, tol);
      r.zeros = nearZeroFraction(o.params, 0);
    },
  };
}

/** w ← sign(w)·max(|w| − τ, 0), in place: the proximal operator of τ‖w‖₁. */
export function softThreshold(w: Float32Array | Float64Array, tau: number): void {
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    w[i] = v > tau ? v - tau : v < -tau ? v + tau : 0;
  }
}

/** Rescale each slice along dim 0 to L2 norm ≤ c, in place. */
export function maxNorm(p: Tensor, c: number): void {
  const rows = p.shape[0] ?? 1;
  const len = p.size / rows;
  const d = p.data;
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = r * len; j < (r + 1) * len; j++) ss += d[j] * d[j];
    const norm = Math.sqrt(ss);
    if (norm > c) {
      const k = c / norm;
      for (let j = r * len; j < (r + 1) * len; j++) d[j] *= k;
    }
  }
}

export function maxNormCallback(o: MaxNormOptions) {
  checkOptions('maxNormCallback', o, maxNormSchema, { required: ['params', 'maxNorm'] });
  if (!(o.maxNorm > 0 && Number.isFinite(o.maxNorm))) throw new RangeError(`max-norm: invalid c ${o.maxNorm}; expected a number > 0`);
  return {
    onUpdate(): void {
      for (const p of o.params) {
        if (isDeviceStorage(p.storage)) maxNormOn(p, o.maxNorm);
        else maxNorm(p, o.maxNorm);
      }
    },
  };
}

/**
 * Decoupled weight decay (Loshchilov & Hutter 2019) for any optimizer: θ ← θ − ηλθ_prev, where θ_prev
 * is the value before the step. With Adam it reproduces AdamW exactly (up to rounding): AdamW does
 * θ(1 − ηλ) − η·u, and Adam's update u does not depend on θ.
 */
export function decoupledDecayCallback(o: DecoupledDecayOptions) {
  checkOptions('decoupledDecayCallback', o, decoupledDecaySchema, { required: ['params', 'weightDecay'] });
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay)))
    throw new RangeError(`decoupled weight decay: invalid λ ${o.weightDecay}; expected a number ≥ 0`);
  // θ_prev per parameter: a host copy, or on a device −θ_prev in a buffer kept from step to step
  let before: (Float32Array | Float64Array)[] = [];
  const negBefore: DeviceStorage[] = [];
  return {
    onStepBegin(): void {
      before = o.params.map((p, i) => {
        if (!isDeviceStorage(p.storage)) return p.data.slice();
        negBefore[i] = negatedCopyInto(p, negBefore[i]);
        return new Float32Array(0);
      });
    },
    onUpdate(s: RegState): void {
      const lr = lrOf(s);
      o.params.forEach((p, i) => {
        const k = lr(p) * o.weightDecay;
        if (isDeviceStorage(p.storage)) return addScaledInPlace(p, k, negBefore[i]);
        const d = p.data,
          b = before[i];
        for (let j = 0; j < d.length; j++) d[j] -= k * b[j];
      });
    },
  };
}
