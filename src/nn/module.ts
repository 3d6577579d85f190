/**
 * Module: a function with named parameters and named sub-modules, as in PyTorch.
 *
 * Modes are arguments, not global flags: forward(x, { training, rng }) — dropout and friends read
 * `training` and draw their masks from `rng`, so evaluation is deterministic and never depends on
 * a forgotten model.eval().
 */
import { Tensor, allocStorage } from '../tensor/tensor.js';
import { extension, kernelsFor } from '../backend/backend.js';
import { isDeviceStorage } from '../tensor/device.js';
import { moveTensor } from '../autograd/device.js';
import type { Rng } from '../tensor/rng.js';
import { fmtShape, shapeEq, ShapeError } from '../tensor/shape.js';

export interface ForwardOptions {
  /** Training mode (dropout active, augmentation layers active). Default false. */
  training?: boolean;
  /** Where stochastic layers draw their masks while training. */
  rng?: Rng;
  /**
   * Which steps of a sequence input [N, T, …] are padding: [N, T] of 0 and 1, 1 = padding
   * (PyTorch's key_padding_mask). A Sequential carries it from layer to layer — given here, or
   * made by an Embedding with maskPadding (Keras' mask_zero) — and its layers' maskSupport says
   * what each does with it: attention does not attend to padding keys, SequenceMean leaves
   * padding steps out of its mean, and a layer that cannot honour it refuses it.
   */
  mask?: Tensor | null;
}

/**
 * What a layer does with a padding mask (ForwardOptions.mask) inside a Sequential: 'keep' — its
 * output's steps are its input's (a per-step layer, or attention, which reads the mask), so the
 * mask goes on to the next layer; 'own' — its output carries the mask the layer attached to it
 * (withMask), or none: an Embedding makes one, SequenceMean ends one, a Sequential passes on its
 * last layer's; 'refuse' — a mask given to it is an error naming the layer, so padding never
 * silently counts as data.
 */
export type MaskSupport = 'keep' | 'own' | 'refuse';

const masks = new WeakMap<Tensor, Tensor>();

/** `t`, carrying `mask` (Keras' _keras_mask): the padding mask of its steps, read by maskOf. */
export function withMask(t: Tensor, mask: Tensor | null): Tensor {
  if (mask) masks.set(t, mask);
  return t;
}

/** The padding mask a layer attached to its output (withMask), or null. */
export function maskOf(t: Tensor): Tensor | null {
  return masks.get(t) ?? null;
}

/** One parameter's or buffer's saved values: its shape and its values in row-major order (any array-like: number[], Float32Array, …). */
export interface StateEntry<D extends ArrayLike<number> = ArrayLike<number>> {
  shape: number[];
  data: D;
}
/** Parameters and buffers by name, as loadStateDict takes them. stateDict() gives plain number[] data (JSON-ready). */
export type StateDict = Record<string, StateEntry>;

export abstract class Module {
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _children = new Map<string, Module>();

  abstract forward(x: Tensor, opts?: ForwardOptions): Tensor;

  /** See MaskSupport. 'refuse' unless the layer says otherwise. */
  get maskSupport(): MaskSupport {
    return 'refuse';
  }

  /** Same as forward; reads like PyTorch's model(x). */
  call(x: Tensor, opts?: ForwardOptions): Tensor {
    return this.forward(x, opts);
  }

