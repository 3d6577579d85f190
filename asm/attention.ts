/**
 * Scaled dot-product attention, one call each way for every (sequence, head) pair instead of the
 * composed ops' batched products, softmax, dropout and the heads' split and merge, each with its
 * own arrays (src/autograd/attention.ts: packedSelfAttention and scaledDotProductAttention).
 *
 *   q, k, v, out   each sequence's heads at the strides of the layout block (asm/geometry.ts,
 *                  ATT_*): MultiheadAttention's packed projection [N, L, 3, H, D] and its output
 *                  [N, L, H, D], or contiguous [N, H, L, D] tensors, without a copy
 *   probs          [N, H, Lq, Lk] the softmax P (before dropout), written forward and read backward
 *   mask           [N, H, Lq, Lk] the dropout mask (0 or 1/(1 − p)), or 0 for none
 *
 * Task t = n·H + h; a call runs the tasks [t0, t1), so threads split them. Scores are
 * scale·(q_i·k_j); with `causal` key j > i gets no weight (P = 0). A row's softmax is exp(s − max)
 * (expf_lut, as the logSoftmax kernel) over its float64 sum, each P rounded once to float32; the
 * dropped weights are P′ = P·mask. Backward, with g the output's gradient:
 *
 *   dP = (g_i·v_j)·mask      dS = scale·P·(dP − Σ_j dP·P)
 *   dq_i = Σ_j dS_ij k_j     dk_j = Σ_i dS_ij q_i     dv_j = Σ_i P′_ij g_i
 *
 * written into gq, gk, gv at their operands' strides (every element: no zeroing needed).
 */
import { vexp } from './activations';
import { madd } from './gemm';
import { hsum } from './norm';
import { ATT_LQ, ATT_LK, ATT_H, ATT_DK, ATT_DV, ATT_Q, ATT_K, ATT_V, ATT_O } from './geometry';

/** Floats of scratch one part needs: a transposed k [Dk, Lk4] and a row [Lk4]; backward a transposed v [Dv, Lk4], a row, and dS and P′ transposed [Lk, Lq4]. */
export function attnScratchFloats(lay: usize, backward: bool): i32 {
  const Lk4 = (load<i32>(lay, ATT_LK * 4) + 3) & ~3, Lq4 = (load<i32>(lay, ATT_LQ * 4) + 3) & ~3;
  return backward ? load<i32>(lay, ATT_DV * 4) * Lk4 + Lk4 + 2 * load<i32>(lay, ATT_LK * 4) * Lq4 : load<i32>(lay, ATT_DK * 4) * Lk4 + Lk4;
}

/** Floats from the start of an operand to sequence n's head h, by the strides at slot `at` of the layout. */
@inline function headOffset(lay: usize, at: i32, n: i32, h: i32): usize {
  return <usize>n * <usize>load<i32>(lay + <usize>at * 4) + <usize>h * <usize>load<i32>(lay + <usize>(at + 1) * 4);
}

/** The stride between positions of the operand at slot `at`. */
@inline function posStride(lay: usize, at: i32): i32 {
  return load<i32>(lay + <usize>(at + 2) * 4);
}

/** Writes the D × L matrix whose column j is the head's D values at src + j·stride floats into dst [D, L4], zero-padded to L4 columns. */
@inline function transposeHead(src: usize, stride: i32, L: i32, L4: i32, D: i32, dst: usize): void {
  for (let j = 0; j < L4; j++) {
    const p = src + <usize>j * <usize>stride * 4;
    for (let c = 0; c < D; c++) store<f32>(dst + <usize>(c * L4 + j) * 4, j < L ? load<f32>(p + <usize>c * 4) : 0);
  }
}

/**
 * row[j] = scale·Σ_c a[c]·T[c, j] for j in [0, jEnd4) (T: [D, L4]). Sixteen columns at a time in
 * four independent sums (one sum's chain of dependent adds would bound the loop by its latency).
 */
@inline function rowTimes(a: usize, T: usize, L4: i32, D: i32, jEnd4: i32, scale: f32, row: usize): void {
  const sv = f32x4.splat(scale);
  let j = 0;
  for (; j + 16 <= jEnd4; j += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let c = 0; c < D; c++) {
      const x = v128.load32_splat(a + <usize>c * 4), t = T + <usize>(c * L4 + j) * 4;
      a0 = madd(x, v128.load(t), a0);
      a1 = madd(x, v128.load(t, 16), a1);
      a2 = madd(x, v128.load(t, 32), a2);
      a3 = madd(x, v128.load(t, 48), a3);
    }
    const r = row + <usize>j * 4;
    v128.store(r, f32x4.mul(a0, sv));
    v128.store(r, f32x4.mul(a1, sv), 16);
    v128.store(r, f32x4.mul(a2, sv), 32);
    v128.store(r, f32x4.mul(a3, sv), 48);
  }
  for (; j + 8 <= jEnd4; j += 8) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    for (let c = 0; c < D; c++) {
      const x = v128.load32_splat(a + <usize>c * 4), t = T + <usize>(c * L4 + j) * 4;
      a0 = madd(x, v128.load(t), a0);
      a1 = madd(x, v128.load(t, 16), a1);
    }
    v128.store(row + <usize>j * 4, f32x4.mul(a0, sv));
    v128.store(row + <usize>j * 4, f32x4.mul(a1, sv), 16);
  }
  for (; j < jEnd4; j += 4) {
    let acc = f32x4.splat(0);
    for (let c = 0; c < D; c++) acc = madd(v128.load32_splat(a + <usize>c * 4), v128.load(T + <usize>(c * L4 + j) * 4), acc);
    v128.store(row + <usize>j * 4, f32x4.mul(acc, sv));
  }
}

