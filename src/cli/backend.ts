/**
 * The CLI's --backend option. Every command takes 'wasm' (WebAssembly SIMD on worker threads, the
 * default) or 'reference'; `descent train` also takes 'webgpu' (the model on the GPU, trained by
 * fitAsync) and 'auto' (its default: webgpu where an adapter exists, else wasm), and prints which
 * backend runs.
 */
import { setBackend, backendNames, isDeviceBackend } from '../backend/index.js';
import { initWasm } from '../backend/wasm/index.js';
import { UsageError, type OptSpec } from './args.js';

export const backendOption: OptSpec = {
  name: 'backend',
  type: 'string',
  default: 'wasm',
  choices: ['wasm', 'reference'],
  help: 'kernels: wasm (WebAssembly SIMD, worker threads) or reference (plain TypeScript, the test oracle)',
};

/** descent train's --backend: the device backend as well, and the fastest available by default. */
export const trainBackendOption: OptSpec = {
  name: 'backend',
  type: 'string',
  default: 'auto',
  choices: ['auto', 'webgpu', 'wasm', 'reference'],
  help: 'kernels: webgpu (the GPU, through WebGPU), wasm (WebAssembly SIMD, worker threads), reference (plain TypeScript, the test oracle) or auto (webgpu where an adapter exists, else wasm)',
};

export async function selectBackend(name: string): Promise<string> {
  if (name === 'wasm') await initWasm();
  if (!backendNames().includes(name))
    throw new UsageError(`--backend: unknown backend "${name}"; expected one of ${backendNames().join(', ')}`);
  setBackend(name);
  return name;
}

/** The WebGPU backend's module, loaded only when asked for (Dawn is an optional dependency). */
const WEBGPU_MODULE = '../backend/webgpu/index.js';

/**
 * Starts the WebGPU backend (registers 'webgpu'); rejects with the backend's own message when no
 * adapter is found, or with one naming the missing module when this build has no WebGPU backend.
 */
async function initWebGPU(): Promise<void> {
  let mod: { initWebGPU?: () => Promise<void> };
  try {
    mod = (await import(WEBGPU_MODULE)) as { initWebGPU?: () => Promise<void> };
  } catch (e) {
    throw new UsageError(`--backend webgpu: this build has no WebGPU backend (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof mod.initWebGPU !== 'function') throw new UsageError('--backend webgpu: the WebGPU module has no initWebGPU()');
  await mod.initWebGPU();
  if (!backendNames().includes('webgpu')) throw new UsageError('--backend webgpu: initWebGPU() did not register a backend named "webgpu"');
}

/**
 * descent train's backend: { host, device }. The host backend (wasm, else reference) becomes current
 * and runs everything outside the model; `device` is 'webgpu' when the model trains there (moved
 * with Module.to, trained by fitAsync), else null. 'auto' takes webgpu when it starts, else wasm.
 */
export async function selectTrainBackend(name: string): Promise<{ host: string; device: string | null; runs: string }> {
  // a device backend registered in this process (a program embedding the CLI, the tests' emulated device)
  if (name !== 'webgpu' && isDeviceBackend(name)) return { host: await selectBackend('wasm'), device: name, runs: name };
  if (name !== 'webgpu' && name !== 'auto') {
    const host = await selectBackend(name);
    return { host, device: null, runs: host };
  }
  const host = await selectBackend('wasm');
  try {
    await initWebGPU();
  } catch (e) {
    if (name === 'webgpu') throw e instanceof UsageError ? e : new UsageError(`--backend webgpu: ${(e as Error).message}`);
    return { host, device: null, runs: host };
  }
  return { host, device: 'webgpu', runs: 'webgpu' };
}
