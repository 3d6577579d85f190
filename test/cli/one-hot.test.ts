/**
 * descent train --one-hot: a text column becomes one 0/1 feature per category of the training file,
 * the categories are saved with the model, and eval and predict encode the files they read in them
 * (the raw column in the file, an unseen or missing value all zeros). The targets here depend on the
 * category, so a linear model fits them only through the encoding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, lastRecord, wholeAndResumed } from './run-cli.js';
import { readWeights } from '../../src/cli/weights.js';
import { tempDir } from '../tmp-dir.js';
import { Dataset, Rng, randomSplit } from '../../src/index.js';

const dir = tempDir('descent-one-hot-cli-');
const write = (name: string, rows: (string | number)[][]): string => {
  const path = join(dir, name);
  writeFileSync(path, `${rows.map((r) => r.join(',')).join('\n')}\n`);
  return path;
};

/** Each city's term of y; their sorted order (Berlin, Oslo, Paris, Rome) is not the order they come in. */
const EFFECT: Record<string, number> = { Oslo: 3, Paris: -2, Berlin: 0.5, Rome: 5 };
const CITIES = ['Oslo', 'Paris', 'Berlin', 'Rome'];

/** Rows of (id, x, city, y) with y = 2x + EFFECT[city] exactly (to 3 decimals), and a text id. */
function rows(n: number, seed: number): (string | number)[][] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: (string | number)[][] = [['id', 'x', 'city', 'y']];
  for (let i = 0; i < n; i++) {
    const x = Number((4 * rnd() - 2).toFixed(3));
    const city = CITIES[Math.floor(rnd() * CITIES.length)];
    out.push([`r${seed}-${i}`, x, city, Number((2 * x + EFFECT[city]).toFixed(3))]);
  }
  return out;
}

const train = write('train.csv', rows(120, 3));
const testFile = write('test.csv', rows(40, 9));
const lastStep = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('step'))
    .pop() as string;
const testLoss = (line: string) => Number(/test loss ([0-9.]+)/.exec(line)?.[1]);

test('descent train --one-hot: a linear model fits a target set by the category; eval and predict encode their files with the saved categories', async () => {
  const weights = join(dir, 'linear.safetensors');
  const lbfgs = ['--model', 'logreg', '--optimizer', 'lbfgs', '--full-batch', '--line-search', 'strong-wolfe', '--epochs', '5'];
  // without the encoding the city is text, and the refusal names the flag
  const text = await cli('train', '--data', train, '--test-data', testFile, '--target', 'y', '--ignore-columns', 'id', ...lbfgs);
  assert.equal(text.code, 1);
  assert.match(
    text.err,
    /train\.csv:2: column 2 \("city"\): "[A-Za-z]+" is not a number \(--one-hot city encodes a text column, --ignore-columns city leaves it out\)$/,
  );
  const t = await cli(
    'train',
    ...['--data', train, '--test-data', testFile, '--target', 'y', '--ignore-columns', 'id', '--one-hot', 'city'],
    ...lbfgs,
    ...['--save', weights],
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /5 features, target column "y" \(regression\), one-hot "city" \(4 categories\), 120 train \/ 40 test/);
  const last = lastStep(t.out);
  assert.ok(Number(/test mae ([0-9.e+-]+)/.exec(last)?.[1]) < 1e-3, last);
  const saved = readWeights(weights);
  assert.deepEqual(saved.csv, {
    features: ['x', 'city_Berlin', 'city_Oslo', 'city_Paris', 'city_Rome'],
    targets: ['y'],
    ignored: ['id'],
    oneHot: [{ column: 'city', categories: ['Berlin', 'Oslo', 'Paris', 'Rome'] }],
  });
  assert.deepEqual(saved.inputShape, [1, 1, 5]);

  // the input is the encoded width: 5 weights and a bias
  const sum = await cli('summary', '--weights', weights);
  assert.equal(sum.code, 0, sum.err);
  assert.match(sum.out, /Linear\(5→1\)/);

  // eval of the test file (with its id column: the model left it out) gives the test loss train printed
  const e = await cli('eval', '--weights', weights, '--data', testFile, '--json');
  assert.equal(e.code, 0, e.err);
  const r = JSON.parse(e.out);
  assert.ok(Math.abs(r.loss - testLoss(last)) <= 5.001e-5, `${r.loss} vs ${last}`);
  assert.ok(r.report.overall.r2 > 0.999999, JSON.stringify(r.report.overall));
  assert.match(r.data, /one-hot "city" \(4 categories\)/);

  // new rows, columns in another order: known cities by the formula; an unseen city and a missing one
  // are all zeros, so both score as the model's value with no city term (they differ by 2x only)
  const fresh = write('fresh.csv', [
    ['city', 'x'],
    ['Rome', 1],
    ['Oslo', -0.5],
    ['Lima', 1],
    ['', 0],
    ['NA', 1],
  ]);
  const p = await cli('predict', '--weights', weights, fresh, '--json');
  assert.equal(p.code, 0, p.err);
  const y = p.out.split('\n').map((l) => JSON.parse(l).predicted.y as number);
  assert.equal(y.length, 5);
  assert.ok(Math.abs(y[0] - 7) < 2e-3 && Math.abs(y[1] - 2) < 2e-3, JSON.stringify(y));
  assert.ok(Math.abs(y[2] - y[3] - 2) < 2e-3, JSON.stringify(y));
  assert.equal(y[4], y[2]);
  // the no-city value is the bias: none of the cities' values (each city's is the bias plus its weight)
  for (const c of CITIES) assert.ok(Math.abs(y[3] - EFFECT[c]) > 0.1, JSON.stringify(y));

  // a file without the one-hot column is refused naming the raw column, by eval and predict
  const lacking = write('lacking.csv', [
    ['x', 'y'],
    [1, 2],
  ]);
  const el = await cli('eval', '--weights', weights, '--data', lacking);
  assert.equal(el.code, 2);
  assert.match(el.err, /the model was trained on the feature columns "x", "city" \(target "y"\); this file lacks "city"$/);
  const pl = await cli('predict', '--weights', weights, lacking);
  assert.equal(pl.code, 2);
  assert.match(pl.err, /the model was trained on the feature columns "x", "city" \(target "y"\); this file lacks "city"/);
});

