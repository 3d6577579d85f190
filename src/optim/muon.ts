/**
 * Muon — MomentUm Orthogonalized by Newton–Schulz, with an AdamW path for the parameters Muon is not for.
 *
 * For a weight matrix W (rows × cols; a convolution's filters [out, in, kh, kw] flattened to
 * out × (in·kh·kw)), gradient G, momentum β (momentum), step η (lr), decay λ (weightDecay):
 *
 *   B ← β B + (1 − β) G                                   (momentumBuffer, starts at 0)
 *   U ← (1 − β) G + β B   if nesterov,  else  U ← B
 *   X ← U / max(‖U‖_F, ε);   transposed if rows > cols, so X X ᵀ is the smaller Gram matrix
 *   repeat nsSteps times (quintic Newton–Schulz, coefficients (a, b, c)):
 *       A ← X Xᵀ;   X ← a X + (b A + c A²) X
 *   O ← X (transposed back)                               (≈ U Vᵀ of U's SVD, singular values in ≈ [0.7, 1.2])
 *   W ← W (1 − η λ)                                       (decoupled decay, η unadjusted)
 *   W ← W − η' O,   η' = η · max(1, rows/cols)^½          (adjustLrFn 'original')
 *                   η' = η · 0.2 · √max(rows, cols)       (adjustLrFn 'match_rms_adamw': the RMS of AdamW's update)
 *                   η' = η                                (adjustLrFn 'none')
 *
 * A group with `useMuon: false` is stepped by AdamW instead (biases, gains, the first layer's and the
 * output layer's weights, as the reference recommends; `muonParamGroups` builds such groups):
 *   t ← t + 1;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
 *   θ ← θ (1 − η λ) − η (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + adamEps)
 *
 * K. Jordan, Y. Jin, V. Boza, J. You, F. Cesista, L. Newhouse & J. Bernstein 2024, "Muon: An optimizer
 * for hidden layers in neural networks" (kellerjordan.github.io/posts/muon; reference code
 * github.com/KellerJordan/Muon, muon.py); J. Liu et al. 2025, "Muon is Scalable for LLM Training"
 * (Moonshot AI; the 0.2·√max(A, B) RMS match); torch.optim.Muon (PyTorch 2.9); keras.optimizers.Muon.
 *
 * Conventions: this file follows torch.optim.Muon — the EMA momentum (lerp), the Nesterov blend
 * (1 − β)G + βB, normalisation X / max(‖X‖, ε) with ε = 1e-7, decay λη before the step, defaults
 * lr 1e-3, weightDecay 0.1, momentum 0.95, nesterov on, coefficients (3.4445, −4.7750, 2.0315), 5 steps.
 * Where the others differ, an option gives their form:
 *   momentumForm 'sum'   B ← βB + G, U ← G + βB (Keras; and the first Muon code). U is the EMA form's
 *                        U divided by (1 − β), so after the scale-free normalisation the two differ
 *                        only where ε acts.
 *   nsNormalize 'add'    X / (‖X‖ + ε) (the author's reference and Keras).
 *   adjustLrFn           'original' is PyTorch's default and the author's max(1, rows/cols)^½ (the
 *                        reference reads a conv filter's last two sizes, kh/kw, for it; this file reads
 *                        the flattened matrix's); 'match_rms_adamw' is Moonshot's (Keras: rms_rate 0.2).
 * The iteration runs in float64 (PyTorch and the reference run it in bfloat16); the result is
 * rounded once into the parameter's dtype. For a wide matrix (k > 2.5 r) it runs on the r × r Gram
 * matrix (viaGram below: the same iterates in exact arithmetic, fewer flops). The AdamW path is the reference's MuonWithAuxAdam update
 * (defaults betas (0.9, 0.95), adamEps 1e-10), equal to torch.optim.AdamW's to rounding. Keras
 * instead runs its AdamW path at lr·adam_lr_ratio; here each group carries its own lr.
 * A Muon group refuses a parameter with fewer than two dimensions (RangeError naming it).
 * State: momentumBuffer (Muon groups); step, expAvg, expAvgSq (AdamW groups); rows, cols.
 */
import type { HostStorage, Tensor } from '../tensor/tensor.js';
import { Optimizer, check, checkNonNeg, type ParamsInput, type UpdateRule, type ParamState } from './optimizer.js';
import { bool, num, numArray, numPair, oneOf } from '../util/options.js';
import { like, checkBetas, checkBool } from './util.js';

export type MuonAdjustLr = 'original' | 'match_rms_adamw' | 'none';

