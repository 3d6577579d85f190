/**
 * torch.transpose(x, dim0, dim1): x with two axes swapped (a copy, as every tensor is contiguous):
 * permute with the two axes exchanged, on the host or on a device (the backend's permute kernel).
 * The swap is its own inverse, so the backward is the same swap.
 */
import type { Tensor } from '../tensor/tensor.js';
import { normAxis } from '../tensor/shape.js';
import { permute } from './ops.js';

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normAxis(dim0, x.ndim, 'transpose dim0'),
    b = normAxis(dim1, x.ndim, 'transpose dim1');
  if (a === b) return x;
  const perm = Array.from({ length: x.ndim }, (_, i) => i);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}
