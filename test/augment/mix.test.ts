import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { cutmixBox, cutmixWith, mixupWith } from '../../src/augment/mix.js';
import { assertClose } from '../helpers.js';

interface Group {
  shape: [number, number, number, number];
  classes: number;
  x: number[];
  labels: number[];
  probabilities: number[];
}
interface Case {
  kind: 'mixup' | 'cutmix';
  group: number;
  y: 'labels' | 'probabilities';
  lam: number;
  rx?: number;
  ry?: number;
  box?: [number, number, number, number];
  lamAdjusted?: number;
  out: number[];
  target: number[];
}
// tools/golden_mix.py: torchvision's MixUp / CutMix with the draws given
const golden = JSON.parse(readFileSync(new URL('../../../test/fixtures/mix/mix.json', import.meta.url), 'utf8')) as {
  groups: Group[];
  cases: Case[];
};

function inputs(c: Case): { x: d.Tensor; y: Int32Array | d.Tensor; classes: number } {
  const g = golden.groups[c.group];
  const x = new d.Tensor(Float32Array.from(g.x), g.shape);
  const y = c.y === 'labels' ? Int32Array.from(g.labels) : new d.Tensor(Float32Array.from(g.probabilities), [g.shape[0], g.classes]);
  return { x, y, classes: g.classes };
}

test("mixup and cutmix equal torchvision's MixUp and CutMix given the same draws", () => {
  assert.equal(golden.cases.length, 48);
  for (const c of golden.cases) {
    const { x, y, classes } = inputs(c);
    const got = c.kind === 'mixup' ? mixupWith(x, y, c.lam, classes) : cutmixWith(x, y, c.lam, c.rx!, c.ry!, classes);
    const what = `${c.kind} λ=${c.lam} ${c.y} group ${c.group}${c.kind === 'cutmix' ? ` at (${c.rx}, ${c.ry})` : ''}`;
    assert.deepEqual(got.x.shape, x.shape, what);
    assert.equal(got.x.dtype, 'float32');
    assert.deepEqual(got.y.shape, [x.shape[0], classes], what);
    // CutMix copies pixels: exact. MixUp rounds λ·a + (1 − λ)·b once, torch three times: 1 ulp apart.
    assertClose(got.x.data, c.out, c.kind === 'cutmix' ? 0 : 1.2e-7, `${what}: images`);
    assertClose(got.y.data, c.target, 1.2e-7, `${what}: targets`);
    if (c.kind === 'cutmix') {
      const [H, W] = x.shape.slice(2);
      const box = cutmixBox(c.lam, c.rx!, c.ry!, H, W);
      assert.deepEqual([box.x1, box.y1, box.x2, box.y2], c.box, what);
      assert.equal(box.lam, c.lamAdjusted, what);
    }
  }
});

test('CutMix mixes the labels by the area of the box after clipping, not by the drawn λ', () => {
  // λ = 0 asks for the whole image, but a box centred on a corner is clipped to a quarter of it
  const c = golden.cases.find((k) => k.kind === 'cutmix' && k.lam === 0 && k.rx === 0 && k.y === 'labels')!;
  const { x, y, classes } = inputs(c);
  const got = cutmixWith(x, y, 0, 0, 0, classes);
  const [H, W] = x.shape.slice(2);
  const box = cutmixBox(0, 0, 0, H, W);
  const area = ((box.x2 - box.x1) * (box.y2 - box.y1)) / (H * W);
  assert.ok(area > 0 && area < 0.5, `clipped box covers ${area}`);
  const yl = y as Int32Array;
  const row0 = Array.from(got.y.data.subarray(0, classes));
  // sample 0 keeps 1 − area of its own label and takes `area` of the last sample's
  const want = new Array(classes).fill(0);
  want[yl[0]] += 1 - area;
  want[yl[yl.length - 1]] += area;
  assertClose(row0, want, 1e-7);
  assertClose(got.y.data, c.target, 1.2e-7);
});

