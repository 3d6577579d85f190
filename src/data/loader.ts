/**
 * DataLoader: mini-batches of any data set — an image Dataset, a TensorDataset, or anything with
 * `length` and `collate(indices)` (SampleSet) — with seeded shuffling and drop-last (PyTorch's
 * DataLoader with a sampler and default collate, minus the workers).
 *
 * Determinism: the order of epoch e is `rng.fork('epoch:' + e).permutation(n)`, a pure function of
 * the loader's seed and e. It does not depend on how many epochs were run before, nor on any other
 * use of randomness (initialisation, dropout), so resuming at epoch 7 replays epoch 7 exactly.
 * A batch transform (augmentation) gets its own stream, `rng.fork('transform:' + e)`, drawn batch
 * after batch in order. Each batch carries that stream as it stands after the batch was drawn
 * (`transformRng`), and `epoch(e, { batch, transformRng })` continues an epoch from a batch and a
 * saved stream position, so a checkpoint taken mid-epoch resumes draw for draw.
 *
 * Isomorphic.
 */
import { Tensor } from '../tensor/tensor.js';
import { Rng, nextDefaultRng, type RngState } from '../tensor/rng.js';
import type { Dataset } from './dataset.js';
import type { SampleSet, Target, TargetOf } from './tensor-dataset.js';
import { fmtShape } from '../tensor/shape.js';
import { bool, checkOptions, num, rng as rngSpec, spec, type SchemaOf } from '../util/options.js';

export interface Batch<Y extends Target = Int32Array> {
  /** [B, …] as the data set stores a sample ([B, C, H, W] for images), [B, features] when `flatten`, [B, ...sampleShape] when given. */
  x: Tensor;
  /** B labels, or a float tensor [B, …] of targets (TensorDataset with float targets). */
  y: Y;
  /** Positions in the data set of the B samples. */
  indices: Int32Array;
  /** The epoch's transform stream (absent without a transform); live: its state is the position after this batch until the next one is drawn. */
  transformRng?: Rng;
}

/** Where to start an epoch: the first batch to yield and the transform stream's position there. */
export interface EpochStart {
  batch: number;
  transformRng?: RngState;
}

/** A function of a batch's inputs (NCHW for images), e.g. augmentation; it must return a tensor of the same shape. */
export type BatchTransform = (x: Tensor, rng: Rng) => Tensor;

/**
 * A function of a batch's inputs and labels together (MixUp, CutMix: `src/augment/mix.ts`): it
 * returns inputs of the same shape and the targets as class probabilities [B, C].
 */
export type BatchMixer = (x: Tensor, y: ArrayLike<number> | Tensor, rng: Rng) => { x: Tensor; y: Tensor };

export interface DataLoaderOptions {
  /** Samples per batch, a positive integer (default 1, like PyTorch). */
  batchSize?: number;
  /** Visit the samples in a new seeded random order each epoch (default false). */
  shuffle?: boolean;
  /** Skip the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Source of the shuffling (and transform) randomness; default: drawn from the global generator (manualSeed). */
  rng?: Rng;
  /** Yield x as [B, C·H·W] (for MLPs) instead of [B, C, H, W] (any sample shape: [B, its size]). Applied after `transform`. */
  flatten?: boolean;
  /**
   * Yield x as [B, ...sampleShape]: each sample's values in their order, viewed in this shape (of
   * the same size), as a model takes them, e.g. [T, F] for a sequence model reading one-channel
   * [1, T, F] samples. Applied after `transform`; `flatten` is sampleShape [C·H·W].
   */
  sampleShape?: readonly number[];
  /** Applied to each batch's inputs (NCHW for images) before flattening. */
  transform?: BatchTransform;
  /**
   * Applied to each batch's inputs and labels after `transform`, before flattening (mixup(),
   * cutmix()): the batches' `y` are then probabilities [B, C]. It draws from the transform stream.
   */
  mix?: BatchMixer;
}

const loaderSchema: SchemaOf<DataLoaderOptions> = {
  batchSize: num,
  shuffle: bool,
  dropLast: bool,
  rng: rngSpec,
  flatten: bool,
  sampleShape: spec(
    'an array of positive integers',
    (v) => Array.isArray(v) && v.length > 0 && v.every((d) => Number.isInteger(d) && d > 0),
  ),
  transform: spec('a function (x, rng) => Tensor', (v) => typeof v === 'function'),
  mix: spec('a function (x, y, rng) => { x, y }, e.g. mixup({ numClasses })', (v) => typeof v === 'function'),
};

/**
 * The loader class; `DataLoader` is this class with its constructor typed so that a loader built
 * with `mix` yields float targets (Batch<Tensor>) and any other one the data set's targets.
 */
class Loader<D extends SampleSet, Y extends Target> implements Iterable<Batch<Y>> {
  readonly dataset: D;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly flatten: boolean;
  readonly sampleShape: readonly number[] | undefined;
  readonly rng: Rng;
  readonly transform: BatchTransform | undefined;
  readonly mix: BatchMixer | undefined;
  /** The epoch that the next `for (const b of loader)` will run; advanced by each such loop. */
  nextEpoch = 0;

