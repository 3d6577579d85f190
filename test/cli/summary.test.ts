/** `descent summary`: the table for a spec or a saved model, its JSON form, and --input errors in one line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { tempDir } from '../tmp-dir.js';

test('descent summary prints each layer with its output shape and parameters, for a spec and for a saved model', async () => {
  const r = await cli(
    'summary',
    '--model',
    'conv:16:3:pad=1,batchnorm,relu,maxpool:2,flatten,linear',
    '--input',
    '3x32x32',
    '--classes',
    '7',
  );
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'model: conv:16:3:pad=1,batchnorm,relu,maxpool:2,flatten,linear');
  assert.match(lines[3], /^0 {2}Conv2d\(3→16, 3×3, padding 1×1\)\s+\[16, 32, 32\]\s+448$/);
  assert.match(lines[7], /^4 {2}Flatten\s+\[4096\]\s+0$/);
  assert.match(lines[8], /^5 {2}Linear\(4096→7\)\s+\[7\]\s+28,679$/);
  assert.equal(lines[9], 'input [3, 32, 32]; 29,159 parameters, 33 buffer values');

  const dir = tempDir('descent-summary-');
  const save = join(dir, 'm.json');
  const t = await cli(
    'train',
    '--data',
    'embedded',
    '--limit',
    '40',
    '--test-limit',
    '20',
    '--epochs',
    '1',
    '--model',
    'linear:32,relu,linear',
    '--save',
    save,
  );
  assert.equal(t.code, 0, t.err);
  const j = await cli('summary', '--weights', save, '--json');
  assert.equal(j.code, 0, j.err);
  const s = JSON.parse(j.out);
  assert.equal(s.model, 'linear:32,relu,linear');
  assert.deepEqual(s.inputShape, [784]);
  assert.deepEqual(
    s.layers.map((l: { outputShape: number[]; params: number }) => [l.outputShape, l.params]),
    [
      [[32], 784 * 32 + 32],
      [[32], 0],
      [[10], 32 * 10 + 10],
    ],
  );
  assert.match(t.out, new RegExp(`\\(${s.params.toLocaleString('en-US')} parameters\\)`));
});

test('descent summary refuses a malformed --input and a model that does not fit it, in one line', async () => {
  for (const [args, re] of [
    [
      ['--input', '1x28x28x2'],
      /^descent summary: --input: expected C×H×W such as 1x28x28, T×F such as 50x8 \(a sequence\), or a feature count such as 4, got "1x28x28x2"$/,
    ],
    [['--input', '0'], /--input: expected C×H×W/],
    [['--model', 'cnn', '--input', '5'], /^descent summary: --input 5: model cnn does not take inputs of this shape \(/],
    [['--model', 'conv:8:5,relu,flatten,linear', '--input', '1x3x3'], /^descent summary: --model: layer 0 \(conv:8:5\): input \[1, 3, 3\]/],
  ] as const) {
    const r = await cli('summary', ...args);
    assert.notEqual(r.code, 0, `${args.join(' ')}: ${r.out}`);
    assert.match(r.err, re);
    assert.equal(r.err.split('\n').length, 1, r.err);
  }
});

test('descent summary --input T×F gives a sequence model its steps and features', async () => {
  const r = await cli(
    'summary',
    '--model',
    'conv1d:16:5:pad=2,relu,maxpool1d:2,transpose,gru:32,linear',
    '--input',
    '3x100',
    '--classes',
    '4',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  assert.deepEqual(s.inputShape, [3, 100]);
  assert.deepEqual(
    s.layers.map((l: { outputShape: number[] }) => l.outputShape),
    [[16, 100], [16, 100], [16, 50], [50, 16], [32], [4]],
  );
});
