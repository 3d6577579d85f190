/**
 * The counts of L-BFGS and Newton have documented upper bounds (a RangeError naming the option and
 * the bound), the exact Newton refuses a Hessian too large to store before allocating it, and
 * Newton says when a step did not lower the loss (fitFullBatch then stops).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/tensor/rng.js';
import { LBFGS, LBFGS_LIMITS } from '../../src/optim/lbfgs.js';
import { Newton, NEWTON_LIMITS } from '../../src/optim/newton.js';
import { createOptimizer } from '../../src/optim/registry.js';
import { fitFullBatch } from '../../src/train/fullbatch.js';
import { getModel } from '../../src/train/models.js';
import { trajectory } from '../../src/surfaces/trajectory.js';

const param = (n = 2): [string, Tensor][] => [['w', new Tensor(new Float64Array(n), [n], true)]];

test('L-BFGS refuses maxIter, maxEval and historySize past their bounds, naming option and bound', () => {
  assert.deepEqual({ ...LBFGS_LIMITS }, { maxIter: 100_000, maxEval: 125_000, historySize: 1000 });
  for (const [k, max] of Object.entries(LBFGS_LIMITS)) {
    assert.throws(
      () => new LBFGS(param(), { [k]: max + 1 }),
      new RegExp(`LBFGS: invalid ${k} ${max + 1}; expected an integer from 1 to ${max}`),
    );
    assert.doesNotThrow(() => new LBFGS(param(), { [k]: max }));
  }
  // A huge history is refused, not allocated (it once was, as an array of historySize numbers per step).
  assert.throws(
    () => createOptimizer('lbfgs', param(), { historySize: 1e9 }),
    /historySize 1000000000; expected an integer from 1 to 1000/,
  );
});

test('Newton refuses maxLs and cgMaxIter past their bounds', () => {
  assert.throws(
    () => new Newton(param(), { maxLs: NEWTON_LIMITS.maxLs + 1 }),
    /Newton: invalid maxLs 1001; expected an integer from 1 to 1000/,
  );
  assert.throws(
    () => new Newton(param(), { mode: 'hessianFree', cgMaxIter: 1e9 }),
    /invalid cgMaxIter 1000000000; expected an integer from 1 to 100000/,
  );
});

test('exact Newton past 10 000 parameters is refused before the Hessian is allocated, pointing to hessianFree', () => {
  const n = NEWTON_LIMITS.exactParams + 1;
  assert.throws(
    () => new Newton(param(n)),
    /Newton: the exact Hessian of 10001 parameters .* use mode 'hessianFree' \(hessianFree: true\)/,
  );
  assert.doesNotThrow(() => new Newton(param(n), { mode: 'hessianFree' }));
  assert.doesNotThrow(() => new Newton(param(NEWTON_LIMITS.exactParams)));
  // The MLP of the CLI: 235 146 parameters, whose Hessian was once allocated (and failed with "Invalid typed array length").
  const mlp = getModel('mlp').build({ rng: new Rng(1), inputShape: [1, 28, 28], classes: 10 });
  assert.throws(() => createOptimizer('newton', mlp.namedParameters()), /the exact Hessian of 235146 parameters/);
});

test('a Newton step that does not lower the loss is marked stalled, and fitFullBatch stops there', () => {
  const rng = new Rng(3);
  const model = getModel('logreg').build({ rng, inputShape: [1, 2, 2], classes: 2 });
  const x = new Tensor(
    Float32Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.7)),
    [10, 4],
  );
  const y = Int32Array.from({ length: 10 }, (_, i) => i % 2);
  // lr 1e-12: every trial point rounds back to the same float32 weights, so the loss cannot fall.
  const opt = new Newton(model.namedParameters(), { mode: 'hessianFree', lr: 1e-12 });
  const recs = fitFullBatch({ model, optimizer: opt, x, y, steps: 5 });
  assert.equal(recs.length, 1, 'stopped after the stalled step');
  assert.equal(recs[0].stalled, true);
  assert.equal(opt.trace[0].stalled, true);
  // The same model with the default lr lowers the loss: no stall, all steps run.
  const model2 = getModel('logreg').build({ rng: new Rng(3), inputShape: [1, 2, 2], classes: 2 });
  const opt2 = new Newton(model2.namedParameters(), { mode: 'hessianFree' });
  const recs2 = fitFullBatch({ model: model2, optimizer: opt2, x, y, steps: 2 });
  assert.equal(recs2.length, 2);
  assert.ok(recs2.every((r) => r.stalled === undefined));
  assert.ok(opt2.trace.every((s) => !s.stalled));
});

test('trajectory stops at maxEvaluations, even inside one long L-BFGS step', () => {
  const t0 = performance.now();
  const r = trajectory(
    'rosenbrock',
    { name: 'lbfgs', options: { lr: 1e-4, maxIter: 100_000, maxEval: 125_000, toleranceGrad: 0, toleranceChange: 0 } },
    { steps: 5000, maxEvaluations: 300 },
  );
  assert.equal(r.outOfEvaluations, true);
  assert.equal(r.evaluations, 300);
  assert.ok(performance.now() - t0 < 2000, 'bounded work');
  // The run without the budget would make 125 000 calls in its first step alone.
  const one = trajectory(
    'rosenbrock',
    { name: 'lbfgs', options: { lr: 1e-4, maxIter: 2000, toleranceGrad: 0, toleranceChange: 0 } },
    { steps: 1 },
  );
  assert.equal(one.evaluations, 2000); // one call per iteration without a line search
  assert.equal(one.outOfEvaluations, false);
});
