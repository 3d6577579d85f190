/**
 * Properties every optimizer must have, and the named pitfalls (STYLE.md habits 7 and 8).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Adam, Linear, Rng, fromData, mean, square, tanh, tensor } from '../../src/index.js';
import {
  createOptimizer,
  pureUpdate,
  sgdRule,
  adagradRule,
  rmspropRule,
  adadeltaRule,
  adamRule,
  adamwRule,
  adamaxRule,
  nadamRule,
  radamRule,
  lionRule,
  adafactorRule,
  rpropRule,
  asgdRule,
  type Optimizer,
  type BaseHyper,
  type UpdateRule,
  type OptimizerStateDict,
} from '../../src/optim/index.js';
import { trajectory } from '../../src/surfaces/index.js';

const KEYS = [
  'sgd',
  'momentum',
  'nesterov',
  'adagrad',
  'rmsprop',
  'adadelta',
  'adam',
  'adamw',
  'adamax',
  'nadam',
  'radam',
  'lion',
  'adafactor',
  'rprop',
  'asgd',
];
/** Options that switch every buffer on, so the properties see all the state. */
const RICH: Record<string, Record<string, unknown>> = {
  sgd: { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 },
  momentum: { lr: 0.05 },
  nesterov: { lr: 0.05, weightDecay: 0.01 },
  adagrad: { lr: 0.1, lrDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1 },
  rmsprop: { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.01 },
  adadelta: { lr: 1, weightDecay: 0.01 },
  adam: { lr: 0.01, amsgrad: true, weightDecay: 0.01 },
  adamw: { lr: 0.01, amsgrad: true },
  adamax: { lr: 0.01, weightDecay: 0.01 },
  nadam: { lr: 0.01, weightDecay: 0.01 },
  radam: { lr: 0.01, weightDecay: 0.01 },
  lion: { lr: 0.01, weightDecay: 0.1 },
  adafactor: { lr: 0.05, beta2Decay: -0.7, weightDecay: 0.01 },
  rprop: { lr: 0.01, etas: [0.4, 1.3] },
  asgd: { lr: 0.05, lambd: 0.01, t0: 2, weightDecay: 0.01 },
};
const RULES: UpdateRule<any>[] = [
  sgdRule,
  adagradRule,
  rmspropRule,
  adadeltaRule,
  adamRule,
  adamwRule,
  adamaxRule,
  nadamRule,
  radamRule,
  lionRule,
  adafactorRule,
  rpropRule,
  asgdRule,
];

function param(name: string, values: number[]): Tensor {
  const t = fromData(new Float64Array(values), [values.length], { requiresGrad: true });
  t.name = name;
  return t;
}
/** A deterministic gradient for step k of parameter `name` (no Math.random). */
function gradFor(name: string, k: number, n: number, p: ArrayLike<number>): Tensor {
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = Math.sin(1.3 * k + 0.7 * i + name.length) + 0.3 * p[i];
  return fromData(g, [n]);
}
function run(opt: Optimizer<BaseHyper>, ps: Tensor[], from: number, to: number): void {
  for (let k = from; k < to; k++) {
    opt.zeroGrad();
    for (const p of ps) p.grad = gradFor(p.name!, k, p.size, p.data);
    opt.step();
  }
}
const make = (key: string, ps: Tensor[], extra: Record<string, unknown> = {}) =>
  createOptimizer(
    key,
    ps.map((p) => [p.name!, p] as [string, Tensor]),
    { ...RICH[key], ...extra },
  ) as Optimizer<BaseHyper>;

