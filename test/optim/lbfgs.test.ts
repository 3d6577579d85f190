import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  LBFGS,
  ClosureOptimizer,
  fromData,
  mm,
  add,
  crossEntropy,
  sum,
  square,
  mul,
  zeros,
  type Tensor,
  type LBFGSOptions,
  cubicInterpolate,
  strongWolfe,
} from '../../src/index.js';
import { assertClose } from '../helpers.js';
import { trajectory } from '../../src/surfaces/index.js';

// Fixtures made by tools/golden_lbfgs.py with PyTorch 1.13 in float64.
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/lbfgs/${name}.json`, import.meta.url), 'utf8'));

interface TraceEntry {
  loss: number;
  params: number[][];
  funcEvals: number;
  nIter: number;
}

/**
 * Rosenbrock (1−x)² + 100(y−x²)², value and gradient written by hand in the order of operations of
 * PyTorch's autograd on the same expression (a = 1−x, c = y−x²: ∂x = −(2a) + (−(100·2c))·(2x),
 * ∂y = 100·2c), so both sides round alike: L-BFGS amplifies last-bit differences.
 */
function rosenbrockClosure(p: Tensor): () => number {
  return () => {
    const [x, y] = p.data;
    const a = 1 - x;
    const c = y - x * x;
    const gc = 100 * (2 * c);
    p.grad = fromData([-(2 * a) + -gc * (2 * x), gc], [2], { dtype: 'float64' });
    return a * a + 100 * (c * c);
  };
}

const rosen = fixture('rosenbrock');
for (const [name, c] of Object.entries<{ options: Partial<LBFGSOptions>; trace: TraceEntry[] }>(rosen.cases)) {
  test(`LBFGS iterates equal PyTorch's on Rosenbrock from (-1.5, 2): ${name}`, () => {
    const p = fromData(rosen.start, [2], { dtype: 'float64', requiresGrad: true });
    const opt = new LBFGS([['xy', p]], c.options);
    const closure = rosenbrockClosure(p);
    c.trace.forEach((e, k) => {
      const loss = opt.step(closure);
      assertClose(loss, e.loss, 1e-8, `step ${k + 1} loss`);
      assertClose(p.data, e.params[0], 1e-8, `step ${k + 1} iterate`);
      assert.equal(opt.funcEvals, e.funcEvals, `step ${k + 1} funcEvals`);
      assert.equal(opt.nIter, e.nIter, `step ${k + 1} nIter`);
    });
  });
}

// What `descent surface --fn rosenbrock --optimizer lbfgs --line-search strong-wolfe --start -1.5,2
// --steps 50` runs: the surfaces' runner with their own Rosenbrock gradient (rounded differently
// from torch's autograd, hence 1e-8 rather than bit equality).
for (const name of ['wolfe_default', 'wolfe_iter1']) {
  test(`the surfaces' trajectory runner drives LBFGS along PyTorch's iterates: ${name}`, () => {
    const c = rosen.cases[name];
    const tr = trajectory('rosenbrock', { name: 'lbfgs', options: c.options }, { start: [-1.5, 2], steps: 50 });
    assert.equal(tr.trace.length, 51);
    c.trace.forEach((e: TraceEntry, k: number) => assertClose(tr.trace[k + 1].x, e.params[0], 1e-8, `step ${k + 1}`));
    assert.equal(tr.evaluations, c.trace[49].funcEvals, "closure calls counted by the runner equal torch's func_evals");
  });
}

const lr = fixture('logreg');
function logregProblem(): { W: Tensor; b: Tensor; loss: () => Tensor } {
  const [n, k, c] = lr.shape as number[];
  const X = fromData(lr.X, [n, k], { dtype: 'float64' });
  const W = fromData(lr.W0, [c, k], { dtype: 'float64', requiresGrad: true });
  const b = fromData(lr.b0, [c], { dtype: 'float64', requiresGrad: true });
  const loss = () => add(crossEntropy(add(mm(X, W, false, true), b), lr.y), mul(sum(square(W)), lr.l2));
  return { W, b, loss };
}

