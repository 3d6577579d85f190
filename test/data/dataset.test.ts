import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dataset, datasetFromIdx, DataFormatError, FASHION_MNIST_CLASSES, RegressionDataset, type IdxArray } from '../../src/index.js';

const CLASSES = ['a', 'b', 'c'];

function images(n: number, h = 2, w = 2): IdxArray {
  const data = new Uint8Array(n * h * w);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
  return { dtype: 'uint8', shape: [n, h, w], data };
}
const labels = (ys: number[]): IdxArray => ({ dtype: 'uint8', shape: [ys.length], data: Uint8Array.from(ys) });

test('datasetFromIdx scales pixels to [0, 1] like ToTensor (x / 255 in float32) and adds the channel axis', () => {
  const ds = datasetFromIdx(images(3), labels([0, 2, 1]), { classes: CLASSES });
  assert.deepEqual(ds.shape, [1, 2, 2]);
  assert.equal(ds.length, 3);
  assert.equal(ds.sampleSize, 4);
  assert.ok(ds.images instanceof Float32Array);
  const px = images(3).data;
  for (let i = 0; i < px.length; i++) assert.equal(ds.images[i], Math.fround(Math.fround(px[i]) / Math.fround(255)));
  assert.equal(ds.images[0], 0);
  assert.deepEqual(Array.from(ds.labels), [0, 2, 1]);
  assert.deepEqual(ds.classCounts(), [1, 1, 1]);
});

test('Fashion-MNIST is the default class list, in label order', () => {
  const ds = datasetFromIdx(images(1), labels([9]));
  assert.equal(ds.classes, FASHION_MNIST_CLASSES);
  assert.equal(FASHION_MNIST_CLASSES.length, 10);
  assert.equal(FASHION_MNIST_CLASSES[0], 'T-shirt/top');
  assert.equal(FASHION_MNIST_CLASSES[9], 'Ankle boot');
});

test('image/label count mismatch names both files and both counts', () => {
  assert.throws(
    () => datasetFromIdx(images(3), labels([0, 1]), { imagesName: 'img.gz', labelsName: 'lab.gz', classes: CLASSES }),
    (e: unknown) =>
      e instanceof DataFormatError && /^img\.gz \/ lab\.gz: image\/label count mismatch: 3 images but 2 labels$/.test(e.message),
  );
});

test('a label out of range names the labels file, the position and the range', () => {
  assert.throws(
    () => datasetFromIdx(images(3), labels([0, 3, 1]), { labelsName: 'lab.gz', classes: CLASSES }),
    (e: unknown) =>
      e instanceof DataFormatError && e.file === 'lab.gz' && /label 1 is 3, out of range: expected a class in \[0, 2\]/.test(e.message),
  );
});

test('wrong ranks and dtypes are rejected with the shape found', () => {
  assert.throws(
    () => datasetFromIdx({ dtype: 'uint8', shape: [4], data: new Uint8Array(4) }, labels([0, 0, 0, 0]), { imagesName: 'i' }),
    /i: expected images of shape \[N, H, W\] or \[N, C, H, W\], got \[4\]/,
  );
  assert.throws(
    () => datasetFromIdx({ dtype: 'float32', shape: [1, 1, 1], data: new Float32Array(1) }, labels([0]), { imagesName: 'i' }),
    /i: expected uint8 pixels, got float32/,
  );
  assert.throws(
    () => datasetFromIdx(images(1), { dtype: 'uint8', shape: [1, 1], data: new Uint8Array(1) }, { labelsName: 'l' }),
    /l: expected labels of shape \[N\], got \[1, 1\]/,
  );
});

test('subset copies the chosen samples in the given order; slice clamps like Array.slice', () => {
  const ds = datasetFromIdx(images(4), labels([0, 1, 2, 0]), { classes: CLASSES });
  const s = ds.subset([3, 1, 1]);
  assert.equal(s.length, 3);
  assert.deepEqual(Array.from(s.labels), [0, 1, 1]);
  assert.deepEqual(Array.from(s.images.subarray(0, 4)), Array.from(ds.images.subarray(12, 16)));
  assert.deepEqual(Array.from(s.images.subarray(4, 8)), Array.from(ds.images.subarray(4, 8)));
  s.images[0] = 42;
  assert.notEqual(ds.images[12], 42, 'subset must not alias the parent');
  assert.throws(() => ds.subset([0, 4]), /subset: index 1 is 4, expected an integer in \[0, 3\]/);
  const sl = ds.slice(1, 3);
  assert.deepEqual(Array.from(sl.labels), [1, 2]);
  assert.deepEqual(Array.from(sl.images), Array.from(ds.images.subarray(4, 12)));
  assert.equal(ds.slice(-1).length, 1);
  assert.equal(ds.slice(2, 100).length, 2);
  assert.equal(ds.slice(3, 1).length, 0);
});

test('a RegressionDataset gathers inputs and targets by the same rows: subset, slice and collate', () => {
  // sample i: inputs [i, 10 + i], targets [100 + i, 200 + i, 300 + i]
  const n = 5;
  const images = Float32Array.from({ length: 2 * n }, (_, j) => (j % 2 ? 10 : 0) + Math.floor(j / 2));
  const targets = Float32Array.from({ length: 3 * n }, (_, j) => 100 * ((j % 3) + 1) + Math.floor(j / 3));
  const ds = new RegressionDataset({ images, targets, shape: [1, 1, 2], targetNames: ['a', 'b', 'c'], name: 'toy' });
  const s = ds.subset([4, 0, 4]);
  assert.deepEqual(Array.from(s.images), [4, 14, 0, 10, 4, 14]);
  assert.deepEqual(Array.from(s.targets), [104, 204, 304, 100, 200, 300, 104, 204, 304]);
  s.targets[0] = 42;
  assert.equal(ds.targets[12], 104, 'subset must not alias the parent');
  assert.throws(() => ds.subset([1, 5]), /toy\.subset: index 1 is 5, expected an integer in \[0, 4\]/);
  assert.throws(() => ds.subset([0.5]), /toy\.subset: index 0 is 0\.5/);
  const sl = ds.slice(-2);
  assert.deepEqual(Array.from(sl.images), [3, 13, 4, 14]);
  assert.deepEqual(Array.from(sl.targets), [103, 203, 303, 104, 204, 304]);
  const b = ds.collate([2, 1]);
  assert.deepEqual(b.x.shape, [2, 1, 1, 2]);
  assert.deepEqual(Array.from(b.x.data), [2, 12, 1, 11]);
  assert.deepEqual(b.y.shape, [2, 3]);
  assert.deepEqual(Array.from(b.y.data), [102, 202, 302, 101, 201, 301]);
});

test('the Dataset constructor checks that images and labels agree', () => {
  assert.throws(
    () => new Dataset({ images: new Float32Array(7), labels: new Int32Array(2), shape: [1, 2, 2], classes: CLASSES, name: 'toy' }),
    /toy: 2 labels need 2 × 4 = 8 image values, got 7/,
  );
  assert.throws(
    () => new Dataset({ images: new Float32Array(4), labels: new Int32Array(1), shape: [1, 0, 4], classes: CLASSES }),
    /sample shape/,
  );
});
