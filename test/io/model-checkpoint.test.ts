/**
 * modelCheckpoint (src/io/model-checkpoint.ts), Keras 3's ModelCheckpoint: the rule (Keras'
 * monitor_callback.py re-expressed as the epochs saved for hand-made sequences of the monitored
 * value: the first number saves, a NaN never improves, mode and minDelta, initialValueThreshold;
 * saveFreq's steps and their training losses, in fit's order and fitAsync's late one), then real runs whose
 * files are loaded back and compared, bit for bit, with the weights of the epoch they were written
 * at (and with earlyStopping's restoreBest), a resumed run that continues the best instead of
 * restarting it, Schedule-Free's evaluated weights, and the errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/tensor/rng.js';
import { SGD } from '../../src/optim/sgd.js';
import { ScheduleFreeSGD } from '../../src/optim/schedule-free.js';
import { fitRun, type Callback, type FitOptions, type TrainState } from '../../src/train/trainer.js';
import { fitRunAsync } from '../../src/train/async.js';
import { earlyStopping } from '../../src/train/callbacks.js';
import type { Checkpoint } from '../../src/train/checkpoint.js';
import { resolveModel } from '../../src/train/spec.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadEmbedded } from '../../src/data/node.js';
import type { Module, StateDict } from '../../src/nn/module.js';
import type { AnyOptimizer } from '../../src/optim/optimizer.js';
import { modelCheckpoint, type ModelCheckpointOptions } from '../../src/io/model-checkpoint.js';
import { loadSafetensorsFile } from '../../src/io/safetensors-node.js';
import { FileError } from '../../src/io/files.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-model-checkpoint-');
const data = loadEmbedded();
const train = data.train.slice(0, 160);
const test_ = data.test.slice(0, 80);

function setup(
  seed: number,
  opt: (m: Module) => AnyOptimizer = (m) => new SGD(m.namedParameters(), { lr: 0.2, momentum: 0.9 }),
  model = 'mlp',
): FitOptions {
  const rng = new Rng(seed);
  const m = resolveModel(model).build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10 });
  return {
    model: m,
    optimizer: opt(m),
    epochs: 2,
    rng: rng.fork('train'),
    train: new DataLoader(train, { batchSize: 32, shuffle: true, rng: rng.fork('data'), flatten: true }),
    test: new DataLoader(test_, { batchSize: 40, flatten: true }),
    now: () => 0,
  };
}

/** Each parameter's and buffer's bytes, by name. */
const bits = (m: Module) =>
  m.namedState().map(([n, p]) => [n, Buffer.from(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength))] as const);
const stateBits = (sd: NonNullable<Checkpoint['evalModel']>) =>
  Object.entries(sd).map(([n, e]) => [n, Buffer.from(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength))] as const);

/** A fresh model of `o`'s architecture holding the file's weights. */
function loaded(path: string, seed: number, model = 'mlp'): Module {
  const m = resolveModel(model).build({ rng: new Rng(seed + 1000), inputShape: train.shape, classes: 10 });
  loadSafetensorsFile(path, m);
  return m;
}

/** Drives the callback's onEpochEnd with the values given, as fit would; returns the epochs it wrote. */
function drive(values: number[], o: Omit<ModelCheckpointOptions, 'path' | 'write'>, key = 'testLoss'): number[] {
  const wrote: number[] = [];
  const cb = modelCheckpoint({
    ...o,
    monitor: o.monitor ?? key,
    path: join(dir, 'drive-{epoch}'),
    write: (p) => void wrote.push(Number(p.split('-').pop())),
  });
  const s = { epoch: 0, epochs: values.length, stop: false, model: { namedState: () => [] }, optimizer: {} } as unknown as TrainState;
  cb.onTrainBegin?.(s);
  for (const v of values) {
    s.epoch++;
    const record = { epoch: s.epoch, trainLoss: 1, terms: {}, lr: 1, seconds: 0, samplesPerSec: 0, [key]: v };
    cb.onEpochEnd?.(s, record);
    // savedBest marks the epochs saved as the best (not every epoch of saveBestOnly false)
    assert.equal(record.savedBest === true, o.saveBestOnly !== false && wrote[wrote.length - 1] === s.epoch, `epoch ${s.epoch}`);
  }
  return wrote;
}

