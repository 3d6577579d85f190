/**
 * descent train / eval / predict / export on NumPy arrays (.npz, .npy): a run on an .npz file equals
 * the run on the same samples as a CSV file; uint8 channels-last images equal their float32
 * channels-first form divided by 255; float targets train a regression that resumes bit for bit;
 * eval, predict and export read what train saved; mistakes are refused naming the flag and array.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli, lastRecord, wholeAndResumed } from './run-cli.js';
import { readNpy, saveNpy, saveNpz } from '../../src/io/npy-node.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { readWeights } from '../../src/cli/weights.js';
import { Rng } from '../../src/tensor/rng.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-npz-cli-');
const at = (name: string) => join(dir, name);

/** Three Gaussian blobs in 4 features, float32, with labels 0, 1, 2. */
function blobs(n: number, seed: number): { x: Float32Array; y: Float64Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 4);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let j = 0; j < 4; j++) x[i * 4 + j] = rng.normal() + 1.5 * y[i] * (j % 2 === 0 ? 1 : -1);
  }
  return { x, y };
}

const { x, y } = blobs(240, 5);
const npz = at('blobs.npz');
saveNpz(npz, { x: { data: x, shape: [240, 4] }, y: { data: new Int32Array(y), shape: [240] } });
const csv = at('blobs.csv');
writeFileSync(
  csv,
  `a,b,c,d,label\n${Array.from({ length: 240 }, (_, i) => `${Array.from(x.subarray(i * 4, i * 4 + 4)).join(',')},${y[i]}`).join('\n')}\n`,
);

const run = (epochs: number) => [
  '--val-split',
  '0.25',
  '--epochs',
  String(epochs),
  '--model',
  'mlp',
  '--batch-size',
  '32',
  '--standardize',
];
const common = [...run(4), '--json'];

test('an .npz file of features and labels trains as the same samples in a CSV file, bit for bit', async () => {
  const a = await cli('train', '--data', npz, ...common);
  const b = await cli('train', '--data', csv, ...common);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  assert.deepEqual(lastRecord(a.out), lastRecord(b.out));
  assert.ok((lastRecord(a.out).testAccuracy as number) > 0.9, `accuracy ${lastRecord(a.out).testAccuracy}`);
  const line = (await cli('train', '--data', npz, ...run(1))).out.split('\n')[0];
  assert.match(
    line,
    /^data: NumPy .*blobs\.npz: "x" \(240, 4\) float32 → 1×1×4 \(features\), "y" labels, 3 classes \(0, 1, 2\), 180 train \/ 60 held out/,
  );
});

test('uint8 images channels last (Keras) train as their float32 channels-first form divided by 255', async () => {
  const n = 48,
    h = 6,
    w = 5,
    c = 3;
  const rng = new Rng(2);
  const u8 = Uint8Array.from({ length: n * h * w * c }, () => Math.floor(rng.uniform() * 256));
  const labels = Int32Array.from({ length: n }, (_, i) => (u8[i * h * w * c] > 127 ? 1 : 0));
  const f32 = new Float32Array(n * c * h * w);
  for (let s = 0; s < n; s++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) f32[((s * c + k) * h + i) * w + j] = u8[((s * h + i) * w + j) * c + k] / 255;
  const nhwc = at('nhwc.npz');
  const nchw = at('nchw.npz');
  saveNpz(
    nhwc,
    {
      x_train: { data: u8.subarray(0, 36 * h * w * c), shape: [36, h, w, c] },
      y_train: { data: labels.subarray(0, 36), shape: [36] },
      x_test: { data: u8.subarray(36 * h * w * c), shape: [12, h, w, c] },
      y_test: { data: labels.subarray(36), shape: [12] },
    },
    { compress: true },
  );
  saveNpz(nchw, {
    x_train: { data: f32.subarray(0, 36 * c * h * w), shape: [36, c, h, w] },
    y_train: { data: labels.subarray(0, 36), shape: [36] },
    x_test: { data: f32.subarray(36 * c * h * w), shape: [12, c, h, w] },
    y_test: { data: labels.subarray(36), shape: [12] },
  });
  const run = ['--model', 'cnn', '--epochs', '2', '--batch-size', '12', '--json'];
  const a = await cli('train', '--data', nhwc, ...run);
  const b = await cli('train', '--data', nchw, ...run);
  assert.equal(a.code, 0, a.err);
  assert.deepEqual(lastRecord(a.out), lastRecord(b.out));
  const text = await cli('train', '--data', nhwc, '--model', 'cnn', '--epochs', '1');
  assert.match(
    text.out,
    /"x_train" \(36, 6, 5, 3\) uint8 → 3×6×5 \(channels last, transposed, ÷255\), "y_train" labels, 2 classes \(0, 1\), 36 train \/ 12 test/,
  );
});

