/**
 * The gate pass of one recurrent step, forward and backward, for the fused layers of
 * src/nn/recurrent-fused.ts (which keeps the same loops in JavaScript for the other backends and
 * float64): rows [n0, n1) of a batch, so the threads can split a step by rows. Gate blocks sit side
 * by side in a row of G·H (LSTM i, f, g, o; GRU r, z, n), as in PyTorch's weights. σ and tanh are
 * this file's, of float32 operations only (an LSTM takes five per hidden unit and step): σ within
 * 2.5 ulp of the exact value and tanh within 1.5, where the `unary` kernel's (activations.ts:
 * AssemblyScript's exp and musl's tanh, vectorised) are within one at about three times the work;
 * the algorithm, its coefficients and its error are tools/recurrent_activations.py's. The last
 * H mod 4 columns of a row take the same functions on one lane. An address of 0 stands for an
 * array of zeros.
 */

import { sel } from './activations';
import { gemmPackedB } from './gemm';

/** tools/recurrent_activations.py's constants, each broadcast from memory where it is used (V8 builds a v128.const anew at each use in a loop). */
const RK = memory.data<f32>([
  -80, 89, 1.44269504, 0.693359375, -0.000212194442,
  // E (exp's polynomial in r), highest degree first
  0.00139261759, 0.00836317334, 0.0416665561, 0.166665778, 0.5,
  // P (tanh's polynomial in x²), highest degree first
  -0.000966540247, 0.00340556446, -0.00882638525, 0.0218656827, -0.0539680645, 0.133333325, -0.333333343,
  1, 2, 0.5493,
]);
const EXP_LO = 0, EXP_HI = 1, LOG2E = 2, LN2_HI = 3, LN2_LO = 4, POLY_E = 5, POLY_P = 10, ONE = 17, TWO = 18, TANH_T0 = 19;
const RKI = memory.data<i32>([126, 0x7FFFFFFF, 0x80000000]);
const BIAS_MINUS_1 = 0, ABS = 1, SIGN = 2;

@inline function rk(i: i32): v128 {
  return v128.load32_splat(RK + (<usize>i << 2));
}
@inline function rki(i: i32): v128 {
  return v128.load32_splat(RKI + (<usize>i << 2));
}
/** p·x + constant c (two roundings). */
@inline function horner(p: v128, x: v128, c: i32): v128 {
  return f32x4.add(f32x4.mul(p, x), rk(c));
}

/** e^y of four lanes, y clamped to [−80, 89] (NaN stays NaN): 2^n·e^r, e^r = 1 + (r + r²·E(r)), the scale as 2^(n−1)·2. */
@inline function vexp(y: v128): v128 {
  y = f32x4.pmin(f32x4.pmax(y, rk(EXP_LO)), rk(EXP_HI));
  const n = f32x4.nearest(f32x4.mul(y, rk(LOG2E)));
  const r = f32x4.sub(f32x4.sub(y, f32x4.mul(n, rk(LN2_HI))), f32x4.mul(n, rk(LN2_LO)));
  let q = rk(POLY_E);
  for (let k = 1; k < 5; k++) q = horner(q, r, POLY_E + k);
  const p = f32x4.add(rk(ONE), f32x4.add(r, f32x4.mul(f32x4.mul(r, r), q)));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), rki(BIAS_MINUS_1)), 23);
  return f32x4.mul(f32x4.mul(p, scale), rk(TWO));
}
/** σ(x) = 1 / (1 + e^(−x)) of four lanes. */
@inline function vsigmoid(x: v128): v128 {
  return f32x4.div(rk(ONE), f32x4.add(rk(ONE), vexp(f32x4.neg(x))));
}
/** tanh of four lanes: |x| + |x|·x²·P(x²) below 0.5493, else 1 − 2/(e^(2|x|) + 1); x's sign put back. */
@inline function vtanh(x: v128): v128 {
  const a = v128.and(x, rki(ABS));
  const s = f32x4.mul(a, a);
  let q = rk(POLY_P);
  for (let k = 1; k < 7; k++) q = horner(q, s, POLY_P + k);
  const small = f32x4.add(a, f32x4.mul(a, f32x4.mul(s, q)));
  const large = f32x4.sub(rk(ONE), f32x4.div(rk(TWO), f32x4.add(vexp(f32x4.add(a, a)), rk(ONE))));
  return v128.or(sel(small, large, f32x4.lt(a, rk(TANH_T0))), v128.and(x, rki(SIGN)));
}
/** The same on one float (lane 0), for the columns past the last multiple of 4. */
@inline function sigmoid(x: f32): f32 {
  return f32x4.extract_lane(vsigmoid(f32x4.splat(x)), 0);
}
@inline function tanh(x: f32): f32 {
  return f32x4.extract_lane(vtanh(f32x4.splat(x)), 0);
}
/** Four floats at p + 4·e, or zeros when p is 0. */
@inline function load4(p: usize, e: i32): v128 {
  return p ? v128.load(p + (<usize>e << 2)) : f32x4.splat(0);
}
@inline function load1(p: usize, e: i32): f32 {
  return p ? load<f32>(p + (<usize>e << 2)) : 0;
}
@inline function at(p: usize, e: i32): usize {
  return p + (<usize>e << 2);
}

