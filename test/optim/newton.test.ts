import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Newton,
  Curvature,
  hessian,
  cholesky,
  choleskySolve,
  fromData,
  mm,
  add,
  sub,
  mul,
  sum,
  square,
  tanh,
  pow,
  reshape,
  grad,
  type Tensor,
  type NewtonOptions,
} from '../../src/index.js';
import { assertClose, randT } from '../helpers.js';

const f64 = (v: number[], shape = [v.length]) => fromData(v, shape, { dtype: 'float64', requiresGrad: true });

// ---------------------------------------------------------------- a quadratic

// J(θ) = ½θᵀAθ − bᵀθ with A symmetric positive definite; the minimiser is A⁻¹b.
const A = [4, 1, 0, 0.5, 1, 3, 0.2, 0, 0, 0.2, 2, 0.1, 0.5, 0, 0.1, 1];
const b = [1, -2, 0.5, 3];
// A⁻¹b, solved exactly once by hand-independent means: check A·θ* = b below instead of hard-coding.
function quadratic(theta: Tensor): Tensor {
  const At = fromData(A, [4, 4], { dtype: 'float64' });
  const bt = fromData(b, [4], { dtype: 'float64' });
  const Ath = reshape(mm(At, reshape(theta, [4, 1])), [4]);
  return sub(mul(sum(mul(theta, Ath)), 0.5), sum(mul(bt, theta)));
}
const residual = (th: ArrayLike<number>) => [0, 1, 2, 3].map((i) => A.slice(i * 4, i * 4 + 4).reduce((s, a, j) => s + a * th[j], 0) - b[i]);

for (const mode of ['exact', 'hessianFree'] as const) {
  test(`Newton (${mode}) minimises a quadratic in one step`, () => {
    const theta = f64([3, -1, 2, 0.5]);
    const opt = new Newton([['theta', theta]], { mode, cgTol: 1e-12 });
    opt.step(() => quadratic(theta));
    assertClose(residual(theta.data), [0, 0, 0, 0], 1e-12, 'A·θ − b after one step');
    const info = opt.trace[0];
    assert.equal(info.t, 1, 'the full Newton step is accepted');
    assert.equal(info.funcEvals, 2, 'one evaluation at θ, one Armijo trial');
    assert.equal(info.hvpEvals, 4, 'exact: one product per column; CG: n products at most');
    assert.equal(opt.hessEvals, mode === 'exact' ? 1 : 0);
  });
}

// ---------------------------------------------------------------- Rosenbrock

/** (1 − x)² + 100(y − x²)² through the autograd, so Newton differentiates it twice. */
function rosenbrock(p: Tensor): Tensor {
  const x = mul(p, fromData([1, 0], [2], { dtype: 'float64' }));
  const y = mul(p, fromData([0, 1], [2], { dtype: 'float64' }));
  const xs = sum(x);
  const ys = sum(y);
  return add(square(sub(1, xs)), mul(square(sub(ys, square(xs))), 100));
}

test('Newton reaches the Rosenbrock minimum (1, 1) to 1e-10 within 30 steps from (-1.5, 2), converging quadratically', () => {
  const p = f64([-1.5, 2]);
  const opt = new Newton([['xy', p]]);
  const errors: number[] = [];
  for (let k = 0; k < 30; k++) {
    opt.step(() => rosenbrock(p));
    errors.push(Math.hypot(p.data[0] - 1, p.data[1] - 1));
    if (errors[k] < 1e-13) break;
  }
  const last = errors[errors.length - 1];
  assert.ok(last <= 1e-10, `distance to (1, 1) after ${errors.length} steps is ${last}`);
  // Near the minimum the error squares: e(k+1) ≤ C·e(k)² with a modest C, and the number of correct
  // digits at least doubles less a constant — linear or superlinear-but-slow convergence fails this.
  const near = errors.map((e, k) => [e, errors[k + 1]]).filter(([e, next]) => e < 1e-2 && next !== undefined && next > 1e-15);
  assert.ok(
    near.length >= 2,
    `expected at least two steps inside the quadratic region, errors ${errors.map((e) => e.toExponential(1)).join(' ')}`,
  );
  for (const [e, next] of near) assert.ok(next <= 50 * e * e, `e = ${e}, next = ${next}: not quadratic`);
  // Every step went downhill.
  for (let k = 1; k < opt.trace.length; k++) assert.ok(opt.trace[k].loss <= opt.trace[k - 1].loss);
});

