/**
 * torch.matmul's rule for operands of more than two dimensions: a [..., n, k] · b [..., k, m] gives
 * [...batch, n, m], the batch dimensions (all but the last two) broadcast against each other; a 1-D a
 * is a row [1, k] and a 1-D b a column [k, 1], whose dimension the result drops. With b one matrix
 * the rows of every batch entry of a go through one mm. Otherwise the batch is one autograd node
 * (bmm below): on a backend with the `batchedMatmul` extension (WebGPU; wasm for float32) one call
 * of it, else one backend product per matrix on views of the operands and the output — never slices that are
 * copied out and stacked, whose backward writes each entry's gradient into a zero tensor of the
 * whole operand (quadratic in the batch).
 */
import { Tensor, type HostStorage } from '../tensor/tensor.js';
import { broadcastShapes, fmtShape, sizeOf, shapeEq, ShapeError } from '../tensor/shape.js';
import { kernelsFor } from '../backend/index.js';
import { record } from './engine.js';
import { broadcastTo, mm, reshape, sumTo } from './ops.js';
import { transpose } from './transpose.js';

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
  const count = sizeOf(batch);
  const shape = [...batch, ...(a.ndim === 1 ? [] : [n]), ...(b.ndim === 1 ? [] : [m])];
  if (count === 0) throw new ShapeError(`matmul: the batch dimensions ${fmtShape(batch)} hold no matrices`);
  // an operand holding one matrix is shared (stride 0); one whose batch is only partly broadcast is expanded
  const operand = (x: Tensor, rows: number, cols: number) =>
    sizeOf(x.shape.slice(0, -2)) === 1
      ? reshape(x, [1, rows, cols])
      : reshape(shapeEq(x.shape.slice(0, -2), batch) ? x : broadcastTo(x, [...batch, rows, cols]), [count, rows, cols]);
  return reshape(bmm(operand(a2, n, k), operand(b2, k, m), false, false), shape);
}

/**
 * a · bᵀ over the last two dimensions (attention's Q·Kᵀ): a [..., n, k], b [..., m, k] → [..., n, m].
 * With equal batch dimensions one product with b read transposed, so bᵀ is never copied out;
 * otherwise matmul(a, transpose(b)) with broadcasting.
 */
export function matmulTransposed(a: Tensor, b: Tensor): Tensor {
  if (a.ndim < 3 || !shapeEq(a.shape.slice(0, -2), b.shape.slice(0, -2)) || a.shape[a.ndim - 1] !== b.shape[b.ndim - 1])
    return batchedMatmul(a, transpose(b, -2, -1));
  const [n, k] = a.shape.slice(-2),
    m = b.shape[b.ndim - 2];
  const count = sizeOf(a.shape.slice(0, -2));
  if (count === 0) throw new ShapeError(`matmul: the batch dimensions ${fmtShape(a.shape.slice(0, -2))} hold no matrices`);
  return reshape(bmm(reshape(a, [count, n, k]), reshape(b, [count, m, k]), false, true), [...a.shape.slice(0, -2), n, m]);
}

/**
 * c[z] = op(a[z])·op(b[z]) for a [A, ·, ·] and b [B, ·, ·] with A, B each the batch or 1 (one matrix
 * shared by the batch), by the backend's batchedMatmul. For c = op(a)·op(b) the gradients are
 * products of the same kind: op(a)'s is gc·op(b)ᵀ and op(b)'s is op(a)ᵀ·gc, read back through the
 * flags (a transposed operand's gradient is the transpose, so its product swaps its factors), then
 * summed over the batch for a shared operand.
 */
function bmm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const [ba, ar, ac] = a.shape,
    [bb, br, bc] = b.shape;
  const batch = Math.max(ba, bb);
  const [n, k] = transA ? [ac, ar] : [ar, ac];
  const m = transB ? br : bc;
  const kn = kernelsFor(a.storage, b.storage);
  const out = kn.alloc(a.dtype, batch * n * m);
  const done = kn.ext.batchedMatmul?.(
    kn.on(a.storage),
    kn.on(b.storage),
    out,
    batch,
    n,
    m,
    k,
    transA,
    transB,
    ba === 1 ? 0 : ar * ac,
    bb === 1 ? 0 : br * bc,
  );
  if (!done) {
    if (kn.device !== null)
      throw new Error(
        `matmul: a product of two batched operands (${fmtShape(a.shape)} · ${fmtShape(b.shape)}) needs the batchedMatmul kernel, which ${kn.device} does not have; move the tensors with await t.to('cpu')`,
      );
    // on the host: one backend product per matrix, on views of the operands and the output
    const A = a.data,
      B = b.data,
      C = out as HostStorage;
    const sa = ba === 1 ? 0 : ar * ac,
      sb = bb === 1 ? 0 : br * bc;
    for (let z = 0; z < batch; z++)
      kn.backend.matmul(
        A.subarray(z * sa, z * sa + ar * ac),
        B.subarray(z * sb, z * sb + br * bc),
        C.subarray(z * n * m, (z + 1) * n * m),
        n,
        m,
        k,
        transA,
        transB,
      );
  }
  const shared = (g: Tensor, x: Tensor) => (x.shape[0] === 1 && batch > 1 ? sumTo(g, x.shape) : g);
  return record('batchedMatmul', [a, b], new Tensor(out, [batch, n, m]), (g) => [
    a.requiresGrad ? shared(transA ? bmm(b, g, transB, true) : bmm(g, b, false, !transB), a) : null,
    b.requiresGrad ? shared(transB ? bmm(g, a, true, transA) : bmm(a, g, !transA, false), b) : null,
  ]);
}
