/**
 * fit() and evaluate() beyond classification: TensorDataset over any shapes, float targets with a
 * user loss, metrics as functions (hand-computed values), loss-only runs, and one numbering of
 * epochs and steps across TrainState, Progress and EpochRecord.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rng,
  Tensor,
  fromData,
  randn,
  Linear,
  Sequential,
  ReLU,
  SGD,
  mseLoss,
  Conv1d,
  CrossEntropyLoss,
  DataLoader,
  TensorDataset,
  fit,
  fitRun,
  evaluate,
  accuracy,
  classificationReport,
  topKAccuracy,
  mae,
  mse,
  exponentialGamma,
  scheduleCallback,
  type Callback,
  type Checkpoint,
  type Progress,
  type EpochRecord,
  type Metric,
} from '../../src/index.js';

const TRUE_W = [2, -3, 0.5];
const TRUE_B = 1;

/** y = x·w + b for x ~ N(0, 1) [n, 3]; y is [n, 1], the shape of the model's output. */
function regression(n: number, seed: number): TensorDataset<Tensor> {
  const x = randn([n, 3], new Rng(seed));
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = TRUE_B + TRUE_W.reduce((a, w, j) => a + w * x.data[i * 3 + j], 0);
  return new TensorDataset(x, new Tensor(y, [n, 1]));
}

test('linear regression: TensorDataset, momentum SGD and an exponential schedule through fit() recover the coefficients', () => {
  const rng = new Rng(11);
  const model = new Linear(3, 1, { rng: rng.fork('model') });
  const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const train = new DataLoader(regression(256, 1), { batchSize: 32, shuffle: true, rng: rng.fork('data') });
  const test_ = new DataLoader(regression(64, 2), { batchSize: 64 });
  const records = fit({
    model,
    optimizer,
    train,
    test: test_,
    epochs: 25,
    rng: rng.fork('train'),
    loss: mseLoss,
    metrics: { mae, mse },
    callbacks: [scheduleCallback(exponentialGamma({ lr: 0.05, gamma: 0.99 }))],
  });
  const w = Array.from(model.weight.data),
    b = model.bias!.data[0];
  w.forEach((v, j) => assert.ok(Math.abs(v - TRUE_W[j]) < 1e-3, `weight ${j}: ${v}, expected ${TRUE_W[j]}`));
  assert.ok(Math.abs(b - TRUE_B) < 1e-3, `bias ${b}, expected ${TRUE_B}`);
  const last = records[records.length - 1];
  assert.ok((last.testMae as number) < 1e-3 && (last.testMse as number) < 1e-6, JSON.stringify(last));
  assert.equal(last.testAccuracy, undefined, 'float targets have no default accuracy');
  assert.ok(Math.abs(last.lr - 0.05 * 0.99 ** (25 * 8 - 1)) < 1e-12, `the schedule ran per step: lr ${last.lr}`);
  // testMse is the loss here: the same mean of squares, in float64 against mseLoss's float32
  assert.ok(Math.abs((last.testMse as number) - (last.testLoss as number)) <= 1e-6 * Math.max(last.testLoss as number, 1e-12) + 1e-12);
});

test('metrics equal hand-computed values: accuracy, top-k, MAE, MSE', () => {
  const out = fromData([0.1, 0.5, 0.4, 0.3, 0.2, 0.5, 0.6, 0.3, 0.1, 0.2, 0.2, 0.6], [4, 3]);
  const labels = Int32Array.from([2, 0, 0, 1]);
  // arg-max 1, 2, 0, 2 → one hit; top-2 holds every label (row 3's label ties index 0 at 0.2, one value above it)
  assert.equal(accuracy(out, labels), 0.25);
  assert.equal(topKAccuracy(1)(out, labels), 0.25);
  assert.equal(topKAccuracy(2)(out, labels), 1);
  assert.equal(topKAccuracy(2).sum!(out, labels), 4);
  const o = fromData([1, 2, 3, 5], [2, 2]),
    t = fromData([1, 1, 2, 7], [2, 2]);
  // errors 0, 1, 1, −2: |e| mean 4/4, e² mean 6/4
  assert.equal(mae(o, t), 1);
  assert.equal(mse(o, t), 1.5);
  assert.throws(() => mae(o, labels), /mae: needs float targets/);
  // float targets of the output's shape are class probabilities: arg-max rows 1, 1 against 0 (the
  // first of a tie), 1 (Keras' categorical_accuracy)
  assert.equal(accuracy(o, t), 0.5);
  assert.equal(topKAccuracy(2)(o, t), 1);
  assert.throws(
    () => accuracy(o, fromData([1, 1, 2, 7], [4, 1])),
    /^TypeError: accuracy: needs integer class labels or class probabilities of the output's shape \[2, 2\] as targets, got a float tensor \[4, 1\]$/,
  );
  assert.throws(() => topKAccuracy(0), /topKAccuracy: k must be a positive integer, got 0/);
});

