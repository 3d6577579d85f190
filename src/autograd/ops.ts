/**
 * Differentiable ops. Each one computes its value through the backend, then records its local
 * derivative right beside it (micrograd's habit), written in these same ops so that it can itself be
 * differentiated.
 */
import { Tensor, allocStorage, full, type DType, type HostStorage } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { type Shape, broadcastShapes, fmtShape, mergeDims, normAxis, shapeEq, sizeOf, stridesOf, ShapeError } from '../tensor/shape.js';
import {
  LINEAR_ACTIVATION_DERIV,
  isSmoothLinearActivation,
  kernelsFor,
  type BinaryOp,
  type LinearActivation,
  type UnaryOp,
} from '../backend/index.js';
import { broadcastStrides } from '../backend/reference.js';
import { record, isGradEnabled, _setAdd, _setAddInPlace, _setCopy } from './engine.js';
// Tensor methods (x.add(y), loss.backward()) come with the ops, whichever module is imported first.
import './methods.js';
import { batchedMatmul } from './batched.js';
import { smoothActivationGrad } from './activations.js';

export type TensorLike = Tensor | number;

function lift(x: TensorLike, dtype: DType): Tensor {
  return typeof x === 'number' ? full([], x, { dtype }) : x;
}

function lift2(a: TensorLike, b: TensorLike, op: string): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') return [full([], a), full([], b)];
  const dtype = typeof a === 'number' ? (b as Tensor).dtype : a.dtype;
  const ta = lift(a, dtype);
  const tb = lift(b, dtype);
  if (ta.dtype !== tb.dtype) throw new TypeError(`${op}: dtype mismatch (${ta.dtype} vs ${tb.dtype}); convert one with .to()`);
  return [ta, tb];
}

// Every op runs where its operands live (kernelsFor): on a device its output is allocated there and
// a host operand (a lifted scalar, a mask) is uploaded; on the host, by the current backend.

/** op(a, b) by the backend where the operands live, broadcasting; nothing recorded. */
export function rawBinary(op: BinaryOp, a: Tensor, b: Tensor, name: string): Tensor {
  const shape = shapeEq(a.shape, b.shape) ? a.shape : broadcastShapes(a.shape, b.shape, name);
  const k = kernelsFor(a.storage, b.storage);
  const out = k.alloc(a.dtype, sizeOf(shape));
  k.backend.binary(op, k.on(a.storage), a.shape, k.on(b.storage), b.shape, out, shape);
  return new Tensor(out, shape);
}

/** Zeros of x's shape and dtype where x lives. */
function zerosWhere(x: Tensor): Tensor {
  const z = full(x.shape, 0, { dtype: x.dtype });
  return isDeviceStorage(x.storage) ? new Tensor(kernelsFor(x.storage).on(z.data), x.shape) : z;
}

/** op(a) by the backend where a lives, with the op's scalars `p` (see UnaryOp); nothing recorded. */
export function rawUnary(op: UnaryOp, a: Tensor, p?: readonly number[]): Tensor {
  const k = kernelsFor(a.storage);
  const out = k.alloc(a.dtype, a.size);
  k.backend.unary(op, a.storage, out, p);
  return new Tensor(out, a.shape);
}

// ---------------------------------------------------------------- shape ops

/** Sum a broadcast gradient back down to `shape`. */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (shapeEq(x.shape, shape)) return x;
  const lead = x.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.ndim; i++) if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  const k = kernelsFor(x.storage);
  const out = k.alloc(x.dtype, sizeOf(shape));
  k.backend.sum(x.storage, x.shape, axes, out);
  const y = new Tensor(out, shape);
  return record('sumTo', [x], y, (g) => [broadcastTo(g, x.shape)]);
}

