/**
 * Batch normalisation's loops (src/nn/batchnorm.ts) over x laid out [n, c, inner] (inner: a
 * plane's pixels, 1 after a Linear layer), each over a range of channels [c0, c1) so threads split
 * the channels:
 *
 *   bnStats     stats[ch] = the channel's mean, stats[c + ch] = its biased variance (float64)
 *   bnApply     out = (x − mean)·scale + shift per channel (then ReLU when relu)
 *   bnBackward  the input's gradient, and the sums that give the weight's and bias' gradients
 *
 * Channel constants arrive as float64 blocks of 4 per channel (CH_* below). Sums run in float32
 * vectors of at most BLOCK vectors per partial sum, added into float64 totals, so a channel of
 * 10⁶ values is summed within a few float32 roundings, as the reference's float64 loops are.
 * A value is centred as (x − mean_hi) − mean_lo, the mean split into two float32s: x − mean_hi is
 * exact near the mean, so the normalised values keep float32 precision when |mean| ≫ std.
 * ReLU keeps torch.relu's NaN (v ≤ 0 ? 0 : v) and its backward lets a NaN output's gradient through.
 */

/** Vectors per float32 partial sum before it is added into the float64 total. */
const BLOCK: i32 = 16;
/** Slots of a channel's float64 block. bnApply: mean, scale, shift. bnBackward: mean, invstd, invstd·weight. */
const CH_MEAN: i32 = 0;
const CH_A: i32 = 1;
const CH_B: i32 = 2;
const CH_SLOTS: i32 = 4;

/** The four lanes' sum in float64, lane 0 first (the order every row and channel sum of these kernels takes). */
@inline export function hsum(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
}

@inline function chAt(ch: usize, c: i32, slot: i32): f64 {
  return load<f64>(ch + <usize>(c * CH_SLOTS + slot) * 8);
}

/** Σ p[0..len) in float64 (float32 vector partial sums). */
@inline function rowSum(p: usize, len: i32): f64 {
  let total: f64 = 0;
  let j = 0;
  while (j + 8 <= len) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
    const end = min(len, j + 8 * BLOCK);
    for (; j + 8 <= end; j += 8) {
      s0 = f32x4.add(s0, v128.load(p + <usize>j * 4));
      s1 = f32x4.add(s1, v128.load(p + <usize>j * 4, 16));
    }
    total += hsum(f32x4.add(s0, s1));
  }
  for (; j < len; j++) total += <f64>load<f32>(p + <usize>j * 4);
  return total;
}

/** Σ (p[j] − m)² over [0, len) in float64 (float32 vector partial sums). */
@inline function rowSquares(p: usize, len: i32, m: f32): f64 {
  const mv = f32x4.splat(m);
  let total: f64 = 0;
  let j = 0;
  while (j + 8 <= len) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
    const end = min(len, j + 8 * BLOCK);
    for (; j + 8 <= end; j += 8) {
      const d0 = f32x4.sub(v128.load(p + <usize>j * 4), mv);
      const d1 = f32x4.sub(v128.load(p + <usize>j * 4, 16), mv);
      s0 = f32x4.add(s0, f32x4.mul(d0, d0));
      s1 = f32x4.add(s1, f32x4.mul(d1, d1));
    }
    total += hsum(f32x4.add(s0, s1));
  }
  for (; j < len; j++) {
    const d = <f64>(load<f32>(p + <usize>j * 4) - m);
    total += d * d;
  }
  return total;
}

/** Per channel in [c0, c1): stats[ch] = mean, stats[c + ch] = biased variance, two passes. */
export function bnStats(x: usize, n: i32, c: i32, inner: i32, stats: usize, c0: i32, c1: i32): void {
  const count = <f64>n * <f64>inner;
  for (let ch = c0; ch < c1; ch++) {
    let s: f64 = 0;
    for (let i = 0; i < n; i++) s += rowSum(x + <usize>((i * c + ch) * inner) * 4, inner);
    const m = s / count;
    const mf = <f32>m;
    let q: f64 = 0;
    for (let i = 0; i < n; i++) q += rowSquares(x + <usize>((i * c + ch) * inner) * 4, inner, mf);
    // Σ(x − m)² = Σ(x − mf)² − count·(m − mf)², since Σ(x − m) = 0
    const dm = m - <f64>mf;
    store<f64>(stats + <usize>ch * 8, m);
    store<f64>(stats + <usize>(c + ch) * 8, max(q - count * dm * dm, 0) / count);
  }
}

/** out = ((x − mean_hi) − mean_lo)·scale + shift per channel in [c0, c1), then v ≤ 0 ? 0 : v when relu. */
export function bnApply(x: usize, out: usize, n: i32, c: i32, inner: i32, chb: usize, relu: bool, c0: i32, c1: i32): void {
  const zero = f32x4.splat(0);
  for (let ch = c0; ch < c1; ch++) {
    const m = chAt(chb, ch, CH_MEAN);
    const hi = <f32>m, lo = <f32>(m - <f64>hi), scale = <f32>chAt(chb, ch, CH_A), shift = <f32>chAt(chb, ch, CH_B);
    const hv = f32x4.splat(hi), lv = f32x4.splat(lo), sv = f32x4.splat(scale), bv = f32x4.splat(shift);
    for (let i = 0; i < n; i++) {
      const off = <usize>((i * c + ch) * inner) * 4;
      const xp = x + off, op = out + off;
      let j = 0;
      for (; j + 4 <= inner; j += 4) {
        const d = f32x4.sub(f32x4.sub(v128.load(xp + <usize>j * 4), hv), lv);
        let v = f32x4.add(f32x4.mul(d, sv), bv);
        if (relu) v = v128.bitselect(zero, v, f32x4.le(v, zero));
        v128.store(op + <usize>j * 4, v);
      }
      for (; j < inner; j++) {
        let v = (load<f32>(xp + <usize>j * 4) - hi - lo) * scale + shift;
        if (relu && v <= 0) v = 0;
        store<f32>(op + <usize>j * 4, v);
      }
    }
  }
}

