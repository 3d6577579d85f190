/**
 * Reference convolution kernels. The backend's entries (conv2d, conv2dBackwardInput,
 * conv2dBackwardWeight) unfold each image into columns (im2col) and run row-contiguous products,
 * whose inner loops read memory in order where the direct loops stride across it; still plain,
 * readable TypeScript. The direct loops
 * (…Direct) stay as the definition the unfolded versions are tested against.
 */
import type { Conv2dGeometry, PoolGeometry } from './backend.js';
import type { HostStorage } from '../tensor/tensor.js';

export function conv2dDirect(x: HostStorage, w: HostStorage, out: HostStorage, g: Conv2dGeometry): void {
  const { n, c, h, w: W, k, kh, kw, oh, ow, strideH, strideW, padH, padW } = g;
  out.fill(0);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < k; o++) {
      const oBase = (b * k + o) * oh * ow;
      for (let ci = 0; ci < c; ci++) {
        const xBase = (b * c + ci) * h * W;
        const wBase = (o * c + ci) * kh * kw;
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++) {
            let s = 0;
            for (let i = 0; i < kh; i++) {
              const iy = y * strideH - padH + i;
              if (iy < 0 || iy >= h) continue;
              for (let j = 0; j < kw; j++) {
                const ix = xx * strideW - padW + j;
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
  const { n, c, h, w: W, k, kh, kw, oh, ow, strideH, strideW, padH, padW } = g;
  gx.fill(0);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < k; o++) {
      const oBase = (b * k + o) * oh * ow;
      for (let ci = 0; ci < c; ci++) {
        const xBase = (b * c + ci) * h * W;
        const wBase = (o * c + ci) * kh * kw;
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++) {
            const gv = gy[oBase + y * ow + xx];
            if (gv === 0) continue;
            for (let i = 0; i < kh; i++) {
              const iy = y * strideH - padH + i;
              if (iy < 0 || iy >= h) continue;
              for (let j = 0; j < kw; j++) {
                const ix = xx * strideW - padW + j;
                if (ix < 0 || ix >= W) continue;
                gx[xBase + iy * W + ix] += gv * w[wBase + i * kw + j];
              }
            }
          }
      }
    }
}

export function conv2dBackwardWeightDirect(x: HostStorage, gy: HostStorage, gw: HostStorage, g: Conv2dGeometry): void {
  const { n, c, h, w: W, k, kh, kw, oh, ow, strideH, strideW, padH, padW } = g;
  gw.fill(0);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < k; o++) {
      const oBase = (b * k + o) * oh * ow;
      for (let ci = 0; ci < c; ci++) {
        const xBase = (b * c + ci) * h * W;
        const wBase = (o * c + ci) * kh * kw;
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            let s = 0;
            for (let y = 0; y < oh; y++) {
              const iy = y * strideH - padH + i;
              if (iy < 0 || iy >= h) continue;
              for (let xx = 0; xx < ow; xx++) {
                const ix = xx * strideW - padW + j;
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

function newLike(s: HostStorage, n: number): HostStorage {
  return s instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

/** cols[(ci·kh + i)·kw + j, y·ow + x] = x[b, ci, y·sH − pH + i, x·sW − pW + j] (0 outside). */
function im2col(x: HostStorage, b: number, cols: HostStorage, g: Conv2dGeometry): void {
  const { c, h, w: W, kh, kw, oh, ow, strideH, strideW, padH, padW } = g;
  const P = oh * ow;
  for (let ci = 0; ci < c; ci++) {
    const xb = (b * c + ci) * h * W;
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const row = ((ci * kh + i) * kw + j) * P;
        for (let y = 0; y < oh; y++) {
          const iy = y * strideH - padH + i;
          const rb = row + y * ow;
          if (iy < 0 || iy >= h) {
            cols.fill(0, rb, rb + ow);
            continue;
          }
          for (let xx = 0; xx < ow; xx++) {
            const ix = xx * strideW - padW + j;
            cols[rb + xx] = ix >= 0 && ix < W ? x[xb + iy * W + ix] : 0;
          }
        }
      }
  }
}

/** The adjoint of im2col: adds every column entry back into its input position. */
function col2imAdd(cols: HostStorage, b: number, gx: HostStorage, g: Conv2dGeometry): void {
  const { c, h, w: W, kh, kw, oh, ow, strideH, strideW, padH, padW } = g;
  const P = oh * ow;
  for (let ci = 0; ci < c; ci++) {
    const xb = (b * c + ci) * h * W;
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const row = ((ci * kh + i) * kw + j) * P;
        for (let y = 0; y < oh; y++) {
          const iy = y * strideH - padH + i;
          if (iy < 0 || iy >= h) continue;
          for (let xx = 0; xx < ow; xx++) {
            const ix = xx * strideW - padW + j;
            if (ix >= 0 && ix < W) gx[xb + iy * W + ix] += cols[row + y * ow + xx];
          }
        }
      }
  }
}

/** out[b, o, :] = Σ_p w[o, p]·cols[p, :], p over (ci, i, j). */
export function conv2d(x: HostStorage, w: HostStorage, out: HostStorage, g: Conv2dGeometry): void {
  const { n, c, k, kh, kw, oh, ow } = g;
  const P = oh * ow,
    Q = c * kh * kw;
  const cols = newLike(x, Q * P);
  out.fill(0);
  for (let b = 0; b < n; b++) {
    im2col(x, b, cols, g);
    for (let o = 0; o < k; o++) {
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

/** gcols[p, :] = Σ_o w[o, p]·gy[b, o, :], then col2im. */
export function conv2dBackwardInput(gy: HostStorage, w: HostStorage, gx: HostStorage, g: Conv2dGeometry): void {
  const { n, c, k, kh, kw, oh, ow } = g;
  const P = oh * ow,
    Q = c * kh * kw;
  const cols = newLike(gy, Q * P);
  gx.fill(0);
  for (let b = 0; b < n; b++) {
    cols.fill(0);
    for (let o = 0; o < k; o++) {
      const gb = (b * k + o) * P;
      for (let q = 0; q < Q; q++) {
        const wv = w[o * Q + q];
        if (wv === 0) continue;
        const cb = q * P;
        for (let p = 0; p < P; p++) cols[cb + p] += wv * gy[gb + p];
      }
    }
    col2imAdd(cols, b, gx, g);
  }
}

/** gw[o, p] = Σ_b gy[b, o, :]·cols_b[p, :]. */
export function conv2dBackwardWeight(x: HostStorage, gy: HostStorage, gw: HostStorage, g: Conv2dGeometry): void {
  const { n, c, k, kh, kw, oh, ow } = g;
  const P = oh * ow,
    Q = c * kh * kw;
  const cols = newLike(x, Q * P);
  gw.fill(0);
  for (let b = 0; b < n; b++) {
    im2col(x, b, cols, g);
    for (let o = 0; o < k; o++) {
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