for (const key of KEYS) {
  // Rprop's lr is only its initial step size, which the first step clamps to stepSizes[0]: test below.
  if (key !== 'rprop')
    test(`${key}: lr = 0 leaves parameters unchanged`, () => {
      const ps = [param('a', [0.5, -1.5, 2]), param('b', [3, -0.25])];
      const before = ps.map((p) => Array.from(p.data));
      run(make(key, ps, { lr: 0 }), ps, 0, 5);
      assert.deepEqual(
        ps.map((p) => Array.from(p.data)),
        before,
      );
    });

  test(`${key}: optimizer state is keyed by name and survives reordering parameters`, () => {
    const a1 = param('a', [0.5, -1.5, 2]);
    const b1 = param('b', [3, -0.25]);
    const a2 = param('a', [0.5, -1.5, 2]);
    const b2 = param('b', [3, -0.25]);
    const o1 = make(key, [a1, b1]);
    const o2 = make(key, [b2, a2]);
    run(o1, [a1, b1], 0, 4);
    run(o2, [b2, a2], 0, 4);
    assert.deepEqual(Array.from(a2.data), Array.from(a1.data));
    assert.deepEqual(Array.from(b2.data), Array.from(b1.data));
    // Load the state of o1 into an optimizer that lists the parameters the other way round.
    const a3 = param('a', Array.from(a1.data));
    const b3 = param('b', Array.from(b1.data));
    const o3 = make(key, [b3, a3]);
    o3.loadStateDict(o1.stateDict());
    run(o1, [a1, b1], 4, 7);
    run(o3, [b3, a3], 4, 7);
    assert.deepEqual(Array.from(a3.data), Array.from(a1.data));
    assert.deepEqual(Array.from(b3.data), Array.from(b1.data));
  });

  test(`${key}: state survives a JSON round trip`, () => {
    const a = param('a', [0.5, -1.5, 2]);
    const o = make(key, [a]);
    run(o, [a], 0, 3);
    const json = JSON.stringify(o.stateDict());
    const a2 = param('a', Array.from(a.data));
    const o2 = make(key, [a2], { lr: 123 }); // the hyper-parameters come back from the state too
    o2.loadStateDict(JSON.parse(json) as OptimizerStateDict);
    assert.deepEqual(o2.stateDict(), o.stateDict());
    run(o, [a], 3, 6);
    run(o2, [a2], 3, 6);
    assert.deepEqual(Array.from(a2.data), Array.from(a.data));
  });

  test(`${key}: same seed ⇒ same noisy trajectory`, () => {
    const opts = { ...RICH[key], lr: 1e-3 };
    const r1 = trajectory('beale', key, { steps: 40, options: opts, noise: 2, seed: 11 });
    const r2 = trajectory('beale', key, { steps: 40, options: opts, noise: 2, seed: 11 });
    assert.deepEqual(r1.trace, r2.trace);
  });
}

for (const rule of RULES) {
  test(`${rule.name}: update does not mutate its inputs and equals the in-place step`, () => {
    const h = { ...rule.defaults, lr: 0.05 };
    const p = new Float64Array([0.5, -1.5, 2]);
    const g = new Float64Array([0.3, -0.2, 0.9]);
    let state = rule.init(p, h, [3]);
    let cur: Float64Array = p.slice();
    const inPlace = p.slice();
    const inPlaceState = rule.init(inPlace, h, [3]);
    for (let k = 0; k < 3; k++) {
      const pSnap = cur.slice();
      const sSnap = JSON.stringify(state, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v));
      const gSnap = g.slice();
      const out = pureUpdate(rule, cur, g, state, h);
      assert.deepEqual(cur, pSnap, 'param mutated');
      assert.deepEqual(g, gSnap, 'grad mutated');
      assert.equal(
        JSON.stringify(state, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)),
        sSnap,
        'state mutated',
      );
      rule.apply(inPlace, g, inPlaceState, h);
      assert.deepEqual(out.param, inPlace);
      cur = out.param as Float64Array;
      state = out.state;
    }
  });
}

// ---- named pitfalls, with hand-derived numbers ----

test('Adam bias correction divides', () => {
  // One step from θ = 1 with g = 0.5: m = 0.05, v = 0.00025; m̂ = m/(1−0.9) = 0.5, v̂ = v/(1−0.999) = 0.25,
  // so θ ← 1 − 0.1·0.5/(√0.25 + 1e-8) ≈ 0.9 (a step of size lr). Multiplying by (1 − β) instead would
  // move θ by ~0.1·0.005/0.0005 — a different number.
  const p = param('p', [1]);
  const o = createOptimizer('adam', [['p', p]], { lr: 0.1 });
  p.grad = fromData(new Float64Array([0.5]), [1]);
  o.step();
  const mHat = (0.1 * 0.5) / (1 - 0.9);
  const vHat = (0.001 * 0.25) / (1 - 0.999);
  assert.ok(Math.abs(p.data[0] - (1 - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-8))) < 1e-15);
  assert.ok(Math.abs(p.data[0] - 0.9) < 1e-7);
});