/** Stretch dimensions of size 1 (and add leading ones) to reach `shape`. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (shapeEq(x.shape, shape)) return x;
  const target = broadcastShapes(x.shape, shape, 'broadcastTo');
  if (!shapeEq(target, shape)) throw new ShapeError(`broadcastTo: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  const n = sizeOf(shape);
  if (isDeviceStorage(x.storage)) {
    // on a device: 0 + x with the kernel's broadcasting (zero-filled storage of the target shape)
    const k = kernelsFor(x.storage);
    const out = k.alloc(x.dtype, n);
    k.backend.binary('add', k.alloc(x.dtype, n), shape, x.storage, x.shape, out, shape);
    return record('broadcastTo', [x], new Tensor(out, shape), (g) => [sumTo(g, x.shape)]);
  }
  const out = allocStorage(x.dtype, n);
  if (x.size === 1) out.fill(x.data[0]);
  else {
    const st = broadcastStrides(x.shape, shape);
    const rank = shape.length;
    // the trailing dimensions x has in full are contiguous in it: copied as runs, the odometer
    // below stepping once per run (per element it cost ~5 ns, W6's mean over tokens 230k of them)
    let inner = rank,
      run = 1;
    while (inner > 0 && (st[inner - 1] !== 0 || shape[inner - 1] === 1)) run *= shape[--inner];
    const xd = x.data;
    const idx = new Array<number>(inner).fill(0);
    let off = 0;
    for (let o = 0; o < n; o += run) {
      for (let j = 0; j < run; j++) out[o + j] = xd[off + j];
      for (let d = inner - 1; d >= 0; d--) {
        idx[d]++;
        off += st[d];
        if (idx[d] < shape[d]) break;
        off -= st[d] * shape[d];
        idx[d] = 0;
      }
    }
  }
  return record('broadcastTo', [x], new Tensor(out, shape), (g) => [sumTo(g, x.shape)]);
}

/** Same data, new shape; one dimension may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== neg));
    s[neg] = rest === 0 ? 0 : x.size / rest;
  }
  if (sizeOf(s) !== x.size || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`reshape: cannot view ${fmtShape(x.shape)} (${x.size} elements) as ${fmtShape(shape)}`);
  }
  // a view: the same storage (host or device) under another shape
  return record('reshape', [x], new Tensor(x.storage, s), (g) => [reshape(g, x.shape)]);
}

/** Reorder dimensions (a copy: tensors are always contiguous). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim || new Set(dims).size !== dims.length)
    throw new ShapeError(`permute: dims ${fmtShape(dims)} do not match rank ${x.ndim}`);
  const d = dims.map((a) => normAxis(a, x.ndim, 'permute'));
  const shape = d.map((a) => x.shape[a]);
  const inStrides = new Array<number>(x.ndim);
  let acc = 1;
  for (let i = x.ndim - 1; i >= 0; i--) {
    inStrides[i] = acc;
    acc *= x.shape[i];
  }
  const inv = new Array<number>(d.length);
  d.forEach((a, i) => (inv[a] = i));
  if (isDeviceStorage(x.storage)) {
    // on a device: the backend's permute kernel, else scatterPlanes (max pooling's backward) over
    // one plane with the map of each input element to its output offset, uploaded
    const k = kernelsFor(x.storage);
    const dev = k.alloc(x.dtype, x.size);
    if (!k.ext.permute?.(x.storage, x.shape, d, dev)) {
      const to = new Int32Array(x.size);
      const outStrides = new Array<number>(x.ndim);
      d.forEach((a, i) => (outStrides[a] = stridesOf(shape)[i]));
      const at = new Array<number>(x.ndim).fill(0);
      for (let i = 0, o = 0; i < x.size; i++) {
        to[i] = o;
        for (let a = x.ndim - 1; a >= 0; a--) {
          o += outStrides[a];
          if (++at[a] < x.shape[a]) break;
          o -= outStrides[a] * x.shape[a];
          at[a] = 0;
        }
      }
      k.backend.scatterPlanes(x.storage, k.onIndex(to), dev, 1, x.size, x.size);
    }
    return record('permute', [x], new Tensor(dev, shape), (g) => [permute(g, inv)]);
  }
  const out = allocStorage(x.dtype, x.size);
  // a host backend's permute kernel (wasm), else the loop below
  const k = kernelsFor(x.storage);
  if (k.device !== null || !k.ext.permute?.(x.storage, x.shape, d, out))
    permuteInto(
      x.data,
      out,
      shape,
      d.map((a) => inStrides[a]),
    );
  return record('permute', [x], new Tensor(out, shape), (g) => [permute(g, inv)]);
}

/**
 * out (contiguous, of `shape`) ← src read with the strides `st` of each output dimension. Output
 * dimensions that are contiguous in src too are merged first, so a permutation that keeps the
 * innermost dimensions together (attention's heads split [N, L, H, D] → [N, H, L, D]) copies runs of
 * them in one plain loop rather than stepping an index per element.
 */
