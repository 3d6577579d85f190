/**
 * Winograd F(2×2, 5×5) for stride-1 5×5 convolutions (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016): each 2×2 block of outputs comes from a 6×6 patch of the
 * input with 36 multiplications per channel pair instead of 100 (2.8× fewer), at the price of the
 * transforms below. Interpolation points 0, ±1, ±2, ∞ (derived and checked in
 * tools/winograd_f2x5.py):
 *
 *   Bᵀ = [ 4  0 -5  0  1  0        G = [  1/4     0     0     0     0        Aᵀ = [ 1  1  1  1  1  0
 *          0 -4 -4  1  1  0              -1/6  -1/6  -1/6  -1/6  -1/6               0  1 -1  2 -2  1 ]
 *          0  4 -4 -1  1  0              -1/6   1/6  -1/6   1/6  -1/6
 *          0 -2 -1  2  1  0              1/24  1/12   1/6   1/3   2/3
 *          0  2 -1 -2  1  0              1/24 -1/12   1/6  -1/3   2/3
 *          0  4  0 -5  0  1 ]               0     0     0     0     1 ]
 *
 *   Y = Aᵀ [ Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B) ] A
 *
 * Per WINO_NB images: the input transform writes V[ξ][c][tile] (ξ = one of the 36 cells of the
 * 6×6 transform), 36 products M[ξ] = U[ξ] · V[ξ] (U[ξ][k][c], the filters' transform, computed once
 * per call by winogradFilters) run on the packed GEMM, and the output transform writes the 2×2
 * blocks (+ bias, ReLU). The input gradient is the same routine on the transposed, rotated filters;
 * the weight gradient (winogradWeightGrad, winogradFilterGrad) runs the adjoint transforms. The
 * transforms work on 4 tiles of a tile row at a time (SIMD lanes).
 */
import { gemm } from './gemm';

/** Images whose tiles go through the 36 products together (their columns); scratch is sized for it. */
export const WINO_NB: i32 = 4;

export function winogradBatch(): i32 {
  return WINO_NB;
}

/** Floats of scratch nb images need: V, M, the padded plane and the vector temporaries (before the GEMM's scratch). */
export function winogradScratchFloats(c: i32, k: i32, oh: i32, ow: i32, nb: i32): i32 {
  const th = (oh + 1) >> 1, tw = (ow + 1) >> 1, t = th * tw * nb;
  return 36 * c * t + 36 * k * t + (2 * th + 4) * (2 * tw + 16) + 42 * 4 + 32;
}

/**
 * U[ξ][kk][cc] = (G g Gᵀ)[ξ] for the 5×5 filters g = w[kk][cc] of w [K][C][5][5]. With `flip`, the
 * filters of the input gradient's convolution instead (the same layer transposed and rotated by
 * 180°): U[ξ][cc][kk] from g[i][j] = w[kk][cc][4 − i][4 − j]. t: 30 floats of scratch.
 */
