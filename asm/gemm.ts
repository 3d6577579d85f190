/**
 * Packed single-precision GEMM (BLIS-style): C[m×n] (+)= op(A)[m×k] · op(B)[k×n].
 *
 * B is packed into panels of 8 columns (kc×8, zero-padded), A into panels of MR rows (kc×MR,
 * zero-padded); transposed operands are read in place while packing, so no transposed copy is ever
 * made. The micro-kernel keeps an MR×8 tile of C in 2·MR f32x4 registers and streams one packed A
 * panel and one packed B panel. In a block at least DEEP4 deep, a last panel of at most 4 columns
 * (n mod 8 in 1…4: a classifier's 10 outputs are 8 + 2) is packed 4 wide and runs on an MR×4
 * kernel, and with 6-row panels a last panel of at most 4 rows (a 10-row weight gradient is 6 + 4)
 * is packed 4 high and runs on a 4-row kernel; every output is the same fma sequence over k under
 * any panel. With relaxed SIMD (fused multiply-add) the tile is 6×8, otherwise
 * 4×8: a 6×8 tile with separate mul+add needs 16 live registers and spills on x86.
 *
 * A call may cover a sub-rectangle [m0,m1)×[n0,n1) of C so that threads can split one product;
 * each caller passes its own scratch area (packing buffers), at least gemmScratchBytes() bytes.
 */

export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;
const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 96; // multiple of both 4 and 6
export const NC: i32 = 2048;
/**
 * The least depth of a block whose last ≤ 4 columns are packed 4 wide (and last ≤ 4 rows 4 high):
 * shallower, the MR×4 kernel ran slower than the 8-wide one (one thread, 64×196×32: 39.1 against 41.7 GFLOP/s; ×64: 45.1
 * against 47.8); from 128 deep faster (100×10×128: 28.9 against 26.0; 128×10×256: 30.5 against 27.4).
 */
const DEEP4: i32 = 128;

/** Rows per packed A panel (6 with relaxed SIMD, 4 without); the JS side sizes pre-packed A with it. */
export function gemmMR(): i32 {
  return MR;
}

export function gemmScratchBytes(): i32 {
  // packed A block + packed B block + one C tile for the edges
  return (MC * KC + KC * NC + MR * NR) * 4 + 64;
}

/** a·b + c: one fused multiply-add under relaxed SIMD, else a product and a sum. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  else return f32x4.add(f32x4.mul(a, b), c);
}

/** Rows a packed A panel holds: MR, or 4 for a last panel of at most 4 rows (MR = 6) in a block at least DEEP4 deep. */
@inline function panelHeight(rows: i32, kc: i32): i32 {
  return MR == 6 && rows <= 4 && kc >= DEEP4 ? 4 : MR;
}

/** The rows of a block of mc rows, kc deep, that lie in MR-high panels: all of them, or all but a last 4-high panel (panelHeight). */
@inline function fullPanelRows(mc: i32, kc: i32): i32 {
  const last = mc % MR;
  return last > 0 && panelHeight(last, kc) == 4 ? mc - last : mc;
}

