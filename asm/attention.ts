/**
 * Self-attention on the packed projections (src/autograd/attention.ts, packedSelfAttention): one
 * call each way for every (sequence, head) pair instead of the composed ops' batched products,
 * softmax, dropout and the heads' split and merge, each with its own arrays.
 *
 *   qkv    [N, L, 3, H, D]  each position's row of 3E = 3·H·D floats: q's E, k's E, v's E
 *   out    [N, L, H, D]     the heads side by side, as the output projection takes them
 *   probs  [N, H, L, L]     the softmax P (before dropout), written forward and read backward
 *   mask   [N, H, L, L]     the dropout mask (0 or 1/(1 − p)), or 0 for none
 *
 * Task t = n·H + h; a call runs the tasks [t0, t1), so threads split them. Scores are
 * scale·(q_i·k_j); with `causal` key j > i gets no weight (P = 0). A row's softmax is exp(s − max)
 * (expf_lut, as the logSoftmax kernel) over its float64 sum, each P rounded once to float32; the
 * dropped weights are P·mask. Backward, with P′ = P·mask and g the output's gradient:
 *
 *   dP = (g_i·v_j)·mask      dS = scale·P·(dP − Σ_j dP·P)
 *   dq_i = Σ_j dS_ij k_j     dk_j = Σ_i dS_ij q_i     dv_j = Σ_i P′_ij g_i
 *
 * written into gqkv with qkv's layout (every element: no zeroing needed).
 */
import { vexp } from './activations';
import { madd } from './gemm';

/** Floats of scratch one part needs: a transposed k (or v) [D, L4] and a row [L4]; backward dS and P′ transposed [L, L4] more. */
export function attnScratchFloats(L: i32, D: i32, backward: bool): i32 {
  const L4 = (L + 3) & ~3;
  return D * L4 + L4 + (backward ? 2 * L * L4 : 0);
}

