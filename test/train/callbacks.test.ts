/**
 * Gradient clipping and early stopping as fit() callbacks (src/train/callbacks.ts).
 *
 * Clipping: fit with clipGradNormCallback / clipGradValueCallback equals a hand-written PyTorch-style
 * loop (forward, backward, clip_grad_norm_, step) bit for bit; clip_grad_norm_ itself is checked
 * against torch.nn.utils in test/optim/golden.test.ts. A closure optimizer (SAM) has each of its
 * gradient evaluations clipped.
 *
 * Early stopping: Keras 3's EarlyStopping rule (keras/src/callbacks/early_stopping.py) re-expressed
 * as expected stop epochs for hand-made sequences of the monitored value (the baseline's included),
 * then a real run that stops, checkpoints the stop, restores the best epoch's weights, and resumes
 * to the same end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { SGD } from '../../src/optim/sgd.js';
import { SAM } from '../../src/optim/sam.js';
import { Newton } from '../../src/optim/newton.js';
import { ScheduleFreeSGD } from '../../src/optim/schedule-free.js';
import { clipGradNorm_, clipGradValue_ } from '../../src/optim/clip.js';
import { crossEntropy } from '../../src/autograd/cross-entropy.js';
import { fitRun, type Callback, type EpochRecord, type FitOptions, type TrainState } from '../../src/train/trainer.js';
import { clipGradNormCallback, clipGradValueCallback, earlyStopping } from '../../src/train/callbacks.js';
import type { Checkpoint } from '../../src/train/checkpoint.js';
import { getModel } from '../../src/train/models.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadEmbedded } from '../../src/data/node.js';
import type { Module } from '../../src/nn/module.js';
import { fuse } from '../../src/nn/fuse.js';
import type { AnyOptimizer } from '../../src/optim/optimizer.js';

const data = loadEmbedded();
const train = data.train.slice(0, 160);
const test_ = data.test.slice(0, 80);

function setup(seed: number, opt: (m: Module) => AnyOptimizer = (m) => new SGD(m.namedParameters(), { lr: 0.2, momentum: 0.9 })) {
  const rng = new Rng(seed);
  const model = getModel('mlp').build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10 });
  const o: FitOptions = {
    model,
    optimizer: opt(model),
    epochs: 2,
    rng: rng.fork('train'),
    train: new DataLoader(train, { batchSize: 32, shuffle: true, rng: rng.fork('data'), flatten: true }),
    test: new DataLoader(test_, { batchSize: 40, flatten: true }),
    now: () => 0,
  };
  return o;
}

/** A copy of every parameter's and buffer's bytes. */
const bits = (m: Module) =>
  m.namedState().map(([n, p]) => [n, Buffer.from(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength))] as const);

/** The PyTorch loop: for each batch, forward, backward, clip, step (no dropout in the mlp; fit's fused layers). */
function manualRun(o: FitOptions, clip: (ps: ReturnType<Module['parameters']>) => void): void {
  const net = fuse(o.model);
  for (let e = 0; e < o.epochs; e++)
    for (const batch of o.train.epoch(e)) {
      o.optimizer.zeroGrad({ setToNone: false });
      crossEntropy(net.forward(batch.x, { training: true }), batch.y).backward();
      clip(o.model.parameters());
      o.optimizer.step();
    }
}

test('clipGradNormCallback in fit equals forward, backward, clip_grad_norm_, step by hand, bit for bit (and clips: without it the weights differ)', () => {
  for (const [maxNorm, normType] of [
    [0.5, 2],
    [0.05, Infinity],
    [1, 1],
  ] as const) {
    const a = setup(3);
    fitRun({ ...a, callbacks: [clipGradNormCallback({ maxNorm, normType })] });
    const b = setup(3);
    manualRun(b, (ps) => clipGradNorm_(ps, maxNorm, normType));
    assert.deepEqual(bits(a.model), bits(b.model), `maxNorm ${maxNorm}, norm ${normType}`);
    const c = setup(3);
    fitRun(c);
    assert.notDeepEqual(bits(c.model), bits(a.model), `maxNorm ${maxNorm} must clip these gradients`);
  }
});

test('clipGradValueCallback in fit equals clip_grad_value_ by hand, bit for bit', () => {
  const a = setup(4);
  fitRun({ ...a, callbacks: [clipGradValueCallback({ clipValue: 0.01 })] });
  const b = setup(4);
  manualRun(b, (ps) => clipGradValue_(ps, 0.01));
  assert.deepEqual(bits(a.model), bits(b.model));
});

