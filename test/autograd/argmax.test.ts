/**
 * argmax / argmin without an axis are PyTorch's torch.argmax(x) / torch.argmin(x): the index into
 * the flattened tensor (row-major), a number; with an axis, one index per element of the other
 * axes. Ties give the first position and a NaN counts as the maximum (and the minimum), as in
 * PyTorch. On the reference backend and on wasm, whose max kernel runs for float32 tensors of
 * SMALL_ELEMENTWISE elements or more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm } from '../../src/backend/wasm/index.js';
import { SMALL_ELEMENTWISE } from '../../src/backend/wasm/context.js';
import * as d from '../../src/index.js';
import { floatSource } from '../helpers.js';

await initWasm({ threads: 2 });

/** The first position of the largest (or smallest) value of the flattened data, a NaN winning: written out here, independent of descent. */
function firstExtreme(a: ArrayLike<number>, largest: boolean): number {
  for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i])) return i;
  let best = 0;
  for (let i = 1; i < a.length; i++) if (largest ? a[i] > a[best] : a[i] < a[best]) best = i;
  return best;
}

const random = floatSource(7);
const n = SMALL_ELEMENTWISE + 904; // enough for the wasm kernel, on a shape of rank 3
/** [3, 8, n / 24] with ties of the extreme values and, when asked, NaN. */
function cases(): [string, number[], Float32Array][] {
  const shape = [3, 8, n / 24];
  const plain = random(n, -4, 4);
  const tied = plain.slice();
  tied[1234] = tied[2600] = tied[2900] = 9; // the largest, three times
  tied[77] = tied[1500] = -9; // the smallest, twice
  const nan = tied.slice();
  nan[2000] = nan[2950] = Number.NaN;
  return [
    ['distinct values', shape, plain],
    ['tied maxima and minima', shape, tied],
    ['NaN', shape, nan],
    ['all equal', [4, 5], new Float32Array(20).fill(3)],
    ['a vector', [6], Float32Array.from([2, 7, 1, 7, 1, 0])],
  ];
}

for (const backend of ['reference', 'wasm'])
  test(`argmax(x) and argmin(x) are the flattened index of the first extreme, as torch.argmax(x) (${backend})`, () => {
    d.setBackend(backend);
    try {
      for (const dtype of ['float32', 'float64'] as const)
        for (const [what, shape, data] of cases()) {
          const x = d.fromData(dtype === 'float32' ? data : Float64Array.from(data), shape, { dtype });
          const am = d.argmax(x),
            an = d.argmin(x);
          assert.equal(typeof am, 'number', 'one index, as the 0-d tensor PyTorch returns');
          assert.equal(am, firstExtreme(data, true), `argmax, ${what}, ${dtype}`);
          assert.equal(an, firstExtreme(data, false), `argmin, ${what}, ${dtype}`);
          assert.equal(x.argmax(), am, 'the method x.argmax()');
          assert.equal(x.argmin(), an, 'the method x.argmin()');
          // the index reads back the extreme value
          if (!Number.isNaN(data[am])) assert.equal(x.data[am], d.max(x).item(), `x.flat[argmax] is max(x), ${what}`);
        }
      // the ties' first position in the cases above
      assert.equal(d.argmax(d.fromData(cases()[1][2], cases()[1][1], { dtype: 'float32' })), 1234);
      assert.equal(d.argmin(d.fromData(cases()[1][2], cases()[1][1], { dtype: 'float32' })), 77);
      assert.equal(d.argmax(d.fromData(cases()[2][2], cases()[2][1], { dtype: 'float32' })), 2000);
      // a 0-d tensor: index 0, as torch.argmax(torch.tensor(5.)) gives
      assert.equal(d.argmax(d.scalar(5)), 0);
      assert.equal(d.argmin(d.scalar(5)), 0);
    } finally {
      d.setBackend('reference');
    }
  });

for (const backend of ['reference', 'wasm'])
  test(`argmax(x, axis) and argmin(x, axis) give one index per element of the other axes, the first of ties (${backend})`, () => {
    d.setBackend(backend);
    try {
      // [[1, 5, 5], [5, 2, 2]]: torch.argmax(x, 1) = [1, 0], torch.argmax(x, 0) = [1, 0, 0], torch.argmin(x, 1) = [0, 1]
      const x = d.fromData([1, 5, 5, 5, 2, 2], [2, 3]);
      assert.deepEqual([...d.argmax(x, 1)], [1, 0]);
      assert.deepEqual([...d.argmax(x, -1)], [1, 0]);
      assert.deepEqual([...d.argmax(x, 0)], [1, 0, 0]);
      assert.deepEqual([...d.argmin(x, 1)], [0, 1]);
      assert.deepEqual([...d.argmin(x, 0)], [0, 1, 1]);
      assert.deepEqual([...x.argmax(1)], [1, 0]);
      assert.equal(d.argmax(x), 1, 'no axis: the flattened index');
      assert.equal(d.argmin(x), 0);
      // a large float32 tensor, rows checked against the loop above
      const [, shape, data] = cases()[2];
      const rows = shape[0] * shape[1],
        len = shape[2];
      const t = d.fromData(data, shape, { dtype: 'float32' });
      const am = d.argmax(t, -1),
        an = d.argmin(t, 2);
      assert.equal(am.length, rows);
      for (let r = 0; r < rows; r++) {
        const row = data.subarray(r * len, (r + 1) * len);
        assert.equal(am[r], firstExtreme(row, true), `argmax row ${r}`);
        assert.equal(an[r], firstExtreme(row, false), `argmin row ${r}`);
      }
    } finally {
      d.setBackend('reference');
    }
  });

test('argmax and argmin of an empty tensor without an axis are refused, naming the shape', () => {
  assert.throws(
    () => d.argmax(d.zeros([2, 0])),
    /^ShapeError: argmax: the tensor of shape \[2, 0\] is empty, expected at least one element to reduce$/,
  );
  assert.throws(
    () => d.argmin(d.zeros([0])),
    /^ShapeError: argmin: the tensor of shape \[0\] is empty, expected at least one element to reduce$/,
  );
});
