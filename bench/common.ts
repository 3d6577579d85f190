/** What every benchmark child prints (one JSON line on stdout) and shared workload definitions. */
import { createInterface } from 'node:readline';

export type WorkloadId = 'W1' | 'W2' | 'W3' | 'W4' | 'W5' | 'W6';

/**
 * The samples/s workloads: a model trained step by step on Fashion-MNIST batches (batchOrder,
 * gather), each framework in a child serving the segment protocol (serveSegments), measured
 * interleaved across frameworks (run.ts). The others (W3, W4) are whole runs in one process.
 */
export const INTERLEAVED = ['W1', 'W2', 'W5', 'W6'] as const;
export type InterleavedWorkload = (typeof INTERLEAVED)[number];
export const isInterleaved = (w: string): w is InterleavedWorkload => (INTERLEAVED as readonly string[]).includes(w);

/** The interleaved workloads the GPU rows (descent-webgpu, tfjs-webgpu) run, at --gpu-batch's batches. */
export const ON_GPU_WORKLOADS = ['W1', 'W2'] as const;
export type GpuWorkload = (typeof ON_GPU_WORKLOADS)[number];
export const isGpuWorkload = (w: string): w is GpuWorkload => (ON_GPU_WORKLOADS as readonly string[]).includes(w);

/** The batch of each interleaved workload, in every framework (the GPU rows' --gpu-batch aside). */
export const BATCH: Record<InterleavedWorkload, number> = { W1: 128, W2: 64, W5: 128, W6: 128 };

export interface Measurement {
  framework: string;
  workload: WorkloadId;
  /** samples/s for the interleaved workloads (W1, W2, W5, W6), ms for W3/W4; null when the framework cannot run the workload */
  value: number | null;
  unit: 'samples/s' | 'ms';
  /** peak resident set size of the process, MiB */
  peakMiB: number | null;
  note?: string;
  /** e.g. final loss, RSS samples across the run, thread counts */
  extra?: Record<string, unknown>;
}

export const WORKLOADS: Record<WorkloadId, { title: string; unit: 'samples/s' | 'ms'; better: 'higher' | 'lower' }> = {
  W1: { title: 'MLP 784-256-128-10, Adam, batch 128 (train samples/s)', unit: 'samples/s', better: 'higher' },
  W2: { title: 'CNN conv5x5x32-pool-conv5x5x64-pool-fc128-fc10, Adam, batch 64 (train samples/s)', unit: 'samples/s', better: 'higher' },
  W3: { title: 'one Adam step on 10M parameters (ms)', unit: 'ms', better: 'lower' },
  W4: {
    title: 'full-batch L-BFGS (strong Wolfe, history 10), logistic regression, 10k images, 100 iterations (ms)',
    unit: 'ms',
    better: 'lower',
  },
  W5: {
    title:
      'LSTM sequential Fashion-MNIST: each image as 28 steps of 28 features (its rows), LSTM(28, 128) → Linear(128, 10) on the last hidden state, Adam lr 1e-3, batch 128 (train samples/s)',
    unit: 'samples/s',
    better: 'higher',
  },
  W6: {
    title:
      'Transformer encoder on Fashion-MNIST rows: 28 tokens of 28 features, Linear(28, 64) per token + learned positions, 2 pre-norm layers (4 heads, feed-forward 128, GELU, dropout 0.1), LayerNorm, mean over tokens → Linear(64, 10), Adam lr 1e-3, batch 128 (train samples/s)',
    unit: 'samples/s',
    better: 'higher',
  },
};

/** L-BFGS history in W4, in every framework (the form of the second-order issue; PyTorch's default is 100). */
export const W4_HISTORY = 10;

