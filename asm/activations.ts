/**
 * The transcendental unary ops and the activations with their derivatives, each twice: a scalar
 * function (PyTorch's formula in float32, on Mathf.exp and Mathf.tanh) and a SIMD one that gives
 * the same bits on every input. The SIMD functions are the scalar code vectorised operation for
 * operation — Mathf.exp's float64 table method (AssemblyScript's expf_lut), Mathf.tanh's musl
 * tanhf and expm1f, the erf polynomials — with every branch computed and the lanes' branches picked
 * by selects, so `unary` and the fused dense layer (src/backend/wasm/dense.ts) take four elements
 * at a time without changing a result (test/backend/vector-math.test.ts compares the two on a
 * sample of inputs, tools/vector-math-check.ts on all 2³² float32 values).
 */

import {
  UN_EXP, UN_SIGMOID, UN_TANH, UN_ERF, UN_GELU, UN_GELU_DERIV, UN_GELU_TANH, UN_GELU_TANH_DERIV, UN_SILU, UN_SILU_DERIV,
  UN_ELU, UN_ELU_DERIV, UN_LEAKY_RELU, UN_LEAKY_RELU_DERIV, UN_SOFTPLUS, UN_MISH, UN_MISH_DERIV, UN_HARDSWISH,
  UN_HARDSWISH_DERIV, UN_HARDSIGMOID, UN_HARDSIGMOID_DERIV, UN_SELU, UN_SELU_DERIV, UN_HARDTANH, UN_HARDTANH_DERIV,
} from './opcodes';

// ---------------------------------------------------------------- scalar

@inline export function sigmoid(x: f32): f32 {
  if (x >= 0) return 1 / (1 + Mathf.exp(-x));
  const e = Mathf.exp(x);
  return e / (1 + e);
}

/**
 * erf within about one float32 ulp (1.05 at most): the algorithm, its coefficients and the error
 * measured against mpmath are tools/erf_coefficients.py's; the WebGPU shaders evaluate the same.
 */
export function erf(x: f32): f32 {
  const a = Mathf.abs(x);
  if (a < 1) {
    // a + a·P(a²)
    const t = a * a;
    let p: f32 = 7.87587487e-5;
    p = p * t + <f32>-0.00080168643;
    p = p * t + <f32>0.00518908724;
    p = p * t + <f32>-0.0268542115;
    p = p * t + <f32>0.112835944;
    p = p * t + <f32>-0.37612626;
    p = p * t + <f32>0.128379166;
    return x + x * p;
  }
  if (!(a < 4)) return x != x ? x : x < 0 ? -1 : 1;
  // 1 − e^(−a²)·Q(1/a)
  const u: f32 = 1 / a;
  let q: f32 = 0.0250325426;
  q = q * u + <f32>-0.14789845;
  q = q * u + <f32>0.360861868;
  q = q * u + <f32>-0.42983374;
  q = q * u + <f32>0.145477355;
  q = q * u + <f32>0.282589793;
  q = q * u + <f32>-0.394859582;
  q = q * u + <f32>0.0248475205;
  q = q * u + <f32>0.561214626;
  q = q * u + <f32>0.00015165568;
  const y: f32 = 1 - Mathf.exp(-(a * a)) * q;
  return x < 0 ? -y : y;
}

// PyTorch's constants of the GELUs: √½, 1/√(2π) and √(2/π) (kAlpha, kBeta, the tanh form's kBeta)
const SQRT1_2: f32 = 0.707106781;
const INV_SQRT_2PI: f32 = 0.398942280;
const SQRT_2_OVER_PI: f32 = 0.797884561;
const KAPPA: f32 = 0.044715;
/** PyTorch's hardsigmoid_backward slope, the float literal 1.0f / 6.0f. */
const ONE_SIXTH: f32 = 1.0 / 6.0;
/**
 * Past this x, Mish's tanh(log1p(eˣ)) and σ(x) are 1 in float32 (tanh rounds to 1 from 9.01, σ
 * from 16.7), and below it eˣ·(eˣ + 2) stays finite (2.4e17 at 20).
 */
