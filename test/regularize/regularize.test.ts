import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear, ReLU, Sequential, SGD, Rng, fromData, mseLoss, reshape, grad, type Tensor } from '../../src/index.js';
import { fit } from '../../src/train/index.js';
import * as R from '../../src/regularize/index.js';
import { assertClose } from '../helpers.js';
import { fixedBatches, sparseRegression, blobs } from './helpers.js';

const net = (seed: number) =>
  new Sequential(
    new Linear(6, 8, { dtype: 'float64', rng: new Rng(seed).fork('a') }),
    new ReLU(),
    new Linear(8, 3, { dtype: 'float64', rng: new Rng(seed).fork('b') }),
  );

test('penalty values and gradients: L1 = λΣ|w| (grad λ·sign w), L2 = λΣw² (grad 2λw), Elastic Net = both', () => {
  const w = fromData([1, -2, 0, 0.5], [2, 2], { dtype: 'float64', requiresGrad: true });
  const l1 = R.l1Penalty([w], 0.1);
  assertClose(l1.item(), 0.35, 1e-15);
  assertClose(grad([l1], [w])[0]!.data, [0.1, -0.1, 0, 0.1], 1e-15);
  const l2 = R.l2Penalty([w], 0.1);
  assertClose(l2.item(), 0.1 * 5.25, 1e-15);
  assertClose(grad([l2], [w])[0]!.data, [0.2, -0.4, 0, 0.1], 1e-15);
  const en = R.elasticNetPenalty([w], 0.1, 0.01);
  assertClose(en.item(), 0.35 + 0.0525, 1e-15);
  assertClose(grad([en], [w])[0]!.data, [0.1 + 0.02, -0.1 - 0.04, 0, 0.1 + 0.01], 1e-15);
  assert.throws(() => R.l2Penalty([w], -1), /L2 penalty: invalid λ -1; expected a number ≥ 0/);
});

test('by default penalties apply to weights, not biases', () => {
  const m = net(1);
  const names = m
    .namedParameters()
    .filter(([n, p]) => R.weightsOnly(n, p))
    .map(([n]) => n);
  assert.deepEqual(names, ['0.weight', '2.weight']);
  assert.equal(R.selectParameters(m).length, 2);
  assert.equal(R.selectParameters(m, R.allParameters).length, 4);
});

test('the L2 penalty λΣw² with SGD (momentum) equals SGD weightDecay 2λ on the same weights', () => {
  const lambda = 0.01;
  const data = fixedBatches(blobs(96, 6, 16));
  const a = net(3),
    b = net(3);
  const [wa, wb] = [R.selectParameters(a), R.selectParameters(b)];
  const biases = (m: Sequential) =>
    m
      .namedParameters()
      .filter(([n, p]) => !R.weightsOnly(n, p))
      .map(([, p]) => p);
  const optA = new SGD([{ params: wa, weightDecay: 2 * lambda }, { params: biases(a) }], { lr: 0.1, momentum: 0.9 });
  const optB = new SGD(b.parameters(), { lr: 0.1, momentum: 0.9 });
  fit({ model: a, optimizer: optA, train: data, epochs: 3, rng: new Rng(1) });
  const rec = fit({
    model: b,
    optimizer: optB,
    train: data,
    epochs: 3,
    rng: new Rng(1),
    callbacks: [R.penaltyCallback({ params: wb, l2: lambda })],
  });
  a.parameters().forEach((p, i) => assertClose(b.parameters()[i].data, p.data, 1e-12, `param ${i}`));
  assert.ok(rec[2].terms.l2 > 0, 'the L2 term is reported');
  // and it is not a no-op: without decay the weights differ
  const c = net(3);
  fit({ model: c, optimizer: new SGD(c.parameters(), { lr: 0.1, momentum: 0.9 }), train: data, epochs: 3, rng: new Rng(1) });
  assert.ok(Math.abs(c.parameters()[0].data[0] - a.parameters()[0].data[0]) > 1e-6);
});

