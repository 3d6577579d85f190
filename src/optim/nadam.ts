/**
 * NAdam — PyTorch's torch.optim.NAdam (≥ 2.0; 1.13's with `legacyMuProduct`): Adam with Nesterov momentum.
 *
 *   g ← ∇J(θ)  (−∇J if maximize)
 *   g ← g + λθ  (weightDecay λ),  or  θ ← θ(1 − ηλ) first if decoupledWeightDecay (NAdamW)
 *   t ← t + 1
 *   μ_t ← β1 (1 − ½·0.96^(t·ψ));   μ_{t+1} ← β1 (1 − ½·0.96^((t+1)·ψ))   (momentumDecay ψ)
 *   Π_t ← Π_{t−1} · μ_t                                   (Π_0 = 1)
 *   m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²
 *   d ← √(v / (1 − β2ᵗ)) + ε
 *   θ ← θ − η (1 − μ_t) / (1 − Π_t) · g / d − η μ_{t+1} / (1 − Π_t μ_{t+1}) · m / d   (Π_t μ_{t+1} = Π_{t+1})
 *
 * Dozat 2016, "Incorporating Nesterov Momentum into Adam" (ICLR workshop), with the momentum
 * schedule μ_t of Sutskever et al. 2013 as PyTorch implements it (ψ = 4e-3 by default).
 *
 * Option `legacyMuProduct` (default false): true reproduces PyTorch ≤ 1.13, whose second coefficient
 * uses 1 − Π_t·μ_t·μ_{t+1} — μ_t counted twice, a bug fixed in PyTorch 2.0 (pytorch/pytorch#92699).
 * The default is the paper's and PyTorch ≥ 2.0's 1 − Π_t·μ_{t+1}. Tests: the 1.13 golden fixtures
 * (tools/golden_optim.py) run with legacyMuProduct: true; the default is checked against the 2.0 rule
 * written out with torch ops in tools/golden_nadam2.py (test/optim/nadam.test.ts).
 *
 * Conventions: PyTorch keeps the running product Π (`mu_product`) in a float32 scalar tensor, so Π is
 * rounded to float32 at every multiplication; this file does the same (Math.fround) so that float64
 * trajectories equal PyTorch's to 1e-9 — the relative effect is ≈ 1e-7 on two step coefficients,
 * immaterial to training. PyTorch 2.0 forms Π_t·μ_{t+1} from Π's value in double precision
 * (`mu_product.item() * mu_next`); 1.13 forms Π_t·μ_t·μ_{t+1} in float32 tensor arithmetic; each
 * mode rounds as its PyTorch does. `decoupledWeightDecay` and `maximize` are PyTorch 2's options
 * (checked against torch 2.6 by tools/golden_torch2_optim.py).
 * State: step, muProduct (Π), expAvg (m), expAvgSq (v).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num, numPair } from '../util/options.js';
import { like, checkBetas, checkBool } from './util.js';

export interface NAdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  momentumDecay: number;
  /** θ ← θ(1 − ηλ) before the step instead of L2 in the gradient (PyTorch 2's decoupled_weight_decay). */
  decoupledWeightDecay: boolean;
  maximize: boolean;
  /** PyTorch ≤ 1.13's 1 − Π_t·μ_t·μ_{t+1} (true) or the paper's and PyTorch ≥ 2.0's 1 − Π_t·μ_{t+1} (false, default). */
  legacyMuProduct: boolean;
}

const f32 = Math.fround;

/** NAdam's state for one parameter (PyTorch's names, camel-cased). */
export type NAdamState = {
  step: number;
  /** ∏ μ_i so far, in float32 as PyTorch keeps it */
  muProduct: number;
  expAvg: HostStorage;
  expAvgSq: HostStorage;
};

export const nadamRule: UpdateRule<NAdamOptions, NAdamState> = {
  name: 'NAdam',
  defaults: {
    lr: 2e-3,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
    momentumDecay: 4e-3,
    decoupledWeightDecay: false,
    maximize: false,
    legacyMuProduct: false,
  },
  schema: {
    lr: num,
    betas: numPair,
    eps: num,
    weightDecay: num,
    momentumDecay: num,
    decoupledWeightDecay: bool,
    maximize: bool,
    legacyMuProduct: bool,
  },
  validate(h) {
    checkNonNeg('NAdam', 'lr', h.lr);
    checkNonNeg('NAdam', 'eps', h.eps);
    checkBetas('NAdam', h.betas);
    checkNonNeg('NAdam', 'weightDecay', h.weightDecay);
    checkNonNeg('NAdam', 'momentumDecay', h.momentumDecay);
    checkBool('NAdam', 'decoupledWeightDecay', h.decoupledWeightDecay);
    checkBool('NAdam', 'maximize', h.maximize);
    checkBool('NAdam', 'legacyMuProduct', h.legacyMuProduct);
  },
  init(p) {
    return { step: 0, muProduct: 1, expAvg: like(p), expAvgSq: like(p) };
  },
  apply(p: HostStorage, g: HostStorage, s: NAdamState, h) {
    const { lr, eps, momentumDecay: psi } = h;
    const wd = h.decoupledWeightDecay ? 0 : h.weightDecay;
    const shrink = h.decoupledWeightDecay ? 1 - lr * h.weightDecay : 1;
    const sign = h.maximize ? -1 : 1;
    const [beta1, beta2] = h.betas;
    const t = s.step + 1;
    s.step = t;
    const bc2 = 1 - beta2 ** t;
    const mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi));
    const muNext = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi));
    const muProduct = f32(s.muProduct * f32(mu));
    s.muProduct = muProduct;
    const muProductNext = h.legacyMuProduct ? f32(f32(muProduct * f32(mu)) * f32(muNext)) : muProduct * muNext;
    const cg = (-lr * (1 - mu)) / (1 - muProduct);
    const cm = (-lr * muNext) / (1 - muProductNext);
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
      const d = Math.sqrt(vi / bc2) + eps;
      p[i] = p[i] + (cg * gi) / d + (cm * mi) / d;
    }
  },
};

export class NAdam extends Optimizer<NAdamOptions, NAdamState> {
  constructor(params: ParamsInput<NAdamOptions>, options: Partial<NAdamOptions> = {}) {
    super(nadamRule, params, options);
  }
}
