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
 * the biases, X); or X, W_ih and that bias themselves (a `Projection`), and the node computes XP
 * into its scratch block and, in the backward, the three gradients from XP's: then neither XP
 * nor its gradient (two arrays of T·N·G·H, 7.3 MB each for W5's LSTM) is a tensor of its own,
 * and with the wasm backend both stay in wasm memory, where the step kernels accumulate into XP
 * in place and write XP's gradient, which the products of the backward read in place. The node's
 * output is one tensor [T (+ 1 for the LSTM), N, H]: h_t at row t in time order, and the LSTM's
 * final cell state as the last row, so a layer costs O(1) recorded ops.
 *
 * The hand-written backward is not made of ops, so it has no gradient itself: under createGraph
 * it throws, naming the layers' `fused: false` (the composed form, whose backward is differentiable).
 * Host only, as the composed form. A backend may run a whole step, its product and its gate pass,
 * as one call (extension recurrentStep / recurrentStepBackward; wasm, float32: SIMD kernels); then
 * what the backward reads lives in the backend's memory (recurrent-saved.ts).
 * Elsewhere (the reference backend, float64) the steps run in the loops below, their products
 * through the backend, and each step's products and activations write into a scratch block in the
 * backend's own memory where it offers one, so the kernels write in place.
 */
import { Tensor, allocStorage, type DType, type HostStorage } from '../tensor/tensor.js';
import { isGradEnabled, record } from '../autograd/engine.js';
import { kernelsFor } from '../backend/backend.js';
import { isDeviceStorage } from '../tensor/device.js';
import type { RecurrentMode } from './recurrent.js';
import { type Claim, claimSaved, endWith, reclaim, release } from './recurrent-saved.js';

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

/** X [T·N, I], W_ih [G·H, I] and the bias of XP = X·W_ihᵀ + bias (null: none), which the node computes itself. */
export interface Projection {
  x: Tensor;
  w: Tensor;
  b: Tensor | null;
}

/** FusedArgs with the node's input given as XP or as the projection that makes it. */
export type HostFusedArgs = Omit<FusedArgs, 'xp'> & { xp: Tensor | Projection };

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

/** Scratch blocks by backend and dtype, grown on demand; each is used within one forward or one backward call (calls run one at a time). */
const scratchBlocks = new Map<string, HostStorage>();

/**
 * Arrays of `sizes` elements cut from the scratch block of `dtype`: in the current backend's own
 * memory where it offers that (extension allocLike; wasm with shared memory, float32), else in JS
 * memory. Their contents are whatever the last call left: every user writes before it reads.
 */
function scratch(dtype: DType, sizes: number[]): HostStorage[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const kn = kernelsFor();
  const key = `${kn.backend.name} ${dtype}`;
  let block = scratchBlocks.get(key);
  if (!block || block.length < total) {
    // a plain array, not one of a step scope's (allocStorage), which would be freed with the step
    const host = dtype === 'float64' ? new Float64Array(total) : new Float32Array(total);
    const own = kn.ext.allocLike?.(host);
    block = own && !isDeviceStorage(own) ? (own as HostStorage) : host;
    scratchBlocks.set(key, block);
  }
  let at = 0;
  return sizes.map((n) => {
    at += n;
    return block.subarray(at - n, at);
  });
}

/** out = op(a) elementwise through the current backend (the wasm SIMD kernels for float32). */
function unary(op: 'sigmoid' | 'tanh' | 'relu', a: HostStorage, out: HostStorage): void {
  kernelsFor(a, out).backend.unary(op, a, out);
}

/** What the forward keeps for the backward (processing order; see forwardSteps). */
interface Saved {
  /** The backend-memory block the arrays below are cut from (recurrent-saved.ts), or null: plain typed arrays. */
  claim: Claim | null;
  hs: HostStorage;
  cs: HostStorage;
  tcs: HostStorage;
  acts: HostStorage;
  hn: HostStorage;
}

/** XP [M, GH] ← x·wᵀ + b: the backend's fused dense layer where it has one, else its product and the bias added row by row. */
function projectForward(p: Projection, XP: HostStorage, M: number, GH: number): void {
  const I = p.w.shape[1];
  const x = p.x.data as HostStorage;
  const w = p.w.data as HostStorage;
  const b = p.b ? (p.b.data as HostStorage) : null;
  if (kernelsFor(x, w, XP).ext.linear?.(x, w, b, XP, M, GH, I, 'none', null)) return;
  product(x, w, XP, M, GH, I, false, true);
  if (b) for (let r = 0; r < M; r++) for (let j = 0, o = r * GH; j < GH; j++) XP[o + j] += b[j];
}

/** The gradients of x, w and b (null for those that ask for none) from XP's [M, GH]: gXP·W, gXPᵀ·X and gXP's column sums. */
function projectBackward(p: Projection, gXP: HostStorage, M: number, GH: number): (Tensor | null)[] {
  const I = p.w.shape[1];
  const dtype = p.x.dtype;
  const x = p.x.data as HostStorage;
  const w = p.w.data as HostStorage;
  const gx = p.x.requiresGrad ? allocStorage(dtype, M * I) : null;
  const gw = p.w.requiresGrad ? allocStorage(dtype, GH * I) : null;
  const gb = p.b?.requiresGrad ? allocStorage(dtype, GH) : null;
  if (!kernelsFor(gXP, x, w).ext.linearBackward?.(gXP, x, w, null, gx, gw, gb, M, GH, I, 'none', false)) {
    if (gx) product(gXP, w, gx, M, I, GH, false, false);
    if (gw) product(gXP, x, gw, GH, I, M, true, false);
    if (gb) for (let r = 0; r < M; r++) for (let j = 0, o = r * GH; j < GH; j++) gb[j] += gXP[o + j];
  }
  const grads = [gx && new Tensor(gx, p.x.shape), gw && new Tensor(gw, p.w.shape)];
  if (p.b) grads.push(gb && new Tensor(gb, p.b.shape));
  return grads;
}

/**
 * Runs the layer direction; returns Y [T (+1), N, H] (see the file's comment), recorded as one node
 * over XP (or X, W_ih and its bias), W_hh, the GRU's b_hh and the initial states given.
 */
export function fusedRecurrent(a: HostFusedArgs): Tensor {
  const { cell, xp, wHh, bHh, h0, c0, reverse, T, N, H } = a;
  const lstm = cell === 'LSTM';
  const NH = N * H;
  const st = forwardSteps(a);
  const { hs, cs } = st;
  const dtype = wHh.dtype;
  // Y in time order; the LSTM's final c after the T rows
  const Y = allocStorage(dtype, (T + (lstm ? 1 : 0)) * NH);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    Y.set(hs.subarray((s + 1) * NH, (s + 2) * NH), t * NH);
  }
  if (lstm) Y.set(cs.subarray(T * NH, (T + 1) * NH), T * NH);
  const proj = xp instanceof Tensor ? null : xp;
  const inputs: Tensor[] = proj ? [proj.x, proj.w] : [xp as Tensor];
  if (proj?.b) inputs.push(proj.b);
  inputs.push(wHh);
  if (bHh) inputs.push(bHh);
  if (h0) inputs.push(h0);
  if (c0) inputs.push(c0);
  const out = new Tensor(Y, [T + (lstm ? 1 : 0), N, H]);
  record(`${cell.toLowerCase()}Sequence`, inputs, out, (gy) => {
    if (isGradEnabled())
      throw new Error(
        `${a.what}: the fused layer's backward is not differentiable (createGraph); build the layer with { fused: false } for gradients of gradients`,
      );
    if (st.claim) reclaim(st.claim, a.what);
    try {
      const grads = backwardSteps(a, st, gy.data);
      if (!proj) return grads;
      // grads[0] is XP's gradient in the scratch block, read before this backward returns
      return [...projectBackward(proj, grads[0]!.data as HostStorage, T * N, GATES[cell] * H), ...grads.slice(1)];
    } finally {
      if (st.claim) release(st.claim);
    }
  });
  // without a graph nothing reads what the forward saved
  if (!out.node && st.claim) release(st.claim);
  return out;
}

