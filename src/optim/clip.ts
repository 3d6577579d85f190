/**
 * Gradient clipping — PyTorch's torch.nn.utils.clip_grad_norm_ and clip_grad_value_ (1.13).
 *
 *   clipGradNorm_(params, maxNorm, normType = 2):
 *     N ← ‖(‖g₁‖, ‖g₂‖, …)‖   (the norm of all gradients as one vector; normType ∞: max |gᵢ|)
 *     c ← min(1, maxNorm / (N + 1e-6));   every gᵢ ← c · gᵢ;   returns N
 *   clipGradValue_(params, clipValue): every component clamped to [−clipValue, clipValue]
 *
 * Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks".
 * Conventions (PyTorch's): the 1e-6 in the denominator, so a norm just at maxNorm shrinks by a
 * hair; the gradients are scaled even when c = 1 (a no-op); parameters without a gradient are
 * skipped; a non-finite total norm is an error only with errorIfNonfinite. In place, hence the "_".
 *
 * Gradients on a device (WebGPU) are clipped by kernels queued where they live, in float32 as
 * PyTorch computes on a GPU (each gradient's norm, the norm of those norms, the clamped
 * coefficient, the scaling): nothing is read back, so a training step does not wait for the device.
 * Their total norm is a device scalar; `clipGradNormAsync` resolves to it, while `clipGradNorm_`,
 * which returns it synchronously, refuses device gradients naming clipGradNormAsync. The constants
 * the kernels bind (maxNorm, 1e-6, 1, p and 1/p; ±clipValue) are uploaded once per device and value:
 * the callbacks make theirs at onTrainBegin, clipGradNormAsync and clipGradValue_ keep theirs per
 * device.
 */
import { bool, checkOptions } from '../util/options.js';
import type { Storage, Tensor } from '../tensor/tensor.js';
import { isDeviceStorage, type DeviceStorage } from '../tensor/device.js';
import { kernelsFor, type Kernels } from '../backend/index.js';
import { check } from './optimizer.js';

type ParamList = Iterable<Tensor> | Iterable<[string, Tensor]>;

function grads(params: ParamList): Tensor[] {
  const out: Tensor[] = [];
  for (const item of params) {
    const t = Array.isArray(item) ? item[1] : (item as Tensor);
    if (t.grad) out.push(t.grad);
  }
  return out;
}

function checkClipNorm(who: string, maxNorm: number, normType: number, opts: { errorIfNonfinite?: boolean }): void {
  checkOptions(who, opts, { errorIfNonfinite: bool });
  check(who, 'maxNorm', maxNorm, typeof maxNorm === 'number' && maxNorm >= 0 && Number.isFinite(maxNorm), 'a finite number ≥ 0');
  check(who, 'normType', normType, typeof normType === 'number' && normType > 0, '> 0 or Infinity');
}

const onDevice = (gs: readonly Tensor[]) => gs.some((g) => isDeviceStorage(g.storage));

export function clipGradNorm_(params: ParamList, maxNorm: number, normType = 2, opts: { errorIfNonfinite?: boolean } = {}): number {
  checkClipNorm('clipGradNorm_', maxNorm, normType, opts);
  const gs = grads(params);
  if (gs.length === 0) return 0;
  if (onDevice(gs))
    throw new TypeError(
      `clipGradNorm_: the gradients live on ${gs.map((g) => (isDeviceStorage(g.storage) ? g.storage.device : 'cpu')).find((d) => d !== 'cpu')}, where their norm cannot be read synchronously; use clipGradNormAsync (it resolves to the norm) or clipGradNormCallback in fitAsync`,
    );
  let total: number;
  if (normType === Infinity) {
    total = 0;
    for (const g of gs) for (let i = 0; i < g.size; i++) total = Math.max(total, Math.abs(g.data[i]));
  } else {
    // Sum of per-tensor norms to the p, as torch.norm(torch.stack([norm(g) for g]), p).
    let acc = 0;
    for (const g of gs) {
      let s = 0;
      const d = g.data;
      if (normType === 2) for (let i = 0; i < d.length; i++) s += d[i] * d[i];
      else for (let i = 0; i < d.length; i++) s += Math.abs(d[i]) ** normType;
      const norm = normType === 2 ? Math.sqrt(s) : s ** (1 / normType);
      acc += normType === 2 ? norm * norm : norm ** normType;
    }
    total = normType === 2 ? Math.sqrt(acc) : acc ** (1 / normType);
  }
  if (opts.errorIfNonfinite && !Number.isFinite(total)) {
    throw new RangeError(`clipGradNorm_: the total norm of order ${normType} of the gradients is ${total}`);
  }
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  for (const g of gs) {
    const d = g.data;
    for (let i = 0; i < d.length; i++) d[i] *= coef;
  }
  return total;
}

