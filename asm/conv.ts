/**
 * Convolution as im2col + the packed GEMM, one image at a time (so threads split the batch and
 * the column buffer stays small: C·kh·kw × oh·ow floats).
 *   forward          out_b[K, oh·ow]   = W[K, C·kh·kw] · col_b
 *   backward input   gcol[C·kh·kw, oh·ow] = Wᵀ · gy_b, then col2im adds gcol into gx_b
 *   backward weight  gW[K, C·kh·kw]  += gy_b · col_bᵀ
 * With G channel groups each product runs once per group on its slices, every one contiguous:
 * the group's Cg = C/G input planes (col then holds Cg·kh·kw rows), its Kg = K/G output planes and
 * weight rows W[Kg, Cg·kh·kw] (the weight is [K, Cg, kh, kw]). Dilation multiplies the tap offset:
 * tap (i, j) of output pixel (y, x) reads input (y·sh − ph + i·dh, x·sw − pw + j·dw).
 * Geometry arrives in a block laid out as asm/geometry.ts names it.
 */
import { gemm } from './gemm';
import {
  geoAt, GEO_C, GEO_H, GEO_W, GEO_K, GEO_KH, GEO_KW, GEO_OH, GEO_OW, GEO_SH, GEO_SW, GEO_PH, GEO_PW, GEO_DH, GEO_DW, GEO_G,
  GEO_POOL, GEO_RELU,
} from './geometry';
import { maxPool2d } from './pool';
import { winogradCells, winogradImages, winogradWeightGrad, WINO_NB } from './winograd';

/** dst[0..n) = 0 (a loop: for short runs the bulk-memory instruction is a slow call in V8). */
@inline function zero(dst: usize, n: i32): void {
  let i = 0;
  const z = f32x4.splat(0);
  for (; i + 4 <= n; i += 4) v128.store(dst + <usize>i * 4, z);
  for (; i < n; i++) store<f32>(dst + <usize>i * 4, 0);
}

/** col[(ci·kh + i)·kw + j, y·ow + x] = x[ci, y·sh − ph + i·dh, x·sw − pw + j·dw] (0 outside), ci over the c planes at x. */
function im2col(x: usize, c: i32, geo: usize, col: usize): void {
  const h = geoAt(geo, GEO_H), w = geoAt(geo, GEO_W), kh = geoAt(geo, GEO_KH), kw = geoAt(geo, GEO_KW);
  const oh = geoAt(geo, GEO_OH), ow = geoAt(geo, GEO_OW), sh = geoAt(geo, GEO_SH), sw = geoAt(geo, GEO_SW),
    ph = geoAt(geo, GEO_PH), pw = geoAt(geo, GEO_PW), dh = geoAt(geo, GEO_DH), dw = geoAt(geo, GEO_DW);
  let dst = col;
  for (let ci = 0; ci < c; ci++) {
    const plane = x + <usize>(ci * h * w) * 4;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        for (let y = 0; y < oh; y++) {
          const iy = y * sh - ph + i * dh;
          if (iy < 0 || iy >= h) {
            zero(dst, ow);
            dst += <usize>ow * 4;
            continue;
          }
          const row = plane + <usize>(iy * w) * 4;
          if (sw == 1) {
            // a contiguous run of the input row between zero margins
            const x0 = j * dw - pw;
            const lo = min(ow, max(0, -x0));
            const hi = max(lo, min(ow, w - x0));
            for (let xx = 0; xx < lo; xx++) store<f32>(dst + <usize>xx * 4, 0);
            let xx = lo;
            const src = row + <usize>(x0 * 4);
            for (; xx + 4 <= hi; xx += 4) v128.store(dst + <usize>xx * 4, v128.load(src + <usize>xx * 4));
            for (; xx < hi; xx++) store<f32>(dst + <usize>xx * 4, load<f32>(src + <usize>xx * 4));
            for (xx = hi; xx < ow; xx++) store<f32>(dst + <usize>xx * 4, 0);
          } else {
            for (let xx = 0; xx < ow; xx++) {
              const ix = xx * sw - pw + j * dw;
              store<f32>(dst + <usize>xx * 4, ix >= 0 && ix < w ? load<f32>(row + <usize>ix * 4) : 0);
            }
          }
          dst += <usize>ow * 4;
        }
      }
    }
  }
}

