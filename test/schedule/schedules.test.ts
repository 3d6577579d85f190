import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertClose } from '../helpers.js';
import * as S from '../../src/schedule/index.js';

const golden = JSON.parse(readFileSync(new URL('../../../test/fixtures/schedule/torch_schedules.json', import.meta.url), 'utf8')) as {
  cases: { name: string; params: Record<string, any>; lr: number; steps?: number; metrics?: number[]; torch: number[] }[];
};

function build(name: string, p: Record<string, any>, lr: number): S.Schedule {
  switch (name) {
    case 'step':
      return S.stepDecay({ lr, stepSize: p.stepSize, gamma: p.gamma });
    case 'multistep':
      return S.multiStep({ lr, milestones: p.milestones, gamma: p.gamma });
    case 'expgamma':
      return S.exponentialGamma({ lr, gamma: p.gamma });
    case 'polynomial':
      return S.polynomial({ lr, totalSteps: p.totalSteps, power: p.power });
    case 'linear':
      return S.linear({ lr, totalSteps: p.totalSteps, startFactor: p.startFactor, endFactor: p.endFactor });
    case 'cosine':
      return S.cosine({ lr, totalSteps: p.totalSteps, minLr: p.minLr });
    case 'sgdr':
      return S.sgdr({ lr, t0: p.t0, tMult: p.tMult, minLr: p.minLr });
    case 'cyclic':
      return S.cyclic({ lr, ...p } as any);
    case 'onecycle':
      return S.oneCycle(p as any);
    case 'warmup-expgamma':
      return S.warmup(S.exponentialGamma({ lr, gamma: p.gamma }), { steps: p.steps, startFactor: p.startFactor });
    case 'warmup-cosine':
      return S.warmup(S.cosine({ lr, totalSteps: p.totalSteps, minLr: p.minLr }), { steps: p.steps, startFactor: p.startFactor });
    default:
      throw new Error(`no builder for ${name}`);
  }
}

test('every schedule PyTorch has equals its lr_scheduler values (golden, torch 1.13)', () => {
  let n = 0;
  for (const c of golden.cases) {
    if (c.name === 'plateau') continue;
    const s = build(c.name, c.params, c.lr);
    assertClose(S.sample(s, c.torch.length), c.torch, 1e-12, `${c.name} ${JSON.stringify(c.params)}`);
    n++;
  }
  assert.ok(n >= 17, `only ${n} golden cases`);
});

test('reduce-on-plateau equals PyTorch ReduceLROnPlateau on a metric sequence', () => {
  const cases = golden.cases.filter((c) => c.name === 'plateau');
  assert.equal(cases.length, 4);
  for (const c of cases) {
    const p = new S.ReduceOnPlateau({ lr: c.lr, ...c.params });
    const got = c.metrics!.map((m) => p.step(m));
    assertClose(got, c.torch, 1e-15, `plateau ${JSON.stringify(c.params)}`);
    assert.ok(Math.min(...got) < c.lr, 'the fixture cuts the rate at least once');
  }
});

test("the lecture's two decays equal their closed forms", () => {
  const e = S.exponential({ lr: 0.5, k: 0.05 });
  const i = S.inverseTime({ lr: 0.5, k: 0.05 });
  for (const t of [0, 1, 7, 100]) {
    assert.equal(e(t), 0.5 * Math.exp(-0.05 * t));
    assert.equal(i(t), 0.5 / (1 + 0.05 * t));
  }
  // α₀e^(−kt) is γ^t with γ = e^(−k)
  const g = S.exponentialGamma({ lr: 0.5, gamma: Math.exp(-0.05) });
  assertClose(S.sample(e, 50), S.sample(g, 50), 1e-12);
  // hand-derived: 1/t decay halves the rate at t = 1/k
  assert.equal(i(20), 0.25);
});

