/**
 * Winograd F(4×4, r×r) for stride-1 convolutions with 3×3 and 5×5 filters (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016): each 4×4 block of outputs comes from an
 * α×α patch of the input (α = r + 3) with α² multiplications per channel pair instead of 16·r²
 * (5×5: 64 instead of 400; 3×3: 36 instead of 144), at the price of the transforms. The matrices
 * are derived and checked in tools/winograd.py. 5×5, interpolation
 * points 0, ±1, ±2, ±1/2, ∞ (float32 error about twice F(2×2, 5×5)'s):
 *
 *   Bᵀ = [ 1   0   -21/4    0    21/4    0   -1  0      G = [  1      0      0      0      0
 *          0   1     1   -17/4  -17/4    1    1  0           -2/9   -2/9   -2/9   -2/9   -2/9
 *          0  -1     1    17/4  -17/4   -1    1  0           -2/9    2/9   -2/9    2/9   -2/9
 *          0  1/2   1/4   -5/2   -5/4    2    1  0           1/90   1/45   2/45   4/45   8/45
 *          0 -1/2   1/4    5/2   -5/4   -2    1  0           1/90  -1/45   2/45  -4/45   8/45
 *          0   2     4    -5/2    -5    1/2   1  0          32/45  16/45   8/45   4/45   2/45
 *          0  -2     4     5/2    -5   -1/2   1  0          32/45 -16/45   8/45  -4/45   2/45
 *          0  -1     0    21/4     0   -21/4  0  1 ]           0      0      0      0      1   ]
 *
 *   Aᵀ = [ 1  1  1  1  1   1    1    0
 *          0  1 -1  2 -2  1/2 -1/2   0
 *          0  1  1  4  4  1/4  1/4   0
 *          0  1 -1  8 -8  1/8 -1/8   1 ]
 *
 * 3×3, points 0, ±1, ±2, ∞:
 *
 *   Bᵀ = [ 4  0 -5  0  1  0        G = [  1/4    0     0         Aᵀ = [ 1  1  1  1  1  0
 *          0 -4 -4  1  1  0              -1/6  -1/6  -1/6                0  1 -1  2 -2  0
 *          0  4 -4 -1  1  0              -1/6   1/6  -1/6                0  1  1  4  4  0
 *          0 -2 -1  2  1  0              1/24  1/12   1/6                0  1 -1  8 -8  1 ]
 *          0  2 -1 -2  1  0              1/24 -1/12   1/6
 *          0  4  0 -5  0  1 ]              0     0     1  ]
 *
 *   Y = Aᵀ [ Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B) ] A
 *
 * Per WINO_NB images: the input transform writes V[ξ][c][tile] (ξ = one of the α² cells of the
 * α×α transform; as the GEMM's packed panels of 8 tiles when c ≤ KC), α² products
 * M[ξ] = U[ξ] · V[ξ] (U[ξ][k][c], the filters' transform, computed and packed once per call by
 * winogradFilters and winogradPackFilters) run on the packed GEMM, and the output transform writes
 * the 4×4 blocks (+ bias, ReLU). The input gradient is the same routine on the transposed, rotated filters;
 * the weight gradient (winogradWeightGrad, winogradFilterGrad) runs the adjoint transforms. The
 * transforms work on 4 tiles of a tile row at a time (SIMD lanes): columns first on whole vectors
 * of the plane, then a 4×4 transpose puts each tile's values in its own lane for the rows.
 */
import { KC, MR, gemm, gemmPackedA, gemmPackedAB, packAAll, panelWidth } from './gemm';

/** Images whose tiles go through the products together (their columns); scratch is sized for it. */
export const WINO_NB: i32 = 8;

export function winogradBatch(): i32 {
  return WINO_NB;
}

/** Cells of the transform domain for r×r filters: the α×α patch (the JS side sizes dU [cells][K][C] with it). */
export function winogradCells(r: i32): i32 {
  return (r + 3) * (r + 3);
}

/** Rows and columns of the padded plane the transforms read: every patch (up to 8×8) and every 5-vector load fits. */
@inline function planeRows(th: i32): i32 { return 4 * th + 4; }
@inline function planeCols(tw: i32): i32 { return 4 * tw + 20; }

/** Floats of scratch nb images need: V, M, the padded plane and the vector temporaries (before the GEMM's scratch). */
export function winogradScratchFloats(c: i32, k: i32, oh: i32, ow: i32, nb: i32, r: i32): i32 {
  const th = (oh + 3) >> 2, tw = (ow + 3) >> 2, t = th * tw * nb, cells = winogradCells(r);
  return cells * vCellFloats(c, t) + cells * cellFloats(k, t) + planeRows(th) * planeCols(tw) + 4 * (40 + 32 + 16) + 32;
}

/**
 * Floats from one cell's [rows × tiles] matrix of V, M or Z to the next: 16 more than the matrix,
 * so that the α cells a transform writes or reads at once never lie a power of two apart (with 32
 * channels × 128 tiles they would be 16 KiB apart and share one set of the L1 cache).
 */
@inline function cellFloats(rows: i32, nt: i32): i32 { return rows * nt + 16; }

