import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { gradCheck, randT, assertClose } from '../helpers.js';

test('dropout eval is the identity, not a scaling by p (the ConvNetJS bug)', () => {
  const x = d.rand([4, 10], new d.Rng(1), { low: 0.5, high: 2 });
  for (const layer of [new d.Dropout(0.3), new d.Dropout2d(0.3)]) {
    const x4 = layer instanceof d.Dropout2d ? d.reshape(x, [4, 10, 1, 1]) : x;
    const y = layer.forward(x4, { training: false, rng: new d.Rng(2) });
    assert.deepEqual(Array.from(y.data), Array.from(x.data));
    assert.deepEqual(Array.from(layer.forward(x4).data), Array.from(x.data), 'no options means eval');
  }
});

test('dropout eval equals the expectation of train (inverted dropout, seeded)', () => {
  const p = 0.4,
    K = 4000;
  const x = d.rand([50], new d.Rng(3), { low: 0.5, high: 1.5 });
  const layer = new d.Dropout(p);
  const rng = new d.Rng(4);
  const acc = new Float64Array(x.size);
  let zeros = 0;
  for (let k = 0; k < K; k++) {
    const y = layer.forward(x, { training: true, rng });
    for (let i = 0; i < y.size; i++) {
      acc[i] += y.data[i] / K;
      if (y.data[i] === 0) zeros++;
      else assertClose(y.data[i], x.data[i] / (1 - p), 1e-6, 'kept value is scaled by 1/(1-p)');
    }
  }
  // Each average has standard deviation x·√(p/(1−p)/K) ≈ 0.013·x; allow 4.5 of them.
  for (let i = 0; i < x.size; i++) {
    const sd = x.data[i] * Math.sqrt(p / (1 - p) / K);
    assert.ok(Math.abs(acc[i] - x.data[i]) < 4.5 * sd, `mean of train output ${acc[i]} vs eval ${x.data[i]}`);
  }
  assert.ok(Math.abs(zeros / (K * x.size) - p) < 0.01, `drop rate ${zeros / (K * x.size)} vs p ${p}`);
});

test('Dropout2d drops whole channels; same seed, same masks; gradient is the mask', () => {
  const x = d.rand([8, 16, 3, 3], new d.Rng(5), { low: 0.5, high: 1 });
  const layer = new d.Dropout2d(0.5);
  const y = layer.forward(x, { training: true, rng: new d.Rng(6) });
  let dropped = 0;
  for (let pl = 0; pl < 8 * 16; pl++) {
    const vals = Array.from(y.data.subarray(pl * 9, pl * 9 + 9));
    const zero = vals.map((v) => v === 0);
    assert.ok(
      zero.every((z) => z === zero[0]),
      `channel ${pl} is wholly kept or wholly dropped`,
    );
    if (zero[0]) dropped++;
  }
  assert.ok(dropped > 30 && dropped < 98, `dropped ${dropped} of 128 channels`);
  const y2 = layer.forward(x, { training: true, rng: new d.Rng(6) });
  assert.deepEqual(Array.from(y2.data), Array.from(y.data));
  gradCheck((a) => new d.Dropout(0.5).forward(a, { training: true, rng: new d.Rng(7) }), [randT([3, 5], 8)]);
  gradCheck((a) => layer.forward(a, { training: true, rng: new d.Rng(9) }), [randT([2, 3, 2, 2], 10)]);
});

test('dropout with p = 1 zeroes every element (or channel) while training and passes no gradient, as PyTorch allows; eval is the identity', () => {
  const x = randT([3, 4, 2, 2], 11);
  for (const layer of [new d.Dropout(1), new d.Dropout2d({ p: 1 })]) {
    const y = layer.forward(x, { training: true, rng: new d.Rng(1) });
    assert.ok(
      Array.from(y.data).every((v) => v === 0),
      `${layer.describe()}: every output 0`,
    );
    const g = d.grad([d.sum(y)], [x])[0]!;
    assert.ok(
      Array.from(g.data).every((v) => v === 0),
      `${layer.describe()}: every gradient 0`,
    );
    assert.deepEqual(Array.from(layer.forward(x).data), Array.from(x.data));
  }
});

test('dropout: clear errors for a bad p and for training without an rng', () => {
  assert.throws(() => new d.Dropout(1.5), /Dropout: p must be in \[0, 1\], got 1.5/);
  assert.throws(() => new d.Dropout2d(-0.1), /Dropout2d: p must be in \[0, 1\], got -0.1/);
  assert.throws(
    () => new d.Dropout(0.5).forward(d.zeros([2, 2]), { training: true }),
    /Dropout\(p=0.5\): training mode needs a random generator/,
  );
  assert.throws(() => new d.Dropout2d(0.5).forward(d.zeros([2, 2])), /Dropout2d\(p=0.5\): expected input \[N, C, H, W\]/);
});

test("Dropout.mask from the generator's state before a forward is the mask that forward applied", () => {
  const layer = new d.Dropout(0.3);
  const x = d.rand([6, 40], new d.Rng(5), { low: 0.5, high: 2 });
  const rng = new d.Rng(9).fork('masks');
  rng.nextU32(); // not at its start: the state, not the seed, decides
  const state = rng.getState();
  const y = layer.forward(x, { training: true, rng });
  const m = layer.mask(x.size, d.Rng.fromState(state));
  let zeros = 0;
  for (let i = 0; i < x.size; i++) {
    assert.equal(y.data[i], Math.fround(x.data[i] * m[i]), `element ${i}`);
    if (m[i] === 0) zeros++;
    else assertClose(m[i], 1 / 0.7, 1e-6);
  }
  assert.ok(zeros > 40 && zeros < 110, `${zeros} of 240 dropped with p = 0.3`);
  // The next draw differs: the masks change with each batch.
  const next = layer.mask(x.size, rng);
  assert.notDeepEqual(Array.from(next), Array.from(m));
});