/** Rows of (x, shop, label) whose label is the shop's group: only the one-hot shop tells it. */
function labelled(n: number, seed: number): (string | number)[][] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const group: Record<string, string> = { acme: 'big', bolt: 'small', corp: 'big', dune: 'small', echo: 'mid' };
  const shops = Object.keys(group);
  const out: (string | number)[][] = [['x', 'shop', 'label']];
  for (let i = 0; i < n; i++) {
    const shop = shops[Math.floor(rnd() * shops.length)];
    // x is noise, and now and then missing, for --impute to fill
    out.push([i % 7 === 3 ? '' : Number(rnd().toFixed(3)), shop, group[shop]]);
  }
  return out;
}

test('descent train --one-hot with --impute and --standardize: the encoded features are standardized, the numeric ones imputed; eval gives the test loss train printed', async () => {
  const data = write('shops.csv', labelled(150, 4));
  const weights = join(dir, 'shops.json');
  const t = await cli(
    'train',
    ...['--data', data, '--one-hot', 'shop', '--impute', 'mean', '--standardize', '--val-split', '0.2', '--model', 'logreg'],
    ...['--optimizer', 'lbfgs', '--full-batch', '--epochs', '10', '--save', weights],
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /6 features, label column "label" \(string labels, 3 classes: big, mid, small\), one-hot "shop" \(5 categories\)/);
  const saved = readWeights(weights);
  assert.deepEqual(saved.csv?.features, ['x', 'shop_acme', 'shop_bolt', 'shop_corp', 'shop_dune', 'shop_echo']);
  // standardization is fitted on the encoded features: each shop's mean is its share of the rows
  const p = saved.preprocess!;
  assert.equal(p.mean.length, 6);
  const shares = p.mean.slice(1);
  assert.ok(Math.abs(shares.reduce((a, v) => a + v, 0) - 1) < 1e-9, JSON.stringify(shares));
  for (const [j, m] of shares.entries()) assert.ok(Math.abs(p.std[j + 1] - Math.sqrt(m * (1 - m))) < 1e-9, `${j}: ${p.std[j + 1]}`);
  assert.equal(saved.impute?.values.length, 6);
  const last = lastStep(t.out);
  assert.match(last, /test acc 1\.0000/);
  const e = await cli('eval', '--weights', weights, '--data', data, '--val-split', '0.2', '--json');
  assert.equal(e.code, 0, e.err);
  const r = JSON.parse(e.out);
  assert.equal(r.accuracy, 1);
  assert.ok(Math.abs(r.loss - testLoss(last)) <= 5.001e-5, `${r.loss} vs ${last}`);
  // a missing x is filled with the saved mean, before the standardization, as a row holding that mean
  const rows = write('shops-new.csv', [
    ['shop', 'x'],
    ['echo', ''],
    ['echo', saved.impute!.values[0]],
    ['bolt', 0.5],
  ]);
  const pr = await cli('predict', '--weights', weights, rows, '--json');
  assert.equal(pr.code, 0, pr.err);
  const got = pr.out.split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(
    got.map((g) => g.predicted),
    ['mid', 'mid', 'small'],
  );
  assert.deepEqual(got[0].probabilities, got[1].probabilities);
});

test('descent train --one-hot: a run resumed from its checkpoint ends where the uninterrupted run ends', async () => {
  const args = [
    '--data',
    train,
    '--target',
    'y',
    '--ignore-columns',
    'id',
    '--one-hot',
    'city',
    '--val-split',
    '0.2',
    '--batch-size',
    '16',
  ];
  const ck = join(dir, 'ck');
  const { whole, resumed } = await wholeAndResumed(args, ck);
  assert.deepEqual(resumed, whole);
  // the checkpoint holds the categories, as a saved model does
  assert.deepEqual(readWeights(ck).csv?.oneHot, [{ column: 'city', categories: ['Berlin', 'Oslo', 'Paris', 'Rome'] }]);
});

