/**
 * SOAP — ShampoO with Adam in the Preconditioner's eigenbasis.
 *
 * For a parameter with gradient G of shape d_1 × … × d_n (a matrix: L and R of Shampoo), each mode j
 * with d_j ≤ maxPrecondDim keeps a statistic P_j and its eigenbasis Q_j (other modes: Q_j = I):
 *   P_j ← β_s P_j + (1 − β_s) G_(j) G_(j)ᵀ          (G_(j): the mode-j unfolding; β_s = shampooBeta, else β2)
 * First step: P_j from G, Q_j ← the eigenvectors of P_j (eigenvalues descending); θ does not move.
 * Every later step t = 1, 2, …:
 *   G' ← G ×_1 Q_1ᵀ ⋯ ×_n Q_nᵀ                        (G in the eigenbasis; a matrix: Q_Lᵀ G Q_R)
 *   m ← β1 m + (1 − β1) G';   v ← β2 v + (1 − β2) G'²  (both kept in the eigenbasis)
 *   N ← (m / (√v + ε)) ×_1 Q_1 ⋯ ×_n Q_n               (back; normalizeGrads: N / (10⁻³⁰ + RMS(N)))
 *   θ ← θ − η √(1 − β2ᵗ)/(1 − β1ᵗ) · N;   θ ← θ − η λ θ   (correctBias; weightDecay λ after the step)
 *   P_j updated with this G; every preconditionFrequency steps each Q_j is refreshed by one power
 *   iteration and a QR factorisation: order Q_j's columns by the estimated eigenvalues diag(Q_jᵀ P_j Q_j)
 *   (descending, v's mode j permuted alike), Q_j ← qr(P_j Q_j).Q, and m is re-expressed in the new basis.
 *
 * Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade 2025, "SOAP: Improving and
 * Stabilizing Shampoo using Adam" (ICLR; arXiv:2409.11321), Algorithm 3 (eigenbasis refresh by QR)
 * with Algorithm 1; reference code github.com/nikhilvyas/SOAP (soap.py).
 *
 * Conventions (the reference code's): defaults lr 3e-3, betas (0.95, 0.95), weightDecay 0.01,
 * preconditionFrequency 10, maxPrecondDim 10000; the first step only gathers statistics; 1-D
 * parameters are plain Adam unless precondition1d; decay is applied after the step, to the updated θ,
 * scaled by η (not by the bias-corrected step). Differences: the linear algebra is this library's
 * own (./linalg.ts: Jacobi eigenvectors, Householder QR) in float64 where the reference casts to
 * float32 for eigh and QR; the reference's mergeDims and channels_last layout are not here; the
 * reference re-expresses m at every step (back with the old Q and forward with the same Q when it did
 * not change), here only when Q changes — equal to rounding. Where a statistic has a repeated
 * eigenvalue (e.g. G G ᵀ of a wide G at the first step has rank < d) the eigenbasis inside that
 * eigenspace is the eigensolver's choice, so trajectories of two implementations can differ there.
 * State: step, expAvg, expAvgSq, ndim, dim0…, initialised; per preconditioned mode j: gg<j>, q<j>
 * (d_j × d_j, row-major).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { Optimizer, check, checkNonNeg, type OptimizerStateDict, type ParamsInput, type UpdateRule, type ParamState } from './optimizer.js';
import { bool, num, numPair, nullable } from '../util/options.js';
import { like, checkBetas, checkBool } from './util.js';
import { modeGram, modeProduct, qrQ, symEig } from './linalg.js';

export interface SOAPOptions {
  lr: number;
  betas: [number, number];
  /** β of the statistics P_j; null: betas[1]. */
  shampooBeta: number | null;
  eps: number;
  weightDecay: number;
  preconditionFrequency: number;
  /** A mode larger than this keeps the identity basis. */
  maxPrecondDim: number;
  precondition1d: boolean;
  normalizeGrads: boolean;
  correctBias: boolean;
}

const NAME = 'SOAP';

