/**
 * Fused layers and the pass that uses them.
 *
 * A fused module computes exactly what its parts compute in sequence — same values, same
 * gradients — as one op, so a backend with the matching extension (`linear`, `convLayer`,
 * `convPoolLayer`) runs it as one kernel and the intermediate activation is never a tensor of its
 * own. It holds its parts' parameter tensors (the same objects) under the parts' names (`weight`,
 * `bias`), so a fused model's stateDict, safetensors and optimizer state read as the unfused one's.
 *
 *   fuse(model)   returns an equivalent model: inside every Sequential, a Linear followed by a
 *                 ReLU becomes LinearReLU, by a GELU (either form) LinearGELU, by a SiLU
 *                 LinearSiLU, a Conv2d followed by a ReLU becomes Conv2dReLU, and a
 *                 Conv2d, ReLU, MaxPool2d becomes Conv2dReLUMaxPool, a BatchNorm1d/2d followed by
 *                 a ReLU becomes BatchNormReLU, and BatchNorm2d, ReLU, MaxPool2d becomes
 *                 BatchNormReLUMaxPool; each fused layer is
 *                 registered under its first part's name. A Residual's body and shortcut are
 *                 fused the same way (a Residual holding the fused parts, under `body` and
 *                 `shortcut`). Other modules are kept as they are.
 *
 * Only the library's own classes fuse (a subclass may override forward, so it is kept as it is).
 * Errors name the part they come from (its describe()) and, through Sequential, the layer.
 */
import type { Tensor } from '../tensor/tensor.js';
import { convLayer, convPoolLayer } from '../autograd/conv.js';
import { Module, type ForwardOptions, type MaskSupport } from './module.js';
import { Linear, ReLU, Sequential, linearForward } from './layers.js';
import { GELU, SiLU } from './activation.js';
import { Conv2d } from './conv.js';
import { MaxPool2d } from './pool.js';
import { type BatchNorm, BatchNorm1d, BatchNorm2d } from './batchnorm.js';
import { Residual } from './residual.js';

/**
 * relu(batchNorm(x)) as one op on the host (no array for the normalised values); on a device the
 * two ops. It holds the BatchNorm's parameters and buffers (the same tensors, under the same names).
 */
export class BatchNormReLU extends Module {
  constructor(readonly bn: BatchNorm) {
    super();
    if (bn.weight) this.registerParameter('weight', bn.weight);
    if (bn.bias) this.registerParameter('bias', bn.bias);
    if (bn.runningMean) {
      this.registerBuffer('running_mean', bn.runningMean);
      this.registerBuffer('running_var', bn.runningVar!);
      this.registerBuffer('num_batches_tracked', bn.numBatchesTracked!);
    }
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    return this.bn.normalise(x, opts, true);
  }

  override describe(): string {
    return `${this.bn.describe()}+ReLU`;
  }
}

/**
 * pool(relu(batchNorm(x))) as one op on a backend with `batchNormPool` (the normalised values are
 * never an array of their own), else BatchNormReLU's op and the pooling. It holds the BatchNorm's
 * parameters and buffers like BatchNormReLU.
 */
export class BatchNormReLUMaxPool extends BatchNormReLU {
  constructor(
    bn: BatchNorm,
    readonly pool: MaxPool2d,
  ) {
    super(bn);
  }

  override forward(x: Tensor, opts?: ForwardOptions): Tensor {
    return this.bn.normalise(x, opts, true, this.pool);
  }

  override describe(): string {
    return `${this.bn.describe()}+ReLU+${this.pool.describe()}`;
  }
}

/** A fused layer holds its first part's weight and bias (the same tensors, under the same names). */
abstract class FusedLayer extends Module {
  constructor(first: { weight: Tensor; bias: Tensor | null }) {
    super();
    this.registerParameter('weight', first.weight);
    if (first.bias) this.registerParameter('bias', first.bias);
  }
}

/** relu(linear(x)) as one op. */
export class LinearReLU extends FusedLayer {
  constructor(readonly linear: Linear) {
    super(linear);
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    return linearForward(this.linear, x, 'relu');
  }

  override describe(): string {
    return `${this.linear.describe()}+ReLU`;
  }
}

/**
 * gelu(linear(x)) as one op, GELU's erf form or its tanh approximation as the GELU module has it.
 * When a gradient will be asked for, the forward computes GELU′(z) beside GELU(z) (on wasm in one
 * pass: they share erf(z/√2), or the tanh) and keeps it for the backward, which multiplies the
 * output gradient by it in the call that computes the products.
 */
export class LinearGELU extends FusedLayer {
  constructor(
    readonly linear: Linear,
    readonly gelu: GELU,
  ) {
    super(linear);
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    return linearForward(this.linear, x, this.gelu.approximate === 'tanh' ? 'geluTanh' : 'gelu');
  }

