/**
 * ConvTranspose2d and ConvTranspose1d with PyTorch's layout (weight [in, out/groups, kh, kw]) and
 * default initialisation: the weight U(±1/√fanIn) (kaiming_uniform with a = √5) and the bias
 * U(±1/√fanIn), where fanIn = weight.size(1)·kh·kw = out/groups·kh·kw — PyTorch computes the fan
 * from the weight tensor as it lies, so a transposed convolution's fan counts its output channels.
 */
import type { Tensor, DType } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { pair, type Pair } from '../autograd/conv.js';
import { convTranspose1dLayer, convTransposeLayer, type ConvTranspose2dArgs } from '../autograd/conv-transpose.js';
import { Module, parameter } from './module.js';
import { checkChannels } from './conv.js';
import { checkSequenceInput, intAtLeast } from './conv1d.js';
import { initializers, weightOptionSpecs, type InitName } from './init.js';
import { bool, checkOptions, num, numOrPair, type SchemaOf } from '../util/options.js';

export interface ConvTranspose2dOptions {
  /** The stride of the convolution this layer transposes (default 1): the output is about stride times larger. */
  stride?: Pair;
  /** That convolution's padding (default 0): the output loses `padding` rows and columns on each side. */
  padding?: Pair;
  /**
   * Rows and columns added at the output's bottom and right (PyTorch's output_padding, default 0),
   * each smaller than the stride or the dilation: it picks which of the input sizes that a stride
   * > 1 convolution maps to the same output size this layer gives back.
   */
  outputPadding?: Pair;
  /** Spacing between the kernel's taps (default 1). */
  dilation?: Pair;
  /** Channel groups (default 1): inChannels and outChannels divisible by it; groups = in = out is depthwise. */
  groups?: number;
  bias?: boolean;
  dtype?: DType;
  /** Weight initialiser; default 'torch' (U(±1/√fanIn), fanIn = out/groups·kh·kw). The bias is always U(±1/√fanIn), as PyTorch. */
  init?: InitName;
  rng?: Rng;
}

const schema2d: SchemaOf<ConvTranspose2dOptions> = {
  stride: numOrPair,
  padding: numOrPair,
  outputPadding: numOrPair,
  dilation: numOrPair,
  groups: num,
  bias: bool,
  ...weightOptionSpecs,
};

/** The weight [in, out/groups, ...kernel] and the bias [out] of a transposed convolution, initialised as PyTorch's. */
function makeParams(
  layer: string,
  inChannels: number,
  outChannels: number,
  kernel: readonly number[],
  groups: number,
  opts: { bias?: boolean; dtype?: DType; init?: InitName; rng?: Rng },
): [Tensor, Tensor | null] {
  checkChannels(layer, inChannels, outChannels, groups);
  const rng = opts.rng ?? nextDefaultRng();
  const dtype = opts.dtype ?? 'float32';
  const init = initializers[opts.init ?? 'torch'];
  if (!init) throw new RangeError(`${layer}: unknown init "${opts.init}"; expected one of ${Object.keys(initializers).join(', ')}`);
  const weight = parameter([inChannels, outChannels / groups, ...kernel], dtype, (t) => init(t, rng));
  const b = 1 / Math.sqrt((outChannels / groups) * kernel.reduce((a, k) => a * k, 1));
  const bias =
    opts.bias === false
      ? null
      : parameter([outChannels], dtype, (t) => {
          for (let i = 0; i < t.size; i++) t.data[i] = -b + 2 * b * rng.uniform();
        });
  return [weight, bias];
}

function checkGroups(layer: string, groups: number): number {
  if (!Number.isInteger(groups) || groups < 1)
    throw new RangeError(`${layer} groups: expected an integer ≥ 1, got ${JSON.stringify(groups)}`);
  return groups;
}

/**
 * PyTorch's nn.ConvTranspose2d: x [N, in, H, W] → [N, out, Hout, Wout] with
 * Hout = (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1 (Wout likewise): the
 * gradient of a Conv2d(out, in, kernelSize) with the same stride, padding, dilation and groups
 * with respect to its input, which is how it runs (conv-transpose.ts).
 */