export function winogradFilters(w: usize, u: usize, k: i32, c: i32, t: usize, flip: bool): void {
  const kc = k * c;
  for (let f = 0; f < kc; f++) {
    const g = w + <usize>f * 100;
    // rows of G·g (each a combination of g's 5 rows); the rotation reads g from its far corner
    for (let j = 0; j < 5; j++) {
      let g0: f32, g1: f32, g2: f32, g3: f32, g4: f32;
      if (flip) {
        const jj = 4 - j;
        g0 = load<f32>(g + <usize>(4 * 5 + jj) * 4); g1 = load<f32>(g + <usize>(3 * 5 + jj) * 4); g2 = load<f32>(g + <usize>(2 * 5 + jj) * 4);
        g3 = load<f32>(g + <usize>(1 * 5 + jj) * 4); g4 = load<f32>(g + <usize>(0 * 5 + jj) * 4);
      } else {
        g0 = load<f32>(g + <usize>(0 * 5 + j) * 4); g1 = load<f32>(g + <usize>(1 * 5 + j) * 4); g2 = load<f32>(g + <usize>(2 * 5 + j) * 4);
        g3 = load<f32>(g + <usize>(3 * 5 + j) * 4); g4 = load<f32>(g + <usize>(4 * 5 + j) * 4);
      }
      store<f32>(t + <usize>(0 * 5 + j) * 4, gRow0(g0));
      store<f32>(t + <usize>(1 * 5 + j) * 4, gRow1(g0, g1, g2, g3, g4));
      store<f32>(t + <usize>(2 * 5 + j) * 4, gRow2(g0, g1, g2, g3, g4));
      store<f32>(t + <usize>(3 * 5 + j) * 4, gRow3(g0, g1, g2, g3, g4));
      store<f32>(t + <usize>(4 * 5 + j) * 4, gRow4(g0, g1, g2, g3, g4));
      store<f32>(t + <usize>(5 * 5 + j) * 4, g4);
    }
    // (G g) Gᵀ: the same combinations along each row
    for (let i = 0; i < 6; i++) {
      const r = t + <usize>(i * 5) * 4;
      const a0 = load<f32>(r), a1 = load<f32>(r, 4), a2 = load<f32>(r, 8), a3 = load<f32>(r, 12), a4 = load<f32>(r, 16);
      // flipped: filter (kk, cc) = (f / c, f % c) lands at [cc][kk]
      const at = flip ? (f % c) * k + f / c : f;
      const base = u + <usize>at * 4, step = <usize>kc * 4, row = <usize>(i * 6);
      store<f32>(base + (row + 0) * step, gRow0(a0));
      store<f32>(base + (row + 1) * step, gRow1(a0, a1, a2, a3, a4));
      store<f32>(base + (row + 2) * step, gRow2(a0, a1, a2, a3, a4));
      store<f32>(base + (row + 3) * step, gRow3(a0, a1, a2, a3, a4));
      store<f32>(base + (row + 4) * step, gRow4(a0, a1, a2, a3, a4));
      store<f32>(base + (row + 5) * step, a4);
    }
  }
}

@inline function gRow0(a0: f32): f32 { return a0 * 0.25; }
@inline function gRow1(a0: f32, a1: f32, a2: f32, a3: f32, a4: f32): f32 { return -(a0 + a1 + a2 + a3 + a4) / 6; }
@inline function gRow2(a0: f32, a1: f32, a2: f32, a3: f32, a4: f32): f32 { return (-a0 + a1 - a2 + a3 - a4) / 6; }
@inline function gRow3(a0: f32, a1: f32, a2: f32, a3: f32, a4: f32): f32 { return (a0 + 2 * a1 + 4 * a2 + 8 * a3 + 16 * a4) / 24; }
@inline function gRow4(a0: f32, a1: f32, a2: f32, a3: f32, a4: f32): f32 { return (a0 - 2 * a1 + 4 * a2 - 8 * a3 + 16 * a4) / 24; }

/** The first `lanes` (1–4) lanes of v at dst: the last tiles of a row must not spill into the next row's. */
@inline function storeLanes(dst: usize, v: v128, lanes: i32): void {
  if (lanes == 4) { v128.store(dst, v); return; }
  store<f32>(dst, f32x4.extract_lane(v, 0));
  if (lanes > 1) store<f32>(dst, f32x4.extract_lane(v, 1), 4);
  if (lanes > 2) store<f32>(dst, f32x4.extract_lane(v, 2), 8);
}

/** The six outputs of Bᵀ·v for four lanes at once, stored at dst, dst+16, …, dst+80. */
@inline function btStore(v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, dst: usize): void {
  const four = f32x4.splat(4), five = f32x4.splat(5), two = f32x4.splat(2);
  v128.store(dst, f32x4.add(f32x4.sub(f32x4.mul(four, v0), f32x4.mul(five, v2)), v4));
  const a = f32x4.add(v3, v4), b = f32x4.mul(four, f32x4.add(v1, v2)), c = f32x4.sub(v4, v3), d = f32x4.mul(four, f32x4.sub(v1, v2));
  v128.store(dst, f32x4.sub(a, b), 16);
  v128.store(dst, f32x4.add(c, d), 32);
  const e = f32x4.sub(v4, v2), h = f32x4.mul(two, f32x4.sub(v3, v1));
  v128.store(dst, f32x4.add(e, h), 48);
  v128.store(dst, f32x4.sub(e, h), 64);
  v128.store(dst, f32x4.add(f32x4.sub(f32x4.mul(four, v1), f32x4.mul(five, v3)), v5), 80);
}

