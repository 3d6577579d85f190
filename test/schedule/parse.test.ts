import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as S from '../../src/schedule/index.js';

const fn = (text: string, lr = 0.1, total?: number) => {
  const p = S.parseSchedule(text, { lr, total });
  assert.equal(p.kind, 'schedule');
  return (p as { schedule: S.Schedule }).schedule;
};

test('the CLI spec builds the same schedule as the constructor', () => {
  assert.deepEqual(S.sample(fn('exponential:k=0.05'), 10), S.sample(S.exponential({ lr: 0.1, k: 0.05 }), 10));
  assert.deepEqual(S.sample(fn('inverse:k=0.5', 0.2), 10), S.sample(S.inverseTime({ lr: 0.2, k: 0.5 }), 10));
  assert.deepEqual(S.sample(fn('1/t:k=0.5,lr=0.3'), 5), S.sample(S.inverseTime({ lr: 0.3, k: 0.5 }), 5));
  assert.deepEqual(S.sample(fn('multistep:at=2/5,gamma=0.5'), 7), S.sample(S.multiStep({ lr: 0.1, milestones: [2, 5], gamma: 0.5 }), 7));
  assert.deepEqual(S.sample(fn('sgdr:T0=3,Tmult=2,min=0.001'), 20), S.sample(S.sgdr({ lr: 0.1, t0: 3, tMult: 2, minLr: 0.001 }), 20));
  assert.deepEqual(
    S.sample(fn('cyclic:max=1,up=2,mode=triangular2'), 12),
    S.sample(S.cyclic({ lr: 0.1, maxLr: 1, stepSizeUp: 2, mode: 'triangular2' }), 12),
  );
});

test('lengths default to the run, warm-up and sequences compose', () => {
  assert.deepEqual(S.sample(fn('cosine', 1, 10), 11), S.sample(S.cosine({ lr: 1, totalSteps: 10 }), 11));
  assert.deepEqual(S.sample(fn('onecycle', 1, 10), 10), S.sample(S.oneCycle({ maxLr: 1, totalSteps: 10 }), 10));
  // warm-up of 2 then cosine over the remaining 8
  assert.deepEqual(
    S.sample(fn('cosine:warmup=2,warmupStart=0.5', 1, 10), 10),
    S.sample(S.warmup(S.cosine({ lr: 1, totalSteps: 8 }), { steps: 2, startFactor: 0.5 }), 10),
  );
  assert.deepEqual(S.sample(fn('constant:for=3;exponential:k=1', 1), 5), [1, 1, 1, Math.exp(0), Math.exp(-1)]);
});

test('plateau parses to the stateful schedule', () => {
  const p = S.parseSchedule('plateau:factor=0.5,patience=0', { lr: 0.2 });
  assert.equal(p.kind, 'plateau');
  const r = (p as { plateau: S.ReduceOnPlateau }).plateau;
  assert.equal(r.step(1), 0.2);
  assert.equal(r.step(2), 0.1);
});

test('spec errors name the schedule and the parameter', () => {
  assert.throws(() => fn('expo:k=1'), /unknown schedule "expo"; expected one of constant, step/);
  assert.throws(() => fn('exponential'), /schedule exponential: missing k=/);
  assert.throws(() => fn('exponential:q=1'), /schedule exponential: unknown parameter "q"; expected one of k, lr/);
  assert.throws(() => fn('exponential:k=abc'), /schedule exponential: k=abc is not a number/);
  assert.throws(() => fn('cosine'), /schedule cosine: give T=/);
  assert.throws(() => fn('constant;constant'), /needs for=N/);
});
