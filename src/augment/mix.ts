/**
 * Batch mixing: MixUp (Zhang et al., 2018) and CutMix (Yun et al., 2019), as torchvision's
 * `transforms.v2.MixUp` / `CutMix` define them. Each acts on a whole batch, inputs and labels
 * together, and pairs every sample with its neighbour in the batch (torchvision's `roll(1, 0)`:
 * sample i with sample i − 1, the first with the last):
 *
 *   MixUp   λ ~ Beta(α, α);  x′ᵢ = λ·xᵢ + (1 − λ)·xᵢ₋₁,  y′ᵢ = λ·onehot(yᵢ) + (1 − λ)·onehot(yᵢ₋₁)
 *   CutMix  λ ~ Beta(α, α); a box centred at (r_x, r_y) ~ U{0..W−1} × U{0..H−1} with half sides
 *           ⌊r·W⌋ × ⌊r·H⌋, r = ½√(1 − λ), clipped to the image; x′ᵢ = xᵢ with the box taken from
 *           xᵢ₋₁; y′ᵢ = λ′·onehot(yᵢ) + (1 − λ′)·onehot(yᵢ₋₁), λ′ = 1 − box area / (H·W)
 *
 * One λ (and one box) per batch. The targets become class probabilities [N, C], which
 * `crossEntropy` takes as soft targets. Labels may also come as probabilities already (rows of a
 * [N, C] float tensor), which are mixed the same way. The draws come from the generator given,
 * the DataLoader's transform stream, so a checkpointed run resumes draw for draw.
 */