export interface MuonOptions {
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  /** Quintic Newton–Schulz coefficients (a, b, c). */
  nsCoefficients: number[];
  nsSteps: number;
  /** ε of the normalisation before the iteration. */
  eps: number;
  adjustLrFn: MuonAdjustLr;
  /** 'ema': B ← βB + (1−β)G (PyTorch, the author); 'sum': B ← βB + G (Keras). */
  momentumForm: 'ema' | 'sum';
  /** 'clamp': X / max(‖X‖, ε) (PyTorch); 'add': X / (‖X‖ + ε) (the author, Keras). */
  nsNormalize: 'clamp' | 'add';
  /** false: this group is stepped by AdamW (biases, the first and the output layer). */
  useMuon: boolean;
  /** The AdamW path's (β1, β2). */
  betas: [number, number];
  /** The AdamW path's ε. */
  adamEps: number;
}

const NAME = 'Muon';

export const muonRule: UpdateRule<MuonOptions> = {
  name: NAME,
  defaults: {
    lr: 1e-3,
    momentum: 0.95,
    nesterov: true,
    weightDecay: 0.1,
    nsCoefficients: [3.4445, -4.775, 2.0315],
    nsSteps: 5,
    eps: 1e-7,
    adjustLrFn: 'original',
    momentumForm: 'ema',
    nsNormalize: 'clamp',
    useMuon: true,
    betas: [0.9, 0.95],
    adamEps: 1e-10,
  },
  schema: {
    lr: num,
    momentum: num,
    nesterov: bool,
    weightDecay: num,
    nsCoefficients: numArray,
    nsSteps: num,
    eps: num,
    adjustLrFn: oneOf('original', 'match_rms_adamw', 'none'),
    momentumForm: oneOf('ema', 'sum'),
    nsNormalize: oneOf('clamp', 'add'),
    useMuon: bool,
    betas: numPair,
    adamEps: num,
  },
  validate(h) {
    checkNonNeg(NAME, 'lr', h.lr);
    check(NAME, 'momentum', h.momentum, typeof h.momentum === 'number' && h.momentum >= 0 && h.momentum < 1, 'in [0, 1)');
    checkBool(NAME, 'nesterov', h.nesterov);
    checkNonNeg(NAME, 'weightDecay', h.weightDecay);
    const c = h.nsCoefficients;
    check(
      NAME,
      'nsCoefficients',
      c,
      Array.isArray(c) && c.length === 3 && c.every((x) => Number.isFinite(x)),
      'three finite numbers [a, b, c]',
    );
    check(NAME, 'nsSteps', h.nsSteps, Number.isInteger(h.nsSteps) && h.nsSteps >= 0 && h.nsSteps <= 100, 'an integer in [0, 100]');
    check(NAME, 'eps', h.eps, typeof h.eps === 'number' && h.eps > 0 && Number.isFinite(h.eps), '> 0');
    checkBool(NAME, 'useMuon', h.useMuon);
    checkBetas(NAME, h.betas);
    checkNonNeg(NAME, 'adamEps', h.adamEps);
  },
  init: (p, h, shape) => muonInit(p, shape, h),
  apply(p, g, s, h) {
    if (h.useMuon) muonStep(p, g, s, h);
    else adamwAuxStep(p, g, s, h);
  },
};

/** rows × cols of a parameter as Muon sees it: the first size × the product of the rest. */
export function matrixShape(shape: readonly number[]): [number, number] {
  const rows = shape[0] ?? 1;
  return [rows, shape.length === 0 ? 1 : shape.slice(1).reduce((a, b) => a * b, 1)];
}

/** X Xᵀ of an r × k matrix into `out` (symmetric: the upper triangle computed and mirrored). */
function gram(x: Float64Array, r: number, k: number, out: Float64Array): void {
  for (let i = 0; i < r; i++) {
    for (let j = i; j < r; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += x[i * k + l] * x[j * k + l];
      out[i * r + j] = s;
      out[j * r + i] = s;
    }
  }
}

/** out = L R for r × r matrices. */
function mulSquare(L: Float64Array, R: Float64Array, r: number, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < r; i++) {
    for (let l = 0; l < r; l++) {
      const v = L[i * r + l];
      if (v === 0) continue;
      for (let j = 0; j < r; j++) out[i * r + j] += v * R[l * r + j];
    }
  }
}

