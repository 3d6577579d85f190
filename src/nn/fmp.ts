/**
 * Fractional max pooling (Graham 2014, "Fractional Max-Pooling", arXiv:1412.6071).
 *
 * An [H, W] plane shrinks by a ratio α ∈ (1, 2) instead of 2: N_out = ⌊N_in / α⌋ (PyTorch's
 * output_ratio rule with ratio 1/α), clamped to [⌈N_in/2⌉, N_in]. Each axis is cut by an increasing
 * sequence 0 = a_0 < a_1 < … < a_{N_out} = N_in whose steps are 1 or 2:
 *
 *   'random'        the steps are a random permutation of (N_in − N_out) twos and (2N_out − N_in) ones;
 *   'pseudorandom'  a_i = ⌈α(i + u)⌉ − ⌈αu⌉ with u ~ U[0, 1) and α = N_in/N_out.
 *
 * Output (i, j) is the maximum over rows P_i × columns Q_j, where P_i = [a_{i−1}, a_i − 1]
 * ('disjoint') or [a_{i−1}, a_i] clipped to the plane ('overlapping', Graham's better variant).
 * A new pair of sequences is drawn for every image on every forward pass (shared by its channels).
 *
 * PyTorch's nn.FractionalMaxPool2d is a third variant, selected here by giving `kernelSize`: for each
 * (image, channel) plane and sample u, window i starts at ⌊(i + u)·β⌋ − ⌊u·β⌋ with
 * β = (N_in − k)/(N_out − 1), the last at N_in − k, and spans k cells. With the same samples u (its
 * `_random_samples`, [N, C, 2] with u for the width first) the output equals PyTorch's, including its
 * float32 arithmetic for float32 inputs.
 *
 * Randomness: while training, sequences come from forward's `rng` (required). In evaluation they
 * come from the `rng` if one is passed (so a caller can average several draws, as Graham does at test
 * time). Without one, evaluation is deterministic: the sequences come from the layer's own
 * generator (seeded at construction from its `rng` option), restarted at every call. Layers must not
 * share that generator: with the same u in every layer, the layers' shifts add up instead of
 * averaging out as in training, which was measured to cost 7 to 13 points of accuracy (also with
 * u = 1/2 in every layer).
 */
import type { Tensor } from '../tensor/tensor.js';
import { extension } from '../backend/backend.js';
import { Rng, nextDefaultRng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { gatherPlanes, pair, type Pair } from '../autograd/conv.js';
import { Module, type ForwardOptions } from './module.js';
import { needRng } from './dropout.js';
import { bool, checkOptions, numOrPair, oneOf, rng as rngSpec, tensor, type SchemaOf } from '../util/options.js';

export type FmpSequence = 'random' | 'pseudorandom';

export interface FractionalMaxPool2dOptions {
  /** α ∈ (1, 2), or [αH, αW]. Default √2 (Graham's choice). Ignored when outputSize is given. */
  ratio?: number | readonly [number, number];
  /** Fixed output [H, W] instead of a ratio. */
  outputSize?: Pair;
  /** Graham's variants; default 'pseudorandom'. */
  sequence?: FmpSequence;
  /** Default true (Graham found overlapping regions better). */
  overlapping?: boolean;
  /** PyTorch's variant: windows of this size at PyTorch's interval positions. */
  kernelSize?: Pair;
  /** PyTorch's variant only: the samples u, [N, C, 2] (width first), as its `_random_samples`. */
  samples?: Tensor;
  /** Seeds this layer's own evaluation generator (see the header); default: the global generator. */
  rng?: Rng;
}

const fmpSchema: SchemaOf<FractionalMaxPool2dOptions> = {
  ratio: numOrPair,
  outputSize: numOrPair,
  sequence: oneOf('random', 'pseudorandom'),
  overlapping: bool,
  kernelSize: numOrPair,
  samples: tensor,
  rng: rngSpec,
};

/** Output length of an axis of length nIn pooled by ratio α. */
export function fmpOutputSize(nIn: number, alpha: number): number {
  return Math.min(nIn, Math.max(Math.ceil(nIn / 2), Math.floor(nIn / alpha)));
}

/**
 * Graham's boundary sequence a_0..a_{nOut}: a_0 = 0, a_{nOut} = nIn, steps of 1 or 2. A pseudorandom
 * sequence uses `u` when given, else draws it from `rng`.
 */
export function fmpSequence(nIn: number, nOut: number, kind: FmpSequence, rng: Rng, u?: number): Int32Array {
  if (!(nOut <= nIn && nIn <= 2 * nOut))
    throw new RangeError(`FractionalMaxPool2d: cannot pool ${nIn} cells into ${nOut} with steps of 1 or 2`);
  const a = new Int32Array(nOut + 1);
  if (kind === 'random') {
    const steps = new Int32Array(nOut).fill(1);
    steps.fill(2, 0, nIn - nOut);
    rng.shuffle(steps);
    for (let i = 0; i < nOut; i++) a[i + 1] = a[i] + steps[i];
  } else {
    const alpha = nIn / nOut;
    const uu = u ?? rng.uniform();
    const base = Math.ceil(alpha * uu);
    for (let i = 1; i < nOut; i++) a[i] = Math.ceil(alpha * (i + uu)) - base;
    a[nOut] = nIn;
  }
  return a;
}

/** PyTorch's fractional_max_pool2d_generate_intervals (window starts), in float32 when `f32`. */
export function torchFmpIntervals(u: number, nIn: number, nOut: number, k: number, f32: boolean): Int32Array {
  const r = f32 ? Math.fround : (x: number) => x;
  const seq = new Int32Array(nOut);
  if (nOut > 1) {
    const alpha = r(r(nIn - k) / r(nOut - 1));
    const s = r(u);
    for (let i = 0; i < nOut - 1; i++) seq[i] = Math.trunc(r(r(i + s) * alpha)) - Math.trunc(r(s * alpha));
  }
  if (nOut > 0) seq[nOut - 1] = nIn - k;
  return seq;
}

/** Arg-max offsets within each plane over the window [r0[i], r1[i]) × [c0[j], c1[j]). */
function argmaxWindows(
  x: ArrayLike<number>,
  xb: number,
  W: number,
  r0: Int32Array,
  r1: Int32Array,
  c0: Int32Array,
  c1: Int32Array,
  idx: Int32Array,
  ob: number,
): void {
  const oh = r0.length,
    ow = c0.length;
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++) {
      let best = -Infinity,
        bi = r0[i] * W + c0[j];
      for (let y = r0[i]; y < r1[i]; y++)
        for (let xx = c0[j]; xx < c1[j]; xx++) {
          const v = x[xb + y * W + xx];
          if (v > best || v !== v) {
            best = v;
            bi = y * W + xx;
          }
        }
      idx[ob + i * ow + j] = bi;
    }
}

