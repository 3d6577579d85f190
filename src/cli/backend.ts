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

/** descent train's --backend: the device backend as well, and the fastest available by default (see selectTrainBackend). */
export const trainBackendOption: OptSpec = {
  name: 'backend',
  type: 'string',
  default: 'auto',
  choices: ['auto', 'webgpu', 'wasm', 'reference'],
  help: 'kernels: webgpu (the GPU, through WebGPU), wasm (WebAssembly SIMD, worker threads), reference (plain TypeScript, the test oracle) or auto (webgpu on a hardware GPU for a run it can take: Adam, AdamW or SGD, no resume, full batch, --on-nan skip or step checkpoints; else wasm)',
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

/** What the CLI uses of the WebGPU module: `initWebGPU` registers 'webgpu'; `isHardwareAdapter` says the adapter is a GPU, not a software one (lavapipe, SwiftShader). */
interface WebGPUModule {
  initWebGPU?: () => Promise<void>;
  isHardwareAdapter?: () => boolean;
}

/**
 * Starts the WebGPU backend (registers 'webgpu'); rejects with the backend's own message when no
 * adapter is found, or with one naming the missing module when this build has no WebGPU backend.
 * Resolves to whether the adapter is known to be hardware.
 */
async function initWebGPU(): Promise<boolean> {
  let mod: WebGPUModule;
  try {
    mod = (await import(WEBGPU_MODULE)) as WebGPUModule;
  } catch (e) {
    throw new UsageError(`--backend webgpu: this build has no WebGPU backend (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof mod.initWebGPU !== 'function') throw new UsageError('--backend webgpu: the WebGPU module has no initWebGPU()');
  await mod.initWebGPU();
  if (!backendNames().includes('webgpu')) throw new UsageError('--backend webgpu: initWebGPU() did not register a backend named "webgpu"');
  return mod.isHardwareAdapter?.() === true;
}

/** The optimizers with a fused update on the GPU (the acceleration table's Adam, AdamW and SGD entries), by the CLI's names. */
const DEVICE_OPTIMIZERS = new Set(['adam', 'adamw', 'sgd', 'gd', 'momentum', 'nesterov']);

/**
 * Why `descent train` with these options cannot run on a device (fitAsync's refusals and the
 * optimizers without a device update), or null. --backend auto then runs wasm.
 */
export function deviceRefusal(o: Record<string, unknown>, resuming: boolean): string | null {
  if (resuming) return 'resuming';
  if (o.fullBatch) return '--full-batch';
  if (o.onNan === 'skip') return '--on-nan skip';
  if (typeof o.checkpointEvery === 'string' && /step/.test(o.checkpointEvery)) return '--checkpoint-every in steps';
  if (!DEVICE_OPTIMIZERS.has(String(o.optimizer).toLowerCase())) return `--optimizer ${o.optimizer}`;
  // penalties and constraints read the weights on the host (their reports, proximal steps, norms)
  for (const flag of ['l1', 'l2', 'elasticNet', 'l1Proximal', 'maxNorm', 'decoupledDecay', 'dropconnect'])
    if (o[flag] !== undefined) return `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  // fractional max pooling and DropConnect draw and apply their pools and masks on the host
  if (/fmp|dropconnect/i.test(String(o.model))) return `--model ${o.model}`;
  return null;
}

/**
 * descent train's backend: { host, device }. The host backend (wasm, else reference) becomes current
 * and runs everything outside the model; `device` is 'webgpu' when the model trains there (moved
 * with Module.to, trained by fitAsync), else null. 'auto' takes webgpu when it starts on a hardware
 * adapter and the run can go there (`eligible`), else wasm: a software adapter is slower than wasm.
 */
export async function selectTrainBackend(name: string, eligible = true): Promise<{ host: string; device: string | null; runs: string }> {
  // a device backend registered in this process (a program embedding the CLI, the tests' emulated device)
  if (name !== 'webgpu' && isDeviceBackend(name)) return { host: await selectBackend('wasm'), device: name, runs: name };
  if (name !== 'webgpu' && name !== 'auto') {
    const host = await selectBackend(name);
    return { host, device: null, runs: host };
  }
  const host = await selectBackend('wasm');
  if (name === 'auto' && !eligible) return { host, device: null, runs: host };
  let hardware: boolean;
  try {
    hardware = await initWebGPU();
  } catch (e) {
    if (name === 'webgpu') throw e instanceof UsageError ? e : new UsageError(`--backend webgpu: ${(e as Error).message}`);
    return { host, device: null, runs: host };
  }
  if (name === 'auto' && !hardware) return { host, device: null, runs: host };
  return { host, device: 'webgpu', runs: 'webgpu' };
}
