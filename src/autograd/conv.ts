/**
 * Differentiable convolution and pooling.
 *
 * Convolution is bilinear in (x, w), so its two backward products are themselves bilinear ops; the
 * three — conv2d, its input gradient and its weight gradient — are each other's derivatives:
 *
 *   y   = conv(x, w)        ∂/∂x ← convBackInput(gy, w)     ∂/∂w ← convBackWeight(x, gy)
 *   gx  = backInput(gy, w)  ∂/∂gy ← conv(ggx, w)            ∂/∂w ← convBackWeight(ggx, gy)
 *   gw  = backWeight(x, gy) ∂/∂x ← convBackInput(gy, ggw)   ∂/∂gy ← conv(x, ggw)
 *
 * so the gradient of a gradient works without a separate rule. Pooling reduces to two linear maps:
 * max pooling (and fractional max pooling) is a gather at the arg-max positions, whose adjoint is a
 * scatter-add; average pooling and its adjoint are each other's transpose.
 */
import { bool, checkOptions, num, numOrPair, type SchemaOf } from '../util/options.js';
import { Tensor, allocStorage, type IndexStorage, type Storage } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { kernelsFor, type Conv2dGeometry, type Kernels, type PoolGeometry } from '../backend/index.js';
import { record, isGradEnabled, type BackwardContext } from './engine.js';
import { reluGrad, sum } from './ops.js';

export type Pair = number | readonly [number, number];

export function pair(v: Pair, what: string, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < min)) {
    throw new RangeError(`${what}: expected an integer ≥ ${min} (or a pair of them), got ${JSON.stringify(v)}`);
  }
  return p;
}

/**
 * floor((size + 2·pad − dilation·(kernel − 1) − 1) / stride) + 1 (PyTorch's), or an error naming
 * the layer when the (dilated) window does not fit.
 */
export function outSize(size: number, kernel: number, stride: number, pad: number, what: string, axis: string, dilation = 1): number {
  const span = dilation * (kernel - 1) + 1;
  const o = Math.floor((size + 2 * pad - span) / stride) + 1;
  if (o < 1) {
    const dilated = dilation === 1 ? '' : ` dilated by ${dilation} (spanning ${span})`;
    throw new ShapeError(`${what}: input ${axis} ${size} (padding ${pad}) is smaller than the kernel ${kernel}${dilated}`);
  }
  return o;
}

function checkDtype(a: Tensor, b: Tensor, what: string): void {
  if (a.dtype !== b.dtype) throw new TypeError(`${what}: dtype mismatch (${a.dtype} vs ${b.dtype})`);
}

function convValue(x: Tensor, w: Tensor, g: Conv2dGeometry): Tensor {
  const k = kernelsFor(w.storage, x.storage);
  const out = k.alloc(x.dtype, g.n * g.k * g.oh * g.ow);
  k.backend.conv2d(k.on(x.storage), k.on(w.storage), out, g);
  return new Tensor(out, [g.n, g.k, g.oh, g.ow]);
}

function convOp(x: Tensor, w: Tensor, g: Conv2dGeometry): Tensor {
  return record('conv2d', [x, w], convValue(x, w, g), (gy) => [
    x.requiresGrad ? convBackInputOp(gy, w, g) : null,
    w.requiresGrad ? convBackWeightOp(x, gy, g) : null,
  ]);
}

/**
 * The input gradient of a convolution as a differentiable op: gy [N, K, oh, ow] and w [K, C/groups,
 * kh, kw] give [N, C, h, w]. It is also the transposed convolution's forward (conv-transpose.ts).
 */
export function convBackInputOp(gy: Tensor, w: Tensor, g: Conv2dGeometry): Tensor {
  const k = kernelsFor(w.storage, gy.storage);
  const out = k.alloc(gy.dtype, g.n * g.c * g.h * g.w);
  k.backend.conv2dBackwardInput(k.on(gy.storage), k.on(w.storage), out, g);
  return record('conv2dBackInput', [gy, w], new Tensor(out, [g.n, g.c, g.h, g.w]), (ggx) => [
    gy.requiresGrad ? convOp(ggx, w, g) : null,
    w.requiresGrad ? convBackWeightOp(ggx, gy, g) : null,
  ]);
}

