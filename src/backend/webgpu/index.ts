/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend's kernels and device: `initWebGPU()` acquires an adapter and a device (Dawn
 * through the npm `webgpu` package under Node, `navigator.gpu` in a browser), `webgpuKernels(ctx)`
 * returns the kernel set over that device, shaped as `KernelSet` with `DeviceStorage` (GpuStorage)
 * in place of typed arrays, and `webgpuInfo()` reports the adapter and the counters.
 *
 *   const ctx = await initWebGPU();
 *   const k = webgpuKernels(ctx);
 *   const a = GpuStorage.from(new Float32Array([...])), out = GpuStorage.zeros('float32', n);
 *   k.unary('exp', a, out);
 *   await out.read();
 *   disposeWebGPU();          // destroys the device (Node does not exit while one is alive)
 */
import '../index.js'; // the reference backend registered first, so registering webgpu never makes it current
import { type Backend, type Extensions, registerBackend } from '../backend.js';
import type { DeviceStorage } from '../../tensor/device.js';
import type { IndexStorage, Storage } from '../../tensor/tensor.js';
import { bool, checkOptions, oneOf, spec } from '../../util/options.js';
import { GpuContext, GpuStorage, setDefaultContext } from './context.js';
import { denseOps } from './dense.js';
import { elementwiseOps } from './elementwise.js';
import { reduceOps } from './reduce.js';
import { convOps } from './conv.js';
import { poolOps } from './pool.js';
import { updateOps } from './updates.js';
import { type TunedProduct, enableAutotune, tunedProducts } from './tune.js';
import { fusedOps } from './fused.js';
import { sequenceOps } from './sequence.js';
import { joinOps } from './join.js';
import { recurrentOps } from './recurrent.js';
import { KernelProfiler, type KernelTime } from './profile.js';
import { browserGpu } from './platform-browser.js';
import { nodeGpu } from './platform-node.js';

export { GpuContext, GpuStorage } from './context.js';
export type { KernelTime } from './profile.js';

export interface WebGPUOptions {
  /** Passed to requestAdapter (default: the implementation's choice). */
  powerPreference?: 'high-performance' | 'low-power';
  /** Ask for the implementation's software (fallback) adapter. */
  forceFallbackAdapter?: boolean;
  /** Bytes of released buffers kept for reuse (default 256 MiB); 0 destroys every released buffer. */
  maxPoolBytes?: number;
  /**
   * Time each product (matmul, layer, convolution, gradient) under every tile shape the first time
   * its sizes appear, at the end of the next read, and run it under the fastest from then on
   * (PyTorch's `torch.backends.cudnn.benchmark`; default false). The values do not depend on the
   * shape; the first steps take longer. What was chosen: `webgpuInfo().autotune`.
   */
  autotune?: boolean;
  /**
   * Time every dispatch on the device (timestamp queries; PyTorch's `torch.profiler` for its CUDA
   * kernels): `webgpuProfile()` then gives each kernel's calls and milliseconds. Each dispatch runs
   * in a compute pass of its own, so a profiled step is slower; the values do not change. Needs
   * the adapter's `timestamp-query` feature (default false; `false` turns it off again).
   */
  profile?: boolean;
}

const byteCount = spec('an integer number of bytes ≥ 0', (v) => Number.isSafeInteger(v) && (v as number) >= 0);

/** A kernel argument (or result) as the device sees it: its own storage where `Backend` says `Storage` or `IndexStorage`. */
type OnDevice<T> = T extends Storage | IndexStorage ? DeviceStorage : T;
/** A `Backend` or `Extensions` method with every storage argument and result on the device. */
type OnDeviceMethod<F> = F extends (...args: infer A) => infer R ? (...args: { [I in keyof A]: OnDevice<A[I]> }) => OnDevice<R> : never;

/** The kernel set over one device: Backend's primitives and the extensions, DeviceStorage where Backend says Storage or Int32Array. */
export type WebGPUKernels = { [K in Exclude<keyof Backend, 'name'>]: OnDeviceMethod<Backend[K]> } & {
  [K in keyof Extensions]: OnDeviceMethod<Extensions[K]>;
};

const kernelSets = new WeakMap<GpuContext, WebGPUKernels>();