test("float targets train a regression: MAE per epoch, saved targets, eval R², predict in the targets' units, export, a bit-for-bit resume", async () => {
  const n = 200;
  const rng = new Rng(9);
  const xs = Float32Array.from({ length: n * 3 }, () => rng.normal());
  const t = Float64Array.from({ length: n }, (_, i) => 100 + 20 * xs[i * 3] - 10 * xs[i * 3 + 1] + 0.5 * rng.normal());
  const file = at('reg.npz');
  saveNpz(file, {
    X_train: { data: xs.subarray(0, 450), shape: [150, 3] },
    y_train: { data: t.subarray(0, 150), shape: [150] },
    X_test: { data: xs.subarray(450), shape: [50, 3] },
    y_test: { data: t.subarray(150), shape: [50] },
  });
  const args = ['--data', file, '--model', 'logreg', '--optimizer', 'adam', '--lr', '0.05', '--standardize', '--standardize-targets'];
  const weights = at('reg.safetensors');
  const r = await cli('train', ...args, '--epochs', '40', '--save', weights);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /"y_train" float targets \(regression: "y"\)/);
  const mae = Number(/final test mae ([0-9.]+)/.exec(r.out)?.[1]);
  assert.ok(mae < 2, `test MAE ${mae} (targets spread ±30 around 100)`);
  const saved = readWeights(weights);
  assert.deepEqual(saved.targets, ['y']);
  assert.deepEqual(saved.npz, { x: 'X_train', y: 'y_train' });
  const e = await cli('eval', '--weights', weights, '--data', file, '--json');
  assert.equal(e.code, 0, e.err);
  const report = JSON.parse(e.out).report;
  assert.ok(Math.abs(report.overall.mae - mae) < 1e-3 * (1 + mae), `eval MAE ${report.overall.mae} vs train's ${mae}`);
  assert.ok(report.overall.r2 > 0.98, `R² ${report.overall.r2}`);
  // predict reads X_test of the .npz: its values' MAE is eval's
  const p = await cli('predict', '--weights', weights, '--json', file);
  assert.equal(p.code, 0, p.err);
  const predicted = p.out.split('\n').map((l) => JSON.parse(l) as { index: number; predicted: { y: number } });
  assert.equal(predicted.length, 50);
  const pm = predicted.reduce((s, q) => s + Math.abs(q.predicted.y - t[150 + q.index]), 0) / 50;
  assert.ok(Math.abs(pm - report.overall.mae) < 1e-3, `predict's MAE ${pm} vs eval's ${report.overall.mae}`);
  const values = at('reg-preds.npy');
  const o = await cli('predict', '--weights', weights, '--out', values, file);
  assert.equal(o.out, `wrote 50 predictions (values of 1 target) to ${values}`);
  const v = readNpy(values);
  assert.deepEqual(v.shape, [50, 1]);
  predicted.forEach((q, i) => assert.equal(v.data[i], Math.fround(q.predicted.y)));
  const x = await cli('export', '--weights', weights, '--out', at('reg.onnx'));
  assert.equal(x.code, 0, x.err);
  assert.match(x.out, /\(--standardize, flatten inside\)/);
  const { whole, resumed } = await wholeAndResumed(args, at('ck-reg'));
  assert.deepEqual(resumed, whole);
});

