/**
 * Next-token windows over one token-id stream: the data a language model trains on (nanoGPT's
 * get_batch, Keras' text-generation examples), as a SampleSet a DataLoader batches and shuffles.
 *
 *   sample i:  x = ids[i·stride … i·stride + T)      y = ids[i·stride + 1 … i·stride + T]
 *
 * y is x shifted by one: at every position t the target is the token after x[t], so a causal model's
 * output [B, T, V] against y [B, T] is T next-token predictions per sample. N = ⌊(L − T − 1) / stride⌋
 * + 1 windows fit a stream of L ids (the last target must exist). stride defaults to T: the windows
 * tile the stream and each token is predicted once per epoch; a smaller stride overlaps them
 * (stride 1: every window, as nanoGPT's random offsets can draw).
 *
 * A batch is gathered from the one stream when asked for (no N × T copy is ever made): x and y are
 * float tensors of ids [B, T] (descent has no integer dtype; float32 holds every id below 2²⁴
 * exactly), what Embedding and crossEntropy take. Held-out data is another stream: slice the ids
 * (`ids.subarray(0, n)`, `ids.subarray(n)`) and make a set of each.
 *
 * Isomorphic.
 */
import { Tensor } from '../tensor/tensor.js';
import { checkOptions, int, type SchemaOf } from '../util/options.js';
import type { SampleSet } from './tensor-dataset.js';

export interface NextTokenWindowsOptions {
  /** T, the ids per window (≥ 1): the context a model sees. Required. */
  contextLength: number;
  /** Ids between the starts of two windows (≥ 1); default T (windows tile the stream). */
  stride?: number;
}

const schema: SchemaOf<NextTokenWindowsOptions> = { contextLength: int, stride: int };

/** The next-token windows of a stream (see the header): sample i is ids[i·stride …] and the same shifted by one. */
export interface NextTokenWindows extends SampleSet<Tensor> {
  /** The stream, read (not copied) at each collate. */
  readonly ids: Int32Array;
  /** T. */
  readonly contextLength: number;
  readonly stride: number;
  collate(indices: ArrayLike<number>): { x: Tensor; y: Tensor };
}

class Windows implements NextTokenWindows {
  readonly length: number;
  readonly name = 'nextTokenWindows';
  readonly contextLength: number;
  readonly stride: number;

  constructor(
    readonly ids: Int32Array,
    opts: NextTokenWindowsOptions,
  ) {
    const owner = 'nextTokenWindows';
    if (!(ids instanceof Int32Array))
      throw new TypeError(`${owner}: ids must be an Int32Array of token ids, got ${Object.prototype.toString.call(ids)}`);
    checkOptions(owner, opts, schema);
    if (opts.contextLength === undefined) throw new TypeError(`${owner}: contextLength is required (T, the ids per window)`);
    const T = opts.contextLength;
    const stride = opts.stride ?? T;
    if (T < 1) throw new RangeError(`${owner}: contextLength must be ≥ 1, got ${T}`);
    if (stride < 1) throw new RangeError(`${owner}: stride must be ≥ 1, got ${stride}`);
    if (ids.length < T + 1)
      throw new RangeError(
        `${owner}: a stream of ${ids.length} ids is too short for contextLength ${T}; expected at least T + 1 = ${T + 1} (a window and its next token)`,
      );
    for (let i = 0; i < ids.length; i++) if (ids[i] < 0) throw new RangeError(`${owner}: ids[${i}] is ${ids[i]}, expected a token id ≥ 0`);
    this.contextLength = T;
    this.stride = stride;
    this.length = Math.floor((ids.length - T - 1) / stride) + 1;
  }

  collate(indices: ArrayLike<number>): { x: Tensor; y: Tensor } {
    const T = this.contextLength,
      B = indices.length;
    const x = new Float32Array(B * T),
      y = new Float32Array(B * T);
    for (let k = 0; k < B; k++) {
      const i = indices[k];
      if (!Number.isInteger(i) || i < 0 || i >= this.length)
        throw new RangeError(`${this.name}: index ${k} is ${i}, expected an integer in [0, ${this.length - 1}]`);
      const start = i * this.stride;
      x.set(this.ids.subarray(start, start + T), k * T);
      y.set(this.ids.subarray(start + 1, start + T + 1), k * T);
    }
    return { x: new Tensor(x, [B, T]), y: new Tensor(y, [B, T]) };
  }
}

/**
 * The next-token windows of `ids` (see the header): `new DataLoader(nextTokenWindows(ids,
 * { contextLength: 64 }), { batchSize: 32, shuffle: true })` yields x and y [32, 64].
 */
export function nextTokenWindows(ids: Int32Array, opts: NextTokenWindowsOptions): NextTokenWindows {
  return new Windows(ids, opts);
}
