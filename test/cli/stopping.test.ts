/**
 * `descent train --clip-grad-norm / --clip-grad-value / --early-stop / --restore-best`: the run stops
 * where the test loss stops improving, says so, saves the best epoch's weights (eval of the saved file
 * gives that epoch's figures), resumes to the same end, and wrong combinations are refused in one line.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-stopping-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sized = (limit: number, testLimit: number) => [
  '--data',
  'embedded',
  '--limit',
  String(limit),
  '--test-limit',
  String(testLimit),
  '--seed',
  '1',
];
const small = sized(1000, 300);

test('--early-stop with --restore-best stops, keeps the best epoch for --save and the final accuracy, and says so', async () => {
  const save = join(dir, 'best.json');
  const r = await cli('train', ...small, '--epochs', '10', '--lr', '0.01', '--early-stop', '0', '--restore-best', '--save', save, '--json');
  assert.equal(r.code, 0, r.err);
  const records = r.out.split('\n').map((l) => JSON.parse(l));
  assert.ok(records.length < 10, `stopped early (${records.length} epochs)`);
  const last = records[records.length - 1];
  assert.equal(last.stoppedEarly, true);
  const best = records.find((x) => x.epoch === last.restoredEpoch);
  assert.ok(best && best.epoch < last.epoch);
  assert.ok(
    records.every((x) => x.testLoss >= best.testLoss),
    'the restored epoch has the lowest test loss',
  );
  assert.match(r.err, new RegExp(`stopped early after epoch ${last.epoch}: the test loss did not improve for an epoch`));
  assert.match(
    r.err,
    new RegExp(`restored the weights of epoch ${best.epoch} \\(test loss ${best.testLoss.toFixed(4)}\\), the best of the run`),
  );
  const ev = await cli('eval', '--weights', save, '--data', 'embedded', '--test-limit', '300', '--json');
  assert.equal(ev.code, 0, ev.err);
  const e = JSON.parse(ev.out);
  assert.ok(Math.abs(e.loss - best.testLoss) < 1e-6, `eval of the saved weights ${e.loss} vs epoch ${best.epoch}'s ${best.testLoss}`);
  assert.equal(e.accuracy, best.testAccuracy);

  const text = await cli('train', ...small, '--epochs', '10', '--lr', '0.01', '--early-stop', '0', '--restore-best');
  assert.match(text.out, new RegExp(`final test accuracy ${best.testAccuracy.toFixed(4)}$`));
});

test('an early-stopped run resumed from a mid-run checkpoint stops at the same epoch with the same weights', async () => {
  const ck = join(dir, 'ck');
  const args = [...small, '--lr', '0.01', '--early-stop', '1', '--restore-best', '--json'];
  const full = await cli('train', ...args, '--epochs', '10', '--save', join(dir, 'full.json'));
  assert.equal(full.code, 0, full.err);
  const n = full.out.split('\n').length;
  assert.ok(n < 10 && n > 2, `${n} epochs`);
  // a run cut short two epochs before the stop, then resumed
  const cut = await cli('train', ...args, '--epochs', String(n - 2), '--checkpoint-dir', ck, '--save', join(dir, 'resumed.json'));
  assert.equal(cut.code, 0, cut.err);
  assert.equal(cut.out.split('\n').length, n - 2);
  const resumed = await cli('train', '--resume', ck, '--epochs', '10', '--json');
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(
    resumed.out.split('\n').map((l) => JSON.parse(l).epoch),
    [n - 1, n],
  );
  const a = await cli('eval', '--weights', join(dir, 'full.json'), '--data', 'embedded', '--test-limit', '300', '--json');
  const b = await cli('eval', '--weights', join(dir, 'resumed.json'), '--data', 'embedded', '--test-limit', '300', '--json');
  const { weights: _a, ...fullEval } = JSON.parse(a.out);
  const { weights: _b, ...resumedEval } = JSON.parse(b.out);
  assert.deepEqual(resumedEval, fullEval);
  assert.ok(readFileSync(join(dir, 'resumed.json')).equals(readFileSync(join(dir, 'full.json'))), 'the same weights, byte for byte');
});

/** Keras 3's EarlyStopping.on_epoch_end replayed on a 'min' sequence: the epoch (from 1) it stops after, 0 if none. */
function kerasStop(values: number[], patience: number, baseline?: number): number {
  let best = Infinity;
  let wait = 0;
  for (let i = 0; i < values.length; i++) {
    wait += 1;
    if (values[i] < best) {
      best = values[i];
      if (baseline === undefined || values[i] < baseline) wait = 0;
      continue;
    }
    // Keras' epoch > 0; descent leaves the run's last epoch alone, as it ends the run anyway
    if (wait >= patience && i > 0 && i < values.length - 1) return i + 1;
  }
  return 0;
}

