/** The results file: created with its header, appended once per trial, a torn last line repaired, another sweep's file refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResultsFile, ResultsFileError, type ResultsHeader } from '../../src/sweep/results.js';
import type { TrialResult } from '../../src/sweep/trial.js';
import { tempDir } from '../tmp-dir.js';

const header = (sweep: string): ResultsHeader => ({ format: 'descent-sweep', version: 1, sweep, spec: { x: 1 } });
const result = (id: string): TrialResult => ({
  id,
  spec: { workload: 'mlp', data: 'embedded', budget: 10, target: 0.5, evalEvery: 5, optimizer: 'sgd', options: {}, seed: 1 },
  status: 'budget',
  curve: [{ step: 5, seconds: 0.1, trainLoss: 2.1, testLoss: 2.0, testAccuracy: 0.3 }],
  stepsToTarget: null,
  secondsToTarget: null,
  steps: 10,
  seconds: 0.2,
  evaluations: 2,
  bestAccuracy: 0.3,
});

test('append records each trial once; reopening reads them back', () => {
  const path = join(tempDir('sweep-'), 'r.jsonl');
  const f = ResultsFile.open(path, header('aaa'));
  assert.equal(f.append(result('t1')), true);
  assert.equal(f.append(result('t1')), false);
  assert.equal(f.append(result('t2')), true);
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 3);
  const g = ResultsFile.open(path, header('aaa'));
  assert.deepEqual([...g.results.keys()], ['t1', 't2']);
  assert.deepEqual(g.results.get('t1'), result('t1'));
  assert.equal(g.repaired, 0);
});

test('a last line cut short by a crash is removed, and the trial is run again', () => {
  const path = join(tempDir('sweep-'), 'r.jsonl');
  const f = ResultsFile.open(path, header('aaa'));
  f.append(result('t1'));
  const torn = JSON.stringify(result('t2')).slice(0, 40);
  appendFileSync(path, torn);
  const g = ResultsFile.open(path, header('aaa'));
  assert.equal(g.repaired, torn.length);
  assert.deepEqual([...g.results.keys()], ['t1']);
  assert.ok(readFileSync(path, 'utf8').endsWith('\n'));
  g.append(result('t2'));
  assert.deepEqual([...ResultsFile.open(path, header('aaa')).results.keys()], ['t1', 't2']);
});

test('a results file of another sweep, or a broken line in the middle, is refused with one message', () => {
  const dir = tempDir('sweep-');
  const path = join(dir, 'r.jsonl');
  ResultsFile.open(path, header('aaa')).append(result('t1'));
  assert.throws(
    () => ResultsFile.open(path, header('bbb')),
    (e: Error) => e instanceof ResultsFileError && /belongs to a different sweep \(spec hash aaa, this sweep's is bbb\)/.test(e.message),
  );
  const mid = join(dir, 'mid.jsonl');
  writeFileSync(mid, `${JSON.stringify(header('aaa'))}\n{"id":\n${JSON.stringify(result('t1'))}\n`);
  assert.throws(() => ResultsFile.open(mid, header('aaa')), /line 2 is not valid JSON/);
  const other = join(dir, 'other.jsonl');
  writeFileSync(other, 'a,b\n1,2\n');
  assert.throws(() => ResultsFile.open(other, header('aaa')), /not a sweep header/);
});
