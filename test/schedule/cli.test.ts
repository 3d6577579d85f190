import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/run.js';
import type { Io } from '../../src/cli/command.js';
import { exponential, sgdr, sample } from '../../src/schedule/index.js';

async function cli(...args: string[]) {
  const stdout: string[] = [],
    stderr: string[] = [];
  const io: Io = { out: (s) => stdout.push(s), err: (s) => stderr.push(s), raw: () => {}, tty: false };
  const code = await runCli(args, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n'), lines: stdout };
}

const tiny = ['--data', 'embedded', '--limit', '256', '--test-limit', '100', '--batch-size', '64', '--backend', 'reference', '--json'];

test('descent schedule --json prints the rate at every step, equal to the library', async () => {
  const r = await cli('schedule', '--name', 'exponential:k=0.05', '--lr', '0.2', '--steps', '30', '--json');
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.out).lr, sample(exponential({ lr: 0.2, k: 0.05 }), 30));
  const s = await cli('schedule', '--name', 'sgdr', '--params', 'T0=3,Tmult=2', '--steps', '12', '--json');
  assert.deepEqual(JSON.parse(s.out).lr, sample(sgdr({ lr: 0.1, t0: 3, tMult: 2 }), 12));
  const p = await cli('schedule', '--name', 'plateau:patience=0,factor=0.5', '--steps', '3', '--metrics', '1,2,3', '--json');
  assert.deepEqual(JSON.parse(p.out).lr, [0.1, 0.05, 0.025]);
});

test('descent schedule --help lists every schedule; errors name the flag and parameter', async () => {
  const h = await cli('schedule', '--help');
  for (const n of ['exponential', 'inverse', 'cosine', 'sgdr', 'cyclic', 'onecycle', 'plateau', 'warmup'])
    assert.ok(h.out.includes(n), `help lacks ${n}`);
  const e = await cli('schedule', '--name', 'exponential', '--steps', '3');
  assert.equal(e.code, 2);
  assert.match(e.err, /--name: schedule exponential: missing k=/);
  const t = await cli('train', '--schedule', 'cosine:q=1', ...tiny);
  assert.equal(t.code, 2);
  assert.match(t.err, /--schedule: schedule cosine: unknown parameter "q"/);
});

test('descent train --schedule sets the rate per epoch (or per step)', async () => {
  const r = await cli('train', '--epochs', '3', '--lr', '0.1', '--schedule', 'exponential:k=0.5', ...tiny);
  assert.equal(r.code, 0, r.err);
  const lrs = r.lines.map((l) => JSON.parse(l).lr);
  assert.deepEqual(
    lrs,
    [0, 1, 2].map((e) => 0.1 * Math.exp(-0.5 * e)),
  );
  const s = await cli('train', '--epochs', '1', '--lr', '0.1', '--schedule', 'inverse:k=1', '--schedule-unit', 'step', ...tiny);
  assert.equal(JSON.parse(s.lines[0]).lr, 0.1 / (1 + 3)); // 4 steps: the last used t = 3
});
