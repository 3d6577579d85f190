/**
 * `descent surface` and `descent compare` run Adafactor, Rprop and ASGD through the registry, and
 * the surface flags of their options (and NAdam's/RAdam's decoupledWeightDecay) reach the optimizer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './run-cli.js';
import { trajectory } from '../../src/surfaces/index.js';

const cases: [string, string[], Record<string, unknown>][] = [
  ['rprop', ['--lr', '0.02', '--etas', '0.4,1.3', '--step-sizes', '1e-5,0.5'], { lr: 0.02, etas: [0.4, 1.3], stepSizes: [1e-5, 0.5] }],
  ['asgd', ['--lr', '0.001', '--lambd', '0.01', '--alpha', '0.5', '--t0', '10'], { lr: 0.001, lambd: 0.01, alpha: 0.5, t0: 10 }],
  [
    'adafactor',
    ['--lr', '0.05', '--beta2-decay', '-0.5', '--d', '2', '--weight-decay', '0.01'],
    { lr: 0.05, beta2Decay: -0.5, d: 2, weightDecay: 0.01 },
  ],
  [
    'nadam',
    ['--lr', '0.01', '--weight-decay', '0.1', '--decoupled-weight-decay', '--maximize'],
    { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true, maximize: true },
  ],
  [
    'radam',
    ['--lr', '0.01', '--weight-decay', '0.1', '--decoupled-weight-decay'],
    { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true },
  ],
];

for (const [key, flags, options] of cases) {
  test(`descent surface --optimizer ${key} ${flags.join(' ')}: the path equals the library's with ${JSON.stringify(options)}`, async () => {
    const r = await cli('surface', '--fn', 'beale', '--optimizer', key, ...flags, '--steps', '40', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.options, options);
    const lib = trajectory('beale', key, { steps: 40, options });
    assert.deepEqual(
      j.trace.map((s: { x: number[] }) => s.x),
      lib.trace.map((s) => s.x),
    );
  });
}

test('surface: an option of another optimizer, or out of range, is named', async () => {
  const a = await cli('surface', '--optimizer', 'adam', '--etas', '0.5,1.2');
  assert.equal(a.code, 2);
  assert.match(a.err, /--etas does not apply to optimizer adam/);
  const b = await cli('surface', '--optimizer', 'rprop', '--etas', '1.2,0.5');
  assert.equal(b.code, 2);
  assert.match(b.err, /Rprop: invalid etas \[1.2,0.5\]; expected \[η₋, η₊\] with 0 < η₋ < 1 < η₊/);
  const c = await cli('surface', '--optimizer', 'adafactor', '--beta2-decay', '0.3');
  assert.equal(c.code, 2);
  assert.match(c.err, /Adafactor: invalid beta2Decay 0.3; expected ≤ 0/);
});

test('descent compare trains Adafactor, Rprop and ASGD from the same weights (lr 0: ASGD and Adafactor stay put, Rprop moves by Δmin)', async () => {
  const small = [
    '--data',
    'embedded',
    '--limit',
    '128',
    '--test-limit',
    '64',
    '--epochs',
    '1',
    '--batch-size',
    '64',
    '--backend',
    'reference',
  ];
  const r = await cli('compare', ...small, '--optimizers', 'sgd,adafactor,asgd,rprop', '--lr-table', 'same', '--lr', '0', '--json');
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(r.out).results as { optimizer: string; trainLoss: number }[];
  assert.deepEqual(
    rows.map((x) => x.optimizer),
    ['sgd', 'adafactor', 'asgd', 'rprop'],
  );
  assert.equal(rows[1].trainLoss, rows[0].trainLoss);
  assert.equal(rows[2].trainLoss, rows[0].trainLoss);
  assert.notEqual(rows[3].trainLoss, rows[0].trainLoss, "Rprop's lr is only its initial step size");
  const t = await cli('compare', ...small, '--optimizers', 'adafactor,rprop,asgd', '--json');
  assert.equal(t.code, 0, t.err);
  for (const x of JSON.parse(t.out).results) assert.ok(Number.isFinite(x.trainLoss), `${x.optimizer}: ${x.trainLoss}`);
});

test('descent train --resume with Adafactor: the factored state comes back from a checkpoint and the run equals an uninterrupted one', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'descent-adafactor-'));
  try {
    const run = [
      '--optimizer',
      'adafactor',
      '--data',
      'embedded',
      '--limit',
      '256',
      '--test-limit',
      '64',
      '--batch-size',
      '64',
      '--backend',
      'reference',
      '--json',
    ];
    const first = await cli('train', ...run, '--epochs', '1', '--checkpoint-dir', join(dir, 'ck'));
    assert.equal(first.code, 0, first.err);
    const resumed = await cli('train', '--resume', join(dir, 'ck'), '--epochs', '2', '--json');
    assert.equal(resumed.code, 0, resumed.err);
    const whole = await cli('train', ...run, '--epochs', '2');
    assert.equal(whole.code, 0, whole.err);
    const last = (out: string) => JSON.parse(out.trim().split('\n').pop()!);
    const a = last(resumed.out),
      b = last(whole.out);
    assert.equal(a.epoch, 2);
    assert.deepEqual([a.trainLoss, a.testLoss, a.testAccuracy], [b.trainLoss, b.testLoss, b.testAccuracy]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
