/**
 * Cross-entropy of logits [N, C] against integer class targets, PyTorch 1.13's
 * `F.cross_entropy(logits, t, weight=w, ignore_index=k, label_smoothing=ε, reduction=…)`, as one op:
 *
 *   ℓᵢ = −Σ_c qᵢ[c] · log softmax(logitsᵢ)[c],     qᵢ = (1 − ε)·w[tᵢ]·onehot(tᵢ) + (ε/C)·w
 *
 * (w = 1 without weights: qᵢ is the smoothed one-hot (1 − ε)·onehot(tᵢ) + ε/C). A row whose target
 * is the ignore index k (default −100, PyTorch's; it may be a class) has qᵢ = 0: loss 0, gradient 0,
 * smoothing term dropped too (aten masks smooth_loss where target == ignore_index). 'none' gives the
 * ℓᵢ, 'sum' Σᵢ ℓᵢ and 'mean' Σᵢ ℓᵢ / D with D = Σ w[tᵢ] over the rows not ignored (their count
 * without weights): a weighted mean divides by the weights of the targets, not by N, and the
 * smoothing term is divided by the same D (aten's LossNLL.cpp, cross_entropy_loss_label_smoothing:
 * smooth_loss.sum() / weight.gather(target.masked_select(~ignore_mask)).sum()). A batch whose
 * targets all weigh 0, or are all ignored, has no mean: NaN, PyTorch's 0/0 (the ignored rows'
 * gradient stays 0, the others' is NaN).
 *
 * The gradient, since Σ_c softmax = 1: ∂ℓᵢ/∂logitsᵢ = sᵢ·softmax(logitsᵢ) − qᵢ with sᵢ = Σ_c qᵢ[c] =
 * (1 − ε)·w[tᵢ] + (ε/C)·Σ w (1 without weights, 0 for an ignored row), times gᵢ for 'none', g for
 * 'sum' and g/D for 'mean'. A plain backward computes it in one pass from the forward's
 * exponentials; a recorded one (createGraph: Hessians for Newton's method) is written in
 * differentiable ops.
 *
 * A float Tensor of the logits' shape [N, C] is a class-probability target instead
 * (cross-entropy-probs.ts); integer targets are an array, a typed array or a Tensor [N].
 *
 * Logits [N, C, d1…dk] (a sequence model's [B, V, T], a segmentation's [N, C, H, W]) take one
 * target per position, [N, d1…dk], PyTorch's K-dimensional loss: see perPosition. nllLoss, below,
 * shares the targets, options and both forms.
 */
import { Tensor, allocStorage, full, type DType } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { kernelsFor } from '../backend/index.js';
import { checkOptions, int, num, oneOf, spec, tensor, type SchemaOf } from '../util/options.js';
import { noGrad, record, isGradEnabled } from './engine.js';
import { crossEntropyProbs } from './cross-entropy-probs.js';
import {
  checkReduction,
  div,
  exp,
  logSoftmax,
  mul,
  neg,
  oneHot,
  permute,
  rawBinary,
  rawUnary,
  reshape,
  sub,
  sum,
  type Reduction,
} from './ops.js';

export interface CrossEntropyOptions {
  /** 'mean' (default: divided by Σ weight[target], N without weights), 'sum' or 'none' (one loss per row). */
  reduction?: Reduction;
  /** ε in [0, 1]: the target is (1 − ε)·onehot + ε/C (PyTorch's label_smoothing); default 0. */
  labelSmoothing?: number;
  /** One finite weight ≥ 0 per class, C of them (PyTorch's weight); default all 1. */
  weight?: ArrayLike<number> | Tensor;
  /**
   * An integer: rows whose target is it count for nothing, not even in the mean's divisor
   * (PyTorch's ignore_index); default −100. Probability targets take only a negative one, as PyTorch.
   */
  ignoreIndex?: number;
}

const OWNER = 'CrossEntropyLoss';