/** Writes the D × L matrix whose column j is the head's D values at src + j·rowStride into dst [D, L4], zero-padded to L4 columns. */
@inline function transposeHead(src: usize, rowStride: i32, L: i32, L4: i32, D: i32, dst: usize): void {
  for (let j = 0; j < L4; j++) {
    const p = src + <usize>j * <usize>rowStride * 4;
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

export function attnForward(
  qkv: usize,
  out: usize,
  probs: usize,
  mask: usize,
  L: i32,
  H: i32,
  D: i32,
  scale: f32,
  causal: bool,
  scratch: usize,
  t0: i32,
  t1: i32,
): void {
  const E = H * D, R = 3 * E, L4 = (L + 3) & ~3;
  const kt = scratch, row = scratch + <usize>(D * L4) * 4;
  for (let t = t0; t < t1; t++) {
    const n = t / H, h = t % H;
    const q = qkv + (<usize>n * <usize>L * <usize>R + <usize>(h * D)) * 4, k = q + <usize>E * 4, v = q + <usize>(2 * E) * 4;
    const pt = probs + <usize>t * <usize>(L * L) * 4, mt = mask ? mask + <usize>t * <usize>(L * L) * 4 : 0;
    transposeHead(k, R, L, L4, D, kt);
    for (let i = 0; i < L; i++) {
      const jEnd = causal ? i + 1 : L, jEnd4 = (jEnd + 3) & ~3;
      rowTimes(q + <usize>i * <usize>R * 4, kt, L4, D, jEnd4, scale, row);
      // keys past jEnd (padding, or masked) count as −∞: exp gives them 0
      for (let j = jEnd; j < jEnd4; j++) store<f32>(row + <usize>j * 4, -Infinity);
      let m: f32 = -Infinity;
      for (let j = 0; j < jEnd; j++) m = max(m, load<f32>(row + <usize>j * 4));
      const mv = f32x4.splat(m);
      let s: f64 = 0;
      for (let j = 0; j < jEnd4; j += 4) {
        const e = vexp(f32x4.sub(v128.load(row + <usize>j * 4), mv));
        v128.store(row + <usize>j * 4, e);
        s += <f64>f32x4.extract_lane(e, 0) + <f64>f32x4.extract_lane(e, 1) + <f64>f32x4.extract_lane(e, 2) + <f64>f32x4.extract_lane(e, 3);
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
      for (let j = jEnd4; j < L4; j += 4) v128.store(row + <usize>j * 4, f32x4.splat(0));
      const pr = pt + <usize>(i * L) * 4;
      let j = 0;
      for (; j + 4 <= L; j += 4) v128.store(pr + <usize>j * 4, v128.load(row + <usize>j * 4));
      for (; j < L; j++) store<f32>(pr + <usize>j * 4, load<f32>(row + <usize>j * 4));
      if (mt) {
        const mr = mt + <usize>(i * L) * 4;
        for (let j = 0; j < jEnd; j++) store<f32>(row + <usize>j * 4, load<f32>(row + <usize>j * 4) * load<f32>(mr + <usize>j * 4));
      }
      weightedRows(row, v, R, jEnd, D, out + (<usize>(n * L + i) * <usize>E + <usize>(h * D)) * 4);
    }
  }
}

export function attnBackward(
  qkv: usize,
  gout: usize,
  probs: usize,
  mask: usize,
  gqkv: usize,
  L: i32,
  H: i32,
  D: i32,
  scale: f32,
  causal: bool,
  scratch: usize,
  t0: i32,
  t1: i32,
): void {
  const E = H * D, R = 3 * E, L4 = (L + 3) & ~3;
  // v transposed [D, L4], a row of dS [L4], then dS and P′ transposed [L, L4] (column i of row j: query i)
  const vt = scratch, ds = vt + <usize>(D * L4) * 4, dst = ds + <usize>L4 * 4, pdt = dst + <usize>(L * L4) * 4;
  for (let t = t0; t < t1; t++) {
    const n = t / H, h = t % H;
    const off = (<usize>n * <usize>L * <usize>R + <usize>(h * D)) * 4;
    const q = qkv + off, k = q + <usize>E * 4, v = q + <usize>(2 * E) * 4;
    const gq = gqkv + off, gk = gq + <usize>E * 4, gv = gq + <usize>(2 * E) * 4;
    const g0 = gout + (<usize>(n * L) * <usize>E + <usize>(h * D)) * 4;
    const pt = probs + <usize>t * <usize>(L * L) * 4, mt = mask ? mask + <usize>t * <usize>(L * L) * 4 : 0;
    transposeHead(v, R, L, L4, D, vt);
    for (let i = 0; i < L; i++) {
      const jEnd = causal ? i + 1 : L, jEnd4 = (jEnd + 3) & ~3;
      const g = g0 + <usize>i * <usize>E * 4;
      rowTimes(g, vt, L4, D, jEnd4, 1, ds);
      const pr = pt + <usize>(i * L) * 4, mr = mt ? mt + <usize>(i * L) * 4 : 0;
      let dot: f64 = 0;
      for (let j = 0; j < jEnd; j++) {
        const p = load<f32>(pr + <usize>j * 4), mk: f32 = mr ? load<f32>(mr + <usize>j * 4) : 1;
        const dp = load<f32>(ds + <usize>j * 4) * mk;
        store<f32>(ds + <usize>j * 4, dp);
        store<f32>(pdt + <usize>(j * L4 + i) * 4, p * mk);
        dot += <f64>(dp * p);
      }
      const d32 = <f32>dot;
      for (let j = 0; j < jEnd; j++) {
        const dsj = scale * (load<f32>(pr + <usize>j * 4) * (load<f32>(ds + <usize>j * 4) - d32));
        store<f32>(ds + <usize>j * 4, dsj);
        store<f32>(dst + <usize>(j * L4 + i) * 4, dsj);
      }
      weightedRows(ds, k, R, jEnd, D, gq + <usize>i * <usize>R * 4);
    }
    // dk_j = Σ_i dS_ij q_i, dv_j = Σ_i P′_ij g_i over the queries that see key j (i ≥ j when causal)
    for (let j = 0; j < L; j++) {
      const i0 = causal ? j : 0;
      const col = <usize>(j * L4 + i0) * 4;
      weightedRows(dst + col, q + <usize>i0 * <usize>R * 4, R, L - i0, D, gk + <usize>j * <usize>R * 4);
      weightedRows(pdt + col, g0 + <usize>i0 * <usize>E * 4, E, L - i0, D, gv + <usize>j * <usize>R * 4);
    }
  }
}