/**
 * V[ξ1·6+ξ2][ci][tile] = (Bᵀ d B)[ξ1][ξ2] for every 6×6 input patch d of nb images (tiles in
 * (image, row, column) order), 4 patches of a tile row per vector, read from P: one plane at a time
 * with its zero padding around (rows 2·th + 4, columns 2·tw + 16, so every patch and the widest
 * vector loads fit). P's margins are zeroed here once; each plane only fills the inside.
 */
@inline function inputTransform(xb: usize, nb: i32, c: i32, h: i32, w: i32, pad: i32, th: i32, tw: i32, V: usize, P: usize, R: usize, T6: usize): void {
  const PH = 2 * th + 4, PW = 2 * tw + 16, per = th * tw, nt = per * nb;
  const zv = f32x4.splat(0);
  for (let i = 0; i < PH * PW; i += 4) v128.store(P + <usize>i * 4, zv);
  const rows = min(h, PH - pad), cols = min(w, PW - pad);

  for (let pl = 0; pl < nb * c; pl++) {
    const plane = xb + <usize>(pl * h * w) * 4;
    const img = pl / c, ci = pl % c;
    for (let y = 0; y < rows; y++) {
      const src = plane + <usize>(y * w) * 4, dst = P + <usize>((y + pad) * PW + pad) * 4;
      let j = 0;
      for (; j + 4 <= cols; j += 4) v128.store(dst + <usize>j * 4, v128.load(src + <usize>j * 4));
      for (; j < cols; j++) store<f32>(dst + <usize>j * 4, load<f32>(src + <usize>j * 4));
    }
    for (let ty = 0; ty < th; ty++) {
      for (let t0 = 0; t0 < tw; t0 += 4) {
        // rows: R[i][ξ2] = Bᵀ along row i of the 4 patches; patch t's column j is 2t + j, so the
        // six inputs are the even and odd lanes of three pairs of vectors
        for (let i = 0; i < 6; i++) {
          const r = P + <usize>((2 * ty + i) * PW + 2 * t0) * 4;
          const a0 = v128.load(r), b0 = v128.load(r, 16), a1 = v128.load(r, 8), b1 = v128.load(r, 24), a2 = v128.load(r, 16), b2 = v128.load(r, 32);
          btStore(v128.shuffle<f32>(a0, b0, 0, 2, 4, 6), v128.shuffle<f32>(a0, b0, 1, 3, 5, 7),
            v128.shuffle<f32>(a1, b1, 0, 2, 4, 6), v128.shuffle<f32>(a1, b1, 1, 3, 5, 7),
            v128.shuffle<f32>(a2, b2, 0, 2, 4, 6), v128.shuffle<f32>(a2, b2, 1, 3, 5, 7), R + <usize>(i * 6) * 16);
        }
        // columns: for each ξ2, Bᵀ along the 6 rows, into V
        const lanes = min(4, tw - t0);
        const tile = img * per + ty * tw + t0;
        for (let x2 = 0; x2 < 6; x2++) {
          const col = R + <usize>x2 * 16;
          btStore(v128.load(col), v128.load(col, 96), v128.load(col, 192), v128.load(col, 288), v128.load(col, 384), v128.load(col, 480), T6);
          for (let x1 = 0; x1 < 6; x1++) {
            const v = v128.load(T6 + <usize>x1 * 16);
            const dst = V + (<usize>((x1 * 6 + x2) * c + ci) * <usize>nt + <usize>tile) * 4;
            storeLanes(dst, v, lanes);
          }
        }
      }
    }
  }
}

/**
 * nb consecutive images: ob[b][K][oh][ow] = conv(xb[b][C][h][w], w) (+ bias) (then ReLU) with
 * padding `pad`, given the filters' transform U. The images' tiles share the 36 products (more
 * columns for the GEMM: 49 tiles alone ran it at half speed). scratch: winogradScratchFloats
 * floats, then the GEMM's scratch.
 */