test("classificationReport equals hand-computed precision, recall and F1 per class, with a class never predicted (0, as scikit-learn's zero_division=0) and both averages", () => {
  // true \\ predicted: class 0 → 3 right, 1 as class 1; class 1 → 2 right, 2 as class 0; class 2 → 2 as class 1
  const r = classificationReport(Int32Array.from([3, 1, 0, 2, 2, 0, 0, 2, 0]), ['a', 'b', 'c']);
  const close = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-12, `${x} vs ${y}`);
  // a: P 3/5, R 3/4, F1 2/3; b: P 2/5, R 2/4, F1 4/9; c: never predicted, P 0, R 0, F1 0
  const want = [
    ['a', 3 / 5, 3 / 4, 2 / 3, 4],
    ['b', 2 / 5, 1 / 2, 4 / 9, 4],
    ['c', 0, 0, 0, 2],
  ] as const;
  want.forEach(([name, p, rc, f1, n], i) => {
    const c = r.perClass[i];
    assert.equal(c.name, name);
    close(c.precision, p);
    close(c.recall, rc);
    close(c.f1, f1);
    assert.equal(c.support, n);
  });
  close(r.accuracy, 5 / 10);
  close(r.macro.precision, 1 / 3);
  close(r.macro.f1, (2 / 3 + 4 / 9) / 3);
  close(r.weighted.recall, (4 * 0.75 + 4 * 0.5) / 10);
  assert.equal(r.weighted.support, 10);
  assert.equal(classificationReport([1, 0, 0, 1], 2).perClass[1].name, '1');
  assert.throws(
    () => classificationReport([1, 2, 3], 2),
    /^RangeError: classificationReport: a confusion matrix of 2 classes has 4 counts, got 3$/,
  );
});

test('evaluate weights every batch by its samples, built-in and user metrics alike', () => {
  // identity model: output = x; 5 samples in batches of 2, 2, 1
  const model = new Linear(1, 1, { rng: new Rng(0) });
  model.weight.data[0] = 1;
  model.bias!.data[0] = 0;
  const xs = [1, 2, 3, 4, 10],
    ys = [1, 0, 5, 4, 4];
  const ds = new TensorDataset(fromData(xs, [5, 1]), fromData(ys, [5, 1]));
  const meanOutput: Metric = (output: Tensor) => Array.from(output.data).reduce((a, v) => a + v, 0) / output.shape[0];
  const r = evaluate(model, new DataLoader(ds, { batchSize: 2 }), { loss: mseLoss, metrics: { mae, mse, meanOutput } });
  // errors 0, 2, −2, 0, 6
  assert.equal(r.testMae, 10 / 5);
  assert.equal(r.testMse, 44 / 5);
  assert.equal(r.testMeanOutput, 20 / 5);
  assert.ok(Math.abs(r.testLoss - 44 / 5) < 1e-6);
  assert.deepEqual(Object.keys(r).sort(), ['testLoss', 'testMae', 'testMeanOutput', 'testMse']);
});

function blobs(n: number, seed: number): TensorDataset<Int32Array> {
  const rng = new Rng(seed);
  const x = randn([n, 2], rng);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    x.data[i * 2] += 3 * Math.cos((2 * Math.PI * y[i]) / 3);
    x.data[i * 2 + 1] += 3 * Math.sin((2 * Math.PI * y[i]) / 3);
  }
  return new TensorDataset(x, y);
}

const classifier = (rng: Rng) => new Sequential(new Linear(2, 16, { rng }), new ReLU(), new Linear(16, 3, { rng }));

