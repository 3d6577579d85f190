/** The layers of a multilayer perceptron, and Sequential to chain them. */
import type { Tensor, DType } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { fmtShape, sizeOf, ShapeError } from '../tensor/shape.js';
import { dense, relu, reshape, sigmoid, tanh } from '../autograd/ops.js';
import { Module, maskOf, parameter, withMask, type ForwardOptions, type MaskSupport } from './module.js';
import type { LinearActivation } from '../backend/backend.js';
import { initializers, weightOptionSpecs, type InitName } from './init.js';
import { bool, checkOptions, type SchemaOf } from '../util/options.js';

export interface LinearOptions {
  bias?: boolean;
  dtype?: DType;
  /** Weight initialiser; default 'torch' (PyTorch's U(±1/√fanIn)). Biases always use U(±1/√fanIn), as PyTorch. */
  init?: InitName;
  rng?: Rng;
}

const linearSchema: SchemaOf<LinearOptions> = { bias: bool, ...weightOptionSpecs };

/**
 * A Linear layer's forward (also the fused LinearReLU, LinearGELU and LinearSiLU modules', with
 * their activation), PyTorch's rule: x is [*, inFeatures],
 * every leading dimension a batch dimension (a 1-D x one sample), the result [*, outFeatures]; the
 * dense op runs on x flattened to [N, inFeatures]. A wrong last dimension is an error naming the layer.
 */
export function linearForward(layer: Linear, x: Tensor, activation: LinearActivation | null): Tensor {
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== layer.inFeatures) {
    throw new ShapeError(`${layer.describe()}: expected input [*, ${layer.inFeatures}], got ${fmtShape(x.shape)}`);
  }
  if (x.ndim === 2) return dense(x, layer.weight, layer.bias, activation);
  const lead = x.shape.slice(0, -1);
  const y = dense(reshape(x, [sizeOf(lead), layer.inFeatures]), layer.weight, layer.bias, activation);
  return reshape(y, [...lead, layer.outFeatures]);
}

/** y = x·Wᵀ + b with W of shape [out, in] (PyTorch's layout). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    checkOptions('Linear', opts, linearSchema);
    for (const [k, v] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`Linear: ${k} must be a positive integer, got ${v}`);
    }
    const rng = opts.rng ?? nextDefaultRng();
    const dtype = opts.dtype ?? 'float32';
    const init = initializers[opts.init ?? 'torch'];
    if (!init) throw new RangeError(`Linear: unknown init "${opts.init}"; expected one of ${Object.keys(initializers).join(', ')}`);
    this.weight = this.registerParameter(
      'weight',
      parameter([outFeatures, inFeatures], dtype, (t) => init(t, rng)),
    );
    this.bias =
      opts.bias === false
        ? null
        : this.registerParameter(
            'bias',
            parameter([outFeatures], dtype, (t) => {
              const b = 1 / Math.sqrt(inFeatures);
              for (let i = 0; i < t.size; i++) t.data[i] = -b + 2 * b * rng.uniform();
            }),
          );
  }

  forward(x: Tensor): Tensor {
    return linearForward(this, x, null);
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  override describe(): string {
    return `Linear(${this.inFeatures}→${this.outFeatures})`;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }
}

/** [N, ...] → [N, ∏...]. */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    if (x.ndim < 1) throw new ShapeError(`Flatten: expected a batch, got a scalar`);
    return reshape(x, [x.shape[0], x.size / Math.max(x.shape[0], 1) || 0]);
  }
}

/**
 * Whether a padding mask goes on after `m` (true), ends there (false), or `m` refuses it (null):
 * Sequential.forward's rule, read from the layers' maskSupport without running them.
 */
export function maskAfter(m: Module): boolean | null {
  if (m instanceof Sequential) {
    for (const x of m.layers) {
      const r = maskAfter(x);
      if (r !== true) return r;
    }
    return true;
  }
  return m.maskSupport === 'keep' ? true : m.maskSupport === 'refuse' ? null : false;
}

/**
 * Layers applied in order; a shape error names the layer (its name — the index unless given — and
 * kind). Each layer runs its own forward: fusing a Linear and the ReLU after it into one op is the
 * explicit `fuse(model)` pass (nn/fuse.ts), which returns a Sequential of fused modules under the
 * same names.
 */
export class Sequential extends Module {
  readonly layers: Module[];
  /** The name each layer is registered under (its parameters are `name.weight`, …). */
  readonly names: string[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    this.names = layers.map((_, i) => String(i));
    layers.forEach((m, i) => this.registerModule(this.names[i], m));
  }

  /** A Sequential whose layers are registered under the given names (fuse() keeps the unfused model's). */
  static named(entries: readonly (readonly [string, Module])[]): Sequential {
    const s = new Sequential();
    for (const [name, m] of entries) {
      if (s.names.includes(name)) throw new RangeError(`Sequential.named: two layers are named "${name}"`);
      s.layers.push(m);
      s.names.push(name);
      s.registerModule(name, m);
    }
    return s;
  }

  /**
   * The layers in order. A padding mask (opts.mask, or the one x carries) goes from layer to layer
   * as each one's maskSupport says, and the output carries the last one (a nested Sequential's
   * passes on to its parent's next layer).
   */
  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    let h = x;
    let mask = opts?.mask ?? maskOf(x);
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      // read only under a mask: a Residual's answer walks its paths
      const support = mask ? layer.maskSupport : null;
      try {
        if (support === 'refuse')
          throw new ShapeError(
            `takes no padding mask, and its input has one (from an Embedding with maskPadding, or forward's mask), so its padding steps would count as data; end the steps before it with SequenceMean or a recurrent layer's final state`,
          );
        h = layer.forward(h, (opts?.mask ?? null) === mask ? opts : { ...opts, mask });
      } catch (e) {
        // a nested Sequential has named its own layer already: that error passes through as it is
        if (e instanceof ShapeError && !(layer instanceof Sequential))
          throw new ShapeError(`layer ${this.names[i]} (${layer.describe()}): ${e.message}`);
        throw e;
      }
      mask = support === 'keep' ? mask : maskOf(h);
    }
    return withMask(h, mask);
  }

  override get maskSupport(): MaskSupport {
    return 'own';
  }
}