export function winogradImages(xb: usize, nb: i32, c: i32, h: i32, w: i32, pad: i32, u: usize, k: i32, ob: usize, oh: i32, ow: i32,
                               bias: usize, relu: bool, scratch: usize): void {
  const th = (oh + 1) >> 1, tw = (ow + 1) >> 1, nt = th * tw * nb, per = th * tw;
  const V = (scratch + 15) & ~15;
  const M = V + <usize>(36 * c * nt) * 4;
  const P = M + <usize>(36 * k * nt) * 4;        // a padded input plane: (2·th + 4) × (2·tw + 16)
  const PH = 2 * th + 4, PW = 2 * tw + 16;
  const R = P + <usize>(PH * PW) * 4;        // 6 × 6 vectors
  const T6 = R + 36 * 16;                    // 6 more vectors
  const gs = T6 + 6 * 16;                    // the GEMM's scratch (it aligns it itself)
  inputTransform(xb, nb, c, h, w, pad, th, tw, V, P, R, T6);

  // the 36 products M[ξ] = U[ξ] · V[ξ]: [K × C] · [C × tiles]
  for (let x = 0; x < 36; x++) {
    gemm(u + <usize>(x * k * c) * 4, V + <usize>(x * c * nt) * 4, M + <usize>(x * k * nt) * 4, k, nt, c, false, false, false, 0, k, 0, nt, gs);
  }

  // output transform: Y = Aᵀ m A per tile, 4 tiles at a time, then bias, ReLU, interleaved into the rows
  const zero4 = f32x4.splat(0), two = f32x4.splat(2);
  const mstep = <usize>(k * nt) * 4;
  for (let pl = 0; pl < nb * k; pl++) {
    const img = pl / k, kk = pl % k;
    const bv = bias ? f32x4.splat(load<f32>(bias + <usize>kk * 4)) : zero4;
    const out = ob + <usize>(pl * oh * ow) * 4;
    for (let ty = 0; ty < th; ty++) {
      for (let t0 = 0; t0 < tw; t0 += 4) {
        const m0 = M + <usize>(kk * nt + img * per + ty * tw + t0) * 4;
        // rows: S[ξ1] = (Aᵀ along the row ξ1): two vectors each
        let y00 = zero4, y01 = zero4, y10 = zero4, y11 = zero4;
        for (let x1 = 0; x1 < 6; x1++) {
          const p = m0 + <usize>(x1 * 6) * mstep;
          // (the last group of a row may read past its tiles, inside the scratch; those lanes are not stored)
          const a0 = v128.load(p), a1 = v128.load(p + mstep), a2 = v128.load(p + 2 * mstep);
          const a3 = v128.load(p + 3 * mstep), a4 = v128.load(p + 4 * mstep), a5 = v128.load(p + 5 * mstep);
          const s0 = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), a4);
          const s1 = f32x4.add(f32x4.add(f32x4.sub(a1, a2), f32x4.mul(two, f32x4.sub(a3, a4))), a5);
          // columns: Aᵀ row 0 takes ξ1 = 0..4, row 1 takes ξ1 = 1, −2, 2·3, −2·4, 5
          if (x1 < 5) { y00 = f32x4.add(y00, s0); y01 = f32x4.add(y01, s1); }
          if (x1 == 1) { y10 = f32x4.add(y10, s0); y11 = f32x4.add(y11, s1); }
          else if (x1 == 2) { y10 = f32x4.sub(y10, s0); y11 = f32x4.sub(y11, s1); }
          else if (x1 == 3) { y10 = f32x4.add(y10, f32x4.mul(two, s0)); y11 = f32x4.add(y11, f32x4.mul(two, s1)); }
          else if (x1 == 4) { y10 = f32x4.sub(y10, f32x4.mul(two, s0)); y11 = f32x4.sub(y11, f32x4.mul(two, s1)); }
          else if (x1 == 5) { y10 = f32x4.add(y10, s0); y11 = f32x4.add(y11, s1); }
        }
        y00 = f32x4.add(y00, bv); y01 = f32x4.add(y01, bv); y10 = f32x4.add(y10, bv); y11 = f32x4.add(y11, bv);
        if (relu) {
          y00 = v128.andnot(y00, f32x4.le(y00, zero4)); y01 = v128.andnot(y01, f32x4.le(y01, zero4));
          y10 = v128.andnot(y10, f32x4.le(y10, zero4)); y11 = v128.andnot(y11, f32x4.le(y11, zero4));
        }
        // row 2ty + i, columns 2t0 … 2t0 + 7: (y_i0, y_i1) of tile t0, then of t0 + 1, …
        const x0 = 2 * t0;
        for (let i = 0; i < 2; i++) {
          const oy = 2 * ty + i;
          if (oy >= oh) break;
          const c0 = i == 0 ? y00 : y10, c1 = i == 0 ? y01 : y11;
          const lo = v128.shuffle<f32>(c0, c1, 0, 4, 1, 5), hi = v128.shuffle<f32>(c0, c1, 2, 6, 3, 7);
          const dst = out + <usize>(oy * ow + x0) * 4;
          if (x0 + 8 <= ow) { v128.store(dst, lo); v128.store(dst, hi, 16); }
          else {
            v128.store(T6, lo); v128.store(T6, hi, 16);
            for (let j = 0; j < ow - x0; j++) store<f32>(dst + <usize>j * 4, load<f32>(T6 + <usize>j * 4));
          }
        }
      }
    }
  }
}


