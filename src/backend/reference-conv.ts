/**
 * Reference convolution kernels. The backend's entries (conv2d, conv2dBackwardInput,
 * conv2dBackwardWeight) unfold each image into columns (im2col) and run row-contiguous products,
 * whose inner loops read memory in order where the direct loops stride across it; still plain,
 * readable TypeScript. The direct loops
 * (…Direct) stay as the definition the unfolded versions are tested against.
 */
import type { Conv2dGeometry, PoolGeometry } from './backend.js';
import type { HostStorage } from '../tensor/tensor.js';

/**
 * The geometry's channel groups: cg input and kg output channels per group. Output channel o is in
 * group ⌊o / kg⌋ and reads input channels gi·cg … gi·cg + cg − 1 through weights w[o, 0…cg, :, :].
 */
function perGroup(g: Conv2dGeometry): { cg: number; kg: number } {
  return { cg: g.c / g.groups, kg: g.k / g.groups };
}

export function conv2dDirect(x: HostStorage, w: HostStorage, out: HostStorage, g: Conv2dGeometry): void {
  const { n, c, h, w: W, k, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  const { cg, kg } = perGroup(g);
  out.fill(0);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < k; o++) {
      const oBase = (b * k + o) * oh * ow;
      const c0 = Math.floor(o / kg) * cg;
      for (let cl = 0; cl < cg; cl++) {
        const xBase = (b * c + c0 + cl) * h * W;
        const wBase = (o * cg + cl) * kh * kw;
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++) {
            let s = 0;
            for (let i = 0; i < kh; i++) {
              const iy = y * strideH - padH + i * dilationH;
              if (iy < 0 || iy >= h) continue;
              for (let j = 0; j < kw; j++) {
                const ix = xx * strideW - padW + j * dilationW;
                if (ix < 0 || ix >= W) continue;
                s += x[xBase + iy * W + ix] * w[wBase + i * kw + j];
              }
            }
            out[oBase + y * ow + xx] += s;
          }
      }
    }
}

export function conv2dBackwardInputDirect(gy: HostStorage, w: HostStorage, gx: HostStorage, g: Conv2dGeometry): void {
  const { n, c, h, w: W, k, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  const { cg, kg } = perGroup(g);
  gx.fill(0);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < k; o++) {
      const oBase = (b * k + o) * oh * ow;
      const c0 = Math.floor(o / kg) * cg;
      for (let cl = 0; cl < cg; cl++) {
        const xBase = (b * c + c0 + cl) * h * W;
        const wBase = (o * cg + cl) * kh * kw;
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++) {
            const gv = gy[oBase + y * ow + xx];
            if (gv === 0) continue;
            for (let i = 0; i < kh; i++) {
              const iy = y * strideH - padH + i * dilationH;
              if (iy < 0 || iy >= h) continue;
              for (let j = 0; j < kw; j++) {
                const ix = xx * strideW - padW + j * dilationW;
                if (ix < 0 || ix >= W) continue;
                gx[xBase + iy * W + ix] += gv * w[wBase + i * kw + j];
              }
            }
          }
      }
    }
}

export function conv2dBackwardWeightDirect(x: HostStorage, gy: HostStorage, gw: HostStorage, g: Conv2dGeometry): void {
  const { n, c, h, w: W, k, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  const { cg, kg } = perGroup(g);
  gw.fill(0);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < k; o++) {
      const oBase = (b * k + o) * oh * ow;
      const c0 = Math.floor(o / kg) * cg;
      for (let cl = 0; cl < cg; cl++) {
        const xBase = (b * c + c0 + cl) * h * W;
        const wBase = (o * cg + cl) * kh * kw;
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            let s = 0;
            for (let y = 0; y < oh; y++) {
              const iy = y * strideH - padH + i * dilationH;
              if (iy < 0 || iy >= h) continue;
              for (let xx = 0; xx < ow; xx++) {
                const ix = xx * strideW - padW + j * dilationW;
                if (ix < 0 || ix >= W) continue;
                s += gy[oBase + y * ow + xx] * x[xBase + iy * W + ix];
              }
            }
            gw[wBase + i * kw + j] += s;
          }
      }
    }
}

// ---------------------------------------------------------------- im2col versions
// Each image is unfolded one channel group at a time: group gi's columns hold its cg channels, and
// its kg output channels are the product of their weight rows (contiguous in w) with them.

