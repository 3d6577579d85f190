/**
 * The activations of MobileNetV3, YOLOv4, self-normalising nets and PReLU ResNets, as
 * torch.nn.functional has them: hardtanh, relu6, hardsigmoid, hardswish, mish, selu and prelu.
 * Each is composed of the backends' existing kernels (max, min, comparisons, softplus, tanh, elu),
 * so it runs wherever its operand lives, a WebGPU device included, with no kernel of its own.
 *
 * The piecewise ones record their own backward, PyTorch's, because the derivative the composition
 * would give at a kink is not PyTorch's: hardtanh's and hardsigmoid's gradient is 0 on the
 * boundaries (the open interval passes it), hardswish's is x/3 + ½ on [−3, 3) (so −½ at −3), 0
 * below and 1 from 3 on. Their f′ is recorded with f″ (0, or hardswish's 1/3 on the open
 * interval, PyTorch's double backward), so createGraph differentiates them again.
 */
import { full, type Tensor } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { record } from './engine.js';
import { add, div, mul, rawBinary, rawUnary, reshape, sub, tanh } from './ops.js';
import { elu, finiteArg, softplus } from './activations.js';

/** SELU's α and λ (Klambauer et al. 2017): PyTorch's 1.6732632423543772848… and 1.0507009873554804934…, rounded to float64. */
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;

/** PyTorch's hardsigmoid_backward slope, the float literal 1.0f / 6.0f, also in float64. */
const ONE_SIXTH_F32 = Math.fround(1 / 6);

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
 * min(max(x, lo), hi) by the max and min kernels, the bound first: max(a, b) is a ≥ b ? a : b on
 * every backend, so a NaN x comes through as NaN, as PyTorch's clamp gives it.
 */
function clip(x: Tensor, lo: number, hi: number): Tensor {
  return rawBinary('min', scalarLike(x, hi), rawBinary('max', scalarLike(x, lo), x, 'clip'), 'clip');
}

/**
 * F.hardtanh: x clipped to [min, max]. The gradient is g strictly inside (min, max) and 0 on and
 * past the bounds (PyTorch's hardtanh_backward).
 */
export function hardtanh(x: Tensor, min = -1, max = 1): Tensor {
  const lo = finiteArg(min, 'hardtanh', 'min'),
    hi = finiteArg(max, 'hardtanh', 'max');
  if (lo > hi) throw new RangeError(`hardtanh: min (${lo}) must be ≤ max (${hi})`);
  return record('hardtanh', [x], clip(x, lo, hi), (g) => [mul(g, inside(x, lo, hi))]);
}

/** F.relu6: min(max(x, 0), 6), hardtanh(x, 0, 6), so its gradient is 0 at 0 and at 6 as PyTorch's. */
export function relu6(x: Tensor): Tensor {
  return hardtanh(x, 0, 6);
}

/**
 * F.hardsigmoid: min(max(x + 3, 0), 6)/6, PyTorch's formula in its order of operations; the
 * gradient is g·⅙ strictly inside (−3, 3), else 0, with ⅙ rounded to float32 in every dtype, as
 * PyTorch's kernel writes it (1.0f / 6.0f).
 */
export function hardsigmoid(x: Tensor): Tensor {
  const y = div(clip(rawBinary('add', x, scalarLike(x, 3), 'hardsigmoid'), 0, 6), 6);
  return record('hardsigmoid', [x], y, (g) => [mul(g, mul(inside(x, -3, 3), ONE_SIXTH_F32))]);
}

/**
 * F.hardswish: x·min(max(x + 3, 0), 6)/6 (MobileNetV3's h-swish). The gradient is PyTorch's
 * hardswish_backward as its vectorised kernel computes it, the one every element of a tensor but
 * the last few takes: 0 for x < −3, x/3 + ½ for −3 ≤ x < 3, 1 for x ≥ 3 (its scalar kernel, for
 * the tail, gives 1½ at exactly 3).
 */
export function hardswish(x: Tensor): Tensor {
  const y = div(rawBinary('mul', x, clip(rawBinary('add', x, scalarLike(x, 3), 'hardswish'), 0, 6), 'hardswish'), 6);
  return record('hardswish', [x], y, (g) => {
    const below = side('lt', x, -3),
      above = sub(1, side('lt', x, 3));
    // x/3 + ½ on [−3, 3) (1 − below − above is its indicator), 1 from 3 on; the ramp reads x clipped
    // to [−3, 3], so ±∞ meet the indicator's 0 as finite values (∞·0 would be NaN)
    const ramp = rawBinary('add', rawBinary('div', clip(x, -3, 3), scalarLike(x, 3), 'hardswish'), scalarLike(x, 0.5), 'hardswish');
    const d = rawBinary('add', rawBinary('mul', ramp, sub(sub(1, below), above), 'hardswish'), above, 'hardswish');
    return [
      mul(
        g,
        record('hardswishDeriv', [x], d, (gg) => [mul(gg, div(inside(x, -3, 3), 3))]),
      ),
    ];
  });
}

/**
 * F.mish: x·tanh(softplus(x)) (Misra 2019). softplus switches to x past 20, where tanh is already 1
 * in float64, so large positive x gives x and large negative x gives −0 with no overflow; the
 * gradient is tanh(sp) + x·σ(x)·(1 − tanh²(sp)), PyTorch's mish_backward, by the composition.
 */
export function mish(x: Tensor): Tensor {
  return mul(x, tanh(softplus(x)));
}

/**
 * F.selu: λ·(x > 0 ? x : α·(eˣ − 1)) with α ≈ 1.6733, λ ≈ 1.0507 (Klambauer et al. 2017): λ·elu(x, α).
 * PyTorch multiplies by α·λ once on the negative side; the two products round differently by at
 * most one unit in the last place.
 */
export function selu(x: Tensor): Tensor {
  return mul(elu(x, SELU_ALPHA), SELU_SCALE);
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
