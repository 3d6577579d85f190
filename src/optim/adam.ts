/**
 * Adam — PyTorch's torch.optim.Adam (1.13), with AMSGrad.
 *
 *   g ← ∇J(θ)  (−∇J if maximize);   g ← g + λθ            (weightDecay λ: L2 in the gradient)
 *   t ← t + 1                                             (t = 1 at the first step)
 *   m ← β1 m + (1 − β1) g                                 (m, v start at 0)
 *   v ← β2 v + (1 − β2) g²
 *   m̂ ← m / (1 − β1ᵗ);   v̂ ← v / (1 − β2ᵗ)              (bias corrections *divide*)
 *   amsgrad: v̂max ← max(v̂max, v) and use it in place of v
 *   θ ← θ − η m̂ / (√v̂ + ε)
 *
 * Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization" (ICLR), Algorithm 1; AMSGrad:
 * Reddi, Kale & Kumar 2018, "On the Convergence of Adam and Beyond" (ICLR).
 *
 * Conventions (PyTorch's): ε outside the root, added to the bias-corrected √v̂ (the paper's form;
 * Keras adds it to the uncorrected √v, "ε̂"); AMSGrad keeps the max of the raw v, then corrects it;
 * computed as θ ← θ − (η/(1−β1ᵗ))·m / (√v/√(1−β2ᵗ) + ε), PyTorch's order of operations, so
 * float64 trajectories agree to the last bits. Option `epsInsideSqrt`: θ ← θ − η m̂ / √(v̂ + ε).
 * State: step, expAvg (m), expAvgSq (v), maxExpAvgSq (if amsgrad).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num, numPair } from '../util/options.js';
import { like, checkBetas, checkBool } from './util.js';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  /** θ ← θ − η m̂ / √(v̂ + ε). */
  epsInsideSqrt: boolean;
}

export function validateAdamLike(name: string, h: AdamOptions): void {
  checkNonNeg(name, 'lr', h.lr);
  checkNonNeg(name, 'eps', h.eps);
  checkBetas(name, h.betas);
  checkNonNeg(name, 'weightDecay', h.weightDecay);
  checkBool(name, 'amsgrad', h.amsgrad);
  checkBool(name, 'maximize', h.maximize);
  checkBool(name, 'epsInsideSqrt', h.epsInsideSqrt);
}

/** Adam's (and AdamW's) state for one parameter: PyTorch's step, exp_avg, exp_avg_sq, max_exp_avg_sq. */
export type AdamState = {
  step: number;
  /** m */
  expAvg: HostStorage;
  /** v */
  expAvgSq: HostStorage;
  /** v̂max, with amsgrad */
  maxExpAvgSq?: HostStorage;
};

export function initAdamLike(p: HostStorage, h: AdamOptions): AdamState {
  const s: AdamState = { step: 0, expAvg: like(p), expAvgSq: like(p) };
  if (h.amsgrad) s.maxExpAvgSq = like(p);
  return s;
}

/** One Adam step; `decoupled` makes it AdamW (θ ← θ(1 − ηλ) first, no L2 in the gradient). */
export function adamStep(p: HostStorage, g: HostStorage, s: AdamState, h: AdamOptions, decoupled: boolean): void {
  const { lr, eps, weightDecay, amsgrad } = h;
  const [beta1, beta2] = h.betas;
  const t = s.step + 1;
  s.step = t;
  const m = s.expAvg;
  const v = s.expAvgSq;
  const vmax = amsgrad ? (s.maxExpAvgSq ??= like(p)) : null;
  const bc1 = 1 - beta1 ** t;
  const bc2 = 1 - beta2 ** t;
  const stepSize = lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  const sign = h.maximize ? -1 : 1;
  const wd = decoupled ? 0 : weightDecay;
  const shrink = 1 - lr * weightDecay;
  const b1c = 1 - beta1;
  const b2c = 1 - beta2;
  const inside = h.epsInsideSqrt;
  const n = p.length;
  for (let i = 0; i < n; i++) {
    if (decoupled) p[i] *= shrink;
    const gi = sign * g[i] + wd * p[i];
    const mi = m[i] * beta1 + b1c * gi;
    m[i] = mi;
    let vi = v[i] * beta2 + b2c * gi * gi;
    v[i] = vi;
    if (vmax) {
      if (vmax[i] > vi) vi = vmax[i];
      else vmax[i] = vi;
    }
    const denom = inside ? Math.sqrt(vi / bc2 + eps) : Math.sqrt(vi) / bc2Sqrt + eps;
    p[i] += (-stepSize * mi) / denom;
  }
}

export const adamRule: UpdateRule<AdamOptions, AdamState> = {
  name: 'Adam',
  defaults: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, epsInsideSqrt: false },
  schema: { lr: num, betas: numPair, eps: num, weightDecay: num, amsgrad: bool, maximize: bool, epsInsideSqrt: bool },
  validate: (h) => validateAdamLike('Adam', h),
  init: initAdamLike,
  apply: (p, g, s, h) => adamStep(p, g, s, h, false),
};

export class Adam extends Optimizer<AdamOptions, AdamState> {
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(adamRule, params, options);
  }
}
