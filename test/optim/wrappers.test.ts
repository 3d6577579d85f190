/**
 * Schedule-Free SGD/AdamW, SAM/ASAM and Lookahead against their reference algorithms re-expressed in
 * torch ops (fixtures from tools/golden_wrappers.py, float64, 1e-9 relative), hand-derived first
 * steps, and the pitfall tests of test/optim/properties.test.ts for each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor, fromData, tanh, add, mm, crossEntropy, mul, sum } from '../../src/index.js';
import {
  createOptimizer,
  pureUpdate,
  SGD,
  Adam,
  SAM,
  Lookahead,
  ScheduleFreeSGD,
  ScheduleFreeAdamW,
  scheduleFreeSGDRule,
  scheduleFreeAdamWRule,
  hasEvalWeights,
  type AnyOptimizer,
  type Closure,
} from '../../src/optim/index.js';
import { trajectory } from '../../src/surfaces/index.js';
import { assertClose } from '../helpers.js';

const fx = JSON.parse(readFileSync(new URL('../../../test/fixtures/optim/wrappers.json', import.meta.url), 'utf8'));
const mlpFx = JSON.parse(readFileSync(new URL('../../../test/fixtures/optim/mlp.json', import.meta.url), 'utf8'));
const TOL = 1e-9;

function mlpParams(): [string, Tensor][] {
  return Object.keys(mlpFx.init).map((n) => {
    const t = fromData(new Float64Array(mlpFx.init[n]), mlpFx.shapes[n], { requiresGrad: true });
    t.name = n;
    return [n, t];
  });
}
const X = fromData(new Float64Array(mlpFx.x), [8, 4]);
function mlpLoss(ps: Map<string, Tensor>): Tensor {
  const h = tanh(add(mm(X, ps.get('0.weight')!, false, true), ps.get('0.bias')!));
  return crossEntropy(add(mm(h, ps.get('2.weight')!, false, true), ps.get('2.bias')!), mlpFx.y);
}

function build(key: string, options: Record<string, unknown>, named: [string, Tensor][]): AnyOptimizer {
  if (key === 'lookahead-sam') {
    const { lr, rho, k, alpha } = options as { lr: number; rho: number; k: number; alpha: number };
    return new Lookahead(new SAM(new SGD(named, { lr }), { rho }), { k, alpha });
  }
  return createOptimizer(key, named, options);
}

const closureDriven = (o: AnyOptimizer) => (o as { needsClosure?: boolean }).needsClosure === true;

for (const c of fx.mlp) {
  const label = `${c.key} ${JSON.stringify(c.options)}${c.switchEvery ? ` with eval()/train() every ${c.switchEvery} steps` : ''}`;
  test(`${label} on the MLP: parameters, evaluated weights and final state equal the reference's`, () => {
    const named = mlpParams();
    const byName = new Map(named);
    const opt = build(c.key, c.options, named);
    const closure: Closure = () => {
      opt.zeroGrad();
      const loss = mlpLoss(byName);
      loss.backward();
      return loss;
    };
    for (let t = 0; t < c.steps; t++) {
      let loss: number;
      if (closureDriven(opt)) loss = opt.step(closure) as number;
      else {
        loss = (closure() as Tensor).item();
        opt.step();
      }
      assertClose([loss], [c.loss[t]], TOL, `${label} loss before step ${t + 1}`);
      if (c.evalParams) {
        assert.ok(hasEvalWeights(opt));
        const x = new Map(opt.evalWeights().map(([p, d]) => [opt.nameOf(p), d]));
        for (const [n] of named) assertClose(x.get(n)!, c.evalParams[t][n], TOL, `${label} averaged ${n} after step ${t + 1}`);
        if (c.switchEvery && (t + 1) % c.switchEvery === 0) {
          opt.eval();
          for (const [n, p] of named) assertClose(p.data, c.evalParams[t][n], TOL, `${label} ${n} in eval mode after step ${t + 1}`);
          opt.train();
        }
      }
      for (const [n, p] of named) assertClose(p.data, c.params[t][n], TOL, `${label} ${n} after step ${t + 1}`);
    }
    const sd = opt.stateDict();
    for (const [n, e] of Object.entries(c.state as Record<string, Record<string, number[]>>)) {
      for (const [k, v] of Object.entries(e)) assertClose(sd.state[n][k] as number[], v, TOL, `${label} state ${n}.${k}`);
      if (c.counters)
        for (const [k, v] of Object.entries(c.counters as Record<string, number>))
          assertClose([sd.state[n][k] as number], [v], TOL, `${label} ${n}.${k}`);
    }
  });
}

for (const c of fx.surfaces) {
  test(`${c.key} ${JSON.stringify(c.options)} on ${c.problem}: the trajectory equals the reference's`, () => {
    const r = trajectory(c.problem, c.key, { start: c.start, steps: c.steps, options: c.options });
    assert.equal(r.trace.length, c.x.length);
    for (const [t, s] of r.trace.entries()) assertClose(s.x, c.x[t], TOL, `${c.key} x at t=${t}`);
    if (c.key === 'sam')
      assert.ok(
        r.trace.slice(1).every((s) => s.evals === 2),
        'SAM: two gradient evaluations per step',
      );
  });
}

// ---- hand-derived first steps ------------------------------------------------------------------
/** f(w) = ½‖w‖² (∇f = w): the closure a step needs. */
function bowl(w: Tensor, opt: { zeroGrad(): void }): Closure {
  return () => {
    opt.zeroGrad();
    const f = mul(sum(mul(w, w)), 0.5);
    f.backward();
    return f;
  };
}

