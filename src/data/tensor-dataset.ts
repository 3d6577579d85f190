/**
 * Data sets of any shape (PyTorch's TensorDataset): inputs [N, …] with either integer class labels
 * (an Int32Array of N) or float targets (a tensor [N, …]), and the interface the DataLoader reads
 * every data set through.
 *
 * Isomorphic. A batch is gathered row by row into new storage (the tensors are immutable, so the
 * data set never sees what is done to a batch).
 */
import { Tensor, allocStorage } from '../tensor/tensor.js';

/** What a batch's targets are: integer class labels (one per sample) or a float tensor [B, …]. */
export type Target = Int32Array | Tensor;

/** Anything a DataLoader can batch: N samples, gathered by index into one batch. */
export interface SampleSet<Y extends Target = Target> {
  /** N, the number of samples. */
  readonly length: number;
  /** Shown in messages. */
  readonly name: string;
  /** The samples at `indices`, in that order, stacked: x is [B, …], y B labels or a [B, …] tensor. */
  collate(indices: ArrayLike<number>): { x: Tensor; y: Y };
}

/** The targets type of a SampleSet. */
export type TargetOf<D> = D extends SampleSet<infer Y> ? Y : never;

/** Samples in a batch of targets: the labels' length or the tensor's first dimension. */
export function targetCount(y: ArrayLike<number> | Tensor): number {
  return y instanceof Tensor ? (y.shape[0] ?? 1) : y.length;
}

/** The targets as class labels, for what needs them (accuracy, cross-entropy, confusion); a float tensor is refused naming `what`. */
export function classLabels(y: ArrayLike<number> | Tensor, what: string): ArrayLike<number> {
  if (y instanceof Tensor)
    throw new TypeError(`${what}: needs integer class labels as targets, got a float tensor [${y.shape.join(', ')}]`);
  return y;
}

function gatherRows(t: Tensor, indices: ArrayLike<number>, n: number, name: string): Tensor {
  const row = t.size / n;
  const m = indices.length;
  const out = allocStorage(t.dtype, m * row);
  for (let k = 0; k < m; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${name}: index ${k} is ${i}, expected an integer in [0, ${n - 1}]`);
    out.set(t.data.subarray(i * row, (i + 1) * row), k * row);
  }
  return new Tensor(out, [m, ...t.shape.slice(1)]);
}

/**
 * Inputs [N, …] and targets: an Int32Array of N class labels (≥ 0), or a float tensor [N, …]
 * (class probabilities [N, C] for crossEntropy; regression: give the shape the model's output has,
 * e.g. [N, 1] for one output, since mseLoss does not broadcast).
 *
 *   const ds = new TensorDataset(x, y);                       // x [N, 3], y [N, 1]
 *   const loader = new DataLoader(ds, { batchSize: 32, shuffle: true });
 */
export class TensorDataset<Y extends Target = Target> implements SampleSet<Y> {
  readonly x: Tensor;
  readonly y: Y;
  readonly length: number;
  readonly name: string;

  constructor(x: Tensor, y: Y, name = 'TensorDataset') {
    if (!(x instanceof Tensor) || x.ndim < 1)
      throw new TypeError(`${name}: inputs must be a tensor [N, …], got ${x instanceof Tensor ? 'a scalar' : typeof x}`);
    const n = x.shape[0];
    if (y instanceof Tensor) {
      if (y.ndim < 1 || y.shape[0] !== n)
        throw new RangeError(`${name}: ${n} inputs but targets of shape [${y.shape.join(', ')}]; expected [${n}, …]`);
    } else if (y instanceof Int32Array) {
      if (y.length !== n) throw new RangeError(`${name}: ${n} inputs but ${y.length} labels`);
      for (let i = 0; i < n; i++) if (y[i] < 0) throw new RangeError(`${name}: label ${i} is ${y[i]}, expected a class index ≥ 0`);
    } else {
      throw new TypeError(
        `${name}: targets must be an Int32Array of class labels or a float tensor [N, …], got ${Object.prototype.toString.call(y)}`,
      );
    }
    if (n === 0) throw new RangeError(`${name}: no samples`);
    this.x = x;
    this.y = y;
    this.length = n;
    this.name = name;
  }

  collate(indices: ArrayLike<number>): { x: Tensor; y: Y } {
    const x = gatherRows(this.x, indices, this.length, this.name);
    if (this.y instanceof Tensor) return { x, y: gatherRows(this.y, indices, this.length, this.name) as Y };
    const labels = this.y as Int32Array;
    const y = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) y[k] = labels[indices[k]];
    return { x, y: y as Y };
  }
}