function convBackWeightOp(x: Tensor, gy: Tensor, g: Conv2dGeometry): Tensor {
  const k = kernelsFor(gy.storage, x.storage);
  const cg = g.c / g.groups;
  const out = k.alloc(x.dtype, g.k * cg * g.kh * g.kw);
  k.backend.conv2dBackwardWeight(k.on(x.storage), k.on(gy.storage), out, g);
  return record('conv2dBackWeight', [x, gy], new Tensor(out, [g.k, cg, g.kh, g.kw]), (ggw) => [
    x.requiresGrad ? convBackInputOp(gy, ggw, g) : null,
    gy.requiresGrad ? convOp(x, ggw, g) : null,
  ]);
}

export interface Conv2dArgs {
  stride?: Pair;
  padding?: Pair;
  /** Spacing between the filter's taps (PyTorch's dilation, default 1). */
  dilation?: Pair;
  /** Channel groups (PyTorch's groups, default 1): C and K divisible by it, the weight [K, C/groups, kh, kw]. */
  groups?: number;
}
const convArgsSchema: SchemaOf<Conv2dArgs> = { stride: numOrPair, padding: numOrPair, dilation: numOrPair, groups: num };

/**
 * The geometry of a convolution of x [N, C, H, W] with w [K, C/groups, kh, kw] (PyTorch's layout);
 * `what` names the layer in errors.
 */
export function conv2dGeometry(
  xShape: readonly number[],
  wShape: readonly number[],
  opts: Conv2dArgs = {},
  what = 'conv2d',
): Conv2dGeometry {
  if (xShape.length !== 4) throw new ShapeError(`${what}: expected input [N, C, H, W], got ${fmtShape(xShape)}`);
  if (wShape.length !== 4) throw new ShapeError(`${what}: expected weight [K, C/groups, kh, kw], got ${fmtShape(wShape)}`);
  const [n, c, h, w] = xShape;
  const [k, wc, kh, kw] = wShape;
  const [strideH, strideW] = pair(opts.stride ?? 1, `${what} stride`, 1);
  const [padH, padW] = pair(opts.padding ?? 0, `${what} padding`, 0);
  const [dilationH, dilationW] = pair(opts.dilation ?? 1, `${what} dilation`, 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1)
    throw new RangeError(`${what} groups: expected an integer ≥ 1, got ${JSON.stringify(groups)}`);
  if (k % groups !== 0)
    throw new ShapeError(`${what}: ${k} output channels (weight ${fmtShape(wShape)}) are not divisible by groups ${groups}`);
  if (c % groups !== 0)
    throw new ShapeError(`${what}: input has ${c} channels, not divisible by groups ${groups} (input ${fmtShape(xShape)})`);
  if (wc * groups !== c) {
    const per = groups === 1 ? '' : ` (${wc} per group × groups ${groups})`;
    throw new ShapeError(
      `${what}: input has ${c} channels, weight expects ${wc * groups}${per} (input ${fmtShape(xShape)}, weight ${fmtShape(wShape)})`,
    );
  }
  const oh = outSize(h, kh, strideH, padH, what, 'height', dilationH);
  const ow = outSize(w, kw, strideW, padW, what, 'width', dilationW);
  return { n, c, h, w, k, kh, kw, oh, ow, strideH, strideW, padH, padW, dilationH, dilationW, groups };
}

/**
 * PyTorch's F.conv2d: cross-correlation of x [N, C, H, W] with w [K, C/groups, kh, kw], plus bias
 * [K]; with groups, output channel o sees only the input channels of its group ⌊o·groups / K⌋.
 */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv2dArgs = {}): Tensor {
  checkOptions('conv2d', opts, convArgsSchema);
  return convLayer(x, w, bias, opts, null);
}

/**
 * A convolution layer in one op: conv2d(x, w) + bias, then `activation` — Keras' Conv2D with
 * activation='relu', PyTorch's Conv2d followed by a ReLU (the Conv2dReLU module; `what` names it in errors).
 * The values are those of the composition; on a backend with the fused kernels the bias and the
 * ReLU are applied to each image's output while it is in cache, and the backward masks, sums and
 * multiplies one copy of the gradient. Under createGraph the backward is the composition of
 * differentiable ops, so gradients of gradients are unchanged.
 */
