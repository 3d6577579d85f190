/**
 * Adamax — PyTorch's torch.optim.Adamax (1.13): Adam with the infinity norm.
 *
 *   g ← ∇J(θ)  (−∇J if maximize);   g ← g + λθ            (weightDecay λ)
 *   t ← t + 1;   m ← β1 m + (1 − β1) g                    (m, u start at 0)
 *   u ← max(β2 u, |g| + ε)
 *   θ ← θ − (η / (1 − β1ᵗ)) · m / u
 *
 * Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", section 7.1, Algorithm 2.
 *
 * Conventions: ε is added to |g| inside the max (PyTorch's; the paper has no ε), so u > 0 and the
 * division is safe; u needs no bias correction. Default lr 2e-3.
 * State: step, expAvg (m), expInf (u).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num, numPair } from '../util/options.js';
import { like, checkBetas, checkBool } from './util.js';

export interface AdamaxOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

/** Adamax's state for one parameter (PyTorch's names, camel-cased). */
export type AdamaxState = {
  step: number;
  expAvg: HostStorage;
  expInf: HostStorage;
};

export const adamaxRule: UpdateRule<AdamaxOptions, AdamaxState> = {
  name: 'Adamax',
  defaults: { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false },
  schema: { lr: num, betas: numPair, eps: num, weightDecay: num, maximize: bool },
  validate(h) {
    checkNonNeg('Adamax', 'lr', h.lr);
    checkNonNeg('Adamax', 'eps', h.eps);
    checkBetas('Adamax', h.betas);
    checkNonNeg('Adamax', 'weightDecay', h.weightDecay);
    checkBool('Adamax', 'maximize', h.maximize);
  },
  init(p) {
    return { step: 0, expAvg: like(p), expInf: like(p) };
  },
  apply(p: HostStorage, g: HostStorage, s: AdamaxState, h) {
    const { lr, eps, weightDecay: wd } = h;
    const [beta1, beta2] = h.betas;
    const t = s.step + 1;
    s.step = t;
    const m = s.expAvg;
    const u = s.expInf;
    const clr = lr / (1 - beta1 ** t);
    const sign = h.maximize ? -1 : 1;
    const b1c = 1 - beta1;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const gi = sign * g[i] + wd * p[i];
      const mi = m[i] * beta1 + b1c * gi;
      m[i] = mi;
      const a = u[i] * beta2;
      const b = Math.abs(gi) + eps;
      const ui = a >= b ? a : b;
      u[i] = ui;
      p[i] += (-clr * mi) / ui;
    }
  },
};

export class Adamax extends Optimizer<AdamaxOptions, AdamaxState> {
  constructor(params: ParamsInput<AdamaxOptions>, options: Partial<AdamaxOptions> = {}) {
    super(adamaxRule, params, options);
  }
}
