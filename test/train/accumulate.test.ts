/**
 * Gradient accumulation (FitOptions.accumulate): fit equals PyTorch's usual loop written by hand
 * (loss / N, backward, a step every N micro-batches and at the epoch's end, zero_grad), follows the
 * run with N times the batch, leaves accumulate 1 as it was, resumes mid-epoch bit for bit, skips a
 * non-finite group whole, and refuses what it cannot do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { SGD } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import { LBFGS } from '../../src/optim/lbfgs.js';
import { SAM } from '../../src/optim/sam.js';
import { fitRun, type Callback, type FitOptions, type TrainState } from '../../src/train/trainer.js';
import { encodeCheckpoint, decodeCheckpoint, type Checkpoint } from '../../src/train/checkpoint.js';
import { getModel } from '../../src/train/models.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadEmbedded } from '../../src/data/node.js';
import { scheduleCallback, cosine } from '../../src/schedule/index.js';
import { add, div } from '../../src/autograd/ops.js';
import { crossEntropy } from '../../src/autograd/cross-entropy.js';
import { penaltyCallback } from '../../src/regularize/callbacks.js';
import { clipGradNormCallback } from '../../src/train/callbacks.js';
import { fuse } from '../../src/nn/fuse.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { AnyOptimizer } from '../../src/optim/optimizer.js';
import type { Module } from '../../src/nn/module.js';

const data = loadEmbedded();
const train = data.train.slice(0, 240);
const test_ = data.test.slice(0, 100);

function mlp(seed: number) {
  const rng = new Rng(seed);
  return { rng, model: getModel('mlp').build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10 }) };
}

const bits = (model: Module) => model.namedParameters().map(([, p]) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength));

type Make = (model: Module) => { optimizer: AnyOptimizer; callbacks: Callback[] };

/** A fit run of the MLP on 240 samples in shuffled batches of `batchSize`, with the optimizer and callbacks `make` gives. */
function setup(seed: number, batchSize: number, make: Make, extra: Partial<FitOptions> = {}): FitOptions {
  const { rng, model } = mlp(seed);
  const { optimizer, callbacks } = make(model);
  return {
    model,
    optimizer,
    callbacks,
    train: new DataLoader(train, { batchSize, shuffle: true, rng: rng.fork('data'), flatten: true }),
    test: new DataLoader(test_, { batchSize: 100, flatten: true }),
    epochs: 2,
    rng: rng.fork('train'),
    now: () => 0,
    ...extra,
  };
}

/**
 * PyTorch's accumulation loop over fit's batches and dropout streams:
 *   loss = (criterion(model(x), y) + penalties) / N; loss.backward()
 *   if (i + 1) % N == 0 or i + 1 == len(loader): optimizer.step(); optimizer.zero_grad()
 * with each callback's onStepBegin (a schedule) before a group's first micro-batch and onGradients
 * (clipping) before the step. Returns each
 * epoch's mean data loss per sample.
 */
function handLoop(o: FitOptions, N: number): number[] {
  const net = fuse(o.model);
  const opt = o.optimizer;
  const cbs = o.callbacks ?? [];
  const s: TrainState = { model: o.model, optimizer: opt, epoch: 0, epochs: o.epochs, step: 0, stepsPerEpoch: 0, stop: false };
  for (const c of cbs) c.onTrainBegin?.(s);
  const masks = o.rng.fork('masks');
  const losses: number[] = [];
  for (let e = 0; e < o.epochs; e++) {
    s.epoch = e + 1;
    const rng = masks.fork(`epoch:${e}`);
    const batches = [...o.train.epoch(e)];
    let sum = 0,
      seen = 0;
    batches.forEach((batch, i) => {
      if (i % N === 0) for (const c of cbs) c.onStepBegin?.(s);
      let loss = crossEntropy(net.forward(batch.x, { training: true, rng }), batch.y);
      const n = (batch.y as Int32Array).length;
      sum += loss.item() * n;
      seen += n;
      for (const c of cbs) for (const t of Object.values(c.lossTerms?.(s) ?? {})) loss = add(loss, t as Tensor);
      div(loss, N).backward();
      if ((i + 1) % N === 0 || i + 1 === batches.length) {
        for (const c of cbs) c.onGradients?.(s);
        opt.step();
        opt.zeroGrad({ setToNone: false });
        s.step++;
      }
    });
    losses.push(sum / seen);
  }
  return losses;
}

const sgdMomentum: Make = (model) => ({ optimizer: new SGD(model.namedParameters(), { lr: 0.05, momentum: 0.9 }), callbacks: [] });
const adamCosine: Make = (model) => ({
  optimizer: new Adam(model.namedParameters(), { lr: 0.01 }),
  callbacks: [scheduleCallback(cosine({ lr: 0.01, totalSteps: 6 }), { unit: 'step' })],
});
const sgdCosine: Make = (model) => ({
  optimizer: new SGD(model.namedParameters(), { lr: 0.05, momentum: 0.9, nesterov: true }),
  callbacks: [scheduleCallback(cosine({ lr: 0.05, totalSteps: 4 }), { unit: 'step' })],
});
const sgdClip: Make = (model) => ({
  optimizer: new SGD(model.namedParameters(), { lr: 0.5, momentum: 0.9 }),
  callbacks: [clipGradNormCallback({ maxNorm: 0.05 })],
});
const sgdL2: Make = (model) => ({
  optimizer: new SGD(model.namedParameters(), { lr: 0.05, momentum: 0.9 }),
  callbacks: [penaltyCallback({ params: model.parameters(), l2: 1e-3 })],
});