// The loops of a step, each in a function of its own: called T times a pass, V8 optimises them
// early and keeps them optimised (one long function running each loop T times is compiled and
// thrown away as it reaches code it has not run yet).

/** out[e] = a[at + e] + b[e] for e < n. */
function addAt(out: HostStorage, a: HostStorage, at: number, b: HostStorage, n: number): void {
  for (let e = 0; e < n; e++) out[e] = a[at + e] + b[e];
}

/** out [N, H] = the H columns of src [N, G·H] from column `from`. */
function gatherColumns(src: HostStorage, from: number, out: HostStorage, N: number, H: number): void {
  const GH = src.length / N;
  for (let n = 0; n < N; n++) for (let j = 0, r = n * GH + from; j < H; j++) out[n * H + j] = src[r + j];
}

/**
 * The LSTM step's gates into acts (from σ of all rows in act, tanh of the g rows in tg) and
 * c_t = f ∘ c_{t−1} + i ∘ g into cs and into `c`.
 */
function lstmCell(
  act: HostStorage,
  tg: HostStorage,
  acts: HostStorage,
  ao: number,
  cs: HostStorage,
  ho: number,
  c: HostStorage,
  N: number,
  H: number,
): void {
  const GH = 4 * H;
  const NH = N * H;
  for (let n = 0; n < N; n++) {
    const r = n * GH;
    for (let j = 0; j < H; j++) {
      const e = n * H + j;
      const i = act[r + j];
      const f = act[r + H + j];
      const g = tg[e];
      acts[ao + r + j] = i;
      acts[ao + r + H + j] = f;
      acts[ao + r + 2 * H + j] = g;
      acts[ao + r + 3 * H + j] = act[r + 3 * H + j];
      const cv = f * cs[ho + e] + i * g;
      cs[ho + NH + e] = cv;
      c[e] = cv;
    }
  }
}

