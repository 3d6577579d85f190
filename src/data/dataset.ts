/**
 * An in-memory image classification data set: images as float32 N×C×H×W scaled to [0, 1] (what
 * torchvision's ToTensor gives), integer labels, and the class names.
 *
 * Isomorphic. Images are stored once as one Float32Array; `subset`/`slice` copy the selected rows
 * (a view-based design would save memory but tie subsets' lifetime to the parent, and the loader
 * copies rows into each batch anyway).
 */
import { Tensor } from '../tensor/tensor.js';
import { DataFormatError, type IdxArray } from './idx.js';
import type { SampleSet } from './tensor-dataset.js';
import { checkOptions, spec, str, type SchemaOf } from '../util/options.js';

const datasetSchema: SchemaOf<DatasetInit> = {
  images: spec('a Float32Array', (v) => v instanceof Float32Array),
  labels: spec('an Int32Array or Uint8Array', (v) => v instanceof Int32Array || v instanceof Uint8Array),
  shape: spec('[C, H, W]', (v) => Array.isArray(v) && v.length === 3),
  classes: spec('an array of class names', (v) => Array.isArray(v) && v.every((c) => typeof c === 'string')),
  name: str,
};

/** Fashion-MNIST's ten classes, in label order (Xiao, Rasul & Vollgraf 2017). */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

export interface DatasetInit {
  /** N·C·H·W values, row-major, one sample after the other. */
  images: Float32Array;
  /** N integer labels in [0, classes.length). */
  labels: Int32Array | Uint8Array;
  /** [C, H, W] of one sample. */
  shape: readonly [number, number, number];
  classes: readonly string[];
  /** Shown in messages and by the CLI ("fashion-mnist/train"). */
  name?: string;
}

export class Dataset implements SampleSet<Int32Array> {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly shape: readonly [number, number, number];
  readonly classes: readonly string[];
  readonly name: string;
  readonly length: number;
  /** C·H·W. */
  readonly sampleSize: number;

  constructor(init: DatasetInit) {
    checkOptions('Dataset', init, datasetSchema, { required: ['images', 'labels', 'shape', 'classes'] });
    const name = init.name ?? 'dataset';
    const [c, h, w] = init.shape;
    for (const d of init.shape) {
      if (!Number.isInteger(d) || d <= 0)
        throw new RangeError(`${name}: sample shape [${init.shape.join(', ')}] must be positive integers`);
    }
    const sampleSize = c * h * w;
    const n = init.labels.length;
    if (init.images.length !== n * sampleSize) {
      throw new RangeError(`${name}: ${n} labels need ${n} × ${sampleSize} = ${n * sampleSize} image values, got ${init.images.length}`);
    }
    if (init.classes.length === 0) throw new RangeError(`${name}: classes must not be empty`);
    const labels = init.labels instanceof Int32Array ? init.labels : Int32Array.from(init.labels);
    checkLabels(labels, init.classes.length, name);
    this.images = init.images;
    this.labels = labels;
    this.shape = Object.freeze([c, h, w]) as readonly [number, number, number];
    this.classes = init.classes;
    this.name = name;
    this.length = n;
    this.sampleSize = sampleSize;
  }

  /** A new data set holding the samples at `indices`, in that order (copies). */
  subset(indices: ArrayLike<number>, name = this.name): Dataset {
    checkIndices(`${this.name}.subset`, indices, this.length);
    return new Dataset({
      images: gatherRows(this.images, this.sampleSize, indices),
      labels: gatherRows(this.labels, 1, indices),
      shape: this.shape,
      classes: this.classes,
      name,
    });
  }

  /** Samples start..end-1 (negative and out-of-range bounds clamp like Array.prototype.slice). */
  slice(start = 0, end = this.length, name = this.name): Dataset {
    const [a, b] = sliceBounds(this.length, start, end);
    const s = this.sampleSize;
    return new Dataset({
      images: this.images.slice(a * s, b * s),
      labels: this.labels.slice(a, b),
      shape: this.shape,
      classes: this.classes,
      name,
    });
  }

  /** The samples at `indices` as one batch: x [B, C, H, W] float32 and B labels (what a DataLoader yields). */
  collate(indices: ArrayLike<number>): { x: Tensor; y: Int32Array } {
    const [c, h, w] = this.shape;
    return {
      x: new Tensor(gatherRows(this.images, this.sampleSize, indices), [indices.length, c, h, w]),
      y: gatherRows(this.labels, 1, indices),
    };
  }