function permuteInto(src: HostStorage, out: HostStorage, shape: readonly number[], st: readonly number[]): void {
  const { dims, strides } = mergeDims(shape, st);
  const r = dims.length;
  if (r === 0) {
    if (out.length) out[0] = src[0];
    return;
  }
  // runs of the innermost dimension: contiguous in src (stride 1) or strided
  const run = dims[r - 1],
    step = strides[r - 1];
  const outer = out.length / run;
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let o = 0, at = 0; o < outer; o++, at += run) {
    if (step === 1) for (let j = 0; j < run; j++) out[at + j] = src[off + j];
    else for (let j = 0, q = off; j < run; j++, q += step) out[at + j] = src[q];
    for (let k = r - 2; k >= 0; k--) {
      off += strides[k];
      if (++idx[k] < dims[k]) break;
      off -= strides[k] * dims[k];
      idx[k] = 0;
    }
  }
}

/** Transpose of a matrix. */
export function t(x: Tensor): Tensor {
  if (x.ndim !== 2) throw new ShapeError(`t: expected a matrix, got shape ${fmtShape(x.shape)}`);
  return permute(x, [1, 0]);
}

/** A copy converted to `dtype` (the gradient is converted back). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out = allocStorage(dtype, x.size);
  out.set(x.data);
  return record('cast', [x], new Tensor(out, x.shape), (g) => [cast(g, x.dtype)]);
}

// ---------------------------------------------------------------- elementwise

export function add(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2(a, b, 'add');
  return record('add', [x, y], rawBinary('add', x, y, 'add'), (g) => [
    x.requiresGrad ? sumTo(g, x.shape) : null,
    y.requiresGrad ? sumTo(g, y.shape) : null,
  ]);
}
_setAdd(add);
_setAddInPlace((buf, g) => {
  const k = kernelsFor(buf.storage, g.storage);
  k.backend.binary('add', k.on(buf.storage), buf.shape, k.on(g.storage), g.shape, buf.storage, buf.shape);
});
// a copy where the tensor lives (the engine's own copy of a gradient handed to two leaves)
_setCopy((g) => (isDeviceStorage(g.storage) ? rawUnary('neg', rawUnary('neg', g)) : g.clone()));

export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2(a, b, 'sub');
  return record('sub', [x, y], rawBinary('sub', x, y, 'sub'), (g) => [
    x.requiresGrad ? sumTo(g, x.shape) : null,
    y.requiresGrad ? sumTo(neg(g), y.shape) : null,
  ]);
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2(a, b, 'mul');
  return record('mul', [x, y], rawBinary('mul', x, y, 'mul'), (g) => [
    x.requiresGrad ? sumTo(mul(g, y), x.shape) : null,
    y.requiresGrad ? sumTo(mul(g, x), y.shape) : null,
  ]);
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2(a, b, 'div');
  return record('div', [x, y], rawBinary('div', x, y, 'div'), (g) => [
    x.requiresGrad ? sumTo(div(g, y), x.shape) : null,
    y.requiresGrad ? sumTo(neg(div(mul(g, x), square(y))), y.shape) : null,
  ]);
}

/**
 * Elementwise maximum. The gradient goes to the larger input, and is split half and half where
 * a = b (PyTorch's torch.maximum rule; a NaN compares neither way, so both get all of it there).
 */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2(a, b, 'maximum');
  const out = rawBinary('max', x, y, 'maximum');
  return record('maximum', [x, y], out, (g) => {
    const share = mul(g, sub(1, mul(rawBinary('eq', x, y, 'maximum'), 0.5))); // g/2 at ties
    return [
      x.requiresGrad ? sumTo(mul(share, sub(1, rawBinary('lt', x, y, 'maximum'))), x.shape) : null,
      y.requiresGrad ? sumTo(mul(share, sub(1, rawBinary('gt', x, y, 'maximum'))), y.shape) : null,
    ];
  });
}

