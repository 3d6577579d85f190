/**
 * Pooling kernels, each over a range of (n, c) planes [p0, p1) so threads split the planes.
 *   maxPool2d           out = window maxima, idx = their offsets within the input plane
 *   scatterPlanes       gx[idx[p]] += gy[p] per plane (max pooling's backward)
 *   avgPool2d           out = window means (divisor with or without the padded cells)
 *   avgPool2dBackward   its transpose: each gy / divisor spread over its window
 *   fmpArgmax           the arg-max offsets of fractional max pooling's windows (per image)
 * Geometry arrives in a block laid out as asm/geometry.ts names it.
 *
 * The reference semantics are kept exactly (src/backend/reference-conv.ts): padding is −∞ for the
 * maximum, the first maximum in row-major order wins and a NaN wins (the last one); the averages
 * sum in f64 and divide in f64 like the reference's JS numbers, so every result is bit-identical to
 * it. The common 2×2, stride-2, unpadded window has SIMD paths that do 4 outputs at a time.
 */
import { geoAt, GEO_H, GEO_W, GEO_KH, GEO_KW, GEO_OH, GEO_OW, GEO_SH, GEO_SW, GEO_PH, GEO_PW } from './geometry';

@inline function is2x2s2(geo: usize): bool {
  return geoAt(geo, GEO_KH) == 2 && geoAt(geo, GEO_KW) == 2 && geoAt(geo, GEO_SH) == 2 && geoAt(geo, GEO_SW) == 2
    && geoAt(geo, GEO_PH) == 0 && geoAt(geo, GEO_PW) == 0
    // every window inside the plane (a ceil-mode last window hangs over it and takes the general path)
    && 2 * geoAt(geo, GEO_OH) <= geoAt(geo, GEO_H) && 2 * geoAt(geo, GEO_OW) <= geoAt(geo, GEO_W);
}

/** dst[0..n) = 0 (a loop: for short runs the bulk-memory instruction is a slow call in V8). */
@inline function zero(dst: usize, n: i32): void {
  let i = 0;
  const z = f32x4.splat(0);
  for (; i + 4 <= n; i += 4) v128.store(dst + <usize>i * 4, z);
  for (; i < n; i++) store<f32>(dst + <usize>i * 4, 0);
}

/** One output of max pooling: the maximum over rows [y0, y1) × columns [x0, x1) of plane xp. */
@inline function maxAt(xp: usize, w: i32, y0: i32, y1: i32, x0: i32, x1: i32, o: usize, ix: usize): void {
  let best: f32 = -Infinity;
  let bi = y0 * w + x0;
  for (let i = y0; i < y1; i++) {
    const row = xp + <usize>(i * w) * 4;
    for (let j = x0; j < x1; j++) {
      const v = load<f32>(row + <usize>j * 4);
      // branch-free: on random data the comparison is a coin flip a branch predictor cannot learn
      const take = v > best || v != v;
      best = select<f32>(v, best, take);
      bi = select<i32>(i * w + j, bi, take);
    }
  }
  store<f32>(o, best);
  store<i32>(ix, bi);
}

