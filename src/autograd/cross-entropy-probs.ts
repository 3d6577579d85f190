/**
 * Cross-entropy of logits [N, C] against class probabilities T of the same shape, PyTorch 1.13's
 * `F.cross_entropy(logits, T, weight=w, label_smoothing=ε, reduction=…)` with a float target
 * (aten's LossNLL.cpp, cross_entropy_loss_prob_target), as one op:
 *
 *   ℓᵢ = −Σ_c w[c] · qᵢ[c] · log softmax(logitsᵢ)[c],     q = (1 − ε)·T + ε/C
 *
 * (w = 1 without weights). T is taken as it is: PyTorch neither checks nor normalises its rows.
 * 'none' gives the ℓᵢ, 'sum' Σᵢ ℓᵢ and 'mean' Σᵢ ℓᵢ / N: PyTorch divides by the number of rows
 * (input.numel() / n_classes), not by a sum of weights as it does for class indices. PyTorch refuses
 * an ignore_index ≥ 0 here (a negative one, its default −100, can match nothing), and so does this op.
 *
 * The gradients, with sᵢ = Σ_c w[c]·qᵢ[c] (not 1 even without weights when a row of T does not
 * sum to 1): ∂ℓᵢ/∂logitsᵢ = sᵢ·softmax(logitsᵢ) − w ⊙ qᵢ and ∂ℓᵢ/∂Tᵢ = −(1 − ε)·w ⊙ log softmax(logitsᵢ),
 * times gᵢ for 'none', g for 'sum' and g/N for 'mean'. A plain backward computes them in one pass
 * from the forward's exponentials and log-softmax; a recorded one (createGraph) in differentiable ops.
 */
import { Tensor, allocStorage, full, type DType } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { kernelsFor } from '../backend/index.js';
import { record, isGradEnabled } from './engine.js';
import { add, cast, div, exp, logSoftmax, mul, rawBinary, reshape, sub, sum, type Reduction } from './ops.js';
import { negatedSums, type CrossEntropySettings } from './cross-entropy.js';

const OWNER = 'CrossEntropyLoss';

/**
 * crossEntropy against class probabilities T [N, C] (see the header); `w` is the settings' weight
 * in the logits' precision, its length already checked.
 */
export function crossEntropyProbs(logits: Tensor, target: Tensor, o: CrossEntropySettings, w: Float32Array | Float64Array | null): Tensor {
  const [N, C] = logits.shape;
  if (o.ignoreIndex >= 0)
    throw new RangeError(
      `${OWNER}: ignoreIndex ${o.ignoreIndex} with class-probability targets (a float Tensor [${N}, ${C}]); PyTorch takes none ≥ 0 with them: leave ignoreIndex out, or give class indices`,
    );
  if (isDeviceStorage(logits.storage)) return probsOnDevice(logits, target, o, w);
  if (isDeviceStorage(target.storage))
    throw new TypeError(
      `${OWNER}: the class-probability targets live on ${target.storage.device}, the logits on the host; give both in one place`,
    );
  // the logits' precision, as the integer path's weights (cast is differentiable: T's gradient flows back)
  const T = cast(target, logits.dtype);
  const a = 1 - o.labelSmoothing,
    b = o.labelSmoothing / C;
  const reduction = o.reduction;
  const ls = allocStorage(logits.dtype, logits.size);
  const probs = isGradEnabled() && logits.requiresGrad ? allocStorage(logits.dtype, logits.size) : null;
  kernelsFor().backend.logSoftmax(logits.data, N, C, ls, probs);
  const t = T.data;
  const out = allocStorage(logits.dtype, reduction === 'none' ? N : 1);
  const s = new Float64Array(N);
  let total = 0;
  for (let i = 0, k = 0; i < N; i++) {
    let l = 0,
      si = 0;
    for (let c = 0; c < C; c++, k++) {
      // PyTorch's q: T exactly when ε = 0, then (ls · q) · w
      const wq = (b > 0 ? a * t[k] + b : t[k]) * (w ? w[c] : 1);
      l -= ls[k] * wq;
      si += wq;
    }
    s[i] = si;
    if (reduction === 'none') out[i] = l;
    else total += l;
  }
  if (reduction !== 'none') out[0] = reduction === 'mean' ? total / N : total;
  const y = new Tensor(out, reduction === 'none' ? [N] : []);
  return record('crossEntropy', [logits, T], y, (g) => {
    if (isGradEnabled()) return recordedGradients(logits, T, g, o, w);
    const scale = reduction === 'mean' ? g.data[0] / N : g.data[0];
    let gx: Tensor | null = null,
      gt: Tensor | null = null;
    if (logits.requiresGrad) {
      const p = probs!,
        d = allocStorage(logits.dtype, logits.size);
      for (let i = 0, k = 0; i < N; i++) {
        const f = reduction === 'none' ? g.data[i] : scale;
        for (let c = 0; c < C; c++, k++) d[k] = (p[k] * s[i] - (b > 0 ? a * t[k] + b : t[k]) * (w ? w[c] : 1)) * f;
      }
      gx = new Tensor(d, logits.shape);
    }
    if (T.requiresGrad) {
      const d = allocStorage(logits.dtype, logits.size);
      for (let i = 0, k = 0; i < N; i++) {
        const f = reduction === 'none' ? g.data[i] : scale;
        for (let c = 0; c < C; c++, k++) d[k] = -a * (w ? w[c] : 1) * ls[k] * f;
      }
      gt = new Tensor(d, logits.shape);
    }
    return [gx, gt];
  });
}