for (const [name, c] of Object.entries<{ options: Partial<LBFGSOptions>; trace: TraceEntry[] }>(lr.cases)) {
  test(`LBFGS iterates equal PyTorch's on L2-penalised logistic regression (64×20×3): ${name}`, () => {
    const { W, b, loss } = logregProblem();
    const opt = new LBFGS(
      [
        ['weight', W],
        ['bias', b],
      ],
      c.options,
    );
    const closure = () => {
      opt.zeroGrad();
      const l = loss();
      l.backward();
      return l;
    };
    c.trace.forEach((e, k) => {
      const l = opt.step(closure);
      assertClose(l, e.loss, 1e-8, `step ${k + 1} loss`);
      assertClose(W.data, e.params[0], 1e-8, `step ${k + 1} weight`);
      assertClose(b.data, e.params[1], 1e-8, `step ${k + 1} bias`);
      assert.equal(opt.funcEvals, e.funcEvals, `step ${k + 1} funcEvals`);
      assert.equal(opt.nIter, e.nIter, `step ${k + 1} nIter`);
    });
  });
}

test("LBFGS defaults are PyTorch 1.13's, maxEval = ⌊1.25·maxIter⌋", () => {
  const p = zeros([2], { dtype: 'float64', requiresGrad: true });
  const g = new LBFGS([p]).paramGroups[0];
  assert.deepEqual(
    {
      lr: g.lr,
      maxIter: g.maxIter,
      maxEval: g.maxEval,
      toleranceGrad: g.toleranceGrad,
      toleranceChange: g.toleranceChange,
      historySize: g.historySize,
      lineSearchFn: g.lineSearchFn,
    },
    { lr: 1, maxIter: 20, maxEval: 25, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearchFn: null },
  );
  assert.equal(new LBFGS([p], { maxIter: 7 }).paramGroups[0].maxEval, 8);
});

test('LBFGS rejects bad options with a message naming the option', () => {
  const p = zeros([2], { dtype: 'float64', requiresGrad: true });
  assert.throws(() => new LBFGS([p], { lr: -1 }), /LBFGS: invalid lr -1/);
  assert.throws(() => new LBFGS([p], { historySize: 0 }), /LBFGS: invalid historySize 0/);
  assert.throws(() => new LBFGS([p], { lineSearchFn: 'armijo' as never }), /lineSearchFn "armijo"/);
  assert.throws(() => new LBFGS([{ params: [p] }, { params: [zeros([1], { requiresGrad: true })] }]), /parameter groups/);
  assert.throws(() => (new LBFGS([p]).step as () => number)(), /closure/);
  assert.equal(
    new LBFGS([p], { lineSearchFn: 'strong_wolfe' as never }).paramGroups[0].lineSearchFn,
    'strongWolfe',
    "PyTorch's spelling is accepted",
  );
});

test('LBFGS state (history included) survives a JSON round trip: the resumed run equals the uninterrupted one', () => {
  const run = (split: boolean) => {
    const p = fromData([-1.5, 2], [2], { dtype: 'float64', requiresGrad: true });
    let opt = new LBFGS([['xy', p]], { lineSearchFn: 'strongWolfe', maxIter: 1, historySize: 4 });
    for (let k = 0; k < 12; k++) {
      if (split && k === 6) {
        const sd = JSON.parse(JSON.stringify(opt.stateDict()));
        assert.equal(sd.state.xy.historyLength, 4);
        assert.equal(sd.state.xy.oldDirs.length, 8);
        opt = new LBFGS([['xy', p]], { lineSearchFn: 'strongWolfe', maxIter: 1, historySize: 4 });
        opt.loadStateDict(sd);
      }
      opt.step(rosenbrockClosure(p));
    }
    return [Array.from(p.data), opt.funcEvals, opt.nIter];
  };
  assert.deepEqual(run(true), run(false));
});