/** Max pooling of planes [p0, p1): out gets the maxima, idx (i32) their offsets within the plane. */
export function maxPool2d(x: usize, out: usize, idx: usize, geo: usize, p0: i32, p1: i32): void {
  const h = geoAt(geo, GEO_H), w = geoAt(geo, GEO_W), kh = geoAt(geo, GEO_KH), kw = geoAt(geo, GEO_KW);
  const oh = geoAt(geo, GEO_OH), ow = geoAt(geo, GEO_OW);
  const sh = geoAt(geo, GEO_SH), sw = geoAt(geo, GEO_SW), ph = geoAt(geo, GEO_PH), pw = geoAt(geo, GEO_PW);
  const fast = is2x2s2(geo);
  for (let pl = p0; pl < p1; pl++) {
    const xp = x + <usize>(pl * h * w) * 4;
    const ob = <usize>(pl * oh * ow) * 4;
    for (let y = 0; y < oh; y++) {
      const o = out + ob + <usize>(y * ow) * 4, ix = idx + ob + <usize>(y * ow) * 4;
      let xx = 0;
      if (fast) {
        // rows 2y and 2y+1; lanes are 4 outputs, their windows' cells in row-major order are
        // (even, odd) of row 0 then of row 1; a later cell wins only if greater, or NaN
        const r0 = xp + <usize>(2 * y * w) * 4, r1 = r0 + <usize>w * 4;
        const one = i32x4.splat(1), down = i32x4.splat(w);
        // when ow is not a multiple of 4 the last vector overlaps the one before (recomputing
        // outputs is harmless), so no output takes the slow scalar path
        for (; xx < ow && ow >= 4; xx += 4) {
          if (xx + 4 > ow) xx = ow - 4;
          const col = i32x4.add(i32x4.splat(2 * y * w + 2 * xx), i32x4(0, 2, 4, 6));
          const off = <usize>(2 * xx) * 4;
          const a0 = v128.load(r0 + off), a1 = v128.load(r0 + off, 16);
          const b0 = v128.load(r1 + off), b1 = v128.load(r1 + off, 16);
          let best = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6);
          let bi = col;
          const c1 = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
          let m = v128.or(f32x4.gt(c1, best), f32x4.ne(c1, c1));
          best = v128.bitselect(c1, best, m);
          bi = v128.bitselect(i32x4.add(col, one), bi, m);
          const c2 = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6);
          m = v128.or(f32x4.gt(c2, best), f32x4.ne(c2, c2));
          best = v128.bitselect(c2, best, m);
          const below = i32x4.add(col, down);
          bi = v128.bitselect(below, bi, m);
          const c3 = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
          m = v128.or(f32x4.gt(c3, best), f32x4.ne(c3, c3));
          best = v128.bitselect(c3, best, m);
          bi = v128.bitselect(i32x4.add(below, one), bi, m);
          v128.store(o + <usize>xx * 4, best);
          v128.store(ix + <usize>xx * 4, bi);
        }
      }
      const y0 = max(y * sh - ph, 0), y1 = min(y * sh - ph + kh, h);
      for (; xx < ow; xx++) {
        const x0 = max(xx * sw - pw, 0), x1 = min(xx * sw - pw + kw, w);
        maxAt(xp, w, y0, y1, x0, x1, o + <usize>xx * 4, ix + <usize>xx * 4);
      }
    }
  }
}

/**
 * gx[pl, idx[pl, p]] += gy[pl, p] for planes [p0, p1); zero-fills those planes of gx first. An
 * index outside the plane is skipped (so a bad index cannot write into other memory).
 */
export function scatterPlanes(gy: usize, idx: usize, gx: usize, inPlane: i32, outPlane: i32, p0: i32, p1: i32): void {
  for (let pl = p0; pl < p1; pl++) {
    const dst = gx + <usize>(pl * inPlane) * 4;
    const src = <usize>(pl * outPlane) * 4;
    zero(dst, inPlane);
    for (let p = 0; p < outPlane; p++) {
      const o = <usize>p * 4;
      const i = load<i32>(idx + src + o);
      if (<u32>i >= <u32>inPlane) continue;
      const d = dst + (<usize>i << 2);
      store<f32>(d, load<f32>(d) + load<f32>(gy + src + o));
    }
  }
}

/**
 * Window of output (y, xx) clipped to the plane, and its divisor (the window clipped to the padded
 * plane when counting padding, else the clipped window's size), as the reference computes them.
 */
@inline function avgDivisor(h: i32, w: i32, kh: i32, kw: i32, ya: i32, xa: i32, ph: i32, pw: i32, inclPad: bool): i32 {
  const yb = min(ya + kh, h + ph), xb = min(xa + kw, w + pw);
  if (inclPad) return (yb - ya) * (xb - xa);
  return (min(yb, h) - max(ya, 0)) * (min(xb, w) - max(xa, 0));
}