/** h_t = o ∘ tanh(c_t) into hs, tanh(c_t) (in tc) kept in tcs. */
function lstmHidden(act: HostStorage, tc: HostStorage, tcs: HostStorage, hs: HostStorage, ho: number, N: number, H: number): void {
  const NH = N * H;
  for (let n = 0; n < N; n++) {
    for (let j = 0, r = n * 4 * H + 3 * H; j < H; j++) {
      const e = n * H + j;
      tcs[ho + e] = tc[e];
      hs[ho + NH + e] = act[r + j] * tc[e];
    }
  }
}

/** The LSTM step's backward: the pre-activations' gradient into gXP and dc ← dc_{t−1}, from dh (later steps) + gY (the output's). */
function lstmBack(
  acts: HostStorage,
  ao: number,
  tcs: HostStorage,
  cs: HostStorage,
  ho: number,
  dh: HostStorage,
  gY: HostStorage,
  go: number,
  dc: HostStorage,
  gXP: HostStorage,
  xo: number,
  N: number,
  H: number,
): void {
  const GH = 4 * H;
  for (let n = 0; n < N; n++) {
    const ar = ao + n * GH;
    const xr = xo + n * GH;
    for (let j = 0; j < H; j++) {
      const e = n * H + j;
      const dH = dh[e] + gY[go + e];
      const i = acts[ar + j];
      const f = acts[ar + H + j];
      const g = acts[ar + 2 * H + j];
      const o = acts[ar + 3 * H + j];
      const tc = tcs[ho + e];
      const dC = dc[e] + dH * o * (1 - tc * tc);
      gXP[xr + j] = dC * g * i * (1 - i);
      gXP[xr + H + j] = dC * cs[ho + e] * f * (1 - f);
      gXP[xr + 2 * H + j] = dC * i * (1 - g * g);
      gXP[xr + 3 * H + j] = dH * tc * o * (1 - o);
      dc[e] = dC * f;
    }
  }
}

/** The GRU step's gates into acts (r, z from act; n in nv) and h_t = n + z ∘ (h_{t−1} − n) into hs. */
function gruHidden(
  act: HostStorage,
  nvs: HostStorage,
  acts: HostStorage,
  ao: number,
  hs: HostStorage,
  ho: number,
  N: number,
  H: number,
): void {
  const GH = 3 * H;
  const NH = N * H;
  for (let n = 0; n < N; n++) {
    const r = n * GH;
    for (let j = 0; j < H; j++) {
      const e = n * H + j;
      const z = act[r + H + j];
      const nv = nvs[e];
      acts[ao + r + j] = act[r + j];
      acts[ao + r + H + j] = z;
      acts[ao + r + 2 * H + j] = nv;
      hs[ho + NH + e] = nv + z * (hs[ho + e] - nv);
    }
  }
}

