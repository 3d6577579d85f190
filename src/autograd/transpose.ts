/**
 * torch.transpose(x, dim0, dim1): x with two axes swapped (a copy, as every tensor is contiguous).
 *
 * On the host it is permute. On a device it is the backend's scatterPlanes kernel (max pooling's
 * backward) with a permutation for its index map: every element of a plane (the axes from the
 * first swapped one on) is added once into its place in a zero output, so the result is exact and
 * needs no kernel of its own. The swap is its own inverse, so the backward is the same swap.
 */
import { Tensor } from '../tensor/tensor.js';
import { normAxis, sizeOf, stridesOf } from '../tensor/shape.js';
import { kernelsFor } from '../backend/index.js';
import { record } from './engine.js';
import { permute } from './ops.js';

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normAxis(dim0, x.ndim, 'transpose dim0'),
    b = normAxis(dim1, x.ndim, 'transpose dim1');
  if (a === b) return x;
  const perm = Array.from({ length: x.ndim }, (_, i) => i);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  const kn = kernelsFor(x.storage);
  if (kn.device === null) return permute(x, perm);
  const first = Math.min(a, b);
  const planes = sizeOf(x.shape.slice(0, first));
  const shape = perm.map((p) => x.shape[p]);
  const plane = sizeOf(x.shape.slice(first));
  // idx[i] = where a plane's element i goes: its index in x, with axes a and b swapped, in y's strides
  const local = x.shape.slice(first),
    yStrides = stridesOf(shape.slice(first));
  const swapped = perm.slice(first).map((p) => p - first);
  const idx = new Int32Array(planes * plane);
  const at = new Array<number>(local.length).fill(0);
  for (let i = 0; i < plane; i++) {
    let o = 0;
    for (let k = 0; k < local.length; k++) o += at[k] * yStrides[swapped.indexOf(k)];
    idx[i] = o;
    for (let k = local.length - 1; k >= 0 && ++at[k] === local[k]; k--) at[k] = 0;
  }
  for (let pl = 1; pl < planes; pl++) idx.copyWithin(pl * plane, 0, plane);
  const out = kn.alloc(x.dtype, x.size);
  kn.backend.scatterPlanes(kn.on(x.storage), kn.onIndex(idx), out, planes, plane, plane);
  return record('transpose', [x], new Tensor(out, shape), (g) => [transpose(g, a, b)]);
}
