import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear, ReLU, Sequential, SGD, Rng, fromData, noGrad } from '../../src/index.js';
import { fit, evaluate, predictProba } from '../../src/train/index.js';
import * as E from '../../src/ensemble/index.js';
import { snapshotCosine } from '../../src/schedule/index.js';
import { assertClose } from '../helpers.js';
import { fixedBatches, blobs } from '../regularize/helpers.js';

const net = (seed: number) =>
  new Sequential(
    new Linear(6, 8, { dtype: 'float64', rng: new Rng(seed).fork('a') }),
    new ReLU(),
    new Linear(8, 3, { dtype: 'float64', rng: new Rng(seed).fork('b') }),
  );

test("the ensemble averages the members' probabilities (by hand) and its forward is their log", () => {
  const a = new Linear(2, 2, { dtype: 'float64', bias: false }),
    b = new Linear(2, 2, { dtype: 'float64', bias: false });
  a.weight.data.set([1, 0, 0, 1]);
  b.weight.data.set([0, 0, 0, 0]); // uniform probabilities
  const x = fromData([Math.log(3), 0], [1, 2], { dtype: 'float64' });
  const ens = new E.Ensemble([a, b]);
  // a: softmax(ln3, 0) = (3/4, 1/4); b: (1/2, 1/2); average (5/8, 3/8)
  assertClose(noGrad(() => ens.predictProba(x)).data, [5 / 8, 3 / 8], 1e-15);
  assertClose(noGrad(() => ens.forward(x)).data, [Math.log(5 / 8), Math.log(3 / 8)], 1e-15);
  const w = new E.Ensemble([a, b], [3, 1]); // normalised to 3/4, 1/4
  assertClose(noGrad(() => w.predictProba(x)).data, [0.75 * 0.75 + 0.25 * 0.5, 0.75 * 0.25 + 0.25 * 0.5], 1e-15);
  assert.throws(() => new E.Ensemble([]), /Ensemble: needs at least one member/);
  assert.throws(() => new E.Ensemble([a, b], [1]), /Ensemble: weights must be 2 numbers/);
});

test('vote: majority of argmaxes, ties to the larger averaged probability', () => {
  // 3 members, 2 samples, 3 classes
  const p1 = [0.6, 0.3, 0.1, 0.1, 0.5, 0.4];
  const p2 = [0.2, 0.7, 0.1, 0.1, 0.2, 0.7];
  const p3 = [0.5, 0.4, 0.1, 0.9, 0.05, 0.05];
  const w = [1 / 3, 1 / 3, 1 / 3];
  // sample 0: votes 0,1,0 → class 0. sample 1: votes 1,2,0 → three-way tie; averages (1.1, .75, 1.15)/3 → class 2
  assert.deepEqual(Array.from(E.voteFrom([p1, p2, p3], w, 2, 3)), [0, 2]);
});

test('evaluateEnsemble: members equal evaluate(); averaged accuracy equals evaluate(Ensemble); trained ensemble beats its mean member', () => {
  const train = fixedBatches(blobs(240, 6, 24, 1));
  const testSet = fixedBatches(blobs(300, 6, 100, 2));
  const members = [1, 2, 3].map((seed) => {
    const m = net(seed);
    fit({ model: m, optimizer: new SGD(m.parameters(), { lr: 0.05 }), train, epochs: 2, rng: new Rng(seed) });
    return m;
  });
  const r = E.evaluateEnsemble(members, testSet);
  members.forEach((m, i) => assert.equal(r.members[i], evaluate(m, testSet).testAccuracy));
  const ens = new E.Ensemble(members);
  const whole = evaluate(ens, testSet);
  assert.equal(r.average, whole.testAccuracy);
  assertClose(r.averageLoss, whole.testLoss, 1e-9, 'NLL of the mixture');
  assert.equal(r.samples, 300);
  // the trainer's predictProba of each member, averaged by hand, gives the same predictions
  const probs = members.map((m) => predictProba(m, testSet).probs);
  let agree = 0;
  const labels = predictProba(members[0], testSet).labels;
  for (let i = 0; i < labels.length; i++) {
    const avg = [0, 1, 2].map((c) => probs.reduce((s, p) => s + p[i * 3 + c], 0) / 3);
    if (avg.indexOf(Math.max(...avg)) === labels[i]) agree++;
  }
  assert.equal(agree / labels.length, r.average);
  const meanMember = r.members.reduce((a, b) => a + b, 0) / r.members.length;
  assert.ok(r.average >= meanMember, `ensemble ${r.average} vs mean member ${meanMember}`);
});