/** Pack rows [i0, i0+mc) × cols [p0, p0+kc) of op(A) into MR-row panels (a last one of ≤ 4 rows 4 high, see panelHeight). */
function packA(a: usize, m: i32, k: i32, transA: bool, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const height = panelHeight(rows, kc);
    const panel = dst + <usize>(ir * kc) * 4;
    if (!transA && rows == MR) {
      // A[i,p] = a[i*k + p]: 4 values of each row at a time, transposed in registers
      const r0 = a + (<usize>(i0 + ir) * k + p0) * 4, ld = <usize>k * 4;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p * 4;
        const x0 = v128.load(r0 + o), x1 = v128.load(r0 + ld + o), x2 = v128.load(r0 + 2 * ld + o), x3 = v128.load(r0 + 3 * ld + o);
        const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
        const d = panel + <usize>(p * MR) * 4;
        v128.store(d, v128.shuffle<f64>(t0, t2, 0, 2));
        v128.store(d + MR * 4, v128.shuffle<f64>(t0, t2, 1, 3));
        v128.store(d + MR * 8, v128.shuffle<f64>(t1, t3, 0, 2));
        v128.store(d + MR * 12, v128.shuffle<f64>(t1, t3, 1, 3));
        if (MR == 6) {
          const x4 = v128.load(r0 + 4 * ld + o), x5 = v128.load(r0 + 5 * ld + o);
          const u0 = v128.shuffle<f32>(x4, x5, 0, 4, 1, 5), u1 = v128.shuffle<f32>(x4, x5, 2, 6, 3, 7);
          store<i64>(d, i64x2.extract_lane(u0, 0), 16);
          store<i64>(d + MR * 4, i64x2.extract_lane(u0, 1), 16);
          store<i64>(d + MR * 8, i64x2.extract_lane(u1, 0), 16);
          store<i64>(d + MR * 12, i64x2.extract_lane(u1, 1), 16);
        }
      }
      for (; p < kc; p++) {
        const d = panel + <usize>(p * MR) * 4;
        for (let r = 0; r < MR; r++) store<f32>(d + <usize>r * 4, load<f32>(r0 + <usize>r * ld + <usize>p * 4));
      }
    } else if (!transA) {
      // A[i,p] = a[i*k + p], a clipped panel
      const stride = <usize>height * 4;
      for (let r = 0; r < rows; r++) {
        let src = a + (<usize>(i0 + ir + r) * k + p0) * 4;
        let d = panel + <usize>r * 4;
        for (let p = 0; p < kc; p++) {
          store<f32>(d, load<f32>(src));
          src += 4;
          d += stride;
        }
      }
      for (let r = rows; r < height; r++) {
        let d = panel + <usize>r * 4;
        for (let p = 0; p < kc; p++) { store<f32>(d, 0); d += stride; }
      }
    } else if (rows == MR) {
      // A[i,p] = a[p*m + i]: MR consecutive values per p
      for (let p = 0; p < kc; p++) {
        const src = a + (<usize>(p0 + p) * m + i0 + ir) * 4;
        const d = panel + <usize>(p * MR) * 4;
        if (MR == 4) v128.store(d, v128.load(src));
        else { v128.store(d, v128.load(src)); store<u64>(d, load<u64>(src, 16), 16); }
      }
    } else {
      // A[i,p] = a[p*m + i], a clipped panel
      for (let p = 0; p < kc; p++) {
        const src = a + (<usize>(p0 + p) * m + i0 + ir) * 4;
        const d = panel + <usize>(p * height) * 4;
        for (let r = 0; r < rows; r++) store<f32>(d + <usize>r * 4, load<f32>(src + <usize>r * 4));
        for (let r = rows; r < height; r++) store<f32>(d + <usize>r * 4, 0);
      }
    }
  }
}

/** Columns a packed B panel holds: 8, or 4 for a last panel of at most 4 columns in a block at least DEEP4 deep. */
@inline export function panelWidth(cols: i32, kc: i32): i32 {
  return cols <= 4 && kc >= DEEP4 ? 4 : NR;
}

