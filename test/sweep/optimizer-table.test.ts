/** The optimizer table (tools/optimizer-table.ts) on a small synthetic results file: rows, best lr, medians, epochs to target, the target rule. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CurvePoint, TrialResult, TrialSpec } from '../../src/sweep/trial.js';
import { readResults, renderTable, summarize } from '../../tools/optimizer-table.js';

/** A trial of the full-data MLP (469 steps an epoch), 3 epochs, evaluated each epoch, with these test accuracies. */
function trial(
  optimizer: string,
  options: Record<string, unknown>,
  seed: number,
  accs: number[],
  extra: Partial<TrialSpec> = {},
): TrialResult {
  const spec: TrialSpec = {
    workload: 'mlp',
    data: 'full',
    budget: 3 * 469,
    target: 1,
    evalEvery: 469,
    optimizer,
    options,
    seed,
    ...extra,
  };
  const curve: CurvePoint[] = accs.map((a, i) => ({ step: (i + 1) * 469, seconds: i + 1, trainLoss: 1, testLoss: 1, testAccuracy: a }));
  return {
    id: `${optimizer}-${JSON.stringify(options)}-${seed}-${extra.schedule ?? ''}`,
    spec,
    status: 'budget',
    curve,
    stepsToTarget: null,
    secondsToTarget: null,
    steps: curve.length ? curve[curve.length - 1].step : 0,
    seconds: 3,
    evaluations: curve.length,
    bestAccuracy: Math.max(0, ...accs),
  };
}

const results: TrialResult[] = [
  // Adam: lr 0.001 is best (median 0.87 over two seeds: 0.86, 0.88); 0.01 is better on seed 1 only.
  trial('adam', { lr: 0.001 }, 1, [0.8, 0.85, 0.86]),
  trial('adam', { lr: 0.001 }, 2, [0.84, 0.86, 0.88]),
  trial('adam', { lr: 0.01 }, 1, [0.85, 0.87, 0.875]),
  trial('adam', { lr: 0.01 }, 2, [0.7, 0.8, 0.81]),
  // Adam with a cosine schedule: its own row.
  trial('adam', { lr: 0.001 }, 1, [0.83, 0.86, 0.9], { schedule: 'cosine' }),
  // SGD: the high rate diverged on seed 2, so it ranks last though seed 1 was best.
  trial('sgd', { lr: 0.1 }, 1, [0.8, 0.82, 0.83]),
  trial('sgd', { lr: 1 }, 1, [0.85, 0.89, 0.89]),
  { ...trial('sgd', { lr: 1 }, 2, [0.5]), status: 'diverged', error: 'loss not finite' },
  // AdamW: seed 2 ran only at lr 0.001, the better rate on seed 1 (0.85 against 0.84); its median over
  // both seeds (0.825) is below lr 0.01's one seed, and 0.001 is still the best rate.
  trial('adamw', { lr: 0.001 }, 1, [0.8, 0.84, 0.85]),
  trial('adamw', { lr: 0.001 }, 2, [0.8, 0.8, 0.8]),
  trial('adamw', { lr: 0.01 }, 1, [0.8, 0.83, 0.84]),
  // SAM over momentum: one seed.
  trial('sam', { lr: 0.01, base: 'momentum' }, 1, [0.81, 0.84, 0.85]),
];

test('rows per method, best lr by the median final accuracy, epochs to the rule target', () => {
  const s = summarize(results);
  // The best accuracy of any trial is 0.9 (Adam + cosine): target floor(0.9 / 0.005)·0.005 − 0.01 = 0.89.
  assert.equal(s.workloads.length, 1);
  assert.deepEqual(s.workloads[0], { name: 'mlp', target: 0.89, epochs: 3, stepsPerEpoch: 469, bestAccuracy: 0.9, testSize: 'all' });
  assert.deepEqual(
    s.rows.map((r) => r.label),
    ['SGD', 'Adam', 'Adam, cosine schedule', 'AdamW', 'SAM over SGD+momentum'],
  );
  const adam = s.rows[1].cells.mlp;
  assert.equal(adam.best, 0.001);
  const a1 = adam.lrs.find((l) => l.lr === 0.001)!;
  assert.equal(a1.accuracy, 0.87);
  assert.equal(a1.epochs, null, 'seed 1 never reaches 0.89, so the median over two seeds is infinite');
  const cos = s.rows[2].cells.mlp;
  assert.equal(cos.lrs[0].epochs, 3);
  const sgd = s.rows[0].cells.mlp;
  assert.equal(sgd.best, 0.1);
  assert.equal(sgd.lrs.find((l) => l.lr === 1)!.accuracy, null);
  assert.deepEqual(sgd.lrs.find((l) => l.lr === 1)!.seeds[1], { seed: 2, accuracy: null, epochs: null });
  const adamw = s.rows[3].cells.mlp;
  assert.equal(adamw.best, 0.001, 'chosen by seed 1, the seed every rate ran');
  assert.equal(adamw.lrs[0].accuracy, 0.825);
  assert.deepEqual(s.rows[4].options, { base: 'momentum' });
});