function newLike(s: HostStorage, n: number): HostStorage {
  return s instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

/**
 * cols[(cl·kh + i)·kw + j, y·ow + x] = x[b, c0 + cl, y·sH − pH + i·dH, x·sW − pW + j·dW] (0
 * outside), cl over the cg channels of the group starting at channel c0.
 */
function im2col(x: HostStorage, b: number, c0: number, cg: number, cols: HostStorage, g: Conv2dGeometry): void {
  const { c, h, w: W, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  const P = oh * ow;
  for (let cl = 0; cl < cg; cl++) {
    const xb = (b * c + c0 + cl) * h * W;
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const row = ((cl * kh + i) * kw + j) * P;
        for (let y = 0; y < oh; y++) {
          const iy = y * strideH - padH + i * dilationH;
          const rb = row + y * ow;
          if (iy < 0 || iy >= h) {
            cols.fill(0, rb, rb + ow);
            continue;
          }
          for (let xx = 0; xx < ow; xx++) {
            const ix = xx * strideW - padW + j * dilationW;
            cols[rb + xx] = ix >= 0 && ix < W ? x[xb + iy * W + ix] : 0;
          }
        }
      }
  }
}

/** The adjoint of im2col: adds every column entry back into its input position. */
function col2imAdd(cols: HostStorage, b: number, c0: number, cg: number, gx: HostStorage, g: Conv2dGeometry): void {
  const { c, h, w: W, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW } = g;
  const P = oh * ow;
  for (let cl = 0; cl < cg; cl++) {
    const xb = (b * c + c0 + cl) * h * W;
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const row = ((cl * kh + i) * kw + j) * P;
        for (let y = 0; y < oh; y++) {
          const iy = y * strideH - padH + i * dilationH;
          if (iy < 0 || iy >= h) continue;
          for (let xx = 0; xx < ow; xx++) {
            const ix = xx * strideW - padW + j * dilationW;
            if (ix >= 0 && ix < W) gx[xb + iy * W + ix] += cols[row + y * ow + xx];
          }
        }
      }
  }
}

/** out[b, o, :] = Σ_q w[o, q]·cols[q, :], q over (cl, i, j) of o's group. */
export function conv2d(x: HostStorage, w: HostStorage, out: HostStorage, g: Conv2dGeometry): void {
  const { n, k, kh, kw, oh, ow, groups } = g;
  const { cg, kg } = perGroup(g);
  const P = oh * ow,
    Q = cg * kh * kw;
  const cols = newLike(x, Q * P);
  out.fill(0);
  for (let b = 0; b < n; b++)
    for (let gi = 0; gi < groups; gi++) {
      im2col(x, b, gi * cg, cg, cols, g);
      for (let o = gi * kg; o < (gi + 1) * kg; o++) {
        const ob = (b * k + o) * P;
        for (let q = 0; q < Q; q++) {
          const wv = w[o * Q + q];
          if (wv === 0) continue;
          const cb = q * P;
          for (let p = 0; p < P; p++) out[ob + p] += wv * cols[cb + p];
        }
      }
    }
}

/** gcols[q, :] = Σ_o w[o, q]·gy[b, o, :] over o in the group, then col2im. */
export function conv2dBackwardInput(gy: HostStorage, w: HostStorage, gx: HostStorage, g: Conv2dGeometry): void {
  const { n, k, kh, kw, oh, ow, groups } = g;
  const { cg, kg } = perGroup(g);
  const P = oh * ow,
    Q = cg * kh * kw;
  const cols = newLike(gy, Q * P);
  gx.fill(0);
  for (let b = 0; b < n; b++)
    for (let gi = 0; gi < groups; gi++) {
      cols.fill(0);
      for (let o = gi * kg; o < (gi + 1) * kg; o++) {
        const gb = (b * k + o) * P;
        for (let q = 0; q < Q; q++) {
          const wv = w[o * Q + q];
          if (wv === 0) continue;
          const cb = q * P;
          for (let p = 0; p < P; p++) cols[cb + p] += wv * gy[gb + p];
        }
      }
      col2imAdd(cols, b, gi * cg, cg, gx, g);
    }
}

/** gw[o, q] = Σ_b gy[b, o, :]·cols_b[q, :], cols_b of o's group. */
export function conv2dBackwardWeight(x: HostStorage, gy: HostStorage, gw: HostStorage, g: Conv2dGeometry): void {
  const { n, k, kh, kw, oh, ow, groups } = g;
  const { cg, kg } = perGroup(g);
  const P = oh * ow,
    Q = cg * kh * kw;
  const cols = newLike(x, Q * P);
  gw.fill(0);
  for (let b = 0; b < n; b++)
    for (let gi = 0; gi < groups; gi++) {
      im2col(x, b, gi * cg, cg, cols, g);
      for (let o = gi * kg; o < (gi + 1) * kg; o++) {
        const gb = (b * k + o) * P;
        for (let q = 0; q < Q; q++) {
          const cb = q * P;
          let s = 0;
          for (let p = 0; p < P; p++) s += gy[gb + p] * cols[cb + p];
          gw[o * Q + q] += s;
        }
      }
    }
}

