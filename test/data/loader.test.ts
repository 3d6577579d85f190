import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dataset, DataLoader, Rng, Tensor, manualSeed, type Batch } from '../../src/index.js';

/** n samples of shape [2, 1, 3]; sample i holds the values i + k/10, label i % 4. */
function toy(n: number): Dataset {
  const s = 6;
  const images = new Float32Array(n * s);
  for (let i = 0; i < n; i++) for (let k = 0; k < s; k++) images[i * s + k] = i + k / 10;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  return new Dataset({ images, labels, shape: [2, 1, 3], classes: ['a', 'b', 'c', 'd'], name: 'toy' });
}

const allIndices = (batches: Batch[]) => batches.flatMap((b) => Array.from(b.indices));

test('batches have the right sizes and shapes, with and without drop-last', () => {
  const ds = toy(10);
  const keep = new DataLoader(ds, { batchSize: 4 });
  assert.equal(keep.length, 3);
  assert.equal(keep.samplesPerEpoch, 10);
  const kb = [...keep.epoch(0)];
  assert.deepEqual(
    kb.map((b) => b.x.shape),
    [
      [4, 2, 1, 3],
      [4, 2, 1, 3],
      [2, 2, 1, 3],
    ],
  );
  assert.deepEqual(
    kb.map((b) => b.y.length),
    [4, 4, 2],
  );
  const drop = new DataLoader(ds, { batchSize: 4, dropLast: true, flatten: true });
  assert.equal(drop.length, 2);
  assert.equal(drop.samplesPerEpoch, 8);
  const db = [...drop.epoch(0)];
  assert.deepEqual(
    db.map((b) => b.x.shape),
    [
      [4, 6],
      [4, 6],
    ],
  );
  // an exact multiple loses nothing with dropLast
  assert.equal(new DataLoader(toy(8), { batchSize: 4, dropLast: true }).length, 2);
});

test('each batch carries the samples and labels of its indices', () => {
  const ds = toy(7);
  const loader = new DataLoader(ds, { batchSize: 3, shuffle: true, rng: new Rng(5), flatten: true });
  for (const b of loader.epoch(2)) {
    assert.ok(b.y instanceof Int32Array);
    assert.ok(b.x.dtype === 'float32');
    b.indices.forEach((i, k) => {
      assert.equal(b.y[k], i % 4);
      for (let j = 0; j < 6; j++) assert.equal(b.x.data[k * 6 + j], Math.fround(i + j / 10));
    });
  }
});

test('every index appears exactly once per shuffled epoch', () => {
  const n = 103;
  const loader = new DataLoader(toy(n), { batchSize: 16, shuffle: true, rng: new Rng(1) });
  for (let e = 0; e < 3; e++) {
    const seen = allIndices([...loader.epoch(e)]);
    assert.equal(seen.length, n);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    );
  }
  // with dropLast, the epoch is a subset without repeats
  const dl = new DataLoader(toy(n), { batchSize: 16, shuffle: true, dropLast: true, rng: new Rng(1) });
  const seen = allIndices([...dl.epoch(0)]);
  assert.equal(seen.length, 96);
  assert.equal(new Set(seen).size, 96);
});

