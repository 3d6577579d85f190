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

/** Φ(x), the standard normal's distribution function, by Simpson's rule over [0, x] in float64 (independent of the library's erf). */
function normalCdf(x: number): number {
  const n = 400,
    h = x / n;
  const phi = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
  let s = phi(0) + phi(x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * phi(i * h);
  return 0.5 + (s * h) / 3;
}

/** The newer activations with non-default parameters, each written out here in float64 from its definition (PyTorch's formulas). */
const NEWER: [string, d.DropConnectOptions, (u: number) => number][] = [
  ['leakyrelu', { activation: 'leakyrelu', negativeSlope: 0.2 }, (u) => (u > 0 ? u : 0.2 * u)],
  ['elu', { activation: 'elu', alpha: 1.5 }, (u) => (u > 0 ? u : 1.5 * (Math.exp(u) - 1))],
  ['gelu', { activation: 'gelu' }, (u) => u * normalCdf(u)],
  [
    'gelu tanh',
    { activation: 'gelu', approximate: 'tanh' },
    (u) => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3))),
  ],
  ['silu', { activation: 'silu' }, (u) => u / (1 + Math.exp(-u))],
  ['softplus', { activation: 'softplus', beta: 2, threshold: 1 }, (u) => (2 * u > 1 ? u : Math.log(1 + Math.exp(2 * u)) / 2)],
];

/** μ and σ of each unit's pre-activation under the layer's masks: Wv + b and √(p/(1 − p)·(W ⊙ W)(v ⊙ v)), in float64. */
function moments(dc: d.DropConnect, v: d.Tensor): { mu: number[]; sd: number[] } {
  const [N, I, O] = [v.shape[0], dc.inFeatures, dc.outFeatures];
  const mu: number[] = [],
    sd: number[] = [];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      let m = dc.bias!.data[o],
        s = 0;
      for (let i = 0; i < I; i++) {
        const t = dc.weight.data[o * I + i] * v.data[n * I + i];
        m += t;
        s += t * t;
      }
      mu.push(m);
      sd.push(Math.sqrt((dc.p / (1 - dc.p)) * s));
    }
  return { mu, sd };
}

test('DropConnect: the newer activations in training and mean inference are the Linear layer followed by their modules', () => {
  const x = randT([3, 6], 31);
  const modules: [d.DropConnectOptions, d.Module][] = [
    [{ activation: 'leakyrelu', negativeSlope: 0.2 }, new d.LeakyReLU(0.2)],
    [{ activation: 'elu', alpha: 1.5 }, new d.ELU(1.5)],
    [{ activation: 'gelu', approximate: 'tanh' }, new d.GELU('tanh')],
    [{ activation: 'silu' }, new d.SiLU()],
    [{ activation: 'softplus', beta: 2, threshold: 1 }, new d.Softplus(2, 1)],
  ];
  for (const [opts, act] of modules) {
    const dc = layer64(6, 4, { p: 0.5, ...opts });
    const lin = new d.Linear(6, 4, { dtype: 'float64', rng: new d.Rng(11) });
    assertClose(dc.forward(x).data, act.forward(lin.forward(x)).data, 1e-12, `${opts.activation} mean network`);
    // masks 'batch': the layer's forward is act(x (W ⊙ M)ᵀ + b) with the mask batchMask replays
    const batch = layer64(6, 4, { p: 0.5, masks: 'batch', ...opts });
    const masked = d.fromData(
      Float64Array.from(batch.batchMask(new d.Rng(5)), (m, i) => m * batch.weight.data[i]),
      [4, 6],
    );
    const want = act.forward(d.add(d.mm(x, masked, false, true), batch.bias!));
    assertClose(batch.forward(x, { training: true, rng: new d.Rng(5) }).data, want.data, 1e-12, `${opts.activation} training`);
  }
  const dc = layer64(5, 3, { p: 0.3, activation: 'gelu' });
  gradCheck((a, w) => dc.forward(a, { training: true, rng: new d.Rng(3) }), [randT([4, 5], 2), dc.weight]);
});

