/**
 * RAdam — PyTorch's torch.optim.RAdam (1.13; 2.x's options decoupledWeightDecay and maximize):
 * Adam with a rectified adaptive learning rate.
 *
 *   g ← ∇J(θ)  (−∇J if maximize)
 *   g ← g + λθ  (weightDecay λ),  or  θ ← θ(1 − ηλ) first if decoupledWeightDecay (RAdamW)
 *   t ← t + 1;   m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²
 *   m̂ ← m / (1 − β1ᵗ)
 *   ρ∞ ← 2 / (1 − β2) − 1;   ρ_t ← ρ∞ − 2 t β2ᵗ / (1 − β2ᵗ)
 *   if ρ_t > 5:  r ← √((ρ_t − 4)(ρ_t − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρ_t))
 *                θ ← θ − η m̂ · r · √(1 − β2ᵗ) / (√v + ε)
 *   else:        θ ← θ − η m̂                             (SGD with momentum while the variance is untrustworthy)
 *
 * Liu, Jiang, He, Chen, Liu, Gao & Han 2020, "On the Variance of the Adaptive Learning Rate and
 * Beyond" (ICLR), Algorithm 2.
 *
 * Conventions: the threshold is ρ_t > 5 (PyTorch's; the paper says 4); ε is added to the
 * uncorrected √v and the correction √(1 − β2ᵗ) multiplies outside. `decoupledWeightDecay` and
 * `maximize` are PyTorch 2's (checked against torch 2.6 by tools/golden_torch2_optim.py).
 * State: step, expAvg (m), expAvgSq (v).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num, numPair } from '../util/options.js';
import { like, checkBetas, checkBool } from './util.js';

export interface RAdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** θ ← θ(1 − ηλ) before the step instead of L2 in the gradient (PyTorch 2's decoupled_weight_decay). */
  decoupledWeightDecay: boolean;
  maximize: boolean;
}

/** RAdam's state for one parameter (PyTorch's names, camel-cased). */
export type RAdamState = {
  step: number;
  expAvg: HostStorage;
  expAvgSq: HostStorage;
};

export const radamRule: UpdateRule<RAdamOptions, RAdamState> = {
  name: 'RAdam',
  defaults: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decoupledWeightDecay: false, maximize: false },
  schema: { lr: num, betas: numPair, eps: num, weightDecay: num, decoupledWeightDecay: bool, maximize: bool },
  validate(h) {
    checkNonNeg('RAdam', 'lr', h.lr);
    checkNonNeg('RAdam', 'eps', h.eps);
    checkBetas('RAdam', h.betas);
    checkNonNeg('RAdam', 'weightDecay', h.weightDecay);
    checkBool('RAdam', 'decoupledWeightDecay', h.decoupledWeightDecay);
    checkBool('RAdam', 'maximize', h.maximize);
  },
  init(p) {
    return { step: 0, expAvg: like(p), expAvgSq: like(p) };
  },
  apply(p: HostStorage, g: HostStorage, s: RAdamState, h) {
    const { lr, eps } = h;
    const wd = h.decoupledWeightDecay ? 0 : h.weightDecay;
    const shrink = h.decoupledWeightDecay ? 1 - lr * h.weightDecay : 1;
    const sign = h.maximize ? -1 : 1;
    const [beta1, beta2] = h.betas;
    const t = s.step + 1;
    s.step = t;
    const bc1 = 1 - beta1 ** t;
    const bc2 = 1 - beta2 ** t;
    const rhoInf = 2 / (1 - beta2) - 1;
    const rhoT = rhoInf - (2 * t * beta2 ** t) / bc2;
    const rectified = rhoT > 5;
    const rect = rectified ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 0;
    const bc2Sqrt = Math.sqrt(bc2);
    const m = s.expAvg;
    const v = s.expAvgSq;
    const b1c = 1 - beta1;
    const b2c = 1 - beta2;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      if (shrink !== 1) p[i] *= shrink;
      const gi = sign * g[i] + wd * p[i];
      const mi = m[i] * beta1 + b1c * gi;
      m[i] = mi;
      const vi = v[i] * beta2 + b2c * gi * gi;
      v[i] = vi;
      const mHat = mi / bc1;
      p[i] -= rectified ? mHat * lr * (bc2Sqrt / (Math.sqrt(vi) + eps)) * rect : mHat * lr;
    }
  },
};

export class RAdam extends Optimizer<RAdamOptions, RAdamState> {
  constructor(params: ParamsInput<RAdamOptions>, options: Partial<RAdamOptions> = {}) {
    super(radamRule, params, options);
  }
}