test('Newton with an explicit hessian callback (how the surfaces drive it) takes the same steps as with the autograd Hessian', () => {
  const run = (explicit: boolean) => {
    const p = f64([-1.5, 2]);
    const opt = explicit
      ? new Newton([['xy', p]], {
          hessian: () => {
            const [x, y] = p.data;
            return [2 - 400 * y + 1200 * x * x, -400 * x, -400 * x, 200];
          },
        })
      : new Newton([['xy', p]]);
    const closure = explicit
      ? () => {
          const [x, y] = p.data;
          p.grad = fromData([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)], [2], { dtype: 'float64' });
          return (1 - x) ** 2 + 100 * (y - x * x) ** 2;
        }
      : () => rosenbrock(p);
    const xs: number[][] = [];
    for (let k = 0; k < 12; k++) {
      opt.step(closure);
      xs.push(Array.from(p.data));
    }
    return xs;
  };
  const a = run(true);
  const b2 = run(false);
  a.forEach((x, k) => assertClose(x, b2[k], 1e-9, `step ${k + 1}`));
});

// ---------------------------------------------------------------- saddles

// J = x² − y² + y⁴/4: a saddle at 0, minima at (0, ±√2). Undamped Newton jumps to the nearest
// critical point, which from (0.05, 0.1) is the saddle, uphill (J rises from −0.0074 to 0).
const saddleJ = (p: Tensor) => {
  const x = sum(mul(p, fromData([1, 0], [2], { dtype: 'float64' })));
  const y = sum(mul(p, fromData([0, 1], [2], { dtype: 'float64' })));
  return add(sub(square(x), square(y)), mul(pow(y, 4), 0.25));
};
const saddleValue = (x: number, y: number) => x * x - y * y + y ** 4 / 4;

test('undamped Newton would step uphill at the saddle (the hazard the damping exists for)', () => {
  // The pure Newton step −H⁻¹g from (0.05, 0.1): H = diag(2, −2 + 3y²), g = (2x, −2y + y³).
  const [x, y] = [0.05, 0.1];
  const nx = x - (2 * x) / 2;
  const ny = y - (-2 * y + y ** 3) / (-2 + 3 * y * y);
  assert.ok(saddleValue(nx, ny) > saddleValue(x, y));
});

const saddleConfigs: [string, Partial<NewtonOptions>][] = [
  ['exact, Armijo', {}],
  ['exact, strong Wolfe', { lineSearch: 'strongWolfe' }],
  ['exact, no line search (Levenberg–Marquardt)', { lineSearch: null }],
  ['Hessian-free, Armijo', { mode: 'hessianFree' }],
  ['Hessian-free, no line search', { mode: 'hessianFree', lineSearch: null }],
];
for (const [label, opts] of saddleConfigs) {
  test(`damped Newton never steps uphill near a saddle and escapes it to a minimum: ${label}`, () => {
    for (const start of [
      [0.05, 0.1],
      [1e-3, 1e-3],
      [-0.3, -0.01],
      [0.5, 1e-6],
      [0, 0.2],
    ]) {
      const p = f64(start);
      const opt = new Newton([['xy', p]], opts);
      let prev = saddleValue(start[0], start[1]);
      // Levenberg–Marquardt without a line search crawls off the saddle (λ keeps the steps short), hence 60.
      for (let k = 0; k < 60; k++) {
        opt.step(() => saddleJ(p));
        const now = saddleValue(p.data[0], p.data[1]);
        assert.ok(now <= prev, `from ${start}: step ${k + 1} went uphill (${prev} → ${now})`);
        prev = now;
      }
      assertClose([Math.abs(p.data[0]), Math.abs(p.data[1])], [0, Math.SQRT2], 1e-6, `end point from ${start}`);
    }
  });
}

// ---------------------------------------------------------------- Hessians and products

