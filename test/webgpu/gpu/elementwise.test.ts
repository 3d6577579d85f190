/**
 * binary (every BinaryOp, NumPy broadcasting up to rank 6) and unary (every UnaryOp) on the GPU
 * against the reference backend, including zeros, negatives and large magnitudes where the ops
 * have special values (division by zero, log of a negative, pow of a negative base).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BinaryOp, UnaryOp } from '../../../src/backend/backend.js';
import { referenceBackend as R } from '../../../src/backend/reference.js';
import { broadcastShapes } from '../../../src/tensor/shape.js';
import { K, close, down, next, rnd, up, zeros } from './helpers.js';

const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'gt', 'lt', 'eq', 'reluGrad'];
const UNARY: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'relu', 'step', 'sigmoid', 'tanh', 'square', 'recip'];

/** Shape pairs: same shape, scalars, trailing and middle broadcasts, rank 4 and 6, one crossing many workgroups. */
const SHAPES: [number[], number[]][] = [
  [
    [37, 5],
    [37, 5],
  ],
  [[1], [1]],
  [[7, 3], [1]],
  [[1], [7, 3]],
  [
    [4, 1, 3],
    [5, 1],
  ],
  [
    [2, 3, 1, 5],
    [3, 4, 1],
  ],
  [
    [2, 1, 3, 1, 2, 3],
    [1, 2, 1, 4, 1, 3],
  ],
  [[300, 70], [70]],
  [
    [300, 1],
    [1, 70],
  ],
];

/** Values with exact zeros, ties between the operands' value sets and a few integers (pow of negatives). */
function operand(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => {
    const u = next();
    if (u < 0.1) return 0;
    if (u < 0.3) return Math.floor(next() * 5) - 2;
    return (next() * 2 - 1) * 3;
  });
}

test('binary ops equal the reference with broadcasting up to rank 6', async () => {
  for (const op of BINARY)
    for (const [as, bs] of SHAPES) {
      const os = broadcastShapes(as, bs);
      const na = as.reduce((x, y) => x * y, 1),
        nb = bs.reduce((x, y) => x * y, 1),
        no = os.reduce((x, y) => x * y, 1);
      const a = operand(na),
        b = op === 'pow' ? Float32Array.from(operand(nb), (v) => v / 2) : operand(nb);
      const want = new Float32Array(no);
      R.binary(op, a, as, b, bs, want, os);
      const out = zeros(no);
      K.binary(op, up(a), as, up(b), bs, out, os);
      close(`binary.${op}`, await down(out), want, op === 'pow' ? 2e-6 : 1e-6, ` [${as}] [${bs}]`);
    }
});

test('binary past rank 6 after merging is refused with a message naming the shapes', () => {
  const s = [2, 1, 2, 1, 2, 1, 2];
  const t = [1, 2, 1, 2, 1, 2, 1];
  const o = s.map((d, i) => Math.max(d, t[i]));
  assert.throws(
    () => K.binary('add', zeros(16), s, zeros(8), t, zeros(128), o),
    /binary add of shapes \[2,1,2,1,2,1,2\] and \[1,2,1,2,1,2,1\] needs 7 dimensions/,
  );
});

test('unary ops equal the reference, special values included', async () => {
  const special = Float32Array.from([
    0,
    -0,
    1,
    -1,
    100,
    -100,
    1e-30,
    -1e-30,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
  ]);
  for (const n of [1, 7, 1000, 70001]) {
    const a =
      n > special.length
        ? Float32Array.from({ length: n }, (_, i) => (i < special.length ? special[i] : (next() * 2 - 1) * 10))
        : rnd(n, -5, 5);
    for (const op of UNARY) {
      const want = new Float32Array(n);
      R.unary(op, a, want);
      const out = zeros(n);
      K.unary(op, up(a), out);
      close(`unary.${op}`, await down(out), want, 2e-6, ` n=${n}`);
    }
  }
});

test('a grid of more than 65535 workgroups is split over x and y', async () => {
  const n = 65535 * 256 + 300;
  const a = rnd(n);
  const out = zeros(n);
  K.unary('neg', up(a), out);
  const got = await down(out);
  for (let i = 0; i < n; i += 1) if (got[i] !== -a[i]) assert.fail(`[${i}] is ${got[i]}, expected ${-a[i]}`);
});
