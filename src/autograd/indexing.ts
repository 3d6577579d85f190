/**
 * Indexing, slicing, joining and selection: PyTorch's x[...], narrow, flip, cat, stack, split,
 * chunk, gather, index_select, where, clamp, comparisons and masks, min/argmin, topk and sort.
 *
 * Every op here that moves values is one of two linear maps given by a flat index map m (one input
 * offset per output element): take, out[i] = x[m[i]], and its adjoint put, out[m[i]] += g[i]. Each
 * is the other's backward, so gradients of any order come for free, and repeated indices (gather,
 * indexSelect) add their gradients. where and clamp route the gradient through `where` itself.
 * Comparisons, masks and indices carry no gradient (they are piecewise constant).
 *
 * Indices follow PyTorch (an integer index may be negative; gather and indexSelect take indices in
 * [0, n − 1]); slicing follows NumPy, which also allows negative steps (PyTorch refuses them).
 * Errors name the op, the argument, the expected range and the value given.
 */
import { Tensor, allocStorage, full, tensor, type DType, type HostStorage } from '../tensor/tensor.js';
import { type Shape, broadcastShapes, fmtShape, shapeEq, sizeOf, stridesOf, ShapeError } from '../tensor/shape.js';
import { broadcastStrides } from '../backend/reference.js';
import { kernelsFor } from '../backend/index.js';
import { isDeviceStorage } from '../tensor/device.js';
import { noGrad, record, recordParts } from './engine.js';
import { max, neg, nonEmptyAxis, nonEmptyTensor, reshape, sumTo, type TensorLike } from './ops.js';

// ---------------------------------------------------------------- argument checks

/**
 * `axis` of a rank-`ndim` tensor (negative counts from the end), checked; `op` and `arg` name it in
 * the error. `extra` = 1 admits one position past the last axis (where unsqueeze and stack insert one).
 */
function axisOf(op: string, axis: number, ndim: number, arg = 'axis', extra = 0): number {
  const n = ndim + extra;
  if (n === 0) throw new RangeError(`${op}: ${arg} is ${axis}, but the tensor is zero-dimensional (expected at least one dimension)`);
  if (!Number.isInteger(axis) || axis < -n || axis >= n) {
    throw new RangeError(`${op}: ${arg} is ${axis}, expected an integer in [${-n}, ${n - 1}] for a tensor of rank ${ndim}`);
  }
  return axis < 0 ? axis + n : axis;
}

function liftTo(x: TensorLike, dtype: DType): Tensor {
  return typeof x === 'number' ? full([], x, { dtype }) : x;
}

/** Two operands with one dtype (a number takes the other operand's). */
function pair(a: TensorLike, b: TensorLike, op: string, dflt: DType = 'float32'): [Tensor, Tensor] {
  const dtype = a instanceof Tensor ? a.dtype : b instanceof Tensor ? b.dtype : dflt;
  const ta = liftTo(a, dtype),
    tb = liftTo(b, dtype);
  if (ta.dtype !== tb.dtype) throw new TypeError(`${op}: dtype mismatch (${ta.dtype} vs ${tb.dtype}); convert one with .to()`);
  return [ta, tb];
}

// ---------------------------------------------------------------- take / put: the two linear maps

