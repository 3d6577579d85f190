import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { gradCheck, randT, assertClose } from '../helpers.js';

const pos = (shape: number[], seed: number) => randT(shape, seed, 0.5, 2);

test('elementwise ops with broadcasting: gradients match central differences', () => {
  gradCheck((a, b) => d.add(a, b), [randT([3, 4], 1), randT([4], 2)]);
  gradCheck((a, b) => d.sub(a, b), [randT([3, 1], 3), randT([1, 4], 4)]);
  gradCheck((a, b) => d.mul(a, b), [randT([2, 3, 4], 5), randT([3, 1], 6)]);
  gradCheck((a, b) => d.div(a, b), [randT([3, 4], 7), pos([4], 8)]);
  gradCheck((a, b) => d.maximum(a, b), [randT([3, 4], 9), randT([3, 4], 10)]);
});

test('unary ops: gradients match central differences', () => {
  const x = randT([3, 5], 11);
  for (const f of [d.neg, d.exp, d.square, d.abs, d.relu, d.sigmoid, d.tanh]) gradCheck(f, [x]);
  gradCheck(d.log, [pos([3, 5], 12)]);
  gradCheck(d.sqrt, [pos([3, 5], 13)]);
  gradCheck((a) => d.pow(a, 3), [randT([4], 14)]);
  gradCheck((a) => d.pow(a, 0.5), [pos([4], 15)]);
});

test('shape ops and reductions: gradients match central differences', () => {
  const x = randT([2, 3, 4], 16);
  gradCheck((a) => d.sum(a), [x]);
  gradCheck((a) => d.sum(a, 1), [x]);
  gradCheck((a) => d.sum(a, [0, 2], true), [x]);
  gradCheck((a) => d.mean(a, -1), [x]);
  gradCheck((a) => d.max(a, 1), [x]);
  gradCheck((a) => d.reshape(a, [6, 4]), [x]);
  gradCheck((a) => d.permute(a, [2, 0, 1]), [x]);
  gradCheck((a) => d.broadcastTo(a, [5, 3, 4]), [randT([3, 1], 17)]);
  gradCheck((a) => d.sumTo(a, [3, 1]), [randT([2, 3, 4], 18)]);
});

test('broadcastTo equals its definition out[i] = x[i with the stretched dimensions at 0], for stretches inner, middle, leading and mixed', () => {
  const cases: [number[], number[]][] = [
    [
      [3, 1],
      [5, 3, 4],
    ],
    [
      [2, 1, 3],
      [2, 4, 3],
    ],
    [[4], [3, 2, 4]],
    [
      [1, 3, 1, 2],
      [2, 3, 5, 2],
    ],
    [
      [2, 1],
      [1, 2, 1],
    ],
    [
      [1, 1],
      [3, 2],
    ],
  ];
  for (const [from, to] of cases) {
    const x = randT(from, 23);
    const y = d.broadcastTo(x, to);
    const pad = [...new Array(to.length - from.length).fill(1), ...from];
    const want = new Float64Array(y.size);
    for (let o = 0; o < y.size; o++) {
      let rest = o,
        at = 0,
        stride = 1;
      for (let k = to.length - 1; k >= 0; k--) {
        const i = rest % to[k];
        rest = Math.floor(rest / to[k]);
        at += (pad[k] === 1 ? 0 : i) * stride;
        stride *= pad[k];
      }
      want[o] = x.data[at];
    }
    assert.deepEqual([...y.shape], to);
    assert.deepEqual(y.data, want, `${JSON.stringify(from)} → ${JSON.stringify(to)}`);
  }
});

test('matmul in all four transpose combinations: values and gradients', () => {
  const A = randT([3, 4], 19),
    B = randT([4, 5], 20);
  const ref = d.mm(A, B).data;
  const At = d.t(A).clone().requireGrad(),
    Bt = d.t(B).clone().requireGrad();
  assertClose(d.mm(At, B, true, false).data, ref, 1e-12);
  assertClose(d.mm(A, Bt, false, true).data, ref, 1e-12);
  assertClose(d.mm(At, Bt, true, true).data, ref, 1e-12);
  gradCheck((a, b) => d.mm(a, b), [A, B]);
  gradCheck((a, b) => d.mm(a, b, true, false), [At, B]);
  gradCheck((a, b) => d.mm(a, b, false, true), [A, Bt]);
  gradCheck((a, b) => d.mm(a, b, true, true), [At, Bt]);
});

test('logSoftmax is stable for huge logits and has the right gradient', () => {
  const big = d.tensor([[1000, 1001, 1002]], { dtype: 'float64' });
  const y = d.logSoftmax(big);
  assert.ok(Array.from(y.data).every(Number.isFinite));
  assertClose(d.exp(y).data, [0.09003057317038046, 0.24472847105479764, 0.6652409557748219], 1e-12);
  gradCheck(d.logSoftmax, [randT([3, 5], 21)]);
  gradCheck((a) => d.crossEntropy(a, [0, 4, 2]), [randT([3, 5], 22)]);
  gradCheck((a, b) => d.mseLoss(a, b), [randT([3, 2], 23), randT([3, 2], 24)]);
});

