/**
 * Adan — ADAptive Nesterov momentum.
 *
 *   g_k ← ∇J(θ)  (−∇J if maximize);   k ← k + 1;   g_0 = g_1 (the difference is 0 at the first step)
 *   m ← β1 m + (1 − β1) g_k                                   (expAvg)
 *   d ← β2 d + (1 − β2) (g_k − g_{k−1})                       (expAvgDiff)
 *   n ← β3 n + (1 − β3) (g_k + β2 (g_k − g_{k−1}))²           (expAvgSq)
 *   η_k ← η / (√(n / (1 − β3ᵏ)) + ε)                          (per coordinate)
 *   θ ← (θ − η_k ∘ (m / (1 − β1ᵏ) + β2 d / (1 − β2ᵏ))) / (1 + η λ)     (weightDecay λ: the proximal form)
 *   noProx: θ ← θ (1 − η λ) − η_k ∘ (…)                       (decoupled as in AdamW)
 *
 * Xie, Zhou, Li, Lin & Yan 2022/2024, "Adan: Adaptive Nesterov Momentum Algorithm for Faster
 * Optimizing Deep Models" (arXiv:2208.06677; IEEE TPAMI 2024), Algorithm 1; reference code
 * github.com/sail-sg/Adan (adan.py, `_single_tensor_adan`).
 *
 * Conventions (the reference code's): β are the code's (0.98, 0.92, 0.99) — the paper's βs are one
 * minus these; bias corrections divide, and β2's difference term is scaled by β2/(1 − β2ᵏ); ε is added
 * to the bias-corrected √n; the weight decay is the paper's proximal step θ/(1 + ηλ) after the update
 * (`noProx: true` gives the reference's multiplicative form before it). The previous gradient is kept
 * negated (negPreGrad, as the reference stores it), set from the first gradient at step 1. The
 * reference's optional global gradient clipping (max_grad_norm) is not part of the rule: use
 * clipGradNorm_ before the step. `maximize` negates the gradient (not in the reference).
 * State: step, expAvg, expAvgSq, expAvgDiff, negPreGrad.
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, check, checkNonNeg, type ParamsInput, type UpdateRule, type ParamState } from './optimizer.js';
import { bool, num, numArray } from '../util/options.js';
import { like, checkBool } from './util.js';

export interface AdanOptions {
  lr: number;
  betas: [number, number, number];
  eps: number;
  weightDecay: number;
  noProx: boolean;
  maximize: boolean;
}

const NAME = 'Adan';

export const adanRule: UpdateRule<AdanOptions> = {
  name: NAME,
  defaults: { lr: 1e-3, betas: [0.98, 0.92, 0.99], eps: 1e-8, weightDecay: 0, noProx: false, maximize: false },
  schema: { lr: num, betas: numArray, eps: num, weightDecay: num, noProx: bool, maximize: bool },
  validate(h) {
    checkNonNeg(NAME, 'lr', h.lr);
    check(NAME, 'betas', h.betas, Array.isArray(h.betas) && h.betas.length === 3, 'three numbers [β1, β2, β3]');
    h.betas.forEach((b, i) => check(NAME, `betas[${i}]`, b, typeof b === 'number' && b >= 0 && b < 1, 'in [0, 1)'));
    checkNonNeg(NAME, 'eps', h.eps);
    checkNonNeg(NAME, 'weightDecay', h.weightDecay);
    checkBool(NAME, 'noProx', h.noProx);
    checkBool(NAME, 'maximize', h.maximize);
  },
  init(p) {
    return { step: 0, expAvg: like(p), expAvgSq: like(p), expAvgDiff: like(p), negPreGrad: like(p) };
  },
  apply(p: HostStorage, g: HostStorage, s: ParamState, h) {
    const { lr, eps, weightDecay: wd } = h;
    const [beta1, beta2, beta3] = h.betas;
    const k = (s.step as number) + 1;
    s.step = k;
    const m = s.expAvg as HostStorage;
    const nsq = s.expAvgSq as HostStorage;
    const d = s.expAvgDiff as HostStorage;
    const neg = s.negPreGrad as HostStorage;
    const sign = h.maximize ? -1 : 1;
    const stepSize = lr / (1 - beta1 ** k);
    const stepSizeDiff = (lr * beta2) / (1 - beta2 ** k);
    const bc3Sqrt = Math.sqrt(1 - beta3 ** k);
    const shrink = 1 - lr * wd;
    const prox = 1 + lr * wd;
    for (let i = 0; i < p.length; i++) {
      const gi = sign * g[i];
      if (k === 1) neg[i] = -gi;
      const diff = neg[i] + gi; // g_k − g_{k−1}
      m[i] = m[i] * beta1 + (1 - beta1) * gi;
      d[i] = d[i] * beta2 + (1 - beta2) * diff;
      const z = diff * beta2 + gi;
      nsq[i] = nsq[i] * beta3 + (1 - beta3) * z * z;
      const denom = Math.sqrt(nsq[i]) / bc3Sqrt + eps;
      if (h.noProx) {
        let x = p[i] * shrink;
        x += (-stepSize * m[i]) / denom;
        p[i] = x + (-stepSizeDiff * d[i]) / denom;
      } else {
        let x = p[i] + (-stepSize * m[i]) / denom;
        x += (-stepSizeDiff * d[i]) / denom;
        p[i] = x / prox;
      }
      neg[i] = -gi;
    }
  },
};

export class Adan extends Optimizer<AdanOptions> {
  constructor(params: ParamsInput<AdanOptions>, options: Partial<AdanOptions> = {}) {
    super(adanRule, params, options);
  }
}
