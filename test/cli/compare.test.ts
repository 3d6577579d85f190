/** descent compare: same initial weights and batches for every optimizer; table and JSON shape; errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './run-cli.js';

const small = [
  '--data',
  'embedded',
  '--limit',
  '256',
  '--test-limit',
  '128',
  '--epochs',
  '1',
  '--batch-size',
  '64',
  '--backend',
  'reference',
];

test('with lr 0 every optimizer ends where it started: the same initial weights and batches for all', async () => {
  const r = await cli(
    'compare',
    ...small,
    '--optimizers',
    'sgd,momentum,adagrad,rmsprop,adadelta,adam',
    '--lr-table',
    'same',
    '--lr',
    '0',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.results.length, 6);
  for (const row of j.results) {
    assert.equal(row.trainLoss, j.results[0].trainLoss, row.optimizer);
    assert.equal(row.testAccuracy, j.results[0].testAccuracy, row.optimizer);
  }
});

test("tuned table: rows in order with the issue's settings; a repeated optimizer repeats its numbers", async () => {
  const r = await cli('compare', ...small, '--optimizers', 'sgd,nesterov,adam,sgd', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(
    j.results.map((x: { optimizer: string }) => x.optimizer),
    ['sgd', 'nesterov', 'adam', 'sgd'],
  );
  assert.deepEqual(j.results[1].options, { momentum: 0.9, nesterov: true, lr: 0.05 });
  assert.deepEqual(j.results[2].options, { lr: 1e-3 });
  assert.equal(j.results[3].trainLoss, j.results[0].trainLoss);
  assert.notEqual(j.results[2].trainLoss, j.results[0].trainLoss);
  for (const x of j.results) assert.ok(x.testAccuracy >= 0 && x.testAccuracy <= 1 && Number.isFinite(x.trainLoss));
  const t = await cli('compare', ...small, '--optimizers', 'sgd,adam');
  assert.match(t.out, /optimizer\s+settings\s+train loss\s+test acc\s+time/);
  assert.match(t.out, /^adam\s+lr 0.001\s+\d\.\d{4}\s+0\.\d{4}\s+[\d.]+ s$/m);
});

test('compare errors name the option', async () => {
  assert.match((await cli('compare', '--optimizers', 'sgd,adamx')).err, /--optimizers: unknown optimizer "adamx"/);
  assert.match((await cli('compare', '--lr', '0.1')).err, /--lr applies only with --lr-table same/);
  assert.match((await cli('compare', '--lr-table', 'best')).err, /--lr-table: unknown value "best"; expected one of tuned, same/);
});
