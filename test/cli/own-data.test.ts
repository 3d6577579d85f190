/**
 * Users' own data end to end: a CSV data set and an image-folder data set written from the embedded
 * Fashion-MNIST images train from the CLI exactly as the same images read from IDX (bit-identical
 * epoch records: same samples in the same order, same seed); --val-split is a pure function of
 * --seed; --standardize uses the training part only; every malformed input is one line naming the
 * file (and line, column or size), with the right exit code and nothing written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { cli } from './run-cli.js';
import { loadData } from '../../src/cli/data.js';
import type { Dataset } from '../../src/data/dataset.js';
import { embeddedDataDir, readIdxFile, encodeIdx, FASHION_MNIST_FILES, FASHION_MNIST_CLASSES, applyPreprocess } from '../../src/node.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const N_TRAIN = 3000;
const N_TEST = 500;
const PX = 784;

let root = '';
interface Split {
  px: Uint8Array;
  labels: Uint8Array;
}
let train: Split;
let testSet: Split;

function pick(images: string, labels: string, n: number): Split {
  const dir = embeddedDataDir();
  const im = readIdxFile(join(dir, `${images}.gz`));
  const lb = readIdxFile(join(dir, `${labels}.gz`));
  return { px: (im.data as Uint8Array).slice(0, n * PX), labels: (lb.data as Uint8Array).slice(0, n) };
}

/** The same samples, stably sorted by label: the order an ImageFolder of them has. */
function byClass(s: Split): Split {
  const n = s.labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s.labels[a] - s.labels[b] || a - b);
  const px = new Uint8Array(n * PX);
  order.forEach((i, k) => px.set(s.px.subarray(i * PX, (i + 1) * PX), k * PX));
  return { px, labels: Uint8Array.from(order, (i) => s.labels[i]) };
}

function writeIdx(dir: string, tr: Split, te: Split): void {
  mkdirSync(dir, { recursive: true });
  const F = FASHION_MNIST_FILES;
  const img = (s: Split) => encodeIdx({ dtype: 'uint8', shape: [s.labels.length, 28, 28], data: s.px });
  const lab = (s: Split) => encodeIdx({ dtype: 'uint8', shape: [s.labels.length], data: s.labels });
  writeFileSync(join(dir, F.trainImages), img(tr));
  writeFileSync(join(dir, F.trainLabels), lab(tr));
  writeFileSync(join(dir, F.testImages), img(te));
  writeFileSync(join(dir, F.testLabels), lab(te));
}

/** pixel/255 as the float32 the IDX loader makes of it, printed so that it parses back to that float32. */
function writeCsv(path: string, s: Split, labelName = 'label'): void {
  const lines = [[labelName, ...Array.from({ length: PX }, (_, j) => `px${j}`)].join(',')];
  for (let i = 0; i < s.labels.length; i++) {
    const row = [String(s.labels[i])];
    for (let j = 0; j < PX; j++) row.push(String(Math.fround(s.px[i * PX + j] / 255)));
    lines.push(row.join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const classFolder = (k: number) => `${k}-${FASHION_MNIST_CLASSES[k].replace(/[^A-Za-z]+/g, '_')}`;

function greyPng(px: Uint8Array, w: number, h: number): Buffer {
  const png = new PNG({ width: w, height: h, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(px);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

function rgbPng(w: number, h: number, rgb: (i: number) => [number, number, number]): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    const [r, g, b] = rgb(i);
    png.data.set([r, g, b, 255], 4 * i);
  }
  return PNG.sync.write(png);
}

/** One subfolder per class; file names keep the data order within a class. */
function writeFolder(dir: string, s: Split): void {
  for (let i = 0; i < s.labels.length; i++) {
    const d = join(dir, classFolder(s.labels[i]));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `${String(i).padStart(5, '0')}.png`), greyPng(s.px.subarray(i * PX, (i + 1) * PX), 28, 28));
  }
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'descent-own-data-'));
  const F = FASHION_MNIST_FILES;
  train = pick(F.trainImages, F.trainLabels, N_TRAIN);
  testSet = pick(F.testImages, F.testLabels, N_TEST);
  writeIdx(join(root, 'idx'), train, testSet);
  writeIdx(join(root, 'idx-by-class'), byClass(train), byClass(testSet));
  writeCsv(join(root, 'train.csv'), train);
  writeCsv(join(root, 'test.csv'), testSet);
  writeCsv(join(root, 'small.csv'), { px: train.px.subarray(0, 600 * PX), labels: train.labels.subarray(0, 600) });
  writeFolder(join(root, 'images', 'train'), train);
  writeFolder(join(root, 'images', 'test'), testSet);
});

