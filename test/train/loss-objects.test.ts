/**
 * fit() and evaluate() with the losses beyond cross-entropy and MSE, as functions and as loss
 * objects (PyTorch's criterion): a binary classifier under BCE with logits reports binary accuracy
 * as `accuracy` (Keras' resolution of 'accuracy' under a binary cross-entropy); a regression with
 * outliers under the Huber loss; the object and the function train to the same bits; binaryAccuracy
 * against hand-computed values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BCELoss,
  BCEWithLogitsLoss,
  DataLoader,
  HuberLoss,
  Linear,
  Rng,
  SGD,
  Sequential,
  Sigmoid,
  Tensor,
  TensorDataset,
  binaryAccuracy,
  binaryCrossEntropyWithLogits,
  evaluate,
  fit,
  fromData,
  mae,
  mseLoss,
  randn,
  type Loss,
} from '../../src/index.js';

/** Two Gaussian blobs in 2-D, label 1 where x₀ + x₁ > 0; targets [n, 1] of 0/1 floats. */
function blobs(n: number, seed: number): TensorDataset<Tensor> {
  const x = randn([n, 2], new Rng(seed));
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = x.data[2 * i] + x.data[2 * i + 1] > 0 ? 1 : 0;
  return new TensorDataset(x, new Tensor(y, [n, 1]));
}

function trainBinary(loss: Loss, seed = 3, sigmoid = false) {
  const rng = new Rng(seed);
  const linear = new Linear(2, 1, { rng: rng.fork('model') });
  const model = sigmoid ? new Sequential(linear, new Sigmoid()) : linear;
  return fit({
    model,
    optimizer: new SGD(model.parameters(), { lr: 0.5 }),
    train: new DataLoader(blobs(256, 1), { batchSize: 32, shuffle: true, rng: rng.fork('data') }),
    test: new DataLoader(blobs(128, 2), { batchSize: 64 }),
    epochs: 8,
    rng: rng.fork('train'),
    loss,
  });
}

test('a binary classifier under BCEWithLogitsLoss: the loss object and the function train to the same bits, and `accuracy` is the binary accuracy of logits at 0', () => {
  const byObject = trainBinary(new BCEWithLogitsLoss());
  const byFunction = trainBinary(binaryCrossEntropyWithLogits);
  assert.deepEqual(
    byObject.map((r) => [r.trainLoss, r.testLoss, r.testAccuracy]),
    byFunction.map((r) => [r.trainLoss, r.testLoss, r.testAccuracy]),
  );
  const first = byObject[0],
    last = byObject[byObject.length - 1];
  assert.ok((last.testLoss as number) < (first.testLoss as number), JSON.stringify(byObject.map((r) => r.testLoss)));
  assert.ok((last.testAccuracy as number) >= 0.95, `test accuracy ${last.testAccuracy}`);
  // a sigmoid model under BCELoss thresholds its probabilities at ½: the same decisions
  const probs = trainBinary(new BCELoss(), 3, true);
  assert.ok((probs[probs.length - 1].testAccuracy as number) >= 0.95, JSON.stringify(probs[probs.length - 1]));
});

test('a regression with outliers under HuberLoss({ delta }) has no default metric; evaluate takes the loss object in place of the options', () => {
  const rng = new Rng(5);
  const n = 200;
  const x = randn([n, 1], rng.fork('x'));
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = 3 * x.data[i] - 1 + (i % 20 === 0 ? 50 : 0); // every 20th target an outlier
  const data = new TensorDataset(x, new Tensor(y, [n, 1]));
  const fitWith = (loss: Loss) => {
    const model = new Linear(1, 1, { rng: new Rng(1) });
    const records = fit({
      model,
      optimizer: new SGD(model.parameters(), { lr: 0.1 }),
      train: new DataLoader(data, { batchSize: 20, shuffle: true, rng: new Rng(2) }),
      test: new DataLoader(data, { batchSize: 100 }),
      epochs: 40,
      rng: new Rng(3),
      loss,
    });
    return { model, records };
  };
  const huber = fitWith(new HuberLoss({ delta: 1 }));
  const squared = fitWith(mseLoss);
  assert.equal(huber.records[0].testAccuracy, undefined, 'float targets under Huber have no default accuracy');
  // the outliers pull the squared loss's intercept up by ~50/20; Huber's stays near −1
  const b = huber.model.bias!.data[0],
    bSquared = squared.model.bias!.data[0];
  assert.ok(Math.abs(b + 1) < 0.3 && bSquared > 1, `Huber intercept ${b}, squared ${bSquared}`);
  const viaObject = evaluate(huber.model, new DataLoader(data, { batchSize: 50 }), new HuberLoss({ delta: 1 }));
  const viaOptions = evaluate(huber.model, new DataLoader(data, { batchSize: 50 }), {
    loss: new HuberLoss({ delta: 1 }),
    metrics: { mae },
  });
  assert.equal(viaObject.testLoss, viaOptions.testLoss);
  assert.ok(Number.isFinite(viaOptions.testMae));
  assert.throws(
    () =>
      fit({
        model: huber.model,
        optimizer: new SGD(huber.model.parameters()),
        train: new DataLoader(data, { batchSize: 20 }),
        epochs: 1,
        rng: new Rng(0),
        loss: {} as never,
      }),
    /fit: invalid loss \{\}; expected a loss: a function \(output, target\) => Tensor or an object with forward/,
  );
});

test('binaryAccuracy equals hand-computed values: a threshold on the outputs, targets from ½ up, a multi-label sample scores the mean of its labels', () => {
  const probs = fromData([0.9, 0.2, 0.6, 0.4], [4, 1]),
    labels = fromData([1, 0, 0, 1], [4, 1]);
  assert.equal(binaryAccuracy()(probs, labels), 0.5);
  assert.equal(binaryAccuracy(0.3)(probs, labels), 0.75);
  const logits = fromData([2, -1, 0.5, -3, 0, 1], [2, 3]),
    soft = fromData([0.9, 0.1, 0.2, 0, 0.5, 0.7], [2, 3]);
  // row 0: decisions 1 0 1 against 1 0 0 → 2/3; row 1: 0 0 1 against 0 1 1 → 2/3
  assert.ok(Math.abs(binaryAccuracy(0)(logits, soft) - 2 / 3) < 1e-12);
  assert.ok(Math.abs(binaryAccuracy(0).sum!(logits, soft) - 4 / 3) < 1e-12);
  assert.throws(() => binaryAccuracy(Number.NaN), /^RangeError: binaryAccuracy: threshold must be a finite number, got NaN$/);
  assert.throws(() => binaryAccuracy()(probs, Int32Array.from([1, 0, 0, 1])), /binaryAccuracy: needs float targets/);
});
