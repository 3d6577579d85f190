/**
 * A trial is a pure function of its spec, stops at the target, and its id changes with anything that
 * changes the run; the sweep-wide training settings (loss options, MixUp/CutMix, accumulation) give
 * the run descent train gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend } from '../../src/backend/index.js';
import { runTrial, trialId, type TrialResult, type TrialSpec } from '../../src/sweep/trial.js';
import { Rng } from '../../src/tensor/rng.js';
import { DataLoader } from '../../src/data/loader.js';
import { createOptimizer } from '../../src/optim/registry.js';
import type { BaseHyper, Optimizer } from '../../src/optim/optimizer.js';
import { evaluate, fitRun } from '../../src/train/trainer.js';
import { getModel } from '../../src/train/models.js';
import { loadSweepData } from '../../src/sweep/workloads.js';
import { resolveModel } from '../../src/train/spec.js';
import { cutmix, mixup, randomChoiceMix, type BatchMix } from '../../src/augment/mix.js';

setBackend('reference');
const spec: TrialSpec = {
  workload: 'mlp',
  data: 'embedded',
  limit: 300,
  testLimit: 200,
  budget: 12,
  target: 0.99,
  evalEvery: 4,
  optimizer: 'adam',
  options: { lr: 0.003 },
  seed: 3,
};

test('same spec, same curve bit for bit; the budget ends the run', () => {
  const a = runTrial(spec),
    b = runTrial(spec);
  assert.equal(a.status, 'budget');
  assert.deepEqual(
    a.curve.map((p) => p.step),
    [4, 8, 12],
  );
  assert.deepEqual(
    a.curve.map((p) => [p.trainLoss, p.testLoss, p.testAccuracy]),
    b.curve.map((p) => [p.trainLoss, p.testLoss, p.testAccuracy]),
  );
  assert.equal(a.steps, 12);
  assert.equal(a.evaluations, 3);
  assert.equal(a.stepsToTarget, null);
  assert.ok(a.curve[2].testAccuracy > a.curve[0].testAccuracy - 0.2);
});

test('a trial stops at the first evaluation that reaches the target', () => {
  const first = runTrial(spec);
  const target = first.curve[1].testAccuracy; // reached at step 8 (or at step 4 if that was already as good)
  const r = runTrial({ ...spec, target });
  const expect = first.curve.find((p) => p.testAccuracy >= target)!;
  assert.equal(r.status, 'reached');
  assert.equal(r.stepsToTarget, expect.step);
  assert.equal(r.curve.length, first.curve.indexOf(expect) + 1);
  assert.equal(r.steps, expect.step);
});

test('a diverging run is recorded as diverged, not thrown', () => {
  const r = runTrial({ ...spec, optimizer: 'sgd', options: { lr: 1e6 } });
  assert.equal(r.status, 'diverged');
  assert.match(r.error!, /loss/);
});

test('full-batch logistic regression takes one step per evaluation', () => {
  const r = runTrial({ ...spec, workload: 'logreg', budget: 3, evalEvery: 1, optimizer: 'sgd', options: { lr: 0.5 } });
  assert.deepEqual(
    r.curve.map((p) => p.step),
    [1, 2, 3],
  );
});

test('the id is stable and changes with the options, the seed and the budget', () => {
  assert.equal(trialId(spec), trialId({ ...spec, options: { lr: 0.003 } }));
  assert.equal(trialId(spec), trialId(Object.fromEntries(Object.entries(spec).reverse()) as unknown as TrialSpec));
  const ids = new Set([
    trialId(spec),
    trialId({ ...spec, seed: 4 }),
    trialId({ ...spec, options: { lr: 0.001 } }),
    trialId({ ...spec, budget: 13 }),
    trialId({ ...spec, labelSmoothing: 0.1 }),
    trialId({ ...spec, classWeights: 'balanced' }),
    trialId({ ...spec, classWeights: [1, 1, 1, 1, 1, 1, 1, 1, 1, 2] }),
  ]);
  assert.equal(ids.size, 7);
  // an absent labelSmoothing or classWeights leaves the id of the specs before it
  assert.equal(trialId({ ...spec, labelSmoothing: undefined }), trialId(spec));
  assert.equal(trialId({ ...spec, classWeights: undefined }), trialId(spec));
});

test('labelSmoothing: the trial trains on and evaluates with the smoothed cross-entropy', () => {
  const plain = runTrial(spec),
    smoothed = runTrial({ ...spec, labelSmoothing: 0.3 });
  // a smoothed target keeps ε·ln C-sized mass off the true class: both losses are higher
  for (const [i, p] of smoothed.curve.entries()) {
    assert.ok(p.trainLoss > plain.curve[i].trainLoss, `train loss at step ${p.step}`);
    assert.ok(p.testLoss > plain.curve[i].testLoss, `test loss at step ${p.step}`);
  }
});

test("classWeights: the trial trains on and evaluates with the class-weighted cross-entropy, 'balanced' over its training data", () => {
  const losses = (r: TrialResult) => r.curve.map((p) => [p.trainLoss, p.testLoss]);
  const plain = runTrial(spec);
  // a weighted mean divides by the batch's sum of weights: equal weights give the plain loss
  assert.deepEqual(losses(runTrial({ ...spec, classWeights: new Array(10).fill(2) })), losses(plain));
  const skewed = runTrial({ ...spec, classWeights: [4, 1, 1, 1, 1, 1, 1, 1, 1, 0.25] });
  for (const [i, p] of skewed.curve.entries()) {
    assert.ok(Math.abs(p.trainLoss - plain.curve[i].trainLoss) > 1e-4, `train loss at step ${p.step}`);
    assert.ok(Math.abs(p.testLoss - plain.curve[i].testLoss) > 1e-4, `test loss at step ${p.step}`);
  }
  // 'balanced' is n / (C · countᶜ) over the trial's first `limit` training labels
  const labels = loadSweepData('embedded').train.labels.slice(0, spec.limit);
  const counts = new Array<number>(10).fill(0);
  for (const l of labels) counts[l]++;
  assert.ok(new Set(counts).size > 1, 'the subset is not balanced already');
  const byHand = counts.map((n) => labels.length / (10 * n));
  const balanced = runTrial({ ...spec, classWeights: 'balanced' });
  assert.deepEqual(losses(balanced), losses(runTrial({ ...spec, classWeights: byHand })));
  assert.notDeepEqual(losses(balanced), losses(plain));
  assert.throws(() => runTrial({ ...spec, classWeights: [1, 2] }), /2 weights for the 10 classes of the training data/);
});

test("Schedule-Free is evaluated at its averaged weights (the optimizer's eval weights), not where its gradients are taken", () => {
  const sf: TrialSpec = { ...spec, budget: 8, evalEvery: 8, optimizer: 'schedule-free-adamw', options: { lr: 0.02 } };
  const r = runTrial(sf);
  // The same run by hand (as runTrial builds it), stopped after the 8th step.
  const data = loadSweepData('embedded');
  const train = data.train.slice(0, 300),
    testSet = data.test.slice(0, 200);
  const rng = new Rng(sf.seed);
  const model = getModel('mlp');
  const net = model.build({ rng: rng.fork('model'), inputShape: train.shape, classes: train.classes.length });
  const optimizer = createOptimizer(sf.optimizer, net.namedParameters(), sf.options) as Optimizer<BaseHyper>;
  const loader = new DataLoader(train, { batchSize: 128, shuffle: true, dropLast: false, rng: rng.fork('data'), flatten: true });
  const testLoader = new DataLoader(testSet, { batchSize: 1000, flatten: true });
  class Stop extends Error {}
  let atY = 0,
    atX = 0;
  assert.throws(
    () =>
      fitRun({
        model: net,
        optimizer,
        train: loader,
        epochs: 8,
        rng: rng.fork('train'),
        callbacks: [
          {
            onStepEnd(s) {
              if (s.step < 8) return;
              atY = evaluate(net, testLoader).testLoss;
              atX = evaluate(net, testLoader, { optimizer }).testLoss;
              throw new Stop();
            },
          },
        ],
      }),
    Stop,
  );
  assert.notEqual(atX, atY, 'the average and the interpolation differ after 8 steps');
  assert.equal(r.curve[0].testLoss, atX);
});

/**
 * The first evaluation of `s`'s run built by hand (as runTrial builds it) with `mix` on the training
 * loader and `accumulate`: the mean training loss of its steps and the test loss.
 */