const schema: SchemaOf<CrossEntropyOptions> = {
  reduction: oneOf('mean', 'sum', 'none'),
  labelSmoothing: num,
  ignoreIndex: int,
  weight: spec(
    'one number per class (an array, a Float32Array, a Float64Array or a Tensor [C])',
    (v) => Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array || tensor.test(v),
  ),
};

/** The options with their defaults, as the op uses them (CrossEntropyLoss and crossEntropyWith check them once, when built). */
export interface CrossEntropySettings {
  readonly reduction: Reduction;
  readonly labelSmoothing: number;
  /** Per class, or null for all 1; its length is checked against C at each call. */
  readonly weight: Float64Array | null;
  readonly ignoreIndex: number;
}

/** What the messages call the loss's input: cross-entropy's logits, NLL's input (log-probabilities). */
function inputName(owner: string): string {
  return owner === OWNER ? 'logits' : 'input';
}

/** PyTorch's default ignore_index. */
const IGNORE_INDEX = -100;

/** A reduction string or an options object, checked: unknown names, ε outside [0, 1], a fractional ignoreIndex and bad weights are refused. */
export function crossEntropySettings(arg: Reduction | CrossEntropyOptions | undefined): CrossEntropySettings {
  return lossSettings(arg, OWNER, schema);
}

/** crossEntropySettings for `owner`, whose options are those of `ownSchema` (a part of cross-entropy's). */
function lossSettings(
  arg: Reduction | CrossEntropyOptions | undefined,
  owner: string,
  ownSchema: SchemaOf<CrossEntropyOptions> | SchemaOf<NLLOptions>,
): CrossEntropySettings {
  if (arg === undefined) return { reduction: 'mean', labelSmoothing: 0, weight: null, ignoreIndex: IGNORE_INDEX };
  if (typeof arg !== 'object' || arg === null) {
    checkReduction(owner, arg);
    return { reduction: arg, labelSmoothing: 0, weight: null, ignoreIndex: IGNORE_INDEX };
  }
  const o = checkOptions(owner, arg, ownSchema);
  const labelSmoothing = o.labelSmoothing ?? 0;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
    throw new RangeError(`${OWNER}: invalid labelSmoothing ${labelSmoothing}; expected in [0, 1]`);
  return {
    reduction: o.reduction ?? 'mean',
    labelSmoothing,
    weight: o.weight === undefined ? null : weightValues(o.weight, owner),
    ignoreIndex: o.ignoreIndex ?? IGNORE_INDEX,
  };
}

function weightValues(w: ArrayLike<number> | Tensor, owner: string): Float64Array {
  let values: ArrayLike<unknown> = w as ArrayLike<number>;
  if (w instanceof Tensor) {
    if (w.ndim !== 1) throw new ShapeError(`${owner}: weight must be one number per class, a Tensor [C]; got ${fmtShape(w.shape)}`);
    if (isDeviceStorage(w.storage))
      throw new TypeError(`${owner}: weight lives on ${w.storage.device}; give the class weights on the host (await weight.to('cpu'))`);
    values = w.data;
  }
  const out = new Float64Array(values.length);
  for (let c = 0; c < values.length; c++) {
    const v = values[c];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new RangeError(`${owner}: invalid weight[${c}] ${String(v)}; expected a finite number ≥ 0`);
    out[c] = v;
  }
  return out;
}

/**
 * Cross-entropy's targets as N class indices: an array or typed array, or a Tensor of shape [N]
 * (a Tensor of the logits' shape, class probabilities, is taken before this).
 */
