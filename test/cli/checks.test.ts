/**
 * The validation findings of the hostile-input probe (issue 20), each reproduced: the CLI refuses
 * with one line naming the option and what it expects, exits 2 (usage) or 1 (data), and writes
 * nothing (a --save path given alongside stays absent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { Rng, SEED_MAX } from '../../src/tensor/rng.js';
import { tempDir } from '../tmp-dir.js';

const tiny = ['--data', 'embedded', '--limit', '40', '--test-limit', '20'];

/** A --save path in a fresh folder, and a check that nothing appeared in that folder. */
function savePath(): { args: string[]; assertNothingWritten: () => void } {
  const dir = tempDir('descent-checks-');
  const file = join(dir, 'w.json');
  return { args: ['--save', file], assertNothingWritten: () => assert.equal(existsSync(file), false, 'nothing may be written') };
}

async function refused(args: string[], code: number, re: RegExp): Promise<string> {
  const s = savePath();
  const r = await cli(...args, ...(args[0] === 'train' ? s.args : []));
  assert.equal(r.code, code, `${args.join(' ')}: exit ${r.code}, stderr ${r.err}`);
  assert.match(r.err, re);
  assert.equal(r.err.split('\n').length, 1, `one line: ${r.err}`);
  assert.doesNotMatch(r.out, /epoch|step /, 'refused before training');
  s.assertNothingWritten();
  return r.err;
}

test('numbers are decimal only: 0x10, 0b1, 0o7, Infinity, 1_000 and " 5" are refused for every numeric option', async () => {
  for (const v of ['0x10', '0b1', '0o7', 'Infinity', '1_000', ' 5', '']) {
    await refused(
      ['train', '--lr', v],
      2,
      new RegExp(`--lr: expected a decimal number .*got "${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`),
    );
  }
  await refused(['train', '--epochs', '0x10'], 2, /--epochs: expected a decimal number/);
  await refused(['surface', '--start', '0x1,2'], 2, /--start: expected a decimal number/);
  await refused(['train', '--schedule', 'exponential:k=0x10'], 2, /k=0x10 is not a number/);
  await refused(['train', '--augment', 'crop:0x2'], 2, /the padding is not a number \("0x2"\)/);
  await refused(
    ['schedule', '--name', 'plateau', '--steps', '2', '--metrics', '1,0x10'],
    2,
    /--metrics: expected comma-separated decimal numbers/,
  );
  // What decimal numbers may look like.
  for (const v of ['1e-3', '.5', '3.', '+2', '1E2']) {
    const r = await cli('schedule', '--name', 'constant', '--lr', v, '--steps', '1', '--json');
    assert.equal(r.code, 0, `${v}: ${r.err}`);
    assert.equal(JSON.parse(r.out).lr[0], Number(v));
  }
});

test('names are matched ignoring case everywhere: models, optimizers, functions, choices, commands', async () => {
  const r = await cli(
    'train',
    '--model',
    'LOGREG',
    '--optimizer',
    'SGD',
    '--line-search',
    'NONE',
    ...tiny,
    '--epochs',
    '1',
    '--full-batch',
  ).catch((e) => e);
  // --line-search does not apply to sgd: the point here is that the names resolve (the error is about sgd's options).
  assert.match(r.err, /--line-search does not apply to optimizer sgd/);
  const ok = await cli('train', '--model', 'LogReg', '--optimizer', 'ADAM', ...tiny, '--epochs', '1');
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /model: logreg .*optimizer: Adam/);
  const s = await cli('surface', '--fn', 'ROSENBROCK', '--optimizer', 'Adam', '--steps', '2', '--json');
  assert.equal(s.code, 0, s.err);
  assert.equal(JSON.parse(s.out).fn, 'rosenbrock');
  const ls = await cli('surface', '--optimizer', 'LBFGS', '--line-search', 'Strong-Wolfe', '--steps', '1', '--json');
  assert.equal(ls.code, 0, ls.err);
  const cmd = await cli('SCHEDULE', '--name', 'constant', '--steps', '1');
  assert.equal(cmd.code, 0, cmd.err);
});

