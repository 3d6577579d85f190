/** What every benchmark child prints (one JSON line on stdout) and shared workload definitions. */
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

/**
 * The timed part of a training workload, the same for every JS framework: at most `n` steps within
 * the time budget (at least two), each timed; RSS sampled eight times along the way.
 */
export function timeSteps(step: () => void, n: number, quick: boolean): { times: number[]; rss: number[] } {
  const times: number[] = [];
  const rss: number[] = [];
  const budget = performance.now() + (quick ? 5_000 : 20_000);
  for (let i = 0; i < n && (i < 2 || performance.now() < budget); i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
    if (i % Math.max(1, Math.floor(n / 8)) === 0) rss.push(Math.round(process.memoryUsage().rss / 2 ** 20));
  }
  return { times, rss };
}

/** samples/s from per-step times: by the median step (the reported value) and by the mean. */
export function throughput(times: number[], batch: number): { median: number; mean: number } {
  return { median: (batch * 1000) / median(times), mean: Math.round((times.length * batch * 1000) / times.reduce((a, b) => a + b, 0)) };
}
