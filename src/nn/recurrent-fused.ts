/**
 * One direction of one recurrent layer over the whole sequence as ONE autograd node (what cuDNN's
 * RNN does): the forward runs every step with one raw product h_{t−1}·W_hhᵀ through the current
 * backend and the gate arithmetic in one plain loop, and keeps what the backward reads (the gate
 * activations, every h_t and, for the LSTM, every c_t); the backward through time is written out
 * by hand: per step one loop giving the gradient of the step's pre-activations and one raw product
 * dZ_t·W_hh for dh_{t−1}, then dW_hh = Σ_t dZ_tᵀ·h_{t−1} as one product over all steps.
 *
 * The node's input is the input projection XP = X·W_ihᵀ + b_ih (+ b_hh, except the GRU's) of all
 * steps, [T·N, G·H] time-major, so its gradient flows on into the product that made it (W_ih,
 * the biases, X). The node's output is one tensor [T (+ 1 for the LSTM), N, H]: h_t at row t in
 * time order, and the LSTM's final cell state as the last row, so a layer costs O(1) recorded ops.
 *
 * The hand-written backward is not made of ops, so it has no gradient itself: under createGraph
 * it throws, naming the layers' `fused: false` (the composed form, whose backward is differentiable).
 * Host only, as the composed form: the values are read and written in JS memory.
 */
import { Tensor, allocStorage, type HostStorage } from '../tensor/tensor.js';
import { isGradEnabled, record } from '../autograd/engine.js';
import { kernelsFor } from '../backend/backend.js';
import type { RecurrentMode } from './recurrent.js';

/** The gate rows of each cell: RNN 1, LSTM 4 (i, f, g, o), GRU 3 (r, z, n). */
const GATES: Record<RecurrentMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

export interface FusedArgs {
  cell: RecurrentMode;
  /** XP [T·N, G·H]: W_ih x_t + b_ih (+ b_hh but for the GRU), time-major. */
  xp: Tensor;
  wHh: Tensor;
  /** The GRU's b_hh (inside r ∘ (W_hn h + b_hn)); null for the other cells or without bias. */
  bHh: Tensor | null;
  /** Initial states [N, H]; null: zeros. */
  h0: Tensor | null;
  c0: Tensor | null;
  /** Walk t from T − 1 down to 0 (the reverse direction of a bidirectional layer). */
  reverse: boolean;
  T: number;
  N: number;
  H: number;
  /** The layer, for messages. */
  what: string;
}

const sigm = (v: number) => 1 / (1 + Math.exp(-v));

/** out[m×n] = a[m×k]·op(b) through the current backend, no autograd. */
function product(
  a: HostStorage,
  b: HostStorage,
  out: HostStorage,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): void {
  kernelsFor(a, b, out).backend.matmul(a, b, out, m, n, k, transA, transB);
}

/**
 * Runs the layer direction; returns Y [T (+1), N, H] (see the file's comment), recorded as one node
 * over xp, W_hh, the GRU's b_hh and the initial states given.
 */
