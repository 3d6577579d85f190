import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import type { Io } from '../../src/cli/command.js';

async function cli(...args: string[]) {
  const stdout: string[] = [],
    stderr: string[] = [];
  const io: Io = { out: (s) => stdout.push(s), err: (s) => stderr.push(s), raw: () => {}, tty: false };
  const code = await runCli(args, io);
  return { code, err: stderr.join('\n'), records: code === 0 ? stdout.map((l) => JSON.parse(l)) : [] };
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
  '--lr',
  '0.1',
  '--json',
];

test("--ensemble 2 trains seeds s and s+1; the members' accuracies are those of the single runs", async () => {
  const r = await cli('train', '--ensemble', '2', '--seed', '3', '--epochs', '1', ...tiny);
  assert.equal(r.code, 0, r.err);
  const summary = r.records.at(-1);
  assert.equal(summary.ensemble, 'independent');
  assert.deepEqual(summary.seeds, [3, 4]);
  for (const [i, seed] of [3, 4].entries()) {
    const single = await cli('train', '--seed', String(seed), '--epochs', '1', ...tiny);
    assert.equal(summary.members[i], single.records[0].testAccuracy);
  }
  assert.ok(summary.average > 0 && summary.vote > 0);
});

test('--snapshots 2 keeps one snapshot per cosine cycle; the last one is the final model', async () => {
  const r = await cli('train', '--snapshots', '2', '--epochs', '2', ...tiny);
  assert.equal(r.code, 0, r.err);
  const summary = r.records.at(-1);
  assert.equal(summary.ensemble, 'snapshots');
  assert.deepEqual(summary.at, [4, 8]); // 256/64 = 4 steps per epoch, one cycle per epoch
  assert.equal(summary.members[1], summary.finalAccuracy);
  // the ensemble of the last k snapshots: k = 1 is the final model alone, k = M the whole ensemble
  assert.deepEqual([summary.lastK[0], summary.lastK[1]], [summary.finalAccuracy, summary.average]);
  // the rate at the end of each epoch (its last step, t = 3 of a 4-step cycle) is α0/2·(cos(3π/4)+1)
  assert.equal(r.records[0].lr, (0.1 / 2) * (Math.cos((Math.PI * 3) / 4) + 1));
  const bad = await cli('train', '--snapshots', '2', '--schedule', 'cosine', '--epochs', '2', ...tiny);
  assert.match(bad.err, /--snapshots M sets its own cyclic cosine schedule/);
});

test('--save-average writes the --swa average, which eval then scores at the accuracy train reported; it needs exactly one of --swa and --ema', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-save-average-'));
  try {
    const avg = join(dir, 'swa.safetensors'),
      final = join(dir, 'final.safetensors');
    const r = await cli('train', '--swa', '1', '--epochs', '2', '--save', final, '--save-average', avg, ...tiny);
    assert.equal(r.code, 0, r.err);
    const report = r.records.find((x) => x.average === 'SWA from epoch 1');
    assert.ok(report && report.testAccuracy !== report.finalAccuracy, JSON.stringify(report));
    for (const [file, want] of [
      [avg, report.testAccuracy],
      [final, report.finalAccuracy],
    ]) {
      const e = await cli('eval', '--weights', file, '--data', 'embedded', '--test-limit', '100', '--backend', 'reference', '--json');
      assert.equal(e.code, 0, e.err);
      assert.equal(e.records[0].accuracy, want, file);
    }
    const neither = await cli('train', '--save-average', avg, '--epochs', '1', ...tiny);
    assert.equal(neither.code, 2);
    assert.match(neither.err, /--save-average .*swa\.safetensors writes one average: give --swa EPOCH or --ema β, got neither/);
    const both = await cli('train', '--swa', '1', '--ema', '0.9', '--save-average', avg, '--epochs', '1', ...tiny);
    assert.match(both.err, /writes one average: give --swa EPOCH or --ema β, not both/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
