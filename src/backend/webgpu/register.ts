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
import type { WebGPUKernels } from './index.js';

export const WEBGPU = 'webgpu';

/** The backend and extensions of `kernels` (over one device; its `allocDevice` gives zero-filled GPU buffers). */
export function webgpuBackendOf(kernels: WebGPUKernels): { backend: Backend; extensions: Partial<Extensions> } {
  const { primitives, extensions } = splitKernels(kernels as unknown as KernelSet);
  return { backend: { ...(primitives as Backend), name: WEBGPU }, extensions };
}

/** Registers (or re-registers, for a new device) the backend 'webgpu' with `kernels`. */
export function registerWebGPU(kernels: WebGPUKernels): void {
  const { backend, extensions } = webgpuBackendOf(kernels);
  registerBackend(backend, extensions);
}
