/**
 * descent train / eval / predict / summary / export with sequence models: a grey image read row by
 * row by an LSTM, .npz sequences (N, T, F) by a GRU and a conv1d, token ids (N, T) by an embedding
 * with an LSTM or a Transformer encoder (its padding masked);
 * what train saved rebuilds the model everywhere; the data that a sequence model cannot read is
 * refused naming the layer or the value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli, lastRecord } from './run-cli.js';
import { saveNpz } from '../../src/io/npy-node.js';
import { Rng } from '../../src/tensor/rng.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-sequence-cli-');
const at = (name: string) => join(dir, name);

/** N sequences of T steps × 2 features; class k has a bump in feature 0 over steps 4k … 4k + 3. */
function bumps(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const T = 12;
  const x = new Float32Array(n * T * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let t = 0; t < T; t++) {
      x[(i * T + t) * 2] = 0.5 * rng.normal() + (Math.floor(t / 4) === y[i] ? 2 : 0);
      x[(i * T + t) * 2 + 1] = 0.5 * rng.normal();
    }
  }
  return { x, y };
}

/** N token sequences of length 10 over ids 1 … 19, right-padded with 0; class 1 when token 7 occurs. */
function tokens(n: number, seed: number): { x: Int32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const x = new Int32Array(n * 10);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const len = 4 + Math.floor(rng.uniform() * 7);
    y[i] = i % 2;
    for (let t = 0; t < len; t++) {
      let id = 1 + Math.floor(rng.uniform() * 19);
      if (id === 7) id = 8;
      x[i * 10 + t] = id;
    }
    if (y[i] === 1) x[i * 10 + Math.floor(rng.uniform() * len)] = 7;
  }
  return { x, y };
}

test('an LSTM reads Fashion-MNIST row by row: it learns, and eval, summary and export rebuild it from the saved file', async () => {
  const weights = at('rows.safetensors');
  const r = await cli(
    'train',
    ...['--model', 'lstm:32,linear', '--optimizer', 'adam', '--lr', '0.01', '--epochs', '2', '--batch-size', '50'],
    ...['--limit', '1000', '--test-limit', '300', '--save', weights, '--json'],
  );
  assert.equal(r.code, 0, r.err);
  const last = lastRecord(r.out);
  assert.ok((last.testAccuracy as number) > 0.45, `accuracy ${last.testAccuracy} (chance 0.1)`);
  const e = await cli('eval', '--weights', weights, '--test-limit', '300', '--json');
  assert.equal(e.code, 0, e.err);
  assert.equal(JSON.parse(e.out).accuracy, last.testAccuracy);
  const s = await cli('summary', '--weights', weights);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /\[28, 28\]/);
  assert.match(s.out, /LSTM.*\[32\]/);
  const x = await cli('export', '--weights', weights, '--out', at('rows.onnx'), '--json');
  assert.equal(x.code, 0, x.err);
  assert.deepEqual(JSON.parse(x.out).input.shape, ['batch', 28, 28]);
});

test('.npz sequences (N, T, F) train a GRU and, channels first (N, C, L), a conv1d; predict reads the same layout', async () => {
  const { x, y } = bumps(300, 3);
  const file = at('bumps.npz');
  saveNpz(file, {
    x_train: { data: x.subarray(0, 240 * 24), shape: [240, 12, 2] },
    y_train: { data: y.subarray(0, 240), shape: [240] },
    x_test: { data: x.subarray(240 * 24), shape: [60, 12, 2] },
    y_test: { data: y.subarray(240), shape: [60] },
  });
  const weights = at('gru.safetensors');
  const args = ['--optimizer', 'adam', '--lr', '0.01', '--epochs', '15', '--batch-size', '20', '--json'];
  const r = await cli('train', '--data', file, '--model', 'gru:16,linear', ...args, '--save', weights);
  assert.equal(r.code, 0, r.err);
  assert.ok((lastRecord(r.out).testAccuracy as number) > 0.9, `GRU accuracy ${lastRecord(r.out).testAccuracy}`);
  const p = await cli('predict', '--weights', weights, file);
  assert.equal(p.code, 0, p.err);
  assert.equal(p.out.trim().split('\n').length, 60);
  // the same sequences with the features as channels: [2, 12] each
  const cl = new Float32Array(x.length);
  for (let i = 0; i < 300; i++) for (let t = 0; t < 12; t++) for (let f = 0; f < 2; f++) cl[(i * 2 + f) * 12 + t] = x[(i * 12 + t) * 2 + f];
  const channels = at('channels.npz');
  saveNpz(channels, {
    x_train: { data: cl.subarray(0, 240 * 24), shape: [240, 2, 12] },
    y_train: { data: y.subarray(0, 240), shape: [240] },
    x_test: { data: cl.subarray(240 * 24), shape: [60, 2, 12] },
    y_test: { data: y.subarray(240), shape: [60] },
  });
  const c = await cli('train', '--data', channels, '--model', 'conv1d:8:3:pad=1,relu,maxpool1d:4,flatten,linear', ...args);
  assert.equal(c.code, 0, c.err);
  assert.ok((lastRecord(c.out).testAccuracy as number) > 0.9, `conv1d accuracy ${lastRecord(c.out).testAccuracy}`);
});

