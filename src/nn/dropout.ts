/**
 * Dropout (Srivastava et al. 2014), inverted: while training each activation is kept with
 * probability 1 − p and scaled by 1/(1 − p), so the expected output equals the input and
 * evaluation is the identity. (ConvNetJS scales by p at test time instead — wrong; the test
 * "dropout eval is the identity, not a scaling by p" guards against it.)
 *
 * Masks come from the `rng` passed to forward({ training: true, rng }); there is no hidden global
 * generator, so the same seed gives the same masks.
 */
import { Tensor, allocStorage, type DType, type HostStorage } from '../tensor/tensor.js';
import type { Rng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { mul } from '../autograd/ops.js';
import { applyDropout, fillDropMask } from '../autograd/dropout-mask.js';
import { Module, type ForwardOptions, type MaskSupport } from './module.js';
import { checkOptions, num, showValue, type SchemaOf } from '../util/options.js';

export interface DropoutOptions {
  /** Probability of zeroing each element (Dropout) or channel (Dropout2d), in [0, 1] (1: all, as PyTorch allows). Default 0.5. */
  p?: number;
}

const dropoutSchema: SchemaOf<DropoutOptions> = { p: num };

/**
 * The p of `new Dropout(p)` or `new Dropout({ p })` (PyTorch's nn.Dropout(p=…)), checked: in [0, 1],
 * as PyTorch's (p = 1 zeroes everything while training).
 */
function dropP(arg: number | DropoutOptions | undefined, what: string): number {
  if (typeof arg === 'number' || arg === undefined) return checkDropP(arg ?? 0.5, what, true);
  if (typeof arg !== 'object' || arg === null)
    throw new TypeError(`${what}: invalid p ${showValue(arg)}; expected a number in [0, 1] or { p }`);
  return checkDropP(checkOptions(what, arg, dropoutSchema).p ?? 0.5, what, true);
}

/** A drop probability in [0, 1), or [0, 1] with `one` (where dropping everything is defined). */
export function checkDropP(p: number, what: string, one = false): number {
  const range = one ? '[0, 1]' : '[0, 1)';
  if (typeof p !== 'number') throw new TypeError(`${what}: invalid p ${showValue(p)}; expected a number in ${range}`);
  if (!(p >= 0 && (one ? p <= 1 : p < 1))) throw new RangeError(`${what}: p must be in ${range}, got ${p}`);
  return p;
}

export function needRng(opts: ForwardOptions | undefined, what: string): Rng {
  if (!opts?.rng) throw new Error(`${what}: training mode needs a random generator; call forward(x, { training: true, rng })`);
  return opts.rng;
}

// the masks of every dropout, drawn where the backend draws fastest (src/autograd/dropout-mask.ts)
export { fillDropMask };

export class Dropout extends Module {
  readonly p: number;

  /** `new Dropout(0.2)` or `new Dropout({ p: 0.2 })`; default p = 0.5. */
  constructor(p: number | DropoutOptions = 0.5) {
    super();
    this.p = dropP(p, 'Dropout');
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    if (!opts?.training || this.p === 0) return x;
    // the mask `mask` draws, applied in one kernel call where the backend has it
    return applyDropout(x, this.p, needRng(opts, this.describe()));
  }

  /**
   * The mask a training forward of an input with `size` elements multiplies by, drawn from `rng` as
   * forward draws it: 1/(1 − p) where kept, 0 where dropped. Given a generator in the state forward
   * received, it is the mask forward used (the lab draws the dropped units this way).
   */
  mask(size: number, rng: Rng, dtype: DType = 'float32'): HostStorage {
    const m = allocStorage(dtype, size);
    fillDropMask(m, this.p, rng);
    return m;
  }

  override describe(): string {
    return `Dropout(p=${this.p})`;
  }
}

/** Spatial dropout (Tompson et al. 2015): drops whole channels of [N, C, ...] inputs, like nn.Dropout2d. */
export class Dropout2d extends Module {
  readonly p: number;

  /** `new Dropout2d(0.2)` or `new Dropout2d({ p: 0.2 })`; default p = 0.5. */
  constructor(p: number | DropoutOptions = 0.5) {
    super();
    this.p = dropP(p, 'Dropout2d');
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    if (x.ndim < 3) throw new ShapeError(`${this.describe()}: expected input [N, C, H, W] (or [N, C, L]), got ${fmtShape(x.shape)}`);
    if (!opts?.training || this.p === 0) return x;
    const rng = needRng(opts, this.describe());
    const mask = allocStorage(x.dtype, x.shape[0] * x.shape[1]);
    fillDropMask(mask, this.p, rng);
    return mul(x, new Tensor(mask, [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)]));
  }

  override describe(): string {
    return `Dropout2d(p=${this.p})`;
  }
}
