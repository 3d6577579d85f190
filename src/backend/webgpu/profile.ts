/// <reference types="@webgpu/types" />
/**
 * Device time per kernel (`initWebGPU({ profile: true })`, `webgpuProfile()`): where a training
 * step's time goes on the GPU, which the host cannot see (a step queues its kernels and returns).
 * With the profiler on, every dispatch runs in a compute pass of its own whose beginning and end
 * write timestamp queries; at each submit the batch's queries are resolved into a buffer that is
 * read back asynchronously, and each pass's end − beginning is added to its kernel's total.
 *
 * A pass per dispatch adds the pass boundaries (a few microseconds each on a GPU) and takes away
 * any overlap of consecutive dispatches, so a profiled step is slower than an unprofiled one; the
 * values do not change (the same kernels run in the same order). Under Node, Dawn's timestamps
 * are given unquantised (platform-node.ts); a browser quantises them (Chrome to 100 µs), which
 * leaves only long kernels measurable there.
 */
import { MAP_MODE_READ, USAGE } from './context.js';
/** Dispatches timed per submitted batch (two queries each; WebGPU allows 4096 queries in a set). */
export const PROFILE_PAIRS = 1024;

/** One kernel's device time since the profiler started (or was last reset). */
export interface KernelTime {
  /** The kernel's name, as in webgpuInfo().kernels. */
  kernel: string;
  /** Dispatches timed. */
  calls: number;
  /** Milliseconds on the device, summed over the calls. */
  ms: number;
}

export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  /** The kernel of each query pair written in the batch being recorded. */
  private names: string[] = [];
  /** Mappable buffers whose read-back has finished, for the next batches. */
  private readonly spare: GPUBuffer[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly totals = new Map<string, { calls: number; ns: number }>();
  private destroyed = false;

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * PROFILE_PAIRS });
    this.resolveBuffer = device.createBuffer({ size: 16 * PROFILE_PAIRS, usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC });
  }

  /** True when the batch being recorded has no query pair left: the context submits it first. */
  get full(): boolean {
    return this.names.length >= PROFILE_PAIRS;
  }

  /** The timestamp writes of the next dispatch's pass, recorded under `name` (the batch is not full). */
  next(name: string): GPUComputePassTimestampWrites {
    const i = this.names.length;
    this.names.push(name);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /**
   * Before the batch's encoder is finished: resolves its queries into a mappable buffer. Returns
   * what to run once the batch is submitted (the read-back), or null when it timed nothing.
   */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const names = this.names;
    if (!names.length) return null;
    this.names = [];
    const bytes = 16 * names.length;
    encoder.resolveQuerySet(this.querySet, 0, 2 * names.length, this.resolveBuffer, 0);
    const readBack = this.spare.pop() ?? this.device.createBuffer({ size: 16 * PROFILE_PAIRS, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, readBack, 0, bytes);
    return () => {
      const done = readBack.mapAsync(MAP_MODE_READ, 0, bytes).then(
        () => {
          const t = new BigUint64Array(readBack.getMappedRange(0, bytes).slice(0));
          readBack.unmap();
          for (let i = 0; i < names.length; i++) {
            const e = this.totals.get(names[i]) ?? { calls: 0, ns: 0 };
            // a pass the device reports ending before it began (a reset counter) counts as 0
            e.ns += t[2 * i + 1] > t[2 * i] ? Number(t[2 * i + 1] - t[2 * i]) : 0;
            e.calls++;
            this.totals.set(names[i], e);
          }
          if (this.destroyed) readBack.destroy();
          else this.spare.push(readBack);
        },
        // the device was lost or destroyed: the batch's times are gone with it
        () => readBack.destroy(),
      );
      this.pending.add(done);
      void done.finally(() => this.pending.delete(done));
    };
  }

  /** The totals so far, most time first, once every submitted batch's times have been read; `reset` starts them over. */
  async report(reset: boolean): Promise<KernelTime[]> {
    while (this.pending.size) await Promise.all(this.pending);
    const out = [...this.totals].map(([kernel, e]) => ({ kernel, calls: e.calls, ms: e.ns / 1e6 })).sort((a, b) => b.ms - a.ms);
    if (reset) this.totals.clear();
    return out;
  }

  destroy(): void {
    this.destroyed = true;
    this.querySet.destroy();
    this.resolveBuffer.destroy();
    for (const b of this.spare) b.destroy();
    this.spare.length = 0;
  }
}
