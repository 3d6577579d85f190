/**
 * Every optimizer against PyTorch 1.13 (fixtures from tools/golden_optim.py): 2-D surface
 * trajectories, a 4-3-2 MLP over 20 steps with parameter groups, final optimizer state, clipping.
 * Tolerance: 1e-9 relative (|a − e| ≤ 1e-9·max(1, |e|)), float64 throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Tensor, fromData, tanh, add, mm, crossEntropy } from '../../src/index.js';
import { createOptimizer, clipGradNorm_, clipGradValue_, type Optimizer, type BaseHyper } from '../../src/optim/index.js';
import { trajectory } from '../../src/surfaces/index.js';
import { assertClose } from '../helpers.js';

/** The fixtures are PyTorch 1.13's: its NAdam is descent's `legacyMuProduct: true` (the default is 2.0's rule, test/optim/nadam.test.ts). */
const as113 = (key: string, options: Record<string, unknown>) => (key === 'nadam' ? { legacyMuProduct: true, ...options } : options);
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/optim/${name}.json`, import.meta.url), 'utf8'));
const TOL = 1e-9;

/** Largest relative error seen, reported so the achieved tolerance is visible in the test log. */
let worst = 0;
function close(a: ArrayLike<number>, e: ArrayLike<number>, what: string): void {
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]) / Math.max(1, Math.abs(e[i])));
  assertClose(a, e, TOL, what);
}

const surf = fixture('surfaces');
const keysCovered = new Map<string, number>();
for (const c of surf.cases) {
  keysCovered.set(c.key, (keysCovered.get(c.key) ?? 0) + 1);
  test(`${c.optimizer} ${JSON.stringify(c.options)} on ${c.problem}: trajectory equals PyTorch's`, () => {
    const r = trajectory(c.problem, c.key, { start: c.start, steps: c.steps, options: as113(c.key, c.options) });
    assert.equal(r.trace.length, c.x.length);
    r.trace.forEach((s, t) => {
      close(s.x, c.x[t], `${c.optimizer} x at t=${t}`);
      close([s.f], [c.f[t]], `${c.optimizer} f at t=${t}`);
    });
  });
}

const mlp = fixture('mlp');
function mlpParams(): [string, Tensor][] {
  return Object.keys(mlp.init).map((n) => {
    const t = fromData(new Float64Array(mlp.init[n]), mlp.shapes[n], { requiresGrad: true });
    t.name = n;
    return [n, t];
  });
}
const X = fromData(new Float64Array(mlp.x), [8, 4]);
function mlpLoss(ps: Map<string, Tensor>): Tensor {
  const h = tanh(add(mm(X, ps.get('0.weight')!, false, true), ps.get('0.bias')!));
  return crossEntropy(add(mm(h, ps.get('2.weight')!, false, true), ps.get('2.bias')!), mlp.y);
}

for (const c of mlp.cases) {
  keysCovered.set(`${c.key}:mlp`, (keysCovered.get(`${c.key}:mlp`) ?? 0) + 1);
  const label = `${c.optimizer} ${JSON.stringify(c.options)}${c.groups ? ` groups ${JSON.stringify(c.groups)}` : ''}`;
  test(`${label} on the MLP: parameters after every step and final state equal PyTorch's`, () => {
    const named = mlpParams();
    const byName = new Map(named);
    const input = c.groups
      ? c.groups.map((g: { params: string[] }) => ({ ...g, params: g.params.map((n) => [n, byName.get(n)!] as [string, Tensor]) }))
      : named;
    const opt = createOptimizer(c.key, input, as113(c.key, c.options)) as Optimizer<BaseHyper>;
    for (let t = 0; t < c.steps; t++) {
      opt.zeroGrad();
      const loss = mlpLoss(byName);
      loss.backward();
      close([loss.item()], [c.loss[t]], `${label} loss before step ${t + 1}`);
      opt.step();
      for (const [n, p] of named) close(p.data, c.params[t][n], `${label} ${n} after step ${t + 1}`);
    }
    const sd = opt.stateDict();
    for (const [n, e] of Object.entries(c.state as Record<string, Record<string, number | number[]>>)) {
      for (const [k, v] of Object.entries(e)) {
        const mine = sd.state[n][k];
        assert.ok(mine !== undefined, `${label}: state "${n}".${k} missing (have ${Object.keys(sd.state[n])})`);
        close(typeof mine === 'number' ? [mine] : mine, typeof v === 'number' ? [v] : v, `${label} state ${n}.${k}`);
      }
    }
  });
}

test('every optimizer has at least two PyTorch settings on a surface and on the MLP', () => {
  for (const key of ['sgd', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'adamw', 'adamax', 'nadam', 'radam', 'lion']) {
    assert.ok((keysCovered.get(key) ?? 0) >= 2, `${key}: ${keysCovered.get(key)} surface cases`);
    assert.ok((keysCovered.get(`${key}:mlp`) ?? 0) >= 2, `${key}: ${keysCovered.get(`${key}:mlp`)} MLP cases`);
  }
});

test('clipGradNorm_ / clipGradValue_ equal torch.nn.utils', () => {
  const clip = fixture('clip');
  for (const c of clip.cases) {
    const ps = clip.grads.map((g: number[], i: number) => {
      const p = fromData(new Float64Array(g.length), clip.shapes[i], { requiresGrad: true });
      p.grad = fromData(new Float64Array(g), clip.shapes[i]);
      return p;
    });
    if (c.kind === 'norm') {
      const total = clipGradNorm_(ps, c.arg, c.normType === 'inf' ? Infinity : c.normType);
      close([total], [c.total], `clip norm ${c.normType} total`);
    } else clipGradValue_(ps, c.arg);
    ps.forEach((p: Tensor, i: number) => close(p.grad!.data, c.grads[i], `clip ${c.kind} ${c.arg} grad ${i}`));
  }
});

test('achieved tolerance (largest relative error over all golden comparisons)', () => {
  console.log(`optim golden: largest relative error ${worst.toExponential(2)} (tolerance ${TOL})`);
  assert.ok(worst <= TOL);
});
