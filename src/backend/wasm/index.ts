/**
 * The 'wasm' backend: WebAssembly SIMD kernels (asm/*.ts, compiled by AssemblyScript at build time
 * and embedded in kernels.generated.ts) on worker threads over one shared WebAssembly.Memory.
 *
 *   await initWasm()          compile, start workers (Node worker_threads / Web Workers), register
 *   initWasmSync()            the same without workers (one thread), usable at import time
 *   setBackend('wasm')        then every op runs on it
 *
 * Threads need SharedArrayBuffer (always in Node; in browsers only on cross-origin-isolated pages
 * and, since Atomics.wait is forbidden on a window's main thread, only inside a Web Worker);
 * elsewhere the backend runs on one thread. Relaxed SIMD (FMA) is used where the engine validates
 * it (Node 20 needs --experimental-wasm-relaxed-simd), else plain SIMD128.
 *
 * Reached through the descent/wasm and descent/node entries, never the isomorphic one (which
 * stays free of the embedded binary). What differs between Node and browsers (cores, workers,
 * whether threads may block) is in platform-node.ts and platform-browser.ts; this file picks one.
 */
import { type Backend, type Extensions, registerBackend, splitKernels } from '../backend.js';
import { referenceBackend } from '../reference.js';
import { WasmRuntime, sharedMemorySupported, type WasmOptions } from './runtime.js';
import { makeWasmOps } from './ops.js';
export { setWinogradEnabled } from './convolution.js';
import type { WasmPlatform } from './platform.js';
import { nodePlatform } from './platform-node.js';
import { browserPlatform } from './platform-browser.js';
import { bool, checkOptions, num } from '../../util/options.js';

export type { WasmOptions } from './runtime.js';

let runtime: WasmRuntime | null = null;
let backendObj: Backend | null = null;
let extensions: Partial<Extensions> = {};
let maxThreads = 1;

/** The runtime's cores, workers and threads (Node or browser); the rest of the backend is the same on both. */
const platform: WasmPlatform = isNode() ? nodePlatform : browserPlatform;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

function create(opts: WasmOptions, shared: boolean): Backend {
  if (!runtime) {
    runtime = new WasmRuntime({ shared, relaxed: opts.relaxed ?? true });
    const rt = runtime;
    const split = splitKernels(makeWasmOps(rt, () => maxThreads));
    // the primitives override the reference's; an op the kernels lack runs on the reference
    backendObj = { ...referenceBackend, ...split.primitives, name: 'wasm' };
    extensions = split.extensions;
  }
  registerBackend(backendObj!, extensions);
  return backendObj!;
}

/** Single-threaded initialisation (no workers); returns the registered backend. */
export function initWasmSync(opts: Omit<WasmOptions, 'threads'> = {}): Backend {
  checkOptions('initWasmSync', opts, { relaxed: bool });
  return create(opts, sharedMemorySupported());
}

async function defaultThreads(): Promise<number> {
  return Math.max(1, Math.min(8, await platform.cores()));
}

function canThread(): boolean {
  return sharedMemorySupported() && platform.canThread();
}

/**
 * Compiles the kernels, starts `threads − 1` workers (default: one thread per core, up to 8) and
 * registers the 'wasm' backend. Calling it again changes the thread count (workers are kept).
 */
export async function initWasm(opts: WasmOptions = {}): Promise<Backend> {
  checkOptions('initWasm', opts, { threads: num, relaxed: bool });
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1))
    throw new RangeError(`initWasm: invalid threads ${opts.threads}; expected an integer ≥ 1`);
  const want = opts.threads ?? (await defaultThreads());
  const b = create(opts, canThread());
  const rt = runtime!;
  if (want > rt.threads && rt.shared && canThread()) await rt.startWorkers(Math.min(want, 8) - rt.threads, (init) => platform.spawn(init));
  maxThreads = Math.max(1, Math.min(want, rt.threads));
  return b;
}

/**
 * Let the kernels use up to `n` threads, the calling one included, and return how many they will
 * use: at most the workers initWasm started + 1 (setWasmThreads(4) after initWasm({ threads: 2 })
 * returns 2; call initWasm({ threads: 4 }) to start more workers).
 */
export function setWasmThreads(n: number): number {
  if (!runtime) throw new Error('setWasmThreads: call `await initWasm()` first');
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setWasmThreads: invalid thread count ${n}; expected an integer ≥ 1`);
  maxThreads = Math.min(n, runtime.threads);
  runtime.resetBackoff();
  return maxThreads;
}

/** What the backend runs with, for logs and the benchmark. */
export function wasmInfo(): {
  initialised: boolean;
  threads: number;
  workers: number;
  relaxedSimd: boolean;
  sharedMemory: boolean;
  memoryBytes: number;
  copiedBytes: number;
  threadedCalls: number;
  workerParts: number;
  backoffs: number;
  batchedProducts: number;
  permutes: number;
  attentions: number;
} {
  const rt = runtime;
  return {
    initialised: rt !== null,
    threads: rt ? maxThreads : 0,
    workers: rt ? rt.threads - 1 : 0,
    relaxedSimd: rt?.relaxed ?? false,
    sharedMemory: rt?.shared ?? false,
    memoryBytes: rt ? rt.memory.buffer.byteLength : 0,
    copiedBytes: rt?.copiedBytes ?? 0,
    threadedCalls: rt?.threadedCalls ?? 0,
    workerParts: rt?.workerParts ?? 0,
    backoffs: rt?.backoffs ?? 0,
    batchedProducts: rt?.batchedProducts ?? 0,
    permutes: rt?.permutes ?? 0,
    attentions: rt?.attentions ?? 0,
  };
}

/**
 * A zeroed Float32Array that lives in WebAssembly memory, so the wasm kernels use it in place (no
 * copy). Its memory is released when the array is garbage-collected: keep the array itself alive
 * (not only a subarray of it) while you use the memory.
 */
export function wasmFloat32Array(n: number): Float32Array {
  if (!runtime) throw new Error('wasmFloat32Array: call `await initWasm()` first');
  return runtime.persistent(n);
}

/** Bytes held by live wasmFloat32Arrays (and optimizer state kept in wasm memory). */
export function wasmPersistentBytes(): number {
  return runtime ? runtime.persistentBytes() : 0;
}

/** Stops the workers (the backend stays usable on one thread). */
export function shutdownWasmWorkers(): void {
  runtime?.stopWorkers();
  maxThreads = 1;
}