export function convLayer(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: Conv2dArgs = {},
  activation: 'relu' | null = null,
  what = 'conv2d',
): Tensor {
  checkDtype(x, w, what);
  const g = conv2dGeometry(x.shape, w.shape, opts, what);
  if (!b && !activation) return convOp(x, w, g);
  if (b && (b.ndim !== 1 || b.shape[0] !== g.k)) throw new ShapeError(`${what}: bias must be [${g.k}], got ${fmtShape(b.shape)}`);
  if (b) checkDtype(x, b, what);
  const relu = activation === 'relu';
  const kn = kernelsFor(w.storage, x.storage, b?.storage);
  const out = kn.alloc(x.dtype, g.n * g.k * g.oh * g.ow);
  const shape = [g.n, g.k, g.oh, g.ow];
  const be = kn.backend;
  const xs = kn.on(x.storage),
    ws = kn.on(w.storage),
    bs = b ? kn.on(b.storage) : null;
  if (!kn.ext.convLayer?.(xs, ws, bs, out, g, relu)) {
    be.conv2d(xs, ws, out, g);
    if (bs) be.binary('add', out, shape, bs, [1, g.k, 1, 1], out, shape);
    if (relu) be.unary('relu', out, out);
  }
  const y = new Tensor(out, shape);
  return record('convLayer', b ? [x, w, b] : [x, w], y, (gy, ctx) => {
    const fused = kn.ext.convLayerBackward;
    return layerGrads(
      kn,
      x,
      w,
      b,
      g,
      ctx,
      fused && ((gx, gw, gb, acc) => fused(kn.on(gy.storage), xs, ws, relu ? out : null, gx, gw, gb, g, acc)),
      () => (relu ? reluGrad(gy, y) : gy),
    );
  });
}

/**
 * The gradients of a fused convolution layer: from the backend's fused kernel (`fused` gets the
 * destinations, gw being the weight's .grad buffer when backward() lets ops add into it directly,
 * and says whether it ran), else — and always while recording a graph — from the differentiable
 * ops on the layer's output gradient `gz()`.
 */
function layerGrads(
  kn: Kernels,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  g: Conv2dGeometry,
  ctx: BackwardContext,
  fused: ((gx: Storage | null, gw: Storage | null, gb: Storage | null, accumulateGw: boolean) => boolean) | undefined,
  gz: () => Tensor,
): (Tensor | null)[] {
  const wantX = x.requiresGrad,
    wantW = w.requiresGrad,
    wantB = !!b && b.requiresGrad;
  if (fused && !isGradEnabled()) {
    const into = wantW ? ctx.leafGradTarget(w) : null;
    const gx = wantX ? kn.alloc(x.dtype, x.size) : null,
      gw = into ?? (wantW ? kn.alloc(x.dtype, w.size) : null);
    const gb = wantB ? kn.alloc(x.dtype, g.k) : null;
    if (fused(gx, gw, gb, into !== null)) {
      return [gx && new Tensor(gx, x.shape), gw && !into ? new Tensor(gw, w.shape) : null, gb && new Tensor(gb, [g.k])];
    }
  }
  const z = gz();
  return [wantX ? convBackInputOp(z, w, g) : null, wantW ? convBackWeightOp(x, z, g) : null, wantB ? sum(z, [0, 2, 3]) : null];
}

/**
 * A convolution layer followed by max pooling in one op: maxPool2d(convLayer(x, w, b, opts,
 * activation), poolKernel, poolOpts) — the Conv2dReLUMaxPool module. On a
 * backend with the fused kernels each image's activation is pooled while it is in cache and is
 * never stored; the backward rebuilds it from the pooled gradient: scattered to the arg-max
 * positions and, with the ReLU, kept where the pooled value is positive (there the activation
 * equals it). Without the kernels, and for gradients of gradients, it is that composition.
 */