/** Average pooling of planes [p0, p1). */
export function avgPool2d(x: usize, out: usize, geo: usize, inclPad: bool, p0: i32, p1: i32): void {
  const h = geoAt(geo, GEO_H), w = geoAt(geo, GEO_W), kh = geoAt(geo, GEO_KH), kw = geoAt(geo, GEO_KW);
  const oh = geoAt(geo, GEO_OH), ow = geoAt(geo, GEO_OW);
  const sh = geoAt(geo, GEO_SH), sw = geoAt(geo, GEO_SW), ph = geoAt(geo, GEO_PH), pw = geoAt(geo, GEO_PW);
  const fast = is2x2s2(geo);
  for (let pl = p0; pl < p1; pl++) {
    const xp = x + <usize>(pl * h * w) * 4;
    for (let y = 0; y < oh; y++) {
      const o = out + <usize>((pl * oh + y) * ow) * 4;
      let xx = 0;
      if (fast) {
        // the reference's f64 sum (row-major order) and division, two lanes at a time
        const r0 = xp + <usize>(2 * y * w) * 4, r1 = r0 + <usize>w * 4;
        const q = f64x2.splat(0.25);
        for (; xx < ow && ow >= 4; xx += 4) {
          if (xx + 4 > ow) xx = ow - 4; // an overlapping last vector, as in maxPool2d
          const off = <usize>(2 * xx) * 4;
          const a0 = v128.load(r0 + off), a1 = v128.load(r0 + off, 16);
          const b0 = v128.load(r1 + off), b1 = v128.load(r1 + off, 16);
          const c0 = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), c1 = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
          const c2 = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), c3 = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
          let lo = f64x2.add(f64x2.promote_low_f32x4(c0), f64x2.promote_low_f32x4(c1));
          lo = f64x2.add(lo, f64x2.promote_low_f32x4(c2));
          lo = f64x2.mul(f64x2.add(lo, f64x2.promote_low_f32x4(c3)), q);
          const d0 = v128.shuffle<f64>(c0, c0, 1, 0), d1 = v128.shuffle<f64>(c1, c1, 1, 0);
          const d2 = v128.shuffle<f64>(c2, c2, 1, 0), d3 = v128.shuffle<f64>(c3, c3, 1, 0);
          let hi = f64x2.add(f64x2.promote_low_f32x4(d0), f64x2.promote_low_f32x4(d1));
          hi = f64x2.add(hi, f64x2.promote_low_f32x4(d2));
          hi = f64x2.mul(f64x2.add(hi, f64x2.promote_low_f32x4(d3)), q);
          v128.store(o + <usize>xx * 4, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
        }
      }
      const ya = y * sh - ph;
      const y0 = max(ya, 0), y1 = min(ya + kh, h);
      for (; xx < ow; xx++) {
        const xa = xx * sw - pw;
        const x0 = max(xa, 0), x1 = min(xa + kw, w);
        let s: f64 = 0;
        for (let i = y0; i < y1; i++) {
          const row = xp + <usize>(i * w) * 4;
          for (let j = x0; j < x1; j++) s += <f64>load<f32>(row + <usize>j * 4);
        }
        store<f32>(o + <usize>xx * 4, <f32>(s / <f64>avgDivisor(h, w, kh, kw, ya, xa, ph, pw, inclPad)));
      }
    }
  }
}

