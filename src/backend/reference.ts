/**
 * The reference backend: plain TypeScript loops, written for clarity first. It stays as the oracle
 * that faster backends are tested against, and as the fallback where WebAssembly is unavailable.
 */
import type { Backend, BinaryOp, UnaryOp } from './backend.js';
import {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  scatterPlanes,
  avgPool2dForward,
  avgPool2dAdjoint,
} from './reference-conv.js';
import type { HostStorage } from '../tensor/tensor.js';
import { erf } from './erf.js';
import { type Shape, sizeOf, stridesOf } from '../tensor/shape.js';

const binFns: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: (x, y) => x ** y,
  max: (x, y) => (x >= y ? x : y),
  min: (x, y) => (x <= y ? x : y),
  gt: (x, y) => (x > y ? 1 : 0),
  lt: (x, y) => (x < y ? 1 : 0),
  eq: (x, y) => (x === y ? 1 : 0),
  reluGrad: (x, y) => (y <= 0 ? 0 : x),
};

const SQRT_2_OVER_PI = Math.SQRT2 * (2 / Math.sqrt(Math.PI)) * 0.5; // PyTorch's kBeta of the tanh GELU: √(2/π)
const KAPPA = 0.044715;
const INV_SQRT_2PI = (2 / Math.sqrt(Math.PI)) * Math.SQRT1_2 * 0.5; // 1/√(2π), the normal density's factor

/** tanh(√(2/π)·(x + 0.044715x³)), the tanh GELU's inner function. */
const geluTanhInner = (x: number): number => Math.tanh(SQRT_2_OVER_PI * (x + KAPPA * x * x * x));

/** min(max(v, 0), 6), NaN passing through as PyTorch's clamp lets it. */
const clamp06 = (v: number): number => (v < 0 ? 0 : v > 6 ? 6 : v);
/** PyTorch's hardsigmoid_backward slope, the float literal 1.0f / 6.0f, in every dtype. */
const ONE_SIXTH_F32 = Math.fround(1 / 6);

/** Each op as a function of x and the op's scalars p0, p1 (see UnaryOp for the formulas). */
const unFns: Record<UnaryOp, (x: number, p0: number, p1: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  relu: (x) => (x <= 0 ? 0 : x),
  step: (x) => (x > 0 ? 1 : 0),
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  tanh: Math.tanh,
  square: (x) => x * x,
  recip: (x) => 1 / x,
  erf,
  gelu: (x) => x * 0.5 * (1 + erf(x * Math.SQRT1_2)),
  geluDeriv: (x) => 0.5 * (1 + erf(x * Math.SQRT1_2)) + x * (INV_SQRT_2PI * Math.exp(x * x * -0.5)),
  geluTanh: (x) => 0.5 * x * (1 + geluTanhInner(x)),
  geluTanhDeriv: (x) => {
    const t = geluTanhInner(x);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (SQRT_2_OVER_PI * (1 + 3 * KAPPA * x * x));
  },
  silu: (x) => x / (1 + Math.exp(-x)),
  siluDeriv: (x) => {
    const s = 1 / (1 + Math.exp(-x));
    return s * (1 + x * (1 - s));
  },
  leakyRelu: (x, slope) => (x > 0 ? x : x * slope),
  leakyReluDeriv: (x, slope) => (x > 0 ? 1 : slope),
  // PyTorch's exp(x) − 1, not expm1: the two differ by less than a float32 ulp of 1
  elu: (x, alpha) => (x <= 0 ? (Math.exp(x) - 1) * alpha : x),
  eluDeriv: (x, alpha) => (x > 0 ? 1 : alpha * Math.exp(x)),
  softplus: (x, beta, threshold) => (x * beta > threshold ? x : Math.log1p(Math.exp(x * beta)) / beta),
  softplusDeriv: (x, beta, threshold) => {
    if (x * beta > threshold) return 1;
    const z = Math.exp(x * beta);
    return z / (z + 1);
  },
  mish: (x) => x * Math.tanh(Math.log1p(Math.exp(x))),
  mishDeriv: (x) => {
    const s = 1 / (1 + Math.exp(-x));
    const t = Math.tanh(Math.log1p(Math.exp(x)));
    return t + x * s * (1 - t * t);
  },
  hardswish: (x) => (x * clamp06(x + 3)) / 6,
  hardswishDeriv: (x) => (x < -3 ? 0 : x >= 3 ? 1 : x / 3 + 0.5),
  hardsigmoid: (x) => clamp06(x + 3) / 6,
  hardsigmoidDeriv: (x) => (x > -3 && x < 3 ? ONE_SIXTH_F32 : 0),
  selu: (x, negCoef, scale) => (x <= 0 ? (Math.exp(x) - 1) * negCoef : x * scale),
  seluDeriv: (x, negCoef, scale) => (x > 0 ? scale : negCoef * Math.exp(x)),
  hardtanh: (x, lo, hi) => {
    const v = lo >= x ? lo : x;
    return hi <= v ? hi : v;
  },
  hardtanhDeriv: (x, lo, hi) => (x > lo && x < hi ? 1 : 0),
};