test('onGradients runs before every step and, for a closure optimizer (SAM), on each of its gradient evaluations', () => {
  const sgdCalls: number[] = [];
  const o = setup(5);
  fitRun({ ...o, callbacks: [{ onGradients: (s) => void sgdCalls.push(s.step) }] });
  assert.equal(sgdCalls.length, 2 * o.train.length, 'once per step');
  const samCalls: number[] = [];
  const p = setup(5, (m) => new SAM(new SGD(m.namedParameters(), { lr: 0.1 }), { rho: 0.05 }));
  fitRun({ ...p, callbacks: [{ onGradients: (s) => void samCalls.push(s.step) }] });
  assert.equal(samCalls.length, 2 * 2 * p.train.length, 'twice per SAM step');
  // the second evaluation's gradients are the ones clipped last: a clip hook that zeroes them freezes SAM
  const q = setup(6, (m) => new SAM(new SGD(m.namedParameters(), { lr: 0.1 }), { rho: 0.05 }));
  const before = bits(q.model);
  let calls = 0;
  const zeroSecond: Callback = {
    onGradients: (s) => {
      if (calls++ % 2 === 1) for (const g of s.optimizer.paramGroups.flatMap((x) => x.params)) g.grad?.data.fill(0);
    },
  };
  fitRun({ ...q, callbacks: [zeroSecond] });
  assert.deepEqual(bits(q.model), before, 'SAM steps with the second evaluation’s gradients');
});

test('Newton refuses a gradient-editing callback; the clipping options are checked', () => {
  const o = setup(7, (m) => new Newton(m.namedParameters(), { lr: 1, mode: 'hessianFree' }));
  assert.throws(
    () => fitRun({ ...o, fullBatch: true, callbacks: [clipGradNormCallback({ maxNorm: 1 })] }),
    /Newton differentiates the loss/,
  );
  assert.throws(() => clipGradNormCallback({ maxNorm: 0 }), /clipGradNormCallback: invalid maxNorm 0; expected a finite number > 0/);
  assert.throws(() => clipGradNormCallback({ maxNorm: 1, normType: -1 }), /invalid normType -1/);
  assert.throws(() => clipGradValueCallback({ clipValue: -1 }), /clipGradValueCallback: invalid clipValue -1/);
  assert.throws(() => clipGradNormCallback({ maxNorm: 1, max: 2 } as never), /clipGradNormCallback: unknown option "max"/);
});

/** Drives earlyStopping's onEpochEnd with the values given, as fit would; returns the epoch it stopped after (0: none). */
function drive(values: number[], o: Parameters<typeof earlyStopping>[0], key = 'testLoss'): number {
  const cb = earlyStopping(o);
  const s = { epoch: 0, epochs: values.length, stop: false, model: { namedState: () => [] }, optimizer: {} } as unknown as TrainState;
  cb.onTrainBegin?.(s);
  for (const v of values) {
    s.epoch++;
    cb.onEpochEnd?.(s, { epoch: s.epoch, trainLoss: 1, terms: {}, lr: 1, seconds: 0, samplesPerSec: 0, [key]: v });
    if (s.stop) {
      assert.equal(cb.stoppedEpoch, s.epoch);
      return s.epoch;
    }
  }
  assert.equal(cb.stoppedEpoch, 0);
  return 0;
}

test("earlyStopping follows Keras 3's rule: patience counts epochs without improvement, minDelta, mode, and never after the first or the last epoch", () => {
  // wait: 0, 0 (improves), 1, 2 → stops after epoch 4 with patience 2
  assert.equal(drive([1, 0.9, 0.95, 0.92, 0.91], { patience: 2 }), 4);
  // patience 0 and 1 both stop at the first epoch that does not improve
  assert.equal(drive([1, 0.9, 0.95, 0.8], { patience: 0 }), 3);
  assert.equal(drive([1, 0.9, 0.95, 0.8], { patience: 1 }), 3);
  // an improvement resets the wait
  assert.equal(drive([1, 1.1, 0.9, 1.1, 1.2, 1.3], { patience: 2 }), 5);
  // minDelta: 0.97 is below 1 by less than 0.05, so it does not count; 0.9 does
  assert.equal(drive([1, 0.97, 0.9], { patience: 1, minDelta: 0.05 }), 2);
  assert.equal(drive([1, 0.94, 0.9, 0.1], { patience: 1, minDelta: 0.05 }), 3);
  // 'auto' watches an accuracy upward
  assert.equal(drive([0.5, 0.6, 0.55, 0.9], { monitor: 'testAccuracy', patience: 0 }, 'testAccuracy'), 3);
  assert.equal(drive([0.5, 0.6, 0.55], { monitor: 'testAccuracy', mode: 'min', patience: 0 }, 'testAccuracy'), 2);
  // the first epoch never stops the run, even when it is NaN (Keras' `epoch > 0`); NaN never improves
  assert.equal(drive([NaN, NaN, NaN], { patience: 0 }), 2);
  // startFromEpoch: the first two epochs are not watched
  assert.equal(drive([1, 2, 3, 4, 5], { patience: 0, startFromEpoch: 2 }), 4);
  assert.equal(drive([3, 2, 1], { patience: 0 }), 0);
  // the last epoch is not "stopped early": the run ends there anyway
  assert.equal(drive([1, 0.9, 0.95], { patience: 0 }), 0);
});