/**
 * The GRU step's backward: the gradients of the input projection's rows into gXP and of W_hh h + b_hh's
 * into gHP (their n rows differ by r), and dh ← the direct path z ∘ dh_t (the product's part is added after).
 */
function gruBack(
  acts: HostStorage,
  ao: number,
  hn: HostStorage,
  hs: HostStorage,
  ho: number,
  dh: HostStorage,
  gY: HostStorage,
  go: number,
  gXP: HostStorage,
  gHP: HostStorage,
  xo: number,
  N: number,
  H: number,
): void {
  const GH = 3 * H;
  for (let n = 0; n < N; n++) {
    const ar = ao + n * GH;
    const xr = xo + n * GH;
    for (let j = 0; j < H; j++) {
      const e = n * H + j;
      const dH = dh[e] + gY[go + e];
      const r = acts[ar + j];
      const z = acts[ar + H + j];
      const nv = acts[ar + 2 * H + j];
      const dn = dH * (1 - z) * (1 - nv * nv);
      const dr = dn * hn[ho + e] * r * (1 - r);
      const dz = dH * (hs[ho + e] - nv) * z * (1 - z);
      gXP[xr + j] = dr;
      gXP[xr + H + j] = dz;
      gXP[xr + 2 * H + j] = dn;
      gHP[ar + j] = dr;
      gHP[ar + H + j] = dz;
      gHP[ar + 2 * H + j] = dn * r;
      dh[e] = dH * z;
    }
  }
}