export function neg(x: Tensor): Tensor {
  return record('neg', [x], rawUnary('neg', x), (g) => [neg(g)]);
}

export function exp(x: Tensor): Tensor {
  const out = rawUnary('exp', x);
  return record('exp', [x], out, (g) => [mul(g, out)]);
}

export function log(x: Tensor): Tensor {
  return record('log', [x], rawUnary('log', x), (g) => [div(g, x)]);
}

export function sqrt(x: Tensor): Tensor {
  const out = rawUnary('sqrt', x);
  return record('sqrt', [x], out, (g) => [div(mul(g, 0.5), out)]);
}

export function square(x: Tensor): Tensor {
  return record('square', [x], rawUnary('square', x), (g) => [mul(g, mul(x, 2))]);
}

/**
 * x ** p for a constant exponent p; d/dx = p·x^(p−1), and 0 for p = 0 (PyTorch's rule: x⁰ is
 * constant, so x = 0 gets 0, not 0·0⁻¹ = NaN).
 */
export function pow(x: Tensor, p: number): Tensor {
  if (typeof p !== 'number')
    throw new TypeError(
      `pow: expected a number exponent, got ${(p as unknown) instanceof Tensor ? `a Tensor of shape ${fmtShape((p as unknown as Tensor).shape)}` : typeof p}`,
    );
  if (p === 2) return square(x);
  if (p === 1) return x;
  const out = rawBinary('pow', x, full([], p, { dtype: x.dtype }), 'pow');
  if (p === 0) return record('pow', [x], out, () => [zerosWhere(x)]);
  return record('pow', [x], out, (g) => [mul(g, mul(pow(x, p - 1), p))]);
}

export function abs(x: Tensor): Tensor {
  return record('abs', [x], rawUnary('abs', x), (g) => [mul(g, rawUnary('sign', x))]);
}

/** sign(x), with zero gradient everywhere (as in PyTorch). */
export function sign(x: Tensor): Tensor {
  return rawUnary('sign', x);
}

export function relu(x: Tensor): Tensor {
  return record('relu', [x], rawUnary('relu', x), (g) => [reluGrad(g, x)]);
}

/**
 * ReLU's backward in one pass: g where y > 0, else 0 (y is ReLU's input or output: both are
 * positive at the same places). Linear in g; its derivative in y is zero almost everywhere, as
 * for ReLU itself, so only g gets a gradient.
 */
export function reluGrad(g: Tensor, y: Tensor): Tensor {
  return record('reluGrad', [g], rawBinary('reluGrad', g, y, 'reluGrad'), (gg) => [reluGrad(gg, y)]);
}

export function sigmoid(x: Tensor): Tensor {
  const out = rawUnary('sigmoid', x);
  return record('sigmoid', [x], out, (g) => [mul(g, mul(out, sub(1, out)))]);
}

export function tanh(x: Tensor): Tensor {
  const out = rawUnary('tanh', x);
  return record('tanh', [x], out, (g) => [mul(g, sub(1, square(out)))]);
}

// ---------------------------------------------------------------- reductions

/** `axis` as sorted distinct axes of x (all by default); `what` names the op in a range error. */
/** The reduced axes of x: all when `axis` is undefined, else the given ones normalised, sorted, without repeats; `what` names the op in errors. */
export function axesOf(x: Tensor, axis: number | readonly number[] | undefined, what: string): number[] {
  if (axis === undefined) return x.shape.map((_, i) => i);
  const list = typeof axis === 'number' ? [axis] : [...axis];
  return [...new Set(list.map((a) => normAxis(a, x.ndim, what)))].sort((p, q) => p - q);
}

/** Sum over `axis` (all axes by default). */
export function sum(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const axes = axesOf(x, axis, 'sum');
  const kshape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const shape = keepdim ? kshape : x.shape.filter((_, i) => !axes.includes(i));
  const k = kernelsFor(x.storage);
  const out = k.alloc(x.dtype, sizeOf(kshape));
  k.backend.sum(x.storage, x.shape, axes, out);
  return record('sum', [x], new Tensor(out, shape), (g) => [broadcastTo(reshape(g, kshape), x.shape)]);
}

