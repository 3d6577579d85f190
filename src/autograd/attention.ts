/**
 * Scaled dot-product attention (Vaswani et al. 2017), PyTorch 2's F.scaled_dot_product_attention:
 *
 *   A = softmax(scale · Q Kᵀ + M),   out = dropout(A) · V        scale = 1/√Ek by default
 *
 * q [..., L, Ek], k [..., S, Ek], v [..., S, Ev] → [..., L, Ev], the leading dimensions broadcast as
 * torch.matmul's. Composed of autograd ops (mul, matmul and matmulTransposed, where/add, softmax), so the
 * backward is the engine's and differentiates again.
 *
 * Masks. descent has no bool dtype: a bool mask is a tensor of 0 and 1 (what gt, eq, logicalNot
 * give, and what `where` and `maskedFill` take), a float mask a tensor whose values are added to the
 * scores. `maskKind` says which a mask is ('bool' by default; a 'bool' mask holding anything but 0
 * and 1 is refused, so an additive mask of 0 and −∞ cannot be read as a bool one by mistake).
 *
 *   HERE (PyTorch's SDPA): a bool mask's 1 means "takes part" (True = attend). nn.MultiheadAttention
 *   uses the opposite convention (1 = masked); see src/nn/attention.ts.
 *
 * A query whose keys are all masked (every score −∞) attends to nothing: its weights and output are
 * 0, as PyTorch 2.5+'s F.scaled_dot_product_attention gives them (its math backend's _safe_softmax;
 * checked against PyTorch 2.6), and its gradients are 0, not NaN. nn.MultiheadAttention keeps
 * PyTorch 1.13's NaN for such a row (see src/nn/attention.ts): `emptyRows` of attentionCore.
 *
 * Dropout of the attention weights is drawn from `rng` and applies only with `training: true`
 * (descent's modes are arguments; PyTorch's function drops whenever dropout_p > 0 and its modules
 * pass dropout_p only while training).
 */
import { Tensor, allocStorage } from '../tensor/tensor.js';
import type { Rng } from '../tensor/rng.js';
import { broadcastShapes, fmtShape, shapeEq, ShapeError } from '../tensor/shape.js';
import { isDeviceStorage } from '../tensor/device.js';
import { add, matmul, mul, permute, reshape, softmax, sub, sum } from './ops.js';
import { split, stack, where } from './indexing.js';
import { matmulTransposed } from './batched.js';
import { transpose } from './transpose.js';
import { applyDropout, fillDropMask } from './dropout-mask.js';
import { isGradEnabled, record } from './engine.js';
import { type AttentionArgs, extension } from '../backend/backend.js';
import { bool, checkOptions, num, oneOf, rng as rngSpec, spec, type SchemaOf } from '../util/options.js';

/** How a mask tensor is read: 'bool' (0/1, its meaning set by the caller's convention) or 'float' (added to the scores). */
export type MaskKind = 'bool' | 'float';

export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcasts to the scores [..., L, S]. With maskKind 'bool': 1 = the query attends to that key,
   * 0 = it does not (PyTorch SDPA's True = attend). With 'float': added to the scaled scores.
   */
  attnMask?: Tensor | null;
  /** How attnMask is read; default 'bool'. */
  maskKind?: MaskKind;
  /** Query i attends to keys j ≤ i only (the lower triangle of [L, S]); not with attnMask. Default false. */
  isCausal?: boolean;
  /** Drop probability of the attention weights while training, in [0, 1); default 0. */
  dropoutP?: number;
  /** Multiplies Q Kᵀ; default 1/√Ek. */
  scale?: number;
  /** Training mode: dropout applies only then. Default false. */
  training?: boolean;
  /** Where dropout masks are drawn from (needed when training with dropoutP > 0). */
  rng?: Rng;
}

const tensorOrNull = spec('a Tensor or null', (v) => v === null || v instanceof Tensor);
const sdpaSchema: SchemaOf<ScaledDotProductAttentionOptions> = {
  attnMask: tensorOrNull,
  maskKind: oneOf('bool', 'float'),
  isCausal: bool,
  dropoutP: num,
  scale: num,
  training: bool,
  rng: rngSpec,
};

/** A mask read as MaskKind's 'bool' must hold only 0 and 1 (checked on the host; a device mask is taken as given). */
export function checkBoolMask(mask: Tensor, what: string, name: string): void {
  if (isDeviceStorage(mask.storage)) return;
  const d = mask.data;
  for (let i = 0; i < d.length; i++) {
    if (d[i] !== 0 && d[i] !== 1)
      throw new RangeError(
        `${what}: ${name} is read as a bool mask (0/1) but holds ${d[i]} at flat index ${i}; pass maskKind: 'float' for a mask added to the scores`,
      );
  }
}

/** The [L, S] causal mask in the "1 = attend" convention: key j ≤ query i. */
export function causalAttendMask(l: number, s: number, dtype: Tensor['dtype']): Tensor {
  const m = allocStorage(dtype, l * s);
  for (let i = 0; i < l; i++) for (let j = 0; j <= i && j < s; j++) m[i * s + j] = 1;
  return new Tensor(m, [l, s]);
}