/** Window [start, end) per output cell from a boundary sequence. */
export function fmpWindows(a: Int32Array, nIn: number, overlapping: boolean): [Int32Array, Int32Array] {
  const n = a.length - 1;
  const s = new Int32Array(n),
    e = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s[i] = a[i];
    e[i] = overlapping ? Math.min(a[i + 1] + 1, nIn) : a[i + 1];
  }
  return [s, e];
}

export class FractionalMaxPool2d extends Module {
  readonly ratio: [number, number];
  readonly outputSize: [number, number] | null;
  readonly sequence: FmpSequence;
  readonly overlapping: boolean;
  readonly kernelSize: [number, number] | null;
  readonly samples: Tensor | null;
  private readonly evalSeed: number;

  constructor(opts: FractionalMaxPool2dOptions = {}) {
    super();
    checkOptions('FractionalMaxPool2d', opts, fmpSchema);
    this.evalSeed = (opts.rng ?? nextDefaultRng()).nextU32();
    const r = opts.ratio ?? Math.SQRT2;
    this.ratio = typeof r === 'number' ? [r, r] : [r[0], r[1]];
    if (this.ratio.some((v) => !(v > 1 && v < 2)))
      throw new RangeError(`FractionalMaxPool2d: ratio α must be in (1, 2), got ${JSON.stringify(opts.ratio)}`);
    this.outputSize = opts.outputSize === undefined ? null : pair(opts.outputSize, 'FractionalMaxPool2d outputSize', 1);
    this.sequence = opts.sequence ?? 'pseudorandom';
    if (this.sequence !== 'random' && this.sequence !== 'pseudorandom')
      throw new RangeError(`FractionalMaxPool2d: sequence must be 'random' or 'pseudorandom', got ${JSON.stringify(opts.sequence)}`);
    this.overlapping = opts.overlapping ?? true;
    this.kernelSize = opts.kernelSize === undefined ? null : pair(opts.kernelSize, 'FractionalMaxPool2d kernelSize', 1);
    this.samples = opts.samples ?? null;
    if (this.samples && !this.kernelSize)
      throw new RangeError('FractionalMaxPool2d: samples are for the PyTorch variant; give kernelSize too');
  }

  /** Output [H, W] for an input plane [H, W]. */
  outShape(h: number, w: number): [number, number] {
    if (this.outputSize) return this.outputSize;
    return this.kernelSize
      ? [Math.floor(h / this.ratio[0]), Math.floor(w / this.ratio[1])]
      : [fmpOutputSize(h, this.ratio[0]), fmpOutputSize(w, this.ratio[1])];
  }

