/**
 * Convolution and its two gradients as implicit GEMMs on the tiled product (gemm.ts); the
 * unfolded input (im2col) is read through index arithmetic in the loaders, never stored.
 * With P = oh·ow output pixels and Q = c·kh·kw weights per output channel:
 *   conv2d               out[b, o, p] = Σ_q w[o, q]·cols_b[q, p]          M = k, N = n·P, K = Q
 *   conv2dBackwardWeight gw[o, q]     = Σ_(b,p) gy[b, o, p]·cols_b[q, p] M = k, N = Q,   K = n·P
 *   conv2dBackwardInput  gx[b, ci, y, x] = Σ_(o,i,j) w[o, ci, i, j]·gy[b, o, oy, ox] over the (i, j)
 *                        with y + padH − i = oy·strideH (and the same along x) inside the output:
 *                        a gather, so no two threads add into one element   M = c, N = n·h·w, K = k·kh·kw
 */
import type { Conv2dGeometry } from '../backend.js';
import type { DeviceStorage } from '../../tensor/device.js';
import { type GpuContext, wgsl } from './context.js';
import { gemmGroups, gemmSource } from './gemm.js';
import { READ, WRITE, allOwn, own } from './dense.js';

const GEOMETRY = ['n', 'c', 'h', 'w', 'k', 'kh', 'kw', 'oh', 'ow', 'sh', 'sw', 'ph', 'pw'] as const;

function geometryInts(g: Conv2dGeometry): number[] {
  return [g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.oh, g.ow, g.strideH, g.strideW, g.padH, g.padW];
}

/** WGSL: x[b, ci, iy, ix] for column q = (ci, i, j) of image b's unfolded input at pixel pix, 0 in the padding. */
const IM2COL = /* wgsl */ `
fn im2col(b: u32, q: u32, pix: u32) -> f32 {
  let khw = p.kh * p.kw;
  let ci = q / khw;
  let rem = q - ci * khw;
  let i = rem / p.kw;
  let j = rem - i * p.kw;
  let oy = pix / p.ow;
  let ox = pix - oy * p.ow;
  let iy = i32(oy * p.sh + i) - i32(p.ph);
  let ix = i32(ox * p.sw + j) - i32(p.pw);
  if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) { return 0.0; }
  return x[((b * p.c + ci) * p.h + u32(iy)) * p.w + u32(ix)];
}`;

/** Forward; with `bias` / `relu` the fused layer's epilogue (out = relu(conv + bias[o])). */
function convSource(bias: boolean, relu: boolean): string {
  const z = bias ? 'v + bias[r]' : 'v';
  return gemmSource({
    ints: GEOMETRY,
    bindings: [READ(1, 'x'), READ(2, 'wt'), ...(bias ? [READ(3, 'bias')] : []), WRITE(bias ? 4 : 3, 'o')].join('\n') + IM2COL,
    loadA: 'return wt[r * p.K + kk];',
    loadB: 'let P = p.oh * p.ow; let b = c / P; return im2col(b, kk, c - b * P);',
    store: `let P = p.oh * p.ow; let b = c / P; let z = ${z}; o[(b * p.k + r) * P + (c - b * P)] = ${relu ? 'select(0.0, z, z > 0.0)' : 'z'};`,
    aAlongK: true,
    bAlongK: false,
  });
}

function convGwSource(accumulate: boolean): string {
  return gemmSource({
    ints: GEOMETRY,
    bindings: [READ(1, 'x'), READ(2, 'gy'), WRITE(3, 'gw')].join('\n') + IM2COL,
    loadA: 'let P = p.oh * p.ow; let b = kk / P; return gy[(b * p.k + r) * P + (kk - b * P)];',
    loadB: 'let P = p.oh * p.ow; let b = kk / P; return im2col(b, c, kk - b * P);',
    store: accumulate ? 'gw[r * p.N + c] += v;' : 'gw[r * p.N + c] = v;',
    aAlongK: true,
    bAlongK: true,
  });
}

function convGxSource(): string {
  return gemmSource({
    ints: GEOMETRY,
    bindings: [READ(1, 'gy'), READ(2, 'wt'), WRITE(3, 'gx')].join('\n'),
    // A(ci, (o, i, j)) = w[o, ci, i, j]
    loadA: 'let khw = p.kh * p.kw; let o = kk / khw; return wt[(o * p.c + r) * khw + (kk - o * khw)];',
    // B((o, i, j), (b, y, x)) = gy[b, o, oy, ox] where y + ph − i = oy·sh, x + pw − j = ox·sw
    loadB: `let khw = p.kh * p.kw; let o = kk / khw; let rem = kk - o * khw; let i = rem / p.kw; let j = rem - i * p.kw;
    let hw = p.h * p.w; let b = c / hw; let pix = c - b * hw; let y = pix / p.w; let xx = pix - y * p.w;
    let ty = i32(y + p.ph) - i32(i); let tx = i32(xx + p.pw) - i32(j);
    if (ty < 0 || tx < 0) { return 0.0; }
    let oy = u32(ty) / p.sh; let ox = u32(tx) / p.sw;
    if (oy * p.sh != u32(ty) || ox * p.sw != u32(tx) || oy >= p.oh || ox >= p.ow) { return 0.0; }
    return gy[((b * p.k + o) * p.oh + oy) * p.ow + ox];`,
    store: 'let hw = p.h * p.w; let b = c / hw; gx[(b * p.c + r) * hw + (c - b * hw)] = v;',
    aAlongK: false,
    bAlongK: false,
  });
}