/**
 * clipGradNorm_ for gradients on any backend: on a device the clipping is queued where the
 * gradients live and the promise resolves to the total norm once the device has computed it (await
 * it after the step, or not at all: the clipping does not wait for it). With errorIfNonfinite the
 * promise rejects for a non-finite norm, but the gradients are scaled by then, as the norm is known
 * only after the kernels run.
 */
export async function clipGradNormAsync(
  params: ParamList,
  maxNorm: number,
  normType = 2,
  opts: { errorIfNonfinite?: boolean } = {},
): Promise<number> {
  checkClipNorm('clipGradNormAsync', maxNorm, normType, opts);
  const list = [...params] as Tensor[] | [string, Tensor][];
  const gs = grads(list);
  if (!onDevice(gs)) return clipGradNorm_(list, maxNorm, normType, opts);
  const k = kernelsFor(...gs.map((g) => g.storage));
  // the cache is keyed by value as a Map compares them, −0 as 0: a maxNorm of −0 (whose coefficient is −0) uploads its own
  const scalars = Object.is(maxNorm, -0) ? undefined : cachedScalars(k, clipNormConstants(maxNorm, normType));
  const total = (await clipGradNormOn(gs, maxNorm, normType, scalars).read())[0];
  if (opts.errorIfNonfinite && !Number.isFinite(total))
    throw new RangeError(`clipGradNormAsync: the total norm of order ${normType} of the gradients is ${total}`);
  return total;
}

/** The one-element constants clipGradNormOn binds for `maxNorm` and `normType`. */
function clipNormConstants(maxNorm: number, normType: number): number[] {
  return normType === Infinity || normType === 2 ? [maxNorm, 1e-6, 1] : [maxNorm, 1e-6, 1, normType, 1 / normType];
}

/**
 * clipGradNormOn's constants for `maxNorm` and `normType`, uploaded now to the device `on` lives
 * on. Made outside a training step (onTrainBegin), no step scope frees them: they live as long as
 * the map, and every clipGradNormOn given it uploads nothing.
 */
export function clipNormScalars(on: Storage, maxNorm: number, normType: number): ReadonlyMap<number, Storage> {
  return deviceScalars(on, clipNormConstants(maxNorm, normType));
}

/** clipGradValueWith's constants −clipValue and clipValue on the device `on` lives on (as clipNormScalars). */
export function clipValueScalars(on: Storage, clipValue: number): ReadonlyMap<number, Storage> {
  return deviceScalars(on, [-clipValue, clipValue]);
}

/** The most constants cachedScalars keeps per device; past it the cache starts over (a maxNorm that changes every call). */
const MAX_CACHED_SCALARS = 64;

/** cachedScalars' constants by the device kernels they were uploaded with (a device registered anew has new kernels). */
const scalarCache = new WeakMap<Kernels, Map<number, Storage>>();

/**
 * One-element float32 storages of `values` on the device of `k`, by value, kept for the next call:
 * a value is uploaded once per device. Each is allocated in a step scope of its own that keeps it,
 * so a step scope open around the call (fitAsync's, beginDeviceStep's) does not free it. A cache
 * started over drops its storages to the garbage collector, which pools their buffers once the
 * commands queued with them are submitted.
 */
function cachedScalars(k: Kernels, values: readonly number[]): ReadonlyMap<number, Storage> {
  let cache = scalarCache.get(k) ?? new Map<number, Storage>();
  const have = cache;
  const missing = values.filter((v) => !have.has(v));
  if (missing.length === 0) return cache;
  if (cache.size + missing.length > MAX_CACHED_SCALARS) cache = new Map();
  scalarCache.set(k, cache);
  const end = k.ext.beginStep?.();
  for (const v of values) if (!cache.has(v)) cache.set(v, k.on(Float32Array.of(v)));
  end?.(new Set(cache.values()));
  return cache;
}

/** One-element float32 storages of `values` on the device `on` lives on, by value. */
function deviceScalars(on: Storage, values: readonly number[]): ReadonlyMap<number, Storage> {
  const k = kernelsFor(on);
  return new Map(values.map((v) => [v, k.on(Float32Array.of(v))]));
}

