/**
 * Regression data: RegressionDataset (inputs with float targets [N, T]) and loadCsvRegression, which
 * reads the target columns of a CSV file by name or index and every other column as a feature.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegressionDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import {
  applyImpute,
  checkImpute,
  fitImpute,
  imputeDataset,
  fitStandardize,
  fitTargetStandardize,
  preprocessDataset,
  randomSplit,
  standardizeTargets,
  unstandardize,
} from '../../src/data/preprocess.js';
import { loadCsv, loadCsvRegression } from '../../src/data/csv.js';
import { Rng } from '../../src/tensor/rng.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-regression-');
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Four samples of 2 features (1,2 / 3,4 / …) with 2 targets (10·i, −i). */
const four = () =>
  new RegressionDataset({
    images: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
    targets: Float32Array.from([0, -0, 10, -1, 20, -2, 30, -3]),
    shape: [1, 1, 2],
    targetNames: ['ten', 'minus'],
    name: 'four',
  });

test('RegressionDataset: a batch is x [B, C, H, W] and y [B, T], the rows at the indices asked for', () => {
  const ds = four();
  assert.equal(ds.length, 4);
  const b = ds.collate([2, 0]);
  assert.deepEqual(b.x.shape, [2, 1, 1, 2]);
  assert.deepEqual(Array.from(b.x.data), [5, 6, 1, 2]);
  assert.deepEqual(b.y.shape, [2, 2]);
  assert.deepEqual(Array.from(b.y.data), [20, -2, 0, -0]);
  const flat = new DataLoader(ds, { batchSize: 3, flatten: true }).epoch(0).next().value!;
  assert.deepEqual(flat.x.shape, [3, 2]);
  assert.deepEqual(Array.from(flat.y.data), [0, -0, 10, -1, 20, -2]);
  assert.deepEqual(Array.from(ds.subset([3, 1]).targets), [30, -3, 10, -1]);
  assert.deepEqual(Array.from(ds.slice(1, 3).images), [3, 4, 5, 6]);
  assert.deepEqual(Array.from(ds.slice(-1).targets), [30, -3]);
});

test('RegressionDataset: standardization and a seeded split keep each sample with its targets', () => {
  const ds = four();
  const p = fitStandardize(ds);
  assert.deepEqual(p.mean, [4, 5]);
  const z = preprocessDataset(p, ds);
  assert.ok(z instanceof RegressionDataset);
  assert.deepEqual(Array.from(z.targets), Array.from(ds.targets));
  assert.deepEqual(z.targetNames, ['ten', 'minus']);
  const { train, val } = randomSplit(ds, 0.5, new Rng(3));
  assert.ok(train instanceof RegressionDataset && val instanceof RegressionDataset);
  for (const part of [train, val])
    for (let i = 0; i < part.length; i++) {
      // sample k has features 2k+1, 2k+2 and targets 10k, −k
      const k = (part.images[2 * i] - 1) / 2;
      assert.deepEqual([part.targets[2 * i], part.targets[2 * i + 1]], [10 * k, -k]);
    }
});

test('RegressionDataset: inconsistent sizes and non-finite targets are refused naming the data set', () => {
  const base = { images: new Float32Array(4), shape: [1, 1, 2] as const, targetNames: ['y'], name: 'd' };
  assert.throws(() => new RegressionDataset({ ...base, targets: new Float32Array(3) }), /d: 3 samples need 3 × 2 = 6 input values, got 4/);
  assert.throws(() => new RegressionDataset({ ...base, targets: Float32Array.from([1, NaN]) }), /d: target 0 of sample 1 is NaN/);
  assert.throws(
    () => new RegressionDataset({ ...base, targets: new Float32Array(2), targetNames: [] }),
    /d: targetNames must not be empty/,
  );
  assert.throws(
    () => new RegressionDataset({ ...base, targets: new Float32Array(3), targetNames: ['a', 'b'] }),
    /d: 3 target values are not a whole number of samples of 2 targets/,
  );
});