/**
 * LSTM forward: pre [N, 4H] holds x_t·W_ihᵀ + b + h_{t−1}·W_hhᵀ. acts ← (σ(i), σ(f), tanh(g), σ(o)),
 * c ← f ∘ cPrev + i ∘ g, tc ← tanh(c), h ← o ∘ tc.
 */
export function lstmStep(pre: usize, cPrev: usize, acts: usize, c: usize, tc: usize, h: usize, n0: i32, n1: i32, H: i32): void {
  const GH = 4 * H;
  const H4 = H & ~3;
  for (let n = n0; n < n1; n++) {
    const r = n * GH, e0 = n * H;
    let j = 0;
    for (; j < H4; j += 4) {
      const i = vsigmoid(v128.load(at(pre, r + j)));
      const f = vsigmoid(v128.load(at(pre, r + H + j)));
      const g = vtanh(v128.load(at(pre, r + 2 * H + j)));
      const o = vsigmoid(v128.load(at(pre, r + 3 * H + j)));
      v128.store(at(acts, r + j), i);
      v128.store(at(acts, r + H + j), f);
      v128.store(at(acts, r + 2 * H + j), g);
      v128.store(at(acts, r + 3 * H + j), o);
      const cv = f32x4.add(f32x4.mul(f, load4(cPrev, e0 + j)), f32x4.mul(i, g));
      const t = vtanh(cv);
      v128.store(at(c, e0 + j), cv);
      v128.store(at(tc, e0 + j), t);
      v128.store(at(h, e0 + j), f32x4.mul(o, t));
    }
    for (; j < H; j++) {
      const i = sigmoid(load<f32>(at(pre, r + j)));
      const f = sigmoid(load<f32>(at(pre, r + H + j)));
      const g = tanh(load<f32>(at(pre, r + 2 * H + j)));
      const o = sigmoid(load<f32>(at(pre, r + 3 * H + j)));
      store<f32>(at(acts, r + j), i);
      store<f32>(at(acts, r + H + j), f);
      store<f32>(at(acts, r + 2 * H + j), g);
      store<f32>(at(acts, r + 3 * H + j), o);
      const cv = f * load1(cPrev, e0 + j) + i * g;
      const t = tanh(cv);
      store<f32>(at(c, e0 + j), cv);
      store<f32>(at(tc, e0 + j), t);
      store<f32>(at(h, e0 + j), o * t);
    }
  }
}

/**
 * LSTM backward from dH = dh + gy: dC = dc + dH ∘ o ∘ (1 − tc²); gx ← the pre-activations' gradient
 * (dC ∘ g ∘ i(1 − i), dC ∘ cPrev ∘ f(1 − f), dC ∘ i ∘ (1 − g²), dH ∘ tc ∘ o(1 − o)); dc ← dC ∘ f.
 */