/**
 * Queues clipGradNorm_'s arithmetic on the device of `gs` (all on one device) and returns the total
 * norm as a one-element device storage. A constant found in `scalars` (clipNormScalars, on that
 * device) is bound from there; any other is uploaded. Storage allocated here is the kernels' own:
 * inside a training step the step scope frees it at the step's end.
 */
export function clipGradNormOn(
  gs: readonly Tensor[],
  maxNorm: number,
  normType: number,
  scalars?: ReadonlyMap<number, Storage>,
): DeviceStorage {
  const k = kernelsFor(...gs.map((g) => g.storage));
  const scalar = (v: number) => scalars?.get(v) ?? k.on(Float32Array.of(v));
  const total = k.alloc('float32', 1);
  const inf = normType === Infinity;
  // p on the device only for a general p-norm (2 and ∞ have kernels of their own)
  const p = inf || normType === 2 ? null : scalar(normType);
  for (const g of gs) {
    // |g|^p summed (p = 2: g²), or max |g| for the ∞-norm
    const a = k.alloc('float32', g.size);
    const norm = k.alloc('float32', 1);
    if (inf) {
      k.backend.unary('abs', g.storage, a);
      k.backend.max(a, [g.size], 0, norm, null);
      k.backend.binary('max', total, [1], norm, [1], total, [1]);
      continue;
    }
    if (normType === 2) k.backend.unary('square', g.storage, a);
    else {
      k.backend.unary('abs', g.storage, a);
      k.backend.binary('pow', a, [g.size], p!, [], a, [g.size]);
    }
    k.backend.sum(a, [g.size], [0], norm);
    // ‖g‖ first and then its p-th power, as torch.norm(stack([norm(g) for g]), p) rounds
    root(norm);
    if (normType === 2) k.backend.unary('square', norm, norm);
    else k.backend.binary('pow', norm, [1], p!, [], norm, [1]);
    k.backend.binary('add', total, [1], norm, [1], total, [1]);
  }
  if (!inf) root(total);
  const coef = k.alloc('float32', 1);
  k.backend.binary('add', total, [1], scalar(1e-6), [], coef, [1]);
  k.backend.binary('div', scalar(maxNorm), [], coef, [1], coef, [1]);
  k.backend.binary('min', coef, [1], scalar(1), [], coef, [1]);
  for (const g of gs) k.backend.binary('mul', g.storage, [g.size], coef, [], g.storage, [g.size]);
  return total as DeviceStorage;

  function root(s: Storage): void {
    if (normType === 2) k.backend.unary('sqrt', s, s);
    else k.backend.binary('pow', s, [1], scalar(1 / normType), [], s, [1]);
  }
}

export function clipGradValue_(params: ParamList, clipValue: number): void {
  check('clipGradValue_', 'clipValue', clipValue, typeof clipValue === 'number' && clipValue >= 0, 'a number ≥ 0');
  // the cache is keyed by value as a Map compares them, −0 as 0: a clipValue of 0 (whose lower bound is −0) uploads its own
  clipGradValueOn(params, clipValue, (k) => (clipValue === 0 ? undefined : cachedScalars(k, [-clipValue, clipValue])));
}

/**
 * clipGradValue_ with ±clipValue bound from `scalars` (clipValueScalars, on the gradients' device)
 * where given, so a device step uploads nothing; without, each device gradient uploads both.
 */
export function clipGradValueWith(params: ParamList, clipValue: number, scalars?: ReadonlyMap<number, Storage>): void {
  clipGradValueOn(params, clipValue, () => scalars);
}

/** Clamps every gradient to [−clipValue, clipValue]; a device gradient binds the constants `scalarsOn` gives for its device's kernels, uploading any it lacks. */
function clipGradValueOn(params: ParamList, clipValue: number, scalarsOn: (k: Kernels) => ReadonlyMap<number, Storage> | undefined): void {
  for (const g of grads(params)) {
    if (isDeviceStorage(g.storage)) {
      // clamped where it lives: min(max(g, −c), c)
      const k = kernelsFor(g.storage);
      const scalars = scalarsOn(k);
      const scalar = (v: number) => scalars?.get(v) ?? k.on(Float32Array.of(v));
      k.backend.binary('max', g.storage, [g.size], scalar(-clipValue), [], g.storage, [g.size]);
      k.backend.binary('min', g.storage, [g.size], scalar(clipValue), [], g.storage, [g.size]);
      continue;
    }
    const d = g.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      d[i] = v > clipValue ? clipValue : v < -clipValue ? -clipValue : v;
    }
  }
}
