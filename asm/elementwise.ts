/**
 * Memory-bound kernels: broadcasting binary ops, unary ops, reductions, log-softmax.
 * Shapes arrive already collapsed by the TS glue: a binary op is outer × inner with each operand's
 * inner stride 0 or 1 (broadcast or contiguous); a reduction is outer × mid × inner, reducing mid.
 * Comparisons and max/min follow the reference backend's NaN behaviour exactly.
 */

import {
  BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_MAX, BIN_MIN, BIN_GT, BIN_LT, BIN_EQ, BIN_RELU_GRAD,
  UN_NEG, UN_EXP, UN_LOG, UN_SQRT, UN_ABS, UN_SIGN, UN_RELU, UN_STEP, UN_SIGMOID, UN_TANH, UN_SQUARE, UN_RECIP,
  UN_LEAKY_RELU, UN_LEAKY_RELU_DERIV, UN_ELU, UN_ELU_DERIV, UN_SELU, UN_SELU_DERIV, UN_HARDTANH, UN_HARDTANH_DERIV,
} from './opcodes';
import { activation, sigmoid, vectorised, vunary, vexp } from './activations';

@inline function vbin(op: i32, x: v128, y: v128): v128 {
  switch (op) {
    case BIN_ADD: return f32x4.add(x, y);
    case BIN_SUB: return f32x4.sub(x, y);
    case BIN_MUL: return f32x4.mul(x, y);
    case BIN_DIV: return f32x4.div(x, y);
    case BIN_MAX: return v128.bitselect(x, y, f32x4.ge(x, y));
    case BIN_MIN: return v128.bitselect(x, y, f32x4.le(x, y));
    case BIN_GT: return v128.and(f32x4.gt(x, y), f32x4.splat(1));
    case BIN_LT: return v128.and(f32x4.lt(x, y), f32x4.splat(1));
    case BIN_EQ: return v128.and(f32x4.eq(x, y), f32x4.splat(1));
    case BIN_RELU_GRAD: return v128.andnot(x, f32x4.le(y, f32x4.splat(0)));
    default: {
      return f32x4(
        Mathf.pow(f32x4.extract_lane(x, 0), f32x4.extract_lane(y, 0)),
        Mathf.pow(f32x4.extract_lane(x, 1), f32x4.extract_lane(y, 1)),
        Mathf.pow(f32x4.extract_lane(x, 2), f32x4.extract_lane(y, 2)),
        Mathf.pow(f32x4.extract_lane(x, 3), f32x4.extract_lane(y, 3)));
    }
  }
}

@inline function sbin(op: i32, x: f32, y: f32): f32 {
  switch (op) {
    case BIN_ADD: return x + y;
    case BIN_SUB: return x - y;
    case BIN_MUL: return x * y;
    case BIN_DIV: return x / y;
    case BIN_MAX: return x >= y ? x : y;
    case BIN_MIN: return x <= y ? x : y;
    case BIN_GT: return x > y ? 1 : 0;
    case BIN_LT: return x < y ? 1 : 0;
    case BIN_EQ: return x == y ? 1 : 0;
    case BIN_RELU_GRAD: return y <= 0 ? 0 : x;
    default: return Mathf.pow(x, y);
  }
}

/** out[o, i] = a[o·sao + i·sai] (op) b[o·sbo + i·sbi], strides in elements, sai/sbi ∈ {0, 1}. */
export function binary(op: i32, a: usize, sao: i32, sai: i32, b: usize, sbo: i32, sbi: i32, out: usize, outer: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    const pa = a + <usize>(o * sao) * 4, pb = b + <usize>(o * sbo) * 4, po = out + <usize>(o * inner) * 4;
    let i = 0;
    if (sai == 1 && sbi == 1) {
      for (; i + 4 <= inner; i += 4) {
        const off = <usize>i * 4;
        v128.store(po + off, vbin(op, v128.load(pa + off), v128.load(pb + off)));
      }
      for (; i < inner; i++) { const off = <usize>i * 4; store<f32>(po + off, sbin(op, load<f32>(pa + off), load<f32>(pb + off))); }
    } else if (sai == 1) {
      const y = load<f32>(pb), vy = f32x4.splat(y);
      for (; i + 4 <= inner; i += 4) { const off = <usize>i * 4; v128.store(po + off, vbin(op, v128.load(pa + off), vy)); }
      for (; i < inner; i++) { const off = <usize>i * 4; store<f32>(po + off, sbin(op, load<f32>(pa + off), y)); }
    } else if (sbi == 1) {
      const x = load<f32>(pa), vx = f32x4.splat(x);
      for (; i + 4 <= inner; i += 4) { const off = <usize>i * 4; v128.store(po + off, vbin(op, vx, v128.load(pb + off))); }
      for (; i < inner; i++) { const off = <usize>i * 4; store<f32>(po + off, sbin(op, x, load<f32>(pb + off))); }
    } else {
      const v = sbin(op, load<f32>(pa), load<f32>(pb));
      for (; i < inner; i++) store<f32>(po + <usize>i * 4, v);
    }
  }
}

