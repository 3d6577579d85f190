/**
 * SGD with momentum, dampening, Nesterov, weight decay and maximize — PyTorch's torch.optim.SGD.
 *
 *   g ← ∇J(θ)            (−∇J if maximize)
 *   g ← g + λθ           (weightDecay λ: L2 added to the gradient, not decoupled)
 *   b ← g                at the first step, else  b ← μb + (1−τ)g      (momentum μ, dampening τ)
 *   g ← g + μb           if nesterov, else  g ← b
 *   θ ← θ − η g
 *
 * Conventions: η sits outside the velocity (the lecture's pseudocode form, PyTorch's form); the
 * buffer starts as the first gradient, undamped. Plain SGD (μ = 0) keeps no state. Full-batch
 * gradient descent is this with a batch that is the whole data set.
 *
 * Option `lrInsideMomentum` (Keras/TensorFlow's form, Sutskever et al. 2013): η moves inside the
 * velocity,
 *   v ← η g              at the first step, else  v ← μv + (1−τ) η g
 *   θ ← θ − (η g + μ v)  if nesterov, else  θ ← θ − v
 * With a constant η both forms give the same iterates; once η changes (a schedule) they differ:
 * here the old velocity keeps the old η, in PyTorch's form the new η rescales the whole buffer.
 *
 * Reference: Polyak 1964 (heavy ball); Nesterov 1983; Sutskever, Martens, Dahl, Hinton 2013,
 * "On the importance of initialization and momentum in deep learning"; torch.optim.SGD (1.13).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { like } from './util.js';
import { Optimizer, check, checkNonNeg, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num } from '../util/options.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  /** Keras/TF velocity v ← μv + ηg, θ ← θ − v (see the header). */
  lrInsideMomentum: boolean;
}

/** SGD's state: PyTorch's momentum_buffer, created at the first step with momentum (none without). */
export type SGDState = {
  momentumBuffer?: HostStorage;
};

export const sgdRule: UpdateRule<SGDOptions, SGDState> = {
  name: 'SGD',
  defaults: { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, lrInsideMomentum: false },
  schema: { lr: num, momentum: num, dampening: num, weightDecay: num, nesterov: bool, maximize: bool, lrInsideMomentum: bool },
  validate(h) {
    checkNonNeg('SGD', 'lr', h.lr);
    checkNonNeg('SGD', 'momentum', h.momentum);
    checkNonNeg('SGD', 'weightDecay', h.weightDecay);
    check('SGD', 'dampening', h.dampening, typeof h.dampening === 'number' && Number.isFinite(h.dampening), 'a finite number');
    check(
      'SGD',
      'nesterov',
      h.nesterov,
      !h.nesterov || (h.momentum > 0 && h.dampening === 0),
      'nesterov only with momentum > 0 and dampening = 0',
    );
  },
  init() {
    return {};
  },
  apply(p: HostStorage, g: HostStorage, s: SGDState, h) {
    const { lr, momentum: mu, weightDecay: wd, nesterov, maximize } = h;
    const n = p.length;
    const sign = maximize ? -1 : 1;
    if (mu === 0) {
      for (let i = 0; i < n; i++) p[i] -= lr * (sign * g[i] + wd * p[i]);
      return;
    }
    let b = s.momentumBuffer;
    const first = !b;
    if (!b) s.momentumBuffer = b = like(p);
    const keep = 1 - h.dampening;
    if (h.lrInsideMomentum) {
      for (let i = 0; i < n; i++) {
        const d = sign * g[i] + wd * p[i];
        const bi = first ? lr * d : mu * b[i] + keep * (lr * d);
        b[i] = bi;
        p[i] -= nesterov ? lr * d + mu * bi : bi;
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      const d = sign * g[i] + wd * p[i];
      const bi = first ? d : mu * b[i] + keep * d;
      b[i] = bi;
      p[i] -= lr * (nesterov ? d + mu * bi : bi);
    }
  },
};

export class SGD extends Optimizer<SGDOptions, SGDState> {
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(sgdRule, params, options);
  }
}