/**
 * The attention computation shared by scaledDotProductAttention and MultiheadAttention: the
 * output and the attention weights (after dropout, as PyTorch 1.13's MHA returns them). `attend`
 * is a 0/1 mask (1 = attend) or null, `additive` a float mask or null; both broadcast to the scores.
 * `emptyRows` is what a query with no key to attend gets: 'zero' weights (PyTorch 2.5+'s SDPA) or
 * 'nan' (softmax of all −∞, PyTorch 1.13's MHA).
 */
export function attentionCore(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  attend: Tensor | null,
  additive: Tensor | null,
  scale: number,
  dropoutP: number,
  rng: Rng | null,
  emptyRows: 'zero' | 'nan',
): { output: Tensor; weights: Tensor } {
  // q is scaled before the product, as PyTorch 1.13's MHA does (q / √E, then baddbmm); a scale of 1
  // (one already folded into q) is no product at all
  let scores = matmulTransposed(scale === 1 ? q : mul(q, scale), k);
  if (additive) scores = add(scores, additive);
  if (attend) scores = where(attend, scores, -Infinity);
  const keep = emptyRows === 'zero' && (attend || additive) ? rowsWithKeys(scores, attend, additive) : null;
  // an empty row's scores are replaced before the softmax, so neither its value nor its gradient is NaN
  let weights = keep ? where(keep, softmax(where(keep, scores, 0)), 0) : softmax(scores);
  if (dropoutP > 0 && rng) {
    weights = applyDropout(weights, dropoutP, rng);
  }
  return { output: matmul(weights, v), weights };
}

/**
 * [..., L, 1]: 1 where a row of the scores has a key (a score above −∞), 0 where it has none; null
 * when every row has one. Read from a host `attend` mask alone when it is the only mask (its rows
 * broadcast over the scores'), so scores on a device need no read-back; else from host scores;
 * null (no rows found empty) for a device's scores under an additive mask.
 */
function rowsWithKeys(scores: Tensor, attend: Tensor | null, additive: Tensor | null): Tensor | null {
  const from = attend && !additive && !isDeviceStorage(attend.storage) ? attend : isDeviceStorage(scores.storage) ? null : scores;
  if (!from) return null;
  const taken = (x: number) => (from === attend ? x !== 0 : x !== -Infinity);
  const s = from.shape[from.ndim - 1];
  const rows = from.size / s;
  const d = from.data;
  const keep = allocStorage(scores.dtype, rows);
  let empty = false;
  for (let r = 0; r < rows; r++) {
    let any = 0;
    for (let j = r * s; j < (r + 1) * s; j++)
      if (taken(d[j])) {
        any = 1;
        break;
      }
    keep[r] = any;
    if (!any) empty = true;
  }
  return empty ? new Tensor(keep, [...from.shape.slice(0, -1), 1]) : null;
}

/** The shape a mask must broadcast to, checked with a message naming the mask and the scores. */
export function checkMaskShape(mask: Tensor, scores: readonly number[], what: string, name: string, expected: string): void {
  let ok = true;
  try {
    ok = shapeEq(broadcastShapes(mask.shape, scores, name), scores);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new ShapeError(`${what}: ${name} ${fmtShape(mask.shape)} does not broadcast to the scores ${fmtShape(scores)} (${expected})`);
}

/** softmax(scale·QKᵀ + mask)·V; see the file's header for the mask conventions (bool: 1 = attend). */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions = {}): Tensor {
  const what = 'scaledDotProductAttention';
  checkOptions(what, opts, sdpaSchema);
  for (const [n, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (!(t instanceof Tensor) || t.ndim < 2)
      throw new ShapeError(
        `${what}: expected ${n} [..., ${n === 'q' ? 'L' : 'S'}, E], got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`,
      );
  }
  const [l, ek] = q.shape.slice(-2);
  const [s, ek2] = k.shape.slice(-2);
  if (ek !== ek2)
    throw new ShapeError(`${what}: q ${fmtShape(q.shape)} and k ${fmtShape(k.shape)} differ in their last dimension (${ek} vs ${ek2})`);
  if (v.shape[v.ndim - 2] !== s)
    throw new ShapeError(`${what}: k ${fmtShape(k.shape)} has ${s} keys but v ${fmtShape(v.shape)} has ${v.shape[v.ndim - 2]} values`);
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) throw new TypeError(`${what}: dtype mismatch (q ${q.dtype}, k ${k.dtype}, v ${v.dtype})`);
  const batch = broadcastShapes(
    broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2), `${what} (batch dimensions of q and k)`),
    v.shape.slice(0, -2),
    `${what} (batch dimensions of v)`,
  );
  const scoreShape = [...batch, l, s];
  const dropoutP = opts.dropoutP ?? 0;
  if (!(dropoutP >= 0 && dropoutP < 1)) throw new RangeError(`${what}: dropoutP must be in [0, 1), got ${dropoutP}`);
  const scale = opts.scale ?? 1 / Math.sqrt(ek);
  if (!Number.isFinite(scale)) throw new RangeError(`${what}: scale must be a finite number, got ${scale}`);
  const mask = opts.attnMask ?? null;
  if (mask && opts.isCausal) throw new RangeError(`${what}: give attnMask or isCausal, not both (PyTorch's rule)`);
  const kind = opts.maskKind ?? 'bool';
  let attend: Tensor | null = null,
    additive: Tensor | null = null;
  if (mask) {
    checkMaskShape(mask, scoreShape, what, 'attnMask', '[..., L, S]');
    if (kind === 'bool') {
      checkBoolMask(mask, what, 'attnMask');
      attend = mask;
    } else additive = mask;
  } else if (opts.isCausal) attend = causalAttendMask(l, s, q.dtype);
  const training = opts.training ?? false;
  if (training && dropoutP > 0 && !opts.rng)
    throw new Error(`${what}: training with dropoutP ${dropoutP} needs a random generator; pass { training: true, rng }`);
  return attentionCore(q, k, v, attend, additive, scale, training ? dropoutP : 0, opts.rng ?? null, 'zero').output;
}

