/** Conv2d with PyTorch's layout ([out, in/groups, kh, kw]) and default initialisation. */
import type { Tensor, DType } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { convLayer, pair, type Conv2dArgs, type Pair } from '../autograd/conv.js';
import { Module, parameter } from './module.js';
import { initializers, weightOptionSpecs, type InitName } from './init.js';
import { bool, checkOptions, num, numOrPair, type SchemaOf } from '../util/options.js';

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  /** Spacing between the kernel's taps (PyTorch's dilation, default 1): the window spans dilation·(kernel − 1) + 1 pixels. */
  dilation?: Pair;
  /**
   * Channel groups (PyTorch's groups, default 1): inChannels and outChannels must be divisible by
   * it; each output channel sees the inChannels/groups input channels of its group (groups =
   * inChannels = outChannels: a depthwise convolution).
   */
  groups?: number;
  bias?: boolean;
  dtype?: DType;
  /** Weight initialiser; default 'torch' (U(±1/√fanIn), fanIn = in/groups·kh·kw). The bias is always U(±1/√fanIn), as PyTorch. */
  init?: InitName;
  rng?: Rng;
}

const conv2dSchema: SchemaOf<Conv2dOptions> = {
  stride: numOrPair,
  padding: numOrPair,
  dilation: numOrPair,
  groups: num,
  bias: bool,
  ...weightOptionSpecs,
};

/** A convolution's channel counts: positive integers, each divisible by `groups`. */
export function checkChannels(layer: string, inChannels: number, outChannels: number, groups: number): void {
  const counts = [
    ['inChannels', inChannels],
    ['outChannels', outChannels],
  ] as const;
  for (const [k, v] of counts)
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${layer}: ${k} must be a positive integer, got ${v}`);
  for (const [k, v] of counts) if (v % groups !== 0) throw new RangeError(`${layer}: ${k} ${v} is not divisible by groups ${groups}`);
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: Conv2dOptions = {},
  ) {
    super();
    checkOptions('Conv2d', opts, conv2dSchema);
    this.kernelSize = pair(kernelSize, 'Conv2d kernelSize', 1);
    this.stride = pair(opts.stride ?? 1, 'Conv2d stride', 1);
    this.padding = pair(opts.padding ?? 0, 'Conv2d padding', 0);
    this.dilation = pair(opts.dilation ?? 1, 'Conv2d dilation', 1);
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1)
      throw new RangeError(`Conv2d groups: expected an integer ≥ 1, got ${JSON.stringify(groups)}`);
    checkChannels('Conv2d', inChannels, outChannels, groups);
    this.groups = groups;
    const rng = opts.rng ?? nextDefaultRng();
    const dtype = opts.dtype ?? 'float32';
    const init = initializers[opts.init ?? 'torch'];
    if (!init) throw new RangeError(`Conv2d: unknown init "${opts.init}"; expected one of ${Object.keys(initializers).join(', ')}`);
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter(
      'weight',
      parameter([outChannels, inChannels / groups, kh, kw], dtype, (t) => init(t, rng)),
    );
    const b = 1 / Math.sqrt((inChannels / groups) * kh * kw);
    this.bias =
      opts.bias === false
        ? null
        : this.registerParameter(
            'bias',
            parameter([outChannels], dtype, (t) => {
              for (let i = 0; i < t.size; i++) t.data[i] = -b + 2 * b * rng.uniform();
            }),
          );
  }

  forward(x: Tensor): Tensor {
    return convLayer(x, this.weight, this.bias, this.convArgs(), null, this.describe());
  }

  /** The convolution's arguments (stride, padding, dilation, groups), as convLayer takes them. */
  convArgs(): Conv2dArgs {
    return { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
  }

  override describe(): string {
    const [kh, kw] = this.kernelSize;
    const extra =
      (this.stride.some((s) => s !== 1) ? `, stride ${this.stride.join('×')}` : '') +
      (this.padding.some((p) => p) ? `, padding ${this.padding.join('×')}` : '') +
      (this.dilation.some((d) => d !== 1) ? `, dilation ${this.dilation.join('×')}` : '') +
      (this.groups !== 1 ? `, groups ${this.groups}` : '');
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${kh}×${kw}${extra})`;
  }
}