/** Strides of `shape` aligned right against an output of rank `rank`, 0 where broadcast. */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  const st = stridesOf(shape);
  const out = new Array<number>(rank).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const o = rank - shape.length + i;
    out[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : st[i];
  }
  return out;
}

function binary(op: BinaryOp, a: HostStorage, aShape: Shape, b: HostStorage, bShape: Shape, out: HostStorage, outShape: Shape): void {
  const n = out.length;
  // Fast paths: same shape, or one side a single number.
  if (a.length === n && b.length === n) {
    switch (op) {
      case 'add':
        for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
        return;
      case 'sub':
        for (let i = 0; i < n; i++) out[i] = a[i] - b[i];
        return;
      case 'mul':
        for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
        return;
      case 'div':
        for (let i = 0; i < n; i++) out[i] = a[i] / b[i];
        return;
    }
    const f = binFns[op];
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
    return;
  }
  if (b.length === 1 && a.length === n) {
    const y = b[0];
    switch (op) {
      case 'add':
        for (let i = 0; i < n; i++) out[i] = a[i] + y;
        return;
      case 'mul':
        for (let i = 0; i < n; i++) out[i] = a[i] * y;
        return;
    }
    const f = binFns[op];
    for (let i = 0; i < n; i++) out[i] = f(a[i], y);
    return;
  }
  if (a.length === 1 && b.length === n) {
    const x = a[0];
    const f = binFns[op];
    for (let i = 0; i < n; i++) out[i] = f(x, b[i]);
    return;
  }
  // General case: walk the output with an index counter, innermost dimension in a tight loop.
  const rank = outShape.length;
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const inner = rank ? outShape[rank - 1] : 1;
  const ia = rank ? sa[rank - 1] : 0;
  const ib = rank ? sb[rank - 1] : 0;
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  const f = binFns[op];
  let oa = 0,
    ob = 0;
  for (let o = 0; o < n; o += inner) {
    let pa = oa,
      pb = ob;
    if (op === 'add') for (let j = 0; j < inner; j++, pa += ia, pb += ib) out[o + j] = a[pa] + b[pb];
    else if (op === 'mul') for (let j = 0; j < inner; j++, pa += ia, pb += ib) out[o + j] = a[pa] * b[pb];
    else for (let j = 0; j < inner; j++, pa += ia, pb += ib) out[o + j] = f(a[pa], b[pb]);
    // advance the outer counter
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < outShape[d]) break;
      oa -= sa[d] * outShape[d];
      ob -= sb[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

function unary(op: UnaryOp, a: HostStorage, out: HostStorage, p: readonly number[] = []): void {
  const n = a.length;
  switch (op) {
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = a[i] <= 0 ? 0 : a[i];
      return;
    case 'step':
      for (let i = 0; i < n; i++) out[i] = a[i] > 0 ? 1 : 0;
      return;
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -a[i];
      return;
    case 'square':
      for (let i = 0; i < n; i++) out[i] = a[i] * a[i];
      return;
  }
  const f = unFns[op];
  // float32 storage takes the scalars as float32, as PyTorch converts them to the tensor's type
  const round = out instanceof Float32Array ? Math.fround : (v: number) => v;
  const p0 = round(p[0] ?? 0),
    p1 = round(p[1] ?? 0);
  for (let i = 0; i < n; i++) out[i] = f(a[i], p0, p1);
}

function sum(a: HostStorage, shape: Shape, axes: readonly number[], out: HostStorage): void {
  const rank = shape.length;
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const so = broadcastStrides(outShape, shape); // 0 on reduced axes
  out.fill(0);
  if (out.length === 1) {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    out[0] = s;
    return;
  }
  const inner = rank ? shape[rank - 1] : 1;
  const io = rank ? so[rank - 1] : 0;
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  // float64 totals whatever the storage: a float32 out would round every addition
  const acc = out instanceof Float64Array ? out : new Float64Array(out.length);
  let oo = 0;
  for (let i = 0; i < a.length; i += inner) {
    if (io === 0) {
      let s = 0;
      for (let j = 0; j < inner; j++) s += a[i + j];
      acc[oo] += s;
    } else {
      for (let j = 0, po = oo; j < inner; j++, po += io) acc[po] += a[i + j];
    }
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      oo += so[d];
      if (idx[d] < shape[d]) break;
      oo -= so[d] * shape[d];
      idx[d] = 0;
    }
  }
  if (acc !== out) out.set(acc);
}

function max(a: HostStorage, shape: Shape, axis: number, out: HostStorage, arg: Int32Array | null): void {
  const outer = sizeOf(shape.slice(0, axis));
  const len = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let best = a[base];
      let bi = 0;
      for (let j = 1; j < len; j++) {
        const v = a[base + j * inner];
        if (v > best || (v !== v && best === best)) {
          best = v;
          bi = j;
        }
      }
      out[o * inner + i] = best;
      if (arg) arg[o * inner + i] = bi;
    }
  }
}