test('loadCsvRegression: targets by name or index in the order given, every other column a feature in file order', async () => {
  const p = file('houses.csv', 'rooms,price,area,rent\n3,300.5,80,1.5\n4,410,95.5,2\n2,150,50,1\n');
  const d = await loadCsvRegression(p, { targets: ['rent', 1] });
  assert.deepEqual(d.targetNames, ['rent', 'price']);
  assert.deepEqual(d.featureNames, ['rooms', 'area']);
  assert.deepEqual(d.train.shape, [1, 1, 2]);
  assert.deepEqual(Array.from(d.train.images), [3, 80, 4, 95.5, 2, 50]);
  assert.deepEqual(Array.from(d.train.targets), [1.5, 300.5, 2, 410, 1, 150]);
  assert.equal(d.test, undefined);
  const t = file('houses-test.csv', 'rooms,price,area,rent\n5,500,120,3\n');
  const both = await loadCsvRegression(p, { targets: ['-1'], testPath: t });
  assert.deepEqual(both.targetNames, ['rent']);
  assert.deepEqual(Array.from(both.test!.targets), [3]);
  assert.deepEqual(Array.from(both.test!.images), [5, 500, 120]);
});

test('loadCsvRegression: errors name the file, the line and the column', async () => {
  const p = file('bad.csv', 'a,y\n1,2\n3,abc\n');
  await assert.rejects(loadCsvRegression(p, { targets: ['y'] }), /bad\.csv:3: column 1 \("y"\): "abc" is not a number/);
  const empty = file('empty-target.csv', 'a,y\n1,\n');
  await assert.rejects(
    loadCsvRegression(empty, { targets: ['y'] }),
    /empty-target\.csv:2: column 1 \("y"\): is empty, a missing value; every target needs a number/,
  );
  const ok = file('ok.csv', 'a,y\n1,2\n');
  await assert.rejects(loadCsvRegression(ok, { targets: ['price'] }), /ok\.csv:1: no target column named "price" \(columns: "a", "y"\)/);
  await assert.rejects(loadCsvRegression(ok, { targets: ['y', '1'] }), /the target column "y" is given twice/);
  await assert.rejects(loadCsvRegression(ok, { targets: ['a', 'y'] }), /every column is a target \("a", "y"\); expected feature columns/);
  await assert.rejects(loadCsvRegression(ok, { targets: [5] }), /target column index 5 is out of range: the header has 2 columns/);
  await assert.rejects(loadCsvRegression(ok, { targets: [] }), /no target column given/);
  const other = file('other.csv', 'a,z\n1,2\n');
  await assert.rejects(loadCsvRegression(ok, { targets: ['y'], testPath: other }), /other\.csv:1: no target column named "y"/);
  const moved = file('moved.csv', 'y,a\n2,1\n');
  await assert.rejects(
    loadCsvRegression(ok, { targets: ['y'], testPath: moved }),
    /moved\.csv: header differs from the one of .*ok\.csv: column 0 is "y" here, "a" there/,
  );
});

test('ignoreColumns: the columns named are not read, by classification and regression readers alike', async () => {
  const p = file('ids.csv', 'id,x,name,y,label\n7,1.5,ann,2,a\n8,2.5,bob,3,b\n');
  const r = await loadCsvRegression(p, { targets: ['y'], ignoreColumns: ['id', 'name', 'label'] });
  assert.deepEqual(r.featureNames, ['x']);
  assert.deepEqual(Array.from(r.train.images), [1.5, 2.5]);
  const c = await loadCsv(p, { ignoreColumns: ['0', 'name'] });
  assert.deepEqual(c.featureNames, ['x', 'y']);
  assert.deepEqual(Array.from(c.train.images), [1.5, 2, 2.5, 3]);
  await assert.rejects(loadCsv(p, { ignoreColumns: ['label'] }), /ids\.csv:1: "label" is the label column; it cannot be ignored/);
  await assert.rejects(loadCsvRegression(p, { targets: ['y'], ignoreColumns: [3] }), /"y" is a target column; it cannot be ignored/);
  await assert.rejects(loadCsv(p, { ignoreColumns: ['id', 'id'] }), /the column to ignore "id" is given twice/);
  await assert.rejects(
    loadCsv(p, { ignoreColumns: ['ssn'] }),
    /no column to ignore named "ssn" \(columns: "id", "x", "name", "y", "label"\)/,
  );
  await assert.rejects(
    loadCsvRegression(p, { targets: ['y'], ignoreColumns: ['id', 'x', 'name', 'label'] }),
    /every column is the label, a target or ignored/,
  );
});