test('the gradient of a gradient gives the analytic Hessian', () => {
  // f(x, y) = x³y + sin-free polynomial: x³·y + 2·x·y² + y⁴ ; H = [[6xy, 3x²+4y], [3x²+4y, 4x+12y²]]
  const p = d.tensor([0.7, -1.3], { dtype: 'float64', requiresGrad: true });
  const f = (v: d.Tensor) => {
    const x = d.reshape(d.mul(v, d.tensor([1, 0], { dtype: 'float64' })).sum(), []);
    const y = d.reshape(d.mul(v, d.tensor([0, 1], { dtype: 'float64' })).sum(), []);
    return d.add(d.add(d.mul(d.pow(x, 3), y), d.mul(d.mul(x, 2), d.square(y))), d.pow(y, 4));
  };
  const [g] = d.grad(f(p), [p], { createGraph: true });
  const [x, y] = [0.7, -1.3];
  assertClose(g!.data, [3 * x * x * y + 2 * y * y, x ** 3 + 4 * x * y + 4 * y ** 3], 1e-12, 'gradient');
  const H: number[] = [];
  for (let i = 0; i < 2; i++) {
    const e = d.tensor(i === 0 ? [1, 0] : [0, 1], { dtype: 'float64' });
    const [row] = d.grad(d.sum(d.mul(g!, e)), [p]);
    H.push(...row!.data);
  }
  assertClose(H, [6 * x * y, 3 * x * x + 4 * y, 3 * x * x + 4 * y, 4 * x + 12 * y * y], 1e-12, 'Hessian');
});

test('Hessian of cross-entropy through an MLP layer matches central differences of the gradient', () => {
  const W = randT([3, 4], 30),
    X = randT([5, 4], 31);
  X.requiresGrad = false;
  const loss = (w: d.Tensor) => d.crossEntropy(d.tanh(d.mm(X, w, false, true)), [0, 1, 2, 1, 0]);
  const [g] = d.grad(loss(W), [W], { createGraph: true });
  const v = randT([3, 4], 32);
  v.requiresGrad = false;
  const [hv] = d.grad(d.sum(d.mul(g!, v)), [W]);
  const h = 1e-6;
  const shifted = (s: number) => {
    const w2 = d.fromData(
      W.data.map((x, i) => x + s * h * v.data[i]),
      W.shape,
      { requiresGrad: true },
    );
    return d.grad(loss(w2), [w2])[0]!.data;
  };
  const gp = shifted(1),
    gm = shifted(-1);
  assertClose(
    hv!.data,
    gp.map((x, i) => (x - gm[i]) / (2 * h)),
    1e-6,
    'Hessian-vector product',
  );
});

test('backward accumulates into leaves and keeps distinct gradient tensors', () => {
  const a = d.tensor([1, 2], { requiresGrad: true });
  const b = d.tensor([3, 4], { requiresGrad: true });
  d.add(a, b).sum().backward();
  assert.notEqual(a.grad!.data, b.grad!.data);
  d.mul(a, 3).sum().backward();
  assert.deepEqual(Array.from(a.grad!.data), [4, 4]);
});

test('losses refuse an unknown reduction, naming the loss, the value and the allowed ones (PyTorch: ValueError), never a silent sum or mean', () => {
  const x = randT([2, 3], 1);
  const bad = (loss: string, v: string) => new RegExp(`^RangeError: ${loss}: invalid reduction ${v}; expected mean, sum, none$`);
  assert.throws(() => d.crossEntropy(x, [0, 1], 'avg' as never), bad('CrossEntropyLoss', '"avg"'));
  assert.throws(() => d.mseLoss(x, x, 'avg' as never), bad('MSELoss', '"avg"'));
  assert.throws(() => new d.CrossEntropyLoss(5 as never), bad('CrossEntropyLoss', '5'));
  assert.throws(() => new d.MSELoss('Mean' as never), bad('MSELoss', '"Mean"'));
  // the reductions themselves: sum of [1, 4] squared errors is 5, their mean 2.5
  const a = d.tensor([1, 2]),
    b = d.tensor([0, 0]);
  assert.deepEqual([d.mseLoss(a, b, 'sum').item(), d.mseLoss(a, b).item(), new d.MSELoss('none').forward(a, b).shape], [5, 2.5, [2]]);
});

