/**
 * The regularizers' edits and reports for parameters that live on a device (WebGPU): each is a few
 * kernels queued where the parameter lives, with nothing read back inside a training step. Each
 * equals its host loop (callbacks.ts, penalties.ts) up to float32 rounding: the host loops work
 * in float64 and round once, these round after every kernel, and take τ, c and ηλ as float32.
 *
 *   softThresholdOn   w ← w − min(max(w, −τ), τ)           = sign(w)·max(|w| − τ, 0)
 *   maxNormOn         w_r ← w_r · c / max(‖w_r‖, c)          (1 where ‖w_r‖ ≤ c, exactly)
 *   negatedCopyInto   b ← −w                                  (a copy: negation is exact)
 *   addScaledInPlace  w ← w + k·b
 *   l1NormOn          Σ|w| over the parameters, a one-element device storage
 *   countAboveOn      #{|w| > tol}, the same (float32 counts are exact below 2²⁴ per parameter)
 *
 * Storage allocated here is the kernels' own (`Kernels.alloc`, `on`): inside a training step the
 * step scope frees it at the step's end; outside one it returns when collected.
 */
import type { Storage, Tensor } from '../tensor/tensor.js';
import { isDeviceStorage, type DeviceStorage } from '../tensor/device.js';
import { kernelsFor } from '../backend/index.js';

const f32 = (v: number) => Float32Array.of(v);

/** w ← sign(w)·max(|w| − τ, 0) in place, as w − clamp(w, −τ, τ). */
export function softThresholdOn(p: Tensor, tau: number): void {
  const k = kernelsFor(p.storage);
  const t = k.alloc('float32', p.size);
  k.backend.binary('max', p.storage, p.shape, k.on(f32(-tau)), [], t, p.shape);
  k.backend.binary('min', t, p.shape, k.on(f32(tau)), [], t, p.shape);
  k.backend.binary('sub', p.storage, p.shape, t, p.shape, p.storage, p.shape);
}

/** Each slice along dim 0 rescaled to L2 norm ≤ c, in place. */
export function maxNormOn(p: Tensor, c: number): void {
  const k = kernelsFor(p.storage);
  const rows = p.shape[0] ?? 1;
  const flat = [rows, p.size / rows];
  const sq = k.alloc('float32', p.size);
  k.backend.unary('square', p.storage, sq);
  const norm = k.alloc('float32', rows);
  k.backend.sum(sq, flat, [1], norm);
  k.backend.unary('sqrt', norm, norm);
  const cs = k.on(f32(c));
  const scale = k.alloc('float32', rows);
  k.backend.binary('max', norm, [rows, 1], cs, [], scale, [rows, 1]);
  k.backend.binary('div', cs, [], scale, [rows, 1], scale, [rows, 1]);
  k.backend.binary('mul', p.storage, flat, scale, [rows, 1], p.storage, flat);
}

/** A device storage holding −w (allocate once with `into` absent, then refill it). */
export function negatedCopyInto(p: Tensor, into?: DeviceStorage): DeviceStorage {
  const k = kernelsFor(p.storage);
  const b = into ?? (k.alloc('float32', p.size) as DeviceStorage);
  k.backend.unary('neg', p.storage, b);
  return b;
}

/** w ← w + k·b in place (b on w's device, of w's size). */
export function addScaledInPlace(p: Tensor, scale: number, b: DeviceStorage): void {
  const k = kernelsFor(p.storage);
  const t = k.alloc('float32', p.size);
  k.backend.binary('mul', b, p.shape, k.on(f32(scale)), [], t, p.shape);
  k.backend.binary('add', p.storage, p.shape, t, p.shape, p.storage, p.shape);
}

/** Sums one scalar per parameter into one device scalar. */
function total(params: readonly Tensor[], each: (p: Tensor) => Storage): DeviceStorage {
  const k = kernelsFor(...params.map((p) => p.storage));
  const out = k.alloc('float32', 1) as DeviceStorage;
  for (const p of params) k.backend.binary('add', out, [1], k.on(each(p)), [1], out, [1]);
  return out;
}

/** Σ|w| over `params` (all on one device), as a one-element device storage. */
export function l1NormOn(params: readonly Tensor[]): DeviceStorage {
  return total(params, (p) => {
    const k = kernelsFor(p.storage);
    const a = k.alloc('float32', p.size);
    k.backend.unary('abs', p.storage, a);
    const s = k.alloc('float32', 1);
    k.backend.sum(a, [p.size], [0], s);
    return s;
  });
}

/** How many weights of `params` have |w| > tol, as a one-element device storage. */
export function countAboveOn(params: readonly Tensor[], tol: number): DeviceStorage {
  return total(params, (p) => {
    const k = kernelsFor(p.storage);
    const a = k.alloc('float32', p.size);
    k.backend.unary('abs', p.storage, a);
    k.backend.binary('gt', a, [p.size], k.on(f32(tol)), [], a, [p.size]);
    const s = k.alloc('float32', 1);
    k.backend.sum(a, [p.size], [0], s);
    return s;
  });
}

/** The fraction of the weights of `params` with |w| ≤ tol, read back from the device. */
export async function nearZeroFractionOn(params: readonly Tensor[], tol: number): Promise<number> {
  const n = params.reduce((a, p) => a + p.size, 0);
  if (n === 0) return 0;
  const above = (await countAboveOn(params, tol).read())[0];
  return (n - above) / n;
}

/** True when some parameter of `params` lives on a device (the device forms above apply). */
export function onDevice(params: readonly Tensor[]): boolean {
  return params.some((p) => isDeviceStorage(p.storage));
}