test('centered RMSProp adds eps', () => {
  // α = 0.99, g = 1, one step: v = 0.01, ḡ = 0.01, v − ḡ² = 0.0099; d = √0.0099 + ε with ε = 0.01.
  // tfjs's sign (√0.0099 − ε) would give a larger step.
  const p = param('p', [0]);
  const o = createOptimizer('rmsprop', [['p', p]], { lr: 0.1, centered: true, eps: 0.01 });
  p.grad = fromData(new Float64Array([1]), [1]);
  o.step();
  const d = Math.sqrt(0.0099) + 0.01;
  assert.ok(Math.abs(p.data[0] - -0.1 / d) < 1e-15, `${p.data[0]} vs ${-0.1 / d}`);
  assert.ok(Math.abs(p.data[0] - -0.1 / (Math.sqrt(0.0099) - 0.01)) > 1e-3);
});

test('AdaDelta uses the updated E[g²]', () => {
  // ρ = 0.9, ε = 1e-6, g = 2, first step: E[g²] = 0.1·4 = 0.4, Δ = √(0 + ε)/√(0.4 + ε)·2 ≈ 0.0031623.
  // With the previous E[g²] = 0 (tfjs) Δ would be √ε/√ε·2 = 2.
  const p = param('p', [0]);
  const o = createOptimizer('adadelta', [['p', p]], { lr: 1 });
  p.grad = fromData(new Float64Array([2]), [1]);
  o.step();
  const delta = (Math.sqrt(1e-6) / Math.sqrt(0.4 + 1e-6)) * 2;
  assert.ok(Math.abs(p.data[0] + delta) < 1e-15);
  assert.ok(Math.abs(p.data[0] + 0.0031622737) < 1e-9);
});

// ---- convergence within a step budget ----
const CONVERGE: [string, string, Record<string, unknown>, number, ((t: number) => number)?][] = [
  ['sgd', 'bowl', { lr: 0.1 }, 200],
  ['sgd', 'rosenbrock', { lr: 1.5e-3 }, 8000],
  ['momentum', 'bowl', { lr: 0.05 }, 300],
  ['momentum', 'rosenbrock', { lr: 1e-3 }, 4000],
  ['nesterov', 'bowl', { lr: 0.05 }, 300],
  ['nesterov', 'rosenbrock', { lr: 1e-3 }, 4000],
  ['adagrad', 'bowl', { lr: 0.5 }, 300],
  ['adagrad', 'rosenbrock', { lr: 0.5 }, 6000],
  ['rmsprop', 'bowl', { lr: 0.01 }, 1000],
  ['rmsprop', 'rosenbrock', { lr: 3e-3 }, 5000],
  // Adadelta with a constant lr wanders around (0.8, 0.6) on Rosenbrock (PyTorch's does too); a decaying lr settles it.
  ['adadelta', 'bowl', { lr: 3 }, 1000],
  ['adadelta', 'rosenbrock', {}, 6000, (t) => 1 / (1 + t / 1000)],
  ['adam', 'bowl', { lr: 0.1 }, 500],
  ['adam', 'rosenbrock', { lr: 0.02 }, 5000],
  ['adamw', 'bowl', { lr: 0.1 }, 500],
  ['adamw', 'rosenbrock', { lr: 0.02, weightDecay: 0 }, 5000],
  ['adamax', 'bowl', { lr: 0.1 }, 500],
  ['adamax', 'rosenbrock', { lr: 0.05 }, 5000],
  ['nadam', 'bowl', { lr: 0.02 }, 1000],
  ['nadam', 'rosenbrock', { lr: 0.02 }, 4000],
  ['radam', 'bowl', { lr: 0.05 }, 1000],
  ['radam', 'rosenbrock', { lr: 5e-3, betas: [0.9, 0.99] }, 3000],
  ['lion', 'bowl', { lr: 0.02 }, 500],
  ['lion', 'rosenbrock', { lr: 1e-3 }, 5000],
  ['adafactor', 'bowl', { lr: 0.05 }, 1000],
  ['adafactor', 'rosenbrock', { lr: 0.05 }, 10000],
  ['rprop', 'bowl', { lr: 0.01 }, 500],
  ['rprop', 'rosenbrock', { lr: 1e-3 }, 3000],
  ['asgd', 'bowl', { lr: 0.05 }, 500],
  ['asgd', 'rosenbrock', { lr: 1.5e-3 }, 8000],
];
for (const [key, fn, options, budget, lrAt] of CONVERGE) {
  test(`${key} converges on ${fn} within ${budget} steps (${JSON.stringify(options)})`, () => {
    const r = trajectory(fn, key, { steps: budget, options, lrAt });
    assert.equal(r.diverged, false);
    assert.ok(r.nearest!.distance < 0.05, `${key} on ${fn}: ended at ${r.final.x}, ${r.nearest!.distance} from the minimum`);
  });
}

