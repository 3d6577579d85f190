/**
 * Prodigy — Adam whose step size d is estimated from the distance travelled from the start.
 *
 * Shared over all parameters (k steps done, estimate d = d0 at the start, d_max = d0, r = 0):
 *   b ← √(1 − β2ᵏ⁺¹) / (1 − β1ᵏ⁺¹) if useBiasCorrection, else 1;   dη ← d · η · b
 *   r ← β3 r + (d/d0) · dη · Σ ⟨g, θ0 − θ⟩                      (dNumerator; β3 = √β2 unless given)
 * per parameter (x0 = θ0, its value at its first step; coupled decay: g ← g + λθ):
 *   m ← β1 m + d (1 − β1) g;   v ← β2 v + d² (1 − β2) g²
 *   s ← β3 s + (d/d0) · dη · g                                  (safeguardWarmup: (d/d0) · d · g)
 * then, if Σ‖s‖₁ > 0 (else nothing moves this step):
 *   d̂ ← dCoef · r / Σ‖s‖₁;   d ← max(d, d̂) at the first estimate (d = d0);   d_max ← max(d_max, d̂)
 *   d ← min(d_max, d · growthRate)
 *   θ ← θ − λ dη θ   (decouple);    θ ← θ − dη · m / (√v + d ε)
 *
 * Mishchenko & Defazio 2024, "Prodigy: An Expeditiously Adaptive Parameter-Free Learner" (ICML;
 * arXiv:2306.06101), Algorithm 4 (Adam form); reference code github.com/konstmish/prodigy
 * (prodigyopt/prodigy.py).
 *
 * Conventions (the reference code's): the paper's d_{k+1} = max(d_k, d̂) is the code's
 * min(d_max, d·growthRate) with d_max the running max of d̂, after a first jump max(d0, d̂); the step
 * uses dη from before the update of d, the denominator the updated d; weightDecay is AdamW-style
 * unless `decouple: false` (then L2 in the gradient). η (lr, default 1) scales the estimate; groups
 * may differ only by lr 0 (frozen estimate input, as the reference refuses any other split).
 * Differences: the reference's `slice_p` (estimate from every p-th entry) and FSDP reduction are not
 * here; θ0 is stored as a full copy even when θ starts at zero. lr = 0 moves nothing (no sums accrue).
 * State per parameter: step, s, p0, expAvg, expAvgSq; shared, in every group: d, dMax, dNumerator,
 * dDenom, dHat, k.
 */
import { check, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num, numPair, nullable } from '../util/options.js';
import { like, checkBetas, checkBool } from './util.js';
import { GroupAdaptiveOptimizer, type GroupStep } from './groupstate.js';

export interface ProdigyOptions {
  lr: number;
  betas: [number, number];
  /** null: √β2. */
  beta3: number | null;
  eps: number;
  weightDecay: number;
  decouple: boolean;
  useBiasCorrection: boolean;
  safeguardWarmup: boolean;
  d0: number;
  dCoef: number;
  /** null: no bound (∞). */
  growthRate: number | null;
}

export interface ProdigyShared {
  d: number;
  dMax: number;
  dNumerator: number;
  dDenom: number;
  dHat: number;
  k: number;
}

const NAME = 'Prodigy';

export const prodigyRule: UpdateRule<ProdigyOptions> = {
  name: NAME,
  defaults: {
    lr: 1,
    betas: [0.9, 0.999],
    beta3: null,
    eps: 1e-8,
    weightDecay: 0,
    decouple: true,
    useBiasCorrection: false,
    safeguardWarmup: false,
    d0: 1e-6,
    dCoef: 1,
    growthRate: Infinity,
  },
  schema: {
    lr: num,
    betas: numPair,
    beta3: nullable(num),
    eps: num,
    weightDecay: num,
    decouple: bool,
    useBiasCorrection: bool,
    safeguardWarmup: bool,
    d0: num,
    dCoef: num,
    growthRate: nullable(num),
  },
  validate(h) {
    checkNonNeg(NAME, 'lr', h.lr);
    checkBetas(NAME, h.betas);
    check(NAME, 'beta3', h.beta3, h.beta3 === null || (typeof h.beta3 === 'number' && h.beta3 >= 0 && h.beta3 < 1), 'null or in [0, 1)');
    checkNonNeg(NAME, 'eps', h.eps);
    checkNonNeg(NAME, 'weightDecay', h.weightDecay);
    checkBool(NAME, 'decouple', h.decouple);
    checkBool(NAME, 'useBiasCorrection', h.useBiasCorrection);
    checkBool(NAME, 'safeguardWarmup', h.safeguardWarmup);
    check(NAME, 'd0', h.d0, typeof h.d0 === 'number' && h.d0 > 0 && Number.isFinite(h.d0), '> 0');
    check(NAME, 'dCoef', h.dCoef, typeof h.dCoef === 'number' && h.dCoef > 0 && Number.isFinite(h.dCoef), '> 0');
    check(
      NAME,
      'growthRate',
      h.growthRate,
      h.growthRate === null || (typeof h.growthRate === 'number' && h.growthRate >= 1),
      'null (∞) or ≥ 1',
    );
  },
  init(p) {
    return { step: 0, s: like(p), p0: p.slice(), expAvg: like(p), expAvgSq: like(p) };
  },
  apply() {
    throw new Error(
      'Prodigy: one step-size estimate is shared by all parameters; step the Prodigy class (or call prodigyStep) with all of them',
    );
  },
};