import { Tensor, type HostStorage } from '../tensor/tensor.js';
import type { Rng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { checkOptions, num, showValue, type SchemaOf } from '../util/options.js';

/** Inputs and labels of a batch → mixed inputs (same shape) and soft targets [N, C]. */
export type BatchMix = ((x: Tensor, y: ArrayLike<number> | Tensor, rng: Rng) => { x: Tensor; y: Tensor }) & {
  readonly describe: string;
};

export interface MixOptions {
  /** α > 0 of the Beta(α, α) that λ is drawn from (default 1: λ uniform in [0, 1]). */
  alpha?: number;
  /** C, the number of classes (the width of the soft targets). */
  numClasses: number;
}

const schema: SchemaOf<MixOptions> = { alpha: num, numClasses: num };

function settings(what: string, opts: MixOptions): { alpha: number; classes: number } {
  checkOptions(what, opts, schema);
  const alpha = opts.alpha ?? 1;
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new RangeError(`${what}: alpha must be a finite number > 0, got ${showValue(alpha)}`);
  const classes = opts.numClasses;
  if (classes === undefined) throw new TypeError(`${what}: numClasses is required (the number of classes of the labels)`);
  if (!Number.isInteger(classes) || !(classes >= 2)) throw new RangeError(`${what}: numClasses must be an integer ≥ 2, got ${classes}`);
  return { alpha, classes };
}

/** The labels as probability rows [N, C] (dtype of the inputs): one-hot for class labels. */
function probabilities(what: string, y: ArrayLike<number> | Tensor, n: number, classes: number, like: Tensor): HostStorage {
  const out = (like.dtype === 'float64' ? new Float64Array(n * classes) : new Float32Array(n * classes)) as HostStorage;
  if (y instanceof Tensor) {
    if (y.ndim !== 2 || y.shape[0] !== n || y.shape[1] !== classes)
      throw new ShapeError(`${what}: expected class labels [${n}] or probabilities [${n}, ${classes}], got a tensor ${fmtShape(y.shape)}`);
    out.set(y.data as ArrayLike<number>);
    return out;
  }
  if (y.length !== n) throw new ShapeError(`${what}: expected ${n} labels (one per input), got ${y.length}`);
  for (let i = 0; i < n; i++) {
    const c = y[i];
    if (!Number.isInteger(c) || c < 0 || c >= classes)
      throw new RangeError(`${what}: label ${i} is ${c}, expected an integer in [0, ${classes})`);
    out[i * classes + c] = 1;
  }
  return out;
}

/** q′ᵢ = λ·qᵢ + (1 − λ)·qᵢ₋₁ over the probability rows, in place order-safe (a new array). */
function mixRows(q: HostStorage, n: number, width: number, lam: number): HostStorage {
  const out = q.slice() as HostStorage;
  const keep = lam,
    take = 1 - lam;
  for (let i = 0; i < n; i++) {
    const prev = ((i + n - 1) % n) * width,
      row = i * width;
    for (let j = 0; j < width; j++) out[row + j] = take * q[prev + j] + keep * q[row + j];
  }
  return out;
}

function hostInputs(what: string, x: Tensor, n: number): HostStorage {
  if (!(x instanceof Tensor)) throw new TypeError(`${what}: expected the batch's inputs as a Tensor, got ${showValue(x)}`);
  if (x.ndim < 2 || x.shape[0] !== n) throw new ShapeError(`${what}: expected inputs [${n}, …] (one per label), got ${fmtShape(x.shape)}`);
  return x.data as HostStorage;
}

function count(y: ArrayLike<number> | Tensor): number {
  return y instanceof Tensor ? y.shape[0] : y.length;
}

/**
 * MixUp with a given λ (the draw left out): torchvision's MixUp after its Beta draw. Exported for
 * the golden tests; `mixup` draws λ.
 */
export function mixupWith(x: Tensor, y: ArrayLike<number> | Tensor, lam: number, numClasses: number): { x: Tensor; y: Tensor } {
  const n = count(y);
  const xs = hostInputs('mixup', x, n);
  const q = probabilities('mixup', y, n, numClasses, x);
  return { x: new Tensor(mixRows(xs, n, x.size / n, lam), x.shape), y: new Tensor(mixRows(q, n, numClasses, lam), [n, numClasses]) };
}

/** The box and the adjusted λ′ of CutMix for a draw λ and a centre (r_x, r_y) (torchvision's _get_params). */
export function cutmixBox(
  lam: number,
  rx: number,
  ry: number,
  H: number,
  W: number,
): { x1: number; y1: number; x2: number; y2: number; lam: number } {
  const r = 0.5 * Math.sqrt(1 - lam);
  const hw = Math.trunc(r * W),
    hh = Math.trunc(r * H);
  const x1 = Math.max(rx - hw, 0),
    y1 = Math.max(ry - hh, 0),
    x2 = Math.min(rx + hw, W),
    y2 = Math.min(ry + hh, H);
  return { x1, y1, x2, y2, lam: 1 - ((x2 - x1) * (y2 - y1)) / (W * H) };
}

/** CutMix with a given λ and box centre (the draws left out). Exported for the golden tests; `cutmix` draws them. */
export function cutmixWith(
  x: Tensor,
  y: ArrayLike<number> | Tensor,
  lam: number,
  rx: number,
  ry: number,
  numClasses: number,
): { x: Tensor; y: Tensor } {
  const n = count(y);
  const xs = hostInputs('cutmix', x, n);
  if (x.ndim !== 4) throw new ShapeError(`cutmix: expected images [N, C, H, W], got ${fmtShape(x.shape)}`);
  const [, C, H, W] = x.shape;
  const box = cutmixBox(lam, rx, ry, H, W);
  const out = xs.slice() as HostStorage;
  for (let i = 0; i < n; i++) {
    const prev = (i + n - 1) % n;
    for (let c = 0; c < C; c++)
      for (let r = box.y1; r < box.y2; r++) {
        const to = ((i * C + c) * H + r) * W,
          from = ((prev * C + c) * H + r) * W;
        for (let k = box.x1; k < box.x2; k++) out[to + k] = xs[from + k];
      }
  }
  const q = probabilities('cutmix', y, n, numClasses, x);
  return { x: new Tensor(out, x.shape), y: new Tensor(mixRows(q, n, numClasses, box.lam), [n, numClasses]) };
}

function named(describe: string, f: (x: Tensor, y: ArrayLike<number> | Tensor, rng: Rng) => { x: Tensor; y: Tensor }): BatchMix {
  return Object.assign(f, { describe });
}

/** MixUp (torchvision's `MixUp(alpha, num_classes)`): one λ ~ Beta(α, α) per batch. */
export function mixup(opts: MixOptions): BatchMix {
  const { alpha, classes } = settings('mixup', opts);
  return named(`mixup(alpha=${alpha})`, (x, y, rng) => mixupWith(x, y, rng.beta(alpha, alpha), classes));
}

/** CutMix (torchvision's `CutMix(alpha, num_classes)`) on images [N, C, H, W]: one λ and one box per batch. */
export function cutmix(opts: MixOptions): BatchMix {
  const { alpha, classes } = settings('cutmix', opts);
  return named(`cutmix(alpha=${alpha})`, (x, y, rng) => {
    if (x.ndim !== 4) throw new ShapeError(`cutmix: expected images [N, C, H, W], got ${fmtShape(x.shape)}`);
    const lam = rng.beta(alpha, alpha);
    const rx = rng.int(x.shape[3]),
      ry = rng.int(x.shape[2]);
    return cutmixWith(x, y, lam, rx, ry, classes);
  });
}

/**
 * One of `mixes` per batch, drawn with probabilities `p` (default equal; torchvision's
 * `RandomChoice([cutmix, mixup])`, the pairing its reference training scripts use).
 */
export function randomChoiceMix(mixes: readonly BatchMix[], p?: readonly number[]): BatchMix {
  if (!Array.isArray(mixes) || mixes.length === 0 || !mixes.every((m) => typeof m === 'function'))
    throw new TypeError(`randomChoiceMix: expected a non-empty array of batch mixes, got ${showValue(mixes)}`);
  const w = p ?? mixes.map(() => 1);
  if (w.length !== mixes.length || !w.every((v) => v >= 0 && Number.isFinite(v)) || !(w.reduce((a, b) => a + b, 0) > 0))
    throw new RangeError(`randomChoiceMix: expected ${mixes.length} finite weights ≥ 0 with a positive sum, got ${showValue(p)}`);
  const total = w.reduce((a, b) => a + b, 0);
  return named(`one of ${mixes.map((m) => m.describe).join(', ')} per batch`, (x, y, rng) => {
    let u = rng.uniform() * total,
      i = 0;
    while (i < mixes.length - 1 && u >= w[i]) u -= w[i++];
    return mixes[i](x, y, rng);
  });
}

/**
 * The mix of descent train's --mixup / --cutmix (and a sweep's): MixUp with α = `mixup`, CutMix with
 * α = `cutmix`, or with both one of the two per batch, `randomChoiceMix([cutmix, mixup])` as
 * torchvision's reference scripts pair them; undefined with neither.
 */
export function mixupCutmix(o: { mixup?: number; cutmix?: number; numClasses: number }): BatchMix | undefined {
  const mixes: BatchMix[] = [];
  if (o.cutmix !== undefined) mixes.push(cutmix({ alpha: o.cutmix, numClasses: o.numClasses }));
  if (o.mixup !== undefined) mixes.push(mixup({ alpha: o.mixup, numClasses: o.numClasses }));
  return mixes.length > 1 ? randomChoiceMix(mixes) : mixes[0];
}
