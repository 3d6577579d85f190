/**
 * Data sets from NumPy arrays (an `.npz` file's arrays, `parseNpz`/`readNpz`): the inputs array and
 * the labels or targets array, by the names NumPy users give them.
 *
 * Names: the inputs are `x`, `X`, `inputs`, `features`, `data` or `images`; the labels or targets `y`,
 * `labels`, `label`, `targets` or `target` — each plain, or with `_train` and, for the test set,
 * `_test` (Keras' `mnist.npz` holds `x_train`, `y_train`, `x_test`, `y_test`).
 *
 * Inputs, one sample per row of the first axis: [N, F] is F features (a sample [1, 1, F], as a CSV
 * row), [N, H, W] a grey image [1, H, W] (a sequence model reads it as H steps of W features, and
 * [N, F] as token ids or one step), [N, C, H, W] an image channels first (PyTorch's layout),
 * [N, H, W, C] channels last (Keras') when C is 1, 3 or 4 and the second axis is not, transposed to
 * [C, H, W]. uint8 inputs are divided by 255 (torchvision's ToTensor), bool are 0 and 1, every other
 * dtype is taken as it is (rounded to float32). A non-finite input is refused.
 *
 * Outputs: an integer or bool array [N] (or [N, 1]) is class labels: the classes are the sorted
 * unique values of the training labels, named by their decimal value; an [N, K] array (K ≥ 2) whose
 * every row is one 1 and K − 1 zeros is one-hot labels of K classes "0" … "K−1" (Keras'
 * `to_categorical`). Any other float array [N] or [N, T] is regression targets, named by the
 * array (`y`, or `y[0]`, `y[1]`, … for T > 1).
 */
import type { NpyArray } from '../io/npy.js';
import { Dataset, RegressionDataset } from './dataset.js';

/** Where the inputs' axes went: [F] → [1, 1, F], [H, W] → [1, H, W], or an image of C channels. */
export type NpzLayout = 'features' | 'grey' | 'channels-first' | 'channels-last';

export const NPZ_INPUT_NAMES = ['x', 'X', 'inputs', 'features', 'data', 'images'] as const;
export const NPZ_OUTPUT_NAMES = ['y', 'labels', 'label', 'targets', 'target'] as const;

/** An .npz file whose arrays do not make a data set; the message names the file, the array and what was expected. */
export class NpzDataError extends Error {
  override name = 'NpzDataError';
}

export interface NpzDatasetsOptions {
  /** Shown in messages and as the data sets' names (the file's path). */
  name?: string;
  /**
   * The classes the labels index (a test file's, or a trained model's): a label is looked up by
   * its decimal name, and one the list lacks is refused; classes none of which is named by a number
   * (Fashion-MNIST's, an image folder's) take the labels 0 … K−1 as indices. Default: the training
   * labels' own.
   */
  classes?: readonly string[];
}

export interface NpzDatasets {
  /** The `_train` pair, or the plain one. */
  train: Dataset | RegressionDataset;
  /** The `_test` pair, where the file has one beside a `_train` pair. */
  test?: Dataset | RegressionDataset;
  /** The names of the arrays read: inputs and outputs, and the test pair's. */
  keys: { x: string; y: string; testX?: string; testY?: string };
  /** The inputs' shape in the file, one sample's: e.g. [28, 28] or [32, 32, 3]. */
  sampleShape: number[];
  layout: NpzLayout;
  /** The inputs' dtype in the file (uint8 ones were divided by 255). */
  dtype: string;
  /** What the outputs are: class labels, one-hot rows of classes, or regression targets. */
  outputs: 'labels' | 'one-hot' | 'targets';
}

/** The inputs array among `keys` for prediction: a plain name first, then one with _test, then _train. */
export function npzInputKey(keys: readonly string[]): string | undefined {
  for (const suffix of ['', '_test', '_train']) {
    const x = NPZ_INPUT_NAMES.map((n) => n + suffix).find((k) => keys.includes(k));
    if (x !== undefined) return x;
  }
  return undefined;
}

