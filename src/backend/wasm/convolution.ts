/**
 * Convolution layers (asm/conv.ts, asm/winograd.ts): conv2d and its two gradients, a convolution
 * layer's forward (+ bias, + ReLU) and backward, and a convolution layer followed by max pooling.
 * Threads split the batch: each part runs whole images, with its own scratch and its own partial
 * weight and bias gradients, summed at the end.
 */
import type { Conv2dGeometry, PoolGeometry } from '../backend.js';
import { referenceBackend } from '../reference.js';
import type { Storage } from '../../tensor/tensor.js';
import { type WasmContext, type WasmOps, convPoolBlock, cut, f32, geometryBlock, putI32, takeI32 } from './context.js';
import type { KernelArgs } from './runtime.js';

let winogradEnabled = true;
/**
 * Whether 3×3 and 5×5 stride-1 convolutions may run as Winograd F(4×4, 3×3) and F(4×4, 5×5)
 * (default on; PyTorch's torch.backends.mkldnn.enabled is the like switch): off, every
 * convolution is im2col + GEMM, which rounds like the reference more closely and does 144 (3×3)
 * or 400 (5×5) multiplications per 4×4 block of outputs and channel pair where Winograd does 36
 * or 64.
 */
export function setWinogradEnabled(on: boolean): void {
  winogradEnabled = on;
}

/** Stand-ins for an operand a convolution gradient does not read (convLayerBackward reads x only for gw, w only for gx). */
const NO_X = new Float32Array(0),
  NO_W = new Float32Array(0);

/**
 * Whether a forward convolution runs as Winograd F(4×4, r×r) (asm/winograd.ts): square 3×3 or
 * 5×5 filters, stride 1, no dilation, one channel group, the same padding on both axes, and enough
 * channels on both sides for its products to be worth their transforms (from 8 both ways it was
 * faster than im2col on every layer of bench/winograd.ts's runs, docs/performance.md; W2's first
 * layer, one input channel, stays direct). Every other convolution is im2col + GEMM
 * (asm/conv.ts), which handles any dilation and groups.
 */
const winograd = (g: Conv2dGeometry): boolean =>
  winogradEnabled &&
  (g.kh === 5 || g.kh === 3) &&
  g.kw === g.kh &&
  g.strideH === 1 &&
  g.strideW === 1 &&
  g.dilationH === 1 &&
  g.dilationW === 1 &&
  g.groups === 1 &&
  g.padH === g.padW &&
  g.c >= 8 &&
  g.k >= 8;

/** Multiply-adds of the convolution: each output reads C/groups·kh·kw inputs. */
const convMacs = (g: Conv2dGeometry) => (g.n * g.k * g.c * g.kh * g.kw * g.oh * g.ow) / g.groups;

/** The per-part arguments after the output gradient's (and mask's) addresses, as both layer backwards take them. */
type BackwardTail = [
  x: number,
  w: number,
  gx: number,
  gw: number,
  gb: number,
  geo: number,
  b0: number,
  b1: number,
  scratch: number,
  ut: number,
  dU: number,
];
/** A layer backward's kernel and its leading arguments (the output gradient, and what masks it). */
type BackwardJob =
  | { fn: 'conv2dLayerBackward'; lead: [gz: number, y: number] }
  | { fn: 'convPoolBackward'; lead: [gp: number, pooled: number, idx: number] };

type ConvOps =
  | 'conv2d'
  | 'conv2dBackwardInput'
  | 'conv2dBackwardWeight'
  | 'convLayer'
  | 'convLayerBackward'
  | 'convPoolLayer'
  | 'convPoolLayerBackward';

