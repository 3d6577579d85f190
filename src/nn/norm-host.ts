/**
 * The host side of the normalisation layers: the float64 loops behind BatchNorm's host op (the
 * path for float64 and for backends without the batchNorm extensions), and `normaliseRows`, the
 * op LayerNorm and GroupNorm normalise with. Both lay x out as [n, c, inner] with statistics per c;
 * a row normalisation is n = 1, c = the rows, so it runs on the same kernels.
 */
import { Tensor, allocStorage, type HostStorage } from '../tensor/tensor.js';
import { extension } from '../backend/backend.js';
import { isDeviceStorage } from '../tensor/device.js';
import { isGradEnabled, record } from '../autograd/engine.js';
import { add, div, mean, mul, reshape, sqrt, sub, sum } from '../autograd/ops.js';

/** Each channel's mean and biased variance of x laid out [n, c, inner], in float64 and two passes. */
export function batchStatistics(xd: HostStorage, N: number, C: number, inner: number, mu: Float64Array, varB: Float64Array): void {
  const M = N * inner;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let i = 0; i < N; i++) for (let o = (i * C + c) * inner, e = o + inner; o < e; o++) s += xd[o];
    const m = s / M;
    let q = 0;
    for (let i = 0; i < N; i++)
      for (let o = (i * C + c) * inner, e = o + inner; o < e; o++) {
        const dv = xd[o] - m;
        q += dv * dv;
      }
    mu[c] = m;
    varB[c] = q / M;
  }
}

/** The batchNormBackward extension's contract (src/backend/backend.ts) in float64 loops. */
export function batchNormBackward(
  gy: HostStorage,
  xd: HostStorage,
  y: HostStorage | null,
  gx: HostStorage,
  N: number,
  C: number,
  inner: number,
  mu: Float64Array,
  invstd: Float64Array,
  w: HostStorage | null,
  batchStats: boolean,
  sums: Float64Array,
): void {
  const M = N * inner;
  // through the ReLU as threshold_backward: the gradient where the output is > 0 (or NaN), written
  // into gx, which the loops below then overwrite in place (each element read before it is written)
  let gz = gy;
  if (y) {
    for (let o = 0; o < gx.length; o++) gx[o] = y[o] <= 0 ? 0 : gy[o];
    gz = gx;
  }
  for (let c = 0; c < C; c++) {
    const m = mu[c],
      is = invstd[c];
    let sg = 0,
      sgx = 0;
    for (let i = 0; i < N; i++)
      for (let o = (i * C + c) * inner, e = o + inner; o < e; o++) {
        sg += gz[o];
        sgx += gz[o] * (xd[o] - m) * is;
      }
    sums[c] = sg;
    sums[C + c] = sgx;
    const k = is * (w ? w[c] : 1);
    if (batchStats) {
      // d/dx of (x − μ)·invstd through μ and σ² as well
      const a = sg / M,
        bq = sgx / M;
      for (let i = 0; i < N; i++)
        for (let o = (i * C + c) * inner, e = o + inner; o < e; o++) gx[o] = k * (gz[o] - a - (xd[o] - m) * is * bq);
    } else {
      for (let i = 0; i < N; i++) for (let o = (i * C + c) * inner, e = o + inner; o < e; o++) gx[o] = k * gz[o];
    }
  }
}

/**
 * x's mean and biased variance over `axes` (kept as size-1 dimensions), x − mean and
 * 1/√(variance + eps), as autograd ops: the statistics every normalisation's composite form uses.
 */
export function momentsOver(x: Tensor, axes: readonly number[], eps: number): { mu: Tensor; v: Tensor; d: Tensor; invstd: Tensor } {
  const mu = mean(x, axes, true);
  const d = sub(x, mu);
  const v = mean(mul(d, d), axes, true);
  return { mu, v, d, invstd: div(1, sqrt(add(v, eps))) };
}

/**
 * The gradients of y = x̂·w + b, x̂ = (x − mean)·invstd with the statistics over `axes` (kept as
 * size-1 dimensions), given gz, the gradient at y: written in differentiable ops of x, w and gz, for
 * a host op's backward under createGraph, so second derivatives reach x's own history (a gradient
 * of detached copies would end at the copies). With `fixed` the statistics are constants
 * (BatchNorm's running ones): gx = gz·w·invstd; else PyTorch's batch_norm_backward,
 * gx = w·invstd·(gz − mean(gz) − x̂·mean(gz·x̂)). gw and gb keep the reduced dimensions.
 */
export function normGradient(
  x: Tensor,
  gz: Tensor,
  axes: readonly number[],
  eps: number,
  w: Tensor | null,
  fixed: { mean: Tensor; invstd: Tensor } | null,
): { gx: Tensor; gw: Tensor; gb: Tensor } {
  let xhat: Tensor, gx: Tensor;
  if (fixed) {
    xhat = mul(sub(x, fixed.mean), fixed.invstd);
    gx = mul(gz, fixed.invstd);
  } else {
    const { d, invstd } = momentsOver(x, axes, eps);
    xhat = mul(d, invstd);
    gx = mul(invstd, sub(sub(gz, mean(gz, axes, true)), mul(xhat, mean(mul(gz, xhat), axes, true))));
  }
  return { gx: w ? mul(gx, w) : gx, gw: sum(mul(gz, xhat), axes, true), gb: sum(gz, axes, true) };
}

