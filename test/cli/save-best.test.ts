/**
 * `descent train --save-best FILE`: the file is written at the epochs whose test loss (or, with
 * --save-best-monitor accuracy, test accuracy) beats the best so far, `descent eval` of it gives the
 * best epoch's figures, the records and the text say which epochs were saved, a resumed run goes on
 * from the best kept in the checkpoint (not from its own first epoch), and wrong combinations and
 * paths are refused before training.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-save-best-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const small = ['--data', 'embedded', '--limit', '1000', '--test-limit', '300', '--seed', '1', '--lr', '0.01'];

interface Rec {
  epoch: number;
  testLoss: number;
  testAccuracy: number;
  savedBest?: boolean;
}
const records = (out: string): Rec[] => out.split('\n').map((l) => JSON.parse(l));
const saved = (rs: Rec[]) => rs.filter((r) => r.savedBest === true).map((r) => r.epoch);
/** The epochs whose figure beats every earlier one (lower, or higher with `max`). */
function improving(rs: Rec[], key: 'testLoss' | 'testAccuracy', max = false): number[] {
  let best = max ? -Infinity : Infinity;
  return rs.filter((r) => (max ? r[key] > best : r[key] < best) && ((best = r[key]), true)).map((r) => r.epoch);
}

async function evalFile(file: string): Promise<{ loss: number; accuracy: number }> {
  const ev = await cli('eval', '--weights', file, '--data', 'embedded', '--test-limit', '300', '--json');
  assert.equal(ev.code, 0, ev.err);
  return JSON.parse(ev.out);
}

test('--save-best writes the epochs that improve the test loss; the file evaluates to the best epoch, in JSON and safetensors', async () => {
  for (const name of ['best.json', 'best.safetensors']) {
    const file = join(dir, name);
    const r = await cli('train', ...small, '--epochs', '8', '--save-best', file, '--json');
    assert.equal(r.code, 0, r.err);
    const rs = records(r.out);
    const want = improving(rs, 'testLoss');
    assert.deepEqual(saved(rs), want);
    assert.ok(want.length < rs.length, `some epoch does not improve (${want.join(', ')})`);
    const best = rs.find((x) => x.epoch === want[want.length - 1])!;
    assert.match(r.err, new RegExp(`best model: epoch ${best.epoch} \\(test loss ${best.testLoss.toFixed(4)}\\), saved to .*${name}`));
    const e = await evalFile(file);
    assert.ok(Math.abs(e.loss - best.testLoss) < 1e-6, `${name}: eval ${e.loss} vs epoch ${best.epoch}'s ${best.testLoss}`);
    assert.equal(e.accuracy, best.testAccuracy);
  }
});

test('--save-best-monitor accuracy keeps the epochs of the highest test accuracy; text mode marks the saved epochs', async () => {
  const file = join(dir, 'acc.json');
  const r = await cli('train', ...small, '--epochs', '8', '--save-best', file, '--save-best-monitor', 'accuracy', '--json');
  assert.equal(r.code, 0, r.err);
  const rs = records(r.out);
  assert.deepEqual(saved(rs), improving(rs, 'testAccuracy', true));
  assert.notDeepEqual(saved(rs), improving(rs, 'testLoss'), 'this run ranks its epochs differently by loss');
  const best = rs.find((x) => x.epoch === saved(rs).pop())!;
  assert.equal((await evalFile(file)).accuracy, best.testAccuracy);

  const text = await cli('train', ...small, '--epochs', '8', '--save-best', join(dir, 'text.json'), '--save-best-monitor', 'accuracy');
  assert.equal(text.code, 0, text.err);
  const lines = text.out.split('\n').filter((l) => l.startsWith('epoch '));
  assert.deepEqual(
    lines.map((l, i) => (l.endsWith('  saved best') ? i + 1 : 0)).filter((e) => e > 0),
    saved(rs),
  );
  assert.match(text.out, new RegExp(`best model: epoch ${best.epoch} \\(test accuracy ${best.testAccuracy.toFixed(4)}\\), saved to`));
  // --early-stop-monitor names the figure --save-best watches when it has none of its own
  const stop = await cli(
    'train',
    ...small,
    '--epochs',
    '8',
    '--early-stop',
    '9',
    '--early-stop-monitor',
    'accuracy',
    '--save-best',
    join(dir, 's.json'),
    '--json',
  );
  assert.equal(stop.code, 0, stop.err);
  assert.deepEqual(saved(records(stop.out)), saved(rs));
});

