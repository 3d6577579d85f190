/**
 * NAdam's default is PyTorch ≥ 2.0's rule (the paper's μ product), checked against
 * test/fixtures/optim/nadam2.json: the 2.0 single-tensor rule written out with torch ops by
 * tools/golden_nadam2.py (which first checks its 1.13 variant equals the installed torch.optim.NAdam).
 * PyTorch 1.13's rule (legacyMuProduct: true) is checked by golden.test.ts against the 1.13 fixtures.
 * Tolerance 1e-9 relative, float64.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Tensor, fromData, tanh, add, mm, crossEntropy } from '../../src/index.js';
import { createOptimizer, NAdam, type Optimizer, type BaseHyper } from '../../src/optim/index.js';
import { trajectory } from '../../src/surfaces/index.js';
import { assertClose } from '../helpers.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/optim/${name}.json`, import.meta.url), 'utf8'));
const golden = load('nadam2');
const mlp = load('mlp'); // the 4-3-2 MLP's data and initial weights (tools/golden_optim.py)
const TOL = 1e-9;

for (const c of golden.surfaces) {
  test(`NAdam default ${JSON.stringify(c.options)} on ${c.problem}: trajectory equals PyTorch 2.0's rule`, () => {
    const r = trajectory(c.problem, 'nadam', { start: c.start, steps: c.steps, options: c.options });
    assert.equal(r.trace.length, c.x.length);
    r.trace.forEach((s, t) => assertClose(s.x, c.x[t], TOL, `x at t=${t}`));
  });
}

const X = fromData(new Float64Array(mlp.x), [8, 4]);
function runMlp(
  options: Record<string, unknown>,
  steps: number,
  onStep: (t: number, loss: number, ps: [string, Tensor][]) => void,
): Optimizer<BaseHyper> {
  const named: [string, Tensor][] = Object.keys(mlp.init).map((n) => {
    const t = fromData(new Float64Array(mlp.init[n]), mlp.shapes[n], { requiresGrad: true });
    t.name = n;
    return [n, t];
  });
  const ps = new Map(named);
  const opt = createOptimizer('nadam', named, options) as Optimizer<BaseHyper>;
  for (let t = 0; t < steps; t++) {
    opt.zeroGrad();
    const h = tanh(add(mm(X, ps.get('0.weight')!, false, true), ps.get('0.bias')!));
    const loss = crossEntropy(add(mm(h, ps.get('2.weight')!, false, true), ps.get('2.bias')!), mlp.y);
    loss.backward();
    onStep(t, loss.item(), named);
    opt.step();
  }
  return opt;
}

for (const c of golden.mlp) {
  test(`NAdam default ${JSON.stringify(c.options)} on the MLP: loss before every step, final parameters and state equal PyTorch 2.0's rule`, () => {
    const opt = runMlp(c.options, c.steps, (t, loss) => assertClose([loss], [c.loss[t]], TOL, `loss before step ${t + 1}`));
    // parameters after the last step and the whole final state
    for (const [n, e] of Object.entries(c.state as Record<string, Record<string, number | number[]>>)) {
      const mine = opt.stateDict().state[n];
      for (const [k, v] of Object.entries(e))
        assertClose(
          typeof mine[k] === 'number' ? [mine[k] as number] : (mine[k] as number[]),
          typeof v === 'number' ? [v] : v,
          TOL,
          `state ${n}.${k}`,
        );
    }
    const last = c.params[c.steps - 1];
    for (const [n, p] of opt.paramGroups[0].params.map((p) => [p.name, p] as const))
      assertClose(p.data, last[n!], TOL, `${n} after step ${c.steps}`);
  });
}

test("NAdam: the default is not 1.13's rule — legacyMuProduct: true leaves PyTorch 2.0's trajectory by far more than the tolerance", () => {
  const c = golden.mlp[0];
  const opt = runMlp({ ...c.options, legacyMuProduct: true }, c.steps, () => {});
  const w = opt.paramGroups[0].params.find((p) => p.name === '0.weight')!;
  const e: number[] = c.params[c.steps - 1]['0.weight'];
  const worst = Math.max(...e.map((v, i) => Math.abs(w.data[i] - v) / Math.max(1, Math.abs(v))));
  assert.ok(worst > 1e-6, `legacy and 2.0 rules differ by only ${worst}`);
  assert.equal(new NAdam([['p', fromData(new Float64Array(1), [1], { requiresGrad: true })]]).paramGroups[0].legacyMuProduct, false);
});

test('NAdam by hand, two steps of the default (paper / PyTorch 2.0) rule', () => {
  // θ0 = 0, g = 1 each step, η = 0.1, ε = 0, β = (0.9, 0.999), ψ = 4e-3.
  // μ_t = 0.9(1 − ½·0.96^(0.004 t)); Π_1 = f32(μ1), Π_2 = f32(Π_1·f32(μ2)) (PyTorch's float32 scalar).
  // m1 = 0.1, v1 = 0.001, d1 = √(v1/(1 − 0.999)) = 1;  m2 = 0.19, v2 = 0.001999, d2 = √(v2/(1 − 0.999²)) = 1.
  // θ1 = −0.1(1 − μ1)/(1 − Π1) − 0.1·μ2/(1 − Π1·μ2)·m1
  // θ2 = θ1 − 0.1(1 − μ2)/(1 − Π2) − 0.1·μ3/(1 − Π2·μ3)·m2   (Π·μ_next in double, as 2.0's .item())
  const f = Math.fround;
  const mu = (t: number) => 0.9 * (1 - 0.5 * 0.96 ** (t * 0.004));
  const pi1 = f(mu(1));
  const pi2 = f(pi1 * f(mu(2)));
  const d2 = Math.sqrt(0.001999 / (1 - 0.999 ** 2));
  const th1 = (-0.1 * (1 - mu(1))) / (1 - pi1) + ((-0.1 * mu(2)) / (1 - pi1 * mu(2))) * 0.1;
  const th2 = th1 + (-0.1 * (1 - mu(2))) / (1 - pi2) / d2 + (((-0.1 * mu(3)) / (1 - pi2 * mu(3))) * 0.19) / d2;
  const p = fromData(new Float64Array([0]), [1], { requiresGrad: true });
  const o = new NAdam([['p', p]], { lr: 0.1, eps: 0 });
  const got: number[] = [];
  for (let t = 0; t < 2; t++) {
    p.grad = fromData(new Float64Array([1]), [1]);
    o.step();
    got.push(p.data[0]);
  }
  assertClose(got, [th1, th2], 1e-14, 'θ after steps 1 and 2');
});