// ---------------------------------------------------------------- pooling (the reference kernels
// behind Backend.maxPool2d, scatterPlanes, avgPool2d and avgPool2dBackward)

export type { PoolGeometry } from './backend.js';

/**
 * Max pooling: each window's maximum and its offset within its input plane, as PyTorch picks it:
 * padding is −∞, the first maximum in row-major order wins, a NaN wins (the last one).
 */
export function maxPool2d(x: HostStorage, out: HostStorage, idx: Int32Array, g: PoolGeometry): void {
  const { n, c, h, w: W, kh, kw, oh, ow, strideH, strideW, padH, padW } = g;
  for (let pl = 0; pl < n * c; pl++) {
    const xb = pl * h * W;
    const ob = pl * oh * ow;
    for (let y = 0; y < oh; y++) {
      const y0 = Math.max(y * strideH - padH, 0),
        y1 = Math.min(y * strideH - padH + kh, h);
      for (let xx = 0; xx < ow; xx++) {
        const x0 = Math.max(xx * strideW - padW, 0),
          x1 = Math.min(xx * strideW - padW + kw, W);
        let best = -Infinity;
        let bi = y0 * W + x0;
        for (let i = y0; i < y1; i++)
          for (let j = x0; j < x1; j++) {
            const v = x[xb + i * W + j];
            if (v > best || v !== v) {
              best = v;
              bi = i * W + j;
            }
          }
        out[ob + y * ow + xx] = best;
        idx[ob + y * ow + xx] = bi;
      }
    }
  }
}

/**
 * gx[pl, idx[pl, p]] += gy[pl, p] over `planes` planes (gx zero-filled here): the adjoint of a
 * gather. An index outside [0, inPlane) is skipped, as the wasm kernel must (it would write into
 * other memory).
 */
export function scatterPlanes(gy: HostStorage, idx: Int32Array, gx: HostStorage, planes: number, inPlane: number, outPlane: number): void {
  gx.fill(0);
  for (let pl = 0; pl < planes; pl++) {
    const ib = pl * inPlane,
      ob = pl * outPlane;
    for (let p = 0; p < outPlane; p++) {
      const i = idx[ob + p];
      if (i >= 0 && i < inPlane) gx[ib + i] += gy[ob + p];
    }
  }
}

function avgWindow(g: PoolGeometry, y: number, xx: number, inclPad: boolean): [number, number, number, number, number] {
  let y0 = y * g.strideH - g.padH,
    x0 = xx * g.strideW - g.padW;
  let y1 = Math.min(y0 + g.kh, g.h + g.padH),
    x1 = Math.min(x0 + g.kw, g.w + g.padW);
  const padded = (y1 - y0) * (x1 - x0);
  y0 = Math.max(y0, 0);
  x0 = Math.max(x0, 0);
  y1 = Math.min(y1, g.h);
  x1 = Math.min(x1, g.w);
  return [y0, y1, x0, x1, inclPad ? padded : (y1 - y0) * (x1 - x0)];
}

/** PyTorch's avg_pool2d (ceil_mode false): the divisor counts padded cells when `inclPad`. */
export function avgPool2dForward(x: HostStorage, out: HostStorage, g: PoolGeometry, inclPad: boolean): void {
  const { n, c, h, w: W, oh, ow } = g;
  for (let pl = 0; pl < n * c; pl++) {
    const xb = pl * h * W,
      ob = pl * oh * ow;
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        const [y0, y1, x0, x1, div] = avgWindow(g, y, xx, inclPad);
        let s = 0;
        for (let i = y0; i < y1; i++) for (let j = x0; j < x1; j++) s += x[xb + i * W + j];
        out[ob + y * ow + xx] = s / div;
      }
  }
}

/** The transpose of avgPool2dForward (its backward): spreads each output gradient over its window. */
export function avgPool2dAdjoint(gy: HostStorage, gx: HostStorage, g: PoolGeometry, inclPad: boolean): void {
  const { n, c, h, w: W, oh, ow } = g;
  gx.fill(0);
  for (let pl = 0; pl < n * c; pl++) {
    const xb = pl * h * W,
      ob = pl * oh * ow;
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        const [y0, y1, x0, x1, div] = avgWindow(g, y, xx, inclPad);
        const v = gy[ob + y * ow + xx] / div;
        for (let i = y0; i < y1; i++) for (let j = x0; j < x1; j++) gx[xb + i * W + j] += v;
      }
  }
}