test('a resumed run goes on from the best so far: the epochs after the checkpoint that do not beat it are not saved', async () => {
  const args = [...small, '--json'];
  const full = await cli('train', ...args, '--epochs', '8', '--save-best', join(dir, 'full.json'));
  assert.equal(full.code, 0, full.err);
  const rs = records(full.out);
  const last = saved(rs).pop()!;
  assert.ok(last < 8, `the best epoch (${last}) is before the last`);
  // cut at the best epoch: every later epoch is worse than it, and a run that forgot it would save the first of them
  const ck = join(dir, 'ck');
  const cut = await cli('train', ...args, '--epochs', String(last), '--checkpoint-dir', ck, '--save-best', join(dir, 'resumed.json'));
  assert.equal(cut.code, 0, cut.err);
  const resumed = await cli('train', '--resume', ck, '--epochs', '8', '--json');
  assert.equal(resumed.code, 0, resumed.err);
  const after = records(resumed.out);
  assert.deepEqual(
    after.map((x) => x.epoch),
    Array.from({ length: 8 - last }, (_, i) => last + 1 + i),
  );
  assert.deepEqual(saved(after), []);
  assert.match(
    resumed.err,
    new RegExp(`best model: epoch ${last} \\(test loss ${rs[last - 1].testLoss.toFixed(4)}\\), saved to .*resumed\\.json`),
  );
  assert.ok(readFileSync(join(dir, 'resumed.json')).equals(readFileSync(join(dir, 'full.json'))), 'the same best model, byte for byte');
  // --save-best is the checkpoint's: it cannot be changed on resume
  const moved = await cli('train', '--resume', ck, '--epochs', '9', '--save-best', join(dir, 'other.json'));
  assert.equal(moved.code, 2);
  assert.match(moved.err, /--save-best: with --resume the run's settings come from the checkpoint/);
});

test('--save-best-threshold X: the best starts at X, so only the epochs beating X (and the best before them) are written', async () => {
  const plain = await cli('train', ...small, '--epochs', '8', '--save-best', join(dir, 'plain.json'), '--json');
  assert.equal(plain.code, 0, plain.err);
  const rs = records(plain.out);
  // X: the third epoch's test loss, so epochs 1 to 3 cannot beat it
  const x = rs[2].testLoss;
  let best = x;
  const want = rs.filter((r) => r.testLoss < best && ((best = r.testLoss), true)).map((r) => r.epoch);
  assert.ok(want.length > 0 && want[0] > 3 && want.length < saved(rs).length, `${want.join(', ')} of ${saved(rs).join(', ')}`);
  const file = join(dir, 'threshold.json');
  const r = await cli('train', ...small, '--epochs', '8', '--save-best', file, '--save-best-threshold', String(x), '--json');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(saved(records(r.out)), want);
  assert.ok(Math.abs((await evalFile(file)).loss - rs[want[want.length - 1] - 1].testLoss) < 1e-6);
  // never beaten: no file, and the end of the run says why
  const none = join(dir, 'none.json');
  const n = await cli('train', ...small, '--epochs', '2', '--save-best', none, '--save-best-threshold', '0.001');
  assert.equal(n.code, 0, n.err);
  assert.ok(!existsSync(none));
  assert.match(n.out + n.err, /--save-best .*none\.json: no epoch saved \(the test loss never beat --save-best-threshold 0\.001\)/);
});

test('--save-best is checked before training: the same file as --save, a missing folder, an empty name, a lone monitor flag, --ensemble', async () => {
  const cases: [string[], number, RegExp][] = [
    [
      ['--save-best', join(dir, 'x.json'), '--save', join(dir, 'x.json')],
      2,
      /--save-best .*x\.json: the same file as --save, which would replace the best model with the final one; give two files/,
    ],
    [['--save-best', join(dir, 'no', 'x.json')], 1, /--save-best .*x\.json: folder .*no does not exist/],
    [['--save-best', dir], 1, /--save-best .*: is a folder; refusing to replace it with a regular file/],
    [['--save-best', ''], 2, /--save-best: empty file name/],
    [['--save-best-monitor', 'accuracy'], 2, /--save-best-monitor needs --save-best FILE/],
    [['--save-best-threshold', '0.5'], 2, /--save-best-threshold needs --save-best FILE/],
    [['--save-best', join(dir, 'z.json'), '--save-best-threshold', 'low'], 2, /--save-best-threshold: expected a decimal number/],
    [['--save-best-monitor', 'acc', '--save-best', join(dir, 'y.json')], 2, /--save-best-monitor: .*accuracy/],
    [
      ['--save-best', join(dir, 'e.json'), '--ensemble', '2'],
      2,
      /--save-best writes one model; with --ensemble N each member would overwrite it/,
    ],
  ];
  for (const [flags, code, re] of cases) {
    const r = await cli('train', ...small, '--epochs', '1', ...flags);
    assert.equal(r.code, code, `${flags.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, 'one line');
    assert.doesNotMatch(r.out, /epoch 1\//, 'refused before training');
  }
});