test('the drawing mixes: seeded, λ from the Beta, one box per batch, rows of probabilities', () => {
  const x = d.rand([6, 1, 8, 8], new d.Rng(1));
  const y = Int32Array.from([0, 1, 2, 0, 1, 2]);
  for (const mix of [
    d.mixup({ alpha: 0.4, numClasses: 3 }),
    d.cutmix({ numClasses: 3 }),
    d.randomChoiceMix([d.mixup({ numClasses: 3 }), d.cutmix({ numClasses: 3 })]),
  ]) {
    const a = mix(x, y, new d.Rng(5)),
      b = mix(x, y, new d.Rng(5)),
      c = mix(x, y, new d.Rng(6));
    assert.deepEqual(Array.from(a.x.data), Array.from(b.x.data), mix.describe);
    assert.deepEqual(Array.from(a.y.data), Array.from(b.y.data), mix.describe);
    assert.notDeepEqual(Array.from(a.y.data), Array.from(c.y.data), `${mix.describe}: another seed draws another λ`);
    for (let i = 0; i < 6; i++) {
      const row = a.y.data.subarray(i * 3, i * 3 + 3);
      assertClose([Array.from(row).reduce((s, v) => s + v, 0)], [1], 1e-6, `${mix.describe} row ${i}`);
    }
  }
  // mixup's λ is the Beta draw: with the same generator, the target row holds it
  const r = new d.Rng(9);
  const lam = new d.Rng(9).beta(0.4, 0.4);
  const m = d.mixup({ alpha: 0.4, numClasses: 3 })(x, y, r);
  assertClose([m.y.data[0]], [lam], 1e-7, 'sample 0 keeps λ of its own class 0');
  assertClose([m.y.data[2]], [1 - lam], 1e-7, 'and takes 1 − λ of the last sample’s class 2');
});

test('randomChoiceMix picks each mix with its probability', () => {
  const x = d.rand([2, 1, 4, 4], new d.Rng(1));
  const y = Int32Array.from([0, 1]);
  const tag = (k: number): d.BatchMix => Object.assign(() => ({ x, y: d.full([2, 2], k) }), { describe: `tag${k}` });
  const choice = d.randomChoiceMix([tag(0), tag(1), tag(2)], [1, 3, 0]);
  const rng = new d.Rng(3);
  const counts = [0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[choice(x, y, rng).y.data[0]]++;
  assert.equal(counts[2], 0, 'a weight of 0 is never picked');
  assert.ok(Math.abs(counts[1] / 4000 - 0.75) < 0.03, `picked the second ${counts[1]} of 4000 times, expected 3000`);
});

test('Rng.beta and Rng.gamma have the right moments, also for α < 1, and never give NaN', () => {
  const r = new d.Rng(11);
  const n = 100_000;
  for (const [a, b] of [
    [0.2, 0.2],
    [1, 1],
    [2, 5],
    [0.05, 0.05],
  ]) {
    let s = 0,
      s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = r.beta(a, b);
      assert.ok(v >= 0 && v <= 1, `Beta(${a}, ${b}) gave ${v}`);
      s += v;
      s2 += v * v;
    }
    const mean = s / n,
      variance = s2 / n - mean * mean;
    const wantMean = a / (a + b),
      wantVar = (a * b) / ((a + b) ** 2 * (a + b + 1));
    assert.ok(Math.abs(mean - wantMean) < 5 * Math.sqrt(wantVar / n), `Beta(${a}, ${b}) mean ${mean}, expected ${wantMean}`);
    assert.ok(Math.abs(variance / wantVar - 1) < 0.03, `Beta(${a}, ${b}) variance ${variance}, expected ${wantVar}`);
  }
  for (const k of [0.3, 1, 4.5]) {
    let s = 0;
    for (let i = 0; i < n; i++) s += r.gamma(k);
    assert.ok(Math.abs(s / n - k) < 5 * Math.sqrt(k / n), `Gamma(${k}) mean ${s / n}`);
  }
  assert.throws(() => r.beta(0, 1), /Rng\.beta: a must be a finite number > 0, got 0/);
  assert.throws(() => r.gamma(-1), /Rng\.gamma: shape must be a finite number > 0, got -1/);
});