export const soapRule: UpdateRule<SOAPOptions> = {
  name: NAME,
  defaults: {
    lr: 3e-3,
    betas: [0.95, 0.95],
    shampooBeta: null,
    eps: 1e-8,
    weightDecay: 0.01,
    preconditionFrequency: 10,
    maxPrecondDim: 10000,
    precondition1d: false,
    normalizeGrads: false,
    correctBias: true,
  },
  schema: {
    lr: num,
    betas: numPair,
    shampooBeta: nullable(num),
    eps: num,
    weightDecay: num,
    preconditionFrequency: num,
    maxPrecondDim: num,
    precondition1d: bool,
    normalizeGrads: bool,
    correctBias: bool,
  },
  validate(h) {
    checkNonNeg(NAME, 'lr', h.lr);
    checkBetas(NAME, h.betas);
    check(
      NAME,
      'shampooBeta',
      h.shampooBeta,
      h.shampooBeta === null || (typeof h.shampooBeta === 'number' && h.shampooBeta >= 0 && h.shampooBeta < 1),
      'null (betas[1]) or in [0, 1)',
    );
    checkNonNeg(NAME, 'eps', h.eps);
    checkNonNeg(NAME, 'weightDecay', h.weightDecay);
    check(
      NAME,
      'preconditionFrequency',
      h.preconditionFrequency,
      Number.isInteger(h.preconditionFrequency) && h.preconditionFrequency >= 1,
      'an integer ≥ 1',
    );
    check(NAME, 'maxPrecondDim', h.maxPrecondDim, Number.isInteger(h.maxPrecondDim) && h.maxPrecondDim >= 0, 'an integer ≥ 0');
    checkBool(NAME, 'precondition1d', h.precondition1d);
    checkBool(NAME, 'normalizeGrads', h.normalizeGrads);
    checkBool(NAME, 'correctBias', h.correctBias);
  },
  init: (p, _h, shape) => soapInit(p, shape),
  apply: soapStep,
};

/** The shape recorded in a state. */
export function soapDims(s: ParamState): number[] {
  return Array.from({ length: s.ndim as number }, (_, j) => s[`dim${j}`] as number);
}

/** The state of a parameter of this shape (the shape recorded in it). */
export function soapInit(p: HostStorage, shape: readonly number[], _h?: SOAPOptions): ParamState {
  const s: ParamState = { step: 0, initialised: 0, expAvg: like(p), expAvgSq: like(p) };
  const dims = shape.length === 0 ? [1] : shape;
  s.ndim = dims.length;
  dims.forEach((d, j) => (s[`dim${j}`] = d));
  return s;
}

/** Which modes carry a preconditioner. */
function preconditioned(dims: number[], h: SOAPOptions): boolean[] {
  if (dims.length === 1) return [h.precondition1d && dims[0] <= h.maxPrecondDim];
  return dims.map((d) => d <= h.maxPrecondDim);
}

function rotate(t: Float64Array, dims: number[], s: ParamState, back: boolean): Float64Array {
  let x = t;
  for (let j = 0; j < dims.length; j++) {
    const q = s[`q${j}`] as Float64Array | undefined;
    if (q) x = modeProduct(x, dims, j, q, back);
  }
  return x;
}

function updateStatistics(g: Float64Array, dims: number[], s: ParamState, h: SOAPOptions): void {
  const w = 1 - (h.shampooBeta ?? h.betas[1]);
  for (let j = 0; j < dims.length; j++) {
    const gg = s[`gg${j}`] as Float64Array | undefined;
    if (!gg) continue;
    const outer = modeGram(g, dims, j);
    for (let i = 0; i < gg.length; i++) gg[i] += w * (outer[i] - gg[i]);
  }
}

/** One SOAP step on a parameter whose state records its shape (soapInit). */
export function soapStep(p: HostStorage, grad: HostStorage, s: ParamState, h: SOAPOptions): void {
  const dims = soapDims(s);
  const g = Float64Array.from(grad as ArrayLike<number>);
  if (!s.initialised) {
    preconditioned(dims, h).forEach((on, j) => {
      if (on) s[`gg${j}`] = new Float64Array(dims[j] * dims[j]);
    });
    updateStatistics(g, dims, s, h);
    for (let j = 0; j < dims.length; j++) {
      const gg = s[`gg${j}`] as Float64Array | undefined;
      if (gg) s[`q${j}`] = symEig(gg, dims[j]).vectors;
    }
    s.initialised = 1;
    return;
  }
  const [beta1, beta2] = h.betas;
  const m = s.expAvg as HostStorage;
  const v = s.expAvgSq as HostStorage;
  const gp = rotate(g, dims, s, false);
  const t = (s.step as number) + 1;
  s.step = t;
  const n = p.length;
  const ratio = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    m[i] = m[i] * beta1 + (1 - beta1) * gp[i];
    v[i] = v[i] * beta2 + (1 - beta2) * gp[i] * gp[i];
    ratio[i] = m[i] / (Math.sqrt(v[i]) + h.eps);
  }
  const stepSize = h.correctBias ? (h.lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t) : h.lr;
  const u = rotate(ratio, dims, s, true);
  let scale = 1;
  if (h.normalizeGrads) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += u[i] * u[i];
    scale = 1 / (1e-30 + Math.sqrt(ss / n));
  }
  const decay = h.weightDecay > 0 ? h.lr * h.weightDecay : 0;
  for (let i = 0; i < n; i++) {
    let x = p[i] - stepSize * (u[i] * scale);
    if (decay) x -= decay * x;
    p[i] = x;
  }
  updateStatistics(g, dims, s, h);
  if (t % h.preconditionFrequency === 0) refreshBases(dims, s, m, v);
}

