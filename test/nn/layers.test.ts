import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { gradCheck, randT } from '../helpers.js';

test('a shape mismatch names the layer and both shapes', () => {
  const net = new d.Sequential(new d.Linear(784, 10, { rng: new d.Rng(1) }), new d.ReLU());
  assert.throws(
    () => net.forward(d.zeros([4, 100])),
    (e: Error) => {
      assert.ok(e instanceof d.ShapeError);
      assert.match(e.message, /layer 0 \(Linear\(784→10\)\): .*expected input \[\*, 784\], got \[4, 100\]/);
      return true;
    },
  );
});

test('Linear computes x·Wᵀ + b and its gradients are right', () => {
  const lin = new d.Linear(3, 2, { rng: new d.Rng(2), dtype: 'float64' });
  const x = randT([4, 3], 5);
  const y = lin.forward(x);
  for (let i = 0; i < 4; i++)
    for (let o = 0; o < 2; o++) {
      let s = lin.bias!.data[o];
      for (let k = 0; k < 3; k++) s += x.data[i * 3 + k] * lin.weight.data[o * 3 + k];
      assert.ok(Math.abs(y.data[i * 2 + o] - s) < 1e-12);
    }
  gradCheck((xx, w, b) => d.add(d.mm(xx, w, false, true), b), [x, lin.weight, lin.bias!]);
});

test('parameters are named by path and the state dict round-trips', () => {
  const net = new d.Sequential(new d.Linear(4, 3, { rng: new d.Rng(1) }), new d.Tanh(), new d.Linear(3, 2, { rng: new d.Rng(2) }));
  assert.deepEqual(
    net.namedParameters().map(([n]) => n),
    ['0.weight', '0.bias', '2.weight', '2.bias'],
  );
  const sd = JSON.parse(JSON.stringify(net.stateDict()));
  const other = new d.Sequential(new d.Linear(4, 3, { rng: new d.Rng(9) }), new d.Tanh(), new d.Linear(3, 2, { rng: new d.Rng(9) }));
  other.loadStateDict(sd);
  assert.deepEqual(Array.from(other.parameters()[2].data), Array.from(net.parameters()[2].data));
  sd['0.weight'].shape = [3, 5];
  assert.throws(() => other.loadStateDict(sd), /"0.weight" has shape \[3, 4\], state has \[3, 5\]/);
});

test('initialisers have the variance they promise', () => {
  const w = d.zeros([400, 300]);
  const rng = new d.Rng(3);
  const variance = (t: d.Tensor) => Array.from(t.data).reduce((s, v) => s + v * v, 0) / t.size;
  d.heNormal_(w, rng);
  assert.ok(Math.abs(variance(w) / (2 / 300) - 1) < 0.03);
  d.glorotUniform_(w, rng);
  assert.ok(Math.abs(variance(w) / (2 / 700) - 1) < 0.03);
  d.torchDefault_(w, rng);
  assert.ok(Math.abs(variance(w) / (1 / 900) - 1) < 0.03);
  assert.throws(() => new d.Linear(0, 3), /inFeatures must be a positive integer, got 0/);
});
