/** descent train --checkpoint-dir / --resume / --save / divergence, through the CLI (wasm backend, as shipped). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, writeFileSync, mkdirSync, copyFileSync, truncateSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { readCheckpoint } from '../../src/io/checkpoints.js';
import { tempDir } from '../tmp-dir.js';

const tiny = ['--data', 'embedded', '--limit', '240', '--test-limit', '100', '--batch-size', '40'];
const tmp = () => tempDir('descent-ckpt-');
const ckpts = (dir: string) =>
  readdirSync(dir)
    .filter((n) => /^ckpt-\d{12}\.dckpt$/.test(n))
    .sort();

/** A copy of a checkpoint folder as a run stopped right after `name` would have left it. */
function stoppedAt(dir: string, name: string): string {
  const d = tmp();
  for (const n of ckpts(dir)) if (n <= name) copyFileSync(join(dir, n), join(d, n));
  return d;
}

function sameWeights(a: string, b: string, what: string): void {
  const x = JSON.parse(readFileSync(a, 'utf8')).state,
    y = JSON.parse(readFileSync(b, 'utf8')).state;
  assert.deepEqual(Object.keys(x), Object.keys(y));
  for (const k of Object.keys(x)) {
    const dx: number[] = x[k].data,
      dy: number[] = y[k].data;
    assert.equal(dx.length, dy.length);
    for (let i = 0; i < dx.length; i++)
      if (!Object.is(dx[i], dy[i])) assert.fail(`${what}: ${k}[${i}] is ${dy[i]}, the uninterrupted run has ${dx[i]}`);
  }
}

/** Train once with checkpoints; resume from each chosen checkpoint and compare every final float. */
async function resumeCase(args: string[], every: string, pick: (names: string[]) => string[]): Promise<void> {
  const dir = tmp(),
    ref = join(dir, 'ref.json');
  const full = await cli('train', ...tiny, ...args, '--checkpoint-dir', join(dir, 'ck'), '--checkpoint-every', every, '--save', ref);
  assert.equal(full.code, 0, full.err);
  const names = pick(ckpts(join(dir, 'ck')));
  assert.ok(names.length > 0);
  for (const n of names) {
    const d = stoppedAt(join(dir, 'ck'), n);
    const out = join(d, 'out.json');
    const r = await cli('train', '--resume', d, '--save', out);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      new RegExp(
        `^resuming from ${d}/${n}: (epoch \\d+, batch \\d+|after epoch \\d+), step ${Number(n.slice(5, 17))}; training to epoch \\d`,
      ),
    );
    sameWeights(ref, out, `resumed from ${n}`);
  }
}

test('SGD with momentum stopped at epoch ends resumes bit for bit, and checkpointing does not change the run', async () => {
  const args = ['--optimizer', 'sgd', '--lr', '0.05', '--momentum', '0.9', '--epochs', '3', '--seed', '3'];
  await resumeCase(args, '1epoch', (n) => n.slice(0, -1));
  const dir = tmp();
  const plain = await cli('train', ...tiny, ...args, '--save', join(dir, 'a.json'));
  const ck = await cli(
    'train',
    ...tiny,
    ...args,
    '--save',
    join(dir, 'b.json'),
    '--checkpoint-dir',
    join(dir, 'ck'),
    '--checkpoint-every',
    '2steps',
  );
  assert.equal(plain.code + ck.code, 0);
  sameWeights(join(dir, 'a.json'), join(dir, 'b.json'), 'with checkpoints every 2 steps');
});

test('Adam with a cosine schedule per step resumes bit for bit from mid-epoch and epoch-end checkpoints', async () => {
  await resumeCase(
    ['--optimizer', 'adam', '--lr', '0.01', '--schedule', 'cosine', '--schedule-unit', 'step', '--epochs', '3', '--seed', '4'],
    '4steps',
    (n) => n.slice(0, -1),
  );
});