/** Offsets base + Σ idx[d]·strides[d] of every element of `shape`, in row-major order. */
function stridedMap(shape: Shape, base: number, strides: readonly number[]): Int32Array {
  const n = sizeOf(shape);
  const map = new Int32Array(n);
  if (n === 0) return map;
  const rank = shape.length;
  if (rank === 0) {
    map[0] = base;
    return map;
  }
  const last = rank - 1,
    len = shape[last],
    st = strides[last];
  const idx = new Array<number>(rank).fill(0);
  let off = base;
  for (let o = 0; o < n; o += len) {
    for (let j = 0, p = off; j < len; j++, p += st) map[o + j] = p;
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return map;
}

function isRun(map: Int32Array): boolean {
  for (let i = 1; i < map.length; i++) if (map[i] !== map[0] + i) return false;
  return true;
}

/** out[i] = x[map[i]], shaped `shape`; the backward is `put`. */
function take(x: Tensor, map: Int32Array, shape: Shape, op: string): Tensor {
  const out = allocStorage(x.dtype, map.length);
  const src = x.data;
  if (map.length > 0 && isRun(map)) out.set(src.subarray(map[0], map[0] + map.length));
  else for (let i = 0; i < map.length; i++) out[i] = src[map[i]];
  return record(op, [x], new Tensor(out, shape), (g) => [put(g, map, x.shape, op)]);
}

/** The adjoint of take: a zero tensor of `shape` with g[i] added at map[i]; the backward is `take`. */
function put(g: Tensor, map: Int32Array, shape: Shape, op: string): Tensor {
  const out = allocStorage(g.dtype, sizeOf(shape));
  const src = g.data;
  // a contiguous slice (narrow or split along the first axis) is one block copy into the zeros
  if (map.length > 0 && isRun(map)) out.set(src, map[0]);
  else for (let i = 0; i < map.length; i++) out[map[i]] += src[i];
  return record(`${op}.backward`, [g], new Tensor(out, shape), (gg) => [take(gg, map, g.shape, op)]);
}

/** take for a map that is one run of offsets from `at`: a block copy out of x; the backward copies back into zeros. */
function takeBlock(x: Tensor, at: number, shape: Shape): Tensor {
  const n = sizeOf(shape);
  const out = allocStorage(x.dtype, n);
  out.set(x.data.subarray(at, at + n));
  return record('narrow', [x], new Tensor(out, shape), (g) => [putBlock(g, at, x.shape)]);
}

/** The adjoint of takeBlock: zeros of `shape` holding g at offset `at`; the backward is takeBlock. */
function putBlock(g: Tensor, at: number, shape: Shape): Tensor {
  const out = allocStorage(g.dtype, sizeOf(shape));
  out.set(g.data, at);
  return record('narrow.backward', [g], new Tensor(out, shape), (gg) => [takeBlock(gg, at, g.shape)]);
}

// ---------------------------------------------------------------- index: x[...] with NumPy's slices

/** A slice start:stop:step; a missing or null field takes NumPy's default for the step's sign. */
export interface Slice {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/**
 * One item of an index: an integer selects (and removes the axis; negative counts from the end), a
 * Slice or a string such as '1:', '::-1', ':3' keeps the axis, '...' stands for as many full
 * slices as needed, and null (or the string 'None') inserts an axis of size 1.
 */
export type IndexItem = number | string | null | Slice;

type Item =
  | { kind: 'int'; v: number }
  | { kind: 'slice'; start: number | null; stop: number | null; step: number | null }
  | { kind: 'new' }
  | { kind: 'ellipsis' };

const INT = /^[+-]?\d+$/;
const HINT = `expected an integer, a slice start:stop:step, '...' or None`;

function parseToken(tok: string, where: string): Item {
  const s = tok.trim();
  if (s === '...') return { kind: 'ellipsis' };
  if (s === 'None') return { kind: 'new' };
  if (INT.test(s)) return { kind: 'int', v: Number(s) };
  if (s.includes(':')) {
    const parts = s.split(':').map((p) => p.trim());
    if (parts.length <= 3 && parts.every((p) => p === '' || INT.test(p))) {
      const num = (p: string | undefined) => (p === undefined || p === '' ? null : Number(p));
      return { kind: 'slice', start: num(parts[0]), stop: num(parts[1]), step: num(parts[2]) };
    }
  }
  throw new TypeError(`index: ${where} is '${tok}', ${HINT}`);
}

function parseIndexString(spec: string): Item[] {
  if (spec.trim() === '') return [];
  return spec.split(',').map((tok, k) => parseToken(tok, `item ${k} of '${spec}'`));
}

function itemOf(it: IndexItem, k: number): Item {
  if (it === null) return { kind: 'new' };
  if (typeof it === 'number') {
    if (!Number.isInteger(it)) throw new TypeError(`index: item ${k} is ${it}, ${HINT}`);
    return { kind: 'int', v: it };
  }
  if (typeof it === 'string') return parseToken(it, `item ${k}`);
  if (typeof it !== 'object') throw new TypeError(`index: item ${k} is ${String(it)}, ${HINT}`);
  const field = (name: 'start' | 'stop' | 'step'): number | null => {
    const v = it[name];
    if (v === undefined || v === null) return null;
    if (!Number.isInteger(v)) throw new TypeError(`index: ${name} of the slice at item ${k} is ${String(v)}, expected an integer or null`);
    return v;
  };
  for (const key of Object.keys(it)) {
    if (key !== 'start' && key !== 'stop' && key !== 'step')
      throw new TypeError(`index: the slice at item ${k} has an unknown field '${key}', expected start, stop and step`);
  }
  return { kind: 'slice', start: field('start'), stop: field('stop'), step: field('step') };
}

function fmtItems(items: readonly Item[]): string {
  return items
    .map((it) => {
      if (it.kind === 'int') return String(it.v);
      if (it.kind === 'new') return 'None';
      if (it.kind === 'ellipsis') return '...';
      const f = (v: number | null) => (v === null ? '' : String(v));
      return `${f(it.start)}:${f(it.stop)}${it.step === null ? '' : `:${it.step}`}`;
    })
    .join(', ');
}

/** NumPy's slice.indices for an axis of size n: the first index and the number of elements. */
function sliceBounds(n: number, start: number | null, stop: number | null, step: number): [number, number] {
  if (step > 0) {
    const clampUp = (v: number) => (v < 0 ? Math.max(v + n, 0) : Math.min(v, n));
    const s = start === null ? 0 : clampUp(start);
    const e = stop === null ? n : clampUp(stop);
    return [s, e > s ? Math.ceil((e - s) / step) : 0];
  }
  const clampDown = (v: number) => (v < 0 ? Math.max(v + n, -1) : Math.min(v, n - 1));
  const s = start === null ? n - 1 : clampDown(start);
  const e = stop === null ? -1 : clampDown(stop);
  return [s, s > e ? Math.ceil((s - e) / -step) : 0];
}

/**
 * NumPy-style basic indexing, x[spec]: `index(x, '1:, ::-1')` is NumPy's x[1:, ::-1]. The spec is a
 * string of comma-separated items, one integer, or an array of IndexItem (numbers, slices
 * `{ start, stop, step }`, strings, null), e.g. `index(x, [i, { start: 0, stop: n, step: 2 }])`.
 * Slices clamp to the axis as in NumPy and PyTorch; an integer out of range is an error. Steps may
 * be negative (NumPy's rule; PyTorch refuses them). The result is a copy; its gradient flows back
 * to the selected elements.
 */
export function index(x: Tensor, spec: string | number | readonly IndexItem[]): Tensor {
  const items = typeof spec === 'string' ? parseIndexString(spec) : typeof spec === 'number' ? [itemOf(spec, 0)] : spec.map(itemOf);
  const ellipses = items.filter((it) => it.kind === 'ellipsis').length;
  if (ellipses > 1) throw new TypeError(`index: '${fmtItems(items)}' has ${ellipses} ellipses ('...'), expected at most one`);
  const used = items.filter((it) => it.kind === 'int' || it.kind === 'slice').length;
  if (used > x.ndim)
    throw new RangeError(
      `index: '${fmtItems(items)}' indexes ${used} axes, expected at most ${x.ndim} for a tensor of shape ${fmtShape(x.shape)}`,
    );
  const full: Item = { kind: 'slice', start: null, stop: null, step: null };
  const fill = new Array<Item>(x.ndim - used).fill(full);
  const at = items.findIndex((it) => it.kind === 'ellipsis');
  const expanded = at < 0 ? [...items, ...fill] : [...items.slice(0, at), ...fill, ...items.slice(at + 1)];
  const inStrides = stridesOf(x.shape);
  const shape: number[] = [];
  const strides: number[] = [];
  let base = 0,
    d = 0,
    identity = true;
  for (const it of expanded) {
    if (it.kind === 'new') {
      shape.push(1);
      strides.push(0);
      identity = false;
      continue;
    }
    const n = x.shape[d];
    if (it.kind === 'int') {
      if (it.v < -n || it.v >= n) {
        throw new RangeError(
          `index: index ${it.v} on axis ${d} is out of range, expected an integer in [${-n}, ${n - 1}] (the axis has size ${n})`,
        );
      }
      base += (it.v < 0 ? it.v + n : it.v) * inStrides[d];
      identity = false;
    } else if (it.kind === 'slice') {
      const step = it.step ?? 1;
      if (step === 0) throw new RangeError(`index: the step of the slice on axis ${d} is 0, expected a non-zero integer`);
      const [s, len] = sliceBounds(n, it.start, it.stop, step);
      if (len > 0) base += s * inStrides[d];
      shape.push(len);
      strides.push(step * inStrides[d]);
      if (len !== n || step !== 1) identity = false;
    }
    d++;
  }
  if (identity) return x;
  return take(x, stridedMap(shape, base, strides), shape, 'index');
}

/** PyTorch's narrow: `length` elements of `axis` from `start` (negative counts from the end). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const ax = axisOf('narrow', axis, x.ndim);
  const n = x.shape[ax];
  if (!Number.isInteger(start) || start < -n || start > n)
    throw new RangeError(`narrow: start is ${start}, expected an integer in [${-n}, ${n}] (axis ${ax} has size ${n})`);
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(length) || length < 0 || s + length > n) {
    throw new RangeError(`narrow: length is ${length}, expected an integer in [0, ${n - s}] (axis ${ax} has size ${n}, start ${s})`);
  }
  return sliceAxis(x, ax, s, length);
}

function sliceAxis(x: Tensor, ax: number, start: number, len: number): Tensor {
  if (start === 0 && len === x.shape[ax]) return x;
  const shape = [...x.shape];
  shape[ax] = len;
  if (isDeviceStorage(x.storage)) return sliceRowsOn(x, ax, start, len, shape);
  const st = stridesOf(x.shape);
  // no axis before `ax` holds more than one entry: the slice is one block, copied without an index map
  if (sizeOf(x.shape.slice(0, ax)) <= 1) return takeBlock(x, start * st[ax], shape);
  return take(x, stridedMap(shape, start * st[ax], st), shape, 'narrow');
}

/**
 * A slice on a device: x as rows of the elements after `ax` ([A·n, B]), the rows a·n + start + j
 * (j < len) copied out by the backend's row gather (Embedding's kernel); the backward adds each
 * gradient row into its row of zeros by the row scatter (each row receives at most one), and the
 * scatter's backward is this gather again.
 */
function sliceRowsOn(x: Tensor, ax: number, start: number, len: number, shape: Shape): Tensor {
  const k = kernelsFor(x.storage);
  const n = x.shape[ax],
    outer = sizeOf(x.shape.slice(0, ax)),
    inner = sizeOf(x.shape.slice(ax + 1));
  const rows = new Int32Array(outer * len);
  for (let a = 0, i = 0; a < outer; a++) for (let j = 0; j < len; j++) rows[i++] = a * n + start + j;
  // the scatter's row ranges: row r of x receives position starts[r] (one) or none
  const starts = new Int32Array(outer * n + 1);
  for (const r of rows) starts[r + 1] = 1;
  for (let r = 0; r < outer * n; r++) starts[r + 1] += starts[r];
  const order = Int32Array.from(rows, (_, i) => i);
  const gather = (src: Tensor): Tensor => {
    const out = k.alloc(src.dtype, rows.length * inner);
    if (!k.ext.embeddingGather?.(src.storage, k.onIndex(rows), out, rows.length, inner, -1))
      throw new Error(
        `narrow: a slice of a tensor on ${k.device} needs its row gather kernel, which it does not have; move the tensor with await t.to('cpu')`,
      );
    return record('narrow', [src], new Tensor(out, shape), (g) => [scatter(g)]);
  };
  const scatter = (g: Tensor): Tensor => {
    const out = k.alloc(g.dtype, outer * n * inner);
    if (!k.ext.embeddingScatter?.(k.on(g.storage), k.onIndex(starts), k.onIndex(order), out, outer * n, inner))
      throw new Error(`narrow: the backward of a slice on ${k.device} needs its row scatter kernel, which it does not have`);
    return record('narrow.backward', [g], new Tensor(out, x.shape), (gg) => [gather(gg)]);
  };
  return gather(x);
}

/** Reverse the order of elements along `axes` (torch.flip, np.flip). */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  const list = typeof axes === 'number' ? [axes] : axes;
  const st = stridesOf(x.shape);
  const flipped = new Set<number>();
  for (const a of list) {
    const ax = axisOf('flip', a, x.ndim, 'axes');
    if (flipped.has(ax)) throw new RangeError(`flip: axes is ${fmtShape(list)}, expected distinct axes (axis ${ax} appears twice)`);
    flipped.add(ax);
  }
  let base = 0;
  const strides = st.map((s, d) => {
    if (!flipped.has(d)) return s;
    base += (x.shape[d] - 1) * s;
    return -s;
  });
  return take(x, stridedMap(x.shape, base, strides), x.shape, 'flip');
}

/** Insert an axis of size 1 at `axis` (in [−(rank + 1), rank]). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const ax = axisOf('unsqueeze', axis, x.ndim, 'axis', 1);
  const shape = [...x.shape];
  shape.splice(ax, 0, 1);
  return reshape(x, shape);
}

/** Remove axes of size 1: all of them, or `axis` only (left as is when its size is not 1, as in PyTorch). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const ax = axisOf('squeeze', axis, x.ndim);
  return x.shape[ax] === 1
    ? reshape(
        x,
        x.shape.filter((_, d) => d !== ax),
      )
    : x;
}

// ---------------------------------------------------------------- joining and splitting

function shapePattern(shape: Shape, ax: number): string {
  return `[${shape.map((d, i) => (i === ax ? '*' : String(d))).join(', ')}]`;
}

/** Concatenate along an existing axis (torch.cat); every other axis must match. */
export function cat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('cat: tensors is an empty list, expected at least one tensor');
  const first = tensors[0];
  if (first.ndim === 0) throw new ShapeError('cat: tensor 0 is zero-dimensional, expected at least one dimension (stack joins scalars)');
  const ax = axisOf('cat', axis, first.ndim);
  let total = 0;
  tensors.forEach((t, i) => {
    if (t.dtype !== first.dtype)
      throw new TypeError(`cat: tensor ${i} is ${t.dtype}, expected ${first.dtype} like tensor 0; convert it with .to()`);
    if (t.ndim !== first.ndim || t.shape.some((n, k) => k !== ax && n !== first.shape[k])) {
      throw new ShapeError(
        `cat: tensor ${i} has shape ${fmtShape(t.shape)}, expected ${shapePattern(first.shape, ax)} (tensor 0's shape, any size on axis ${ax})`,
      );
    }
    total += t.shape[ax];
  });
  if (tensors.length === 1) return first;
  const shape = [...first.shape];
  shape[ax] = total;
  const outer = sizeOf(first.shape.slice(0, ax));
  const inner = sizeOf(first.shape.slice(ax + 1));
  if (tensors.some((t) => isDeviceStorage(t.storage))) return catOn(tensors, ax, shape, outer, inner);
  const out = allocStorage(first.dtype, sizeOf(shape));
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    const block = t.shape[ax] * inner;
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * block, (o + 1) * block), (o * total + at) * inner);
    at += t.shape[ax];
  }
  const outStrides = stridesOf(shape);
  return record('cat', [...tensors], new Tensor(out, shape), (g) =>
    tensors.map((t, i) => (t.requiresGrad ? take(g, stridedMap(t.shape, offsets[i] * inner, outStrides), t.shape, 'cat') : null)),
  );
}

