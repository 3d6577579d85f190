/**
 * The CLI with Muon, Adan, Prodigy, D-Adaptation Adam and SOAP: train and compare run them (Muon
 * building its parameter groups from the model), surface runs the ones meaningful in 2-D and refuses
 * Muon and SOAP with the reason, without a stack trace.
 */
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

test('descent train runs each new optimizer on the MLP; Muon with its AdamW groups at --adam-lr', async () => {
  for (const [opt, extra] of [
    ['muon', ['--lr', '0.02', '--adam-lr', '0.001']],
    ['adan', []],
    ['prodigy', []],
    ['dadaptadam', []],
    ['soap', ['--max-precond-dim', '128']],
  ] as const) {
    const r = await cli('train', '--model', 'mlp', '--optimizer', opt, ...extra, ...small, '--json');
    assert.equal(r.code, 0, `${opt}: ${r.err}`);
    const rec = JSON.parse(r.out.trim().split('\n').pop()!);
    assert.ok(Number.isFinite(rec.trainLoss) && rec.testAccuracy > 0.1, `${opt}: ${r.out}`);
  }
});

test('an option of another optimizer is refused, naming what the new one reads', async () => {
  const r = await cli('train', '--optimizer', 'adan', '--adam-lr', '0.01', ...small);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /--adam-lr does not apply to optimizer adan; it reads --lr, --betas, --eps, --weight-decay, --maximize$/);
});

test('descent compare runs the new optimizers from the same start', async () => {
  const r = await cli(
    'compare',
    '--optimizers',
    'adam,muon,prodigy',
    '--model',
    'mlp',
    ...small.filter((a) => a !== '--backend' && a !== 'reference'),
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out);
  assert.deepEqual(
    out.results.map((x: { optimizer: string }) => x.optimizer),
    ['adam', 'muon', 'prodigy'],
  );
  assert.deepEqual(out.results[1].options, { lr: 0.02 });
});

test('descent surface: Adan, Prodigy and D-Adapt run; Muon and SOAP are refused with the reason, exit 2, no stack', async () => {
  for (const opt of ['adan', 'prodigy', 'dadaptadam']) {
    const r = await cli('surface', '--fn', 'bowl', '--optimizer', opt, '--steps', '20', '--json');
    assert.equal(r.code, 0, `${opt}: ${r.err}`);
    assert.equal(JSON.parse(r.out).trace.length, 21);
  }
  for (const [opt, why] of [
    ['muon', /Muon orthogonalises the update of a weight matrix/],
    ['soap', /SOAP runs Adam in the eigenbasis/],
  ] as const) {
    const r = await cli('surface', '--optimizer', opt, '--steps', '5');
    assert.equal(r.code, 2, `${opt}: ${r.out}`);
    assert.match(r.err, why);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
});

test('a run checkpointed and resumed equals the uninterrupted one (SOAP statistics, Prodigy shared scalars, Muon groups)', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'descent-modern-'));
  try {
    for (const [opt, extra] of [
      ['soap', ['--max-precond-dim', '128']],
      ['prodigy', []],
      ['muon', []],
    ] as const) {
      const at = small.indexOf('--epochs');
      const base = ['train', '--optimizer', opt, ...extra, ...small.filter((_, i) => i !== at && i !== at + 1), '--json'];
      const whole = await cli(...base, '--epochs', '2');
      assert.equal(whole.code, 0, whole.err);
      const ck = join(dir, opt);
      assert.equal((await cli(...base, '--epochs', '1', '--checkpoint-dir', ck)).code, 0);
      const resumed = await cli('train', '--resume', ck, '--epochs', '2', '--json');
      assert.equal(resumed.code, 0, resumed.err);
      const last = (r: { out: string }) => JSON.parse(r.out.trim().split('\n').pop()!);
      assert.equal(last(resumed).trainLoss, last(whole).trainLoss, opt);
      assert.equal(last(resumed).testAccuracy, last(whole).testAccuracy, opt);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