function targetValues(targets: unknown, N: number, C: number, owner: string): ArrayLike<number> {
  if (targets instanceof Tensor) {
    if (targets.ndim !== 1)
      throw new ShapeError(
        `${owner}: targets must be ${N} class indices, a Tensor of shape [${N}]${owner === OWNER ? `, or class probabilities of the logits' shape [${N}, ${C}]` : ''}; got ${fmtShape(targets.shape)}`,
      );
    targets = targets.data;
  } else if (!Array.isArray(targets) && !ArrayBuffer.isView(targets))
    throw new TypeError(
      `${owner}: targets must be class indices (an array, an Int32Array or a Tensor of shape [${N}]), got ${targets === null ? 'null' : typeof targets}`,
    );
  const values = targets as ArrayLike<number>;
  if (values.length !== N) throw new ShapeError(`${owner}: ${N} ${inputName(owner)} rows but ${values.length} targets`);
  return values;
}

/**
 * The targets as class indices, each an integer in [0, C − 1] or the ignore index (given as −1:
 * an ignored row).
 */
function classesOrIgnored(targets: ArrayLike<number>, C: number, ignoreIndex: number): Int32Array {
  const t = new Int32Array(targets.length);
  for (let i = 0; i < targets.length; i++) {
    const c = targets[i];
    if (c === ignoreIndex) t[i] = -1;
    else if (Number.isInteger(c) && c >= 0 && c < C) t[i] = c;
    else throw new RangeError(`target ${i} is ${c}, expected an integer class in [0, ${C - 1}] or the ignoreIndex ${ignoreIndex}`);
  }
  return t;
}

/**
 * What the targets of one batch make of the options: the class indices (−1 where ignored), q's two
 * coefficients (qᵢ[c] = b·w[c], plus a·w[tᵢ] at c = tᵢ; 0 in an ignored row), the weights in the
 * logits' precision (as PyTorch's weight tensor shares their dtype), the row sums sᵢ (null when
 * all 1: no weights, no row ignored) and the mean's divisor D (NaN for 0: PyTorch's 0/0).
 */
interface Targets {
  t: Int32Array;
  a: number;
  b: number;
  w: Float32Array | Float64Array | null;
  s: Float64Array | null;
  divisor: number;
  /** Whether some row is ignored. */
  ignored: boolean;
}

/** The weights in the logits' precision (as PyTorch's weight tensor shares their dtype), C of them, or null. */
function classWeights(logits: Tensor, o: CrossEntropySettings, owner = OWNER): Float32Array | Float64Array | null {
  if (o.weight === null) return null;
  const C = logits.shape[1];
  if (o.weight.length !== C)
    throw new ShapeError(
      `${owner}: weight has ${o.weight.length} values, expected ${C}, one per class of ${inputName(owner)} ${fmtShape(logits.shape)}`,
    );
  return logits.dtype === 'float32' ? Float32Array.from(o.weight) : o.weight;
}

function targetsOf(logits: Tensor, targets: ArrayLike<number> | Tensor, o: CrossEntropySettings, owner = OWNER): Targets {
  const [N, C] = logits.shape;
  const t = classesOrIgnored(targetValues(targets, N, C, owner), C, o.ignoreIndex);
  const a = 1 - o.labelSmoothing,
    b = o.labelSmoothing / C;
  let ignored = false;
  for (let i = 0; i < N; i++) if (t[i] < 0) ignored = true;
  const w = classWeights(logits, o, owner);
  if (w === null && !ignored) return { t, a, b, w: null, s: null, divisor: N, ignored };
  let all = 0,
    D = 0;
  for (let c = 0; c < C; c++) all += w ? w[c] : 1;
  const s = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    if (t[i] < 0) continue;
    const wt = w ? w[t[i]] : 1;
    D += wt;
    s[i] = a * wt + b * all;
  }
  return { t, a, b, w, s, divisor: D === 0 ? NaN : D, ignored };
}

/** The target distributions q as a constant matrix [N, C] (the recorded backward's and the device's); ignored rows are 0. */
function targetMatrix(q: Targets, C: number, dtype: DType): Tensor {
  const { t, a, b, w } = q;
  if (b === 0 && w === null && !q.ignored) return oneHot(t, C, dtype);
  const out = allocStorage(dtype, t.length * C);
  for (let i = 0, o = 0; i < t.length; i++, o += C) {
    if (t[i] < 0) continue;
    for (let c = 0; c < C; c++) out[o + c] = b * (w ? w[c] : 1);
    out[o + t[i]] += a * (w ? w[t[i]] : 1);
  }
  return new Tensor(out, [t.length, C]);
}