const MISH_LINEAR: f32 = 20;

/**
 * Mish's t = tanh(log1p(eˣ)) from e = eˣ: tanh(log(1 + e)) = ((1 + e)² − 1)/((1 + e)² + 1) =
 * n/(n + 2) with n = e·(e + 2), one exp and one division where PyTorch's formula takes an exp, a
 * log1p and a tanh; within a few float32 ulps of it and without its cancellation for small e. 1
 * past MISH_LINEAR, where n would overflow.
 */
@inline function mishT(x: f32, e: f32): f32 {
  const n = e * (e + 2);
  return x > MISH_LINEAR ? 1 : n / (n + 2);
}

/** min(max(v, 0), 6) with NaN passing through, as PyTorch's clamp lets it (−0 stays −0). */
@inline function clamp06(v: f32): f32 {
  return v < 0 ? 0 : v > 6 ? 6 : v;
}

/**
 * The activations and their derivatives, PyTorch's formulas (src/backend/backend.ts's UnaryOp),
 * each operation in float32 as PyTorch's float kernels do it.
 */
@inline export function activation(op: i32, x: f32, p0: f32, p1: f32): f32 {
  switch (op) {
    case UN_ERF: return erf(x);
    case UN_GELU: return x * 0.5 * (1 + erf(x * SQRT1_2));
    case UN_GELU_DERIV: return <f32>0.5 * (1 + erf(x * SQRT1_2)) + x * (INV_SQRT_2PI * Mathf.exp(x * x * -0.5));
    case UN_GELU_TANH: return <f32>0.5 * x * (1 + Mathf.tanh(SQRT_2_OVER_PI * (x + KAPPA * (x * x * x))));
    case UN_GELU_TANH_DERIV: {
      const x2 = x * x;
      const t = Mathf.tanh(SQRT_2_OVER_PI * (x + KAPPA * (x2 * x)));
      return <f32>0.5 * (1 + t) + <f32>0.5 * x * (1 - t * t) * (SQRT_2_OVER_PI * (1 + 3 * KAPPA * x2));
    }
    case UN_SILU: return x / (1 + Mathf.exp(-x));
    case UN_SILU_DERIV: {
      const s: f32 = 1 / (1 + Mathf.exp(-x));
      return s * (1 + x * (1 - s));
    }
    case UN_LEAKY_RELU: return x > 0 ? x : x * p0;
    case UN_LEAKY_RELU_DERIV: return x > 0 ? 1 : p0;
    case UN_ELU: return x <= 0 ? (Mathf.exp(x) - 1) * p0 : x;
    case UN_ELU_DERIV: return x > 0 ? 1 : p0 * Mathf.exp(x);
    case UN_SOFTPLUS: {
      const z = x * p0;
      return z > p1 ? x : Mathf.log1p(Mathf.exp(z)) / p0;
    }
    case UN_MISH: return x * mishT(x, Mathf.exp(x));
    case UN_MISH_DERIV: {
      // 1 − t² as u·(2 − u), u = 1 − t = 2/(n + 2), without 1 − t·t's cancellation near t = 1 (the
      // error in f′ falls from 1.3e-6 to 1.6e-7 at most, PyTorch's own float32 kernel's is 1e-6);
      // σ(x) = e/(1 + e) from the same e; past MISH_LINEAR t = σ = 1, u = 0, and +∞ gives ∞·0 = NaN
      // as PyTorch does, −∞ too (σ = 0)
      const e = Mathf.exp(x);
      const big = x > MISH_LINEAR;
      const n = e * (e + 2);
      const t: f32 = big ? 1 : n / (n + 2);
      const u: f32 = big ? 0 : 2 / (n + 2);
      const s: f32 = big ? 1 : e / (e + 1);
      return t + x * s * (u * (2 - u));
    }
    case UN_HARDSWISH: return x * clamp06(x + 3) / 6;
    case UN_HARDSWISH_DERIV: return x < -3 ? 0 : x >= 3 ? 1 : x / 3 + <f32>0.5;
    case UN_HARDSIGMOID: return clamp06(x + 3) / 6;
    case UN_HARDSIGMOID_DERIV: return x > -3 && x < 3 ? ONE_SIXTH : 0;
    case UN_SELU: return x <= 0 ? (Mathf.exp(x) - 1) * p0 : x * p1;
    case UN_SELU_DERIV: return x > 0 ? p1 : p0 * Mathf.exp(x);
    case UN_HARDTANH: {
      const v = p0 >= x ? p0 : x;
      return p1 <= v ? p1 : v;
    }
    case UN_HARDTANH_DERIV: return x > p0 && x < p1 ? 1 : 0;
    default: {
      // UN_SOFTPLUS_DERIV
      const z = x * p0;
      if (z > p1) return 1;
      const e = Mathf.exp(z);
      return e / (e + 1);
    }
  }
}