/**
 * cat on a device: each operand written into its place by the backend's catPiece kernel (a host
 * operand uploaded first); the backward hands each operand its slice of the gradient, narrow's row
 * gather on the device, so a join of T operands costs O(size) both ways.
 */
function catOn(tensors: readonly Tensor[], ax: number, shape: Shape, outer: number, inner: number): Tensor {
  const k = kernelsFor(...tensors.map((t) => t.storage));
  const out = k.alloc(tensors[0].dtype, sizeOf(shape));
  const total = shape[ax];
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    if (!k.ext.catPiece?.(k.on(t.storage), out, outer, t.shape[ax] * inner, total * inner, at * inner))
      throw new Error(
        `cat: joining tensors on ${k.device} needs its catPiece kernel, which it does not have; move them with await t.to('cpu')`,
      );
    at += t.shape[ax];
  }
  return record('cat', [...tensors], new Tensor(out, shape), (g) =>
    tensors.map((t, i) => (t.requiresGrad ? sliceAxis(g, ax, offsets[i], t.shape[ax]) : null)),
  );
}

/** Join tensors of one shape along a new axis (torch.stack); `axis` is in [−(rank + 1), rank]. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('stack: tensors is an empty list, expected at least one tensor');
  const first = tensors[0];
  const ax = axisOf('stack', axis, first.ndim, 'axis', 1);
  tensors.forEach((t, i) => {
    if (!shapeEq(t.shape, first.shape))
      throw new ShapeError(`stack: tensor ${i} has shape ${fmtShape(t.shape)}, expected ${fmtShape(first.shape)} like tensor 0`);
    if (t.dtype !== first.dtype)
      throw new TypeError(`stack: tensor ${i} is ${t.dtype}, expected ${first.dtype} like tensor 0; convert it with .to()`);
  });
  return cat(
    tensors.map((t) => unsqueeze(t, ax)),
    ax,
  );
}

/**
 * Cut along `axis` (torch.split): a number gives pieces of that size (the last one smaller when the
 * size does not divide the axis); an array gives the size of every piece, summing to the axis.
 */
