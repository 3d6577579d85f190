import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-eval-'));
const weights = join(dir, 'mlp.json');

test('descent eval reproduces the accuracy train reported, with a confusion matrix that sums to it', async () => {
  const t = await cli('train', '--data', 'embedded', '--model', 'mlp', '--limit', '1000', '--test-limit', '500', '--epochs', '1', '--seed', '3', '--json', '--save', weights);
  assert.equal(t.code, 0, t.err);
  const record = JSON.parse(t.out.split('\n').filter((l) => l.startsWith('{"epoch"')).pop()!);
  const e = await cli('eval', '--weights', weights, '--data', 'embedded', '--test-limit', '500', '--json');
  assert.equal(e.code, 0, e.err);
  const r = JSON.parse(e.out);
  assert.equal(r.samples, 500);
  assert.equal(r.accuracy, record.testAccuracy);
  assert.ok(Math.abs(r.loss - record.testLoss) < 1e-12, `${r.loss} vs ${record.testLoss}`);
  assert.equal(r.confusion.length, 10);
  const total = r.confusion.flat().reduce((a: number, b: number) => a + b, 0);
  const diagonal = r.confusion.reduce((a: number, row: number[], i: number) => a + row[i], 0);
  assert.equal(total, 500);
  assert.equal(diagonal / total, r.accuracy);
  const text = await cli('eval', '--weights', weights, '--data', 'embedded', '--test-limit', '500');
  assert.equal(text.code, 0);
  assert.match(text.out, /test accuracy 0\.\d{4}/);
  assert.match(text.out, /^Ankle boot +\d+/m);
});

test('descent eval names what is wrong with its inputs', async () => {
  const cases: [string[], RegExp, number][] = [
    [[], /--weights: the weights file is required/, 2],
    [['--weights', join(dir, 'absent.json')], /absent\.json: file not found/, 1],
    [['--weights', dir], /is a folder, expected a weights file/, 1],
    [['--weights', weights, '--model', 'logreg'], /mlp\.json: does not fit the model/, 1],
    [['--weights', weights, '--model', 'resnet'], /--model: unknown model "resnet"/, 2],
  ];
  const junk = join(dir, 'junk.json');
  writeFileSync(junk, 'not json');
  cases.push([['--weights', junk], /junk\.json: not a weights file/, 1]);
  for (const [args, re, code] of cases) {
    const r = await cli('eval', '--data', 'embedded', ...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.split('\n').length, 1);
  }
  assert.deepEqual(readdirSync(dir).sort(), ['junk.json', 'mlp.json']);
});