test('token ids (N, T) train an embedding and an LSTM; uint8 ids, read as pixels ÷255, are refused naming the value', async () => {
  const { x, y } = tokens(400, 8);
  const file = at('tokens.npz');
  saveNpz(file, {
    x_train: { data: x.subarray(0, 320 * 10), shape: [320, 10] },
    y_train: { data: y.subarray(0, 320), shape: [320] },
    x_test: { data: x.subarray(320 * 10), shape: [80, 10] },
    y_test: { data: y.subarray(320), shape: [80] },
  });
  const args = ['--model', 'embedding:20:8:pad=0,lstm:16,linear', '--optimizer', 'adam', '--lr', '0.02', '--batch-size', '32', '--json'];
  const r = await cli('train', '--data', file, ...args, '--epochs', '12');
  assert.equal(r.code, 0, r.err);
  assert.ok((lastRecord(r.out).testAccuracy as number) > 0.9, `accuracy ${lastRecord(r.out).testAccuracy}`);
  const u8 = at('tokens-u8.npz');
  saveNpz(u8, { x: { data: Uint8Array.from(x), shape: [400, 10] }, y: { data: y, shape: [400] } });
  const bad = await cli('train', '--data', u8, ...args, '--epochs', '1', '--val-split', '0.2');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /Embedding\(20, 8, paddingIdx 0\): index 0\.0\d+ at \[\d+, \d+\] is not an integer/);
  assert.match(bad.err, /int32/);
  assert.doesNotMatch(bad.err, /\n\s+at /, 'no stack trace');
});

test('padded token ids (N, T) train a Transformer encoder with the padding masked (mask=true, posenc, transformer, seqmean); eval, summary and export rebuild it from the saved file', async () => {
  const { x, y } = tokens(400, 9);
  const file = at('tokens-attention.npz');
  saveNpz(file, {
    x_train: { data: x.subarray(0, 320 * 10), shape: [320, 10] },
    y_train: { data: y.subarray(0, 320), shape: [320] },
    x_test: { data: x.subarray(320 * 10), shape: [80, 10] },
    y_test: { data: y.subarray(320), shape: [80] },
  });
  const weights = at('attention.safetensors');
  const spec = 'embedding:20:16:pad=0:mask=true,posenc,transformer:4:ff=32:dropout=0:prenorm=true,seqmean,linear';
  const r = await cli(
    'train',
    ...['--data', file, '--model', spec, '--optimizer', 'adamw', '--lr', '0.01', '--batch-size', '32', '--epochs', '12'],
    ...['--save', weights, '--json'],
  );
  assert.equal(r.code, 0, r.err);
  const last = lastRecord(r.out);
  assert.ok((last.testAccuracy as number) > 0.9, `accuracy ${last.testAccuracy} (chance 0.5)`);
  const e = await cli('eval', '--weights', weights, '--data', file, '--json');
  assert.equal(e.code, 0, e.err);
  assert.equal(JSON.parse(e.out).accuracy, last.testAccuracy);
  const s = await cli('summary', '--weights', weights);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /0 +Embedding\(20, 16, paddingIdx 0, masked\)/);
  assert.match(s.out, /2\.0 {2}TransformerEncoderLayer\(16, 4 heads, ff 32, relu, pre-norm\).*\[10, 16\]/);
  assert.match(s.out, /3 +SequenceMean +\[16\]/);
  const o = await cli('export', '--weights', weights, '--out', at('attention.onnx'), '--json');
  assert.equal(o.code, 0, o.err);
  // the file takes the .npz's rows of ids, as the model was trained on them
  assert.deepEqual(JSON.parse(o.out).input.shape, ['batch', 10]);
  const bad = await cli(
    'train',
    '--data',
    file,
    '--model',
    'embedding:20:16:pad=0:mask=true,conv1d:8:3,gap1d,flatten,linear',
    '--epochs',
    '1',
  );
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /layer 1 \(conv1d:8:3\): takes no padding mask, and the embedding's mask=true gives one/);
  assert.doesNotMatch(bad.err, /\n\s+at /, 'no stack trace');
});

test('a sequence model refuses colour images, naming the layer and the shapes', async () => {
  const rng = new Rng(1);
  const file = at('rgb.npz');
  saveNpz(file, {
    x: { data: Float32Array.from({ length: 20 * 3 * 4 * 4 }, () => rng.uniform()), shape: [20, 3, 4, 4] },
    y: { data: Int32Array.from({ length: 20 }, (_, i) => i % 2), shape: [20] },
  });
  const r = await cli('train', '--data', file, '--model', 'lstm:8,linear', '--val-split', '0.25', '--epochs', '1');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--model: layer 0 \(lstm:8\): a sequence model reads one-channel samples \[1, T, F\] as \[T, F\].*3×4×4/);
});