/**
 * dst[c] = Σ_{j < jEnd} w[j]·src_j[c] for c in [0, D) (src_j at src + j·rowStride floats); sixteen
 * values of c at a time in four independent sums, as rowTimes.
 */
@inline function weightedRows(w: usize, src: usize, rowStride: i32, jEnd: i32, D: i32, dst: usize): void {
  let c = 0;
  for (; c + 16 <= D; c += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let j = 0; j < jEnd; j++) {
      const x = v128.load32_splat(w + <usize>j * 4), s = src + (<usize>j * <usize>rowStride + <usize>c) * 4;
      a0 = madd(x, v128.load(s), a0);
      a1 = madd(x, v128.load(s, 16), a1);
      a2 = madd(x, v128.load(s, 32), a2);
      a3 = madd(x, v128.load(s, 48), a3);
    }
    const o = dst + <usize>c * 4;
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  for (; c + 4 <= D; c += 4) {
    let acc = f32x4.splat(0);
    for (let j = 0; j < jEnd; j++)
      acc = madd(v128.load32_splat(w + <usize>j * 4), v128.load(src + (<usize>j * <usize>rowStride + <usize>c) * 4), acc);
    v128.store(dst + <usize>c * 4, acc);
  }
  for (; c < D; c++) {
    let acc: f32 = 0;
    for (let j = 0; j < jEnd; j++) acc += load<f32>(w + <usize>j * 4) * load<f32>(src + (<usize>j * <usize>rowStride + <usize>c) * 4);
    store<f32>(dst + <usize>c * 4, acc);
  }
}