/** Floats from one cell of V to the next: room for its tiles rounded up to whole 8-column panels (packed, see inputTransform). */
@inline function vCellFloats(rows: i32, nt: i32): i32 { return cellFloats(rows, (nt + 7) & ~7); }

/**
 * Where V[ξ][ci][tile] lies in a cell written packed (packBAll's layout of a [c × nt] operand one
 * KC block deep): 8-tile panels of c rows, a last panel of at most 4 tiles 4 wide when c ≥ DEEP4.
 */
@inline function packedAt(ci: i32, tile: i32, c: i32, nt: i32): i32 {
  const start = tile & ~7;
  return start * c + ci * panelWidth(min(8, nt - start), c) + (tile & 7);
}

/**
 * G·(g0 … g4) for 5×5 filters (see the header) in float64, its eight values at dst, dst + step, …
 * (as float32 when `narrow`): rows 1/2, 3/4 and 5/6 are sums and differences of the even and odd
 * taps.
 */
@inline function g5Store(g0: f64, g1: f64, g2: f64, g3: f64, g4: f64, dst: usize, step: usize, narrow: bool): void {
  const e1 = g0 + g2 + g4, o1 = g1 + g3;
  const e3 = g0 / 90 + g2 * (2.0 / 45) + g4 * (8.0 / 45), o3 = g1 / 45 + g3 * (4.0 / 45);
  const e5 = g0 * (32.0 / 45) + g2 * (8.0 / 45) + g4 * (2.0 / 45), o5 = g1 * (16.0 / 45) + g3 * (4.0 / 45);
  put(dst, g0, narrow);
  put(dst + step, (e1 + o1) * (-2.0 / 9), narrow);
  put(dst + 2 * step, (e1 - o1) * (-2.0 / 9), narrow);
  put(dst + 3 * step, e3 + o3, narrow);
  put(dst + 4 * step, e3 - o3, narrow);
  put(dst + 5 * step, e5 + o5, narrow);
  put(dst + 6 * step, e5 - o5, narrow);
  put(dst + 7 * step, g4, narrow);
}

/** G·(g0, g1, g2) for 3×3 filters, its six values at dst, dst + step, … (as g5Store). */
@inline function g3Store(g0: f64, g1: f64, g2: f64, dst: usize, step: usize, narrow: bool): void {
  const e1 = g0 + g2, e3 = g0 / 24 + g2 / 6, o3 = g1 / 12;
  put(dst, g0 / 4, narrow);
  put(dst + step, (e1 + g1) / -6, narrow);
  put(dst + 2 * step, (e1 - g1) / -6, narrow);
  put(dst + 3 * step, e3 + o3, narrow);
  put(dst + 4 * step, e3 - o3, narrow);
  put(dst + 5 * step, g2, narrow);
}

@inline function put(dst: usize, v: f64, narrow: bool): void {
  if (narrow) store<f32>(dst, <f32>v);
  else store<f64>(dst, v);
}

/** Filters transformed per block before their cells are written out (a cache line of each cell). */
const FILTER_BLOCK: i32 = 16;

/** Scratch bytes winogradFilters needs: G·g in float64 (up to 8 × 5), then a block's transforms (up to 8 × 8). */
export function winogradFiltersScratchBytes(): i32 {
  return 40 * 8 + FILTER_BLOCK * 64 * 4;
}

/**
 * U[ξ][kk][cc] = (G g Gᵀ)[ξ] for the r×r filters g = w[kk][cc] of w [K][C][r][r] (r = 3 or 5), in
 * float64 and rounded once. With `flip`, the filters of the input gradient's convolution instead
 * (the same layer transposed and rotated by 180°): U[ξ][cc][kk] from g[i][j] = w[kk][cc][r − 1 − i][r − 1 − j].
 * FILTER_BLOCK consecutive outputs of each cell are computed together and written as one run, since
 * the cells lie K·C floats apart (a power of two for most layers). t: winogradFiltersScratchBytes.
 */