  constructor(dataset: D, opts: DataLoaderOptions = {}) {
    checkOptions('DataLoader', opts, loaderSchema);
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (dataset.length === 0) throw new RangeError(`DataLoader: data set ${dataset.name} is empty`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.flatten = opts.flatten ?? false;
    if (opts.sampleShape && this.flatten)
      throw new RangeError('DataLoader: give flatten or sampleShape, not both (flatten is sampleShape [C·H·W])');
    this.sampleShape = opts.sampleShape && Object.freeze([...opts.sampleShape]);
    // Draw from the global generator only when randomness is used, so a plain test loader does not
    // shift the stream that later default-initialised layers see.
    this.rng = opts.rng ?? (this.shuffle || opts.transform || opts.mix ? nextDefaultRng() : new Rng(0));
    this.transform = opts.transform;
    this.mix = opts.mix;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Samples per epoch (fewer than the data set when dropLast cuts a partial batch). */
  get samplesPerEpoch(): number {
    return this.dropLast ? this.length * this.batchSize : this.dataset.length;
  }

  /** The sample order of epoch `e` (identity when not shuffling). */
  order(e: number): Int32Array {
    if (!Number.isInteger(e) || e < 0) throw new RangeError(`DataLoader: epoch must be a non-negative integer, got ${e}`);
    const n = this.dataset.length;
    if (this.shuffle) return this.rng.fork(`epoch:${e}`).permutation(n);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    return idx;
  }

  /** The batches of epoch `e` (from batch `start.batch` on when given); does not touch `nextEpoch`. */
  *epoch(e: number, start?: EpochStart): Generator<Batch<Y>, void, undefined> {
    const order = this.order(e);
    const B = this.batchSize;
    const nb = this.length;
    const first = start?.batch ?? 0;
    if (!Number.isInteger(first) || first < 0 || first > nb)
      throw new RangeError(`DataLoader: start batch must be an integer in [0, ${nb}], got ${first}`);
    let tRng: Rng | null = null;
    if (this.transform || this.mix) {
      if (first > 0 && !start?.transformRng)
        throw new RangeError("DataLoader: starting an epoch mid-way with a transform needs the transform stream's position (transformRng)");
      tRng = first > 0 ? Rng.fromState(start!.transformRng!) : this.rng.fork(`transform:${e}`);
    }
    for (let b = first; b < nb; b++) {
      const indices = order.slice(b * B, Math.min((b + 1) * B, order.length));
      const batch = this.collate(indices, tRng);
      if (tRng) batch.transformRng = tRng;
      yield batch;
    }
  }

  [Symbol.iterator](): Iterator<Batch<Y>> {
    return this.epoch(this.nextEpoch++);
  }

  /** Gather the samples at `indices` into one batch (the data set's collate, then transform and flatten). */
  collate(indices: Int32Array, transformRng: Rng | null = null): Batch<Y> {
    const m = indices.length;
    const got = this.dataset.collate(indices);
    let xt = got.x;
    const rng = this.transform || this.mix ? (transformRng ?? this.rng.fork('transform')) : null;
    if (this.transform) {
      const out = this.transform(xt, rng!);
      if (!(out instanceof Tensor) || out.shape.length !== xt.shape.length || out.shape[0] !== m) {
        const got = out instanceof Tensor ? `[${out.shape.join(', ')}]` : String(out);
        const want = xt.shape.length === 4 ? `[${m}, C, H, W]` : `[${m}, …] (${xt.shape.length} dimensions)`;
        throw new TypeError(`DataLoader: transform must return a ${want} tensor, got ${got}`);
      }
      xt = out;
    }
    let target: Target = got.y;
    if (this.mix) {
      const mixed = this.mix(xt, got.y, rng!);
      if (
        !(mixed?.x instanceof Tensor) ||
        mixed.x.shape.join() !== xt.shape.join() ||
        !(mixed.y instanceof Tensor) ||
        mixed.y.shape[0] !== m
      )
        throw new TypeError(
          `DataLoader: mix must return { x: ${fmtShape(xt.shape)}, y: [${m}, C] } tensors, got ${mixed?.x instanceof Tensor ? fmtShape(mixed.x.shape) : 'no x tensor'} and ${mixed?.y instanceof Tensor ? fmtShape(mixed.y.shape) : 'no y tensor'}`,
        );
      xt = mixed.x;
      target = mixed.y;
    }
    if (this.flatten) xt = new Tensor(xt.data, [m, xt.size / m]);
    else if (this.sampleShape) {
      const size = this.sampleShape.reduce((a, b) => a * b, 1);
      if (size * m !== xt.size)
        throw new RangeError(
          `DataLoader: sampleShape ${fmtShape(this.sampleShape)} holds ${size} values but the samples of ${this.dataset.name} hold ${xt.size / m} (${fmtShape(xt.shape.slice(1))})`,
        );
      xt = new Tensor(xt.data, [m, ...this.sampleShape]);
    }
    return { x: xt, y: target as Y, indices };
  }
}

/** A DataLoader over the data set D whose batches carry targets Y (the data set's, or probabilities [B, C] with `mix`). */
export type DataLoader<D extends SampleSet = Dataset, Y extends Target = TargetOf<D>> = Loader<D, Y>;

export interface DataLoaderConstructor {
  /** With `mix`, the batches' targets are probabilities [B, C]. */
  new <D extends SampleSet>(dataset: D, opts: DataLoaderOptions & { mix: BatchMixer }): DataLoader<D, Tensor>;
  new <D extends SampleSet>(dataset: D, opts?: DataLoaderOptions & { mix?: undefined }): DataLoader<D>;
  /** A `mix` that may be absent: the targets are either. */
  new <D extends SampleSet>(dataset: D, opts: DataLoaderOptions): DataLoader<D, TargetOf<D> | Tensor>;
  readonly prototype: DataLoader<SampleSet, Target>;
}

// printed and inspected under the name users construct it by
Object.defineProperty(Loader, 'name', { value: 'DataLoader' });

export const DataLoader = Loader as DataLoaderConstructor;