export function attnForward(q0: usize, k0: usize, v0: usize, out: usize, probs: usize, mask: usize, lay: usize, scale: f32, causal: bool, scratch: usize, t0: i32, t1: i32): void {
  const Lq = load<i32>(lay, ATT_LQ * 4), Lk = load<i32>(lay, ATT_LK * 4), H = load<i32>(lay, ATT_H * 4);
  const Dk = load<i32>(lay, ATT_DK * 4), Dv = load<i32>(lay, ATT_DV * 4);
  const qL = posStride(lay, ATT_Q), kL = posStride(lay, ATT_K), vL = posStride(lay, ATT_V), oL = posStride(lay, ATT_O);
  const Lk4 = (Lk + 3) & ~3;
  const kt = scratch, row = scratch + <usize>(Dk * Lk4) * 4;
  for (let t = t0; t < t1; t++) {
    const n = t / H, h = t % H;
    const q = q0 + headOffset(lay, ATT_Q, n, h) * 4, k = k0 + headOffset(lay, ATT_K, n, h) * 4, v = v0 + headOffset(lay, ATT_V, n, h) * 4;
    const o = out + headOffset(lay, ATT_O, n, h) * 4;
    const pt = probs + <usize>t * <usize>(Lq * Lk) * 4, mt = mask ? mask + <usize>t * <usize>(Lq * Lk) * 4 : 0;
    transposeHead(k, kL, Lk, Lk4, Dk, kt);
    for (let i = 0; i < Lq; i++) {
      const jEnd = causal ? min(i + 1, Lk) : Lk, jEnd4 = (jEnd + 3) & ~3;
      rowTimes(q + <usize>i * <usize>qL * 4, kt, Lk4, Dk, jEnd4, scale, row);
      // keys past jEnd (padding, or masked) count as −∞: exp gives them 0
      for (let j = jEnd; j < jEnd4; j++) store<f32>(row + <usize>j * 4, -Infinity);
      let m: f32 = -Infinity;
      for (let j = 0; j < jEnd; j++) m = max(m, load<f32>(row + <usize>j * 4));
      const mv = f32x4.splat(m);
      let s: f64 = 0;
      for (let j = 0; j < jEnd4; j += 4) {
        const e = vexp(f32x4.sub(v128.load(row + <usize>j * 4), mv));
        v128.store(row + <usize>j * 4, e);
        s += hsum(e);
      }
      // P = e / s in float64, rounded once (the lanes past jEnd are 0); P′ = P·mask back into the row
      const s2 = f64x2.splat(s);
      for (let j = 0; j < jEnd4; j += 4) {
        const e = v128.load(row + <usize>j * 4);
        const lo = f64x2.div(f64x2.promote_low_f32x4(e), s2);
        const hi = f64x2.div(f64x2.promote_low_f32x4(i32x4.shuffle(e, e, 2, 3, 0, 1)), s2);
        v128.store(row + <usize>j * 4, i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
      }
      // the row into probs, 0 past jEnd (a loop: memory.copy on shared memory is a call per row)
      for (let j = jEnd4; j < Lk4; j += 4) v128.store(row + <usize>j * 4, f32x4.splat(0));
      const pr = pt + <usize>(i * Lk) * 4;
      let j = 0;
      for (; j + 4 <= Lk; j += 4) v128.store(pr + <usize>j * 4, v128.load(row + <usize>j * 4));
      for (; j < Lk; j++) store<f32>(pr + <usize>j * 4, load<f32>(row + <usize>j * 4));
      if (mt) {
        const mr = mt + <usize>(i * Lk) * 4;
        for (let j = 0; j < jEnd; j++) store<f32>(row + <usize>j * 4, load<f32>(row + <usize>j * 4) * load<f32>(mr + <usize>j * 4));
      }
      weightedRows(row, v, vL, jEnd, Dv, o + <usize>i * <usize>oL * 4);
    }
  }
}

export function attnBackward(
  q0: usize,
  k0: usize,
  v0: usize,
  gout: usize,
  gq0: usize,
  gk0: usize,
  gv0: usize,
  probs: usize,
  mask: usize,
  lay: usize,
  scale: f32,
  causal: bool,
  scratch: usize,
  t0: i32,
  t1: i32,
): void {
  const Lq = load<i32>(lay, ATT_LQ * 4), Lk = load<i32>(lay, ATT_LK * 4), H = load<i32>(lay, ATT_H * 4);
  const Dk = load<i32>(lay, ATT_DK * 4), Dv = load<i32>(lay, ATT_DV * 4);
  const qL = posStride(lay, ATT_Q), kL = posStride(lay, ATT_K), vL = posStride(lay, ATT_V), oL = posStride(lay, ATT_O);
  const Lk4 = (Lk + 3) & ~3, Lq4 = (Lq + 3) & ~3;
  // v transposed [Dv, Lk4], a row of dS [Lk4], then dS and P′ transposed [Lk, Lq4] (column i of row j: query i)
  const vt = scratch, ds = vt + <usize>(Dv * Lk4) * 4, dst = ds + <usize>Lk4 * 4, pdt = dst + <usize>(Lk * Lq4) * 4;
  for (let t = t0; t < t1; t++) {
    const n = t / H, h = t % H;
    const qo = headOffset(lay, ATT_Q, n, h) * 4, ko = headOffset(lay, ATT_K, n, h) * 4, vo = headOffset(lay, ATT_V, n, h) * 4;
    const q = q0 + qo, k = k0 + ko, v = v0 + vo;
    const gq = gq0 + qo, gk = gk0 + ko, gv = gv0 + vo;
    const g0 = gout + headOffset(lay, ATT_O, n, h) * 4;
    const pt = probs + <usize>t * <usize>(Lq * Lk) * 4, mt = mask ? mask + <usize>t * <usize>(Lq * Lk) * 4 : 0;
    transposeHead(v, vL, Lk, Lk4, Dv, vt);
    for (let i = 0; i < Lq; i++) {
      const jEnd = causal ? min(i + 1, Lk) : Lk, jEnd4 = (jEnd + 3) & ~3;
      const g = g0 + <usize>i * <usize>oL * 4;
      rowTimes(g, vt, Lk4, Dv, jEnd4, 1, ds);
      const pr = pt + <usize>(i * Lk) * 4, mr = mt ? mt + <usize>(i * Lk) * 4 : 0;
      let dot: f64 = 0;
      for (let j = 0; j < jEnd; j++) {
        const p = load<f32>(pr + <usize>j * 4), mk: f32 = mr ? load<f32>(mr + <usize>j * 4) : 1;
        const dp = load<f32>(ds + <usize>j * 4) * mk;
        store<f32>(ds + <usize>j * 4, dp);
        store<f32>(pdt + <usize>(j * Lq4 + i) * 4, p * mk);
        dot += <f64>(dp * p);
      }
      const d32 = <f32>dot;
      for (let j = 0; j < jEnd; j++) {
        const dsj = scale * (load<f32>(pr + <usize>j * 4) * (load<f32>(ds + <usize>j * 4) - d32));
        store<f32>(ds + <usize>j * 4, dsj);
        store<f32>(dst + <usize>(j * Lq4 + i) * 4, dsj);
      }
      weightedRows(ds, k, kL, jEnd, Dk, gq + <usize>i * <usize>qL * 4);
    }
    // dk_j = Σ_i dS_ij q_i, dv_j = Σ_i P′_ij g_i over the queries that see key j (i ≥ j when causal;
    // none for a key past the last query, whose gradients are 0)
    for (let j = 0; j < Lk; j++) {
      const i0 = causal ? min(j, Lq) : 0;
      const col = <usize>(j * Lq4 + i0) * 4;
      weightedRows(dst + col, q + <usize>i0 * <usize>qL * 4, qL, Lq - i0, Dk, gk + <usize>j * <usize>kL * 4);
      weightedRows(pdt + col, g0 + <usize>i0 * <usize>oL * 4, oL, Lq - i0, Dv, gv + <usize>j * <usize>vL * 4);
    }
  }
}
