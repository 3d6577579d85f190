/** Conv2d with PyTorch's layout ([out, in, kh, kw]) and default initialisation. */
import type { Tensor, DType } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { convLayer, pair, type Pair } from '../autograd/conv.js';
import { Module, parameter } from './module.js';
import { initializers, weightOptionSpecs, type InitName } from './init.js';
import { bool, checkOptions, numOrPair, type SchemaOf } from '../util/options.js';

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  bias?: boolean;
  dtype?: DType;
  /** Weight initialiser; default 'torch' (U(±1/√fanIn), fanIn = in·kh·kw). The bias is always U(±1/√fanIn), as PyTorch. */
  init?: InitName;
  rng?: Rng;
}

const conv2dSchema: SchemaOf<Conv2dOptions> = { stride: numOrPair, padding: numOrPair, bias: bool, ...weightOptionSpecs };

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: Conv2dOptions = {},
  ) {
    super();
    checkOptions('Conv2d', opts, conv2dSchema);
    for (const [k, v] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`Conv2d: ${k} must be a positive integer, got ${v}`);
    }
    this.kernelSize = pair(kernelSize, 'Conv2d kernelSize', 1);
    this.stride = pair(opts.stride ?? 1, 'Conv2d stride', 1);
    this.padding = pair(opts.padding ?? 0, 'Conv2d padding', 0);
    const rng = opts.rng ?? nextDefaultRng();
    const dtype = opts.dtype ?? 'float32';
    const init = initializers[opts.init ?? 'torch'];
    if (!init) throw new RangeError(`Conv2d: unknown init "${opts.init}"; expected one of ${Object.keys(initializers).join(', ')}`);
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter(
      'weight',
      parameter([outChannels, inChannels, kh, kw], dtype, (t) => init(t, rng)),
    );
    const b = 1 / Math.sqrt(inChannels * kh * kw);
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
    return convLayer(x, this.weight, this.bias, { stride: this.stride, padding: this.padding }, null, this.describe());
  }

  override describe(): string {
    const [kh, kw] = this.kernelSize;
    const extra = `${this.stride.some((s) => s !== 1) ? `, stride ${this.stride.join('×')}` : ''}${this.padding.some((p) => p) ? `, padding ${this.padding.join('×')}` : ''}`;
    return `Conv2d(${this.inChannels}→${this.outChannels}, ${kh}×${kw}${extra})`;
  }
}
