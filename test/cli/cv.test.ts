/**
 * descent train --cv K and --stratify: K ordinary runs, one per fold, whose final test figures are
 * printed with their mean and population std; a fold's run equals training on its training part
 * with the fold as --test-data (same initialisation, --standardize fitted on that part); each
 * refusal names its flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { tempDir } from '../tmp-dir.js';
import { complementIndices, kFold, Rng } from '../../src/index.js';
import { dataReads } from '../../src/cli/data.js';

const dir = tempDir('descent-cv-cli-');
const header = 'a,b,c,species';
/** 90 rows, 30 of each class (interleaved), the class readable from a and b; an odd last class "w" of one row with `odd`. */
function rows(odd = false): string[] {
  let s = 11;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
  const out: string[] = [];
  for (let i = 0; i < 90; i++) {
    const k = i % 3;
    out.push(`${(k + rnd()).toFixed(3)},${(2 * k + rnd()).toFixed(3)},${(10 * rnd()).toFixed(3)},${['x', 'y', 'z'][k]}`);
  }
  if (odd) out.push('0.5,0.5,0.5,w');
  return out;
}
const write = (name: string, lines: string[]): string => {
  const path = join(dir, name);
  writeFileSync(path, `${[header, ...lines].join('\n')}\n`);
  return path;
};
const data = write('d.csv', rows());
const oddData = write('odd.csv', rows(true));
const regression = join(dir, 'r.csv');
writeFileSync(regression, `x,y\n${Array.from({ length: 40 }, (_, i) => `${i / 10},${(3 * i) / 10 + 1}`).join('\n')}\n`);

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const popStd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