/** gx[ci, iy, ix] = Σ col[(ci·kh + i)·kw + j, y·ow + x] over the c planes at gx — the adjoint of im2col (gx overwritten). */
function col2im(col: usize, c: i32, geo: usize, gx: usize): void {
  const h = geoAt(geo, GEO_H), w = geoAt(geo, GEO_W), kh = geoAt(geo, GEO_KH), kw = geoAt(geo, GEO_KW);
  const oh = geoAt(geo, GEO_OH), ow = geoAt(geo, GEO_OW), sh = geoAt(geo, GEO_SH), sw = geoAt(geo, GEO_SW),
    ph = geoAt(geo, GEO_PH), pw = geoAt(geo, GEO_PW), dh = geoAt(geo, GEO_DH), dw = geoAt(geo, GEO_DW);
  zero(gx, c * h * w);
  let src = col;
  for (let ci = 0; ci < c; ci++) {
    const plane = gx + <usize>(ci * h * w) * 4;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        for (let y = 0; y < oh; y++) {
          const iy = y * sh - ph + i * dh;
          if (iy >= 0 && iy < h) {
            const row = plane + <usize>(iy * w) * 4;
            if (sw == 1) {
              const x0 = j * dw - pw;
              const lo = max(0, -x0), hi = min(ow, w - x0);
              let xx = lo;
              for (; xx + 4 <= hi; xx += 4) {
                const d = row + <usize>(x0 + xx) * 4;
                v128.store(d, f32x4.add(v128.load(d), v128.load(src + <usize>xx * 4)));
              }
              for (; xx < hi; xx++) {
                const d = row + <usize>(x0 + xx) * 4;
                store<f32>(d, load<f32>(d) + load<f32>(src + <usize>xx * 4));
              }
            } else {
              for (let xx = 0; xx < ow; xx++) {
                const ix = xx * sw - pw + j * dw;
                if (ix >= 0 && ix < w) {
                  const d = row + <usize>ix * 4;
                  store<f32>(d, load<f32>(d) + load<f32>(src + <usize>xx * 4));
                }
              }
            }
          }
          src += <usize>ow * 4;
        }
      }
    }
  }
}

@inline function isPointwise(geo: usize): bool {
  return geoAt(geo, GEO_KH) == 1 && geoAt(geo, GEO_KW) == 1 && geoAt(geo, GEO_SH) == 1 && geoAt(geo, GEO_SW) == 1
    && geoAt(geo, GEO_PH) == 0 && geoAt(geo, GEO_PW) == 0;
}

/** v = v ≤ 0 ? 0 : v over n floats at p (NaN stays NaN: the elementwise relu's rule, PyTorch's). */
@inline function reluInPlace(p: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const a = p + <usize>i * 4, v = v128.load(a); v128.store(a, v128.andnot(v, f32x4.le(v, z))); }
  for (; i < n; i++) { const a = p + <usize>i * 4, v = load<f32>(a); store<f32>(a, v <= 0 ? 0 : v); }
}

/**
 * Images [b0, b1) of conv2d. scratch: col buffer then GEMM scratch. With `bias` (≠ 0) each output
 * row starts as its channel's bias and the product accumulates onto it; with `relu` the image's
 * output is rectified while it is still in cache (a convolution layer in one pass).
 */
