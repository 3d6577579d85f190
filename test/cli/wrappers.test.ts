/** The CLI's Schedule-Free, SAM/ASAM and Lookahead: WRAPPER:BASE, flags routed to the one that reads them, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { assertClose } from '../helpers.js';

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

test('descent train --optimizer sam:adam is --optimizer sam --base adam; it prints the base and counts 2 evaluations per step', async () => {
  const a = await cli('train', ...small, '--optimizer', 'sam:adam', '--lr', '0.002', '--rho', '0.1', '--json');
  const b = await cli('train', ...small, '--optimizer', 'sam', '--base', 'adam', '--lr', '0.002', '--rho', '0.1', '--json');
  assert.equal(a.code, 0, a.err);
  const ra = JSON.parse(a.out.trim().split('\n').at(-1)!);
  const rb = JSON.parse(b.out.trim().split('\n').at(-1)!);
  assert.deepEqual([ra.trainLoss, ra.testLoss], [rb.trainLoss, rb.testLoss], 'the same run');
  assert.equal(ra.evals, 8, '4 steps of 64, two evaluations each');
  const text = await cli('train', ...small, '--optimizer', 'lookahead:momentum', '--lr', '0.05', '--k', '3');
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /optimizer: Lookahead \{"k":3,"alpha":0.5\} over SGD \{"lr":0.05,"momentum":0.9,/);
});

test('wrapper and Schedule-Free flags: a flag goes to the one that reads it, and a wrong one is named', async () => {
  const cases: [string[], RegExp][] = [
    [['--optimizer', 'sam', '--base', 'lbfgs'], /--optimizer sam: SAM: invalid base "lbfgs"; expected one of sgd, /],
    [['--optimizer', 'sam:adam', '--momentum', '0.9'], /--optimizer sam: .*Adam.*momentum/],
    [['--optimizer', 'adam', '--rho', '0.1'], /--rho does not apply to optimizer adam/],
    [['--optimizer', 'sam:adam', '--base', 'sgd'], /--optimizer sam:adam names base adam, --base names sgd/],
    [['--optimizer', 'sam:'], /--optimizer: expected NAME or WRAPPER:BASE/],
    [['--optimizer', 'lookahead', '--alpha', '2'], /Lookahead: invalid alpha 2; expected in \(0, 1\]/],
    [['--optimizer', 'schedule-free-sgd', '--momentum', '1'], /ScheduleFreeSGD: invalid momentum 1; expected in \(0, 1\)/],
  ];
  for (const [args, re] of cases) {
    const r = await cli('train', ...small, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit code (${r.err})`);
    assert.match(r.err, re, args.join(' '));
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
});

test('descent compare takes WRAPPER:BASE and the tuned rows of the new methods', async () => {
  const r = await cli('compare', ...small, '--optimizers', 'schedule-free-adamw,lookahead:adam', '--json');
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(r.out).results as { optimizer: string; options: Record<string, unknown> }[];
  assert.deepEqual(
    rows.map((x) => [x.optimizer, x.options.lr]),
    [
      ['schedule-free-adamw', 5e-3],
      ['lookahead:adam', 1e-3],
    ],
  );
  const bad = await cli('compare', ...small, '--optimizers', 'adam:sgd');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /only sam, asam and lookahead take a base/);
});

const fx = JSON.parse(readFileSync(new URL('../../../test/fixtures/optim/wrappers.json', import.meta.url), 'utf8'));

test('descent surface --json equals the reference trajectories of Schedule-Free, SAM and Lookahead', async () => {
  for (const c of fx.surfaces) {
    const { base, ...rest } = c.options as Record<string, unknown>;
    const flags = Object.entries(rest).flatMap(([k, v]) => [`--${k.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`)}`, String(v)]);
    const key = base ? `${c.key}:${base}` : c.key;
    const r = await cli(
      'surface',
      '--fn',
      c.problem,
      '--optimizer',
      key,
      '--start',
      c.start.join(','),
      '--steps',
      String(c.steps),
      ...flags,
      '--json',
    );
    assert.equal(r.code, 0, `${key}: ${r.err}`);
    const trace = JSON.parse(r.out).trace as { x: number[] }[];
    for (const [t, s] of trace.entries()) assertClose(s.x, c.x[t], 1e-9, `${key} on ${c.problem}, t=${t}`);
  }
});

test('Schedule-Free: descent eval of a checkpoint and of --save evaluates the average, as the run did', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-sf-'));
  try {
    const save = join(dir, 'w.safetensors');
    const r = await cli(
      'train',
      ...small.map((a, i) => (small[i - 1] === '--epochs' ? '2' : a)),
      '--optimizer',
      'schedule-free-adamw',
      '--lr',
      '0.005',
      '--checkpoint-dir',
      join(dir, 'ck'),
      '--save',
      save,
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const last = JSON.parse(r.out.trim().split('\n').at(-1)!);
    for (const weights of [join(dir, 'ck'), save]) {
      const e = await cli('eval', '--weights', weights, '--data', 'embedded', '--test-limit', '128', '--backend', 'reference', '--json');
      assert.equal(e.code, 0, e.err);
      assert.equal(JSON.parse(e.out).loss, last.testLoss, `${weights}: the loss of the run's last evaluation`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
