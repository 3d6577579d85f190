/**
 * Layer normalisation over rows (src/nn/layernorm.ts), and RMS normalisation (rmsForward and
 * rmsBackward at the end): x [rows, F], each row normalised by its
 * own mean and biased variance, then the per-feature affine, in one pass each way over a range of
 * rows [r0, r1) so threads split the rows:
 *
 *   lnForward   y = (x − μ)·invstd·w + b; the row's μ and invstd into stats (float64: μ at row r,
 *               invstd at rows + r)
 *   lnBackward  x̂ = (x − μ)·invstd, ĝ = g·w:  gx = invstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), and the
 *               part's Σ over its rows of g·x̂ (w's gradient) and of g (b's) added into acc
 *               (float64: F of each; summed in float32 over FLUSH_ROWS rows at a time)
 *
 * w = 0 means no weight (1), b = 0 no bias (0). Row sums run in float32 vectors added into float64
 * per row; a value is centred on the mean rounded to float32, as asm/norm.ts centres a channel.
 */

import { hsum } from './norm';

/** Vectors per float32 partial sum before it is added into the float64 total. */
const BLOCK: i32 = 32;

export function lnForward(x: usize, y: usize, w: usize, b: usize, F: i32, eps: f64, stats: usize, rows: i32, r0: i32, r1: i32): void {
  const F4 = F & ~3;
  for (let r = r0; r < r1; r++) {
    const px = x + <usize>r * <usize>F * 4, py = y + <usize>r * <usize>F * 4;
    // the mean, then the squares about it rounded to float32 (one pass each, float64 totals)
    let s: f64 = 0;
    let j = 0;
    while (j < F4) {
      let acc = f32x4.splat(0);
      const end = min(F4, j + 4 * BLOCK);
      for (; j < end; j += 4) acc = f32x4.add(acc, v128.load(px + <usize>j * 4));
      s += hsum(acc);
    }
    for (; j < F; j++) s += <f64>load<f32>(px + <usize>j * 4);
    const mean = s / <f64>F;
    const mf = <f32>mean;
    const mv = f32x4.splat(mf);
    let q: f64 = 0;
    j = 0;
    while (j < F4) {
      let acc = f32x4.splat(0);
      const end = min(F4, j + 4 * BLOCK);
      for (; j < end; j += 4) {
        const d = f32x4.sub(v128.load(px + <usize>j * 4), mv);
        acc = f32x4.add(acc, f32x4.mul(d, d));
      }
      q += hsum(acc);
    }
    for (; j < F; j++) {
      const d = load<f32>(px + <usize>j * 4) - mf;
      q += <f64>(d * d);
    }
    const invstd = 1 / Math.sqrt(q / <f64>F + eps);
    store<f64>(stats + <usize>r * 8, mean);
    store<f64>(stats + <usize>(rows + r) * 8, invstd);
    const isf = <f32>invstd;
    const iv = f32x4.splat(isf);
    for (j = 0; j < F4; j += 4) {
      let v = f32x4.mul(f32x4.sub(v128.load(px + <usize>j * 4), mv), iv);
      if (w) v = f32x4.mul(v, v128.load(w + <usize>j * 4));
      if (b) v = f32x4.add(v, v128.load(b + <usize>j * 4));
      v128.store(py + <usize>j * 4, v);
    }
    for (; j < F; j++) {
      let v = (load<f32>(px + <usize>j * 4) - mf) * isf;
      if (w) v *= load<f32>(w + <usize>j * 4);
      if (b) v += load<f32>(b + <usize>j * 4);
      store<f32>(py + <usize>j * 4, v);
    }
  }
}

/** Rows whose g·x̂ and g a part sums in float32 before adding them into its float64 sums. */
const FLUSH_ROWS: i32 = 32;

/** Adds the float32 sums at fw and fb (F each) into the float64 ones at acc (gw's F, then gb's F) and zeroes them. */
function flushPair(fw: usize, fb: usize, acc: usize, F: i32): void {
  for (let j = 0; j < F; j++) {
    const o = <usize>j * 4;
    store<f64>(acc + <usize>j * 8, load<f64>(acc + <usize>j * 8) + <f64>load<f32>(fw + o));
    store<f64>(acc + <usize>(F + j) * 8, load<f64>(acc + <usize>(F + j) * 8) + <f64>load<f32>(fb + o));
    store<f32>(fw + o, 0);
    store<f32>(fb + o, 0);
  }
}

/** lnBackward's scratch bytes for F features: the float32 sums (2F, vector-aligned). */
export function lnBackwardScratchBytes(F: i32): i32 {
  return 2 * ((F + 3) & ~3) * 4 + 16;
}