export function convPoolLayer(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts: Conv2dArgs,
  activation: 'relu' | null,
  poolKernel: Pair,
  poolOpts: Pool2dArgs = {},
  what: { conv: string; pool: string } = { conv: 'conv2d', pool: 'maxPool2d' },
): Tensor {
  const composed = () => maxPool2d(convLayer(x, w, b, opts, activation, what.conv), poolKernel, poolOpts, what.pool);
  const kn = kernelsFor(w.storage, x.storage, b?.storage);
  const fusedForward = kn.ext.convPoolLayer;
  if (!fusedForward) return composed();
  checkDtype(x, w, what.conv);
  const g = conv2dGeometry(x.shape, w.shape, opts, what.conv);
  if (b && (b.ndim !== 1 || b.shape[0] !== g.k)) throw new ShapeError(`${what.conv}: bias must be [${g.k}], got ${fmtShape(b.shape)}`);
  if (b) checkDtype(x, b, what.conv);
  const yShape = [g.n, g.k, g.oh, g.ow];
  const pg = poolGeometry(yShape, poolKernel, poolOpts, what.pool);
  const relu = activation === 'relu';
  const idx = kn.allocIndex(g.n * g.k * pg.oh * pg.ow);
  const out = kn.alloc(x.dtype, idx.length);
  const xs = kn.on(x.storage),
    ws = kn.on(w.storage);
  if (!fusedForward(xs, ws, b ? kn.on(b.storage) : null, out, idx, g, pg, relu)) return composed();
  const p = new Tensor(out, [g.n, g.k, pg.oh, pg.ow]);
  return record('convPoolLayer', b ? [x, w, b] : [x, w], p, (gp, ctx) => {
    const fused = kn.ext.convPoolLayerBackward;
    return layerGrads(
      kn,
      x,
      w,
      b,
      g,
      ctx,
      fused && ((gx, gw, gb, acc) => fused(kn.on(gp.storage), out, idx, xs, ws, gx, gw, gb, g, pg, relu, acc)),
      () => scatterPlanes(relu ? reluGrad(gp, p) : gp, idx, yShape),
    );
  });
}

// ---------------------------------------------------------------- gather / scatter (max pooling)

/**
 * out[n, c, p] = x[n, c, idx[(n·C + c)·P + p]]: a gather inside each [H, W] plane; `idx` holds
 * offsets within the plane. Its adjoint is scatterPlanes, so both are differentiable to any order.
 */
export function gatherPlanes(x: Tensor, idx: IndexStorage, outShape: readonly number[]): Tensor {
  if (isDeviceStorage(idx))
    throw new Error(`gatherPlanes (a gradient of a max pooling's gradient) runs on the host; the indices live on ${idx.device}`);
  const planes = x.shape[0] * x.shape[1];
  const inPlane = x.shape[2] * x.shape[3];
  const outPlane = outShape[2] * outShape[3];
  const out = allocStorage(x.dtype, planes * outPlane);
  const d = x.data;
  for (let pl = 0; pl < planes; pl++) {
    const ib = pl * inPlane,
      ob = pl * outPlane;
    for (let p = 0; p < outPlane; p++) out[ob + p] = d[ib + idx[ob + p]];
  }
  return record('gatherPlanes', [x], new Tensor(out, outShape), (g) => [scatterPlanes(g, idx, x.shape)]);
}

/**
 * The adjoint of gatherPlanes: adds g[n, c, p] into position idx[…] of an [N, C, H, W] zero tensor
 * (the backend's scatterPlanes kernel: max pooling's and fractional max pooling's backward).
 */
export function scatterPlanes(g: Tensor, idx: IndexStorage, inShape: readonly number[]): Tensor {
  const planes = inShape[0] * inShape[1];
  const inPlane = inShape[2] * inShape[3];
  const outPlane = g.shape[2] * g.shape[3];
  const k = kernelsFor(g.storage, idx);
  const out = k.alloc(g.dtype, planes * inPlane);
  k.backend.scatterPlanes(k.on(g.storage), k.onIndex(idx), out, planes, inPlane, outPlane);
  return record('scatterPlanes', [g], new Tensor(out, inShape), (gg) => [gatherPlanes(gg, idx, g.shape)]);
}

// ---------------------------------------------------------------- pooling

export interface Pool2dArgs {
  /** Default: the kernel size (PyTorch's default). */
  stride?: Pair;
  /** Implicit padding on both sides; at most half the kernel (PyTorch's rule). */
  padding?: Pair;
  /**
   * Round the output size up instead of down (PyTorch's ceil_mode, default false): a last window
   * may hang over the input's far edge (it covers what is inside), but never starts in the padding.
   */
  ceilMode?: boolean;
}

const poolArgsSchema: SchemaOf<Pool2dArgs> = { stride: numOrPair, padding: numOrPair, ceilMode: bool };