/**
 * g/D, 'mean's factor of every row: when D is 0 (NaN) and some rows are ignored, g divided by a
 * column of NaN for the rows that count and ∞ for the ignored ones, whose gradient PyTorch keeps
 * at 0 (their s·softmax − q is 0, times g/∞ = 0).
 */
function meanScale<T>(g: T, q: Targets, divide: (g: T, d: Tensor) => Tensor, dtype: DType): Tensor {
  if (!(Number.isNaN(q.divisor) && q.ignored)) return divide(g, full([], q.divisor, { dtype }));
  const col = allocStorage(dtype, q.t.length);
  for (let i = 0; i < q.t.length; i++) col[i] = q.t[i] < 0 ? Infinity : NaN;
  return divide(g, new Tensor(col, [q.t.length, 1]));
}

/** s as a column [N, 1] to scale the softmax by (null without weights or ignored rows: all 1). */
function rowSums(q: Targets, dtype: DType): Tensor | null {
  if (q.s === null) return null;
  const out = allocStorage(dtype, q.s.length);
  out.set(q.s);
  return new Tensor(out, [q.s.length, 1]);
}

/** (s ⊙ softmax − q) · g in differentiable ops, for a recorded backward. */
function recordedGradient(
  logits: Tensor,
  g: Tensor,
  q: Targets,
  reduction: Reduction,
  qm = targetMatrix(q, logits.shape[1], logits.dtype),
  s = rowSums(q, logits.dtype),
): Tensor {
  const perRow = reduction === 'none' ? reshape(g, [logits.shape[0], 1]) : reduction === 'mean' ? meanScale(g, q, div, g.dtype) : g;
  const p = exp(logSoftmax(logits));
  return mul(sub(s ? mul(p, s) : p, qm), perRow);
}

/**
 * Cross-entropy of logits [N, C] against integer targets or class probabilities [N, C] (see the
 * header), PyTorch's `F.cross_entropy`; logits [N, C, d1…dk] against targets [N, d1…dk] (or
 * probabilities of the logits' shape) as PyTorch's K-dimensional form, e.g. a language model's
 * `crossEntropy(out.transpose(1, 2), y)` for out [B, T, V] and next-token ids y [B, T]. The third argument is the reduction ('mean', the default,
 * 'sum' or 'none') or `{ reduction, labelSmoothing, weight, ignoreIndex }`.
 */
export function crossEntropy(
  logits: Tensor,
  targets: ArrayLike<number> | Tensor,
  reductionOrOptions: Reduction | CrossEntropyOptions = 'mean',
): Tensor {
  return crossEntropyOf(logits, targets, crossEntropySettings(reductionOrOptions));
}

/**
 * crossEntropy with these options, checked once, as a loss `(logits, targets) => Tensor`: fit's and
 * evaluate's `loss: crossEntropyWith({ labelSmoothing: 0.1 })`.
 */
export function crossEntropyWith(
  reductionOrOptions: Reduction | CrossEntropyOptions,
): (logits: Tensor, targets: ArrayLike<number> | Tensor) => Tensor {
  const o = crossEntropySettings(reductionOrOptions);
  return (logits, targets) => crossEntropyOf(logits, targets, o);
}