/** The steps of the forward, in a function of their own: its arrays are locals, not a closure's captured variables, which V8 reads slower in loops. */
function forwardSteps(a: HostFusedArgs): Saved {
  const { cell, xp, wHh, bHh, h0, c0, reverse, T, N, H } = a;
  const G = GATES[cell];
  const GH = G * H;
  const NH = N * H;
  const NG = N * GH;
  const dtype = wHh.dtype;
  const lstm = cell === 'LSTM';
  const gru = cell === 'GRU';
  const W = wHh.data;
  const bh = bHh ? bHh.data : null;
  // processing order s = 0 … T − 1 reads step t = reverse ? T − 1 − s : s.
  // hs: h [T + 1, N, H] in processing order, hs[0] = h0 (zeros when not given): hs[0 … T) are the h_{t−1} of the steps
  // the LSTM's c_t like hs, and tanh(c_t) [T, N, H]; the gate activations of every step [T, N,
  // G·H]; the GRU's W_hn h_{t−1} + b_hn [T, N, H]. In the backend's memory where it runs whole
  // steps (recurrent-saved.ts; contents stale until written), else zeroed typed arrays.
  const sizes = [(T + 1) * NH, lstm ? (T + 1) * NH : 0, lstm ? T * NH : 0, T * NG, gru ? T * NH : 0];
  const pooled = claimSaved(dtype, sizes);
  const [hs, cs, tcs, acts, hn] = pooled ? pooled.arrays : sizes.map((n) => allocStorage(dtype, n));
  if (h0) hs.set(h0.data, 0);
  else hs.fill(0, 0, NH);
  if (lstm && c0) cs.set(c0.data, 0);
  else if (lstm) cs.fill(0, 0, NH);
  const saved: Saved = { claim: pooled?.claim ?? null, hs, cs, tcs, acts, hn };
  // the graph's node holds `saved` while its backward may run: a block claimed for it ends when
  // `saved` is collected at the latest (also when a step below throws and no node holds it)
  if (pooled) endWith(saved, pooled.claim);
  // hp: h_{t−1}·W_hhᵀ; pre: the pre-activations; act: their activations; u, v: [N, H] operands of
  // tanh; XP computed here when the node is given its projection (then the step kernels may
  // accumulate into it in place: nothing reads it after its step)
  const proj = xp instanceof Tensor ? null : xp;
  const [hp, pre, act, u, v, xpScratch] = scratch(dtype, [NG, NG, NG, NH, NH, proj ? T * NG : 0]);
  const X = proj ? xpScratch : (xp as Tensor).data;
  if (proj) projectForward(proj, X, T * N, GH);
  // the backend's whole step (wasm, float32: SIMD kernels) where it offers one; else the loops below
  const step = kernelsFor(X, W).ext.recurrentStep;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const xo = t * NG;
    const ao = s * NG;
    const ho = s * NH; // h_{t−1} in hs; h_t at ho + NH
    const state = (a: HostStorage, at: number): HostStorage => a.subarray(at, at + NH);
    if (
      step?.({
        cell,
        N,
        H,
        x: X.subarray(xo, xo + NG),
        hPrev: s > 0 || h0 ? state(hs, ho) : null,
        w: W,
        bHh: bh,
        cPrev: lstm ? state(cs, ho) : null,
        acts: acts.subarray(ao, ao + NG),
        h: state(hs, ho + NH),
        c: lstm ? state(cs, ho + NH) : null,
        tc: lstm ? state(tcs, ho) : null,
        hn: gru ? state(hn, ho) : null,
        firstStep: s === 0,
        xWritable: proj !== null,
      })
    )
      continue;
    if (s > 0 || h0) {
      product(hs.subarray(ho, ho + NH), W, hp, N, GH, H, false, true);
      addAt(pre, X, xo, hp, NG);
    } else pre.set(X.subarray(xo, xo + NG));
    if (cell === 'RNN_TANH' || cell === 'RNN_RELU') {
      unary(cell === 'RNN_TANH' ? 'tanh' : 'relu', pre, act);
      for (let e = 0; e < NH; e++) {
        acts[ao + e] = act[e];
        hs[ho + NH + e] = act[e];
      }
    } else if (lstm) {
      // σ of all four row blocks (the g block's is replaced by its tanh)
      unary('sigmoid', pre, act);
      gatherColumns(pre, 2 * H, u, N, H);
      unary('tanh', u, v);
      lstmCell(act, v, acts, ao, cs, ho, u, N, H);
      unary('tanh', u, v);
      lstmHidden(act, v, tcs, hs, ho, N, H);
    } else {
      // r and z take b_hh with the product; n's part W_hn h + b_hn is kept apart for r ∘ (·)
      const first = s === 0 && !h0;
      for (let n = 0; n < N; n++) {
        const r = n * GH;
        for (let j = 0; j < H; j++) {
          if (bh) {
            pre[r + j] += bh[j];
            pre[r + H + j] += bh[H + j];
          }
          hn[ho + n * H + j] = (first ? 0 : hp[r + 2 * H + j]) + (bh ? bh[2 * H + j] : 0);
        }
      }
      unary('sigmoid', pre, act);
      for (let n = 0; n < N; n++)
        for (let j = 0, r = n * GH; j < H; j++) u[n * H + j] = X[xo + r + 2 * H + j] + act[r + j] * hn[ho + n * H + j];
      unary('tanh', u, v);
      gruHidden(act, v, acts, ao, hs, ho, N, H);
    }
  }
  return saved;
}