// ---- invalid hyper-parameters are rejected with a message naming them ----
const BAD: [string, Record<string, unknown>, RegExp][] = [
  ['sgd', { lr: -1 }, /SGD: invalid lr -1; expected ≥ 0/],
  ['sgd', { momentum: -0.1 }, /SGD: invalid momentum/],
  ['sgd', { weightDecay: -1 }, /SGD: invalid weightDecay/],
  ['sgd', { dampening: NaN }, /SGD: invalid dampening/],
  ['sgd', { nesterov: true }, /SGD: invalid nesterov.*momentum > 0 and dampening = 0/],
  ['nesterov', { dampening: 0.5 }, /SGD: invalid nesterov/],
  ['adagrad', { lr: -1 }, /Adagrad: invalid lr/],
  ['adagrad', { lrDecay: -1 }, /Adagrad: invalid lrDecay/],
  ['adagrad', { weightDecay: -1 }, /Adagrad: invalid weightDecay/],
  ['adagrad', { initialAccumulatorValue: -0.1 }, /Adagrad: invalid initialAccumulatorValue/],
  ['adagrad', { eps: -1 }, /Adagrad: invalid eps/],
  ['rmsprop', { lr: -1 }, /RMSprop: invalid lr/],
  ['rmsprop', { alpha: -1 }, /RMSprop: invalid alpha/],
  ['rmsprop', { eps: -1 }, /RMSprop: invalid eps/],
  ['rmsprop', { momentum: -1 }, /RMSprop: invalid momentum/],
  ['rmsprop', { weightDecay: -1 }, /RMSprop: invalid weightDecay/],
  ['rmsprop', { centered: 'yes' }, /RMSprop: invalid centered "yes"; expected true or false/],
  ['adadelta', { lr: -1 }, /Adadelta: invalid lr/],
  ['adadelta', { rho: 1.5 }, /Adadelta: invalid rho 1.5; expected in \[0, 1\]/],
  ['adadelta', { eps: -1 }, /Adadelta: invalid eps/],
  ['adadelta', { weightDecay: -1 }, /Adadelta: invalid weightDecay/],
  ['adam', { lr: -1 }, /Adam: invalid lr/],
  ['adam', { betas: [1, 0.999] }, /Adam: invalid betas\[0\] 1; expected in \[0, 1\)/],
  ['adam', { betas: [0.9, -0.1] }, /Adam: invalid betas\[1\] -0.1/],
  ['adam', { betas: [0.9] }, /Adam: invalid betas \[0.9\]; expected two numbers/],
  ['adam', { eps: -1 }, /Adam: invalid eps/],
  ['adam', { weightDecay: -1 }, /Adam: invalid weightDecay/],
  ['adam', { amsgrad: 1 }, /Adam: invalid amsgrad/],
  ['adamw', { weightDecay: -1 }, /AdamW: invalid weightDecay/],
  ['adamw', { betas: [0.9, 1] }, /AdamW: invalid betas\[1\]/],
  ['adamax', { lr: -1 }, /Adamax: invalid lr/],
  ['adamax', { betas: [1.2, 0.9] }, /Adamax: invalid betas\[0\]/],
  ['adamax', { eps: -1 }, /Adamax: invalid eps/],
  ['nadam', { momentumDecay: -1 }, /NAdam: invalid momentumDecay/],
  ['nadam', { betas: [0.9, 2] }, /NAdam: invalid betas\[1\]/],
  ['nadam', { lr: -1 }, /NAdam: invalid lr/],
  ['radam', { lr: -1 }, /RAdam: invalid lr/],
  ['radam', { eps: -1 }, /RAdam: invalid eps/],
  ['radam', { weightDecay: -1 }, /RAdam: invalid weightDecay/],
  ['lion', { lr: -1 }, /Lion: invalid lr/],
  ['lion', { betas: [0.9, 1] }, /Lion: invalid betas\[1\]/],
  ['lion', { weightDecay: -1 }, /Lion: invalid weightDecay/],
  ['adam', { momentum: 0.9 }, /Adam: unknown option "momentum"/],
  ['nadam', { decoupledWeightDecay: 1 }, /NAdam: invalid decoupledWeightDecay/],
  ['nadam', { maximize: 'yes' }, /NAdam: invalid maximize/],
  ['radam', { decoupledWeightDecay: 'no' }, /RAdam: invalid decoupledWeightDecay/],
  ['radam', { maximize: 0 }, /RAdam: invalid maximize/],
  ['adafactor', { lr: -1 }, /Adafactor: invalid lr -1; expected ≥ 0/],
  ['adafactor', { beta2Decay: 0.5 }, /Adafactor: invalid beta2Decay 0.5; expected ≤ 0/],
  ['adafactor', { eps: [-1, 1e-3] }, /Adafactor: invalid eps\[0\] -1; expected ≥ 0/],
  ['adafactor', { eps: [null, -1] }, /Adafactor: invalid eps\[1\] -1; expected ≥ 0/],
  ['adafactor', { eps: 1e-3 }, /Adafactor: invalid eps 0.001; expected \[ε₁ \(a number or null\), ε₂ \(a number\)\]/],
  ['adafactor', { d: 0.5 }, /Adafactor: invalid d 0.5; expected ≥ 1/],
  ['adafactor', { weightDecay: -1 }, /Adafactor: invalid weightDecay/],
  ['adafactor', { betas: [0.9, 0.999] }, /Adafactor: unknown option "betas"/],
  ['rprop', { lr: -1 }, /Rprop: invalid lr/],
  ['rprop', { etas: [1.2, 0.5] }, /Rprop: invalid etas \[1.2,0.5\]; expected \[η₋, η₊\] with 0 < η₋ < 1 < η₊/],
  ['rprop', { etas: [0.5, 1] }, /Rprop: invalid etas/],
  ['rprop', { stepSizes: [1, 0.1] }, /Rprop: invalid stepSizes \[1,0.1\]; expected \[Δmin, Δmax\] with 0 ≤ Δmin ≤ Δmax/],
  ['rprop', { weightDecay: 0.1 }, /Rprop: unknown option "weightDecay"/],
  ['asgd', { lr: -1 }, /ASGD: invalid lr/],
  ['asgd', { lambd: -1 }, /ASGD: invalid lambd -1; expected a finite number ≥ 0/],
  ['asgd', { alpha: NaN }, /ASGD: invalid alpha/],
  ['asgd', { t0: -1 }, /ASGD: invalid t0/],
  ['asgd', { weightDecay: -1 }, /ASGD: invalid weightDecay/],
];
test('every invalid hyper-parameter is rejected with a message naming it', () => {
  for (const [key, bad, msg] of BAD) {
    assert.throws(() => createOptimizer(key, [['w', param('w', [1])]], bad), msg, `${key} ${JSON.stringify(bad)}`);
  }
});