test('fit with accumulate N equals the PyTorch accumulation loop bit for bit: SGD momentum, Adam with a per-step schedule, an L2 penalty; epochs of 8 batches in groups of 3 (the last of 2)', () => {
  for (const [name, make, N] of [
    ['sgd momentum', sgdMomentum, 3],
    ['adam + cosine per step', adamCosine, 3],
    ['sgd + l2', sgdL2, 4],
    ['sgd + clipping by norm', sgdClip, 3],
  ] as const) {
    // 240 samples in batches of 32: 7 of 32 and one of 16
    const steps: number[] = [];
    let clips = 0;
    const fitted = setup(11, 32, make, { accumulate: N, callbacks: undefined });
    const own = make(fitted.model);
    const runs = {
      ...fitted,
      ...own,
      callbacks: [...own.callbacks, { onStepEnd: (s: TrainState) => void steps.push(s.step), onGradients: () => void clips++ }],
    };
    const res = fitRun(runs);
    const ref = setup(11, 32, make);
    const refLosses = handLoop(ref, N);
    const a = bits(runs.model),
      b = bits(ref.model);
    a.forEach((x, i) => assert.ok(x.equals(b[i]), `${name}: parameter ${i} differs from the hand loop`));
    assert.deepEqual(
      res.records.map((r) => r.trainLoss),
      refLosses,
      `${name}: trainLoss is the mean unscaled loss per sample`,
    );
    const perEpoch = Math.ceil(8 / N);
    assert.deepEqual(
      steps,
      Array.from({ length: 2 * perEpoch }, (_, i) => i + 1),
      `${name}: one step per group`,
    );
    assert.equal(clips, steps.length, `${name}: onGradients once per group`);
  }
});

// SGD's update is linear in the gradient, so rounding stays rounding; Adam's first steps are
// g / (|g| + ε), which turns the rounding of a gradient entry near 0 into lr-sized differences.
test('accumulate N with batch B follows batch N·B within float32 rounding (SGD; no dropout, same sample order, even groups)', () => {
  let worst = 0;
  for (const make of [sgdMomentum, sgdL2, sgdCosine]) {
    // 240 samples: 6 batches of 40 in groups of 3, or 2 batches of 120
    const small = setup(5, 40, make, { accumulate: 3 });
    const big = setup(5, 120, make);
    const rs = fitRun(small).records;
    const rb = fitRun(big).records;
    const a = small.model.parameters(),
      b = big.model.parameters();
    let scale = 0;
    for (const p of b) for (const v of p.data) scale = Math.max(scale, Math.abs(v));
    let diff = 0;
    a.forEach((p, i) => p.data.forEach((v, j) => (diff = Math.max(diff, Math.abs(v - b[i].data[j])))));
    worst = Math.max(worst, diff / scale);
    assert.ok(diff / scale < 1e-5, `max |Δw| ${diff} against max |w| ${scale}`);
    assert.notEqual(diff, 0, 'a different summation order: not the same run to the bit');
    rs.forEach((r, i) => {
      assert.ok(Math.abs(r.trainLoss - rb[i].trainLoss) < 1e-5 * rb[i].trainLoss, `epoch ${i + 1}: train loss`);
      assert.ok(
        Math.abs((r.testLoss as number) - (rb[i].testLoss as number)) < 1e-5 * (rb[i].testLoss as number),
        `epoch ${i + 1}: test loss`,
      );
    });
  }
  // the difference measured, for the record
  assert.ok(worst < 1e-5, `worst relative difference ${worst}`);
});

test('accumulate 1 is the run without it, bit for bit (records, parameters, checkpoints)', () => {
  const saved = (o: FitOptions) => {
    const out: Uint8Array[] = [];
    return { ...o, checkpoint: { everySteps: 3, save: (c: Checkpoint) => void out.push(encodeCheckpoint(c)) }, out };
  };
  const a = saved(setup(2, 32, adamCosine));
  const b = saved(setup(2, 32, adamCosine, { accumulate: 1 }));
  const { out: outA, ...oa } = a;
  const { out: outB, ...ob } = b;
  const ra = fitRun(oa).records;
  const rb = fitRun(ob).records;
  assert.deepEqual(ra, rb);
  const wa = bits(oa.model),
    wb = bits(ob.model);
  wa.forEach((x, i) => assert.ok(x.equals(wb[i])));
  assert.equal(outA.length, outB.length);
  outA.forEach((x, i) => assert.deepEqual(x, outB[i], `checkpoint ${i}`));
  assert.equal(decodeCheckpoint(outA[0]).accumulate, undefined, 'no accumulate field for 1');
});

