/**
 * descent train --target on CSV data: a regression whose model has one output per target, trained
 * on --loss (mse by default) and reported by test MAE and RMSE; saved with its target columns, so
 * eval reports the same loss with each target's MAE, RMSE and R², and predict prints each row's
 * values. A linear model fitted to exactly linear data by L-BFGS predicts new rows by the formula.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, wholeAndResumed } from './run-cli.js';
import { readWeights } from '../../src/cli/weights.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-regression-cli-');
const write = (name: string, rows: (string | number)[][]): string => {
  const path = join(dir, name);
  writeFileSync(path, `${rows.map((r) => r.join(',')).join('\n')}\n`);
  return path;
};

/** y = 2a − 3b + 1 and z = a + b exactly, with a text-free id column and a noise feature c. */
function rows(n: number, seed: number): (string | number)[][] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
  const out: (string | number)[][] = [['a', 'y', 'b', 'c', 'z']];
  for (let i = 0; i < n; i++) {
    const a = Number((4 * rnd()).toFixed(3)),
      b = Number((4 * rnd()).toFixed(3));
    out.push([a, 2 * a - 3 * b + 1, b, Number(rnd().toFixed(3)), Number((a + b).toFixed(3))]);
  }
  return out;
}

const train = write('train.csv', rows(200, 3));
const testFile = write('test.csv', rows(50, 9));
const fields = (line: string) =>
  Object.fromEntries([...line.matchAll(/test (loss|mae|rmse) ([0-9.e+-]+)/g)].map((m) => [m[1], Number(m[2])]));

test('descent train --target: a linear model fitted by L-BFGS to linear targets; eval and predict read its targets back', async () => {
  const weights = join(dir, 'linear.safetensors');
  const t = await cli(
    'train',
    ...['--data', train, '--test-data', testFile, '--target', 'y,z', '--model', 'logreg', '--optimizer', 'lbfgs', '--full-batch'],
    ...['--line-search', 'strong-wolfe', '--epochs', '5', '--save', weights],
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /3 features, target columns "y", "z" \(regression\), 200 train \/ 50 test/);
  assert.match(t.out, /loss: mse \(train and test\)/);
  const last = t.out.split('\n').filter((l) => l.startsWith('step'));
  const f = fields(last[last.length - 1]);
  assert.ok(f.mae < 1e-3 && f.rmse < 1e-3, last[last.length - 1]);
  const saved = readWeights(weights);
  assert.deepEqual(saved.csv, { features: ['a', 'b', 'c'], targets: ['y', 'z'] });
  assert.equal(saved.classes, undefined);
  assert.deepEqual(saved.loss, { name: 'mse' });

  const sum = await cli('summary', '--weights', weights);
  assert.equal(sum.code, 0, sum.err);
  assert.match(sum.out, /Linear.*\[2\] +8\b/);
  const e = await cli('eval', '--weights', weights, '--data', testFile, '--json');
  assert.equal(e.code, 0, e.err);
  const r = JSON.parse(e.out);
  assert.deepEqual(r.criterion, { name: 'mse' });
  assert.ok(Math.abs(r.loss - f.loss) <= 1e-4 * Math.max(f.loss, 1e-6) + 1e-8, `${r.loss} vs ${f.loss}`);
  assert.deepEqual(
    r.report.perTarget.map((p: { name: string }) => p.name),
    ['y', 'z'],
  );
  for (const p of r.report.perTarget) assert.ok(p.r2 > 0.999999, JSON.stringify(p));

  // rows in another column order, without the targets, with an id column besides
  const fresh = write('fresh.csv', [
    ['id', 'c', 'b', 'a'],
    ['p', 0.1, 1, 2],
    ['q', -0.2, -1.5, 0.25],
  ]);
  const p = await cli('predict', '--weights', weights, fresh, '--json');
  assert.equal(p.code, 0, p.err);
  const got = p.out.split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(
    got.map((g) => g.row),
    [1, 2],
  );
  for (const [g, a, b] of [
    [got[0], 2, 1],
    [got[1], 0.25, -1.5],
  ] as const) {
    assert.ok(Math.abs(g.predicted.y - (2 * a - 3 * b + 1)) < 2e-3, JSON.stringify(g));
    assert.ok(Math.abs(g.predicted.z - (a + b)) < 2e-3, JSON.stringify(g));
  }
  const text = await cli('predict', '--weights', weights, fresh);
  const line = /fresh\.csv:1: y (-?[0-9.]+), z (-?[0-9.]+)$/m.exec(text.out);
  assert.ok(line && Math.abs(Number(line[1]) - 2) < 2e-3 && Math.abs(Number(line[2]) - 3) < 2e-3, text.out);
  const top = await cli('predict', '--weights', weights, fresh, '--top', '2');
  assert.equal(top.code, 2);
  assert.match(top.err, /--top ranks classes; .* is a regression model/);
  const lacking = write('lacking.csv', [
    ['a', 'c'],
    [1, 2],
  ]);
  const l = await cli('predict', '--weights', weights, lacking);
  assert.equal(l.code, 2);
  assert.match(l.err, /trained on the feature columns "a", "b", "c" \(targets "y", "z"\); this file lacks "b"/);
});

