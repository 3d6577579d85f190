/**
 * Transposed convolution (PyTorch's F.conv_transpose2d): the adjoint of conv2d with respect to its
 * input. For a convolution C with weight w, stride s, padding p, dilation d and groups, mapping an
 * [N, Cout, Hout, Wout] image to [N, Cin, H, W], the transposed convolution of x [N, Cin, H, W] is
 * Cᵀx — exactly what conv2d's input gradient computes from an output gradient. So
 *
 *   y  = convBackInput(x, w)   ∂/∂x ← conv(gy, w)     ∂/∂w ← convBackWeight(gy, x)
 *
 * with the convolution's roles swapped (its "input" is y, its "output" is x), and the backend's
 * three convolution kernels (reference, wasm, WebGPU) run it forward and backward, to any order,
 * with no kernel of its own. The weight [Cin, Cout/groups, kh, kw] (PyTorch's layout for a
 * transposed convolution) is the convolution's [K, C/groups, kh, kw] as it stands.
 *
 * Hout = (H − 1)·s − 2p + d·(kh − 1) + outputPadding + 1. Several Hout convolve down to the same H;
 * outputPadding (< s or < d, PyTorch's rule) picks one, and the rows it adds at the far edge take
 * only the taps that reach them.
 */
import type { Tensor } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import type { Conv2dGeometry } from '../backend/index.js';
import { checkOptions, num, numOrPair, type SchemaOf } from '../util/options.js';
import { convBackInputOp, pair, type Pair } from './conv.js';
import { add, reshape } from './ops.js';

export interface ConvTranspose2dArgs {
  /** The stride of the convolution this one transposes (default 1): the output grows by it. */
  stride?: Pair;
  /** That convolution's zero padding (default 0): dilation·(k − 1) − padding zeros border the input. */
  padding?: Pair;
  /** Rows/columns added at the output's far edge (default 0), each < stride or < dilation. */
  outputPadding?: Pair;
  /** Spacing between the kernel's taps (default 1). */
  dilation?: Pair;
  /** Channel groups (default 1): Cin divisible by it, the weight [Cin, Cout/groups, kh, kw]. */
  groups?: number;
}

const argsSchema: SchemaOf<ConvTranspose2dArgs> = {
  stride: numOrPair,
  padding: numOrPair,
  outputPadding: numOrPair,
  dilation: numOrPair,
  groups: num,
};

/** (size − 1)·stride − 2·pad + dilation·(kernel − 1) + outputPadding + 1, checked as PyTorch checks it. */
export function transposedOutSize(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  outputPadding: number,
  dilation: number,
  what: string,
  axis: string,
): number {
  if (outputPadding >= stride && outputPadding >= dilation)
    throw new RangeError(
      `${what}: outputPadding ${outputPadding} (${axis}) must be smaller than the stride ${stride} or the dilation ${dilation}`,
    );
  const o = (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + outputPadding + 1;
  if (o < 1)
    throw new ShapeError(
      `${what}: output ${axis} (${size} − 1)·${stride} − 2·${pad} + ${dilation}·(${kernel} − 1) + ${outputPadding} + 1 = ${o}, expected ≥ 1 (the padding ${pad} is too large)`,
    );
  return o;
}

/**
 * The geometry of the convolution whose input gradient is the transposed convolution of x
 * [N, Cin, H, W] with w [Cin, Cout/groups, kh, kw]: that convolution maps [N, Cout, Hout, Wout]
 * (its c, h, w) to [N, Cin, H, W] (its k, oh, ow). `what` names the layer in errors.
 */
export function convTranspose2dGeometry(
  xShape: readonly number[],
  wShape: readonly number[],
  opts: ConvTranspose2dArgs = {},
  what = 'convTranspose2d',
): Conv2dGeometry {
  if (xShape.length !== 4) throw new ShapeError(`${what}: expected input [N, C, H, W], got ${fmtShape(xShape)}`);
  if (wShape.length !== 4) throw new ShapeError(`${what}: expected weight [Cin, Cout/groups, kh, kw], got ${fmtShape(wShape)}`);
  const [n, cin, h, w] = xShape;
  const [wc, cg, kh, kw] = wShape;
  const [strideH, strideW] = pair(opts.stride ?? 1, `${what} stride`, 1);
  const [padH, padW] = pair(opts.padding ?? 0, `${what} padding`, 0);
  const [opH, opW] = pair(opts.outputPadding ?? 0, `${what} outputPadding`, 0);
  const [dilationH, dilationW] = pair(opts.dilation ?? 1, `${what} dilation`, 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1)
    throw new RangeError(`${what} groups: expected an integer ≥ 1, got ${JSON.stringify(groups)}`);
  if (wc !== cin)
    throw new ShapeError(
      `${what}: input has ${cin} channels, weight expects ${wc} (input ${fmtShape(xShape)}, weight ${fmtShape(wShape)} is [Cin, Cout/groups, kh, kw])`,
    );
  if (cin % groups !== 0)
    throw new ShapeError(`${what}: input has ${cin} channels, not divisible by groups ${groups} (input ${fmtShape(xShape)})`);
  const oh = transposedOutSize(h, kh, strideH, padH, opH, dilationH, what, 'height');
  const ow = transposedOutSize(w, kw, strideW, padW, opW, dilationW, what, 'width');
  return {
    n,
    c: cg * groups,
    h: oh,
    w: ow,
    k: cin,
    kh,
    kw,
    oh: h,
    ow: w,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups,
  };
}

/**
 * x [N, Cin, H, W] ⊛ᵀ w [Cin, Cout/groups, kh, kw] + bias [Cout] → [N, Cout, Hout, Wout], without
 * checking the option names (the layers pass their own); `what` names the caller in errors.
 */
export function convTransposeLayer(x: Tensor, w: Tensor, b: Tensor | null, opts: ConvTranspose2dArgs, what = 'convTranspose2d'): Tensor {
  if (x.dtype !== w.dtype || (b && b.dtype !== x.dtype))
    throw new TypeError(`${what}: dtype mismatch (input ${x.dtype}, weight ${w.dtype}${b ? `, bias ${b.dtype}` : ''})`);
  const g = convTranspose2dGeometry(x.shape, w.shape, opts, what);
  if (b && (b.ndim !== 1 || b.shape[0] !== g.c)) throw new ShapeError(`${what}: bias must be [${g.c}], got ${fmtShape(b.shape)}`);
  const y = convBackInputOp(x, w, g);
  return b ? add(y, reshape(b, [1, g.c, 1, 1])) : y;
}

/** PyTorch's F.conv_transpose2d(x, w, bias, stride, padding, output_padding, groups, dilation). */
export function convTranspose2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvTranspose2dArgs = {}): Tensor {
  checkOptions('convTranspose2d', opts, argsSchema);
  return convTransposeLayer(x, w, bias, opts);
}