/** The six values (p, p + q, p − q, p + 2q, p − 2q, q): A·(p, q) for A = (Aᵀ)ᵀ, 6×2. */
@inline function aStore(p: v128, q: v128, dst: usize): void {
  const two = f32x4.splat(2), q2 = f32x4.mul(two, q);
  v128.store(dst, p);
  v128.store(dst, f32x4.add(p, q), 16);
  v128.store(dst, f32x4.sub(p, q), 32);
  v128.store(dst, f32x4.add(p, q2), 48);
  v128.store(dst, f32x4.sub(p, q2), 64);
  v128.store(dst, q, 80);
}

/**
 * The weight gradient of nb images in the Winograd domain: with V the input transform of x (as in
 * the forward) and Z[ξ][k][tile] = (A z Aᵀ)[ξ] for each 2×2 block z of the output gradient gz (the
 * adjoint of the output transform), dU[ξ] (+)= Z[ξ] · V[ξ]ᵀ — 36 products [K × tiles]·[tiles × C].
 * `first` overwrites dU, else it accumulates. winogradFilterGrad then turns dU into the 5×5
 * filters' gradient. scratch as winogradImages.
 */
export function winogradWeightGrad(xb: usize, gzb: usize, nb: i32, c: i32, h: i32, w: i32, pad: i32, k: i32, oh: i32, ow: i32,
                                   dU: usize, first: bool, scratch: usize): void {
  const th = (oh + 1) >> 1, tw = (ow + 1) >> 1, nt = th * tw * nb, per = th * tw;
  const V = (scratch + 15) & ~15;
  const Z = V + <usize>(36 * c * nt) * 4;
  const P = Z + <usize>(36 * k * nt) * 4;
  const PH = 2 * th + 4, PW = 2 * tw + 16;
  const R = P + <usize>(PH * PW) * 4;
  const T6 = R + 36 * 16;
  const gs = T6 + 6 * 16;
  inputTransform(xb, nb, c, h, w, pad, th, tw, V, P, R, T6);

  // Z: each gz plane copied into P (zero beyond its edges: the last tiles of odd sizes), then per
  // 4 blocks the rows' A·(z_i0, z_i1) and the columns' A·(row 0, row 1)
  const zv = f32x4.splat(0);
  for (let i = 0; i < PH * PW; i += 4) v128.store(P + <usize>i * 4, zv);
  for (let pl = 0; pl < nb * k; pl++) {
    const plane = gzb + <usize>(pl * oh * ow) * 4;
    const img = pl / k, kk = pl % k;
    for (let y = 0; y < oh; y++) {
      const src = plane + <usize>(y * ow) * 4, dst = P + <usize>(y * PW) * 4;
      let j = 0;
      for (; j + 4 <= ow; j += 4) v128.store(dst + <usize>j * 4, v128.load(src + <usize>j * 4));
      for (; j < ow; j++) store<f32>(dst + <usize>j * 4, load<f32>(src + <usize>j * 4));
    }
    for (let ty = 0; ty < th; ty++) {
      for (let t0 = 0; t0 < tw; t0 += 4) {
        const r0 = P + <usize>((2 * ty) * PW + 2 * t0) * 4, r1 = r0 + <usize>PW * 4;
        const a0 = v128.load(r0), b0 = v128.load(r0, 16), a1 = v128.load(r1), b1 = v128.load(r1, 16);
        // rows 0 and 1 of the 4 blocks, each expanded to 6 values
        aStore(v128.shuffle<f32>(a0, b0, 0, 2, 4, 6), v128.shuffle<f32>(a0, b0, 1, 3, 5, 7), R);
        aStore(v128.shuffle<f32>(a1, b1, 0, 2, 4, 6), v128.shuffle<f32>(a1, b1, 1, 3, 5, 7), R + 96);
        const lanes = min(4, tw - t0);
        const tile = img * per + ty * tw + t0;
        for (let x2 = 0; x2 < 6; x2++) {
          aStore(v128.load(R + <usize>x2 * 16), v128.load(R + 96 + <usize>x2 * 16), T6);
          for (let x1 = 0; x1 < 6; x1++) {
            const v = v128.load(T6 + <usize>x1 * 16);
            const dst = Z + (<usize>((x1 * 6 + x2) * k + kk) * <usize>nt + <usize>tile) * 4;
            storeLanes(dst, v, lanes);
          }
        }
      }
    }
  }

  // dU[ξ] (+)= Z[ξ] · V[ξ]ᵀ
  for (let x = 0; x < 36; x++) {
    gemm(Z + <usize>(x * k * nt) * 4, V + <usize>(x * c * nt) * 4, dU + <usize>(x * k * c) * 4, k, c, nt, false, true, !first, 0, k, 0, c, gs);
  }
}