test('invalid hyper-parameters in a parameter group, in setLr and in a loaded state are named too', () => {
  const a = param('a', [1]);
  const b = param('b', [2]);
  assert.throws(() => createOptimizer('adam', [{ params: [['a', a]] }, { params: [['b', b]], lr: -2 }] as any), /Adam: invalid lr -2/);
  const o = createOptimizer('sgd', [['a', a]], { lr: 0.1 }) as Optimizer<BaseHyper>;
  assert.throws(() => o.setLr(-1), /SGD: invalid lr -1/);
  const sd = o.stateDict();
  (sd.paramGroups[0] as Record<string, unknown>).momentum = -3;
  assert.throws(() => o.loadStateDict(sd), /SGD: invalid momentum -3/);
});

test('parameter groups: per-group lr and weight decay, setLr per group', () => {
  // Plain SGD, g = 1 everywhere: θa ← 1 − 0.1·1;  θb ← 2 − 0.01·(1 + 0.5·2).
  const a = param('a', [1]);
  const b = param('b', [2]);
  const o = createOptimizer('sgd', [
    { params: [['a', a]], lr: 0.1 },
    { params: [['b', b]], lr: 0.01, weightDecay: 0.5 },
  ] as any) as Optimizer<BaseHyper>;
  a.grad = fromData(new Float64Array([1]), [1]);
  b.grad = fromData(new Float64Array([1]), [1]);
  o.step();
  assert.equal(a.data[0], 1 - 0.1);
  assert.equal(b.data[0], 2 - 0.01 * (1 + 0.5 * 2));
  o.setLr((g, i) => (i === 0 ? 0 : g.lr));
  const [a1, b1] = [a.data[0], b.data[0]];
  o.step();
  assert.equal(a.data[0], a1);
  assert.equal(b.data[0], b1 - 0.01 * (1 + 0.5 * b1));
});

