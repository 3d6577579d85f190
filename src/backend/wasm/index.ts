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
 */
import { type Backend, type Extensions, registerBackend, registerBackendHint } from '../backend.js';
import { referenceBackend } from '../reference.js';
import { WasmRuntime, sharedMemorySupported, type WasmOptions } from './runtime.js';
import { makeWasmKernels } from './kernels.js';
export { setWinogradEnabled } from './kernels.js';
import type { WorkerInit } from './protocol.js';
import { bool, checkOptions, num } from '../../util/options.js';

export type { WasmOptions } from './runtime.js';

let runtime: WasmRuntime | null = null;
let backendObj: Backend | null = null;
let extensions: Partial<Extensions> = {};
let maxThreads = 1;

registerBackendHint('wasm', 'call `await initWasm()` (or `initWasmSync()` for one thread) first');

/**
 * The parts of node:os and node:worker_threads used here, typed locally: this module is isomorphic,
 * so it type-checks without Node's type declarations (the lab's browser build has none).
 */
interface NodeOs {
  availableParallelism(): number;
}
interface NodeWorker {
  once(event: 'message' | 'error' | 'exit', listener: (arg: unknown) => void): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  removeAllListeners(event: string): unknown;
  unref(): void;
  terminate(): unknown;
}
interface NodeWorkerThreads {
  Worker: new (url: URL, options: { workerData: unknown }) => NodeWorker;
}

/** A Node built-in, imported by a computed name so bundlers for the browser leave it alone. */
export function nodeImport(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

function create(opts: WasmOptions, shared: boolean): Backend {
  if (!runtime) {
    runtime = new WasmRuntime({ shared, relaxed: opts.relaxed ?? true });
    const rt = runtime;
    const { allocLike, zero, linear, linearBackward, convLayer, convLayerBackward, convPoolLayer, convPoolLayerBackward, adamStep, sgdStep,
      batchUpdates, ...primitives } = makeWasmKernels(rt, () => maxThreads);
    // the primitives override the reference's; an op the kernels lack runs on the reference
    backendObj = { ...referenceBackend, ...primitives, name: 'wasm' };
    extensions = { allocLike, zero, linear, linearBackward, convLayer, convLayerBackward, convPoolLayer, convPoolLayerBackward, adamStep, sgdStep, batchUpdates };
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
  if (isNode()) {
    const os = (await nodeImport('node:os')) as NodeOs;
    return Math.max(1, Math.min(8, os.availableParallelism()));
  }
  const hc = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(8, hc));
}

function canThread(): boolean {
  if (!sharedMemorySupported()) return false;
  if (isNode()) return true;
  // browsers: shared memory only when cross-origin isolated; no Atomics.wait on a window's main thread
  const g = globalThis as { crossOriginIsolated?: boolean; window?: unknown; Worker?: unknown };
  return g.crossOriginIsolated === true && g.window === undefined && typeof g.Worker === 'function';
}

async function spawn(init: WorkerInit): Promise<{ terminate(): unknown }> {
  const url = new URL('./worker.js', import.meta.url);
  if (isNode()) {
    const { Worker } = (await nodeImport('node:worker_threads')) as NodeWorkerThreads;
    const w = new Worker(url, { workerData: init });
    await new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`wasm backend: kernel worker exited with code ${code} while starting`)));
    });
    w.removeAllListeners('exit');
    w.removeAllListeners('error');
    w.on('error', () => {});
    w.unref(); // an idle pool must not keep the process alive
    return w;
  }
  const W = (globalThis as unknown as { Worker: new (u: URL, o: object) => { postMessage(m: unknown): void; terminate(): void; onmessage: unknown; onerror: unknown } }).Worker;
  const w = new W(url, { type: 'module' });
  await new Promise<void>((resolve, reject) => {
    w.onmessage = () => resolve();
    w.onerror = (e: unknown) => reject(new Error(`wasm backend: kernel worker failed to start: ${String((e as { message?: string }).message ?? e)}`));
    w.postMessage(init);
  });
  return w;
}

/**
 * Compiles the kernels, starts `threads − 1` workers (default: one thread per core, up to 8) and
 * registers the 'wasm' backend. Calling it again changes the thread count (workers are kept).
 */
export async function initWasm(opts: WasmOptions = {}): Promise<Backend> {
  checkOptions('initWasm', opts, { threads: num, relaxed: bool });
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) throw new RangeError(`initWasm: invalid threads ${opts.threads}; expected an integer ≥ 1`);
  const want = opts.threads ?? (await defaultThreads());
  const b = create(opts, canThread());
  const rt = runtime!;
  if (want > rt.threads && rt.shared && canThread()) await rt.startWorkers(Math.min(want, 8) - rt.threads, spawn);
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
export function wasmInfo(): { initialised: boolean; threads: number; workers: number; relaxedSimd: boolean; sharedMemory: boolean; memoryBytes: number; copiedBytes: number; threadedCalls: number; workerParts: number; backoffs: number } {
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