test('Schedule-Free SGD by hand: c₁ = 1 puts y at z, then x is the plain average of z₁, z₂', () => {
  // lr 0.1, β 0.9, f = ½w², w₀ = 1. Step 1: η = 0.1, w₁ = 0.1² = W, c = 1: y = z − 0.1·1 = 0.9, z = 0.9.
  // Step 2 (g = 0.9): c = ½: y = lerp(0.9, 0.9, ½) + 0.1·(0.9·½ − 1)·0.9 = 0.9 − 0.0495 = 0.8505; z = 0.9 − 0.09 = 0.81;
  // x = y + (1 − 1/0.9)(z − y) = 0.8505 + 0.0045 = 0.855 = (0.9 + 0.81)/2.
  const w = new Tensor(new Float64Array([1]), [1], true);
  const opt = new ScheduleFreeSGD([w], { lr: 0.1 });
  const f = bowl(w, opt);
  f();
  opt.step();
  assertClose(w.data, [0.9], 1e-15, 'y₁');
  f();
  opt.step();
  assertClose(w.data, [0.8505], 1e-15, 'y₂');
  assertClose(opt.state.get(w.name ?? '0')!.z as Float64Array, [0.81], 1e-15, 'z₂');
  opt.eval();
  assertClose(w.data, [0.855], 1e-14, 'x₂');
});

test('Schedule-Free AdamW by hand: the first step moves y and z by lr·√(1 − β₂)·g/(√((1 − β₂)g²) + ε) ≈ lr', () => {
  const w = new Tensor(new Float64Array([1]), [1], true);
  const opt = new ScheduleFreeAdamW([w], { lr: 0.1 });
  bowl(w, opt)();
  opt.step();
  const expected = 1 - (0.1 * Math.sqrt(0.001) * 1) / (Math.sqrt(0.001 * 1) + 1e-8);
  assertClose(w.data, [expected], 1e-15, 'y₁');
  assert.ok(Math.abs(expected - 0.9) < 1e-6);
});