// ---------------------------------------------------------------- SIMD, the same bits

/** The ops `vunary` takes (the rest stay scalar). */
@inline export function vectorised(op: i32): bool {
  return op == UN_EXP || op == UN_SIGMOID || op == UN_TANH || op == UN_ERF || op == UN_GELU || op == UN_GELU_DERIV
    || op == UN_GELU_TANH || op == UN_GELU_TANH_DERIV || op == UN_SILU || op == UN_SILU_DERIV || op == UN_MISH
    || op == UN_MISH_DERIV || op == UN_HARDSWISH || op == UN_HARDSWISH_DERIV || op == UN_HARDSIGMOID || op == UN_HARDSIGMOID_DERIV;
}

/**
 * The SIMD code's constants, each broadcast from memory where it is used (one instruction): V8
 * (Node 20) builds a v128.const anew at every use inside a loop, with three. 32-bit lanes first
 * (floats, then bit patterns), then float64 lanes.
 */
const K32 = memory.data<f32>([
  0.5, 1, 2, -2, 3, 6, -0.25, -0.5, -1, 4,
  SQRT1_2, INV_SQRT_2PI, SQRT_2_OVER_PI, KAPPA, 3 * KAPPA,
  // erf: P (near 0), then Q (of 1/|x|)
  7.87587487e-5, -0.00080168643, 0.00518908724, -0.0268542115, 0.112835944, -0.37612626, 0.128379166,
  0.0250325426, -0.14789845, 0.360861868, -0.42983374, 0.145477355, 0.282589793, -0.394859582, 0.0248475205, 0.561214626, 0.00015165568,
  -3, ONE_SIXTH, MISH_LINEAR,
]);
const HALF = 0, ONE = 1, TWO = 2, MINUS_TWO = 3, THREE = 4, SIX = 5, MINUS_QUARTER = 6, MINUS_HALF = 7, MINUS_ONE = 8, FOUR = 9;
const C_SQRT1_2 = 10, C_INV_SQRT_2PI = 11, C_SQRT_2_OVER_PI = 12, C_KAPPA = 13, C_KAPPA3 = 14, ERF_P = 15, ERF_Q = 22;
const MINUS_THREE = 32, C_ONE_SIXTH = 33, C_MISH_LINEAR = 34;
const KBITS = memory.data<u32>([
  0x7FFFFFFF, 0x80000000, 1, 0x7F, 20, 0xFFFFFFFF,
  // expf_lut: 2¹²⁷, log(FLT_MAX), log(2⁻¹⁵⁰)
  0x7F000000, 0x42B17217, 0xC2CFF1B4,
  // expm1f: its thresholds, 1/ln2, ln2 (high and low parts), Q1, Q2
  0x3EB17218, 0x3F851592, 0x33000000, 0x3FB8AA3B, 0x3F317180, 0x3717F7D1, 0xBD088868, 0x3ACF3010,
  // tanhf's thresholds
  0x41200000, 0x3F0C9F54, 0x3E82C578, 0x00800000,
]);
const ABS = 0, SIGN = 1, I_ONE = 2, I_BIAS = 3, I_TWENTY = 4, I_MINUS_ONE = 5;
const EXP_HUGE = 6, EXP_OVER = 7, EXP_UNDER = 8;
const M1_REDUCE = 9, M1_NEAR = 10, M1_TINY = 11, M1_INV_LN2 = 12, M1_LN2_HI = 13, M1_LN2_LO = 14, M1_Q1 = 15, M1_Q2 = 16;
const TANH_HUGE = 17, TANH_LARGE = 18, TANH_MID = 19, TANH_NORMAL = 20;
// expf_lut's constants, for its table of 32 entries
const K64 = memory.data<f64>([
  reinterpret<f64>(0x3FF71547652B82FE) * 32, // 32/ln2
  reinterpret<f64>(0x4338000000000000), // 0x1.8p+52, the rounding shift
  reinterpret<f64>(0x3FAC6AF84B912394) / 32 / 32 / 32,
  reinterpret<f64>(0x3FCEBFCE50FAC4F3) / 32 / 32,
  reinterpret<f64>(0x3FE62E42FF0C52D6) / 32,
  1,
]);
const EXP_INV_LN2_N = 0, EXP_SHIFT = 1, EXP_C0 = 2, EXP_C1 = 3, EXP_C2 = 4, D_ONE = 5;