function crossEntropyOf(logits: Tensor, targets: ArrayLike<number> | Tensor, o: CrossEntropySettings): Tensor {
  if (logits.ndim > 2) return perPosition(logits, targets, o, OWNER, crossEntropyOf);
  if (logits.ndim !== 2) throw new ShapeError(`${OWNER}: expected logits [N, C] or [N, C, d1, …, dk], got ${fmtShape(logits.shape)}`);
  if (targets instanceof Tensor && targets.ndim === 2 && targets.shape[0] === logits.shape[0] && targets.shape[1] === logits.shape[1])
    return crossEntropyProbs(logits, targets, o, classWeights(logits, o));
  const q = targetsOf(logits, targets, o);
  if (isDeviceStorage(logits.storage)) return crossEntropyOnDevice(logits, q, o.reduction);
  const [N, C] = logits.shape;
  const { t, a, b, w, s, divisor } = q;
  const reduction = o.reduction;
  // the softmax comes from the same exponentials as the log-softmax, so the backward needs no
  // exp; only asked for when there will be a backward (not in evaluation under noGrad)
  const ls = allocStorage(logits.dtype, logits.size);
  const probs = isGradEnabled() && logits.requiresGrad ? allocStorage(logits.dtype, logits.size) : null;
  kernelsFor().backend.logSoftmax(logits.data, N, C, ls, probs);
  const out = allocStorage(logits.dtype, reduction === 'none' ? N : 1);
  let total = 0;
  for (let i = 0; i < N; i++) {
    const row = i * C;
    if (t[i] < 0) continue; // ignored: 0 in 'none', nothing in the sum
    // a·w[t] is 1 without options: the plain loss −log softmax at the target, exactly
    let l = -ls[row + t[i]] * (a * (w ? w[t[i]] : 1));
    if (b > 0) {
      let smooth = 0;
      for (let c = 0; c < C; c++) smooth -= (w ? w[c] : 1) * ls[row + c];
      l += b * smooth;
    }
    if (reduction === 'none') out[i] = l;
    else total += l;
  }
  if (reduction !== 'none') out[0] = reduction === 'mean' ? total / divisor : total;
  const y = new Tensor(out, reduction === 'none' ? [N] : []);
  return record('crossEntropy', [logits], y, (g) => {
    if (isGradEnabled()) return [recordedGradient(logits, g, q, reduction)];
    // (s·softmax − q) · g, per row (recorded, so probs was computed); without options s = 1 and
    // q = onehot, so this is (softmax − onehot) · g with the same roundings
    const p = probs!,
      gx = allocStorage(logits.dtype, logits.size);
    const scale = reduction === 'mean' ? g.data[0] / divisor : g.data[0];
    for (let i = 0, o = 0; i < N; i++) {
      if (t[i] < 0) {
        o += C; // an ignored row keeps its 0, even where the mean is NaN
        continue;
      }
      const k = reduction === 'none' ? g.data[i] : scale;
      const si = s ? s[i] : 1;
      for (let c = 0; c < C; c++, o++) gx[o] = (p[o] * si - b * (w ? w[c] : 1)) * k;
      const at = i * C + t[i];
      gx[at] = (p[at] * si - (a * (w ? w[t[i]] : 1) + b * (w ? w[t[i]] : 1))) * k;
    }
    return [new Tensor(gx, logits.shape)];
  });
}

/**
 * The device loss from the picked log-probabilities [N, C] (log_softmax ⊙ target weights): −Σ per
 * row for 'none', −Σ over all for 'sum', and that divided by `divisor` for 'mean'.
 */
export function negatedSums(picked: Tensor, reduction: Reduction, divisor: number): Tensor {
  const k = kernelsFor(picked.storage);
  const N = picked.shape[0];
  if (reduction === 'none') {
    const rows = k.alloc('float32', N);
    k.backend.sum(picked.storage, picked.shape, [1], rows);
    return rawUnary('neg', new Tensor(rows, [N]));
  }
  const total = k.alloc('float32', 1);
  k.backend.sum(picked.storage, picked.shape, [0, 1], total);
  const y = rawUnary('neg', new Tensor(total, []));
  return reduction === 'mean' ? rawBinary('div', y, full([], divisor), OWNER) : y;
}