export function mean(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const axes = axesOf(x, axis, 'mean');
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  return div(sum(x, axes, keepdim), count);
}

/** `axis` of x normalised; a ShapeError naming `what` where it is out of range or has no elements (PyTorch refuses both). */
export function nonEmptyAxis(x: Tensor, axis: number, what: string): number {
  const ax = normAxis(axis, x.ndim, what);
  if (x.ndim > 0 && x.shape[ax] === 0)
    throw new ShapeError(
      `${what}: axis ${axis} of a tensor of shape ${fmtShape(x.shape)} is empty, expected at least one element to reduce`,
    );
  return ax;
}

/** The size of a tensor reduced whole (max, argmax, argmin without an axis); an empty one is refused, as in PyTorch. */
export function nonEmptyTensor(x: Tensor, what: string): number {
  if (x.size === 0)
    throw new ShapeError(`${what}: the tensor of shape ${fmtShape(x.shape)} is empty, expected at least one element to reduce`);
  return x.size;
}

/**
 * Max over one axis, the gradient flowing to the (first) arg-max; without an axis the largest
 * element (torch.max(x)), a 0-d tensor (all ones with keepdim), whose gradient is shared evenly
 * among the elements equal to it — NaN ones where it is NaN — as PyTorch's evenly_distribute_backward.
 */
export function max(x: Tensor, axis?: number, keepdim = false): Tensor {
  if (axis === undefined) return maxAll(x, keepdim);
  const ax = nonEmptyAxis(x, axis, 'max');
  const kshape = x.shape.map((d, i) => (i === ax ? 1 : d));
  const shape = keepdim ? kshape : x.shape.filter((_, i) => i !== ax);
  const k = kernelsFor(x.storage);
  const out = k.alloc(x.dtype, sizeOf(kshape));
  const arg = k.allocIndex(out.length);
  k.backend.max(x.storage, x.shape, ax, out, arg);
  return record('max', [x], new Tensor(out, shape), (g) => {
    const inner0 = sizeOf(x.shape.slice(ax + 1));
    // on a device, the last axis: the gradient scattered to the arg-max (the adjoint of a gather per row)
    if (isDeviceStorage(arg) && inner0 === 1) return [scatterRows(reshape(g, kshape), arg, x.shape)];
    if (isDeviceStorage(arg))
      throw new Error(`max: the gradient over axis ${ax} of ${fmtShape(x.shape)} on ${arg.device} is taken over the last axis only`);
    const mask = allocStorage(x.dtype, x.size);
    const inner = sizeOf(x.shape.slice(ax + 1));
    const len = x.shape[ax];
    for (let i = 0; i < arg.length; i++) {
      const o = Math.floor(i / inner),
        r = i % inner;
      mask[(o * len + arg[i]) * inner + r] = 1;
    }
    return [mul(broadcastTo(reshape(g, kshape), x.shape), new Tensor(mask, x.shape))];
  });
}

function maxAll(x: Tensor, keepdim: boolean): Tensor {
  const k = kernelsFor(x.storage);
  const out = k.alloc(x.dtype, 1);
  k.backend.max(x.storage, [nonEmptyTensor(x, 'max')], 0, out, k.allocIndex(1));
  const top = new Tensor(out, []);
  return record(
    'max',
    [x],
    keepdim
      ? new Tensor(
          out,
          x.shape.map(() => 1),
        )
      : top,
    (g) => {
      // 1 where x equals the maximum, or where both are NaN; the gradient divided among them
      const nan = (t: Tensor) => sub(1, rawBinary('eq', t, t, 'max'));
      const hit = add(rawBinary('eq', x, top, 'max'), mul(nan(x), nan(top)));
      return [mul(reshape(g, []), div(hit, sum(hit)))];
    },
  );
}

/** gx[r, arg[r]] = g[r] for rows of `shape`'s last axis (max's backward on a device; its own backward is the gather). */
function scatterRows(g: Tensor, arg: import('../tensor/tensor.js').IndexStorage, shape: readonly number[]): Tensor {
  const len = shape[shape.length - 1];
  const k = kernelsFor(g.storage, arg);
  const out = k.alloc(g.dtype, sizeOf(shape));
  k.backend.scatterPlanes(k.on(g.storage), k.onIndex(arg), out, g.size, len, 1);
  return new Tensor(out, shape);
}