export function conv2dForward(x: usize, w: usize, out: usize, geo: usize, b0: i32, b1: i32, scratch: usize, bias: usize, relu: i32, u: usize): void {
  const chw = geoAt(geo, GEO_C) * geoAt(geo, GEO_H) * geoAt(geo, GEO_W);
  const kohw = geoAt(geo, GEO_K) * geoAt(geo, GEO_OH) * geoAt(geo, GEO_OW);
  if (u) {
    for (let b = b0; b < b1; b += WINO_NB) winogradForward(x + <usize>(b * chw) * 4, min(WINO_NB, b1 - b), w, out + <usize>(b * kohw) * 4, geo, scratch, bias, relu, u);
    return;
  }
  for (let b = b0; b < b1; b++) forwardImage(x + <usize>(b * chw) * 4, w, out + <usize>(b * kohw) * 4, geo, scratch, bias, relu);
}

/** nb consecutive images of conv2dForward by Winograd F(4×4, r×r), given the filters' transform u. */
@inline function winogradForward(xb: usize, nb: i32, w: usize, ob: usize, geo: usize, scratch: usize, bias: usize, relu: i32, u: usize): void {
  winogradImages(xb, nb, geoAt(geo, GEO_C), geoAt(geo, GEO_H), geoAt(geo, GEO_W), geoAt(geo, GEO_PH), u,
    geoAt(geo, GEO_K), ob, geoAt(geo, GEO_OH), geoAt(geo, GEO_OW), bias, relu != 0, scratch, geoAt(geo, GEO_KH));
}

/** One image of conv2dForward: ob = W·col(xb) (+ bias) (then ReLU), group by group. */
@inline function forwardImage(xb: usize, w: usize, ob: usize, geo: usize, scratch: usize, bias: usize, relu: i32): void {
  const k = geoAt(geo, GEO_K), ohw = geoAt(geo, GEO_OH) * geoAt(geo, GEO_OW), hw = geoAt(geo, GEO_H) * geoAt(geo, GEO_W);
  const groups = geoAt(geo, GEO_G), cg = geoAt(geo, GEO_C) / groups, kg = k / groups;
  const ckk = cg * geoAt(geo, GEO_KH) * geoAt(geo, GEO_KW);
  const col = scratch;
  const gs = (scratch + <usize>(ckk * ohw) * 4 + 15) & ~15;
  if (bias) {
    for (let kk = 0; kk < k; kk++) {
      const row = ob + <usize>(kk * ohw) * 4, v = load<f32>(bias + <usize>kk * 4), vv = f32x4.splat(v);
      let i = 0;
      for (; i + 4 <= ohw; i += 4) v128.store(row + <usize>i * 4, vv);
      for (; i < ohw; i++) store<f32>(row + <usize>i * 4, v);
    }
  }
  for (let gi = 0; gi < groups; gi++) {
    const xg = xb + <usize>(gi * cg * hw) * 4;
    let src = col;
    if (isPointwise(geo)) src = xg; else im2col(xg, cg, geo, col);
    gemm(w + <usize>(gi * kg * ckk) * 4, src, ob + <usize>(gi * kg * ohw) * 4, kg, ohw, ckk, false, false, bias != 0, 0, kg, 0, ohw, gs);
  }
  if (relu) reluInPlace(ob, k * ohw);
}

/**
 * Images [b0, b1) of a convolution layer's backward, image by image while its gradient is in cache.
 * gz is the caller's own copy of the output gradient; with y (≠ 0, the layer's ReLU output) it is
 * first masked in place: gz = y ≤ 0 ? 0 : gz (a NaN y passes gz, as PyTorch's threshold_backward). Then, for those of gb, gw, gx that are not 0:
 *   gb[k]  = Σ over this part's images and pixels of gz   (a partial: the caller sums the parts)
 *   gw     = Σ over this part's images of gz_b · col_bᵀ   (a partial, overwritten)
 *   gx_b   = col2im(Wᵀ · gz_b)
 */
