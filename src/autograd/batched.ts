/**
 * torch.matmul's rule for operands of more than two dimensions: a [..., n, k] · b [..., k, m] gives
 * [...batch, n, m], the batch dimensions (all but the last two) broadcast against each other; a 1-D a
 * is a row [1, k] and a 1-D b a column [k, 1], whose dimension the result drops. With b one matrix
 * the rows of every batch entry of a go through one mm; otherwise each batch entry is one mm on its
 * slices (host storage only), the gradients mm's, summed over broadcast dimensions by broadcastTo's.
 */
import type { Tensor } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { broadcastShapes, fmtShape, sizeOf, ShapeError } from '../tensor/shape.js';
import { broadcastTo, mm, reshape } from './ops.js';
import { narrow, stack } from './indexing.js';

export function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0)
    throw new ShapeError(`matmul: expected tensors of at least one dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const a2 = a.ndim === 1 ? reshape(a, [1, a.size]) : a;
  const b2 = b.ndim === 1 ? reshape(b, [b.size, 1]) : b;
  const [n, k] = a2.shape.slice(-2),
    [k2, m] = b2.shape.slice(-2);
  if (k !== k2) throw new ShapeError(`matmul: inner dimensions differ: ${fmtShape(a.shape)} · ${fmtShape(b.shape)} (${k} vs ${k2})`);
  // b one matrix: the batch of a's rows is one product (any backend)
  if (b2.ndim === 2) {
    const rows = reshape(mm(reshape(a2, [a2.size / k, k]), b2), [...a2.shape.slice(0, -1), m]);
    return a.ndim === 1 ? reshape(rows, [m]) : b.ndim === 1 ? reshape(rows, rows.shape.slice(0, -1)) : rows;
  }
  const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), 'matmul (batch dimensions)');
  if (isDeviceStorage(a.storage) || isDeviceStorage(b.storage)) {
    throw new Error(
      `matmul: a product of two batched operands (${fmtShape(a.shape)} · ${fmtShape(b.shape)}) runs on the CPU backends only; move the tensors with await t.to('cpu')`,
    );
  }
  const count = sizeOf(batch);
  if (count === 0) throw new ShapeError(`matmul: the batch dimensions ${fmtShape(batch)} hold no matrices`);
  const as = reshape(broadcastTo(a2, [...batch, n, k]), [count, n, k]);
  const bs = reshape(broadcastTo(b2, [...batch, k, m]), [count, k, m]);
  const products: Tensor[] = [];
  for (let i = 0; i < count; i++) products.push(mm(reshape(narrow(as, 0, i, 1), [n, k]), reshape(narrow(bs, 0, i, 1), [k, m])));
  const shape = [...batch, ...(a.ndim === 1 ? [] : [n]), ...(b.ndim === 1 ? [] : [m])];
  return reshape(stack(products), shape);
}
