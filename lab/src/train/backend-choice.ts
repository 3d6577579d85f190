/**
 * Where the training view's network trains (the `backend` setting): 'wasm' (WebAssembly SIMD, the
 * worker's host backend), 'webgpu' (the model on the GPU through navigator.gpu, trained by
 * TrainSession.nextOnDevice), or 'auto': WebGPU only on a hardware adapter — a software one
 * (SwiftShader, llvmpipe) is slower than wasm on the same CPU. A run that the GPU path cannot
 * train (an optimizer without a fused GPU update, a full-batch step, which reads its loss inside
 * the step) trains on wasm, and the note says why; so does a `backend=webgpu` without an adapter.
 *
 * The WebGPU module is imported when first asked for, so a page that never uses it does not load it.
 */
import type { TrainConfig } from './config.js';

export interface BackendChoice {
  /** 'webgpu' when the model trains on the GPU, null for the host (wasm). */
  device: 'webgpu' | null;
  /** The GPU adapter's description (device 'webgpu'). */
  adapter?: string;
  /** Why a run asked for the GPU trains on wasm. */
  note?: string;
}

/** The lab's optimizers whose update runs on the GPU (the fused Adam, SGD, RMSprop and Adagrad updates). */
const GPU_OPTIMIZERS: ReadonlySet<string> = new Set(['sgd', 'momentum', 'nesterov', 'adam', 'rmsprop', 'adagrad']);

/** Why the GPU path cannot train `c`, or null. */
export function gpuUnsupported(c: TrainConfig): string | null {
  if (c.optimizer === 'lbfgs' || c.batch >= c.train) return 'a full-batch step reads its loss inside the step, which the GPU path does not';
  if (!GPU_OPTIMIZERS.has(c.optimizer))
    return `${c.optimizer} has no fused update on the GPU (sgd, momentum, nesterov, adam, rmsprop and adagrad have)`;
  if (c.reg === 'dropconnect') return 'DropConnect draws its masks on the host inside the layer, which the GPU path does not';
  if (c.pool === 'fmp') return 'fractional max pooling draws and applies its regions on the host';
  return null;
}

interface Gpu {
  adapter: string;
  software: boolean;
}
let started: Promise<Gpu | Error> | null = null;

/** Starts WebGPU once (the adapter and device are kept for every later run); an Error when it cannot start. */
function startGpu(): Promise<Gpu | Error> {
  started ??= (async () => {
    try {
      const m = await import('../../../src/backend/webgpu/index.js');
      await m.initWebGPU();
      const info = m.webgpuInfo();
      // on a GPU each product's tile is timed there at its first read (the values do not change);
      // on a software adapter the timings would be the CPU's, and take long
      if (!info.software) await m.initWebGPU({ autotune: true });
      return { adapter: info.adapter, software: info.software };
    } catch (e) {
      return e as Error;
    }
  })();
  return started;
}

/** The backend a run with settings `c` trains on. */
export async function chooseBackend(c: TrainConfig): Promise<BackendChoice> {
  if (c.backend === 'wasm') return { device: null };
  const hasGpu = typeof navigator !== 'undefined' && 'gpu' in navigator && (navigator as { gpu?: unknown }).gpu != null;
  if (c.backend === 'auto' && !hasGpu) return { device: null };
  const g = await startGpu();
  if (g instanceof Error)
    return { device: null, ...(c.backend === 'webgpu' ? { note: `backend=webgpu: ${g.message}; this run trains on wasm` } : {}) };
  if (c.backend === 'auto' && g.software) return { device: null };
  const why = gpuUnsupported(c);
  if (why) return { device: null, note: `backend=${c.backend}: ${why}; this run trains on wasm` };
  return { device: 'webgpu', adapter: g.adapter };
}
