/**
 * The CLI's --backend option. Every command takes 'wasm' (WebAssembly SIMD on worker threads, the
 * default) or 'reference'; `descent train` also takes 'webgpu' (the model on the GPU, trained by
 * fitAsync) and 'auto' (its default: the fastest available — webgpu on a hardware adapter for a
 * run it can take, else wasm), and prints which backend runs and why.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setBackend, backendNames, isDeviceBackend } from '../backend/index.js';
import { initWasm } from '../backend/wasm/index.js';
import { UsageError, type OptSpec } from './args.js';
import { resolveCliModel } from './model.js';

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
  help: 'kernels: webgpu (the GPU, through WebGPU), wasm (WebAssembly SIMD, worker threads), reference (plain TypeScript, the test oracle) or auto (webgpu on a hardware GPU for a run it can take: Adam, AdamW, SGD, RMSprop, Adagrad or Adadelta, no full batch; else wasm)',
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

/** The part of the WebGPU module the CLI uses. */
interface WebGPUModule {
  initWebGPU?: (opts?: { autotune?: boolean }) => Promise<unknown>;
  disposeWebGPU?: () => void;
  webgpuInfo?: () => { adapter: string; software: boolean };
}

/**
 * Starts the WebGPU backend (registers 'webgpu') and returns its module; rejects with the backend's
 * own message when no adapter is found, or with one naming the missing module when this build has
 * no WebGPU backend.
 */