function lasso(lambda: number, proximal: boolean, wTrue: number[], epochs = 300) {
  const { x, y } = sparseRegression(200, wTrue, 0.01);
  const model = new Linear(wTrue.length, 1, { bias: false, dtype: 'float64', rng: new Rng(5) });
  const params = R.selectParameters(model);
  const cb = proximal ? R.l1ProximalCallback({ params, lambda }) : R.penaltyCallback({ params, l1: lambda });
  const records = fit({
    model,
    optimizer: new SGD(model.parameters(), { lr: 0.1 }),
    train: fixedBatches([{ x, y }]),
    epochs,
    rng: new Rng(1),
    callbacks: [cb],
    loss: (out: Tensor, t: ArrayLike<number>) =>
      mseLoss(reshape(out, [-1]), fromData(Float64Array.from(t), [t.length], { dtype: 'float64' })),
  });
  return { w: Array.from(model.weight.data), records };
}

test('L1 proximal on a sparse linear problem recovers the true zero weights exactly', () => {
  const wTrue = [2, 0, -1.5, 0, 0, 1, 0, 0, 0, 0.5];
  const { w, records } = lasso(0.1, true, wTrue);
  wTrue.forEach((v, i) => {
    if (v === 0) assert.equal(w[i], 0, `w[${i}] should be exactly 0, got ${w[i]}`);
    else {
      assert.notEqual(w[i], 0, `w[${i}] should survive`);
      assert.equal(Math.sign(w[i]), Math.sign(v));
      assert.ok(Math.abs(w[i] - v) < 0.1, `w[${i}] = ${w[i]} near ${v} (shrunk by about λ/2)`);
    }
  });
  const last = records[records.length - 1];
  assert.equal(last.zeros, 0.6);
  assertClose(last.terms.l1, 0.1 * w.reduce((s, v) => s + Math.abs(v), 0), 1e-9, 'reported l1 term');
  // the subgradient form of the same penalty does not produce exact zeros
  const sub = lasso(0.1, false, wTrue);
  assert.equal(sub.w.filter((v) => v === 0).length, 0);
  assert.ok(sub.w.filter((v, i) => wTrue[i] === 0 && Math.abs(v) < 0.02).length === 6, 'but it gets close');
});

test('the near-zero fraction grows with λ', () => {
  const wTrue = [2, 0, -1.5, 0, 0.05, 1, 0.2, 0, -0.4, 0.5];
  const frac = [0.001, 0.2, 1, 3].map((l) => lasso(l, true, wTrue, 100).records.at(-1)!.nearZero as number);
  for (let i = 1; i < frac.length; i++) assert.ok(frac[i] >= frac[i - 1], `fractions ${frac}`);
  assert.ok(frac[3] > frac[0], `fractions ${frac}`);
});

test("max-norm rescales each unit's incoming weights to norm ≤ c and leaves shorter ones alone", () => {
  const w = fromData([3, 4, 0.3, 0.4, 0, 0], [3, 2], { dtype: 'float64' });
  R.maxNorm(w, 1);
  assertClose(w.data, [0.6, 0.8, 0.3, 0.4, 0, 0], 1e-15);
  const m = net(2);
  const params = R.selectParameters(m);
  fit({
    model: m,
    optimizer: new SGD(m.parameters(), { lr: 1 }),
    train: fixedBatches(blobs(64, 6, 16)),
    epochs: 2,
    rng: new Rng(1),
    callbacks: [R.maxNormCallback({ params, maxNorm: 0.5 })],
  });
  for (const p of params) {
    const [rows, cols] = p.shape;
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += p.data[r * cols + c] ** 2;
      assert.ok(Math.sqrt(s) <= 0.5 + 1e-12);
    }
  }
  assert.throws(() => R.maxNormCallback({ params, maxNorm: 0 }), /max-norm: invalid c 0; expected a number > 0/);
});

test('soft-thresholding is the proximal operator of τ|w|', () => {
  const w = new Float64Array([0.5, -0.5, 0.05, -0.05, 0]);
  R.softThreshold(w, 0.1);
  assertClose(w, [0.4, -0.4, 0, 0, 0], 1e-15);
});
