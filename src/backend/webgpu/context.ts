/// <reference types="@webgpu/types" />
/**
 * The WebGPU device layer: one adapter and device, storage over GPU buffers, compute pipelines
 * cached per WGSL source, and a queue of dispatches encoded into one command encoder and submitted
 * at sync points (a read, a write, `flush()`), since a submit per dispatch is slow on real GPUs.
 *
 * Ordering: every dispatch, copy and clear goes into the current encoder in call order; `write()`
 * submits that encoder before its `queue.writeBuffer` when the encoder binds or copies the written
 * buffer (a write the unsubmitted commands cannot see needs no submit), and `read()` submits it with
 * the copy into a mappable staging buffer, so the queue runs everything in the order the calls were
 * made as far as any command can observe.
 *
 * Uniforms (sizes, flags, hyper-parameters) of the dispatches in one encoder are packed into one
 * host block at 256-byte offsets and written into one uniform buffer just before the submit; the
 * queue orders that write after the previous submit, so the buffer is reused by every batch.
 *
 * Buffers are pooled by size: a storage's buffer returns to the pool when the storage is destroyed
 * or garbage-collected (a FinalizationRegistry), and only once the commands queued with it are
 * submitted, so a pooled buffer is never bound by a command that has not been submitted yet. The
 * queue then orders its next use after every use before. A training step allocates the same sizes
 * every step, so after the first steps it takes its buffers from the pool instead of creating them.
 */
import type { DeviceStorage } from '../../tensor/device.js';
import type { KernelProfiler } from './profile.js';

/** GPUBufferUsage's flags, spelled out (the `GPUBufferUsage` global is missing under Node until `webgpu`'s globals are installed). */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80, QUERY_RESOLVE: 0x200 } as const;
/** GPUMapMode.READ, spelled out for the same reason. */
export const MAP_MODE_READ = 0x1;

/** Threads per workgroup of the one-dimensional kernels. */
export const WG = 256;
/** Largest workgroup count per grid dimension (WebGPU's default maxComputeWorkgroupsPerDimension). */
export const MAX_GROUPS = 65535;
/** Byte offset alignment of uniform bindings (WebGPU's default minUniformBufferOffsetAlignment). */
const UNIFORM_ALIGN = 256;
/** Uniform bytes per batch: dispatches beyond 256 in one batch start a new one. */
const UNIFORM_BYTES = 65536;
/** Bind groups cached at most (a step of the CNN binds ~45, a step alternating between two buffer sets twice that). */
const BIND_CACHE = 4096;

/** The counters webgpuInfo() reports. */
export interface GpuCounters {
  /** Dispatches per kernel name. */
  kernels: Record<string, number>;
  /** Command encoders submitted. */
  submits: number;
  /** Host read-backs (storage reads). */
  reads: number;
  /** Host-to-device writes (`write`, `GpuStorage.from`) and their bytes. */
  uploads: number;
  uploadBytes: number;
  /** Storage buffers created. */
  buffers: number;
  /** Bind groups created (a dispatch whose pipeline, uniform offset and buffers were bound before reuses that one). */
  bindGroups: number;
  /** Storage buffers taken from the pool instead. */
  reused: number;
  /** Clears of pooled buffers given out as zeros, queued at their first use (a kernel that writes its output in full skips it). */
  clears: number;
}

/** A compute dispatch: WGSL source, uniforms, storage bindings (the last `writes` of them written), workgroup grid. */
export interface Dispatch {
  /** Kernel name, for the counters. */
  name: string;
  /** WGSL with entry point `main`: binding 0 the uniform block (when `ints`/`floats` are given), then one binding per storage in order. */
  code: string;
  /** Uniform words read as u32/i32 (first), then f32. */
  ints?: readonly number[];
  floats?: readonly number[];
  storage: readonly GpuStorage[];
  /** How many of the last `storage` entries the kernel writes (default 1). */
  writes?: number;
  /**
   * The kernel writes every element of each written storage without reading it first (a product
   * stored with `=`, an elementwise op): a pooled output handed out as zeros is then not cleared.
   */
  full?: boolean;
  /** Workgroups along x and y. */
  groups: readonly [number, number] | readonly [number, number, number];
}

