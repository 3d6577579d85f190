/**
 * Embedding lookup, PyTorch's F.embedding: y[..., :] = W[ids[...], :] for a weight W [num, dim].
 *
 * The lookup is a gather of whole rows, its backward a scatter-add of the output gradient's rows
 * into a zero [num, dim] (a repeated id adds its gradients). Rows looked up at paddingIdx give their
 * values but take no gradient (PyTorch's padding_idx): the scatter skips them. So the backward
 * is scatterRows(g) = Σ over the non-padding positions, linear in g, and its adjoint is the
 * gather with the padding positions zeroed; the two are each other's backward, so gradients of
 * any order follow. The ids are read on the host (checked, and sorted for the backward); the weight
 * may live on a device, where the gather and the scatter are the backend's embeddingGather and
 * embeddingScatter kernels: the host counting-sorts the positions by row once (N·L ints) and the
 * device adds each row's gradients in position order, so the result does not depend on thread
 * timing (see src/backend/webgpu/sequence.ts).
 */
import { Tensor, allocStorage, type IndexStorage } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { kernelsFor } from '../backend/index.js';
import { record } from './engine.js';

/** The row of each position of `ids` (numbers stored as floats), checked to be integers in [0, num); `what` names the layer. */
export function embeddingRows(ids: Tensor, num: number, what: string): Int32Array {
  if (ids.device !== 'cpu')
    throw new Error(
      `${what}: the indices live on ${ids.device}; the embedding lookup reads them on the host (keep the ids on the cpu, or await t.to('cpu') first)`,
    );
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
  const [num, dim] = weight.shape;
  if (paddingIdx !== null && (!Number.isInteger(paddingIdx) || paddingIdx < -num || paddingIdx >= num))
    throw new RangeError(`${what}: paddingIdx must be an integer in [${-num}, ${num}) or null, got ${paddingIdx}`);
  const rows = embeddingRows(ids, num, what);
  const skip = paddingIdx !== null && paddingIdx < 0 ? num + paddingIdx : paddingIdx;
  if (isDeviceStorage(weight.storage)) return gatherRowsOn(weight, new Rows(rows, num, skip), [...ids.shape, dim], false);
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

/**
 * The looked-up rows of one call, with what the device kernels need made once and kept for the
 * backward: the rows uploaded, and the positions sorted by row (a stable counting sort: `order`
 * lists the positions of row r, ascending, from starts[r] to starts[r + 1] − 1; the padding row's
 * run is empty, so its gradient is 0).
 */
class Rows {
  private uploaded: IndexStorage | null = null;
  private sorted: { starts: IndexStorage; order: IndexStorage } | null = null;

  constructor(
    readonly rows: Int32Array,
    readonly num: number,
    readonly skip: number | null,
  ) {}

  on(k: ReturnType<typeof kernelsFor>): IndexStorage {
    return (this.uploaded ??= k.onIndex(this.rows));
  }

  sortedOn(k: ReturnType<typeof kernelsFor>): { starts: IndexStorage; order: IndexStorage } {
    if (this.sorted) return this.sorted;
    const starts = new Int32Array(this.num + 1);
    for (const r of this.rows) if (r !== this.skip) starts[r + 1]++;
    for (let r = 0; r < this.num; r++) starts[r + 1] += starts[r];
    const order = new Int32Array(starts[this.num]);
    const fill = starts.slice(0, this.num);
    this.rows.forEach((r, i) => {
      if (r !== this.skip) order[fill[r]++] = i;
    });
    return (this.sorted = { starts: k.onIndex(starts), order: k.onIndex(order) });
  }
}

/** gatherRows on a device (the backend's embeddingGather); its backward is scatterRowsOn. */
function gatherRowsOn(w: Tensor, rows: Rows, shape: number[], zeroSkipped: boolean): Tensor {
  const dim = w.shape[1];
  const k = kernelsFor(w.storage);
  const out = k.alloc(w.dtype, rows.rows.length * dim);
  const skip = zeroSkipped && rows.skip !== null ? rows.skip : -1;
  if (!k.ext.embeddingGather?.(w.storage, rows.on(k), out, rows.rows.length, dim, skip))
    throw new Error(`embedding: the ${k.backend.name} backend has no embedding lookup for a weight ${fmtShape(w.shape)}`);
  return record('embedding', [w], new Tensor(out, shape), (g) => [scatterRowsOn(g, rows, w.shape)]);
}

/** scatterRows on a device (the backend's embeddingScatter, in position order per row); its backward is gatherRowsOn with the padding zeroed. */
function scatterRowsOn(g: Tensor, rows: Rows, wShape: readonly number[]): Tensor {
  const [num, dim] = wShape;
  const k = kernelsFor(g.storage);
  const out = k.alloc(g.dtype, num * dim);
  const { starts, order } = rows.sortedOn(k);
  if (!k.ext.embeddingScatter?.(k.on(g.storage), starts, order, out, num, dim))
    throw new Error(`embedding: the ${k.backend.name} backend has no embedding backward for a weight ${fmtShape(wShape)}`);
  return record('embeddingBackward', [g], new Tensor(out, [...wShape]), (gg) => [gatherRowsOn(gg, rows, [...g.shape], true)]);
}