export function winogradFilters(w: usize, u: usize, k: i32, c: i32, t: usize, flip: bool, r: i32): void {
  const kc = k * c, S = t + 40 * 8, alpha = r + 3, cells = alpha * alpha;
  const rs = <usize>r * 4, last = r - 1; // a filter row's bytes; the last tap
  for (let a0 = 0; a0 < kc; a0 += FILTER_BLOCK) {
    const n = min(FILTER_BLOCK, kc - a0);
    for (let q = 0; q < n; q++) {
      // output a = kk·C + cc reads filter a; flipped, a = cc·K + kk reads filter kk·C + cc
      const a = a0 + q, g = w + <usize>(flip ? (a % k) * c + a / k : a) * <usize>(r * r) * 4;
      // G down each column j of g (the rotation reads g from its far corner) into t[i][j] (rows of
      // 5 float64), then G along each row i into the block's S[q][i·α + j]
      for (let j = 0; j < r; j++) {
        const col = g + <usize>(flip ? last - j : j) * 4, dst = t + <usize>j * 8;
        if (r == 5) {
          if (flip) g5Store(load<f32>(col + 4 * rs), load<f32>(col + 3 * rs), load<f32>(col + 2 * rs), load<f32>(col + rs), load<f32>(col), dst, 40, false);
          else g5Store(load<f32>(col), load<f32>(col + rs), load<f32>(col + 2 * rs), load<f32>(col + 3 * rs), load<f32>(col + 4 * rs), dst, 40, false);
        } else {
          if (flip) g3Store(load<f32>(col + 2 * rs), load<f32>(col + rs), load<f32>(col), dst, 40, false);
          else g3Store(load<f32>(col), load<f32>(col + rs), load<f32>(col + 2 * rs), dst, 40, false);
        }
      }
      for (let i = 0; i < alpha; i++) {
        const row = t + <usize>i * 40, dst = S + <usize>(q * 64 + i * alpha) * 4;
        if (r == 5) g5Store(load<f64>(row), load<f64>(row, 8), load<f64>(row, 16), load<f64>(row, 24), load<f64>(row, 32), dst, 4, true);
        else g3Store(load<f64>(row), load<f64>(row, 8), load<f64>(row, 16), dst, 4, true);
      }
    }
    for (let x = 0; x < cells; x++) {
      const dst = u + <usize>(x * kc + a0) * 4;
      for (let q = 0; q < n; q++) store<f32>(dst + <usize>q * 4, load<f32>(S + <usize>(q * 64 + x) * 4));
    }
  }
}

/** The first `lanes` (1–4) lanes of v at dst: the last tiles of a row must not spill into the next row's. */
@inline function storeLanes(dst: usize, v: v128, lanes: i32): void {
  if (lanes == 4) { v128.store(dst, v); return; }
  store<f32>(dst, f32x4.extract_lane(v, 0));
  if (lanes > 1) store<f32>(dst, f32x4.extract_lane(v, 1), 4);
  if (lanes > 2) store<f32>(dst, f32x4.extract_lane(v, 2), 8);
}

/** a + b·s (a product and a sum under every variant) */
@inline function addScaled(a: v128, b: v128, s: f32): v128 {
  return f32x4.add(a, f32x4.mul(b, f32x4.splat(s)));
}

/** The eight outputs of Bᵀ·d (5×5 filters) for four lanes at once, stored at dst, dst + step, …, dst + 7·step. */
@inline function bt8Store(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, d6: v128, d7: v128, dst: usize, step: usize): void {
  v128.store(dst, addScaled(f32x4.sub(d0, d6), f32x4.sub(d4, d2), 5.25));
  const e1 = f32x4.add(addScaled(d2, d4, -4.25), d6), o1 = f32x4.add(addScaled(d1, d3, -4.25), d5);
  v128.store(dst + step, f32x4.add(e1, o1));
  v128.store(dst + 2 * step, f32x4.sub(e1, o1));
  const e2 = addScaled(addScaled(d6, d2, 0.25), d4, -1.25), o2 = addScaled(addScaled(f32x4.mul(d1, f32x4.splat(0.5)), d3, -2.5), d5, 2);
  v128.store(dst + 3 * step, f32x4.add(e2, o2));
  v128.store(dst + 4 * step, f32x4.sub(e2, o2));
  const e3 = addScaled(addScaled(d6, d2, 4), d4, -5), o3 = addScaled(addScaled(f32x4.mul(d1, f32x4.splat(2)), d3, -2.5), d5, 0.5);
  v128.store(dst + 5 * step, f32x4.add(e3, o3));
  v128.store(dst + 6 * step, f32x4.sub(e3, o3));
  v128.store(dst + 7 * step, addScaled(f32x4.sub(d7, d1), f32x4.sub(d3, d5), 5.25));
}

/** The six outputs of Bᵀ·d (3×3 filters) for four lanes at once, stored at dst, dst + step, …. */
@inline function bt6Store(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, dst: usize, step: usize): void {
  v128.store(dst, f32x4.add(addScaled(f32x4.mul(d0, f32x4.splat(4)), d2, -5), d4));
  const a = f32x4.add(d3, d4), b = f32x4.mul(f32x4.splat(4), f32x4.add(d1, d2));
  const c = f32x4.sub(d4, d3), d = f32x4.mul(f32x4.splat(4), f32x4.sub(d1, d2));
  v128.store(dst + step, f32x4.sub(a, b));
  v128.store(dst + 2 * step, f32x4.add(c, d));
  const e = f32x4.sub(d4, d2), h = f32x4.mul(f32x4.splat(2), f32x4.sub(d3, d1));
  v128.store(dst + 3 * step, f32x4.add(e, h));
  v128.store(dst + 4 * step, f32x4.sub(e, h));
  v128.store(dst + 5 * step, f32x4.add(addScaled(f32x4.mul(d1, f32x4.splat(4)), d3, -5), d5));
}

/** Bᵀ·d for α = 8 or 6 (d6, d7 unread for 6). */
@inline function btStore(alpha: i32, d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, d6: v128, d7: v128, dst: usize, step: usize): void {
  if (alpha == 8) bt8Store(d0, d1, d2, d3, d4, d5, d6, d7, dst, step);
  else bt6Store(d0, d1, d2, d3, d4, d5, dst, step);
}