/** out[i] = op(a[i]); p0, p1 are the scalars of the parameterised activations (ignored by the others). */
export function unary(op: i32, a: usize, out: usize, n: i32, p0: f32, p1: f32): void {
  let i = 0;
  const vec = op == UN_NEG || op == UN_SQRT || op == UN_ABS || op == UN_SIGN || op == UN_RELU || op == UN_STEP
    || op == UN_SQUARE || op == UN_RECIP || op == UN_LEAKY_RELU || op == UN_LEAKY_RELU_DERIV;
  if (vectorised(op)) {
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i * 4;
      v128.store(out + off, vunary(op, v128.load(a + off)));
    }
  } else if (op == UN_ELU || op == UN_ELU_DERIV || op == UN_SELU || op == UN_SELU_DERIV || op == UN_HARDTANH || op == UN_HARDTANH_DERIV) {
    // the activations with scalars, `activation`'s formulas on four lanes (vexp has Mathf.exp's bits)
    const zero = f32x4.splat(0), one = f32x4.splat(1), vp0 = f32x4.splat(p0), vp1 = f32x4.splat(p1);
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i * 4;
      const x = v128.load(a + off);
      let y: v128;
      switch (op) {
        case UN_ELU: y = v128.bitselect(f32x4.mul(f32x4.sub(vexp(x), one), vp0), x, f32x4.le(x, zero)); break;
        case UN_ELU_DERIV: y = v128.bitselect(one, f32x4.mul(vp0, vexp(x)), f32x4.gt(x, zero)); break;
        case UN_SELU: y = v128.bitselect(f32x4.mul(f32x4.sub(vexp(x), one), vp0), f32x4.mul(x, vp1), f32x4.le(x, zero)); break;
        case UN_SELU_DERIV: y = v128.bitselect(vp1, f32x4.mul(vp0, vexp(x)), f32x4.gt(x, zero)); break;
        case UN_HARDTANH: {
          const v = v128.bitselect(vp0, x, f32x4.ge(vp0, x));
          y = v128.bitselect(vp1, v, f32x4.le(vp1, v));
          break;
        }
        default: y = v128.and(v128.and(f32x4.gt(x, vp0), f32x4.lt(x, vp1)), one); // UN_HARDTANH_DERIV
      }
      v128.store(out + off, y);
    }
  } else if (vec) {
    const zero = f32x4.splat(0), one = f32x4.splat(1), vp0 = f32x4.splat(p0);
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i * 4;
      const x = v128.load(a + off);
      let y: v128;
      switch (op) {
        case UN_NEG: y = f32x4.neg(x); break;
        case UN_SQRT: y = f32x4.sqrt(x); break;
        case UN_ABS: y = f32x4.abs(x); break;
        case UN_SIGN: y = v128.or(v128.and(f32x4.gt(x, zero), one), v128.and(f32x4.lt(x, zero), f32x4.splat(-1))); break;
        case UN_RELU: y = v128.andnot(x, f32x4.le(x, zero)); break;
        case UN_STEP: y = v128.and(f32x4.gt(x, zero), one); break;
        case UN_SQUARE: y = f32x4.mul(x, x); break;
        case UN_LEAKY_RELU: y = v128.bitselect(x, f32x4.mul(x, vp0), f32x4.gt(x, zero)); break;
        case UN_LEAKY_RELU_DERIV: y = v128.bitselect(one, vp0, f32x4.gt(x, zero)); break;
        default: y = f32x4.div(one, x); break;
      }
      v128.store(out + off, y);
    }
  }
  for (; i < n; i++) {
    const off = <usize>i * 4;
    const x = load<f32>(a + off);
    let y: f32;
    switch (op) {
      case UN_NEG: y = -x; break;
      case UN_EXP: y = Mathf.exp(x); break;
      case UN_LOG: y = Mathf.log(x); break;
      case UN_SQRT: y = Mathf.sqrt(x); break;
      case UN_ABS: y = Mathf.abs(x); break;
      case UN_SIGN: y = x > 0 ? 1 : x < 0 ? -1 : 0; break;
      case UN_RELU: y = x <= 0 ? 0 : x; break;
      case UN_STEP: y = x > 0 ? 1 : 0; break;
      case UN_SIGMOID: y = sigmoid(x); break;
      case UN_TANH: y = Mathf.tanh(x); break;
      case UN_SQUARE: y = x * x; break;
      case UN_RECIP: y = 1 / x; break;
      default: y = activation(op, x, p0, p1); break;
    }
    store<f32>(out + off, y);
  }
}