/** Pack rows [p0, p0+kc) × cols [j0, j0+nc) of op(B) into 8-column panels (a last one of ≤ 4 columns 4 wide). */
function packB(b: usize, n: i32, k: i32, transB: bool, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const width = panelWidth(cols, kc);
    const panel = dst + <usize>(jr * kc) * 4;
    if (!transB) {
      // B[p,j] = b[p*n + j]
      for (let p = 0; p < kc; p++) {
        const src = b + (<usize>(p0 + p) * n + j0 + jr) * 4;
        if (cols == NR) {
          const d = panel + <usize>(p * NR) * 4;
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        } else {
          const d = panel + <usize>(p * width) * 4;
          for (let c = 0; c < cols; c++) store<f32>(d + <usize>c * 4, load<f32>(src + <usize>c * 4));
          for (let c = cols; c < width; c++) store<f32>(d + <usize>c * 4, 0);
        }
      }
    } else if (cols == NR) {
      // B[p,j] = b[j*k + p]: 4 values of each of the 8 columns at a time, transposed in registers
      const c0 = b + (<usize>(j0 + jr) * k + p0) * 4, ld = <usize>k * 4;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p * 4;
        const d = panel + <usize>(p * NR) * 4;
        for (let h = 0; h < 2; h++) {
          const q = c0 + <usize>(h * 4) * ld + o;
          const x0 = v128.load(q), x1 = v128.load(q + ld), x2 = v128.load(q + 2 * ld), x3 = v128.load(q + 3 * ld);
          const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
          const t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          const e = d + <usize>h * 16;
          v128.store(e, v128.shuffle<f64>(t0, t2, 0, 2));
          v128.store(e + NR * 4, v128.shuffle<f64>(t0, t2, 1, 3));
          v128.store(e + NR * 8, v128.shuffle<f64>(t1, t3, 0, 2));
          v128.store(e + NR * 12, v128.shuffle<f64>(t1, t3, 1, 3));
        }
      }
      for (; p < kc; p++) {
        const d = panel + <usize>(p * NR) * 4;
        for (let c = 0; c < NR; c++) store<f32>(d + <usize>c * 4, load<f32>(c0 + <usize>c * ld + <usize>p * 4));
      }
    } else {
      // B[p,j] = b[j*k + p], a clipped panel
      const stride = <usize>width * 4;
      for (let c = 0; c < cols; c++) {
        let src = b + (<usize>(j0 + jr + c) * k + p0) * 4;
        let d = panel + <usize>c * 4;
        for (let p = 0; p < kc; p++) {
          store<f32>(d, load<f32>(src));
          src += 4;
          d += stride;
        }
      }
      for (let c = cols; c < width; c++) {
        let d = panel + <usize>c * 4;
        for (let p = 0; p < kc; p++) { store<f32>(d, 0); d += stride; }
      }
    }
  }
}

@inline function storeRow(ptr: usize, lo: v128, hi: v128, beta: bool): void {
  if (beta) {
    v128.store(ptr, f32x4.add(v128.load(ptr), lo));
    v128.store(ptr, f32x4.add(v128.load(ptr, 16), hi), 16);
  } else {
    v128.store(ptr, lo);
    v128.store(ptr, hi, 16);
  }
}

/**
 * One MR×8 tile: ap is an MR-row packed panel, bp 8 columns of B kc deep, row p at bp + p·bs
 * (a packed panel: bs = 32; B's own rows: its row stride, see ROWS_IN_PLACE). When the tile is
 * clipped (rows < MR or cols < 8) it goes through `tile` and only the valid part is written.
 */
function micro(ap: usize, bp: usize, bs: usize, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, beta: bool, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  if (MR == 6) {
    for (let p = 0; p < kc; p++) {
      const b0 = v128.load(bp), b1 = v128.load(bp, 16);
      let a = v128.load32_splat(ap);
      c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
      a = v128.load32_splat(ap, 4);
      c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
      a = v128.load32_splat(ap, 8);
      c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
      a = v128.load32_splat(ap, 12);
      c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
      a = v128.load32_splat(ap, 16);
      c40 = madd(a, b0, c40); c41 = madd(a, b1, c41);
      a = v128.load32_splat(ap, 20);
      c50 = madd(a, b0, c50); c51 = madd(a, b1, c51);
      ap += 24; bp += bs;
    }
  } else {
    for (let p = 0; p < kc; p++) {
      const b0 = v128.load(bp), b1 = v128.load(bp, 16);
      let a = v128.load32_splat(ap);
      c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
      a = v128.load32_splat(ap, 4);
      c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
      a = v128.load32_splat(ap, 8);
      c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
      a = v128.load32_splat(ap, 12);
      c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
      ap += 16; bp += bs;
    }
  }
  const ldb = <usize>ldc * 4;
  if (rows == MR && cols == NR) {
    storeRow(c, c00, c01, beta);
    storeRow(c + ldb, c10, c11, beta);
    storeRow(c + 2 * ldb, c20, c21, beta);
    storeRow(c + 3 * ldb, c30, c31, beta);
    if (MR == 6) {
      storeRow(c + 4 * ldb, c40, c41, beta);
      storeRow(c + 5 * ldb, c50, c51, beta);
    }
    return;
  }
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  if (MR == 6) {
    v128.store(tile, c40, 128); v128.store(tile, c41, 144);
    v128.store(tile, c50, 160); v128.store(tile, c51, 176);
  }
  for (let r = 0; r < rows; r++) {
    const dst = c + <usize>r * ldb;
    const src = tile + <usize>(r * NR) * 4;
    for (let j = 0; j < cols; j++) {
      const v = load<f32>(src + <usize>j * 4);
      const d = dst + <usize>j * 4;
      store<f32>(d, beta ? load<f32>(d) + v : v);
    }
  }
}