test('SAM by hand: the gradient is taken at w + ρg/‖g‖; ASAM scales the ascent by T² = w²', () => {
  // w = (3, 4), ∇f = w, ‖g‖ = 5: ε = 0.05·(3, 4)/5 = (0.03, 0.04); the base SGD (lr 0.1) steps from w with (3.03, 4.04).
  const w = new Tensor(new Float64Array([3, 4]), [2], true);
  const opt = new SAM(new SGD([w], { lr: 0.1 }), { rho: 0.05 });
  const loss = opt.step(bowl(w, opt));
  assert.equal(loss, 12.5, 'step returns the loss at w');
  assertClose(w.data, [3 - 0.1 * 3.03, 4 - 0.1 * 4.04], 1e-15, 'w after SAM');
  assert.equal(opt.evals, 2);
  // ASAM (η = 0): T g = (9, 16), ‖T g‖ = √337, ε = 0.05·(27, 64)/√337.
  const v = new Tensor(new Float64Array([3, 4]), [2], true);
  const a = new SAM(new SGD([v], { lr: 0.1 }), { rho: 0.05, adaptive: true });
  a.step(bowl(v, a));
  const n = Math.sqrt(337);
  assertClose(v.data, [3 - 0.1 * (3 + (0.05 * 27) / n), 4 - 0.1 * (4 + (0.05 * 64) / n)], 1e-15, 'w after ASAM');
});

test('Lookahead by hand: after k fast steps the weights are α·fast + (1 − α)·slow', () => {
  // SGD lr 0.1 on ½w² from 1: fast 0.9, 0.81; k = 2, α = 0.5: 0.5·0.81 + 0.5·1 = 0.905 (fast and slow).
  const w = new Tensor(new Float64Array([1]), [1], true);
  const opt = new Lookahead(new SGD([w], { lr: 0.1 }), { k: 2, alpha: 0.5 });
  const f = bowl(w, opt);
  f();
  opt.step();
  assertClose(w.data, [0.9], 1e-15, 'after one fast step');
  f();
  opt.step();
  assertClose(w.data, [0.905], 1e-15, 'after the synchronisation');
  assertClose(opt.state.get(w.name ?? '0')!.slow as Float64Array, [0.905], 1e-15, 'slow weights');
});

// ---- pitfalls --------------------------------------------------------------------------------
test('Schedule-Free rules: update is pure (inputs untouched) and equals the in-place step', () => {
  for (const [rule, h] of [
    [scheduleFreeSGDRule, { ...scheduleFreeSGDRule.defaults, lr: 0.3, weightDecay: 0.01 }],
    [scheduleFreeAdamWRule, { ...scheduleFreeAdamWRule.defaults, lr: 0.03, weightDecay: 0.01 }],
  ] as const) {
    const p = new Float64Array([0.5, -1, 2]);
    const g = new Float64Array([0.1, 0.2, -0.3]);
    const s = (rule.init as (p: Float64Array, h: unknown) => Record<string, number | Float64Array>)(p, h);
    (rule.apply as (...a: unknown[]) => void)(p.slice(), g, s, h); // one step so the state is not fresh
    const before = { p: p.slice(), g: g.slice(), z: (s.z as Float64Array).slice(), step: s.step };
    const r = pureUpdate(rule as never, p, g, s as never, h as never);
    assert.deepEqual([p, g, s.z, s.step], [before.p, before.g, before.z, before.step], `${rule.name}: inputs untouched`);
    const q = p.slice();
    (rule.apply as (...a: unknown[]) => void)(q, g, s, h);
    assert.deepEqual(r.param, q, `${rule.name}: pure equals in place`);
    assert.notDeepEqual(r.param, p, `${rule.name}: the step moved the parameters`);
  }
});

function mlpRun(
  make: (named: [string, Tensor][]) => AnyOptimizer,
  steps: number,
  from?: { sd: unknown; reorder: boolean; params: Map<string, Float64Array> },
) {
  let named = mlpParams();
  if (from) {
    for (const [n, p] of named) p.data.set(from.params.get(n)!);
    if (from.reorder) named = [...named].reverse();
  }
  const byName = new Map(named);
  const opt = make(named);
  if (from) opt.loadStateDict(JSON.parse(JSON.stringify(from.sd)));
  const closure: Closure = () => {
    opt.zeroGrad();
    const l = mlpLoss(byName);
    l.backward();
    return l;
  };
  for (let t = 0; t < steps; t++) {
    if (closureDriven(opt)) opt.step(closure);
    else {
      closure();
      opt.step();
    }
  }
  return { opt, params: new Map([...byName].map(([n, p]) => [n, (p.data as Float64Array).slice()])) };
}