test('classification: default accuracy, top-k by name, and loss-only runs (metrics: {})', () => {
  const run = (metrics?: Record<string, Metric>) => {
    const rng = new Rng(5);
    const model = classifier(rng.fork('model'));
    return fit({
      model,
      optimizer: new SGD(model.parameters(), { lr: 0.1 }),
      epochs: 2,
      rng: rng.fork('train'),
      metrics,
      train: new DataLoader(blobs(120, 1), { batchSize: 16, shuffle: true, rng: rng.fork('data') }),
      test: new DataLoader(blobs(60, 2), { batchSize: 25 }),
    });
  };
  const plain = run(),
    named = run({ accuracy, top2: topKAccuracy(2) }),
    lossOnly = run({});
  assert.ok((plain[1].testAccuracy as number) > 0.8, `accuracy ${plain[1].testAccuracy}`);
  assert.equal(named[1].testAccuracy, plain[1].testAccuracy);
  assert.ok((named[1].testTop2 as number) >= (named[1].testAccuracy as number));
  assert.deepEqual(
    lossOnly.map((r) => r.testLoss),
    plain.map((r) => r.testLoss),
    'metrics do not change training',
  );
  for (const r of lossOnly) assert.ok(!('testAccuracy' in r) && typeof r.testLoss === 'number', JSON.stringify(r));
});

test("class ids per position [B, T] under the K-dimensional cross-entropy (output [B, C, T]) get no default accuracy: a [B, C] float target of the output's shape is what reads as class probabilities", () => {
  const rng = new Rng(4);
  // [B, 3 features, T = 4] → [B, C = 5, T]: a per-position classifier in PyTorch's layout (a 1×1 convolution)
  const conv = new Conv1d(3, 5, 1, { rng });
  const x = randn([6, 3, 4], rng);
  const ids = new Tensor(
    Float32Array.from({ length: 24 }, (_, i) => (i * 7) % 5),
    [6, 4],
  );
  const r = evaluate(conv, new DataLoader(new TensorDataset(x, ids), { batchSize: 3 }), { loss: new CrossEntropyLoss() });
  assert.deepEqual(Object.keys(r), ['testLoss']);
  assert.ok(Number.isFinite(r.testLoss));
  // the loss is the per-position mean over each batch, weighted by its samples
  const whole = new CrossEntropyLoss().forward(conv.forward(x), ids).item();
  assert.ok(Math.abs(r.testLoss - whole) < 1e-6, `${r.testLoss} vs ${whole}`);
});

test('full-batch steps take float targets: batches are concatenated into one tensor', () => {
  const rng = new Rng(3);
  const model = new Linear(3, 1, { rng: rng.fork('model') });
  const records = fit({
    model,
    optimizer: new SGD(model.parameters(), { lr: 0.3 }),
    epochs: 60,
    rng: rng.fork('train'),
    loss: mseLoss,
    fullBatch: true,
    train: new DataLoader(regression(100, 4), { batchSize: 30 }),
  });
  assert.ok(records[59].trainLoss < 1e-6 * records[0].trainLoss, `loss ${records[0].trainLoss} → ${records[59].trainLoss}`);
  assert.ok(Math.abs(model.weight.data[1] - TRUE_W[1]) < 1e-3);
});