export function split(x: Tensor, sizeOrSections: number | readonly number[], axis = 0): Tensor[] {
  const ax = axisOf('split', axis, x.ndim);
  const n = x.shape[ax];
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    const s = sizeOrSections;
    if (!Number.isInteger(s) || s < 0 || (s === 0 && n !== 0)) throw new RangeError(`split: size is ${s}, expected a positive integer`);
    if (n === 0) return [x];
    sizes = [];
    for (let at = 0; at < n; at += s) sizes.push(Math.min(s, n - at));
  } else {
    sizes = [...sizeOrSections];
    sizes.forEach((s, i) => {
      if (!Number.isInteger(s) || s < 0) throw new RangeError(`split: sections[${i}] is ${s}, expected a non-negative integer`);
    });
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== n) throw new RangeError(`split: sections ${fmtShape(sizes)} sum to ${total}, expected ${n} (the size of axis ${ax})`);
  }
  if (sizes.length === 1) return [x];
  const starts: number[] = [];
  let at = 0;
  for (const s of sizes) {
    starts.push(at);
    at += s;
  }
  const pieces = noGrad(() => sizes.map((s, i) => sliceAxis(x, ax, starts[i], s)));
  // one node for all pieces: their gradients are joined by one cat (zeros for a piece none reached)
  // rather than each piece's gradient written into a full-size zero tensor and the pieces' sums added
  return recordParts('split', [x], pieces, (gs) => [
    cat(
      gs.map((g, i) => g ?? full(pieces[i].shape, 0, { dtype: x.dtype })),
      ax,
    ),
  ]);
}

