/**
 * fit() with Schedule-Free (evaluated at the average x, trained at y), SAM (two gradient evaluations
 * per step through a closure) and Lookahead: evaluation never changes training, checkpoints keep
 * both weight sets and resume bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { SGD } from '../../src/optim/sgd.js';
import { ScheduleFreeAdamW, ScheduleFreeSGD } from '../../src/optim/schedule-free.js';
import { SAM } from '../../src/optim/sam.js';
import { Lookahead } from '../../src/optim/lookahead.js';
import { evaluate, fitRun, type FitOptions } from '../../src/train/trainer.js';
import { fitRunAsync } from '../../src/train/async.js';
import { resolveModel } from '../../src/train/spec.js';
import { updateBatchNorm } from '../../src/nn/batchnorm.js';
import { encodeCheckpoint, decodeCheckpoint, type Checkpoint } from '../../src/train/checkpoint.js';
import { getModel } from '../../src/train/models.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadEmbedded } from '../../src/data/node.js';
import type { AnyOptimizer } from '../../src/optim/optimizer.js';
import type { Module } from '../../src/nn/module.js';

const data = loadEmbedded();
const train = data.train.slice(0, 200);
const test_ = data.test.slice(0, 100);

function setup(seed: number, opt: (m: Module) => AnyOptimizer, o: { dropout?: number; test?: boolean } = {}): FitOptions {
  const rng = new Rng(seed);
  const model = getModel('mlp').build({
    rng: rng.fork('model'),
    inputShape: train.shape,
    classes: 10,
    ...(o.dropout ? { dropout: o.dropout } : {}),
  });
  return {
    model,
    optimizer: opt(model),
    epochs: 2,
    rng: rng.fork('train'),
    train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
    ...(o.test === false ? {} : { test: new DataLoader(test_, { batchSize: 50, flatten: true }) }),
  };
}

const bits = (m: Module) => m.namedParameters().map(([, p]) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength));

test('Schedule-Free AdamW in fit(): evaluated at the average, trained at y, and evaluating changes no bit of training', () => {
  const make = (m: Module) => new ScheduleFreeAdamW(m.namedParameters(), { lr: 0.01, warmupSteps: 3 });
  const a = setup(1, make);
  const ra = fitRun(a);
  const b = setup(1, make, { test: false });
  fitRun(b);
  for (const [i, w] of bits(a.model).entries())
    assert.ok(w.equals(bits(b.model)[i]), `parameter ${i}: a run that evaluates each epoch ends where one that never does ends`);
  const opt = a.optimizer as ScheduleFreeAdamW;
  assert.equal(opt.trainMode, false, 'fit ends in eval mode: the parameters hold x');
  const last = ra.records.at(-1)!;
  const now = evaluate(a.model, new DataLoader(test_, { batchSize: 50, flatten: true }));
  assert.equal(now.testLoss, last.testLoss, 'the last record was evaluated at the x the model now holds');
  const withOpt = evaluate(a.model, new DataLoader(test_, { batchSize: 50, flatten: true }), { optimizer: opt });
  assert.equal(withOpt.testLoss, last.testLoss, 'in eval mode, evaluate({ optimizer }) swaps nothing');
  opt.train();
  const atY = evaluate(a.model, new DataLoader(test_, { batchSize: 50, flatten: true }));
  const atX = evaluate(a.model, new DataLoader(test_, { batchSize: 50, flatten: true }), { optimizer: opt });
  assert.notEqual(atY.testLoss, atX.testLoss, 'y and x are different weights');
  assert.ok(
    Math.abs(atX.testLoss - last.testLoss!) < 1e-5,
    `evaluate({ optimizer }) in train mode evaluates x (${atX.testLoss} vs ${last.testLoss})`,
  );
});

type Saved = FitOptions & { saved: Checkpoint[] };
function withCheckpoints(o: FitOptions, everySteps: number): Saved {
  const saved: Checkpoint[] = [];
  const run = { ...o, checkpoint: { everySteps, save: (c: Checkpoint) => void saved.push(decodeCheckpoint(encodeCheckpoint(c))) } };
  return Object.defineProperty(run, 'saved', { value: saved, enumerable: false }) as Saved;
}

function resumesBitForBit(name: string, make: () => FitOptions, everySteps: number): Checkpoint[] {
  const full = withCheckpoints(make(), everySteps);
  const ref = fitRun(full);
  const picks = full.saved.filter((c) => c.step < 10);
  assert.ok(
    picks.some((c) => c.batch > 0),
    `${name}: a mid-epoch checkpoint is tested`,
  );
  for (const c of picks) {
    const again = make();
    const r = fitRun({ ...again, resume: c });
    for (const [i, w] of bits(again.model).entries())
      assert.ok(w.equals(bits(full.model)[i]), `${name}: resumed from step ${c.step}: parameter ${i} differs`);
    assert.deepEqual(
      r.records.map((e) => [e.trainLoss, e.testLoss, e.evals]),
      ref.records.map((e) => [e.trainLoss, e.testLoss, e.evals]),
      `${name}: records after resuming from step ${c.step}`,
    );
  }
  return full.saved;
}

test('Schedule-Free SGD: a checkpoint keeps y (model), z (optimizer state) and x (evalModel), and resumes bit for bit', () => {
  const saved = resumesBitForBit(
    'Schedule-Free SGD',
    () => setup(2, (m) => new ScheduleFreeSGD(m.namedParameters(), { lr: 0.5, momentum: 0.9 })),
    3,
  );
  const c = saved[1];
  assert.ok(c.evalModel, 'evalModel is kept');
  for (const [n, e] of Object.entries(c.model)) {
    const x = c.evalModel![n].data;
    const z = c.optimizer.state[n].z as number[];
    assert.notDeepEqual(Array.from(x), Array.from(e.data), `${n}: x differs from y`);
    // y = (1 − β)z + βx  ⇒  x = (y − (1 − β)z)/β, up to rounding
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - (e.data[i] - 0.1 * z[i]) / 0.9) < 1e-5, `${n}[${i}]: x, y and z agree`);
  }
});

test('SAM in fit(): two gradient evaluations per step (the batch pass is the first), records count them, dropout included', () => {
  const o = setup(3, (m) => new SAM(new SGD(m.namedParameters(), { lr: 0.05, momentum: 0.9 }), { rho: 0.05 }), { dropout: 0.2 });
  const r = fitRun(o);
  assert.deepEqual(
    r.records.map((e) => e.evals),
    [10, 20],
    '5 steps per epoch, 2 evaluations each',
  );
  assert.ok(r.records[1].trainLoss < r.records[0].trainLoss, 'it trains');
});

test('Lookahead over SAM over SGD with dropout, and ASAM, stopped mid-epoch, resume bit for bit', () => {
  resumesBitForBit(
    'Lookahead(SAM)',
    () =>
      setup(4, (m) => new Lookahead(new SAM(new SGD(m.namedParameters(), { lr: 0.05, momentum: 0.9 }), { rho: 0.05 }), { k: 3 }), {
        dropout: 0.2,
      }),
    2,
  );
  resumesBitForBit(
    'ASAM',
    () => setup(5, (m) => new SAM(new SGD(m.namedParameters(), { lr: 0.05 }), { rho: 0.5, adaptive: true, eta: 0.01 })),
    3,
  );
});

/** A Schedule-Free AdamW run of a flat model with BatchNorm (and dropout, so the refresh's masks matter). */
function bnSetup(o: { test?: boolean; batchNormData?: false } = {}): FitOptions {
  const rng = new Rng(6);
  const model = resolveModel('linear:24,batchnorm,relu,dropout:0.2,linear:16,batchnorm,relu,linear').build({
    rng: rng.fork('model'),
    inputShape: train.shape,
    classes: 10,
  });
  return {
    model,
    optimizer: new ScheduleFreeAdamW(model.namedParameters(), { lr: 0.02, warmupSteps: 2 }),
    epochs: 2,
    rng: rng.fork('train'),
    train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
    ...(o.test === false ? {} : { test: new DataLoader(test_, { batchSize: 50, flatten: true }) }),
    ...(o.batchNormData === false ? { batchNormData: false as const } : {}),
  };
}