test("class probabilities [N, C] train with the default loss: one-hot rows give the labels' run to the bit, soft rows report accuracy against their arg-max", () => {
  const n = 24;
  const rng = new Rng(21);
  const x = randn([n, 4], rng.fork('x'));
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 3);
  const oneHot = new Float32Array(n * 3);
  labels.forEach((c, i) => (oneHot[i * 3 + c] = 1));
  const run = (y: Int32Array | Tensor) => {
    const model = new Linear(4, 3, { rng: new Rng(5) });
    const data = new DataLoader(new TensorDataset(x, y), { batchSize: 8, shuffle: true, rng: new Rng(6) });
    const records = fit({
      model,
      optimizer: new SGD(model.parameters(), { lr: 0.5 }),
      train: data,
      test: data,
      epochs: 3,
      rng: new Rng(7),
      now: () => 0,
    });
    return { model, records };
  };
  const a = run(labels),
    b = run(new Tensor(oneHot, [n, 3]));
  assert.deepEqual(b.records, a.records);
  assert.ok(b.records[2].testAccuracy! > 0 && b.records[2].trainLoss < b.records[0].trainLoss);
  // soft rows: 0.6 on the label, 0.2 on the others; accuracy counts arg-max(output) = arg-max(target)
  const soft = new Float32Array(n * 3).map((_, k) => (labels[Math.floor(k / 3)] === k % 3 ? 0.6 : 0.2));
  const s = run(new Tensor(soft, [n, 3]));
  const test_ = new DataLoader(new TensorDataset(x, new Tensor(soft, [n, 3])), { batchSize: 10 });
  const ev = evaluate(s.model, test_);
  const pred = Array.from({ length: n }, (_, i) => {
    const row = Array.from(s.model.forward(x).data.slice(i * 3, i * 3 + 3));
    return row.indexOf(Math.max(...row));
  });
  assert.equal(ev.testAccuracy, pred.filter((p, i) => p === labels[i]).length / n);
  assert.deepEqual(Object.keys(ev), ['testLoss', 'testAccuracy']);
  // a loss of one's own for the same targets: no default accuracy (they may be regression targets)
  assert.deepEqual(Object.keys(evaluate(s.model, test_, mseLoss)), ['testLoss']);
  // probabilities for another number of classes than the output's: crossEntropy names both shapes
  const wrong = new DataLoader(new TensorDataset(x, new Tensor(new Float32Array(n * 2), [n, 2])), { batchSize: 8 });
  assert.throws(
    () => evaluate(s.model, wrong),
    /^ShapeError: CrossEntropyLoss: targets must be 8 class indices, a Tensor of shape \[8\], or class probabilities of the logits' shape \[8, 3\]; got \[8, 2\]$/,
  );
});

test('float targets without a loss: one line naming the option', () => {
  const model = new Linear(3, 1, { rng: new Rng(0) });
  const train = new DataLoader(regression(8, 1), { batchSize: 4 });
  assert.throws(
    () => fit({ model, optimizer: new SGD(model.parameters(), { lr: 0.1 }), train, epochs: 1, rng: new Rng(1) }),
    /^TypeError: fit: the targets are a float tensor \[4, 1\]; give a loss for them, such as loss: mseLoss \(the default, crossEntropy, takes class labels or class probabilities \[B, C\] of the output's shape\)$/,
  );
  assert.throws(() => evaluate(model, train), /^TypeError: evaluate: the targets are a float tensor \[4, 1\]/);
});

test('DataLoader over a TensorDataset: rows stay paired, same seed same order, epoch(e, start) continues an epoch', () => {
  const n = 23;
  const x = fromData(
    Array.from({ length: n * 2 }, (_, k) => k),
    [n, 2],
  );
  const y = fromData(
    Array.from({ length: n }, (_, i) => 100 + i),
    [n, 1],
  );
  const ds = new TensorDataset(x, y);
  const a = new DataLoader(ds, { batchSize: 5, shuffle: true, rng: new Rng(9) });
  const b = new DataLoader(ds, { batchSize: 5, shuffle: true, rng: new Rng(9) });
  const full = [...a.epoch(3)];
  assert.equal(full.length, 5);
  assert.deepEqual(full[4].x.shape, [3, 2]);
  const seen = new Set<number>();
  for (const batch of full) {
    for (let k = 0; k < batch.indices.length; k++) {
      const i = batch.indices[k];
      seen.add(i);
      assert.deepEqual([batch.x.data[k * 2], batch.x.data[k * 2 + 1], batch.y.data[k]], [2 * i, 2 * i + 1, 100 + i]);
    }
  }
  assert.equal(seen.size, n);
  assert.deepEqual(
    [...b.epoch(3)].map((t) => Array.from(t.indices)),
    full.map((t) => Array.from(t.indices)),
  );
  assert.deepEqual(
    [...a.epoch(3, { batch: 2 })].map((t) => Array.from(t.indices)),
    full.slice(2).map((t) => Array.from(t.indices)),
  );
  assert.notDeepEqual(Array.from(a.order(4)), Array.from(a.order(3)));
  const labels = new TensorDataset(
    x,
    Int32Array.from({ length: n }, (_, i) => i % 4),
  );
  assert.deepEqual(Array.from([...new DataLoader(labels, { batchSize: 6 }).epoch(0)][1].y), [2, 3, 0, 1, 2, 3]);
  assert.throws(
    () => new TensorDataset(x, fromData([1, 2], [2, 1])),
    /TensorDataset: 23 inputs but targets of shape \[2, 1\]; expected \[23, …\]/,
  );
  assert.throws(() => new TensorDataset(x, new Int32Array(22)), /TensorDataset: 23 inputs but 22 labels/);
  assert.throws(
    () => new TensorDataset(x, [1, 2] as unknown as Int32Array),
    /targets must be an Int32Array of class labels or a float tensor/,
  );
});

test('one numbering: epochs count from 1 in TrainState, Progress and EpochRecord; TrainState.step counts steps taken', () => {
  const rng = new Rng(2);
  const model = classifier(rng.fork('model'));
  const seen: string[] = [];
  const progress: Progress[] = [];
  const onEpoch: EpochRecord[] = [];
  const lrs: number[] = [];
  const probe: Callback = {
    onTrainBegin: (s) => seen.push(`begin ${s.epoch}/${s.epochs} step ${s.step}`),
    onEpochBegin: (s) => seen.push(`epoch ${s.epoch}`),
    onStepBegin: (s) => seen.push(`${s.epoch}:${s.step}`),
    onEpochEnd: (s, r) => seen.push(`end ${s.epoch} record ${r.epoch}`),
  };
  fit({
    model,
    optimizer: new SGD(model.parameters(), { lr: 1 }),
    epochs: 2,
    rng: rng.fork('train'),
    train: new DataLoader(blobs(9, 1), { batchSize: 3 }),
    callbacks: [
      scheduleCallback(exponentialGamma({ lr: 0.1, gamma: 0.5 }), { unit: 'epoch' }),
      probe,
      { onStepEnd: (s) => lrs.push(s.optimizer.lr) },
    ],
    onProgress: (p) => progress.push(p),
    onEpoch: (r) => onEpoch.push(r),
  });
  assert.deepEqual(seen, [
    'begin 0/2 step 0',
    'epoch 1',
    '1:0',
    '1:1',
    '1:2',
    'end 1 record 1',
    'epoch 2',
    '2:3',
    '2:4',
    '2:5',
    'end 2 record 2',
  ]);
  assert.deepEqual(
    progress.map((p) => `${p.epoch}/${p.epochs} ${p.batch}/${p.numBatches}`),
    ['1/2 1/3', '1/2 2/3', '1/2 3/3', '2/2 1/3', '2/2 2/3', '2/2 3/3'],
  );
  assert.deepEqual(
    onEpoch.map((r) => r.epoch),
    [1, 2],
  );
  // an epoch schedule reads its 0-based index: epoch 1 runs at schedule(0)
  assert.deepEqual(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05]);
});