/** Steps timed per workload (after warm-up), full and --quick. */
export const STEPS = {
  W1: { warmup: 10, full: 400, quick: 40 },
  W2: { warmup: 2, full: 40, quick: 6 },
  W3: { warmup: 2, full: 10, quick: 3 },
  // a W5 step takes ~0.1 s (PyTorch) to ~4 s (tfjs-cpu): 5 timed steps a segment, and the segment
  // budget capping the slow ones, keep a full run's W5 near W1's length
  W5: { warmup: 3, full: 40, quick: 8 },
  W6: { warmup: 3, full: 40, quick: 8 },
};

/** Seeded order of the training images (identical in every framework's run). */
export function batchOrder(n: number, seed: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}

/** Copies images[order[start..start+b)] into x (b × sample) and their labels into y. */
export function gather(
  images: Float32Array,
  labels: ArrayLike<number>,
  order: Int32Array,
  start: number,
  b: number,
  sample: number,
  x: Float32Array,
  y: Int32Array,
): void {
  for (let i = 0; i < b; i++) {
    const j = order[(start + i) % order.length];
    x.set(images.subarray(j * sample, (j + 1) * sample), i * sample);
    y[i] = labels[j];
  }
}

export function peakMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * samples/s of an interleaved row's fastest segment (its least segment median), or null for a row without
 * segments. Beside the median over all steps: on a VM whose speed switches within seconds, a
 * switch that falls on one framework's segments and not another's moves the medians' ratio, while
 * each framework's fastest segment is taken at the same (faster) speed.
 */
export function fastestSegmentSamplesPerSec(m: Measurement): number | null {
  const segs = m.extra?.segmentMedianMs,
    batch = m.extra?.batch;
  if (!Array.isArray(segs) || !segs.length || typeof batch !== 'number') return null;
  return (batch * 1000) / Math.min(...(segs as number[]));
}

/** Rounds in which the interleaved workloads are measured, interleaved across frameworks (see run.ts). */
export const SEGMENTS = { full: 8, quick: 4 };

/**
 * Untimed steps before each timed segment of an interleaved workload, in ms (--quick: 250). On this VM a process that
 * has been idle for seconds, as each one is while the others take their turns, runs its next
 * seconds slower: descent's W1 step after 5 s of sleep 2.6–3.0 ms per 50-step segment against
 * 2.2–2.3 run back to back (one thread: 3.6 against 3.3), recovering only after seconds of steady
 * work; with a 1 s lead-in the segments after a 5 s sleep ran 1.9–2.5 ms, like those back to back
 * (1.9–2.4). A framework whose 50 steps take 0.1 s (descent, PyTorch) was measured in that state and
 * one whose take 1.75 s (tfjs-wasm) mostly outside it. A real training run never idles, so every
 * framework gets the lead-in, and none is measured coming out of an idle pause.
 */
export const LEAD_MS = { full: 1_000, quick: 250 };

/** One segment's share of an interleaved workload's run: at most `steps` timed steps within `budgetMs`. */
export function segmentSize(w: InterleavedWorkload, quick: boolean): { steps: number; budgetMs: number } {
  const segs = quick ? SEGMENTS.quick : SEGMENTS.full;
  return { steps: Math.ceil((quick ? STEPS[w].quick : STEPS[w].full) / segs), budgetMs: (quick ? 5_000 : 20_000) / segs };
}

/** An interleaved workload's run set up and warmed up: `step` trains on one batch and returns its loss. */
export interface Trainer {
  framework: string;
  workload: InterleavedWorkload;
  batch: number;
  /**
   * One training step; returns its loss. A device trainer (descent-webgpu) returns a promise of the
   * loss of the step before, read while this one runs, so awaiting it paces the host to the device
   * and the time per step is the device's.
   */
  step: () => number | Promise<number>;
  /** Said in the row's notes after how the figure was taken (descent-webgpu: the adapter, "software adapter" on a CPU's). */
  note?: string;
  /** extra fields for the final Measurement, taken after the timed steps */
  finish?: () => Record<string, unknown>;
  /**
   * Run before the warm-up segment's steps, when this framework has the machine to itself (the
   * set-ups run all at once): descent-webgpu-autotune times its products on the device here.
   */
  prepare?: () => Promise<void>;
}

