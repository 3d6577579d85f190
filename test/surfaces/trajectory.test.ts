/** The trajectory runner: records, noise determinism, divergence, closure-driven hook. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trajectory, getSurface } from '../../src/surfaces/index.js';
import { SGD } from '../../src/optim/index.js';

test('trace starts at t = 0 at the start point and has one record per step', () => {
  const r = trajectory('bowl', 'sgd', { start: [-4, 2], steps: 5, options: { lr: 0.1 } });
  assert.equal(r.trace.length, 6);
  assert.deepEqual(r.trace[0], { t: 0, x: [-4, 2], f: 0.5 * (16 + 40) });
  assert.deepEqual(
    r.trace.map((s) => s.t),
    [0, 1, 2, 3, 4, 5],
  );
  // GD on 0.5(x² + 10y²): x ← (1 − 0.1)x, y ← (1 − 1)y = 0.
  assert.deepEqual(r.trace[1].x, [-4 * 0.9, 0]);
  assert.equal(r.trace[1].lr, 0.1);
  assert.equal(r.trace[1].evals, 1);
  assert.equal(r.steps, 5);
});

test('same seed ⇒ same noisy trajectory; another seed differs', () => {
  const run = (seed: number) => trajectory('rosenbrock', 'momentum', { steps: 30, options: { lr: 1e-3 }, noise: 0.5, seed });
  assert.deepEqual(run(7).trace, run(7).trace);
  assert.notDeepEqual(run(7).trace, run(8).trace);
  const exact = trajectory('rosenbrock', 'momentum', { steps: 30, options: { lr: 1e-3 } });
  assert.notDeepEqual(run(7).trace, exact.trace);
});

test('divergence is detected and stops the run', () => {
  // GD on the bowl with lr 0.25: y ← (1 − 2.5)y grows ×1.5 a step.
  const r = trajectory('bowl', 'sgd', { steps: 1000, options: { lr: 0.25 } });
  assert.equal(r.diverged, true);
  assert.equal(r.converged, false);
  assert.ok(r.steps < 1000);
});

test('converged on the bowl, nearest minimum reported', () => {
  const r = trajectory('bowl', 'sgd', { steps: 400, options: { lr: 0.1 } });
  assert.equal(r.converged, true);
  assert.equal(r.nearest!.minimum.x[0], 0);
  assert.ok(r.nearest!.distance < 1e-6);
  const early = trajectory('bowl', 'sgd', { steps: 400, options: { lr: 0.1 }, stopAtConvergence: true });
  assert.ok(early.steps < 400 && early.converged);
});

test('closure hook: evaluations per step are counted and the Hessian is reachable', () => {
  // A toy closure-driven method: a Newton step using ctx.hessian(), calling the closure twice.
  const r = trajectory(
    'rosenbrock',
    (params, ctx) => {
      const [[, xy]] = params;
      return {
        step(closure?: () => number) {
          closure!();
          closure!();
          const g = xy.grad!.data;
          const [a, b, , d] = ctx.hessian();
          const det = a * d - b * b;
          xy.data[0] -= (d * g[0] - b * g[1]) / det;
          xy.data[1] -= (a * g[1] - b * g[0]) / det;
        },
      };
    },
    { start: [-1.2, 1], steps: 8 },
  );
  assert.deepEqual(
    r.trace.slice(1).map((s) => s.evals),
    Array(8).fill(2),
  );
  assert.equal(r.evaluations, 16);
  assert.ok(Math.hypot(r.final.x[0] - 1, r.final.x[1] - 1) < 1e-10, `Newton ended at ${r.final.x}`);
});

test('a factory returning a library optimizer works, and lrAt sets the lr per step', () => {
  const r = trajectory(getSurface('bowl'), (p) => new SGD(p, { lr: 0.1 }), { steps: 3, lrAt: (t) => 0.1 / t });
  assert.deepEqual(
    r.trace.slice(1).map((s) => s.lr),
    [0.1, 0.05, 0.1 / 3],
  );
  assert.equal(r.optimizer, 'SGD');
});

test('invalid runner arguments are named', () => {
  assert.throws(() => trajectory('bowl', 'sgd', { steps: -1 }), /invalid steps -1/);
  assert.throws(() => trajectory('bowl', 'sgd', { steps: 1, noise: -1 }), /invalid noise -1/);
  assert.throws(() => trajectory('bowl', 'nosuch', { steps: 1 }), /unknown optimizer "nosuch"/);
  assert.throws(() => trajectory('bowl', 'sgd', { steps: 1, options: { betas: [0.9, 0.9] } }), /SGD: unknown option "betas"/);
});
