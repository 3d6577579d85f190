/**
 * ASGD — PyTorch 2's torch.optim.ASGD: SGD with a decaying rate and Polyak–Ruppert averaging of
 * the iterates.
 *
 *   g ← ∇J(θ)  (−∇J if maximize);   g ← g + λ_wd θ        (weightDecay λ_wd, L2 in the gradient)
 *   t ← t + 1
 *   θ ← θ (1 − λ η_t) − η_t g                              (lambd λ: the decay term of the paper)
 *   θ̄ ← θ            if μ_t = 1,  else  θ̄ ← θ̄ + μ_t (θ − θ̄)   (ax: the average)
 *   η_{t+1} ← η / (1 + λ η t)^α;   μ_{t+1} ← 1 / max(1, t − t₀)     (η_1 = η, μ_1 = 1)
 *
 * Polyak & Juditsky 1992, "Acceleration of Stochastic Approximation by Averaging" (SIAM J. Control
 * Optim.); the rate schedule and averaging start t₀ of Bottou 2012, "Stochastic Gradient Descent
 * Tricks", as PyTorch implements them.
 *
 * Conventions (PyTorch's): θ is what is trained and evaluated; the average θ̄ is kept in the state
 * (`ax`) and only starts to differ from θ after t₀ steps (10⁶ by default, so with the defaults
 * θ̄ = θ). To use the average, copy `state.ax` into the parameters (PyTorch's users do the same).
 * η_t and μ_t are computed after the step for the next one, from the group's lr at that time; the
 * first step uses the lr at creation of the state. PyTorch keeps η_t and μ_t in float32 scalar
 * tensors (the default dtype), so both are rounded to float32 (Math.fround) here too, which makes
 * float64 trajectories equal PyTorch's to 1e-9 (NAdam's μ product is treated the same way).
 * lr = 0 leaves θ unchanged (η_t = 0); the average still follows θ.
 * State: step, eta (η_t), mu (μ_t), ax (θ̄).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, check, checkNonNeg, type ParamsInput, type UpdateRule, type ParamState } from './optimizer.js';
import { bool, num } from '../util/options.js';
import { like, checkBool } from './util.js';

export interface ASGDOptions {
  lr: number;
  /** λ: the decay term θ ← θ(1 − λη_t) and the rate schedule's slope. */
  lambd: number;
  /** α: the power of the rate schedule η/(1 + λη t)^α. */
  alpha: number;
  /** t₀: the step after which averaging starts. */
  t0: number;
  weightDecay: number;
  maximize: boolean;
}

const f32 = Math.fround;
const finiteNonNeg = (v: number) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export const asgdRule: UpdateRule<ASGDOptions> = {
  name: 'ASGD',
  defaults: { lr: 1e-2, lambd: 1e-4, alpha: 0.75, t0: 1e6, weightDecay: 0, maximize: false },
  schema: { lr: num, lambd: num, alpha: num, t0: num, weightDecay: num, maximize: bool },
  validate(h) {
    checkNonNeg('ASGD', 'lr', h.lr);
    check('ASGD', 'lambd', h.lambd, finiteNonNeg(h.lambd), 'a finite number ≥ 0');
    check('ASGD', 'alpha', h.alpha, finiteNonNeg(h.alpha), 'a finite number ≥ 0');
    check('ASGD', 't0', h.t0, finiteNonNeg(h.t0), 'a finite number ≥ 0');
    checkNonNeg('ASGD', 'weightDecay', h.weightDecay);
    checkBool('ASGD', 'maximize', h.maximize);
  },
  init(p, h) {
    return { step: 0, eta: f32(h.lr), mu: 1, ax: like(p) };
  },
  apply(p: HostStorage, g: HostStorage, s: ParamState, h) {
    const { lr, lambd, alpha, t0, weightDecay: wd } = h;
    const sign = h.maximize ? -1 : 1;
    const t = (s.step as number) + 1;
    s.step = t;
    const eta = s.eta as number;
    const mu = s.mu as number;
    const decay = 1 - lambd * eta;
    const ax = s.ax as HostStorage;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const gi = sign * g[i] + wd * p[i];
      const pi = p[i] * decay - eta * gi;
      p[i] = pi;
      ax[i] = mu === 1 ? pi : ax[i] + (pi - ax[i]) * mu;
    }
    s.eta = f32(lr / (1 + lambd * lr * t) ** alpha);
    s.mu = f32(1 / Math.max(1, t - t0));
  },
};

export class ASGD extends Optimizer<ASGDOptions> {
  constructor(params: ParamsInput<ASGDOptions>, options: Partial<ASGDOptions> = {}) {
    super(asgdRule, params, options);
  }
}
