/**
 * The activations beyond ReLU, tanh and sigmoid, as torch.nn.functional has them: leaky_relu,
 * elu, gelu (erf or tanh form), silu and softplus, and torch.erf. Each forward is one backend
 * kernel computing PyTorch's formula (UnaryOp in src/backend/backend.ts); the backward is g·f′(x),
 * f′ a second kernel with PyTorch's gradient formula. f′ is recorded with f″, written in
 * differentiable ops, so gradients of gradients (createGraph: Hessians, Newton's method) are exact
 * too; a plain backward never builds that graph.
 *
 * The scalars take what PyTorch takes (a negative slope or alpha, a negative beta or threshold),
 * except NaN and ±∞, and beta = 0, for which every softplus value is infinite or NaN.
 */
import type { Tensor } from '../tensor/tensor.js';
import { LINEAR_ACTIVATION_DERIV, type SmoothLinearActivation, type UnaryOp } from '../backend/index.js';
import { showValue } from '../util/options.js';
import { record } from './engine.js';
import { add, exp, mul, neg, rawUnary, sigmoid, square, sub, tanh } from './ops.js';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const KAPPA = 0.044715;

/** `v` as a finite number (non-zero with `nonZero`); otherwise an error naming `what` (the op or module) and the argument. */
export function finiteArg(v: unknown, what: string, name: string, nonZero = false): number {
  if (typeof v !== 'number') throw new TypeError(`${what}: invalid ${name} ${showValue(v)}; expected a number`);
  if (!Number.isFinite(v) || (nonZero && v === 0))
    throw new RangeError(`${what}: ${name} must be a finite${nonZero ? ', non-zero' : ''} number, got ${v}`);
  return v;
}

/** GELU's forms: the exact x·Φ(x) ('none') or its tanh approximation. */
export type GeluApproximate = 'none' | 'tanh';

/** `v` as GELU's approximate, or PyTorch's refusal naming `what`. */
export function geluApproximate(v: unknown, what: string): GeluApproximate {
  if (v === 'none' || v === 'tanh') return v;
  throw new RangeError(`${what}: approximate must be 'none' or 'tanh', got ${showValue(v)}`);
}

/**
 * f(x) by the `op` kernel, its backward g·f′(x) by the `deriv` kernel; f′ is recorded with
 * `second(f′)` = f″ (null: f″ = 0, f′ a constant), which createGraph differentiates.
 */
export function activation(
  name: string,
  op: UnaryOp,
  deriv: UnaryOp,
  x: Tensor,
  p: readonly number[],
  second: ((d: Tensor) => Tensor) | null,
): Tensor {
  return record(name, [x], rawUnary(op, x, p), (g) => [derivTimes(g, deriv, x, p, second)]);
}

/** g·f′(x), f′ by the `deriv` kernel and recorded with `second(f′)` = f″ (null: f″ = 0). */
function derivTimes(g: Tensor, deriv: UnaryOp, x: Tensor, p: readonly number[], second: ((d: Tensor) => Tensor) | null): Tensor {
  const d = rawUnary(deriv, x, p);
  return mul(g, second ? record(deriv, [x], d, (gg) => [mul(gg, second(d))]) : d);
}

/** torch.erf; d/dx = 2/√π·e^(−x²). */
export function erf(x: Tensor): Tensor {
  return record('erf', [x], rawUnary('erf', x), (g) => [mul(g, mul(exp(neg(square(x))), TWO_OVER_SQRT_PI))]);
}

/** F.leaky_relu: x > 0 ? x : negativeSlope·x; the gradient at 0 (and at NaN) is negativeSlope, as PyTorch's. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  const s = finiteArg(negativeSlope, 'leakyRelu', 'negativeSlope');
  return activation('leakyRelu', 'leakyRelu', 'leakyReluDeriv', x, [s], null);
}

/**
 * F.elu: x ≤ 0 ? alpha·(eˣ − 1) : x. The gradient is alpha·eˣ for x ≤ 0, from x as PyTorch's
 * non-in-place ELU takes it (equal to out + alpha, without that sum's cancellation far below 0),
 * and NaN at NaN, as PyTorch's vectorised kernel gives it (its scalar one, used for the last few
 * elements of a tensor, gives the output gradient there instead).
 */
