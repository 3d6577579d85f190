/** Small in-memory batch sources for the regularisation and ensemble tests. */
import { fromData, randn, Rng, type Tensor } from '../../src/index.js';
import type { BatchSource } from '../../src/train/index.js';

export interface Batch {
  x: Tensor;
  y: ArrayLike<number>;
}

export function fixedBatches(batches: Batch[]): BatchSource {
  return {
    epoch: () => batches,
    length: batches.length,
    samplesPerEpoch: batches.reduce((n, b) => n + b.y.length, 0),
  };
}

/** y = X w* + noise, X ~ N(0, 1) [n × d], float64; y as a plain array for the trainer. */
export function sparseRegression(n: number, wTrue: number[], noise: number, seed = 1): { x: Tensor; y: Float64Array } {
  const rng = new Rng(seed);
  const d = wTrue.length;
  const x = randn([n, d], rng.fork('x'), { dtype: 'float64' });
  const e = rng.fork('noise');
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x.data[i * d + j] * wTrue[j];
    y[i] = s + noise * e.normal();
  }
  return { x, y };
}

/** A 3-class problem with Gaussian blobs in `d` dimensions, split into batches. */
export function blobs(n: number, d: number, batch: number, seed = 1): Batch[] {
  const rng = new Rng(seed);
  const out: Batch[] = [];
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const xs = new Float64Array(m * d);
    const ys = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const c = rng.int(3);
      ys[i] = c;
      for (let j = 0; j < d; j++) xs[i * d + j] = rng.normal() + (j % 3 === c ? 1.5 : 0);
    }
    out.push({ x: fromData(xs, [m, d], { dtype: 'float64' }), y: ys });
  }
  return out;
}
