/**
 * The wasm backend's kernels: `{ ...referenceBackend, ...overrides }`, so an op added to the
 * Backend interface later still works (through the reference) until it gets a fast version here.
 * Only float32 is fast; float64 operands go to the reference.
 *
 * Every override has the same shape: copy the operands into the runtime's transient arena
 * (skipped for arrays that already live in WebAssembly memory), run the kernel — split over the
 * worker threads when the product is big enough to pay for the hand-off — and copy the result out.
 */
import type { KernelSet, BinaryOp, UnaryOp, Conv2dGeometry, PoolGeometry, AdamStepHyper, SgdStepHyper } from '../backend.js';
import { referenceBackend, broadcastStrides } from '../reference.js';
import type { Storage } from '../../tensor/tensor.js';
import type { Shape } from '../../tensor/shape.js';
import type { WasmRuntime } from './runtime.js';
import { MAX_PARTS } from './protocol.js';

/** Below this many multiply-adds a product runs on one thread (a hand-off costs ~5–50 µs). */
export const PARALLEL_MACS = 1 << 19;
/** Below this many elements a memory-bound op stays in plain JS (the copies cost more than they save). */
export const SMALL_ELEMENTWISE = 1 << 11;
/**
 * Below this many elements touched (poolWork) a pooling kernel runs on one thread. Pooling is a
 * single pass over memory and the operand copies are serial anyway: on W2's pools (3.2 M and
 * 1.6 M elements, 0.2-0.7 ms of kernel) two threads measured no faster than one, and in a loaded
 * W2 step they cost 2-5 ms (a late worker). So only much bigger inputs are split.
 */
export const POOL_PARALLEL = 1 << 22;
/** Elements a pooling kernel touches: the input once, each window once per output. */
export const poolWork = (g: PoolGeometry): number => g.n * g.c * (g.h * g.w + g.oh * g.ow * g.kh * g.kw);
/** Below this many multiply-adds a matmul stays in plain JS. */
const SMALL_MATMUL = 1 << 10;

const BIN_CODES: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, max: 5, min: 6, gt: 7, lt: 8, eq: 9, reluGrad: 10 };
const UN_CODES: Record<UnaryOp, number> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, sign: 5, relu: 6, step: 7, sigmoid: 8, tanh: 9, square: 10, recip: 11,
};

const f32 = (...xs: (Storage | null)[]): boolean => xs.every((x) => x === null || x instanceof Float32Array);

/** [start, end) of part t when `total` items are cut in `parts` pieces whose starts are multiples of `unit`. */
function cut(total: number, parts: number, t: number, unit: number): [number, number] {
  const units = Math.ceil(total / unit);
  const lo = Math.min(total, Math.round((units * t) / parts) * unit);
  const hi = Math.min(total, Math.round((units * (t + 1)) / parts) * unit);
  return [lo, hi];
}

/**
 * `total` items (in multiples of `unit`) cut into equal parts, PRODUCT_PARTS at most, in order: the
 * caller claims them from the front and the workers from the back (protocol.ts), so each thread
 * keeps the same end of the operands from one call to the next, and the two meet wherever their
 * speeds put them (this VM's two cores are not always equally fast).
 */
function equalCut(total: number, unit: number): [number, number][] {
  const parts = Math.min(PRODUCT_PARTS, Math.ceil(total / unit));
  return Array.from({ length: parts }, (_, t) => cut(total, parts, t, unit));
}
/** 8 and 32 measured slower (W1 step, same process: 2.256/2.277, 2.284/2.297 and 1.887/1.888, 2.271/2.274 ms; with quarter claims, two processes: 1.007 and 1.005). */
const PRODUCT_PARTS = 16;

/** Largest shared operand that a threaded product packs once before its parts run (else each part packs its own). */
const PREPACK_BYTES = 16 * 2 ** 20;

/** Most bytes allocLike keeps in WebAssembly memory (parameters and optimizer state). */
const PERSISTENT_CAP = 384 * 2 ** 20;

let winogradEnabled = true;
/**
 * Whether 5×5 stride-1 convolutions may run as Winograd F(2×2, 5×5) (default on; PyTorch's
 * torch.backends.mkldnn.enabled is the like switch): off, every convolution is im2col + GEMM,
 * which rounds like the reference more closely and runs 1.5–2× slower on such layers.
 */
export function setWinogradEnabled(on: boolean): void {
  winogradEnabled = on;
}

/** Stand-ins for an operand a convolution gradient does not read (convLayerBackward reads x only for gw, w only for gx). */
const NO_X = new Float32Array(0), NO_W = new Float32Array(0);

