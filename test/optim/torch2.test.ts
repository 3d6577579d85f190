/**
 * PyTorch 2's optimizers against torch 2.6 (fixtures from tools/golden_torch2_optim.py): Adafactor,
 * Rprop, ASGD, and NAdam's and RAdam's decoupledWeightDecay and maximize. 2-D surface
 * trajectories, the 4-3-2 MLP over 20 steps with its final state, and Adafactor on a [2, 3, 4]
 * tensor (factored over its last two dimensions). Tolerance: 1e-9 relative, float64 throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Tensor, fromData, tanh, add, mm, crossEntropy } from '../../src/index.js';
import { createOptimizer, Adafactor, type Optimizer, type BaseHyper } from '../../src/optim/index.js';
import { trajectory } from '../../src/surfaces/index.js';
import { assertClose } from '../helpers.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/optim/${name}.json`, import.meta.url), 'utf8'));
const golden = fixture('torch2');
const mlp = fixture('mlp'); // the MLP's data and initial weights (tools/golden_optim.py)
const TOL = 1e-9;

const covered = new Map<string, number>();
const count = (k: string) => covered.set(k, (covered.get(k) ?? 0) + 1);

for (const c of golden.surfaces) {
  count(c.key);
  test(`${c.optimizer} ${JSON.stringify(c.options)} on ${c.problem}: trajectory equals torch ${golden.torch}`, () => {
    const r = trajectory(c.problem, c.key, { start: c.start, steps: c.steps, options: c.options });
    assert.equal(r.trace.length, c.x.length);
    r.trace.forEach((s, t) => {
      assertClose(s.x, c.x[t], TOL, `x at t=${t}`);
      assertClose([s.f], [c.f[t]], TOL, `f at t=${t}`);
    });
  });
}

const X = fromData(new Float64Array(mlp.x), [8, 4]);
function mlpParams(): [string, Tensor][] {
  return Object.keys(mlp.init).map((n) => {
    const t = fromData(new Float64Array(mlp.init[n]), mlp.shapes[n], { requiresGrad: true });
    t.name = n;
    return [n, t];
  });
}

for (const c of golden.mlp) {
  count(`${c.key}:mlp`);
  const label = `${c.optimizer} ${JSON.stringify(c.options)}`;
  test(`${label} on the MLP: loss, parameters after every step and final state equal torch ${golden.torch}`, () => {
    const named = mlpParams();
    const ps = new Map(named);
    const opt = createOptimizer(c.key, named, c.options) as Optimizer<BaseHyper>;
    for (let t = 0; t < c.steps; t++) {
      opt.zeroGrad();
      const h = tanh(add(mm(X, ps.get('0.weight')!, false, true), ps.get('0.bias')!));
      const loss = crossEntropy(add(mm(h, ps.get('2.weight')!, false, true), ps.get('2.bias')!), mlp.y);
      loss.backward();
      assertClose([loss.item()], [c.loss[t]], TOL, `${label} loss before step ${t + 1}`);
      opt.step();
      for (const [n, p] of named) assertClose(p.data, c.params[t][n], TOL, `${label} ${n} after step ${t + 1}`);
    }
    const sd = opt.stateDict();
    for (const [n, e] of Object.entries(c.state as Record<string, Record<string, number | number[]>>)) {
      assert.deepEqual(Object.keys(sd.state[n]).sort(), Object.keys(e).sort(), `${label}: state keys of ${n}`);
      for (const [k, v] of Object.entries(e)) {
        const mine = sd.state[n][k];
        assertClose(typeof mine === 'number' ? [mine] : mine, typeof v === 'number' ? [v] : v, TOL, `${label} state ${n}.${k}`);
      }
    }
  });
}

for (const c of golden.tensor3) {
  test(`Adafactor ${JSON.stringify(c.options)} on a [2, 3, 4] tensor: factored over the last two dimensions, equals torch ${golden.torch}`, () => {
    const w = fromData(new Float64Array(c.init), c.shape, { requiresGrad: true });
    const opt = new Adafactor([['w', w]], c.options);
    for (let t = 0; t < c.steps; t++) {
      const g = new Float64Array(w.size);
      for (let i = 0; i < g.length; i++) g[i] = c.c[i] * Math.cos(w.data[i]) + c.d[i] * w.data[i];
      w.grad = fromData(g, c.shape);
      opt.step();
      assertClose(w.data, c.params[t], TOL, `w after step ${t + 1}`);
    }
    const s = opt.stateDict().state.w;
    assert.equal((s.rowVar as number[]).length, 6, 'rowVar: one value per row of each of the 2 matrices');
    assert.equal((s.colVar as number[]).length, 8, 'colVar: one value per column of each of the 2 matrices');
    for (const [k, v] of Object.entries(c.state as Record<string, number | number[]>)) {
      assertClose(typeof s[k] === 'number' ? [s[k] as number] : (s[k] as number[]), typeof v === 'number' ? [v] : v, TOL, `state ${k}`);
    }
  });
}

test('every PyTorch 2 optimizer and option has at least two cases on the surfaces and on the MLP', () => {
  for (const key of ['adafactor', 'rprop', 'asgd', 'nadam', 'radam']) {
    assert.ok((covered.get(key) ?? 0) >= 2, `${key}: ${covered.get(key)} surface cases`);
    assert.ok((covered.get(`${key}:mlp`) ?? 0) >= 2, `${key}: ${covered.get(`${key}:mlp`)} MLP cases`);
  }
  const opts = golden.mlp
    .map((c: { key: string; options: Record<string, unknown> }) => `${c.key}:${Object.keys(c.options).sort()}`)
    .join(' ');
  for (const k of ['nadam', 'radam']) {
    assert.match(opts, new RegExp(`${k}:[^ ]*decoupledWeightDecay`), `${k} decoupledWeightDecay`);
    assert.match(opts, new RegExp(`${k}:[^ ]*maximize`), `${k} maximize`);
  }
});