@inline function storeRow4(ptr: usize, v: v128, beta: bool): void {
  v128.store(ptr, beta ? f32x4.add(v128.load(ptr), v) : v);
}

/** One MR×4 tile from a 4-column packed panel (a block's last ≤ 4 columns); as micro otherwise. */
function micro4(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, beta: bool, tile: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0);
  let c3 = f32x4.splat(0), c4 = f32x4.splat(0), c5 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b = v128.load(bp);
    c0 = madd(v128.load32_splat(ap), b, c0);
    c1 = madd(v128.load32_splat(ap, 4), b, c1);
    c2 = madd(v128.load32_splat(ap, 8), b, c2);
    c3 = madd(v128.load32_splat(ap, 12), b, c3);
    if (MR == 6) {
      c4 = madd(v128.load32_splat(ap, 16), b, c4);
      c5 = madd(v128.load32_splat(ap, 20), b, c5);
    }
    ap += MR * 4; bp += 16;
  }
  const ldb = <usize>ldc * 4;
  if (rows == MR && cols == 4) {
    storeRow4(c, c0, beta);
    storeRow4(c + ldb, c1, beta);
    storeRow4(c + 2 * ldb, c2, beta);
    storeRow4(c + 3 * ldb, c3, beta);
    if (MR == 6) {
      storeRow4(c + 4 * ldb, c4, beta);
      storeRow4(c + 5 * ldb, c5, beta);
    }
    return;
  }
  v128.store(tile, c0); v128.store(tile, c1, 16); v128.store(tile, c2, 32); v128.store(tile, c3, 48);
  if (MR == 6) { v128.store(tile, c4, 64); v128.store(tile, c5, 80); }
  for (let r = 0; r < rows; r++) {
    const dst = c + <usize>r * ldb;
    const src = tile + <usize>(r * 4) * 4;
    for (let j = 0; j < cols; j++) {
      const v = load<f32>(src + <usize>j * 4);
      const d = dst + <usize>j * 4;
      store<f32>(d, beta ? load<f32>(d) + v : v);
    }
  }
}

/**
 * A tile of at most 4 rows from a 4-high packed A panel (MR = 6: a block's last ≤ 4 rows, see
 * panelHeight) against B's columns `bw` (8 or 4) wide, row p at bp + p·bs (bs = 4·bw packed; 8
 * wide, B's own rows as micro reads them); as micro and micro4 otherwise.
 */