/** PyTorch's pooling output size: floor or, with ceilMode, ceil of (size + 2·pad − kernel)/stride + 1, less a last window that would start in the padding. */
function poolOutSize(size: number, kernel: number, stride: number, pad: number, ceilMode: boolean, what: string, axis: string): number {
  if (!ceilMode) return outSize(size, kernel, stride, pad, what, axis);
  let o = Math.ceil((size + 2 * pad - kernel) / stride) + 1;
  if ((o - 1) * stride >= size + pad) o--;
  if (o < 1) throw new ShapeError(`${what}: input ${axis} ${size} (padding ${pad}) is smaller than the kernel ${kernel}`);
  return o;
}

export function poolGeometry(xShape: readonly number[], kernel: Pair, opts: Pool2dArgs, what: string): PoolGeometry {
  if (xShape.length !== 4) throw new ShapeError(`${what}: expected input [N, C, H, W], got ${fmtShape(xShape)}`);
  const [n, c, h, w] = xShape;
  const [kh, kw] = pair(kernel, `${what} kernelSize`, 1);
  const [strideH, strideW] = pair(opts.stride ?? [kh, kw], `${what} stride`, 1);
  const [padH, padW] = pair(opts.padding ?? 0, `${what} padding`, 0);
  if (2 * padH > kh || 2 * padW > kw)
    throw new RangeError(`${what}: padding [${padH}, ${padW}] must be at most half the kernel [${kh}, ${kw}]`);
  const oh = poolOutSize(h, kh, strideH, padH, opts.ceilMode === true, what, 'height');
  const ow = poolOutSize(w, kw, strideW, padW, opts.ceilMode === true, what, 'width');
  return { n, c, h, w, kh, kw, oh, ow, strideH, strideW, padH, padW };
}

/** PyTorch's F.max_pool2d (padding counts as −∞; ties go to the first maximum in row-major order); `what` names it in errors. */
export function maxPool2d(x: Tensor, kernel: Pair, opts: Pool2dArgs = {}, what = 'maxPool2d'): Tensor {
  checkOptions(what, opts, poolArgsSchema);
  const g = poolGeometry(x.shape, kernel, opts, what);
  const k = kernelsFor(x.storage);
  const idx = k.allocIndex(g.n * g.c * g.oh * g.ow);
  const out = k.alloc(x.dtype, idx.length);
  // One kernel gives the maxima and their positions; the result is then the gather at `idx`, so
  // its backward (and every higher one) is the scatter/gather pair.
  k.backend.maxPool2d(x.storage, out, idx, g);
  return record('maxPool2d', [x], new Tensor(out, [g.n, g.c, g.oh, g.ow]), (gy) => [scatterPlanes(gy, idx, x.shape)]);
}

export interface AvgPool2dArgs extends Pool2dArgs {
  /** Divide by the full window even where it hangs over the padding (PyTorch's default, true). */
  countIncludePad?: boolean;
}

function avgForward(x: Tensor, g: PoolGeometry, inclPad: boolean): Tensor {
  const k = kernelsFor(x.storage);
  const out = k.alloc(x.dtype, g.n * g.c * g.oh * g.ow);
  k.backend.avgPool2d(x.storage, out, g, inclPad);
  return record('avgPool2d', [x], new Tensor(out, [g.n, g.c, g.oh, g.ow]), (gy) => [avgAdjoint(gy, g, inclPad)]);
}

function avgAdjoint(gy: Tensor, g: PoolGeometry, inclPad: boolean): Tensor {
  const k = kernelsFor(gy.storage);
  const out = k.alloc(gy.dtype, g.n * g.c * g.h * g.w);
  k.backend.avgPool2dBackward(gy.storage, out, g, inclPad);
  return record('avgPool2dBackward', [gy], new Tensor(out, [g.n, g.c, g.h, g.w]), (gg) => [avgForward(gg, g, inclPad)]);
}

/** PyTorch's F.avg_pool2d (no divisor_override); `what` names it in errors. */
export function avgPool2d(x: Tensor, kernel: Pair, opts: AvgPool2dArgs = {}, what = 'avgPool2d'): Tensor {
  checkOptions(what, opts, { ...poolArgsSchema, countIncludePad: bool });
  const g = poolGeometry(x.shape, kernel, opts, what);
  return avgForward(x, g, opts.countIncludePad ?? true);
}
