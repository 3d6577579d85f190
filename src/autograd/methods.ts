/**
 * PyTorch-style methods on Tensor (x.matmul(w).add(b).relu()), attached here because the tensor
 * module sits below autograd and must not import it. Importing the library installs them.
 */
import { Tensor, type DType } from '../tensor/tensor.js';
import type { Shape } from '../tensor/shape.js';
import * as ops from './ops.js';
import { backward } from './engine.js';

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
    max(axis: number, keepdim?: boolean): Tensor;
    reshape(shape: Shape): Tensor;
    t(): Tensor;
    permute(dims: readonly number[]): Tensor;
    /** Convert to another dtype (a copy; differentiable). */
    to(dtype: DType): Tensor;
    backward(gradient?: Tensor, opts?: { createGraph?: boolean }): void;
  }
}

const P = Tensor.prototype;
P.add = function (o) { return ops.add(this, o); };
P.sub = function (o) { return ops.sub(this, o); };
P.mul = function (o) { return ops.mul(this, o); };
P.div = function (o) { return ops.div(this, o); };
P.neg = function () { return ops.neg(this); };
P.exp = function () { return ops.exp(this); };
P.log = function () { return ops.log(this); };
P.sqrt = function () { return ops.sqrt(this); };
P.square = function () { return ops.square(this); };
P.pow = function (p) { return ops.pow(this, p); };
P.abs = function () { return ops.abs(this); };
P.relu = function () { return ops.relu(this); };
P.sigmoid = function () { return ops.sigmoid(this); };
P.tanh = function () { return ops.tanh(this); };
P.matmul = function (o) { return ops.matmul(this, o); };
P.sum = function (axis, keepdim) { return ops.sum(this, axis, keepdim); };
P.mean = function (axis, keepdim) { return ops.mean(this, axis, keepdim); };
P.max = function (axis, keepdim) { return ops.max(this, axis, keepdim); };
P.reshape = function (shape) { return ops.reshape(this, shape); };
P.t = function () { return ops.t(this); };
P.permute = function (dims) { return ops.permute(this, dims); };
P.to = function (dtype) { return ops.cast(this, dtype); };
P.backward = function (gradient, opts) { backward(this, { gradient, createGraph: opts?.createGraph }); };