/** (x − mean)/√(variance + eps) of each of `rows` contiguous rows of x, as autograd ops. */
function compositeRows(x: Tensor, rows: number, eps: number): Tensor {
  const { d, invstd } = momentsOver(reshape(x, [rows, x.size / rows]), [1], eps);
  return reshape(mul(d, invstd), x.shape);
}

/**
 * x cut into `rows` contiguous rows, each normalised by its own mean and biased variance:
 * (x − mean)/√(variance + eps), x's shape. On the host one op with one output array each way (the
 * batchNorm extensions with n = 1, c = rows where the backend has them, else the float64 loops),
 * whose gradient under createGraph is normGradient's; on a device the same as autograd ops.
 */
export function normaliseRows(x: Tensor, rows: number, eps: number): Tensor {
  if (isDeviceStorage(x.storage) || x.size === 0) return compositeRows(x, rows, eps);
  const F = x.size / rows;
  const xd = x.data;
  const mu = new Float64Array(rows),
    varB = new Float64Array(rows);
  const out = allocStorage(x.dtype, x.size);
  if (!extension('batchNorm')?.(xd, out, 1, rows, F, mu, varB, eps, true, null, null, false)) {
    batchStatistics(xd, 1, rows, F, mu, varB);
    for (let r = 0; r < rows; r++) {
      const m = mu[r],
        scale = 1 / Math.sqrt(varB[r] + eps);
      for (let o = r * F, e = o + F; o < e; o++) out[o] = (xd[o] - m) * scale;
    }
  }
  const invstd = varB.map((v) => 1 / Math.sqrt(v + eps));
  return record('normaliseRows', [x], new Tensor(out, x.shape), (g) => {
    if (isGradEnabled()) return [reshape(normGradient(reshape(x, [rows, F]), reshape(g, [rows, F]), [1], eps, null, null).gx, x.shape)];
    const gx = allocStorage(x.dtype, x.size);
    const sums = new Float64Array(2 * rows);
    if (!extension('batchNormBackward')?.(g.data, xd, null, gx, 1, rows, F, mu, invstd, null, true, sums))
      batchNormBackward(g.data, xd, null, gx, 1, rows, F, mu, invstd, null, true, sums);
    return [new Tensor(gx, x.shape)];
  });
}

/**
 * LayerNorm's whole forward, x cut into `rows` rows of F = x.size / rows: (x − μ)/√(σ² + eps)·w + b
 * per row, w and b (F values each, any shape) per feature. One op each way where the backend has
 * the layerNorm extensions (wasm, float32); else normaliseRows, then the product by w and the sum
 * with b as ops. Under createGraph the gradients are written in ops of x, w and g (for LayerNorm
 * the weight varies along the normalised row, so ĝ = g·w enters the statistics' terms, unlike
 * normGradient's per-channel weight).
 */
export function layerNormRows(x: Tensor, rows: number, w: Tensor | null, b: Tensor | null, eps: number): Tensor {
  const ln = extension('layerNorm');
  const F = rows ? x.size / rows : 0;
  const mu = new Float64Array(rows),
    invstd = new Float64Array(rows);
  const out = isDeviceStorage(x.storage) || !ln ? null : allocStorage(x.dtype, x.size);
  if (!out || !ln?.(x.data, w?.data ?? null, b?.data ?? null, out, rows, F, eps, mu, invstd)) {
    let y = normaliseRows(x, rows, eps);
    if (w) y = mul(y, w);
    if (b) y = add(y, b);
    return y;
  }
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  return record('layerNorm', inputs, new Tensor(out, x.shape), (g) => {
    const grads: (Tensor | null)[] = [];
    const bwd = isGradEnabled() ? undefined : extension('layerNormBackward');
    if (bwd) {
      const gx = allocStorage(x.dtype, x.size),
        gw = w?.requiresGrad ? allocStorage(w.dtype, w.size) : null,
        gb = b?.requiresGrad ? allocStorage(b.dtype, b.size) : null;
      if (bwd(g.data, x.data, w?.data ?? null, mu, invstd, gx, gw, gb, rows, F)) {
        grads.push(new Tensor(gx, x.shape));
        if (w) grads.push(gw && new Tensor(gw, w.shape));
        if (b) grads.push(gb && new Tensor(gb, b.shape));
        return grads;
      }
    }
    // in ops (differentiable under createGraph): x̂ from x, ĝ = g·w
    const x2 = reshape(x, [rows, F]),
      g2 = reshape(g, [rows, F]);
    const { d, invstd: is } = momentsOver(x2, [1], eps);
    const xhat = mul(d, is);
    const gh = w ? mul(g2, reshape(w, [1, F])) : g2;
    const gx = mul(is, sub(sub(gh, mean(gh, [1], true)), mul(xhat, mean(mul(gh, xhat), [1], true))));
    grads.push(reshape(gx, x.shape));
    if (w) grads.push(reshape(sum(mul(g2, xhat), [0]), w.shape));
    if (b) grads.push(reshape(sum(g2, [0]), b.shape));
    return grads;
  });
}