test('descent train --cv 3: three folds, then the mean ± population std of the figures printed for them', async () => {
  const before = dataReads.count;
  const r = await cli('train', '--data', data, '--label-column', 'species', '--cv', '3', '--epochs', '2', '--standardize', '--seed', '4');
  assert.equal(r.code, 0, r.err);
  assert.equal(dataReads.count - before, 1, 'the CSV file is read once for the three folds');
  const lines = r.out.split('\n');
  assert.equal(lines.filter((l) => /held out as fold [123] of --cv 3 \(seed 4\), standardized/.test(l)).length, 3, r.out);
  assert.match(r.out, /60 train \/ 30 held out as fold 1 of --cv 3/);
  const folds = lines.map((l) => /^fold (\d)\/3: test loss ([0-9.]+) {2}test acc ([0-9.]+)$/.exec(l)).filter((m) => m !== null);
  assert.deepEqual(
    folds.map((m) => m[1]),
    ['1', '2', '3'],
  );
  const loss = folds.map((m) => Number(m[2]));
  const acc = folds.map((m) => Number(m[3]));
  const s =
    /^cv 3 folds: test loss ([0-9.]+) ± ([0-9.]+) {2}test acc ([0-9.]+) ± ([0-9.]+) {2}\(mean ± std over the folds; the population std, ddof 0/m.exec(
      r.out,
    );
  assert.ok(s, r.out);
  // the printed figures are rounded to 4 decimals: the mean of the rounded ones is within 5e-5 of the rounded mean
  assert.ok(Math.abs(Number(s[1]) - mean(loss)) <= 1e-4, `${s[1]} vs ${mean(loss)}`);
  assert.ok(Math.abs(Number(s[2]) - popStd(loss)) <= 2e-4, `${s[2]} vs ${popStd(loss)}`);
  assert.ok(Math.abs(Number(s[3]) - mean(acc)) <= 1e-4, `${s[3]} vs ${mean(acc)}`);
  assert.ok(Math.abs(Number(s[4]) - popStd(acc)) <= 2e-4, `${s[4]} vs ${popStd(acc)}`);
});

test('descent train --cv --json: one record per fold and a summary of exact means and population stds; a fold equals its run with --test-data', async () => {
  const args = ['--label-column', 'species', '--epochs', '2', '--standardize', '--seed', '6', '--json'];
  const r = await cli('train', '--data', data, '--cv', '3', ...args);
  assert.equal(r.code, 0, r.err);
  const recs = r.out.split('\n').map((l) => JSON.parse(l));
  assert.equal(recs.length, 4, r.out);
  assert.deepEqual(
    recs.slice(0, 3).map((x) => [x.cv, x.fold, x.epoch]),
    [
      [3, 1, 2],
      [3, 2, 2],
      [3, 3, 2],
    ],
  );
  const sum = recs[3];
  assert.equal(sum.ddof, 0);
  for (const key of ['testLoss', 'testAccuracy']) {
    const xs = recs.slice(0, 3).map((x) => x[key] as number);
    assert.ok(Math.abs(sum.mean[key] - mean(xs)) < 1e-12, key);
    assert.ok(Math.abs(sum.std[key] - popStd(xs)) < 1e-12, key);
  }
  const losses = recs.slice(0, 3).map((x) => x.testLoss as number);
  assert.ok(new Set(losses).size === 3, 'the folds differ');
  // population std (ddof 0), not the sample std (ddof 1)
  const sampleStd = Math.sqrt((popStd(losses) ** 2 * 3) / 2);
  assert.ok(Math.abs(sum.std.testLoss - sampleStd) > 1e-9);

  // fold 2 is the run on the other folds' rows, tested on its rows: the same seed, so the same
  // initialisation and batch order, and --standardize fitted on those 60 rows only
  const lines = rows();
  const folds = kFold(lines.length, 3, new Rng(6).fork('cv'));
  const trainRows = Array.from(complementIndices(lines.length, folds[1]), (i) => lines[i]);
  const testRows = Array.from(folds[1], (i) => lines[i]);
  const alone = await cli('train', ...['--data', write('f2-train.csv', trainRows), '--test-data', write('f2-test.csv', testRows), ...args]);
  assert.equal(alone.code, 0, alone.err);
  const last = JSON.parse(alone.out.split('\n').pop() as string);
  assert.equal(recs[1].testLoss, last.testLoss);
  assert.equal(recs[1].testAccuracy, last.testAccuracy);
});

test('descent train --cv --stratify: stratified folds of 30 (the per-class counts: test/data/folds.test.ts); --target: MAE and RMSE', async () => {
  const r = await cli('train', '--data', data, '--label-column', 'species', '--cv', '3', '--stratify', '--epochs', '1');
  assert.equal(r.code, 0, r.err);
  assert.equal((r.out.match(/60 train \/ 30 held out as fold \d of --cv 3 stratified \(seed 1\)/g) ?? []).length, 3, r.out);
  const g = await cli('train', '--data', regression, '--target', 'y', '--cv', '4', '--epochs', '1', '--model', 'logreg');
  assert.equal(g.code, 0, g.err);
  assert.equal((g.out.match(/^fold \d\/4: test loss [0-9.]+ {2}test mae [0-9.e+-]+ {2}test rmse [0-9.e+-]+$/gm) ?? []).length, 4, g.out);
  assert.match(
    g.out,
    /^cv 4 folds: test loss [0-9.]+ ± [0-9.]+ {2}test mae [0-9.e+-]+ ± [0-9.e+-]+ {2}test rmse [0-9.e+-]+ ± [0-9.e+-]+ /m,
  );
});

test('descent train --val-split --stratify: round(0.2 · 90) held out, stratified', async () => {
  const a = await cli('train', '--data', data, '--label-column', 'species', '--val-split', '0.2', '--stratify', '--epochs', '1');
  assert.equal(a.code, 0, a.err);
  assert.match(a.out, /72 train \/ 18 held out by --val-split 0\.2 stratified \(seed 1\)/);
});

test('--cv and --stratify refusals: one line naming the flag, exit 2', async () => {
  const base = ['train', '--data', data, '--label-column', 'species', '--epochs', '1'];
  const cases: [string[], RegExp][] = [
    [[...base, '--cv', '3', '--save', join(dir, 'm.json')], /^descent train: --cv 3 trains 3 models .*: --save does not apply/],
    [
      [...base, '--cv', '3', '--save', join(dir, 'm.json'), '--checkpoint-dir', join(dir, 'ck')],
      /: --save, --checkpoint-dir do not apply; train once without --cv/,
    ],
    [[...base, '--cv', '3', '--save-best', join(dir, 'b.json')], /--save-best does not apply/],
    [[...base, '--cv', '3', '--ensemble', '2'], /--ensemble does not apply/],
    [[...base, '--cv', '3', '--snapshots', '2'], /--snapshots does not apply/],
    [['train', '--resume', join(dir, 'ck'), '--cv', '3'], /--resume does not apply/],
    [[...base, '--cv', '3', '--val-split', '0.2'], /--cv 3 and --val-split 0\.2 both hold out data to test on/],
    [
      [...base, '--cv', '3', '--test-data', data],
      /--cv applies to data without a test set, and --test-data .*d\.csv gives one; drop one of them/,
    ],
    [
      ['train', '--data', 'embedded', '--cv', '3', '--epochs', '1'],
      /--cv applies to data without a test set; embedded Fashion-MNIST subset has one/,
    ],
    [[...base, '--cv', '1'], /--cv/],
    [['train', '--data', regression, '--target', 'y', '--cv', '100', '--epochs', '1'], /--cv 100: 40 samples cannot make 100 folds/],
    [
      [...base, '--cv', '31', '--stratify'],
      /--cv 31 --stratify: k = 31 is larger than the count of every class \(the largest has 30 samples\)/,
    ],
    [[...base, '--stratify'], /--stratify applies to a held-out part: give --val-split F \(or --cv K to train\)/],
    [
      ['train', '--data', regression, '--target', 'y', '--val-split', '0.2', '--stratify'],
      /--stratify .*a regression \(--target\) has no classes/,
    ],
    [
      ['train', '--data', oddData, '--label-column', 'species', '--val-split', '0.2', '--stratify'],
      /--val-split 0\.2 --stratify: class "w" has 1 sample/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}\n${r.err}`);
    assert.match(r.err, re, args.join(' '));
    assert.equal(r.err.split('\n').length, 1, r.err);
    assert.doesNotMatch(r.err, /\n\s+at /);
    assert.doesNotMatch(r.out, /^fold/m);
  }
});