test('dropout with augmentation and EMA resumes bit for bit mid-epoch', async () => {
  await resumeCase(
    [
      '--optimizer',
      'sgd',
      '--lr',
      '0.05',
      '--momentum',
      '0.9',
      '--dropout',
      '0.3',
      '--augment',
      'flip,crop:2,jitter:0.2',
      '--ema',
      '0.9',
      '--epochs',
      '2',
      '--seed',
      '5',
    ],
    '5steps',
    (n) => n.slice(0, -1),
  );
});

test('MixUp and CutMix resume bit for bit mid-epoch: their draws come from the checkpointed transform stream', async () => {
  await resumeCase(
    [
      '--model',
      'conv:4:3:pad=1,relu,maxpool:2,flatten,linear',
      '--optimizer',
      'adam',
      '--lr',
      '0.01',
      '--mixup',
      '0.4',
      '--cutmix',
      '1',
      '--epochs',
      '2',
      '--seed',
      '7',
    ],
    '5steps',
    (n) => n.slice(0, -1),
  );
});

test('a model with BatchNorm resumes bit for bit mid-epoch: its running statistics are in the checkpoints', async () => {
  await resumeCase(
    [
      '--model',
      'conv:4:3:pad=1,batchnorm,relu,maxpool:2,flatten,linear:16,batchnorm:momentum=0.2,relu,linear',
      '--optimizer',
      'adam',
      '--lr',
      '0.01',
      '--epochs',
      '2',
      '--seed',
      '6',
    ],
    '4steps',
    (n) => n.slice(0, -1),
  );
});

test('a mid-epoch stop (plateau schedule, L2) resumes bit for bit; --keep K leaves the newest K', async () => {
  await resumeCase(
    ['--optimizer', 'sgd', '--lr', '0.1', '--schedule', 'plateau:patience=0', '--l2', '1e-4', '--epochs', '3', '--seed', '6'],
    '4steps',
    (n) => n.filter((x) => Number(x.slice(5, 17)) % 6 !== 0),
  );
  const dir = tmp();
  const r = await cli('train', ...tiny, '--epochs', '2', '--checkpoint-dir', dir, '--checkpoint-every', '1steps', '--keep', '2', '--json');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(ckpts(dir), ['ckpt-000000000011.dckpt', 'ckpt-000000000012.dckpt']);
  assert.deepEqual(readdirSync(dir).sort(), ckpts(dir), 'no temporary files left');
});

test('a corrupt or truncated newest checkpoint is refused naming the file, and --resume falls back to the previous one', async () => {
  const dir = tmp(),
    ref = join(dir, 'ref.json');
  const args = ['--optimizer', 'sgd', '--lr', '0.05', '--momentum', '0.9', '--epochs', '3', '--seed', '3'];
  assert.equal((await cli('train', ...tiny, ...args, '--checkpoint-dir', join(dir, 'ck'), '--save', ref)).code, 0);
  const names = ckpts(join(dir, 'ck'));
  for (const damage of ['flip', 'truncate'] as const) {
    const d = stoppedAt(join(dir, 'ck'), names[1]);
    const victim = join(d, names[1]);
    if (damage === 'flip') {
      const b = readFileSync(victim);
      b[b.length >> 1] ^= 1;
      writeFileSync(victim, b);
    } else truncateSync(victim, statSync(victim).size - 100);
    const out = join(d, 'out.json');
    const r = await cli('train', '--resume', d, '--save', out);
    assert.equal(r.code, 0, r.err);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(
      lines[0],
      new RegExp(
        `^descent train: ${victim}: not a usable checkpoint \\((checksum mismatch|header).*; resuming from the previous good one, ${join(d, names[0])}$`,
      ),
    );
    sameWeights(ref, out, `fallback after a ${damage}`);
  }
  const d = tmp();
  writeFileSync(join(d, names[0]), 'not a checkpoint');
  const r = await cli('train', '--resume', d);
  assert.equal(r.code, 1);
  assert.equal(
    r.err,
    `descent train: ${d}: none of the 1 checkpoint files is usable; newest: ${join(d, names[0])}: not a usable checkpoint (wrong magic bytes)`,
  );
  const empty = await cli('train', '--resume', tmp());
  assert.equal(empty.code, 1);
  assert.match(empty.err, /no checkpoint files \(ckpt-<step>\.dckpt\) in the folder/);
});

