/**
 * sum over any axes (both the thread-per-output and the workgroup-per-output kernels), max over
 * one axis with its argmax (ties, NaN, −∞: identical to the reference) and logSoftmax (+probs),
 * on the GPU against the reference backend.
 */
import { test } from 'node:test';
import { referenceBackend as R } from '../../../src/backend/reference.js';
import { K, close, down, downInt, next, rnd, same, up, zeros } from './helpers.js';

const SUMS: [number[], number[]][] = [
  [[1], [0]],
  [[3, 5, 7], [0]],
  [[3, 5, 7], [1]],
  [[3, 5, 7], [2]],
  [
    [3, 5, 7],
    [0, 2],
  ],
  [
    [3, 5, 7],
    [0, 1, 2],
  ],
  [[1000], [0]],
  [[130, 70], [0]],
  [[130, 70], [1]],
  [[5, 200, 3], [1]],
  [[70001], [0]],
  [
    [2, 3, 2, 3, 2, 3, 2],
    [0, 2, 4, 6],
  ],
  [
    [2, 3, 2, 3, 2, 3, 2],
    [1, 3, 5],
  ],
  [[4, 1, 6], [1]],
  // the training step's sums: every axis of [m, n], the batch axis, NCHW over [0, 2, 3], [N, C] over 1
  [
    [64, 10],
    [0, 1],
  ],
  [[64, 10], [0]],
  [
    [6, 8, 12, 12],
    [0, 2, 3],
  ],
  [[64, 10], [1]],
  [[], []],
];

test('sum over any axes equals the reference (keepdim layout)', async () => {
  for (const [shape, axes] of SUMS) {
    const n = shape.reduce((x, y) => x * y, 1);
    const outN = shape.reduce((x, y, i) => (axes.includes(i) ? x : x * y), 1);
    const a = rnd(n);
    const want = new Float32Array(outN);
    R.sum(a, shape, axes, want);
    const out = zeros(outN);
    K.sum(up(a), shape, axes, out);
    const len = n / outN;
    close('sum', await down(out), want, 1e-6 * Math.sqrt(len) + 1e-6, ` [${shape}] axes [${axes}]`);
  }
});

/** Few distinct values (ties), with NaN and −∞ sprinkled in. */
function tied(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => {
    const u = next();
    if (u < 0.04) return Number.NaN;
    if (u < 0.1) return Number.NEGATIVE_INFINITY;
    return Math.floor(next() * 4);
  });
}

test('max over one axis and its argmax equal the reference exactly (first maximum, NaN wins)', async () => {
  const cases: [number[], number][] = [
    [[1], 0],
    [[7], 0],
    [[5, 9], 0],
    [[5, 9], 1],
    [[3, 11, 4], 1],
    [[300, 10], 1],
    [[2, 3, 70], 2],
  ];
  for (const [shape, axis] of cases)
    for (const withArg of [true, false]) {
      const n = shape.reduce((x, y) => x * y, 1);
      const outN = n / shape[axis];
      const a = tied(n);
      const want = new Float32Array(outN);
      const wantArg = new Int32Array(outN);
      R.max(a, shape, axis, want, wantArg);
      const out = zeros(outN);
      const arg = withArg ? zeros(outN, 'int32') : null;
      K.max(up(a), shape, axis, out, arg);
      same('max', await down(out), want, ` [${shape}] axis ${axis}`);
      if (arg) same('max.arg', await downInt(arg), wantArg, ` [${shape}] axis ${axis}`);
    }
});

test('logSoftmax and its probabilities equal the reference', async () => {
  for (const [rows, cols] of [
    [1, 1],
    [7, 10],
    [300, 3],
    [5, 200],
    [2, 1001],
  ])
    for (const withProbs of [true, false]) {
      const a = rnd(rows * cols, -20, 20);
      const want = new Float32Array(rows * cols);
      const wantP = new Float32Array(rows * cols);
      R.logSoftmax(a, rows, cols, want, wantP);
      const out = zeros(rows * cols);
      const probs = withProbs ? zeros(rows * cols) : null;
      K.logSoftmax(up(a), rows, cols, out, probs);
      close('logSoftmax', await down(out), want, 2e-6, ` ${rows}×${cols}`);
      if (probs) close('logSoftmax.probs', await down(probs), wantP, 2e-6, ` ${rows}×${cols}`);
    }
});

test('logSoftmax keeps log s beside a row maximum far larger than it (torch float32: [3e7, 3e7] → −ln 2 each)', async () => {
  const a = new Float32Array([3e7, 3e7, 1e17, 1e17]);
  const out = zeros(4);
  K.logSoftmax(up(a), 2, 2, out, null);
  close('logSoftmax', await down(out), new Float32Array(4).fill(-Math.LN2), 1e-6, ' of [[3e7, 3e7], [1e17, 1e17]]');
});
