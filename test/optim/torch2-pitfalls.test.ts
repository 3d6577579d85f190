/**
 * Named pitfalls of Adafactor, Rprop and ASGD, with first steps derived by hand (the torch 2.6
 * trajectories are in torch2.test.ts; the table-driven properties in properties.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, fromData } from '../../src/index.js';
import { Adafactor, ASGD, Rprop, adafactorRule, type OptimizerStateDict } from '../../src/optim/index.js';
import { assertClose } from '../helpers.js';

function param(name: string, values: number[], shape = [values.length]): Tensor {
  const t = fromData(new Float64Array(values), shape, { requiresGrad: true });
  t.name = name;
  return t;
}
const setGrad = (p: Tensor, g: number[]) => (p.grad = fromData(new Float64Array(g), p.shape));

test('Rprop by hand: the step size grows ×η₊ on the same sign, shrinks ×η₋ on a flip, and a flip does not move', () => {
  // θ0 = (1, 1, 1), η = 0.1: every Δ starts at 0.1.
  // step 1, g = (1, −2, 0): no previous sign, Δ stays 0.1; θ = (0.9, 1.1, 1).
  // step 2, g = (3, 1, 5): g·g_prev = (3, −2, 0) → Δ = (0.12, 0.05, 0.1); the flipped coordinate does not move
  //   and its g is stored as 0; θ = (0.78, 1.1, 0.9).
  // step 3, g = (1, 1, −1): g·g_prev = (3, 0, −5) → Δ = (0.144, 0.05, 0.05); θ = (0.636, 1.05, 0.9).
  const p = param('p', [1, 1, 1]);
  const o = new Rprop([p], { lr: 0.1 });
  const want = [
    [0.9, 1.1, 1],
    [0.78, 1.1, 0.9],
    [0.636, 1.05, 0.9],
  ];
  [
    [1, -2, 0],
    [3, 1, 5],
    [1, 1, -1],
  ].forEach((g, k) => {
    setGrad(p, g);
    o.step();
    assertClose(p.data, want[k], 1e-15, `θ after step ${k + 1}`);
  });
  assertClose(o.state.get('p')!.stepSize as Float64Array, [0.144, 0.05, 0.05], 1e-15, 'Δ after step 3');
});

test('Rprop: lr = 0 is not a no-op — lr is only the initial step size, and the first step clamps it to stepSizes[0]', () => {
  const p = param('p', [1, -1]);
  const o = new Rprop([p], { lr: 0 });
  setGrad(p, [2, -3]);
  o.step();
  assert.deepEqual(Array.from(p.data), [1 - 1e-6, -1 + 1e-6]);
  setGrad(p, [2, -3]);
  o.step();
  assertClose(p.data, [1 - 1e-6 - 1.2e-6, -1 + 1e-6 + 1.2e-6], 1e-15, 'Δ grows ×1.2 from Δmin');
});

test('ASGD by hand: the rate decays as η/(1 + λη t)^α, held in float32, and averaging starts after t0 steps', () => {
  // θ0 = 2, g = 0.5 each step, η = 0.1, λ = 0.01, α = 0.75, t0 = 1.
  // η1 = f32(0.1); θ1 = θ0(1 − λη1) − η1 g; μ1 = 1 so θ̄1 = θ1; then η2 = f32(η/(1 + λη·1)^α), μ2 = 1/max(1, 1 − 1) = 1.
  // θ2 likewise, θ̄2 = θ2; μ3 = 1/max(1, 2 − 1) = 1.  θ3; θ̄3 = θ3; μ4 = 1/max(1, 3 − 1) = ½.
  // θ4; θ̄4 = θ̄3 + ½(θ4 − θ̄3).
  const f = Math.fround;
  const eta = (t: number) => (t === 0 ? f(0.1) : f(0.1 / (1 + 0.01 * 0.1 * t) ** 0.75));
  const th = [2];
  for (let t = 0; t < 4; t++) th.push(th[t] * (1 - 0.01 * eta(t)) - eta(t) * 0.5);
  const p = param('p', [2]);
  const o = new ASGD([p], { lr: 0.1, lambd: 0.01, alpha: 0.75, t0: 1 });
  for (let t = 1; t <= 4; t++) {
    setGrad(p, [0.5]);
    o.step();
    assertClose(p.data, [th[t]], 1e-15, `θ after step ${t}`);
  }
  const s = o.state.get('p')!;
  assertClose(s.ax as Float64Array, [th[3] + 0.5 * (th[4] - th[3])], 1e-15, 'θ̄ after step 4');
  assert.equal(s.eta, eta(4));
  assert.equal(s.mu, f(1 / 3));
  assert.notEqual(eta(1), 0.1 / (1 + 0.01 * 0.1) ** 0.75, 'the case tells a float32 η from a float64 one');
});

test('Adafactor by hand on a 2×2 matrix: the rank-1 factored second moment, not g², and update clipping', () => {
  // θ = [[1, 2], [3, 4]], g = [[1, 0], [0, 2]], defaults (η = 0.01, d = 1), step 1 (β̂ = 0: the averages are the means):
  // R = row means of g² = (0.5, 2), C = column means = (0.5, 2), mean(R) = 1.25, V̂ = R Cᵀ / 1.25 = [[0.2, 0.8], [0.8, 3.2]]
  // (g² would be [[1, 0], [0, 4]]). U = g/√V̂ = [[1/√0.2, 0], [0, 2/√3.2]]; RMS(U) = √((5 + 1.25)/4) = 1.25 > d, so Û = U/1.25.
  // a = max(ε₂, RMS(θ)) · min(η, 1/√1) = √7.5 · 0.01.
  const p = param('w', [1, 2, 3, 4], [2, 2]);
  const o = new Adafactor([p]);
  setGrad(p, [1, 0, 0, 2]);
  o.step();
  const a = Math.sqrt(7.5) * 0.01;
  const want = [1 - (a * (1 / Math.sqrt(0.2))) / 1.25, 2, 3, 4 - (a * (2 / Math.sqrt(3.2))) / 1.25];
  assertClose(p.data, want, 1e-14, 'θ after step 1');
  const s = o.stateDict().state.w;
  assert.deepEqual(s.rowVar, [0.5, 2]);
  assert.deepEqual(s.colVar, [0.5, 2]);
  assert.equal(s.variance, undefined, 'a matrix keeps no full variance');
});

test('Adafactor: lr = 0 leaves a matrix unchanged; init factors the state by the shape it is given', () => {
  const p = param('w', [1, 2, 3, 4, 5, 6], [2, 3]);
  const o = new Adafactor([p], { lr: 0, weightDecay: 0.5 });
  setGrad(p, [1, -1, 2, 0.5, 3, -2]);
  o.step();
  assert.deepEqual(Array.from(p.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Object.keys(adafactorRule.init(new Float64Array(6), adafactorRule.defaults, [6])).sort(), ['step', 'variance']);
  const s = adafactorRule.init(new Float64Array(6), adafactorRule.defaults, [2, 3]);
  assert.deepEqual([(s.rowVar as Float64Array).length, (s.colVar as Float64Array).length], [2, 3]);
});

test('Adafactor: factored state survives a JSON round trip and reordering; a factor of the wrong size is named', () => {
  const grads = (k: number, n: number) => Array.from({ length: n }, (_, i) => Math.sin(1.3 * k + 0.7 * i) + 0.2);
  const make = () => [param('w', [0.5, -1, 2, 0.3, 1.5, -0.7], [2, 3]), param('b', [0.1, -0.2, 0.3])];
  const run = (o: Adafactor, ps: Tensor[], from: number, to: number) => {
    for (let k = from; k < to; k++) {
      for (const p of ps) setGrad(p, grads(k + p.name!.length, p.size));
      o.step();
    }
  };
  const [w1, b1] = make();
  const [w2, b2] = make();
  const o1 = new Adafactor([w1, b1], { lr: 0.05, weightDecay: 0.1 });
  const o2 = new Adafactor([b2, w2], { lr: 0.05, weightDecay: 0.1 });
  run(o1, [w1, b1], 0, 4);
  run(o2, [b2, w2], 0, 4);
  assert.deepEqual(Array.from(w2.data), Array.from(w1.data));
  const json = JSON.parse(JSON.stringify(o1.stateDict())) as OptimizerStateDict;
  assert.equal((json.state.w.rowVar as number[]).length, 2);
  assert.equal((json.state.w.colVar as number[]).length, 3);
  const [w3, b3] = [param('w', Array.from(w1.data), [2, 3]), param('b', Array.from(b1.data))];
  const o3 = new Adafactor([b3, w3], { lr: 9 });
  o3.loadStateDict(json);
  assert.deepEqual(o3.stateDict().state, o1.stateDict().state);
  assert.equal(o3.paramGroups[0].lr, 0.05, 'the hyper-parameters come back from the state');
  run(o1, [w1, b1], 4, 7);
  run(o3, [b3, w3], 4, 7);
  assert.deepEqual(Array.from(w3.data), Array.from(w1.data));
  assert.deepEqual(Array.from(b3.data), Array.from(b1.data));
  const bad = JSON.parse(JSON.stringify(json));
  bad.state.w.colVar = [1, 2];
  const o4 = new Adafactor([param('w', [0, 0, 0, 0, 0, 0], [2, 3]), param('b', [0, 0, 0])]);
  assert.throws(() => o4.loadStateDict(bad), /"w"\.colVar has 2 values, a parameter of shape \[2,3\] needs 3/);
  assert.equal(o4.state.size, 0, 'a refused state leaves the optimizer as it was');
});
