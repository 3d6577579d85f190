/**
 * Adagrad — PyTorch's torch.optim.Adagrad (1.13).
 *
 *   g ← ∇J(θ)  (−∇J if maximize);   g ← g + λθ            (weightDecay λ, L2 in the gradient)
 *   η_t ← η / (1 + (t − 1)·lrDecay)                       (t = 1 at the first step)
 *   s ← s + g²                                            (s starts at initialAccumulatorValue)
 *   θ ← θ − η_t · g / (√s + ε)
 *
 * Duchi, Hazan & Singer 2011, "Adaptive Subgradient Methods for Online Learning and Stochastic
 * Optimization" (JMLR 12).
 *
 * Conventions: ε outside the square root (PyTorch, ε = 1e-10); the accumulator starts at 0.
 * Keras/TensorFlow differ in two places, each a named option value here:
 *   - Keras' `initial_accumulator_value` is 0.1: pass `initialAccumulatorValue: 0.1`;
 *   - TensorFlow.js adds ε inside the root, θ ← θ − η g / √(s + ε): `epsInsideSqrt: true`.
 * State: step (t), sum (s).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num } from '../util/options.js';
import { like, checkBool } from './util.js';

export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
  /** TensorFlow.js: θ ← θ − η g / √(s + ε). */
  epsInsideSqrt: boolean;
}

/** Adagrad's state for one parameter (PyTorch's names, camel-cased). */
export type AdagradState = {
  step: number;
  /** the running sum of squared gradients */
  sum: HostStorage;
};

export const adagradRule: UpdateRule<AdagradOptions, AdagradState> = {
  name: 'Adagrad',
  defaults: { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false, epsInsideSqrt: false },
  schema: { lr: num, lrDecay: num, weightDecay: num, initialAccumulatorValue: num, eps: num, maximize: bool, epsInsideSqrt: bool },
  validate(h) {
    checkNonNeg('Adagrad', 'lr', h.lr);
    checkNonNeg('Adagrad', 'lrDecay', h.lrDecay);
    checkNonNeg('Adagrad', 'weightDecay', h.weightDecay);
    checkNonNeg('Adagrad', 'initialAccumulatorValue', h.initialAccumulatorValue);
    checkNonNeg('Adagrad', 'eps', h.eps);
    checkBool('Adagrad', 'maximize', h.maximize);
    checkBool('Adagrad', 'epsInsideSqrt', h.epsInsideSqrt);
  },
  init(p, h) {
    return { step: 0, sum: like(p, h.initialAccumulatorValue) };
  },
  apply(p: HostStorage, g: HostStorage, s: AdagradState, h) {
    const { lr, lrDecay, weightDecay: wd, eps } = h;
    const t = s.step + 1;
    s.step = t;
    const sum = s.sum;
    const clr = lr / (1 + (t - 1) * lrDecay);
    const sign = h.maximize ? -1 : 1;
    const inside = h.epsInsideSqrt;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const gi = sign * g[i] + wd * p[i];
      const si = sum[i] + gi * gi;
      sum[i] = si;
      const std = inside ? Math.sqrt(si + eps) : Math.sqrt(si) + eps;
      p[i] += (-clr * gi) / std;
    }
  },
};

export class Adagrad extends Optimizer<AdagradOptions, AdagradState> {
  constructor(params: ParamsInput<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    super(adagradRule, params, options);
  }
}
