/**
 * Tensor: a contiguous, row-major block of float32 (default) or float64 numbers with a shape.
 *
 * Storage is a plain JS typed array owned by the tensor (`HostStorage`), so the garbage collector
 * frees it: no dispose()/tidy() in user code; fast backends copy operands into WebAssembly memory for
 * the heavy kernels, except inside a training step's scope, where allocStorage takes the arrays
 * from that memory and the scope's end frees them (StorageArena; see docs/design.md). Or it is a `DeviceStorage` that a device backend owns (a
 * GPU buffer): then `storage` is what ops hand to that backend's kernels, `data` throws (the host
 * cannot read a device synchronously) and `await read()` gives the values. A tensor is immutable
 * from the library's point of view except for parameters, which optimizers update in place and
 * `Module.to()` moves.
 *
 * The autograd fields (`requiresGrad`, `grad`, `node`) live here, but the tape logic lives in
 * src/autograd: this file only knows that a tensor may have been produced by a node.
 */
import { type Shape, sizeOf, fmtShape, ShapeError } from './shape.js';
import { bool, checkOptions, num, oneOf, showValue, type SchemaOf } from '../util/options.js';
import { nextDefaultRng, type Rng } from './rng.js';
import { isDeviceStorage, type DeviceStorage } from './device.js';

export type DType = 'float32' | 'float64';
/** Values in JS memory: what the reference and wasm kernels, the optimizer rules and every host loop read. */
export type HostStorage = Float32Array | Float64Array;
/** What a tensor holds and ops hand to the kernels: host values, or a buffer a device backend owns. */
export type Storage = HostStorage | DeviceStorage;
/** Index storage (max pooling's and max's arg-max): an Int32Array, or int32 storage on a device. */
export type IndexStorage = Int32Array | DeviceStorage;

/** The record autograd attaches to a tensor that an op produced. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /**
   * Gradients of the inputs given the gradient of the output; written in differentiable ops. `ctx`
   * is the engine's BackwardContext (autograd/engine.ts): where a leaf's gradient may be added directly.
   */
  backward(gradOut: Tensor, ctx: { leafGradTarget(t: Tensor): Storage | null }): (Tensor | null)[];
  /**
   * Set when the tensor is output `index` of an op with several outputs (split): the engine then
   * runs `group.backward` once, over the gradients of all of them, instead of `backward`.
   */
  readonly part?: { readonly index: number; readonly group: GradGroup };
}

/** The one backward of an op with `size` outputs: the inputs' gradients given each output's (null: none reached it). */
export interface GradGroup {
  readonly size: number;
  backward(gradOuts: readonly (Tensor | null)[], ctx: { leafGradTarget(t: Tensor): Storage | null }): (Tensor | null)[];
}

/**
 * Where allocStorage takes float32 arrays while a host backend's step scope is open (the wasm
 * backend's memory, so its kernels read and write them in place instead of copying them in and
 * out): `alloc` hands out zeroed arrays, and the tensors built on them are recorded, so that those
 * whose memory the scope frees at its end can be marked released (`Tensor._release`).
 */
export interface StorageArena {
  /** A zeroed array of n elements, or null to leave it to a plain JS array. */
  alloc(n: number): Float32Array | null;
  /** True for an array `alloc` handed out in this scope. */
  owns(a: Float32Array): boolean;
  /** Called with every tensor built on an array that `owns`. */
  track(t: Tensor): void;
}

let arena: StorageArena | null = null;
/** Below this many elements allocStorage keeps plain JS arrays (a scalar loss, a bias). */
const ARENA_MIN = 1024;

/** Sets allocStorage's arena (see StorageArena); returns the one it replaces. */
export function setStorageArena(a: StorageArena | null): StorageArena | null {
  const prev = arena;
  arena = a;
  return prev;
}

/** Zeroed storage of n elements. */
export function allocStorage(dtype: DType, n: number): HostStorage {
  if (dtype === 'float64') return new Float64Array(n);
  return (arena !== null && n >= ARENA_MIN ? arena.alloc(n) : null) ?? new Float32Array(n);
}

export function dtypeOf(s: Storage): DType {
  if (isDeviceStorage(s)) {
    if (s.dtype !== 'float32') throw new TypeError(`Tensor: ${s.device} storage of ${s.dtype} holds indices, not tensor values`);
    return 'float32';
  }
  return s instanceof Float64Array ? 'float64' : 'float32';
}

/** Where storage lives: 'cpu' for a typed array, else the owning backend's name. */
export function deviceOf(s: Storage | IndexStorage): string {
  return isDeviceStorage(s) ? s.device : 'cpu';
}

/** What Tensor.toArray() returns: a number, or arrays of them nested one level per dimension. */
export type NestedNumbers = number | NestedNumbers[];

export class Tensor {
  private _storage: Storage;
  /** The host values, or null on a device (kept beside `_storage` so `data` is one field read). */
  private _host: HostStorage | null;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  node: GradNode | null = null;
  /** Set by Module.parameters() to the dotted path ("0.weight"); optimizers key their state by it. */
  name: string | undefined;