test('one optimizer over two modules whose parameters share names (PyTorch accepts it): unique names by position, state round-trips', () => {
  const build = () => {
    const l1 = new Linear(2, 1, { dtype: 'float64', rng: new Rng(1) });
    const l2 = new Linear(1, 1, { dtype: 'float64', rng: new Rng(2) });
    l1.weight.data.set([0.5, -1]);
    l1.bias!.data.set([0.25]);
    l2.weight.data.set([2]);
    l2.bias!.data.set([-1]);
    return { l1, l2, params: [...l1.parameters(), ...l2.parameters()] };
  };
  const x = tensor(
    [
      [1, 2],
      [-1, 0.5],
    ],
    { dtype: 'float64' },
  );
  const steps = (o: Adam, l1: Linear, l2: Linear, n: number) => {
    for (let i = 0; i < n; i++) {
      o.zeroGrad();
      mean(square(l2.forward(tanh(l1.forward(x))))).backward();
      o.step();
    }
  };
  const { l1, l2, params } = build();
  const opt = new Adam(params, { lr: 0.1 });
  assert.deepEqual(
    params.map((p) => opt.nameOf(p)),
    ['weight#0', 'bias#1', 'weight#2', 'bias#3'],
  );
  steps(opt, l1, l2, 2);
  // torch 1.13, float64: Adam([*l1.parameters(), *l2.parameters()], lr=0.1), two steps of mean(l2(tanh(l1(x)))²)
  const torch = [[0.30177013128283114, -0.7998642441996251], [0.450093088856082], [1.8021318905978083], [-0.8008419217245303]];
  params.forEach((p, i) =>
    torch[i].forEach((v, j) => assert.ok(Math.abs(p.data[j] - v) < 1e-12, `parameter ${i}[${j}]: ${p.data[j]} ≠ ${v}`)),
  );
  // the same construction names them the same, so a saved state loads into it
  const again = build();
  const opt2 = new Adam(again.params, { lr: 0.1 });
  steps(opt2, again.l1, again.l2, 2);
  opt2.loadStateDict(JSON.parse(JSON.stringify(opt.stateDict())) as OptimizerStateDict);
  steps(opt, l1, l2, 1);
  steps(opt2, again.l1, again.l2, 1);
  assert.deepEqual(
    again.params.map((p) => Array.from(p.data)),
    params.map((p) => Array.from(p.data)),
  );
  // names that do not collide are kept; names given in [name, Tensor] pairs must be unique
  assert.deepEqual(new Adam([...l1.namedParameters()]).stateDict().paramGroups[0].params, ['weight', 'bias']);
  assert.throws(
    () => new Adam([...l1.namedParameters(), ...l2.namedParameters()]),
    /^RangeError: Adam: two parameters are named "weight"$/,
  );
  assert.throws(() => new Adam([l1.weight, l1.weight]), /^RangeError: Adam: parameter "weight" appears twice$/);
});