export function lstmBack(acts: usize, tc: usize, cPrev: usize, dh: usize, gy: usize, dc: usize, gx: usize, n0: i32, n1: i32, H: i32): void {
  const GH = 4 * H;
  const H4 = H & ~3;
  const one = f32x4.splat(1);
  for (let n = n0; n < n1; n++) {
    const r = n * GH, e0 = n * H;
    let j = 0;
    for (; j < H4; j += 4) {
      const e = e0 + j;
      const dH = f32x4.add(v128.load(at(dh, e)), v128.load(at(gy, e)));
      const i = v128.load(at(acts, r + j));
      const f = v128.load(at(acts, r + H + j));
      const g = v128.load(at(acts, r + 2 * H + j));
      const o = v128.load(at(acts, r + 3 * H + j));
      const t = v128.load(at(tc, e));
      const dC = f32x4.add(v128.load(at(dc, e)), f32x4.mul(f32x4.mul(dH, o), f32x4.sub(one, f32x4.mul(t, t))));
      v128.store(at(gx, r + j), f32x4.mul(f32x4.mul(f32x4.mul(dC, g), i), f32x4.sub(one, i)));
      v128.store(at(gx, r + H + j), f32x4.mul(f32x4.mul(f32x4.mul(dC, load4(cPrev, e)), f), f32x4.sub(one, f)));
      v128.store(at(gx, r + 2 * H + j), f32x4.mul(f32x4.mul(dC, i), f32x4.sub(one, f32x4.mul(g, g))));
      v128.store(at(gx, r + 3 * H + j), f32x4.mul(f32x4.mul(f32x4.mul(dH, t), o), f32x4.sub(one, o)));
      v128.store(at(dc, e), f32x4.mul(dC, f));
    }
    for (; j < H; j++) {
      const e = e0 + j;
      const dH = load<f32>(at(dh, e)) + load<f32>(at(gy, e));
      const i = load<f32>(at(acts, r + j));
      const f = load<f32>(at(acts, r + H + j));
      const g = load<f32>(at(acts, r + 2 * H + j));
      const o = load<f32>(at(acts, r + 3 * H + j));
      const t = load<f32>(at(tc, e));
      const dC = load<f32>(at(dc, e)) + dH * o * (1 - t * t);
      store<f32>(at(gx, r + j), dC * g * i * (1 - i));
      store<f32>(at(gx, r + H + j), dC * load1(cPrev, e) * f * (1 - f));
      store<f32>(at(gx, r + 2 * H + j), dC * i * (1 - g * g));
      store<f32>(at(gx, r + 3 * H + j), dH * t * o * (1 - o));
      store<f32>(at(dc, e), dC * f);
    }
  }
}

/**
 * GRU forward from x [N, 3H] (x_t·W_ihᵀ + b_ih), hp [N, 3H] (h_{t−1}·W_hhᵀ) and b [3H] (b_hh):
 * r, z ← σ(x + hp + b) of their blocks, hn ← hp_n + b_n, n ← tanh(x_n + r ∘ hn),
 * h ← n + z ∘ (hPrev − n); acts ← (r, z, n).
 */
export function gruStep(x: usize, hp: usize, b: usize, hPrev: usize, acts: usize, hn: usize, h: usize, n0: i32, n1: i32, H: i32): void {
  const GH = 3 * H;
  const H4 = H & ~3;
  for (let n = n0; n < n1; n++) {
    const r = n * GH, e0 = n * H;
    let j = 0;
    for (; j < H4; j += 4) {
      const e = e0 + j;
      const rv = vsigmoid(f32x4.add(f32x4.add(v128.load(at(x, r + j)), load4(hp, r + j)), load4(b, j)));
      const z = vsigmoid(f32x4.add(f32x4.add(v128.load(at(x, r + H + j)), load4(hp, r + H + j)), load4(b, H + j)));
      const hv = f32x4.add(load4(hp, r + 2 * H + j), load4(b, 2 * H + j));
      const nv = vtanh(f32x4.add(v128.load(at(x, r + 2 * H + j)), f32x4.mul(rv, hv)));
      v128.store(at(acts, r + j), rv);
      v128.store(at(acts, r + H + j), z);
      v128.store(at(acts, r + 2 * H + j), nv);
      v128.store(at(hn, e), hv);
      v128.store(at(h, e), f32x4.add(nv, f32x4.mul(z, f32x4.sub(load4(hPrev, e), nv))));
    }
    for (; j < H; j++) {
      const e = e0 + j;
      const rv = sigmoid(load<f32>(at(x, r + j)) + load1(hp, r + j) + load1(b, j));
      const z = sigmoid(load<f32>(at(x, r + H + j)) + load1(hp, r + H + j) + load1(b, H + j));
      const hv = load1(hp, r + 2 * H + j) + load1(b, 2 * H + j);
      const nv = tanh(load<f32>(at(x, r + 2 * H + j)) + rv * hv);
      store<f32>(at(acts, r + j), rv);
      store<f32>(at(acts, r + H + j), z);
      store<f32>(at(acts, r + 2 * H + j), nv);
      store<f32>(at(hn, e), hv);
      store<f32>(at(h, e), nv + z * (load1(hPrev, e) - nv));
    }
  }
}

