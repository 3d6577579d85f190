/** The target-setting tool: its rule, and scoring a full-budget run at a lower target gives what a run with that target records. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend } from '../../src/backend/index.js';
import { runTrial, type TrialSpec } from '../../src/sweep/trial.js';
import { atTarget, targetOf } from '../../tools/sweep-targets.js';

test('target = best accuracy floored to 0.005, minus 0.01', () => {
  assert.equal(targetOf(0.841), 0.83);
  assert.equal(targetOf(0.845), 0.835);
  assert.equal(targetOf(0.8449), 0.83);
});

test('a full-budget run cut at a target equals the run with that target, step for step', () => {
  setBackend('reference');
  const spec: TrialSpec = {
    workload: 'mlp',
    data: 'embedded',
    limit: 300,
    testLimit: 200,
    budget: 16,
    target: 1,
    evalEvery: 4,
    optimizer: 'adam',
    options: { lr: 0.003 },
    seed: 5,
  };
  const full = runTrial(spec);
  const target = full.curve[2].testAccuracy;
  const cut = atTarget(full, target);
  const direct = runTrial({ ...spec, target });
  assert.equal(cut.status, 'reached');
  assert.equal(cut.stepsToTarget, direct.stepsToTarget);
  assert.equal(cut.steps, direct.steps);
  assert.deepEqual(
    cut.curve.map((p) => [p.step, p.trainLoss, p.testLoss, p.testAccuracy]),
    direct.curve.map((p) => [p.step, p.trainLoss, p.testLoss, p.testAccuracy]),
  );
});