/**
 * crossEntropy for logits on a device, composed of primitives with no host read: q (the one-hot
 * matrix without options; 0 in ignored rows) and s are built on the host from the class indices
 * and uploaded with the batch; the loss is
 * −Σ log_softmax ⊙ q (divided by D for 'mean'; per row for 'none'); the plain backward is
 * (s ⊙ softmax − q)·g, g divided by D for 'mean', with the softmax from the forward's exponentials.
 * The reference kernels sum in float64 in the host loop's order, so without options and for a
 * power-of-two batch the loss and the gradient equal the host path's to the bit (otherwise the
 * division by D rounds once more, and q's products differently: within a few ulps).
 */
function crossEntropyOnDevice(logits: Tensor, q: Targets, reduction: Reduction): Tensor {
  const [N, C] = logits.shape;
  const k = kernelsFor(logits.storage);
  const qm = new Tensor(k.on(targetMatrix(q, C, 'float32').data), [N, C]);
  const sHost = rowSums(q, 'float32');
  const s = sHost ? new Tensor(k.on(sHost.data), sHost.shape) : null;
  const ls = k.alloc('float32', logits.size);
  const probs = isGradEnabled() && logits.requiresGrad ? k.alloc('float32', logits.size) : null;
  k.backend.logSoftmax(logits.storage, N, C, ls, probs);
  const picked = rawBinary('mul', new Tensor(ls, logits.shape), qm, OWNER);
  const y = negatedSums(picked, reduction, q.divisor);
  return record('crossEntropy', [logits], y, (g) => {
    if (isGradEnabled() || !probs) return [recordedGradient(logits, g, q, reduction, qm, s)];
    const scale =
      reduction === 'none'
        ? reshape(g, [N, 1])
        : reduction === 'mean'
          ? meanScale(g, q, (a, d) => rawBinary('div', a, d, OWNER), 'float32')
          : g;
    const p = new Tensor(probs, logits.shape);
    return [rawBinary('mul', rawBinary('sub', s ? rawBinary('mul', p, s, OWNER) : p, qm, OWNER), scale, OWNER)];
  });
}

/**
 * The K-dimensional form, PyTorch's: input [N, C, d1…dk] (k ≥ 1) against class indices [N, d1…dk]
 * (a Tensor of that shape, or N·d1⋯dk values in its row-major order) or, for cross-entropy, class
 * probabilities of the input's shape. Every position is a row of the 2-D loss: the input is
 * permuted to [N, d1…dk, C] and viewed as [N·d1⋯dk, C], the targets as N·d1⋯dk rows, and the 2-D
 * op applied, so every option means what it does there — 'mean' divides by Σ weight[target] over
 * the positions not ignored (by N·d1⋯dk for probabilities, as PyTorch) — and autograd composes
 * the backward through the permutation. 'none' gives [N, d1…dk].
 */
function perPosition(
  input: Tensor,
  targets: ArrayLike<number> | Tensor,
  o: CrossEntropySettings,
  owner: string,
  op2d: (input: Tensor, targets: ArrayLike<number> | Tensor, o: CrossEntropySettings) => Tensor,
): Tensor {
  const [N, C, ...dims] = input.shape;
  const rows = dims.reduce((a, b) => a * b, N);
  const positions = [N, ...dims];
  const D = rows / N;
  // C last, then one row per position: [N, C, D] → [N, D, C] viewed as [N·D, C]. The engine's
  // permute is a backend kernel (wasm, WebGPU) where there is one, recorded with a backward that
  // permutes g back, so the loss reads no value on the host and a recorded backward composes.
  const classesLast = (x: Tensor): Tensor => reshape(permute(reshape(x, [N, C, D]), [0, 2, 1]), [rows, C]);
  classWeights(input, o, owner);
  const what = `class indices ${fmtShape(positions)}${owner === OWNER ? ` or class probabilities of the ${inputName(owner)}' shape ${fmtShape(input.shape)}` : ''}`;
  let t: ArrayLike<number> | Tensor;
  if (targets instanceof Tensor) {
    const same = (shape: readonly number[]) => targets.ndim === shape.length && shape.every((s, i) => targets.shape[i] === s);
    if (owner === OWNER && same(input.shape)) t = classesLast(targets);
    else if (same(positions)) t = reshape(targets, [rows]);
    else
      throw new ShapeError(
        `${owner}: ${inputName(owner)} ${fmtShape(input.shape)} need targets of ${what}; got a Tensor ${fmtShape(targets.shape)}`,
      );
  } else {
    if ((Array.isArray(targets) || ArrayBuffer.isView(targets)) && targets.length !== rows)
      throw new ShapeError(
        `${owner}: ${inputName(owner)} ${fmtShape(input.shape)} need ${rows} targets (${what}, row-major); got ${targets.length}`,
      );
    t = targets;
  }
  const y = op2d(classesLast(input), t, o);
  return o.reduction === 'none' ? reshape(y, positions) : y;
}

