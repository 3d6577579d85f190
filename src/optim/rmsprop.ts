/**
 * RMSprop — PyTorch's torch.optim.RMSprop (1.13).
 *
 *   g ← ∇J(θ)  (−∇J if maximize);   g ← g + λθ            (weightDecay λ)
 *   v ← α v + (1 − α) g²                                  (alpha α, v starts at 0)
 *   centered:  ḡ ← α ḡ + (1 − α) g;   d ← √(v − ḡ²) + ε
 *   else:      d ← √v + ε
 *   momentum μ > 0:  b ← μ b + g / d;   θ ← θ − η b     (b starts at 0)
 *   else:            θ ← θ − η g / d
 *
 * Hinton, Srivastava & Swersky 2012, Neural Networks for Machine Learning, lecture 6e; centered
 * form: Graves 2013, "Generating Sequences With Recurrent Neural Networks", eq. 38–45.
 *
 * Conventions: ε outside the square root and *added* in the centered form (TensorFlow.js subtracts
 * it — regression test "centered RMSProp adds eps"); the averages start at 0, with no bias
 * correction; η outside the momentum buffer. Keras/TensorFlow forms as named options:
 *   - `epsInsideSqrt`: d ← √(v − ḡ² + ε) or √(v + ε);
 *   - `lrInsideMomentum`: b ← μ b + η g / d;  θ ← θ − b (equal to PyTorch's while η is constant).
 * State: step, squareAvg (v), momentumBuffer (b, if μ > 0), gradAvg (ḡ, if centered).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num } from '../util/options.js';
import { like, checkBool } from './util.js';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
  /** Keras/TF: ε inside the square root. */
  epsInsideSqrt: boolean;
  /** Keras/TF: b ← μ b + η g / d;  θ ← θ − b. */
  lrInsideMomentum: boolean;
}

/** RMSprop's state for one parameter (PyTorch's names, camel-cased). */
export type RMSpropState = {
  step: number;
  squareAvg: HostStorage;
  /** with momentum > 0 */
  momentumBuffer?: HostStorage;
  /** when centered */
  gradAvg?: HostStorage;
};

export const rmspropRule: UpdateRule<RMSpropOptions, RMSpropState> = {
  name: 'RMSprop',
  defaults: {
    lr: 1e-2,
    alpha: 0.99,
    eps: 1e-8,
    weightDecay: 0,
    momentum: 0,
    centered: false,
    maximize: false,
    epsInsideSqrt: false,
    lrInsideMomentum: false,
  },
  schema: {
    lr: num,
    alpha: num,
    eps: num,
    weightDecay: num,
    momentum: num,
    centered: bool,
    maximize: bool,
    epsInsideSqrt: bool,
    lrInsideMomentum: bool,
  },
  validate(h) {
    checkNonNeg('RMSprop', 'lr', h.lr);
    checkNonNeg('RMSprop', 'eps', h.eps);
    checkNonNeg('RMSprop', 'momentum', h.momentum);
    checkNonNeg('RMSprop', 'weightDecay', h.weightDecay);
    checkNonNeg('RMSprop', 'alpha', h.alpha);
    checkBool('RMSprop', 'centered', h.centered);
    checkBool('RMSprop', 'maximize', h.maximize);
    checkBool('RMSprop', 'epsInsideSqrt', h.epsInsideSqrt);
    checkBool('RMSprop', 'lrInsideMomentum', h.lrInsideMomentum);
  },
  init(p, h) {
    const s: RMSpropState = { step: 0, squareAvg: like(p) };
    if (h.momentum > 0) s.momentumBuffer = like(p);
    if (h.centered) s.gradAvg = like(p);
    return s;
  },
  apply(p: HostStorage, g: HostStorage, s: RMSpropState, h) {
    const { lr, alpha, eps, weightDecay: wd, momentum: mu, centered, epsInsideSqrt: inside } = h;
    s.step = s.step + 1;
    const v = s.squareAvg;
    // Buffers appear if momentum or centering is switched on after the first step (PyTorch would fail).
    const ga = centered ? (s.gradAvg ??= like(p)) : null;
    const b = mu > 0 ? (s.momentumBuffer ??= like(p)) : null;
    const sign = h.maximize ? -1 : 1;
    const oneMinusAlpha = 1 - alpha;
    const lrIn = h.lrInsideMomentum;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      const gi = sign * g[i] + wd * p[i];
      const vi = v[i] * alpha + oneMinusAlpha * gi * gi;
      v[i] = vi;
      let d: number;
      if (ga) {
        const gai = ga[i] * alpha + oneMinusAlpha * gi;
        ga[i] = gai;
        d = inside ? Math.sqrt(vi - gai * gai + eps) : Math.sqrt(vi - gai * gai) + eps;
      } else {
        d = inside ? Math.sqrt(vi + eps) : Math.sqrt(vi) + eps;
      }
      if (b) {
        if (lrIn) {
          const bi = b[i] * mu + (lr * gi) / d;
          b[i] = bi;
          p[i] -= bi;
        } else {
          const bi = b[i] * mu + gi / d;
          b[i] = bi;
          p[i] += -lr * bi;
        }
      } else {
        p[i] += (-lr * gi) / d;
      }
    }
  },
};

export class RMSprop extends Optimizer<RMSpropOptions, RMSpropState> {
  constructor(params: ParamsInput<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super(rmspropRule, params, options);
  }
}
