/**
 * descent predict on CSV rows: a model trained on CSV data scores the rows of other CSV files, its
 * feature columns picked by name and its saved standardisation applied, in batches, with the
 * probabilities of the model's own forward pass and the accuracy descent eval gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli } from './run-cli.js';
import { readCsvTable } from '../../src/data/csv.js';
import { applyPreprocess } from '../../src/data/preprocess.js';
import { getModel } from '../../src/train/models.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { softmax } from '../../src/autograd/ops.js';
import { readWeights, writeSavedModel } from '../../src/cli/weights.js';
import { CSV_BATCH_ROWS } from '../../src/cli/commands/predict.js';
import { tempDir } from '../tmp-dir.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = tempDir('descent-predict-csv-');
const CLASSES = ['north', 'south', 'west'];

/** Rows a,b,c,kind whose features are hundreds apart in scale, so standardisation matters. */
function points(n: number, seed: number): string[][] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const rows = [['a', 'b', 'c', 'kind']];
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    rows.push([(100 + 40 * k + 45 * rnd()).toFixed(3), (-5 + 2 * rnd()).toFixed(3), (1000 * k + 1400 * rnd()).toFixed(1), CLASSES[k]]);
  }
  return rows;
}

const write = (name: string, rows: string[][]): string => {
  const path = join(dir, name);
  writeFileSync(path, `${rows.map((r) => r.join(',')).join('\n')}\n`);
  return path;
};
/** The rows with columns taken by name in `order` (a name not in the header: a text column "id-ROW"). */
const pick = (rows: string[][], order: string[]): string[][] =>
  rows.map((r, i) => order.map((n) => (rows[0].includes(n) ? r[rows[0].indexOf(n)] : i === 0 ? n : `${n}-${i}`)));

const train = write('points.csv', points(300, 7));
const weights = join(dir, 'points.safetensors');
// more rows than one batch, so the batches' boundaries are crossed
const labelled = points(2 * CSV_BATCH_ROWS + 537, 11);
const labelledPath = write('labelled.csv', labelled);
// the same rows without their label, in another column order, with a text column besides
const unlabelledPath = write('new.csv', pick(labelled, ['id', 'c', 'a', 'b']));
const N = labelled.length - 1;

async function trained(): Promise<void> {
  const t = await cli(
    'train',
    ...['--data', train, '--label-column', 'kind', '--val-split', '0.25', '--standardize', '--seed', '2'],
    ...['--model', 'logreg', '--optimizer', 'sgd', '--lr', '0.5', '--epochs', '3', '--batch-size', '16', '--save', weights],
  );
  assert.equal(t.code, 0, t.err);
}
const ready = trained();

type Rec = { file: string; row: number; predicted: string; probabilities: Record<string, number> };
const records = (out: string): Rec[] => out.split('\n').map((l) => JSON.parse(l));

test("predict gives each CSV row the probabilities of the model's forward pass on the standardised row, columns picked by name", async () => {
  await ready;
  const r = await cli('predict', '--weights', weights, '--json', unlabelledPath);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  const recs = records(r.out);
  assert.equal(recs.length, N);
  // expected: the labelled file read by the training loader, standardised with the saved statistics
  const saved = readWeights(weights);
  assert.deepEqual(saved.csv, { features: ['a', 'b', 'c'], label: 'kind' });
  assert.ok(saved.preprocess);
  const table = await readCsvTable(labelledPath, { labelColumn: 'kind' });
  const model = getModel('logreg').build({ rng: new Rng(0), inputShape: [1, 1, 3], classes: 3 });
  saved.loadInto(model);
  const forward = (x: Float32Array) => softmax(model.forward(new Tensor(x, [N, 3]), { training: false })).data;
  const p = forward(applyPreprocess(saved.preprocess, table.features));
  const raw = forward(table.features);
  let rawDiffers = 0;
  recs.forEach((rec, i) => {
    assert.equal(rec.file, unlabelledPath);
    assert.equal(rec.row, i + 1, 'in row order, counted from 1');
    assert.deepEqual(Object.keys(rec.probabilities), CLASSES);
    CLASSES.forEach((c, j) => {
      const want = p[i * 3 + j];
      assert.ok(Math.abs(rec.probabilities[c] - want) < 1e-6, `row ${i + 1} ${c}: ${rec.probabilities[c]} vs ${want}`);
      if (Math.abs(rec.probabilities[c] - raw[i * 3 + j]) > 1e-3) rawDiffers++;
    });
    const best = CLASSES.reduce((a, c) => (rec.probabilities[c] > rec.probabilities[a] ? c : a));
    assert.equal(rec.predicted, best);
  });
  assert.ok(rawDiffers > N, 'without the saved standardisation the probabilities would differ');
});

test("the argmax predictions give descent eval's accuracy on the labelled copy, whose label column predict ignores", async () => {
  await ready;
  const e = await cli('eval', '--weights', weights, '--data', labelledPath, '--json');
  assert.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out);
  assert.equal(ev.samples, N);
  const labels = labelled.slice(1).map((r) => r[3]);
  for (const file of [unlabelledPath, labelledPath]) {
    const r = await cli('predict', '--weights', weights, '--json', file);
    assert.equal(r.code, 0, r.err);
    const recs = records(r.out);
    assert.equal(recs.length, N);
    const right = recs.filter((rec, i) => rec.predicted === labels[i]).length;
    assert.equal(right / N, ev.accuracy, file);
  }
  assert.ok(ev.accuracy > 0.5 && ev.accuracy < 1, `a model that errs on some rows: ${ev.accuracy}`);
});