test("modelCheckpoint follows Keras 3's rule: the first number saves, then each improvement; mode, minDelta, NaN", () => {
  assert.deepEqual(drive([0.9, 0.5, 0.7, 0.6, 0.4, 0.45], {}), [1, 2, 5]);
  // equal is not better
  assert.deepEqual(drive([1, 1, 0.5], {}), [1, 3]);
  // 'auto' watches a name holding "acc" upward; mode overrides it
  assert.deepEqual(drive([0.5, 0.6, 0.55, 0.9], {}, 'testAccuracy'), [1, 2, 4]);
  assert.deepEqual(drive([0.5, 0.6, 0.55, 0.9], { mode: 'min' }, 'testAccuracy'), [1]);
  assert.deepEqual(drive([2, 1, 2.5, 3], { mode: 'max' }), [1, 3, 4]);
  // minDelta: 0.97 is below 1 by less than 0.05, so it does not count; 0.9 does, 0.86 not
  assert.deepEqual(drive([1, 0.97, 0.9, 0.86], { minDelta: 0.05 }), [1, 3]);
  // a NaN never improves, the first epoch's included
  assert.deepEqual(drive([NaN, 1, NaN, 0.5], {}), [2, 4]);
  // saveBestOnly false: every epoch, whatever the figure
  assert.deepEqual(drive([1, 2, 3], { saveBestOnly: false }), [1, 2, 3]);
});

test('initialValueThreshold is where Keras 3 starts the best: only a figure beating it is saved', () => {
  // best 0.55: 0.9 no, 0.5 yes, 0.7 and 0.6 no, 0.4 yes, 0.45 no
  assert.deepEqual(drive([0.9, 0.5, 0.7, 0.6, 0.4, 0.45], { initialValueThreshold: 0.55 }), [2, 5]);
  // never beaten: nothing written
  assert.deepEqual(drive([0.9, 0.5, 0.7], { initialValueThreshold: 0.3 }), []);
  // equal is not better
  assert.deepEqual(drive([0.5, 0.4], { initialValueThreshold: 0.5 }), [2]);
  // 'max' (an accuracy): above 0.58
  assert.deepEqual(drive([0.5, 0.6, 0.55, 0.9], { initialValueThreshold: 0.58 }, 'testAccuracy'), [2, 4]);
  // minDelta against the threshold too: 0.5 + 0.05 ≥ 0.52 no, 0.45 + 0.05 < 0.52 yes, 0.4 + 0.05 < 0.45 no
  assert.deepEqual(drive([0.5, 0.45, 0.4], { initialValueThreshold: 0.52, minDelta: 0.05 }), [2]);
  const cb = modelCheckpoint({ path: join(dir, 't.safetensors'), initialValueThreshold: 0.25 });
  assert.equal(cb.best, 0.25);
});

/**
 * Drives onUpdate and onStepEnd as fit does (or, `late`, as fitAsync does: a step's loss arrives
 * after the next step's update); `skipped` steps are counted but neither updated nor ended, as
 * onNonFinite 'skip' leaves them. Returns the steps written.
 */
function driveSteps(losses: number[], o: Omit<ModelCheckpointOptions, 'path' | 'write'>, late = false, skipped: number[] = []): number[] {
  const wrote: number[] = [];
  const cb = modelCheckpoint({
    monitor: 'trainLoss',
    ...o,
    path: join(dir, 'step-{step}'),
    write: (p) => void wrote.push(Number(p.split('-').pop())),
  });
  const s = { epoch: 1, epochs: 1, step: 0, stop: false, model: { namedState: () => [] }, optimizer: {} } as unknown as TrainState;
  cb.onTrainBegin?.(s);
  const waiting: number[] = [];
  for (const loss of losses) {
    s.step++;
    if (skipped.includes(s.step)) continue;
    cb.onUpdate?.(s);
    waiting.push(loss);
    while (waiting.length > (late ? 1 : 0)) cb.onStepEnd?.(s, waiting.shift()!);
  }
  for (const loss of waiting) cb.onStepEnd?.(s, loss);
  return wrote;
}

