/**
 * descent train --label-smoothing and --class-weights (src/cli/loss-flags.ts): the criterion of
 * training and of the test loss; weights all 1 and ε = 0 are the plain run to the bit; errors name
 * the flag, the expected count and the actual; --resume restores both from the checkpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { tempDir } from '../tmp-dir.js';

const tiny = ['--data', 'embedded', '--limit', '240', '--test-limit', '100', '--batch-size', '40', '--epochs', '2', '--seed', '4'];
const tmp = () => tempDir('descent-loss-');
const records = (out: string) => out.split('\n').map((l) => JSON.parse(l) as { trainLoss: number; testLoss: number; testAccuracy: number });
const losses = (out: string) => records(out).map((r) => [r.trainLoss, r.testLoss, r.testAccuracy]);

test('--label-smoothing and --class-weights change the loss of training and of the test set; ε = 0 and weights all 1 are the plain run to the bit', async () => {
  const plain = await cli('train', ...tiny, '--json');
  assert.equal(plain.code, 0, plain.err);
  const ones = await cli('train', ...tiny, '--json', '--class-weights', Array(10).fill('1').join(','), '--label-smoothing', '0');
  assert.equal(ones.code, 0, ones.err);
  assert.deepEqual(losses(ones.out), losses(plain.out));
  for (const flags of [
    ['--label-smoothing', '0.2'],
    ['--class-weights', '1,1,1,1,1,1,4,1,1,1'],
    ['--class-weights', 'balanced', '--label-smoothing', '0.1'],
  ]) {
    const r = await cli('train', ...tiny, ...flags);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /\nloss: cross-entropy, (label smoothing [\d.]+)?(, )?(class weights [\d.,]+)? \(train and test\)\n/);
    const j = records((await cli('train', ...tiny, '--json', ...flags)).out);
    assert.notEqual(j[0].trainLoss, records(plain.out)[0].trainLoss, flags.join(' '));
    assert.notEqual(j[1].testLoss, records(plain.out)[1].testLoss, flags.join(' '));
  }
  // smoothing raises the floor of the loss: a uniform prediction's share ε·ln C stays in the test loss
  const smooth = records((await cli('train', ...tiny, '--json', '--label-smoothing', '0.5')).out);
  assert.ok(smooth[1].testLoss > records(plain.out)[1].testLoss);
});

test('--class-weights: the count is checked against the classes of the data, the values before loading it; one error naming the flag', async () => {
  const wrong = await cli('train', ...tiny, '--class-weights', '1,2,3');
  assert.equal(wrong.code, 2);
  assert.equal(
    wrong.err,
    'descent train: --class-weights: 3 weights for the 10 classes of the training data; give one per class, in label order',
  );
  for (const [v, msg] of [
    ['1,x,1', '"x" is not a weight; expected W1,W2,… (one weight ≥ 0 per class, in label order) or balanced'],
    ['1,-1', '"-1" is not a weight'],
    ['0,0,0', 'every weight is 0, so no example counts; give a positive one'],
  ]) {
    const r = await cli('train', '--data', '/nonexistent', '--class-weights', v);
    assert.equal(r.code, 2);
    assert.ok(r.err.includes(`--class-weights: ${msg}`), r.err);
  }
  const ls = await cli('train', ...tiny, '--label-smoothing', '1.5');
  assert.equal(ls.err, 'descent train: --label-smoothing: 1.5 is out of range; expected a number ≥ 0 and ≤ 1');
  const absent = await cli('train', '--data', 'embedded', '--limit', '4', '--class-weights', 'balanced', '--batch-size', '4');
  assert.equal(absent.code, 2);
  assert.match(
    absent.err,
    /--class-weights balanced: class \d+ \(.+\) has no training examples, so it has no balanced weight; give the weights as a list/,
  );
});

test('--resume restores --label-smoothing and --class-weights from the checkpoint (bit for bit), and refuses them given again', async () => {
  const dir = tmp();
  const flags = ['--label-smoothing', '0.1', '--class-weights', 'balanced', '--optimizer', 'sgd', '--lr', '0.05'];
  const ref = join(dir, 'ref.json');
  const full = await cli('train', ...tiny, ...flags, '--checkpoint-dir', join(dir, 'ck'), '--checkpoint-every', '1epoch', '--save', ref);
  assert.equal(full.code, 0, full.err);
  const first = readdirSync(join(dir, 'ck'))
    .filter((n) => n.endsWith('.dckpt'))
    .sort()[0];
  const d = tmp();
  copyFileSync(join(dir, 'ck', first), join(d, first));
  const out = join(d, 'out.json');
  const r = await cli('train', '--resume', d, '--save', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /\nloss: cross-entropy, label smoothing 0\.1, class weights [\d.,]+ \(train and test\)\n/);
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).state, JSON.parse(readFileSync(ref, 'utf8')).state);
  const again = await cli('train', '--resume', d, '--label-smoothing', '0.2');
  assert.equal(again.code, 2);
  assert.match(again.err, /--label-smoothing: with --resume the run's settings come from the checkpoint/);
});

test('the weights file keeps the criterion: descent eval reports the test loss train reported, and says which loss it is', async () => {
  const dir = tmp();
  for (const [file, flags] of [
    ['smooth.safetensors', ['--label-smoothing', '0.2']],
    ['weighted.json', ['--class-weights', 'balanced', '--label-smoothing', '0.1']],
    ['plain.json', []],
  ] as const) {
    const save = join(dir, file);
    const t = await cli('train', ...tiny, '--json', ...flags, '--save', save);
    assert.equal(t.code, 0, t.err);
    const last = records(t.out)[1];
    const e = await cli('eval', '--weights', save, '--data', 'embedded', '--test-limit', '100', '--json');
    assert.equal(e.code, 0, e.err);
    const got = JSON.parse(e.out);
    assert.ok(Math.abs(got.loss - last.testLoss) <= 1e-6 * last.testLoss, `${file}: eval ${got.loss}, train ${last.testLoss}`);
    assert.equal(got.accuracy, last.testAccuracy);
    const text = await cli('eval', '--weights', save, '--data', 'embedded', '--test-limit', '100');
    if (flags.length === 0) {
      assert.equal(got.criterion, undefined);
      assert.doesNotMatch(text.out, /as trained/);
    } else {
      assert.equal(got.criterion.labelSmoothing, Number(flags[flags.length - 1]));
      assert.match(text.out, /\(loss: cross-entropy, label smoothing 0\.[12](, class weights [\d.,]+)?, as trained\)/);
    }
  }
  // a malformed criterion names the file and the field
  const bad = join(dir, 'bad.json');
  const saved = JSON.parse(readFileSync(join(dir, 'plain.json'), 'utf8'));
  writeFileSync(bad, JSON.stringify({ ...saved, loss: { labelSmoothing: 2 } }));
  const e = await cli('eval', '--weights', bad, '--data', 'embedded', '--test-limit', '100');
  assert.notEqual(e.code, 0);
  assert.match(e.err, /bad\.json.*loss: expected \{ labelSmoothing: a number in \[0, 1\], weight: \[one number ≥ 0 per class\] \}/);
});