test('maximum splits the gradient half and half at ties, as torch.maximum does', () => {
  const grads = (av: number[][] | number[], bv: number[], w?: number[][]) => {
    const a = d.tensor(av, { requiresGrad: true }),
      b = d.tensor(bv, { requiresGrad: true });
    const m = d.maximum(a, b);
    d.sum(w ? d.mul(m, d.tensor(w)) : m).backward();
    return [Array.from(a.grad!.data), Array.from(b.grad!.data)];
  };
  // torch 1.13: a = [1, 2], b = [1, 1], maximum(a, b).sum().backward() → a.grad [0.5, 1], b.grad [0.5, 0]
  assert.deepEqual(grads([1, 2], [1, 1]), [
    [0.5, 1],
    [0.5, 0],
  ]);
  // broadcast b [2] over a [2, 2], weights w: a.grad [[0.5, 2], [3, 2]], b.grad [0.5, 2]
  assert.deepEqual(
    grads(
      [
        [1, 2],
        [3, 0],
      ],
      [1, 0],
      [
        [1, 2],
        [3, 4],
      ],
    ),
    [
      [0.5, 2, 3, 2],
      [0.5, 2],
    ],
  );
  // a NaN compares neither way: both inputs get all of the gradient there
  assert.deepEqual(grads([NaN, 1], [1, 1]), [
    [1, 0.5],
    [1, 0.5],
  ]);
});

test('pow: the gradient of x⁰ is 0, also at x = 0 (PyTorch masks exponent 0); a Tensor exponent is refused', () => {
  // torch 1.13, float64, x = [0, 2], pow(x, p).sum().backward(): p = 0 → [0, 0]; 0.5 → [inf, 0.3536]; 3 → [0, 12]; −1 → [−inf, −0.25]
  const gradOf = (p: number) => {
    const x = d.tensor([0, 2], { dtype: 'float64', requiresGrad: true });
    d.sum(d.pow(x, p)).backward();
    return Array.from(x.grad!.data);
  };
  assert.deepEqual(gradOf(0), [0, 0]);
  assert.deepEqual(gradOf(0.5), [Infinity, 0.5 / Math.sqrt(2)]);
  assert.deepEqual(gradOf(3), [0, 12]);
  assert.deepEqual(gradOf(-1), [-Infinity, -0.25]);
  assert.throws(
    () => d.pow(d.tensor([0, 2]), d.tensor([1, 2]) as never),
    /^TypeError: pow: expected a number exponent, got a Tensor of shape \[2\]$/,
  );
});

test('an axis out of range names the reduction that was given it', () => {
  // torch: "Dimension out of range (expected to be in range of [-2, 1], but got -3)"
  assert.throws(
    () => d.mean(d.ones([2, 3]), -3),
    /^ShapeError: mean: axis -3 is out of range for a tensor of rank 2 \(expected an integer in \[-2, 1\]\)$/,
  );
  assert.throws(() => d.sum(d.ones([2, 3]), [0, 2]), /^ShapeError: sum: axis 2 is out of range/);
});

test('max, min, argmax and argmin over an empty axis are refused, as in PyTorch, not NaN', () => {
  // torch 1.13: zeros(0, 3).max(0) → "max(): Expected reduction dim 0 to have non-zero size."
  const empty = (what: string, axis: number, shape: string) =>
    new RegExp(`^ShapeError: ${what}: axis ${axis} of a tensor of shape \\[${shape}\\] is empty, expected at least one element to reduce$`);
  assert.throws(() => d.max(d.zeros([0, 3]), 0), empty('max', 0, '0, 3'));
  assert.throws(() => d.min(d.zeros([2, 0]), -1), empty('min', -1, '2, 0'));
  assert.throws(() => d.argmax(d.zeros([2, 0]), -1), empty('argmax', -1, '2, 0'));
  assert.throws(() => d.argmin(d.zeros([0, 3]), 0), empty('argmin', 0, '0, 3'));
  // the other axis of the same shapes has elements: a [0]-shaped or [2, 0]-shaped result, as torch gives
  assert.deepEqual(d.max(d.zeros([0, 3]), 1).shape, [0]);
  assert.deepEqual(d.min(d.zeros([2, 0]), 0).shape, [0]);
});

test('permute equals out[i] = x[Σ iₖ·stride(dims[k])] for every permutation of shapes with size-1 and merged axes', () => {
  const shapes = [
    [2, 3, 4],
    [1, 5, 1, 3],
    [2, 3, 1, 4, 2],
    [3, 1],
    [4, 2, 3, 5],
  ];
  const perms = (n: number): number[][] =>
    n === 1 ? [[0]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, at) => [...p.slice(0, at), n - 1, ...p.slice(at)]));
  for (const shape of shapes) {
    const x = d.arange(shape.reduce((a, b) => a * b, 1)).reshape(shape);
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    for (const p of perms(shape.length)) {
      const y = d.permute(x, p);
      const outShape = p.map((a) => shape[a]);
      assert.deepEqual(y.shape, outShape);
      const idx = new Array<number>(outShape.length).fill(0);
      for (let o = 0; o < y.size; o++) {
        const want = idx.reduce((acc, v, k) => acc + v * strides[p[k]], 0);
        assert.equal(y.data[o], want, `permute ${JSON.stringify(shape)} by ${JSON.stringify(p)} at ${o}`);
        for (let k = outShape.length - 1; k >= 0 && ++idx[k] === outShape[k]; k--) idx[k] = 0;
      }
    }
  }
});
