import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear, ReLU, Sequential, Adam, AdamW, Rng, fromData, mul, sum, add } from '../../src/index.js';
import { fit } from '../../src/train/index.js';
import * as R from '../../src/regularize/index.js';
import { assertClose } from '../helpers.js';
import { fixedBatches, blobs } from './helpers.js';

const net = (seed: number) =>
  new Sequential(
    new Linear(6, 8, { dtype: 'float64', rng: new Rng(seed).fork('a') }),
    new ReLU(),
    new Linear(8, 3, { dtype: 'float64', rng: new Rng(seed).fork('b') }),
  );
const biases = (m: Sequential) =>
  m
    .namedParameters()
    .filter(([n, p]) => !R.weightsOnly(n, p))
    .map(([, p]) => p);
const data = fixedBatches(blobs(96, 6, 16, 7));

test('Adam + the L2 penalty λΣw² equals Adam weightDecay 2λ (coupled: the decay goes through √v̂)', () => {
  const a = net(1),
    b = net(1);
  const optA = new Adam([{ params: R.selectParameters(a), weightDecay: 0.02 }, { params: biases(a) }], { lr: 0.01 });
  fit({ model: a, optimizer: optA, train: data, epochs: 2, rng: new Rng(1) });
  fit({
    model: b,
    optimizer: new Adam(b.parameters(), { lr: 0.01 }),
    train: data,
    epochs: 2,
    rng: new Rng(1),
    callbacks: [R.penaltyCallback({ params: R.selectParameters(b), l2: 0.01 })],
  });
  a.parameters().forEach((p, i) => assertClose(b.parameters()[i].data, p.data, 1e-12, `param ${i}`));
});

test('decoupled decay after Adam reproduces AdamW; AdamW differs from Adam + L2 of the same strength', () => {
  const lam = 0.05;
  const a = net(2),
    b = net(2),
    c = net(2);
  fit({
    model: a,
    optimizer: new AdamW([{ params: R.selectParameters(a) }, { params: biases(a), weightDecay: 0 }], { lr: 0.01, weightDecay: lam }),
    train: data,
    epochs: 2,
    rng: new Rng(1),
  });
  fit({
    model: b,
    optimizer: new Adam(b.parameters(), { lr: 0.01 }),
    train: data,
    epochs: 2,
    rng: new Rng(1),
    callbacks: [R.decoupledDecayCallback({ params: R.selectParameters(b), weightDecay: lam })],
  });
  a.parameters().forEach((p, i) => assertClose(b.parameters()[i].data, p.data, 1e-10, `param ${i}`));
  // Adam + L2 whose gradient λ'·2w equals AdamW's decay direction λw (λ' = λ/2): not the same model
  fit({
    model: c,
    optimizer: new Adam(c.parameters(), { lr: 0.01 }),
    train: data,
    epochs: 2,
    rng: new Rng(1),
    callbacks: [R.penaltyCallback({ params: R.selectParameters(c), l2: lam / 2 })],
  });
  let maxDiff = 0;
  a.parameters().forEach((p, i) => p.data.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - c.parameters()[i].data[j])))));
  assert.ok(maxDiff > 1e-4, `AdamW and Adam+L2 should differ, max |Δ| = ${maxDiff}`);
});

test('AdamW shrinks a weight without data gradient by (1−ηλ) per step; Adam + L2 moves it by ≈η whatever λ', () => {
  const run = (make: (w: any) => { step(): void; zeroGrad(): void }, l2: number) => {
    const w = fromData([1], [1, 1], { dtype: 'float64', requiresGrad: true });
    const opt = make(w);
    for (let t = 0; t < 10; t++) {
      opt.zeroGrad();
      let loss = mul(sum(w), 0); // data loss that does not depend on w: zero gradient
      if (l2) loss = add(loss, R.l2Penalty([w], l2));
      loss.backward();
      opt.step();
    }
    return w.data[0];
  };
  const eta = 0.01;
  for (const lam of [0.1, 1])
    assertClose(
      run((w) => new AdamW([w], { lr: eta, weightDecay: lam }), 0),
      (1 - eta * lam) ** 10,
      1e-12,
      `AdamW λ=${lam}`,
    );
  const small = run((w) => new Adam([w], { lr: eta }), 0.05),
    big = run((w) => new Adam([w], { lr: eta }), 0.5);
  assertClose(small, 1 - 10 * eta, 1e-3, 'Adam+L2 λ=0.05: about η per step');
  // the penalty's gradient 2λw is rescaled by √v̂: ten times the penalty moves the weight the same (up to ε)
  assertClose(big, small, 1e-6, 'Adam+L2 λ=0.5 vs λ=0.05');
});