const MAKERS: [string, (named: [string, Tensor][]) => AnyOptimizer][] = [
  ['Schedule-Free SGD', (n) => new ScheduleFreeSGD(n, { lr: 0.3, warmupSteps: 2 })],
  ['Schedule-Free AdamW', (n) => new ScheduleFreeAdamW(n, { lr: 0.03, weightDecay: 0.01 })],
  ['SAM over SGD+momentum', (n) => new SAM(new SGD(n, { lr: 0.1, momentum: 0.9 }), { rho: 0.1 })],
  ['ASAM over Adam', (n) => new SAM(new Adam(n, { lr: 0.01 }), { rho: 0.5, adaptive: true, eta: 0.01 })],
  ['Lookahead over Adam', (n) => new Lookahead(new Adam(n, { lr: 0.02 }), { k: 3, alpha: 0.5 })],
  ['Lookahead over SAM', (n) => new Lookahead(new SAM(new SGD(n, { lr: 0.1 }), { rho: 0.05 }), { k: 4 })],
];

for (const [name, make] of MAKERS) {
  test(`${name}: state survives a JSON round trip and reordering the parameters (5 + 5 steps = 10 steps)`, () => {
    const whole = mlpRun(make, 10);
    const half = mlpRun(make, 5);
    for (const reorder of [false, true]) {
      const rest = mlpRun(make, 5, { sd: half.opt.stateDict(), reorder, params: half.params });
      for (const [n, v] of whole.params)
        assert.deepEqual(rest.params.get(n), v, `${name}: ${n} after resuming${reorder ? ' reordered' : ''}`);
    }
  });
}

test('lr = 0 leaves the parameters unchanged: Schedule-Free (y and x), SAM (the ascent is undone exactly), Lookahead (α = ½)', () => {
  const makers: [string, (n: [string, Tensor][]) => AnyOptimizer][] = [
    ['Schedule-Free SGD', (n) => new ScheduleFreeSGD(n, { lr: 0 })],
    ['Schedule-Free AdamW', (n) => new ScheduleFreeAdamW(n, { lr: 0, weightDecay: 0.1 })],
    ['SAM', (n) => new SAM(new SGD(n, { lr: 0, momentum: 0.9 }), { rho: 0.3 })],
    ['ASAM', (n) => new SAM(new Adam(n, { lr: 0 }), { rho: 0.5, adaptive: true })],
    ['Lookahead', (n) => new Lookahead(new SGD(n, { lr: 0 }), { k: 2 })],
  ];
  const init = new Map(mlpParams().map(([n, p]) => [n, (p.data as Float64Array).slice()]));
  for (const [name, make] of makers) {
    const { opt, params } = mlpRun(make, 5);
    for (const [n, v] of init) assert.deepEqual(params.get(n), v, `${name}: ${n}`);
    if (hasEvalWeights(opt))
      for (const [p, x] of opt.evalWeights()) assert.deepEqual(x, init.get(opt.nameOf(p)), `${name}: averaged ${opt.nameOf(p)}`);
  }
});

test('Schedule-Free: a step in eval mode is refused; eval() twice is eval() once; evalWeights() in eval mode is the parameters', () => {
  const w = new Tensor(new Float64Array([1, 2]), [2], true);
  const opt = new ScheduleFreeAdamW([w], { lr: 0.1 });
  bowl(w, opt)();
  opt.step();
  bowl(w, opt)();
  opt.step();
  const y = w.data.slice();
  opt.eval();
  const x = w.data.slice();
  assert.notDeepEqual(x, y);
  opt.eval();
  assert.deepEqual(w.data, x, 'a second eval() does not move the parameters again');
  assert.equal(opt.evalWeights().length, 0);
  assert.equal(opt.trainMode, false);
  assert.equal(opt.stateDict().paramGroups[0].trainMode, false, 'the mode is kept in stateDict()');
  bowl(w, opt)();
  assert.throws(
    () => opt.step(),
    /ScheduleFreeAdamW: step\(\) while the parameters hold the averaged \(eval\) weights; call optimizer.train\(\) first/,
  );
  opt.train();
  assertClose(w.data, y, 1e-15, 'train() brings y back');
});

