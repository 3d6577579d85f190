/**
 * Elementwise math and reductions (asm/elementwise.ts): broadcasting binary ops, unary ops, sum,
 * max and log-softmax. Memory-bound and single-threaded but for a large log-softmax (an exp per
 * element); below SMALL_ELEMENTWISE elements they stay in plain JS.
 */
import type { BinaryOp, UnaryOp } from '../backend.js';
import { referenceBackend, broadcastStrides } from '../reference.js';
import type { Storage } from '../../tensor/tensor.js';
import type { Shape } from '../../tensor/shape.js';
import { type WasmContext, type WasmOps, PARALLEL_MACS, SMALL_ELEMENTWISE, cut, f32, takeI32 } from './context.js';
import type { KernelArgs } from './runtime.js';

import {
  BIN_ADD,
  BIN_SUB,
  BIN_MUL,
  BIN_DIV,
  BIN_POW,
  BIN_MAX,
  BIN_MIN,
  BIN_GT,
  BIN_LT,
  BIN_EQ,
  BIN_RELU_GRAD,
  UN_NEG,
  UN_EXP,
  UN_LOG,
  UN_SQRT,
  UN_ABS,
  UN_SIGN,
  UN_RELU,
  UN_STEP,
  UN_SIGMOID,
  UN_TANH,
  UN_SQUARE,
  UN_RECIP,
  UN_ERF,
  UN_GELU,
  UN_GELU_DERIV,
  UN_GELU_TANH,
  UN_GELU_TANH_DERIV,
  UN_SILU,
  UN_SILU_DERIV,
  UN_LEAKY_RELU,
  UN_LEAKY_RELU_DERIV,
  UN_ELU,
  UN_ELU_DERIV,
  UN_SOFTPLUS,
  UN_SOFTPLUS_DERIV,
  UN_MISH,
  UN_MISH_DERIV,
  UN_HARDSWISH,
  UN_HARDSWISH_DERIV,
  UN_HARDSIGMOID,
  UN_HARDSIGMOID_DERIV,
  UN_SELU,
  UN_SELU_DERIV,
  UN_HARDTANH,
  UN_HARDTANH_DERIV,
} from './abi.generated.js';

/**
 * Elements from which log-softmax is split over the threads by rows. One thread spends ~8 ns an
 * element (an exp and a division); 10,000 rows of 10 (W4's logits) took 0.77 ms on one thread and
 * 0.43–0.64 on two, 2,048 rows the same on both (measured back to back, 100 calls each).
 */
const LOG_SOFTMAX_PARALLEL = 1 << 15;

/** The Backend's op names as the kernels' op codes (asm/opcodes.ts). */
const BIN_CODES: Record<BinaryOp, number> = {
  add: BIN_ADD,
  sub: BIN_SUB,
  mul: BIN_MUL,
  div: BIN_DIV,
  pow: BIN_POW,
  max: BIN_MAX,
  min: BIN_MIN,
  gt: BIN_GT,
  lt: BIN_LT,
  eq: BIN_EQ,
  reluGrad: BIN_RELU_GRAD,
};
const UN_CODES: Record<UnaryOp, number> = {
  neg: UN_NEG,
  exp: UN_EXP,
  log: UN_LOG,
  sqrt: UN_SQRT,
  abs: UN_ABS,
  sign: UN_SIGN,
  relu: UN_RELU,
  step: UN_STEP,
  sigmoid: UN_SIGMOID,
  tanh: UN_TANH,
  square: UN_SQUARE,
  recip: UN_RECIP,
  erf: UN_ERF,
  gelu: UN_GELU,
  geluDeriv: UN_GELU_DERIV,
  geluTanh: UN_GELU_TANH,
  geluTanhDeriv: UN_GELU_TANH_DERIV,
  silu: UN_SILU,
  siluDeriv: UN_SILU_DERIV,
  leakyRelu: UN_LEAKY_RELU,
  leakyReluDeriv: UN_LEAKY_RELU_DERIV,
  elu: UN_ELU,
  eluDeriv: UN_ELU_DERIV,
  softplus: UN_SOFTPLUS,
  softplusDeriv: UN_SOFTPLUS_DERIV,
  mish: UN_MISH,
  mishDeriv: UN_MISH_DERIV,
  hardswish: UN_HARDSWISH,
  hardswishDeriv: UN_HARDSWISH_DERIV,
  hardsigmoid: UN_HARDSIGMOID,
  hardsigmoidDeriv: UN_HARDSIGMOID_DERIV,
  selu: UN_SELU,
  seluDeriv: UN_SELU_DERIV,
  hardtanh: UN_HARDTANH,
  hardtanhDeriv: UN_HARDTANH_DERIV,
};