/**
 * Terms a float32 partial sum takes before it is added to a float64 total: a block's rounding
 * error grows with its length, the total's stays at float64's, so a sum of any length is within
 * about SUM_BLOCK float32 roundings of the exact one (relative to the sum of absolute values), as
 * PyTorch's cascade sum is within O(log n); sequential float32 accumulation drifts with n (10⁶ ×
 * 0.1 gives 99,910). The float64 pass costs about 1/SUM_BLOCK of the float32 additions.
 */
const SUM_BLOCK: i32 = 16;

export function sum(a: usize, outer: i32, mid: i32, inner: i32, out: usize, acc: usize): void {
  for (let o = 0; o < outer; o++) {
    const base = a + <usize>(o * mid * inner) * 4;
    const po = out + <usize>(o * inner) * 4;
    if (inner == 1) {
      let total: f64 = 0;
      let m = 0;
      while (m + 8 <= mid) {
        // lanes of 8 consecutive elements, SUM_BLOCK per lane at most
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
        const end = min(mid, m + 8 * SUM_BLOCK);
        for (; m + 8 <= end; m += 8) {
          s0 = f32x4.add(s0, v128.load(base + <usize>m * 4));
          s1 = f32x4.add(s1, v128.load(base + <usize>m * 4, 16));
        }
        s0 = f32x4.add(s0, s1);
        total += <f64>f32x4.extract_lane(s0, 0) + <f64>f32x4.extract_lane(s0, 1) + <f64>f32x4.extract_lane(s0, 2) + <f64>f32x4.extract_lane(s0, 3);
      }
      for (; m < mid; m++) total += <f64>load<f32>(base + <usize>m * 4);
      store<f32>(po, <f32>total);
    } else {
      // po holds a block's float32 sums, acc the float64 totals of the blocks before it
      for (let m0 = 0; m0 < mid; m0 += SUM_BLOCK) {
        memory.copy(po, base + <usize>(m0 * inner) * 4, <usize>inner * 4);
        const m1 = min(mid, m0 + SUM_BLOCK);
        for (let m = m0 + 1; m < m1; m++) {
          const row = base + <usize>(m * inner) * 4;
          let i = 0;
          for (; i + 4 <= inner; i += 4) {
            const off = <usize>i * 4;
            v128.store(po + off, f32x4.add(v128.load(po + off), v128.load(row + off)));
          }
          for (; i < inner; i++) { const off = <usize>i * 4; store<f32>(po + off, load<f32>(po + off) + load<f32>(row + off)); }
        }
        if (mid <= SUM_BLOCK) break;
        for (let i = 0; i < inner; i++) {
          const d = acc + <usize>i * 8, v = <f64>load<f32>(po + <usize>i * 4);
          store<f64>(d, m0 == 0 ? v : load<f64>(d) + v);
        }
      }
      if (mid > SUM_BLOCK) for (let i = 0; i < inner; i++) store<f32>(po + <usize>i * 4, <f32>load<f64>(acc + <usize>i * 8));
    }
  }
}

