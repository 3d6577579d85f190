/**
 * The WebAssembly side of the wasm backend: one instance of the kernels on one linear memory, a
 * transient arena in that memory for the operands of each kernel call, and (optionally) a pool of
 * workers that run slices of a kernel on the same (shared) memory.
 *
 * Memory layout: [0, heapBase) kernels' static data · control block (one slot per worker) ·
 * persistent blocks (wasmFloat32Array, parameters and optimizer state, a step scope's arrays) ·
 * transient arena, reset at every kernel call. A kernel call copies the operands that are JS typed
 * arrays into the arena and its result out; a typed array that lives in this memory is used in
 * place — inside a training step's scope (beginScope) that is every sizeable array the step makes.
 */
import * as bins from './kernels.generated.js';
import type { KernelExports } from './abi.generated.js';
import {
  CTL_BYTES,
  MAX_ARGS,
  MAX_PARTS,
  ARGS_BYTE,
  SEQ,
  SEQ_SLEEPERS,
  TICKET,
  DONE,
  DONE_SLEEPERS,
  FN,
  NARGS,
  ERROR,
  KERNEL_FNS,
  runParts,
  spinThenWait,
  ticket,
  wake,
  type KernelFn,
  type WorkerInit,
  type WasmMemoryHandle,
  type WasmModuleHandle,
} from './protocol.js';

export type { KernelExports } from './abi.generated.js';
/** A kernel's arguments, as the compiler declares them (abi.generated.ts). */
export type KernelArgs<F extends keyof KernelExports> = Parameters<KernelExports[F]>;

const PAGE = 65536;
const MAX_PAGES = 16384; // 1 GiB: shared memory needs a maximum, and must match the compiled limit

export interface WasmOptions {
  /**
   * Threads in all, the calling one included: initWasm starts `threads − 1` workers (default: one
   * thread per core, at most 8; 1 = no workers). More than 8, or threads where the runtime has no
   * shared memory, are not available: wasmInfo().threads says how many are used.
   */
  threads?: number;
  /** Use relaxed SIMD (fused multiply-add) when the engine supports it (default true). */
  relaxed?: boolean;
}