  protected registerParameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this._params.set(name, t);
    return t;
  }

  /**
   * A buffer: state that is saved, loaded and moved with the parameters but not trained (no
   * gradient, not given to optimizers) — BatchNorm's running statistics, as PyTorch's
   * register_buffer. A layer updates a buffer in place (its tensor object stays; see moveStorage).
   */
  protected registerBuffer(name: string, t: Tensor): Tensor {
    t.requiresGrad = false;
    this._buffers.set(name, t);
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this._children.set(name, m);
    return m;
  }

  children(): [string, Module][] {
    return [...this._children];
  }

  /**
   * [dotted name, tensor] pairs of what `own` picks from each module (its parameters, its buffers,
   * or both in that order), the module's own first, then its sub-modules' in registration order; a
   * tensor held by two modules (fused layers share their parts') is listed once, under its first name.
   */
  private walkNamed(own: (m: Module) => Iterable<[string, Tensor]>, prefix: string, stamp: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, pre: string) => {
      for (const [n, t] of own(m)) {
        if (seen.has(t)) continue;
        seen.add(t);
        if (stamp) t.name = pre + n;
        out.push([pre + n, t]);
      }
      for (const [n, c] of m._children) walk(c, `${pre}${n}.`);
    };
    walk(this, prefix);
    return out;
  }

  /** [dotted name, parameter] pairs; also stamps each parameter's `name`, which optimizers key state by. */
  namedParameters(prefix = ''): [string, Tensor][] {
    return this.walkNamed((m) => m._params, prefix, true);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** [dotted name, buffer] pairs (PyTorch's named_buffers); stamps each buffer's `name`. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    return this.walkNamed((m) => m._buffers, prefix, true);
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /**
   * Everything a saved model holds, in PyTorch's state_dict order (each module's parameters, then
   * its buffers, then its sub-modules'): the entries of stateDict(), of a checkpoint's model and of
   * a safetensors file. Parameters alone are what optimizers train.
   */
  namedState(): [string, Tensor][] {
    return this.walkNamed((m) => [...m._params, ...m._buffers], '', false);
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /**
   * Moves every parameter (and its gradient) and buffer to `device` in place — 'cpu', or a device backend
   * such as 'webgpu' (PyTorch's `module.to(device)`); an optimizer's state is created where its
   * parameter lives at the first step. Resolves to the module.
   */
  async to(device: string): Promise<this> {
    for (const [, p] of this.namedState()) await moveTensor(p, device);
    return this;
  }

  /** stateDict() on any device: tensors on a device are read back first. */
  async readStateDict(): Promise<Record<string, StateEntry<number[]>>> {
    const sd: Record<string, StateEntry<number[]>> = {};
    for (const [n, p] of this.namedState()) sd[n] = { shape: [...p.shape], data: Array.from(await p.read()) };
    return sd;
  }

  /** Parameters and buffers as plain JSON (on the host; readStateDict() reads a device's). */
  stateDict(): Record<string, StateEntry<number[]>> {
    const sd: Record<string, StateEntry<number[]>> = {};
    for (const [n, p] of this.namedState()) sd[n] = { shape: [...p.shape], data: Array.from(p.data) };
    return sd;
  }

  /**
   * Copy values in by name; every parameter and buffer must be present with the same shape, and
   * nothing else. Everything is checked before the first value is copied: on error nothing changes.
   */
  loadStateDict(sd: StateDict): void {
    const named = this.namedState();
    const buffers = new Set(this.buffers());
    for (const [n, p] of named) {
      const what = buffers.has(p) ? 'buffer' : 'parameter';
      const e = sd[n];
      if (!e) throw new Error(`loadStateDict: missing ${what} "${n}"`);
      if (!shapeEq(e.shape, p.shape))
        throw new ShapeError(`loadStateDict: ${what} "${n}" has shape ${fmtShape(p.shape)}, state has ${fmtShape(e.shape)}`);
      if (e.data.length !== p.size)
        throw new ShapeError(`loadStateDict: ${what} "${n}" needs ${p.size} values, state has ${e.data.length}`);
    }
    const known = new Set(named.map(([n]) => n));
    const extra = Object.keys(sd).filter((k) => !known.has(k));
    if (extra.length) throw new Error(`loadStateDict: unexpected parameter(s) ${extra.join(', ')}`);
    for (const [n, p] of named) {
      // a tensor on a device takes the values as an upload, ordered with its queue
      if (isDeviceStorage(p.storage)) p.storage.write(Float32Array.from(sd[n].data));
      else p.data.set(sd[n].data);
    }
  }

  /** Copy all parameter and buffer values from a module of the same architecture (on the host). */
  copyFrom(other: Module): void {
    const mine = this.namedState();
    const theirs = new Map(other.namedState());
    for (const [n, p] of mine) {
      const q = theirs.get(n);
      if (!q || !shapeEq(q.shape, p.shape)) throw new ShapeError(`copyFrom: "${n}" missing or of another shape`);
    }
    for (const [n, p] of mine) p.data.set(theirs.get(n)!.data);
  }

  /** A short description used in error messages and summaries. */
  describe(): string {
    return this.constructor.name;
  }

  toString(): string {
    const kids = this.children();
    if (!kids.length) return this.describe();
    return `${this.describe()}(\n${kids.map(([n, m]) => `  (${n}): ${m.toString().replace(/\n/g, '\n  ')}`).join('\n')}\n)`;
  }
}

/** A parameter tensor of the given shape and dtype, filled by `init`. */
export function parameter(shape: number[], dtype: 'float32' | 'float64', init: (t: Tensor) => void): Tensor {
  const js = allocStorage(
    dtype,
    shape.reduce((a, b) => a * b, 1),
  );
  // A parameter lives as long as its model, so a backend with its own memory may keep it there
  // (wasm: the products and the fused optimizer step then read it in place, with no copies).
  // (a device backend's memory is not: a model is built on the host and moved with Module.to)
  const home = kernelsFor().device ? null : extension('allocLike')?.(js);
  const t = new Tensor(home && !isDeviceStorage(home) ? home : js, shape, true);
  init(t);
  return t;
}