/** The kernels over `ctx` (one object per context). */
export function webgpuKernels(ctx: GpuContext): WebGPUKernels {
  let k = kernelSets.get(ctx);
  if (!k) {
    const conv = convOps(ctx);
    const { conv2d, convLayer, convLayerBackward, conv2dBackwardWeight, conv2dBackwardInput } = conv;
    const elementwise = elementwiseOps(ctx);
    const pool = poolOps(ctx);
    k = {
      ...denseOps(ctx),
      ...elementwise,
      ...reduceOps(ctx),
      conv2d,
      convLayer,
      convLayerBackward,
      conv2dBackwardInput,
      conv2dBackwardWeight: (x, gy, gw, g) => conv2dBackwardWeight(x, gy, gw, g),
      ...pool,
      ...fusedOps(ctx, { ...conv, ...elementwise, ...pool }),
      ...updateOps(ctx),
      ...sequenceOps(ctx),
      ...joinOps(ctx),
      ...recurrentOps(ctx),
      // batch normalisation on a device is its composite definition (src/nn/batchnorm.ts)
      batchNorm: () => false,
      batchNormBackward: () => false,
      batchNormPool: () => false,
      batchNormPoolBackward: () => false,
      // fractional max pooling reads host values (x.data); a device tensor is refused there
      fmpArgmax: () => false,
      allocDevice: (dtype, length) => GpuStorage.zeros(dtype, length, ctx),
      beginStep: () => ctx.beginStep(),
    };
    kernelSets.set(ctx, k);
  }
  return k;
}

interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

let context: GpuContext | null = null;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/** What a machine without an adapter should install or enable, for the error message. */
function installHint(node: boolean): string {
  if (!node)
    return 'use a browser with WebGPU enabled (Chrome/Edge ≥ 113, or Chromium started with its enable-unsafe-webgpu switch, which gives its SwiftShader software adapter)';
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  const drivers = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  return (
    `Dawn found no Vulkan device${drivers ? ` (VK_DRIVER_FILES=${drivers})` : ''}; on a machine without a GPU install a software Vulkan driver: ` +
    'eval "$(bash tools/lavapipe.sh)" in the descent repository (Mesa 25\'s lavapipe from Debian bookworm-backports, no root), ' +
    "or apt-get install -t bookworm-backports mesa-vulkan-drivers (Debian 12's own Mesa 22 lavapipe is refused by Dawn)"
  );
}

/** The primitives of `Backend`; every other member of the kernel set is an extension. */
const PRIMITIVES = [
  'matmul',
  'binary',
  'unary',
  'sum',
  'max',
  'logSoftmax',
  'conv2d',
  'conv2dBackwardInput',
  'conv2dBackwardWeight',
  'maxPool2d',
  'scatterPlanes',
  'avgPool2d',
  'avgPool2dBackward',
] as const satisfies readonly (keyof Backend)[];

/**
 * Registers the kernels over `ctx` as the backend 'webgpu' (without making it current: models move
 * to the device explicitly). The kernels take DeviceStorage where Backend's signatures name host
 * storage, hence the casts.
 */
function register(ctx: GpuContext): void {
  const k = webgpuKernels(ctx) as unknown as Record<string, unknown>;
  const primitives: Record<string, unknown> = { name: 'webgpu' };
  const extensions: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(k)) ((PRIMITIVES as readonly string[]).includes(name) ? primitives : extensions)[name] = f;
  registerBackend(primitives as unknown as Backend, extensions as unknown as Partial<Extensions>);
}

/** An adapter's description (vendor / architecture / device / description) and whether it is a software one (lavapipe, llvmpipe, SwiftShader, a fallback adapter). */
export function describeAdapter(adapter: GPUAdapter): { description: string; software: boolean } {
  // GPUAdapter.info (Chrome ≥ 127, Dawn) is newer than the @webgpu/types that descent's tree resolves
  const info: AdapterInfo = (adapter as { info?: AdapterInfo }).info ?? {};
  const description = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' / ') || 'unknown adapter';
  const software = /llvmpipe|lavapipe|swiftshader|software|cpu/i.test(description) || info.isFallbackAdapter === true;
  return { description, software };
}

/**
 * Acquires an adapter and a device, makes them the default for GpuStorage.from / zeros and
 * registers the backend 'webgpu' (not made current); a second call returns the same context until
 * disposeWebGPU() (turning autotune on when it asks for it). Throws one error naming what was tried and what to install when there is no
 * WebGPU or no adapter.
 */