export function lnBackward(g: usize, x: usize, w: usize, stats: usize, gx: usize, acc: usize, F: i32, rows: i32, r0: i32, r1: i32, scratch: usize): void {
  const F4 = F & ~3;
  const rF: f64 = 1 / <f64>F;
  // float32 sums of g·x̂ (at fw) and of g (at fb), flushed into acc every FLUSH_ROWS rows
  const fw = (scratch + 15) & ~15, fb = fw + <usize>((F + 3) & ~3) * 4;
  if (acc) {
    memory.fill(fw, 0, <usize>((F + 3) & ~3) * 8);
  }
  for (let r = r0; r < r1; r++) {
    if (acc && r > r0 && (r - r0) % FLUSH_ROWS == 0) flushPair(fw, fb, acc, F);
    const off = <usize>r * <usize>F * 4;
    const pg = g + off, px = x + off, pgx = gx + off;
    const mf = <f32>load<f64>(stats + <usize>r * 8);
    const isf = <f32>load<f64>(stats + <usize>(rows + r) * 8);
    const mv = f32x4.splat(mf), iv = f32x4.splat(isf);
    // Σ ĝ and Σ ĝ·x̂ over the row; Σ g·x̂ and Σ g into the part's float64 sums
    let sa = f32x4.splat(0), sb = f32x4.splat(0);
    let j = 0;
    for (; j < F4; j += 4) {
      const gv = v128.load(pg + <usize>j * 4);
      const xh = f32x4.mul(f32x4.sub(v128.load(px + <usize>j * 4), mv), iv);
      const gh = w ? f32x4.mul(gv, v128.load(w + <usize>j * 4)) : gv;
      sa = f32x4.add(sa, gh);
      sb = f32x4.add(sb, f32x4.mul(gh, xh));
      if (acc) {
        const o = <usize>j * 4;
        v128.store(fw + o, f32x4.add(v128.load(fw + o), f32x4.mul(gv, xh)));
        v128.store(fb + o, f32x4.add(v128.load(fb + o), gv));
      }
    }
    let ta = hsum(sa), tb = hsum(sb);
    for (; j < F; j++) {
      const gv = load<f32>(pg + <usize>j * 4);
      const xh = (load<f32>(px + <usize>j * 4) - mf) * isf;
      const gh = w ? gv * load<f32>(w + <usize>j * 4) : gv;
      ta += <f64>gh;
      tb += <f64>(gh * xh);
      if (acc) {
        const o = <usize>j * 4;
        store<f32>(fw + o, load<f32>(fw + o) + gv * xh);
        store<f32>(fb + o, load<f32>(fb + o) + gv);
      }
    }
    const a = <f32>(ta * rF), bq = <f32>(tb * rF);
    const av = f32x4.splat(a), bv = f32x4.splat(bq);
    for (j = 0; j < F4; j += 4) {
      const gv = v128.load(pg + <usize>j * 4);
      const xh = f32x4.mul(f32x4.sub(v128.load(px + <usize>j * 4), mv), iv);
      const gh = w ? f32x4.mul(gv, v128.load(w + <usize>j * 4)) : gv;
      v128.store(pgx + <usize>j * 4, f32x4.mul(iv, f32x4.sub(f32x4.sub(gh, av), f32x4.mul(xh, bv))));
    }
    for (; j < F; j++) {
      const gv = load<f32>(pg + <usize>j * 4);
      const xh = (load<f32>(px + <usize>j * 4) - mf) * isf;
      const gh = w ? gv * load<f32>(w + <usize>j * 4) : gv;
      store<f32>(pgx + <usize>j * 4, isf * (gh - a - xh * bq));
    }
  }
  if (acc) flushPair(fw, fb, acc, F);
}

/**
 * RMS normalisation (src/nn/rmsnorm.ts) over rows [r0, r1), x [rows, F], no centring and no bias:
 *
 *   rmsForward   y = x·r·w, r = 1/√(mean(x²) + eps) of the row, written to stats (float64, at row r)
 *   rmsBackward  ĝ = g·w:  gx = r·ĝ − x·r³·mean(ĝ·x), and the part's Σ over its rows of g·x·r
 *                (w's gradient) added into acc (float64, F; summed in float32 over FLUSH_ROWS rows)
 *
 * w = 0 means no weight. The row sums run in float32 vectors added into float64, as lnForward's.
 */