function firstPoint(s: TrialSpec, mix: BatchMix | undefined, accumulate?: number): [number, number] {
  const data = loadSweepData('embedded');
  const train = data.train.slice(0, s.limit),
    testSet = data.test.slice(0, s.testLimit);
  const rng = new Rng(s.seed);
  const net = getModel('mlp').build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10 });
  const optimizer = createOptimizer(s.optimizer, net.namedParameters(), s.options) as Optimizer<BaseHyper>;
  const loader = new DataLoader(train, { batchSize: 128, shuffle: true, dropLast: false, rng: rng.fork('data'), flatten: true, mix });
  class Stop extends Error {}
  const losses: number[] = [];
  let test = NaN;
  assert.throws(
    () =>
      fitRun({
        model: net,
        optimizer,
        train: loader,
        epochs: 8,
        rng: rng.fork('train'),
        ...(accumulate ? { accumulate } : {}),
        callbacks: [
          {
            onStepEnd(st, loss) {
              losses.push(loss);
              if (st.step < s.evalEvery) return;
              test = evaluate(net, new DataLoader(testSet, { batchSize: 1000, flatten: true })).testLoss;
              throw new Stop();
            },
          },
        ],
      }),
    Stop,
  );
  return [losses.reduce((a, b) => a + b, 0) / losses.length, test];
}

