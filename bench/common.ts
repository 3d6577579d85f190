/** What every benchmark child prints (one JSON line on stdout) and shared workload definitions. */
import { createInterface } from 'node:readline';

export type WorkloadId = 'W1' | 'W2' | 'W3' | 'W4';

export interface Measurement {
  framework: string;
  workload: WorkloadId;
  /** samples/s for W1/W2, ms for W3/W4; null when the framework cannot run the workload */
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
  W4: { title: 'full-batch L-BFGS (strong Wolfe, history 10), logistic regression, 10k images, 100 iterations (ms)', unit: 'ms', better: 'lower' },
};

/** L-BFGS history in W4, in every framework (the form of the second-order issue; PyTorch's default is 100). */
export const W4_HISTORY = 10;

/** Steps timed per workload (after warm-up), full and --quick. */
export const STEPS = {
  W1: { warmup: 10, full: 400, quick: 40 },
  W2: { warmup: 2, full: 40, quick: 6 },
  W3: { warmup: 2, full: 10, quick: 3 },
};

/** Seeded order of the training images (identical in every framework's run). */
export function batchOrder(n: number, seed: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    const t = idx[i]; idx[i] = idx[j]; idx[j] = t;
  }
  return idx;
}

/** Copies images[order[start..start+b)] into x (b × sample) and their labels into y. */
export function gather(images: Float32Array, labels: ArrayLike<number>, order: Int32Array, start: number, b: number, sample: number, x: Float32Array, y: Int32Array): void {
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

/** Rounds in which W1/W2 are measured, interleaved across frameworks (see run.ts). */
export const SEGMENTS = { full: 8, quick: 4 };

/** One segment's share of a W1/W2 run: at most `steps` timed steps within `budgetMs`. */
export function segmentSize(w: 'W1' | 'W2', quick: boolean): { steps: number; budgetMs: number } {
  const segs = quick ? SEGMENTS.quick : SEGMENTS.full;
  return { steps: Math.ceil((quick ? STEPS[w].quick : STEPS[w].full) / segs), budgetMs: (quick ? 5_000 : 20_000) / segs };
}

/** A W1/W2 run set up and warmed up: `step` trains on one batch and returns its loss. */
export interface Trainer {
  framework: string;
  workload: WorkloadId;
  batch: number;
  step: () => number;
  /** extra fields for the final Measurement, taken after the timed steps */
  finish?: () => Record<string, unknown>;
}

/** Warm-up: `n` steps, but a framework that needs more than the whole budget gets only one. */
export function warmUp(step: () => unknown, n: number, quick: boolean): void {
  const end = performance.now() + (quick ? 5_000 : 20_000);
  for (let i = 0; i < n && (i < 1 || performance.now() < end); i++) step();
}

const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);

/**
 * The child's side of the interleaved measurement (the same for every JS framework): prints
 * {"ready":true}, then for each `run <steps> <budgetMs>` line on stdin times at most <steps> steps
 * (at least one, fewer once <budgetMs> has passed) and replies {"times":[ms...]}; `warm <steps>
 * <budgetMs>` does the same but the steps are a warm-up, not part of the measurement; on `done` it
 * returns the Measurement over all the timed steps.
 */
export async function serveSegments(t: Trainer): Promise<Measurement> {
  process.stdout.write('{"ready":true}\n');
  const times: number[] = [], segmentMedianMs: number[] = [], rss: number[] = [];
  let loss = NaN;
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, stepsArg, budgetArg] = line.trim().split(/\s+/);
    if (cmd === 'done') break;
    if (cmd !== 'run' && cmd !== 'warm') throw new Error(`bench child: unknown command "${line}"`);
    const seg: number[] = [];
    const end = performance.now() + Number(budgetArg);
    for (let i = 0; i < Number(stepsArg) && (i < 1 || performance.now() < end); i++) {
      const t0 = performance.now();
      loss = t.step();
      seg.push(performance.now() - t0);
    }
    if (cmd === 'run') {
      times.push(...seg);
      segmentMedianMs.push(+median(seg).toFixed(3));
      rss.push(rssMiB());
    }
    process.stdout.write(JSON.stringify({ times: seg }) + '\n');
  }
  if (!times.length) throw new Error('bench child: stdin closed before any segment');
  const B = t.batch;
  return {
    framework: t.framework, workload: t.workload, value: (B * 1000) / median(times), unit: 'samples/s', peakMiB: peakMiB(), note: 'batch size / median step time',
    extra: { meanSamplesPerSec: Math.round((times.length * B * 1000) / times.reduce((a, b) => a + b, 0)), steps: times.length, batch: B, finalLoss: loss, rssMiB: rss, segmentMedianMs, ...t.finish?.() },
  };
}