/**
 * Self-attention on packed projections: `qkv` [N·L, 3E] (each position's q, k and v, each `heads`
 * heads side by side: the packed in-projection's output) → [N·L, E], the heads side by side as an
 * output projection takes them. Scores scale·(q·k), with `causal` none for keys after the query,
 * the weights dropped with probability `dropoutP` from `rng` (the draws applyDropout makes over
 * the weights [N, H, L, L], so the masks equal attentionCore's). One op each way on a backend
 * with the attention extensions (wasm, float32), whose kernels keep the scores in cache instead of
 * the composition's arrays; null elsewhere, for the caller to compose. Under createGraph the
 * backward is written in ops of qkv (recomputing the softmax), so it differentiates again.
 */
export function packedSelfAttention(
  qkv: Tensor,
  n: number,
  l: number,
  heads: number,
  scale: number,
  causal: boolean,
  dropoutP: number,
  rng: Rng | null,
): Tensor | null {
  const fwd = extension('attention'),
    bwd = extension('attentionBackward');
  if (!fwd || !bwd || isDeviceStorage(qkv.storage) || qkv.dtype !== 'float32') return null;
  const e = qkv.shape[1] / 3,
    d = e / heads;
  let mask: Float32Array | null = null;
  if (dropoutP > 0 && rng) {
    mask = allocStorage('float32', n * heads * l * l) as Float32Array;
    fillDropMask(mask, dropoutP, rng);
  }
  const a: AttentionArgs = { qkv: qkv.data, mask, n, length: l, heads, headDim: d, scale, causal };
  const out = allocStorage('float32', n * l * e),
    probs = allocStorage('float32', n * heads * l * l);
  const maskT = mask && new Tensor(mask, [n, heads, l, l]);
  if (!fwd(a, out, probs)) return composedPacked(qkv, n, l, heads, scale, causal, maskT).out;
  return record('attention', [qkv], new Tensor(out, [n * l, e]), (g) => {
    if (!isGradEnabled()) {
      const gqkv = allocStorage('float32', qkv.size);
      if (bwd(a, g.data, probs, gqkv)) return [new Tensor(gqkv, qkv.shape)];
    }
    // in ops of qkv: P recomputed, then the gradient of P′·V through the mask and the softmax
    const { q, k, v, p, dropped } = composedPacked(qkv, n, l, heads, scale, causal, maskT);
    const gh = permute(reshape(g, [n, l, heads, d]), [0, 2, 1, 3]);
    let dp = matmulTransposed(gh, v);
    if (maskT) dp = mul(dp, maskT);
    let ds = mul(p, sub(dp, sum(mul(dp, p), -1, true)));
    if (scale !== 1) ds = mul(ds, scale);
    const grads = stack([matmul(ds, k), matmul(transpose(ds, 2, 3), q), matmul(transpose(dropped, 2, 3), gh)]);
    // [3, N, H, L, D] → [N, L, 3, H, D]
    return [reshape(permute(grads, [1, 3, 0, 2, 4]), qkv.shape)];
  });
}

/** packedSelfAttention composed of ops: the heads, the softmax P, the dropped weights P·mask and the output [N·L, E]. */
function composedPacked(qkv: Tensor, n: number, l: number, heads: number, scale: number, causal: boolean, mask: Tensor | null) {
  const e = qkv.shape[1] / 3,
    d = e / heads;
  const [q, k, v] = split(permute(reshape(qkv, [n, l, 3, heads, d]), [2, 0, 3, 1, 4]), 1, 0).map((t) => reshape(t, [n, heads, l, d]));
  let scores = matmulTransposed(q, k);
  if (scale !== 1) scores = mul(scores, scale);
  if (causal) scores = where(causalAttendMask(l, l, qkv.dtype), scores, -Infinity);
  const p = softmax(scores);
  const dropped = mask ? mul(p, mask) : p;
  const out = reshape(permute(matmul(dropped, v), [0, 2, 1, 3]), [n * l, e]);
  return { q, k, v, p, dropped, out };
}