export function convolutionOps({ rt, partsFor }: WasmContext): Pick<WasmOps, ConvOps> {
  function convScratch(g: Conv2dGeometry): number {
    const direct = g.c * g.kh * g.kw * g.oh * g.ow * 4;
    // the forward's Winograd buffers, and those of the input gradient's (the transposed layer)
    const nb = rt.k.winogradBatch();
    const wino = winograd(g)
      ? Math.max(rt.k.winogradScratchFloats(g.c, g.k, g.oh, g.ow, nb, g.kh), rt.k.winogradScratchFloats(g.k, g.c, g.h, g.w, nb, g.kh)) * 4
      : 0;
    return Math.max(direct, wino) + rt.gemmScratch + 64;
  }

  /**
   * The filters' Winograd transform in the arena, packed as the products read it, when the
   * convolution runs that way, else 0; with `transposed`, that of the input gradient's convolution
   * (padding r − 1 − p, so p ≤ r − 1), whose cells are [C × K].
   */
  function winogradFilters(pw: number, g: Conv2dGeometry, transposed = false): number {
    if (!winograd(g) || (transposed && g.padH > g.kh - 1)) return 0;
    const u = rt.alloc(rt.k.winogradCells(g.kh) * g.k * g.c * 4);
    rt.k.winogradFilters(pw, u, g.k, g.c, rt.alloc(rt.k.winogradFiltersScratchBytes()), +transposed, g.kh);
    const [rows, depth] = transposed ? [g.c, g.k] : [g.k, g.c];
    const pu = rt.alloc(rt.k.winogradPackedFloats(rows, depth, g.kh) * 4);
    rt.k.winogradPackFilters(u, pu, rows, depth, g.kh);
    return pu;
  }

  function conv2d(x: Storage, w: Storage, out: Storage, g: Conv2dGeometry): void {
    if (!convLayer(x, w, null, out, g, false)) referenceBackend.conv2d(x, w, out, g);
  }

  /** conv2d + bias (+ ReLU), each image's output biased and rectified while it is in cache. */
  function convLayer(x: Storage, w: Storage, bias: Storage | null, out: Storage, g: Conv2dGeometry, relu: boolean): boolean {
    if (!f32(x, w, bias, out)) return false;
    rt.reset();
    const px = rt.put(x as Float32Array),
      pw = rt.put(w as Float32Array),
      po = rt.outPtr(out as Float32Array),
      geo = geometryBlock(rt, g);
    const pb = bias ? rt.put(bias as Float32Array) : 0,
      u = winogradFilters(pw, g);
    const T = partsFor(convMacs(g), g.n, 4);
    const parts: KernelArgs<'conv2dForward'>[] = [];
    for (let t = 0; t < T; t++) {
      const [b0, b1] = cut(g.n, T, t, 1);
      parts.push([px, pw, po, geo, b0, b1, rt.alloc(convScratch(g)), pb, +relu, u]);
    }
    rt.parallel('conv2dForward', parts);
    rt.take(po, out as Float32Array);
    return true;
  }

  /**
   * convLayer's backward on one copy of gy: each part masks its images' gy, sums them for the bias
   * and runs both products on them while they are in cache; the parts' weight and bias partials
   * are summed at the end.
   */
  function convLayerBackward(
    gy: Storage,
    x: Storage,
    w: Storage,
    y: Storage | null,
    gx: Storage | null,
    gw: Storage | null,
    gb: Storage | null,
    g: Conv2dGeometry,
    accumulateGw: boolean,
  ): boolean {
    return layerBackward(gy, x, w, y, gx, gw, gb, g, accumulateGw, true);
  }

  /** convLayerBackward, with the weight gradient by Winograd only when `winogradGw` (and the layer allows it). */
  function layerBackward(
    gy: Storage,
    x: Storage,
    w: Storage,
    y: Storage | null,
    gx: Storage | null,
    gw: Storage | null,
    gb: Storage | null,
    g: Conv2dGeometry,
    accumulateGw: boolean,
    winogradGw: boolean,
  ): boolean {
    if (!f32(gy, x, w, y, gx, gw, gb)) return false;
    rt.reset();
    // the kernel masks gy in place when there is a ReLU: then it works on its own copy
    const pz = y ? rt.alloc(gy.length * 4) : rt.put(gy as Float32Array);
    if (y) {
      rt.f32.set(gy as Float32Array, pz >> 2);
      rt.copiedBytes += gy.length * 4;
    }
    const py = y ? rt.put(y as Float32Array) : 0,
      px = gw ? rt.put(x as Float32Array) : 0,
      pw = gx ? rt.put(w as Float32Array) : 0;
    const pgx = gx ? rt.outPtr(gx as Float32Array) : 0;
    layerBackwardParts(
      { fn: 'conv2dLayerBackward', lead: [pz, py] },
      px,
      pw,
      pgx,
      gx,
      gw,
      gb,
      g,
      geometryBlock(rt, g),
      convScratch(g),
      accumulateGw,
      winogradGw,
    );
    return true;
  }

  /**
   * The threaded part of both convolution layers' backwards: parts of images, each with its own
   * partials (the bias sums; the weight gradient, or with Winograd its transform-domain dU), the
   * kernel's arguments `job.lead` first; then gx is copied out and the partials summed into gw and gb.
   */
  function layerBackwardParts(
    job: BackwardJob,
    px: number,
    pw: number,
    pgx: number,
    gx: Storage | null,
    gw: Storage | null,
    gb: Storage | null,
    g: Conv2dGeometry,
    geo: number,
    scratchBytes: number,
    accumulateGw: boolean,
    winogradGw = true,
  ): void {
    const ut = gx ? winogradFilters(pw, g, true) : 0;
    const wino = gw !== null && winogradGw && winograd(g);
    const T = partsFor(convMacs(g) * ((gx ? 1 : 0) + (gw ? 1 : 0)), g.n, 4);
    const tails: BackwardTail[] = [];
    const gws: number[] = [],
      gbs: number[] = [];
    for (let t = 0; t < T; t++) {
      const [b0, b1] = cut(g.n, T, t, 1);
      const part = gw ? rt.alloc((wino ? rt.k.winogradCells(g.kh) * g.k * g.c : gw.length) * 4) : 0,
        pgb = gb ? rt.alloc(gb.length * 4) : 0;
      if (gw) gws.push(part);
      if (gb) gbs.push(pgb);
      tails.push([px, pw, pgx, wino ? 0 : part, pgb, geo, b0, b1, rt.alloc(scratchBytes), ut, wino ? part : 0]);
    }
    if (job.fn === 'conv2dLayerBackward')
      rt.parallel(
        job.fn,
        tails.map((tail) => [...job.lead, ...tail]),
      );
    else
      rt.parallel(
        job.fn,
        tails.map((tail) => [...job.lead, ...tail]),
      );
    if (gx) rt.take(pgx, gx as Float32Array);
    if (wino) weightFromWinograd(gw, gws, g, accumulateGw);
    else sumPartials(gw, gws, accumulateGw);
    sumPartials(gb, gbs, false);
  }

  /** Scratch of a pooled layer's part: its images' convolution output (64-byte aligned), then convScratch. */
  const convPoolScratch = (g: Conv2dGeometry) =>
    Math.ceil((rt.k.convPoolImages(+winograd(g)) * g.k * g.oh * g.ow * 4) / 64) * 64 + convScratch(g);

  /** convLayer then max pooling, image by image: the full-size activation never exists. */
  function convPoolLayer(
    x: Storage,
    w: Storage,
    bias: Storage | null,
    out: Storage,
    idx: Int32Array,
    g: Conv2dGeometry,
    pg: PoolGeometry,
    relu: boolean,
  ): boolean {
    if (!f32(x, w, bias, out)) return false;
    rt.reset();
    const px = rt.put(x as Float32Array),
      pw = rt.put(w as Float32Array),
      pb = bias ? rt.put(bias as Float32Array) : 0;
    const po = rt.outPtr(out as Float32Array),
      pi = rt.alloc(idx.length * 4),
      geo = convPoolBlock(rt, g, pg, relu),
      u = winogradFilters(pw, g);
    const T = partsFor(convMacs(g), g.n, 4);
    const parts: KernelArgs<'convPoolForward'>[] = [];
    for (let t = 0; t < T; t++) {
      const [b0, b1] = cut(g.n, T, t, 1);
      parts.push([px, pw, pb, po, pi, geo, b0, b1, rt.alloc(convPoolScratch(g)), u]);
    }
    rt.parallel('convPoolForward', parts);
    rt.take(po, out as Float32Array);
    takeI32(rt, pi, idx);
    return true;
  }

  /** convPoolLayer's backward: each part rebuilds its images' output gradient in cache, then as convLayerBackward. */
  function convPoolLayerBackward(
    gp: Storage,
    pooled: Storage,
    idx: Int32Array,
    x: Storage,
    w: Storage,
    gx: Storage | null,
    gw: Storage | null,
    gb: Storage | null,
    g: Conv2dGeometry,
    pg: PoolGeometry,
    relu: boolean,
    accumulateGw: boolean,
  ): boolean {
    if (!f32(gp, pooled, x, w, gx, gw, gb)) return false;
    rt.reset();
    const pgp = rt.put(gp as Float32Array),
      ppool = relu ? rt.put(pooled as Float32Array) : 0,
      pi = putI32(rt, idx);
    const px = gw ? rt.put(x as Float32Array) : 0,
      pw = rt.put(w as Float32Array);
    const pgx = gx ? rt.outPtr(gx as Float32Array) : 0;
    layerBackwardParts(
      { fn: 'convPoolBackward', lead: [pgp, ppool, pi] },
      px,
      pw,
      pgx,
      gx,
      gw,
      gb,
      g,
      convPoolBlock(rt, g, pg, relu),
      convPoolScratch(g),
      accumulateGw,
    );
    return true;
  }

  /** gw (+)= the filters' gradient from the parts' Winograd-domain partials dU [α²][K][C] (summed, then Gᵀ·dU·G). */
  function weightFromWinograd(gw: Storage, dUs: number[], g: Conv2dGeometry, accumulate: boolean): void {
    const n = rt.k.winogradCells(g.kh) * g.k * g.c;
    for (let i = 1; i < dUs.length; i++) rt.k.addInto(dUs[0], dUs[i], n);
    const into = accumulate ? rt.put(gw as Float32Array) : rt.outPtr(gw as Float32Array);
    const dst = accumulate ? rt.alloc(gw.length * 4) : into;
    rt.k.winogradFilterGrad(dUs[0], dst, g.k, g.c, rt.alloc(rt.k.winogradFilterGradScratchBytes()), g.kh);
    if (accumulate) rt.k.addInto(into, dst, gw.length);
    rt.take(into, gw as Float32Array);
  }

  /** dst (+)= the sum of the parts' partials (each of dst's length), in the arena. */
  function sumPartials(dst: Storage | null, ps: number[], accumulate: boolean): void {
    if (!dst) return;
    const into = accumulate ? rt.put(dst as Float32Array) : ps[0];
    for (let i = accumulate ? 0 : 1; i < ps.length; i++) rt.k.addInto(into, ps[i], dst.length);
    rt.take(into, dst as Float32Array);
  }

  // The plain convolution gradients (no bias, no ReLU: convolutions without a bias, and the
  // recorded backward of createGraph) are the layer's backward with only one output asked for.
  function conv2dBackwardInput(gy: Storage, w: Storage, gx: Storage, g: Conv2dGeometry): void {
    if (!convLayerBackward(gy, NO_X, w, null, gx, null, null, g, false)) referenceBackend.conv2dBackwardInput(gy, w, gx, g);
  }

  // The plain weight gradient stays im2col: Winograd's, summed over many tiles, rounds a cancelling
  // sum further from the reference (1.2e-4 relative on an 8-image 5×5 layer) than this op's
  // contract (1e-4, test/backend/wasm.test.ts); the fused layers' tests scale with the sum's length.
  function conv2dBackwardWeight(x: Storage, gy: Storage, gw: Storage, g: Conv2dGeometry): void {
    if (!layerBackward(gy, x, NO_W, null, null, gw, null, g, false, false)) referenceBackend.conv2dBackwardWeight(x, gy, gw, g);
  }

  return { conv2d, conv2dBackwardInput, conv2dBackwardWeight, convLayer, convLayerBackward, convPoolLayer, convPoolLayerBackward };
}