/** The name pair found in `keys`, and the test pair beside a `_train` one. */
function findKeys(keys: readonly string[], name: string): NpzDatasets['keys'] {
  const has = (k: string) => keys.includes(k);
  for (const suffix of ['_train', '']) {
    const x = NPZ_INPUT_NAMES.map((n) => n + suffix).find(has);
    const y = NPZ_OUTPUT_NAMES.map((n) => n + suffix).find(has);
    if (x === undefined || y === undefined) continue;
    if (suffix === '') return { x, y };
    const testX = x.replace(/_train$/, '_test');
    const testY = y.replace(/_train$/, '_test');
    if (has(testX) !== has(testY))
      throw new NpzDataError(
        `${name}: holds "${has(testX) ? testX : testY}" without "${has(testX) ? testY : testX}"; a test set needs both`,
      );
    return has(testX) ? { x, y, testX, testY } : { x, y };
  }
  const names = (list: readonly string[]) => list.map((n) => `"${n}"`).join(', ');
  throw new NpzDataError(
    `${name}: no inputs and labels arrays among ${names(keys)}; expected inputs named ${names(NPZ_INPUT_NAMES)} and labels or targets named ${names(NPZ_OUTPUT_NAMES)}, each plain or with _train (and _test for a test set)`,
  );
}

/** A sample's [C, H, W] and the layout for inputs of shape [N, ...rest]. */
function layoutOf(shape: readonly number[], what: string): { chw: [number, number, number]; layout: NpzLayout } {
  const rest = shape.slice(1);
  const image = (n: number) => n === 1 || n === 3 || n === 4;
  if (rest.length === 1) return { chw: [1, 1, rest[0]], layout: 'features' };
  if (rest.length === 2) return { chw: [1, rest[0], rest[1]], layout: 'grey' };
  if (rest.length === 3) {
    const [a, b, c] = rest;
    if (image(c) && !image(a)) return { chw: [c, a, b], layout: 'channels-last' };
    return { chw: [a, b, c], layout: 'channels-first' };
  }
  throw new NpzDataError(
    `${what}: shape (${shape.join(', ')}) is not a set of samples; expected (N, F) features, (N, H, W) grey images, or (N, C, H, W) / (N, H, W, C) images`,
  );
}

/** Inputs [N, …] as float32 samples [N, C, H, W], as npzDatasets reads them: uint8 divided by 255, channels last transposed; `what` names the array in errors. */
export function npzInputs(a: NpyArray, what: string): { images: Float32Array; chw: [number, number, number]; layout: NpzLayout } {
  const { chw, layout } = layoutOf(a.shape, what);
  const n = a.shape[0];
  const scale = a.dtype === 'uint8' ? 1 / 255 : 1;
  const images = new Float32Array(a.data.length);
  const [c, h, w] = chw;
  if (layout === 'channels-last') {
    // file order [n][y][x][ch] → [n][ch][y][x]
    const plane = h * w;
    for (let s = 0, src = 0; s < n; s++) {
      const base = s * c * plane;
      for (let p = 0; p < plane; p++) for (let ch = 0; ch < c; ch++) images[base + ch * plane + p] = a.data[src++] * scale;
    }
  } else for (let k = 0; k < images.length; k++) images[k] = a.data[k] * scale;
  for (let k = 0; k < images.length; k++) {
    if (!Number.isFinite(images[k])) {
      const per = c * h * w;
      throw new NpzDataError(`${what}: sample ${Math.floor(k / per)} holds ${images[k]}; inputs must be finite numbers`);
    }
  }
  return { images, chw, layout };
}