/** G (6×5), row-major: the filter transform's matrix (see the header). */
const G_TABLE: StaticArray<f32> = [
  0.25, 0, 0, 0, 0,
  -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6,
  -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
  1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3,
  1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3,
  0, 0, 0, 0, 1,
];

/**
 * gw[kk][cc] = Gᵀ dU[·][kk][cc] G (5×5), the adjoint of winogradFilters: the filters' gradient
 * from the Winograd-domain gradient dU [36][K][C]; 4 input channels per vector (C a multiple of 4
 * on that path, the rest one at a time).
 */
export function winogradFilterGrad(dU: usize, gw: usize, k: i32, c: i32): void {
  const kc = k * c;
  for (let kk = 0; kk < k; kk++) {
    for (let c0 = 0; c0 < c; c0 += 4) {
      const lanes = min(4, c - c0);
      // t[ξ1][j] = Σ_ξ2 dU[ξ1][ξ2] G[ξ2][j]; then gw[i][j] = Σ_ξ1 G[ξ1][i] t[ξ1][j]
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 5; j++) {
          let acc = f32x4.splat(0);
          for (let x1 = 0; x1 < 6; x1++) {
            const gi = unchecked(G_TABLE[x1 * 5 + i]);
            if (gi == 0) continue;
            let t = f32x4.splat(0);
            for (let x2 = 0; x2 < 6; x2++) {
              const gj = unchecked(G_TABLE[x2 * 5 + j]);
              if (gj == 0) continue;
              const p = dU + <usize>((x1 * 6 + x2) * kc + kk * c + c0) * 4;
              const v = lanes == 4 ? v128.load(p) : loadPartial(p, lanes);
              t = f32x4.add(t, f32x4.mul(v, f32x4.splat(gj)));
            }
            acc = f32x4.add(acc, f32x4.mul(t, f32x4.splat(gi)));
          }
          const o = gw + <usize>((kk * c + c0) * 25 + i * 5 + j) * 4;
          store<f32>(o, f32x4.extract_lane(acc, 0));
          if (lanes > 1) store<f32>(o, f32x4.extract_lane(acc, 1), 100);
          if (lanes > 2) store<f32>(o, f32x4.extract_lane(acc, 2), 200);
          if (lanes > 3) store<f32>(o, f32x4.extract_lane(acc, 3), 300);
        }
      }
    }
  }
}

@inline function loadPartial(p: usize, lanes: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}