test('target standardization: fitted on the training targets, applied and undone column by column', () => {
  const ds = four();
  const p = fitTargetStandardize(ds);
  assert.deepEqual(p.mean, [15, -1.5]);
  assert.deepEqual(
    p.std.map((v) => Number(v.toFixed(12))),
    [Number(Math.sqrt(125).toFixed(12)), Number(Math.sqrt(1.25).toFixed(12))],
  );
  const z = standardizeTargets(p, ds);
  assert.deepEqual(Array.from(z.images), Array.from(ds.images));
  const back = unstandardize(p, z.targets);
  back.forEach((v, i) => assert.ok(Math.abs(v - ds.targets[i]) < 1e-5, `${i}: ${v} vs ${ds.targets[i]}`));
  const constant = new RegressionDataset({
    images: new Float32Array(2),
    targets: Float32Array.from([4, 4]),
    shape: [1, 1, 1],
    targetNames: ['c'],
  });
  assert.deepEqual(fitTargetStandardize(constant), { kind: 'standardize', mean: [4], std: [1] });
  assert.throws(() => standardizeTargets(fitTargetStandardize(constant), ds), /fitted on 1 targets, but four has 2/);
});

test('missing values: read as NaN when allowed (pandas na_values), filled by the training mean or median', async () => {
  const p = file('holes.csv', 'a,b,y\n1,,10\nNA,4,11\n3,NaN,12\n10,null,13\n,2,14\n');
  await assert.rejects(
    loadCsvRegression(p, { targets: ['y'] }),
    /holes\.csv:2: column 1 \("b"\): is empty, a missing value; every feature needs a number unless missing features are imputed$/,
  );
  const d = await loadCsvRegression(p, { targets: ['y'], allowMissing: true });
  assert.deepEqual(Array.from(d.train.images), [1, NaN, NaN, 4, 3, NaN, 10, NaN, NaN, 2]);
  // a: 1, 3, 10 present; b: 4, 2 present
  assert.deepEqual(fitImpute(d.train, 'mean').values, [14 / 3, 3]);
  assert.deepEqual(fitImpute(d.train, 'median').values, [3, 3]);
  const filled = imputeDataset(fitImpute(d.train, 'median'), d.train);
  assert.deepEqual(Array.from(filled.images), [1, 3, 3, 4, 3, 3, 10, 3, 3, 2]);
  assert.deepEqual(Array.from(filled.targets), [10, 11, 12, 13, 14]);
  assert.deepEqual(Array.from(applyImpute({ kind: 'impute', strategy: 'mean', values: [0.5] }, [NaN, 2])), [0.5, 2]);
  // an even count's median is the mean of the two middle values, as numpy.median
  const even = await loadCsvRegression(file('even.csv', 'a,y\n1,0\n9,0\n4,0\n,0\n2,0\n'), { targets: ['y'], allowMissing: true });
  assert.deepEqual(fitImpute(even.train, 'median').values, [3]);
  const target = file('no-target.csv', 'a,y\n1,\n');
  await assert.rejects(
    loadCsvRegression(target, { targets: ['y'], allowMissing: true }),
    /column 1 \("y"\): is empty, a missing value; every target needs a number$/,
  );
  const empty = await loadCsvRegression(file('all-missing.csv', 'a,b,y\n1,NA,0\n2,,0\n'), { targets: ['y'], allowMissing: true });
  assert.throws(() => fitImpute(empty.train, 'mean', empty.featureNames), /feature 1 \("b"\) has no value in the 2 training samples/);
  const labelled = await loadCsv(file('labelled-holes.csv', 'a,label\n,x\n2,y\n'), { allowMissing: true });
  assert.ok(Number.isNaN(labelled.train.images[0]));
  assert.throws(
    () => checkImpute({ kind: 'impute', strategy: 'mode', values: [1] }),
    /impute: strategy "mode"; expected "mean" or "median"/,
  );
  assert.throws(() => checkImpute({ kind: 'impute', strategy: 'mean', values: [NaN] }, 1), /values\[0\] is NaN, expected a finite number/);
  assert.throws(() => checkImpute({ kind: 'impute', strategy: 'mean', values: [1] }, 2), /fitted on 1 features, but the samples have 2/);
});