/** Bᵀ down the α rows of one column vector at p (rows rowStep bytes apart), stored as btStore. */
@inline function btColumn(alpha: i32, p: usize, rowStep: usize, dst: usize, step: usize): void {
  if (alpha == 8) {
    bt8Store(v128.load(p), v128.load(p + rowStep), v128.load(p + 2 * rowStep), v128.load(p + 3 * rowStep),
      v128.load(p + 4 * rowStep), v128.load(p + 5 * rowStep), v128.load(p + 6 * rowStep), v128.load(p + 7 * rowStep), dst, step);
  } else {
    bt6Store(v128.load(p), v128.load(p + rowStep), v128.load(p + 2 * rowStep), v128.load(p + 3 * rowStep),
      v128.load(p + 4 * rowStep), v128.load(p + 5 * rowStep), dst, step);
  }
}

/**
 * The α values A·z of four (z0 … z3) (the adjoint of the output transform), stored at dst,
 * dst + step, …: the points 0, ±1, ±2, then ±1/2 for α = 8, then ∞.
 */
@inline function aStore(alpha: i32, z0: v128, z1: v128, z2: v128, z3: v128, dst: usize, step: usize): void {
  const s02 = f32x4.add(z0, z2), s13 = f32x4.add(z1, z3);
  v128.store(dst, z0);
  v128.store(dst + step, f32x4.add(s02, s13));
  v128.store(dst + 2 * step, f32x4.sub(s02, s13));
  const a = addScaled(z0, z2, 4), b = addScaled(f32x4.mul(z1, f32x4.splat(2)), z3, 8);
  v128.store(dst + 3 * step, f32x4.add(a, b));
  v128.store(dst + 4 * step, f32x4.sub(a, b));
  if (alpha == 8) {
    const p = addScaled(z0, z2, 0.25), q = addScaled(f32x4.mul(z1, f32x4.splat(0.5)), z3, 0.125);
    v128.store(dst + 5 * step, f32x4.add(p, q));
    v128.store(dst + 6 * step, f32x4.sub(p, q));
  }
  v128.store(dst + <usize>(alpha - 1) * step, z3);
}

/**
 * V[ξ1·α+ξ2][ci][tile] = (Bᵀ d B)[ξ1][ξ2] for every α×α input patch d of nb images (tiles in
 * (image, row, column) order), 4 patches of a tile row per vector, read from P: one plane at a time
 * with its zero padding around (planeRows × planeCols, so every patch and every load fits). P's
 * margins are zeroed here once; each plane only fills the inside. Per group of 4 patches: Bᵀ down
 * the columns of 5 vectors (the group's 20 columns) into R[ξ1][5], then per ξ1 the 4×4 transposes
 * give column j of patch t (plane column 4t + j) in lane t, and Bᵀ along the rows writes V.
 */
@inline function inputTransform(alpha: i32, xb: usize, nb: i32, c: i32, h: i32, w: i32, pad: i32, th: i32, tw: i32, V: usize, P: usize, R: usize, T8: usize,
                                packed: bool): void {
  const PH = planeRows(th), PW = planeCols(tw), per = th * tw, nt = per * nb;
  const zv = f32x4.splat(0);
  for (let i = 0; i < PH * PW; i += 4) v128.store(P + <usize>i * 4, zv);
  const rows = min(h, PH - pad), cols = min(w, PW - pad);
  const rowStep = <usize>PW * 4, cellStep = <usize>vCellFloats(c, nt) * 4;
  if (packed && (nt & 7) != 0) {
    // the last panel's columns past the tiles: zeros, as packB pads them
    const start = nt & ~7, width = panelWidth(nt - start, c);
    for (let x = 0; x < alpha * alpha; x++) {
      for (let ci = 0; ci < c; ci++) {
        for (let j = nt - start; j < width; j++) store<f32>(V + <usize>x * cellStep + <usize>(start * c + ci * width + j) * 4, 0);
      }
    }
  }

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
        for (let q = 0; q < 5; q++) btColumn(alpha, P + <usize>(4 * ty * PW + 4 * t0 + 4 * q) * 4, rowStep, R + <usize>q * 16, 80);
        const lanes = min(4, tw - t0);
        const tile = img * per + ty * tw + t0;
        for (let x1 = 0; x1 < alpha; x1++) {
          const rp = R + <usize>x1 * 80;
          const v0 = v128.load(rp), v1 = v128.load(rp, 16), v2 = v128.load(rp, 32), v3 = v128.load(rp, 48), v4 = v128.load(rp, 64);
          const a = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), b = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
          const e = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), f = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
          const c0 = v128.shuffle<f32>(a, b, 0, 1, 4, 5), c1 = v128.shuffle<f32>(a, b, 2, 3, 6, 7);
          const c2 = v128.shuffle<f32>(e, f, 0, 1, 4, 5), c3 = v128.shuffle<f32>(e, f, 2, 3, 6, 7);
          const c4 = v128.shuffle<f32>(c0, v4, 1, 2, 3, 4), c5 = v128.shuffle<f32>(c1, v4, 1, 2, 3, 5);
          const c6 = v128.shuffle<f32>(c2, v4, 1, 2, 3, 6), c7 = v128.shuffle<f32>(c3, v4, 1, 2, 3, 7);
          const row = V + <usize>(x1 * alpha) * cellStep;
          if (!packed) {
            const dst = row + (<usize>ci * <usize>nt + <usize>tile) * 4;
            if (lanes == 4) btStore(alpha, c0, c1, c2, c3, c4, c5, c6, c7, dst, cellStep);
            else {
              btStore(alpha, c0, c1, c2, c3, c4, c5, c6, c7, T8, 16);
              for (let x2 = 0; x2 < alpha; x2++) storeLanes(dst + <usize>x2 * cellStep, v128.load(T8 + <usize>x2 * 16), lanes);
            }
          } else {
            if (lanes == 4 && (tile & 7) + 4 <= panelWidth(min(8, nt - (tile & ~7)), c)) {
              btStore(alpha, c0, c1, c2, c3, c4, c5, c6, c7, row + <usize>packedAt(ci, tile, c, nt) * 4, cellStep);
            } else {
              // lanes split over two panels (or fewer than 4): one value at a time
              btStore(alpha, c0, c1, c2, c3, c4, c5, c6, c7, T8, 16);
              for (let l = 0; l < lanes; l++) {
                const dst = row + <usize>packedAt(ci, tile + l, c, nt) * 4;
                for (let x2 = 0; x2 < alpha; x2++) store<f32>(dst + <usize>x2 * cellStep, load<f32>(T8 + <usize>(x2 * 16 + l * 4)));
              }
            }
          }
        }
      }
    }
  }
}