export function rmsForward(x: usize, y: usize, w: usize, F: i32, eps: f64, stats: usize, r0: i32, r1: i32): void {
  const F4 = F & ~3;
  for (let r = r0; r < r1; r++) {
    const px = x + <usize>r * <usize>F * 4, py = y + <usize>r * <usize>F * 4;
    let q: f64 = 0;
    let j = 0;
    while (j < F4) {
      let acc = f32x4.splat(0);
      const end = min(F4, j + 4 * BLOCK);
      for (; j < end; j += 4) {
        const v = v128.load(px + <usize>j * 4);
        acc = f32x4.add(acc, f32x4.mul(v, v));
      }
      q += hsum(acc);
    }
    for (; j < F; j++) {
      const v = load<f32>(px + <usize>j * 4);
      q += <f64>(v * v);
    }
    const inv = 1 / Math.sqrt(q / <f64>F + eps);
    store<f64>(stats + <usize>r * 8, inv);
    const rf = <f32>inv;
    const rv = f32x4.splat(rf);
    for (j = 0; j < F4; j += 4) {
      let v = f32x4.mul(v128.load(px + <usize>j * 4), rv);
      if (w) v = f32x4.mul(v, v128.load(w + <usize>j * 4));
      v128.store(py + <usize>j * 4, v);
    }
    for (; j < F; j++) {
      let v = load<f32>(px + <usize>j * 4) * rf;
      if (w) v *= load<f32>(w + <usize>j * 4);
      store<f32>(py + <usize>j * 4, v);
    }
  }
}

/** Adds the float32 sums at fw (F) into the float64 ones at acc and zeroes them. */
function flushOne(fw: usize, acc: usize, F: i32): void {
  for (let j = 0; j < F; j++) {
    const o = <usize>j * 4;
    store<f64>(acc + <usize>j * 8, load<f64>(acc + <usize>j * 8) + <f64>load<f32>(fw + o));
    store<f32>(fw + o, 0);
  }
}

/** rmsBackward; scratch is lnBackwardScratchBytes(F) bytes, of which it uses the first F float32 sums. */
export function rmsBackward(g: usize, x: usize, w: usize, stats: usize, gx: usize, acc: usize, F: i32, r0: i32, r1: i32, scratch: usize): void {
  const F4 = F & ~3;
  const rF: f64 = 1 / <f64>F;
  const fw = (scratch + 15) & ~15;
  if (acc) memory.fill(fw, 0, <usize>((F + 3) & ~3) * 4);
  for (let r = r0; r < r1; r++) {
    if (acc && r > r0 && (r - r0) % FLUSH_ROWS == 0) flushOne(fw, acc, F);
    const off = <usize>r * <usize>F * 4;
    const pg = g + off, px = x + off, pgx = gx + off;
    const inv = load<f64>(stats + <usize>r * 8);
    const rf = <f32>inv;
    const rv = f32x4.splat(rf);
    // Σ ĝ·x over the row; g·x·r into the part's sums
    let sd = f32x4.splat(0);
    let j = 0;
    for (; j < F4; j += 4) {
      const gv = v128.load(pg + <usize>j * 4);
      const xv = v128.load(px + <usize>j * 4);
      const gh = w ? f32x4.mul(gv, v128.load(w + <usize>j * 4)) : gv;
      sd = f32x4.add(sd, f32x4.mul(gh, xv));
      if (acc) {
        const o = <usize>j * 4;
        v128.store(fw + o, f32x4.add(v128.load(fw + o), f32x4.mul(gv, f32x4.mul(xv, rv))));
      }
    }
    let dot = hsum(sd);
    for (; j < F; j++) {
      const gv = load<f32>(pg + <usize>j * 4);
      const xv = load<f32>(px + <usize>j * 4);
      const gh = w ? gv * load<f32>(w + <usize>j * 4) : gv;
      dot += <f64>(gh * xv);
      if (acc) {
        const o = <usize>j * 4;
        store<f32>(fw + o, load<f32>(fw + o) + gv * (xv * rf));
      }
    }
    // x·r³·mean(ĝ·x), r³ and the mean in float64
    const c = <f32>(dot * inv * inv * inv * rF);
    const cv = f32x4.splat(c);
    for (j = 0; j < F4; j += 4) {
      const gv = v128.load(pg + <usize>j * 4);
      const gh = w ? f32x4.mul(gv, v128.load(w + <usize>j * 4)) : gv;
      v128.store(pgx + <usize>j * 4, f32x4.sub(f32x4.mul(rv, gh), f32x4.mul(cv, v128.load(px + <usize>j * 4))));
    }
    for (; j < F; j++) {
      const gv = load<f32>(pg + <usize>j * 4);
      const gh = w ? gv * load<f32>(w + <usize>j * 4) : gv;
      store<f32>(pgx + <usize>j * 4, rf * gh - c * load<f32>(px + <usize>j * 4));
    }
  }
  if (acc) flushOne(fw, acc, F);
}
