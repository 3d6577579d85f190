/**
 * Where a product's tile is chosen: `tileFor`'s rule, or — with `initWebGPU({ autotune: true })`,
 * as PyTorch's `torch.backends.cudnn.benchmark` — the fastest shape measured on this device.
 *
 * The tuner: the first time a product of a kernel family and sizes is queued it runs with
 * tileFor's tile and is noted (its sizes, not its buffers); at the end of the next `read()` (the
 * host waits for the device there anyway) each noted product is timed under every shape of
 * TILE_SHAPES that the device can hold, on zeroed buffers of its sizes, and from then on runs under
 * the fastest (tileFor's unless another is faster by more than TUNE_MARGIN). A shape changes the
 * time, not the values: every output sums its terms one `fma` at a time over k in order under every
 * shape, and a product split along K keeps the slices tileFor's tile gives it. What was chosen,
 * with each shape's time, is in `webgpuInfo().autotune`.
 */
import { type GpuContext, GpuStorage, MAX_GROUPS } from './context.js';
import {
  type Product,
  type Split,
  TILE_SHAPES,
  type TileShape,
  gemmGroups,
  imposedTile,
  queueProduct,
  splitFor,
  tileBytes,
  tileFor,
} from './gemm.js';

/** A product the tuner timed: its kernel and sizes, tileFor's shape, the one chosen, and milliseconds per call under each shape. */
export interface TunedProduct {
  kernel: string;
  m: number;
  n: number;
  k: number;
  base: string;
  tile: string;
  ms: Record<string, number>;
}

/** Another shape replaces tileFor's only when it is faster by more than this fraction (chosen, not yet measured on a GPU: timings there vary by a few percent). */
export const TUNE_MARGIN = 0.03;
/** A shape's time is taken over calls queued back to back until they last at least this long (ms; chosen so a submit's latency, tens of µs, stays a few percent of it)… */
const MIN_MS = 2;
/** …or this many calls. */
const MAX_CALLS = 256;
/** Each shape is timed this many times, interleaved with the others; its least time counts. */
const ROUNDS = 2;

/** The shape to keep: the fastest, unless tileFor's `base` is within TUNE_MARGIN of it. */
export function pickTile(ms: Readonly<Record<string, number>>, base: string): string {
  let best = base;
  for (const [name, t] of Object.entries(ms)) if (t < (ms[best] ?? Number.POSITIVE_INFINITY)) best = name;
  const b = ms[base];
  return b !== undefined && ms[best] >= b * (1 - TUNE_MARGIN) ? base : best;
}

interface Noted {
  p: Omit<Product, 'storage'>;
  lengths: number[];
  base: TileShape;
  split: Split;
}

class Tuner {
  /** The shape chosen per product key. */
  private readonly chosen = new Map<string, TileShape>();
  /** Products queued but not yet timed, by key. */
  private readonly pending = new Map<string, Noted>();
  readonly tuned: TunedProduct[] = [];
  /** The timings under way: a read that ends meanwhile waits for them too, so nothing it queues next lands among them. */
  private running: Promise<void> | null = null;

  constructor(private readonly ctx: GpuContext) {}

  /** The shape `p` runs under now; a product not seen before is noted for timing and runs under `base`. */
  tile(p: Product, base: TileShape, split: Split): TileShape {
    const key = `${p.family}|${p.ints.join(',')}`;
    const t = this.chosen.get(key);
    if (t) return t;
    if (!this.pending.has(key)) {
      const { storage, ...rest } = p;
      this.pending.set(key, { p: rest, lengths: storage.map((s) => s.length), base, split });
    }
    return base;
  }

  /** Times every pending product under every shape it can take and keeps the fastest. */
  run(): Promise<void> {
    if (!this.running && this.pending.size)
      this.running = this.timeAll().finally(() => {
        this.running = null;
      });
    return this.running ?? Promise.resolve();
  }