/** (Aᵀ·m) for one row of 8 vectors m0 … m7 (5×5 filters): the four outputs, stored at dst, dst + step, …. */
@inline function at8Store(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, m6: v128, m7: v128, dst: usize, step: usize): void {
  const sa = f32x4.add(m1, m2), da = f32x4.sub(m1, m2), sb = f32x4.add(m3, m4), db = f32x4.sub(m3, m4);
  const sc = f32x4.add(m5, m6), dc = f32x4.sub(m5, m6);
  v128.store(dst, f32x4.add(f32x4.add(m0, sa), f32x4.add(sb, sc)));
  v128.store(dst + step, addScaled(addScaled(da, db, 2), dc, 0.5));
  v128.store(dst + 2 * step, addScaled(addScaled(sa, sb, 4), sc, 0.25));
  v128.store(dst + 3 * step, f32x4.add(addScaled(addScaled(da, db, 8), dc, 0.125), m7));
}

/** (Aᵀ·m) for one row of 6 vectors (3×3 filters), stored as at8Store. */
@inline function at6Store(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, dst: usize, step: usize): void {
  const sa = f32x4.add(m1, m2), da = f32x4.sub(m1, m2), sb = f32x4.add(m3, m4), db = f32x4.sub(m3, m4);
  v128.store(dst, f32x4.add(f32x4.add(m0, sa), sb));
  v128.store(dst + step, addScaled(da, db, 2));
  v128.store(dst + 2 * step, addScaled(sa, sb, 4));
  v128.store(dst + 3 * step, f32x4.add(addScaled(da, db, 8), m5));
}

/** Aᵀ along the α vectors at p, p + step, … (α = 8 or 6), stored as at8Store. */
@inline function atRow(alpha: i32, p: usize, step: usize, dst: usize, dstep: usize): void {
  if (alpha == 8) {
    at8Store(v128.load(p), v128.load(p + step), v128.load(p + 2 * step), v128.load(p + 3 * step),
      v128.load(p + 4 * step), v128.load(p + 5 * step), v128.load(p + 6 * step), v128.load(p + 7 * step), dst, dstep);
  } else {
    at6Store(v128.load(p), v128.load(p + step), v128.load(p + 2 * step), v128.load(p + 3 * step),
      v128.load(p + 4 * step), v128.load(p + 5 * step), dst, dstep);
  }
}

/** Floats of one cell of packed filters: its [m × depth] matrix as packAAll lays it out (m rounded up to MR rows). */
@inline function packedCellFloats(m: i32, depth: i32): i32 {
  return (m + MR - 1) / MR * MR * depth;
}

/** Floats winogradPackFilters writes for m × depth filters of r×r (every cell's packed matrix). */
export function winogradPackedFloats(m: i32, depth: i32, r: i32): i32 {
  return winogradCells(r) * packedCellFloats(m, depth);
}

/**
 * The cells U[ξ] [m × depth] of winogradFilters' output (u, [α²][m][depth]) packed once as the
 * products' left operand (packAAll's layout, cell after cell) into pu: winogradImages reads them as
 * they are, where a plain product would pack each cell again for every WINO_NB images.
 */
export function winogradPackFilters(u: usize, pu: usize, m: i32, depth: i32, r: i32): void {
  const cells = winogradCells(r), cf = packedCellFloats(m, depth);
  for (let x = 0; x < cells; x++) packAAll(u + <usize>(x * m * depth) * 4, m, depth, false, 0, m, pu + <usize>(x * cf) * 4);
}

