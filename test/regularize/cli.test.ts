import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/run.js';
import type { Io } from '../../src/cli/command.js';

async function cli(...args: string[]) {
  const stdout: string[] = [],
    stderr: string[] = [];
  const io: Io = { out: (s) => stdout.push(s), err: (s) => stderr.push(s), raw: () => {}, tty: false };
  const code = await runCli(args, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n'), records: code === 0 ? stdout.map((l) => JSON.parse(l)) : [] };
}

const tiny = [
  '--data',
  'embedded',
  '--limit',
  '256',
  '--test-limit',
  '100',
  '--batch-size',
  '64',
  '--backend',
  'reference',
  '--epochs',
  '2',
  '--lr',
  '0.1',
  '--json',
];

test('--l1, --l2 and --elastic-net each report their penalty term; L1 reports the near-zero fraction, growing with λ', async () => {
  const l2 = await cli('train', '--l2', '1e-4', ...tiny);
  assert.equal(l2.code, 0, l2.err);
  assert.ok(l2.records[1].terms.l2 > 0 && l2.records[1].nearZero === undefined);
  const en = await cli('train', '--elastic-net', '1e-4,1e-4', ...tiny);
  assert.ok(en.records[1].terms.elasticNet > l2.records[1].terms.l2);
  const fr: number[] = [];
  for (const lam of ['1e-4', '3e-3']) {
    const r = await cli('train', '--l1', lam, ...tiny);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.records[1].terms.l1 > 0);
    fr.push(r.records[1].nearZero);
  }
  assert.ok(fr[1] > fr[0], `near-zero fraction ${fr[0]} (λ=1e-4) vs ${fr[1]} (λ=3e-3)`);
  const prox = await cli('train', '--l1', '3e-3', '--l1-proximal', '--max-norm', '2', ...tiny);
  assert.ok(prox.records[1].zeros > 0, 'soft-thresholding makes exact zeros');
});

test('penalty flag errors name the flags', async () => {
  const a = await cli('train', '--l1', '1e-4', '--elastic-net', '1e-4,1e-4', ...tiny);
  assert.equal(a.code, 2);
  assert.match(a.err, /--elastic-net L1,L2 replaces --l1 and --l2/);
  const b = await cli('train', '--l1-proximal', ...tiny);
  assert.match(b.err, /--l1-proximal needs --l1/);
  const c = await cli('train', '--elastic-net', '1e-4', ...tiny);
  assert.match(c.err, /--elastic-net: expected 2 comma-separated numbers/);
});
