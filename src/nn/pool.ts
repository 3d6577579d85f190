/**
 * MaxPool2d and AvgPool2d, PyTorch's semantics (stride defaults to the kernel size; ceilMode as
 * ceil_mode, default false), and AdaptiveAvgPool2d (an output of a chosen size).
 */
import type { Tensor } from '../tensor/tensor.js';
import { avgPool2d, maxPool2d, pair, type Pair } from '../autograd/conv.js';
import { adaptiveAvgPool2d, adaptiveSize, type AdaptiveSize } from '../autograd/adaptive.js';
import { Module } from './module.js';
import { bool, checkOptions, numOrPair, type SchemaOf } from '../util/options.js';

export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
  /** Round the output size up (PyTorch's ceil_mode; default false). */
  ceilMode?: boolean;
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count the zero padding in each average's divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
}

const poolSchema: SchemaOf<Pool2dOptions> = { stride: numOrPair, padding: numOrPair, ceilMode: bool };
const avgPoolSchema: SchemaOf<AvgPool2dOptions> = { ...poolSchema, countIncludePad: bool };

export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, opts: Pool2dOptions = {}) {
    super();
    checkOptions('MaxPool2d', opts, poolSchema);
    this.kernelSize = pair(kernelSize, 'MaxPool2d kernelSize', 1);
    this.stride = pair(opts.stride ?? this.kernelSize, 'MaxPool2d stride', 1);
    this.padding = pair(opts.padding ?? 0, 'MaxPool2d padding', 0);
    this.ceilMode = opts.ceilMode ?? false;
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode }, this.describe());
  }

  override describe(): string {
    return `MaxPool2d(${this.kernelSize.join('×')})`;
  }
}

export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly countIncludePad: boolean;
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, opts: AvgPool2dOptions = {}) {
    super();
    checkOptions('AvgPool2d', opts, avgPoolSchema);
    this.kernelSize = pair(kernelSize, 'AvgPool2d kernelSize', 1);
    this.stride = pair(opts.stride ?? this.kernelSize, 'AvgPool2d stride', 1);
    this.padding = pair(opts.padding ?? 0, 'AvgPool2d padding', 0);
    this.countIncludePad = opts.countIncludePad ?? true;
    this.ceilMode = opts.ceilMode ?? false;
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(
      x,
      this.kernelSize,
      { stride: this.stride, padding: this.padding, countIncludePad: this.countIncludePad, ceilMode: this.ceilMode },
      this.describe(),
    );
  }

  override describe(): string {
    return `AvgPool2d(${this.kernelSize.join('×')})`;
  }
}

/**
 * PyTorch's nn.AdaptiveAvgPool2d: [N, C, H, W] (or [C, H, W]) to [N, C, oh, ow] whatever H and W
 * are, each output cell the mean of its bin of rows [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉) and the like of columns
 * (adaptiveAvgPool2d). `new AdaptiveAvgPool2d(1)` is global average pooling; a null side of
 * [oh, ow] keeps the input's size there.
 */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number | null, number | null];

  constructor(outputSize: AdaptiveSize) {
    super();
    this.outputSize = adaptiveSize(outputSize, 'AdaptiveAvgPool2d');
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize, this.describe());
  }

  override describe(): string {
    return `AdaptiveAvgPool2d(${this.outputSize.map((v, i) => v ?? (i ? 'W' : 'H')).join('×')})`;
  }
}
