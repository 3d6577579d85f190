/**
 * D-Adaptation Adam — Adam whose step size d is a lower bound on the distance to the solution,
 * estimated from the gradients seen so far.
 *
 * Shared over all parameters (k steps done, d = d0 at the start, r = 0):
 *   b ← √(1 − β2ᵏ⁺¹) / (1 − β1ᵏ⁺¹) if useBiasCorrection, else 1;   dη ← d · η · b
 * per parameter (ρ = the group's layerScale; coupled decay: g ← g + λθ):
 *   a ← a + ρ · dη · ⟨g, s / (√v + ε)⟩                          (with v and s from before this step)
 *   m ← β1 m + ρ dη (1 − β1) g;   v ← β2 v + (1 − β2) g²
 *   s ← √β2 s + dη (1 − √β2) g;   ‖s‖ ← ‖s‖ + ρ ‖s‖₁
 * then, if ‖s‖ > 0 (else nothing moves this step):
 *   r ← √β2 r + (1 − √β2) a                                     (numeratorWeighted)
 *   d̂ ← r / ((1 − √β2) ‖s‖);   d ← max(d, min(d̂, d · growthRate))
 *   θ ← θ − λ dη θ   (decouple);    θ ← θ − m / (√v + ε)        (m already carries dη)
 *
 * Defazio & Mishchenko 2023, "Learning-Rate-Free Learning by D-Adaptation" (ICML), Algorithm 3
 * (Adam form, in the code's later form); reference code github.com/facebookresearch/dadaptation
 * (dadaptation/dadapt_adam.py, v3).
 *
 * Conventions (the reference code's): m carries dη, so a change of d rescales only new gradients;
 * s decays with √β2 and the numerator is a √β2-weighted average of ⟨g, s/(√v + ε)⟩ (the package's v3
 * form, which it ships); weightDecay is L2 in the gradient unless
 * `decouple: true`; groups may differ only by lr 0 and by layerScale. Differences: the reference's
 * logging and FSDP reduction are not here. lr = 0 moves nothing (no sums accrue).
 * State per parameter: step, s, expAvg, expAvgSq; shared, in every group: d, numeratorWeighted, k.
 */
import { check, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num, numPair, nullable } from '../util/options.js';
import { like, checkBetas, checkBool } from './util.js';
import { GroupAdaptiveOptimizer, type GroupStep } from './groupstate.js';
import { sharedLr } from './prodigy.js';

export interface DAdaptAdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  decouple: boolean;
  useBiasCorrection: boolean;
  d0: number;
  /** null: no bound (∞). */
  growthRate: number | null;
  /** ρ: this group's share of the estimate and of the step (the reference's layer_scale). */
  layerScale: number;
}

export interface DAdaptShared {
  d: number;
  numeratorWeighted: number;
  k: number;
}

const NAME = 'DAdaptAdam';

export const dadaptAdamRule: UpdateRule<DAdaptAdamOptions> = {
  name: NAME,
  defaults: {
    lr: 1,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
    decouple: false,
    useBiasCorrection: false,
    d0: 1e-6,
    growthRate: Infinity,
    layerScale: 1,
  },
  schema: {
    lr: num,
    betas: numPair,
    eps: num,
    weightDecay: num,
    decouple: bool,
    useBiasCorrection: bool,
    d0: num,
    growthRate: nullable(num),
    layerScale: num,
  },
  validate(h) {
    checkNonNeg(NAME, 'lr', h.lr);
    checkBetas(NAME, h.betas);
    checkNonNeg(NAME, 'eps', h.eps);
    checkNonNeg(NAME, 'weightDecay', h.weightDecay);
    checkBool(NAME, 'decouple', h.decouple);
    checkBool(NAME, 'useBiasCorrection', h.useBiasCorrection);
    check(NAME, 'd0', h.d0, typeof h.d0 === 'number' && h.d0 > 0 && Number.isFinite(h.d0), '> 0');
    check(
      NAME,
      'growthRate',
      h.growthRate,
      h.growthRate === null || (typeof h.growthRate === 'number' && h.growthRate >= 1),
      'null (∞) or ≥ 1',
    );
    check(NAME, 'layerScale', h.layerScale, typeof h.layerScale === 'number' && h.layerScale > 0 && Number.isFinite(h.layerScale), '> 0');
  },
  init(p) {
    return { step: 0, s: like(p), expAvg: like(p), expAvgSq: like(p) };
  },
  apply() {
    throw new Error(
      'DAdaptAdam: one step-size estimate is shared by all parameters; step the DAdaptAdam class (or call dadaptAdamStep) with all of them',
    );
  },
};