test('saveFreq N writes at every N-th optimizer step, judged by that step’s training loss', () => {
  const losses = [0.9, 0.8, 0.85, 0.95, 0.75, 0.6, 0.65, 0.7];
  // steps 2, 4, 6, 8 are looked at: 0.8 saves, 0.95 no, 0.6 saves, 0.7 no
  assert.deepEqual(driveSteps(losses, { saveFreq: 2 }), [2, 6]);
  assert.deepEqual(driveSteps(losses, { saveFreq: 2 }, true), [2, 6], "fitAsync's late losses pair with their own steps");
  // with a threshold 0.7: only step 6's 0.6
  assert.deepEqual(driveSteps(losses, { saveFreq: 2, initialValueThreshold: 0.7 }), [6]);
  // saveBestOnly false: every third step, whatever its loss
  assert.deepEqual(driveSteps(losses, { saveFreq: 3, saveBestOnly: false }), [3, 6]);
  assert.deepEqual(driveSteps(losses, { saveFreq: 1, saveBestOnly: false }, true), [1, 2, 3, 4, 5, 6, 7, 8]);
  // a skipped step writes nothing (step 6, whose loss 0.6 would have saved), and the losses after stay paired:
  // step 8's 0.7 beats step 2's 0.8
  assert.deepEqual(driveSteps(losses, { saveFreq: 2 }, true, [6]), [2, 8]);
  // at epoch ends nothing is written with saveFreq N
  assert.deepEqual(driveSteps([], { saveFreq: 2 }), []);
});

test('saveFreq: fit and fitAsync write the weights of each N-th step, named by {step}; a resumed run keeps the best', async () => {
  const sub = join(dir, 'steps');
  mkdirSync(sub);
  // 160 samples in batches of 32: 5 steps an epoch, 10 in 2 epochs
  const after = new Map<number, ReturnType<typeof bits>>();
  const watch: Callback = { onUpdate: (s) => void after.set(s.step, bits(s.model)) };
  const o = setup(7);
  const each = modelCheckpoint({ path: join(sub, 's{step:02d}.safetensors'), saveFreq: 3, saveBestOnly: false });
  fitRun({ ...o, callbacks: [watch, each] });
  assert.deepEqual(readdirSync(sub).sort(), ['s03.safetensors', 's06.safetensors', 's09.safetensors']);
  for (const k of [3, 6, 9])
    assert.deepEqual(bits(loaded(join(sub, `s${String(k).padStart(2, '0')}.safetensors`), 7)), after.get(k), `step ${k}`);
  assert.equal(each.lastPath, join(sub, 's09.safetensors'));

  // the best training loss among steps 2, 4, …, 10, in fit and in fitAsync (on the host: its losses arrive a step late)
  let losses: number[] = [];
  const steps: Callback = { onStepEnd: (_s, loss) => void losses.push(loss) };
  const best = modelCheckpoint({ path: join(sub, 'best.safetensors'), saveFreq: 2, monitor: 'trainLoss' });
  fitRun({ ...setup(7), callbacks: [steps, best] });
  const even = losses.map((l, i) => [i + 1, l] as const).filter(([k]) => k % 2 === 0);
  const [bestStep, bestLoss] = even.reduce((a, b) => (b[1] < a[1] ? b : a));
  assert.equal(best.best, bestLoss);
  assert.equal(best.bestEpoch, Math.ceil(bestStep / 5));
  assert.equal(best.bestStep, bestStep);
  assert.deepEqual(bits(loaded(join(sub, 'best.safetensors'), 7)), after.get(bestStep), `step ${bestStep}`);
  losses = [];
  const asyncBest = modelCheckpoint({ path: join(sub, 'async.safetensors'), saveFreq: 2, monitor: 'trainLoss' });
  await fitRunAsync({ ...setup(7), callbacks: [steps, asyncBest] });
  assert.equal(asyncBest.best, bestLoss);
  assert.deepEqual(bits(loaded(join(sub, 'async.safetensors'), 7)), after.get(bestStep), 'fitAsync: the same step’s weights');

  // resumed from the checkpoint after epoch 1, the run writes what the uninterrupted one wrote after it
  const saved: Checkpoint[] = [];
  const full: number[] = [];
  const written = (into: number[]) => (p: string) => void into.push(Number(/s(\d+)$/.exec(p)![1]));
  fitRun({
    ...setup(7),
    epochs: 3,
    callbacks: [modelCheckpoint({ path: join(sub, 'r-s{step}'), saveFreq: 2, monitor: 'trainLoss', write: written(full) })],
    checkpoint: { save: (c) => void saved.push(c) },
  });
  const resumed: number[] = [];
  fitRun({
    ...setup(7),
    epochs: 3,
    resume: saved[0],
    callbacks: [modelCheckpoint({ path: join(sub, 'r-s{step}'), saveFreq: 2, monitor: 'trainLoss', write: written(resumed) })],
  });
  assert.deepEqual(
    resumed,
    full.filter((k) => k > 5),
  );
});

