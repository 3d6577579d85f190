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
import type { Storage } from '../tensor/tensor.js';
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
  const fused = !mask && fusedSdpa(q, k, v, scoreShape, scale, opts.isCausal ?? false, training ? dropoutP : 0, opts.rng ?? null);
  if (fused) return fused;
  return attentionCore(q, k, v, attend, additive, scale, training ? dropoutP : 0, opts.rng ?? null, 'zero').output;
}

/**
 * scaledDotProductAttention on the attention kernels, where the backend has them: float32 host
 * tensors of one batch shape (no broadcasting), none empty, no mask but the causal one; each batch
 * entry is a sequence of one head. Null otherwise (attentionCore composes).
 */
function fusedSdpa(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scoreShape: number[],
  scale: number,
  causal: boolean,
  dropoutP: number,
  rng: Rng | null,
): Tensor | null {
  const batch = scoreShape.slice(0, -2);
  const same = (t: Tensor) => t.ndim === batch.length + 2 && batch.every((b, i) => t.shape[i] === b);
  if (!fusable(q, k, v) || !same(q) || !same(k) || !same(v) || q.size === 0 || k.size === 0 || v.size === 0) return null;
  const [lq, lk] = scoreShape.slice(-2);
  const dk = q.shape[q.ndim - 1],
    dv = v.shape[v.ndim - 1];
  const n = batch.reduce((x, y) => x * y, 1);
  const operand = (t: Tensor, l: number, d: number) => ({ data: t.data, offset: 0, strides: [l * d, 0, d] as const });
  const a = {
    q: operand(q, lq, dk),
    k: operand(k, lk, dk),
    v: operand(v, lk, dv),
    outStrides: [lq * dv, 0, dv] as const,
    n,
    heads: 1,
    lq,
    lk,
    dk,
    dv,
  };
  return fusedAttention({ ...a, scale, causal }, [q, k, v], [...batch, lq, dv], dropoutP, rng, (g, probs, mask) => {
    const gq = allocStorage('float32', q.size),
      gk = allocStorage('float32', k.size),
      gv = allocStorage('float32', v.size);
    if (runBackward(a, scale, causal, mask, g, probs, gq, gk, gv))
      return [new Tensor(gq, q.shape), new Tensor(gk, k.shape), new Tensor(gv, v.shape)];
    return attentionGradOps(q, k, v, g, scale, causal, mask && reshape(mask, scoreShape));
  });
}

/**
 * Self-attention on packed projections: `qkv` [N·L, 3E] (each position's q, k and v, each `heads`
 * heads side by side: the packed in-projection's output) → [N·L, E], the heads side by side as an
 * output projection takes them. Scores scale·(q·k), with `causal` none for keys after the query,
 * the weights dropped with probability `dropoutP` from `rng` (the draws applyDropout makes over
 * the weights [N, H, L, L], so the masks equal attentionCore's). One op each way on a backend
 * with the attention extensions (wasm, float32), which read q, k and v in place and keep the
 * scores in cache instead of the composition's arrays; null elsewhere, for the caller to compose.
 * Under createGraph the backward is written in ops of qkv (recomputing the softmax), so it
 * differentiates again.
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
  if (!fusable(qkv) || qkv.size === 0) return null;
  const e = qkv.shape[1] / 3,
    d = e / heads;
  const strides = [l * 3 * e, d, 3 * e] as const;
  const operand = (offset: number) => ({ data: qkv.data, offset, strides });
  const a = { q: operand(0), k: operand(e), v: operand(2 * e), outStrides: [l * e, d, e] as const, n, heads, lq: l, lk: l, dk: d, dv: d };
  return fusedAttention({ ...a, scale, causal }, [qkv], [n * l, e], dropoutP, rng, (g, probs, mask) => {
    const gqkv = allocStorage('float32', qkv.size);
    if (runBackward(a, scale, causal, mask, g, probs, gqkv, gqkv, gqkv)) return [new Tensor(gqkv, qkv.shape)];
    // in ops of qkv: [N·L, 3E] → [3, N, H, L, D], the gradients of the three, back to [N·L, 3E]
    const [q, k, v] = split(permute(reshape(qkv, [n, l, 3, heads, d]), [2, 0, 3, 1, 4]), 1, 0).map((t) => reshape(t, [n, heads, l, d]));
    const gh = permute(reshape(g, [n, l, heads, d]), [0, 2, 1, 3]);
    const grads = stack(attentionGradOps(q, k, v, gh, scale, causal, mask));
    return [reshape(permute(grads, [1, 3, 0, 2, 4]), qkv.shape)];
  });
}

/**
 * Attention on separate projections: q [N·Lq, E], k and v [N·Lk, E] (each `heads` heads side by
 * side: MultiheadAttention's cross-attention, or its separate q, k, v weights) → [N·Lq, E], read and
 * written in place as packedSelfAttention's; null where the kernels cannot run.
 */
