/**
 * AdamW — PyTorch's torch.optim.AdamW (1.13): Adam with *decoupled* weight decay.
 *
 *   θ ← θ (1 − η λ)                                       (weightDecay λ, default 1e-2)
 *   g ← ∇J(θ)  (−∇J if maximize);   t ← t + 1
 *   m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²
 *   θ ← θ − η (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)     (amsgrad: max of v as in Adam)
 *
 * Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization" (ICLR), Algorithm 2.
 *
 * Conventions: the decay is multiplied by η (PyTorch's; the paper's schedule multiplier η_t is
 * folded into η), applied before the moment updates, and the gradient carries no L2 term. Everything
 * else, including `epsInsideSqrt`, is Adam's (./adam.ts).
 * State: step, expAvg, expAvgSq, maxExpAvgSq (if amsgrad).
 */
import { Optimizer, type ParamsInput, type UpdateRule } from './optimizer.js';
import { adamRule, adamStep, initAdamLike, validateAdamLike, type AdamOptions, type AdamState } from './adam.js';

export type AdamWOptions = AdamOptions;

export const adamwRule: UpdateRule<AdamWOptions, AdamState> = {
  name: 'AdamW',
  defaults: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, epsInsideSqrt: false },
  schema: adamRule.schema,
  validate: (h) => validateAdamLike('AdamW', h),
  init: initAdamLike,
  apply: (p, g, s, h) => adamStep(p, g, s, h, true),
};

export class AdamW extends Optimizer<AdamWOptions, AdamState> {
  constructor(params: ParamsInput<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super(adamwRule, params, options);
  }
}