test('LBFGS returns at once when the gradient is already below toleranceGrad', () => {
  const p = fromData([1, 1], [2], { dtype: 'float64', requiresGrad: true });
  const opt = new LBFGS([p]);
  assert.equal(opt.step(rosenbrockClosure(p)), 0);
  assert.deepEqual(Array.from(p.data), [1, 1]);
  assert.equal(opt.funcEvals, 1);
  assert.equal(opt.nIter, 0);
});

test('cubicInterpolate finds the minimiser of a cubic and falls back to the midpoint', () => {
  // φ(t) = t³ − 3t: φ' = 3t² − 3, local minimiser t = 1; the interpolating cubic is φ itself.
  const f = (t: number) => t ** 3 - 3 * t;
  const g = (t: number) => 3 * t * t - 3;
  assertClose(cubicInterpolate(0, f(0), g(0), 2, f(2), g(2)), 1, 1e-12);
  assertClose(cubicInterpolate(2, f(2), g(2), 0, f(0), g(0)), 1, 1e-12);
  // Clamped to the bounds.
  assertClose(cubicInterpolate(0, f(0), g(0), 2, f(2), g(2), [1.5, 3]), 1.5, 1e-12);
  // d1² < g1·g2 (no real minimiser): midpoint.
  // (0, 0, 1) and (1, 0.5, 1): d1 = 1 + 1 − 3·(0 − 0.5)/(0 − 1) = 0.5, d1² − g1·g2 = −0.75.
  assert.equal(cubicInterpolate(0, 0, 1, 1, 0.5, 1), 0.5);
});

test('strongWolfe returns a step satisfying both strong Wolfe conditions on a quadratic', () => {
  // f(x) = ½·x·A·x with A = diag(1, 10), from x = (1, 1) along d = −∇f.
  const x0 = [1, 1];
  const A = [1, 10];
  const f = (x: number[]) => 0.5 * (A[0] * x[0] * x[0] + A[1] * x[1] * x[1]);
  const gr = (x: number[]) => new Float64Array([A[0] * x[0], A[1] * x[1]]);
  const g0 = gr(x0);
  const d = new Float64Array([-g0[0], -g0[1]]);
  const gtd = -(g0[0] * g0[0] + g0[1] * g0[1]);
  const at = (t: number) => [x0[0] + t * d[0], x0[1] + t * d[1]];
  const r = strongWolfe((t) => ({ f: f(at(t)), g: gr(at(t)) }), 1, d, f(x0), g0, gtd);
  const gNew = gr(at(r.t));
  assert.ok(r.f <= f(x0) + 1e-4 * r.t * gtd, 'sufficient decrease');
  assert.ok(Math.abs(gNew[0] * d[0] + gNew[1] * d[1]) <= -0.9 * gtd, 'curvature');
  assert.ok(r.evals >= 2, 'the first trial (t = 1) overshoots, so the search must have zoomed');
});

test("L-BFGS counts its closure calls as `evaluations` (ClosureOptimizer's counter), which trajectories record as optimizerEvals", () => {
  const tr = trajectory(
    'rosenbrock',
    { name: 'lbfgs', options: { lineSearchFn: 'strongWolfe', maxIter: 3 } },
    { start: [-1.5, 2], steps: 4 },
  );
  const last = tr.trace[tr.trace.length - 1];
  assert.ok(typeof last.optimizerEvals === 'number' && last.optimizerEvals > 4, `optimizerEvals ${last.optimizerEvals}`);
  assert.equal(last.optimizerEvals, tr.evaluations, 'every closure call the runner counted, the optimizer counted');
  const x = fromData(new Float64Array([1, 2]), [2]);
  x.requiresGrad = true;
  const opt = new LBFGS([x], { maxIter: 5 });
  assert.ok(opt instanceof ClosureOptimizer);
  opt.step(() => {
    opt.zeroGrad();
    const l = sum(square(x));
    l.backward();
    return l;
  });
  assert.equal(opt.evaluations, opt.funcEvals);
  assert.ok(opt.evaluations >= 2);
});