test("earlyStopping's baseline follows Keras 3: only an epoch that beats the best and the baseline restarts the wait", () => {
  // Keras: wait += 1; an improvement on the best becomes the best, and resets the wait only when it
  // also beats the baseline; an epoch without improvement stops once wait ≥ patience.
  // Each epoch improves on the best but none beats 0.5: waits 1, 2, 3 (improving epochs never stop),
  // then 0.85 does not improve with wait 4 ≥ 2 → stops after epoch 4
  assert.equal(drive([1, 0.9, 0.8, 0.85, 0.7], { patience: 2, baseline: 0.5 }), 4);
  // without the baseline the improvements reset the wait: epoch 4 waits 1 < 2, epoch 5 improves
  assert.equal(drive([1, 0.9, 0.8, 0.85, 0.7], { patience: 2 }), 0);
  // epoch 1 is no reset either: waits 1, 2 → stops after epoch 2 (without the baseline: waits 0, 1, 2 → 3)
  assert.equal(drive([1, 1.1, 1.2, 1.3], { patience: 2, baseline: 0.5 }), 2);
  assert.equal(drive([1, 1.1, 1.2, 1.3], { patience: 2 }), 3);
  // a baseline beaten: the ordinary rule (waits 0, 1, 2 → stops after epoch 3)
  assert.equal(drive([0.4, 0.45, 0.46, 0.3], { patience: 2, baseline: 0.5 }), 3);
  // minDelta applies to the baseline: 0.48 is below 0.5 by less than 0.05, so waits 1, 2, 3 → stops after 3;
  // without minDelta 0.48 beats it: waits 1, 0, 1, 2 → stops after 4
  assert.equal(drive([1, 0.48, 0.6, 0.7, 0.8], { patience: 2, baseline: 0.5, minDelta: 0.05 }), 3);
  assert.equal(drive([1, 0.48, 0.6, 0.7, 0.8], { patience: 2, baseline: 0.5 }), 4);
  // 'max' mode: accuracies must rise above 0.9: waits 1, 2, 3 → stops after epoch 3;
  // without the baseline: waits 0, 0, 1, 0, 1, 2 → stops after epoch 6
  const acc = [0.5, 0.6, 0.55, 0.95, 0.9, 0.9, 0.9];
  assert.equal(drive(acc, { monitor: 'testAccuracy', patience: 2, baseline: 0.9 }, 'testAccuracy'), 3);
  assert.equal(drive(acc, { monitor: 'testAccuracy', patience: 2 }, 'testAccuracy'), 6);
  // startFromEpoch: epochs 1 and 2 are not watched; then waits 1 (0.8 improves, short of 0.5), 2 → stops after epoch 4
  assert.equal(drive([0.1, 0.2, 0.8, 0.9, 0.3], { patience: 1, baseline: 0.5, startFromEpoch: 2 }), 4);
});

test('earlyStopping names a missing monitored field and refuses bad options and restoreBest with Schedule-Free', () => {
  const o = setup(8);
  assert.throws(
    () => fitRun({ ...o, test: undefined, callbacks: [earlyStopping()] }),
    /earlyStopping: the epoch record has no number "testLoss" to monitor \(it has epoch, trainLoss, lr, seconds, samplesPerSec\); give fit a test source/,
  );
  assert.throws(() => earlyStopping({ patience: 1.5 }), /earlyStopping: invalid patience 1.5; expected an integer ≥ 0/);
  assert.throws(() => earlyStopping({ minDelta: -1 }), /invalid minDelta -1/);
  assert.throws(() => earlyStopping({ mode: 'down' as never }), /earlyStopping/);
  assert.throws(() => earlyStopping({ baseline: NaN }), /^RangeError: earlyStopping: invalid baseline NaN; expected a finite number$/);
  assert.throws(() => earlyStopping({ baseline: -Infinity }), /earlyStopping: invalid baseline -Infinity; expected a finite number/);
  assert.throws(() => earlyStopping({ baseline: '0.5' as never }), /^TypeError: earlyStopping: invalid baseline "0.5"; expected a number$/);
  const sf = setup(8, (m) => new ScheduleFreeSGD(m.namedParameters(), { lr: 0.1 }));
  assert.throws(() => fitRun({ ...sf, callbacks: [earlyStopping({ restoreBest: true })] }), /restoreBest cannot be used with/);
});

