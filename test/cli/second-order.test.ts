/** The done-when commands of the second-order issue: descent surface with lbfgs / newton, descent train --full-batch. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cli } from './run-cli.js';
import { assertClose } from '../helpers.js';

const rosen = JSON.parse(readFileSync(new URL('../../../test/fixtures/lbfgs/rosenbrock.json', import.meta.url), 'utf8'));

test('descent surface --fn rosenbrock --optimizer lbfgs --line-search strong-wolfe --start -1.5,2 --steps 50 --json matches PyTorch to 1e-8', async () => {
  const r = await cli(
    'surface',
    '--fn',
    'rosenbrock',
    '--optimizer',
    'lbfgs',
    '--line-search',
    'strong-wolfe',
    '--start',
    '-1.5,2',
    '--steps',
    '50',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  const expected = rosen.cases.wolfe_default.trace;
  assert.equal(j.trace.length, 51);
  expected.forEach((e: { params: number[][]; funcEvals: number }, k: number) =>
    assertClose(j.trace[k + 1].x, e.params[0], 1e-8, `step ${k + 1}`),
  );
  // The trace charges each step its closure evaluations: their sum is torch's func_evals.
  assert.equal(
    j.trace.slice(1).reduce((s: number, e: { evals: number }) => s + e.evals, 0),
    expected[49].funcEvals,
  );
  // With --max-iter 1 each step is one L-BFGS iteration.
  const one = JSON.parse(
    (
      await cli(
        'surface',
        '--fn',
        'rosenbrock',
        '--optimizer',
        'lbfgs',
        '--line-search',
        'strong-wolfe',
        '--max-iter',
        '1',
        '--start',
        '-1.5,2',
        '--steps',
        '50',
        '--json',
      )
    ).out,
  );
  rosen.cases.wolfe_iter1.trace.forEach((e: { params: number[][] }, k: number) =>
    assertClose(one.trace[k + 1].x, e.params[0], 1e-8, `iter1 step ${k + 1}`),
  );
});

// Levenberg–Marquardt without a line search needs more steps (λ shortens them), hence its budget.
for (const [extra, steps] of [
  [[], 30],
  [['--hessian-free'], 30],
  [['--line-search', 'strong-wolfe'], 30],
  [['--line-search', 'none'], 45],
] as [string[], number][]) {
  test(`descent surface --optimizer newton ${extra.join(' ')} reaches (1, 1) to 1e-10 within ${steps} steps from (-1.5, 2), never uphill`, async () => {
    const r = await cli(
      'surface',
      '--fn',
      'rosenbrock',
      '--optimizer',
      'newton',
      ...extra,
      '--start',
      '-1.5,2',
      '--steps',
      String(steps),
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const tr = JSON.parse(r.out).trace as { x: number[]; f: number; evals?: number }[];
    const end = tr[tr.length - 1].x;
    assert.ok(Math.hypot(end[0] - 1, end[1] - 1) <= 1e-10, `ended at ${end}`);
    for (let k = 1; k < tr.length; k++) assert.ok(tr[k].f <= tr[k - 1].f, `step ${k} rose`);
    assert.ok(tr.slice(1).every((s) => (s.evals ?? 0) >= 1));
  });
}

test('descent surface --optimizer newton on the saddle only goes downhill', async () => {
  const r = await cli('surface', '--fn', 'saddle', '--optimizer', 'newton', '--start', '0.5,0.01', '--steps', '3', '--json');
  const tr = JSON.parse(r.out).trace as { f: number }[];
  for (let k = 1; k < tr.length; k++) assert.ok(tr[k].f < tr[k - 1].f, `step ${k}: ${tr[k - 1].f} → ${tr[k].f}`);
});

test('descent train: lbfgs without --full-batch is a usage error naming the fix', async () => {
  const r = await cli('train', '--model', 'logreg', '--optimizer', 'lbfgs', '--data', 'embedded', '--limit', '50', '--epochs', '1');
  assert.equal(r.code, 2);
  assert.match(r.err, /--full-batch/);
});

test('descent train --full-batch --model logreg --optimizer lbfgs lowers the loss every step and counts evaluations', async () => {
  const r = await cli(
    'train',
    '--model',
    'logreg',
    '--optimizer',
    'lbfgs',
    '--line-search',
    'strong-wolfe',
    '--history-size',
    '10',
    '--max-iter',
    '3',
    '--full-batch',
    '--data',
    'embedded',
    '--limit',
    '300',
    '--test-limit',
    '100',
    '--epochs',
    '3',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const recs = r.out.split('\n').map((l) => JSON.parse(l));
  assert.equal(recs.length, 3);
  for (let k = 1; k < 3; k++) assert.ok(recs[k].trainLoss < recs[k - 1].trainLoss);
  // maxEval = ⌊1.25·3⌋ = 3 closure calls per step may end a step before its third iteration.
  assert.ok(recs[2].iters >= 3 && recs[2].iters <= 9, `iters ${recs[2].iters}`);
  assert.ok(recs[2].evals >= recs[2].iters, 'at least one evaluation per iteration');
});