export function conv2dLayerBackward(gz: usize, y: usize, x: usize, w: usize, gx: usize, gw: usize, gb: usize,
                                    geo: usize, b0: i32, b1: i32, scratch: usize, ut: usize, dU: usize): void {
  const k = geoAt(geo, GEO_K), ohw = geoAt(geo, GEO_OH) * geoAt(geo, GEO_OW);
  const ckk = geoAt(geo, GEO_C) / geoAt(geo, GEO_G) * geoAt(geo, GEO_KH) * geoAt(geo, GEO_KW), chw = geoAt(geo, GEO_C) * geoAt(geo, GEO_H) * geoAt(geo, GEO_W);
  if (gb) zero(gb, k);
  if (gw && b1 <= b0) zero(gw, k * ckk);
  if (dU && b1 <= b0) zero(dU, winogradCells(geoAt(geo, GEO_KH)) * k * geoAt(geo, GEO_C));
  const z = f32x4.splat(0);
  for (let b = b0; b < b1; b++) {
    const gzb = gz + <usize>(b * k * ohw) * 4;
    if (y) {
      const yb = y + <usize>(b * k * ohw) * 4, n = k * ohw;
      let i = 0;
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i * 4;
        v128.store(gzb + o, v128.andnot(v128.load(gzb + o), f32x4.le(v128.load(yb + o), z)));
      }
      for (; i < n; i++) { const o = <usize>i * 4; if (load<f32>(yb + o) <= 0) store<f32>(gzb + o, 0); }
    }
    layerBackwardImage(gzb, b, b > b0, x, w, ut ? 0 : gx, dU ? 0 : gw, gb, geo, scratch);
    // with Winograd, the input and weight gradients of each WINO_NB images at once, once their gz is masked
    const first = b0 + (b - b0) / WINO_NB * WINO_NB;
    if ((ut || dU) && (b == b1 - 1 || b - first == WINO_NB - 1)) {
      const gzc = gz + <usize>(first * k * ohw) * 4;
      if (dU) winogradWeight(x + <usize>(first * chw) * 4, gzc, b + 1 - first, geo, dU, first == b0, scratch);
      if (ut && gx) winogradBackInput(gzc, b + 1 - first, gx + <usize>(first * chw) * 4, geo, scratch, ut);
    }
  }
}

/** nb images' share of the weight gradient in the Winograd domain (dU, overwritten when `first`). */
@inline function winogradWeight(xb: usize, gzb: usize, nb: i32, geo: usize, dU: usize, first: bool, scratch: usize): void {
  winogradWeightGrad(xb, gzb, nb, geoAt(geo, GEO_C), geoAt(geo, GEO_H), geoAt(geo, GEO_W), geoAt(geo, GEO_PH),
    geoAt(geo, GEO_K), geoAt(geo, GEO_OH), geoAt(geo, GEO_OW), dU, first, scratch, geoAt(geo, GEO_KH));
}

/**
 * nb images' input gradients by Winograd: the stride-1 convolution of gz with the rotated,
 * transposed filters (their transform ut), padded r − 1 − p.
 */
@inline function winogradBackInput(gzb: usize, nb: i32, gxb: usize, geo: usize, scratch: usize, ut: usize): void {
  const r = geoAt(geo, GEO_KH);
  winogradImages(gzb, nb, geoAt(geo, GEO_K), geoAt(geo, GEO_OH), geoAt(geo, GEO_OW), r - 1 - geoAt(geo, GEO_PH), ut,
    geoAt(geo, GEO_C), gxb, geoAt(geo, GEO_H), geoAt(geo, GEO_W), 0, false, scratch, r);
}