test('the DataLoader mixes after the transform and before flattening, draws from the transform stream, and resumes draw for draw', () => {
  const n = 10;
  const images = d.rand([n, 1, 6, 6], new d.Rng(2)).data as Float32Array;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const ds = new d.Dataset({ images, labels, shape: [1, 6, 6], classes: ['a', 'b', 'c'] });
  const make = () =>
    new d.DataLoader(ds, {
      batchSize: 4,
      shuffle: true,
      rng: new d.Rng(7),
      flatten: true,
      transform: d.randomFlip(),
      mix: d.cutmix({ numClasses: 3 }),
    });
  const whole = [...make().epoch(1)];
  assert.equal(whole.length, 3);
  for (const b of whole) {
    assert.deepEqual(b.x.shape, [b.indices.length, 36], 'flattened after mixing');
    assert.deepEqual(b.y.shape, [b.indices.length, 3]);
  }
  // batches 2 and 3 started from the stream's position after batch 1 are the uninterrupted ones
  const first = make().epoch(1).next().value!;
  const resumed = [...make().epoch(1, { batch: 1, transformRng: first.transformRng!.getState() })];
  assert.equal(resumed.length, 2);
  for (let i = 1; i < 3; i++) {
    assert.deepEqual(Array.from(resumed[i - 1].x.data), Array.from(whole[i].x.data), `batch ${i} images`);
    assert.deepEqual(Array.from(resumed[i - 1].y.data), Array.from(whole[i].y.data), `batch ${i} targets`);
  }
  // without a transform the mix still gets its own seeded stream
  const plain = () => [...new d.DataLoader(ds, { batchSize: 5, rng: new d.Rng(3), mix: d.mixup({ numClasses: 3 }) })];
  assert.deepEqual(Array.from(plain()[0].y.data), Array.from(plain()[0].y.data));
  assert.ok(plain()[0].transformRng, 'the batches carry the stream a checkpoint saves');
  assert.equal(make().constructor.name, 'DataLoader');
  assert.ok(make() instanceof d.DataLoader);
  const bad = new d.DataLoader(ds, { batchSize: 5, mix: (x) => ({ x, y: d.zeros([4, 3]) }) });
  assert.throws(
    () => [...bad],
    /DataLoader: mix must return \{ x: \[5, 1, 6, 6\], y: \[5, C\] \} tensors, got \[5, 1, 6, 6\] and \[4, 3\]/,
  );
});

test('mixing refuses bad options and inputs in one line each', () => {
  const x = d.rand([3, 1, 4, 4], new d.Rng(1));
  assert.throws(() => d.mixup({ alpha: 0, numClasses: 3 }), /mixup: alpha must be a finite number > 0, got 0/);
  assert.throws(() => d.cutmix({} as d.MixOptions), /cutmix: numClasses is required/);
  assert.throws(() => d.mixup({ numClasses: 1 }), /mixup: numClasses must be an integer ≥ 2, got 1/);
  assert.throws(() => d.mixup({ numClasses: 3, alpah: 1 } as d.MixOptions), /alpah/);
  assert.throws(
    () => d.cutmix({ numClasses: 3 })(d.rand([3, 16], new d.Rng(2)), [0, 1, 2], new d.Rng(1)),
    /cutmix: expected images \[N, C, H, W\], got \[3, 16\]/,
  );
  assert.throws(() => d.mixup({ numClasses: 3 })(x, [0, 1, 3], new d.Rng(1)), /mixup: label 2 is 3, expected an integer in \[0, 3\)/);
  assert.throws(
    () => d.mixup({ numClasses: 3 })(x, [0, 1], new d.Rng(1)),
    /mixup: expected inputs \[2, …\] \(one per label\), got \[3, 1, 4, 4\]/,
  );
  assert.throws(
    () => d.mixup({ numClasses: 3 })(x, d.zeros([3, 4]), new d.Rng(1)),
    /mixup: expected class labels \[3\] or probabilities \[3, 3\], got a tensor \[3, 4\]/,
  );
  assert.throws(
    () => d.randomChoiceMix([d.mixup({ numClasses: 3 })], [-1]),
    /randomChoiceMix: expected 1 finite weights ≥ 0 with a positive sum, got \[-1\]/,
  );
});