test('--early-stop-baseline: a test loss that improves but stays above B does not restart the count; --resume keeps B', async () => {
  const args = [...small, '--lr', '0.01', '--json'];
  const plain = await cli('train', ...args, '--epochs', '10');
  assert.equal(plain.code, 0, plain.err);
  const losses: number[] = plain.out.split('\n').map((l) => JSON.parse(l).testLoss);
  const stop = kerasStop(losses, 2, 0.01);
  assert.ok(stop > 0 && stop !== kerasStop(losses, 2), `the baseline changes where the run stops (${stop} vs ${kerasStop(losses, 2)})`);
  const r = await cli('train', ...args, '--epochs', '10', '--early-stop', '2', '--early-stop-baseline', '0.01');
  assert.equal(r.code, 0, r.err);
  const rs = r.out.split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(
    rs.map((x) => x.testLoss),
    losses.slice(0, stop),
  );
  assert.equal(rs[stop - 1].stoppedEarly, true);
  assert.match(
    r.err,
    new RegExp(`stopped early after epoch ${stop}: the test loss had not beaten both its best and the baseline 0.01 for 2 epochs`),
  );
  // cut before the stop and resumed: the baseline comes from the checkpoint
  const ck = join(dir, 'ck-baseline');
  const cut = await cli(
    'train',
    ...args,
    '--epochs',
    String(stop - 1),
    '--early-stop',
    '2',
    '--early-stop-baseline',
    '0.01',
    '--checkpoint-dir',
    ck,
  );
  assert.equal(cut.code, 0, cut.err);
  const resumed = await cli('train', '--resume', ck, '--epochs', '10', '--json');
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(
    resumed.out.split('\n').map((l) => [JSON.parse(l).epoch, JSON.parse(l).stoppedEarly]),
    [[stop, true]],
  );
});

test('--clip-grad-norm and --clip-grad-value change the run; no flag of theirs does when the gradients stay below the bound', async () => {
  const base = [...sized(300, 100), '--epochs', '1', '--optimizer', 'sgd', '--lr', '0.1', '--json'];
  const plain = JSON.parse((await cli('train', ...base)).out);
  const clipped = JSON.parse((await cli('train', ...base, '--clip-grad-norm', '0.1')).out);
  const clamped = JSON.parse((await cli('train', ...base, '--clip-grad-value', '0.001')).out);
  const loose = JSON.parse((await cli('train', ...base, '--clip-grad-norm', '1e6')).out);
  assert.notEqual(clipped.trainLoss, plain.trainLoss);
  assert.notEqual(clamped.trainLoss, plain.trainLoss);
  assert.equal(loose.trainLoss, plain.trainLoss);
});

test('the flags that need --early-stop, clipping with newton and --restore-best with Schedule-Free are refused in one line', async () => {
  for (const [args, re] of [
    [['--restore-best'], /^descent train: --restore-best needs --early-stop PATIENCE$/],
    [['--min-delta', '0.01'], /^descent train: --min-delta needs --early-stop PATIENCE$/],
    [['--early-stop-monitor', 'accuracy'], /^descent train: --early-stop-monitor needs --early-stop PATIENCE$/],
    [['--early-stop-baseline', '0.5'], /^descent train: --early-stop-baseline needs --early-stop PATIENCE$/],
    [
      ['--early-stop', '1', '--early-stop-baseline', 'nan'],
      /--early-stop-baseline: expected a decimal number \(like 0.01 or 1e-3\), got "nan"/,
    ],
    [
      ['--optimizer', 'newton', '--hessian-free', '--full-batch', '--model', 'logreg', '--clip-grad-norm', '1'],
      /^descent train: --clip-grad-norm: newton differentiates the loss/,
    ],
    [
      ['--optimizer', 'schedule-free-sgd', '--early-stop', '1', '--restore-best'],
      /^descent train: --restore-best: schedule-free-sgd is evaluated at weights of its own/,
    ],
    [['--early-stop', '-1'], /--early-stop: -1 is out of range/],
    [['--clip-grad-norm', '0'], /--clip-grad-norm: 0 is out of range/],
  ] as const) {
    const r = await cli('train', ...sized(40, 20), '--epochs', '1', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.split('\n').length, 1, r.err);
  }
});