/** gz: gy, or with relu gy where y > 0 or NaN (torch's threshold_backward), else 0. */
@inline function gradAt(gy: usize, y: usize, relu: bool, at: usize): v128 {
  const g = v128.load(gy + at);
  return relu ? v128.bitselect(f32x4.splat(0), g, f32x4.le(v128.load(y + at), f32x4.splat(0))) : g;
}

@inline function gradAtScalar(gy: usize, y: usize, relu: bool, at: usize): f32 {
  return relu && load<f32>(y + at) <= 0 ? 0 : load<f32>(gy + at);
}

/**
 * Backward per channel in [c0, c1) with d = (x − mean)·invstd and gz as gradAt gives:
 *   sums[ch] = Σ gz (the bias' gradient), sums[c + ch] = Σ gz·d (the weight's)
 *   gx = k·(gz − Σgz/count − d·Σgz·d/count) with batch statistics (through the mean and the
 *        variance, PyTorch's batch_norm_backward), gx = k·gz with fixed ones; k = invstd·weight.
 */
export function bnBackward(
  gy: usize, x: usize, y: usize, gx: usize, n: i32, c: i32, inner: i32, chb: usize, sums: usize,
  batchStats: bool, relu: bool, c0: i32, c1: i32,
): void {
  const count = <f64>n * <f64>inner;
  for (let ch = c0; ch < c1; ch++) {
    const m = chAt(chb, ch, CH_MEAN), is = chAt(chb, ch, CH_A), k = chAt(chb, ch, CH_B);
    const hi = <f32>m, lo = <f32>(m - <f64>hi);
    const hv = f32x4.splat(hi), lv = f32x4.splat(lo);
    let sg: f64 = 0, sgd: f64 = 0;
    for (let i = 0; i < n; i++) {
      const off = <usize>((i * c + ch) * inner) * 4;
      let j = 0;
      while (j + 4 <= inner) {
        let a = f32x4.splat(0), b = f32x4.splat(0);
        const end = min(inner, j + 4 * BLOCK);
        for (; j + 4 <= end; j += 4) {
          const at = off + <usize>j * 4;
          const g = gradAt(gy, y, relu, at);
          a = f32x4.add(a, g);
          b = f32x4.add(b, f32x4.mul(g, f32x4.sub(f32x4.sub(v128.load(x + at), hv), lv)));
        }
        sg += hsum(a);
        sgd += hsum(b);
      }
      for (; j < inner; j++) {
        const at = off + <usize>j * 4;
        const g = <f64>gradAtScalar(gy, y, relu, at);
        sg += g;
        sgd += g * <f64>(load<f32>(x + at) - hi - lo);
      }
    }
    const sgx = sgd * is;
    store<f64>(sums + <usize>ch * 8, sg);
    store<f64>(sums + <usize>(c + ch) * 8, sgx);
    // gx = gz·k1 + (x − mean)·k2 + k3
    const k1 = <f32>k;
    const k2 = batchStats ? <f32>((-k * is * sgx) / count) : <f32>0;
    const k3 = batchStats ? <f32>((-k * sg) / count) : <f32>0;
    const k1v = f32x4.splat(k1), k2v = f32x4.splat(k2), k3v = f32x4.splat(k3);
    for (let i = 0; i < n; i++) {
      const off = <usize>((i * c + ch) * inner) * 4;
      let j = 0;
      for (; j + 4 <= inner; j += 4) {
        const at = off + <usize>j * 4;
        const d = f32x4.sub(f32x4.sub(v128.load(x + at), hv), lv);
        v128.store(gx + at, f32x4.add(f32x4.add(f32x4.mul(gradAt(gy, y, relu, at), k1v), f32x4.mul(d, k2v)), k3v));
      }
      for (; j < inner; j++) {
        const at = off + <usize>j * 4;
        store<f32>(gx + at, gradAtScalar(gy, y, relu, at) * k1 + (load<f32>(x + at) - hi - lo) * k2 + k3);
      }
    }
  }
}

/**
 * Max pooling's backward through ReLU for planes [p0, p1): zero-fills each plane of gz (inPlane
 * values), then gz[idx[p]] += gp[p] where the pooled value is > 0 or NaN (every p without relu);
 * there the activation at idx[p] is the pooled value, so this is ReLU's mask. An index outside the
 * plane is skipped.
 */
export function bnPoolScatter(gp: usize, pooled: usize, idx: usize, gz: usize, inPlane: i32, outPlane: i32, relu: bool, p0: i32, p1: i32): void {
  for (let pl = p0; pl < p1; pl++) {
    const dst = gz + <usize>(pl * inPlane) * 4;
    const src = <usize>(pl * outPlane) * 4;
    memory.fill(dst, 0, <usize>inPlane * 4);
    for (let p = 0; p < outPlane; p++) {
      const o = src + <usize>p * 4;
      if (relu && load<f32>(pooled + o) <= 0) continue;
      const i = load<i32>(idx + o);
      if (<u32>i >= <u32>inPlane) continue;
      const d = dst + (<usize>i << 2);
      store<f32>(d, load<f32>(d) + load<f32>(gp + o));
    }
  }
}