export interface ConvTranspose1dArgs {
  stride?: number;
  padding?: number;
  outputPadding?: number;
  dilation?: number;
  groups?: number;
}

const args1dSchema: SchemaOf<ConvTranspose1dArgs> = { stride: num, padding: num, outputPadding: num, dilation: num, groups: num };

/**
 * The 1-D transposed convolution on x [N, Cin, L] with w [Cin, Cout/groups, k], without checking
 * the option names: the 2-D one on a single row ([N, Cin, 1, L], weight [Cin, Cout/groups, 1, k],
 * views of the same storage), so every backend runs it.
 */
export function convTranspose1dLayer(x: Tensor, w: Tensor, b: Tensor | null, opts: ConvTranspose1dArgs, what = 'convTranspose1d'): Tensor {
  if (x.ndim !== 3) throw new ShapeError(`${what}: expected input [N, C, L] (batch, channels, length), got ${fmtShape(x.shape)}`);
  if (w.ndim !== 3) throw new ShapeError(`${what}: expected weight [Cin, Cout/groups, k], got ${fmtShape(w.shape)}`);
  const [n, c, l] = x.shape;
  const [stride, padding, outputPadding, dilation] = (['stride', 'padding', 'outputPadding', 'dilation'] as const).map((k) => {
    const v = opts[k] ?? (k === 'stride' || k === 'dilation' ? 1 : 0);
    const min = k === 'stride' || k === 'dilation' ? 1 : 0;
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${what} ${k}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v;
  });
  // the length's own check first, so its errors name the length rather than the 2-D view's width
  transposedOutSize(l, w.shape[2], stride, padding, outputPadding, dilation, what, 'length');
  const y = convTransposeLayer(
    reshape(x, [n, c, 1, l]),
    reshape(w, [w.shape[0], w.shape[1], 1, w.shape[2]]),
    b,
    { stride: [1, stride], padding: [0, padding], outputPadding: [0, outputPadding], dilation: [1, dilation], groups: opts.groups },
    what,
  );
  return reshape(y, [n, y.shape[1], y.shape[3]]);
}

/** PyTorch's F.conv_transpose1d(x, w, bias, stride, padding, output_padding, groups, dilation). */
export function convTranspose1d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvTranspose1dArgs = {}): Tensor {
  checkOptions('convTranspose1d', opts, args1dSchema);
  return convTranspose1dLayer(x, w, bias, opts);
}