export function makeWasmKernels(rt: WasmRuntime, maxThreads: () => number): KernelSet {
  const MR_UNIT = 12; // a multiple of both micro-kernel heights (4 and 6)
  // Columns per unit when threads split a product along n: 16 floats, one 64-byte cache line of a C
  // row, so two threads never write the same line (with 8, the 8-column micro-tiles of two parts
  // shared lines at every part boundary, which then bounced between the cores on each k block).
  const NC_UNIT = 16;

  /**
   * How many parts to cut a kernel into: 1 below PARALLEL_MACS or on one thread, else `perThread`
   * parts per thread (threads claim parts dynamically, so more parts balance a late worker, at the
   * price of re-packing a GEMM operand once per part), at most `items`.
   */
  function partsFor(macs: number, items: number, perThread: number): number {
    const T = Math.min(maxThreads(), rt.threads);
    return macs >= PARALLEL_MACS && T > 1 ? Math.max(1, Math.min(T * perThread, items, MAX_PARTS)) : 1;
  }

  function matmul(a: Storage, b: Storage, out: Storage, m: number, n: number, k: number, transA: boolean, transB: boolean): void {
    if (!f32(a, b, out) || m * n * k < SMALL_MATMUL) return referenceBackend.matmul(a, b, out, m, n, k, transA, transB);
    rt.reset();
    const pa = rt.put(a as Float32Array), pb = rt.put(b as Float32Array), pc = rt.outPtr(out as Float32Array);
    gemmInto(pa, pb, pc, m, n, k, transA, transB, false);
    rt.take(pc, out as Float32Array);
  }

  /**
   * C (+)= op(A)·op(B) on operands already in linear memory. Split over the threads along the
   * dimension whose other operand is the cheaper one to pack, and that other operand is packed
   * once, before the parts run (PREPACK_BYTES at most), so the product can be cut into many parts
   * (equalCut) — a late or slower thread then costs a small part — without packing it again for
   * each part.
   */
  function gemmInto(pa: number, pb: number, pc: number, m: number, n: number, k: number, transA: boolean, transB: boolean, acc: boolean): void {
    const splitN = m <= n;
    const mr = rt.k.gemmMR();
    const packedBytes = (splitN ? Math.ceil(m / mr) * mr : Math.ceil(n / 8) * 8) * k * 4;
    const prepack = k > 0 && packedBytes <= PREPACK_BYTES;
    // pre-packed, this only decides whether to split (equalCut cuts the parts); else T parts that each pack both operands
    const T = partsFor(m * n * k, Math.ceil((splitN ? n / NC_UNIT : m / MR_UNIT)), 2);
    const parts: number[][] = [];
    if (T > 1 && prepack) {
      const shared = rt.alloc(packedBytes);
      if (splitN) rt.k.packAAll(pa, m, k, +transA, 0, m, shared);
      else rt.k.packBAll(pb, n, k, +transB, 0, n, shared);
      for (const [lo, hi] of equalCut(splitN ? n : m, splitN ? NC_UNIT : MR_UNIT)) {
        parts.push(splitN
          ? [shared, pb, pc, m, n, k, +transB, +acc, lo, hi, rt.alloc(rt.k.gemmPackedScratchBytes(hi - lo))]
          : [pa, shared, pc, m, n, k, +transA, +acc, lo, hi, rt.alloc(rt.k.gemmPackedScratchBytes(0))]);
      }
      rt.parallel(splitN ? 'gemmPackedA' : 'gemmPackedB', parts);
      return;
    }
    for (let t = 0; t < T; t++) {
      const [lo, hi] = splitN ? cut(n, T, t, NC_UNIT) : cut(m, T, t, MR_UNIT);
      const [m0, m1, n0, n1] = splitN ? [0, m, lo, hi] : [lo, hi, 0, n];
      parts.push([pa, pb, pc, m, n, k, +transA, +transB, +acc, m0, m1, n0, n1, rt.alloc(rt.gemmScratch)]);
    }
    rt.parallel('gemm', parts);
  }

  /** x·wᵀ + bias (+ ReLU): the bias rows are written into C first and the product accumulates onto them. */
  function linear(x: Storage, w: Storage, bias: Storage | null, out: Storage, m: number, n: number, k: number, relu: boolean): boolean {
    if (!f32(x, w, bias, out) || m * n * k < SMALL_MATMUL) return false;
    rt.reset();
    const px = rt.put(x as Float32Array), pw = rt.put(w as Float32Array), po = rt.outPtr(out as Float32Array);
    if (bias) for (let i = 0, o = po >> 2; i < m; i++, o += n) rt.f32.set(bias as Float32Array, o);
    gemmInto(px, pw, po, m, n, k, false, true, bias !== null);
    if (relu) rt.k.unary(UN_CODES.relu, po, po, m * n);
    rt.take(po, out as Float32Array);
    return true;
  }

  /** linear's backward: the ReLU mask, both products and the bias sums on one copy of gy (and of x). */
  function linearBackward(gy: Storage, x: Storage, w: Storage, y: Storage | null, gx: Storage | null, gw: Storage | null, gb: Storage | null,
    m: number, n: number, k: number, accumulateGw: boolean): boolean {
    if (!f32(gy, x, w, y, gx, gw, gb) || m * n * k < SMALL_MATMUL) return false;
    rt.reset();
    let pg = rt.put(gy as Float32Array);
    if (y) {
      const py = rt.put(y as Float32Array), pz = rt.alloc(m * n * 4);
      rt.k.binary(BIN_CODES.reluGrad, pg, 0, 1, py, 0, 1, pz, 1, m * n);
      pg = pz;
    }
    if (gx) {
      const po = rt.outPtr(gx as Float32Array);
      gemmInto(pg, rt.put(w as Float32Array), po, m, k, n, false, false, false);
      rt.take(po, gx as Float32Array);
    }
    if (gw) {
      const po = accumulateGw ? rt.put(gw as Float32Array) : rt.outPtr(gw as Float32Array);
      gemmInto(pg, rt.put(x as Float32Array), po, n, k, m, true, false, accumulateGw);
      rt.take(po, gw as Float32Array);
    }
    if (gb) {
      const po = rt.outPtr(gb as Float32Array);
      rt.k.sum(pg, 1, m, n, po);
      rt.take(po, gb as Float32Array);
    }
    return true;
  }

  /** A convolution's geometry as asm/conv.ts reads it: n c h w k kh kw oh ow sh sw ph pw. */
  const convInts = (g: Conv2dGeometry) => [g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.oh, g.ow, g.strideH, g.strideW, g.padH, g.padW];

  function geometry(g: Conv2dGeometry): number {
    const p = rt.alloc(13 * 4);
    rt.i32.set(convInts(g), p >> 2);
    return p;
  }

  /**
   * Whether a forward convolution runs as Winograd F(2×2, 5×5) (asm/winograd.ts): 5×5 filters,
   * stride 1, the same padding on both axes, and enough channels on both sides for its 36 products
   * to be worth their transforms (W2's first layer, one input channel, stays direct).
   */
  const winograd = (g: Conv2dGeometry): boolean =>
    winogradEnabled && g.kh === 5 && g.kw === 5 && g.strideH === 1 && g.strideW === 1 && g.padH === g.padW && g.c >= 8 && g.k >= 8;

  function convScratch(g: Conv2dGeometry): number {
    const direct = g.c * g.kh * g.kw * g.oh * g.ow * 4;
    // the forward's Winograd buffers, and those of the input gradient's (the transposed layer)
    const nb = rt.k.winogradBatch();
    const wino = winograd(g) ? Math.max(rt.k.winogradScratchFloats(g.c, g.k, g.oh, g.ow, nb), rt.k.winogradScratchFloats(g.k, g.c, g.h, g.w, nb)) * 4 : 0;
    return Math.max(direct, wino) + rt.gemmScratch + 64;
  }

  /**
   * The filters' Winograd transform in the arena when the convolution runs that way, else 0; with
   * `transposed`, that of the input gradient's convolution (padding 4 − p, so p ≤ 4).
   */
  function winogradFilters(pw: number, g: Conv2dGeometry, transposed = false): number {
    if (!winograd(g) || (transposed && g.padH > 4)) return 0;
    const u = rt.alloc(36 * g.k * g.c * 4);
    rt.k.winogradFilters(pw, u, g.k, g.c, rt.alloc(30 * 4), +transposed);
    return u;
  }

  const convMacs = (g: Conv2dGeometry) => g.n * g.k * g.c * g.kh * g.kw * g.oh * g.ow;

  function conv2d(x: Storage, w: Storage, out: Storage, g: Conv2dGeometry): void {
    if (!convLayer(x, w, null, out, g, false)) referenceBackend.conv2d(x, w, out, g);
  }

  /** conv2d + bias (+ ReLU), each image's output biased and rectified while it is in cache. */
  function convLayer(x: Storage, w: Storage, bias: Storage | null, out: Storage, g: Conv2dGeometry, relu: boolean): boolean {
    if (!f32(x, w, bias, out)) return false;
    rt.reset();
    const px = rt.put(x as Float32Array), pw = rt.put(w as Float32Array), po = rt.outPtr(out as Float32Array), geo = geometry(g);
    const pb = bias ? rt.put(bias as Float32Array) : 0, u = winogradFilters(pw, g);
    const T = partsFor(convMacs(g), g.n, 4);
    const parts: number[][] = [];
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
  function convLayerBackward(gy: Storage, x: Storage, w: Storage, y: Storage | null, gx: Storage | null, gw: Storage | null, gb: Storage | null,
    g: Conv2dGeometry, accumulateGw: boolean): boolean {
    return layerBackward(gy, x, w, y, gx, gw, gb, g, accumulateGw, true);
  }

  /** convLayerBackward, with the weight gradient by Winograd only when `winogradGw` (and the layer allows it). */
  function layerBackward(gy: Storage, x: Storage, w: Storage, y: Storage | null, gx: Storage | null, gw: Storage | null, gb: Storage | null,
    g: Conv2dGeometry, accumulateGw: boolean, winogradGw: boolean): boolean {
    if (!f32(gy, x, w, y, gx, gw, gb)) return false;
    rt.reset();
    // the kernel masks gy in place when there is a ReLU: then it works on its own copy
    const pz = y ? rt.alloc(gy.length * 4) : rt.put(gy as Float32Array);
    if (y) {
      rt.f32.set(gy as Float32Array, pz >> 2);
      rt.copiedBytes += gy.length * 4;
    }
    const py = y ? rt.put(y as Float32Array) : 0, px = gw ? rt.put(x as Float32Array) : 0, pw = gx ? rt.put(w as Float32Array) : 0;
    const pgx = gx ? rt.outPtr(gx as Float32Array) : 0;
    layerBackwardParts('conv2dLayerBackward', [pz, py], px, pw, pgx, gx, gw, gb, g, geometry(g), convScratch(g), accumulateGw, winogradGw);
    return true;
  }

  /**
   * The threaded part of both convolution layers' backwards: parts of images, each with its own
   * partials (the bias sums; the weight gradient, or with Winograd its transform-domain dU), the
   * kernel's arguments `lead` first; then gx is copied out and the partials summed into gw and gb.
   */
  function layerBackwardParts(fn: 'conv2dLayerBackward' | 'convPoolBackward', lead: number[], px: number, pw: number, pgx: number,
    gx: Storage | null, gw: Storage | null, gb: Storage | null, g: Conv2dGeometry, geo: number, scratchBytes: number, accumulateGw: boolean,
    winogradGw = true): void {
    const ut = gx ? winogradFilters(pw, g, true) : 0;
    const wino = gw !== null && winogradGw && winograd(g);
    const T = partsFor(convMacs(g) * ((gx ? 1 : 0) + (gw ? 1 : 0)), g.n, 4);
    const parts: number[][] = [];
    const gws: number[] = [], gbs: number[] = [];
    for (let t = 0; t < T; t++) {
      const [b0, b1] = cut(g.n, T, t, 1);
      const part = gw ? rt.alloc((wino ? 36 * g.k * g.c : gw.length) * 4) : 0, pgb = gb ? rt.alloc(gb.length * 4) : 0;
      if (gw) gws.push(part);
      if (gb) gbs.push(pgb);
      parts.push([...lead, px, pw, pgx, wino ? 0 : part, pgb, geo, b0, b1, rt.alloc(scratchBytes), ut, wino ? part : 0]);
    }
    rt.parallel(fn, parts);
    if (gx) rt.take(pgx, gx as Float32Array);
    if (wino) weightFromWinograd(gw, gws, g, accumulateGw);
    else sumPartials(gw, gws, accumulateGw);
    sumPartials(gb, gbs, false);
  }

  /** The convolution's and the pooling's geometry and the ReLU flag in one block (asm/conv.ts convPoolForward). */
  function convPoolGeo(g: Conv2dGeometry, pg: PoolGeometry, relu: boolean): number {
    const p = rt.alloc(26 * 4);
    rt.i32.set([...convInts(g), pg.n, pg.c, pg.h, pg.w, pg.kh, pg.kw, pg.oh, pg.ow, pg.strideH, pg.strideW, pg.padH, pg.padW, +relu], p >> 2);
    return p;
  }

  /** Scratch of a pooled layer's part: its images' convolution output (64-byte aligned), then convScratch. */
  const convPoolScratch = (g: Conv2dGeometry) => Math.ceil((rt.k.convPoolImages(+winograd(g)) * g.k * g.oh * g.ow * 4) / 64) * 64 + convScratch(g);

  /** convLayer then max pooling, image by image: the full-size activation never exists. */
  function convPoolLayer(x: Storage, w: Storage, bias: Storage | null, out: Storage, idx: Int32Array, g: Conv2dGeometry, pg: PoolGeometry, relu: boolean): boolean {
    if (!f32(x, w, bias, out)) return false;
    rt.reset();
    const px = rt.put(x as Float32Array), pw = rt.put(w as Float32Array), pb = bias ? rt.put(bias as Float32Array) : 0;
    const po = rt.outPtr(out as Float32Array), pi = rt.alloc(idx.length * 4), geo = convPoolGeo(g, pg, relu), u = winogradFilters(pw, g);
    const T = partsFor(convMacs(g), g.n, 4);
    const parts: number[][] = [];
    for (let t = 0; t < T; t++) {
      const [b0, b1] = cut(g.n, T, t, 1);
      parts.push([px, pw, pb, po, pi, geo, b0, b1, rt.alloc(convPoolScratch(g)), u]);
    }
    rt.parallel('convPoolForward', parts);
    rt.take(po, out as Float32Array);
    idx.set(rt.i32.subarray(pi >> 2, (pi >> 2) + idx.length));
    rt.copiedBytes += idx.length * 4;
    return true;
  }

  /** convPoolLayer's backward: each part rebuilds its images' output gradient in cache, then as convLayerBackward. */
  function convPoolLayerBackward(gp: Storage, pooled: Storage, idx: Int32Array, x: Storage, w: Storage, gx: Storage | null, gw: Storage | null, gb: Storage | null,
    g: Conv2dGeometry, pg: PoolGeometry, relu: boolean, accumulateGw: boolean): boolean {
    if (!f32(gp, pooled, x, w, gx, gw, gb)) return false;
    rt.reset();
    const pgp = rt.put(gp as Float32Array), ppool = relu ? rt.put(pooled as Float32Array) : 0, pi = putI32(idx);
    const px = gw ? rt.put(x as Float32Array) : 0, pw = rt.put(w as Float32Array);
    const pgx = gx ? rt.outPtr(gx as Float32Array) : 0;
    layerBackwardParts('convPoolBackward', [pgp, ppool, pi], px, pw, pgx, gx, gw, gb, g, convPoolGeo(g, pg, relu), convPoolScratch(g), accumulateGw);
    return true;
  }

  /** gw (+)= the filters' gradient from the parts' Winograd-domain partials dU [36][K][C] (summed, then Gᵀ·dU·G). */
  function weightFromWinograd(gw: Storage, dUs: number[], g: Conv2dGeometry, accumulate: boolean): void {
    const n = 36 * g.k * g.c;
    for (let i = 1; i < dUs.length; i++) rt.k.addInto(dUs[0], dUs[i], n);
    const into = accumulate ? rt.put(gw as Float32Array) : rt.outPtr(gw as Float32Array);
    const dst = accumulate ? rt.alloc(gw.length * 4) : into;
    rt.k.winogradFilterGrad(dUs[0], dst, g.k, g.c);
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

  // ---------------------------------------------------------------- pooling (asm/pool.ts)
  // Memory-bound: one pass over the input. Split by (n, c) planes over the threads only for
  // inputs far bigger than W2's (POOL_PARALLEL).

  function poolGeo(g: PoolGeometry): number {
    const p = rt.alloc(12 * 4);
    rt.i32.set([g.n, g.c, g.h, g.w, g.kh, g.kw, g.oh, g.ow, g.strideH, g.strideW, g.padH, g.padW], p >> 2);
    return p;
  }

  function putI32(a: Int32Array): number {
    const p = rt.alloc(a.length * 4);
    rt.i32.set(a, p >> 2);
    rt.copiedBytes += a.length * 4;
    return p;
  }

  /** Runs `fn` over planes [0, planes), cut into parts when `work` (elements touched) is big. */
  function overPlanes(fn: 'maxPool2d' | 'scatterPlanes' | 'avgPool2d' | 'avgPool2dBackward', planes: number, work: number, args: (p0: number, p1: number) => number[]): void {
    const T = work >= POOL_PARALLEL ? partsFor(work, planes, 4) : 1;
    const parts: number[][] = [];
    for (let t = 0; t < T; t++) {
      const [p0, p1] = cut(planes, T, t, 1);
      parts.push(args(p0, p1));
    }
    rt.parallel(fn, parts);
  }

  function maxPool2d(x: Storage, out: Storage, idx: Int32Array, g: PoolGeometry): void {
    if (!f32(x, out) || x.length < SMALL_ELEMENTWISE) return referenceBackend.maxPool2d(x, out, idx, g);
    rt.reset();
    const px = rt.put(x as Float32Array), po = rt.outPtr(out as Float32Array), pi = rt.alloc(idx.length * 4), geo = poolGeo(g);
    overPlanes('maxPool2d', g.n * g.c, poolWork(g), (p0, p1) => [px, po, pi, geo, p0, p1]);
    rt.take(po, out as Float32Array);
    idx.set(rt.i32.subarray(pi >> 2, (pi >> 2) + idx.length));
    rt.copiedBytes += idx.length * 4;
  }

  function scatterPlanes(gy: Storage, idx: Int32Array, gx: Storage, planes: number, inPlane: number, outPlane: number): void {
    if (!f32(gy, gx) || gx.length < SMALL_ELEMENTWISE) return referenceBackend.scatterPlanes(gy, idx, gx, planes, inPlane, outPlane);
    rt.reset();
    const pgy = rt.put(gy as Float32Array), pi = putI32(idx), pgx = rt.outPtr(gx as Float32Array);
    overPlanes('scatterPlanes', planes, planes * (inPlane + outPlane), (p0, p1) => [pgy, pi, pgx, inPlane, outPlane, p0, p1]);
    rt.take(pgx, gx as Float32Array);
  }

  function avgPool2d(x: Storage, out: Storage, g: PoolGeometry, countIncludePad: boolean): void {
    if (!f32(x, out) || x.length < SMALL_ELEMENTWISE) return referenceBackend.avgPool2d(x, out, g, countIncludePad);
    rt.reset();
    const px = rt.put(x as Float32Array), po = rt.outPtr(out as Float32Array), geo = poolGeo(g);
    overPlanes('avgPool2d', g.n * g.c, poolWork(g), (p0, p1) => [px, po, geo, +countIncludePad, p0, p1]);
    rt.take(po, out as Float32Array);
  }

  function avgPool2dBackward(gy: Storage, gx: Storage, g: PoolGeometry, countIncludePad: boolean): void {
    if (!f32(gy, gx) || gx.length < SMALL_ELEMENTWISE) return referenceBackend.avgPool2dBackward(gy, gx, g, countIncludePad);
    rt.reset();
    const pgy = rt.put(gy as Float32Array), pgx = rt.outPtr(gx as Float32Array), geo = poolGeo(g);
    overPlanes('avgPool2dBackward', g.n * g.c, poolWork(g), (p0, p1) => [pgy, pgx, geo, +countIncludePad, p0, p1]);
    rt.take(pgx, gx as Float32Array);
  }

  function binary(op: BinaryOp, a: Storage, aShape: Shape, b: Storage, bShape: Shape, out: Storage, outShape: Shape): void {
    if (!f32(a, b, out) || out.length < SMALL_ELEMENTWISE) return referenceBackend.binary(op, a, aShape, b, bShape, out, outShape);
    // Collapse to at most three dims [d0, d1, d2] in which each operand is contiguous or broadcast.
    const sa = broadcastStrides(aShape, outShape), sb = broadcastStrides(bShape, outShape);
    const dims: { n: number; sa: number; sb: number }[] = [];
    for (let d = outShape.length - 1; d >= 0; d--) {
      const n = outShape[d];
      if (n === 1) continue;
      const inner = dims[0];
      if (inner && sa[d] === inner.sa * inner.n && sb[d] === inner.sb * inner.n) {
        inner.n *= n;
      } else dims.unshift({ n, sa: sa[d], sb: sb[d] });
    }
    if (dims.length > 3) return referenceBackend.binary(op, a, aShape, b, bShape, out, outShape);
    while (dims.length < 3) dims.unshift({ n: 1, sa: 0, sb: 0 });
    const [d0, d1, d2] = dims;
    rt.reset();
    const pa = rt.put(a as Float32Array), pb = rt.put(b as Float32Array), po = rt.outPtr(out as Float32Array);
    const code = BIN_CODES[op];
    for (let i = 0; i < d0.n; i++) {
      rt.k.binary(code, pa + i * d0.sa * 4, d1.sa, d2.sa, pb + i * d0.sb * 4, d1.sb, d2.sb, po + i * d1.n * d2.n * 4, d1.n, d2.n);
    }
    rt.take(po, out as Float32Array);
  }

  function unary(op: UnaryOp, a: Storage, out: Storage): void {
    if (!f32(a, out) || a.length < SMALL_ELEMENTWISE) return referenceBackend.unary(op, a, out);
    rt.reset();
    const pa = rt.put(a as Float32Array), po = rt.outPtr(out as Float32Array);
    rt.k.unary(UN_CODES[op], pa, po, a.length);
    rt.take(po, out as Float32Array);
  }

  function sum(a: Storage, shape: Shape, axes: readonly number[], out: Storage): void {
    if (!f32(a, out) || a.length < SMALL_ELEMENTWISE) return referenceBackend.sum(a, shape, axes, out);
    // One pass per run of adjacent reduced axes, last run first (e.g. a conv bias gradient,
    // axes 0, 2, 3 of N×K×H×W: first H·W, then N), each pass outer × mid × inner.
    const dims = [...shape];
    const left = new Set(axes.filter((ax) => dims[ax] !== 1));
    rt.reset();
    let p = rt.put(a as Float32Array);
    if (left.size === 0) {
      rt.take(p, out as Float32Array);
      return;
    }
    while (left.size) {
      const last = Math.max(...left);
      let first = last;
      while (first > 0 && (left.has(first - 1) || dims[first - 1] === 1)) first--;
      let outer = 1, mid = 1, inner = 1;
      dims.forEach((d, i) => { if (i < first) outer *= d; else if (i > last) inner *= d; else mid *= d; });
      const q = left.size === 1 || outer * inner === out.length ? rt.outPtr(out as Float32Array) : rt.alloc(outer * inner * 4);
      rt.k.sum(p, outer, mid, inner, q);
      p = q;
      for (let i = first; i <= last; i++) { dims[i] = 1; left.delete(i); }
    }
    rt.take(p, out as Float32Array);
  }

  function max(a: Storage, shape: Shape, axis: number, out: Storage, arg: Int32Array | null): void {
    if (!f32(a, out) || a.length < SMALL_ELEMENTWISE) return referenceBackend.max(a, shape, axis, out, arg);
    let outer = 1, inner = 1;
    shape.forEach((d, i) => { if (i < axis) outer *= d; else if (i > axis) inner *= d; });
    rt.reset();
    const pa = rt.put(a as Float32Array), po = rt.outPtr(out as Float32Array);
    const pArg = arg ? rt.alloc(arg.length * 4) : 0;
    rt.k.max(pa, outer, shape[axis], inner, po, pArg);
    rt.take(po, out as Float32Array);
    if (arg) arg.set(rt.i32.subarray(pArg >> 2, (pArg >> 2) + arg.length));
  }

  function logSoftmax(a: Storage, rows: number, cols: number, out: Storage, probs: Storage | null = null): void {
    if (!f32(a, out, probs) || a.length < SMALL_ELEMENTWISE) return referenceBackend.logSoftmax(a, rows, cols, out, probs);
    rt.reset();
    const pa = rt.put(a as Float32Array), po = rt.outPtr(out as Float32Array), pp = probs ? rt.outPtr(probs as Float32Array) : 0;
    rt.k.logSoftmax(pa, rows, cols, po, pp);
    rt.take(po, out as Float32Array);
    if (probs) rt.take(pp, probs as Float32Array);
  }

  /**
   * A fused update over arrays at `ptrs` (parameter first; every other address moves with it, 0
   * stays 0): `args(ptrs, n)` is the kernel's argument list for n floats from those addresses.
   */
  interface Update { fn: 'adam' | 'sgd'; ptrs: number[]; n: number; args: (ptrs: number[], n: number) => number[] }
  /** Updates queued by batchUpdates (null outside it). */
  let queued: Update[] | null = null;

  /** Runs updates as one job: each cut into parts of about the same size, over the threads. */
  function runUpdates(list: Update[]): void {
    for (const fn of ['adam', 'sgd'] as const) {
      const us = list.filter((u) => u.fn === fn);
      const total = us.reduce((s, u) => s + u.n, 0);
      if (!total) continue;
      // parts of ~1/4 of the whole per thread (the threads claim them dynamically), at least 4096 floats
      const count = partsFor(total * 8, Math.ceil(total / 4096), 4);
      const size = Math.max(4096, Math.ceil(total / count / 16) * 16);
      const parts: number[][] = [];
      for (const u of us) {
        const pieces = Math.max(1, Math.round(u.n / size));
        for (let t = 0; t < pieces; t++) {
          const [lo, hi] = cut(u.n, pieces, t, 16);
          parts.push(u.args(u.ptrs.map((q) => (q ? q + lo * 4 : 0)), hi - lo));
        }
      }
      // in the parameters' order: the caller updates the low rows of each big parameter, the same
      // rows it computes in the products (protocol.ts), and the worker starts from the small last ones
      for (let at = 0; at < parts.length; at += MAX_PARTS) rt.parallel(fn, parts.slice(at, at + MAX_PARTS));
    }
  }
  /** Queues the update when inside batchUpdates and every array lives in wasm memory (no copies), else runs it now. */
  function update(u: Update, arrays: (Storage | null)[], take: (ptrs: number[]) => void): void {
    if (queued && arrays.every((a) => a === null || rt.owns(a as Float32Array))) {
      queued.push(u);
      return;
    }
    runUpdates([u]);
    take(u.ptrs);
  }

  function batchUpdates(run: () => void): void {
    if (queued) return run();
    queued = [];
    try {
      run();
    } finally {
      const list = queued;
      queued = null;
      runUpdates(list);
    }
  }

  function adamStep(p: Storage, g: Storage, m: Storage, v: Storage, vMax: Storage | null, h: AdamStepHyper): boolean {
    if (!f32(p, g, m, v, vMax)) return false;
    rt.reset();
    const ptrs = [rt.put(p as Float32Array), rt.put(g as Float32Array), rt.put(m as Float32Array), rt.put(v as Float32Array), vMax ? rt.put(vMax as Float32Array) : 0];
    const stepSize = h.lr / (1 - Math.pow(h.beta1, h.step));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(h.beta2, h.step));
    const args = ([pp, pg, pm, pv, pvm]: number[], n: number) =>
      [pp, pg, pm, pv, pvm, n, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, +h.decoupled, +h.maximize, stepSize, bc2Sqrt];
    update({ fn: 'adam', ptrs, n: p.length, args }, [p, g, m, v, vMax], ([pp, , pm, pv, pvm]) => {
      rt.take(pp, p as Float32Array);
      rt.take(pm, m as Float32Array);
      rt.take(pv, v as Float32Array);
      if (vMax) rt.take(pvm, vMax as Float32Array);
    });
    return true;
  }

  function sgdStep(p: Storage, g: Storage, buf: Storage | null, h: SgdStepHyper): boolean {
    if (!f32(p, g, buf)) return false;
    rt.reset();
    const ptrs = [rt.put(p as Float32Array), rt.put(g as Float32Array), buf ? rt.put(buf as Float32Array) : 0];
    const args = ([pp, pg, pb]: number[], n: number) =>
      [pp, pg, pb, n, h.lr, h.momentum, h.dampening, h.weightDecay, +h.nesterov, +h.maximize, +h.first];
    update({ fn: 'sgd', ptrs, n: p.length, args }, [p, g, buf], ([pp, , pb]) => {
      rt.take(pp, p as Float32Array);
      if (buf) rt.take(pb, buf as Float32Array);
    });
    return true;
  }

  /** a.fill(0) with memset for arrays in wasm memory (TypedArray.fill on shared memory is an element loop). */
  function zero(a: Storage): boolean {
    if (!(a instanceof Float32Array) || !rt.owns(a)) return false;
    rt.k.zero(a.byteOffset, a.length);
    return true;
  }

  /**
   * Optimizer state (float32, ≥ SMALL_ELEMENTWISE elements) lives in WebAssembly memory, so a fused
   * step copies only the parameter and its gradient; the block is freed with the state array.
   */
  function allocLike(p: Storage): Storage | null {
    if (!(p instanceof Float32Array) || !(p.length >= SMALL_ELEMENTWISE || rt.owns(p))) return null;
    // Only shared memory: growing an unshared memory detaches every view made before, which would
    // empty a long-lived array. And at most PERSISTENT_CAP bytes: blocks return only when the JS
    // array is collected by a major GC, so past the cap new arrays stay plain JS arrays.
    if (!rt.shared || rt.persistentBytes() + p.length * 4 > PERSISTENT_CAP) return null;
    return rt.persistent(p.length);
  }

  return {
    allocLike, zero, matmul, linear, linearBackward, convLayer, convLayerBackward, convPoolLayer, convPoolLayerBackward, conv2d, conv2dBackwardInput, conv2dBackwardWeight, binary, unary, sum, max, logSoftmax, adamStep, sgdStep, batchUpdates,
    maxPool2d, scatterPlanes, avgPool2d, avgPool2dBackward,
  };
}
