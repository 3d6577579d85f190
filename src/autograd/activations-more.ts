/**
 * The activations of MobileNetV3, YOLOv4, self-normalising nets and PReLU ResNets, as
 * torch.nn.functional has them: hardtanh, relu6, hardsigmoid, hardswish, mish, selu and prelu.
 * Each but prelu is one backend kernel forward and one for f′ backward (UnaryOp in
 * src/backend/backend.ts), as silu is; prelu is composed of the backends' existing kernels; so
 * everything runs wherever its operand lives, a WebGPU device included.
 *
 * The gradients at the kinks are PyTorch's, not what a composition would give: hardtanh's and
 * hardsigmoid's is 0 on the boundaries (the open interval passes it), hardswish's is x/3 + ½ on
 * [−3, 3) (so −½ at −3), 0 below and 1 from 3 on. Each f′ is recorded with f″ (0, or hardswish's
 * 1/3 on the open interval, PyTorch's double backward; Mish's and SELU's smooth ones), so
 * createGraph differentiates them again.
 */
import { full, type Tensor } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { add, div, mul, rawBinary, rawUnary, reshape, sigmoid, square, sub, tanh } from './ops.js';
import { activation, finiteArg, softplus } from './activations.js';

/** SELU's α and λ (Klambauer et al. 2017): PyTorch's 1.6732632423543772848… and 1.0507009873554804934…, rounded to float64. */
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;

/** A 0/1 tensor of x > c (op 'gt') or x < c (op 'lt'), where x lives; NaN gives 0. */
function side(op: 'gt' | 'lt', x: Tensor, c: number): Tensor {
  return rawBinary(op, x, scalarLike(x, c), op);
}

/** The scalar c as a 0-D host tensor of x's dtype (the kernels upload it where x lives on a device). */
function scalarLike(x: Tensor, c: number): Tensor {
  return full([], c, { dtype: x.dtype });
}

/** 1 where lo < x < hi, else 0 (NaN: 0): the open interval a piecewise-linear activation's gradient passes. */
function inside(x: Tensor, lo: number, hi: number): Tensor {
  return mul(side('gt', x, lo), side('lt', x, hi));
}

/**
 * F.hardtanh: x clipped to [min, max]. The gradient is g strictly inside (min, max) and 0 on and
 * past the bounds (PyTorch's hardtanh_backward).
 */
export function hardtanh(x: Tensor, min = -1, max = 1): Tensor {
  const lo = finiteArg(min, 'hardtanh', 'min'),
    hi = finiteArg(max, 'hardtanh', 'max');
  if (lo > hi) throw new RangeError(`hardtanh: min (${lo}) must be ≤ max (${hi})`);
  return activation('hardtanh', 'hardtanh', 'hardtanhDeriv', x, [lo, hi], null);
}

/** F.relu6: min(max(x, 0), 6), hardtanh(x, 0, 6), so its gradient is 0 at 0 and at 6 as PyTorch's. */
export function relu6(x: Tensor): Tensor {
  return hardtanh(x, 0, 6);
}

/**
 * F.hardsigmoid: min(max(x + 3, 0), 6)/6, PyTorch's formula in its order of operations; the
 * gradient is g·⅙ strictly inside (−3, 3), else 0, with ⅙ rounded to float32 in every dtype, as
 * PyTorch's kernel writes it (1.0f / 6.0f). f′ is piecewise constant: f″ = 0.
 */
export function hardsigmoid(x: Tensor): Tensor {
  return activation('hardsigmoid', 'hardsigmoid', 'hardsigmoidDeriv', x, [], null);
}

/**
 * F.hardswish: x·min(max(x + 3, 0), 6)/6 (MobileNetV3's h-swish). The gradient is PyTorch's
 * hardswish_backward as its vectorised kernel computes it, the one every element of a tensor but
 * the last few takes: 0 for x < −3, x/3 + ½ for −3 ≤ x < 3, 1 for x ≥ 3 (its scalar kernel, for
 * the tail, gives 1½ at exactly 3); f″ is 1/3 strictly inside (−3, 3), else 0.
 */
export function hardswish(x: Tensor): Tensor {
  return activation('hardswish', 'hardswish', 'hardswishDeriv', x, [], () => div(inside(x, -3, 3), 3));
}

/**
 * Mish's f″ from f′'s form t + x·σ·(1 − t²), t = tanh(softplus(x)), t′ = σ·(1 − t²):
 * (1 − t²)·σ·(2 + x·(1 − σ) − 2x·σ·t).
 */
function mishSecond(x: Tensor): Tensor {
  const s = sigmoid(x),
    t = tanh(softplus(x));
  const u = sub(1, square(t));
  return mul(mul(u, s), sub(add(mul(x, sub(1, s)), 2), mul(mul(mul(x, s), t), 2)));
}

/**
 * F.mish: x·tanh(log1p(eˣ)) (Misra 2019), PyTorch's formula; large positive x gives x and large
 * negative x −0, with no overflow. The gradient is PyTorch's mish_backward,
 * tanh(sp) + x·σ(x)·(1 − tanh²(sp)), sp = log1p(eˣ). The wasm and WebGPU kernels evaluate
 * tanh(log1p(eˣ)) as the equal rational function of eˣ (asm/activations.ts), within a few float32 ulps.
 */
export function mish(x: Tensor): Tensor {
  return activation('mish', 'mish', 'mishDeriv', x, [], () => mishSecond(x));
}

/**
 * F.selu: λ·(x > 0 ? x : α·(eˣ − 1)) with α ≈ 1.6733, λ ≈ 1.0507 (Klambauer et al. 2017), as
 * PyTorch's ELU kernel computes it: x ≤ 0 ? (eˣ − 1)·αλ : x·λ, αλ one product in float64; the
 * gradient is λ for x > 0, else αλ·eˣ, and f″ is αλ·eˣ below 0, else 0 (PyTorch's double backward).
 */
export function selu(x: Tensor): Tensor {
  const p = [SELU_ALPHA * SELU_SCALE, SELU_SCALE];
  return activation('selu', 'selu', 'seluDeriv', x, p, (d) => mul(d, rawUnary('step', rawUnary('neg', x))));
}

/**
 * F.prelu: x > 0 ? x : weight·x, with weight one slope (1 value) or one per channel on dim 1 (x of
 * at least two dimensions whose dim 1 has weight.size entries; a 1-D x has one channel). Written as
 * x·s with s = [x > 0] + [x ≤ 0]·weight (each term exact), so the gradients are PyTorch's: g·s for
 * x, and Σ g·x over x ≤ 0 for the weight (0 from x = 0).
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  if (weight.dtype !== x.dtype) throw new TypeError(`prelu: weight is ${weight.dtype}, expected ${x.dtype} like x`);
  const channels = x.ndim >= 2 ? x.shape[1] : 1;
  if (weight.size !== 1 && weight.size !== channels)
    throw new ShapeError(
      `prelu: weight has ${weight.size} values, expected 1 or the ${channels} channel${channels === 1 ? '' : 's'} of x ${fmtShape(x.shape)} (dim 1)`,
    );
  const w = weight.size === 1 ? reshape(weight, []) : reshape(weight, [1, channels, ...x.shape.slice(2).map(() => 1)]);
  const pos = rawUnary('step', x);
  return mul(x, add(pos, mul(sub(1, pos), w)));
}