  override describe(): string {
    return `${this.linear.describe()}+${this.gelu.describe()}`;
  }
}

/** silu(linear(x)) as one op, like LinearGELU. */
export class LinearSiLU extends FusedLayer {
  constructor(
    readonly linear: Linear,
    readonly silu: SiLU,
  ) {
    super(linear);
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    return linearForward(this.linear, x, 'silu');
  }

  override describe(): string {
    return `${this.linear.describe()}+${this.silu.describe()}`;
  }
}

/** relu(conv(x)) as one op. */
export class Conv2dReLU extends FusedLayer {
  constructor(readonly conv: Conv2d) {
    super(conv);
  }

  forward(x: Tensor): Tensor {
    const c = this.conv;
    return convLayer(x, c.weight, c.bias, c.convArgs(), 'relu', c.describe());
  }

  override describe(): string {
    return `${this.conv.describe()}+ReLU`;
  }
}

/** pool(relu(conv(x))) as one op; the activation before pooling is never stored on a backend with `convPoolLayer`. */
export class Conv2dReLUMaxPool extends FusedLayer {
  constructor(
    readonly conv: Conv2d,
    readonly pool: MaxPool2d,
  ) {
    super(conv);
  }

  forward(x: Tensor): Tensor {
    const c = this.conv,
      p = this.pool;
    return convPoolLayer(
      x,
      c.weight,
      c.bias,
      c.convArgs(),
      'relu',
      p.kernelSize,
      { stride: p.stride, padding: p.padding, ceilMode: p.ceilMode },
      { conv: c.describe(), pool: p.describe() },
    );
  }

  override describe(): string {
    return `${this.conv.describe()}+ReLU+${this.pool.describe()}`;
  }
}

const is = (m: Module | undefined, cls: abstract new (...a: never[]) => Module): boolean => m !== undefined && m.constructor === cls;

/**
 * An equivalent model whose Linear + ReLU/GELU/SiLU and Conv2d + ReLU (+ MaxPool2d) runs are fused modules (see the
 * header); it shares the parameter tensors with `model`, so training either trains both. A model
 * that is neither a Sequential nor a Residual, or has nothing to fuse, is returned as it is.
 */
export function fuse(model: Sequential): Sequential;
export function fuse(model: Residual): Residual;
export function fuse<M extends Module>(model: M): M | Sequential | Residual;
export function fuse(model: Module): Module {
  if (is(model, Residual)) return fuseResidual(model as Residual);
  if (!(model instanceof Sequential)) return model;
  const out: [string, Module][] = [];
  let changed = false;
  const { layers, names } = model;
  for (let i = 0; i < layers.length; i++) {
    const [a, b, c] = [layers[i], layers[i + 1], layers[i + 2]];
    if (is(a, Conv2d) && is(b, ReLU) && is(c, MaxPool2d)) {
      out.push([names[i], new Conv2dReLUMaxPool(a as Conv2d, c as MaxPool2d)]);
      i += 2;
    } else if (is(a, Conv2d) && is(b, ReLU)) {
      out.push([names[i], new Conv2dReLU(a as Conv2d)]);
      i += 1;
    } else if (is(a, Linear) && is(b, ReLU)) {
      out.push([names[i], new LinearReLU(a as Linear)]);
      i += 1;
    } else if (is(a, Linear) && is(b, GELU)) {
      out.push([names[i], new LinearGELU(a as Linear, b as GELU)]);
      i += 1;
    } else if (is(a, Linear) && is(b, SiLU)) {
      out.push([names[i], new LinearSiLU(a as Linear, b as SiLU)]);
      i += 1;
    } else if (is(a, BatchNorm2d) && is(b, ReLU) && is(c, MaxPool2d)) {
      out.push([names[i], new BatchNormReLUMaxPool(a as BatchNorm, c as MaxPool2d)]);
      i += 2;
    } else if ((is(a, BatchNorm1d) || is(a, BatchNorm2d)) && is(b, ReLU)) {
      out.push([names[i], new BatchNormReLU(a as BatchNorm)]);
      i += 1;
    } else {
      const f = a instanceof Sequential || is(a, Residual) ? fuse(a) : a;
      if (f !== a) changed = true;
      out.push([names[i], f]);
      continue;
    }
    changed = true;
  }
  return changed ? Sequential.named(out) : model;
}

/** The Residual with its body and shortcut fused, or `r` itself when neither changes. */
function fuseResidual(r: Residual): Residual {
  const body = fuse(r.body),
    shortcut = r.shortcut && fuse(r.shortcut);
  return body === r.body && shortcut === r.shortcut ? r : new Residual(body, shortcut);
}