/** Constant `i` of K32 (a float) in four lanes. */
@inline function kf(i: i32): v128 {
  return v128.load32_splat(K32 + (<usize>i << 2));
}
/** Constant `i` of KBITS (bits) in four lanes. */
@inline function kb(i: i32): v128 {
  return v128.load32_splat(KBITS + (<usize>i << 2));
}
/** Constant `i` of K64 in two lanes. */
@inline function kd(i: i32): v128 {
  return v128.load64_splat(K64 + (<usize>i << 3));
}
/** m ? a : b per 32-bit lane, for masks that are all ones or all zeros in each lane (comparisons): one blend with relaxed SIMD. */
@inline export function sel(a: v128, b: v128, m: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_laneselect(a, b, m);
  return v128.bitselect(a, b, m);
}
/** p·x + c, p's polynomial one degree up (two roundings, as the scalar code's p * x + c). */
@inline function horner(p: v128, x: v128, c: i32): v128 {
  return f32x4.add(f32x4.mul(p, x), kf(c));
}

/** expf_lut's table: 2^(i/32) as float64 bits, less i << 47 (AssemblyScript's EXP2F_DATA_TAB). */
const EXP2F_TAB = memory.data<u64>([
  0x3FF0000000000000, 0x3FEFD9B0D3158574, 0x3FEFB5586CF9890F, 0x3FEF9301D0125B51,
  0x3FEF72B83C7D517B, 0x3FEF54873168B9AA, 0x3FEF387A6E756238, 0x3FEF1E9DF51FDEE1,
  0x3FEF06FE0A31B715, 0x3FEEF1A7373AA9CB, 0x3FEEDEA64C123422, 0x3FEECE086061892D,
  0x3FEEBFDAD5362A27, 0x3FEEB42B569D4F82, 0x3FEEAB07DD485429, 0x3FEEA47EB03A5585,
  0x3FEEA09E667F3BCD, 0x3FEE9F75E8EC5F74, 0x3FEEA11473EB0187, 0x3FEEA589994CCE13,
  0x3FEEACE5422AA0DB, 0x3FEEB737B0CDC5E5, 0x3FEEC49182A3F090, 0x3FEED503B23E255D,
  0x3FEEE89F995AD3AD, 0x3FEEFF76F2FB5E47, 0x3FEF199BDD85529C, 0x3FEF3720DCEF9069,
  0x3FEF5818DCFBA487, 0x3FEF7C97337B9B5F, 0x3FEFA4AFA2A490DA, 0x3FEFD0765B6E4540,
]);