export function fusedRecurrent(a: FusedArgs): Tensor {
  const { cell, xp, wHh, bHh, h0, c0, reverse, T, N, H } = a;
  const G = GATES[cell];
  const GH = G * H;
  const NH = N * H;
  const dtype = xp.dtype;
  const lstm = cell === 'LSTM';
  const gru = cell === 'GRU';
  const X = xp.data;
  const W = wHh.data;
  const bh = bHh ? bHh.data : null;
  // processing order s = 0 … T − 1 reads step t = reverse ? T − 1 − s : s.
  // hs: [T + 1, N, H] in processing order, hs[0] = h0 (zeros when not given): hs[0 … T) are the h_{t−1} of the steps
  const hs = allocStorage(dtype, (T + 1) * NH);
  if (h0) hs.set(h0.data, 0);
  const cs = lstm ? allocStorage(dtype, (T + 1) * NH) : null;
  if (cs && c0) cs.set(c0.data, 0);
  // acts: the gate activations of every step [T, N, G·H] (processing order); the GRU's W_hn h + b_hn in hn
  const acts = allocStorage(dtype, T * N * GH);
  const hn = gru ? allocStorage(dtype, T * NH) : null;
  const hp = allocStorage(dtype, N * GH);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const first = s === 0 && !h0;
    const hPrev = hs.subarray(s * NH, (s + 1) * NH);
    if (!first) product(hPrev, W, hp, N, GH, H, false, true);
    const xo = t * N * GH;
    const ao = s * N * GH;
    const ho = (s + 1) * NH;
    for (let n = 0; n < N; n++) {
      const xr = xo + n * GH;
      const ar = ao + n * GH;
      const pr = n * GH;
      const hr = ho + n * H;
      const hpr = s * NH + n * H;
      if (cell === 'RNN_TANH' || cell === 'RNN_RELU') {
        for (let j = 0; j < H; j++) {
          const z = X[xr + j] + (first ? 0 : hp[pr + j]);
          const v = cell === 'RNN_TANH' ? Math.tanh(z) : z > 0 ? z : 0;
          acts[ar + j] = v;
          hs[hr + j] = v;
        }
      } else if (lstm) {
        for (let j = 0; j < H; j++) {
          const h1 = first ? 0 : 1;
          const i = sigm(X[xr + j] + h1 * hp[pr + j]);
          const f = sigm(X[xr + H + j] + h1 * hp[pr + H + j]);
          const g = Math.tanh(X[xr + 2 * H + j] + h1 * hp[pr + 2 * H + j]);
          const o = sigm(X[xr + 3 * H + j] + h1 * hp[pr + 3 * H + j]);
          acts[ar + j] = i;
          acts[ar + H + j] = f;
          acts[ar + 2 * H + j] = g;
          acts[ar + 3 * H + j] = o;
          const c = f * cs![hpr + j] + i * g;
          cs![hr + j] = c;
          hs[hr + j] = o * Math.tanh(c);
        }
      } else {
        for (let j = 0; j < H; j++) {
          // W_hh h + b_hh, per gate row; only the bias while h is zero
          const hr_ = (first ? 0 : hp[pr + j]) + (bh ? bh[j] : 0);
          const hz = (first ? 0 : hp[pr + H + j]) + (bh ? bh[H + j] : 0);
          const hnv = (first ? 0 : hp[pr + 2 * H + j]) + (bh ? bh[2 * H + j] : 0);
          const r = sigm(X[xr + j] + hr_);
          const z = sigm(X[xr + H + j] + hz);
          const nv = Math.tanh(X[xr + 2 * H + j] + r * hnv);
          acts[ar + j] = r;
          acts[ar + H + j] = z;
          acts[ar + 2 * H + j] = nv;
          hn![s * NH + n * H + j] = hnv;
          hs[hr + j] = nv + z * (hs[hpr + j] - nv);
        }
      }
    }
  }
  // Y in time order; the LSTM's final c after the T rows
  const Y = allocStorage(dtype, (T + (lstm ? 1 : 0)) * NH);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    Y.set(hs.subarray((s + 1) * NH, (s + 2) * NH), t * NH);
  }
  if (cs) Y.set(cs.subarray(T * NH, (T + 1) * NH), T * NH);
  const inputs: Tensor[] = [xp, wHh];
  if (bHh) inputs.push(bHh);
  if (h0) inputs.push(h0);
  if (c0) inputs.push(c0);
  const out = new Tensor(Y, [T + (lstm ? 1 : 0), N, H]);
  return record(`${cell.toLowerCase()}Sequence`, inputs, out, (gy) => {
    if (isGradEnabled())
      throw new Error(
        `${a.what}: the fused layer's backward is not differentiable (createGraph); build the layer with { fused: false } for gradients of gradients`,
      );
    const gY = gy.data;
    const gXP = allocStorage(dtype, T * N * GH);
    // gHP: the gradient of h_{t−1}·W_hhᵀ (+ b_hh) per step [T, N, G·H], processing order; the GRU's differs from gXP in its n rows
    const gHP = gru ? allocStorage(dtype, T * N * GH) : null;
    const dh = allocStorage(dtype, NH); // dL/dh of the current step from later steps
    const dc = lstm ? allocStorage(dtype, NH) : null;
    if (dc) dc.set(gY.subarray(T * NH, (T + 1) * NH));
    const dhPrev = allocStorage(dtype, NH);
    for (let s = T - 1; s >= 0; s--) {
      const t = reverse ? T - 1 - s : s;
      const first = s === 0 && !h0;
      const go = t * NH;
      const ao = s * N * GH;
      const xo = t * N * GH;
      const hpo = s * NH; // h_{t−1} (and c_{t−1}) in hs/cs
      for (let n = 0; n < N; n++) {
        const ar = ao + n * GH;
        const xr = xo + n * GH;
        const r0 = n * H;
        for (let j = 0; j < H; j++) {
          const e = r0 + j;
          const dH = dh[e] + gY[go + e];
          if (cell === 'RNN_TANH') {
            const v = acts[ar + j];
            gXP[xr + j] = dH * (1 - v * v);
          } else if (cell === 'RNN_RELU') {
            gXP[xr + j] = acts[ar + j] > 0 ? dH : 0;
          } else if (lstm) {
            const i = acts[ar + j];
            const f = acts[ar + H + j];
            const g = acts[ar + 2 * H + j];
            const o = acts[ar + 3 * H + j];
            const tc = Math.tanh(cs![hpo + NH + e]);
            const dC = dc![e] + dH * o * (1 - tc * tc);
            gXP[xr + j] = dC * g * i * (1 - i);
            gXP[xr + H + j] = dC * cs![hpo + e] * f * (1 - f);
            gXP[xr + 2 * H + j] = dC * i * (1 - g * g);
            gXP[xr + 3 * H + j] = dH * tc * o * (1 - o);
            dc![e] = dC * f;
          } else {
            const r = acts[ar + j];
            const z = acts[ar + H + j];
            const nv = acts[ar + 2 * H + j];
            const hPrev = hs[hpo + e];
            const dn = dH * (1 - z) * (1 - nv * nv);
            const dr = dn * hn![hpo + e] * r * (1 - r);
            const dz = dH * (hPrev - nv) * z * (1 - z);
            gXP[xr + j] = dr;
            gXP[xr + H + j] = dz;
            gXP[xr + 2 * H + j] = dn;
            gHP![ar + j] = dr;
            gHP![ar + H + j] = dz;
            gHP![ar + 2 * H + j] = dn * r;
            // the direct path of h_t = n + z ∘ (h_{t−1} − n)
            dh[e] = dH * z;
          }
        }
      }
      // h_{t−1} reaches h_t through the product only, except the GRU's direct z ∘ h_{t−1} (written into dh above)
      if (!gru) dh.fill(0);
      if (first) continue;
      const gStep = gru ? gHP!.subarray(ao, ao + N * GH) : gXP.subarray(xo, xo + N * GH);
      product(gStep, W, dhPrev, N, H, GH, false, false);
      for (let e = 0; e < NH; e++) dh[e] += dhPrev[e];
    }
    // dW_hh = Σ_s gHP_sᵀ·h_{s−1}: one product over all steps, in processing order (the first step's h_{−1} is h0 or zeros)
    let gH: HostStorage;
    if (gru) gH = gHP!;
    else if (!reverse) gH = gXP;
    else {
      gH = allocStorage(dtype, T * N * GH);
      for (let s = 0; s < T; s++) gH.set(gXP.subarray((T - 1 - s) * N * GH, (T - s) * N * GH), s * N * GH);
    }
    const gW = allocStorage(dtype, GH * H);
    product(gH, hs.subarray(0, T * NH), gW, GH, H, T * N, true, false);
    const grads: (Tensor | null)[] = [new Tensor(gXP, xp.shape), new Tensor(gW, wHh.shape)];
    if (bHh) {
      const gb = allocStorage(dtype, GH);
      for (let r = 0; r < T * N; r++) for (let j = 0; j < GH; j++) gb[j] += gHP![r * GH + j];
      grads.push(new Tensor(gb, bHh.shape));
    }
    if (h0) grads.push(new Tensor(dh.slice(), h0.shape));
    if (c0) grads.push(new Tensor(dc!.slice(), c0.shape));
    return grads;
  });
}