test('one numbering on resume and in full-batch runs: TrainState.epoch is the epoch the step belongs to', () => {
  const setup = () => {
    const rng = new Rng(4);
    const model = classifier(rng.fork('model'));
    return {
      model,
      optimizer: new SGD(model.parameters(), { lr: 0.1 }),
      rng: rng.fork('train'),
      train: new DataLoader(blobs(12, 1), { batchSize: 3 }),
    };
  };
  const saved: Checkpoint[] = [];
  fitRun({ ...setup(), epochs: 3, checkpoint: { save: (c) => void saved.push(c), everySteps: 5 } });
  const mid = saved.find((c) => c.batch > 0)!;
  assert.deepEqual([mid.epoch, mid.batch, mid.step], [1, 1, 5], 'a checkpoint after step 5 (epoch 2, batch 1) counts one epoch completed');
  const steps: string[] = [];
  fitRun({ ...setup(), epochs: 3, resume: mid, callbacks: [{ onStepBegin: (s) => steps.push(`${s.epoch}:${s.step}`) }] });
  assert.deepEqual(steps.slice(0, 4), ['2:5', '2:6', '2:7', '3:8']);
  const full: string[] = [];
  fit({
    ...setup(),
    epochs: 2,
    fullBatch: true,
    callbacks: [
      { onStepEnd: (s) => full.push(`step end ${s.epoch}:${s.step}`), onEpochEnd: (s, r) => full.push(`end ${s.epoch} record ${r.epoch}`) },
    ],
  });
  assert.deepEqual(full, ['step end 1:1', 'end 1 record 1', 'step end 2:2', 'end 2 record 2']);
});