function microLow(ap: usize, bp: usize, bs: usize, bw: i32, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, beta: bool, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (bw == NR) {
    for (let p = 0; p < kc; p++) {
      const b0 = v128.load(bp), b1 = v128.load(bp, 16);
      let a = v128.load32_splat(ap);
      c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
      a = v128.load32_splat(ap, 4);
      c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
      a = v128.load32_splat(ap, 8);
      c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
      a = v128.load32_splat(ap, 12);
      c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
      ap += 16; bp += bs;
    }
  } else {
    for (let p = 0; p < kc; p++) {
      const b = v128.load(bp);
      c00 = madd(v128.load32_splat(ap), b, c00);
      c10 = madd(v128.load32_splat(ap, 4), b, c10);
      c20 = madd(v128.load32_splat(ap, 8), b, c20);
      c30 = madd(v128.load32_splat(ap, 12), b, c30);
      ap += 16; bp += 16;
    }
  }
  const ldb = <usize>ldc * 4;
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  for (let r = 0; r < rows; r++) {
    const dst = c + <usize>r * ldb;
    const src = tile + <usize>(r * NR) * 4;
    for (let j = 0; j < cols; j++) {
      const v = load<f32>(src + <usize>j * 4);
      const d = dst + <usize>j * 4;
      store<f32>(d, beta ? load<f32>(d) + v : v);
    }
  }
}

/**
 * The tiles of one block: C[mc×nc] at c (row stride ldc) (+)= the packed A block ap (MR-row panels,
 * kc deep; a last one of ≤ 4 rows 4 high, see panelHeight) · the packed B block bp (8-column
 * panels, kc deep; a last one of ≤ 4 columns 4 wide, see panelWidth).
 */
@inline function macro(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, mc: i32, nc: i32, beta: bool, tile: usize): void {
  // rows [0, mFull) in MR-high panels; a last panel of ≤ 4 rows, when 4 high, goes to microLow
  const mFull = fullPanelRows(mc, kc);
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const width = panelWidth(cols, kc);
    const bpanel = bp + <usize>(jr * kc) * 4;
    if (width == 4) {
      for (let ir = 0; ir < mFull; ir += MR) {
        micro4(ap + <usize>(ir * kc) * 4, bpanel, kc, c + (<usize>ir * ldc + jr) * 4, ldc, min(MR, mFull - ir), cols, beta, tile);
      }
    } else {
      for (let ir = 0; ir < mFull; ir += MR) {
        micro(ap + <usize>(ir * kc) * 4, bpanel, NR * 4, kc, c + (<usize>ir * ldc + jr) * 4, ldc, min(MR, mFull - ir), cols, beta, tile);
      }
    }
    if (mFull < mc) microLow(ap + <usize>(mFull * kc) * 4, bpanel, <usize>width * 4, width, kc, c + (<usize>mFull * ldc + jr) * 4, ldc, mc - mFull, cols, beta, tile);
  }
}

/**
 * At most this many rows of C: B's columns are read in place from its rows (not transposed), 8 at
 * a time, instead of packed — each packed panel would serve at most two A panels, so packing B
 * (a full copy of it: a logistic regression's inputs in its weight gradient, 10 × 784 × 10,000)
 * would cost as much as the product. Every output keeps the fma sequence of the packed path.
 */
const ROWS_IN_PLACE: i32 = 2 * MR;

/**
 * The tiles of one block whose B is read in place (ROWS_IN_PLACE): C[mc×nc] at c (+)= the packed
 * A block ap · B's columns from b (row stride ldb floats), kc deep. Full 8-column panels are read
 * from B's rows; the last < 8 columns are packed into pb and go through macro.
 */
@inline function macroInPlace(ap: usize, b: usize, ldb: i32, kc: i32, c: usize, ldc: i32, mc: i32, nc: i32, beta: bool, pb: usize, tile: usize): void {
  const mFull = fullPanelRows(mc, kc);
  const full = nc & ~(NR - 1), bs = <usize>ldb * 4;
  for (let jr = 0; jr < full; jr += NR) {
    const bpanel = b + <usize>jr * 4;
    for (let ir = 0; ir < mFull; ir += MR) {
      micro(ap + <usize>(ir * kc) * 4, bpanel, bs, kc, c + (<usize>ir * ldc + jr) * 4, ldc, min(MR, mFull - ir), NR, beta, tile);
    }
    if (mFull < mc) microLow(ap + <usize>(mFull * kc) * 4, bpanel, bs, NR, kc, c + (<usize>mFull * ldc + jr) * 4, ldc, mc - mFull, NR, beta, tile);
  }
  if (full < nc) {
    packB(b, ldb, 0, false, 0, kc, full, nc - full, pb);
    macro(ap, pb, kc, c + <usize>full * 4, ldc, mc, nc - full, beta, tile);
  }
}