/** The monitored figure scripted per epoch (set before modelCheckpoint reads it), and each epoch's weights. */
function scripted(values: number[], weights: Map<number, ReturnType<typeof bits>>): Callback {
  return {
    onEpochEnd: (s, r) => {
      r.scripted = values[s.epoch - 1];
      weights.set(s.epoch, bits(s.model));
    },
  };
}

test('a run writes the improving epochs only, each file holding the weights of its epoch, and the plain path ends with the best', () => {
  const values = [0.9, 0.5, 0.7, 0.6, 0.4, 0.45];
  const weights = new Map<number, ReturnType<typeof bits>>();
  const sub = join(dir, 'run');
  mkdirSync(sub);
  const o = setup(1);
  const each = modelCheckpoint({ monitor: 'scripted', path: join(sub, 'e{epoch:02d}.safetensors') });
  const last = modelCheckpoint({ monitor: 'scripted', path: join(sub, 'best.safetensors') });
  const r = fitRun({ ...o, epochs: 6, callbacks: [scripted(values, weights), each, last] });
  assert.deepEqual(
    r.records.filter((x) => x.savedBest === true).map((x) => x.epoch),
    [1, 2, 5],
  );
  assert.deepEqual(readdirSync(sub).sort(), ['best.safetensors', 'e01.safetensors', 'e02.safetensors', 'e05.safetensors']);
  for (const e of [1, 2, 5]) assert.deepEqual(bits(loaded(join(sub, `e${String(e).padStart(2, '0')}.safetensors`), 1)), weights.get(e));
  assert.deepEqual(bits(loaded(join(sub, 'best.safetensors'), 1)), weights.get(5));
  assert.notDeepEqual(weights.get(6), weights.get(5), 'the last epoch, not saved, has other weights');
  assert.equal(last.best, 0.4);
  assert.equal(last.bestEpoch, 5);
  assert.equal(last.bestStep, 25, "epoch 5's last step (5 steps an epoch)");
  assert.equal(last.lastPath, join(sub, 'best.safetensors'));
  assert.equal(each.lastPath, join(sub, 'e05.safetensors'));
});

test('on the test loss the file equals the weights earlyStopping(restoreBest) puts back, and metadata reaches the header', () => {
  // lr 0.5 with momentum overshoots on this subset: the test loss rises after some epochs
  const o = setup(2, (m) => new SGD(m.namedParameters(), { lr: 0.5, momentum: 0.9 }));
  const path = join(dir, 'loss.safetensors');
  const cb = modelCheckpoint({ path, metadata: { note: 'best test loss' } });
  const r = fitRun({ ...o, epochs: 8, callbacks: [cb, earlyStopping({ patience: 100, restoreBest: true })] });
  let best = Infinity;
  const improving = r.records.filter((x) => (x.testLoss as number) < best && ((best = x.testLoss as number), true)).map((x) => x.epoch);
  assert.deepEqual(
    r.records.filter((x) => x.savedBest === true).map((x) => x.epoch),
    improving,
  );
  assert.ok(improving.length < r.records.length, `some epoch does not improve (${improving.join(', ')} of ${r.records.length})`);
  assert.equal(r.records[r.records.length - 1].restoredEpoch, cb.bestEpoch);
  assert.equal(cb.best, best);
  const m = resolveModel('mlp').build({ rng: new Rng(7), inputShape: train.shape, classes: 10 });
  const meta = loadSafetensorsFile(path, m);
  assert.deepEqual(bits(m), bits(o.model), 'the file holds the restored best weights');
  assert.equal(meta.note, 'best test loss');
  assert.equal(meta.format, 'pt');
});