export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: ConvTranspose2dOptions = {},
  ) {
    super();
    checkOptions('ConvTranspose2d', opts, schema2d);
    this.kernelSize = pair(kernelSize, 'ConvTranspose2d kernelSize', 1);
    this.stride = pair(opts.stride ?? 1, 'ConvTranspose2d stride', 1);
    this.padding = pair(opts.padding ?? 0, 'ConvTranspose2d padding', 0);
    this.outputPadding = pair(opts.outputPadding ?? 0, 'ConvTranspose2d outputPadding', 0);
    this.dilation = pair(opts.dilation ?? 1, 'ConvTranspose2d dilation', 1);
    this.groups = checkGroups('ConvTranspose2d', opts.groups ?? 1);
    // PyTorch refuses these at construction; the output size itself depends on the input
    ['height', 'width'].forEach((axis, i) => {
      const [op, s, d] = [this.outputPadding[i], this.stride[i], this.dilation[i]];
      if (op >= s && op >= d)
        throw new RangeError(`ConvTranspose2d: outputPadding ${op} (${axis}) must be smaller than the stride ${s} or the dilation ${d}`);
    });
    const [weight, bias] = makeParams('ConvTranspose2d', inChannels, outChannels, this.kernelSize, this.groups, opts);
    this.weight = this.registerParameter('weight', weight);
    this.bias = bias && this.registerParameter('bias', bias);
  }

  forward(x: Tensor): Tensor {
    return convTransposeLayer(x, this.weight, this.bias, this.convArgs(), this.describe());
  }

  /**
   * PyTorch's forward(input, output_size): the output [N, out, H', W'] of the size asked for, which
   * picks the outputPadding (in place of the layer's own) — the way back to an encoder's size when
   * a stride > 1 convolution mapped several sizes to one. Each of H', W' must lie in
   * [min, min + stride − 1] (PyTorch's range), min being the size with no outputPadding.
   */
  forwardToSize(x: Tensor, outputSize: Pair): Tensor {
    const what = this.describe();
    const size = pair(outputSize, `${what} outputSize`, 1);
    if (x.ndim !== 4) throw new ShapeError(`${what}: expected input [N, C, H, W], got ${fmtShape(x.shape)}`);
    const outputPadding = size.map((want, i) => {
      const least = (x.shape[2 + i] - 1) * this.stride[i] - 2 * this.padding[i] + this.dilation[i] * (this.kernelSize[i] - 1) + 1;
      const most = least + this.stride[i] - 1;
      if (want < least || want > most)
        throw new RangeError(
          `${what}: outputSize ${want} (${i ? 'width' : 'height'}) must lie in [${least}, ${most}] for an input ${i ? 'width' : 'height'} of ${x.shape[2 + i]}`,
        );
      return want - least;
    }) as [number, number];
    return convTransposeLayer(x, this.weight, this.bias, { ...this.convArgs(), outputPadding }, what);
  }

  /** The transposed convolution's arguments, as convTranspose2d takes them. */
  convArgs(): ConvTranspose2dArgs {
    return {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      dilation: this.dilation,
      groups: this.groups,
    };
  }

  override describe(): string {
    const [kh, kw] = this.kernelSize;
    const extra =
      (this.stride.some((s) => s !== 1) ? `, stride ${this.stride.join('×')}` : '') +
      (this.padding.some((p) => p) ? `, padding ${this.padding.join('×')}` : '') +
      (this.outputPadding.some((p) => p) ? `, outputPadding ${this.outputPadding.join('×')}` : '') +
      (this.dilation.some((d) => d !== 1) ? `, dilation ${this.dilation.join('×')}` : '') +
      (this.groups !== 1 ? `, groups ${this.groups}` : '');
    return `ConvTranspose2d(${this.inChannels}→${this.outChannels}, ${kh}×${kw}${extra})`;
  }
}

export interface ConvTranspose1dOptions {
  /** The stride of the convolution this layer transposes (default 1). */
  stride?: number;
  /** That convolution's padding (default 0). */
  padding?: number;
  /** Steps added at the sequence's end (default 0), smaller than the stride or the dilation. */
  outputPadding?: number;
  /** Spacing between the kernel's taps (default 1). */
  dilation?: number;
  /** Channel groups (default 1). */
  groups?: number;
  bias?: boolean;
  dtype?: DType;
  /** Weight initialiser; default 'torch' (U(±1/√fanIn), fanIn = out/groups·k). The bias is always U(±1/√fanIn), as PyTorch. */
  init?: InitName;
  rng?: Rng;
}

const schema1d: SchemaOf<ConvTranspose1dOptions> = {
  stride: num,
  padding: num,
  outputPadding: num,
  dilation: num,
  groups: num,
  bias: bool,
  ...weightOptionSpecs,
};

/**
 * PyTorch's nn.ConvTranspose1d: x [N, in, L] → [N, out, (L − 1)·stride − 2·padding +
 * dilation·(k − 1) + outputPadding + 1], the 2-D layer on a single row.
 */
export class ConvTranspose1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly outputPadding: number;
  readonly dilation: number;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number,
    opts: ConvTranspose1dOptions = {},
  ) {
    super();
    checkOptions('ConvTranspose1d', opts, schema1d);
    this.kernelSize = intAtLeast(kernelSize, 'ConvTranspose1d kernelSize', 1);
    this.stride = intAtLeast(opts.stride ?? 1, 'ConvTranspose1d stride', 1);
    this.padding = intAtLeast(opts.padding ?? 0, 'ConvTranspose1d padding', 0);
    this.outputPadding = intAtLeast(opts.outputPadding ?? 0, 'ConvTranspose1d outputPadding', 0);
    this.dilation = intAtLeast(opts.dilation ?? 1, 'ConvTranspose1d dilation', 1);
    this.groups = checkGroups('ConvTranspose1d', opts.groups ?? 1);
    if (this.outputPadding >= this.stride && this.outputPadding >= this.dilation)
      throw new RangeError(
        `ConvTranspose1d: outputPadding ${this.outputPadding} must be smaller than the stride ${this.stride} or the dilation ${this.dilation}`,
      );
    const [weight, bias] = makeParams('ConvTranspose1d', inChannels, outChannels, [this.kernelSize], this.groups, opts);
    this.weight = this.registerParameter('weight', weight);
    this.bias = bias && this.registerParameter('bias', bias);
  }

  forward(x: Tensor): Tensor {
    const what = this.describe();
    checkSequenceInput(x, this.inChannels, what);
    const { stride, padding, outputPadding, dilation, groups } = this;
    return convTranspose1dLayer(x, this.weight, this.bias, { stride, padding, outputPadding, dilation, groups }, what);
  }

  override describe(): string {
    const extra =
      (this.stride !== 1 ? `, stride ${this.stride}` : '') +
      (this.padding ? `, padding ${this.padding}` : '') +
      (this.outputPadding ? `, outputPadding ${this.outputPadding}` : '') +
      (this.dilation !== 1 ? `, dilation ${this.dilation}` : '') +
      (this.groups !== 1 ? `, groups ${this.groups}` : '');
    return `ConvTranspose1d(${this.inChannels}→${this.outChannels}, ${this.kernelSize}${extra})`;
  }
}
