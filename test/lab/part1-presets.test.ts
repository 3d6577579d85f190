/**
 * Every lecture preset's text is backed by checkable claims (lab/src/presets.ts `claims`): who reaches
 * which minimum, who stalls, who ends how many times lower. This runs each preset with the lab's own
 * race code in Node — the same modules the page bundles — and checks every claim; a preset with
 * gradient noise is checked for seeds 0–5, so a claim cannot rest on one lucky draw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESETS, presetState, checkClaim } from '../../lab/src/presets.js';
import { defaultState, fromQuery, toQuery } from '../../lab/src/state.js';
import { computeRuns, fRef } from '../../lab/src/race.js';
import { getSurface } from '../../src/surfaces/index.js';
import { registerBackend } from '../../src/backend/backend.js';
import { referenceBackend } from '../../src/backend/reference.js';

registerBackend(referenceBackend);

const check = checkClaim;

for (const p of PRESETS) {
  test(`preset "${p.title}": every claim of its text holds for what it draws`, () => {
    assert.ok(p.claims.length > 0, 'a preset states at least one checkable claim');
    const noisy = p.racers.some((r) => r.noisy);
    for (const seed of noisy ? [0, 1, 2, 3, 4, 5] : [p.seed ?? 0]) {
      const state = { ...presetState(p, defaultState()), seed };
      const s = getSurface(state.fn);
      const runs = computeRuns(state, false);
      assert.equal(runs.length, p.racers.length, 'every racer of the preset runs');
      for (const r of runs) assert.equal(r.error, undefined, `${r.label}: ${r.error}`);
      const failures = p.claims.map((c) => check(c, runs, fRef(s), s.minima.length > 0)).filter((f) => f !== undefined);
      assert.deepEqual(failures, [], `seed ${seed}`);
    }
  });
}

test('a claim that is false fails the check (the checker can fail)', () => {
  const p = PRESETS.find((q) => q.id === 'local-global')!;
  const state = presetState(p, defaultState());
  const s = getSurface(state.fn);
  const runs = computeRuns(state, false);
  // GD stays in the local well at (1, 0): claiming the global one must be reported.
  assert.match(check({ racer: 0, near: [-2, 0], within: 0.05 }, runs, fRef(s), true) ?? '', /GD ends at \(1\.000/);
  assert.ok(check({ racer: 0, beats: 2, factor: 10 }, runs, fRef(s), true));
});

test('the presets that compare methods at one learning rate give every racer the same rate', () => {
  for (const id of ['convex', 'sgd-local', 'sgd-saddle', 'momentum-nag', 'momentum', 'rmsprop', 'sgd-vs-gd']) {
    const p = PRESETS.find((q) => q.id === id)!;
    const rates = new Set(p.racers.map((r) => r.options.lr));
    assert.equal(rates.size, 1, `${id}: ${[...rates].join(', ')}`);
    assert.match(p.text, /same learning rate|one learning rate/i, `${id} says so`);
  }
});

test('batch size B scales the gradient noise as 1/√B: B = 4 gives the path of σ/2 at B = 1', () => {
  const p = PRESETS.find((q) => q.id === 'sgd-vs-gd')!;
  const s1 = presetState(p, defaultState());
  const a = computeRuns({ ...s1, batch: 4 }, false)[1];
  const b = computeRuns({ ...s1, noise: s1.noise / 2, batch: 1 }, false)[1];
  assert.deepEqual([...a.xs], [...b.xs]);
  const full = computeRuns({ ...s1, batch: 1 }, false)[1];
  assert.notDeepEqual([...a.xs], [...full.xs]);
  // and it travels in the URL, validated
  const q = toQuery({ ...s1, batch: 64 });
  assert.equal(fromQuery(q, [p.id], () => undefined).state.batch, 64);
  const bad = fromQuery('b=0', [], () => undefined);
  assert.equal(bad.state.batch, 1);
  assert.ok(bad.notices.some((n) => n.includes('"b"')));
});

test('the step-size panel: AdaGrad η/(√Σg² + ε) recomputed from its own path; it only shrinks, RMSProp does not', () => {
  const p = PRESETS.find((q) => q.id === 'rmsprop')!;
  const state = presetState(p, defaultState());
  const [ada, rms] = computeRuns(state, false);
  const s = getSurface(state.fn);
  assert.ok(ada.stepSizes && rms.stepSizes && ada.stepSizes.length === ada.xs.length - 1);
  let sx = 0;
  let sy = 0;
  for (let t = 0; t < ada.stepSizes.length; t++) {
    const [gx, gy] = s.grad(ada.xs[t], ada.ys[t]);
    sx += gx * gx;
    sy += gy * gy;
    const want = [0.05 / (Math.sqrt(sx) + 1e-10), 0.05 / (Math.sqrt(sy) + 1e-10)];
    for (const c of [0, 1])
      assert.ok(Math.abs(ada.stepSizes[t][c] - want[c]) <= 1e-12 * want[c], `t=${t + 1}: ${ada.stepSizes[t][c]} vs ${want[c]}`);
    if (t) assert.ok(ada.stepSizes[t][0] <= ada.stepSizes[t - 1][0]);
  }
  // RMSProp's step size rises again somewhere (its average forgets), and ends larger than AdaGrad's
  assert.ok(rms.stepSizes.some((e, t) => t > 0 && e[0] > rms.stepSizes![t - 1][0]));
  const last = (r: typeof ada) => r.stepSizes![r.stepSizes!.length - 1][0];
  assert.ok(last(rms) > last(ada), `${last(rms)} vs ${last(ada)}`);
});

test('a schedule applied to a racer: GD on the bowl steps with the schedule lr of each step (recomputed by hand)', async () => {
  const { racerSpec, scheduleNames } = await import('../../lab/src/schedules.js');
  const { scheduleError, encodeRacer, decodeRacer } = await import('../../lab/src/state.js');
  for (const n of scheduleNames()) assert.equal(scheduleError(racerSpec(n), 0.05, 150), '', n);
  const sched = 'step:stepSize=10,gamma=0.5';
  const state = {
    ...defaultState(),
    fn: 'bowl',
    start: [-4, 2] as [number, number],
    budget: 40,
    racers: [{ opt: 'gd', noisy: false, options: { lr: 0.05 }, sched }],
  };
  const [run] = computeRuns(state, false);
  assert.equal(run.error, undefined);
  assert.equal(run.label, 'GD · step');
  const s = getSurface('bowl');
  let [x, y] = [-4, 2];
  for (let t = 1; t < run.xs.length; t++) {
    const lr = 0.05 * 0.5 ** Math.floor((t - 1) / 10);
    const [gx, gy] = s.grad(x, y);
    x -= lr * gx;
    y -= lr * gy;
    assert.ok(
      Math.abs(run.xs[t] - x) <= 1e-12 && Math.abs(run.ys[t] - y) <= 1e-12,
      `step ${t}: (${run.xs[t]}, ${run.ys[t]}) vs (${x}, ${y})`,
    );
  }
  // and through the URL, validated
  const notices: string[] = [];
  assert.deepEqual(decodeRacer(encodeRacer(state.racers[0]), notices), state.racers[0]);
  assert.equal(decodeRacer('gd;sched=cosine:nosuch=1', notices)?.sched, undefined);
  assert.match(notices.join(' | '), /gd: schedule "cosine:nosuch=1" ignored/);
});