/**
 * Cut into `chunks` pieces along `axis` (torch.chunk): each of size ⌈n / chunks⌉ but the last, so
 * there may be fewer pieces than asked when n does not divide evenly (7 into 4: 2, 2, 2, 1; 6 into
 * 4: 2, 2, 2).
 */
export function chunk(x: Tensor, chunks: number, axis = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`chunk: chunks is ${chunks}, expected a positive integer`);
  const ax = axisOf('chunk', axis, x.ndim);
  const n = x.shape[ax];
  return split(x, n === 0 ? 0 : Math.ceil(n / chunks), ax);
}

// ---------------------------------------------------------------- gather and indexSelect

/** Nested arrays of integers (an index given without building a tensor). */
export type IndexArray = number | readonly IndexArray[];

function indexTensor(index: Tensor | IndexArray): Tensor {
  return index instanceof Tensor ? index : tensor(index, { dtype: 'float64' });
}

function fmtPos(flat: number, shape: Shape): string {
  const pos: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    pos.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `[${pos.join(', ')}]`;
}

/**
 * torch.gather: out[i][j][k] = x[index[i][j][k]][j][k] for axis 0 (and likewise for the others).
 * `index` has the rank of x, is no larger than x on every other axis, and holds integers in
 * [0, n − 1] for an axis of size n; the output has its shape. Indices may repeat (their gradients add).
 */
export function gather(x: Tensor, axis: number, index: Tensor | IndexArray): Tensor {
  const idx = indexTensor(index);
  const ax = axisOf('gather', axis, x.ndim);
  if (idx.ndim !== x.ndim)
    throw new ShapeError(`gather: index has shape ${fmtShape(idx.shape)}, expected rank ${x.ndim} like the input ${fmtShape(x.shape)}`);
  for (let d = 0; d < x.ndim; d++) {
    if (d !== ax && idx.shape[d] > x.shape[d]) {
      throw new ShapeError(
        `gather: index has shape ${fmtShape(idx.shape)}, expected at most ${x.shape[d]} on axis ${d} (the input is ${fmtShape(x.shape)}; only axis ${ax} may be larger)`,
      );
    }
  }
  const n = x.shape[ax];
  const xs = stridesOf(x.shape);
  const strides = xs.map((s, d) => (d === ax ? 0 : s));
  const map = stridedMap(idx.shape, 0, strides);
  const v = idx.data;
  for (let i = 0; i < map.length; i++) {
    const j = v[i];
    if (!Number.isInteger(j) || j < 0 || j >= n) {
      throw new RangeError(
        `gather: index${fmtPos(i, idx.shape)} is ${j}, expected an integer in [0, ${n - 1}] (axis ${ax} of the input has size ${n})`,
      );
    }
    map[i] += j * xs[ax];
  }
  return take(x, map, idx.shape, 'gather');
}

/**
 * torch.index_select: the entries of x at positions `index` (integers in [0, n − 1], repeats
 * allowed) along `axis`; the output has x's shape with that axis replaced by index's length.
 */