const INTEGER_DTYPES = new Set(['bool', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

/** Whether every row of an [N, K] array is one 1 and K − 1 zeros. */
function isOneHot(a: NpyArray): boolean {
  const [n, k] = a.shape;
  if (a.shape.length !== 2 || k < 2 || n === 0) return false;
  for (let i = 0; i < n; i++) {
    let ones = 0;
    for (let j = 0; j < k; j++) {
      const v = a.data[i * k + j];
      if (v === 1) ones++;
      else if (v !== 0) return false;
    }
    if (ones !== 1) return false;
  }
  return true;
}

type Outputs =
  | { kind: 'labels' | 'one-hot'; labels: Int32Array; classes: string[] }
  | { kind: 'targets'; targets: Float32Array; names: string[] };

/** The outputs array as labels (an index per sample into `classes`) or as regression targets. */
function outputsOf(a: NpyArray, n: number, key: string, what: string, classes: readonly string[] | undefined): Outputs {
  if (a.shape[0] !== n)
    throw new NpzDataError(`${what}: ${a.shape[0] ?? 0} rows for ${n} input samples; expected one label or target row per sample`);
  const cols = a.shape.length === 1 ? 1 : a.shape.length === 2 ? a.shape[1] : -1;
  if (cols < 1) throw new NpzDataError(`${what}: shape (${a.shape.join(', ')}); expected (N,) labels or targets, or (N, T)`);
  const oneHot = isOneHot(a);
  if (oneHot || (INTEGER_DTYPES.has(a.dtype) && cols === 1)) {
    const values = oneHot ? Array.from({ length: n }, (_, i) => a.data.subarray(i * cols, (i + 1) * cols).indexOf(1)) : Array.from(a.data);
    const own = oneHot ? Array.from({ length: cols }, (_, j) => String(j)) : [...new Set(values)].sort((p, q) => p - q).map(String);
    const names = classes ?? own;
    // classes named otherwise than by numbers (Fashion-MNIST's, an image folder's) take labels 0 … K−1 as their indices
    const byIndex = classes !== undefined && !classes.some((c) => /^-?\d+$/.test(c));
    const index = new Map(names.map((c, j) => [byIndex ? String(j) : c, j]));
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const j = index.get(String(values[i]));
      if (j === undefined)
        throw new NpzDataError(
          `${what}: sample ${i} has label ${values[i]}, which is not one of the ${names.length} classes (${byIndex ? `0 … ${names.length - 1}: ` : ''}${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''})`,
        );
      labels[i] = j;
    }
    return { kind: oneHot ? 'one-hot' : 'labels', labels, classes: [...names] };
  }
  if (INTEGER_DTYPES.has(a.dtype))
    throw new NpzDataError(
      `${what}: ${a.dtype} of shape (${a.shape.join(', ')}) is neither labels ((N,) integers) nor one-hot rows; save regression targets as floats`,
    );
  const base = key.replace(/_(train|test)$/, '');
  const names = cols === 1 ? [base] : Array.from({ length: cols }, (_, j) => `${base}[${j}]`);
  return { kind: 'targets', targets: Float32Array.from(a.data), names };
}

function datasetOf(
  arrays: Map<string, NpyArray>,
  xKey: string,
  yKey: string,
  name: string,
  classes: readonly string[] | undefined,
): { set: Dataset | RegressionDataset; sampleShape: number[]; layout: NpzLayout; dtype: string; outputs: Outputs['kind'] } {
  const x = arrays.get(xKey) as NpyArray;
  const inputs = npzInputs(x, `${name}["${xKey}"]`);
  const n = x.shape[0];
  const out = outputsOf(arrays.get(yKey) as NpyArray, n, yKey, `${name}["${yKey}"]`, classes);
  const setName = `${name}/${xKey}`;
  const set =
    out.kind === 'targets'
      ? new RegressionDataset({ images: inputs.images, targets: out.targets, shape: inputs.chw, targetNames: out.names, name: setName })
      : new Dataset({ images: inputs.images, labels: out.labels, shape: inputs.chw, classes: out.classes, name: setName });
  return { set, sampleShape: x.shape.slice(1), layout: inputs.layout, dtype: x.dtype, outputs: out.kind };
}

/** Refuse a test set whose samples or outputs (labels, or as many targets) are not the training set's; `trainWhat` and `testWhat` name them. */
export function checkTestSet(
  train: Dataset | RegressionDataset,
  trainWhat: string,
  test: Dataset | RegressionDataset,
  testWhat: string,
): void {
  if (test.shape.join() !== train.shape.join())
    throw new NpzDataError(`${testWhat}: samples of ${test.shape.join('×')}; ${trainWhat} has ${train.shape.join('×')}`);
  const outputs = (d: Dataset | RegressionDataset) =>
    d instanceof RegressionDataset ? `${d.targetNames.length} target${d.targetNames.length === 1 ? '' : 's'}` : 'labels';
  if (outputs(test) !== outputs(train))
    throw new NpzDataError(`${testWhat}: ${outputs(test)} per sample; ${trainWhat} has ${outputs(train)}`);
}

/**
 * The data sets an .npz file's arrays hold (see the module comment for the names, shapes and
 * dtypes read). The test pair's labels index the training pair's classes.
 */
export function npzDatasets(arrays: Map<string, NpyArray>, opts: NpzDatasetsOptions = {}): NpzDatasets {
  const name = opts.name ?? 'npz';
  const keys = findKeys([...arrays.keys()], name);
  const train = datasetOf(arrays, keys.x, keys.y, name, opts.classes);
  const classes = train.set instanceof Dataset ? train.set.classes : undefined;
  const test = keys.testX && keys.testY ? datasetOf(arrays, keys.testX, keys.testY, name, classes).set : undefined;
  if (test) checkTestSet(train.set, `${name}["${keys.x}"]`, test, `${name}["${keys.testX}"]`);
  return {
    train: train.set,
    ...(test ? { test } : {}),
    keys,
    sampleShape: train.sampleShape,
    layout: train.layout,
    dtype: train.dtype,
    outputs: train.outputs,
  };
}