test('text output: FILE:ROW: the --top classes by probability, the rows of each file in order', async () => {
  await ready;
  const small = write('small.csv', pick(labelled.slice(0, 6), ['b', 'kind', 'c', 'a']));
  const j = records((await cli('predict', '--weights', weights, '--json', small)).out);
  for (const top of [1, 2, 3, 7]) {
    const r = await cli('predict', '--weights', weights, '--top', String(top), small, unlabelledPath);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines.length, 5 + N);
    lines.slice(0, 5).forEach((line, i) => {
      const m = /^(.*small\.csv):(\d+): (.*)$/.exec(line);
      assert.ok(m, line);
      assert.equal(m[1], small);
      assert.equal(Number(m[2]), i + 1);
      const shown = m[3].split(', ').map((s) => s.split(' '));
      assert.equal(shown.length, Math.min(top, 3), line);
      const byP = Object.entries(j[i].probabilities).sort((a, b) => b[1] - a[1]);
      shown.forEach(([c, v], k) => {
        assert.equal(c, byP[k][0], line);
        assert.equal(v, byP[k][1].toFixed(4), line);
      });
    });
    assert.ok(lines[5].startsWith(`${unlabelledPath}:1: `), lines[5]);
    assert.ok(lines[4 + N].startsWith(`${unlabelledPath}:${N}: `), lines[4 + N]);
  }
});

test('predict reads standard input for -', async () => {
  await ready;
  const small = pick(labelled.slice(0, 4), ['c', 'b', 'a']);
  const text = `${small.map((r) => r.join(',')).join('\n')}\n`;
  const r = spawnSync(process.execPath, [bin, 'predict', '--weights', weights, '--json', '-'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const file = records((await cli('predict', '--weights', weights, '--json', write('stdin-copy.csv', small))).out);
  assert.deepEqual(
    records(r.stdout.trim()),
    file.map((rec) => ({ ...rec, file: '-' })),
  );
});

test('predict names what is wrong with CSV input in one line', async () => {
  await ready;
  const png = join(dir, 'shoe.png');
  writeFileSync(png, 'not read');
  // a model trained on images, as descent train --save writes one
  const imageWeights = join(dir, 'images.json');
  const m = getModel('logreg').build({ rng: new Rng(0), inputShape: [1, 28, 28], classes: 10 });
  writeSavedModel(imageWeights, m, { model: 'logreg', inputShape: [1, 28, 28], classes: [...'abcdefghij'] });
  const rows = labelled.slice(0, 5);
  const lacks = write('lacks.csv', pick(rows, ['a', 'kind', 'b']));
  const word = write('word.csv', [...pick(rows, ['id', 'a', 'b', 'c']).slice(0, 3), ['x', '1', 'ten', '3']]);
  const ragged = write('ragged.csv', [...pick(rows, ['a', 'b', 'c']).slice(0, 3), ['1', '2']]);
  const header = write('header.csv', [['a', 'b', 'c']]);
  const twice = write('twice.csv', [
    ['a', 'b', 'c', 'a'],
    ['1', '2', '3', '4'],
  ]);
  const cases: [string[], RegExp, number][] = [
    [
      [lacks],
      /^descent predict: \S+lacks\.csv: the model was trained on the feature columns "a", "b", "c" \(label "kind"\); this file lacks "c" \(its columns: "a", "kind", "b"\)$/,
      2,
    ],
    [[word], /^descent predict: \S+word\.csv:4: column 2 \("b"\): "ten" is not a number \(the model reads "b" as a number\)$/, 1],
    [[ragged], /^descent predict: \S+ragged\.csv:4: ragged row: expected 3 fields as in the header, got 2$/, 1],
    [[header], /^descent predict: \S+header\.csv: no data rows after the header$/, 1],
    [[twice], /^descent predict: \S+twice\.csv:1: the column name "a" appears 2 times \(columns 0, 3\)$/, 1],
    [[join(dir, 'absent.csv')], /absent\.csv: cannot be read: file not found$/, 1],
    [
      [unlabelledPath, png],
      /^descent predict: \S+new\.csv is a CSV file and \S+shoe\.png an image: one call reads one kind of input, the kind the model was trained on \(\S+ takes CSV rows with the feature columns "a", "b", "c"\)$/,
      2,
    ],
    [
      [png],
      /^descent predict: \S+shoe\.png: the model \S+points\.safetensors was trained on CSV data and takes CSV rows with the feature columns "a", "b", "c", not images; give CSV files \(named \*\.csv, or - for standard input\)$/,
      2,
    ],
    [['-', unlabelledPath, '-'], /^descent predict: standard input \(-\) can be read once; it is given more than once$/, 2],
  ];
  for (const [args, re, code] of cases) {
    const r = await cli('predict', '--weights', weights, ...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.out, '', 'nothing printed before the error: the file is refused at its header or first batch');
  }
  const img = await cli('predict', '--weights', imageWeights, unlabelledPath);
  assert.equal(img.code, 2);
  assert.match(
    img.err,
    /^descent predict: \S+new\.csv: the model \S+images\.json was trained on images and takes images \(1×28×28, C×H×W\), not CSV rows$/,
  );
  const mixed = await cli('predict', '--weights', imageWeights, png, unlabelledPath);
  assert.equal(mixed.code, 2);
  assert.match(mixed.err, /new\.csv is a CSV file and \S+shoe\.png an image: one call reads one kind of input.*takes images \(1×28×28/);
  assert.deepEqual(readFileSync(unlabelledPath, 'utf8').split('\n')[0], 'id,c,a,b');
});