test('a resumed run continues the best so far: the epochs that do not beat it are not saved again', () => {
  const values = [0.5, 0.9, 0.7, 0.4];
  const saved: Checkpoint[] = [];
  const wrote =
    (into: number[]): ModelCheckpointOptions['write'] =>
    (p) =>
      void into.push(Number(/r-e(\d+)$/.exec(p)![1]));
  const full: number[] = [];
  const o = setup(3);
  fitRun({
    ...o,
    epochs: 4,
    callbacks: [scripted(values, new Map()), modelCheckpoint({ monitor: 'scripted', path: join(dir, 'r-e{epoch}'), write: wrote(full) })],
    checkpoint: { save: (c) => void saved.push(c) },
  });
  assert.deepEqual(full, [1, 4]);
  const resumed: number[] = [];
  const cb = modelCheckpoint({ monitor: 'scripted', path: join(dir, 'r-e{epoch}'), write: wrote(resumed) });
  const p = setup(3);
  const r = fitRun({ ...p, epochs: 4, resume: saved[1], callbacks: [scripted(values, new Map()), cb] });
  assert.deepEqual(resumed, [4], 'epoch 3 (0.7) does not beat epoch 1 (0.5): the best was kept in the checkpoint');
  assert.deepEqual(
    r.records.map((x) => [x.epoch, x.savedBest]),
    [
      [1, true],
      [2, undefined],
      [3, undefined],
      [4, true],
    ],
  );
  assert.equal(cb.bestEpoch, 4);
  assert.equal(cb.bestStep, 20);
  // the state under its key, as the checkpoint keeps it
  assert.deepEqual(saved[1].callbacks[`modelCheckpoint:${join(dir, 'r-e{epoch}')}`], {
    best: 0.5,
    bestEpoch: 1,
    bestStep: 5,
    lastPath: join(dir, 'r-e1'),
  });
  // a state saved without bestStep reads as step 0
  const older = modelCheckpoint({ monitor: 'scripted', path: join(dir, 'r-e{epoch}'), write: () => {} });
  older.loadState!({ best: 0.5, bestEpoch: 1, lastPath: join(dir, 'r-e1') });
  assert.deepEqual([older.best, older.bestEpoch, older.bestStep], [0.5, 1, 0]);
});

test('Schedule-Free: the file holds the weights evaluation used (its average, BatchNorm statistics recomputed there), not the trained ones', () => {
  const spec = 'linear:32,batchnorm,relu,linear';
  const saved: Checkpoint[] = [];
  const o = setup(4, (m) => new ScheduleFreeSGD(m.namedParameters(), { lr: 0.1, momentum: 0.9 }), spec);
  const trained = new Map<number, ReturnType<typeof bits>>();
  fitRun({
    ...o,
    epochs: 2,
    callbacks: [
      { onEpochEnd: (s) => void trained.set(s.epoch, bits(s.model)) },
      modelCheckpoint({ path: join(dir, 'sf-{epoch}.safetensors'), saveBestOnly: false }),
    ],
    checkpoint: { save: (c) => void saved.push(c) },
  });
  for (const e of [1, 2]) {
    const file = bits(loaded(join(dir, `sf-${e}.safetensors`), 4, spec));
    assert.deepEqual(file, stateBits(saved[e - 1].evalModel!), `epoch ${e}: the checkpoint's evaluated weights`);
    assert.notDeepEqual(file, trained.get(e), `epoch ${e}: not the trained weights y`);
  }
  // fit ends in eval mode: the model then holds what the last epoch's file holds (what --save writes)
  assert.deepEqual(bits(loaded(join(dir, 'sf-2.safetensors'), 4, spec)), bits(o.model));
});