/**
 * Index of the maximum, no gradient. Without an axis: the index into the flattened tensor (row-major),
 * as torch.argmax(x). Along `axis`: one index per element of the other axes, in row-major order, as
 * torch.argmax(x, dim). The first of equal maxima; a NaN counts as the maximum, as in PyTorch.
 */
export function argmax(x: Tensor): number;
export function argmax(x: Tensor, axis: number): Int32Array;
export function argmax(x: Tensor, axis?: number): number | Int32Array;
export function argmax(x: Tensor, axis?: number): number | Int32Array {
  if (axis === undefined) {
    const arg = new Int32Array(1);
    kernelsFor().backend.max(x.data, [nonEmptyTensor(x, 'argmax')], 0, allocStorage(x.dtype, 1), arg);
    return arg[0];
  }
  const ax = nonEmptyAxis(x, axis, 'argmax');
  const n = x.size / x.shape[ax];
  const arg = new Int32Array(n);
  kernelsFor().backend.max(x.data, x.shape, ax, allocStorage(x.dtype, n), arg);
  return arg;
}

// ---------------------------------------------------------------- linear algebra

/**
 * op(a)·op(b) for matrices, where op transposes when asked. Transposed operands are read in place
 * by the kernel, so Linear's x·Wᵀ and the backward products make no copies.
 */