/** The backward through time: the gradients of the node's inputs, in their order. */
function backwardSteps(a: HostFusedArgs, st: Saved, gY: HostStorage): (Tensor | null)[] {
  const { cell, xp, wHh, bHh, h0, c0, reverse, T, N, H } = a;
  const G = GATES[cell];
  const GH = G * H;
  const NH = N * H;
  const NG = N * GH;
  const dtype = wHh.dtype;
  const lstm = cell === 'LSTM';
  const gru = cell === 'GRU';
  const W = wHh.data;
  const { hs, cs, tcs, acts, hn } = st;
  const given = xp instanceof Tensor ? xp : null;
  // dh: dL/dh of the current step from later steps; dc: the LSTM's dL/dc_t; gHP: the gradient of
  // h_{t−1}·W_hhᵀ (+ b_hh) per step [T, N, G·H], processing order, the GRU's (it differs from gXP
  // in its n rows); all in the backend's memory where it offers it, as the kernels' operands; gXP
  // there too when the node computed XP (the caller turns it into the projection's gradients
  // before the block is used again), else a tensor of its own, XP's gradient
  const [dhPrev, dh, dc, gHP, gXPScratch] = scratch(dtype, [NH, NH, lstm ? NH : 0, gru ? T * NG : 0, given ? 0 : T * NG]);
  const gXP = given ? allocStorage(dtype, T * NG) : gXPScratch;
  dh.fill(0);
  if (lstm) dc.set(gY.subarray(T * NH, (T + 1) * NH));
  // the backend's whole step (wasm, float32: SIMD kernels) where it offers one; else the loops below
  const step = kernelsFor(gY, W).ext.recurrentStepBackward;
  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const go = t * NH;
    const ao = s * NG;
    const xo = t * NG;
    const ho = s * NH; // h_{t−1}, c_{t−1} in hs, cs; tanh(c_t), W_hn h_{t−1} + b_hn in tcs, hn
    const state = (a: HostStorage, at: number): HostStorage => a.subarray(at, at + NH);
    if (
      step?.({
        cell,
        N,
        H,
        acts: acts.subarray(ao, ao + NG),
        tc: lstm ? state(tcs, ho) : null,
        cPrev: lstm ? state(cs, ho) : null,
        hn: gru ? state(hn, ho) : null,
        hPrev: gru ? state(hs, ho) : null,
        w: W,
        gy: state(gY, go),
        dh,
        dc: lstm ? dc : null,
        gx: gXP.subarray(xo, xo + NG),
        ghp: gru ? gHP.subarray(ao, ao + NG) : null,
        prev: s > 0 || h0 !== null,
        firstStep: s === T - 1,
      })
    )
      continue;
    if (cell === 'RNN_TANH') {
      for (let e = 0; e < NH; e++) {
        const v = acts[ao + e];
        gXP[xo + e] = (dh[e] + gY[go + e]) * (1 - v * v);
      }
    } else if (cell === 'RNN_RELU') {
      for (let e = 0; e < NH; e++) gXP[xo + e] = acts[ao + e] > 0 ? dh[e] + gY[go + e] : 0;
    } else if (lstm) lstmBack(acts, ao, tcs, cs, ho, dh, gY, go, dc, gXP, xo, N, H);
    else gruBack(acts, ao, hn, hs, ho, dh, gY, go, gXP, gHP, xo, N, H);
    // h_{t−1} reaches h_t through the product only, except the GRU's direct z ∘ h_{t−1} (written into dh above)
    if (!gru) dh.fill(0);
    if (s === 0 && !h0) continue;
    const gStep = gru ? gHP.subarray(ao, ao + NG) : gXP.subarray(xo, xo + NG);
    product(gStep, W, dhPrev, N, H, GH, false, false);
    addAt(dh, dh, 0, dhPrev, NH);
  }
  // dW_hh = Σ_s gHP_sᵀ·h_{s−1}: one product over all steps, in processing order (the first step's h_{−1} is h0 or zeros)
  let gH: HostStorage;
  if (gru) gH = gHP;
  else if (!reverse) gH = gXP;
  else {
    gH = allocStorage(dtype, T * NG);
    for (let s = 0; s < T; s++) gH.set(gXP.subarray((T - 1 - s) * NG, (T - s) * NG), s * NG);
  }
  const gW = allocStorage(dtype, GH * H);
  product(gH, hs.subarray(0, T * NH), gW, GH, H, T * N, true, false);
  const grads: (Tensor | null)[] = [new Tensor(gXP, [T * N, GH]), new Tensor(gW, wHh.shape)];
  if (bHh) {
    const gb = allocStorage(dtype, GH);
    for (let r = 0; r < T * N; r++) for (let j = 0; j < GH; j++) gb[j] += gHP[r * GH + j];
    grads.push(new Tensor(gb, bHh.shape));
  }
  if (h0) grads.push(new Tensor(dh.slice(), h0.shape));
  if (c0) grads.push(new Tensor(dc.slice(), c0.shape));
  return grads;
}
