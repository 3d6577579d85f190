/**
 * `descent train --mixup / --cutmix`: the training batches are mixed (the run says how, and trains
 * on soft targets), the test set is not, and what cannot be mixed is refused in one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { tempDir } from '../tmp-dir.js';

const small = ['--data', 'embedded', '--limit', '400', '--test-limit', '200', '--seed', '2'];

test('--mixup and --cutmix mix the training batches, not the test set, and say so', async () => {
  const plain = await cli('train', ...small, '--epochs', '2', '--json');
  const mixed = await cli('train', ...small, '--epochs', '2', '--mixup', '0.4', '--cutmix', '1', '--json');
  assert.equal(plain.code + mixed.code, 0, plain.err + mixed.err);
  const p = plain.out.split('\n').map((l) => JSON.parse(l));
  const m = mixed.out.split('\n').map((l) => JSON.parse(l));
  assert.equal(m.length, 2);
  // mixed targets are harder to fit: the training loss stays above the plain run's
  assert.ok(m[1].trainLoss > p[1].trainLoss + 0.05, `mixed ${m[1].trainLoss} vs plain ${p[1].trainLoss}`);
  for (const r of m) {
    assert.ok(Number.isFinite(r.testLoss) && r.testAccuracy > 0.3, `epoch ${r.epoch}: ${r.testLoss} / ${r.testAccuracy}`);
  }
  const text = await cli('train', ...small, '--epochs', '1', '--mixup', '0.4', '--cutmix', '1');
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /training batches mixed: one of cutmix\(alpha=1\), mixup\(alpha=0\.4\) per batch \(the test set is not\)/);
  const one = await cli('train', ...small, '--epochs', '1', '--cutmix', '0.5');
  assert.match(one.out, /training batches mixed: cutmix\(alpha=0\.5\) \(the test set is not\)/);
});

test('what cannot be mixed is refused in one line, exit 2', async () => {
  const dir = tempDir('descent-mix-');
  const csv = join(dir, 'points.csv');
  writeFileSync(csv, `a,b,label\n${Array.from({ length: 40 }, (_, i) => `${i % 7},${(i * 3) % 5},${i % 2 ? 'x' : 'y'}`).join('\n')}\n`);
  const cases: [string[], RegExp][] = [
    [
      ['--data', csv, '--val-split', '0.2', '--cutmix', '1'],
      /--cutmix pastes image regions, and CSV data holds feature rows, not images; use --mixup/,
    ],
    [
      [...small, '--mixup', '0.2', '--full-batch', '--optimizer', 'lbfgs'],
      /--mixup mixes mini-batches; it does not apply with --full-batch/,
    ],
    [[...small, '--mixup', '0'], /--mixup/],
  ];
  for (const [args, message] of cases) {
    const r = await cli('train', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  // MixUp mixes feature rows too
  const rows = await cli('train', '--data', csv, '--val-split', '0.2', '--mixup', '0.2', '--epochs', '1', '--json');
  assert.equal(rows.code, 0, rows.err);
});
