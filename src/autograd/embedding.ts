/**
 * Embedding lookup, PyTorch's F.embedding: y[..., :] = W[ids[...], :] for a weight W [num, dim].
 *
 * The lookup is a gather of whole rows, its backward a scatter-add of the output gradient's rows
 * into a zero [num, dim] (a repeated id adds its gradients). Rows looked up at paddingIdx give their
 * values but take no gradient (PyTorch's padding_idx): the scatter skips them. So the backward
 * is scatterRows(g) = Σ over the non-padding positions, linear in g, and its adjoint is the
 * gather with the padding positions zeroed; the two are each other's backward, so gradients of
 * any order follow. Host only: the ids are read to index the rows.
 */
import { Tensor, allocStorage } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { record } from './engine.js';

/** The row of each position of `ids` (numbers stored as floats), checked to be integers in [0, num); `what` names the layer. */
export function embeddingRows(ids: Tensor, num: number, what: string): Int32Array {
  if (ids.device !== 'cpu')
    throw new Error(`${what}: the indices live on ${ids.device}; the embedding lookup runs on the host (await t.to('cpu') first)`);
  const v = ids.data;
  const rows = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const j = v[i];
    if (!Number.isInteger(j) || j < 0 || j >= num) {
      const asImage =
        !Number.isInteger(j) && j > 0 && j < 1
          ? '; token ids stored as uint8 are divided by 255 when read as images — save them as int32'
          : '';
      throw new RangeError(`${what}: index ${+j.toPrecision(4)} at ${position(i, ids.shape)} is not an integer in [0, ${num})${asImage}`);
    }
    rows[i] = j;
  }
  return rows;
}

function position(flat: number, shape: readonly number[]): string {
  const pos: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    pos.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `[${pos.join(', ')}]`;
}

/**
 * PyTorch's F.embedding: W's rows at `ids` (a tensor of any shape holding integers in [0, num)),
 * [...ids.shape, dim]. The positions whose id is `paddingIdx` (in [−num, num), negative counting
 * from the end; null for none) pass no gradient to W.
 */
export function embedding(weight: Tensor, ids: Tensor, paddingIdx: number | null = null, what = 'embedding'): Tensor {
  if (weight.ndim !== 2) throw new ShapeError(`${what}: expected weight [num, dim], got ${fmtShape(weight.shape)}`);
  if (weight.device !== 'cpu')
    throw new Error(`${what}: the weight lives on ${weight.device}; the embedding lookup runs on the host (await model.to('cpu') first)`);
  const [num, dim] = weight.shape;
  if (paddingIdx !== null && (!Number.isInteger(paddingIdx) || paddingIdx < -num || paddingIdx >= num))
    throw new RangeError(`${what}: paddingIdx must be an integer in [${-num}, ${num}) or null, got ${paddingIdx}`);
  const rows = embeddingRows(ids, num, what);
  const skip = paddingIdx !== null && paddingIdx < 0 ? num + paddingIdx : paddingIdx;
  return gatherRows(weight, rows, [...ids.shape, dim], skip, false);
}

/** out[i, :] = w[rows[i], :], or zeros where rows[i] is `skip` and `zeroSkipped`; the backward is scatterRows. */
function gatherRows(w: Tensor, rows: Int32Array, shape: number[], skip: number | null, zeroSkipped: boolean): Tensor {
  const dim = w.shape[1];
  const out = allocStorage(w.dtype, rows.length * dim);
  const src = w.data;
  for (let i = 0; i < rows.length; i++) {
    if (zeroSkipped && rows[i] === skip) continue;
    out.set(src.subarray(rows[i] * dim, (rows[i] + 1) * dim), i * dim);
  }
  return record('embedding', [w], new Tensor(out, shape), (g) => [scatterRows(g, rows, w.shape, skip)]);
}

/** A zero [num, dim] with g's row i added into row rows[i], except where rows[i] is `skip`. */
function scatterRows(g: Tensor, rows: Int32Array, wShape: readonly number[], skip: number | null): Tensor {
  const dim = wShape[1];
  const out = allocStorage(g.dtype, wShape[0] * dim);
  const src = g.data;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r === skip) continue;
    for (let j = 0, o = r * dim, s = i * dim; j < dim; j++) out[o + j] += src[s + j];
  }
  return record('embeddingBackward', [g], new Tensor(out, [...wShape]), (gg) => [gatherRows(gg, rows, [...g.shape], skip, true)]);
}