function decode(b64: string): Uint8Array {
  if (typeof atob === 'function') {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  throw new Error('wasm backend: no base64 decoder (atob) in this environment');
}

export function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

export class WasmRuntime {
  readonly memory: WasmMemoryHandle;
  readonly module: WasmModuleHandle;
  readonly k: KernelExports;
  readonly shared: boolean;
  readonly relaxed: boolean;
  /** Views over the whole memory; rebuilt after every grow. */
  f32!: Float32Array;
  i32!: Int32Array;
  f64!: Float64Array;
  private readonly ctl: number;
  private persistTop: number;
  private top = 0;
  private workers: { terminate(): unknown }[] = [];
  private seq = 0;
  /** Moving average of the share of a threaded call spent waiting for workers. */
  private waitShare = 0;
  /** Calls left to run on this thread alone (back-off after workers were late). */
  private soloCalls = 0;
  private readonly fns: ((...a: number[]) => void)[];
  /** Buffers of this memory handed out in views (a shared memory's buffer object changes on grow). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  readonly gemmScratch: number;
  /** Bytes copied between JS typed arrays and WebAssembly memory so far (for the profile). */
  copiedBytes = 0;
  /** Kernel calls split over threads, parts the workers ran, and times the back-off below started. */
  threadedCalls = 0;
  workerParts = 0;
  backoffs = 0;
  /** batchedMatmul calls served by one gemmBatch call (dense.ts). */
  batchedProducts = 0;
  /** permute calls served by the permute kernel (layout.ts). */
  permutes = 0;
  /** attention and attentionBackward calls (attention.ts). */
  attentions = 0;

  constructor(opts: { shared: boolean; relaxed: boolean }) {
    const useRelaxed = opts.relaxed && WebAssembly.validate(decode(opts.shared ? bins.relaxedShared : bins.relaxed) as BufferSource);
    const bytes = decode(opts.shared ? (useRelaxed ? bins.relaxedShared : bins.simdShared) : useRelaxed ? bins.relaxed : bins.simd);
    this.shared = opts.shared;
    this.relaxed = useRelaxed;
    const module = new WebAssembly.Module(bytes as BufferSource);
    const memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: opts.shared } as WebAssembly.MemoryDescriptor);
    this.module = module;
    this.memory = memory;
    const inst = new WebAssembly.Instance(module, {
      env: {
        memory,
        abort: () => {
          throw new Error('wasm kernel abort');
        },
      },
    });
    this.k = inst.exports as unknown as KernelExports;
    this.ctl = align(this.k.heapBase(), 64);
    this.persistTop = align(this.ctl + CTL_BYTES, 64);
    this.fns = KERNEL_FNS.map((name) => this.k[name] as unknown as (...a: number[]) => void);
    this.gemmScratch = this.k.gemmScratchBytes();
    this.refreshViews();
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  private refreshViews(): void {
    const buf = this.memory.buffer;
    this.buffers.add(buf);
    this.f32 = new Float32Array(buf);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
  }

  /** Makes sure bytes [0, end) exist. */
  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new RangeError(
          `wasm backend: a kernel needs ${(end / 2 ** 20).toFixed(0)} MiB of WebAssembly memory, more than the ${(MAX_PAGES * PAGE) / 2 ** 20} MiB maximum`,
        );
      }
      this.memory.grow(pages);
    }
    if (this.f32.buffer.byteLength < end) this.refreshViews();
  }

  /** Starts a kernel call: forgets every transient allocation. */
  reset(): void {
    this.top = this.persistTop;
  }

  /** A transient block of `bytes` (64-byte aligned), valid until the next reset(). */
  alloc(bytes: number): number {
    const p = align(this.top, 64);
    this.top = p + bytes;
    this.ensure(this.top);
    return p;
  }

  /** True if `a` is a view into this memory (then it can be used in place). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /** Address of `a` in linear memory: in place if it lives there, else a transient copy. */
  put(a: Float32Array): number {
    if (this.owns(a)) return a.byteOffset;
    const p = this.alloc(a.length * 4);
    this.f32.set(a, p >> 2);
    this.copiedBytes += a.length * 4;
    return p;
  }

  /** Address where a kernel may write `out` (in place if it lives in this memory). */
  outPtr(out: Float32Array): number {
    return this.owns(out) ? out.byteOffset : this.alloc(out.length * 4);
  }

  /** Copies a kernel's result at `p` back into `out` (no-op when it was written in place). */
  take(p: number, out: Float32Array): void {
    if (this.owns(out) && out.byteOffset === p) return;
    out.set(this.f32.subarray(p >> 2, (p >> 2) + out.length));
    this.copiedBytes += out.length * 4;
  }

  /** Freed persistent blocks, reused first-fit. */
  private readonly freeBlocks: { p: number; bytes: number }[] = [];
  private readonly finalizer =
    typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<{ p: number; bytes: number }>((b) => this.release(b)) : null;

  /**
   * A block of `bytes` (a multiple of 64) for an array that outlives kernel calls: the best-fitting
   * free block, else one at the top; null when the top would pass `limit`.
   */
  private block(bytes: number, limit = Number.POSITIVE_INFINITY): number | null {
    // best fit: the smallest free block that holds it (freed parameters, state and a step's
    // intermediates come back in the same sizes)
    let i = -1;
    for (let j = 0; j < this.freeBlocks.length; j++) {
      const b = this.freeBlocks[j];
      if (b.bytes >= bytes && (i < 0 || b.bytes < this.freeBlocks[i].bytes)) i = j;
    }
    if (i >= 0) {
      const b = this.freeBlocks[i];
      const p = b.p;
      if (b.bytes > bytes) {
        b.p += bytes;
        b.bytes -= bytes;
      } else this.freeBlocks.splice(i, 1);
      return p;
    }
    // above the transient blocks of a kernel call being prepared, if any (an op may allocate its
    // output after copying its operands in); the gap below goes to the free list
    const p = align(Math.max(this.persistTop, this.top), 64);
    if (p + bytes > limit) return null;
    if (p > this.persistTop) this.release({ p: this.persistTop, bytes: p - this.persistTop });
    this.persistTop = p + bytes;
    this.ensure(this.persistTop);
    return p;
  }

  /** Blocks held by several arrays: each collection counts one down, the last frees the block. */
  private readonly sharedFinalizer =
    typeof FinalizationRegistry === 'function'
      ? new FinalizationRegistry<{ p: number; bytes: number; left: number }>((b) => {
          if (--b.left === 0) this.release({ p: b.p, bytes: b.bytes });
        })
      : null;

  /**
   * A zeroed Float32Array of n elements that lives in WebAssembly memory. Its block returns to a
   * free list when the array is garbage-collected (so keep the array itself, not only a subarray
   * of it, for as long as the memory is used).
   */
  persistent(n: number): Float32Array {
    const bytes = align(Math.max(n, 1) * 4, 64);
    const p = this.block(bytes) as number;
    this.k.zero(p, n); // the block may hold old data (a freed block, or memory the transient arena used)
    const view = new Float32Array(this.memory.buffer, p, n);
    this.finalizer?.register(view, { p, bytes });
    return view;
  }

  /** Open step scopes, innermost last: the blocks each handed out, by their arrays. */
  private readonly scopes: Map<Float32Array, ScopedBlock>[] = [];

  /**
   * A zeroed Float32Array of n elements in WebAssembly memory, freed when the innermost step scope
   * ends unless kept (beginScope); null when none is open or the memory would pass SCOPED_LIMIT
   * (the step's other arrays then stay in JS memory).
   */
  scopedArray(n: number): Float32Array | null {
    const scope = this.scopes[this.scopes.length - 1];
    if (!scope) return null;
    const bytes = align(Math.max(n, 1) * 4, 64);
    const p = this.block(bytes, SCOPED_LIMIT);
    if (p === null) return null;
    this.k.zero(p, n);
    const view = new Float32Array(this.memory.buffer, p, n);
    scope.set(view, { view, p, bytes });
    return view;
  }

  /** True for an array scopedArray handed out in the innermost open scope. */
  inScope(a: Float32Array): boolean {
    return this.scopes[this.scopes.length - 1]?.has(a) ?? false;
  }

  /**
   * Opens a step scope; the returned function closes it and frees every block scopedArray handed
   * out inside it (and in no inner scope) unless `keep` holds a view into the block (the array or a
   * subarray of it): a kept block becomes persistent, freed when the arrays that keep it are
   * collected. `keep` may be a function giving the set, called only when the scope has blocks. It
   * returns the arrays of the freed blocks. Scopes close innermost first.
   */
  beginScope(): (keep: ReadonlySet<unknown> | (() => ReadonlySet<unknown>)) => ReadonlySet<Float32Array> {
    const scope = new Map<Float32Array, ScopedBlock>();
    this.scopes.push(scope);
    return (keep) => {
      if (this.scopes[this.scopes.length - 1] !== scope) throw new Error('wasm backend: step scopes must end innermost first');
      this.scopes.pop();
      if (scope.size === 0) return NONE_FREED;
      // for each kept view into this memory, the block that holds its first byte: the block of the
      // array itself, or for a subarray found by address
      let byAddress: ScopedBlock[] | null = null;
      const kept = new Map<ScopedBlock, ArrayBufferView[]>();
      for (const v of typeof keep === 'function' ? keep() : keep) {
        if (!ArrayBuffer.isView(v) || !this.owns(v)) continue;
        let b = v instanceof Float32Array ? scope.get(v) : undefined;
        if (!b) {
          byAddress ??= [...scope.values()].sort((x, y) => x.p - y.p);
          b = blockAt(byAddress, v.byteOffset);
          if (!b) continue;
        }
        const views = kept.get(b);
        if (views) views.push(v);
        else kept.set(b, [v]);
      }
      const freed = new Set<Float32Array>();
      for (const b of scope.values()) {
        const views = kept.get(b);
        if (!views) {
          this.release({ p: b.p, bytes: b.bytes });
          freed.add(b.view);
        } else if (views.includes(b.view)) this.finalizer?.register(b.view, { p: b.p, bytes: b.bytes });
        else {
          // kept through subarrays only: the block returns when the last of them is collected
          const held = { p: b.p, bytes: b.bytes, left: views.length };
          for (const v of views) this.sharedFinalizer?.register(v, held);
        }
      }
      return freed;
    };
  }

  private release(freed: { p: number; bytes: number }): void {
    // merge with free neighbours on both sides, then give the block back to the top if it ends there
    let b = { ...freed };
    for (
      let j = this.freeBlocks.findIndex((f) => f.p + f.bytes === b.p || b.p + b.bytes === f.p);
      j >= 0;
      j = this.freeBlocks.findIndex((f) => f.p + f.bytes === b.p || b.p + b.bytes === f.p)
    ) {
      const f = this.freeBlocks.splice(j, 1)[0];
      b = { p: Math.min(b.p, f.p), bytes: b.bytes + f.bytes };
    }
    if (b.p + b.bytes === this.persistTop) this.persistTop = b.p;
    else this.freeBlocks.push(b);
  }

  /** Bytes of persistent blocks in use (for tests and the benchmark). */
  persistentBytes(): number {
    return this.persistTop - align(this.ctl + CTL_BYTES, 64) - this.freeBlocks.reduce((s, b) => s + b.bytes, 0);
  }

  // ---------------------------------------------------------------- threads

  async startWorkers(count: number, spawn: (init: WorkerInit) => Promise<{ terminate(): unknown }>): Promise<void> {
    if (!this.shared) throw new Error('wasm backend: worker threads need shared memory');
    for (let i = 0; i < count; i++) {
      this.workers.push(await spawn({ module: this.module, memory: this.memory, ctl: this.ctl, index: this.workers.length }));
    }
  }

  /** Forget the back-off (the next big call tries the workers again). */
  resetBackoff(): void {
    this.soloCalls = 0;
    this.waitShare = 0;
  }

  stopWorkers(): void {
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }

  /**
   * Runs fn(...parts[p]) for every part and returns when all are done. With workers, the parts
   * are claimed dynamically by this thread and the workers (protocol.ts); without, they run here.
   */
  parallel<F extends KernelFn>(fn: F, parts: readonly KernelArgs<F>[]): void {
    const f = this.k[fn] as (...a: number[]) => void;
    if (parts.length === 1 || this.workers.length === 0 || this.soloCalls > 0) {
      if (this.soloCalls > 0) this.soloCalls--;
      for (const p of parts) f(...p);
      return;
    }
    const t0 = performance.now();
    if (parts.length > MAX_PARTS) throw new Error(`wasm backend: too many parts (${parts.length} > ${MAX_PARTS})`);
    const nargs = parts[0].length;
    if (nargs > MAX_ARGS) throw new Error(`wasm backend: too many kernel arguments (${nargs})`);
    const i32 = this.i32,
      base = this.ctl >> 2;
    i32[base + FN] = KERNEL_FNS.indexOf(fn);
    i32[base + NARGS] = nargs;
    i32[base + ERROR] = 0;
    const a0 = (this.ctl + ARGS_BYTE) >> 3;
    for (let p = 0; p < parts.length; p++) for (let j = 0; j < nargs; j++) this.f64[a0 + p * nargs + j] = parts[p][j];
    Atomics.store(i32, base + DONE, 0);
    const seq = (this.seq = (this.seq + 1) & 0x3fffffff);
    Atomics.store(i32, base + TICKET, ticket(seq, parts.length));
    Atomics.store(i32, base + SEQ, seq);
    // the notify that wakes a blocked worker: tens of microseconds on an idle machine, up to
    // milliseconds on a loaded one, where it costs this thread more than the worker's share saves
    const tw = performance.now();
    wake(i32, base + SEQ, base + SEQ_SLEEPERS);
    const woke = performance.now() - tw;
    const ran = runParts(i32, this.f64, base, seq, this.fns);
    this.threadedCalls++;
    this.workerParts += parts.length - ran;
    // Wait for the parts that workers claimed and have not finished: spinning for up to
    // WAIT_SPIN_MS, then blocked. A worker's last part often ends shortly after this thread's, and
    // blocked, this thread needs a notify and a wake-up first, which cost more than the spin.
    const t1 = performance.now();
    spinThenWait(i32, base + DONE, (done) => done >= parts.length, WAIT_SPIN_MS, base + DONE_SLEEPERS, 5);
    // On a machine busy with other processes a worker that claimed a part may be descheduled for
    // milliseconds. If this thread keeps waiting longer than it computed, run alone for a while.
    // Only waits of more than WAIT_NOISE_MS count: on an idle machine a spinning worker finishes
    // well within it, so a short wait after a small product is not taken for a late worker.
    const waited = performance.now() - t1 + woke,
      worked = t1 - t0 - woke;
    const share = waited > WAIT_NOISE_MS ? waited / Math.max(worked + waited, 1e-3) : 0;
    this.waitShare = 0.9 * this.waitShare + 0.1 * share;
    if (this.waitShare > 0.5) {
      this.soloCalls = SOLO_CALLS;
      this.waitShare = 0;
      this.backoffs++;
    }
    if (i32[base + ERROR]) throw new Error(`wasm backend: kernel ${fn} failed in a worker`);
  }
}

