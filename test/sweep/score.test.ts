/** Scoring: best trial per study, median over studies, and performance profiles computed by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performanceProfile, scoreSweep } from '../../src/sweep/score.js';
import type { TrialResult } from '../../src/sweep/trial.js';

let n = 0;
function r(
  workload: string,
  optimizer: string,
  seed: number,
  steps: number | null,
  seconds: number | null = steps === null ? null : steps / 10,
): TrialResult {
  return {
    id: `t${n++}`,
    spec: { workload, data: 'embedded', budget: 100, target: 0.8, evalEvery: 10, optimizer, options: { lr: n }, seed },
    status: steps === null ? 'budget' : 'reached',
    curve: [],
    stepsToTarget: steps,
    secondsToTarget: seconds,
    steps: steps ?? 100,
    seconds: 1,
    evaluations: 1,
    bestAccuracy: steps === null ? 0.5 : 0.8,
  };
}

test('the best trial of each study, then the median over studies (an unsolved study counts as infinite)', () => {
  const results = [
    // adam on w1: study 1 best 30, study 2 best 50, study 3 best 40 → median 40
    r('w1', 'adam', 1, 60),
    r('w1', 'adam', 1, 30),
    r('w1', 'adam', 2, 50),
    r('w1', 'adam', 3, 40),
    r('w1', 'adam', 3, null),
    // sgd on w1: solved in 1 study of 3 → median infinite → null
    r('w1', 'sgd', 1, 20),
    r('w1', 'sgd', 2, null),
    r('w1', 'sgd', 3, null),
  ];
  const [adam, sgd] = scoreSweep(results, ['w1'], ['adam', 'sgd'], 3);
  assert.deepEqual(
    adam.studies.map((s) => s.steps),
    [30, 50, 40],
  );
  assert.equal(adam.steps, 40);
  assert.equal(adam.seconds, 4);
  assert.equal(adam.reached, 4);
  assert.equal(adam.best?.stepsToTarget, 30);
  assert.equal(sgd.steps, null);
  assert.equal(sgd.best?.stepsToTarget, 20);
});

test('performance profile: ρ(τ) is the share of workloads within τ of the best', () => {
  // steps: w1 adam 40 sgd 80 (ratio 2), w2 adam 30 sgd 20 (adam 1.5), w3 adam 10, sgd unsolved
  const results = [
    r('w1', 'adam', 1, 40),
    r('w1', 'sgd', 1, 80),
    r('w2', 'adam', 1, 30),
    r('w2', 'sgd', 1, 20),
    r('w3', 'adam', 1, 10),
    r('w3', 'sgd', 1, null),
  ];
  const p = performanceProfile(scoreSweep(results, ['w1', 'w2', 'w3'], ['adam', 'sgd'], 1), 'steps', 4, 7);
  assert.deepEqual(p.taus, [1, 1.5, 2, 2.5, 3, 3.5, 4]);
  assert.deepEqual(p.ratios.adam, [1, 1.5, 1]);
  assert.deepEqual(p.ratios.sgd, [2, 1, null]);
  assert.deepEqual(p.rho.adam, [2 / 3, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(p.rho.sgd, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3]);
});
