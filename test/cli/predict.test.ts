import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { encodePng } from '../../src/cli/png.js';
import { loadEmbedded } from '../../src/data/node.js';
import { getModel } from '../../src/train/models.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { softmax } from '../../src/autograd/ops.js';
import { readWeights } from '../../src/cli/weights.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-predict-');
const weights = join(dir, 'mlp.json');

test('descent predict gives the probabilities the model gives the same images read from IDX', async () => {
  const t = await cli(
    'train',
    '--data',
    'embedded',
    '--model',
    'mlp',
    '--limit',
    '1000',
    '--test-limit',
    '100',
    '--epochs',
    '1',
    '--seed',
    '5',
    '--json',
    '--save',
    weights,
  );
  assert.equal(t.code, 0, t.err);
  const { test: testSet } = await loadEmbedded();
  const picks = [0, 7, 42];
  const files = picks.map((i) => {
    const img = testSet.images.subarray(i * 784, (i + 1) * 784);
    const path = join(dir, `img${i}.png`);
    writeFileSync(
      path,
      encodePng(
        Uint8Array.from(img, (v) => Math.round(v * 255)),
        28,
        28,
        1,
      ),
    );
    return path;
  });
  const r = await cli('predict', '--weights', weights, '--json', ...files);
  assert.equal(r.code, 0, r.err);
  const records = r.out.split('\n').map((l) => JSON.parse(l));
  assert.equal(records.length, 3);
  const model = getModel('mlp').build({ rng: new Rng(0), inputShape: [1, 28, 28], classes: 10 });
  readWeights(weights).loadInto(model);
  const x = new Tensor(Float32Array.from(picks.flatMap((i) => Array.from(testSet.images.subarray(i * 784, (i + 1) * 784)))), [3, 784]);
  const p = softmax(model.forward(x, { training: false }));
  records.forEach((rec, k) => {
    assert.equal(rec.image, files[k]);
    const probs = Object.values(rec.probabilities) as number[];
    assert.equal(probs.length, 10);
    probs.forEach((v, j) => assert.ok(Math.abs(v - p.data[k * 10 + j]) < 1e-6, `image ${k} class ${j}: ${v} vs ${p.data[k * 10 + j]}`));
    const best = probs.indexOf(Math.max(...probs));
    assert.equal(rec.predicted, testSet.classes[best]);
  });
  const text = await cli('predict', '--weights', weights, '--top', '2', files[0]);
  assert.equal(text.code, 0);
  assert.match(text.out, /img0\.png: [A-Za-z/ -]+ 0\.\d{4}, [A-Za-z/ -]+ 0\.\d{4}$/);
});

test("descent predict converts colour and resizes to the model's input", async () => {
  const rgb = new Uint8Array(56 * 40 * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 256;
  const path = join(dir, 'colour.png');
  writeFileSync(path, encodePng(rgb, 40, 56, 3));
  const r = await cli('predict', '--weights', weights, '--json', path);
  assert.equal(r.code, 0, r.err);
  const probs = Object.values(JSON.parse(r.out).probabilities) as number[];
  assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-9);
});

test('descent predict names what is wrong with its inputs', async () => {
  const before = readdirSync(dir).sort();
  const cases: [string[], RegExp, number][] = [
    [
      ['--weights', weights],
      /no input given; expected one or more PNG or JPEG images, CSV files \(FILE.csv, - for standard input\) or NumPy files/,
      2,
    ],
    [[join(dir, 'img0.png')], /--weights: the weights file is required/, 2],
    [['--weights', weights, join(dir, 'absent.png')], /absent\.png/, 1],
    [['--weights', weights, weights], /mlp\.json/, 1],
  ];
  for (const [args, re, code] of cases) {
    const r = await cli('predict', ...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.split('\n').length, 1);
  }
  assert.deepEqual(readdirSync(dir).sort(), before);
});