test('without shuffle the order is 0..n-1 every epoch', () => {
  const loader = new DataLoader(toy(9), { batchSize: 4 });
  assert.deepEqual(allIndices([...loader]), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(allIndices([...loader]), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('same seed gives the same order; different epochs and seeds give different orders', () => {
  const ds = toy(50);
  const a = new DataLoader(ds, { batchSize: 8, shuffle: true, rng: new Rng(42) });
  const b = new DataLoader(ds, { batchSize: 8, shuffle: true, rng: new Rng(42) });
  const a0 = allIndices([...a]);
  const a1 = allIndices([...a]);
  assert.deepEqual(a0, allIndices([...b]));
  assert.deepEqual(a1, allIndices([...b]));
  assert.notDeepEqual(a0, a1);
  assert.notDeepEqual(
    a0,
    Array.from({ length: 50 }, (_, i) => i),
  );
  const c = new DataLoader(ds, { batchSize: 8, shuffle: true, rng: new Rng(43) });
  assert.notDeepEqual(allIndices([...c]), a0);
});

test('epoch e order is independent of earlier epochs and of other uses of the generator', () => {
  const ds = toy(40);
  const rng = new Rng(7);
  const fresh = new DataLoader(ds, { batchSize: 8, shuffle: true, rng: new Rng(7) });
  const used = new DataLoader(ds, { batchSize: 8, shuffle: true, rng });
  for (let i = 0; i < 100; i++) rng.uniform(); // e.g. initialisation drew from the same generator
  [...used.epoch(0)];
  [...used.epoch(1)];
  assert.deepEqual(allIndices([...used.epoch(3)]), allIndices([...fresh.epoch(3)]));
  assert.deepEqual(Array.from(used.order(3)), Array.from(new Rng(7).fork('epoch:3').permutation(40)));
  // for..of advances nextEpoch; epoch(e) does not
  assert.equal(used.nextEpoch, 0);
  [...used];
  assert.equal(used.nextEpoch, 1);
});

test('the batch transform sees NCHW batches, runs before flatten and gets a seeded stream per epoch', () => {
  const ds = toy(6);
  const seen: number[][] = [];
  const noise: number[] = [];
  const transform = (x: Tensor, rng: Rng) => {
    seen.push([...x.shape]);
    const r = rng.uniform();
    noise.push(r);
    const out = new Float32Array(x.size);
    for (let i = 0; i < x.size; i++) out[i] = x.data[i] + r;
    return new Tensor(out, x.shape);
  };
  const mk = () => new DataLoader(ds, { batchSize: 4, flatten: true, transform, rng: new Rng(3) });
  const batches = [...mk().epoch(0)];
  assert.deepEqual(seen, [
    [4, 2, 1, 3],
    [2, 2, 1, 3],
  ]);
  assert.deepEqual(
    batches.map((b) => b.x.shape),
    [
      [4, 6],
      [2, 6],
    ],
  );
  assert.equal(batches[0].x.data[0], Math.fround(0 + noise[0]));
  assert.notEqual(noise[0], noise[1]);
  const first = noise.slice();
  noise.length = 0;
  [...mk().epoch(0)];
  assert.deepEqual(noise, first, 'same seed, same epoch ⇒ same augmentation draws');
  noise.length = 0;
  [...mk().epoch(1)];
  assert.notDeepEqual(noise, first);
  const bad = new DataLoader(ds, { batchSize: 4, transform: () => new Tensor(new Float32Array(3), [3]) });
  assert.throws(() => [...bad.epoch(0)], /DataLoader: transform must return a \[4, C, H, W\] tensor, got \[3\]/);
});

test('bad options name the option and the value', () => {
  const ds = toy(4);
  for (const bs of [0, -1, 2.5, NaN]) {
    assert.throws(() => new DataLoader(ds, { batchSize: bs }), new RegExp(`batchSize must be a positive integer, got ${bs}`));
  }
  assert.throws(
    () => new DataLoader(ds, { batchSize: 2, shuffle: 'yes' as never }),
    /DataLoader: invalid shuffle "yes"; expected true or false/,
  );
  assert.throws(
    () => new DataLoader(ds, { transform: 3 as never }),
    /DataLoader: invalid transform 3; expected a function \(x, rng\) => Tensor/,
  );
  assert.throws(() => new DataLoader(ds.slice(0, 0), {}), /data set toy is empty/);
  assert.throws(() => new DataLoader(ds).order(-1), /epoch must be a non-negative integer, got -1/);
});

test('without an rng, shuffling draws its seed from the global generator (manualSeed), reproducibly', () => {
  const ds = toy(30);
  manualSeed(11);
  const a = allIndices([...new DataLoader(ds, { batchSize: 8, shuffle: true })]);
  manualSeed(11);
  const b = allIndices([...new DataLoader(ds, { batchSize: 8, shuffle: true })]);
  manualSeed(12);
  const c = allIndices([...new DataLoader(ds, { batchSize: 8, shuffle: true })]);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  // a loader that does not shuffle leaves the global stream alone
  manualSeed(11);
  new DataLoader(ds, { batchSize: 8 });
  assert.deepEqual(allIndices([...new DataLoader(ds, { batchSize: 8, shuffle: true })]), a);
});
