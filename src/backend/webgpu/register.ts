/**
 * The WebGPU kernels as a registered device backend named 'webgpu': its primitives are the
 * `Backend` the core dispatches to whenever an operand lives on the GPU (`kernelsFor`), and its
 * extensions include `allocDevice`, whose presence makes it a device backend (`isDeviceBackend`).
 * Registering it does not make it current: the host backend (wasm) stays current, and models move
 * to the GPU with `await model.to('webgpu')`.
 *
 * The kernels are typed against `DeviceStorage` where `Backend` says `Storage` (or `Int32Array`);
 * the core hands a device backend only its own storage (host operands are uploaded first through
 * `allocDevice` + `write`), so the kernel set serves as a `Backend` as it is.
 */
// through the backends' index, which registers the reference backend first (the first registered becomes current)
import { registerBackend, splitKernels, type Backend, type Extensions, type KernelSet } from '../index.js';
import type { DeviceStorage } from '../../tensor/device.js';
import { type GpuContext, GpuStorage } from './context.js';
import type { WebGPUKernels } from './index.js';

export const WEBGPU = 'webgpu';

/** The backend and extensions over `ctx`'s kernels, with `allocDevice` (zero-filled GPU buffers) added. */
export function webgpuBackendOf(ctx: GpuContext, kernels: WebGPUKernels): { backend: Backend; extensions: Partial<Extensions> } {
  const set = {
    ...kernels,
    allocDevice: (dtype: 'float32' | 'int32', length: number): DeviceStorage => GpuStorage.zeros(dtype, length, ctx),
  } as unknown as KernelSet;
  const { primitives, extensions } = splitKernels(set);
  return { backend: { ...(primitives as Backend), name: WEBGPU }, extensions };
}

/** Registers (or re-registers, for a new device) the backend 'webgpu' over `ctx`. */
export function registerWebGPU(ctx: GpuContext, kernels: WebGPUKernels): void {
  const { backend, extensions } = webgpuBackendOf(ctx, kernels);
  registerBackend(backend, extensions);
}