/** expf_lut's main path on two float64 lanes (the promoted inputs); its result before the rounding to float32. */
@inline function expLanes(xd: v128): v128 {
  // x·32/ln2 = k + r, r in [−½, ½], k an integer
  const z = f64x2.mul(kd(EXP_INV_LN2_N), xd);
  const kdv = f64x2.add(z, kd(EXP_SHIFT));
  const r = f64x2.sub(z, f64x2.sub(kdv, kd(EXP_SHIFT)));
  // s = 2^(k/32): the table entry of k mod 32, k's upper bits added into the exponent
  const i0 = <usize>(i64x2.extract_lane(kdv, 0) & 31), i1 = <usize>(i64x2.extract_lane(kdv, 1) & 31);
  const t = v128.load64_lane(EXP2F_TAB + (i1 << 3), v128.load64_zero(EXP2F_TAB + (i0 << 3)), 1);
  const s = i64x2.add(t, i64x2.shl(kdv, 47));
  const zc = f64x2.add(f64x2.mul(kd(EXP_C0), r), kd(EXP_C1));
  let y = f64x2.add(f64x2.mul(kd(EXP_C2), r), kd(D_ONE));
  y = f64x2.add(y, f64x2.mul(zc, f64x2.mul(r, r)));
  return f64x2.mul(y, s);
}

/** Mathf.exp (expf_lut) of four lanes. */
@inline export function vexp(x: v128): v128 {
  const lo = f32x4.demote_f64x2_zero(expLanes(f64x2.promote_low_f32x4(x)));
  const hi = f32x4.demote_f64x2_zero(expLanes(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1))));
  let y = i32x4.shuffle(lo, hi, 0, 1, 4, 5);
  // expf_lut's cases for |x| ≥ 88: x > log(FLT_MAX) overflows (x·2¹²⁷), x < log(2⁻¹⁵⁰) and −∞ give 0, NaN x + x
  y = sel(f32x4.mul(x, kb(EXP_HUGE)), y, f32x4.gt(x, kb(EXP_OVER)));
  y = v128.andnot(y, f32x4.lt(x, kb(EXP_UNDER)));
  return sel(f32x4.add(x, x), y, f32x4.ne(x, x));
}

/**
 * Mathf.expm1 (musl's expm1f) of four lanes, for −0.52 < v ≤ 20 and the tiny values: what tanh
 * asks of it (its other lanes' results are not used). In that range k, the multiple of ln 2 taken
 * out, is −1 … 29, so expm1f's branches for k < −1 and k > 56 never run.
 */
@inline function vexpm1(v: v128): v128 {
  const hx = v128.and(v, kb(ABS));
  const reduce = i32x4.gt_s(hx, kb(M1_REDUCE)); // |v| > ln2/2
  const kNear = i32x4.sub(kb(I_ONE), i32x4.shl(i32x4.shr_u(v, 31), 1));
  const kFar = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(kb(M1_INV_LN2), v), v128.or(kf(HALF), v128.and(v, kb(SIGN)))));
  const k = v128.and(sel(kNear, kFar, i32x4.lt_s(hx, kb(M1_NEAR))), reduce);
  const tk = f32x4.convert_i32x4_s(k);
  const hi = f32x4.sub(v, f32x4.mul(tk, kb(M1_LN2_HI)));
  const lo = f32x4.mul(tk, kb(M1_LN2_LO));
  const xr = f32x4.sub(hi, lo);
  const c = v128.and(f32x4.sub(f32x4.sub(hi, xr), lo), reduce);
  const x = sel(xr, v, reduce);
  const hfx = f32x4.mul(kf(HALF), x);
  const hxs = f32x4.mul(x, hfx);
  const r1 = f32x4.add(kf(ONE), f32x4.mul(hxs, f32x4.add(kb(M1_Q1), f32x4.mul(hxs, kb(M1_Q2)))));
  const t = f32x4.sub(kf(THREE), f32x4.mul(r1, hfx));
  let e = f32x4.mul(hxs, f32x4.div(f32x4.sub(r1, t), f32x4.sub(kf(SIX), f32x4.mul(x, t))));
  const k0 = f32x4.sub(x, f32x4.sub(f32x4.mul(x, e), hxs));
  e = f32x4.sub(f32x4.sub(f32x4.mul(x, f32x4.sub(e, c)), c), hxs);
  const kMinus1 = f32x4.sub(f32x4.mul(kf(HALF), f32x4.sub(x, e)), kf(HALF));
  const k1 = sel(
    f32x4.mul(kf(MINUS_TWO), f32x4.sub(e, f32x4.add(x, kf(HALF)))),
    f32x4.add(kf(ONE), f32x4.mul(kf(TWO), f32x4.sub(x, e))),
    f32x4.lt(x, kf(MINUS_QUARTER)),
  );
  const twopk = i32x4.shl(i32x4.add(kb(I_BIAS), k), 23);
  const y = i32x4.shl(i32x4.sub(kb(I_BIAS), k), 23);
  const yk = sel(f32x4.sub(f32x4.sub(kf(ONE), y), e), f32x4.sub(kf(ONE), f32x4.add(e, y)), i32x4.lt_s(k, kb(I_TWENTY)));
  let r = f32x4.mul(f32x4.add(x, yk), twopk);
  r = sel(k1, r, i32x4.eq(k, kb(I_ONE)));
  r = sel(kMinus1, r, i32x4.eq(k, kb(I_MINUS_ONE)));
  r = sel(k0, r, i32x4.eq(k, f32x4.splat(0)));
  return sel(v, r, i32x4.lt_s(hx, kb(M1_TINY)));
}