export function indexSelect(x: Tensor, axis: number, index: Tensor | ArrayLike<number>): Tensor {
  const ax = axisOf('indexSelect', axis, x.ndim);
  if (index instanceof Tensor && index.ndim > 1)
    throw new ShapeError(`indexSelect: index has shape ${fmtShape(index.shape)}, expected one dimension`);
  const v = index instanceof Tensor ? index.data : index;
  const n = x.shape[ax],
    len = v.length;
  const outer = sizeOf(x.shape.slice(0, ax)),
    inner = sizeOf(x.shape.slice(ax + 1));
  const shape = [...x.shape];
  shape[ax] = len;
  const map = new Int32Array(outer * len * inner);
  for (let j = 0; j < len; j++) {
    const k = v[j];
    if (!Number.isInteger(k) || k < 0 || k >= n)
      throw new RangeError(
        `indexSelect: index[${j}] is ${k}, expected an integer in [0, ${n - 1}] (axis ${ax} of the input has size ${n})`,
      );
    for (let o = 0; o < outer; o++) {
      const to = (o * len + j) * inner,
        from = (o * n + k) * inner;
      for (let i = 0; i < inner; i++) map[to + i] = from + i;
    }
  }
  return take(x, map, shape, 'indexSelect');
}

// ---------------------------------------------------------------- where, clamp, masks

/** The common broadcast shape of named operands; the error names the operand that does not fit. */
function broadcastAll(op: string, named: readonly [string, Shape][]): number[] {
  let acc: number[] = [];
  named.forEach(([name, shape], k) => {
    try {
      acc = broadcastShapes(acc, shape, op);
    } catch {
      const before = named
        .slice(0, k)
        .map(([n, s]) => `${n} ${fmtShape(s)}`)
        .join(', ');
      throw new ShapeError(
        `${op}: ${name} has shape ${fmtShape(shape)}, expected a shape that broadcasts with ${fmtShape(acc)} (${before}): each axis equal or 1, aligned from the right`,
      );
    }
  });
  return acc;
}

/** t's values broadcast to `shape`, as one array (t's own storage when the shapes agree). */
function expand(t: Tensor, shape: Shape): HostStorage {
  if (shapeEq(t.shape, shape)) return t.data;
  const n = sizeOf(shape);
  const out = allocStorage(t.dtype, n);
  if (t.size === 1) return out.fill(t.data[0]);
  const map = stridedMap(shape, 0, broadcastStrides(t.shape, shape));
  for (let i = 0; i < n; i++) out[i] = t.data[map[i]];
  return out;
}

/**
 * torch.where: a where cond is non-zero, else b, all three broadcast together. cond carries no
 * gradient; a and b (tensors or numbers) get theirs where they were chosen.
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = pair(a, b, 'where', cond.dtype);
  const shape = broadcastAll('where', [
    ['cond', cond.shape],
    ['a', x.shape],
    ['b', y.shape],
  ]);
  const n = sizeOf(shape);
  const k = kernelsFor(cond.storage, x.storage, y.storage);
  if (k.device !== null) {
    // on a device: the backend's where kernel, the three operands broadcast in place
    const out = k.alloc(x.dtype, n);
    if (!k.ext.where?.(k.on(cond.storage), cond.shape, k.on(x.storage), x.shape, k.on(y.storage), y.shape, out, shape))
      throw new Error(
        `where: the ${k.backend.name} backend declined cond ${fmtShape(cond.shape)}, a ${fmtShape(x.shape)}, b ${fmtShape(y.shape)}`,
      );
    return record('where', [x, y], new Tensor(out, shape), (g) => [
      x.requiresGrad ? sumTo(where(cond, g, 0), x.shape) : null,
      y.requiresGrad ? sumTo(where(cond, 0, g), y.shape) : null,
    ]);
  }
  const c = expand(cond, shape),
    xd = expand(x, shape),
    yd = expand(y, shape);
  const out = allocStorage(x.dtype, n);
  for (let i = 0; i < n; i++) out[i] = c[i] !== 0 ? xd[i] : yd[i];
  return record('where', [x, y], new Tensor(out, shape), (g) => [
    x.requiresGrad ? sumTo(where(cond, g, 0), x.shape) : null,
    y.requiresGrad ? sumTo(where(cond, 0, g), y.shape) : null,
  ]);
}

/**
 * torch.clamp: min(max(x, min), max), with either bound a number, a tensor (broadcast with x) or
 * null/undefined for none (at least one is needed); when min > max the result is max, and a NaN
 * bound gives NaN, as in PyTorch. Gradients as PyTorch's: x's where min ≤ x ≤ max, min's where
 * x < min < max, max's where x > max or max < min.
 */
export function clamp(x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  if (min == null && max == null)
    throw new TypeError('clamp: min and max are both missing, expected at least one bound (a number or a tensor)');
  const lo = min == null ? null : liftTo(min, x.dtype);
  const hi = max == null ? null : liftTo(max, x.dtype);
  for (const [name, b] of [
    ['min', lo],
    ['max', hi],
  ] as const) {
    if (b && b.dtype !== x.dtype) throw new TypeError(`clamp: ${name} is ${b.dtype}, expected ${x.dtype} like x; convert it with .to()`);
  }
  const inputs = [x, ...(lo ? [lo] : []), ...(hi ? [hi] : [])];
  const shape = broadcastAll('clamp', [
    ['x', x.shape],
    ...(lo ? [['min', lo.shape] as [string, Shape]] : []),
    ...(hi ? [['max', hi.shape] as [string, Shape]] : []),
  ]);
  const n = sizeOf(shape);
  const none = (v: number) => full(shape, v, { dtype: x.dtype });
  const xd = expand(x, shape),
    ld = expand(lo ?? none(-Infinity), shape),
    hd = expand(hi ?? none(Infinity), shape);
  const out = allocStorage(x.dtype, n);
  for (let i = 0; i < n; i++) {
    const l = ld[i],
      h = hd[i];
    let v = xd[i];
    v = l !== l ? l : v < l ? l : v;
    out[i] = h !== h ? h : v > h ? h : v;
  }
  return record('clamp', inputs, new Tensor(out, shape), (g) => {
    const route = (t: Tensor, pick: (v: number, l: number, h: number) => boolean) => {
      const m = allocStorage(x.dtype, n);
      for (let i = 0; i < n; i++) m[i] = pick(xd[i], ld[i], hd[i]) ? 1 : 0;
      return sumTo(where(new Tensor(m, shape), g, 0), t.shape);
    };
    const gs: (Tensor | null)[] = [x.requiresGrad ? route(x, (v, l, h) => v >= l && v <= h) : null];
    if (lo) gs.push(lo.requiresGrad ? route(lo, (v, l, h) => v < l && l < h) : null);
    if (hi) gs.push(hi.requiresGrad ? route(hi, (v, l, h) => v > h || h < l) : null);
    return gs;
  });
}