test('mixup and cutmix: the trial trains on the mixed batches of descent train --mixup / --cutmix, one of the two per batch with both', () => {
  const first = (r: TrialResult) => [r.curve[0].trainLoss, r.curve[0].testLoss];
  const plain = first(runTrial(spec));
  for (const [extra, mix] of [
    [{ mixup: 0.4 }, mixup({ alpha: 0.4, numClasses: 10 })],
    [{ cutmix: 1 }, cutmix({ alpha: 1, numClasses: 10 })],
    [{ mixup: 0.4, cutmix: 1 }, randomChoiceMix([cutmix({ alpha: 1, numClasses: 10 }), mixup({ alpha: 0.4, numClasses: 10 })])],
  ] as const) {
    const got = first(runTrial({ ...spec, ...extra }));
    assert.deepEqual(got, firstPoint(spec, mix), JSON.stringify(extra));
    assert.notDeepEqual(got, plain, `${JSON.stringify(extra)} changes the run`);
  }
  assert.throws(
    () => runTrial({ ...spec, workload: 'logreg', mixup: 0.2 }),
    /workload logreg takes full-batch steps; mixup, cutmix and accumulate need mini-batches/,
  );
});

test('accumulate: each step of the trial sums the gradients of that many batches; the budget and evaluations count steps', () => {
  const r = runTrial({ ...spec, accumulate: 2 });
  assert.deepEqual(
    r.curve.map((p) => p.step),
    [4, 8, 12],
  );
  assert.equal(r.steps, 12);
  assert.deepEqual([r.curve[0].trainLoss, r.curve[0].testLoss], firstPoint(spec, undefined, 2));
  assert.notDeepEqual(r.curve[0].testLoss, runTrial(spec).curve[0].testLoss);
  assert.equal(trialId({ ...spec, accumulate: undefined }), trialId(spec));
  assert.notEqual(trialId({ ...spec, accumulate: 2 }), trialId(spec));
  assert.notEqual(trialId({ ...spec, mixup: 0.2 }), trialId({ ...spec, cutmix: 0.2 }));
});

test('the sequence workloads train the benchmark models W5 and W6 on the image rows, as their specs built by hand', () => {
  // the specs written out here, not read from the registry: a changed built-in fails this test
  const written: Record<string, string> = {
    lstm: 'lstm:128,linear',
    transformer: 'linear:64,posembed,transformer:4:ff=128:act=gelu:prenorm=true:layers=2,seqmean,linear',
  };
  const data = loadSweepData('embedded');
  const train = data.train.slice(0, 96),
    testSet = data.test.slice(0, 50);
  for (const [workload, specString] of Object.entries(written)) {
    const s: TrialSpec = { ...spec, workload, limit: 96, testLimit: 50, budget: 2, evalEvery: 2, options: { lr: 0.003 } };
    const r = runTrial(s);
    const rng = new Rng(s.seed);
    const built = resolveModel(specString);
    assert.equal(built.input, 'sequence');
    const net = built.build({ rng: rng.fork('model'), inputShape: train.shape, classes: train.classes.length });
    const optimizer = createOptimizer('adam', net.namedParameters(), { lr: 0.003 }) as Optimizer<BaseHyper>;
    // each [1, 28, 28] image as 28 steps of 28 features
    const loader = new DataLoader(train, { batchSize: 128, shuffle: true, dropLast: false, rng: rng.fork('data'), sampleShape: [28, 28] });
    const records = fitRun({ model: net, optimizer, train: loader, epochs: 2, rng: rng.fork('train') }).records;
    const e = evaluate(net, new DataLoader(testSet, { batchSize: 1000, sampleShape: [28, 28] }), { optimizer });
    assert.equal(r.status, 'budget', workload);
    assert.deepEqual(
      r.curve.map((p) => [p.step, p.testLoss, p.testAccuracy]),
      [[2, e.testLoss, e.testAccuracy]],
      workload,
    );
    // one batch an epoch: the epoch's mean loss is its step's, up to the rounding of loss·B/B
    const byHand = (records[0].trainLoss + records[1].trainLoss) / 2;
    assert.ok(Math.abs(r.curve[0].trainLoss - byHand) <= 1e-12 * byHand, `${workload}: ${r.curve[0].trainLoss} vs ${byHand}`);
  }
});