export interface NLLOptions {
  /** 'mean' (default: divided by Σ weight[target] over the rows not ignored, their count without weights), 'sum' or 'none'. */
  reduction?: Reduction;
  /** One finite weight ≥ 0 per class, C of them (PyTorch's weight); default all 1. */
  weight?: ArrayLike<number> | Tensor;
  /** Rows whose target is this integer count for nothing, not even in the mean's divisor (PyTorch's ignore_index); default −100. */
  ignoreIndex?: number;
}

const NLL = 'NLLLoss';
const nllSchema: SchemaOf<NLLOptions> = { reduction: schema.reduction, weight: schema.weight, ignoreIndex: schema.ignoreIndex };

/**
 * PyTorch's F.nll_loss: log-probabilities [N, C] (a logSoftmax's output; or [N, C, d1…dk] against targets
 * [N, d1…dk], the K-dimensional form) against class indices,
 * ℓᵢ = −w[tᵢ]·input[i, tᵢ], with crossEntropy's weights, ignored rows and mean (divided by
 * Σ w[tᵢ] over the rows not ignored): nllLoss(logSoftmax(x), t) is crossEntropy(x, t). The input
 * is taken as it is (not checked to be log-probabilities, as PyTorch does not), so it can be on a
 * device.
 */
export function nllLoss(input: Tensor, targets: ArrayLike<number> | Tensor, reductionOrOptions: Reduction | NLLOptions = 'mean'): Tensor {
  const o = lossSettings(reductionOrOptions, NLL, nllSchema);
  return nllOf(input, targets, o);
}

/** NLLLoss's options, checked, with their defaults (the weights as checked numbers). */
export function nllSettings(reductionOrOptions: Reduction | NLLOptions | undefined): NLLOptions {
  const { reduction, weight, ignoreIndex } = lossSettings(reductionOrOptions, NLL, nllSchema);
  return weight === null ? { reduction, ignoreIndex } : { reduction, weight, ignoreIndex };
}

function nllOf(input: Tensor, targets: ArrayLike<number> | Tensor, o: CrossEntropySettings): Tensor {
  if (input.ndim > 2) return perPosition(input, targets, o, NLL, nllOf);
  if (input.ndim !== 2)
    throw new ShapeError(`${NLL}: expected log-probabilities [N, C] or [N, C, d1, …, dk], got ${fmtShape(input.shape)}`);
  const [N, C] = input.shape;
  const q = targetsOf(input, targets, o, NLL);
  const qm = targetMatrix(q, C, input.dtype);
  const picked = noGrad(() => sum(mul(input, qm), 1));
  const y = noGrad(() =>
    o.reduction === 'none' ? neg(picked) : o.reduction === 'sum' ? neg(sum(picked)) : div(neg(sum(picked)), q.divisor),
  );
  // −q·g per row (g/D for 'mean', an ignored row 0 even where D is 0)
  return record('nllLoss', [input], y, (g) => {
    const scale = o.reduction === 'none' ? reshape(g, [N, 1]) : o.reduction === 'mean' ? meanScale(g, q, div, g.dtype) : g;
    return [mul(neg(qm), scale)];
  });
}