export function convOps(ctx: GpuContext) {
  const sizes = (g: Conv2dGeometry) => ({ x: g.n * g.c * g.h * g.w, w: g.k * g.c * g.kh * g.kw, y: g.n * g.k * g.oh * g.ow });

  function conv2d(x: DeviceStorage, w: DeviceStorage, out: DeviceStorage, g: Conv2dGeometry): void {
    const s = sizes(g);
    const st = [own(ctx, 'conv2d', 'x', x, s.x), own(ctx, 'conv2d', 'w', w, s.w), own(ctx, 'conv2d', 'out', out, s.y)];
    const M = g.k,
      N = g.n * g.oh * g.ow,
      K = g.c * g.kh * g.kw;
    if (M * N === 0) return;
    if (K === 0) return ctx.clear(st[2]);
    ctx.dispatch({
      name: 'conv2d',
      code: wgsl('conv00', () => convSource(false, false)),
      ints: [M, N, K, ...geometryInts(g)],
      storage: st,
      groups: gemmGroups(M, N),
    });
  }

  function convLayer(
    x: DeviceStorage,
    w: DeviceStorage,
    bias: DeviceStorage | null,
    out: DeviceStorage,
    g: Conv2dGeometry,
    relu: boolean,
  ): boolean {
    if (!allOwn(ctx, x, w, bias, out)) return false;
    const s = sizes(g);
    const M = g.k,
      N = g.n * g.oh * g.ow,
      K = g.c * g.kh * g.kw;
    if (K === 0) return false;
    const st = [own(ctx, 'convLayer', 'x', x, s.x), own(ctx, 'convLayer', 'w', w, s.w)];
    if (bias) st.push(own(ctx, 'convLayer', 'bias', bias, g.k));
    st.push(own(ctx, 'convLayer', 'out', out, s.y));
    if (M * N === 0) return true;
    ctx.dispatch({
      name: 'convLayer',
      code: wgsl(`conv${+!!bias}${+relu}`, () => convSource(!!bias, relu)),
      ints: [M, N, K, ...geometryInts(g)],
      storage: st,
      groups: gemmGroups(M, N),
    });
    return true;
  }

  function conv2dBackwardWeight(x: DeviceStorage, gy: DeviceStorage, gw: DeviceStorage, g: Conv2dGeometry, accumulate = false): void {
    const s = sizes(g);
    const st = [
      own(ctx, 'conv2dBackwardWeight', 'x', x, s.x),
      own(ctx, 'conv2dBackwardWeight', 'gy', gy, s.y),
      own(ctx, 'conv2dBackwardWeight', 'gw', gw, s.w),
    ];
    const M = g.k,
      N = g.c * g.kh * g.kw,
      K = g.n * g.oh * g.ow;
    if (M * N === 0) return;
    if (K === 0) {
      if (!accumulate) ctx.clear(st[2]);
      return;
    }
    ctx.dispatch({
      name: 'conv2dBackwardWeight',
      code: wgsl(`convGw${+accumulate}`, () => convGwSource(accumulate)),
      ints: [M, N, K, ...geometryInts(g)],
      storage: st,
      groups: gemmGroups(M, N),
    });
  }

  function conv2dBackwardInput(gy: DeviceStorage, w: DeviceStorage, gx: DeviceStorage, g: Conv2dGeometry): void {
    const s = sizes(g);
    const st = [
      own(ctx, 'conv2dBackwardInput', 'gy', gy, s.y),
      own(ctx, 'conv2dBackwardInput', 'w', w, s.w),
      own(ctx, 'conv2dBackwardInput', 'gx', gx, s.x),
    ];
    const M = g.c,
      N = g.n * g.h * g.w,
      K = g.k * g.kh * g.kw;
    if (M * N === 0) return;
    if (K === 0) return ctx.clear(st[2]);
    ctx.dispatch({
      name: 'conv2dBackwardInput',
      code: wgsl('convGx', convGxSource),
      ints: [M, N, K, ...geometryInts(g)],
      storage: st,
      groups: gemmGroups(M, N),
    });
  }

  return { conv2d, convLayer, conv2dBackwardWeight, conv2dBackwardInput };
}