test("a fresh run refuses a --checkpoint-dir holding another run's checkpoints; --resume writes into it", async () => {
  const dir = tmp();
  assert.equal((await cli('train', ...tiny, '--epochs', '1', '--checkpoint-dir', dir, '--json')).code, 0);
  const before = ckpts(dir);
  const r = await cli('train', ...tiny, '--epochs', '1', '--seed', '2', '--checkpoint-dir', dir, '--keep', '1', '--json');
  assert.equal(r.code, 2);
  assert.equal(
    r.err,
    `descent train: --checkpoint-dir ${dir}: the folder already holds 1 checkpoint of another run (newest ${before[0]}); continue that run with --resume ${dir}, or give a new or empty folder`,
  );
  assert.equal(r.out, '', 'refused before loading data');
  assert.deepEqual(ckpts(dir), before);
  const resumed = await cli('train', '--resume', dir, '--epochs', '2', '--json');
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal(ckpts(dir).length, 2);
});

test("--resume writes the original run's --save file unless given its own", async () => {
  const dir = tmp(),
    ck = join(dir, 'ck'),
    first = join(dir, 'first.json'),
    other = join(dir, 'other.json');
  assert.equal((await cli('train', ...tiny, '--epochs', '1', '--checkpoint-dir', ck, '--save', first, '--json')).code, 0);
  unlinkSync(first);
  const r = await cli('train', '--resume', ck, '--epochs', '2', '--json');
  assert.equal(r.code, 0, r.err);
  assert.ok(existsSync(first), 'the resumed run wrote --save FILE of the run it continues');
  unlinkSync(first);
  const o = await cli('train', '--resume', ck, '--epochs', '3');
  assert.equal(o.code, 0, o.err);
  assert.match(o.out, new RegExp(`^saved weights to ${first}$`, 'm'));
  unlinkSync(first);
  const given = await cli('train', '--resume', ck, '--epochs', '4', '--save', other, '--json');
  assert.equal(given.code, 0, given.err);
  assert.ok(existsSync(other) && !existsSync(first), 'a --save given with --resume replaces it');
});

test('--resume takes its settings from the checkpoint: other flags and bad --epochs are usage errors', async () => {
  const dir = tmp();
  assert.equal((await cli('train', ...tiny, '--epochs', '2', '--checkpoint-dir', dir, '--json')).code, 0);
  const lr = await cli('train', '--resume', dir, '--lr', '0.1');
  assert.equal(lr.code, 2);
  assert.match(lr.err, /^descent train: --lr: with --resume the run's settings come from the checkpoint/);
  const few = await cli('train', '--resume', dir, '--epochs', '1');
  assert.equal(few.code, 2);
  assert.match(few.err, /--epochs 1: the checkpoint .* is already at epoch 2; give --epochs 3 or more/);
  const more = await cli('train', '--resume', dir, '--epochs', '3', '--json');
  assert.equal(more.code, 0, more.err);
  assert.deepEqual(
    more.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).epoch),
    [3],
  );
  for (const [args, msg] of [
    [['--checkpoint-every', '2epochs'], /--checkpoint-every needs --checkpoint-dir DIR/],
    [['--keep', '2'], /--keep needs --checkpoint-dir DIR/],
    [
      ['--checkpoint-dir', dir, '--checkpoint-every', '3 fortnights'],
      /--checkpoint-every: expected a count and a unit such as 2epochs or 100steps, got "3 fortnights"/,
    ],
  ] as [string[], RegExp][]) {
    const r = await cli('train', ...tiny, ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, msg);
  }
});

test('--resume keeps the backend the run trained on, and --backend moves it (a run checkpointed on a GPU continues on a machine without one)', async () => {
  const dir = tmp();
  assert.equal((await cli('train', ...tiny, '--epochs', '1', '--backend', 'reference', '--checkpoint-dir', dir)).code, 0);
  const kept = await cli('train', '--resume', dir, '--epochs', '2');
  assert.equal(kept.code, 0, kept.err);
  assert.match(kept.out, /, backend reference\n/);
  const moved = await cli('train', '--resume', dir, '--epochs', '3', '--backend', 'wasm');
  assert.equal(moved.code, 0, moved.err);
  assert.match(moved.out, /resuming from .*after epoch 2/);
  assert.match(moved.out, /, backend wasm\b/);
  assert.match(moved.out, /^epoch 3\/3 /m);
});

