/**
 * Adafactor — PyTorch 2's torch.optim.Adafactor (2.5+): second moments kept as row and column
 * factors for matrices, a relative step size, and update clipping; no first moment.
 *
 *   g ← ∇J(θ)  (−∇J if maximize);   t ← t + 1
 *   β̂ ← 1 − t^τ                                          (beta2Decay τ = −0.8; 1 − β̂ = t^τ)
 *   ρ ← min(η, 1/√t);   a ← max(ε₂, RMS(θ)) · ρ            (lr η caps the relative step; RMS before decay)
 *   θ ← θ (1 − η λ)                                       (weightDecay λ, decoupled)
 *   matrix [.., n, m]:  R ← β̂R + (1 − β̂)·mean_cols(g²)     (one value per row)
 *                       C ← β̂C + (1 − β̂)·mean_rows(g²)     (one value per column)
 *                       V̂ ← R Cᵀ / max(mean(R), ε₁)
 *   vector:             V̂ ← β̂V̂ + (1 − β̂) g²
 *   U ← g / max(√V̂, ε₁);   Û ← U / max(1, RMS(U)/d)       (d: the clipping threshold)
 *   θ ← θ − a Û
 *
 * Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost" (ICML),
 * Algorithms 4 and 5 (factored and vector forms, without momentum).
 *
 * Conventions (PyTorch's, which differ from the paper and from other libraries): ε₁ is applied to
 * the variance estimate (clamped at ε₁², then rsqrt) and to mean(R), not added to g² before the
 * factors are updated as in the paper, T5 and Keras; lr caps ρ (the paper uses 0.01, the default
 * lr) and scales the decoupled weight decay; eps = [ε₁, ε₂] with ε₁ = null meaning the machine
 * epsilon of the parameter's dtype (2⁻⁵² for float64, 2⁻²³ for float32). A tensor of more than two
 * dimensions is factored over its last two, the leading ones being a batch of matrices; tensors of
 * 0 or 1 dimension keep the full V̂. The running averages are computed as torch.lerp computes them
 * (a + w(b − a) for w < ½, else b − (b − a)(1 − w)); the plain (1 − w)a + wb differs only in the last
 * bits (both match the torch 2.6 goldens to 1e-9).
 * lr = 0 is a no-op (ρ = 0 and no decay). RMS(θ) and RMS(U) are taken over the whole tensor, so the
 * update of one coordinate depends on the others.
 *
 * State: step, and rowVar (R) and colVar (C) for a matrix, or variance (V̂) for a vector. The
 * factors are smaller than the parameter, so `init` sizes them from the parameter's shape (the
 * contract's third argument; Optimizer.loadStateDict checks a loaded state's lengths against it).
 * `apply` reads the factorisation back from the state's sizes (batch = |R|·|C| / size, rows = |R| /
 * batch, columns = |C| / batch).
 */
import { allocStorage, type HostStorage, type DType } from '../tensor/tensor.js';
import { Optimizer, check, checkNonNeg, type ParamsInput, type UpdateRule, type ParamState } from './optimizer.js';
import { bool, num, spec } from '../util/options.js';
import { like, checkBool } from './util.js';

export interface AdafactorOptions {
  lr: number;
  /** τ ≤ 0: 1 − β̂_t = t^τ. */
  beta2Decay: number;
  /** [ε₁, ε₂]: ε₁ floors the variance estimate (null: the dtype's machine epsilon), ε₂ floors RMS(θ). */
  eps: [number | null, number];
  /** d ≥ 1: updates whose RMS exceeds d are scaled down to it. */
  d: number;
  weightDecay: number;
  maximize: boolean;
}

const epsPair = spec(
  '[ε₁ (a number or null), ε₂ (a number)]',
  (v) => Array.isArray(v) && v.length === 2 && (v[0] === null || typeof v[0] === 'number') && typeof v[1] === 'number',
);

/** torch.lerp's two forms, chosen by the weight (exact at w = 1). */
const lerp = (a: number, b: number, w: number) => (w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w));

/** Fresh state for a parameter of this shape: factored over the last two dimensions when it has two or more. */
export function adafactorInit(p: HostStorage, shape: readonly number[], _h?: AdafactorOptions): ParamState {
  if (shape.length < 2) return { step: 0, variance: like(p) };
  const rows = shape[shape.length - 2];
  const cols = shape[shape.length - 1];
  const batch = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const dtype: DType = p instanceof Float64Array ? 'float64' : 'float32';
  return { step: 0, rowVar: allocStorage(dtype, batch * rows), colVar: allocStorage(dtype, batch * cols) };
}

