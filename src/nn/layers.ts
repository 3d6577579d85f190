/** The layers of a multilayer perceptron, and Sequential to chain them. */
import { Tensor, type DType } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { dense, relu, reshape, sigmoid, tanh } from '../autograd/ops.js';
import { Module, parameter, type ForwardOptions } from './module.js';
import { initializers, weightOptionSpecs, type InitName } from './init.js';
import { bool, checkOptions, type SchemaOf } from '../util/options.js';
import { Conv2d } from './conv.js';
import { MaxPool2d } from './pool.js';

export interface LinearOptions {
  bias?: boolean;
  dtype?: DType;
  /** Weight initialiser; default 'torch' (PyTorch's U(±1/√fanIn)). Biases always use U(±1/√fanIn), as PyTorch. */
  init?: InitName;
  rng?: Rng;
}

const linearSchema: SchemaOf<LinearOptions> = { bias: bool, ...weightOptionSpecs };

/** y = x·Wᵀ + b with W of shape [out, in] (PyTorch's layout). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkOptions('Linear', opts, linearSchema);
    for (const [k, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`Linear: ${k} must be a positive integer, got ${v}`);
    }
    const rng = opts.rng ?? nextDefaultRng();
    const dtype = opts.dtype ?? 'float32';
    const init = initializers[opts.init ?? 'torch'];
    if (!init) throw new RangeError(`Linear: unknown init "${opts.init}"; expected one of ${Object.keys(initializers).join(', ')}`);
    this.weight = this.registerParameter('weight', parameter([outFeatures, inFeatures], dtype, (t) => init(t, rng)));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', parameter([outFeatures], dtype, (t) => {
      const b = 1 / Math.sqrt(inFeatures);
      for (let i = 0; i < t.size; i++) t.data[i] = -b + 2 * b * rng.uniform();
    }));
  }

  forward(x: Tensor): Tensor {
    return this.forwardWith(x, null);
  }

  /** forward followed by `activation`, in one op (Sequential uses it for a Linear followed by a ReLU). */
  forwardWith(x: Tensor, activation: 'relu' | null): Tensor {
    if (x.ndim !== 2 || x.shape[1] !== this.inFeatures) {
      throw new ShapeError(`${this.describe()}: expected input [N, ${this.inFeatures}], got ${fmtShape(x.shape)}`);
    }
    return dense(x, this.weight, this.bias, activation);
  }

  override describe(): string {
    return `Linear(${this.inFeatures}→${this.outFeatures})`;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** [N, ...] → [N, ∏...]. */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    if (x.ndim < 1) throw new ShapeError(`Flatten: expected a batch, got a scalar`);
    return reshape(x, [x.shape[0], x.size / Math.max(x.shape[0], 1) || 0]);
  }
}

/** Layers applied in order; a shape error names the layer (its index and kind). */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      let blame = i; // the layer an error is reported against
      try {
        const layer = this.layers[i], next = this.layers[i + 1], pool = this.layers[i + 2];
        // A plain Linear or Conv2d followed by a plain ReLU runs as one fused op, and a Conv2d,
        // ReLU, MaxPool2d as one more (same values; the activation is never materialised as a
        // tensor of its own). Subclasses are left alone: they may override forward.
        if (layer.constructor === Conv2d && next?.constructor === ReLU && pool?.constructor === MaxPool2d) {
          try {
            h = (layer as Conv2d).forwardWith(h, 'relu', pool as MaxPool2d);
          } catch (e) {
            if (e instanceof Error && e.message.startsWith('maxPool2d')) {
              blame = i + 2;
              e.message = e.message.replace(/^maxPool2d/, (pool as MaxPool2d).describe());
            }
            throw e;
          }
          i += 2;
          continue;
        }
        if ((layer.constructor === Linear || layer.constructor === Conv2d) && next?.constructor === ReLU) {
          h = (layer as Linear | Conv2d).forwardWith(h, 'relu');
          i++;
          continue;
        }
        h = layer.forward(h, opts);
      } catch (e) {
        if (e instanceof ShapeError && !e.message.startsWith('layer ')) {
          throw new ShapeError(`layer ${blame} (${this.layers[blame].describe()}): ${e.message}`);
        }
        throw e;
      }
    }
    return h;
  }
}