test('an exploding or NaN run stops with one line naming epoch, step, learning rate and the last good checkpoint (exit 1)', async () => {
  for (const opt of ['adam', 'adagrad', 'lion', 'sgd']) {
    const dir = tmp();
    const r = await cli(
      'train',
      ...tiny,
      '--optimizer',
      opt,
      '--lr',
      '1e6',
      '--epochs',
      '3',
      '--checkpoint-dir',
      dir,
      '--checkpoint-every',
      '1steps',
    );
    assert.equal(r.code, 1, `${opt}: ${r.out}`);
    assert.equal(r.err.split('\n').length, 1, r.err);
    const m =
      /^descent train: the loss became (\S+)(, over 10000× the first step's loss \S+ \(diverging\))? at epoch (\d+), step (\d+) \(learning rate 1000000\); last good checkpoint: (.*)$/.exec(
        r.err,
      );
    assert.ok(m, `${opt}: ${r.err}`);
    const step = Number(m[4]);
    assert.equal(m[5], step > 1 ? join(dir, `ckpt-${String(step - 1).padStart(12, '0')}.dckpt`) : 'none');
    if (step > 1) readCheckpoint(m[5]);
    assert.doesNotMatch(r.out, /final test accuracy/);
  }
});

test('--save is checked before training: an empty name is a usage error, a missing or non-folder parent fails at once; nothing is written', async () => {
  const dir = tmp();
  const empty = await cli('train', ...tiny, '--save', '');
  assert.equal(empty.code, 2);
  assert.equal(empty.err, 'descent train: --save: empty file name; give the file to write the weights to');
  assert.equal(empty.out, '');
  const missing = await cli('train', ...tiny, '--save', join(dir, 'nope', 'w.json'));
  assert.equal(missing.code, 1);
  assert.equal(missing.err, `descent train: --save ${join(dir, 'nope', 'w.json')}: folder ${join(dir, 'nope')} does not exist`);
  assert.equal(missing.out, '', 'nothing trained');
  writeFileSync(join(dir, 'file'), 'x');
  const notDir = await cli('train', ...tiny, '--save', join(dir, 'file', 'w.json'));
  assert.equal(notDir.code, 1);
  assert.match(notDir.err, /^descent train: (--save )?\S*file\/w\.json: (cannot be examined \(ENOTDIR\)|.*is not a folder)$/);
  assert.equal(notDir.out, '');
  mkdirSync(join(dir, 'sub'));
  const isDir = await cli('train', ...tiny, '--save', join(dir, 'sub'));
  assert.equal(isDir.code, 1);
  assert.match(isDir.err, /is a folder; refusing to replace it/);
  const ckFile = await cli('train', ...tiny, '--checkpoint-dir', join(dir, 'file'));
  assert.equal(ckFile.code, 1);
  assert.equal(ckFile.err, `descent train: checkpoint folder ${join(dir, 'file')}: is a regular file, not a folder`);
  assert.equal(ckFile.out, '');
  assert.deepEqual(readdirSync(dir).sort(), ['file', 'sub']);
  assert.deepEqual(readdirSync(join(dir, 'sub')), []);
});

test('--save works with --full-batch (L-BFGS) and writes the trained weights', async () => {
  const dir = tmp(),
    save = join(dir, 'w.json');
  const r = await cli(
    'train',
    '--model',
    'logreg',
    '--optimizer',
    'lbfgs',
    '--max-iter',
    '3',
    '--full-batch',
    '--data',
    'embedded',
    '--limit',
    '200',
    '--test-limit',
    '100',
    '--epochs',
    '2',
    '--save',
    save,
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /saved weights to /);
  const w = JSON.parse(readFileSync(save, 'utf8'));
  assert.deepEqual(w.state['0.weight'].shape, [10, 784]);
  assert.ok(w.state['0.weight'].data.some((v: number) => v !== 0));
  assert.deepEqual(readdirSync(dir), ['w.json']);
});