/** One image's share of a layer's backward from its (masked) output gradient gzb: gb +=, gw (+)=, gx_b =; gw and gx group by group. */
@inline function layerBackwardImage(gzb: usize, b: i32, accGw: bool, x: usize, w: usize, gx: usize, gw: usize, gb: usize, geo: usize, scratch: usize): void {
  const c = geoAt(geo, GEO_C), h = geoAt(geo, GEO_H), ww = geoAt(geo, GEO_W);
  const k = geoAt(geo, GEO_K), kh = geoAt(geo, GEO_KH), kw = geoAt(geo, GEO_KW);
  const groups = geoAt(geo, GEO_G), cg = c / groups, kg = k / groups, hw = h * ww;
  const ohw = geoAt(geo, GEO_OH) * geoAt(geo, GEO_OW), ckk = cg * kh * kw;
  const col = scratch;
  const gs = (scratch + <usize>(ckk * ohw) * 4 + 15) & ~15;
  if (gb) {
    for (let kk = 0; kk < k; kk++) {
      const row = gzb + <usize>(kk * ohw) * 4;
      let s4 = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= ohw; i += 4) s4 = f32x4.add(s4, v128.load(row + <usize>i * 4));
      let s = f32x4.extract_lane(s4, 0) + f32x4.extract_lane(s4, 1) + f32x4.extract_lane(s4, 2) + f32x4.extract_lane(s4, 3);
      for (; i < ohw; i++) s += load<f32>(row + <usize>i * 4);
      const d = gb + <usize>kk * 4;
      store<f32>(d, load<f32>(d) + s);
    }
  }
  // group gi's slices: input planes from gi·cg, output planes (of gz) and weight rows from gi·kg
  if (gw) {
    for (let gi = 0; gi < groups; gi++) {
      const xg = x + <usize>((b * c + gi * cg) * hw) * 4;
      let src = col;
      if (isPointwise(geo)) src = xg; else im2col(xg, cg, geo, col);
      gemm(gzb + <usize>(gi * kg * ohw) * 4, src, gw + <usize>(gi * kg * ckk) * 4, kg, ckk, ohw, false, true, accGw, 0, kg, 0, ckk, gs);
    }
  }
  if (gx) {
    for (let gi = 0; gi < groups; gi++) {
      const gxg = gx + <usize>((b * c + gi * cg) * hw) * 4;
      const wg = w + <usize>(gi * kg * ckk) * 4, gzg = gzb + <usize>(gi * kg * ohw) * 4;
      if (isPointwise(geo)) {
        gemm(wg, gzg, gxg, ckk, ohw, kg, true, false, false, 0, ckk, 0, ohw, gs);
      } else {
        gemm(wg, gzg, col, ckk, ohw, kg, true, false, false, 0, ckk, 0, ohw, gs);
        col2im(col, cg, geo, gxg);
      }
    }
  }
}

/** Bytes of the output buffer the pooled layer keeps at the start of its scratch: nb images (64-byte aligned). */
@inline function imagesBytes(geo: usize, nb: i32): usize {
  return (<usize>(nb * geoAt(geo, GEO_K) * geoAt(geo, GEO_OH) * geoAt(geo, GEO_OW)) * 4 + 63) & ~63;
}

/** Images the pooled layer's buffer holds (the JS side sizes the scratch with it): WINO_NB with Winograd, else 1. */
export function convPoolImages(winograd: bool): i32 {
  return winograd ? WINO_NB : 1;
}

/**
 * Images [b0, b1) of a convolution layer followed by max pooling: each image's conv2d + bias (+
 * ReLU) goes into a buffer at the start of `scratch` and is pooled from there, so the full-size
 * activation never exists. geo: a convolution + pooling block (asm/geometry.ts: the convolution's
 * geometry, the pooling's over the convolution's output from GEO_POOL, the ReLU flag at GEO_RELU). out and idx get the pooled values
 * and their offsets in the convolution's output plane, as maxPool2d gives them. With u (the
 * filters' Winograd transform) WINO_NB images at a time go through the buffer.
 */
