/**
 * `descent lr-find`: the range test on train's model, data and optimizer flags — the JSON curve
 * (rates of the exponential sweep, the suggestion where its smoothed loss falls fastest), the
 * same curve twice for one seed, the text table, and the refusals: train's flags that mean nothing
 * here, a reversed range, a run the GPU cannot take on --backend webgpu, optimizers that re-evaluate
 * the loss. (On the GPU itself: test/webgpu/gpu/lr-find.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './run-cli.js';
import { steepestLr } from '../../src/train/lr-find.js';

const base = [
  'lr-find',
  '--data',
  'embedded',
  '--limit',
  '640',
  '--batch-size',
  '32',
  '--steps',
  '40',
  '--start-lr',
  '1e-5',
  '--end-lr',
  '1',
];

test('descent lr-find --json gives the rates, losses and smoothed curve, the same twice for one seed, and the suggestion where the curve falls fastest', async () => {
  const a = await cli(...base, '--optimizer', 'sgd', '--momentum', '0.9', '--json');
  assert.equal(a.code, 0, a.err);
  const r = JSON.parse(a.out);
  assert.ok(r.lrs.length >= 20 && r.lrs.length <= 40, `${r.lrs.length} steps`);
  r.lrs.forEach((lr: number, i: number) => assert.ok(Math.abs(lr / (1e-5 * 1e5 ** (i / 39)) - 1) < 1e-12, `lr ${i}`));
  assert.equal(r.suggestion, steepestLr(r.lrs, r.smoothed, 10, 5));
  assert.ok(r.suggestion > 1e-5 && r.suggestion < 1, `suggestion ${r.suggestion}`);
  const b = await cli(...base, '--optimizer', 'sgd', '--momentum', '0.9', '--json');
  assert.equal(b.out, a.out);
  const text = await cli(...base, '--optimizer', 'sgd', '--momentum', '0.9', '--l2', '1e-4');
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^lr range test: 40 steps of 32 samples, lr from 0\.00001 to 1 \(exponential\), SGD, mlp, backend /m);
  assert.match(text.out, /^ {8}lr {8}loss {4}smoothed$/m);
  assert.match(
    text.out,
    /^suggested --lr \d\.\d\de-\d \(where the smoothed loss falls fastest\); lowest smoothed loss at lr \d\.\d\de-\d$/m,
  );
});

test('descent lr-find refuses the flags of a whole run, a reversed range, a run the GPU cannot take and optimizers that re-evaluate the loss, each in one line', async () => {
  const epochs = await cli(...base, '--epochs', '3');
  assert.equal(epochs.code, 2);
  assert.match(epochs.err, /unknown option --epochs for "descent lr-find"/);
  const save = await cli(...base, '--save', 'x.json');
  assert.equal(save.code, 2);
  const reversed = await cli('lr-find', '--data', 'embedded', '--limit', '64', '--start-lr', '0.1', '--end-lr', '0.01');
  assert.equal(reversed.code, 2);
  assert.equal(reversed.err, 'descent lr-find: --end-lr 0.01 must be larger than --start-lr 0.1');
  // train's refusal, before any adapter is looked for: SAM's step reads values inside it
  const gpu = await cli(...base, '--backend', 'webgpu', '--optimizer', 'sam');
  assert.equal(gpu.code, 2);
  assert.equal(
    gpu.err,
    'descent lr-find: --backend webgpu: --optimizer sam runs on the host (it reads values inside a step); use --backend wasm',
  );
  const lbfgs = await cli(...base, '--optimizer', 'lbfgs');
  assert.notEqual(lbfgs.code, 0);
  assert.equal(
    lbfgs.err,
    'descent lr-find: --optimizer lbfgs re-evaluates the loss within its step; the range test takes one loss per step',
  );
  assert.ok(!lbfgs.err.includes('    at '), 'no stack trace');
});