  constructor(data: Storage, shape: Shape, requiresGrad = false) {
    const n = sizeOf(shape);
    if (data.length !== n) {
      throw new ShapeError(`Tensor: data has ${data.length} elements but shape ${fmtShape(shape)} needs ${n}`);
    }
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeError(`Tensor: invalid shape ${fmtShape(shape)}`);
    }
    this._storage = data;
    this._host = isDeviceStorage(data) ? null : data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtypeOf(data);
    this.size = n;
    this.requiresGrad = requiresGrad;
    if (arena !== null && data instanceof Float32Array && arena.owns(data)) arena.track(this);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /**
   * The values in JS memory, for host code (loops, metrics, `item()`). A tensor on a device has
   * none: this throws, naming the tensor and the two ways to its values, so every host loop that a
   * device run reaches fails where it is instead of reading stale values.
   */
  get data(): HostStorage {
    const h = this._host;
    if (h !== null) return h;
    if (this._storage === RELEASED) throw new Error(releasedMessage(this));
    throw new Error(
      `tensor ${fmtShape(this.shape)} lives on ${(this._storage as DeviceStorage).device}; read it with await t.read() or move it with await t.to('cpu')`,
    );
  }

  /**
   * The values as the kernels take them: host values or a device's storage. Replaced only by
   * `moveStorage` (Module.to moves a parameter in place, keeping the tensor that optimizers and
   * modules hold).
   */
  get storage(): Storage {
    if (this._storage === RELEASED) throw new Error(releasedMessage(this));
    return this._storage;
  }

  /**
   * Marks the tensor's values as freed by the step scope that allocated them (StorageArena): its
   * `data`, `storage` and `read()` then throw, naming the tensor, instead of reading memory that
   * later steps reuse.
   */
  _release(): void {
    this._storage = RELEASED;
    this._host = null;
  }

  /** moveStorage's setter (not for other callers: see moveStorage). */
  _setStorage(s: Storage): void {
    this._storage = s;
    this._host = isDeviceStorage(s) ? null : s;
  }

  /** 'cpu', or the name of the device backend whose storage holds the values. */
  get device(): string {
    return deviceOf(this.storage);
  }