/** Warm-up: `n` steps, but a framework that needs more than the whole budget gets only one. */
export function warmUp(step: () => unknown, n: number, quick: boolean): void {
  const end = performance.now() + (quick ? 5_000 : 20_000);
  for (let i = 0; i < n && (i < 1 || performance.now() < end); i++) step();
}

const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);

/**
 * The child's side of the interleaved measurement (the same for every JS framework): prints
 * {"ready":true}, then for each `run <steps> <budgetMs> <leadMs>` line on stdin first runs untimed
 * steps for <leadMs> (the lead-in, see LEAD_MS; skipped when its last segment's median step took more
 * than half of that), then times at most <steps> steps (at least one, fewer once <budgetMs> has
 * passed) and replies {"times":[ms...],"lead":<untimed steps>}; `warm <steps> <budgetMs>` does the
 * same without a lead-in (after the trainer's `prepare`, the first time), and its steps are a warm-up, not part of the measurement; on `done` it
 * returns the Measurement over all the timed steps.
 */
/** Where serveSegments reads its commands and writes its replies (stdin/stdout in a bench child). */
export interface SegmentIo {
  lines: AsyncIterable<string>;
  write: (s: string) => void;
}

const stdio = (): SegmentIo => ({ lines: createInterface({ input: process.stdin }), write: (s) => process.stdout.write(s) });

export async function serveSegments(t: Trainer, io: SegmentIo = stdio()): Promise<Measurement> {
  io.write('{"ready":true}\n');
  const times: number[] = [],
    segmentMedianMs: number[] = [],
    rss: number[] = [];
  let loss = NaN,
    lastMedianMs = Infinity;
  for await (const line of io.lines) {
    const [cmd, stepsArg, budgetArg, leadArg] = line.trim().split(/\s+/);
    if (cmd === 'done') break;
    if (cmd !== 'run' && cmd !== 'warm') throw new Error(`bench child: unknown command "${line}"`);
    if (cmd === 'warm' && t.prepare) {
      await t.prepare();
      t.prepare = undefined;
    }
    let lead = 0;
    const leadMs = cmd === 'run' ? Number(leadArg ?? 0) : 0;
    if (leadMs > 0 && lastMedianMs < leadMs / 2) {
      // at least one step, then steps until the lead-in's time is up (a process preempted past the
      // deadline still warms up once)
      const leadEnd = performance.now() + leadMs;
      do {
        const r = t.step();
        loss = typeof r === 'number' ? r : await r;
        lead++;
      } while (performance.now() < leadEnd);
    }
    const seg: number[] = [];
    const end = performance.now() + Number(budgetArg);
    for (let i = 0; i < Number(stepsArg) && (i < 1 || performance.now() < end); i++) {
      const t0 = performance.now();
      // a synchronous step's loss is taken as it is: no await, no extra turn of the event loop
      const r = t.step();
      loss = typeof r === 'number' ? r : await r;
      seg.push(performance.now() - t0);
    }
    lastMedianMs = median(seg);
    if (cmd === 'run') {
      times.push(...seg);
      segmentMedianMs.push(+lastMedianMs.toFixed(3));
      rss.push(rssMiB());
    }
    io.write(`${JSON.stringify({ times: seg, lead })}\n`);
  }
  if (!times.length) throw new Error('bench child: stdin closed before any segment');
  const B = t.batch;
  return {
    framework: t.framework,
    workload: t.workload,
    value: (B * 1000) / median(times),
    unit: 'samples/s',
    peakMiB: peakMiB(),
    note: t.note ? `batch size / median step time; ${t.note}` : 'batch size / median step time',
    extra: {
      meanSamplesPerSec: Math.round((times.length * B * 1000) / times.reduce((a, b) => a + b, 0)),
      steps: times.length,
      batch: B,
      finalLoss: loss,
      rssMiB: rss,
      segmentMedianMs,
      ...t.finish?.(),
    },
  };
}