export function elu(x: Tensor, alpha = 1): Tensor {
  const a = finiteArg(alpha, 'elu', 'alpha');
  // f″ = alpha·eˣ for x < 0, else 0 (PyTorch's double backward, 0 at x = 0 too): f′ masked by the step of −x
  return activation('elu', 'elu', 'eluDeriv', x, [a], (d) => mul(d, rawUnary('step', rawUnary('neg', x))));
}

/** GELU's f″ = φ(x)·(2 − x²). */
const geluSecond = (x: Tensor) => mul(mul(exp(mul(square(x), -0.5)), INV_SQRT_2PI), sub(2, square(x)));

/** The tanh form's f″: with t = tanh(u), u = k·(x + κx³), (1 − t²)·(u′ − x·t·u′² + ½x·u″). */
function geluTanhSecond(x: Tensor): Tensor {
  const x2 = square(x);
  const t = tanh(mul(add(x, mul(mul(x2, x), KAPPA)), SQRT_2_OVER_PI));
  const du = mul(add(mul(x2, 3 * KAPPA), 1), SQRT_2_OVER_PI);
  const inner = add(sub(du, mul(mul(x, t), square(du))), mul(x2, 3 * KAPPA * SQRT_2_OVER_PI));
  return mul(sub(1, square(t)), inner);
}

/** SiLU's f″ = σ(1 − σ)·(2 + x·(1 − 2σ)). */
function siluSecond(x: Tensor): Tensor {
  const s = sigmoid(x);
  return mul(mul(s, sub(1, s)), add(mul(x, sub(1, mul(s, 2))), 2));
}

/**
 * F.gelu: x·Φ(x), Φ the standard normal's distribution function through erf ('none', the
 * default), or PyTorch's tanh approximation ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))).
 */
export function gelu(x: Tensor, approximate: GeluApproximate = 'none'): Tensor {
  if (geluApproximate(approximate, 'gelu') === 'none') return activation('gelu', 'gelu', 'geluDeriv', x, [], () => geluSecond(x));
  return activation('gelu', 'geluTanh', 'geluTanhDeriv', x, [], () => geluTanhSecond(x));
}

/** F.silu (swish): x·σ(x), as PyTorch computes it: x/(1 + e⁻ˣ). */
export function silu(x: Tensor): Tensor {
  return activation('silu', 'silu', 'siluDeriv', x, [], () => siluSecond(x));
}

/**
 * g·f′(z) for the activations a dense layer fuses (gelu, geluTanh, silu), as their ops' backward
 * computes it, f′ recorded with f″: the `dense` op's composed backward.
 */
export function smoothActivationGrad(act: SmoothLinearActivation, g: Tensor, z: Tensor): Tensor {
  const second = act === 'gelu' ? geluSecond : act === 'geluTanh' ? geluTanhSecond : siluSecond;
  return derivTimes(g, LINEAR_ACTIVATION_DERIV[act], z, [], () => second(z));
}

/**
 * F.softplus: log(1 + e^(beta·x))/beta, and x itself where beta·x > threshold (PyTorch's switch
 * to the linear function, for its numerical stability); the gradient is σ(beta·x), 1 past the
 * threshold.
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const b = finiteArg(beta, 'softplus', 'beta', true);
  const t = finiteArg(threshold, 'softplus', 'threshold');
  // f″ = beta·f′·(1 − f′) where beta·x < threshold, else 0: PyTorch's double backward, whose mask
  // is strict where the forward's is not (at beta·x = threshold, f′ = σ(threshold) but f″ = 0)
  return activation('softplus', 'softplus', 'softplusDeriv', x, [b, t], (d) =>
    mul(mul(mul(d, sub(1, d)), b), rawUnary('step', sub(t, mul(x, b)))),
  );
}