test('closed forms by hand: cosine ends at min, SGDR restarts at T0·(1+Tmult+...), cyclic peaks at stepSizeUp', () => {
  const c = S.cosine({ lr: 1, totalSteps: 4, minLr: 0.2 });
  assert.deepEqual([c(0), c(2), c(4)], [1, 0.6000000000000001, 0.2]);
  const r = S.sgdr({ lr: 1, t0: 2, tMult: 3 });
  // cycles [0,2), [2,8), [8,26): restarts to the full rate at 2 and 8
  assert.equal(r(2), 1);
  assert.equal(r(8), 1);
  assertClose(r(5), 0.5, 1e-15); // halfway through the 6-step cycle
  const y = S.cyclic({ lr: 0.1, maxLr: 1, stepSizeUp: 3, mode: 'triangular2' });
  assert.equal(y(3), 1);
  assert.equal(y(6), 0.1);
  assertClose(y(9), 0.1 + 0.9 / 2, 1e-15);
});

test('snapshot schedule values equal the paper: α(t) = α0/2·(cos(π·mod(t−1, ⌈T/M⌉)/⌈T/M⌉)+1), t 1-based', () => {
  for (const [T, M] of [
    [100, 5],
    [10, 3],
    [469 * 4, 4],
  ]) {
    const s = S.snapshotCosine({ lr: 0.2, totalSteps: T, cycles: M });
    const len = Math.ceil(T / M);
    for (let t1 = 1; t1 <= T; t1++) {
      const paper = (0.2 / 2) * (Math.cos((Math.PI * ((t1 - 1) % len)) / len) + 1);
      assert.equal(s(t1 - 1), paper, `T=${T} M=${M} t=${t1}`);
    }
    const at = S.snapshotSteps(T, M);
    assert.equal(at.length, M);
    assert.equal(at[at.length - 1], T);
    // the rate right after a snapshot restarts at α0
    for (const a of at.slice(0, -1)) assert.equal(s(a), 0.2);
  }
});

test('warm-up rises linearly into any schedule, join restarts each schedule clock', () => {
  const w = S.warmup(S.constant({ lr: 0.4 }), { steps: 4, startFactor: 0 });
  assert.deepEqual(S.sample(w, 6), [0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.4]);
  const j = S.join([S.constant({ lr: 1 }), S.exponentialGamma({ lr: 0.5, gamma: 0.5 }), S.constant({ lr: 0.01 })], [2, 4]);
  assert.deepEqual(S.sample(j, 6), [1, 1, 0.5, 0.25, 0.01, 0.01]);
});

test('schedules are pure: same t, same value, in any order', () => {
  const s = S.sgdr({ lr: 0.1, t0: 5, tMult: 2 });
  const fwd = S.sample(s, 40);
  const back = Array.from({ length: 40 }, (_, i) => s(39 - i)).reverse();
  assert.deepEqual(fwd, back);
});

test('bad parameters and steps are errors naming the schedule and parameter', () => {
  assert.throws(() => S.exponential({ lr: -1, k: 0.1 }), /exponential schedule: invalid lr -1; expected a number ≥ 0/);
  assert.throws(() => S.cosine({ lr: 1, totalSteps: 0 }), /cosine schedule: invalid totalSteps 0/);
  assert.throws(() => S.multiStep({ lr: 1, milestones: [5, 3] }), /multistep schedule: invalid milestones/);
  assert.throws(() => S.cyclic({ lr: 1, maxLr: 2, mode: 'zigzag' as any }), /cyclic schedule: invalid mode "zigzag"/);
  assert.throws(() => S.constant({ lr: 1 })(-1), /step t must be an integer ≥ 0, got -1/);
  assert.throws(() => S.oneCycle({ maxLr: 1, totalSteps: 10 })(10), /past totalSteps 10/);
  assert.throws(() => new S.ReduceOnPlateau({ lr: 0.1, factor: 1 }), /plateau schedule: invalid factor 1/);
});