/** w as a row [1, C] of the dtype, or null. */
function weightRow(w: Float32Array | Float64Array | null, dtype: DType): Tensor | null {
  if (w === null) return null;
  const out = allocStorage(dtype, w.length);
  out.set(w);
  return new Tensor(out, [1, w.length]);
}

/** w ⊙ q with q = (1 − ε)·T + ε/C (T itself when ε = 0), by `mulOp`/`addOp` (recorded or raw). */
function weightedTarget(
  T: Tensor,
  o: CrossEntropySettings,
  wRow: Tensor | null,
  mulOp: (x: Tensor, y: Tensor) => Tensor,
  addOp: (x: Tensor, y: Tensor) => Tensor,
): Tensor {
  const C = T.shape[1];
  const dtype = T.dtype;
  const q =
    o.labelSmoothing > 0 ? addOp(mulOp(T, full([], 1 - o.labelSmoothing, { dtype })), full([], o.labelSmoothing / C, { dtype })) : T;
  return wRow ? mulOp(q, wRow) : q;
}

/** The factor of every row: gᵢ as a column for 'none', g/N for 'mean', g for 'sum'. */
function rowScale(g: Tensor, N: number, reduction: Reduction, divOp: (x: Tensor, y: Tensor) => Tensor): Tensor {
  if (reduction === 'none') return reshape(g, [N, 1]);
  return reduction === 'mean' ? divOp(g, full([], N, { dtype: g.dtype })) : g;
}

/** Both gradients in differentiable ops, for a recorded backward (where the logits live). */
function recordedGradients(
  logits: Tensor,
  T: Tensor,
  g: Tensor,
  o: CrossEntropySettings,
  w: Float32Array | Float64Array | null,
): (Tensor | null)[] {
  const wRow = weightRow(w, logits.dtype);
  const f = rowScale(g, logits.shape[0], o.reduction, div);
  const ls = logSoftmax(logits);
  let gx: Tensor | null = null;
  if (logits.requiresGrad) {
    const wq = weightedTarget(T, o, wRow, mul, add);
    gx = mul(sub(mul(exp(ls), sum(wq, 1, true)), wq), f);
  }
  const gt = T.requiresGrad
    ? mul(mul(ls, wRow ? mul(wRow, full([], -(1 - o.labelSmoothing), { dtype: logits.dtype })) : -(1 - o.labelSmoothing)), f)
    : null;
  return [gx, gt];
}

/**
 * crossEntropyProbs for logits on a device, composed of primitives with no host read: T is
 * uploaded when it is on the host, w ⊙ q, the loss and s = Σ_c w ⊙ q are products and sums there;
 * the plain backward is (s ⊙ softmax − w ⊙ q)·g (g/N for 'mean') with the softmax from the forward's
 * exponentials, and T's gradient −(1 − ε)·w ⊙ log softmax · g.
 */
function probsOnDevice(logits: Tensor, target: Tensor, o: CrossEntropySettings, w: Float32Array | Float64Array | null): Tensor {
  const [N, C] = logits.shape;
  const k = kernelsFor(logits.storage);
  const T = isDeviceStorage(target.storage) ? target : new Tensor(k.on(Float32Array.from(target.data)), target.shape);
  const raw = (op: 'mul' | 'add' | 'div' | 'sub') => (x: Tensor, y: Tensor) => rawBinary(op, x, y, OWNER);
  const wRow = weightRow(w, 'float32');
  const wq = weightedTarget(T, o, wRow, raw('mul'), raw('add'));
  const ls = new Tensor(k.alloc('float32', logits.size), logits.shape);
  const probs = isGradEnabled() && logits.requiresGrad ? k.alloc('float32', logits.size) : null;
  k.backend.logSoftmax(logits.storage, N, C, ls.storage, probs);
  const y = negatedSums(rawBinary('mul', ls, wq, OWNER), o.reduction, N);
  return record('crossEntropy', [logits, T], y, (g) => {
    if (isGradEnabled() || (logits.requiresGrad && !probs)) return recordedGradients(logits, T, g, o, w);
    const f = rowScale(g, N, o.reduction, raw('div'));
    let gx: Tensor | null = null;
    if (logits.requiresGrad) {
      const s = k.alloc('float32', N);
      k.backend.sum(wq.storage, wq.shape, [1], s);
      const p = rawBinary('mul', new Tensor(probs!, logits.shape), new Tensor(s, [N, 1]), OWNER);
      gx = rawBinary('mul', rawBinary('sub', p, wq, OWNER), f, OWNER);
    }
    let gt: Tensor | null = null;
    if (T.requiresGrad) {
      const factor = full([], -(1 - o.labelSmoothing));
      gt = rawBinary('mul', rawBinary('mul', ls, wRow ? rawBinary('mul', wRow, factor, OWNER) : factor, OWNER), f, OWNER);
    }
    return [gx, gt];
  });
}