/**
 * C[m0:m1, n0:n1] (+)= op(A)[m0:m1, :] · op(B)[:, n0:n1]. `accumulate` adds to C instead of
 * overwriting it. a, b, c and scratch are byte addresses in linear memory.
 */
export function gemm(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool,
                     accumulate: bool, m0: i32, m1: i32, n0: i32, n1: i32, scratch: usize): void {
  if (m1 <= m0 || n1 <= n0) return;
  if (k == 0) {
    if (!accumulate) for (let i = m0; i < m1; i++) memory.fill(c + (<usize>i * n + n0) * 4, 0, <usize>(n1 - n0) * 4);
    return;
  }
  const pa = (scratch + 15) & ~15;
  const pb = pa + <usize>(MC * KC) * 4;
  const tile = pb + <usize>(KC * NC) * 4;
  const inPlace = !transB && m1 - m0 <= ROWS_IN_PLACE;
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = min(NC, n1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const beta = accumulate || pc > 0;
      if (inPlace) {
        packA(a, m, k, transA, m0, m1 - m0, pc, kc, pa);
        macroInPlace(pa, b + (<usize>pc * n + jc) * 4, n, kc, c + (<usize>m0 * n + jc) * 4, n, m1 - m0, nc, beta, pb, tile);
        continue;
      }
      packB(b, n, k, transB, pc, kc, jc, nc, pb);
      for (let ic = m0; ic < m1; ic += MC) {
        const mc = min(MC, m1 - ic);
        packA(a, m, k, transA, ic, mc, pc, kc, pa);
        macro(pa, pb, kc, c + (<usize>ic * n + jc) * 4, n, mc, nc, beta, tile);
      }
    }
  }
}

// ---------------------------------------------------------------- pre-packed operand (threads)
// When threads split a product along n, every part needs all of op(A) packed (and along m, all of
// op(B)): packing it once, before the parts run, instead of once per part, lets the product be cut
// into more, smaller parts (a late thread then costs less) without packing the shared operand
// again for each. Layout: the block of depth pc (a multiple of KC) starts at pc·mPad floats (pc·nPad
// for B), and its panel starting at row ir (column jr) sits at ir·kc (jr·kc) within the block.

@inline function padTo(x: i32, u: i32): i32 {
  return (x + u - 1) / u * u;
}

/**
 * Scratch bytes of one gemmPackedA part covering `cols` columns (its packed B slice and a tile), or
 * of one gemmPackedB part (cols = 0: a packed A block and a tile). Parts get only what they use,
 * so the slices the threads pack stay close together in cache.
 */
export function gemmPackedScratchBytes(cols: i32): i32 {
  return 64 + 256 + (cols > 0 ? KC * min(NC, padTo(cols, NR)) : MC * KC) * 4;
}

/** Packs rows [r0, r1) of op(A) (r0 a multiple of MR) for the whole depth k into dst (gemmPackedA's layout). */
export function packAAll(a: usize, m: i32, k: i32, transA: bool, r0: i32, r1: i32, dst: usize): void {
  const mPad = padTo(m, MR);
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    packA(a, m, k, transA, r0, r1 - r0, pc, kc, dst + (<usize>pc * mPad + <usize>r0 * kc) * 4);
  }
}

/** Packs columns [c0, c1) of op(B) (c0 a multiple of 8) for the whole depth k into dst (gemmPackedB's layout). */
export function packBAll(b: usize, n: i32, k: i32, transB: bool, c0: i32, c1: i32, dst: usize): void {
  const nPad = padTo(n, NR);
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    packB(b, n, k, transB, pc, kc, c0, c1 - c0, dst + (<usize>pc * nPad + <usize>c0 * kc) * 4);
  }
}