/**
 * nb consecutive images: ob[b][K][oh][ow] = conv(xb[b][C][h][w], w) (+ bias) (then ReLU) with r×r
 * filters and padding `pad`, given the filters' transform packed by winogradPackFilters (pu). The
 * images' tiles share the α² products (more columns for the GEMM). scratch: winogradScratchFloats
 * floats, then the GEMM's scratch.
 */
export function winogradImages(xb: usize, nb: i32, c: i32, h: i32, w: i32, pad: i32, pu: usize, k: i32, ob: usize, oh: i32, ow: i32,
                               bias: usize, relu: bool, scratch: usize, r: i32): void {
  const alpha = r + 3, cells = alpha * alpha;
  const th = (oh + 3) >> 2, tw = (ow + 3) >> 2, nt = th * tw * nb, per = th * tw;
  const V = (scratch + 15) & ~15, vs = <usize>vCellFloats(c, nt) * 4, ms = <usize>cellFloats(k, nt) * 4;
  const M = V + <usize>cells * vs;
  const P = M + <usize>cells * ms;           // a padded input plane: planeRows × planeCols
  const R = P + <usize>(planeRows(th) * planeCols(tw)) * 4;   // 8 × 5 vectors
  const T8 = R + 40 * 16;                    // 8 × 4 vectors
  const gs = T8 + 32 * 16;                   // the GEMM's scratch (it aligns it itself)
  // V written as the products read it when it is one KC block deep
  const packed = c <= KC;
  inputTransform(alpha, xb, nb, c, h, w, pad, th, tw, V, P, R, T8, packed);

  // the α² products M[ξ] = U[ξ] · V[ξ]: [K × C] · [C × tiles], U[ξ] packed
  const cf = <usize>packedCellFloats(k, c) * 4;
  for (let x = 0; x < cells; x++) {
    if (packed) gemmPackedAB(pu + <usize>x * cf, V + <usize>x * vs, M + <usize>x * ms, k, nt, c, false, gs);
    else gemmPackedA(pu + <usize>x * cf, V + <usize>x * vs, M + <usize>x * ms, k, nt, c, false, false, 0, nt, gs);
  }

  // output transform: Y = Aᵀ m A per tile, 4 tiles at a time: Aᵀ along each row ξ1 into T8[ξ1][j],
  // Aᵀ down each column j into R[i][j], then bias, ReLU and a 4×4 transpose per output row
  const zero4 = f32x4.splat(0);
  const mstep = ms;
  for (let pl = 0; pl < nb * k; pl++) {
    const img = pl / k, kk = pl % k;
    const bv = bias ? f32x4.splat(load<f32>(bias + <usize>kk * 4)) : zero4;
    const out = ob + <usize>(pl * oh * ow) * 4;
    for (let ty = 0; ty < th; ty++) {
      for (let t0 = 0; t0 < tw; t0 += 4) {
        const m0 = M + <usize>(kk * nt + img * per + ty * tw + t0) * 4;
        // (the last group of a row may read past its tiles, inside the scratch; those lanes are not stored)
        for (let x1 = 0; x1 < alpha; x1++) atRow(alpha, m0 + <usize>(x1 * alpha) * mstep, mstep, T8 + <usize>x1 * 64, 16);
        for (let j = 0; j < 4; j++) atRow(alpha, T8 + <usize>j * 16, 64, R + <usize>j * 16, 64);
        // row 4ty + i, columns 4t0 … 4t0 + 15: tile t0's 4 values, then t0 + 1's, …
        const x0 = 4 * t0;
        for (let i = 0; i < 4; i++) {
          const oy = 4 * ty + i;
          if (oy >= oh) break;
          const rp = R + <usize>i * 64;
          let y0 = f32x4.add(v128.load(rp), bv), y1 = f32x4.add(v128.load(rp, 16), bv);
          let y2 = f32x4.add(v128.load(rp, 32), bv), y3 = f32x4.add(v128.load(rp, 48), bv);
          if (relu) {
            y0 = v128.andnot(y0, f32x4.le(y0, zero4)); y1 = v128.andnot(y1, f32x4.le(y1, zero4));
            y2 = v128.andnot(y2, f32x4.le(y2, zero4)); y3 = v128.andnot(y3, f32x4.le(y3, zero4));
          }
          const a = v128.shuffle<f32>(y0, y1, 0, 4, 1, 5), b = v128.shuffle<f32>(y2, y3, 0, 4, 1, 5);
          const e = v128.shuffle<f32>(y0, y1, 2, 6, 3, 7), f = v128.shuffle<f32>(y2, y3, 2, 6, 3, 7);
          const o0 = v128.shuffle<f32>(a, b, 0, 1, 4, 5), o1 = v128.shuffle<f32>(a, b, 2, 3, 6, 7);
          const o2 = v128.shuffle<f32>(e, f, 0, 1, 4, 5), o3 = v128.shuffle<f32>(e, f, 2, 3, 6, 7);
          const dst = out + <usize>(oy * ow + x0) * 4;
          if (x0 + 16 <= ow) { v128.store(dst, o0); v128.store(dst, o1, 16); v128.store(dst, o2, 32); v128.store(dst, o3, 48); }
          else {
            const tmp = T8; // T8's first row is read above; free again here
            v128.store(tmp, o0); v128.store(tmp, o1, 16); v128.store(tmp, o2, 32); v128.store(tmp, o3, 48);
            for (let j = 0; j < ow - x0; j++) store<f32>(dst + <usize>j * 4, load<f32>(tmp + <usize>j * 4));
          }
        }
      }
    }
  }
}