test('modelCheckpoint names a missing monitored field, refuses bad options, and an unwritable path before the first epoch', () => {
  const o = setup(5);
  assert.throws(
    () => fitRun({ ...o, test: undefined, callbacks: [modelCheckpoint({ path: join(dir, 'x.safetensors') })] }),
    /modelCheckpoint: the epoch record has no number "testLoss" to monitor \(it has epoch, trainLoss, lr, seconds, samplesPerSec\); give fit a test source/,
  );
  // saveBestOnly false reads no field: a run without a test source writes every epoch
  const p = setup(5);
  fitRun({ ...p, test: undefined, callbacks: [modelCheckpoint({ path: join(dir, 'nt-{epoch}.safetensors'), saveBestOnly: false })] });
  assert.ok(existsSync(join(dir, 'nt-1.safetensors')) && existsSync(join(dir, 'nt-2.safetensors')));

  assert.throws(() => modelCheckpoint({ path: join(dir, 'best.json') }), /modelCheckpoint: path ".*best\.json" must end in \.safetensors/);
  assert.throws(
    () => modelCheckpoint({ path: 'b-{batch}.safetensors' }),
    /\{batch\} is not a placeholder; expected \{epoch\}, \{step\}, or \{epoch:0Nd\}/,
  );
  assert.throws(
    () => modelCheckpoint({ path: 'a.safetensors', initialValueThreshold: NaN }),
    /^RangeError: modelCheckpoint: invalid initialValueThreshold NaN; expected a finite number$/,
  );
  assert.throws(
    () => modelCheckpoint({ path: 'a.safetensors', initialValueThreshold: '0.5' as never }),
    /^TypeError: modelCheckpoint: invalid initialValueThreshold "0.5"; expected a number$/,
  );
  assert.throws(
    () => modelCheckpoint({ path: 'a.safetensors', initialValueThreshold: 0.5, saveBestOnly: false }),
    /modelCheckpoint: initialValueThreshold 0.5 is where the best starts, and saveBestOnly false writes every time/,
  );
  for (const bad of [0, 1.5, -2, Infinity])
    assert.throws(
      () => modelCheckpoint({ path: 'a.safetensors', saveFreq: bad, saveBestOnly: false }),
      new RegExp(`^RangeError: modelCheckpoint: invalid saveFreq ${bad}; expected 'epoch' or an integer ≥ 1$`),
    );
  assert.throws(
    () => modelCheckpoint({ path: 'a.safetensors', saveFreq: 'batch' as never }),
    /^TypeError: modelCheckpoint: invalid saveFreq "batch"; expected 'epoch' or an integer ≥ 1$/,
  );
  assert.throws(
    () => modelCheckpoint({ path: 'a.safetensors', saveFreq: 100 }),
    /modelCheckpoint: saveFreq 100 with saveBestOnly compares a figure every 100 steps, and a step has only its training loss: expected monitor 'trainLoss', got "testLoss"/,
  );
  assert.throws(() => modelCheckpoint({ path: 'b-{epoch:2d}.safetensors' }), /\{epoch:2d\} is not a placeholder/);
  assert.throws(() => modelCheckpoint({ path: 'b-}.safetensors' }), /has a lone "\}"; write \{\{ or \}\}/);
  assert.throws(() => modelCheckpoint({ path: '' }), /modelCheckpoint: path is empty/);
  assert.throws(() => modelCheckpoint({} as never), /modelCheckpoint: missing option "path"/);
  assert.throws(() => modelCheckpoint({ path: 'a.safetensors', minDelta: -1 }), /modelCheckpoint: invalid minDelta -1/);
  assert.throws(() => modelCheckpoint({ path: 'a.safetensors', mode: 'down' as never }), /modelCheckpoint: invalid mode "down"/);
  assert.throws(() => modelCheckpoint({ path: 'a', write: () => {}, metadata: {} }), /metadata is for the safetensors file/);
  // braces doubled are literal
  const braces: string[] = [];
  const cb = modelCheckpoint({ path: join(dir, '{{a}}-{epoch:03d}'), write: (f) => void braces.push(f), saveBestOnly: false });
  fitRun({ ...setup(5), epochs: 1, callbacks: [cb] });
  assert.deepEqual(braces, [join(dir, '{a}-001')]);

  let epochs = 0;
  assert.throws(
    () =>
      fitRun({
        ...setup(5),
        callbacks: [{ onEpochBegin: () => void epochs++ }, modelCheckpoint({ path: join(dir, 'missing', 'best.safetensors') })],
      }),
    (e: Error) => e instanceof FileError && /modelCheckpoint .*best\.safetensors: folder .*missing does not exist/.test(e.message),
  );
  assert.equal(epochs, 0, 'refused before training');
});

test('the state written goes through write with the module’s names and shapes', () => {
  let got: StateDict | undefined;
  const o = setup(6);
  fitRun({ ...o, epochs: 1, callbacks: [modelCheckpoint({ path: join(dir, 'w'), write: (_p, _m, st) => void (got = st) })] });
  assert.deepEqual(
    Object.entries(got!).map(([n, e]) => [n, e.shape]),
    o.model.namedState().map(([n, t]) => [n, t.shape]),
  );
  assert.deepEqual(
    Object.entries(got!).map(([n, e]) => [n, Buffer.from(new Uint8Array((e.data as Float32Array).buffer))]),
    bits(o.model),
  );
});