export class GpuContext {
  readonly counters: GpuCounters = {
    kernels: {},
    submits: 0,
    reads: 0,
    uploads: 0,
    uploadBytes: 0,
    buffers: 0,
    reused: 0,
    bindGroups: 0,
    clears: 0,
  };
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; id: number }>();
  /**
   * Bind groups by pipeline, uniform offset and buffers. A training step allocates the same sizes
   * in the same order every step and takes them from the pool, so it binds the same buffers at
   * the same offsets (or alternates between two such sets): from the third step its dispatches
   * create no bind group (creating one costs more host time than the rest of a dispatch). A
   * buffer that is destroyed takes its bind groups with it (`forget`); past BIND_CACHE entries the
   * cache starts over.
   */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  /** The cache keys of the bind groups that bind each buffer. */
  private readonly boundIn = new Map<GPUBuffer, string[]>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** The pipeline last set in the open compute pass (a pass keeps it across dispatches). */
  private passPipeline: GPUComputePipeline | null = null;
  private readonly uniformHost = new ArrayBuffer(UNIFORM_BYTES);
  private readonly uniformI32 = new Int32Array(this.uniformHost);
  private readonly uniformF32 = new Float32Array(this.uniformHost);
  private uniformUsed = 0;
  private readonly uniformBuffer: GPUBuffer;
  /** Buffers to pool once the current batch is submitted (copies made for aliased bindings, released storage). */
  private transient: GPUBuffer[] = [];
  /** Buffers of garbage-collected storage to pool once the current batch is submitted. */
  private collectedTransient: GPUBuffer[] = [];
  /** Released buffers by byte size, none of them bound by an unsubmitted command. */
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooled = 0;
  /** Number of the command encoder being recorded (counts submits). */
  private serial = 0;
  /** The encoder that last bound or copied each buffer: write() submits first only when it is the current one. */
  private readonly lastUse = new WeakMap<GPUBuffer, number>();
  /** Unmapped read-back staging buffers by byte size (a step reads its loss: one 4-byte buffer, reused). */
  private readonly staging = new Map<number, GPUBuffer[]>();
  /** Open step scopes, innermost last: each records the storage allocated while it is innermost. */
  private readonly scopes: Set<GpuStorage>[] = [];
  private disposed = false;
  /**
   * The GPU object the adapter came from, held as long as the device: under Node, Dawn polls for
   * completed work (mapAsync) only while it is alive.
   */
  readonly gpu: GPU;

  constructor(
    gpu: GPU,
    readonly device: GPUDevice,
    readonly adapterDescription: string,
    readonly software: boolean,
    /** Bytes the pool keeps at most; a buffer released beyond it is destroyed. */
    readonly maxPoolBytes = 256 * 1024 * 1024,
  ) {
    this.gpu = gpu;
    this.uniformBuffer = device.createBuffer({ size: UNIFORM_BYTES, usage: USAGE.UNIFORM | USAGE.COPY_DST });
    device.onuncapturederror = (e: GPUUncapturedErrorEvent) => {
      this.errors.push(e.error.message);
    };
  }

  /** Work each read() runs once its values have arrived, before it returns them (the tile tuner, tune.ts). */
  afterRead: (() => Promise<void>) | null = null;

  /** When set, every dispatch runs in a pass of its own that the profiler times (profile.ts). */
  profiler: KernelProfiler | null = null;

  /** Validation and out-of-memory errors the device reported; the next read() rejects with them. */
  private errors: string[] = [];

  private throwErrors(): void {
    if (!this.errors.length) return;
    const msg = this.errors.join('\n');
    this.errors = [];
    throw new Error(`webgpu backend: the device reported: ${msg}`);
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('webgpu backend: the device was disposed; call initWebGPU() again');
  }

  private currentEncoder(): GPUCommandEncoder {
    this.checkAlive();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.pass = this.currentEncoder().beginComputePass();
      this.passPipeline = null;
    }
    return this.pass;
  }

  /** The encoder with no compute pass open: for a copy, a clear, or a profiled dispatch's pass of its own. */
  private copyEncoder(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return this.currentEncoder();
  }

  /** Submits every queued command (with the batch's uniforms written first). */
  flush(): void {
    if (!this.encoder) return;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    const readTimes = this.profiler?.resolve(this.encoder);
    if (this.uniformUsed) this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformHost, 0, this.uniformUsed);
    this.device.queue.submit([this.encoder.finish()]);
    readTimes?.();
    this.counters.submits++;
    this.serial++;
    this.encoder = null;
    this.uniformUsed = 0;
    for (const b of this.transient) this.toPool(b);
    for (const b of this.collectedTransient) this.toPool(b, true);
    this.transient = [];
    this.collectedTransient = [];
  }

  /** The pipeline of `code` and its bind group layout, compiled at the first use. */
  pipeline(code: string): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; id: number } {
    let p = this.pipelines.get(code);
    if (!p) {
      const module = this.device.createShaderModule({ code });
      const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      p = { pipeline, layout: pipeline.getBindGroupLayout(0), id: this.nextId++ };
      this.pipelines.set(code, p);
    }
    return p;
  }

  /** Pipelines compiled so far (one per distinct WGSL source). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** Queues one compute dispatch. */
  dispatch(d: Dispatch): void {
    this.checkAlive();
    const [gx, gy, gz = 1] = d.groups;
    if (gx === 0 || gy === 0 || gz === 0) return;
    if (gx > MAX_GROUPS || gy > MAX_GROUPS || gz > MAX_GROUPS)
      throw new Error(
        `webgpu backend: ${d.name} needs a grid of ${gx}×${gy}×${gz} workgroups, over the limit of ${MAX_GROUPS} per dimension`,
      );
    const words = (d.ints?.length ?? 0) + (d.floats?.length ?? 0);
    if (words * 4 > UNIFORM_ALIGN) throw new Error(`webgpu backend: ${d.name} has ${words} uniform words, over ${UNIFORM_ALIGN / 4}`);
    if ((words && this.uniformUsed + UNIFORM_ALIGN > UNIFORM_BYTES) || this.profiler?.full) this.flush();
    const writes = d.writes ?? 1;
    // outputs written in full need not be zeros first (a storage also read by the kernel keeps its clear)
    const firstWrite = d.storage.length - writes;
    if (d.full)
      for (let i = firstWrite; i < d.storage.length; i++)
        if (d.storage.indexOf(d.storage[i]) >= firstWrite) d.storage[i].clearPending = false;
    for (const s of d.storage) this.use(s, d.name);
    const storage = this.unalias(d.storage, writes);
    const { pipeline, layout, id } = this.pipeline(d.code);
    let key = `${id}`;
    // a uniform block's size is a multiple of 16 bytes
    const at = this.uniformUsed,
      size = Math.ceil(words / 4) * 16;
    if (words) {
      const w = at / 4;
      const ni = d.ints?.length ?? 0;
      for (let i = 0; i < ni; i++) this.uniformI32[w + i] = d.ints![i];
      for (let i = ni; i < words; i++) this.uniformF32[w + i] = d.floats![i - ni];
      key += `@${at}/${size}`;
      this.uniformUsed += UNIFORM_ALIGN;
    }
    for (const s of storage) key += ` ${this.bufferId(s.buffer)}/${s.byteSize}`;
    let bind = this.bindGroups.get(key);
    if (!bind) {
      const entries: GPUBindGroupEntry[] = words ? [{ binding: 0, resource: { buffer: this.uniformBuffer, offset: at, size } }] : [];
      storage.forEach((s, i) => entries.push({ binding: i + 1, resource: { buffer: s.buffer, offset: 0, size: s.byteSize } }));
      bind = this.device.createBindGroup({ layout, entries });
      this.counters.bindGroups++;
      if (this.bindGroups.size >= BIND_CACHE) {
        this.bindGroups.clear();
        this.boundIn.clear();
      }
      this.bindGroups.set(key, bind);
      for (const s of storage) {
        const keys = this.boundIn.get(s.buffer);
        if (keys) keys.push(key);
        else this.boundIn.set(s.buffer, [key]);
      }
    }
    if (this.profiler) {
      // a pass of its own, whose beginning and end the profiler's queries record
      const pass = this.copyEncoder().beginComputePass({ timestampWrites: this.profiler.next(d.name) });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(gx, gy, gz);
      pass.end();
    } else {
      const pass = this.computePass();
      if (this.passPipeline !== pipeline) {
        pass.setPipeline(pipeline);
        this.passPipeline = pipeline;
      }
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(gx, gy, gz);
    }
    this.counters.kernels[d.name] = (this.counters.kernels[d.name] ?? 0) + 1;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextId++));
    return id;
  }

  /** Destroys a storage buffer and the cached bind groups that bind it. */
  private destroyBuffer(b: GPUBuffer): void {
    for (const key of this.boundIn.get(b) ?? []) this.bindGroups.delete(key);
    this.boundIn.delete(b);
    b.destroy();
  }

  /**
   * A storage bound both as a written and as a read binding of one dispatch is not allowed by
   * WebGPU: the read bindings that alias a written one are replaced by a copy taken first.
   */
  private unalias(storage: readonly GpuStorage[], writes: number): readonly GpuStorage[] {
    const reads = storage.length - writes;
    let shared = false;
    for (let i = 0; i < storage.length && !shared; i++)
      for (let j = Math.max(i + 1, reads); j < storage.length; j++) if (storage[i].buffer === storage[j].buffer) shared = true;
    // no buffer bound twice: nothing to check or copy
    if (!shared) return storage;
    const written = new Set(storage.slice(reads).map((s) => s.buffer));
    if (written.size < writes) throw new Error('webgpu backend: one storage passed as two outputs of one kernel');
    if (!storage.slice(0, reads).some((s) => written.has(s.buffer))) return storage;
    return storage.map((s, i) => {
      if (i >= reads || !written.has(s.buffer)) return s;
      const copy = this.acquire(s.byteSize).buffer;
      this.copyEncoder().copyBufferToBuffer(s.buffer, 0, copy, 0, s.byteSize);
      this.transient.push(copy);
      return new GpuStorage(this, copy, s.dtype, s.length);
    });
  }

  /**
   * Pools `buffer` once the commands queued so far that use it are submitted (at the next flush; at
   * once if none are queued). `collected`: its storage was garbage-collected (see `toPool`).
   */
  release(buffer: GPUBuffer, collected = false): void {
    if (this.disposed) return;
    if (this.encoder) (collected ? this.collectedTransient : this.transient).push(buffer);
    else this.toPool(buffer, collected);
  }

  /**
   * The pool hands out the buffer of a size released last, so a training step takes back the
   * buffers that the steps before freed and binds them as they did (their bind groups are cached).
   * A buffer of a collected storage goes under the others, taken only when they run out: when the
   * garbage collector runs does not change which buffers a step takes.
   */
  private toPool(buffer: GPUBuffer, collected = false): void {
    if (this.pooled + buffer.size > this.maxPoolBytes) {
      this.destroyBuffer(buffer);
      return;
    }
    let list = this.pool.get(buffer.size);
    if (!list) this.pool.set(buffer.size, (list = []));
    if (collected) list.unshift(buffer);
    else list.push(buffer);
    this.pooled += buffer.size;
  }

  /** Records `s` in the innermost open step scope. */
  track(s: GpuStorage): void {
    this.scopes[this.scopes.length - 1]?.add(s);
  }

  /**
   * Opens a step scope; the returned function destroys every storage allocated inside it (and in
   * no inner scope) that `keep` does not hold, and closes it. Scopes close innermost first.
   */
  beginStep(): (keep: ReadonlySet<unknown> | (() => ReadonlySet<unknown>)) => void {
    const scope = new Set<GpuStorage>();
    this.scopes.push(scope);
    return (keep) => {
      if (this.scopes[this.scopes.length - 1] !== scope) throw new Error('webgpu backend: step scopes must end innermost first');
      this.scopes.pop();
      if (scope.size === 0) return;
      const kept = typeof keep === 'function' ? keep() : keep;
      for (const s of scope) if (!kept.has(s)) s.destroy();
    };
  }

  /** Bytes held by the pool. */
  get pooledBytes(): number {
    return this.pooled;
  }

  /** Destroys every pooled buffer (the memory goes back to the device). */
  trimPool(): void {
    for (const list of this.pool.values()) for (const b of list) this.destroyBuffer(b);
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.staging.clear();
    this.pooled = 0;
  }

  /**
   * A storage buffer of at least `bytes` (a multiple of 4, at least 4): a pooled one of that size
   * (zero-filled by a clear queued in call order when `zero`), else a new one (WebGPU zero-fills).
   */
  acquire(bytes: number): { buffer: GPUBuffer; pooled: boolean } {
    this.checkAlive();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const b = this.pool.get(size)?.pop();
    if (!b) {
      this.counters.buffers++;
      return { buffer: this.device.createBuffer({ size, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST }), pooled: false };
    }
    this.pooled -= size;
    this.counters.reused++;
    return { buffer: b, pooled: true };
  }

  /**
   * Before `s` is bound or copied: refuses it when destroyed, queues its pending clear (a pooled
   * buffer given out as zeros is cleared at its first use, and not at all when written first), and
   * records that the current encoder uses its buffer.
   */
  private use(s: GpuStorage, op: string): void {
    live(s, op);
    if (s.clearPending) {
      s.clearPending = false;
      this.counters.clears++;
      this.copyEncoder().clearBuffer(s.buffer, 0, s.buffer.size);
    }
    this.lastUse.set(s.buffer, this.serial);
  }

  /** Queues a fill with zeros. */
  clear(s: GpuStorage): void {
    this.use(s, 'clear');
    this.copyEncoder().clearBuffer(s.buffer, 0, s.byteSize);
  }

  /** Queues a copy of `src` into `dst` (same length). */
  copy(src: GpuStorage, dst: GpuStorage): void {
    if (src.length !== dst.length) throw new Error(`webgpu backend: copy of ${src.length} elements into ${dst.length}`);
    this.use(src, 'copy');
    this.use(dst, 'copy');
    if (src.buffer !== dst.buffer) this.copyEncoder().copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, src.byteSize);
  }

  /** Submits the queue, then reads `s` back through a mappable staging buffer. */
  async read(s: GpuStorage): Promise<Float32Array | Int32Array> {
    this.use(s, 'read');
    const staging =
      this.staging.get(s.byteSize)?.pop() ?? this.device.createBuffer({ size: s.byteSize, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    this.copyEncoder().copyBufferToBuffer(s.buffer, 0, staging, 0, s.byteSize);
    this.flush();
    this.counters.reads++;
    let reusable = false;
    try {
      await staging.mapAsync(MAP_MODE_READ);
      this.throwErrors();
      const bytes = staging.getMappedRange().slice(0, s.length * 4);
      staging.unmap();
      reusable = true;
      if (this.afterRead) await this.afterRead();
      return s.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
    } finally {
      // an unmapped staging buffer of a small read is kept for the next read of its size
      let list = this.staging.get(staging.size);
      if (reusable && !this.disposed && staging.size <= 65536 && (list?.length ?? 0) < 4) {
        if (!list) this.staging.set(staging.size, (list = []));
        list.push(staging);
      } else staging.destroy();
    }
  }

  /**
   * Replaces the values of `s`, after every command queued before. The queue runs the write
   * before the commands not yet submitted, so they are submitted first when one of them binds or
   * copies `s`; otherwise none of them can see the difference, and nothing is submitted.
   */
  write(s: GpuStorage, values: Float32Array | Int32Array): void {
    if (values.length !== s.length) throw new Error(`webgpu backend: write of ${values.length} values into storage of ${s.length}`);
    live(s, 'write');
    const want = s.dtype === 'int32' ? Int32Array : Float32Array;
    if (!(values instanceof want)) throw new Error(`webgpu backend: write of a ${values.constructor.name} into ${s.dtype} storage`);
    if (this.encoder && this.lastUse.get(s.buffer) === this.serial) this.flush();
    s.clearPending = false;
    if (values.length) writeValues(this, s.buffer, values);
  }

  /** Waits until the GPU has run everything submitted. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwErrors();
  }

  dispose(): void {
    if (this.disposed) return;
    this.flush();
    this.trimPool();
    this.disposed = true;
    this.pipelines.clear();
    this.bindGroups.clear();
    this.boundIn.clear();
    this.uniformBuffer.destroy();
    this.profiler?.destroy();
    this.profiler = null;
    this.device.destroy();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}

/**
 * Queues `values` into `buffer` at offset 0. writeBuffer takes no view of a SharedArrayBuffer (the
 * wasm backend's memory, where its batches and parameters live), so such values are copied first.
 */
function writeValues(ctx: GpuContext, buffer: GPUBuffer, values: Float32Array | Int32Array): void {
  const v = values.buffer instanceof ArrayBuffer ? values : values.slice();
  ctx.device.queue.writeBuffer(buffer, 0, v.buffer, v.byteOffset, v.byteLength);
  ctx.counters.uploads++;
  ctx.counters.uploadBytes += v.byteLength;
}

/** Refuses a destroyed storage: its buffer may already hold another storage's values. */
function live(s: GpuStorage, op: string): void {
  if (s.destroyed) throw new Error(`webgpu backend: ${op} was given a storage that was destroyed; its buffer went back to the pool`);
}

/** The context that GpuStorage.from / zeros use when none is named (set by initWebGPU). */
let defaultContext: GpuContext | null = null;

export function setDefaultContext(ctx: GpuContext | null): void {
  defaultContext = ctx;
}

export function currentContext(): GpuContext {
  if (!defaultContext || defaultContext.isDisposed) throw new Error('webgpu backend: not initialised; await initWebGPU() first');
  return defaultContext;
}

/** Returns the buffer of a garbage-collected storage that owned it to its context's pool. */
const collected =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<{ ctx: GpuContext; buffer: GPUBuffer }>(({ ctx, buffer }) => ctx.release(buffer, true))
    : null;

/** float32 or int32 values in a GPU buffer (usage STORAGE | COPY_SRC | COPY_DST). */
export class GpuStorage implements DeviceStorage {
  readonly device = 'webgpu';
  private released = false;
  /** A pooled buffer given out as zeros: the context clears it at its first use (see GpuContext.use). */
  clearPending = false;

  /** `owned`: the buffer goes back to the pool when this storage is destroyed or collected. */
  constructor(
    readonly ctx: GpuContext,
    readonly buffer: GPUBuffer,
    readonly dtype: 'float32' | 'int32',
    readonly length: number,
    owned = false,
  ) {
    if (owned) collected?.register(this, { ctx, buffer }, this);
  }

  /** True once destroy() gave the buffer back: the storage may no longer be used. */
  get destroyed(): boolean {
    return this.released;
  }

  /** Bytes bound for the kernels (at least 4: WebGPU has no empty bindings). */
  get byteSize(): number {
    return Math.max(4, this.length * 4);
  }

  /** New storage holding a copy of `values` (Float32Array → float32, Int32Array → int32). */
  static from(values: Float32Array | Int32Array, ctx: GpuContext = currentContext()): GpuStorage {
    const s = GpuStorage.alloc(values instanceof Int32Array ? 'int32' : 'float32', values.length, ctx, false);
    if (values.length) writeValues(ctx, s.buffer, values);
    return s;
  }

  /** New storage of `n` zeros (WebGPU zero-initialises buffers). */
  static zeros(dtype: 'float32' | 'int32', n: number, ctx: GpuContext = currentContext()): GpuStorage {
    return GpuStorage.alloc(dtype, n, ctx, true);
  }

  /** Storage whose values are unspecified (no clear): for a kernel that writes every element before any read. */
  static scratch(n: number, ctx: GpuContext = currentContext()): GpuStorage {
    return GpuStorage.alloc('float32', n, ctx, false);
  }

  /**
   * A pooled buffer written by `writeValues` at once needs no clear: it is bound by no unsubmitted
   * command, so the write (ordered by the queue before the commands still to be submitted) is the
   * only thing that touches it before they run.
   */
  private static alloc(dtype: 'float32' | 'int32', n: number, ctx: GpuContext, zero: boolean): GpuStorage {
    if (!Number.isInteger(n) || n < 0) throw new Error(`webgpu backend: storage length must be a non-negative integer, got ${n}`);
    const { buffer, pooled } = ctx.acquire(n * 4);
    const s = new GpuStorage(ctx, buffer, dtype, n, true);
    s.clearPending = zero && pooled;
    ctx.track(s);
    return s;
  }

  read(): Promise<Float32Array | Int32Array> {
    return this.ctx.read(this);
  }

  write(values: Float32Array | Int32Array): void {
    this.ctx.write(this, values);
  }

  /** Gives the GPU buffer back once the commands already queued that use it are submitted (no submit of its own); a second call does nothing. */
  destroy(): void {
    if (this.released) return;
    this.released = true;
    collected?.unregister(this);
    this.ctx.release(this.buffer);
  }
}

const sources = new Map<string, string>();

/** The WGSL that `build` makes for `key`, built once (so a dispatch neither rebuilds nor rehashes it). */
export function wgsl(key: string, build: () => string): string {
  let s = sources.get(key);
  if (s === undefined) {
    s = build();
    sources.set(key, s);
  }
  return s;
}

/** Workgroups for `n` items of `perGroup` each, split over x and y when x alone would pass 65535. */
export function grid(n: number, perGroup: number = WG): [number, number] {
  const groups = Math.ceil(n / perGroup);
  if (groups <= MAX_GROUPS) return [groups, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  return [Math.ceil(groups / y), y];
}

/**
 * WGSL shared by the kernels: the flat index of a thread (or a workgroup) over a grid split by
 * `grid()`, NaN tests by bits (immune to fast-math folding), and IEEE special values (from a
 * variable: WGSL rejects a constant expression that evaluates to NaN or ∞).
 */
/** The entry of a kernel with one thread per element: `i` the element, the threads past `p.n` (the uniform's first field) returning at once. */
export const THREAD_MAIN = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flatGroup(wid, nwg) * ${WG}u + li;
  if (i >= p.n) { return; }`;

export const WGSL_COMMON = /* wgsl */ `
fn flatGroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.y * nwg.x + wid.x; }
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn nanF() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn infF() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
`;