test('invalid options are named, with the expected range', () => {
  const w = (): [string, Tensor][] => [['w', new Tensor(new Float64Array(2), [2], true)]];
  const cases: [() => unknown, RegExp][] = [
    [() => new ScheduleFreeSGD(w(), { momentum: 1 }), /ScheduleFreeSGD: invalid momentum 1; expected in \(0, 1\)/],
    [() => new ScheduleFreeSGD(w(), { warmupSteps: 1.5 }), /ScheduleFreeSGD: invalid warmupSteps 1.5; expected an integer ≥ 0/],
    [() => new ScheduleFreeSGD(w(), { lr: -1 }), /ScheduleFreeSGD: invalid lr -1; expected ≥ 0/],
    [() => new ScheduleFreeAdamW(w(), { betas: [0, 0.999] }), /ScheduleFreeAdamW: invalid betas\[0\] 0; expected in \(0, 1\)/],
    [() => new ScheduleFreeAdamW(w(), { weightLrPower: -2 }), /ScheduleFreeAdamW: invalid weightLrPower -2/],
    [() => new ScheduleFreeAdamW(w(), { warmup: 10 } as never), /warmup.*warmupSteps/],
    [() => new SAM(new SGD(w()), { rho: -0.1 }), /SAM: invalid rho -0.1; expected ≥ 0/],
    [() => new SAM(new SGD(w()), { rh0: 0.1 } as never), /rh0.*rho/],
    [() => new SAM(new SGD(w()), { lr: 0.1 } as never), /SAM.*lr/],
    [() => new SAM(new SGD(w())).step(), /SAM: step\(\) needs a closure/],
    [() => new Lookahead(new SGD(w()), { k: 0 }), /Lookahead: invalid k 0; expected an integer ≥ 1/],
    [() => new Lookahead(new SGD(w()), { alpha: 1.5 }), /Lookahead: invalid alpha 1.5; expected in \(0, 1\]/],
    [() => createOptimizer('sam', w(), { base: 'lbfgs' }), /SAM: invalid base "lbfgs"; expected one of/],
    [() => createOptimizer('lookahead', w(), { base: 'adma' }), /Lookahead: invalid base "adma".*adam/],
    [() => createOptimizer('sam', w(), { base: 'sgd', betas: [0.9, 0.99] }), /SGD.*betas/],
    [() => createOptimizer('schedule-free-adamw', w(), { trainMode: false }), /trainMode/],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

test('the registry builds wrappers over a base by name: options go to the one that reads them', () => {
  const w: [string, Tensor][] = [['w', new Tensor(new Float64Array(2), [2], true)]];
  const s = createOptimizer('sam', w, { base: 'adam', lr: 0.02, rho: 0.1, betas: [0.8, 0.9] }) as SAM;
  assert.ok(s instanceof SAM && s.base instanceof Adam);
  assert.equal(s.lr, 0.02);
  assert.deepEqual(s.base.paramGroups[0].betas, [0.8, 0.9]);
  assert.equal(s.paramGroups[0].rho, 0.1);
  s.setLr(0.5);
  assert.equal(s.base.lr, 0.5, 'setLr drives the base (schedules)');
  const a = createOptimizer('asam', w, {}) as SAM;
  assert.deepEqual([a.paramGroups[0].adaptive, a.paramGroups[0].rho, a.paramGroups[0].eta, a.base.rule.name], [true, 0.5, 0.01, 'SGD']);
  const l = createOptimizer('lookahead', w, { base: 'momentum', lr: 0.1, k: 3 }) as Lookahead;
  assert.deepEqual([l.paramGroups[0].k, l.paramGroups[0].alpha, (l.base.paramGroups[0] as { momentum?: number }).momentum], [3, 0.5, 0.9]);
});