export async function initWebGPU(opts: WebGPUOptions = {}): Promise<GpuContext> {
  checkOptions('initWebGPU', opts, {
    powerPreference: oneOf('high-performance', 'low-power'),
    forceFallbackAdapter: bool,
    maxPoolBytes: byteCount,
    autotune: bool,
    profile: bool,
  });
  if (context && !context.isDisposed) {
    if (opts.autotune) enableAutotune(context);
    if (opts.profile !== undefined) setProfiling(context, opts.profile);
    return context;
  }
  const node = isNode();
  const tried = node ? 'Dawn through the npm package "webgpu"' : 'navigator.gpu';
  const gpu = node ? await nodeGpu() : browserGpu();
  if (gpu instanceof Error) throw new Error(`initWebGPU: no WebGPU (tried ${tried}): ${gpu.message}`);
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference, forceFallbackAdapter: opts.forceFallbackAdapter });
  if (!adapter) throw new Error(`initWebGPU: no WebGPU adapter found (tried ${tried}). ${installHint(node)}`);
  const lim = adapter.limits;
  const device = await adapter.requestDevice({
    // timestamp queries, for the profiler (initWebGPU({ profile: true })), wherever the adapter has them
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(lim.maxStorageBuffersPerShaderStage, 10),
      // the backend's tiles fit WebGPU's default 16 KiB; larger ones (tools/webgpu-tiles.ts) may use what the adapter has
      maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
    },
  });
  const { description, software } = describeAdapter(adapter);
  context = new GpuContext(gpu, device, description, software, opts.maxPoolBytes);
  if (opts.autotune) enableAutotune(context);
  if (opts.profile) setProfiling(context, true);
  setDefaultContext(context);
  register(context);
  return context;
}

/** Turns the profiler on (a new one, its totals at zero) or off (queued dispatches keep their timestamps). */
function setProfiling(ctx: GpuContext, on: boolean): void {
  if (on === (ctx.profiler !== null)) return;
  if (!on) {
    ctx.flush();
    ctx.profiler = null;
    return;
  }
  if (!ctx.device.features.has('timestamp-query'))
    throw new Error(
      `initWebGPU: { profile: true } needs the adapter's timestamp-query feature, which ${ctx.adapterDescription} does not have`,
    );
  ctx.flush();
  ctx.profiler = new KernelProfiler(ctx.device);
}

/**
 * Each kernel's dispatches and device time since the profiler was turned on (or last reset), most
 * time first, once every dispatch queued so far has run and its times have been read back.
 * `reset: true` starts the totals over. Throws when the profiler is off.
 */
export async function webgpuProfile(opts: { reset?: boolean } = {}): Promise<KernelTime[]> {
  checkOptions('webgpuProfile', opts, { reset: bool });
  const profiler = context && !context.isDisposed ? context.profiler : null;
  if (!context || !profiler) throw new Error('webgpuProfile: the profiler is off; initWebGPU({ profile: true }) turns it on');
  context.flush();
  return profiler.report(opts.reset ?? false);
}

/** Destroys the default device (queued work is submitted first); initWebGPU() acquires a new one. */
export function disposeWebGPU(): void {
  context?.dispose();
  context = null;
  setDefaultContext(null);
}

/** True when initWebGPU found a hardware adapter (not lavapipe, SwiftShader or another fallback): where `auto` may pick WebGPU. */
export function isHardwareAdapter(): boolean {
  return context !== null && !context.isDisposed && !context.software;
}

/** The adapter and the counters, for logs and the benchmark. */
export function webgpuInfo(): {
  initialised: boolean;
  adapter: string;
  software: boolean;
  kernels: Record<string, number>;
  submits: number;
  reads: number;
  uploads: number;
  uploadBytes: number;
  buffers: number;
  reused: number;
  bindGroups: number;
  clears: number;
  pooledBytes: number;
  pipelines: number;
  /** The products tuned so far (kernel, sizes, tileFor's shape, the one chosen, ms per call under each); null without autotune. */
  autotune: TunedProduct[] | null;
  /** Whether the profiler times every dispatch (initWebGPU({ profile: true }); the times: webgpuProfile()). */
  profiling: boolean;
} {
  const c = context && !context.isDisposed ? context : null;
  return {
    initialised: c !== null,
    adapter: c?.adapterDescription ?? '',
    software: c?.software ?? false,
    kernels: { ...(c?.counters.kernels ?? {}) },
    submits: c?.counters.submits ?? 0,
    reads: c?.counters.reads ?? 0,
    uploads: c?.counters.uploads ?? 0,
    uploadBytes: c?.counters.uploadBytes ?? 0,
    buffers: c?.counters.buffers ?? 0,
    reused: c?.counters.reused ?? 0,
    bindGroups: c?.counters.bindGroups ?? 0,
    clears: c?.counters.clears ?? 0,
    pooledBytes: c?.pooledBytes ?? 0,
    pipelines: c?.pipelineCount ?? 0,
    autotune: c ? tunedProducts(c) : null,
    profiling: (c?.profiler ?? null) !== null,
  };
}
