import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { gradCheck, randT, assertClose } from '../helpers.js';

const layer64 = (inF: number, outF: number, opts: d.DropConnectOptions = {}) =>
  new d.DropConnect(inF, outF, { dtype: 'float64', rng: new d.Rng(11), ...opts });

test('DropConnect mean-network inference is the plain linear layer', () => {
  const dc = layer64(6, 4, { p: 0.5, activation: 'relu' });
  const lin = new d.Linear(6, 4, { dtype: 'float64', rng: new d.Rng(11) });
  const x = randT([3, 6], 1);
  assertClose(dc.forward(x).data, d.relu(lin.forward(x)).data, 1e-12);
});

test('DropConnect per-example masks: gradients (first and second order) match central differences', () => {
  const dc = layer64(5, 3, { p: 0.3, activation: 'tanh' });
  const x = randT([4, 5], 2);
  const f = (a: d.Tensor, _w: d.Tensor, _b: d.Tensor) => dc.forward(a, { training: true, rng: new d.Rng(3) });
  gradCheck(f, [x, dc.weight, dc.bias!]);
  gradCheck(
    (a, w) => {
      const [ga, gw] = d.grad(d.sum(d.square(dc.forward(a, { training: true, rng: new d.Rng(4) }))), [a, w], { createGraph: true });
      return d.add(d.sum(d.square(ga!)), d.sum(d.square(gw!)));
    },
    [x, dc.weight],
    1e-5,
  );
  const batch = layer64(5, 3, { p: 0.3, masks: 'batch' });
  gradCheck((a, w) => batch.forward(a, { training: true, rng: new d.Rng(5) }), [x, batch.weight]);
});

test('DropConnect: per-example masks differ between examples, per-batch masks are shared', () => {
  const row = randT([1, 20], 6);
  const x = d.broadcastTo(row.detach(), [8, 20]);
  const distinctRows = (y: d.Tensor) =>
    new Set(Array.from({ length: 8 }, (_, n) => Array.from(y.data.subarray(n * 5, n * 5 + 5)).join(','))).size;
  assert.equal(distinctRows(layer64(20, 5, { masks: 'example' }).forward(x, { training: true, rng: new d.Rng(7) })), 8);
  assert.equal(distinctRows(layer64(20, 5, { masks: 'batch' }).forward(x, { training: true, rng: new d.Rng(7) })), 1);
});

test('DropConnect: the expectation of the training output is the mean network (no activation)', () => {
  const dc = layer64(30, 4, { p: 0.5, masks: 'example' });
  const K = 3000;
  const x = d.broadcastTo(randT([1, 30], 8).detach(), [K, 30]);
  const y = dc.forward(x, { training: true, rng: new d.Rng(9) });
  const mean = dc.forward(d.fromData(x.data.subarray(0, 30), [1, 30]));
  for (let o = 0; o < 4; o++) {
    let s = 0,
      s2 = 0;
    for (let n = 0; n < K; n++) {
      s += y.data[n * 4 + o];
      s2 += y.data[n * 4 + o] ** 2;
    }
    const m = s / K,
      sd = Math.sqrt(s2 / K - m * m) / Math.sqrt(K);
    assert.ok(Math.abs(m - mean.data[o]) < 4.5 * sd, `unit ${o}: Monte-Carlo mean ${m} vs mean network ${mean.data[o]} (sd ${sd})`);
  }
});

test('DropConnect moment matching approaches the Monte-Carlo average of masked networks (Wan et al. 2013, Alg. 2)', () => {
  // ReLU units with many inputs: u = (M⊙W)v + b is close to Gaussian, so E[relu(u)] is well predicted
  // by sampling N(μ, σ²); the mean network relu(μ) is not (it is biased low where μ is near 0).
  const I = 400,
    O = 6,
    K = 8000;
  const rng = new d.Rng(10);
  const dcMC = layer64(I, O, { p: 0.5, activation: 'relu', masks: 'example', rng: new d.Rng(12) });
  const dcG = layer64(I, O, { p: 0.5, activation: 'relu', inference: 'gaussian', samples: 20000, rng: new d.Rng(12) });
  const v = d.rand([1, I], rng, { dtype: 'float64' });
  const mc = d.noGrad(() => dcMC.forward(d.broadcastTo(v, [K, I]), { training: true, rng: new d.Rng(13) }));
  const gauss = dcG.forward(v, { rng: new d.Rng(14) });
  const meanNet = dcMC.forward(v);
  let maxErr = 0,
    maxGap = 0;
  for (let o = 0; o < O; o++) {
    let s = 0;
    for (let n = 0; n < K; n++) s += mc.data[n * O + o];
    const avg = s / K;
    maxErr = Math.max(maxErr, Math.abs(gauss.data[o] - avg));
    maxGap = Math.max(maxGap, Math.abs(meanNet.data[o] - avg));
  }
  assert.ok(maxErr < 0.015, `moment matching vs Monte Carlo: max |diff| ${maxErr}`);
  assert.ok(maxGap > 3 * maxErr, `the mean network should be visibly further from the MC average (${maxGap} vs ${maxErr})`);
});

test('DropConnect: errors name the layer and the option', () => {
  assert.throws(() => new d.DropConnect(4, 2, { p: 1 }), /DropConnect: p must be in \[0, 1\), got 1/);
  assert.throws(() => new d.DropConnect(4, 2, { masks: 'row' as any }), /DropConnect: invalid masks "row"; expected 'example' or 'batch'/);
  assert.throws(() => new d.DropConnect(4, 2, { samples: 0 }), /samples must be a positive integer, got 0/);
  const dc = new d.DropConnect(4, 2, { rng: new d.Rng(1) });
  assert.throws(() => dc.forward(d.zeros([3, 5])), /DropConnect\(4→2, p=0.5\): expected input \[N, 4\], got \[3, 5\]/);
  assert.throws(() => dc.forward(d.zeros([3, 4]), { training: true }), /training mode needs a random generator/);
});

test("DropConnect.batchMask from the generator's state before a forward is the weight mask that forward applied (masks 'batch')", () => {
  const dc = layer64(7, 5, { p: 0.4, masks: 'batch', bias: false });
  const x = randT([3, 7], 4);
  const rng = new d.Rng(21);
  rng.nextU32();
  const state = rng.getState();
  const y = dc.forward(x, { training: true, rng });
  const m = dc.batchMask(d.Rng.fromState(state));
  assert.equal(m.length, 35);
  assert.ok(m.some((v) => v === 0) && m.some((v) => v !== 0));
  // y = x (W ⊙ M)ᵀ by hand
  for (let n = 0; n < 3; n++)
    for (let o = 0; o < 5; o++) {
      let s = 0;
      for (let i = 0; i < 7; i++) s += x.data[n * 7 + i] * dc.weight.data[o * 7 + i] * m[o * 7 + i];
      assertClose(y.data[n * 5 + o], s, 1e-12, `y[${n}, ${o}]`);
    }
  for (const v of m) assert.ok(v === 0 || Math.abs(v - 1 / 0.6) < 1e-12);
});