/**
 * Mathf.tanh (musl's tanhf) of four lanes. Its four branches each divide once — 1 + 0/|x| past 10,
 * 1 − 2/(e + 2), e/(e + 2) and −e/(e + 2) below — so the lanes share one division of a numerator
 * and a denominator picked per lane.
 */
@inline function vtanh(x: v128): v128 {
  const y = v128.and(x, kb(ABS));
  const huge = i32x4.gt_s(y, kb(TANH_HUGE)); // |x| > 10 (or NaN): 1 + 0/|x|
  const large = i32x4.gt_s(y, kb(TANH_LARGE)); // |x| > 0.5493: 1 − 2/(e + 2), e = expm1(2|x|)
  const mid = i32x4.gt_s(y, kb(TANH_MID)); // |x| > 0.2554: e/(e + 2), e = expm1(2|x|)
  // else −e/(e + 2), e = expm1(−2|x|), for normal |x|; a subnormal or zero is its own tanh
  const e = vexpm1(f32x4.mul(sel(kf(TWO), kf(MINUS_TWO), mid), y));
  const num = v128.andnot(sel(kf(TWO), sel(e, f32x4.neg(e), mid), large), huge);
  const q = f32x4.div(num, sel(y, f32x4.add(e, kf(TWO)), huge));
  let t = sel(q, y, i32x4.ge_s(y, kb(TANH_NORMAL)));
  t = sel(f32x4.sub(kf(ONE), q), t, large);
  t = sel(f32x4.add(kf(ONE), q), t, huge);
  return v128.or(v128.and(t, kb(ABS)), v128.and(x, kb(SIGN)));
}

/** erf of four lanes (both polynomials and the saturation computed, one picked per lane). */
@inline function verf(x: v128): v128 {
  const a = v128.and(x, kb(ABS));
  const t = f32x4.mul(a, a);
  let p = kf(ERF_P);
  for (let j = 1; j < 7; j++) p = horner(p, t, ERF_P + j);
  const near = f32x4.add(x, f32x4.mul(x, p));
  const u = f32x4.div(kf(ONE), a);
  let q = kf(ERF_Q);
  for (let j = 1; j < 10; j++) q = horner(q, u, ERF_Q + j);
  const y = f32x4.sub(kf(ONE), f32x4.mul(vexp(f32x4.neg(t)), q));
  const negative = f32x4.lt(x, f32x4.splat(0));
  const mid = sel(f32x4.neg(y), y, negative);
  const far = sel(x, sel(kf(MINUS_ONE), kf(ONE), negative), f32x4.ne(x, x));
  return sel(near, sel(mid, far, f32x4.lt(a, kf(FOUR))), f32x4.lt(a, kf(ONE)));
}