/**
 * GRU backward from dH = dh + gy: dn = dH ∘ (1 − z)(1 − n²), dr = dn ∘ hn ∘ r(1 − r),
 * dz = dH ∘ (hPrev − n) ∘ z(1 − z); gx ← (dr, dz, dn) (the input projection's rows), ghp ← (dr, dz,
 * dn ∘ r) (those of h_{t−1}·W_hhᵀ + b_hh), dh ← dH ∘ z (h_{t−1}'s direct path).
 */
export function gruBack(acts: usize, hn: usize, hPrev: usize, dh: usize, gy: usize, gx: usize, ghp: usize, n0: i32, n1: i32, H: i32): void {
  const GH = 3 * H;
  const H4 = H & ~3;
  const one = f32x4.splat(1);
  for (let n = n0; n < n1; n++) {
    const r = n * GH, e0 = n * H;
    let j = 0;
    for (; j < H4; j += 4) {
      const e = e0 + j;
      const dH = f32x4.add(v128.load(at(dh, e)), v128.load(at(gy, e)));
      const rv = v128.load(at(acts, r + j));
      const z = v128.load(at(acts, r + H + j));
      const nv = v128.load(at(acts, r + 2 * H + j));
      const dn = f32x4.mul(f32x4.mul(dH, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(nv, nv)));
      const dr = f32x4.mul(f32x4.mul(f32x4.mul(dn, v128.load(at(hn, e))), rv), f32x4.sub(one, rv));
      const dz = f32x4.mul(f32x4.mul(f32x4.mul(dH, f32x4.sub(load4(hPrev, e), nv)), z), f32x4.sub(one, z));
      v128.store(at(gx, r + j), dr);
      v128.store(at(gx, r + H + j), dz);
      v128.store(at(gx, r + 2 * H + j), dn);
      v128.store(at(ghp, r + j), dr);
      v128.store(at(ghp, r + H + j), dz);
      v128.store(at(ghp, r + 2 * H + j), f32x4.mul(dn, rv));
      v128.store(at(dh, e), f32x4.mul(dH, z));
    }
    for (; j < H; j++) {
      const e = e0 + j;
      const dH = load<f32>(at(dh, e)) + load<f32>(at(gy, e));
      const rv = load<f32>(at(acts, r + j));
      const z = load<f32>(at(acts, r + H + j));
      const nv = load<f32>(at(acts, r + 2 * H + j));
      const dn = dH * (1 - z) * (1 - nv * nv);
      const dr = dn * load<f32>(at(hn, e)) * rv * (1 - rv);
      const dz = dH * (load1(hPrev, e) - nv) * z * (1 - z);
      store<f32>(at(gx, r + j), dr);
      store<f32>(at(gx, r + H + j), dz);
      store<f32>(at(gx, r + 2 * H + j), dn);
      store<f32>(at(ghp, r + j), dr);
      store<f32>(at(ghp, r + H + j), dz);
      store<f32>(at(ghp, r + 2 * H + j), dn * rv);
      store<f32>(at(dh, e), dH * z);
    }
  }
}

/** Elman RNN forward on elements [e0, e1) of pre (x_t·W_ihᵀ + b + h_{t−1}·W_hhᵀ): h ← tanh(pre), or ReLU (pre ≤ 0 ? 0 : pre) when relu; acts ← h. */
export function rnnStep(pre: usize, acts: usize, h: usize, e0: i32, e1: i32, relu: bool): void {
  const zero = f32x4.splat(0);
  let e = e0;
  for (; e + 4 <= e1; e += 4) {
    const x = v128.load(at(pre, e));
    const y = relu ? v128.andnot(x, f32x4.le(x, zero)) : vtanh(x);
    v128.store(at(acts, e), y);
    v128.store(at(h, e), y);
  }
  for (; e < e1; e++) {
    const x = load<f32>(at(pre, e));
    const y: f32 = relu ? (x <= 0 ? 0 : x) : tanh(x);
    store<f32>(at(acts, e), y);
    store<f32>(at(h, e), y);
  }
}

/** Elman RNN backward on elements [e0, e1): gx ← (dh + gy) ∘ (1 − h²), or (h > 0 ? dh + gy : 0) when relu, with h from acts. */
export function rnnBack(acts: usize, dh: usize, gy: usize, gx: usize, e0: i32, e1: i32, relu: bool): void {
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  let e = e0;
  for (; e + 4 <= e1; e += 4) {
    const v = v128.load(at(acts, e));
    const d = f32x4.add(v128.load(at(dh, e)), v128.load(at(gy, e)));
    v128.store(at(gx, e), relu ? v128.and(d, f32x4.gt(v, zero)) : f32x4.mul(d, f32x4.sub(one, f32x4.mul(v, v))));
  }
  for (; e < e1; e++) {
    const v = load<f32>(at(acts, e));
    const d = load<f32>(at(dh, e)) + load<f32>(at(gy, e));
    store<f32>(at(gx, e), relu ? (v > 0 ? d : 0) : d * (1 - v * v));
  }
}