test('DropConnect Gaussian inference with the newer activations averages a(u) over the draws of u ~ N(μ, σ²), as computed here from the same generator', () => {
  const [I, O, Z] = [12, 3, 50];
  const v = randT([2, I], 32);
  for (const [name, opts, f] of NEWER) {
    const dc = layer64(I, O, { p: 0.4, inference: 'gaussian', samples: Z, ...opts });
    const got = dc.forward(v, { rng: new d.Rng(33) });
    const { mu, sd } = moments(dc, v);
    const rng = new d.Rng(33);
    const want = mu.map((m, j) => {
      let s = 0;
      for (let z = 0; z < Z; z++) s += f(m + sd[j] * rng.normal());
      return s / Z;
    });
    assertClose(got.data, want, 1e-9, name);
  }
});

test('DropConnect Gaussian inference with the newer activations approaches E[a(u)], u ~ N(μ, σ²), integrated numerically; the mean network a(μ) does not', () => {
  const [I, O, Z] = [40, 4, 20000];
  const v = randT([1, I], 34);
  for (const [name, opts, f] of NEWER) {
    const dc = layer64(I, O, { p: 0.5, inference: 'gaussian', samples: Z, ...opts });
    const got = dc.forward(v, { rng: new d.Rng(35) });
    const { mu, sd } = moments(dc, v);
    let gap = 0;
    for (let o = 0; o < O; o++) {
      // E[f(u)] and E[f(u)²] by Simpson's rule over μ ± 10σ
      const n = 4000,
        h = (20 * sd[o]) / n;
      let e1 = 0,
        e2 = 0;
      for (let i = 0; i <= n; i++) {
        const t = -10 + (20 * i) / n;
        const w = (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * (Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI));
        const y = f(mu[o] + sd[o] * t);
        e1 += w * y;
        e2 += w * y * y;
      }
      e1 *= h / 3 / sd[o];
      e2 *= h / 3 / sd[o];
      const se = Math.sqrt((e2 - e1 * e1) / Z);
      assert.ok(Math.abs(got.data[o] - e1) < 4 * se, `${name} unit ${o}: ${got.data[o]} vs E[a(u)] = ${e1} (standard error ${se})`);
      gap = Math.max(gap, Math.abs(f(mu[o]) - e1) / se);
    }
    assert.ok(gap > 8, `${name}: a(μ) within ${gap} standard errors of E[a(u)]: the comparison could not tell them apart`);
  }
});

test("DropConnect: an activation's parameters are checked and taken only with that activation", () => {
  assert.throws(
    () => new d.DropConnect(4, 2, { activation: 'relu', negativeSlope: 0.2 }),
    /DropConnect: negativeSlope is a parameter of activation 'leakyrelu', not of 'relu'/,
  );
  assert.throws(() => new d.DropConnect(4, 2, { beta: 2 }), /beta is a parameter of activation 'softplus', not of 'none'/);
  assert.throws(
    () => new d.DropConnect(4, 2, { activation: 'softplus', beta: 0 }),
    /DropConnect: beta must be a finite, non-zero number, got 0/,
  );
  assert.throws(
    () => new d.DropConnect(4, 2, { activation: 'elu', alpha: Number.NaN }),
    /DropConnect: alpha must be a finite number, got NaN/,
  );
  assert.throws(
    () => new d.DropConnect(4, 2, { activation: 'gelu', approximate: 'exact' as 'none' }),
    /invalid approximate "exact"|approximate must be 'none' or 'tanh'/,
  );
  assert.throws(() => new d.DropConnect(4, 2, { activation: 'swish' as 'silu' }), /invalid activation "swish"/);
  const dc = new d.DropConnect(4, 2, { activation: 'softplus', threshold: 5, rng: new d.Rng(1) });
  assert.deepEqual(dc.activationOptions, { beta: 1, threshold: 5 });
  assert.equal(dc.describe(), 'DropConnect(4→2, p=0.5, softplus(beta=1, threshold=5))');
  assert.deepEqual(new d.DropConnect(4, 2, { activation: 'relu', rng: new d.Rng(1) }).activationOptions, {});
});
