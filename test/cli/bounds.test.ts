/**
 * Every count a user can set has an upper bound or streams: each test runs the bin in a child at
 * the largest accepted value and checks its peak memory (maxRSS, reported by the child itself; see
 * rss.ts) against a stated bound. Node alone takes about 50 MB; the bounds leave room for the
 * runtime, not for anything that grows with the count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWithRss } from './rss.js';

const MB = 160;

function check(args: string[], boundMB = MB): void {
  const r = runWithRss(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  assert.ok(r.maxRssMB < boundMB, `${args.join(' ')}: peak ${r.maxRssMB.toFixed(0)} MB ≥ ${boundMB} MB`);
}

test('surface --steps 1000000 (the maximum) streams its path: text and JSON stay under 160 MB', () => {
  check(['surface', '--steps', '1000000', '--lr', '0.001']);
  check(['surface', '--steps', '1000000', '--lr', '0.001', '--json']);
});

test('the streamed surface JSON is the same document as before: one object, every step', () => {
  const r = runWithRss(['surface', '--fn', 'bowl', '--optimizer', 'adam', '--steps', '2500', '--json'], { stdout: 'pipe' });
  const j = JSON.parse(r.stdout);
  assert.equal(j.fn, 'bowl');
  assert.equal(j.trace.length, 2501);
  assert.deepEqual(
    j.trace.map((s: { t: number }) => s.t),
    Array.from({ length: 2501 }, (_, t) => t),
  );
});

test('schedule --steps 1000000 (the maximum) streams: text and JSON stay under 160 MB', () => {
  check(['schedule', '--name', 'cosine', '--steps', '1000000']);
  check(['schedule', '--name', 'exponential:k=0.001', '--steps', '1000000', '--json']);
});

test('L-BFGS at --max-iter 100000 and --history-size 1000 (the maxima) on a surface stays under 160 MB', () => {
  // No tolerance stops it: every step runs its iterations up to maxEval (125000 closure calls).
  check([
    'surface',
    '--fn',
    'bowl',
    '--optimizer',
    'lbfgs',
    '--lr',
    '1e-9',
    '--max-iter',
    '100000',
    '--history-size',
    '1000',
    '--steps',
    '2',
    '--json',
  ]);
});

test('train --epochs 10000 (the maximum) keeps one small record per epoch: under 200 MB', () => {
  check(
    [
      'train',
      '--model',
      'logreg',
      '--data',
      'embedded',
      '--limit',
      '10',
      '--test-limit',
      '10',
      '--batch-size',
      '10',
      '--epochs',
      '10000',
      '--json',
    ],
    200,
  );
});

test('train --snapshots 100 (the maximum members) stays under 250 MB', () => {
  check(
    [
      'train',
      '--model',
      'logreg',
      '--data',
      'embedded',
      '--limit',
      '100',
      '--test-limit',
      '10',
      '--batch-size',
      '1',
      '--epochs',
      '1',
      '--snapshots',
      '100',
      '--lr',
      '0.01',
      '--json',
    ],
    250,
  );
});

test('train --ensemble 100 (the maximum members) stays under 300 MB', () => {
  check(
    [
      'train',
      '--model',
      'logreg',
      '--data',
      'embedded',
      '--limit',
      '10',
      '--test-limit',
      '10',
      '--batch-size',
      '10',
      '--epochs',
      '1',
      '--ensemble',
      '100',
      '--json',
    ],
    300,
  );
});