function logSoftmax(a: HostStorage, rows: number, cols: number, out: HostStorage, probs: HostStorage | null = null): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (a[off + j] > m) m = a[off + j];
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(a[off + j] - m);
      s += e;
      if (probs) probs[off + j] = e;
    }
    // (a − m) − log s, not a − (m + log s): m + log s rounds log s away where |m| ≫ log s
    const logS = Math.log(s);
    for (let j = 0; j < cols; j++) out[off + j] = a[off + j] - m - logS;
    if (probs) for (let j = 0; j < cols; j++) probs[off + j] /= s;
  }
}

function matmul(a: HostStorage, b: HostStorage, out: HostStorage, m: number, n: number, k: number, transA: boolean, transB: boolean): void {
  if (transB && !transA) {
    // Both operands are read along contiguous rows: out[i,j] = a[i,:]·b[j,:].
    for (let i = 0; i < m; i++) {
      const aRow = i * k;
      for (let j = 0; j < n; j++) {
        const bRow = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[aRow + p] * b[bRow + p];
        out[i * n + j] = s;
      }
    }
    return;
  }
  out.fill(0);
  // i-p-j order keeps the inner loop contiguous in `out` (and in b when not transposed).
  for (let i = 0; i < m; i++) {
    const oRow = i * n;
    for (let p = 0; p < k; p++) {
      const av = transA ? a[p * m + i] : a[i * k + p];
      if (av === 0) continue;
      if (!transB) {
        const bRow = p * n;
        for (let j = 0; j < n; j++) out[oRow + j] += av * b[bRow + j];
      } else {
        for (let j = 0; j < n; j++) out[oRow + j] += av * b[j * k + p];
      }
    }
  }
}

export const referenceBackend: Backend = {
  name: 'reference',
  matmul,
  binary,
  unary,
  sum,
  max,
  logSoftmax,
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  scatterPlanes,
  avgPool2d: avgPool2dForward,
  avgPool2dBackward: avgPool2dAdjoint,
};