/** The transpose of avgPool2d for planes [p0, p1): gx (overwritten) gets each gy / divisor over its window. */
export function avgPool2dBackward(gy: usize, gx: usize, geo: usize, inclPad: bool, p0: i32, p1: i32): void {
  const h = geoAt(geo, GEO_H), w = geoAt(geo, GEO_W), kh = geoAt(geo, GEO_KH), kw = geoAt(geo, GEO_KW);
  const oh = geoAt(geo, GEO_OH), ow = geoAt(geo, GEO_OW);
  const sh = geoAt(geo, GEO_SH), sw = geoAt(geo, GEO_SW), ph = geoAt(geo, GEO_PH), pw = geoAt(geo, GEO_PW);
  const fast = is2x2s2(geo);
  for (let pl = p0; pl < p1; pl++) {
    const dp = gx + <usize>(pl * h * w) * 4;
    const gp = gy + <usize>(pl * oh * ow) * 4;
    if (fast) {
      // disjoint windows: every cell is written once (gy/4 is exact in f32), the uncovered last
      // column and row (odd sizes) are zeroed
      const q = f32x4.splat(0.25);
      for (let y = 0; y < oh; y++) {
        const r0 = dp + <usize>(2 * y * w) * 4, r1 = r0 + <usize>w * 4;
        const src = gp + <usize>(y * ow) * 4;
        let xx = 0;
        for (; xx < ow && ow >= 4; xx += 4) {
          if (xx + 4 > ow) xx = ow - 4; // an overlapping last vector (it writes the same values again)
          const v = f32x4.mul(v128.load(src + <usize>xx * 4), q);
          const l = v128.shuffle<f32>(v, v, 0, 0, 1, 1), r = v128.shuffle<f32>(v, v, 2, 2, 3, 3);
          const off = <usize>(2 * xx) * 4;
          v128.store(r0 + off, l); v128.store(r0 + off, r, 16);
          v128.store(r1 + off, l); v128.store(r1 + off, r, 16);
        }
        for (; xx < ow; xx++) {
          const v = load<f32>(src + <usize>xx * 4) * 0.25;
          const off = <usize>(2 * xx) * 4;
          store<f32>(r0 + off, v); store<f32>(r0 + off, v, 4);
          store<f32>(r1 + off, v); store<f32>(r1 + off, v, 4);
        }
        for (let j = 2 * ow; j < w; j++) { store<f32>(r0 + <usize>j * 4, 0); store<f32>(r1 + <usize>j * 4, 0); }
      }
      zero(dp + <usize>(2 * oh * w) * 4, (h - 2 * oh) * w);
      continue;
    }
    zero(dp, h * w);
    for (let y = 0; y < oh; y++) {
      const ya = y * sh - ph;
      const y0 = max(ya, 0), y1 = min(ya + kh, h);
      for (let xx = 0; xx < ow; xx++) {
        const xa = xx * sw - pw;
        const x0 = max(xa, 0), x1 = min(xa + kw, w);
        // like the reference: v in f64, each cell rounded to f32 after its own addition
        const v = <f64>load<f32>(gp + <usize>(y * ow + xx) * 4) / <f64>avgDivisor(h, w, kh, kw, ya, xa, ph, pw, inclPad);
        for (let i = y0; i < y1; i++) {
          const row = dp + <usize>(i * w) * 4;
          for (let j = x0; j < x1; j++) {
            const d = row + <usize>j * 4;
            store<f32>(d, <f32>(<f64>load<f32>(d) + v));
          }
        }
      }
    }
  }
}

/**
 * Fractional max pooling's arg-max (Graham's variants, src/nn/fmp.ts) for planes [p0, p1) of x
 * [N, C, h, w]: idx[pl][i][j] = the offset in plane pl of the maximum over rows [r0[i], r1[i]) ×
 * columns [c0[j], c1[j]), the windows of image pl / C: rows holds per image its oh starts then its
 * oh ends, cols its ow starts then ow ends (i32). The first maximum in row-major order wins and a
 * NaN wins (the last one); an all −∞ window gives its first cell.
 */
export function fmpArgmax(x: usize, idx: usize, rows: usize, cols: usize, c: i32, h: i32, w: i32, oh: i32, ow: i32, p0: i32, p1: i32): void {
  const hw = h * w, ohw = oh * ow;
  for (let pl = p0; pl < p1; pl++) {
    const n = pl / c;
    const r0 = rows + <usize>(n * 2 * oh) * 4, r1 = r0 + <usize>oh * 4;
    const c0 = cols + <usize>(n * 2 * ow) * 4, c1 = c0 + <usize>ow * 4;
    const plane = x + <usize>(pl * hw) * 4, out = idx + <usize>(pl * ohw) * 4;
    for (let i = 0; i < oh; i++) {
      const ya = load<i32>(r0 + <usize>i * 4), yb = load<i32>(r1 + <usize>i * 4);
      for (let j = 0; j < ow; j++) {
        const xa = load<i32>(c0 + <usize>j * 4), xb = load<i32>(c1 + <usize>j * 4);
        let best = -Infinity as f32, bi = ya * w + xa;
        for (let y = ya; y < yb; y++) {
          const row = plane + <usize>(y * w) * 4;
          for (let xx = xa; xx < xb; xx++) {
            const v = load<f32>(row + <usize>xx * 4);
            if (v > best || v != v) { best = v; bi = y * w + xx; }
          }
        }
        store<i32>(out + <usize>(i * ow + j) * 4, bi);
      }
    }
  }
}