export function mm(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2) throw new ShapeError(`matmul: expected matrices, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.dtype !== b.dtype) throw new TypeError(`matmul: dtype mismatch (${a.dtype} vs ${b.dtype})`);
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [k2, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (k !== k2) {
    throw new ShapeError(
      `matmul: inner dimensions differ: ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} · ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''} (${k} vs ${k2})`,
    );
  }
  const kn = kernelsFor(a.storage, b.storage);
  const out = kn.alloc(a.dtype, m * n);
  kn.backend.matmul(kn.on(a.storage), kn.on(b.storage), out, m, n, k, transA, transB);
  return record('mm', [a, b], new Tensor(out, [m, n]), (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) ga = !transA ? mm(g, b, false, !transB) : mm(b, g, transB, true);
    if (b.requiresGrad) gb = !transB ? mm(a, g, !transA, false) : mm(g, a, true, transA);
    return [ga, gb];
  });
}

/**
 * A fully connected layer, x·wᵀ + b, optionally followed by an activation — ReLU, GELU ('gelu',
 * its tanh form 'geluTanh') or SiLU — as one op (PyTorch's F.linear and the activation, Keras'
 * Dense with its activation; fuse() turns a Linear followed by one of them into a module that runs
 * through it). x is [m, k], w is [n, k] (PyTorch's layout), b is [n] or null. On a backend with
 * fused `linear`/`linearBackward` kernels for the activation, the bias, the activation (and, for
 * GELU and SiLU when a gradient will be asked for, f′(z), which the op keeps) and, in a plain
 * backward pass, the activation's gradient (ReLU's mask, or g·f′(z)), both products and the bias
 * sums each take one kernel call; elsewhere — and when the backward itself is being recorded
 * (createGraph) — it is the composition of mm, the bias and the activation's ops (reluGrad, or
 * g·f′(z) with f′ recorded with f″ as gelu and silu record it), with the same values.
 */
export function dense(x: Tensor, w: Tensor, b: Tensor | null = null, activation: LinearActivation | null = null): Tensor {
  if (x.ndim !== 2 || w.ndim !== 2 || x.shape[1] !== w.shape[1]) {
    throw new ShapeError(`dense: expected x [m, k] and weight [n, k], got ${fmtShape(x.shape)} and ${fmtShape(w.shape)}`);
  }
  const [m, k] = x.shape,
    n = w.shape[0];
  if (b && (b.ndim !== 1 || b.shape[0] !== n)) throw new ShapeError(`dense: expected bias [${n}], got ${fmtShape(b.shape)}`);
  if (w.dtype !== x.dtype || (b && b.dtype !== x.dtype))
    throw new TypeError(`dense: dtype mismatch (${x.dtype}, ${w.dtype}${b ? `, ${b.dtype}` : ''})`);
  const act: LinearActivation = activation ?? 'none';
  if (!LINEAR_ACTIVATIONS.includes(act))
    throw new RangeError(
      `dense: unknown activation ${JSON.stringify(activation)}; expected one of ${LINEAR_ACTIVATIONS.join(', ')} or null`,
    );
  const relu = act === 'relu',
    smooth = isSmoothLinearActivation(act) ? act : null;
  const kn = kernelsFor(w.storage, x.storage, b?.storage);
  const out = kn.alloc(x.dtype, m * n);
  // f′(z), by which the smooth activations' backward multiplies the output gradient: computed with
  // the activation (fused, they share terms), and only when the op will be recorded
  const deriv = smooth && isGradEnabled() && (x.requiresGrad || w.requiresGrad || !!b?.requiresGrad) ? kn.alloc(x.dtype, m * n) : null;
  const be = kn.backend;
  const xs = kn.on(x.storage),
    ws = kn.on(w.storage),
    bs = b ? kn.on(b.storage) : null;
  if (!kn.ext.linear?.(xs, ws, bs, out, m, n, k, act, deriv)) {
    // a backend without this activation: z as the plain layer computes it (fused or composed), then the activation's ops
    const z = smooth ? kn.alloc(x.dtype, m * n) : out;
    if (!smooth || !kn.ext.linear?.(xs, ws, bs, z, m, n, k, 'none', null)) {
      be.matmul(xs, ws, z, m, n, k, false, true);
      if (bs) be.binary('add', z, [m, n], bs, [n], z, [m, n]);
    }
    if (relu) be.unary('relu', out, out);
    if (smooth) {
      be.unary(smooth, z, out);
      if (deriv) be.unary(LINEAR_ACTIVATION_DERIV[smooth], z, deriv);
    }
  }
  const y = new Tensor(out, [m, n]);
  return record('dense', b ? [x, w, b] : [x, w], y, (g, ctx) => {
    const wantX = x.requiresGrad,
      wantW = w.requiresGrad,
      wantB = !!b && b.requiresGrad;
    const fused = kn.ext.linearBackward;
    // recorded, so a smooth activation's f′(z) was computed
    const d = () => new Tensor(deriv!, [m, n]);
    let gz: Tensor | null = null;
    if (fused && !isGradEnabled()) {
      // the weight's .grad buffer, when backward() lets ops add into it directly (zeroGrad({ setToNone: false }))
      const into = wantW ? ctx.leafGradTarget(w) : null;
      const gx = wantX ? kn.alloc(x.dtype, m * k) : null,
        gw = into ?? (wantW ? kn.alloc(x.dtype, n * k) : null);
      const gb = wantB ? kn.alloc(x.dtype, n) : null;
      const grads = (): (Tensor | null)[] => [
        gx && new Tensor(gx, x.shape),
        gw && !into ? new Tensor(gw, w.shape) : null,
        gb && new Tensor(gb, [n]),
      ];
      if (fused(kn.on(g.storage), xs, ws, relu ? out : deriv, gx, gw, gb, m, n, k, act, into !== null)) return grads();
      // a backend without this activation's backward: g·f′(z) composed, the rest fused
      if (smooth) {
        gz = mul(g, d());
        if (fused(kn.on(gz.storage), xs, ws, null, gx, gw, gb, m, n, k, 'none', into !== null)) return grads();
      }
    }
    // composed; under createGraph z is recomputed as an op of x, w and b, and f′ recorded with f″, so f″ reaches them
    gz ??= relu ? reluGrad(g, y) : !smooth ? g : isGradEnabled() ? smoothActivationGrad(smooth, g, dense(x, w, b)) : mul(g, d());
    return [wantX ? mm(gz, w) : null, wantW ? mm(gz, x, true, false) : null, wantB ? sum(gz, 0) : null];
  });
}

/** The activations `dense` takes (null: none). */
const LINEAR_ACTIVATIONS: readonly string[] = ['none', 'relu', 'gelu', 'geluTanh', 'silu'] satisfies LinearActivation[];

/**
 * torch.matmul: 1-D · 1-D a dot product, 2-D · 2-D mm, a 1-D operand a row (first) or a column
 * (second) whose dimension the result drops, and beyond two dimensions a product per entry of the
 * broadcast batch dimensions (batched.ts).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 1 && b.ndim === 2) return reshape(mm(reshape(a, [1, a.size]), b), [b.shape[1]]);
  if (a.ndim === 2 && b.ndim === 1) return reshape(mm(a, reshape(b, [b.size, 1])), [a.shape[0]]);
  if (a.ndim === 1 && b.ndim === 1) return sum(mul(a, b));
  if (a.ndim > 2 || b.ndim > 2) return batchedMatmul(a, b);
  return mm(a, b);
}

// ---------------------------------------------------------------- softmax and losses

/** log(softmax(x)) along the last axis, shifted by the row max so it never overflows. */
export function logSoftmax(x: Tensor): Tensor {
  if (x.ndim < 1) throw new ShapeError('logSoftmax: expected at least one dimension');
  const cols = x.shape[x.ndim - 1];
  const k = kernelsFor(x.storage);
  const out = k.alloc(x.dtype, x.size);
  k.backend.logSoftmax(x.storage, x.size / cols, cols, out);
  const y = new Tensor(out, x.shape);
  return record('logSoftmax', [x], y, (g) => [sub(g, mul(exp(y), sum(g, -1, true)))]);
}

/**
 * Softmax over the last dimension: the probabilities logSoftmax's kernel writes beside the logs,
 * so one kernel call forward (exp(logSoftmax(x)) took two, and five backward). The gradient
 * y ⊙ (g − Σ g·y) over the row is written in ops, so it differentiates again.
 */
export function softmax(x: Tensor): Tensor {
  if (x.ndim < 1) throw new ShapeError('softmax: expected at least one dimension');
  const cols = x.shape[x.ndim - 1];
  const k = kernelsFor(x.storage);
  const logs = k.alloc(x.dtype, x.size),
    out = k.alloc(x.dtype, x.size);
  k.backend.logSoftmax(x.storage, x.size / cols, cols, logs, out);
  const y = new Tensor(out, x.shape);
  return record('softmax', [x], y, (g) => [mul(y, sub(g, sum(mul(g, y), -1, true)))]);
}

export type Reduction = 'mean' | 'sum' | 'none';

const REDUCTIONS: readonly string[] = ['mean', 'sum', 'none'] satisfies Reduction[];

/** A RangeError naming `loss` unless `r` is one of the reductions (PyTorch refuses others too). */
export function checkReduction(loss: string, r: unknown): asserts r is Reduction {
  if (typeof r !== 'string' || !REDUCTIONS.includes(r))
    throw new RangeError(`${loss}: invalid reduction ${describeValue(r)}; expected ${REDUCTIONS.join(', ')}`);
}

/** A value as a message shows it: JSON where it has one, else its type. */
function describeValue(v: unknown): string {
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}

/** A constant one-hot matrix [N, C] for integer class targets. */
export function oneHot(targets: ArrayLike<number>, classes: number, dtype: DType = 'float32'): Tensor {
  const t = classIndices(targets, classes);
  const out = allocStorage(dtype, t.length * classes);
  for (let i = 0; i < t.length; i++) out[i * classes + t[i]] = 1;
  return new Tensor(out, [t.length, classes]);
}

/** Integer class targets as an Int32Array, each checked to be an integer in [0, classes − 1]. */
export function classIndices(targets: ArrayLike<number>, classes: number): Int32Array {
  const t = new Int32Array(targets.length);
  for (let i = 0; i < targets.length; i++) {
    const c = targets[i];
    if (!Number.isInteger(c) || c < 0 || c >= classes)
      throw new RangeError(`target ${i} is ${c}, expected an integer class in [0, ${classes - 1}]`);
    t[i] = c;
  }
  return t;
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkReduction('MSELoss', reduction);
  if (!shapeEq(input.shape, target.shape))
    throw new ShapeError(`MSELoss: input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} differ`);
  const sq = square(sub(input, target));
  return reduction === 'none' ? sq : reduction === 'sum' ? sum(sq) : mean(sq);
}