/** out[o, i] = max_j a[o, j, i] (first maximum; the first NaN wins), arg (if non-zero) gets j. */
export function max(a: usize, outer: i32, len: i32, inner: i32, out: usize, arg: usize): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = a + <usize>(o * len * inner + i) * 4;
      let best = load<f32>(base);
      let bi = 0;
      for (let j = 1; j < len; j++) {
        const v = load<f32>(base + <usize>(j * inner) * 4);
        if (v > best || (v != v && best == best)) { best = v; bi = j; }
      }
      store<f32>(out + <usize>(o * inner + i) * 4, best);
      if (arg) store<i32>(arg + <usize>(o * inner + i) * 4, bi);
    }
  }
}

/**
 * (a − m) − log s per row and, where `probs` ≠ 0, the softmax e/s, with m the row maximum, e =
 * exp(a − m) and s = Σ e summed in float64 in column order. Four columns at a time: vexp gives
 * Mathf.exp's bits, the sum takes the lanes in column order, and the float64 steps are the same
 * operations two lanes at a time, so every result equals the one-column-at-a-time loop's.
 */
export function logSoftmax(a: usize, rows: i32, cols: i32, out: usize, probs: usize): void {
  const vec = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const pa = a + <usize>(r * cols) * 4, po = out + <usize>(r * cols) * 4, pp = probs + <usize>(r * cols) * 4;
    let m: f32 = -Infinity;
    for (let j = 0; j < cols; j++) { const v = load<f32>(pa + <usize>j * 4); if (v > m) m = v; }
    const mv = f32x4.splat(m);
    let s: f64 = 0;
    let j = 0;
    for (; j < vec; j += 4) {
      const e = vexp(f32x4.sub(v128.load(pa + <usize>j * 4), mv));
      if (probs) v128.store(pp + <usize>j * 4, e);
      s += <f64>f32x4.extract_lane(e, 0);
      s += <f64>f32x4.extract_lane(e, 1);
      s += <f64>f32x4.extract_lane(e, 2);
      s += <f64>f32x4.extract_lane(e, 3);
    }
    for (; j < cols; j++) {
      const e = Mathf.exp(load<f32>(pa + <usize>j * 4) - m);
      s += <f64>e;
      if (probs) store<f32>(pp + <usize>j * 4, e);
    }
    // (a − m) − log s in f64, rounded once: m + log s would round log s away where |m| ≫ log s
    const logS = Math.log(s), m64 = <f64>m;
    const m2 = f64x2.splat(m64), l2 = f64x2.splat(logS);
    for (j = 0; j < vec; j += 4) {
      const x = v128.load(pa + <usize>j * 4);
      const lo = f64x2.sub(f64x2.sub(f64x2.promote_low_f32x4(x), m2), l2);
      const hi = f64x2.sub(f64x2.sub(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1)), m2), l2);
      v128.store(po + <usize>j * 4, i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
    for (; j < cols; j++) store<f32>(po + <usize>j * 4, <f32>(<f64>load<f32>(pa + <usize>j * 4) - m64 - logS));
    // the softmax too when asked (the cross-entropy's backward needs it; exp is the costly part)
    if (probs) {
      const s2 = f64x2.splat(s);
      for (j = 0; j < vec; j += 4) {
        const e = v128.load(pp + <usize>j * 4);
        const lo = f64x2.div(f64x2.promote_low_f32x4(e), s2);
        const hi = f64x2.div(f64x2.promote_low_f32x4(i32x4.shuffle(e, e, 2, 3, 0, 1)), s2);
        v128.store(pp + <usize>j * 4, i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
      }
      for (; j < cols; j++) store<f32>(pp + <usize>j * 4, <f32>(<f64>load<f32>(pp + <usize>j * 4) / s));
    }
  }
}

/** dst[i] += src[i] (sums per-thread partial results). */
export function addInto(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i * 4;
    v128.store(dst + off, f32x4.add(v128.load(dst + off), v128.load(src + off)));
  }
  for (; i < n; i++) { const off = <usize>i * 4; store<f32>(dst + off, load<f32>(dst + off) + load<f32>(src + off)); }
}