after(() => rmSync(root, { recursive: true, force: true }));

const COMMON = ['train', '--model', 'mlp', '--optimizer', 'adam', '--epochs', '2', '--batch-size', '64', '--seed', '5', '--json'];

/** The epoch records of a CLI run, without the timings. */
function records(...args: string[]): Record<string, unknown>[] {
  const r = spawnSync(process.execPath, [bin, ...COMMON, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `descent ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const { seconds, samplesPerSec, ...rest } = JSON.parse(l);
      return rest;
    });
}

test('a CSV data set written from the embedded images trains bit for bit like the same images from IDX', () => {
  const idx = records('--data', join(root, 'idx'));
  const csv = records('--data', join(root, 'train.csv'), '--test-data', join(root, 'test.csv'));
  assert.equal(idx.length, 2);
  assert.ok((idx[1].testAccuracy as number) > 0.7, `accuracy ${idx[1].testAccuracy}: the run must learn something`);
  assert.deepEqual(csv, idx);
});

test('an image-folder data set (grey PNGs, one subfolder per class) trains bit for bit like the same images from IDX in class order', () => {
  const idx = records('--data', join(root, 'idx-by-class'));
  const folder = records('--data', join(root, 'images'));
  assert.ok((idx[1].testAccuracy as number) > 0.7, `accuracy ${idx[1].testAccuracy}`);
  assert.deepEqual(folder, idx);
  // Sanity: the order matters, so equality above is not a property of any two runs.
  assert.notDeepEqual(records('--data', join(root, 'idx')), idx);
});

test('the log line says what was read: features, label kind and classes; image shape and colour', async () => {
  const c = await cli('train', '--data', join(root, 'small.csv'), '--val-split', '0.1', '--epochs', '1', '--standardize');
  assert.equal(c.code, 0, c.err);
  assert.match(
    c.out,
    /^data: CSV .*small\.csv: 784 features, label column "label" \(integer labels, 10 classes: 0, 1, 2, …, 9\), 540 train \/ 60 held out by --val-split 0\.1 \(seed 1\), standardized/m,
  );
  const f = await cli('train', '--data', join(root, 'images'), '--limit', '200', '--epochs', '1');
  assert.equal(f.code, 0, f.err);
  assert.match(
    f.out,
    /^data: images from .*train and .*test: 10 classes \(0-T_shirt_top, 1-Trouser, 2-Pullover, …, 9-Ankle_boot\), 1×28×28 \(grey: every image is grey\), 3000 train \/ 500 test/m,
  );
});

test('--val-split is a pure function of --seed, for CSV files and image folders', async () => {
  const csv = join(root, 'small.csv');
  const a = await loadData(csv, { valSplit: 0.2, seed: 3 });
  const b = await loadData(csv, { valSplit: 0.2, seed: 3 });
  const c = await loadData(csv, { valSplit: 0.2, seed: 4 });
  assert.equal(a.test.length, 120);
  assert.equal(a.train.length, 480);
  assert.deepEqual(a.test.images, b.test.images);
  assert.deepEqual((a.train as Dataset).labels, (b.train as Dataset).labels);
  assert.notDeepEqual(a.test.images, c.test.images);
  const f1 = await loadData(join(root, 'images', 'test'), { valSplit: 0.25, seed: 9 });
  const f2 = await loadData(join(root, 'images', 'test'), { valSplit: 0.25, seed: 9 });
  assert.equal(f1.test.length, 125);
  assert.deepEqual(f1.test.images, f2.test.images);
  // And from the CLI: the same seed, the same run.
  const r1 = records('--data', csv, '--val-split', '0.2');
  const r2 = records('--data', csv, '--val-split', '0.2');
  assert.deepEqual(r1, r2);
});

test('--val-split with --ensemble: every member holds out the samples the ensemble is evaluated on', async () => {
  const r = await cli('train', '--data', join(root, 'small.csv'), '--val-split', '0.3', '--ensemble', '2', '--epochs', '1', '--json');
  assert.equal(r.code, 0, r.err);
  const lines = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const final = lines.filter((l) => l.epoch !== undefined).map((l) => l.testAccuracy);
  const ens = lines.find((l) => l.ensemble === 'independent');
  assert.equal(final.length, 2);
  // A member's own last evaluation and the ensemble's evaluation of it see the same held-out rows.
  assert.deepEqual(ens.members, final);
});

test('--standardize: mean and std of the training part only, applied to both parts, returned for later inputs', async () => {
  const d = await loadData(join(root, 'train.csv'), { testData: join(root, 'test.csv'), standardize: true });
  const p = d.preprocess!;
  assert.equal(p.kind, 'standardize');
  assert.equal(p.mean.length, PX);
  const raw = (s: Split) => Float32Array.from(s.px, (v) => v / 255);
  const x = raw(train);
  for (const j of [0, 200, 404, 783]) {
    let m = 0;
    for (let i = 0; i < N_TRAIN; i++) m += x[i * PX + j];
    m /= N_TRAIN;
    assert.ok(Math.abs(p.mean[j] - m) < 1e-12, `mean of feature ${j}`);
  }
  assert.deepEqual(d.train.images, applyPreprocess(p, x));
  assert.deepEqual(d.test.images, applyPreprocess(p, raw(testSet)), 'the test part is transformed with the training statistics');
  // A saved preprocess is applied as it is, not fitted again (evaluating a trained model on new rows).
  const again = await loadData(join(root, 'test.csv'), { valSplit: 0.5, seed: 1, preprocess: JSON.parse(JSON.stringify(p)) });
  assert.deepEqual(again.preprocess, p);
  const rawAgain = await loadData(join(root, 'test.csv'), { valSplit: 0.5, seed: 1 });
  assert.deepEqual(again.test.images, applyPreprocess(p, rawAgain.test.images));
  await assert.rejects(
    loadData(join(root, 'test.csv'), { valSplit: 0.5, preprocess: { ...p, mean: p.mean.slice(1), std: p.std.slice(1) } }),
    /test\.csv: the model's preprocess: fitted on 783 features, but the samples have 784/,
  );
  // With --val-split, the held-out rows do not enter the statistics.
  const v = await loadData(join(root, 'small.csv'), { valSplit: 0.5, seed: 2, standardize: true });
  const plain = await loadData(join(root, 'small.csv'), { valSplit: 0.5, seed: 2 });
  let m0 = 0;
  for (let i = 0; i < plain.train.length; i++) m0 += plain.train.images[i * PX + 404];
  assert.ok(Math.abs(v.preprocess!.mean[404] - m0 / plain.train.length) < 1e-12);
});

test('colour images: 3 channels unless --channels 1; --resize makes mixed sizes one size', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-colour-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [cls, k] of [
    ['cat', 0],
    ['dog', 1],
    ['eel', 2],
  ] as const) {
    mkdirSync(join(dir, cls));
    for (let i = 0; i < 4; i++) {
      const w = i === 3 ? 8 : 6;
      writeFileSync(
        join(dir, cls, `${i}.png`),
        rgbPng(w, 4, (p) => [(p * 9 + k * 40) % 256, (i * 50) % 256, 200 - k * 30]),
      );
    }
  }
  await assert.rejects(loadData(dir, { valSplit: 0.25 }), /cat\/3\.png: image is 4×8 \(H×W\) but the first image, .*cat\/0\.png, is 4×6/);
  const rgb = await loadData(dir, { valSplit: 0.25, resize: '4x6', seed: 1 });
  assert.deepEqual(rgb.train.shape, [3, 4, 6]);
  assert.deepEqual((rgb.train as Dataset).classes, ['cat', 'dog', 'eel']);
  assert.equal(rgb.train.length + rgb.test.length, 12);
  assert.match(rgb.source, /3×4×6 \(RGB: some images are in colour, resized\)/);
  const grey = await loadData(dir, { valSplit: 0.25, resize: '2x3', channels: '1', seed: 1 });
  assert.deepEqual(grey.train.shape, [1, 2, 3]);
  const r = await cli(
    'train',
    '--data',
    dir,
    '--val-split',
    '0.25',
    '--resize',
    '8x8',
    '--model',
    'cnn',
    '--epochs',
    '1',
    '--batch-size',
    '4',
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /final test accuracy/);
});

/** Each malformed input: exit code, one line naming the file (and line/column or size), nothing written. */
test('malformed CSV files and image folders: one line with the path and line or size, exit code, nothing written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const w = (name: string, text: string | Buffer) => {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
    return p;
  };
  const img = greyPng(new Uint8Array(16).fill(100), 4, 4);
  w('empty.csv', '');
  w('blank.csv', '\n\n');
  w('header-only.csv', 'label,a,b\n');
  w('ragged.csv', 'label,a,b\n1,2,3\n0,5\n');
  w('text.csv', 'label,a,b\n1,0.5,2\n0,1,2\n1,3,x1\n');
  w('hole.csv', 'label,a,b\n1,,2\n');
  w('nolabel.csv', 'label,a,b\n1,0.5,2\n,1,2\n');
  w('oneclass.csv', 'label,a,b\ncat,0.5,2\ncat,1,2\n');
  w('nocol.csv', 'y,a,b\n1,0.5,2\n0,1,2\n');
  w('quote.csv', 'label,a,b\n1,"0.5,2\n');
  w('good.csv', 'label,a,b\n1,0.5,2\n0,1,2\n1,3,4\n0,3,4\n');
  w('f-size/a/0.png', img);
  w('f-size/b/0.png', greyPng(new Uint8Array(20).fill(9), 5, 4));
  w('f-corrupt/a/0.png', img);
  w('f-corrupt/b/0.png', img.subarray(0, 30));
  w('f-text/a/0.png', img);
  w('f-text/b/0.jpg', 'not an image');
  w('f-one/a/0.png', img);
  w('f-empty/a/0.png', img);
  mkdirSync(join(dir, 'f-empty', 'b'));
  w('f-empty/b/notes.txt', 'no image here');
  w('f-bmp/a/0.png', img);
  w('f-bmp/b/0.bmp', 'BM');
  w('f-split/train/a/0.png', img);
  w('f-split/train/b/0.png', img);
  w('f-split/test/c/0.png', img);
  const D = (n: string) => join(dir, n).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const cases: [string[], number, RegExp][] = [
    [['--data', join(dir, 'missing.csv'), '--val-split', '0.5'], 1, new RegExp(`${D('missing.csv')}: cannot be read: file not found`)],
    [['--data', join(dir, 'empty.csv'), '--val-split', '0.5'], 1, new RegExp(`${D('empty.csv')}: empty file`)],
    [['--data', join(dir, 'blank.csv'), '--val-split', '0.5'], 1, new RegExp(`${D('blank.csv')}: empty file`)],
    [
      ['--data', join(dir, 'header-only.csv'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('header-only.csv')}: no data rows after the header`),
    ],
    [
      ['--data', join(dir, 'ragged.csv'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('ragged.csv')}:3: ragged row: expected 3 fields as in the header, got 2`),
    ],
    [
      ['--data', join(dir, 'text.csv'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('text.csv')}:4: column 2 \\("b"\\): "x1" is not a number`),
    ],
    [
      ['--data', join(dir, 'hole.csv'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('hole.csv')}:2: column 1 \\("a"\\): is empty, a missing value; every feature needs a number`),
    ],
    [
      ['--data', join(dir, 'nolabel.csv'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('nolabel.csv')}:3: column 0 \\("label"\\): missing label`),
    ],
    [
      ['--data', join(dir, 'oneclass.csv'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('oneclass.csv')}: every row of .* has the label "cat"; a classifier needs at least 2 classes`),
    ],
    [
      ['--data', join(dir, 'nocol.csv'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('nocol.csv')}:1: no column named "label"; say which column holds the labels`),
    ],
    [
      ['--data', join(dir, 'nocol.csv'), '--val-split', '0.5', '--label-column', '7'],
      1,
      /nocol\.csv:1: label column index 7 is out of range: the header has 3 columns/,
    ],
    [
      ['--data', join(dir, 'nocol.csv'), '--val-split', '0.5', '--label-column', 'z'],
      1,
      /nocol\.csv:1: no label column named "z" \(columns: "y", "a", "b"\)/,
    ],
    [['--data', join(dir, 'quote.csv'), '--val-split', '0.5'], 1, new RegExp(`${D('quote.csv')}:\\d+: malformed CSV: Quote Not Closed`)],
    [['--data', join(dir, 'good.csv')], 2, /--data .*good\.csv has no test set: give --test-data FILE\|DIR, or --val-split F/],
    [['--data', join(dir, 'good.csv'), '--test-data', join(dir, 'ragged.csv')], 1, /ragged\.csv:3: ragged row/],
    [['--data', join(dir, 'good.csv'), '--val-split', '0.5', '--resize', '8x8'], 2, /--resize applies to image folders, not to CSV data/],
    [
      ['--data', 'embedded', '--val-split', '0.2'],
      2,
      /--val-split applies to data without a test set; embedded Fashion-MNIST subset has one/,
    ],
    [['--data', 'embedded', '--standardize'], 2, /--standardize applies to CSV data and NumPy arrays, not to the embedded Fashion-MNIST/],
    [
      ['--data', join(dir, 'f-size'), '--val-split', '0.5'],
      1,
      new RegExp(
        `${D('f-size/b/0.png')}: image is 4×5 \\(H×W\\) but the first image, ${D('f-size/a/0.png')}, is 4×4; give every image the same size or resize them all \\(--resize HxW\\)$`,
      ),
    ],
    [
      ['--data', join(dir, 'f-corrupt'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('f-corrupt/b/0.png')}: corrupt or unsupported PNG image \\(pngjs: `),
    ],
    [
      ['--data', join(dir, 'f-text'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('f-text/b/0.jpg')}: not a PNG or JPEG image \\(it starts with 6e 6f 74 20\\)`),
    ],
    [
      ['--data', join(dir, 'f-one'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('f-one')}: found 1 class folder \\("a"\\); a classifier needs at least 2 classes`),
    ],
    [
      ['--data', join(dir, 'f-empty'), '--val-split', '0.5'],
      1,
      new RegExp(`${D('f-empty/b')}: class folder "b" holds no PNG or JPEG image`),
    ],
    [['--data', join(dir, 'f-bmp'), '--val-split', '0.5'], 1, new RegExp(`${D('f-bmp/b/0.bmp')}: unsupported image format \\.bmp`)],
    [
      ['--data', join(dir, 'f-split')],
      1,
      new RegExp(`${D('f-split/test/c')}: class "c" is not a class of ${D('f-split/train')} \\(a, b\\)`),
    ],
    [
      ['--data', join(dir, 'f-one'), '--val-split', '0.5', '--resize', '8by8'],
      2,
      /--resize: expected HxW with positive integers \(e\.g\. 28x28\), got "8by8"/,
    ],
    [['--data', join(dir, 'f-one'), '--channels', '2'], 2, /--channels: unknown value "2"; expected one of 1, 3/],
  ];
  const out = mkdtempSync(join(tmpdir(), 'descent-bad-out-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const before = readdirSync(dir, { recursive: true }).sort();
  for (const [args, code, re] of cases) {
    const save = join(out, 'model.json');
    const r = await cli('train', ...args, '--epochs', '1', '--save', save);
    assert.equal(r.code, code, `${args.join(' ')}: exit code (stderr: ${r.err})`);
    assert.match(r.err, re, args.join(' '));
    assert.equal(r.err.split('\n').length, 1, `one line: ${r.err}`);
    assert.equal(existsSync(save), false, 'no model written');
    assert.deepEqual(readdirSync(out), [], 'nothing written beside it');
  }
  assert.deepEqual(readdirSync(dir, { recursive: true }).sort(), before, 'the data folders are unchanged');
  // The bin itself: the same single line on stderr, no stack trace.
  const r = spawnSync(process.execPath, [bin, 'train', '--data', join(dir, 'ragged.csv'), '--val-split', '0.5'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^descent train: .*ragged\.csv:3: ragged row: expected 3 fields as in the header, got 2\n$/);
});