/** GELU's two factors shared by f and f′: 1 + erf(x/√2). */
@inline function geluCdf2(x: v128): v128 {
  return f32x4.add(kf(ONE), verf(f32x4.mul(x, kf(C_SQRT1_2))));
}
/** GELU′'s second term's factor φ(x) = e^(−x²/2)/√(2π). */
@inline function geluPdf(x: v128): v128 {
  return f32x4.mul(kf(C_INV_SQRT_2PI), vexp(f32x4.mul(f32x4.mul(x, x), kf(MINUS_HALF))));
}
/** The tanh form's t = tanh(√(2/π)·(x + κx³)), from x² (shared by f and f′). */
@inline function geluTanhT(x: v128, x2: v128): v128 {
  return vtanh(f32x4.mul(kf(C_SQRT_2_OVER_PI), f32x4.add(x, f32x4.mul(kf(C_KAPPA), f32x4.mul(x2, x)))));
}
/** The tanh form's f′ from x, x² and t. */
@inline function geluTanhDeriv(x: v128, x2: v128, t: v128): v128 {
  const du = f32x4.mul(kf(C_SQRT_2_OVER_PI), f32x4.add(kf(ONE), f32x4.mul(kf(C_KAPPA3), x2)));
  const left = f32x4.mul(kf(HALF), f32x4.add(kf(ONE), t));
  return f32x4.add(left, f32x4.mul(f32x4.mul(f32x4.mul(kf(HALF), x), f32x4.sub(kf(ONE), f32x4.mul(t, t))), du));
}
/** SiLU's 1 + e⁻ˣ (shared by f and f′). */
@inline function siluDen(x: v128): v128 {
  return f32x4.add(kf(ONE), vexp(f32x4.neg(x)));
}
/** SiLU′ = s·(1 + x·(1 − s)), s = 1/(1 + e⁻ˣ). */
@inline function siluDeriv(x: v128, den: v128): v128 {
  const s = f32x4.div(kf(ONE), den);
  return f32x4.mul(s, f32x4.add(kf(ONE), f32x4.mul(x, f32x4.sub(kf(ONE), s))));
}

/** Mish's t (mishT) from x and e = eˣ. */
@inline function vmishT(x: v128, e: v128): v128 {
  const n = f32x4.mul(e, f32x4.add(e, kf(TWO)));
  return sel(kf(ONE), f32x4.div(n, f32x4.add(n, kf(TWO))), f32x4.gt(x, kf(C_MISH_LINEAR)));
}
/** clamp06(x + 3): +0 below (andnot), 6 above, NaN and −0 through, as the scalar selects. */
@inline function vclamp06(x: v128): v128 {
  const c = f32x4.add(x, kf(THREE));
  const lo = v128.andnot(c, f32x4.lt(c, f32x4.splat(0)));
  return sel(kf(SIX), lo, f32x4.gt(lo, kf(SIX)));
}