/** A tiny tanh MLP's loss, 2→3→1, float64; parameters W1 [3,2], b1 [3], W2 [1,3]. */
function mlpLoss(W1: Tensor, b1: Tensor, W2: Tensor): Tensor {
  const X = fromData([0.5, -1, 1.5, 0.2, -0.7, 0.9, 0.1, 0.3], [4, 2], { dtype: 'float64' });
  const Y = fromData([1, -0.5, 0.25, 0], [4, 1], { dtype: 'float64' });
  const h = tanh(add(mm(X, W1, false, true), b1));
  return sum(square(sub(mm(h, W2, false, true), Y)));
}

test('Hessian-vector products agree with the explicit Hessian, which agrees with central differences of the gradient', () => {
  const W1 = randT([3, 2], 3);
  const b1 = randT([3], 5);
  const W2 = randT([1, 3], 7);
  const params = [W1, b1, W2];
  const n = 12;
  const H = hessian(mlpLoss(W1, b1, W2), params);
  // Symmetric.
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assertClose(H[i * n + j], H[j * n + i], 1e-12, `H[${i},${j}] vs H[${j},${i}]`);
  // Products with random vectors equal H·v.
  const c = new Curvature(mlpLoss(W1, b1, W2), params);
  for (const seed of [11, 12, 13]) {
    const v = randT([n], seed).data;
    const Hv = c.hvp(v);
    const expected = Array.from({ length: n }, (_, i) => H.slice(i * n, (i + 1) * n).reduce((s, h, j) => s + h * v[j], 0));
    assertClose(Hv, expected, 1e-12, `H·v (seed ${seed})`);
  }
  assert.equal(c.hvpCount, 3);
  // Columns equal central differences of the gradient.
  const flatGrad = () => grad(mlpLoss(W1, b1, W2), params).flatMap((g) => Array.from(g!.data));
  const eps = 1e-6;
  let j = 0;
  for (const p of params) {
    for (let i = 0; i < p.size; i++, j++) {
      const old = p.data[i];
      p.data[i] = old + eps;
      const gp = flatGrad();
      p.data[i] = old - eps;
      const gm = flatGrad();
      p.data[i] = old;
      const col = gp.map((v, k) => (v - gm[k]) / (2 * eps));
      assertClose(
        Array.from({ length: n }, (_, k) => H[k * n + j]),
        col,
        1e-6,
        `Hessian column ${j}`,
      );
    }
  }
});

test('cholesky solves a positive definite system and refuses an indefinite one', () => {
  const M = Float64Array.from(A);
  assert.equal(cholesky(M, 4), true);
  assertClose(residual(choleskySolve(M, 4, b)), [0, 0, 0, 0], 1e-13);
  assert.equal(cholesky(Float64Array.from([1, 2, 2, 1]), 2), false);
});

test('Newton rejects bad options and closures with messages naming them', () => {
  const p = f64([1, 2]);
  assert.throws(() => new Newton([p], { damping: -1 }), /Newton: invalid damping -1/);
  assert.throws(() => new Newton([p], { mode: 'bfgs' as never }), /Newton: invalid mode "bfgs"/);
  assert.throws(() => new Newton([p], { lineSearch: 'wolfe' as never }), /lineSearch/);
  assert.throws(() => new Newton([p]).step(() => 3), /Tensor that depends on the parameters/);
  assert.throws(() => (new Newton([p]).step as () => number)(), /closure/);
});

test('Newton counts its evaluations and its state round-trips through JSON', () => {
  const p = f64([-1.5, 2]);
  const opt = new Newton([['xy', p]]);
  for (let k = 0; k < 3; k++) opt.step(() => rosenbrock(p));
  const t = opt.trace;
  assert.equal(
    opt.funcEvals,
    t.reduce((s, r) => s + r.funcEvals, 0),
  );
  assert.equal(opt.hvpEvals, 3 * 2, 'two products per 2×2 Hessian');
  assert.equal(opt.hessEvals, 3);
  assert.equal(opt.evaluations, opt.funcEvals + opt.hvpEvals);
  const sd = JSON.parse(JSON.stringify(opt.stateDict()));
  const again = new Newton([['xy', p]]);
  again.loadStateDict(sd);
  assert.deepEqual([again.nIter, again.funcEvals, again.hvpEvals], [3, opt.funcEvals, 6]);
});