/** One power iteration and QR per preconditioned mode; m follows the new basis, v's mode is permuted. */
function refreshBases(dims: number[], s: ParamState, m: HostStorage, v: HostStorage): void {
  const original = rotate(Float64Array.from(m as ArrayLike<number>), dims, s, true);
  let vv: Float64Array = Float64Array.from(v as ArrayLike<number>);
  for (let j = 0; j < dims.length; j++) {
    const gg = s[`gg${j}`] as Float64Array | undefined;
    const q = s[`q${j}`] as Float64Array | undefined;
    if (!gg || !q) continue;
    const d = dims[j];
    const est = new Float64Array(d);
    for (let c = 0; c < d; c++) {
      // (Qᵀ P Q)_cc = q_cᵀ P q_c
      let e = 0;
      for (let a = 0; a < d; a++) {
        let pa = 0;
        for (let b = 0; b < d; b++) pa += gg[a * d + b] * q[b * d + c];
        e += q[a * d + c] * pa;
      }
      est[c] = e;
    }
    const order = [...Array(d).keys()].sort((a, b) => est[b] - est[a] || a - b);
    vv = permuteMode(vv, dims, j, order);
    const sorted = new Float64Array(d * d);
    for (let a = 0; a < d; a++) for (let c = 0; c < d; c++) sorted[a * d + c] = q[a * d + order[c]];
    const power = new Float64Array(d * d);
    for (let a = 0; a < d; a++) {
      for (let c = 0; c < d; c++) {
        let x = 0;
        for (let b = 0; b < d; b++) x += gg[a * d + b] * sorted[b * d + c];
        power[a * d + c] = x;
      }
    }
    s[`q${j}`] = qrQ(power, d);
  }
  v.set(vv);
  m.set(rotate(original, dims, s, false));
}

/** t with mode j's indices reordered: out[…, c, …] = t[…, order[c], …]. */
function permuteMode(t: Float64Array, dims: number[], j: number, order: number[]): Float64Array {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < j; i++) outer *= dims[i];
  for (let i = j + 1; i < dims.length; i++) inner *= dims[i];
  const d = dims[j];
  const out = new Float64Array(t.length);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < d; c++) out.set(t.subarray((o * d + order[c]) * inner, (o * d + order[c] + 1) * inner), (o * d + c) * inner);
  return out;
}

const MATRIX_KEY = /^(gg|q)(\d+)$/;

export class SOAP extends Optimizer<SOAPOptions> {
  constructor(params: ParamsInput<SOAPOptions>, options: Partial<SOAPOptions> = {}) {
    super(soapRule, params, options);
  }

  /** As Optimizer.loadStateDict; the d_j × d_j statistics and bases are checked against the recorded shape. */
  override loadStateDict(sd: OptimizerStateDict): void {
    // arrays come as number[] (JSON) or typed arrays (fit()'s checkpoints)
    const matrices = new Map<string, [string, ArrayLike<number>][]>();
    const state: OptimizerStateDict['state'] = {};
    const isList = (v: unknown): v is ArrayLike<number> => Array.isArray(v) || ArrayBuffer.isView(v);
    for (const [name, e] of Object.entries(sd.state)) {
      const rest: Record<string, number | number[]> = {};
      const mats: [string, ArrayLike<number>][] = [];
      for (const [k, v] of Object.entries(e)) {
        const hit = MATRIX_KEY.exec(k);
        if (hit) {
          const d = e[`dim${hit[2]}`];
          if (typeof d !== 'number' || !isList(v) || v.length !== d * d) {
            throw new Error(
              `loadStateDict: "${name}".${k} must hold ${typeof d === 'number' ? d * d : `(dim${hit[2]})²`} values, has ${isList(v) ? v.length : typeof v}`,
            );
          }
          mats.push([k, v]);
        } else rest[k] = v;
      }
      state[name] = rest;
      matrices.set(name, mats);
    }
    super.loadStateDict({ ...sd, state });
    for (const [name, mats] of matrices) {
      const s = this.state.get(name)!;
      for (const [k, v] of mats) s[k] = Float64Array.from(v as ArrayLike<number>);
    }
  }
}