  /**
   * The pooling regions of one image of Graham's variants, drawn from `rng` as forward draws them
   * for each image (rows first): output (i, j) is the maximum over rows [rows[0][i], rows[1][i]) ×
   * columns [cols[0][j], cols[1][j]). Given a generator in the state forward received, they are the
   * regions forward pools the first image over (the lab draws them this way).
   */
  regions(h: number, w: number, rng: Rng): { rows: [Int32Array, Int32Array]; cols: [Int32Array, Int32Array] } {
    if (this.kernelSize)
      throw new RangeError(`${this.describe()}: regions() draws Graham's variants; PyTorch's variant has fixed-size windows`);
    const [oh, ow] = this.outShape(h, w);
    const rows = fmpWindows(fmpSequence(h, oh, this.sequence, rng), h, this.overlapping);
    const cols = fmpWindows(fmpSequence(w, ow, this.sequence, rng), w, this.overlapping);
    return { rows, cols };
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    if (x.ndim !== 4) throw new ShapeError(`${this.describe()}: expected input [N, C, H, W], got ${fmtShape(x.shape)}`);
    const [N, C, H, W] = x.shape;
    const [oh, ow] = this.outShape(H, W);
    // Evaluation without a generator: this layer's own, restarted each call (deterministic regions).
    const rng = opts?.training && !this.samples ? needRng(opts, this.describe()) : (opts?.rng ?? new Rng(this.evalSeed));
    const idx = new Int32Array(N * C * oh * ow);
    if (this.kernelSize) {
      const [kh, kw] = this.kernelSize;
      if (oh + kh - 1 > H || ow + kw - 1 > W || oh < 1 || ow < 1) {
        throw new ShapeError(
          `${this.describe()}: output ${oh}×${ow} with kernel ${kh}×${kw} does not fit the input ${H}×${W} (need output + kernel − 1 ≤ input)`,
        );
      }
      const s = this.samples;
      if (s && (s.ndim !== 3 || s.shape[0] !== N || s.shape[1] !== C || s.shape[2] !== 2)) {
        throw new ShapeError(`${this.describe()}: samples must be [${N}, ${C}, 2], got ${fmtShape(s.shape)}`);
      }
      const f32 = x.dtype === 'float32';
      for (let pl = 0; pl < N * C; pl++) {
        const uw = s ? s.data[pl * 2] : rng.uniform();
        const uh = s ? s.data[pl * 2 + 1] : rng.uniform();
        const c0 = torchFmpIntervals(uw, W, ow, kw, f32),
          r0 = torchFmpIntervals(uh, H, oh, kh, f32);
        argmaxWindows(
          x.data,
          pl * H * W,
          W,
          r0,
          r0.map((v) => v + kh),
          c0,
          c0.map((v) => v + kw),
          idx,
          pl * oh * ow,
        );
      }
    } else {
      // every image's windows (drawn in image order, rows then columns), per image its starts then its ends
      const rows = new Int32Array(N * 2 * oh),
        cols = new Int32Array(N * 2 * ow);
      for (let n = 0; n < N; n++) {
        const r = this.regions(H, W, rng);
        rows.set(r.rows[0], 2 * n * oh);
        rows.set(r.rows[1], (2 * n + 1) * oh);
        cols.set(r.cols[0], 2 * n * ow);
        cols.set(r.cols[1], (2 * n + 1) * ow);
      }
      const kernel = extension('fmpArgmax');
      if (!kernel?.(x.data, idx, N, C, H, W, rows, cols, oh, ow)) {
        for (let n = 0; n < N; n++) {
          const r0 = rows.subarray(2 * n * oh, (2 * n + 1) * oh),
            r1 = rows.subarray((2 * n + 1) * oh, (2 * n + 2) * oh),
            c0 = cols.subarray(2 * n * ow, (2 * n + 1) * ow),
            c1 = cols.subarray((2 * n + 1) * ow, (2 * n + 2) * ow);
          for (let pl = n * C; pl < (n + 1) * C; pl++) argmaxWindows(x.data, pl * H * W, W, r0, r1, c0, c1, idx, pl * oh * ow);
        }
      }
    }
    return gatherPlanes(x, idx, [N, C, oh, ow]);
  }

  override describe(): string {
    if (this.kernelSize) return `FractionalMaxPool2d(torch, kernel ${this.kernelSize.join('×')})`;
    const [a, b] = this.ratio;
    return `FractionalMaxPool2d(α=${a === b ? +a.toFixed(4) : `${+a.toFixed(4)}×${+b.toFixed(4)}`}, ${this.sequence}, ${this.overlapping ? 'overlapping' : 'disjoint'})`;
  }
}