test('typo suggestions use Damerau–Levenshtein: adma → adam, options, models, functions, choices', async () => {
  await refused(['train', '--optimizer', 'adma'], 2, /unknown optimizer "adma".*\(did you mean adam\?\)/);
  await refused(['train', '--model', 'mpl'], 2, /unknown model "mpl".*\(did you mean mlp\?\)/);
  await refused(['train', '--bacth-size', '3'], 2, /unknown option --bacth-size .*\(did you mean --batch-size\?\)/);
  await refused(['surface', '--fn', 'rosenbrok'], 2, /unknown value "rosenbrok".*\(did you mean rosenbrock\?\)/);
  await refused(['train', '--line-search', 'strong-wofle'], 2, /\(did you mean strong-wolfe\?\)/);
  await refused(['compare', '--optimizers', 'sgd,nadma'], 2, /unknown optimizer "nadma".*\(did you mean nadam\?\)/);
  await refused(['train', '--augment', 'flpi'], 2, /unknown transform "flpi" \(did you mean flip\?\)/);
  await refused(['schedule', '--name', 'cosnie'], 2, /unknown schedule "cosnie".*\(did you mean cosine\?\)/);
  const cmd = await cli('trian');
  assert.match(cmd.err, /unknown command "trian".*\(did you mean train\?\)/);
});

test('a 100 KB value is echoed as 60 characters and its length, in every message', async () => {
  const big = 'x'.repeat(100_000);
  for (const args of [
    ['train', '--optimizer', big],
    ['train', '--model', big],
    ['train', '--lr', big],
    ['surface', '--fn', big],
    ['train', `--${big}`, '1'],
    ['train', '--augment', big],
    ['schedule', '--name', big],
    ['train', '--data', big],
  ]) {
    const r = await cli(...args);
    assert.notEqual(r.code, 0);
    assert.ok(r.err.length < 1000, `${args[0]} ${args[1].slice(0, 12)}: ${r.err.length} characters echoed`);
    assert.match(r.err, /x{20,}… \(1000\d\d characters\)/); // the value, or the path made of it
    assert.equal(r.err.split('\n').length, 1);
  }
});

test('seeds are 32-bit: 4294967297 is refused, not wrapped to 1; the largest seed runs', async () => {
  for (const cmd of ['train', 'surface', 'compare', 'augment']) {
    await refused(
      [cmd, '--seed', '4294967297'],
      2,
      new RegExp(`--seed: 4294967297 is out of range; expected an integer ≥ 0 and ≤ ${SEED_MAX}`),
    );
  }
  assert.throws(() => new Rng(2 ** 32 + 1), /Rng seed: expected an integer from 0 to 4294967295, got 4294967297/);
  assert.throws(() => new Rng(-1), RangeError);
  const top = await cli('surface', '--fn', 'bowl', '--noise', '0.1', '--seed', String(SEED_MAX), '--steps', '3', '--json');
  assert.equal(top.code, 0, top.err);
  const one = await cli('surface', '--fn', 'bowl', '--noise', '0.1', '--seed', '1', '--steps', '3', '--json');
  assert.notDeepEqual(JSON.parse(top.out).trace, JSON.parse(one.out).trace);
  const ens = await cli('train', '--seed', String(SEED_MAX - 1), '--ensemble', '3', ...tiny, '--epochs', '1');
  assert.equal(ens.code, 2);
  assert.match(ens.err, /--ensemble 3 with --seed 4294967294: the members' seeds 4294967294…4294967296 pass the largest seed 4294967295/);
  assert.doesNotMatch(ens.out, /member/, 'refused before the first member trains');
});

test('--full-batch with --batch-size is an error, not silently ignored', async () => {
  await refused(['train', '--full-batch', '--batch-size', '64', ...tiny], 2, /--batch-size 64 does not apply with --full-batch/);
  const ok = await cli('train', '--full-batch', '--optimizer', 'gd', '--model', 'logreg', ...tiny, '--epochs', '1');
  assert.equal(ok.code, 0, ok.err);
});

test('--swa past the last epoch is refused before training, not reported as no samples after it', async () => {
  await refused(
    ['train', ...tiny, '--epochs', '1', '--swa', '5'],
    2,
    /^descent train: --swa 5: averaging from epoch 5 on takes no sample in a run of 1 epoch; give --swa 1 or less, or --epochs 5 or more$/,
  );
  const r = await cli('train', ...tiny, '--epochs', '2', '--swa', '2');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^SWA from epoch 2: /m);
  assert.doesNotMatch(r.out, /no samples/);
});

