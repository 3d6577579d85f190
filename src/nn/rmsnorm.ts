/**
 * Root-mean-square layer normalisation (Zhang & Sennrich 2019), PyTorch 2.4+'s nn.RMSNorm and
 * F.rms_norm: each sample is scaled over its last dimensions (`normalizedShape`) by the root of its
 * mean square, with no centring and no bias,
 *
 *   y = x / √(mean(x²) + eps) · weight        (weight of shape normalizedShape, initially 1)
 *
 * the same in training and evaluation. eps left out is PyTorch's None: the machine epsilon of x's
 * dtype (float32 2⁻²³ ≈ 1.19e-7, float64 2⁻⁵² ≈ 2.22e-16), as torch.finfo(dtype).eps. On the host
 * one op with a loop each way (the wasm backend's SIMD kernels for float32); on a device composed of
 * autograd ops; both differentiate to any order.
 */
import { Tensor, allocStorage, type DType, type HostStorage } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { isGradEnabled, record } from '../autograd/engine.js';
import { extension } from '../backend/backend.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { add, div, mean, mul, reshape, sqrt, square, sub, sum } from '../autograd/ops.js';
import { Module, parameter, type MaskSupport } from './module.js';
import { bool, checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';

/** torch.finfo(dtype).eps: rms_norm's eps when none is given. */
export const machineEps = (dtype: DType): number => (dtype === 'float64' ? 2 ** -52 : 2 ** -23);

/** `normalizedShape` as a list of positive integers, or an error naming `what`. */
function shapeArg(normalizedShape: number | readonly number[], what: string): number[] {
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : Array.isArray(normalizedShape) ? [...normalizedShape] : [];
  if (!shape.length || !shape.every((d) => Number.isInteger(d) && d >= 1))
    throw new RangeError(`${what}: normalizedShape must be positive integers, got ${JSON.stringify(normalizedShape)}`);
  return shape;
}

/**
 * F.rms_norm: x / √(mean(x²) + eps) over x's last dimensions, which must equal `normalizedShape`,
 * times `weight` (of that shape) when given; eps null or left out is the machine epsilon of x's dtype.
 */
export function rmsNorm(x: Tensor, normalizedShape: number | readonly number[], weight: Tensor | null = null, eps?: number | null): Tensor {
  const shape = shapeArg(normalizedShape, 'rmsNorm');
  const e = eps ?? machineEps(x.dtype);
  if (typeof e !== 'number' || !(e >= 0)) throw new RangeError(`rmsNorm: invalid eps ${e}; expected a number ≥ 0`);
  const k = shape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (x.ndim < k || tail.some((d, i) => d !== shape[i]))
    throw new ShapeError(`rmsNorm: expected input [*, ${shape.join(', ')}] (normalizedShape), got ${fmtShape(x.shape)}`);
  if (weight && weight.dtype !== x.dtype) throw new TypeError(`rmsNorm: weight is ${weight.dtype}, expected ${x.dtype} like x`);
  if (weight && (weight.ndim !== k || weight.shape.some((d, i) => d !== shape[i])))
    throw new ShapeError(`rmsNorm: expected weight ${fmtShape(shape)} (normalizedShape), got ${fmtShape(weight.shape)}`);
  const F = tail.reduce((a, d) => a * d, 1);
  const rows = F ? x.size / F : 0;
  if (!isDeviceStorage(x.storage) && x.size > 0 && (!weight || !isDeviceStorage(weight.storage))) return hostRmsNorm(x, rows, F, weight, e);
  const x2 = reshape(x, [rows, F]);
  // 1/√(mean(x²) + eps) per row, PyTorch's rsqrt of the mean square, then x times it and the weight
  const inv = div(1, sqrt(add(mean(square(x2), 1, true), e)));
  const y = reshape(mul(x2, inv), x.shape);
  return weight ? mul(y, weight) : y;
}

/**
 * rmsNorm on the host as one op: one loop forward (each row's mean square in float64, then
 * x·r·w, r = 1/√(mean(x²) + eps)) and one backward, gx = r·(ĝ − x̂·mean(ĝ·x̂)) with x̂ = x·r and
 * ĝ = g·w, gw = Σ_rows g·x̂, where the composition takes about ten passes over x each way. Each
 * loop is the backend's rmsNorm / rmsNormBackward extension where it has one that takes the
 * operands (wasm: float32, SIMD, rows over the threads), else rmsRows / rmsRowsBackward here. Under
 * createGraph the backward is the same formula in autograd ops of x, w and g, so it differentiates
 * again.
 */
function hostRmsNorm(x: Tensor, rows: number, F: number, w: Tensor | null, eps: number): Tensor {
  const xd = x.data,
    wd = w?.data ?? null;
  const r = new Float64Array(rows);
  const out = allocStorage(x.dtype, x.size);
  if (!extension('rmsNorm')?.(xd, wd, out, rows, F, eps, r)) rmsRows(xd, wd, out, r, rows, F, eps);
  return record('rmsNorm', w ? [x, w] : [x], new Tensor(out, x.shape), (g) => {
    if (isGradEnabled()) {
      const x2 = reshape(x, [rows, F]),
        g2 = reshape(g, [rows, F]);
      const ri = div(1, sqrt(add(mean(square(x2), 1, true), eps)));
      const xhat = mul(x2, ri);
      const gh = w ? mul(g2, reshape(w, [1, F])) : g2;
      const gx = reshape(mul(ri, sub(gh, mul(xhat, mean(mul(gh, xhat), 1, true)))), x.shape);
      return w ? [gx, reshape(sum(mul(g2, xhat), 0), w.shape)] : [gx];
    }
    const gx = allocStorage(x.dtype, x.size);
    const gwOut = wd && w?.requiresGrad ? allocStorage(w.dtype, F) : null;
    if (extension('rmsNormBackward')?.(g.data, xd, wd, r, gx, gwOut, rows, F)) {
      const grads: (Tensor | null)[] = [new Tensor(gx, x.shape)];
      if (w) grads.push(gwOut && new Tensor(gwOut, w.shape));
      return grads;
    }
    const gw = gwOut ? new Float64Array(F) : null;
    rmsRowsBackward(g.data, xd, wd, r, gx, gw, rows, F);
    const grads: (Tensor | null)[] = [new Tensor(gx, x.shape)];
    if (w) grads.push(gw && new Tensor(w.dtype === 'float64' ? gw : Float32Array.from(gw), w.shape));
    return grads;
  });
}

/** out = x·r·w per row of F values, r[i] = 1/√(mean(x²) + eps) of row i (its sum of squares in float64). */
function rmsRows(xd: HostStorage, wd: HostStorage | null, out: HostStorage, r: Float64Array, rows: number, F: number, eps: number): void {
  for (let i = 0, o = 0; i < rows; i++, o += F) {
    let ss = 0;
    for (let j = 0; j < F; j++) ss += xd[o + j] * xd[o + j];
    const ri = 1 / Math.sqrt(ss / F + eps);
    r[i] = ri;
    if (wd) for (let j = 0; j < F; j++) out[o + j] = xd[o + j] * ri * wd[j];
    else for (let j = 0; j < F; j++) out[o + j] = xd[o + j] * ri;
  }
}

/** gx = r·ĝ − x·r³·Σ(ĝ·x)/F per row (ĝ = g·w), and gw += Σ_rows g·x·r where gw is given. */
function rmsRowsBackward(
  gd: HostStorage,
  xd: HostStorage,
  wd: HostStorage | null,
  r: Float64Array,
  gx: HostStorage,
  gw: Float64Array | null,
  rows: number,
  F: number,
): void {
  for (let i = 0, o = 0; i < rows; i++, o += F) {
    const ri = r[i];
    let dot = 0;
    if (wd) for (let j = 0; j < F; j++) dot += gd[o + j] * wd[j] * xd[o + j];
    else for (let j = 0; j < F; j++) dot += gd[o + j] * xd[o + j];
    // r·x̂·mean(ĝ·x̂) with x̂ = x·r is x·c
    const c = (dot * ri * ri * ri) / F;
    if (wd) for (let j = 0; j < F; j++) gx[o + j] = ri * gd[o + j] * wd[j] - c * xd[o + j];
    else for (let j = 0; j < F; j++) gx[o + j] = ri * gd[o + j] - c * xd[o + j];
    if (gw) for (let j = 0; j < F; j++) gw[j] += gd[o + j] * xd[o + j] * ri;
  }
}

export interface RMSNormOptions {
  /** Added to the mean square before its root; default the machine epsilon of the input's dtype (PyTorch's None). */
  eps?: number;
  /** Learn a per-element scale (weight, initially 1). Default true. */
  elementwiseAffine?: boolean;
  dtype?: DType;
}

const schema: SchemaOf<RMSNormOptions> = { eps: num, elementwiseAffine: bool, dtype: oneOf('float32', 'float64') };

export class RMSNorm extends Module {
  readonly normalizedShape: readonly number[];
  /** The eps given, or null: the machine epsilon of each input's dtype. */
  readonly eps: number | null;
  readonly weight: Tensor | null;

  /** `new RMSNorm(64)` normalises the last dimension of size 64; `new RMSNorm([C, H, W])` the last three. */
  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    super();
    checkOptions('RMSNorm', opts, schema);
    this.normalizedShape = shapeArg(normalizedShape, 'RMSNorm');
    this.eps = opts.eps ?? null;
    if (this.eps !== null && !(this.eps >= 0)) throw new RangeError(`RMSNorm: invalid eps ${this.eps}; expected ≥ 0`);
    this.weight =
      (opts.elementwiseAffine ?? true)
        ? this.registerParameter(
            'weight',
            parameter([...this.normalizedShape], opts.dtype ?? 'float32', (t) => t.data.fill(1)),
          )
        : null;
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  forward(x: Tensor): Tensor {
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.ndim - k);
    if (x.ndim < k || tail.some((d, i) => d !== this.normalizedShape[i]))
      throw new ShapeError(`${this.describe()}: expected input [*, ${this.normalizedShape.join(', ')}], got ${fmtShape(x.shape)}`);
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }

  override describe(): string {
    return `RMSNorm(${this.normalizedShape.join('×')}${this.eps !== null ? `, eps ${this.eps}` : ''}${this.weight ? '' : ', no affine'})`;
  }
}
