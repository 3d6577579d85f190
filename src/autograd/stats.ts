/**
 * Variance and standard deviation (torch.var, torch.std): over `axis` (all axes by default), the
 * sum of squared deviations from the mean divided by n − correction, where n is the number of
 * values reduced; correction 1 (PyTorch's default, Bessel's correction: the unbiased estimate) or
 * 0 (the population variance). With n ≤ correction the division is by 0, as in PyTorch (NaN for
 * one value). Two passes (mean, then deviations), differentiable as the ops they are made of.
 */
import type { Tensor } from '../tensor/tensor.js';
import { axesOf, div, mean, mul, sqrt, sub, sum } from './ops.js';

function checkCorrection(correction: number, what: string): void {
  if (!Number.isInteger(correction) || correction < 0)
    throw new RangeError(`${what}: correction must be a non-negative integer (1: unbiased, 0: population), got ${correction}`);
}

export function variance(x: Tensor, axis?: number | readonly number[], keepdim = false, correction = 1): Tensor {
  checkCorrection(correction, 'variance');
  const axes = axesOf(x, axis, 'variance');
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  const d = sub(x, mean(x, axes, true));
  return div(sum(mul(d, d), axes, keepdim), Math.max(n - correction, 0));
}

export function std(x: Tensor, axis?: number | readonly number[], keepdim = false, correction = 1): Tensor {
  checkCorrection(correction, 'std');
  axesOf(x, axis, 'std');
  return sqrt(variance(x, axis, keepdim, correction));
}