/** A block that scopedArray handed out: its array, address and size. */
interface ScopedBlock {
  readonly view: Float32Array;
  readonly p: number;
  readonly bytes: number;
}

/** What closing a scope that handed out nothing frees. */
const NONE_FREED: ReadonlySet<Float32Array> = new Set();

/** The block of `blocks` (sorted by address) that holds byte `at`, if any. */
function blockAt(blocks: readonly ScopedBlock[], at: number): ScopedBlock | undefined {
  let lo = 0,
    hi = blocks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = blocks[mid];
    if (at < b.p) hi = mid - 1;
    else if (at >= b.p + b.bytes) lo = mid + 1;
    else return b;
  }
  return undefined;
}

/**
 * The highest address scopedArray places a block at (768 MiB of the 1 GiB memory): a step that
 * needs more keeps its other arrays in JS memory, and kernels keep room for their transient blocks.
 */
const SCOPED_LIMIT = 768 * 2 ** 20;

/** How long the caller spins for the workers' last parts before it blocks (ms). */
const WAIT_SPIN_MS = 0.5;
/** A wait for the workers shorter than this is not a sign of a descheduled worker (ms). */
const WAIT_NOISE_MS = 0.1;
/** Calls run on the calling thread alone after the back-off triggers, before threads are tried again. */
const SOLO_CALLS = 200;

function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}