test('descent train --target --loss huber:δ: the test loss is that Huber loss, and eval reports the same', async () => {
  const weights = join(dir, 'huber.json');
  const t = await cli(
    'train',
    ...['--data', train, '--target', 'y', '--val-split', '0.25', '--standardize', '--loss', 'huber:0.5', '--epochs', '2'],
    ...['--batch-size', '32', '--save', weights],
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /loss: huber, delta 0\.5 \(train and test\)/);
  const last = fields(t.out.split('\n').filter((l) => l.startsWith('epoch'))[1]);
  assert.match(t.out, /final test mae [0-9.]+ {2}rmse [0-9.]+$/m);
  const e = await cli('eval', '--weights', weights, '--data', train, '--val-split', '0.25');
  assert.equal(e.code, 0, e.err);
  const loss = Number(/test loss ([0-9.e+-]+) \(huber, delta 0\.5, as trained\)/.exec(e.out)?.[1]);
  assert.ok(Math.abs(loss - last.loss) <= 5e-4 * last.loss, `${loss} vs ${last.loss}`);
  assert.match(e.out, new RegExp(`test mae ${last.mae.toPrecision(5).replace('.', '\\.')}`));
  assert.match(e.out, /^y +[0-9.]+ +[0-9.]+ +-?[0-9.]+$/m);
});