  private async timeAll(): Promise<void> {
    const jobs = [...this.pending];
    this.pending.clear();
    // the device idle before the first timing: nothing submitted before is counted in it
    await this.ctx.sync();
    for (const [key, job] of jobs) {
      const scratch = job.lengths.map((n) => GpuStorage.zeros('float32', n, this.ctx));
      try {
        const p: Product = { ...job.p, name: `autotune:${job.p.name}`, storage: scratch };
        const shapes = TILE_SHAPES.filter((t) => this.fits(t, job));
        const ms: Record<string, number> = {};
        const failed = new Set<string>();
        for (let round = 0; round < ROUNDS; round++)
          for (const t of shapes) {
            if (failed.has(t.name)) continue;
            const one = await this.refusedOr(() => this.msPerCall(() => queueProduct(this.ctx, p, t, job.split)));
            if (one === null) {
              // a shape the device refuses (its compiler, its memory) is left out, not the run
              failed.add(t.name);
              delete ms[t.name];
            } else ms[t.name] = Math.min(ms[t.name] ?? Number.POSITIVE_INFINITY, one);
          }
        const tile = pickTile(ms, job.base.name);
        this.chosen.set(key, shapes.find((t) => t.name === tile) ?? job.base);
        const { m, n, k, name } = job.p;
        for (const s of Object.keys(ms)) ms[s] = +ms[s].toPrecision(4);
        this.tuned.push({ kernel: name, m, n, k, base: job.base.name, tile, ms });
      } finally {
        for (const s of scratch) s.destroy();
      }
    }
  }

  /** Whether the device can run the product under `t`: its workgroup memory, its grid, and a split's slices whole in `t`'s slices. */
  private fits(t: TileShape, job: Noted): boolean {
    const [gx, gy] = gemmGroups(job.p.m, job.p.n, t);
    return (
      tileBytes(t) <= this.ctx.device.limits.maxComputeWorkgroupStorageSize &&
      gx <= MAX_GROUPS &&
      gy <= MAX_GROUPS &&
      job.split.slices * (job.p.groups ?? 1) <= MAX_GROUPS &&
      (job.split.slices === 1 || job.split.chunk % t.depth === 0)
    );
  }

  /**
   * `f`'s result, or null when it throws or the device reports an error for the calls it makes:
   * they run in error scopes, so each error is the scope's (whenever the device delivers it) and
   * none reaches onuncapturederror, where a later timing or the caller's next read would meet it.
   */
  private async refusedOr(f: () => Promise<number>): Promise<number | null> {
    const device = this.ctx.device;
    const filters: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];
    for (const filter of filters) device.pushErrorScope(filter);
    let result: number | null;
    try {
      result = await f();
    } catch {
      result = null;
    }
    const errors = await Promise.all(filters.map(() => device.popErrorScope()));
    return errors.some((e) => e !== null) ? null : result;
  }

  /** Milliseconds per call of `queue`, once warm (its pipeline compiled), over calls queued back to back. */
  private async msPerCall(queue: () => void): Promise<number> {
    queue();
    await this.ctx.sync();
    for (let calls = 1; ; calls *= 4) {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) queue();
      await this.ctx.sync();
      const ms = performance.now() - t0;
      if (ms >= MIN_MS || calls >= MAX_CALLS) return ms / calls;
    }
  }
}

const tuners = new WeakMap<GpuContext, Tuner>();

/** Makes `ctx` tune each product's tile (see the module comment): its reads run the pending timings before they return. */
export function enableAutotune(ctx: GpuContext): void {
  if (tuners.has(ctx)) return;
  const tuner = new Tuner(ctx);
  tuners.set(ctx, tuner);
  ctx.afterRead = () => tuner.run();
}

/** The products tuned on `ctx` so far, or null when it does not tune. */
export function tunedProducts(ctx: GpuContext): TunedProduct[] | null {
  return tuners.get(ctx)?.tuned.slice() ?? null;
}

/** Queues the product under the tile setTileChoice imposes, else the tuner's, else tileFor's; split along K as tileFor's tile says. */
export function dispatchProduct(ctx: GpuContext, p: Product): void {
  const base = tileFor(p.m, p.n);
  const split = p.splittable ? splitFor(p.m, p.n, p.k, base, p.groups) : { slices: 1, chunk: p.k };
  queueProduct(ctx, p, imposedTile(p.m, p.n) ?? tuners.get(ctx)?.tile(p, base, split) ?? base, split);
}
