/**
 * Keras/TensorFlow forms offered as named options (no PyTorch fixture exists for them): expected
 * values derived by hand in the comments, as tfjs's optimizer tests do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, fromData } from '../../src/index.js';
import { createOptimizer, type Optimizer, type BaseHyper } from '../../src/optim/index.js';

function setup(
  key: string,
  options: Record<string, unknown>,
  start = 0,
): { p: Tensor; o: Optimizer<BaseHyper>; step: (g: number) => number } {
  const p = fromData(new Float64Array([start]), [1], { requiresGrad: true });
  const o = createOptimizer(key, [['p', p]], options) as Optimizer<BaseHyper>;
  return {
    p,
    o,
    step(g: number) {
      p.grad = fromData(new Float64Array([g]), [1]);
      o.step();
      return p.data[0];
    },
  };
}
const near = (a: number, e: number, tol = 1e-15) => assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `got ${a}, expected ${e}`);

test('SGD lrInsideMomentum: same iterates while lr is constant, different once it changes', () => {
  // μ = 0.9, g = 1. Keras form: v1 = 0.1, θ1 = −0.1; lr → 0.01: v2 = 0.9·0.1 + 0.01·1 = 0.1, θ2 = −0.2.
  // PyTorch form: b1 = 1, θ1 = −0.1; b2 = 0.9·1 + 1 = 1.9, θ2 = −0.1 − 0.01·1.9 = −0.119.
  const k = setup('sgd', { lr: 0.1, momentum: 0.9, lrInsideMomentum: true });
  const t = setup('sgd', { lr: 0.1, momentum: 0.9 });
  near(k.step(1), -0.1);
  near(t.step(1), -0.1);
  k.o.setLr(0.01);
  t.o.setLr(0.01);
  near(k.step(1), -0.2);
  near(t.step(1), -0.119);
  // Constant lr: the two forms agree to rounding over many steps.
  const k2 = setup('sgd', { lr: 0.05, momentum: 0.8, lrInsideMomentum: true });
  const t2 = setup('sgd', { lr: 0.05, momentum: 0.8 });
  for (let i = 0; i < 30; i++) near(k2.step(Math.cos(i) + 0.1 * k2.p.data[0]), t2.step(Math.cos(i) + 0.1 * t2.p.data[0]), 1e-12);
});

test("SGD lrInsideMomentum with Nesterov is Keras's update", () => {
  // Keras: vel ← μ·vel − η·g;  θ ← θ + μ·vel − η·g.  μ = 0.9, g = 1, η = 0.1:
  // vel1 = −0.1, θ1 = 0.9·(−0.1) − 0.1 = −0.19;  η → 0.01: vel2 = −0.09 − 0.01 = −0.1, θ2 = −0.19 − 0.09 − 0.01 = −0.29.
  const k = setup('sgd', { lr: 0.1, momentum: 0.9, nesterov: true, lrInsideMomentum: true });
  near(k.step(1), -0.19);
  k.o.setLr(0.01);
  near(k.step(1), -0.29);
});

test("Adagrad with Keras's initial accumulator 0.1 and tfjs's ε inside the root", () => {
  // g = 1, η = 0.1, ε = 0.25: s = 0.1 + 1 = 1.1.
  // inside:  θ = −0.1/√(1.1 + 0.25) = −0.1/√1.35;   PyTorch (outside): θ = −0.1/(√1.1 + 0.25).
  near(setup('adagrad', { lr: 0.1, initialAccumulatorValue: 0.1, eps: 0.25, epsInsideSqrt: true }).step(1), -0.1 / Math.sqrt(1.35));
  near(setup('adagrad', { lr: 0.1, initialAccumulatorValue: 0.1, eps: 0.25 }).step(1), -0.1 / (Math.sqrt(1.1) + 0.25));
  // Second step, inside: s = 2.1, θ2 = θ1 − 0.1/√2.35.
  const a = setup('adagrad', { lr: 0.1, initialAccumulatorValue: 0.1, eps: 0.25, epsInsideSqrt: true });
  a.step(1);
  near(a.step(1), -0.1 / Math.sqrt(1.35) - 0.1 / Math.sqrt(2.35));
});

test('RMSprop ε inside the root (plain and centered)', () => {
  // g = 2, α = 0.9, ε = 0.1, η = 0.01: v = 0.1·4 = 0.4.
  // plain:    d = √(0.4 + 0.1) = √0.5,                      θ = −0.02/√0.5
  // centered: ḡ = 0.2, v − ḡ² = 0.36, d = √(0.36 + 0.1) = √0.46
  near(setup('rmsprop', { lr: 0.01, alpha: 0.9, eps: 0.1, epsInsideSqrt: true }).step(2), -0.02 / Math.sqrt(0.5));
  near(setup('rmsprop', { lr: 0.01, alpha: 0.9, eps: 0.1, epsInsideSqrt: true, centered: true }).step(2), -0.02 / Math.sqrt(0.46));
  near(setup('rmsprop', { lr: 0.01, alpha: 0.9, eps: 0.1 }).step(2), -0.02 / (Math.sqrt(0.4) + 0.1));
});

test("RMSprop lrInsideMomentum (TensorFlow's momentum form)", () => {
  // g = 2, α = 0.9, ε = 0, μ = 0.9.  Step 1 (η = 0.01): v1 = 0.4, b1 = 0.01·2/√0.4, θ1 = −b1.
  // Step 2 (η = 0.001): v2 = 0.9·0.4 + 0.1·4 = 0.76, b2 = 0.9·b1 + 0.001·2/√0.76, θ2 = θ1 − b2.
  // PyTorch's form keeps η outside: b2' = 0.9·(2/√0.4) + 2/√0.76, θ2' = θ1 − 0.001·b2'.
  const k = setup('rmsprop', { lr: 0.01, alpha: 0.9, eps: 0, momentum: 0.9, lrInsideMomentum: true });
  const b1 = (0.01 * 2) / Math.sqrt(0.4);
  near(k.step(2), -b1);
  k.o.setLr(0.001);
  near(k.step(2), -b1 - (0.9 * b1 + (0.001 * 2) / Math.sqrt(0.76)));
  const t = setup('rmsprop', { lr: 0.01, alpha: 0.9, eps: 0, momentum: 0.9 });
  t.step(2);
  t.o.setLr(0.001);
  near(t.step(2), -b1 - 0.001 * (0.9 * (2 / Math.sqrt(0.4)) + 2 / Math.sqrt(0.76)));
});

test('Adam ε inside the root', () => {
  // g = 0.5, η = 0.1, ε = 0.01: m̂ = 0.5, v̂ = 0.25; θ = 1 − 0.1·0.5/√0.26 (PyTorch: 1 − 0.1·0.5/(0.5 + 0.01)).
  near(setup('adam', { lr: 0.1, eps: 0.01, epsInsideSqrt: true }, 1).step(0.5), 1 - 0.05 / Math.sqrt(0.26));
  near(setup('adam', { lr: 0.1, eps: 0.01 }, 1).step(0.5), 1 - 0.05 / 0.51);
  near(setup('adamw', { lr: 0.1, eps: 0.01, epsInsideSqrt: true, weightDecay: 0 }, 1).step(0.5), 1 - 0.05 / Math.sqrt(0.26));
});

test("NAdam legacyMuProduct: true is PyTorch 1.13, which counts μ_t twice; the default is the paper's (PyTorch 2.0) coefficient", () => {
  // g = 1, η = 0.1, ε = 0, β = (0.9, 0.999), ψ = 4e-3, one step: m = 0.1, v = 0.001, d = √(0.001/0.001) = 1.
  // μ1 = 0.9(1 − ½·0.96^0.004), μ2 = 0.9(1 − ½·0.96^0.008), Π1 = μ1 (rounded to float32, as PyTorch's tensor).
  // θ = −0.1(1 − μ1)/(1 − Π1) − 0.1·μ2/(1 − P)·0.1 with P = Π1·μ2 (paper) or Π1·μ1·μ2 (PyTorch 1.13).
  const f = Math.fround;
  const mu1 = 0.9 * (1 - 0.5 * 0.96 ** 0.004);
  const mu2 = 0.9 * (1 - 0.5 * 0.96 ** 0.008);
  const pi1 = f(mu1);
  const expected = (P: number) => (-0.1 * (1 - mu1)) / (1 - pi1) + ((-0.1 * mu2) / (1 - P)) * 0.1;
  // The default (PyTorch ≥ 2.0) forms Π1·μ2 in double (mu_product.item() * mu_next); 1.13 in float32 tensors.
  near(setup('nadam', { lr: 0.1, eps: 0 }).step(1), expected(pi1 * mu2));
  near(setup('nadam', { lr: 0.1, eps: 0, legacyMuProduct: true }).step(1), expected(f(f(pi1 * f(mu1)) * f(mu2))));
});
