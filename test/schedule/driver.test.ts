import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as S from '../../src/schedule/index.js';
import { Lookahead, SGD } from '../../src/optim/index.js';
import { tensor } from '../../src/tensor/index.js';
import { snapshotEnsemble } from '../../src/ensemble/snapshot.js';
import { snapshotCosine } from '../../src/schedule/schedules.js';

function fakeRun(cb: any, steps: number, stepsPerEpoch: number, metrics: number[] = []) {
  const used: number[] = [];
  const optimizer = {
    lr: 1,
    setLr(v: number) {
      this.lr = v;
    },
  };
  const s = { optimizer, step: 0, epoch: 1 };
  cb.onTrainBegin?.(s);
  for (let t = 0; t < steps; t++) {
    s.epoch = Math.floor(t / stepsPerEpoch) + 1; // the trainer numbers epochs from 1
    cb.onStepBegin?.(s);
    used.push(optimizer.lr); // the rate optimizer.step() would use
    s.step++;
    if ((t + 1) % stepsPerEpoch === 0) cb.onEpochEnd?.(s, { trainLoss: metrics[s.epoch - 1] ?? 0 });
  }
  return used;
}

test('driver: update t uses schedule(t) — no off-by-one between schedule and optimizer steps', () => {
  const sched = S.exponentialGamma({ lr: 0.8, gamma: 0.5 });
  assert.deepEqual(fakeRun(S.scheduleCallback(sched), 4, 2), [0.8, 0.4, 0.2, 0.1]);
  assert.deepEqual(fakeRun(S.scheduleCallback(sched, { unit: 'epoch' }), 6, 2), [0.8, 0.8, 0.4, 0.4, 0.2, 0.2]);
});

test('plateau driver cuts the rate for the epoch after the patience runs out', () => {
  const p = new S.ReduceOnPlateau({ lr: 0.1, factor: 0.5, patience: 1 });
  const used = fakeRun(S.plateauCallback(p), 8, 2, [1, 1, 1, 1]);
  // epochs: metric 1 (best), 1 (bad 1), 1 (bad 2 > patience → cut after epoch 3)
  assert.deepEqual(used, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05]);
});

/** Each group's rate before each update, with a two-group SGD (groups lr 0.1 and 0.001) driven by `cb`. */
function groupRates(cb: any, steps: number, stepsPerEpoch: number, metrics: number[] = [], wrap = false): number[][] {
  const base = new SGD([
    { params: [tensor([0])], lr: 0.1 },
    { params: [tensor([0])], lr: 0.001 },
  ]);
  const optimizer = wrap ? new Lookahead(base) : base;
  const s = { optimizer, step: 0, epoch: 1 };
  const used: number[][] = [];
  cb.onTrainBegin?.(s);
  for (let t = 0; t < steps; t++) {
    s.epoch = Math.floor(t / stepsPerEpoch) + 1;
    cb.onStepBegin?.(s);
    used.push(base.paramGroups.map((g) => g.lr));
    s.step++;
    if ((t + 1) % stepsPerEpoch === 0) cb.onEpochEnd?.(s, { trainLoss: metrics[s.epoch - 1] ?? 0 });
  }
  return used;
}

const close = (a: number[][], b: number[][]) =>
  assert.ok(
    a.length === b.length && a.every((r, i) => r.every((v, j) => Math.abs(v - b[i][j]) <= 1e-15)),
    `${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`,
  );

test('schedule driver scales each parameter group’s own rate (PyTorch StepLR keeps the groups’ ratio)', () => {
  // torch 1.13: SGD groups lr 0.1 and 0.001, StepLR(step_size=1, gamma=0.5): [[0.1, 0.001], [0.05, 0.0005], [0.025, 0.00025]]
  close(groupRates(S.scheduleCallback(S.stepDecay({ lr: 0.1, stepSize: 1, gamma: 0.5 })), 3, 1), [
    [0.1, 0.001],
    [0.05, 0.0005],
    [0.025, 0.00025],
  ]);
  // a wrapper drives its base's groups
  close(groupRates(S.scheduleCallback(S.stepDecay({ lr: 0.1, stepSize: 1, gamma: 0.5 })), 2, 1, [], true), [
    [0.1, 0.001],
    [0.05, 0.0005],
  ]);
  // the snapshot ensemble's cyclic rate likewise: the first group follows it, the second keeps 1:100
  const snap = snapshotEnsemble({ lr: 0.1, totalSteps: 4, cycles: 2 });
  const sched = snapshotCosine({ lr: 0.1, totalSteps: 4, cycles: 2 });
  close(
    groupRates({ onStepBegin: (st: any) => snap.callbacks[0].onStepBegin({ ...st, model: null as never }) }, 4, 1),
    [0, 1, 2, 3].map((t) => [sched(t), sched(t) / 100]),
  );
  // without onTrainBegin (a callback driven by hand) the groups' rates are read at the first step
  const cb = S.scheduleCallback(S.stepDecay({ lr: 0.1, stepSize: 1, gamma: 0.5 }));
  close(groupRates({ onStepBegin: cb.onStepBegin }, 2, 1), [
    [0.1, 0.001],
    [0.05, 0.0005],
  ]);
});

test('plateau driver cuts each parameter group’s own rate, none below minLr (PyTorch ReduceLROnPlateau)', () => {
  // torch 1.13: groups lr 0.1 and 0.001, ReduceLROnPlateau(factor=0.1, patience=0, min_lr=0.0005), metric 1 every epoch:
  // [[0.1, 0.001], [0.1, 0.001], [0.01, 0.0005], [0.001, 0.0005], [0.0005, 0.0005]]
  const p = new S.ReduceOnPlateau({ lr: 0.1, factor: 0.1, patience: 0, minLr: 0.0005 });
  close(groupRates(S.plateauCallback(p), 5, 1, [1, 1, 1, 1, 1]), [
    [0.1, 0.001],
    [0.1, 0.001],
    [0.01, 0.0005],
    [0.001, 0.0005],
    [0.0005, 0.0005],
  ]);
  assert.equal(p.lr, 0.0005);
});

test('schedule driver refuses groups whose ratio to a first group of lr 0 is undefined', () => {
  const optimizer = new SGD([
    { params: [tensor([0])], lr: 0 },
    { params: [tensor([0])], lr: 0.01 },
  ]);
  assert.throws(
    () => S.scheduleCallback(S.constant({ lr: 0.1 })).onTrainBegin({ optimizer, step: 0, epoch: 1 }),
    /^RangeError: scheduleCallback: the first parameter group's lr is 0, so the other groups' rates \[0\.01\] cannot keep their ratio to it/,
  );
});
