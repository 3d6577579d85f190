import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as S from '../../src/schedule/index.js';

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