/**
 * The weight gradient of nb images in the Winograd domain: with V the input transform of x (as in
 * the forward) and Z[ξ][k][tile] = (A z Aᵀ)[ξ] for each 4×4 block z of the output gradient gz (the
 * adjoint of the output transform), dU[ξ] (+)= Z[ξ] · V[ξ]ᵀ — α² products [K × tiles]·[tiles × C].
 * `first` overwrites dU, else it accumulates. winogradFilterGrad then turns dU into the r×r
 * filters' gradient. scratch as winogradImages.
 */
export function winogradWeightGrad(xb: usize, gzb: usize, nb: i32, c: i32, h: i32, w: i32, pad: i32, k: i32, oh: i32, ow: i32,
                                   dU: usize, first: bool, scratch: usize, r: i32): void {
  const alpha = r + 3, cells = alpha * alpha;
  const th = (oh + 3) >> 2, tw = (ow + 3) >> 2, nt = th * tw * nb, per = th * tw;
  const V = (scratch + 15) & ~15, vs = <usize>vCellFloats(c, nt) * 4, zs = <usize>cellFloats(k, nt) * 4;
  const Z = V + <usize>cells * vs;
  const P = Z + <usize>cells * zs;
  const PH = planeRows(th), PW = planeCols(tw);
  const R = P + <usize>(PH * PW) * 4;
  const T8 = R + 40 * 16;
  const gs = T8 + 32 * 16;
  inputTransform(alpha, xb, nb, c, h, w, pad, th, tw, V, P, R, T8, false);

  // Z: each gz plane copied into P (zero beyond its edges: the last blocks of sizes that are not
  // multiples of 4), then per 4 blocks A down the 4 columns of 4 vectors, a 4×4 transpose per row
  // of the result, and A along it
  const zv = f32x4.splat(0);
  for (let i = 0; i < PH * PW; i += 4) v128.store(P + <usize>i * 4, zv);
  const rowStep = <usize>PW * 4, cellStep = zs;
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
        for (let q = 0; q < 4; q++) {
          const p = P + <usize>(4 * ty * PW + 4 * t0 + 4 * q) * 4;
          aStore(alpha, v128.load(p), v128.load(p + rowStep), v128.load(p + 2 * rowStep), v128.load(p + 3 * rowStep), R + <usize>q * 16, 64);
        }
        const lanes = min(4, tw - t0);
        const tile = img * per + ty * tw + t0;
        for (let x1 = 0; x1 < alpha; x1++) {
          const rp = R + <usize>x1 * 64;
          const v0 = v128.load(rp), v1 = v128.load(rp, 16), v2 = v128.load(rp, 32), v3 = v128.load(rp, 48);
          const a = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), b = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
          const e = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), f = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
          const z0 = v128.shuffle<f32>(a, b, 0, 1, 4, 5), z1 = v128.shuffle<f32>(a, b, 2, 3, 6, 7);
          const z2 = v128.shuffle<f32>(e, f, 0, 1, 4, 5), z3 = v128.shuffle<f32>(e, f, 2, 3, 6, 7);
          const dst = Z + <usize>(x1 * alpha) * zs + (<usize>kk * <usize>nt + <usize>tile) * 4;
          if (lanes == 4) aStore(alpha, z0, z1, z2, z3, dst, cellStep);
          else {
            aStore(alpha, z0, z1, z2, z3, T8, 16);
            for (let x2 = 0; x2 < alpha; x2++) storeLanes(dst + <usize>x2 * cellStep, v128.load(T8 + <usize>x2 * 16), lanes);
          }
        }
      }
    }
  }

  // dU[ξ] (+)= Z[ξ] · V[ξ]ᵀ
  for (let x = 0; x < cells; x++) {
    gemm(Z + <usize>x * zs, V + <usize>x * vs, dU + <usize>(x * k * c) * 4, k, c, nt, false, true, !first, 0, k, 0, c, gs);
  }
}