test('epochs to target: the median over seeds at the best lr, in epochs of the steps', () => {
  const s = summarize(results, new Map([['mlp', 0.86]]));
  assert.equal(s.workloads[0].target, 0.86);
  const a1 = s.rows[1].cells.mlp.lrs.find((l) => l.lr === 0.001)!;
  // Seed 1 reaches 0.86 at step 1407 (3 epochs), seed 2 at step 938 (2 epochs): median 2.5.
  assert.deepEqual(
    a1.seeds.map((x) => x.epochs),
    [3, 2],
  );
  assert.equal(a1.epochs, 2.5);
});

test('the markdown table: one line per row, best lr with its grid, ¹ where one seed ran, — where the target was not reached', () => {
  const lines = renderTable(summarize(results));
  assert.equal(lines[0], '| optimizer | MLP lr: best (grid) | MLP test acc. after 3 ep. | MLP epochs to 0.89 |');
  assert.equal(lines[1], '|---|---:|---:|---:|');
  assert.equal(lines[2], '| SGD | 0.1 (0.1…1, 2) | 0.8300¹ | — |');
  assert.equal(lines[3], '| Adam | 0.001 (0.001…0.01, 2) | 0.8700 | — |');
  assert.equal(lines[4], '| Adam, cosine schedule | 0.001 (1) | 0.9000¹ | 3 |');
  assert.equal(lines[5], '| AdamW | 0.001 (0.001…0.01, 2) | 0.8250 | — |');
  assert.equal(lines[6], '| SAM over SGD+momentum | 0.01 (1) | 0.8500¹ | — |');
  assert.match(lines[lines.length - 1], /^¹ one seed at the best lr/);
});

test('files and folders: every .jsonl read, headers and a torn last line skipped, a trial in two files counted once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optimizer-table-'));
  try {
    const header = JSON.stringify({ format: 'descent-sweep', version: 1, sweep: 'x', spec: {} });
    const body = (rs: TrialResult[]) => rs.map((r) => JSON.stringify(r)).join('\n');
    writeFileSync(join(dir, 'a.jsonl'), `${header}\n${body(results.slice(0, 5))}\n`);
    writeFileSync(join(dir, 'b.jsonl'), `${header}\n${body(results.slice(3))}\n{"id":"cut`);
    writeFileSync(join(dir, 'notes.txt'), 'not results');
    const read = readResults([dir]);
    assert.equal(read.length, results.length);
    assert.deepEqual(summarize(read), summarize(results));
    // The command line: --write puts summary.json and table.md in a folder; the table is renderTable of the summary.
    const tool = fileURLToPath(new URL('../../tools/optimizer-table.js', import.meta.url));
    const r = spawnSync(process.execPath, [tool, dir, '--write', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    assert.equal(readFileSync(join(dir, 'table.md'), 'utf8'), `${renderTable(summary).join('\n')}\n`);
    assert.equal(r.stdout, `${renderTable(summary).join('\n')}\n`);
    const bad = spawnSync(process.execPath, [tool, dir, '--targets', 'mlp=2'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--targets: expected WORKLOAD=ACCURACY/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trials of one workload with different budgets are refused: a table compares one protocol', () => {
  assert.throws(
    () => summarize([...results, trial('adamw', { lr: 0.001 }, 1, [0.8], { budget: 469 })]),
    /the mlp trials differ in budget \(1407, 469\)/,
  );
});