test('a mid-epoch checkpoint of an accumulating run sits at a group boundary and resumes bit for bit; another accumulate is refused', () => {
  const make = (extra: Partial<FitOptions> = {}) => setup(9, 32, adamCosine, { accumulate: 3, epochs: 3, ...extra });
  const saved: Checkpoint[] = [];
  const full = make({ checkpoint: { everySteps: 2, save: (c) => void saved.push(decodeCheckpoint(encodeCheckpoint(c))) } });
  const res = fitRun(full);
  const ref = bits(full.model);
  const mid = saved.filter((c) => c.batch > 0);
  // 8 batches per epoch in groups of 3, 3, 2: steps 2 (batch 6), 4 (batch 3 of epoch 2), 6 (its end: no
  // epoch checkpoint is due there), 8 (batch 6 of epoch 3)
  assert.deepEqual(
    mid.map((c) => [c.epoch, c.batch, c.step, c.accumulate]),
    [
      [0, 6, 2, 3],
      [1, 3, 4, 3],
      [1, 8, 6, 3],
      [2, 6, 8, 3],
    ],
  );
  for (const c of saved.filter((c) => c.epoch < 3)) {
    const again = make();
    const r2 = fitRun({ ...again, resume: c });
    const w = bits(again.model);
    w.forEach((x, i) => assert.ok(x.equals(ref[i]), `resumed at epoch ${c.epoch} batch ${c.batch}: parameter ${i}`));
    assert.deepEqual(
      r2.records.map((r) => [r.trainLoss, r.testLoss, r.lr]),
      res.records.map((r) => [r.trainLoss, r.testLoss, r.lr]),
    );
  }
  assert.throws(
    () => fitRun({ ...make({ accumulate: 2 }), resume: mid[0] }),
    /^RangeError: fit: the checkpoint was taken with accumulate 3, this run has accumulate 2; resume with accumulate 3$/,
  );
  assert.throws(() => fitRun({ ...make({ accumulate: undefined }), resume: mid[0] }), /taken with accumulate 3, this run has accumulate 1/);
});

test("onNonFinite 'skip' with accumulate: a group with a non-finite micro-batch is skipped whole, as one step", () => {
  // the 5th micro-batch's loss (epoch 1, group 2 of 3) is NaN
  const run = (N: number) => {
    let calls = 0;
    const skips: { epoch: number; step: number }[] = [];
    const o = setup(3, 32, sgdMomentum, {
      accumulate: N,
      epochs: 1,
      onNonFinite: 'skip',
      onSkip: (i) => skips.push({ epoch: i.epoch, step: i.step }),
      loss: (out, y) => {
        const l = crossEntropy(out, y);
        losses.push([l.item(), (y as Int32Array).length]);
        return ++calls === 5 ? div(l, 0) : l;
      },
    });
    const steps: number[] = [];
    const res = fitRun({ ...o, callbacks: [{ onStepEnd: (s) => void steps.push(s.step) }] });
    return { res, skips, steps };
  };
  const losses: [number, number][] = [];
  const { res, skips, steps } = run(3);
  assert.equal(res.skipped, 1);
  assert.deepEqual(skips, [{ epoch: 1, step: 2 }]);
  assert.deepEqual(steps, [1, 3]);
  // trainLoss counts the two groups applied: micro-batches 1-3 and 7-8, not the skipped 4-6
  const kept = losses.filter((_, i) => i < 3 || (i >= 6 && i < 8)); // then the test set's
  let sum = 0,
    seen = 0;
  for (const [l, n] of kept) {
    sum += l * n;
    seen += n;
  }
  assert.equal(res.records[0].trainLoss, sum / seen);
});

test('accumulate is refused where it cannot apply, each in one line naming why', () => {
  const o = setup(1, 40, sgdMomentum);
  for (const bad of [0, -1, 1.5, Number.NaN])
    assert.throws(
      () => fitRun({ ...o, accumulate: bad }),
      new RegExp(`^RangeError: fit: accumulate must be a positive integer, got ${bad}$`),
    );
  assert.throws(() => fitRun({ ...o, accumulate: '2' as unknown as number }), /^TypeError: fit: .*accumulate/);
  assert.throws(
    () => fitRun({ ...o, accumulate: 2, fullBatch: true }),
    /^RangeError: fit: accumulate 2 needs mini-batch steps; fullBatch already takes every step on the whole training set$/,
  );
  const params = o.model.namedParameters();
  for (const opt of [new LBFGS(params, {}), new SAM(new SGD(params, { lr: 0.1 }))])
    assert.throws(
      () => fitRun({ ...o, optimizer: opt as AnyOptimizer, accumulate: 4 }),
      new RegExp(
        `^RangeError: fit: accumulate 4 cannot apply to ${opt.rule.name}, which re-evaluates the loss inside its step \\(a closure over one batch\\); use accumulate 1$`,
      ),
    );
});
