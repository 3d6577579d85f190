/**
 * Lion — EvoLved Sign Momentum (not in PyTorch 1.13's torch.optim).
 *
 *   g ← ∇J(θ)  (−∇J if maximize)
 *   θ ← θ (1 − η λ)                                       (weightDecay λ, decoupled as in AdamW)
 *   c ← β1 m + (1 − β1) g
 *   θ ← θ − η · sign(c)                                   (sign(0) = 0)
 *   m ← β2 m + (1 − β2) g                                 (m starts at 0)
 *
 * Chen, Liang, Huang, Real, Wang, Liu, Pham, Dong, Luong, Hsieh, Lu & Le 2023, "Symbolic Discovery
 * of Optimization Algorithms" (NeurIPS), Algorithm 2.
 *
 * Conventions: the paper's defaults β = (0.9, 0.99); lr 1e-4 (the update has unit size per
 * coordinate, so η is typically 3–10× smaller than Adam's and λ 3–10× larger). The interpolation c
 * for the update uses β1, the stored momentum β2 — the two are different on purpose.
 * State: expAvg (m).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num, numPair } from '../util/options.js';
import { like, checkBetas, checkBool } from './util.js';

export interface LionOptions {
  lr: number;
  betas: [number, number];
  weightDecay: number;
  maximize: boolean;
}

/** Lion's state for one parameter (PyTorch's names, camel-cased). */
export type LionState = {
  step: number;
  expAvg: HostStorage;
};

export const lionRule: UpdateRule<LionOptions, LionState> = {
  name: 'Lion',
  defaults: { lr: 1e-4, betas: [0.9, 0.99], weightDecay: 0, maximize: false },
  schema: { lr: num, betas: numPair, weightDecay: num, maximize: bool },
  validate(h) {
    checkNonNeg('Lion', 'lr', h.lr);
    checkBetas('Lion', h.betas);
    checkNonNeg('Lion', 'weightDecay', h.weightDecay);
    checkBool('Lion', 'maximize', h.maximize);
  },
  init(p) {
    return { step: 0, expAvg: like(p) };
  },
  apply(p: HostStorage, g: HostStorage, s: LionState, h) {
    const { lr, weightDecay: wd } = h;
    const [beta1, beta2] = h.betas;
    s.step = s.step + 1;
    const m = s.expAvg;
    const shrink = 1 - lr * wd;
    const sign = h.maximize ? -1 : 1;
    const b1c = 1 - beta1;
    const b2c = 1 - beta2;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const gi = sign * g[i];
      if (wd !== 0) p[i] *= shrink;
      const c = m[i] * beta1 + b1c * gi;
      p[i] += -lr * Math.sign(c);
      m[i] = m[i] * beta2 + b2c * gi;
    }
  },
};

export class Lion extends Optimizer<LionOptions, LionState> {
  constructor(params: ParamsInput<LionOptions>, options: Partial<LionOptions> = {}) {
    super(lionRule, params, options);
  }
}
