/**
 * The layers PReLU, Mish, Hardswish, Hardsigmoid, SELU, Hardtanh, ReLU6, Softmax, LogSoftmax,
 * Identity and Unflatten: PyTorch's defaults and names, forwards equal to their ops (whose values
 * and gradients test/autograd/activations-more.test.ts compares with PyTorch's), describe(),
 * summary(), padding masks, and refusals naming the layer with expected and actual.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';

const x = d.fromData([-4, -3, -0.5, 0, 0.5, 3, 7, 1000], [2, 4], { dtype: 'float64' });
const same = (a: d.Tensor, b: d.Tensor) => assert.deepEqual(Array.from(a.data), Array.from(b.data));

test("PyTorch's defaults: PReLU one slope of 0.25 named weight, Hardtanh [−1, 1]; each forward is its op", () => {
  const p = new d.PReLU({ dtype: 'float64' });
  assert.deepEqual(Object.keys(p.stateDict()), ['weight']);
  assert.deepEqual(p.stateDict().weight, { shape: [1], data: [0.25] });
  same(p.forward(x), d.prelu(x, p.weight));
  const pc = new d.PReLU({ numParameters: 4, init: 0.1, dtype: 'float64' });
  assert.deepEqual(Array.from(pc.weight.data), [0.1, 0.1, 0.1, 0.1]);
  same(pc.forward(x), d.prelu(x, pc.weight));
  const ht = new d.Hardtanh();
  assert.deepEqual([ht.minVal, ht.maxVal], [-1, 1]);
  assert.deepEqual([new d.Hardtanh(-2, 3).minVal, new d.Hardtanh({ maxVal: 3 }).maxVal], [-2, 3]);
  same(ht.forward(x), d.hardtanh(x));
  same(new d.ReLU6().forward(x), d.relu6(x));
  same(new d.Mish().forward(x), d.mish(x));
  same(new d.Hardswish().forward(x), d.hardswish(x));
  same(new d.Hardsigmoid().forward(x), d.hardsigmoid(x));
  same(new d.SELU().forward(x), d.selu(x));
  assert.deepEqual(Array.from(new d.ReLU6().forward(x).data), [0, 0, 0, 0, 0.5, 3, 6, 6]);
  assert.deepEqual(
    [p, pc, ht, new d.ReLU6(), new d.Mish(), new d.Hardswish(), new d.Hardsigmoid(), new d.SELU()].map((m) => m.describe()),
    [
      'PReLU(numParameters=1)',
      'PReLU(numParameters=4)',
      'Hardtanh(minVal=-1, maxVal=1)',
      'ReLU6',
      'Mish',
      'Hardswish',
      'Hardsigmoid',
      'SELU',
    ],
  );
});

test('Softmax and LogSoftmax over any dim: rows of dim 0 or 1 sum to 1; exp(LogSoftmax) is Softmax', () => {
  const t = d.fromData([1, 2, 3, 4, 5, 6], [2, 3], { dtype: 'float64' });
  const s0 = new d.Softmax(0).forward(t),
    s1 = new d.Softmax({ dim: 1 }).forward(t);
  assert.deepEqual(s0.shape, [2, 3]);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(s0.data[j] + s0.data[3 + j] - 1) < 1e-15);
  same(s1, d.softmax(t));
  same(new d.LogSoftmax(-1).forward(t), d.logSoftmax(t));
  const l0 = new d.LogSoftmax(0).forward(t);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(Math.exp(l0.data[i]) - s0.data[i]) < 1e-15);
  assert.equal(new d.Softmax(1).describe(), 'Softmax(dim=1)');
  assert.equal(new d.LogSoftmax(-1).describe(), 'LogSoftmax(dim=-1)');
  assert.throws(() => new (d.Softmax as unknown as new () => d.Softmax)(), /Softmax: dim is required/);
  assert.throws(() => new d.Softmax({ dim: 1.5 }), /Softmax: invalid dim 1\.5; expected an integer/);
  assert.throws(() => new d.Softmax(2).forward(t), /Softmax dim: axis 2 is out of range for a tensor of rank 2/);
});

test('Identity returns its input; Unflatten is the inverse of Flatten, with one size inferred', () => {
  assert.equal(new d.Identity().forward(x), x);
  const img = d.fromData(
    Array.from({ length: 24 }, (_, i) => i),
    [2, 3, 2, 2],
  );
  const flat = new d.Flatten().forward(img);
  const back = new d.Unflatten(1, [3, 2, 2]).forward(flat);
  assert.deepEqual(back.shape, [2, 3, 2, 2]);
  same(back, img);
  assert.deepEqual(new d.Unflatten(-1, [-1, 4]).forward(flat).shape, [2, 3, 4]);
  assert.deepEqual(new d.Unflatten(0, [1, 2]).forward(flat).shape, [1, 2, 12]);
  assert.equal(new d.Unflatten(1, [3, -1]).describe(), 'Unflatten(dim=1, [3, -1])');
  assert.throws(
    () => new d.Unflatten(1, [5, -1]).forward(flat),
    /Unflatten\(dim=1, \[5, -1\]\): dimension 1 of the input \[2, 12\] has size 12, expected the product of \[5, -1\]/,
  );
  assert.throws(() => new d.Unflatten(1, [-1, -1]), /Unflatten: unflattenedSize must be a non-empty list of sizes ≥ 0 with at most one -1/);
  assert.throws(() => new d.Unflatten(3, [2]).forward(flat), /Unflatten dim: axis 3 is out of range/);
});

test('summary lists each new layer with its output shape and parameters', () => {
  const model = new d.Sequential(
    new d.Linear(6, 8),
    new d.RMSNorm(8),
    new d.PReLU({ numParameters: 8 }),
    new d.Hardswish(),
    new d.Unflatten(1, [2, 4]),
    new d.Mish(),
    new d.Softmax(1),
    new d.Identity(),
  );
  const s = d.summary(model, [6]);
  assert.deepEqual(
    s.layers.map((l) => [l.layer, l.outputShape, l.params]),
    [
      ['Linear(6→8)', [8], 56],
      ['RMSNorm(8)', [8], 8],
      ['PReLU(numParameters=8)', [8], 8],
      ['Hardswish', [8], 0],
      ['Unflatten(dim=1, [2, 4])', [2, 4], 0],
      ['Mish', [2, 4], 0],
      ['Softmax(dim=1)', [2, 4], 0],
      ['Identity', [2, 4], 0],
    ],
  );
});

test('padding masks pass the elementwise layers and RMSNorm; refusals name the layer, expected and actual', () => {
  for (const m of [new d.PReLU(), new d.Mish(), new d.Hardswish(), new d.SELU(), new d.Identity(), new d.RMSNorm(4), new d.LogSoftmax(-1)])
    assert.equal(m.maskSupport, 'keep', m.describe());
  assert.equal(new d.Softmax(1).maskSupport, 'refuse');
  assert.throws(() => new d.PReLU({ numParameters: 0 }), /PReLU: numParameters must be a positive integer, got 0/);
  assert.throws(() => new d.PReLU({ init: Number.NaN }), /PReLU: init must be a finite number, got NaN/);
  assert.throws(() => new d.PReLU({ channels: 3 } as never), /PReLU: unknown option "channels"/);
  assert.throws(() => new d.Hardtanh(2, 1), /Hardtanh: minVal \(2\) must be ≤ maxVal \(1\)/);
  assert.throws(
    () => new d.PReLU({ numParameters: 3 }).forward(d.zeros([2, 4])),
    /prelu: weight has 3 values, expected 1 or the 4 channels/,
  );
});
