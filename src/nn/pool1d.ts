/**
 * MaxPool1d, AvgPool1d and AdaptiveAvgPool1d, PyTorch's semantics on x [N, C, L]: each is its 2-D
 * form on the view [N, C, 1, L] with a window one row high, so it runs on the pooling kernels of
 * every backend and differentiates as they do (max: a scatter to the arg-max positions, ties to the
 * first; average: its transpose).
 */
import type { Tensor } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { avgPool2d, maxPool2d, outSize } from '../autograd/conv.js';
import { adaptiveAvgPool2d } from '../autograd/adaptive.js';
import { reshape } from '../autograd/ops.js';
import { Module } from './module.js';
import { checkSequenceInput, intAtLeast } from './conv1d.js';
import { bool, checkOptions, num, type SchemaOf } from '../util/options.js';

export interface Pool1dOptions {
  /** Default: the kernel size (PyTorch's default). */
  stride?: number;
  /** Implicit padding at both ends, at most half the kernel (PyTorch's rule); max pooling pads with −∞. Default 0. */
  padding?: number;
}

export interface AvgPool1dOptions extends Pool1dOptions {
  /** Count the zero padding in each average's divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
}

const poolSchema: SchemaOf<Pool1dOptions> = { stride: num, padding: num };
const avgPoolSchema: SchemaOf<AvgPool1dOptions> = { ...poolSchema, countIncludePad: bool };

/** kernelSize, stride and padding of a 1-D pooling, checked; `what` names the layer. */
function window(kernelSize: number, opts: Pool1dOptions, what: string): [number, number, number] {
  const k = intAtLeast(kernelSize, `${what} kernelSize`, 1);
  const s = intAtLeast(opts.stride ?? k, `${what} stride`, 1);
  const p = intAtLeast(opts.padding ?? 0, `${what} padding`, 0);
  if (2 * p > k) throw new RangeError(`${what}: padding ${p} must be at most half the kernel ${k}`);
  return [k, s, p];
}

/** x [N, C, L] pooled by `pool2d` on its [N, C, 1, L] view; the length checked first so an error speaks of it. */
function pool1d(x: Tensor, k: number, s: number, p: number, what: string, pool2d: (x4: Tensor) => Tensor): Tensor {
  checkSequenceInput(x, null, what);
  const [n, c, l] = x.shape;
  const ol = outSize(l, k, s, p, what, 'length');
  return reshape(pool2d(reshape(x, [n, c, 1, l])), [n, c, ol]);
}

/** PyTorch's nn.MaxPool1d: [N, C, L] → [N, C, ⌊(L + 2·padding − kernelSize)/stride⌋ + 1]. */
export class MaxPool1d extends Module {
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;

  constructor(kernelSize: number, opts: Pool1dOptions = {}) {
    super();
    checkOptions('MaxPool1d', opts, poolSchema);
    [this.kernelSize, this.stride, this.padding] = window(kernelSize, opts, 'MaxPool1d');
  }

  forward(x: Tensor): Tensor {
    const { kernelSize: k, stride: s, padding: p } = this;
    const what = this.describe();
    return pool1d(x, k, s, p, what, (x4) => maxPool2d(x4, [1, k], { stride: [1, s], padding: [0, p] }, what));
  }

  override describe(): string {
    return `MaxPool1d(${this.kernelSize}${this.stride !== this.kernelSize ? `, stride ${this.stride}` : ''}${this.padding ? `, padding ${this.padding}` : ''})`;
  }
}

/** PyTorch's nn.AvgPool1d: [N, C, L] → [N, C, ⌊(L + 2·padding − kernelSize)/stride⌋ + 1]. */
export class AvgPool1d extends Module {
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly countIncludePad: boolean;

  constructor(kernelSize: number, opts: AvgPool1dOptions = {}) {
    super();
    checkOptions('AvgPool1d', opts, avgPoolSchema);
    [this.kernelSize, this.stride, this.padding] = window(kernelSize, opts, 'AvgPool1d');
    this.countIncludePad = opts.countIncludePad ?? true;
  }

  forward(x: Tensor): Tensor {
    const { kernelSize: k, stride: s, padding: p } = this;
    const what = this.describe();
    const o = { stride: [1, s] as [number, number], padding: [0, p] as [number, number], countIncludePad: this.countIncludePad };
    return pool1d(x, k, s, p, what, (x4) => avgPool2d(x4, [1, k], o, what));
  }

  override describe(): string {
    return `AvgPool1d(${this.kernelSize}${this.stride !== this.kernelSize ? `, stride ${this.stride}` : ''}${this.padding ? `, padding ${this.padding}` : ''})`;
  }
}

/**
 * PyTorch's nn.AdaptiveAvgPool1d: [N, C, L] → [N, C, outputSize] whatever L is, output i the mean
 * of the steps [⌊i·L/out⌋, ⌈(i+1)·L/out⌉) (neighbouring bins overlap where out does not divide L).
 * `new AdaptiveAvgPool1d(1)` is global average pooling over the length.
 */
export class AdaptiveAvgPool1d extends Module {
  readonly outputSize: number;

  constructor(outputSize: number) {
    super();
    this.outputSize = intAtLeast(outputSize, 'AdaptiveAvgPool1d outputSize', 1);
  }

  forward(x: Tensor): Tensor {
    const what = this.describe();
    checkSequenceInput(x, null, what);
    const [n, c, l] = x.shape;
    if (l < 1) throw new ShapeError(`${what}: expected an input of length ≥ 1, got ${fmtShape(x.shape)}`);
    return reshape(adaptiveAvgPool2d(reshape(x, [n, c, 1, l]), [1, this.outputSize], what), [n, c, this.outputSize]);
  }

  override describe(): string {
    return `AdaptiveAvgPool1d(${this.outputSize})`;
  }
}
