/**
 * npzDatasets (src/data/npz.ts): the arrays of an .npz file as data sets — the names found, each
 * input layout (features, grey, channels first, channels last transposed), uint8 scaled by 1/255,
 * labels, one-hot rows and regression targets, and the files refused with what they lack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Dataset, NpzDataError, RegressionDataset, npzDatasets, parseNpz, type NpyArray, type NpyData } from '../../src/node.js';

const arr = (data: NpyData, shape: number[], dtype: NpyArray['dtype']): NpyArray => ({ data, shape, dtype });
const f32 = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

test("Keras' mnist.npz layout written by NumPy: x_train/y_train with x_test/y_test, uint8 channels last, scaled by 1/255", () => {
  const bytes = readFileSync(fileURLToPath(new URL('../../../test/fixtures/npy/keras-style.npz', import.meta.url)));
  const arrays = parseNpz(new Uint8Array(bytes), 'keras-style.npz');
  const d = npzDatasets(arrays, { name: 'keras-style.npz' });
  assert.deepEqual(d.keys, { x: 'x_train', y: 'y_train', testX: 'x_test', testY: 'y_test' });
  assert.equal(d.layout, 'channels-last');
  assert.equal(d.outputs, 'labels');
  assert.ok(d.train instanceof Dataset && d.test instanceof Dataset);
  assert.deepEqual(d.train.shape, [1, 5, 3]);
  const x = arrays.get('x_train') as NpyArray;
  assert.deepEqual(
    Array.from(d.train.images),
    Array.from(x.data, (v) => Math.fround(v / 255)),
  );
  assert.deepEqual(d.train.classes, ['0', '1', '2']);
  assert.deepEqual(Array.from(d.train.labels), Array.from((arrays.get('y_train') as NpyArray).data));
  assert.deepEqual(Array.from((d.test as Dataset).labels), [2, 0, 1]);
});

test('channels last (N, H, W, 3) is transposed to [3, H, W]; channels first, grey images and features keep their order', () => {
  const n = 2,
    h = 2,
    w = 2,
    c = 3;
  const x = f32(n * h * w * c);
  const d = npzDatasets(
    new Map([
      ['x', arr(x, [n, h, w, c], 'float32')],
      ['y', arr(new Int32Array([0, 1]), [n], 'int32')],
    ]),
  );
  assert.equal(d.layout, 'channels-last');
  assert.deepEqual(d.train.shape, [3, 2, 2]);
  for (let s = 0; s < n; s++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          assert.equal(
            d.train.images[((s * c + ch) * h + i) * w + j],
            x[((s * h + i) * w + j) * c + ch],
            `sample ${s} channel ${ch} (${i}, ${j})`,
          );
  const labels = arr(new Int32Array([0, 1]), [2], 'int32');
  const cases: [number[], number[], string][] = [
    [[2, 3, 5, 5], [3, 5, 5], 'channels-first'],
    [[2, 5, 7], [1, 5, 7], 'grey'],
    [[2, 6], [1, 1, 6], 'features'],
  ];
  for (const [shape, chw, layout] of cases) {
    const data = f32(shape.reduce((a, b) => a * b, 1));
    const e = npzDatasets(
      new Map([
        ['X', arr(data, shape, 'float32')],
        ['y', labels],
      ]),
    );
    assert.equal(e.layout, layout);
    assert.deepEqual(e.train.shape, chw);
    assert.deepEqual(e.train.images, data);
  }
});

test('labels: classes are the sorted unique values (numerically), one-hot rows are classes 0 … K−1, floats are regression targets', () => {
  const x = arr(f32(8), [4, 2], 'float32');
  const d = npzDatasets(
    new Map([
      ['features', x],
      ['labels', arr(new Float64Array([10, 9, 10, 2]), [4], 'int64')],
    ]),
  );
  assert.ok(d.train instanceof Dataset);
  assert.deepEqual(d.train.classes, ['2', '9', '10']);
  assert.deepEqual(Array.from(d.train.labels), [2, 1, 2, 0]);
  const oneHot = npzDatasets(
    new Map([
      ['x', x],
      ['y', arr(new Float32Array([0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0]), [4, 3], 'float32')],
    ]),
  );
  assert.equal(oneHot.outputs, 'one-hot');
  assert.deepEqual((oneHot.train as Dataset).classes, ['0', '1', '2']);
  assert.deepEqual(Array.from((oneHot.train as Dataset).labels), [1, 0, 2, 1]);
  const reg = npzDatasets(
    new Map([
      ['inputs', x],
      ['targets', arr(new Float64Array([0.5, 1, 2, 3, 4, 5, 6, 7.25]), [4, 2], 'float64')],
    ]),
  );
  assert.ok(reg.train instanceof RegressionDataset);
  assert.deepEqual(reg.train.targetNames, ['targets[0]', 'targets[1]']);
  assert.deepEqual(Array.from(reg.train.targets), [0.5, 1, 2, 3, 4, 5, 6, 7.25]);
  const one = npzDatasets(
    new Map([
      ['x', x],
      ['y', arr(new Float32Array([1.5, 2, 3, 4]), [4], 'float32')],
    ]),
  );
  assert.deepEqual((one.train as RegressionDataset).targetNames, ['y']);
  // a trained model's classes: labels are looked up in them
  const trained = npzDatasets(
    new Map([
      ['x', x],
      ['y', arr(new Uint8Array([3, 3, 1, 1]), [4], 'uint8')],
    ]),
    { classes: ['1', '2', '3'] },
  );
  assert.deepEqual(Array.from((trained.train as Dataset).labels), [2, 2, 0, 0]);
  // classes named otherwise (Fashion-MNIST's): the labels are their indices
  const named = npzDatasets(
    new Map([
      ['x', x],
      ['y', arr(new Uint8Array([2, 0, 1, 2]), [4], 'uint8')],
    ]),
    { classes: ['cat', 'dog', 'owl'] },
  );
  assert.deepEqual(Array.from((named.train as Dataset).labels), [2, 0, 1, 2]);
  assert.deepEqual((named.train as Dataset).classes, ['cat', 'dog', 'owl']);
  assert.throws(
    () =>
      npzDatasets(
        new Map([
          ['x', x],
          ['y', arr(new Uint8Array([3, 0, 1, 2]), [4], 'uint8')],
        ]),
        { classes: ['cat', 'dog', 'owl'] },
      ),
    /sample 0 has label 3, which is not one of the 3 classes \(0 … 2: cat, dog, owl\)/,
  );
});

test('refused, naming the file, the array and what was expected', () => {
  const x = arr(f32(8), [4, 2], 'float32');
  const y = arr(new Int32Array([0, 1, 0, 1]), [4], 'int32');
  const cases: [Map<string, NpyArray>, RegExp][] = [
    [
      new Map([
        ['x_train', x],
        ['y_train', y],
        ['x_test', arr(f32(12), [4, 3], 'float32')],
        ['y_test', y],
      ]),
      /f\.npz\["x_test"\]: samples of 1×1×3; f\.npz\["x_train"\] has 1×1×2/,
    ],
    [
      new Map([
        ['x_train', x],
        ['y_train', y],
        ['x_test', x],
        ['y_test', arr(new Float32Array(4), [4], 'float32')],
      ]),
      /f\.npz\["x_test"\]: 1 target per sample; f\.npz\["x_train"\] has labels/,
    ],
    [
      new Map([
        ['a', x],
        ['b', y],
      ]),
      /f\.npz: no inputs and labels arrays among "a", "b"; expected inputs named "x", "X", .* each plain or with _train/,
    ],
    [
      new Map([
        ['x_train', x],
        ['y_train', y],
        ['x_test', x],
      ]),
      /holds "x_test" without "y_test"/,
    ],
    [
      new Map([
        ['x', x],
        ['y', arr(new Int32Array([0, 1]), [2], 'int32')],
      ]),
      /f\.npz\["y"\]: 2 rows for 4 input samples/,
    ],
    [
      new Map([
        ['x', arr(new Float32Array([0, Number.NaN, 0, 0]), [2, 2], 'float32')],
        ['y', arr(new Int32Array([0, 1]), [2], 'int32')],
      ]),
      /f\.npz\["x"\]: sample 0 holds NaN/,
    ],
    [
      new Map([
        ['x', x],
        ['y', arr(new Int32Array(8), [4, 2], 'int32')],
      ]),
      /int32 of shape \(4, 2\) is neither labels/,
    ],
    [
      new Map([
        ['x', arr(f32(32), [1, 2, 2, 2, 4], 'float32')],
        ['y', arr(new Int32Array(1), [1], 'int32')],
      ]),
      /shape \(1, 2, 2, 2, 4\) is not a set of samples/,
    ],
    [
      new Map([
        ['x_train', x],
        ['y_train', y],
        ['x_test', x],
        ['y_test', arr(new Int32Array([0, 1, 5, 1]), [4], 'int32')],
      ]),
      /\["y_test"\]: sample 2 has label 5, which is not one of the 2 classes \(0, 1\)/,
    ],
  ];
  for (const [arrays, re] of cases)
    assert.throws(
      () => npzDatasets(arrays, { name: 'f.npz' }),
      (e: Error) => e instanceof NpzDataError && re.test(e.message),
      String(re),
    );
});
