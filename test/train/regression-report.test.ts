/**
 * regressionReport and evaluateRegression against scikit-learn's mean_absolute_error,
 * root_mean_squared_error and r2_score (re-expressed in NumPy by tools/golden_regression.py,
 * fixtures in test/fixtures/regression/report.json), and evaluateRegression's loss against fit's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { evaluateRegression, mae, mse, regressionReport, unitMetrics, type RegressionScores } from '../../src/train/metrics.js';
import { fitTargetStandardize, standardizeTargets, unstandardize } from '../../src/data/preprocess.js';
import { evaluate } from '../../src/train/trainer.js';
import { RegressionDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { Linear } from '../../src/nn/layers.js';
import { mseLoss } from '../../src/autograd/ops.js';
import { huberLoss } from '../../src/autograd/losses.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';

interface Case {
  name: string;
  rows: number;
  targets: number;
  y: number[];
  p: number[];
  perTarget: RegressionScores[];
  overall: RegressionScores;
}
const fixture = JSON.parse(readFileSync(new URL('../../../test/fixtures/regression/report.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

// float64 sums in another order than NumPy's: R² of targets near 10⁶ differs in the 12th digit
const close = (got: number, want: number, what: string) =>
  assert.ok(Math.abs(got - want) <= 1e-10 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);

test('regressionReport: each target and the overall figures equal scikit-learn within 1e-10', () => {
  assert.equal(fixture.cases.length, 5);
  for (const c of fixture.cases) {
    const names = Array.from({ length: c.targets }, (_, j) => `t${j}`);
    const r = regressionReport(Float32Array.from(c.p), Float32Array.from(c.y), names);
    assert.equal(r.samples, c.rows, c.name);
    assert.equal(r.perTarget.length, c.targets);
    r.perTarget.forEach((s, j) => {
      assert.equal(s.name, names[j]);
      for (const k of ['mae', 'rmse', 'r2'] as const) close(s[k], c.perTarget[j][k], `${c.name}, target ${j}, ${k}`);
    });
    for (const k of ['mae', 'rmse', 'r2'] as const) close(r.overall[k], c.overall[k], `${c.name}, overall ${k}`);
  }
});

test('regressionReport: a constant column scores R² 1 when predicted exactly and 0 otherwise (force_finite)', () => {
  const c = fixture.cases.find((k) => k.name.startsWith('constant'))!;
  const r = regressionReport(c.p, c.y, 3);
  assert.deepEqual(
    r.perTarget.map((s) => s.r2),
    [1, 0, c.perTarget[2].r2],
  );
  assert.deepEqual(
    r.perTarget.map((s) => s.name),
    ['0', '1', '2'],
  );
  assert.throws(() => regressionReport([1, 2, 3], [1, 2], 1), /outputs \(3 values\) and targets \(2\) must be the same N × 1 values/);
  assert.throws(() => regressionReport([1, 2, 3], [1, 2, 3], 2), /must be the same N × 2 values/);
});

test("evaluateRegression: one pass gives evaluate's loss and MSE and the report of the model's outputs", () => {
  const rng = new Rng(5);
  const n = 37;
  const x = Float32Array.from({ length: n * 3 }, () => rng.normal());
  const y = Float32Array.from({ length: n * 2 }, () => rng.normal());
  const ds = new RegressionDataset({ images: x, targets: y, shape: [1, 1, 3], targetNames: ['u', 'v'] });
  const model = new Linear(3, 2, { rng });
  const loader = new DataLoader(ds, { batchSize: 10, flatten: true });
  const r = evaluateRegression(model, loader, ds.targetNames, (o, t) => mseLoss(o, t));
  const e = evaluate(model, loader, { loss: (o, t) => mseLoss(o, t as Tensor), metrics: { mse } });
  close(r.loss, e.testLoss, 'loss');
  close(r.report.overall.rmse ** 2, e.testMse, 'mse');
  const out = model.forward(new Tensor(x, [n, 3]));
  const whole = regressionReport(out.data, y, ['u', 'v']);
  for (const k of ['mae', 'rmse', 'r2'] as const) close(r.report.overall[k], whole.overall[k], k);
  const h = evaluateRegression(model, loader, 2, (o, t) => huberLoss(o, t, { delta: 0.5 }));
  assert.ok(h.loss < r.loss, 'Huber with δ 0.5 is below half the squared error');
  assert.throws(
    () => evaluateRegression(model, loader, 3, (o, t) => mseLoss(o, t)),
    /3 targets per sample, but the outputs are \[10, 2\] and the targets \[10, 2\]/,
  );
});

test("targets standardized for training: unitMetrics and evaluateRegression with a scale report in the targets' units", () => {
  const rng = new Rng(8);
  const n = 29;
  const x = Float32Array.from({ length: n * 2 }, () => rng.normal());
  const y = Float32Array.from({ length: n * 2 }, (_, i) => (i % 2 ? 1000 : 0.01) * rng.normal() + (i % 2 ? 5e4 : -3));
  const raw = new RegressionDataset({ images: x, targets: y, shape: [1, 1, 2], targetNames: ['small', 'large'] });
  const scale = fitTargetStandardize(raw);
  const ds = standardizeTargets(scale, raw);
  const model = new Linear(2, 2, { rng });
  const loader = new DataLoader(ds, { batchSize: 8, flatten: true });
  const out = model.forward(new Tensor(x, [n, 2]));
  const inUnits = Float32Array.from(unstandardize(scale, out.data));
  const want = regressionReport(inUnits, y, ['small', 'large']);
  const r = evaluateRegression(model, loader, ds.targetNames, (o, t) => mseLoss(o, t), scale);
  r.report.perTarget.forEach((s, j) => {
    for (const k of ['mae', 'rmse', 'r2'] as const)
      assert.ok(
        Math.abs(s[k] - want.perTarget[j][k]) <= 1e-4 * Math.abs(want.perTarget[j][k]),
        `${s.name} ${k}: ${s[k]} vs ${want.perTarget[j][k]}`,
      );
  });
  // the loss is the standardized one training reported
  close(r.loss, evaluate(model, loader, { loss: (o, t) => mseLoss(o, t as Tensor), metrics: {} }).testLoss, 'loss');
  const units = unitMetrics(scale.std);
  const e = evaluate(model, loader, { loss: (o, t) => mseLoss(o, t as Tensor), metrics: units });
  const standardized = evaluate(model, loader, { loss: (o, t) => mseLoss(o, t as Tensor), metrics: { mae } }).testMae;
  assert.ok(Math.abs(e.testMae - want.overall.mae) <= 1e-4 * want.overall.mae, `${e.testMae} vs ${want.overall.mae}`);
  assert.ok(
    Math.abs(Math.sqrt(e.testMse) - want.overall.rmse) <= 1e-4 * want.overall.rmse,
    `${Math.sqrt(e.testMse)} vs ${want.overall.rmse}`,
  );
  assert.ok(want.overall.mae > 100 * standardized, `${want.overall.mae} in the targets' units, ${standardized} standardized`);
});