test('full-batch L-BFGS resumes bit for bit from a checkpoint', async () => {
  const dir = tmp(),
    ref = join(dir, 'ref.json');
  const args = [
    '--model',
    'logreg',
    '--optimizer',
    'lbfgs',
    '--max-iter',
    '3',
    '--history-size',
    '5',
    '--full-batch',
    '--data',
    'embedded',
    '--limit',
    '200',
    '--test-limit',
    '100',
    '--epochs',
    '3',
  ];
  const full = await cli('train', ...args, '--save', ref, '--checkpoint-dir', join(dir, 'ck'), '--json');
  assert.equal(full.code, 0, full.err);
  assert.deepEqual(ckpts(join(dir, 'ck')), ['ckpt-000000000001.dckpt', 'ckpt-000000000002.dckpt', 'ckpt-000000000003.dckpt']);
  const d = stoppedAt(join(dir, 'ck'), 'ckpt-000000000001.dckpt');
  const r = await cli('train', '--resume', d, '--save', join(d, 'o.json'), '--json');
  assert.equal(r.code, 0, r.err);
  sameWeights(ref, join(d, 'o.json'), 'full batch');
  const recs = (s: string) =>
    s
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .map((x) => [x.epoch, x.trainLoss, x.evals, x.iters]);
  assert.deepEqual(recs(r.out), recs(full.out).slice(1));
  assert.ok(existsSync(join(d, 'ckpt-000000000003.dckpt')));
});

test('a full-batch run whose loss stops changing says so once on stderr', async () => {
  const r = await cli(
    'train',
    '--model',
    'logreg',
    '--optimizer',
    'sgd',
    '--lr',
    '0',
    '--full-batch',
    '--data',
    'embedded',
    '--limit',
    '100',
    '--test-limit',
    '50',
    '--epochs',
    '5',
  );
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.err,
    /^descent train: warning: the loss has stayed at \S+ for 3 steps \(step 4, learning rate 0\): the optimizer makes no progress$/,
  );
  const ok = await cli(
    'train',
    '--model',
    'logreg',
    '--optimizer',
    'sgd',
    '--lr',
    '0.1',
    '--full-batch',
    '--data',
    'embedded',
    '--limit',
    '100',
    '--test-limit',
    '50',
    '--epochs',
    '5',
  );
  assert.equal(ok.err, '');
});

test('--on-nan skip leaves out the non-finite steps and says how many; an epoch with every step skipped stops', async () => {
  const one = await cli('train', ...tiny, '--optimizer', 'sgd', '--lr', '1e30', '--epochs', '1', '--on-nan', 'skip');
  assert.equal(one.code, 0, one.err);
  assert.match(one.out, /\nskipped 5 step\(s\) whose loss or gradient was not finite \(--on-nan skip\)\n/);
  const stop = await cli('train', ...tiny, '--optimizer', 'sgd', '--lr', '1e30', '--epochs', '1');
  assert.equal(stop.code, 1);
  assert.equal(stop.err, 'descent train: the loss became NaN at epoch 1, step 2 (learning rate 1e+30); last good checkpoint: none');
  const two = await cli('train', ...tiny, '--optimizer', 'sgd', '--lr', '1e30', '--epochs', '2', '--on-nan', 'skip');
  assert.equal(two.code, 1);
  assert.equal(
    two.err,
    'descent train: every step of the epoch was skipped (11 in all): the loss or gradient was never finite at epoch 2, step 12 (learning rate 1e+30); last good checkpoint: none',
  );
});