/**
 * The iteration for a wide X (k > 2.5 r) on the r × r Gram matrix: X_{t+1} = P_t X_t with
 * P_t = aI + bA_t + cA_t², a polynomial in A_t = X_t X_tᵀ, so A_{t+1} = P_t A_t P_t and
 * X_n = (P_{n−1} ⋯ P_0) X_0 — the same iterates in exact arithmetic, with the r × k matrix used twice
 * instead of twice per step (≈ 1.5 r²k + 20 r³ multiply-adds instead of 7.5 r²k + 5 r³ for 5 steps).
 */
function viaGram(x: Float64Array, r: number, k: number, a: number, b: number, c: number, steps: number): Float64Array {
  let A = new Float64Array(r * r);
  gram(x, r, k, A);
  let M = new Float64Array(r * r);
  for (let i = 0; i < r; i++) M[i * r + i] = 1;
  const P = new Float64Array(r * r);
  let T = new Float64Array(r * r);
  let U = new Float64Array(r * r);
  for (let step = 0; step < steps; step++) {
    mulSquare(A, A, r, T);
    for (let i = 0; i < r * r; i++) P[i] = b * A[i] + c * T[i];
    for (let i = 0; i < r; i++) P[i * r + i] += a;
    mulSquare(P, M, r, T);
    [M, T] = [T, M];
    mulSquare(A, P, r, T);
    mulSquare(P, T, r, U);
    [A, U] = [U, A];
  }
  const out = new Float64Array(r * k);
  for (let i = 0; i < r; i++) {
    const row = i * k;
    for (let l = 0; l < r; l++) {
      const m = M[i * r + l];
      if (m === 0) continue;
      const rl = l * k;
      for (let j = 0; j < k; j++) out[row + j] += m * x[rl + j];
    }
  }
  return out;
}

/**
 * The quintic Newton–Schulz iteration on a rows × cols matrix (float64, row-major): an approximate
 * orthogonalisation U Vᵀ of `u`, returned in a new array of the same layout.
 */
export function newtonSchulz5(
  u: ArrayLike<number>,
  rows: number,
  cols: number,
  h: Pick<MuonOptions, 'nsCoefficients' | 'nsSteps' | 'eps' | 'nsNormalize'>,
): Float64Array {
  const [a, b, c] = h.nsCoefficients;
  const tall = rows > cols;
  const r = tall ? cols : rows; // X is r × k with r ≤ k
  const k = tall ? rows : cols;
  let x: Float64Array = new Float64Array(r * k);
  if (tall) for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) x[j * k + i] = u[i * cols + j];
  else for (let i = 0; i < x.length; i++) x[i] = u[i];
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const norm = Math.sqrt(ss);
  const scale = h.nsNormalize === 'add' ? norm + h.eps : Math.max(norm, h.eps);
  for (let i = 0; i < x.length; i++) x[i] /= scale;
  if (k > 2.5 * r) x = viaGram(x, r, k, a, b, c, h.nsSteps);
  else {
    const A = new Float64Array(r * r);
    const B = new Float64Array(r * r);
    let next: Float64Array = new Float64Array(r * k);
    for (let step = 0; step < h.nsSteps; step++) {
      gram(x, r, k, A);
      // B = b A + c A A
      for (let i = 0; i < r; i++) {
        for (let j = 0; j < r; j++) {
          let s = 0;
          for (let l = 0; l < r; l++) s += A[i * r + l] * A[l * r + j];
          B[i * r + j] = b * A[i * r + j] + c * s;
        }
      }
      // X ← a X + B X
      for (let i = 0; i < r; i++) {
        const row = i * k;
        for (let j = 0; j < k; j++) next[row + j] = a * x[row + j];
        for (let l = 0; l < r; l++) {
          const bil = B[i * r + l];
          if (bil === 0) continue;
          const rl = l * k;
          for (let j = 0; j < k; j++) next[row + j] += bil * x[rl + j];
        }
      }
      [x, next] = [next, x];
    }
  }
  if (!tall) return x;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = x[j * k + i];
  return out;
}

/** The step size Muon uses for a rows × cols matrix (adjustLrFn). */
export function adjustedLr(lr: number, rows: number, cols: number, fn: MuonAdjustLr): number {
  if (fn === 'original') return lr * Math.sqrt(Math.max(1, rows / cols));
  if (fn === 'match_rms_adamw') return lr * 0.2 * Math.sqrt(Math.max(rows, cols));
  return lr;
}