/** C[:, n0:n1] (+)= op(A) · op(B)[:, n0:n1] with op(A) already packed by packAAll (k > 0). */
export function gemmPackedA(pa: usize, b: usize, c: usize, m: i32, n: i32, k: i32, transB: bool, accumulate: bool,
                            n0: i32, n1: i32, scratch: usize): void {
  if (n1 <= n0) return;
  const mPad = padTo(m, MR);
  const tile = (scratch + 63) & ~63;
  const pb = tile + 256;
  const inPlace = !transB && m <= ROWS_IN_PLACE;
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = min(NC, n1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const beta = accumulate || pc > 0;
      const blk = pa + <usize>pc * mPad * 4;
      if (inPlace) {
        macroInPlace(blk, b + (<usize>pc * n + jc) * 4, n, kc, c + <usize>jc * 4, n, m, nc, beta, pb, tile);
        continue;
      }
      packB(b, n, k, transB, pc, kc, jc, nc, pb);
      for (let ic = 0; ic < m; ic += MC) {
        macro(blk + <usize>(ic * kc) * 4, pb, kc, c + (<usize>ic * n + jc) * 4, n, min(MC, m - ic), nc, beta, tile);
      }
    }
  }
}

/** C[m0:m1, :] (+)= op(A)[m0:m1, :] · op(B) with op(B) already packed by packBAll (k > 0, m0 a multiple of MR). */
export function gemmPackedB(a: usize, pb: usize, c: usize, m: i32, n: i32, k: i32, transA: bool, accumulate: bool,
                            m0: i32, m1: i32, scratch: usize): void {
  if (m1 <= m0) return;
  const nPad = padTo(n, NR);
  const tile = (scratch + 63) & ~63;
  const pa = tile + 256;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    const beta = accumulate || pc > 0;
    const blk = pb + <usize>pc * nPad * 4;
    for (let ic = m0; ic < m1; ic += MC) {
      const mc = min(MC, m1 - ic);
      packA(a, m, k, transA, ic, mc, pc, kc, pa);
      macro(pa, blk, kc, c + <usize>(ic * n) * 4, n, mc, n, beta, tile);
    }
  }
}

/**
 * C[m×n] (+)= A · B with both operands already packed, each for the whole product: A by packAAll
 * (rows [0, m)), B in packBAll's layout (columns [0, n)) — Winograd's products, whose filters are
 * packed once a call and whose input transform writes B packed.
 */
export function gemmPackedAB(pa: usize, pb: usize, c: usize, m: i32, n: i32, k: i32, accumulate: bool, scratch: usize): void {
  const mPad = padTo(m, MR), nPad = padTo(n, NR);
  const tile = (scratch + 63) & ~63;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const beta = accumulate || pc > 0;
      const ablk = pa + <usize>pc * mPad * 4, bblk = pb + (<usize>pc * nPad + <usize>jc * kc) * 4;
      for (let ic = 0; ic < m; ic += MC) {
        macro(ablk + <usize>(ic * kc) * 4, bblk, kc, c + (<usize>ic * n + jc) * 4, n, min(MC, m - ic), nc, beta, tile);
      }
    }
  }
}

// ---------------------------------------------------------------- a batch of products
/**
 * C[z] = op(A[z]) · op(B[z]) for z in [z0, z1): C[z] (m×n) at c + z·m·n floats, A[z] at a + z·strideA
 * floats, B[z] at b + z·strideB (a stride of 0 shares one matrix among the batch). Each product is
 * gemm's over the whole matrix, so every output is the fma sequence a single gemm call gives it:
 * the batch equals one product per matrix bit for bit, and threads split the batch, not a product.
 */
export function gemmBatch(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool,
                          strideA: i32, strideB: i32, z0: i32, z1: i32, scratch: usize): void {
  for (let z = z0; z < z1; z++) {
    gemm(a + <usize>z * <usize>strideA * 4, b + <usize>z * <usize>strideB * 4, c + <usize>z * <usize>(m * n) * 4,
         m, n, k, transA, transB, false, 0, m, 0, n, scratch);
  }
}