const buffersOf = (m: Module) => Object.fromEntries(m.namedBuffers().map(([n, b]) => [n, Array.from(b.data)]));

test("Schedule-Free with BatchNorm in fit(): every evaluation, each checkpoint's evalModel and the model fit returns have the statistics recomputed at x; training is unchanged", () => {
  const saved: Checkpoint[] = [];
  const a = bnSetup();
  const ra = fitRun({ ...a, checkpoint: { save: (c) => void saved.push(decodeCheckpoint(encodeCheckpoint(c))) } });
  // the statistics of x by hand: x's parameters in a fresh model, update_bn over the training source's epoch 0
  const byHand = bnSetup().model;
  const trained = a.model.stateDict();
  byHand.loadStateDict({ ...byHand.stateDict(), ...Object.fromEntries(a.model.namedParameters().map(([n]) => [n, trained[n]])) });
  updateBatchNorm(byHand, a.train.epoch(0), { rng: a.rng.fork('update-bn') });
  assert.deepEqual(buffersOf(a.model), buffersOf(byHand), 'the model fit returns holds x and the statistics of x');
  const test = new DataLoader(test_, { batchSize: 50, flatten: true });
  assert.equal(evaluate(a.model, test).testLoss, ra.records.at(-1)!.testLoss, 'the last evaluation saw the model fit returns');
  // the run's last checkpoint keeps y with y's statistics (training state) and x with x's (evalModel)
  const last = saved.at(-1)!;
  for (const [n, b] of Object.entries(buffersOf(byHand))) {
    assert.deepEqual(Array.from(last.evalModel![n].data), b, `evalModel ${n}`);
    if (!n.endsWith('num_batches_tracked')) assert.notDeepEqual(Array.from(last.model[n].data), b, `${n}: y's statistics differ from x's`);
  }
  // without the refresh: y's statistics stay, and the evaluations differ
  const keep = bnSetup({ batchNormData: false });
  const rk = fitRun(keep);
  assert.notEqual(rk.records.at(-1)!.testLoss, ra.records.at(-1)!.testLoss, 'the refresh changes what is evaluated');
  assert.notDeepEqual(buffersOf(keep.model)['1.running_mean'], buffersOf(a.model)['1.running_mean']);
  // evaluating (with its refresh) changes no bit of training: a run without a test set ends on the same parameters
  const quiet = bnSetup({ test: false });
  fitRun(quiet);
  for (const [i, w] of bits(a.model).entries()) assert.ok(w.equals(bits(quiet.model)[i]), `parameter ${i}`);
  for (const [i, w] of bits(keep.model).entries()) assert.ok(w.equals(bits(quiet.model)[i]), `parameter ${i} (no refresh)`);
  // a run resumed from a mid-run checkpoint ends on the same records and statistics
  const again = bnSetup();
  const rr = fitRun({ ...again, resume: saved[0] });
  assert.deepEqual(
    rr.records.map((r) => r.testLoss),
    ra.records.map((r) => r.testLoss),
  );
  assert.deepEqual(buffersOf(again.model), buffersOf(a.model));
});

test('Schedule-Free with BatchNorm in fitAsync() on the host: the records and the model it returns equal fit()’s', async () => {
  const a = bnSetup();
  const ra = fitRun(a);
  const b = bnSetup();
  const rb = await fitRunAsync(b);
  assert.deepEqual(
    rb.records.map((r) => [r.trainLoss, r.testLoss, r.testAccuracy]),
    ra.records.map((r) => [r.trainLoss, r.testLoss, r.testAccuracy]),
  );
  assert.equal((b.optimizer as ScheduleFreeAdamW).trainMode, false, 'fitAsync ends in eval mode');
  for (const [i, w] of bits(a.model).entries()) assert.ok(w.equals(bits(b.model)[i]), `parameter ${i}`);
  assert.deepEqual(buffersOf(b.model), buffersOf(a.model));
});
