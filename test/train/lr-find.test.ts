/**
 * lrFind, the learning-rate range test: the rates of each mode, the running average over the raw
 * losses, the early stop past divergeThreshold, the suggestion (numpy.gradient's slopes against
 * log₁₀ lr, hand-computed on a parabola), the model and optimizer put back (a fit after the range
 * test equals one without it, to the bit), lrFindAsync's curve on the host equal to lrFind's, and
 * the options' errors. (On the GPU: test/webgpu/gpu/lr-find.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adam,
  DataLoader,
  LBFGS,
  Rng,
  SGD,
  fit,
  lrFind,
  lrFindAsync,
  mlp,
  loadEmbedded,
  penaltyCallback,
  selectParameters,
  type AnyOptimizer,
  type Module,
} from '../../src/node.js';
import { rangeTestLr, steepestLr } from '../../src/train/lr-find.js';

const { train } = loadEmbedded();
const loader = (seed = 2) => new DataLoader(train.slice(0, 640), { batchSize: 32, shuffle: true, flatten: true, rng: new Rng(seed) });
const model = (seed = 1): Module => mlp([784, 32, 10], { rng: new Rng(seed) });

test('the rates grow from startLr to endLr by equal ratios (exp) or equal differences (linear); each smoothed loss is the running average of the raw ones', () => {
  const m = model();
  const r = lrFind({ model: m, optimizer: new SGD(m.parameters(), { lr: 0.1 }), train: loader(), startLr: 1e-4, endLr: 1e-1, steps: 30 });
  assert.equal(r.lrs.length, 30);
  assert.equal(r.diverged, false);
  r.lrs.forEach((lr, i) => assert.ok(Math.abs(lr / (1e-4 * 1000 ** (i / 29)) - 1) < 1e-12, `lr ${i}: ${lr}`));
  assert.ok(Math.abs(r.lrs[29] - 0.1) < 1e-15);
  assert.equal(r.smoothed[0], r.losses[0]);
  for (let i = 1; i < 30; i++) assert.equal(r.smoothed[i], 0.05 * r.losses[i] + 0.95 * r.smoothed[i - 1]);
  assert.equal(r.minLossLr, r.lrs[r.smoothed.indexOf(Math.min(...r.smoothed))]);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => rangeTestLr(i, 4, 1, 4, 'linear')),
    [1, 2, 3, 4],
  );
  // 20 batches per epoch: 30 steps cycle into a second epoch
  const m2 = model();
  const losses = lrFind({ model: m2, optimizer: new SGD(m2.parameters()), train: loader(), steps: 30, smoothing: 1 });
  assert.deepEqual(losses.smoothed, losses.losses, 'smoothing 1 is the raw loss');
});

test('the range test stops once the smoothed loss passes divergeThreshold times its minimum, and suggests a rate below the blow-up', () => {
  const m = model();
  const r = lrFind({
    model: m,
    optimizer: new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }),
    train: loader(),
    startLr: 1e-5,
    endLr: 1e3,
    steps: 100,
    smoothing: 0.3,
  });
  assert.equal(r.diverged, true);
  assert.ok(r.lrs.length < 100, `${r.lrs.length} steps`);
  const last = r.smoothed[r.smoothed.length - 1];
  assert.ok(!Number.isFinite(last) || last > 5 * Math.min(...r.smoothed), `last ${last}`);
  assert.ok(r.suggestion !== null && r.suggestion < r.lrs[r.lrs.length - 1] && r.suggestion > 1e-5, `suggestion ${r.suggestion}`);
});

test("the suggestion is where the smoothed loss falls fastest against log₁₀ lr, by numpy.gradient's differences (a parabola's slopes are exact), skipping the ends", () => {
  // y = x² at x = log₁₀ lr = −3, −2, −1, 0, 1: slopes −5 (one-sided), −4, −2, 0, 1 (one-sided)
  const lrs = [1e-3, 1e-2, 1e-1, 1, 10],
    y = [9, 4, 1, 0, 1];
  assert.equal(steepestLr(lrs, y, 0, 0), 1e-3);
  // without the first point: −3 (one-sided at x = −2), −2, 0, 1
  assert.equal(steepestLr(lrs, y, 1, 0), 1e-2);
  // uneven spacing, x = −3, −1, 0, 1: the central slope at −1 is 2x = −2, the one-sided one at −3 is −4
  assert.equal(steepestLr([1e-3, 1e-1, 1, 10], [9, 1, 0, 1], 1, 0), 1e-1);
  assert.equal(steepestLr(lrs, y, 3, 1), null, 'one point left');
});

test('lrFind puts the weights, the optimizer state and the rates back: a fit after it equals a fit without it, to the bit (Adam, an L2 penalty)', () => {
  const run = (probe: boolean) => {
    const m = model(4);
    const optimizer: AnyOptimizer = new Adam(m.parameters(), { lr: 1e-3 });
    const callbacks = [penaltyCallback({ l2: 1e-4, params: selectParameters(m) })];
    if (probe) {
      const before = JSON.stringify(optimizer.stateDict());
      lrFind({ model: m, optimizer, train: loader(), steps: 15, callbacks });
      assert.equal(JSON.stringify(optimizer.stateDict()), before);
      assert.equal(optimizer.lr, 1e-3);
    }
    fit({ model: m, optimizer, train: loader(), epochs: 1, rng: new Rng(3), callbacks });
    return Array.from(m.parameters()[0].data);
  };
  assert.deepEqual(run(true), run(false));
});

test('lrFind refuses bad ranges and counts, and optimizers that re-evaluate the loss within a step', () => {
  const m = model();
  const base = { model: m, optimizer: new SGD(m.parameters()), train: loader() };
  assert.throws(() => lrFind({ ...base, startLr: 1, endLr: 0.1 }), /^RangeError: lrFind: endLr 0.1 must be larger than startLr 1$/);
  assert.throws(() => lrFind({ ...base, startLr: 0 }), /^RangeError: lrFind: invalid startLr 0; expected a finite number > 0$/);
  assert.throws(() => lrFind({ ...base, steps: 1 }), /^RangeError: lrFind: invalid steps 1; expected an integer ≥ 2$/);
  assert.throws(() => lrFind({ ...base, smoothing: 0 }), /^RangeError: lrFind: invalid smoothing 0; expected in \(0, 1\]$/);
  assert.throws(() => lrFind({ ...base, stepz: 3 } as never), /lrFind: unknown option "stepz" \(did you mean "steps"\?\)/);
  assert.throws(
    () => lrFind({ ...base, optimizer: new LBFGS(m.parameters()) }),
    /^RangeError: lrFind: LBFGS re-evaluates the loss within its step; the range test takes one loss per step$/,
  );
});

test('lrFindAsync on the host gives lrFind’s curve to the bit, a diverging one included, and puts the model and optimizer back', async () => {
  for (const options of [
    { startLr: 1e-4, endLr: 1e-1, steps: 30 },
    { startLr: 1e-5, endLr: 1e3, steps: 100, smoothing: 0.3 },
  ]) {
    const a = model(5),
      b = model(5);
    const want = lrFind({ model: a, optimizer: new SGD(a.parameters(), { lr: 0.1, momentum: 0.9 }), train: loader(), ...options });
    const ob = new SGD(b.parameters(), { lr: 0.1, momentum: 0.9 });
    const before = Array.from(b.parameters()[0].data);
    const got = await lrFindAsync({ model: b, optimizer: ob, train: loader(), ...options });
    assert.deepEqual(got, want);
    assert.equal(got.diverged, options.endLr > 1);
    assert.deepEqual(Array.from(b.parameters()[0].data), before);
    assert.deepEqual(ob.stateDict().state, {});
    assert.equal(ob.lr, 0.1);
  }
  const m = model();
  await assert.rejects(
    lrFindAsync({ model: m, optimizer: new SGD(m.parameters()), train: loader(), steps: 1 }),
    /^RangeError: lrFindAsync: invalid steps 1; expected an integer ≥ 2$/,
  );
});