/** A monitored figure scripted per epoch (set before earlyStopping reads it), and each epoch's weights. */
function scripted(values: number[], weights: Map<number, ReturnType<typeof bits>>): Callback {
  return {
    onEpochEnd: (s, r) => {
      r.scripted = values[s.epoch - 1];
      weights.set(s.epoch, bits(s.model));
    },
  };
}

test('a run stopped early ends with a checkpoint, restores the best epoch’s weights, and a resumed run stops and restores the same', () => {
  const values = [0.9, 0.5, 0.7, 0.6, 0.8, 0.1];
  const weights = new Map<number, ReturnType<typeof bits>>();
  const saved: Checkpoint[] = [];
  const o = setup(9);
  const r = fitRun({
    ...o,
    epochs: 6,
    callbacks: [scripted(values, weights), earlyStopping({ monitor: 'scripted', patience: 2, restoreBest: true })],
    checkpoint: { save: (c) => void saved.push(c), everyEpochs: 3 },
  });
  // epoch 2 is the best; 3 and 4 do not improve → stops after 4
  assert.deepEqual(
    r.records.map((x: EpochRecord) => x.epoch),
    [1, 2, 3, 4],
  );
  assert.equal(r.records[3].stoppedEarly, true);
  assert.equal(r.records[3].restoredEpoch, 2);
  assert.deepEqual(bits(o.model), weights.get(2), 'the weights of epoch 2 are put back');
  assert.notDeepEqual(weights.get(4), weights.get(2));
  assert.deepEqual(
    saved.map((c) => c.epoch),
    [3, 4],
    'a checkpoint every 3 epochs, and one at the stop',
  );

  // resumed from the checkpoint after epoch 3: the state (best, wait, best weights) continues
  const w2 = new Map<number, ReturnType<typeof bits>>();
  const p = setup(9);
  const r2 = fitRun({
    ...p,
    epochs: 6,
    resume: saved[0],
    callbacks: [scripted(values, w2), earlyStopping({ monitor: 'scripted', patience: 2, restoreBest: true })],
  });
  assert.equal(r2.records.length, 4);
  assert.equal(r2.records[3].restoredEpoch, 2);
  assert.deepEqual(bits(p.model), weights.get(2));

  // without restoreBest the last epoch's weights stay
  const q = setup(9);
  const w3 = new Map<number, ReturnType<typeof bits>>();
  fitRun({ ...q, epochs: 6, callbacks: [scripted(values, w3), earlyStopping({ monitor: 'scripted', patience: 2 })] });
  assert.deepEqual(bits(q.model), w3.get(4));
});

test('restoreBest puts the best weights back when the epochs run out too (Keras 3), and a run that improves to the end keeps its own', () => {
  const weights = new Map<number, ReturnType<typeof bits>>();
  const o = setup(10);
  const r = fitRun({
    ...o,
    epochs: 3,
    callbacks: [scripted([0.5, 0.6, 0.7], weights), earlyStopping({ monitor: 'scripted', patience: 5, restoreBest: true })],
  });
  assert.equal(r.records.length, 3);
  assert.equal(r.records[2].stoppedEarly, undefined);
  assert.equal(r.records[2].restoredEpoch, 1);
  assert.deepEqual(bits(o.model), weights.get(1));
  const p = setup(10);
  const w2 = new Map<number, ReturnType<typeof bits>>();
  const r2 = fitRun({
    ...p,
    epochs: 3,
    callbacks: [scripted([0.7, 0.6, 0.5], w2), earlyStopping({ monitor: 'scripted', patience: 0, restoreBest: true })],
  });
  assert.equal(r2.records[2].restoredEpoch, 3);
  assert.deepEqual(bits(p.model), w2.get(3));
});

test('early stopping in full-batch training ends the steps there', () => {
  const o = setup(11, (m) => new SGD(m.namedParameters(), { lr: 0.05 }));
  const r = fitRun({
    ...o,
    fullBatch: true,
    epochs: 8,
    callbacks: [
      { onEpochEnd: (s, rec) => void (rec.scripted = [3, 2, 2.5, 2.4, 1][s.epoch - 1] ?? 0) },
      earlyStopping({ monitor: 'scripted', patience: 1 }),
    ],
  });
  assert.equal(r.records.length, 3);
});
