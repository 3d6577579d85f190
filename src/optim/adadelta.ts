/**
 * Adadelta — PyTorch's torch.optim.Adadelta (1.13).
 *
 *   g ← ∇J(θ)  (−∇J if maximize);   g ← g + λθ            (weightDecay λ)
 *   v ← ρ v + (1 − ρ) g²                                  (E[g²], starts at 0)
 *   Δ ← √(u + ε) / √(v + ε) · g                           (uses the *updated* v)
 *   u ← ρ u + (1 − ρ) Δ²                                  (E[Δθ²], starts at 0)
 *   θ ← θ − η Δ                                           (η = lr, 1.0 by default)
 *
 * Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method", Algorithm 1.
 *
 * Conventions: ε inside both roots (the paper's RMS[·]); the denominator uses E[g²] *after* this
 * step's update, as the paper and PyTorch do (TensorFlow.js used the previous one — regression test
 * "AdaDelta uses the updated E[g²]"); the paper has no η, PyTorch's lr multiplies Δ.
 * State: step, squareAvg (v), accDelta (u).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, check, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num } from '../util/options.js';
import { like, checkBool } from './util.js';

export interface AdadeltaOptions {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

/** Adadelta's state for one parameter (PyTorch's names, camel-cased). */
export type AdadeltaState = {
  step: number;
  squareAvg: HostStorage;
  accDelta: HostStorage;
};

export const adadeltaRule: UpdateRule<AdadeltaOptions, AdadeltaState> = {
  name: 'Adadelta',
  defaults: { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false },
  schema: { lr: num, rho: num, eps: num, weightDecay: num, maximize: bool },
  validate(h) {
    checkNonNeg('Adadelta', 'lr', h.lr);
    check('Adadelta', 'rho', h.rho, typeof h.rho === 'number' && h.rho >= 0 && h.rho <= 1, 'in [0, 1]');
    checkNonNeg('Adadelta', 'eps', h.eps);
    checkNonNeg('Adadelta', 'weightDecay', h.weightDecay);
    checkBool('Adadelta', 'maximize', h.maximize);
  },
  init(p) {
    return { step: 0, squareAvg: like(p), accDelta: like(p) };
  },
  apply(p: HostStorage, g: HostStorage, s: AdadeltaState, h) {
    const { lr, rho, eps, weightDecay: wd } = h;
    s.step = s.step + 1;
    const v = s.squareAvg;
    const u = s.accDelta;
    const sign = h.maximize ? -1 : 1;
    const oneMinusRho = 1 - rho;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const gi = sign * g[i] + wd * p[i];
      const vi = v[i] * rho + oneMinusRho * gi * gi;
      v[i] = vi;
      const delta = (Math.sqrt(u[i] + eps) / Math.sqrt(vi + eps)) * gi;
      u[i] = u[i] * rho + oneMinusRho * delta * delta;
      p[i] += -lr * delta;
    }
  },
};

export class Adadelta extends Optimizer<AdadeltaOptions, AdadeltaState> {
  constructor(params: ParamsInput<AdadeltaOptions>, options: Partial<AdadeltaOptions> = {}) {
    super(adadeltaRule, params, options);
  }
}