type Relation = 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne' | 'logicalAnd' | 'logicalOr';

/** A 0/1 tensor of a relation between a and b, broadcast (one loop per relation, so each stays monomorphic). */
function compare(op: Relation, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = pair(a, b, op);
  const shape = broadcastAll(op, [
    ['a', x.shape],
    ['b', y.shape],
  ]);
  const n = sizeOf(shape);
  const p = expand(x, shape),
    q = expand(y, shape);
  const o = allocStorage(x.dtype, n);
  switch (op) {
    case 'gt':
      for (let i = 0; i < n; i++) o[i] = p[i] > q[i] ? 1 : 0;
      break;
    case 'ge':
      for (let i = 0; i < n; i++) o[i] = p[i] >= q[i] ? 1 : 0;
      break;
    case 'lt':
      for (let i = 0; i < n; i++) o[i] = p[i] < q[i] ? 1 : 0;
      break;
    case 'le':
      for (let i = 0; i < n; i++) o[i] = p[i] <= q[i] ? 1 : 0;
      break;
    case 'eq':
      for (let i = 0; i < n; i++) o[i] = p[i] === q[i] ? 1 : 0;
      break;
    case 'ne':
      for (let i = 0; i < n; i++) o[i] = p[i] !== q[i] ? 1 : 0;
      break;
    case 'logicalAnd':
      for (let i = 0; i < n; i++) o[i] = p[i] !== 0 && q[i] !== 0 ? 1 : 0;
      break;
    case 'logicalOr':
      for (let i = 0; i < n; i++) o[i] = p[i] !== 0 || q[i] !== 0 ? 1 : 0;
      break;
  }
  return new Tensor(o, shape);
}

/** a > b elementwise with broadcasting: 1 where true, 0 elsewhere (no gradient). */
export function gt(a: TensorLike, b: TensorLike): Tensor {
  return compare('gt', a, b);
}
/** a ≥ b elementwise with broadcasting: 1 where true, 0 elsewhere (no gradient). */
export function ge(a: TensorLike, b: TensorLike): Tensor {
  return compare('ge', a, b);
}
/** a < b elementwise with broadcasting: 1 where true, 0 elsewhere (no gradient). */
export function lt(a: TensorLike, b: TensorLike): Tensor {
  return compare('lt', a, b);
}
/** a ≤ b elementwise with broadcasting: 1 where true, 0 elsewhere (no gradient). */
export function le(a: TensorLike, b: TensorLike): Tensor {
  return compare('le', a, b);
}
/** a = b elementwise with broadcasting: 1 where true, 0 elsewhere (NaN equals nothing; no gradient). */
export function eq(a: TensorLike, b: TensorLike): Tensor {
  return compare('eq', a, b);
}
/** a ≠ b elementwise with broadcasting: 1 where true, 0 elsewhere (NaN differs from everything; no gradient). */
export function ne(a: TensorLike, b: TensorLike): Tensor {
  return compare('ne', a, b);
}
/** 1 where both a and b are non-zero (torch.logical_and), with broadcasting. */
export function logicalAnd(a: TensorLike, b: TensorLike): Tensor {
  return compare('logicalAnd', a, b);
}
/** 1 where a or b is non-zero (torch.logical_or), with broadcasting. */
export function logicalOr(a: TensorLike, b: TensorLike): Tensor {
  return compare('logicalOr', a, b);
}
/** 1 where x is zero, 0 elsewhere (torch.logical_not). */
export function logicalNot(x: Tensor): Tensor {
  const o = allocStorage(x.dtype, x.size);
  for (let i = 0; i < x.size; i++) o[i] = x.data[i] === 0 ? 1 : 0;
  return new Tensor(o, x.shape);
}

/** x with `value` wherever mask is non-zero (torch.masked_fill); mask broadcasts to x's shape. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  let shape: Shape = [];
  try {
    shape = broadcastShapes(x.shape, mask.shape, 'maskedFill');
  } catch {
    /* reported below */
  }
  if (!shapeEq(shape, x.shape))
    throw new ShapeError(
      `maskedFill: mask has shape ${fmtShape(mask.shape)}, expected a shape that broadcasts to x's ${fmtShape(x.shape)}`,
    );
  return where(mask, value, x);
}

// ---------------------------------------------------------------- min, argmin, topk, sort