// One threaded part of a whole step: rows [n0, n1) of the product h_{t−1}·W_hhᵀ (forward) or
// gx·W_hh (backward), W_hh packed once by packBAll, and the gate pass on the same rows, which the
// product leaves in this thread's cache. Rows are row-local in both: the forward's product reads
// h_{t−1} and writes pre, the gate pass then reads pre; the backward's gate pass reads dh and
// writes gx, the product then reads gx and overwrites dh (or adds to it: the GRU's direct path).
// n0 is a multiple of gemmMR(); `scratch` holds gemmPackedScratchBytes(0) bytes.

/** lstmStep on rows [n0, n1) after pre += h·Wᵀ there (h = 0: no product). */
export function lstmRows(h: usize, pw: usize, pre: usize, cPrev: usize, acts: usize, c: usize, tc: usize, hOut: usize,
                         N: i32, n0: i32, n1: i32, H: i32, scratch: usize): void {
  if (h) gemmPackedB(h, pw, pre, N, 4 * H, H, false, true, n0, n1, scratch);
  lstmStep(pre, cPrev, acts, c, tc, hOut, n0, n1, H);
}

/** gruStep on rows [n0, n1) after hp = h·Wᵀ there (h = 0: no product, hp reads as zeros). */
export function gruRows(x: usize, h: usize, pw: usize, hp: usize, b: usize, acts: usize, hn: usize, hOut: usize,
                        N: i32, n0: i32, n1: i32, H: i32, scratch: usize): void {
  if (h) gemmPackedB(h, pw, hp, N, 3 * H, H, false, false, n0, n1, scratch);
  gruStep(x, h ? hp : 0, b, h, acts, hn, hOut, n0, n1, H);
}

/** rnnStep on rows [n0, n1) after pre += h·Wᵀ there (h = 0: no product). */
export function rnnRows(h: usize, pw: usize, pre: usize, acts: usize, hOut: usize, N: i32, n0: i32, n1: i32, H: i32,
                        relu: bool, scratch: usize): void {
  if (h) gemmPackedB(h, pw, pre, N, H, H, false, true, n0, n1, scratch);
  rnnStep(pre, acts, hOut, n0 * H, n1 * H, relu);
}

/** dh on rows [n0, n1) after a backward gate pass there: ← g·W (g = gx or the GRU's ghp, K = G·H deep), += for the GRU, zeros without `prev`. */
@inline function backRows(g: usize, pw: usize, dh: usize, N: i32, n0: i32, n1: i32, H: i32, K: i32, acc: bool, prev: bool,
                          scratch: usize): void {
  if (prev) gemmPackedB(g, pw, dh, N, H, K, false, acc, n0, n1, scratch);
  else if (!acc) memory.fill(dh + (<usize>(n0 * H) << 2), 0, <usize>((n1 - n0) * H) << 2);
}

export function lstmBackRows(acts: usize, tc: usize, cPrev: usize, dh: usize, gy: usize, dc: usize, gx: usize, pw: usize,
                             N: i32, n0: i32, n1: i32, H: i32, prev: bool, scratch: usize): void {
  lstmBack(acts, tc, cPrev, dh, gy, dc, gx, n0, n1, H);
  backRows(gx, pw, dh, N, n0, n1, H, 4 * H, false, prev, scratch);
}

export function gruBackRows(acts: usize, hn: usize, hPrev: usize, dh: usize, gy: usize, gx: usize, ghp: usize, pw: usize,
                            N: i32, n0: i32, n1: i32, H: i32, prev: bool, scratch: usize): void {
  gruBack(acts, hn, hPrev, dh, gy, gx, ghp, n0, n1, H);
  backRows(ghp, pw, dh, N, n0, n1, H, 3 * H, true, prev, scratch);
}

export function rnnBackRows(acts: usize, dh: usize, gy: usize, gx: usize, pw: usize, N: i32, n0: i32, n1: i32, H: i32,
                            relu: bool, prev: bool, scratch: usize): void {
  rnnBack(acts, dh, gy, gx, n0 * H, n1 * H, relu);
  backRows(gx, pw, dh, N, n0, n1, H, H, false, prev, scratch);
}