export const adafactorRule: UpdateRule<AdafactorOptions> = {
  name: 'Adafactor',
  defaults: { lr: 1e-2, beta2Decay: -0.8, eps: [null, 1e-3], d: 1, weightDecay: 0, maximize: false },
  schema: { lr: num, beta2Decay: num, eps: epsPair, d: num, weightDecay: num, maximize: bool },
  validate(h) {
    checkNonNeg('Adafactor', 'lr', h.lr);
    check('Adafactor', 'beta2Decay', h.beta2Decay, typeof h.beta2Decay === 'number' && h.beta2Decay <= 0, '≤ 0');
    check('Adafactor', 'eps', h.eps, epsPair.test(h.eps), epsPair.expected);
    if (h.eps[0] !== null) checkNonNeg('Adafactor', 'eps[0]', h.eps[0]);
    checkNonNeg('Adafactor', 'eps[1]', h.eps[1]);
    check('Adafactor', 'd', h.d, typeof h.d === 'number' && h.d >= 1, '≥ 1');
    checkNonNeg('Adafactor', 'weightDecay', h.weightDecay);
    checkBool('Adafactor', 'maximize', h.maximize);
  },
  init: (p, _h, shape) => adafactorInit(p, shape),
  apply(p: HostStorage, g: HostStorage, s: ParamState, h) {
    const { lr, beta2Decay, d, weightDecay: wd } = h;
    const n = p.length;
    if (n === 0) return;
    const sign = h.maximize ? -1 : 1;
    const eps1 = h.eps[0] ?? (p instanceof Float64Array ? 2 ** -52 : 2 ** -23);
    const eps2 = h.eps[1];
    const t = (s.step as number) + 1;
    s.step = t;
    const w = t ** beta2Decay;
    const rho = Math.min(lr, 1 / Math.sqrt(t));
    let pp = 0;
    for (let i = 0; i < n; i++) pp += p[i] * p[i];
    const a = Math.max(eps2, Math.sqrt(pp) / Math.sqrt(n)) * rho;
    if (wd !== 0) {
      const shrink = 1 - lr * wd;
      for (let i = 0; i < n; i++) p[i] *= shrink;
    }
    const u = new Float64Array(n);
    const floor = eps1 * eps1;
    if (s.rowVar !== undefined) {
      const R = s.rowVar as HostStorage;
      const C = s.colVar as HostStorage;
      const batch = (R.length * C.length) / n;
      const rows = R.length / batch;
      const cols = C.length / batch;
      for (let b = 0; b < batch; b++) {
        const off = b * rows * cols;
        for (let r = 0; r < rows; r++) {
          let sq = 0;
          for (let c = 0; c < cols; c++) sq += g[off + r * cols + c] ** 2;
          R[b * rows + r] = lerp(R[b * rows + r], sq / cols, w);
        }
        for (let c = 0; c < cols; c++) {
          let sq = 0;
          for (let r = 0; r < rows; r++) sq += g[off + r * cols + c] ** 2;
          C[b * cols + c] = lerp(C[b * cols + c], sq / rows, w);
        }
        let rMean = 0;
        for (let r = 0; r < rows; r++) rMean += R[b * rows + r];
        const den = Math.max(rMean / rows, eps1);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const i = off + r * cols + c;
            const v = (R[b * rows + r] * C[b * cols + c]) / den;
            u[i] = (sign * g[i]) / Math.sqrt(Math.max(v, floor));
          }
        }
      }
    } else {
      const V = s.variance as HostStorage;
      for (let i = 0; i < n; i++) {
        const gi = sign * g[i];
        const v = lerp(V[i], gi * gi, w);
        V[i] = v;
        u[i] = gi / Math.sqrt(Math.max(v, floor));
      }
    }
    let uu = 0;
    for (let i = 0; i < n; i++) uu += u[i] * u[i];
    const clip = Math.max(1, Math.sqrt(uu) / (Math.sqrt(n) * d));
    const k = a / clip;
    for (let i = 0; i < n; i++) p[i] -= k * u[i];
  },
};

export class Adafactor extends Optimizer<AdafactorOptions> {
  constructor(params: ParamsInput<AdafactorOptions>, options: Partial<AdafactorOptions> = {}) {
    super(adafactorRule, params, options);
  }
}