/** `activation` (and exp, sigmoid, tanh) of four lanes, for the ops `vectorised` names. */
@inline export function vunary(op: i32, x: v128): v128 {
  switch (op) {
    case UN_EXP: return vexp(x);
    case UN_SIGMOID: {
      const pos = f32x4.ge(x, f32x4.splat(0));
      const e = vexp(sel(f32x4.neg(x), x, pos));
      const d = f32x4.add(kf(ONE), e);
      return sel(f32x4.div(kf(ONE), d), f32x4.div(e, d), pos);
    }
    case UN_TANH: return vtanh(x);
    case UN_ERF: return verf(x);
    case UN_GELU: return f32x4.mul(f32x4.mul(x, kf(HALF)), geluCdf2(x));
    case UN_GELU_DERIV: return f32x4.add(f32x4.mul(kf(HALF), geluCdf2(x)), f32x4.mul(x, geluPdf(x)));
    case UN_GELU_TANH: {
      const t = geluTanhT(x, f32x4.mul(x, x));
      return f32x4.mul(f32x4.mul(kf(HALF), x), f32x4.add(kf(ONE), t));
    }
    case UN_GELU_TANH_DERIV: {
      const x2 = f32x4.mul(x, x);
      return geluTanhDeriv(x, x2, geluTanhT(x, x2));
    }
    case UN_SILU: return f32x4.div(x, siluDen(x));
    case UN_MISH: return f32x4.mul(x, vmishT(x, vexp(x)));
    case UN_MISH_DERIV: {
      const e = vexp(x);
      const big = f32x4.gt(x, kf(C_MISH_LINEAR));
      const n = f32x4.mul(e, f32x4.add(e, kf(TWO)));
      const q = f32x4.add(n, kf(TWO));
      const t = sel(kf(ONE), f32x4.div(n, q), big);
      const u = v128.andnot(f32x4.div(kf(TWO), q), big);
      const s = sel(kf(ONE), f32x4.div(e, f32x4.add(e, kf(ONE))), big);
      return f32x4.add(t, f32x4.mul(f32x4.mul(x, s), f32x4.mul(u, f32x4.sub(kf(TWO), u))));
    }
    case UN_HARDSWISH: return f32x4.div(f32x4.mul(x, vclamp06(x)), kf(SIX));
    case UN_HARDSWISH_DERIV: {
      const ramp = f32x4.add(f32x4.div(x, kf(THREE)), kf(HALF));
      return v128.andnot(sel(kf(ONE), ramp, f32x4.ge(x, kf(THREE))), f32x4.lt(x, kf(MINUS_THREE)));
    }
    case UN_HARDSIGMOID: return f32x4.div(vclamp06(x), kf(SIX));
    case UN_HARDSIGMOID_DERIV: return v128.and(v128.and(f32x4.gt(x, kf(MINUS_THREE)), f32x4.lt(x, kf(THREE))), kf(C_ONE_SIXTH));
    default: return siluDeriv(x, siluDen(x)); // UN_SILU_DERIV
  }
}

/**
 * y[i] = f(z[i]) and, where d is non-zero, d[i] = f′(z[i]), `op` the activation's UN_ code (UN_GELU,
 * UN_GELU_TANH or UN_SILU): a fused dense layer's activation and the factor its backward multiplies
 * the output gradient by, in one pass. The two share what their formulas share — erf(x/√2),
 * tanh(u), 1 + e⁻ˣ — each value with the bits `unary` gives for op and for its derivative.
 */
export function activationForward(op: i32, z: usize, y: usize, d: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i * 4;
    const x = v128.load(z + off);
    switch (op) {
      case UN_GELU: {
        const cdf2 = geluCdf2(x);
        v128.store(y + off, f32x4.mul(f32x4.mul(x, kf(HALF)), cdf2));
        if (d) v128.store(d + off, f32x4.add(f32x4.mul(kf(HALF), cdf2), f32x4.mul(x, geluPdf(x))));
        break;
      }
      case UN_GELU_TANH: {
        const x2 = f32x4.mul(x, x);
        const t = geluTanhT(x, x2);
        v128.store(y + off, f32x4.mul(f32x4.mul(kf(HALF), x), f32x4.add(kf(ONE), t)));
        if (d) v128.store(d + off, geluTanhDeriv(x, x2, t));
        break;
      }
      default: {
        // UN_SILU
        const den = siluDen(x);
        v128.store(y + off, f32x4.div(x, den));
        if (d) v128.store(d + off, siluDeriv(x, den));
      }
    }
  }
  const deriv = op == UN_GELU ? UN_GELU_DERIV : op == UN_GELU_TANH ? UN_GELU_TANH_DERIV : UN_SILU_DERIV;
  for (; i < n; i++) {
    const off = <usize>i * 4;
    const x = load<f32>(z + off);
    store<f32>(y + off, activation(op, x, 0, 0));
    if (d) store<f32>(d + off, activation(deriv, x, 0, 0));
  }
}
