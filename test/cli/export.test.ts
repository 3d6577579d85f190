/**
 * descent export: the ONNX file of a saved model, run by ONNX Runtime (onnxruntime-web's
 * WebAssembly build, in this process), gives what descent gives: the reloaded model's forward on
 * images, and `descent predict`'s values and probabilities on CSV rows, the saved --impute,
 * --standardize and --standardize-targets applied inside the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { cli } from './run-cli.js';
import { readWeights } from '../../src/cli/weights.js';
import { resolveModel } from '../../src/train/spec.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { loadEmbedded } from '../../src/data/node.js';
import { tempDir } from '../tmp-dir.js';

ort.env.wasm.numThreads = 1;
const dir = tempDir('descent-export-cli-');

async function runOnnx(path: string, data: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(readFileSync(path));
  const r = await session.run({ input: new ort.Tensor('float32', data, dims) });
  return r.output.data as Float32Array;
}

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test("descent export of an MLP and a CNN trained on images: ONNX Runtime gives the reloaded model's outputs", async () => {
  const { test: images } = loadEmbedded();
  const n = 6;
  const x = images.images.slice(0, n * 784);
  for (const [model, file] of [
    ['mlp', 'mlp.json'],
    ['cnn', 'cnn.safetensors'],
  ]) {
    const weights = join(dir, file);
    const t = await cli('train', '--data', 'embedded', '--model', model, '--limit', '300', '--epochs', '1', '--save', weights);
    assert.equal(t.code, 0, t.err);
    const out = join(dir, `${model}.onnx`);
    const e = await cli('export', '--weights', weights, '--out', out);
    assert.equal(e.code, 0, e.err);
    assert.match(e.out, new RegExp(`wrote ${out.replace(/[.\\]/g, '\\$&')}: ONNX opset 17`));
    assert.match(e.out, /input {2}"input" {2}\[batch, 1, 28, 28\] pixels in \[0, 1\]/);
    assert.match(e.out, /output "output" \[batch, 10\] logits of the classes T-shirt\/top/);
    const got = await runOnnx(out, x, [n, 1, 28, 28]);
    const saved = readWeights(weights);
    const m = resolveModel(model).build({ rng: new Rng(0), inputShape: [1, 28, 28], classes: 10 });
    saved.loadInto(m);
    const want = m.forward(new Tensor(x, model === 'mlp' ? [n, 784] : [n, 1, 28, 28]), { training: false }).data;
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) assert.ok(close(got[i], want[i], 1e-4), `${model} output ${i}: ${got[i]} vs ${want[i]}`);
  }
});

/** Rows of a, b (b missing in some), a class by a + b, and y = 2a − b, z = 100·a + 50 with their noise. */
function table(n: number, seed: number, missing: boolean): string {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
  const lines = ['a,b,label,y,z'];
  for (let i = 0; i < n; i++) {
    const a = Number((4 * rnd()).toFixed(3));
    const b = Number((4 * rnd()).toFixed(3));
    const cell = missing && i % 7 === 3 ? '' : String(b);
    lines.push(`${a},${cell},${a + b > 0 ? 'up' : 'down'},${(2 * a - b).toFixed(3)},${(100 * a + 50).toFixed(3)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The feature rows of a table, NaN where a cell is empty. */
function features(csv: string): Float32Array {
  const rows = csv.trim().split('\n').slice(1);
  return Float32Array.from(
    rows.flatMap((r) =>
      r
        .split(',')
        .slice(0, 2)
        .map((c) => (c === '' ? Number.NaN : Number(c))),
    ),
  );
}

test('descent export of CSV models: the file fills, standardizes and unstandardizes as predict does', async () => {
  const train = join(dir, 'train.csv');
  writeFileSync(train, table(160, 5, true));
  const fresh = join(dir, 'fresh.csv');
  const freshText = table(12, 11, true);
  writeFileSync(fresh, freshText);
  const x = features(freshText);
  assert.ok(
    x.some((v) => Number.isNaN(v)),
    'the rows predicted hold missing cells',
  );

  // regression: two targets, trained standardized, missing cells filled by the median
  const reg = join(dir, 'reg.safetensors');
  const t = await cli(
    'train',
    ...['--data', train, '--target', 'y,z', '--ignore-columns', 'label', '--impute', 'median', '--standardize', '--standardize-targets'],
    ...['--val-split', '0.2', '--epochs', '2', '--save', reg],
  );
  assert.equal(t.code, 0, t.err);
  const regOnnx = join(dir, 'reg.onnx');
  const e = await cli('export', '--weights', reg, '--out', regOnnx, '--json');
  assert.equal(e.code, 0, e.err);
  const info = JSON.parse(e.out);
  assert.deepEqual(info.input, { name: 'input', shape: ['batch', 2] });
  assert.deepEqual(info.output.shape, ['batch', 2]);
  assert.deepEqual(info.output.names, ['y', 'z']);
  assert.deepEqual(info.before, ['NaN filled by --impute', '--standardize']);
  assert.deepEqual(info.after, ['--standardize-targets undone']);
  const p = await cli('predict', '--weights', reg, fresh, '--json');
  assert.equal(p.code, 0, p.err);
  const predicted = p.out.split('\n').map((l) => JSON.parse(l).predicted);
  const got = await runOnnx(regOnnx, x, [12, 2]);
  predicted.forEach((v: { y: number; z: number }, r: number) => {
    assert.ok(close(got[2 * r], v.y, 1e-4), `row ${r} y: ${got[2 * r]} vs ${v.y}`);
    assert.ok(close(got[2 * r + 1], v.z, 1e-4), `row ${r} z: ${got[2 * r + 1]} vs ${v.z}`);
  });

  // classification with --softmax: the probabilities predict prints
  const cls = join(dir, 'cls.json');
  const c2 = await cli(
    'train',
    ...[
      '--data',
      train,
      '--label-column',
      'label',
      '--ignore-columns',
      'y,z',
      '--impute',
      'mean',
      '--standardize',
      '--val-split',
      '0.2',
      '--epochs',
      '2',
    ],
    ...['--save', cls],
  );
  assert.equal(c2.code, 0, c2.err);
  const clsOnnx = join(dir, 'cls.onnx');
  const ce = await cli('export', '--weights', cls, '--out', clsOnnx, '--softmax');
  assert.equal(ce.code, 0, ce.err);
  assert.match(ce.out, /input {2}"input" {2}\[batch, 2\] features a, b \(NaN filled by --impute, --standardize inside\)/);
  assert.match(ce.out, /output "output" \[batch, 2\] probabilities of the classes down, up \(softmax inside\)/);
  const cp = await cli('predict', '--weights', cls, fresh, '--json');
  assert.equal(cp.code, 0, cp.err);
  const probs = await runOnnx(clsOnnx, x, [12, 2]);
  cp.out
    .split('\n')
    .map((l) => JSON.parse(l).probabilities)
    .forEach((pr: Record<string, number>, r: number) => {
      assert.ok(
        close(probs[2 * r], pr.down, 1e-5) && close(probs[2 * r + 1], pr.up, 1e-5),
        `row ${r}: ${probs[2 * r]}, ${probs[2 * r + 1]} vs ${JSON.stringify(pr)}`,
      );
    });

  // refusals: one line, exit 2, nothing written
  const bad = [
    [['export', '--weights', reg], /--out: the ONNX file to write is required/],
    [['export', '--out', join(dir, 'x.onnx')], /--weights: the weights file is required/],
    [['export', '--weights', reg, '--out', join(dir, 'x.pb')], /--out: expected a file name ending in \.onnx, got ".*x\.pb"/],
    [
      ['export', '--weights', reg, '--out', join(dir, 'x.onnx'), '--softmax'],
      /--softmax turns a classifier's logits into probabilities; .* is a regression model \(targets y, z\)/,
    ],
  ] as const;
  for (const [args, message] of bad) {
    const r = await cli(...args);
    assert.equal(r.code, 2, r.out);
    assert.match(r.err, message);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  assert.equal(existsSync(join(dir, 'x.onnx')), false);
});

test('descent export refuses a layer without an ONNX form, naming it', async () => {
  const weights = join(dir, 'fmp.json');
  const t = await cli(
    'train',
    ...['--data', 'embedded', '--model', 'conv:4:3,relu,fmp,flatten,linear', '--limit', '100', '--epochs', '1', '--save', weights],
  );
  assert.equal(t.code, 0, t.err);
  const r = await cli('export', '--weights', weights, '--out', join(dir, 'fmp.onnx'));
  assert.equal(r.code, 2);
  assert.match(r.err, /exportOnnx: layer 2 \(FractionalMaxPool2d.*\) pools over pseudo-random regions, which no ONNX operator expresses/);
  assert.equal(existsSync(join(dir, 'fmp.onnx')), false);
});

test('descent export of a model with a one-hot column: one input per category, the categories in the file', async () => {
  const cities = ['Rome', 'Oslo', 'Berlin'];
  const lines = ['x,city,y'];
  for (let i = 0; i < 60; i++) lines.push(`${(i % 9) - 4},${cities[i % 3]},${2 * ((i % 9) - 4) + 3 * (i % 3)}`);
  const train = join(dir, 'cities.csv');
  writeFileSync(train, `${lines.join('\n')}\n`);
  const weights = join(dir, 'cities.json');
  const t = await cli(
    'train',
    '--data',
    train,
    '--target',
    'y',
    '--one-hot',
    'city',
    '--val-split',
    '0.2',
    '--epochs',
    '2',
    '--save',
    weights,
  );
  assert.equal(t.code, 0, t.err);
  const out = join(dir, 'cities.onnx');
  const e = await cli('export', '--weights', weights, '--out', out, '--json');
  assert.equal(e.code, 0, e.err);
  const info = JSON.parse(e.out);
  assert.deepEqual(info.input.shape, ['batch', 4]);
  assert.deepEqual(info.features, ['x', 'city_Berlin', 'city_Oslo', 'city_Rome']);
  assert.deepEqual(info.oneHot, [{ column: 'city', categories: ['Berlin', 'Oslo', 'Rome'] }]);
  assert.ok(new TextDecoder().decode(readFileSync(out)).includes('descent.oneHot'));
  const text = await cli('export', '--weights', weights, '--out', out);
  assert.match(text.out, /one-hot "city": 3 inputs, 1 for the row's category \(Berlin, Oslo, Rome\), else 0/);
  // the rows predict reads raw, encoded by hand for the file
  const rows = join(dir, 'rows.csv');
  writeFileSync(rows, 'x,city\n1.5,Oslo\n-2,Rome\n0.25,Berlin\n');
  const p = await cli('predict', '--weights', weights, rows, '--json');
  assert.equal(p.code, 0, p.err);
  const want = p.out.split('\n').map((l) => JSON.parse(l).predicted.y);
  const got = await runOnnx(out, Float32Array.from([1.5, 0, 1, 0, -2, 0, 0, 1, 0.25, 1, 0, 0]), [3, 4]);
  want.forEach((v: number, r: number) => assert.ok(close(got[r], v, 1e-5), `row ${r}: ${got[r]} vs ${v}`));
});