export function mathOps({ rt, partsFor }: WasmContext): Pick<WasmOps, 'binary' | 'unary' | 'sum' | 'max' | 'logSoftmax'> {
  function binary(op: BinaryOp, a: Storage, aShape: Shape, b: Storage, bShape: Shape, out: Storage, outShape: Shape): void {
    if (!f32(a, b, out) || out.length < SMALL_ELEMENTWISE) return referenceBackend.binary(op, a, aShape, b, bShape, out, outShape);
    // Collapse to at most three dims [d0, d1, d2] in which each operand is contiguous or broadcast.
    const sa = broadcastStrides(aShape, outShape),
      sb = broadcastStrides(bShape, outShape);
    const dims: { n: number; sa: number; sb: number }[] = [];
    for (let d = outShape.length - 1; d >= 0; d--) {
      const n = outShape[d];
      if (n === 1) continue;
      const inner = dims[0];
      if (inner && sa[d] === inner.sa * inner.n && sb[d] === inner.sb * inner.n) {
        inner.n *= n;
      } else dims.unshift({ n, sa: sa[d], sb: sb[d] });
    }
    if (dims.length > 3) return referenceBackend.binary(op, a, aShape, b, bShape, out, outShape);
    while (dims.length < 3) dims.unshift({ n: 1, sa: 0, sb: 0 });
    const [d0, d1, d2] = dims;
    rt.reset();
    const pa = rt.put(a as Float32Array),
      pb = rt.put(b as Float32Array),
      po = rt.outPtr(out as Float32Array);
    const code = BIN_CODES[op];
    for (let i = 0; i < d0.n; i++) {
      rt.k.binary(code, pa + i * d0.sa * 4, d1.sa, d2.sa, pb + i * d0.sb * 4, d1.sb, d2.sb, po + i * d1.n * d2.n * 4, d1.n, d2.n);
    }
    rt.take(po, out as Float32Array);
  }

  function unary(op: UnaryOp, a: Storage, out: Storage, p: readonly number[] = []): void {
    if (!f32(a, out) || a.length < SMALL_ELEMENTWISE) return referenceBackend.unary(op, a, out, p);
    rt.reset();
    const pa = rt.put(a as Float32Array),
      po = rt.outPtr(out as Float32Array);
    rt.k.unary(UN_CODES[op], pa, po, a.length, p[0] ?? 0, p[1] ?? 0);
    rt.take(po, out as Float32Array);
  }

  function sum(a: Storage, shape: Shape, axes: readonly number[], out: Storage): void {
    if (!f32(a, out) || a.length < SMALL_ELEMENTWISE) return referenceBackend.sum(a, shape, axes, out);
    // One pass per run of adjacent reduced axes, last run first (e.g. a conv bias gradient,
    // axes 0, 2, 3 of N×K×H×W: first H·W, then N), each pass outer × mid × inner.
    const dims = [...shape];
    const left = new Set(axes.filter((ax) => dims[ax] !== 1));
    rt.reset();
    let p = rt.put(a as Float32Array);
    if (left.size === 0) {
      rt.take(p, out as Float32Array);
      return;
    }
    while (left.size) {
      const last = Math.max(...left);
      let first = last;
      while (first > 0 && (left.has(first - 1) || dims[first - 1] === 1)) first--;
      let outer = 1,
        mid = 1,
        inner = 1;
      dims.forEach((d, i) => {
        if (i < first) outer *= d;
        else if (i > last) inner *= d;
        else mid *= d;
      });
      const q = left.size === 1 || outer * inner === out.length ? rt.outPtr(out as Float32Array) : rt.alloc(outer * inner * 4);
      rt.k.sum(p, outer, mid, inner, q, inner > 1 ? rt.alloc(inner * 8) : 0);
      p = q;
      for (let i = first; i <= last; i++) {
        dims[i] = 1;
        left.delete(i);
      }
    }
    rt.take(p, out as Float32Array);
  }

  function max(a: Storage, shape: Shape, axis: number, out: Storage, arg: Int32Array | null): void {
    if (!f32(a, out) || a.length < SMALL_ELEMENTWISE) return referenceBackend.max(a, shape, axis, out, arg);
    let outer = 1,
      inner = 1;
    shape.forEach((d, i) => {
      if (i < axis) outer *= d;
      else if (i > axis) inner *= d;
    });
    rt.reset();
    const pa = rt.put(a as Float32Array),
      po = rt.outPtr(out as Float32Array);
    const pArg = arg ? rt.alloc(arg.length * 4) : 0;
    rt.k.max(pa, outer, shape[axis], inner, po, pArg);
    rt.take(po, out as Float32Array);
    if (arg) takeI32(rt, pArg, arg);
  }

  function logSoftmax(a: Storage, rows: number, cols: number, out: Storage, probs: Storage | null = null): void {
    if (!f32(a, out, probs) || a.length < SMALL_ELEMENTWISE) return referenceBackend.logSoftmax(a, rows, cols, out, probs);
    rt.reset();
    const pa = rt.put(a as Float32Array),
      po = rt.outPtr(out as Float32Array),
      pp = probs ? rt.outPtr(probs as Float32Array) : 0;
    // rows are independent: parts of whole rows, each computed as on one thread. The size gate is
    // LOG_SOFTMAX_PARALLEL (an exp is no multiply-add); partsFor, past its own gate, gives the threads
    const T = rows * cols >= LOG_SOFTMAX_PARALLEL ? partsFor(PARALLEL_MACS, rows, 2) : 1;
    const parts: KernelArgs<'logSoftmax'>[] = [];
    for (let t = 0; t < T; t++) {
      const [r0, r1] = cut(rows, T, t, 1);
      const at = r0 * cols * 4;
      parts.push([pa + at, r1 - r0, cols, po + at, pp && pp + at]);
    }
    rt.parallel('logSoftmax', parts);
    rt.take(po, out as Float32Array);
    if (probs) rt.take(pp, probs as Float32Array);
  }

  return { binary, unary, sum, max, logSoftmax };
}
