/**
 * PyTorch's nn.Softmax and nn.LogSoftmax: the softmax ops over one dimension of the input, `dim`,
 * which PyTorch's modules leave to an implicit, deprecated choice when it is missing; here it is
 * required. The ops work over the last dimension; any other is swapped there and back.
 */
import type { Tensor } from '../tensor/tensor.js';
import { normAxis } from '../tensor/shape.js';
import { logSoftmax, softmax } from '../autograd/ops.js';
import { transpose } from '../autograd/transpose.js';
import { Module, type MaskSupport } from './module.js';
import { checkOptions, spec, type SchemaOf } from '../util/options.js';

export interface SoftmaxOptions {
  /** The dimension whose entries sum to 1 (negative counts from the end; -1 is the last). */
  dim: number;
}

const isDim = (v: unknown) => Number.isInteger(v);
const schema: SchemaOf<SoftmaxOptions> = { dim: spec('an integer', isDim) };

/** `dim` from `new Softmax(1)` or `new Softmax({ dim: 1 })`, or an error naming `what`. */
function dimOf(arg: number | SoftmaxOptions | undefined, what: string): number {
  const d = typeof arg === 'object' && arg !== null ? checkOptions(what, arg, schema, { required: ['dim'] }).dim : arg;
  if (d === undefined)
    throw new TypeError(`${what}: dim is required (PyTorch's implicit choice is deprecated); e.g. new ${what}(-1) for the last dimension`);
  if (!Number.isInteger(d)) throw new TypeError(`${what}: dim must be an integer, got ${String(d)}`);
  return d;
}

/** f over dimension `dim` of x: f works on the last one, so another is swapped there and back. */
function overDim(x: Tensor, dim: number, what: string, f: (t: Tensor) => Tensor): Tensor {
  const d = normAxis(dim, x.ndim, `${what} dim`);
  if (d === x.ndim - 1) return f(x);
  return transpose(f(transpose(x, d, -1)), d, -1);
}

abstract class SoftmaxLike extends Module {
  readonly dim: number;

  constructor(dim: number | SoftmaxOptions | undefined, what: string) {
    super();
    this.dim = dimOf(dim, what);
  }

  override get maskSupport(): MaskSupport {
    // over the features of each step (the last dimension of [N, L, E]) padding steps stay apart
    return this.dim === -1 ? 'keep' : 'refuse';
  }

  override describe(): string {
    return `${this.constructor.name}(dim=${this.dim})`;
  }
}

/** exp(x)/Σexp(x) over `dim` (`new Softmax(1)` or `new Softmax({ dim: 1 })`). */
export class Softmax extends SoftmaxLike {
  constructor(dim: number | SoftmaxOptions) {
    super(dim, 'Softmax');
  }

  forward(x: Tensor): Tensor {
    return overDim(x, this.dim, 'Softmax', softmax);
  }
}

/** log(softmax(x)) over `dim`, computed without overflow (`new LogSoftmax(1)` or `new LogSoftmax({ dim: 1 })`). */
export class LogSoftmax extends SoftmaxLike {
  constructor(dim: number | SoftmaxOptions) {
    super(dim, 'LogSoftmax');
  }

  forward(x: Tensor): Tensor {
    return overDim(x, this.dim, 'LogSoftmax', logSoftmax);
  }
}