export function projectedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  n: number,
  lq: number,
  lk: number,
  heads: number,
  scale: number,
  causal: boolean,
  dropoutP: number,
  rng: Rng | null,
): Tensor | null {
  if (!fusable(q, k, v) || q.size === 0 || k.size === 0) return null;
  const e = q.shape[1],
    d = e / heads;
  const operand = (t: Tensor, len: number) => ({ data: t.data, offset: 0, strides: [len * e, d, e] as const });
  const a = {
    q: operand(q, lq),
    k: operand(k, lk),
    v: operand(v, lk),
    outStrides: [lq * e, d, e] as const,
    n,
    heads,
    lq,
    lk,
    dk: d,
    dv: d,
  };
  return fusedAttention({ ...a, scale, causal }, [q, k, v], [n * lq, e], dropoutP, rng, (g, probs, mask) => {
    const gq = allocStorage('float32', q.size),
      gk = allocStorage('float32', k.size),
      gv = allocStorage('float32', v.size);
    if (runBackward(a, scale, causal, mask, g, probs, gq, gk, gv))
      return [new Tensor(gq, q.shape), new Tensor(gk, k.shape), new Tensor(gv, v.shape)];
    // in ops: [N·L, E] ↔ [N, H, L, D]
    const split4 = (t: Tensor, len: number) => permute(reshape(t, [n, len, heads, d]), [0, 2, 1, 3]);
    const rows = (t: Tensor, len: number) => reshape(permute(t, [0, 2, 1, 3]), [n * len, e]);
    const [dq, dk, dv] = attentionGradOps(split4(q, lq), split4(k, lk), split4(v, lk), split4(g, lq), scale, causal, mask);
    return [rows(dq, lq), rows(dk, lk), rows(dv, lk)];
  });
}

/** True when the attention kernels can take `t`: the backend has them and t is float32 on the host. */
function fusable(...ts: Tensor[]): boolean {
  return (
    !!extension('attention') && !!extension('attentionBackward') && ts.every((t) => !isDeviceStorage(t.storage) && t.dtype === 'float32')
  );
}

type Backward = (g: Tensor, probs: Float32Array, mask: Tensor | null) => Tensor[];

/**
 * The attention kernel's forward on `a` (its mask drawn here, as applyDropout would over the
 * weights [N, H, lq, lk]), recorded as one op of `inputs` whose gradients `backward` gives.
 */
function fusedAttention(
  a: Omit<AttentionArgs, 'mask'>,
  inputs: Tensor[],
  shape: number[],
  dropoutP: number,
  rng: Rng | null,
  backward: Backward,
): Tensor {
  let mask: Float32Array | null = null;
  if (dropoutP > 0 && rng) {
    mask = allocStorage('float32', a.n * a.heads * a.lq * a.lk) as Float32Array;
    fillDropMask(mask, dropoutP, rng);
  }
  const out = allocStorage('float32', a.n * a.lq * a.heads * a.dv),
    probs = allocStorage('float32', a.n * a.heads * a.lq * a.lk) as Float32Array;
  // the operands were checked (float32, on the host): the kernel takes them
  if (!extension('attention')!({ ...a, mask }, out, probs)) throw new Error('attention: the kernel declined float32 host operands');
  const maskT = mask && new Tensor(mask, [a.n, a.heads, a.lq, a.lk]);
  return record('attention', inputs, new Tensor(out, shape), (g) => backward(g, probs, maskT));
}

/** The attention kernel's backward into gq, gk, gv; false under createGraph (the caller writes it in ops). */
function runBackward(
  a: Omit<AttentionArgs, 'mask' | 'scale' | 'causal'>,
  scale: number,
  causal: boolean,
  mask: Tensor | null,
  g: Tensor,
  probs: Float32Array,
  gq: Storage,
  gk: Storage,
  gv: Storage,
): boolean {
  if (isGradEnabled()) return false;
  if (!extension('attentionBackward')!({ ...a, scale, causal, mask: mask?.data ?? null }, g.data, probs, gq, gk, gv))
    throw new Error('attention: the backward kernel declined float32 host operands');
  return true;
}

/**
 * The gradients of softmax(scale·q·kᵀ [causal]) ⊙ mask · v with respect to q, k and v for the
 * output's gradient g, in differentiable ops (the softmax recomputed): q [..., Lq, Dk],
 * k [..., Lk, Dk], v [..., Lk, Dv], g [..., Lq, Dv].
 */
function attentionGradOps(q: Tensor, k: Tensor, v: Tensor, g: Tensor, scale: number, causal: boolean, mask: Tensor | null): Tensor[] {
  let scores = matmulTransposed(q, k);
  if (scale !== 1) scores = mul(scores, scale);
  const r = scores.ndim;
  if (causal) scores = where(causalAttendMask(q.shape[r - 2], k.shape[r - 2], q.dtype), scores, -Infinity);
  const p = softmax(scores);
  const dropped = mask ? mul(p, mask) : p;
  let dp = matmulTransposed(g, v);
  if (mask) dp = mul(dp, mask);
  let ds = mul(p, sub(dp, sum(mul(dp, p), -1, true)));
  if (scale !== 1) ds = mul(ds, scale);
  return [matmul(ds, k), matmul(transpose(ds, r - 2, r - 1), q), matmul(transpose(dropped, r - 2, r - 1), g)];
}