test('--resume from another working directory finds relative --data; data changed since the run began is refused by name', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'run'));
  const rows = ['x,y,label'];
  for (let i = 0; i < 60; i++) rows.push(`${(i % 7) / 7},${(i % 5) / 5},${i % 3}`);
  const csv = join(dir, 'run', 'd.csv');
  writeFileSync(csv, `${rows.join('\n')}\n`);
  const cwd = process.cwd();
  try {
    process.chdir(join(dir, 'run'));
    const first = await cli('train', '--data', 'd.csv', '--val-split', '0.25', '--epochs', '1', '--checkpoint-dir', 'ck', '--json');
    assert.equal(first.code, 0, first.err);
    process.chdir(dir);
    const again = await cli('train', '--resume', join('run', 'ck'), '--epochs', '2', '--json');
    assert.equal(again.code, 0, again.err);
    const meta = readCheckpoint(join(dir, 'run', 'ck', ckpts(join(dir, 'run', 'ck')).pop()!)).meta as {
      options: { data: string };
      fingerprints: { data: { bytes: number } };
    };
    assert.equal(meta.options.data, csv);
    assert.equal(meta.fingerprints.data.bytes, statSync(csv).size);
    // rows removed: another size
    writeFileSync(csv, `${rows.slice(0, 50).join('\n')}\n`);
    const fewer = await cli('train', '--resume', join('run', 'ck'), '--epochs', '3', '--json');
    assert.equal(fewer.code, 2);
    assert.equal(
      fewer.err,
      `descent train: --data ${csv}: changed since the run checkpointed in ${join('run', 'ck')} began (it had ${(meta.fingerprints.data.bytes).toLocaleString('en-US')} bytes, now ${statSync(csv).size.toLocaleString('en-US')}); resume with the data it was trained on, or start a new run`,
    );
    // one value changed in place: the same size
    writeFileSync(csv, `${rows.join('\n').replace('0,0,0', '0,0,1')}\n`);
    const edited = await cli('train', '--resume', join('run', 'ck'), '--epochs', '3', '--json');
    assert.equal(edited.code, 2);
    assert.match(edited.err, /--data .*d\.csv: changed since .* \(its content differs \(SHA-256\)\)/);
    assert.equal(edited.out, '', 'refused before training');
  } finally {
    process.chdir(cwd);
  }
});

test('--accumulate 3: the header names the effective batch, checkpoints between groups resume bit for bit with --accumulate kept, and what cannot accumulate is refused', async () => {
  // 240 samples in batches of 40: 6 per epoch, 2 steps of 3
  const args = ['--optimizer', 'adam', '--lr', '0.01', '--epochs', '2', '--seed', '4', '--accumulate', '3'];
  await resumeCase(args, '1steps', (n) => {
    assert.deepEqual(
      n.map((x) => Number(x.slice(5, 17))),
      [1, 2, 3, 4],
    );
    return n.slice(0, -1);
  });
  const dir = tmp();
  const r = await cli('train', ...tiny, ...args, '--checkpoint-dir', join(dir, 'ck'), '--checkpoint-every', '1steps');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^accumulating 3 batches of 40 per step \(effective batch 120\)$/m);
  const c = readCheckpoint(join(dir, 'ck', ckpts(join(dir, 'ck'))[0]));
  assert.deepEqual([c.epoch, c.batch, c.step, c.accumulate], [0, 3, 1, 3]);
  const again = await cli('train', '--resume', stoppedAt(join(dir, 'ck'), ckpts(join(dir, 'ck'))[0]), '--accumulate', '2');
  assert.equal(again.code, 2);
  assert.match(again.err, /--accumulate: with --resume the run's settings come from the checkpoint/);
  const refusals: [string[], RegExp][] = [
    [
      ['--accumulate', '2', '--full-batch', '--optimizer', 'lbfgs'],
      /--accumulate 2 needs mini-batch steps; --full-batch already takes every step/,
    ],
    [
      ['--accumulate', '2', '--optimizer', 'sam', '--base', 'sgd'],
      /--accumulate 2: --optimizer sam re-evaluates the loss inside its step \(a closure over one batch\)/,
    ],
    [['--accumulate', '0'], /--accumulate/],
  ];
  for (const [extra, why] of refusals) {
    const bad = await cli('train', ...tiny, '--epochs', '1', ...extra);
    assert.equal(bad.code, 2, `${extra.join(' ')}: ${bad.err}`);
    assert.match(bad.err, why);
    assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
  }
});