export function convPoolForward(x: usize, w: usize, bias: usize, out: usize, idx: usize, geo: usize, b0: i32, b1: i32, scratch: usize, u: usize): void {
  const k = geoAt(geo, GEO_K), pgeo = geo + <usize>GEO_POOL * 4, relu = geoAt(geo, GEO_RELU);
  const pohw = geoAt(pgeo, GEO_OH) * geoAt(pgeo, GEO_OW), kohw = k * geoAt(geo, GEO_OH) * geoAt(geo, GEO_OW);
  const step = u ? WINO_NB : 1;
  const yb = scratch, rest = scratch + imagesBytes(geo, step);
  const chw = geoAt(geo, GEO_C) * geoAt(geo, GEO_H) * geoAt(geo, GEO_W);
  for (let b = b0; b < b1; b += step) {
    const nb = min(step, b1 - b);
    if (u) winogradForward(x + <usize>(b * chw) * 4, nb, w, yb, geo, rest, bias, relu, u);
    else forwardImage(x + <usize>(b * chw) * 4, w, yb, geo, rest, bias, relu);
    for (let i = 0; i < nb; i++) {
      maxPool2d(yb + <usize>(i * kohw) * 4, out + <usize>((b + i) * k * pohw) * 4, idx + <usize>((b + i) * k * pohw) * 4, pgeo, 0, k);
    }
  }
}

/**
 * The backward of convPoolForward for images [b0, b1): each image's output gradient is rebuilt in
 * the scratch buffer — gp scattered to the pooled offsets, kept only where the pooled value is > 0
 * when relu (there y = pooled, so this is ReLU's mask) — then gb, gw and gx as in
 * conv2dLayerBackward (gb and gw are this part's partials); with ut, gx for WINO_NB images at once,
 * with dU (instead of gw) the Winograd-domain weight gradient, this part's partial.
 */
export function convPoolBackward(gp: usize, pooled: usize, idx: usize, x: usize, w: usize, gx: usize, gw: usize, gb: usize,
                                 geo: usize, b0: i32, b1: i32, scratch: usize, ut: usize, dU: usize): void {
  const k = geoAt(geo, GEO_K), ohw = geoAt(geo, GEO_OH) * geoAt(geo, GEO_OW);
  const ckk = geoAt(geo, GEO_C) / geoAt(geo, GEO_G) * geoAt(geo, GEO_KH) * geoAt(geo, GEO_KW), chw = geoAt(geo, GEO_C) * geoAt(geo, GEO_H) * geoAt(geo, GEO_W);
  const pgeo = geo + <usize>GEO_POOL * 4, relu = geoAt(geo, GEO_RELU), pohw = geoAt(pgeo, GEO_OH) * geoAt(pgeo, GEO_OW);
  const step = ut || dU ? WINO_NB : 1;
  const gzs = scratch, rest = scratch + imagesBytes(geo, step);
  if (gb) zero(gb, k);
  if (gw && b1 <= b0) zero(gw, k * ckk);
  if (dU && b1 <= b0) zero(dU, winogradCells(geoAt(geo, GEO_KH)) * k * geoAt(geo, GEO_C));
  for (let b0c = b0; b0c < b1; b0c += step) {
    const nb = min(step, b1 - b0c);
    for (let i = 0; i < nb; i++) {
      const b = b0c + i, gzb = gzs + <usize>(i * k * ohw) * 4;
      zero(gzb, k * ohw);
      const base = <usize>(b * k * pohw) * 4;
      for (let pl = 0; pl < k; pl++) {
        const dst = gzb + <usize>(pl * ohw) * 4;
        const src = base + <usize>(pl * pohw) * 4;
        for (let p = 0; p < pohw; p++) {
          const o = src + <usize>p * 4;
          const ix = load<i32>(idx + o);
          if (<u32>ix >= <u32>ohw || (relu && load<f32>(pooled + o) <= 0)) continue;
          const d = dst + (<usize>ix << 2);
          store<f32>(d, load<f32>(d) + load<f32>(gp + o));
        }
      }
      layerBackwardImage(gzb, b, b > b0, x, w, ut ? 0 : gx, dU ? 0 : gw, gb, geo, rest);
    }
    if (dU) winogradWeight(x + <usize>(b0c * chw) * 4, gzs, nb, geo, dU, b0c == b0, rest);
    if (ut && gx) winogradBackInput(gzs, nb, gx + <usize>(b0c * chw) * 4, geo, rest, ut);
  }
}
