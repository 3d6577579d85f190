/**
 * descent sweep on the local pool: the issue's sweep (4 optimizers × 6 learning rates × 2 seeds on
 * the embedded MLP, made short with --limit and --budget) with its table, JSON and HTML; a sweep
 * killed with SIGKILL and restarted (its last line torn) reruns nothing it had finished; and the
 * user errors, each one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli } from './run-cli.js';
import { tempDir } from '../tmp-dir.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const base = ['--limit', '1000', '--test-limit', '400', '--eval-every', '10', '--target', '0.6'];
const small = ['--workloads', 'mlp', '--budget', '20', ...base];
const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n');

test('4 optimizers × 6 learning rates × 2 seeds: every trial once, the table, --json and the HTML report', async () => {
  const dir = tempDir('sweep-cli-');
  const out = join(dir, 'r.jsonl'),
    html = join(dir, 'r.html');
  const args = [
    'sweep',
    ...small,
    '--optimizers',
    'sgd,momentum,rmsprop,adam',
    '--space',
    'lr=log:1e-4:1',
    '--sampler',
    'grid',
    '--points',
    '6',
    '--seeds',
    '2',
    '--workers',
    '2',
    '--out',
    out,
  ];
  const r = await cli(...args, '--html', html);
  assert.equal(r.code, 0, r.err);
  const rows = lines(out);
  assert.equal(rows.length, 1 + 48);
  const results = rows.slice(1).map((l) => JSON.parse(l));
  assert.equal(new Set(results.map((x) => x.id)).size, 48);
  assert.deepEqual(
    [...new Set(results.map((x) => x.spec.options.lr))].sort((a, b) => a - b).map((x) => Number(x.toPrecision(6))),
    [1e-4, 6.30957e-4, 3.98107e-3, 2.51189e-2, 0.158489, 1],
  );
  assert.match(r.out, /^workload +optimizer +studies +trials +steps +time +best trial$/m);
  for (const o of ['sgd', 'momentum', 'rmsprop', 'adam']) assert.match(r.out, new RegExp(`^mlp +${o} +\\d/2 +\\d+/12 `, 'm'));
  assert.match(r.out, /performance profile \(steps to target\)/);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /uPlot/);
  assert.match(page, /<script id="data" type="application\/json">\{"curves":\[\{"workload":"mlp"/);
  assert.ok(!/<script src=/.test(page), 'self-contained');
  // The same sweep again reuses every result and prints the same report as JSON.
  const j = await cli(...args, '--json');
  assert.equal(j.code, 0, j.err);
  assert.match(j.err, /48 already in/);
  const report = JSON.parse(j.out);
  assert.equal(report.trials.done, 48);
  assert.equal(report.scores.length, 4);
  for (const s of report.scores) {
    const mine = results.filter((x) => x.spec.optimizer === s.optimizer);
    assert.equal(s.reached, mine.filter((x) => x.stepsToTarget !== null).length);
    const best = Math.min(...mine.filter((x) => x.stepsToTarget !== null).map((x) => x.stepsToTarget));
    if (s.reached)
      assert.equal(
        Math.min(...s.studies.filter((x: { steps: number | null }) => x.steps !== null).map((x: { steps: number }) => x.steps)),
        best,
      );
  }
  assert.deepEqual(Object.keys(report.profiles.steps.rho).sort(), ['adam', 'momentum', 'rmsprop', 'sgd']);
  assert.equal(lines(out).length, 49, 'nothing appended by the second run');
});

test('a sweep killed with SIGKILL (its last line torn) resumes without rerunning finished trials', async () => {
  const dir = tempDir('sweep-kill-');
  const out = join(dir, 'r.jsonl');
  const args = [
    bin,
    'sweep',
    '--workloads',
    'mlp',
    '--budget',
    '100',
    ...base,
    '--optimizers',
    'sgd,adam',
    '--space',
    'lr=log:1e-3:1e-1',
    '--sampler',
    'grid',
    '--points',
    '4',
    '--workers',
    '1',
    '--out',
    out,
  ];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (existsSync(out) && lines(out).length >= 3) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(poll);
      reject(new Error('the sweep ended before it was killed'));
    });
  });
  await new Promise((r) => child.on('close', r));
  const before = lines(out);
  assert.ok(before.length >= 3 && before.length < 9, `killed mid-sweep (${before.length - 1} of 8 trials)`);
  appendFileSync(out, before[1].slice(0, 30)); // a write cut short by the crash
  const r = await cli(...args.slice(1));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /removed a last line cut short \(30 bytes\)/);
  assert.match(r.out, new RegExp(`8 trials .*, ${before.length - 1} already in`));
  const after = lines(out);
  assert.equal(after.length, 9);
  assert.equal(new Set(after.slice(1).map((l) => JSON.parse(l).id)).size, 8);
  // Each line holds its trial's wall-clock seconds, which a rerun would change: the finished ones are kept as they were.
  assert.deepEqual(after.slice(0, before.length), before);
});

test('user errors: a bad search space, a results file of another sweep, an unreachable Redis', async () => {
  const dir = tempDir('sweep-err-');
  const out = join(dir, 'r.jsonl');
  const bad = await cli('sweep', ...small, '--space', 'lr=log:0:1', '--out', out);
  assert.equal(bad.code, 2);
  assert.equal(bad.err, 'descent sweep: search space: lr=log:0:1: a log range needs a positive low end');
  const unread = await cli('sweep', ...small, '--optimizers', 'adagrad', '--space', 'beta1=0.8:0.9', '--out', out);
  assert.equal(unread.code, 2);
  assert.equal(unread.err, 'descent sweep: search space: beta1 is read by none of adagrad');
  const wl = await cli('sweep', '--workloads', 'mpl', ...base, '--out', out);
  assert.match(wl.err, /^descent sweep: unknown workload "mpl"; expected logreg, mlp, cnn, fmp, lstm, transformer \(did you mean mlp\?\)$/);
  // a wrong --data is refused before the results file exists, so the corrected sweep is not blocked by it
  const missing = join(dir, 'no-such-data');
  const data = await cli('sweep', ...small, '--optimizers', 'sgd', '--points', '1', '--data', missing, '--out', out);
  assert.equal(data.code, 1);
  assert.equal(data.err, `descent sweep: ${missing}: data set not found: looked for train-images-idx3-ubyte[.gz] in ${missing}.`);
  assert.equal(existsSync(out), false, 'no results file');
  const fixed = await cli('sweep', ...small, '--optimizers', 'sgd', '--points', '1', '--workers', '1', '--out', out);
  assert.equal(fixed.code, 0, fixed.err);
  assert.match(fixed.out, /^sweep [0-9a-f]{16}: 1 trials \(mlp × 1 optimizer\(s\) × 1 point\(s\) × 1 seed\(s\)\), 0 already in /);
  writeFileSync(out, `${JSON.stringify({ format: 'descent-sweep', version: 1, sweep: '0123456789abcdef', spec: {} })}\n`);
  const other = await cli('sweep', ...small, '--optimizers', 'sgd', '--points', '1', '--out', out);
  assert.equal(other.code, 2);
  assert.match(
    other.err,
    /^descent sweep: results file .* belongs to a different sweep \(spec hash 0123456789abcdef, this sweep's is [0-9a-f]{16}\); give the same options as that sweep, or another --out$/,
  );
  const redis = await cli(
    'sweep',
    ...small,
    '--optimizers',
    'sgd',
    '--points',
    '1',
    '--out',
    join(dir, 'q.jsonl'),
    '--queue',
    'redis://127.0.0.1:1',
  );
  assert.equal(redis.code, 1);
  assert.equal(
    redis.err
      .split('\n')
      .filter((l) => l.startsWith('descent sweep:'))
      .join('\n'),
    'descent sweep: cannot reach Redis at 127.0.0.1:1: ECONNREFUSED (is redis-server running there?)',
  );
  const worker = await cli('worker', '--queue', 'redis://127.0.0.1:1');
  assert.equal(worker.code, 1);
  assert.equal(worker.err, 'descent worker: cannot reach Redis at 127.0.0.1:1: ECONNREFUSED (is redis-server running there?)');
  const url = await cli('worker', '--queue', 'http://x');
  assert.equal(url.code, 2);
  assert.match(url.err, /expected a redis:\/\/ address/);
});

test('--class-weights: checked against the training data before the results file exists, and carried in every trial spec', async () => {
  const dir = tempDir('sweep-cw-');
  const out = join(dir, 'r.jsonl');
  const one = [...small, '--optimizers', 'sgd', '--points', '1', '--workers', '1', '--out', out];
  const short = await cli('sweep', ...one, '--class-weights', '1,2');
  assert.equal(short.code, 2);
  assert.equal(
    short.err,
    'descent sweep: --class-weights: 2 weights for the 10 classes of the training data; give one per class, in label order',
  );
  const word = await cli('sweep', ...one, '--class-weights', 'even');
  assert.equal(word.code, 2);
  assert.match(word.err, /^descent sweep: --class-weights: "even" is not a weight; expected W1,W2,… .* or balanced$/);
  assert.equal(existsSync(out), false, 'no results file');
  const ok = await cli('sweep', ...one, '--class-weights', 'balanced');
  assert.equal(ok.code, 0, ok.err);
  const [header, ...trials] = lines(out).map((l) => JSON.parse(l));
  assert.equal(header.spec.classWeights, 'balanced');
  assert.equal(trials.length, 1);
  assert.equal(trials[0].spec.classWeights, 'balanced');
  // without the flag the sweep is another one, its trial spec without the key
  const plain = await cli('sweep', ...one.slice(0, -1), join(dir, 'plain.jsonl'));
  assert.equal(plain.code, 0, plain.err);
  const [plainHeader, plainTrial] = lines(join(dir, 'plain.jsonl')).map((l) => JSON.parse(l));
  assert.notEqual(plainHeader.sweep, header.sweep);
  assert.equal('classWeights' in plainTrial.spec, false);
  assert.notEqual(plainTrial.id, trials[0].id);
});

test('--mixup, --cutmix, --accumulate: carried in every trial spec (run in the trial processes); a full-batch workload or sam with --accumulate refused first', async () => {
  const dir = tempDir('sweep-mix-');
  const out = join(dir, 'r.jsonl');
  const common = ['--budget', '20', ...base, '--points', '1', '--workers', '1'];
  const one = [...common, '--workloads', 'mlp', '--optimizers', 'sgd', '--out', out];
  const full = await cli('sweep', ...common, '--workloads', 'mlp,logreg', '--optimizers', 'sgd', '--out', out, '--mixup', '0.2');
  assert.equal(full.code, 2);
  assert.equal(
    full.err,
    'descent sweep: --mixup: workload logreg takes full-batch steps, and --mixup mixes mini-batches; leave logreg out of --workloads',
  );
  const sam = await cli('sweep', ...common, '--workloads', 'mlp', '--optimizers', 'sgd,sam', '--out', out, '--accumulate', '2');
  assert.equal(sam.code, 2);
  assert.match(sam.err, /^descent sweep: --accumulate 2: sam re-evaluates the loss inside its step/);
  const zero = await cli('sweep', ...one, '--cutmix', '0');
  assert.equal(zero.code, 2);
  assert.match(zero.err, /--cutmix: 0 is out of range; expected a number > 0/);
  assert.equal(existsSync(out), false, 'no results file');
  const ok = await cli('sweep', ...one, '--mixup', '0.2', '--cutmix', '1', '--accumulate', '2', '--json');
  assert.equal(ok.code, 0, ok.err);
  const [header, ...trials] = lines(out).map((l) => JSON.parse(l));
  assert.deepEqual([header.spec.mixup, header.spec.cutmix, header.spec.accumulate], [0.2, 1, 2]);
  assert.equal(trials.length, 1);
  assert.deepEqual([trials[0].spec.mixup, trials[0].spec.cutmix, trials[0].spec.accumulate], [0.2, 1, 2]);
  assert.deepEqual(
    trials[0].curve.map((p: { step: number }) => p.step),
    [10, 20],
    'the budget counts steps of two batches',
  );
  // without the flags (or with --accumulate 1) the trial spec holds none of the keys
  const plain = await cli('sweep', ...one.slice(0, -1), join(dir, 'plain.jsonl'), '--accumulate', '1');
  assert.equal(plain.code, 0, plain.err);
  const [plainHeader, plainTrial] = lines(join(dir, 'plain.jsonl')).map((l) => JSON.parse(l));
  for (const k of ['mixup', 'cutmix', 'accumulate']) assert.equal(k in plainTrial.spec, false, k);
  assert.notEqual(plainHeader.sweep, header.sweep);
  assert.notDeepEqual(plainTrial.curve, trials[0].curve);
});
