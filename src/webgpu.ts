/**
 * descent/webgpu — the WebGPU backend: tensors in GPU buffers, WGSL kernels, fused optimizer
 * updates. Runs in browsers (navigator.gpu) and in Node (Dawn, through the optional dependency
 * `webgpu`); the isomorphic `descent` entry does not include it.
 *
 *   import { initWebGPU, webgpuInfo } from 'descent/webgpu';
 *   await initWebGPU();        // registers the backend 'webgpu' (the host backend stays current); { autotune: true } times each product's tiles
 *   await model.to('webgpu');  // parameters, gradients and optimizer state on the GPU
 *   await fitAsync({ model, optimizer, train, epochs, rng });
 *   webgpuInfo();              // adapter, software or not, kernels dispatched, uploads, buffers created and reused, tiles tuned
 *   await webgpuProfile();     // with initWebGPU({ profile: true }): each kernel's calls and device milliseconds
 *   disposeWebGPU();           // destroys the device (Node does not exit while one is alive)
 */
export { disposeWebGPU, initWebGPU, webgpuInfo, webgpuProfile, type KernelTime, type WebGPUOptions } from './backend/webgpu/index.js';
