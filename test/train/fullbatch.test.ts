import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fitFullBatch,
  Linear,
  Sequential,
  Tanh,
  SGD,
  LBFGS,
  Newton,
  Rng,
  randn,
  createOptimizer,
  getModel,
  type Module,
  type AnyOptimizer,
} from '../../src/index.js';

// 3 Gaussian blobs in 4 dimensions, float64.
function data(): { x: ReturnType<typeof randn>; y: number[] } {
  const rng = new Rng(5);
  const n = 60;
  const x = randn([n, 4], rng, { dtype: 'float64' });
  const y = Array.from({ length: n }, (_, i) => i % 3);
  for (let i = 0; i < n; i++) x.data[i * 4 + y[i]] += 2;
  return { x, y };
}
const logreg = () => new Sequential(new Linear(4, 3, { dtype: 'float64', rng: new Rng(1) }));
const mlp = () =>
  new Sequential(
    new Linear(4, 6, { dtype: 'float64', rng: new Rng(2) }),
    new Tanh(),
    new Linear(6, 3, { dtype: 'float64', rng: new Rng(3) }),
  );

function run(model: Module, opt: AnyOptimizer, steps: number) {
  const { x, y } = data();
  return fitFullBatch({ model, optimizer: opt, x, y, steps, recordStart: true });
}

test('full-batch GD costs one evaluation per step and lowers the loss', () => {
  const m = logreg();
  const r = run(m, new SGD(m.namedParameters(), { lr: 0.5 }), 20);
  assert.deepEqual(
    r.map((e) => e.evals),
    r.map((_, k) => k),
  );
  assert.ok(r[20].loss < 0.5 * r[0].loss, `${r[0].loss} → ${r[20].loss}`);
});

test('full-batch L-BFGS and Newton (exact and Hessian-free) reach a lower loss than GD with fewer evaluations', () => {
  const gd = (() => {
    const m = mlp();
    return run(m, new SGD(m.namedParameters(), { lr: 0.5 }), 60);
  })();
  const lb = (() => {
    const m = mlp();
    return run(m, new LBFGS(m.namedParameters(), { lineSearchFn: 'strongWolfe', maxIter: 1 }), 20);
  })();
  const ne = (() => {
    const m = mlp();
    return run(m, new Newton(m.namedParameters()), 10);
  })();
  const hf = (() => {
    const m = mlp();
    return run(m, new Newton(m.namedParameters(), { mode: 'hessianFree' }), 10);
  })();
  const last = (r: typeof gd) => r[r.length - 1];
  for (const [name, r] of [
    ['L-BFGS', lb],
    ['Newton', ne],
    ['Newton-HF', hf],
  ] as const) {
    assert.ok(last(r).loss < last(gd).loss, `${name} ${last(r).loss} vs GD ${last(gd).loss}`);
    assert.ok(last(r).evals < last(gd).evals, `${name} used ${last(r).evals} evaluations, GD ${last(gd).evals}`);
    for (let k = 1; k < r.length; k++) assert.ok(r[k].loss <= r[k - 1].loss + 1e-12, `${name} step ${k} rose`);
  }
  assert.equal(ne[10].hvps, 10 * 51, 'exact Newton: one product per parameter per step (51 parameters)');
  assert.ok(hf[10].hvps > 0 && hf[10].hvps < ne[10].hvps);
});

test('the registry builds lbfgs and newton from the CLI spellings', () => {
  const m = logreg();
  const l = createOptimizer('lbfgs', m.namedParameters(), { lineSearchFn: 'strongWolfe', historySize: 10 }) as LBFGS;
  assert.equal(l.paramGroups[0].lineSearchFn, 'strongWolfe');
  assert.equal(l.paramGroups[0].historySize, 10);
  assert.equal((createOptimizer('lbfgs', m.namedParameters(), { lineSearchFn: null }) as LBFGS).paramGroups[0].lineSearchFn, null);
  const n = createOptimizer('newton', m.namedParameters(), { mode: 'hessianFree', lineSearch: 'strongWolfe' }) as Newton;
  assert.equal(n.paramGroups[0].mode, 'hessianFree');
  assert.equal(n.paramGroups[0].lineSearch, 'strongWolfe');
});

test('the logreg model is one Linear layer 784→10', () => {
  const m = getModel('logreg').build({ rng: new Rng(1), inputShape: [1, 28, 28], classes: 10 });
  assert.deepEqual(
    m.namedParameters().map(([n, p]) => [n, [...p.shape]]),
    [
      ['0.weight', [10, 784]],
      ['0.bias', [10]],
    ],
  );
});