test('--val-split: the categories are those of the training part; a held-out row of a category only it has reads as no category', async () => {
  // which rows --val-split 0.25 --seed 3 holds out: the CLI's split of the same row count and seed
  const n = 80;
  const probe = new Dataset({
    images: Float32Array.from({ length: n }, (_, i) => i),
    labels: new Int32Array(n),
    shape: [1, 1, 1],
    classes: ['a'],
  });
  const heldOut = Array.from(randomSplit(probe, 0.25, new Rng(3).fork('val-split')).val.images);
  const lone = heldOut[0];
  const table = rows(n, 21);
  const withLima = table.map((r, i) => (i === lone + 1 ? [r[0], r[1], 'Lima', r[3]] : r));
  const withNone = table.map((r, i) => (i === lone + 1 ? [r[0], r[1], '', r[3]] : r));
  const args = [
    '--target',
    'y',
    '--ignore-columns',
    'id',
    '--one-hot',
    'city',
    '--val-split',
    '0.25',
    '--seed',
    '3',
    '--model',
    'logreg',
    '--epochs',
    '3',
    '--json',
  ];
  const weights = join(dir, 'lima.json');
  const a = await cli('train', '--data', write('lima.csv', withLima), ...args, '--save', weights);
  const b = await cli('train', '--data', write('none.csv', withNone), ...args);
  assert.equal(a.code, 0, a.err);
  assert.deepEqual(lastRecord(a.out), lastRecord(b.out));
  const saved = readWeights(weights);
  assert.deepEqual(saved.csv?.oneHot, [{ column: 'city', categories: ['Berlin', 'Oslo', 'Paris', 'Rome'] }]);
  assert.deepEqual(saved.inputShape, [1, 1, 5]);
  const text = await cli('train', '--data', join(dir, 'lima.csv'), ...args.slice(0, -1));
  assert.match(text.out, /5 features, target column "y" \(regression\), one-hot "city" \(4 categories\), 60 train \/ 20 held out/);
  // a column whose only values are held out has no category to train on
  const onlyHeld = table.map((r, i) => (i === 0 ? ['id', 'x', 'code', 'y'] : [r[0], r[1], i - 1 === lone ? 'k' : '', r[3]]));
  const c = await cli('train', '--data', write('only-held.csv', onlyHeld), ...args.map((v) => (v === 'city' ? 'code' : v)));
  assert.equal(c.code, 2);
  assert.match(c.err, /--one-hot: one-hot column "code" has no value in the training part; leave it out \(--ignore-columns\)/);
});

test('--one-hot refusals: a target, the label, an ignored column, twice, unknown, on images; eval takes the saved categories only', async () => {
  const cases: [string[], number, RegExp][] = [
    [
      ['--data', train, '--target', 'y', '--one-hot', 'city,y'],
      1,
      /train\.csv:1: "y" is a target column; it cannot also be one-hot encoded$/,
    ],
    [
      ['--data', train, '--label-column', 'city', '--one-hot', 'city', '--ignore-columns', 'id'],
      1,
      /"city" is the label column; it cannot also be one-hot encoded$/,
    ],
    [
      ['--data', train, '--target', 'y', '--one-hot', 'id,city', '--ignore-columns', 'id'],
      1,
      /"id" is ignored; it cannot also be one-hot encoded$/,
    ],
    [['--data', train, '--target', 'y', '--one-hot', 'city,2', '--ignore-columns', 'id'], 1, /the one-hot column "city" is given twice$/],
    [
      ['--data', train, '--target', 'y', '--one-hot', 'town', '--ignore-columns', 'id'],
      1,
      /no one-hot column named "town" \(columns: "id", "x", "city", "y"\)$/,
    ],
    [['--data', train, '--target', 'y', '--one-hot', 'city,', '--ignore-columns', 'id'], 2, /--one-hot: expected COL or COL,COL,…/],
    [['--data', 'embedded', '--one-hot', 'city'], 2, /--one-hot applies to CSV data, not to the embedded Fashion-MNIST$/],
  ];
  for (const [args, code, message] of cases) {
    const r = await cli('train', ...args, '--val-split', '0.2', '--epochs', '1');
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message, args.join(' '));
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  const weights = join(dir, 'small.json');
  const t = await cli(
    'train',
    ...['--data', train, '--target', 'y', '--ignore-columns', 'id', '--one-hot', 'city', '--val-split', '0.2', '--epochs', '1'],
    ...['--save', weights],
  );
  assert.equal(t.code, 0, t.err);
  const e = await cli('eval', '--weights', weights, '--data', train, '--one-hot', 'city');
  assert.equal(e.code, 2);
  assert.match(e.err, /--one-hot/);
  // a saved model whose one-hot names are not among its features is refused naming the field
  const doc = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(weights, 'utf8')));
  doc.csv.oneHot[0].categories.push('Lima');
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, JSON.stringify(doc));
  const b = await cli('eval', '--weights', broken, '--data', train);
  assert.equal(b.code, 1);
  assert.match(b.err, /broken\.json: csv\.oneHot: expected \[\{ column: column name, categories: \[distinct values\] \}\]/);
});
