import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { tempDir } from '../tmp-dir.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('descent --help and train --help list every option', async () => {
  const main = await cli('--help');
  assert.equal(main.code, 0);
  assert.match(main.out, /train/);
  const h = await cli('train', '--help');
  assert.equal(h.code, 0);
  for (const flag of ['--model', '--optimizer', '--lr', '--epochs', '--batch-size', '--data', '--seed', '--json'])
    assert.ok(h.out.includes(flag), `train --help lacks ${flag}`);
});

test('bad hyper-parameters name the option and the accepted range', async () => {
  const cases: [string[], RegExp][] = [
    [['--lr', '-1'], /--lr: -1 is out of range; expected a number ≥ 0/],
    [['--batch-size', '0'], /--batch-size: 0 is out of range; expected an integer ≥ 1/],
    [['--epochs', '2.5'], /--epochs: expected an integer, got "2.5"/],
    [['--model', 'resnet'], /--model: unknown model "resnet"; expected one of .*mlp/],
    [['--optimizer', 'adamx'], /--optimizer: unknown optimizer "adamx"; expected one of .*sgd/],
    [['--lr'], /--lr: missing value/],
    [['--learning-rate', '0.1'], /unknown option --learning-rate/],
  ];
  for (const [args, re] of cases) {
    const r = await cli('train', ...args);
    assert.equal(r.code, 2, `${args.join(' ')} should exit 2`);
    assert.match(r.err, re);
    assert.equal(r.err.split('\n').length, 1, 'one line');
  }
});

test('a missing or corrupt data directory names the file and the problem', async () => {
  const dir = tempDir('descent-cli-');
  const missing = await cli('train', '--data', join(dir, 'nope'), '--epochs', '1');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /nope/);
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    writeFileSync(join(bad, f), Buffer.from([0, 0, 8, 3, 0, 0, 0, 5]));
  }
  const corrupt = await cli('train', '--data', bad, '--epochs', '1');
  assert.equal(corrupt.code, 1);
  assert.match(corrupt.err, /idx/i);
  assert.match(corrupt.err, /ubyte/);
});

test('the package bin runs as an executable, as npx descent and an installed descent run it', () => {
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8' });
  assert.equal(r.error, undefined, `${bin} could not be executed: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^descent /);
});

test('the bin exits non-zero with one line and no stack trace', () => {
  const r = spawnSync(process.execPath, [bin, 'train', '--lr', '-0.5'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/);
  const u = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown command "frobnicate"/);
});

test('train --json prints one record per epoch and --save writes the weights', async () => {
  const dir = tempDir('descent-cli-');
  const save = join(dir, 'w.json');
  const r = await cli(
    'train',
    '--data',
    'embedded',
    '--limit',
    '300',
    '--test-limit',
    '100',
    '--epochs',
    '2',
    '--batch-size',
    '50',
    '--lr',
    '0.05',
    '--json',
    '--save',
    save,
  );
  assert.equal(r.code, 0, r.err);
  const lines = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(
    lines.map((l) => l.epoch),
    [1, 2],
  );
  for (const l of lines) for (const k of ['trainLoss', 'testLoss', 'testAccuracy', 'samplesPerSec']) assert.equal(typeof l[k], 'number', k);
  assert.ok(existsSync(save));
  const saved = JSON.parse(readFileSync(save, 'utf8'));
  assert.deepEqual(saved.state['0.weight'].shape, [256, 784]);
  assert.ok(!existsSync(`${save}.tmp-${process.pid}`));
});