export const dadaptAdamStep: GroupStep<DAdaptAdamOptions, DAdaptShared> = (groups, sh) => {
  const h0 = groups[0].h;
  const [beta1, beta2] = h0.betas;
  const k = sh.k;
  let d = sh.d;
  const lr = sharedLr(NAME, groups);
  const bias = h0.useBiasCorrection ? Math.sqrt(1 - beta2 ** (k + 1)) / (1 - beta1 ** (k + 1)) : 1;
  const dlr = d * lr * bias;
  const growth = h0.growthRate ?? Infinity;
  const decouple = h0.decouple;
  const sqrtBeta2 = Math.sqrt(beta2);
  let acc = 0;
  let skL1 = 0;
  for (const { h, params } of groups) {
    if (h.lr <= 0) continue;
    const r = h.layerScale;
    const decay = h.weightDecay;
    for (const { p, g, s } of params) {
      const m = s.expAvg as Float64Array;
      const v = s.expAvgSq as Float64Array;
      const ss = s.s as Float64Array;
      let dot = 0;
      let l1 = 0;
      for (let i = 0; i < p.length; i++) {
        const gi = decay !== 0 && !decouple ? g[i] + decay * p[i] : g[i];
        dot += gi * (ss[i] / (Math.sqrt(v[i]) + h.eps));
        m[i] = m[i] * beta1 + r * dlr * (1 - beta1) * gi;
        v[i] = v[i] * beta2 + (1 - beta2) * gi * gi;
        ss[i] = ss[i] * sqrtBeta2 + dlr * (1 - sqrtBeta2) * gi;
        l1 += Math.abs(ss[i]);
      }
      acc += r * dlr * dot;
      skL1 += r * l1;
    }
  }
  if (skL1 === 0) return;
  const numeratorWeighted = sqrtBeta2 * sh.numeratorWeighted + (1 - sqrtBeta2) * acc;
  if (lr > 0) {
    const dHat = numeratorWeighted / ((1 - sqrtBeta2) * skL1);
    d = Math.max(d, Math.min(dHat, d * growth));
  }
  Object.assign(sh, { d, numeratorWeighted, k: k + 1 });
  for (const { h, params } of groups) {
    for (const { p, s } of params) {
      const m = s.expAvg as Float64Array;
      const v = s.expAvgSq as Float64Array;
      s.step = (s.step as number) + 1;
      const wd = h.weightDecay !== 0 && decouple ? -h.weightDecay * dlr : 0;
      for (let i = 0; i < p.length; i++) {
        let x = p[i];
        if (wd !== 0) x += wd * x;
        p[i] = x - m[i] / (Math.sqrt(v[i]) + h.eps);
      }
    }
  }
};

export class DAdaptAdam extends GroupAdaptiveOptimizer<DAdaptAdamOptions, DAdaptShared> {
  protected groupStep = dadaptAdamStep;
  constructor(params: ParamsInput<DAdaptAdamOptions>, options: Partial<DAdaptAdamOptions> = {}) {
    super(dadaptAdamRule, params, options, ['d', 'numeratorWeighted', 'k'], (h) => ({ d: h.d0, numeratorWeighted: 0, k: 0 }));
  }
}