test("snapshot ensemble: the rate follows the paper's formula at every step, one snapshot per cycle end", () => {
  const train = fixedBatches(blobs(120, 6, 24, 3)); // 5 steps per epoch
  const m = net(4);
  const opt = new SGD(m.parameters(), { lr: 0.2 });
  const run = E.snapshotEnsemble({ lr: 0.2, totalSteps: 20, cycles: 4 });
  const used: number[] = [];
  const seen: number[][] = [];
  fit({
    model: m,
    optimizer: opt,
    train,
    epochs: 4,
    rng: new Rng(1),
    callbacks: [
      ...run.callbacks,
      { onStepBegin: (s) => used.push(s.optimizer.lr), onStepEnd: () => seen.push(Array.from(m.parameters()[0].data)) },
    ],
  });
  const len = Math.ceil(20 / 4);
  assert.deepEqual(
    used,
    Array.from({ length: 20 }, (_, t) => (0.2 / 2) * (Math.cos((Math.PI * (t % len)) / len) + 1)),
  );
  assert.deepEqual(
    used,
    Array.from({ length: 20 }, (_, t) => snapshotCosine({ lr: 0.2, totalSteps: 20, cycles: 4 })(t)),
  );
  assert.deepEqual(run.at, [5, 10, 15, 20]);
  assert.equal(run.snapshots.length, 4);
  run.at.forEach((a, i) => assert.deepEqual(Array.from(run.snapshots[i].get('0.weight')!), seen[a - 1]));
  // members rebuilt from snapshots
  const members = run.snapshots.map((s) => {
    const k = net(99);
    E.restoreWeights(k, s);
    return k;
  });
  assert.equal(evaluate(members[3], train).testAccuracy, evaluate(m, train).testAccuracy);
});

test('SWA is the plain mean of the sampled weights; EMA follows w̄ ← βw̄ + (1−β)w from the first sample', () => {
  const m = new Linear(2, 1, { dtype: 'float64', bias: false });
  const swa = new E.WeightAverage('swa'),
    ema = new E.WeightAverage('ema', 0.5);
  const values = [
    [1, 2],
    [3, 6],
    [5, -1],
  ];
  for (const v of values) {
    m.weight.data.set(v);
    swa.update(m);
    ema.update(m);
  }
  assertClose(swa.get('weight')!, [3, 7 / 3], 1e-15);
  // EMA: [1,2] → 0.5·[1,2]+0.5·[3,6] = [2,4] → 0.5·[2,4]+0.5·[5,−1] = [3.5, 1.5]
  assertClose(ema.get('weight')!, [3.5, 1.5], 1e-15);
  swa.copyTo(m);
  assertClose(m.weight.data, [3, 7 / 3], 1e-15);
  assert.throws(() => new E.WeightAverage('ema', 1), /invalid EMA decay 1/);
  assert.throws(() => new E.WeightAverage('swa').copyTo(m), /no samples taken yet/);
});

test('SWA and EMA callbacks sample at epoch ends / every step during training', () => {
  const train = fixedBatches(blobs(96, 6, 24, 5)); // 4 steps per epoch
  const m = net(6);
  const swa = new E.WeightAverage('swa'),
    ema = new E.WeightAverage('ema', 0.9);
  const ends: Float64Array[] = [];
  fit({
    model: m,
    optimizer: new SGD(m.parameters(), { lr: 0.1 }),
    train,
    epochs: 4,
    rng: new Rng(1),
    callbacks: [
      E.swaCallback(swa, { startEpoch: 3 }),
      E.emaCallback(ema),
      { onEpochEnd: () => ends.push(Float64Array.from(m.parameters()[0].data)) },
    ],
  });
  assert.equal(swa.n, 2);
  assert.equal(ema.n, 16);
  const mean = ends[2].map((v, i) => (v + ends[3][i]) / 2);
  assertClose(swa.get('0.weight')!, mean, 1e-12);
});
