/**
 * split's pieces share one node (recordParts): the engine runs its backward once, with every
 * piece's gradient, and the input's gradient is one cat of them (zeros for a piece none reached).
 * The reference is the same graph with each piece taken by narrow, whose gradients the engine sums:
 * the two must agree exactly, however the pieces are used, reached or not, seeded or asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { gradCheck, randT } from '../helpers.js';

type Pieces = (x: d.Tensor) => d.Tensor[];
const bySplit: Pieces = (x) => d.split(x, [1, 2, 1], 1);
const byNarrow: Pieces = (x) => [d.narrow(x, 1, 0, 1), d.narrow(x, 1, 1, 2), d.narrow(x, 1, 3, 1)];

/** Equal values (0 and −0 count as equal: a sum with zeros turns −0 into 0). */
function exactly(a: d.Tensor | null, b: d.Tensor | null, what: string): void {
  assert.ok(a && b, `${what}: a gradient is missing`);
  assert.deepEqual([...a.shape], [...b.shape], `${what}: shape`);
  for (let i = 0; i < a.size; i++) assert.ok(a.data[i] === b.data[i], `${what}: element ${i} is ${a.data[i]}, expected ${b.data[i]}`);
}

// graphs over the pieces [p0, p1, p2] of x [3, 4]: every piece, some pieces, a piece feeding a
// consumer of another (so the pieces are reached at different depths), a piece used twice
const graphs: Record<string, (p: d.Tensor[], x: d.Tensor) => d.Tensor> = {
  'every piece': ([a, b, c]) => d.add(d.sum(d.mul(a, 2)), d.add(d.sum(d.square(b)), d.sum(d.exp(c)))),
  'the middle piece only': ([, b]) => d.sum(d.square(b)),
  'the last piece only, and x directly': ([, , c], x) => d.add(d.sum(d.pow(c, 3)), d.sum(d.mul(x, x))),
  'pieces at different depths': ([a, b, c]) => {
    const deep = d.tanh(d.mul(d.sum(d.square(c)), d.sigmoid(b)));
    return d.sum(d.mul(d.add(d.sum(deep, 1, true), a), d.exp(a)));
  },
  'a piece used twice, one unused': ([a, b]) => d.sum(d.mul(d.matmul(d.transpose(b, 0, 1), b), d.sum(a))),
};

test('split: the joined backward equals the sum of narrow gradients, for every way the pieces are used (float64 and float32)', () => {
  for (const dtype of ['float64', 'float32'] as const)
    for (const [name, f] of Object.entries(graphs)) {
      const x = d.fromData([...randT([3, 4], 3).data], [3, 4], { dtype, requiresGrad: true });
      const [got] = d.grad(f(bySplit(x), x), [x]);
      const [want] = d.grad(f(byNarrow(x), x), [x]);
      exactly(got, want, `${name} (${dtype})`);
      // backward() into .grad, twice: the second pass adds the same gradient again
      x.grad = null;
      d.backward(f(bySplit(x), x));
      d.backward(f(bySplit(x), x));
      exactly(x.grad, d.mul(want!, 2), `${name}, backward twice (${dtype})`);
    }
});

test('split: a piece as an output, as an input of grad(), and one piece differentiated through its own node', () => {
  const x = randT([3, 4], 4);
  const [a, b, c] = bySplit(x);
  const y = d.sum(d.mul(d.square(b), d.sum(c)));
  // grad with respect to a piece and to x in one pass
  const [gb, gx] = d.grad(y, [b, x]);
  const [rb, rx] = (() => {
    const [, nb, nc] = byNarrow(x);
    return d.grad(d.sum(d.mul(d.square(nb), d.sum(nc))), [nb, x]);
  })();
  exactly(gb, rb, 'd y / d piece');
  exactly(gx, rx, 'd y / d x');
  // the pieces themselves as outputs, with their gradients given (one seeded twice: they add)
  const ga = randT([3, 1], 5),
    gc = randT([3, 1], 6);
  const [gx2] = d.grad([a, c, a], [x], { gradOutputs: [ga, gc, ga] });
  const expected = d.cat([d.mul(ga, 2), d.zeros([3, 2], { dtype: 'float64' }), gc], 1);
  exactly(gx2, expected, 'pieces as outputs');
  // a piece's own node, called alone, is the cat with zeros for the others
  const alone = b.node!.backward(d.onesLike(b), { leafGradTarget: () => null })[0]!;
  exactly(alone, d.cat([d.zeros([3, 1], { dtype: 'float64' }), d.onesLike(b), d.zeros([3, 1], { dtype: 'float64' })], 1), 'one node alone');
  assert.equal(b.node!.op, 'split');
});

test('split: no graph under noGrad or for a tensor without requiresGrad; one piece is the tensor itself', () => {
  const x = randT([3, 4], 7);
  for (const p of d.noGrad(() => d.split(x, 2, 1))) assert.ok(!p.requiresGrad && !p.node);
  const plain = d.split(d.arange(6), 3);
  assert.ok(plain.every((p) => !p.requiresGrad && !p.node));
  assert.deepEqual(
    plain.map((p) => [...p.data]),
    [
      [0, 1, 2],
      [3, 4, 5],
    ],
  );
  assert.equal(d.split(x, 4, 1)[0], x);
});

test('split: second order through the joined backward agrees with central differences', () => {
  const hess = (f: (a: d.Tensor) => d.Tensor) => (a: d.Tensor) => d.grad(f(a), [a], { createGraph: true })[0]!;
  for (const [name, f] of Object.entries(graphs)) {
    assert.doesNotThrow(
      () =>
        gradCheck(
          hess((a) => f(bySplit(a), a)),
          [randT([3, 4], 8)],
        ),
      name,
    );
  }
});