  /** Number of samples of each class, indexed by label. */
  classCounts(): number[] {
    const counts = new Array<number>(this.classes.length).fill(0);
    for (let i = 0; i < this.length; i++) counts[this.labels[i]]++;
    return counts;
  }
}

function checkLabels(labels: ArrayLike<number>, k: number, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= k) {
      throw new DataFormatError(file, `label ${i} is ${y}, out of range: expected a class in [0, ${k - 1}]`);
    }
  }
}

export interface FromIdxOptions {
  classes?: readonly string[];
  /** File names used in error messages. */
  imagesName?: string;
  labelsName?: string;
  name?: string;
}

/**
 * Build a Dataset from a parsed images file (u8, [N, H, W] or [N, C, H, W]) and labels file
 * (u8 [N]); pixels are divided by 255.
 */
export function datasetFromIdx(images: IdxArray, labels: IdxArray, opts: FromIdxOptions = {}): Dataset {
  const imagesName = opts.imagesName ?? 'images';
  const labelsName = opts.labelsName ?? 'labels';
  const classes = opts.classes ?? FASHION_MNIST_CLASSES;
  if (images.dtype !== 'uint8') throw new DataFormatError(imagesName, `expected uint8 pixels, got ${images.dtype}`);
  if (images.shape.length !== 3 && images.shape.length !== 4) {
    throw new DataFormatError(imagesName, `expected images of shape [N, H, W] or [N, C, H, W], got [${images.shape.join(', ')}]`);
  }
  if (labels.shape.length !== 1) {
    throw new DataFormatError(labelsName, `expected labels of shape [N], got [${labels.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'uint8' && labels.dtype !== 'int8' && labels.dtype !== 'int16' && labels.dtype !== 'int32') {
    throw new DataFormatError(labelsName, `expected integer labels, got ${labels.dtype}`);
  }
  const n = images.shape[0];
  if (labels.shape[0] !== n) {
    throw new DataFormatError(`${imagesName} / ${labelsName}`, `image/label count mismatch: ${n} images but ${labels.shape[0]} labels`);
  }
  checkLabels(labels.data, classes.length, labelsName);
  const shape: [number, number, number] =
    images.shape.length === 3 ? [1, images.shape[1], images.shape[2]] : [images.shape[1], images.shape[2], images.shape[3]];
  const px = images.data;
  const out = new Float32Array(px.length);
  // Multiply by the float32 nearest 1/255 would differ from PyTorch's x / 255 in the last bit.
  for (let i = 0; i < px.length; i++) out[i] = px[i] / 255;
  return new Dataset({ images: out, labels: Int32Array.from(labels.data), shape, classes, name: opts.name });
}

export interface RegressionDatasetInit {
  /** N·C·H·W input values, row-major, one sample after the other (F features: C = H = 1, W = F). */
  images: Float32Array;
  /** N·T target values, one sample's T values after the other's. */
  targets: Float32Array;
  /** [C, H, W] of one sample ([1, 1, F] for F features). */
  shape: readonly [number, number, number];
  /** The T targets' names (CSV: their header names). */
  targetNames: readonly string[];
  /** Shown in messages and by the CLI ("csv/train"). */
  name?: string;
}

const regressionSchema: SchemaOf<RegressionDatasetInit> = {
  images: spec('a Float32Array', (v) => v instanceof Float32Array),
  targets: spec('a Float32Array', (v) => v instanceof Float32Array),
  shape: spec('[C, H, W]', (v) => Array.isArray(v) && v.length === 3),
  targetNames: spec('an array of target names', (v) => Array.isArray(v) && v.every((c) => typeof c === 'string')),
  name: str,
};

/**
 * An in-memory regression data set: inputs (`images`, as Dataset names them) as float32 N×C×H×W and T float targets per sample, the
 * targets a batch's [B, T] tensor of the model's output shape (what mseLoss, l1Loss and huberLoss
 * compare it with, none of which broadcasts). Rows are copied as Dataset's are.
 */
export class RegressionDataset implements SampleSet<Tensor> {
  readonly images: Float32Array;
  readonly targets: Float32Array;
  readonly shape: readonly [number, number, number];
  readonly targetNames: readonly string[];
  readonly name: string;
  readonly length: number;
  /** C·H·W. */
  readonly sampleSize: number;

  constructor(init: RegressionDatasetInit) {
    checkOptions('RegressionDataset', init, regressionSchema, { required: ['images', 'targets', 'shape', 'targetNames'] });
    const name = init.name ?? 'dataset';
    for (const d of init.shape) {
      if (!Number.isInteger(d) || d <= 0)
        throw new RangeError(`${name}: sample shape [${init.shape.join(', ')}] must be positive integers`);
    }
    const t = init.targetNames.length;
    if (t === 0) throw new RangeError(`${name}: targetNames must not be empty`);
    if (init.targets.length % t !== 0)
      throw new RangeError(`${name}: ${init.targets.length} target values are not a whole number of samples of ${t} targets`);
    const n = init.targets.length / t;
    const [c, h, w] = init.shape;
    const sampleSize = c * h * w;
    if (init.images.length !== n * sampleSize)
      throw new RangeError(`${name}: ${n} samples need ${n} × ${sampleSize} = ${n * sampleSize} input values, got ${init.images.length}`);
    const bad = init.targets.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new RangeError(`${name}: target ${bad % t} of sample ${Math.floor(bad / t)} is ${init.targets[bad]}, expected a finite number`);
    this.images = init.images;
    this.targets = init.targets;
    this.shape = Object.freeze([c, h, w]) as readonly [number, number, number];
    this.targetNames = Object.freeze([...init.targetNames]);
    this.name = name;
    this.length = n;
    this.sampleSize = sampleSize;
  }

  /** A new data set holding the samples at `indices`, in that order (copies). */
  subset(indices: ArrayLike<number>, name = this.name): RegressionDataset {
    checkIndices(`${this.name}.subset`, indices, this.length);
    return new RegressionDataset({
      images: gatherRows(this.images, this.sampleSize, indices),
      targets: gatherRows(this.targets, this.targetNames.length, indices),
      shape: this.shape,
      targetNames: this.targetNames,
      name,
    });
  }

  /** Samples start..end-1 (negative and out-of-range bounds clamp like Array.prototype.slice). */
  slice(start = 0, end = this.length, name = this.name): RegressionDataset {
    const [a, b] = sliceBounds(this.length, start, end);
    const s = this.sampleSize;
    const t = this.targetNames.length;
    return new RegressionDataset({
      images: this.images.slice(a * s, b * s),
      targets: this.targets.slice(a * t, b * t),
      shape: this.shape,
      targetNames: this.targetNames,
      name,
    });
  }

  /** The samples at `indices` as one batch: x [B, C, H, W] and y [B, T] float32. */
  collate(indices: ArrayLike<number>): { x: Tensor; y: Tensor } {
    const [c, h, w] = this.shape;
    const t = this.targetNames.length;
    const m = indices.length;
    return {
      x: new Tensor(gatherRows(this.images, this.sampleSize, indices), [m, c, h, w]),
      y: new Tensor(gatherRows(this.targets, t, indices), [m, t]),
    };
  }
}

/** Refuse an index that is not a sample of a data set of `length` samples, naming its position. */
function checkIndices(what: string, indices: ArrayLike<number>, length: number): void {
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= length)
      throw new RangeError(`${what}: index ${k} is ${i}, expected an integer in [0, ${length - 1}]`);
  }
}

/** Array.prototype.slice's clamping of [start, end) to n elements. */
function sliceBounds(n: number, start: number, end: number): [number, number] {
  const a = Math.min(n, Math.max(0, start < 0 ? n + start : start));
  return [a, Math.min(n, Math.max(a, end < 0 ? n + end : end))];
}

/** Rows `indices` of `src` (rows of `width` values, one after the other) copied in that order into a new array of src's type. */
function gatherRows<A extends Float32Array | Int32Array | Uint8Array>(src: A, width: number, indices: ArrayLike<number>): A {
  const out = new (src.constructor as new (n: number) => A)(indices.length * width);
  if (width === 1) for (let k = 0; k < indices.length; k++) out[k] = src[indices[k]];
  else for (let k = 0; k < indices.length; k++) out.set(src.subarray(indices[k] * width, indices[k] * width + width), k * width);
  return out;
}