function muonStep(p: HostStorage, g: HostStorage, s: ParamState, h: MuonOptions): void {
  const rows = s.rows as number;
  const cols = s.cols as number;
  const buf = s.momentumBuffer as HostStorage;
  const beta = h.momentum;
  const n = p.length;
  const u = new Float64Array(n);
  const ema = h.momentumForm === 'ema';
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const bi = ema ? buf[i] + (gi - buf[i]) * (1 - beta) : beta * buf[i] + gi;
    buf[i] = bi;
    const b = buf[i]; // as stored (float32 rounding included), like the reference's in-place buffer
    u[i] = !h.nesterov ? b : ema ? gi + (b - gi) * beta : gi + beta * b;
  }
  const o = newtonSchulz5(u, rows, cols, h);
  const step = adjustedLr(h.lr, rows, cols, h.adjustLrFn);
  const shrink = 1 - h.lr * h.weightDecay;
  for (let i = 0; i < n; i++) p[i] = p[i] * shrink - step * o[i];
}

function adamwAuxStep(p: HostStorage, g: HostStorage, s: ParamState, h: MuonOptions): void {
  const [beta1, beta2] = h.betas;
  const t = (s.step as number) + 1;
  s.step = t;
  const m = s.expAvg as HostStorage;
  const v = s.expAvgSq as HostStorage;
  const bc1 = 1 - beta1 ** t;
  const bc2 = 1 - beta2 ** t;
  const shrink = 1 - h.lr * h.weightDecay;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    m[i] = m[i] + (gi - m[i]) * (1 - beta1);
    v[i] = v[i] + (gi * gi - v[i]) * (1 - beta2);
    p[i] = p[i] * shrink - (h.lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + h.adamEps);
  }
}

/**
 * The state of a parameter of this shape in a group of these options (rows, cols from its shape);
 * a Muon group refuses a parameter with fewer than two dimensions.
 */
export function muonInit(p: HostStorage, shape: readonly number[], h: MuonOptions, name = 'a parameter'): ParamState {
  if (h.useMuon && shape.length < 2) {
    throw new RangeError(
      `Muon: parameter "${name}" has shape [${shape.join(', ')}]; Muon orthogonalises matrices (2-D or more, a conv filter flattened), so give it a group with useMuon: false (muonParamGroups does)`,
    );
  }
  const [rows, cols] = matrixShape(shape);
  return h.useMuon ? { momentumBuffer: like(p), rows, cols } : { step: 0, expAvg: like(p), expAvgSq: like(p), rows, cols };
}

export interface MuonGroupOptions {
  /** The AdamW groups' lr (the reference's MuonWithAuxAdam default 3e-4). */
  adamLr?: number;
  /** The AdamW groups' weightDecay (default 0, the reference's). */
  adamWeightDecay?: number;
  /** Step the first weight matrix with AdamW (default true, the reference's advice for the input layer). */
  adamFirst?: boolean;
  /** Step the last weight matrix with AdamW (default true: the output layer). */
  adamLast?: boolean;
}

/**
 * Parameter groups for Muon from a model's named parameters, in the model's order: the weight
 * matrices (2-D or more) between the first and the last go to Muon; biases, gains and (unless told
 * otherwise) the first and the last weight matrix go to an AdamW group. Empty groups are left out.
 */
export function muonParamGroups(
  params: [string, Tensor][],
  o: MuonGroupOptions = {},
): (Partial<MuonOptions> & { params: [string, Tensor][] })[] {
  const mats = params.filter(([, t]) => t.shape.length >= 2);
  const first = (o.adamFirst ?? true) ? mats[0]?.[1] : undefined;
  const last = (o.adamLast ?? true) ? mats[mats.length - 1]?.[1] : undefined;
  const muon = params.filter(([, t]) => t.shape.length >= 2 && t !== first && t !== last);
  const adam = params.filter(([, t]) => !muon.some(([, m]) => m === t));
  const groups: (Partial<MuonOptions> & { params: [string, Tensor][] })[] = [];
  if (muon.length) groups.push({ params: muon, useMuon: true });
  if (adam.length) groups.push({ params: adam, useMuon: false, lr: o.adamLr ?? 3e-4, weightDecay: o.adamWeightDecay ?? 0 });
  return groups;
}

export class Muon extends Optimizer<MuonOptions> {
  constructor(params: ParamsInput<MuonOptions>, options: Partial<MuonOptions> = {}) {
    super(muonRule, params, options);
    for (const g of this.paramGroups)
      for (const p of g.params) if (g.useMuon && p.shape.length < 2) muonInit(p.data, p.shape, g, this.nameOf(p));
  }
}