  /**
   * The values, on any backend: a copy of `data` on the host; on a device, once every kernel queued
   * before this call has run (WebGPU's read-back is asynchronous, like PyTorch's `.item()` it waits
   * for the queue: call it a step or more after the values are computed).
   */
  async read(): Promise<HostStorage> {
    const s = this.storage;
    if (!isDeviceStorage(s)) return s.slice();
    return (await s.read()) as Float32Array;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item(): tensor of shape ${fmtShape(this.shape)} has ${this.size} elements, expected 1`);
    return this.data[0];
  }

  /**
   * Nested JS arrays, one level per dimension (a number for a 0-d tensor). The static type cannot
   * know the rank: name it as the type argument, `m.toArray<number[][]>()[1]` for a row of a matrix
   * (like a cast, it is not checked against the tensor's rank).
   */
  toArray<T extends NestedNumbers = NestedNumbers>(): T {
    const rec = (dim: number, off: number): NestedNumbers => {
      if (dim === this.shape.length) return this.data[off];
      const stride = sizeOf(this.shape.slice(dim + 1));
      const out: NestedNumbers[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(rec(dim + 1, off + i * stride));
      return out;
    };
    return rec(0, 0) as T;
  }

  /** A new leaf sharing nothing with this tensor (on the host; a device tensor: see cloneStorage in autograd). */
  clone(): Tensor {
    return new Tensor(this.data.slice() as HostStorage, this.shape);
  }

  /** The same storage, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape);
  }

  /** Mark as a leaf that collects gradients (returns this, like PyTorch's requires_grad_). */
  requireGrad(flag = true): this {
    if (this.node && flag === false) throw new Error('requireGrad(false) on a non-leaf tensor; use detach()');
    this.requiresGrad = flag;
    return this;
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/** The storage of a released tensor (Tensor._release); never handed to a kernel: `storage` throws first. */
const RELEASED: Storage = new Float32Array(0);

function releasedMessage(t: Tensor): string {
  return `tensor ${fmtShape(t.shape)} was computed in a training step or an evaluation batch whose memory was freed when it ended (fit, trainStep, evaluate, the predictions and generate free their intermediates); copy what you keep past it with t.clone() inside it`;
}

/**
 * Replaces `t`'s storage by `s` of the same length and element type (Module.to moving a parameter
 * between the host and a device); the tensor object stays the one modules and optimizers hold.
 */
export function moveStorage(t: Tensor, s: Storage): void {
  if (s.length !== t.size || dtypeOf(s) !== t.dtype)
    throw new TypeError(`moveStorage: tensor ${fmtShape(t.shape)} ${t.dtype} cannot take ${s.length} ${dtypeOf(s)} values`);
  t._setStorage(s);
}

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

const tensorSchema: SchemaOf<TensorOptions> = { dtype: oneOf('float32', 'float64'), requiresGrad: bool };
const randnSchema = { ...tensorSchema, std: num, mean: num };
const randSchema = { ...tensorSchema, low: num, high: num };

type Nested = number | readonly Nested[];

function inferShape(x: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly Nested[])[0];
  }
  return shape;
}

/** Build a tensor from a number or nested arrays: tensor([[1, 2], [3, 4]]). */
export function tensor(values: Nested, opts: TensorOptions = {}): Tensor {
  checkOptions('tensor', opts, tensorSchema);
  const dtype = opts.dtype ?? 'float32';
  if (typeof values === 'number') return fromData([values], [], opts);
  const shape = inferShape(values);
  const flat = (values as any[]).flat(Infinity) as number[];
  if (flat.length !== sizeOf(shape)) throw new ShapeError('tensor(): ragged nested array');
  return fromData(flat, shape, { ...opts, dtype });
}

/** Build a tensor from flat data and a shape; a typed array of the right dtype is copied. */
export function fromData(values: ArrayLike<number>, shape: Shape, opts: TensorOptions = {}): Tensor {
  checkOptions('fromData', opts, tensorSchema);
  const dtype = opts.dtype ?? (values instanceof Float64Array ? 'float64' : 'float32');
  const data = allocStorage(dtype, values.length);
  data.set(values);
  return new Tensor(data, shape, opts.requiresGrad ?? false);
}

export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  checkOptions('full', opts, tensorSchema);
  const data = allocStorage(opts.dtype ?? 'float32', sizeOf(shape));
  if (value !== 0) data.fill(value);
  return new Tensor(data, shape, opts.requiresGrad ?? false);
}

export const zeros = (shape: Shape, opts: TensorOptions = {}) => full(shape, 0, opts);
export const ones = (shape: Shape, opts: TensorOptions = {}) => full(shape, 1, opts);
export const scalar = (v: number, dtype: DType = 'float32') => full([], v, { dtype });

export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, { dtype: t.dtype });
}

export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, { dtype: t.dtype });
}

/** The generator a random constructor draws from: `rng`, or one drawn from the default generator when it is undefined or null. */
function generator(owner: string, rng: Rng | null | undefined): Rng {
  if (rng == null) return nextDefaultRng();
  if (typeof (rng as Partial<Rng>).nextU32 !== 'function')
    throw new TypeError(`${owner}: invalid rng ${showValue(rng)}; expected an Rng (new Rng(seed)), or nothing for the default generator`);
  return rng;
}

/**
 * Normal entries, mean + std·N(0, 1). Without `rng` (undefined or null) they come from a generator
 * drawn from the default one, which manualSeed(seed) sets, as torch.randn draws from torch's.
 */
export function randn(shape: Shape, rng?: Rng | null, opts: TensorOptions & { std?: number; mean?: number } = {}): Tensor {
  rng = generator('randn', rng);
  checkOptions('randn', opts, randnSchema);
  const t = full(shape, 0, { dtype: opts.dtype, requiresGrad: opts.requiresGrad });
  const std = opts.std ?? 1;
  const mean = opts.mean ?? 0;
  for (let i = 0; i < t.size; i++) t.data[i] = mean + std * rng.normal();
  return t;
}

/** Uniform entries in [low, high); without `rng`, from a generator drawn from the default one (see randn). */
export function rand(shape: Shape, rng?: Rng | null, opts: TensorOptions & { low?: number; high?: number } = {}): Tensor {
  rng = generator('rand', rng);
  checkOptions('rand', opts, randSchema);
  const t = full(shape, 0, { dtype: opts.dtype, requiresGrad: opts.requiresGrad });
  const low = opts.low ?? 0;
  const high = opts.high ?? 1;
  for (let i = 0; i < t.size; i++) t.data[i] = low + (high - low) * rng.uniform();
  return t;
}

/**
 * torch.arange: `arange(end)`, `arange(start, end)` or `arange(start, end, step)` (each form may end
 * with the options): start, start + step, … while short of end — ⌈(end − start)/step⌉ values (none
 * when that is ≤ 0), each start + i·step.
 */
export function arange(end: number, opts?: TensorOptions): Tensor;
export function arange(start: number, end: number, opts?: TensorOptions): Tensor;
export function arange(start: number, end: number, step: number, opts?: TensorOptions): Tensor;
export function arange(a: number, b?: number | TensorOptions, c?: number | TensorOptions, d?: TensorOptions): Tensor {
  const nums = [a, b, c].filter((v) => typeof v === 'number') as number[];
  const opts = ([b, c, d].find((v) => v !== undefined && typeof v !== 'number') ?? {}) as TensorOptions;
  checkOptions('arange', opts, tensorSchema);
  const [start, end, step] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
  for (const [name, v] of [
    ['start', start],
    ['end', end],
    ['step', step],
  ] as const)
    if (!Number.isFinite(v)) throw new RangeError(`arange: ${name} must be a finite number, got ${v}`);
  if (step === 0) throw new RangeError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const t = full([n], 0, opts);
  for (let i = 0; i < n; i++) t.data[i] = start + i * step;
  return t;
}