/** Equal lr in every group, or 0 (the reference's rule); returns the lr. */
export function sharedLr(name: string, groups: { h: { lr: number } }[]): number {
  const lr = Math.max(...groups.map((g) => g.h.lr));
  groups.forEach((g, i) => {
    if (g.h.lr !== lr && g.h.lr !== 0)
      throw new RangeError(
        `${name}: parameter group ${i} has lr ${g.h.lr}, group lr ${lr} elsewhere; groups may differ only by lr 0 (one shared step-size estimate)`,
      );
  });
  return lr;
}

/** One Prodigy step over every group (pure in the sense of Optimizer: changes params, states and `shared` in place). */
export const prodigyStep: GroupStep<ProdigyOptions, ProdigyShared> = (groups, sh) => {
  const h0 = groups[0].h;
  const [beta1, beta2] = h0.betas;
  const beta3 = h0.beta3 ?? Math.sqrt(beta2);
  const k = sh.k;
  let d = sh.d;
  let dMax = sh.dMax;
  const lr = sharedLr(NAME, groups);
  const bias = h0.useBiasCorrection ? Math.sqrt(1 - beta2 ** (k + 1)) / (1 - beta1 ** (k + 1)) : 1;
  const dlr = d * lr * bias;
  const growth = h0.growthRate ?? Infinity;
  const decouple = h0.decouple;
  let dNumerator = sh.dNumerator * beta3;
  let dDenom = 0;
  for (const { h, params } of groups) {
    const decay = h.weightDecay;
    if (h.lr <= 0) continue;
    for (const { p, g, s } of params) {
      const p0 = s.p0 as Float64Array;
      const m = s.expAvg as Float64Array;
      const v = s.expAvgSq as Float64Array;
      const ss = s.s as Float64Array;
      const n = p.length;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += (decay !== 0 && !decouple ? g[i] + decay * p[i] : g[i]) * (p0[i] - p[i]);
      dNumerator += (d / h.d0) * dlr * dot;
      const sCoef = h.safeguardWarmup ? (d / h.d0) * d : (d / h.d0) * dlr;
      let l1 = 0;
      for (let i = 0; i < n; i++) {
        const gi = decay !== 0 && !decouple ? g[i] + decay * p[i] : g[i];
        m[i] = m[i] * beta1 + d * (1 - beta1) * gi;
        v[i] = v[i] * beta2 + d * d * (1 - beta2) * gi * gi;
        ss[i] = ss[i] * beta3 + sCoef * gi;
        l1 += Math.abs(ss[i]);
      }
      dDenom += l1;
    }
  }
  if (dDenom === 0) return;
  let dHat = d;
  if (lr > 0) {
    dHat = (h0.dCoef * dNumerator) / dDenom;
    if (d === h0.d0) d = Math.max(d, dHat);
    dMax = Math.max(dMax, dHat);
    d = Math.min(dMax, d * growth);
  }
  Object.assign(sh, { d, dMax, dNumerator, dDenom, dHat, k: k + 1 });
  for (const { h, params } of groups) {
    for (const { p, s } of params) {
      const m = s.expAvg as Float64Array;
      const v = s.expAvgSq as Float64Array;
      s.step = (s.step as number) + 1;
      const deps = d * h.eps;
      const wd = h.weightDecay !== 0 && decouple ? -h.weightDecay * dlr : 0;
      for (let i = 0; i < p.length; i++) {
        let x = p[i];
        if (wd !== 0) x += wd * x;
        p[i] = x + (-dlr * m[i]) / (Math.sqrt(v[i]) + deps);
      }
    }
  }
};

export class Prodigy extends GroupAdaptiveOptimizer<ProdigyOptions, ProdigyShared> {
  protected groupStep = prodigyStep;
  constructor(params: ParamsInput<ProdigyOptions>, options: Partial<ProdigyOptions> = {}) {
    super(prodigyRule, params, options, ['d', 'dMax', 'dNumerator', 'dDenom', 'dHat', 'k'], (h) => ({
      d: h.d0,
      dMax: h.d0,
      dNumerator: 0,
      dDenom: 0,
      dHat: 0,
      k: 0,
    }));
  }
}