test('--standardize-targets: trained on standardized prices, reported and predicted in their units', async () => {
  // a price of order 10⁵: y = 2000a − 3000b + 100000 exactly
  const big = rows(200, 3).map((r, i) => (i === 0 ? r : [r[0], 2000 * Number(r[0]) - 3000 * Number(r[2]) + 100000, ...r.slice(2)]));
  const data = write('prices.csv', big);
  const weights = join(dir, 'prices.json');
  const t = await cli(
    'train',
    ...['--data', data, '--target', 'y', '--standardize-targets', '--val-split', '0.2', '--model', 'logreg', '--optimizer', 'lbfgs'],
    ...['--full-batch', '--line-search', 'strong-wolfe', '--epochs', '4', '--save', weights],
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /targets standardized with the mean and std of the training part/);
  assert.match(t.out, /loss: mse on the standardized targets \(train and test; MAE and RMSE in the targets' units\)/);
  const saved = readWeights(weights);
  assert.equal(saved.targetPreprocess?.mean.length, 1);
  assert.ok(saved.targetPreprocess!.std[0] > 1000, JSON.stringify(saved.targetPreprocess));
  const last = t.out
    .split('\n')
    .filter((l) => l.startsWith('step'))
    .pop()!;
  const f = fields(last);
  assert.ok(f.loss < 1e-8, last);
  const e = await cli('eval', '--weights', weights, '--data', data, '--val-split', '0.2', '--json');
  assert.equal(e.code, 0, e.err);
  const r = JSON.parse(e.out);
  // float32 prices of order 10⁵ carry about 0.01 of rounding
  assert.ok(r.report.overall.mae < 0.1, JSON.stringify(r.report));
  assert.ok(Math.abs(r.report.overall.mae - f.mae) <= 1e-3, `${r.report.overall.mae} vs ${f.mae}`);
  assert.ok(r.report.perTarget[0].r2 > 0.9999999);
  const fresh = write('fresh-prices.csv', [
    ['b', 'z', 'c', 'a'],
    [1, 3, 0, 2],
  ]);
  const p = await cli('predict', '--weights', weights, fresh, '--json');
  assert.equal(p.code, 0, p.err);
  const got = JSON.parse(p.out).predicted.y;
  assert.ok(Math.abs(got - (2000 * 2 - 3000 * 1 + 100000)) < 0.5, String(got));
  const refused = await cli('train', '--data', data, '--standardize-targets', '--val-split', '0.2');
  assert.equal(refused.code, 2);
  assert.match(refused.err, /--standardize-targets applies to a regression: name its target columns with --target/);
});

test('--ignore-columns: an id column is not a feature; the model remembers it, so eval leaves it out of a file holding it', async () => {
  const withId = write(
    'with-id.csv',
    rows(60, 5).map((r, i) => [i === 0 ? 'id' : 1000 + i, ...r]),
  );
  const weights = join(dir, 'ids.json');
  const t = await cli(
    'train',
    '--data',
    withId,
    '--target',
    'y',
    '--ignore-columns',
    'id,z',
    '--val-split',
    '0.2',
    '--epochs',
    '1',
    '--save',
    weights,
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /3 features, target column "y"/);
  assert.deepEqual(readWeights(weights).csv, { features: ['a', 'b', 'c'], targets: ['y'], ignored: ['id', 'z'] });
  const trainLoss = Number(/test loss ([0-9.]+)/.exec(t.out)?.[1]);
  // the saved ignored columns are left out without the flag, and with it as given
  const e = await cli('eval', '--weights', weights, '--data', withId, '--val-split', '0.2', '--json');
  assert.equal(e.code, 0, e.err);
  // train prints the test loss to 4 decimals
  assert.ok(Math.abs(JSON.parse(e.out).loss - trainLoss) <= 5.001e-5, `${JSON.parse(e.out).loss} vs ${trainLoss}`);
  const given = await cli('eval', '--weights', weights, '--data', withId, '--val-split', '0.2', '--ignore-columns', 'id,z', '--json');
  assert.equal(given.code, 0, given.err);
  assert.equal(JSON.parse(given.out).loss, JSON.parse(e.out).loss);
  // a file without them is read as well, and one with another extra column is refused naming it and the flag
  const bare = write(
    'bare.csv',
    rows(60, 5).map((r) => [r[0], r[1], r[2], r[3]]),
  );
  const b = await cli('eval', '--weights', weights, '--data', bare, '--val-split', '0.2', '--json');
  assert.equal(b.code, 0, b.err);
  assert.equal(JSON.parse(b.out).loss, JSON.parse(e.out).loss);
  const other = write(
    'other-extra.csv',
    rows(60, 5).map((r, i) => [...r, i === 0 ? 'w' : 1]),
  );
  const refused = await cli('eval', '--weights', weights, '--data', other, '--val-split', '0.2');
  assert.equal(refused.code, 2);
  assert.match(refused.err, /this file has "w" besides \(--ignore-columns w leaves it out\)$/);
  // a text column is not a number, so without the flag the file cannot be read at all
  const text = write(
    'with-text.csv',
    rows(60, 5).map((r, i) => [i === 0 ? 'name' : `row ${i}`, ...r]),
  );
  const unread = await cli('train', '--data', text, '--target', 'y', '--val-split', '0.2', '--epochs', '1');
  assert.equal(unread.code, 1);
  assert.match(
    unread.err,
    /with-text\.csv:2: column 0 \("name"\): "row 1" is not a number \(--one-hot name encodes a text column, --ignore-columns name leaves it out\)$/,
  );
  const named = await cli('train', '--data', text, '--target', 'y', '--ignore-columns', 'name', '--val-split', '0.2', '--epochs', '1');
  assert.equal(named.code, 0, named.err);
  const bad = await cli('train', '--data', withId, '--target', 'y', '--ignore-columns', 'y', '--val-split', '0.2');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /"y" is a target column; it cannot be ignored/);
});

test('--impute median: missing features are filled with the training medians, saved for eval and predict', async () => {
  const holed = (r: (string | number)[][]) => r.map((row, i) => (i > 0 && i % 4 === 1 ? [row[0], row[1], 'NA', ...row.slice(3)] : row));
  const trainHoles = write('train-holes.csv', holed(rows(80, 3)));
  const testHoles = write('test-holes.csv', holed(rows(20, 9)));
  const plain = await cli('train', '--data', trainHoles, '--test-data', testHoles, '--target', 'y', '--epochs', '1');
  assert.equal(plain.code, 1);
  assert.match(plain.err, /train-holes\.csv:2: column 2 \("b"\): "NA" is a missing value; .* \(--impute mean\|median fills them\)$/);
  const weights = join(dir, 'holes.json');
  const t = await cli(
    'train',
    '--data',
    trainHoles,
    '--test-data',
    testHoles,
    '--target',
    'y',
    '--impute',
    'median',
    '--epochs',
    '2',
    '--save',
    weights,
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /missing features filled with the median of the training part/);
  // the medians of the training file's present values, column by column (a, b, c, z)
  const present = rows(80, 3)
    .slice(1)
    .filter((_, i) => i % 4 !== 0);
  const median = (v: number[]) => {
    const s = [...v].sort((x, y) => x - y);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const all = rows(80, 3).slice(1);
  const want = [median(all.map((r) => Math.fround(Number(r[0])))), median(present.map((r) => Math.fround(Number(r[2]))))];
  const saved = readWeights(weights).impute!;
  assert.equal(saved.strategy, 'median');
  assert.deepEqual(saved.values.slice(0, 2), want);
  const e = await cli('eval', '--weights', weights, '--data', testHoles);
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, /missing features filled with the saved medians of the model/);
  // a row with a missing b scores as the row with b written as the saved median
  const missing = write('predict-hole.csv', [
    ['a', 'b', 'c', 'z'],
    [1, '', 0.1, 2],
  ]);
  const written = write('predict-filled.csv', [
    ['a', 'b', 'c', 'z'],
    [1, saved.values[1], 0.1, 2],
  ]);
  const p1 = await cli('predict', '--weights', weights, missing, '--json');
  const p2 = await cli('predict', '--weights', weights, written, '--json');
  assert.equal(p1.code, 0, p1.err);
  assert.equal(JSON.parse(p1.out).predicted.y, JSON.parse(p2.out).predicted.y);
  const other = join(dir, 'no-impute.json');
  assert.equal((await cli('train', '--data', train, '--target', 'y', '--val-split', '0.2', '--epochs', '1', '--save', other)).code, 0);
  const refused = await cli('predict', '--weights', other, missing);
  assert.equal(refused.code, 1);
  assert.match(
    refused.err,
    /predict-hole\.csv:2: column 1 \("b"\): is empty, a missing value; .* \(the model .*no-impute\.json was trained without --impute\)$/,
  );
});

test('descent train --target: a run resumed from its checkpoint ends where the uninterrupted run ends', async () => {
  const args = ['--data', train, '--target', 'z', '--val-split', '0.2', '--batch-size', '16', '--seed', '4'];
  const ck = join(dir, 'ck');
  const { whole, resumed } = await wholeAndResumed(args, ck);
  assert.deepEqual(resumed, whole);
  assert.ok(typeof whole.testMae === 'number' && typeof whole.testMse === 'number');
});

test('descent train --target --early-stop-monitor mae --save-best: the best epoch by test MAE is the one saved and restored', async () => {
  const best = join(dir, 'best.json');
  const r = await cli(
    'train',
    ...['--data', train, '--target', 'y', '--val-split', '0.2', '--epochs', '6', '--lr', '0.05', '--batch-size', '8', '--json'],
    ...['--early-stop', '1', '--early-stop-monitor', 'mae', '--save-best', best],
  );
  assert.equal(r.code, 0, r.err);
  const records = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  // Keras' rule on the records' own MAEs: the lowest so far is the best; patience 1 stops at the first epoch without one
  let bestMae = Infinity;
  let bestEpoch = 0;
  for (const rec of records) if (rec.testMae < bestMae) [bestMae, bestEpoch] = [rec.testMae, rec.epoch];
  const e = await cli('eval', '--weights', best, '--data', train, '--val-split', '0.2', '--json');
  assert.equal(e.code, 0, e.err);
  const report = JSON.parse(e.out).report;
  assert.ok(Math.abs(report.overall.mae - bestMae) <= 1e-5 * bestMae, `${report.overall.mae} vs ${bestMae} (epoch ${bestEpoch})`);
});

test('descent train --target: the flags of class labels, and a regression loss without targets, are refused in one line', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['--target', 'y', '--label-smoothing', '0.1'],
      /--label-smoothing is an option of the cross-entropy of class labels; --target trains a regression/,
    ],
    [['--target', 'y', '--class-weights', 'balanced'], /--class-weights is an option of the cross-entropy/],
    [['--target', 'y', '--mixup', '0.2'], /--mixup mixes one-hot class labels/],
    [['--target', 'y', '--ensemble', '2'], /--ensemble reports the members' and the ensemble's accuracy; --target trains a regression/],
    [['--target', 'y', '--ema', '0.9'], /--ema reports the average's accuracy/],
    [
      ['--target', 'y', '--early-stop', '1', '--early-stop-monitor', 'accuracy'],
      /--early-stop-monitor accuracy: a regression \(--target\) has no accuracy/,
    ],
    [['--target', 'y', '--loss', 'cross-entropy'], /--loss cross-entropy takes class labels/],
    [['--target', 'y', '--loss', 'huber:-1'], /--loss huber:-1: delta must be a number > 0/],
    [['--target', 'y', '--loss', 'mse:2'], /--loss mse takes no parameter/],
    [['--loss', 'l1'], /--loss l1: a regression loss needs float targets; name them with --target COL/],
    [
      ['--save-best', join(dir, 'never.json'), '--save-best-monitor', 'mae'],
      /--save-best-monitor mae: the test MAE is a regression's figure/,
    ],
    [['--target', 'y', '--label-column', 'a'], /--target and --label-column exclude each other/],
    [['--target', 'y,'], /--target: expected COL or COL,COL,…/],
  ];
  for (const [flags, want] of cases) {
    const r = await cli('train', '--data', train, '--val-split', '0.2', '--epochs', '1', ...flags);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.err}`);
    assert.match(r.err, want);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  const missing = await cli('train', '--data', train, '--val-split', '0.2', '--target', 'price');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^descent train: .*train\.csv:1: no target column named "price" \(columns: "a", "y", "b", "c", "z"\)$/);
  const idx = await cli('train', '--data', 'embedded', '--target', 'y', '--epochs', '1');
  assert.equal(idx.code, 2);
  assert.match(idx.err, /--target applies to CSV data, not to the embedded Fashion-MNIST/);
});
