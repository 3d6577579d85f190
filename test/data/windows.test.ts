/**
 * nextTokenWindows (src/data/windows.ts): the windows and their shifted targets by hand, the count
 * for each stride, batching through DataLoader with a seeded shuffle, training a bigram model with
 * fit and a per-token crossEntropy, and the errors naming the option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';

const stream = Int32Array.from([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);

test('sample i is ids[i·stride … +T) and y the same shifted by one; N = ⌊(L − T − 1) / stride⌋ + 1', () => {
  const w = d.nextTokenWindows(stream, { contextLength: 3 });
  // L = 10, T = 3, stride 3: starts 0, 3, 6 (6 + 3 = 9 < 10 leaves a target)
  assert.equal(w.length, 3);
  const { x, y } = w.collate([2, 0]);
  assert.deepEqual(x.shape, [2, 3]);
  assert.deepEqual(y.shape, [2, 3]);
  assert.equal(x.dtype, 'float32');
  assert.deepEqual(Array.from(x.data), [16, 17, 18, 10, 11, 12]);
  assert.deepEqual(Array.from(y.data), [17, 18, 19, 11, 12, 13]);
  // stride 1: every start 0 … 6; stride 4: 0, 4 (8 + 3 = 11 > 9 leaves no target for a third)
  assert.equal(d.nextTokenWindows(stream, { contextLength: 3, stride: 1 }).length, 7);
  assert.equal(d.nextTokenWindows(stream, { contextLength: 3, stride: 4 }).length, 2);
  assert.equal(d.nextTokenWindows(stream, { contextLength: 9 }).length, 1);
  assert.deepEqual(Array.from(d.nextTokenWindows(stream, { contextLength: 3, stride: 1 }).collate([6]).y.data), [17, 18, 19]);
});

test('collation reads the stream: a window is never copied before it is asked for', () => {
  const ids = Int32Array.from([1, 2, 3, 4, 5]);
  const w = d.nextTokenWindows(ids, { contextLength: 2, stride: 1 });
  ids[3] = 9;
  assert.deepEqual(Array.from(w.collate([2]).x.data), [3, 9]);
});

test('DataLoader batches the windows [B, T] with a seeded shuffle: each window once per epoch, same seed ⇒ same order', () => {
  const ids = Int32Array.from({ length: 101 }, (_, i) => i);
  const w = d.nextTokenWindows(ids, { contextLength: 10 });
  assert.equal(w.length, 10);
  const order = (seed: number) => {
    const loader = new d.DataLoader(w, { batchSize: 4, shuffle: true, rng: new d.Rng(seed) });
    const batches = [...loader.epoch(0)];
    assert.deepEqual(
      batches.map((b) => b.x.shape),
      [
        [4, 10],
        [4, 10],
        [2, 10],
      ],
    );
    for (const b of batches)
      for (let k = 0; k < b.indices.length; k++) {
        assert.equal(b.x.data[k * 10], b.indices[k] * 10, 'a window starts at index · stride');
        assert.equal(b.y.data[k * 10], b.indices[k] * 10 + 1, 'its targets one further');
      }
    return batches.flatMap((b) => Array.from(b.indices));
  };
  const a = order(5);
  assert.deepEqual(
    [...a].sort((p, q) => p - q),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.deepEqual(order(5), a);
  assert.notDeepEqual(order(6), a);
});

test('fit trains a bigram model (Embedding → Linear) on the windows with crossEntropy(out.transpose(1, 2), y): the loss falls towards the stream’s entropy 0', () => {
  // a cycle 0 → 1 → 2 → 3 → 0: each token determines the next
  const ids = Int32Array.from({ length: 200 }, (_, i) => i % 4);
  const rng = new d.Rng(1);
  const model = new d.Sequential(new d.Embedding(4, 8, { rng }), new d.Linear(8, 4, { rng }));
  const records = d.fit({
    model,
    optimizer: new d.Adam(model.parameters(), { lr: 0.05 }),
    train: new d.DataLoader(d.nextTokenWindows(ids, { contextLength: 8 }), { batchSize: 8, shuffle: true, rng: new d.Rng(2) }),
    loss: (out, y) => d.crossEntropy(d.transpose(out, 1, 2), y as d.Tensor),
    epochs: 10,
    rng: new d.Rng(3),
  });
  assert.ok(records[0].trainLoss > 0.5, `first epoch ${records[0].trainLoss}`);
  assert.ok(records[9].trainLoss < 0.05, `last epoch ${records[9].trainLoss}`);
});

test('bad streams and options are refused by name', () => {
  assert.throws(
    () => d.nextTokenWindows(Int32Array.from([1, 2, 3]), { contextLength: 3 }),
    /a stream of 3 ids is too short for contextLength 3; expected at least T \+ 1 = 4/,
  );
  assert.throws(() => d.nextTokenWindows([1, 2, 3] as unknown as Int32Array, { contextLength: 1 }), /ids must be an Int32Array/);
  assert.throws(() => d.nextTokenWindows(stream, {} as d.NextTokenWindowsOptions), /contextLength is required/);
  assert.throws(() => d.nextTokenWindows(stream, { contextLength: 0 }), /contextLength must be ≥ 1, got 0/);
  assert.throws(() => d.nextTokenWindows(stream, { contextLength: 2, stride: 0 }), /stride must be ≥ 1, got 0/);
  assert.throws(() => d.nextTokenWindows(stream, { contextLength: 2.5 }), /contextLength/);
  assert.throws(() => d.nextTokenWindows(stream, { contextLength: 2, strde: 1 } as d.NextTokenWindowsOptions), /strde/);
  assert.throws(() => d.nextTokenWindows(Int32Array.from([1, -2, 3]), { contextLength: 1 }), /ids\[1\] is -2, expected a token id ≥ 0/);
  assert.throws(() => d.nextTokenWindows(stream, { contextLength: 3 }).collate([3]), /index 0 is 3, expected an integer in \[0, 2\]/);
});