test("eval and predict read what train saved: eval's accuracy is predict's, a .npy and the .npz give the same lines", async () => {
  const weights = at('blobs.json');
  const r = await cli('train', '--data', npz, ...common, '--save', weights);
  assert.equal(r.code, 0, r.err);
  const e = await cli('eval', '--weights', weights, '--data', npz, '--json');
  assert.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out);
  assert.equal(ev.samples, 240);
  const p = await cli('predict', '--weights', weights, '--json', npz);
  assert.equal(p.code, 0, p.err);
  const rows = p.out.split('\n').map((l) => JSON.parse(l) as { index: number; predicted: string; probabilities: Record<string, number> });
  assert.equal(rows.length, 240);
  const right = rows.filter((q) => q.predicted === String(y[q.index])).length;
  assert.equal(right / 240, ev.accuracy);
  for (const q of rows) assert.ok(Math.abs(Object.values(q.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-6);
  const some = at('some.npy');
  saveNpy(some, { data: x.slice(0, 12), shape: [3, 4] });
  const a = await cli('predict', '--weights', weights, some);
  const b = await cli('predict', '--weights', weights, npz);
  assert.deepEqual(
    a.out.split('\n'),
    b.out
      .split('\n')
      .slice(0, 3)
      .map((l) => l.replace(npz, some)),
  );
  assert.match(a.out, /some\.npy\[0\]: [012] 0\.\d{4}, [012] 0\.\d{4}, [012] 0\.\d{4}/);
});

test('refused with the flag, the file and what was expected', async () => {
  const weights = at('blobs-ref.json');
  assert.equal((await cli('train', '--data', npz, ...run(1), '--save', weights)).code, 0);
  const other = at('other.npz');
  saveNpz(other, { a: { data: new Float32Array(4), shape: [2, 2] }, b: { data: new Int32Array(2), shape: [2] } });
  const reg4 = at('reg4.npz');
  saveNpz(reg4, { x: { data: x, shape: [240, 4] }, y: { data: Float32Array.from(y, (v) => v + 0.5), shape: [240] } });
  const cases: [string[], RegExp][] = [
    [
      ['train', '--data', other, '--val-split', '0.2'],
      /^descent train: --data .*other\.npz: no inputs and labels arrays among "a", "b"; expected inputs named "x", "X"/,
    ],
    [['train', '--data', npz], /has no test set: give --test-data FILE\|DIR, or --val-split F/],
    [['train', '--data', npz, '--val-split', '0.2', '--one-hot', 'a'], /--one-hot applies to CSV data, not to NumPy arrays/],
    [
      ['train', '--data', npz, '--test-data', csv],
      /--test-data .*blobs\.csv: with --data .*blobs\.npz \(NumPy arrays\) it must be an \.npz file/,
    ],
    [['train', '--data', npz, '--val-split', '0.2', '--standardize-targets'], /--standardize-targets applies to a regression/],
    [
      ['predict', '--weights', weights, at('x.png'), at('some.npy')],
      /is a NumPy file and .*x\.png an image: one call reads one kind of input/,
    ],
    [['predict', '--weights', weights, other], /other\.npz: no inputs array among "a", "b"/],
    [
      ['eval', '--weights', weights, '--data', reg4],
      /the model .*blobs-ref\.json is a classifier; the data holds regression targets \(y\)/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
  }
  saveNpy(at('wide.npy'), { data: new Float32Array(10), shape: [2, 5] });
  const wide = await cli('predict', '--weights', weights, at('wide.npy'));
  assert.match(wide.err, /wide\.npy: samples of 1×1×5 \(C×H×W\); the model .*blobs-ref\.json takes 1×1×4/);
});

test("predict --out: every sample's probabilities as .npy [N, K] float32, or as .csv with the place, the class and one column per class", async () => {
  const weights = at('blobs-out.json');
  assert.equal((await cli('train', '--data', npz, ...run(2), '--save', weights)).code, 0);
  const j = await cli('predict', '--weights', weights, '--json', npz);
  const want = j.out
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; index: number; predicted: string; probabilities: Record<string, number> });
  const npy = at('preds.npy');
  const r = await cli('predict', '--weights', weights, '--out', npy, npz);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `wrote 240 predictions (probabilities of 3 classes) to ${npy}`);
  const a = readNpy(npy);
  assert.deepEqual([a.dtype, a.shape], ['float32', [240, 3]]);
  want.forEach((w, i) => ['0', '1', '2'].forEach((c, j) => assert.equal(a.data[i * 3 + j], Math.fround(w.probabilities[c]))));
  const csvOut = at('preds.csv');
  assert.equal((await cli('predict', '--weights', weights, '--out', csvOut, npz)).code, 0);
  const [header, ...rows] = parse(readFileSync(csvOut, 'utf8')) as string[][];
  assert.deepEqual(header, ['file', 'index', 'predicted', '0', '1', '2']);
  assert.equal(rows.length, 240);
  rows.forEach((row, i) => {
    assert.deepEqual(row.slice(0, 3), [npz, String(i), want[i].predicted]);
    assert.deepEqual(
      row.slice(3).map(Number),
      ['0', '1', '2'].map((c) => want[i].probabilities[c]),
    );
  });
  const bad = await cli('predict', '--weights', weights, '--out', at('preds.txt'), npz);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--out: expected a file name ending in \.npy or \.csv, got ".*preds\.txt"/);
});