async function initWebGPU(autotune: boolean): Promise<WebGPUModule> {
  let mod: WebGPUModule;
  try {
    mod = (await import(WEBGPU_MODULE)) as WebGPUModule;
  } catch (e) {
    throw new UsageError(`--backend webgpu: this build has no WebGPU backend (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof mod.initWebGPU !== 'function') throw new UsageError('--backend webgpu: the WebGPU module has no initWebGPU()');
  await mod.initWebGPU({ autotune });
  if (!backendNames().includes('webgpu')) throw new UsageError('--backend webgpu: initWebGPU() did not register a backend named "webgpu"');
  return mod;
}

/**
 * The WebGPU adapter of this machine, or why there is none, asked in a child process
 * (webgpu-probe.ts): Dawn prints native messages on stderr and holds memory and threads, which a
 * run that ends up on wasm should not get. About 0.3 s.
 */
export function probeWebGPU(): { adapter?: string; software?: boolean; error?: string; noAnswer?: true } {
  const probe = fileURLToPath(new URL('./webgpu-probe.js', import.meta.url));
  const r = spawnSync(process.execPath, [probe], { encoding: 'utf8', timeout: 60_000 });
  const line = r.stdout
    ?.trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  // noAnswer: the probe itself failed (not found, killed, timed out), which says nothing of the adapter
  if (!line) return { error: `the WebGPU probe ended with ${r.error?.message ?? `exit status ${r.status}`}`, noAnswer: true };
  return JSON.parse(line) as { adapter?: string; software?: boolean; error?: string };
}

/** The optimizers with a fused update on the GPU (the acceleration table's Adam, AdamW, SGD, RMSprop, Adagrad and Adadelta entries), by the CLI's names. */
const DEVICE_OPTIMIZERS = new Set(['adam', 'adamw', 'sgd', 'gd', 'momentum', 'nesterov', 'rmsprop', 'adagrad', 'adadelta']);

/**
 * The optimizers without a fused update on the GPU whose rule Optimizer.stepAsync runs on the host
 * for parameters there (each step reads the parameters and gradients back and writes the update):
 * the rule-based ones whose step is the Optimizer's own (not the wrappers, the closures, the
 * group-adaptive ones, nor Schedule-Free, which evaluates at weights it swaps on the host).
 */
const HOST_STEP_OPTIMIZERS = new Set(['adamax', 'nadam', 'radam', 'lion', 'adafactor', 'rprop', 'asgd', 'muon', 'adan', 'soap']);

/** Whether --optimizer updates parameters on the GPU by its rule on the host (see HOST_STEP_OPTIMIZERS). */
export function updatesOnHost(o: Record<string, unknown>): boolean {
  return HOST_STEP_OPTIMIZERS.has(String(o.optimizer).toLowerCase());
}

/**
 * Why `descent train` with these options cannot run on a device (fitAsync's refusals and the
 * optimizers without a device update), or null. --backend auto then runs wasm. Resuming, step
 * checkpoints, --on-nan skip, --swa, --ema and --snapshots run on a device (fitRunAsync takes them).
 * With `hostSteps` (an explicit --backend webgpu) an optimizer whose rule runs on the host for
 * parameters on the GPU (updatesOnHost) is taken; auto leaves such a run on wasm, where it is faster.
 */
export function deviceRefusal(o: Record<string, unknown>, hostSteps = false): string | null {
  if (o.fullBatch) return '--full-batch';
  if (!DEVICE_OPTIMIZERS.has(String(o.optimizer).toLowerCase()) && !(hostSteps && updatesOnHost(o))) return `--optimizer ${o.optimizer}`;
  if (o.dropconnect !== undefined) return '--dropconnect';
  if (hostLayers(String(o.model))) return `--model ${o.model}`;
  return null;
}

/** Layers that run on the host only: fractional max pooling and DropConnect draw and apply their pools and masks there. */
const HOST_LAYERS = new Set(['fmp', 'dropconnect']);

/** Whether the model --model names has a host-only layer, read from its canonical spec (a .json file's layers too, aliases resolved). */
function hostLayers(model: string): boolean {
  let spec: string;
  try {
    spec = resolveCliModel(model).name;
  } catch (e) {
    // a --model that does not resolve is refused by the run itself, with its own message
    if (e instanceof UsageError) return false;
    throw e;
  }
  return spec.split(/[,[\];]/).some((token) => HOST_LAYERS.has(token.split(':')[0].trim()));
}

/** The backend a run's model line names: the selection's label, and on a device that the optimizer updates on the host where it does (updatesOnHost). */
export function runLabel(sel: TrainBackend, o: Record<string, unknown>): string {
  return sel.device && updatesOnHost(o)
    ? `${sel.label}; --optimizer ${o.optimizer} updates on the host: each step reads the parameters and gradients back`
    : sel.label;
}

/** What descent train runs on; `label` is what its model line prints after "backend" (the name, and why or where). */
export interface TrainBackend {
  host: string;
  device: string | null;
  runs: string;
  label: string;
  /** Releases the device (Node does not exit while a WebGPU device is alive); a no-op on the host. */
  release(): void;
}

const noRelease = () => {};

/**
 * descent train's backend. The host backend (wasm, else reference) becomes current and runs
 * everything outside the model; `device` is 'webgpu' when the model trains there (moved with
 * Module.to, trained by fitAsync), else null. 'auto' takes the fastest available: webgpu on a
 * hardware adapter for a run it can take (`eligible`: true, or false or the reason why not, from
 * deviceRefusal), else wasm — where WebGPU does not start or its only adapter is a software one
 * (lavapipe, llvmpipe, SwiftShader), which is slower than wasm's SIMD on the same CPU. `autotune`:
 * the device times each product's tile shapes (initWebGPU's option).
 */
export async function selectTrainBackend(name: string, eligible: boolean | string = true, autotune = false): Promise<TrainBackend> {
  // a device backend registered in this process (a program embedding the CLI, the tests' emulated device)
  if (name !== 'webgpu' && isDeviceBackend(name))
    return { host: await selectBackend('wasm'), device: name, runs: name, label: name, release: noRelease };
  if (name !== 'webgpu' && name !== 'auto') {
    const host = await selectBackend(name);
    return { host, device: null, runs: host, label: host, release: noRelease };
  }
  const host = await selectBackend('wasm');
  if (name === 'auto') {
    const onHost = (why: string): TrainBackend => ({ host, device: null, runs: host, label: `${host} (auto: ${why})`, release: noRelease });
    if (eligible !== true) return onHost(typeof eligible === 'string' ? `${eligible} runs on the host` : 'this run runs on the host');
    const probe = probeWebGPU();
    if (probe.adapter === undefined) return onHost('no WebGPU adapter');
    if (probe.software) return onHost(`the WebGPU adapter is a software one, ${probe.adapter}, slower than wasm on this CPU`);
  } else {
    // an explicit webgpu asks the child first too: without an adapter, Dawn's native stderr lines
    // stay in the child and the refusal is the one line; a probe without an answer leaves it to initWebGPU
    const probe = probeWebGPU();
    if (probe.adapter === undefined && !probe.noAnswer) throw new UsageError(`--backend webgpu: ${probe.error}`);
  }
  let mod: WebGPUModule;
  try {
    mod = await initWebGPU(autotune);
  } catch (e) {
    if (name === 'webgpu') throw e instanceof UsageError ? e : new UsageError(`--backend webgpu: ${(e as Error).message}`);
    return { host, device: null, runs: host, label: `${host} (auto: WebGPU did not start: ${(e as Error).message})`, release: noRelease };
  }
  const info = mod.webgpuInfo?.() ?? { adapter: 'unknown adapter', software: false };
  const release = () => mod.disposeWebGPU?.();
  const label = `webgpu (${info.adapter}${info.software ? ', software adapter' : ''}${autotune ? ', tiles autotuned' : ''})`;
  return { host, device: 'webgpu', runs: 'webgpu', label, release };
}
