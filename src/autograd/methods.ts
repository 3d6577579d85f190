/**
 * PyTorch-style methods on Tensor (x.matmul(w).add(b).relu()), attached here because the tensor
 * module sits below autograd and must not import it. Importing the library installs them.
 */
import { Tensor, type DType } from '../tensor/tensor.js';
import type { Shape } from '../tensor/shape.js';
import * as ops from './ops.js';
import * as ix from './indexing.js';
import * as stats from './stats.js';
import { backward } from './engine.js';
import { toDevice } from './device.js';
import { bool, checkOptions, showValue } from '../util/options.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(o: ops.TensorLike): Tensor;
    sub(o: ops.TensorLike): Tensor;
    mul(o: ops.TensorLike): Tensor;
    div(o: ops.TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    square(): Tensor;
    pow(p: number): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    matmul(o: Tensor): Tensor;
    sum(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    mean(axis?: number | readonly number[], keepdim?: boolean): Tensor;
    /** torch.var: correction 1 (unbiased, the default) or 0 (population). */
    variance(axis?: number | readonly number[], keepdim?: boolean, correction?: number): Tensor;
    /** torch.std: correction 1 (unbiased, the default) or 0 (population). */
    std(axis?: number | readonly number[], keepdim?: boolean, correction?: number): Tensor;
    max(axis?: number, keepdim?: boolean): Tensor;
    reshape(shape: Shape): Tensor;
    t(): Tensor;
    permute(dims: readonly number[]): Tensor;
    /** Convert to another dtype (a copy; differentiable). */
    to(dtype: DType): Tensor;
    /**
     * A copy on `device` ('cpu' or a device backend such as 'webgpu'; the tensor itself when it is
     * there): asynchronous, since reading a device's values is.
     */
    to(device: string): Promise<Tensor>;
    backward(gradient?: Tensor, opts?: { createGraph?: boolean }): void;
    /** NumPy-style x[spec]: x.index('1:, ::-1'); see index(). */
    index(spec: string | number | readonly ix.IndexItem[]): Tensor;
    narrow(axis: number, start: number, length: number): Tensor;
    flip(axes: number | readonly number[]): Tensor;
    squeeze(axis?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    split(sizeOrSections: number | readonly number[], axis?: number): Tensor[];
    chunk(chunks: number, axis?: number): Tensor[];
    gather(axis: number, index: Tensor | ix.IndexArray): Tensor;
    indexSelect(axis: number, index: Tensor | ArrayLike<number>): Tensor;
    clamp(min?: ops.TensorLike | null, max?: ops.TensorLike | null): Tensor;
    maskedFill(mask: Tensor, value: number): Tensor;
    gt(o: ops.TensorLike): Tensor;
    ge(o: ops.TensorLike): Tensor;
    lt(o: ops.TensorLike): Tensor;
    le(o: ops.TensorLike): Tensor;
    eq(o: ops.TensorLike): Tensor;
    ne(o: ops.TensorLike): Tensor;
    min(axis?: number, keepdim?: boolean): Tensor;
    /** Position of the maximum in the flattened tensor (torch.argmax(x)); the first of equal maxima. */
    argmax(): number;
    /** Positions of the maxima along `axis`, one per element of the other axes in row-major order. */
    argmax(axis: number): Int32Array;
    argmax(axis?: number): number | Int32Array;
    /** Position of the minimum in the flattened tensor (torch.argmin(x)); the first of equal minima. */
    argmin(): number;
    /** Positions of the minima along `axis`, one per element of the other axes in row-major order. */
    argmin(axis: number): Int32Array;
    argmin(axis?: number): number | Int32Array;
    topk(k: number, axis?: number, largest?: boolean): ix.ValuesIndices;
    sort(axis?: number, descending?: boolean): ix.ValuesIndices;
  }
}

const P = Tensor.prototype;
P.add = function (o) {
  return ops.add(this, o);
};
P.sub = function (o) {
  return ops.sub(this, o);
};
P.mul = function (o) {
  return ops.mul(this, o);
};
P.div = function (o) {
  return ops.div(this, o);
};
P.neg = function () {
  return ops.neg(this);
};
P.exp = function () {
  return ops.exp(this);
};
P.log = function () {
  return ops.log(this);
};
P.sqrt = function () {
  return ops.sqrt(this);
};
P.square = function () {
  return ops.square(this);
};
P.pow = function (p) {
  return ops.pow(this, p);
};
P.abs = function () {
  return ops.abs(this);
};
P.relu = function () {
  return ops.relu(this);
};
P.sigmoid = function () {
  return ops.sigmoid(this);
};
P.tanh = function () {
  return ops.tanh(this);
};
P.matmul = function (o) {
  return ops.matmul(this, o);
};
P.sum = function (axis, keepdim) {
  return ops.sum(this, axis, keepdim);
};
P.mean = function (axis, keepdim) {
  return ops.mean(this, axis, keepdim);
};
P.variance = function (axis, keepdim, correction) {
  return stats.variance(this, axis, keepdim, correction);
};
P.std = function (axis, keepdim, correction) {
  return stats.std(this, axis, keepdim, correction);
};
P.max = function (axis, keepdim) {
  return ops.max(this, axis, keepdim);
};
P.reshape = function (shape) {
  return ops.reshape(this, shape);
};
P.t = function () {
  return ops.t(this);
};
P.permute = function (dims) {
  return ops.permute(this, dims);
};
P.to = function (this: Tensor, target: string) {
  return target === 'float32' || target === 'float64' ? ops.cast(this, target) : toDevice(this, target);
} as Tensor['to'];
P.backward = function (gradient, opts) {
  // backward({ createGraph: true }) would take the options for the gradient: they go second
  if (gradient !== undefined && !(gradient instanceof Tensor))
    throw new TypeError(
      `backward: invalid gradient ${showValue(gradient)}; expected a Tensor (options go second: backward(undefined, { createGraph: true }))`,
    );
  backward(this, { gradient, createGraph: checkOptions('backward', opts, { createGraph: bool })?.createGraph });
};
P.index = function (spec) {
  return ix.index(this, spec);
};
P.narrow = function (axis, start, length) {
  return ix.narrow(this, axis, start, length);
};
P.flip = function (axes) {
  return ix.flip(this, axes);
};
P.squeeze = function (axis) {
  return ix.squeeze(this, axis);
};
P.unsqueeze = function (axis) {
  return ix.unsqueeze(this, axis);
};
P.split = function (s, axis) {
  return ix.split(this, s, axis);
};
P.chunk = function (chunks, axis) {
  return ix.chunk(this, chunks, axis);
};
P.gather = function (axis, index) {
  return ix.gather(this, axis, index);
};
P.indexSelect = function (axis, index) {
  return ix.indexSelect(this, axis, index);
};
P.clamp = function (min, max) {
  return ix.clamp(this, min, max);
};
P.maskedFill = function (mask, value) {
  return ix.maskedFill(this, mask, value);
};
P.gt = function (o) {
  return ix.gt(this, o);
};
P.ge = function (o) {
  return ix.ge(this, o);
};
P.lt = function (o) {
  return ix.lt(this, o);
};
P.le = function (o) {
  return ix.le(this, o);
};
P.eq = function (o) {
  return ix.eq(this, o);
};
P.ne = function (o) {
  return ix.ne(this, o);
};
P.min = function (axis, keepdim) {
  return ix.min(this, axis, keepdim);
};
P.argmax = function (this: Tensor, axis?: number) {
  return ops.argmax(this, axis);
} as Tensor['argmax'];
P.argmin = function (this: Tensor, axis?: number) {
  return ix.argmin(this, axis);
} as Tensor['argmin'];
P.topk = function (k, axis, largest) {
  return ix.topk(this, k, axis, largest);
};
P.sort = function (axis, descending) {
  return ix.sort(this, axis, descending);
};