/** Min over one axis, the gradient flowing to the (first) arg-min; without an axis the smallest element, as max without one. */
export function min(x: Tensor, axis?: number, keepdim = false): Tensor {
  if (axis === undefined) {
    nonEmptyTensor(x, 'min');
    return neg(max(neg(x), undefined, keepdim));
  }
  axisOf('min', axis, x.ndim);
  nonEmptyAxis(x, axis, 'min');
  return neg(max(neg(x), axis, keepdim));
}

/**
 * Index of the minimum, no gradient: without an axis the index into the flattened tensor
 * (torch.argmin(x)), along `axis` one per element of the other axes in row-major order. The first
 * of equal minima; a NaN counts as the minimum, as in PyTorch.
 */
export function argmin(x: Tensor): number;
export function argmin(x: Tensor, axis: number): Int32Array;
export function argmin(x: Tensor, axis?: number): number | Int32Array;
export function argmin(x: Tensor, axis?: number): number | Int32Array {
  if (axis === undefined) return argminRows(x.data, 1, nonEmptyTensor(x, 'argmin'), 1)[0];
  const ax = axisOf('argmin', axis, x.ndim);
  nonEmptyAxis(x, axis, 'argmin');
  return argminRows(x.data, sizeOf(x.shape.slice(0, ax)), x.shape[ax], sizeOf(x.shape.slice(ax + 1)));
}

/** argmin over the middle axis of `a` seen as [outer, len, inner]. */
function argminRows(a: ArrayLike<number>, outer: number, len: number, inner: number): Int32Array {
  const arg = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let best = a[base],
        bi = 0;
      for (let j = 1; j < len && best === best; j++) {
        const v = a[base + j * inner];
        if (v < best || v !== v) {
          best = v;
          bi = j;
        }
      }
      arg[o * inner + i] = bi;
    }
  }
  return arg;
}

/** Values and positions: the result of topk and sort. */
export interface ValuesIndices {
  /** The selected values (differentiable: the gradient flows back to their positions). */
  values: Tensor;
  /** Their positions along the axis, as integers in the values' dtype (no gradient). */
  indices: Tensor;
}

/**
 * torch.topk: the k largest (or, with largest = false, smallest) entries along `axis`, sorted
 * (largest first, or smallest first), with their positions. NaN counts as larger than every number,
 * as in PyTorch. Equal values come in order of position (PyTorch leaves their order unspecified).
 */
export function topk(x: Tensor, k: number, axis = -1, largest = true): ValuesIndices {
  const ax = axisOf('topk', axis, x.ndim);
  const n = x.shape[ax];
  if (!Number.isInteger(k) || k < 0 || k > n)
    throw new RangeError(`topk: k is ${k}, expected an integer in [0, ${n}] (axis ${ax} has size ${n})`);
  if (x.dtype === 'float32' && n > 2 ** 24)
    throw new RangeError(
      `topk: axis ${ax} has size ${n}, expected at most 2^24 for float32 indices to be exact; convert x with .to('float64')`,
    );
  const outer = sizeOf(x.shape.slice(0, ax)),
    inner = sizeOf(x.shape.slice(ax + 1));
  const shape = [...x.shape];
  shape[ax] = k;
  const map = new Int32Array(outer * k * inner);
  const pos = allocStorage(x.dtype, map.length);
  // `before(u, p, w, q)`: the value u at position p ranks ahead of w at q — NaN first when largest
  // (last otherwise), then by value, then by position, so the order is total and ties keep theirs
  const before = largest
    ? (u: number, p: number, w: number, q: number) =>
        u !== u ? (w !== w && p < q) || w === w : w !== w ? false : u > w || (u === w && p < q)
    : (u: number, p: number, w: number, q: number) => (u !== u ? w !== w && p < q : w !== w ? true : u < w || (u === w && p < q));
  const vals = new Float64Array(n);
  const best = new Int32Array(k);
  const select = k * 8 <= n; // few of many: keep a sorted list of the best k, one pass
  const order = select ? null : Array.from({ length: n }, (_, j) => j);
  const a = x.data;
  for (let o = 0; o < outer && k > 0; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      for (let j = 0; j < n; j++) vals[j] = a[base + j * inner];
      if (order) {
        for (let j = 0; j < n; j++) order[j] = j;
        order.sort((p, q) => (before(vals[p], p, vals[q], q) ? -1 : 1));
        for (let j = 0; j < k; j++) best[j] = order[j];
      } else {
        let count = 0;
        for (let j = 0; j < n; j++) {
          const u = vals[j];
          if (count === k && !before(u, j, vals[best[k - 1]], best[k - 1])) continue;
          let at = count < k ? count++ : k - 1;
          for (; at > 0 && before(u, j, vals[best[at - 1]], best[at - 1]); at--) best[at] = best[at - 1];
          best[at] = j;
        }
      }
      for (let j = 0; j < k; j++) {
        const at = (o * k + j) * inner + i;
        map[at] = base + best[j] * inner;
        pos[at] = best[j];
      }
    }
  }
  return { values: take(x, map, shape, 'topk'), indices: new Tensor(pos, shape) };
}

/** torch.sort(stable=True): all entries along `axis` in ascending (or descending) order, with their positions. */
export function sort(x: Tensor, axis = -1, descending = false): ValuesIndices {
  const ax = axisOf('sort', axis, x.ndim);
  return topk(x, x.shape[ax], ax, descending);
}