/** Gᵀ·(d0 … d7) for four lanes (the adjoint of g5Store): its five values at dst, dst + step, …. */
@inline function gt8Store(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, d6: v128, d7: v128, dst: usize, step: usize): void {
  const sa = f32x4.add(d1, d2), da = f32x4.sub(d1, d2), sb = f32x4.add(d3, d4), db = f32x4.sub(d3, d4);
  const sc = f32x4.add(d5, d6), dc = f32x4.sub(d5, d6);
  const ka = <f32>(-2.0 / 9);
  v128.store(dst, addScaled(addScaled(addScaled(d0, sa, ka), sb, <f32>(1.0 / 90)), sc, <f32>(32.0 / 45)));
  v128.store(dst + step, addScaled(addScaled(f32x4.mul(da, f32x4.splat(ka)), db, <f32>(1.0 / 45)), dc, <f32>(16.0 / 45)));
  v128.store(dst + 2 * step, addScaled(addScaled(f32x4.mul(sa, f32x4.splat(ka)), sb, <f32>(2.0 / 45)), sc, <f32>(8.0 / 45)));
  v128.store(dst + 3 * step, addScaled(addScaled(f32x4.mul(da, f32x4.splat(ka)), db, <f32>(4.0 / 45)), dc, <f32>(4.0 / 45)));
  v128.store(dst + 4 * step, f32x4.add(addScaled(addScaled(f32x4.mul(sa, f32x4.splat(ka)), sb, <f32>(8.0 / 45)), sc, <f32>(2.0 / 45)), d7));
}

/** Gᵀ·(d0 … d5) for four lanes (the adjoint of g3Store): its three values at dst, dst + step, dst + 2·step. */
@inline function gt6Store(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, dst: usize, step: usize): void {
  const sa = f32x4.add(d1, d2), da = f32x4.sub(d1, d2), sb = f32x4.add(d3, d4), db = f32x4.sub(d3, d4);
  const k6 = <f32>(-1.0 / 6);
  v128.store(dst, addScaled(addScaled(f32x4.mul(d0, f32x4.splat(0.25)), sa, k6), sb, <f32>(1.0 / 24)));
  v128.store(dst + step, addScaled(f32x4.mul(da, f32x4.splat(k6)), db, <f32>(1.0 / 12)));
  v128.store(dst + 2 * step, f32x4.add(addScaled(f32x4.mul(sa, f32x4.splat(k6)), sb, <f32>(1.0 / 6)), d5));
}

/** Gᵀ along the α vectors at p, p + step, … (α = 8 or 6): r values at dst, dst + dstep, …. */
@inline function gtRow(alpha: i32, p: usize, step: usize, dst: usize, dstep: usize): void {
  if (alpha == 8) {
    gt8Store(v128.load(p), v128.load(p + step), v128.load(p + 2 * step), v128.load(p + 3 * step),
      v128.load(p + 4 * step), v128.load(p + 5 * step), v128.load(p + 6 * step), v128.load(p + 7 * step), dst, dstep);
  } else {
    gt6Store(v128.load(p), v128.load(p + step), v128.load(p + 2 * step), v128.load(p + 3 * step),
      v128.load(p + 4 * step), v128.load(p + 5 * step), dst, dstep);
  }
}

/**
 * gw[kk][cc] = Gᵀ dU[·][kk][cc] G (r×r), the adjoint of winogradFilters: the filters' gradient
 * from the Winograd-domain gradient dU [α²][K][C], 4 input channels per vector: Gᵀ along each row
 * ξ1 into t[ξ1][j], then down each column j. t: winogradFilterGradScratchBytes.
 */
export function winogradFilterGrad(dU: usize, gw: usize, k: i32, c: i32, t: usize, r: i32): void {
  const kc = k * c, alpha = r + 3, cells = alpha * alpha, rr = r * r;
  const D = (t + 15) & ~15, T = D + 64 * 16, O = T + 40 * 16;
  for (let kk = 0; kk < k; kk++) {
    for (let c0 = 0; c0 < c; c0 += 4) {
      const lanes = min(4, c - c0);
      const src = dU + <usize>(kk * c + c0) * 4;
      for (let x = 0; x < cells; x++) {
        const p = src + <usize>(x * kc) * 4;
        v128.store(D + <usize>x * 16, lanes == 4 ? v128.load(p) : loadPartial(p, lanes));
      }
      // T[ξ1][j] at T + (ξ1·5 + j)·16; O[i][j] at O + (i·5 + j)·16 holds gw[kk][c0 + lane][i][j]
      for (let x1 = 0; x1 < alpha; x1++) gtRow(alpha, D + <usize>(x1 * alpha) * 16, 16, T + <usize>x1 * 80, 16);
      for (let j = 0; j < r; j++) gtRow(alpha, T + <usize>j * 16, 80, O + <usize>j * 16, 80);
      for (let i = 0; i < r; i++) {
        for (let j = 0; j < r; j++) {
          const v = v128.load(O + <usize>(i * 5 + j) * 16), o = gw + <usize>((kk * c + c0) * rr + i * r + j) * 4;
          store<f32>(o, f32x4.extract_lane(v, 0));
          if (lanes > 1) store<f32>(o + <usize>rr * 4, f32x4.extract_lane(v, 1));
          if (lanes > 2) store<f32>(o + <usize>rr * 8, f32x4.extract_lane(v, 2));
          if (lanes > 3) store<f32>(o + <usize>rr * 12, f32x4.extract_lane(v, 3));
        }
      }
    }
  }
}

/** Scratch bytes winogradFilterGrad needs. */
export function winogradFilterGradScratchBytes(): i32 {
  return (64 + 40 + 25) * 16 + 16;
}

@inline function loadPartial(p: usize, lanes: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}
