/** Reference convolution kernels (direct loops): the oracle for faster convolution paths. */
import type { Conv2dGeometry } from './backend.js';
import type { Storage } from '../tensor/tensor.js';

export function conv2d(x: Storage, w: Storage, out: Storage, g: Conv2dGeometry): void {
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

export function conv2dBackwardInput(gy: Storage, w: Storage, gx: Storage, g: Conv2dGeometry): void {
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

export function conv2dBackwardWeight(x: Storage, gy: Storage, gw: Storage, g: Conv2dGeometry): void {
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

