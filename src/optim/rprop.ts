/**
 * Rprop — PyTorch 2's torch.optim.Rprop: resilient backpropagation, a step size per coordinate
 * that grows while the gradient keeps its sign and shrinks when it flips.
 *
 *   g ← ∇J(θ)  (−∇J if maximize)
 *   s ← sign(g · g_prev)                                  (g_prev starts at 0)
 *   Δ ← clamp(Δ · η₊, Δmin, Δmax)   where s > 0          (etas [η₋, η₊], stepSizes [Δmin, Δmax])
 *   Δ ← clamp(Δ · η₋, Δmin, Δmax)   where s < 0;  g ← 0 there (no move, and no flip counted next step)
 *   Δ ← clamp(Δ, Δmin, Δmax)        where s = 0
 *   θ ← θ − sign(g) · Δ;   g_prev ← g
 *
 * Riedmiller & Braun 1993, "A Direct Adaptive Method for Faster Backpropagation Learning: The RPROP
 * Algorithm" (ICNN). The form here is iRprop⁻ of Igel & Hüsken 2000, "Improving the Rprop Learning
 * Algorithm": no weight-backtracking, and the gradient is zeroed after a sign change.
 *
 * Conventions (PyTorch's): every step size starts at lr (Δ₀ = η), so lr is only the initial step
 * size: it is read when the state is created and never again. lr = 0 is therefore not a no-op: the
 * first step clamps Δ to Δmin (1e-6 by default) and moves every coordinate with a nonzero gradient
 * by it. The clamp applies every step, also where the sign product is 0. The update does not scale
 * with |g| (only its sign counts); it is meant for full-batch gradients. Where implementations
 * differ: the 1993 paper's Rprop (Rprop⁺) undoes the previous step after a sign change
 * (weight-backtracking); PyTorch and this file do not. PyTorch has no weight decay for Rprop; neither does
 * this file. State: step, prev (g_prev), stepSize (Δ).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, check, checkNonNeg, type ParamsInput, type UpdateRule, type ParamState } from './optimizer.js';
import { bool, num, numPair } from '../util/options.js';
import { like, checkBool } from './util.js';

export interface RpropOptions {
  lr: number;
  /** [η₋, η₊]: factors of the step size after a sign change and after the same sign, 0 < η₋ < 1 < η₊. */
  etas: [number, number];
  /** [Δmin, Δmax]: the step sizes' bounds. */
  stepSizes: [number, number];
  maximize: boolean;
}

export const rpropRule: UpdateRule<RpropOptions> = {
  name: 'Rprop',
  defaults: { lr: 1e-2, etas: [0.5, 1.2], stepSizes: [1e-6, 50], maximize: false },
  schema: { lr: num, etas: numPair, stepSizes: numPair, maximize: bool },
  validate(h) {
    checkNonNeg('Rprop', 'lr', h.lr);
    const [em, ep] = h.etas;
    check('Rprop', 'etas', h.etas, em > 0 && em < 1 && ep > 1 && Number.isFinite(ep), '[η₋, η₊] with 0 < η₋ < 1 < η₊');
    const [lo, hi] = h.stepSizes;
    check('Rprop', 'stepSizes', h.stepSizes, lo >= 0 && hi >= lo && Number.isFinite(hi), '[Δmin, Δmax] with 0 ≤ Δmin ≤ Δmax');
    checkBool('Rprop', 'maximize', h.maximize);
  },
  init(p, h) {
    return { step: 0, prev: like(p), stepSize: like(p, h.lr) };
  },
  apply(p: HostStorage, g: HostStorage, s: ParamState, h) {
    const [etaMinus, etaPlus] = h.etas;
    const [lo, hi] = h.stepSizes;
    const sign = h.maximize ? -1 : 1;
    s.step = (s.step as number) + 1;
    const prev = s.prev as HostStorage;
    const delta = s.stepSize as HostStorage;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      let gi = sign * g[i];
      const same = gi * prev[i];
      const factor = same > 0 ? etaPlus : same < 0 ? etaMinus : 1;
      const d = Math.min(Math.max(delta[i] * factor, lo), hi);
      delta[i] = d;
      if (same < 0) gi = 0;
      p[i] -= Math.sign(gi) * d;
      prev[i] = gi;
    }
  },
};

export class Rprop extends Optimizer<RpropOptions> {
  constructor(params: ParamsInput<RpropOptions>, options: Partial<RpropOptions> = {}) {
    super(rpropRule, params, options);
  }
}