test('--augment crop larger than half the image is refused before training', async () => {
  await refused(
    ['train', '--augment', 'crop:1000', ...tiny, '--epochs', '1'],
    2,
    /--augment crop:1000: crop: padding 1000 is too large for 28×28 images; expected at most 13/,
  );
  await refused(['train', '--augment', 'flip,crop:14', ...tiny, '--epochs', '1'], 2, /expected at most 13/);
  const dir = tempDir('descent-aug-');
  const r = await cli('augment', '--out', join(dir, 'grid.png'), '--augment', 'crop:1000');
  assert.equal(r.code, 2);
  assert.match(r.err, /^descent augment: --augment crop:1000: crop: padding 1000 is too large for 28×28 images/);
  assert.deepEqual(readdirSync(dir), [], 'no grid, no temporary file');
  const ok = await cli('train', '--augment', 'crop:13', '--model', 'logreg', ...tiny, '--epochs', '1');
  assert.equal(ok.code, 0, ok.err);
});

test("--line-search armijo with lbfgs is one usage error in the CLI's words", async () => {
  const err = await refused(
    ['train', '--optimizer', 'lbfgs', '--line-search', 'armijo', '--full-batch', ...tiny],
    2,
    /--optimizer lbfgs: LBFGS: invalid --line-search "armijo"; expected none or strong-wolfe/,
  );
  assert.doesNotMatch(err, /lineSearchFn|strongWolfe/);
  await refused(
    ['surface', '--optimizer', 'lbfgs', '--line-search', 'armijo'],
    2,
    /invalid --line-search "armijo"; expected none or strong-wolfe/,
  );
});

test('exact Newton on the MLP points to --hessian-free before allocating the Hessian', async () => {
  const err = await refused(
    ['train', '--optimizer', 'newton', '--full-batch', ...tiny],
    2,
    /--optimizer newton: the exact Hessian of model mlp \(235146 parameters\).*add --hessian-free/,
  );
  assert.doesNotMatch(err, /Invalid typed array length/);
});

test('L-BFGS and step counts have a --help maximum, and one past it is refused', async () => {
  const h = (await cli('train', '--help')).out;
  for (const [flag, max] of [
    ['max-iter', 100000],
    ['history-size', 1000],
    ['epochs', 10000],
    ['seed', SEED_MAX],
    ['ensemble', 100],
    ['snapshots', 100],
  ] as const) {
    assert.match(h, new RegExp(`--${flag} .*at most ${max}\\)`), `train --help shows the maximum of --${flag}`);
    await refused(
      ['train', `--${flag}`, String(max + 1)],
      2,
      new RegExp(`--${flag}: ${max + 1} is out of range; expected an integer .*≤ ${max}`),
    );
  }
  for (const args of [['surface'], ['schedule', '--name', 'constant']]) {
    assert.match((await cli(args[0], '--help')).out, /--steps .*at most 1000000\)/);
    await refused([...args, '--steps', '1000001'], 2, /--steps: 1000001 is out of range; expected an integer .*≤ 1000000/);
  }
  assert.match((await cli('compare', '--help')).out, /--epochs .*at most 10000\)/);
});

test('Newton --hessian-free that stalls stops with one line saying so (it would repeat the same step)', async () => {
  const r = await cli('train', '--optimizer', 'newton', '--hessian-free', '--full-batch', '--lr', '1e-8', ...tiny, '--epochs', '6');
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.err,
    /^descent train: newton --hessian-free stalled at step 1 of 6: the step did not lower the loss [0-9.]+, and every further step would repeat it; stopped early/,
  );
  assert.equal(r.err.split('\n').length, 1);
  assert.equal(r.out.split('\n').filter((l) => /^step /.test(l)).length, 1, 'no further steps');
  // A Newton run that keeps lowering the loss says nothing.
  const fine = await cli('train', '--optimizer', 'newton', '--hessian-free', '--full-batch', '--model', 'logreg', ...tiny, '--epochs', '3');
  assert.equal(fine.code, 0, fine.err);
  assert.equal(fine.err, '');
});

test('a layer larger than a typed array can be is refused naming --model, the layer, its parameter count and the limit', async () => {
  await refused(
    ['train', '--model', 'linear:2147483647,linear', ...tiny],
    2,
    /^descent train: --model: layer 0 \(linear:2147483647\): 1,685,774,662,895 parameters \(weights 2147483647×784 and 2,147,483,647 biases\); a layer's weights hold at most 4,294,967,296 numbers \(2\^32\)$/,
  );
  await refused(
    ['train', '--model', 'conv:1000000000:5,flatten,linear', ...tiny],
    2,
    /--model: layer 0 \(conv:1000000000:5\): 26,000,000,000 parameters \(weights 1000000000×1×5×5 and 1,000,000,000 biases\); .* at most 4,294,967,296/,
  );
});
