/**
 * Conv1d with PyTorch's layout (weight [out, in/groups, k]) and default initialisation.
 *
 * A 1-D convolution is the 2-D one on a single row: x [N, C, L] is viewed as [N, C, 1, L] and the
 * weight as [out, in/groups, 1, k] (reshape is a view of the same storage), so it runs on the
 * convolution kernels of every backend (reference, wasm, WebGPU), forward and backward, and its
 * gradients of gradients are conv2d's.
 */
import type { Tensor, DType } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { convLayer, outSize } from '../autograd/conv.js';
import { reshape } from '../autograd/ops.js';
import { Module, parameter } from './module.js';
import { checkChannels } from './conv.js';
import { initializers, weightOptionSpecs, type InitName } from './init.js';
import { bool, checkOptions, num, type SchemaOf } from '../util/options.js';

export interface Conv1dOptions {
  /** Step between windows (default 1). */
  stride?: number;
  /** Zeros added at both ends of the sequence (default 0). */
  padding?: number;
  /** Spacing between the kernel's taps (default 1): the window spans dilation·(kernel − 1) + 1 steps. */
  dilation?: number;
  /** Channel groups (default 1): inChannels and outChannels divisible by it; groups = inChannels = outChannels is depthwise. */
  groups?: number;
  bias?: boolean;
  dtype?: DType;
  /** Weight initialiser; default 'torch' (U(±1/√fanIn), fanIn = in/groups·k). The bias is always U(±1/√fanIn), as PyTorch. */
  init?: InitName;
  rng?: Rng;
}

const conv1dSchema: SchemaOf<Conv1dOptions> = {
  stride: num,
  padding: num,
  dilation: num,
  groups: num,
  bias: bool,
  ...weightOptionSpecs,
};

/** `v` checked to be an integer ≥ min; a RangeError naming `what` otherwise. */
export function intAtLeast(v: number, what: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${what}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

/** x [N, C, L] with C = `channels` (null: any), else a ShapeError naming `what`. */
export function checkSequenceInput(x: Tensor, channels: number | null, what: string): void {
  if (x.ndim !== 3) throw new ShapeError(`${what}: expected input [N, C, L] (batch, channels, length), got ${fmtShape(x.shape)}`);
  if (channels !== null && x.shape[1] !== channels)
    throw new ShapeError(`${what}: expected ${channels} input channels (input [N, ${channels}, L]), got ${fmtShape(x.shape)}`);
}

/** PyTorch's nn.Conv1d: x [N, inChannels, L] → [N, outChannels, ⌊(L + 2·padding − dilation·(k − 1) − 1)/stride⌋ + 1]. */
export class Conv1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number,
    opts: Conv1dOptions = {},
  ) {
    super();
    checkOptions('Conv1d', opts, conv1dSchema);
    this.kernelSize = intAtLeast(kernelSize, 'Conv1d kernelSize', 1);
    this.stride = intAtLeast(opts.stride ?? 1, 'Conv1d stride', 1);
    this.padding = intAtLeast(opts.padding ?? 0, 'Conv1d padding', 0);
    this.dilation = intAtLeast(opts.dilation ?? 1, 'Conv1d dilation', 1);
    const groups = intAtLeast(opts.groups ?? 1, 'Conv1d groups', 1);
    checkChannels('Conv1d', inChannels, outChannels, groups);
    this.groups = groups;
    const rng = opts.rng ?? nextDefaultRng();
    const dtype = opts.dtype ?? 'float32';
    const init = initializers[opts.init ?? 'torch'];
    const k = this.kernelSize;
    this.weight = this.registerParameter(
      'weight',
      parameter([outChannels, inChannels / groups, k], dtype, (t) => init(t, rng)),
    );
    const b = 1 / Math.sqrt((inChannels / groups) * k);
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
    const what = this.describe();
    checkSequenceInput(x, this.inChannels, what);
    const [n, c, l] = x.shape;
    const ol = outSize(l, this.kernelSize, this.stride, this.padding, what, 'length', this.dilation);
    const w = reshape(this.weight, [this.outChannels, c / this.groups, 1, this.kernelSize]);
    const y = convLayer(
      reshape(x, [n, c, 1, l]),
      w,
      this.bias,
      { stride: [1, this.stride], padding: [0, this.padding], dilation: [1, this.dilation], groups: this.groups },
      null,
      what,
    );
    return reshape(y, [n, this.outChannels, ol]);
  }

  override describe(): string {
    const extra =
      (this.stride !== 1 ? `, stride ${this.stride}` : '') +
      (this.padding ? `, padding ${this.padding}` : '') +
      (this.dilation !== 1 ? `, dilation ${this.dilation}` : '') +
      (this.groups !== 1 ? `, groups ${this.groups}` : '');
    return `Conv1d(${this.inChannels}→${this.outChannels}, ${this.kernelSize}${extra})`;
  }
}
