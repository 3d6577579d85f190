/**
 * PyTorch's nn.PReLU, nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.SELU, nn.Hardtanh and nn.ReLU6
 * over the ops of autograd/activations-more.ts, with PyTorch's defaults. PReLU is the one with a
 * parameter: `weight`, numParameters slopes (1, or one per channel on dim 1), initially `init`.
 */
import type { DType, Tensor } from '../tensor/tensor.js';
import { finiteArg } from '../autograd/activations.js';
import { hardsigmoid, hardswish, hardtanh, mish, prelu, relu6, selu } from '../autograd/activations-more.js';
import { Module, parameter, type MaskSupport } from './module.js';
import { checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';

export interface PReLUOptions {
  /** How many slopes: 1 (shared, the default) or the input's channels (dim 1). */
  numParameters?: number;
  /** Every slope's initial value; default 0.25. */
  init?: number;
  dtype?: DType;
}
export interface HardtanhOptions {
  /** The lower bound; default −1. */
  minVal?: number;
  /** The upper bound; default 1. */
  maxVal?: number;
}

const preluSchema: SchemaOf<PReLUOptions> = { numParameters: num, init: num, dtype: oneOf('float32', 'float64') };
const hardtanhSchema: SchemaOf<HardtanhOptions> = { minVal: num, maxVal: num };

/** An activation without options or parameters: its forward is `op`, and a padding mask passes through. */
abstract class Elementwise extends Module {
  override get maskSupport(): MaskSupport {
    return 'keep';
  }
}

/** x > 0 ? x : a·x with learnt slopes a (`new PReLU()`, `new PReLU({ numParameters: C, init: 0.1 })`). */
export class PReLU extends Elementwise {
  readonly weight: Tensor;

  constructor(opts: PReLUOptions = {}) {
    super();
    checkOptions('PReLU', opts, preluSchema);
    const n = opts.numParameters ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`PReLU: numParameters must be a positive integer, got ${n}`);
    const init = finiteArg(opts.init ?? 0.25, 'PReLU', 'init');
    this.weight = this.registerParameter(
      'weight',
      parameter([n], opts.dtype ?? 'float32', (t) => t.data.fill(init)),
    );
  }

  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }

  override describe(): string {
    return `PReLU(numParameters=${this.weight.size})`;
  }
}

/** x·tanh(softplus(x)). */
export class Mish extends Elementwise {
  forward(x: Tensor): Tensor {
    return mish(x);
  }
}

/** x·min(max(x + 3, 0), 6)/6. */
export class Hardswish extends Elementwise {
  forward(x: Tensor): Tensor {
    return hardswish(x);
  }
}

/** min(max(x + 3, 0), 6)/6. */
export class Hardsigmoid extends Elementwise {
  forward(x: Tensor): Tensor {
    return hardsigmoid(x);
  }
}

/** λ·elu(x, α) with the self-normalising constants. */
export class SELU extends Elementwise {
  forward(x: Tensor): Tensor {
    return selu(x);
  }
}

/** x clipped to [minVal, maxVal] (`new Hardtanh()`, `new Hardtanh(-2, 2)` or `new Hardtanh({ minVal: -2, maxVal: 2 })`). */
export class Hardtanh extends Elementwise {
  readonly minVal: number;
  readonly maxVal: number;

  constructor(minVal: number | HardtanhOptions = -1, maxVal = 1) {
    super();
    const o: HardtanhOptions =
      typeof minVal === 'object' && minVal !== null ? checkOptions('Hardtanh', minVal, hardtanhSchema) : { minVal, maxVal };
    this.minVal = finiteArg(o.minVal ?? -1, 'Hardtanh', 'minVal');
    this.maxVal = finiteArg(o.maxVal ?? 1, 'Hardtanh', 'maxVal');
    if (this.minVal > this.maxVal) throw new RangeError(`Hardtanh: minVal (${this.minVal}) must be ≤ maxVal (${this.maxVal})`);
  }

  forward(x: Tensor): Tensor {
    return hardtanh(x, this.minVal, this.maxVal);
  }

  override describe(): string {
    return `Hardtanh(minVal=${this.minVal}, maxVal=${this.maxVal})`;
  }
}

/** min(max(x, 0), 6). */
export class ReLU6 extends Elementwise {
  forward(x: Tensor): Tensor {
    return relu6(x);
  }
}
