/**
 * Moving tensors between the host and a device backend (PyTorch's `.to(device)`). A device is a
 * registered backend with device storage (extension `allocDevice`, e.g. 'webgpu'); 'cpu' is the
 * host, where the current host backend (wasm, reference) runs the kernels. Moving to a device is an
 * upload, ordered with the device's queue; moving back reads, so both are asynchronous.
 */
import { Tensor, moveStorage, type HostStorage, type Storage } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { backendHint, backendNames, extensionsOf, isDeviceBackend } from '../backend/index.js';

/** 'cpu', or a registered device backend's name; anything else is an error naming the choices. */
function checkDevice(device: string, what: string): string {
  if (device === 'cpu' || isDeviceBackend(device)) return device;
  // a host backend's name means the host: its tensors are typed arrays
  if (backendNames().includes(device)) return 'cpu';
  const hint = backendHint(device);
  if (hint) throw new Error(`${what}: device "${device}" is not initialised yet; ${hint}`);
  const devices = ['cpu', ...backendNames().filter(isDeviceBackend)];
  throw new Error(`${what}: unknown device "${device}"; expected one of: ${devices.join(', ')}`);
}

/** `s`'s values as storage on `device` (a copy; `s` itself when it is there already). */
async function storageOn(s: Storage, device: string, what: string): Promise<Storage> {
  const target = checkDevice(device, what);
  const here = isDeviceStorage(s) ? s.device : 'cpu';
  if (here === target) return s;
  const values: HostStorage = isDeviceStorage(s) ? ((await s.read()) as Float32Array) : s;
  if (target === 'cpu') return values;
  if (!(values instanceof Float32Array))
    throw new TypeError(`${what}: ${target} holds float32 tensors, not float64; convert with .to('float32') first`);
  const d = extensionsOf(target).allocDevice!('float32', values.length);
  d.write(values);
  return d;
}

/** A copy of `t` on `device` (`t` itself when it is there): a new leaf, like PyTorch's `t.to(device)` of a leaf. */
export async function toDevice(t: Tensor, device: string): Promise<Tensor> {
  const s = await storageOn(t.storage, device, `to('${device}')`);
  return s === t.storage ? t : new Tensor(s, t.shape, t.requiresGrad && !t.node);
}

/** Moves `t`'s values (and its `.grad`) to `device` in place: the tensor object stays, so modules and optimizers keep it. */
export async function moveTensor(t: Tensor, device: string): Promise<void> {
  moveStorage(t, await storageOn(t.storage, device, `to('${device}')`));
  if (t.grad) t.grad = (await toDevice(t.grad, device)).requireGrad(false);
}
