/**
 * PyTorch's nn.MultiheadAttention with batch_first=True: query [N, L, E], key [N, S, kdim], value
 * [N, S, vdim]; each of the numHeads heads attends with its E/numHeads slice of the projections,
 *
 *   Q = query·Wqᵀ + bq,  K = key·Wkᵀ + bk,  V = value·Wvᵀ + bv            (split into heads)
 *   head_h = softmax(Q_h K_hᵀ / √(E/H) + mask) V_h,   out = concat(heads)·Woᵀ + bo
 *
 * Parameters and state_dict order are PyTorch's: `in_proj_weight` [3E, E] (rows q, k, v) when kdim
 * = vdim = E, else `q_proj_weight` [E, E], `k_proj_weight` [E, kdim], `v_proj_weight` [E, vdim];
 * then `in_proj_bias` [3E] and `out_proj.weight` [E, E], `out_proj.bias` [E] (no biases with
 * bias: false). Initialised as PyTorch: the projection weights Xavier-uniform (each of q, k, v
 * separately when unpacked; the packed [3E, E] as one matrix), in_proj_bias and out_proj.bias 0,
 * out_proj.weight Linear's default U(±1/√E) (PyTorch's NonDynamicallyQuantizableLinear is a Linear).
 *
 * Masks (PyTorch nn.MHA's convention, the OPPOSITE of scaledDotProductAttention's): a bool mask's
 * 1 means "masked, not attended" — keyPaddingMask [N, S] 1 = that key is padding, ignore it;
 * attnMask [L, S] or [N·numHeads, L, S] 1 = query i may not attend to key j. With maskKind 'float'
 * both are added to the scores instead (keyPaddingMask broadcast over heads and queries). A bool
 * mask is a tensor of 0 and 1 (see src/autograd/attention.ts). A query whose keys are all masked
 * gets NaN, as PyTorch 1.13's MHA gives it and PyTorch 2.6's with need_weights=True (the default;
 * its need_weights=False path runs SDPA and gives 0); scaledDotProductAttention gives 0 instead.
 *
 * Composed of autograd ops: with self-attention one product for q, k and v together (the packed
 * in_proj), heads by reshape and permute, Q·Kᵀ and A·V as batched products.
 */
import { Tensor, allocStorage, type DType } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { add, dense, mean, mul, permute, reshape } from '../autograd/ops.js';
import { narrow, split } from '../autograd/indexing.js';
import {
  attentionCore,
  causalAttendMask,
  checkBoolMask,
  packedSelfAttention,
  projectedAttention,
  type MaskKind,
} from '../autograd/attention.js';
import { Module, parameter, type ForwardOptions, type MaskSupport } from './module.js';
import { Linear } from './layers.js';
import { glorotUniform_ } from './init.js';
import { checkDropP, needRng } from './dropout.js';
import { bool, checkOptions, int, num, oneOf, rng as rngSpec, spec, type SchemaOf } from '../util/options.js';

export interface MultiheadAttentionOptions {
  /** Drop probability of the attention weights while training, in [0, 1); default 0. */
  dropout?: number;
  /** Biases of the input and output projections; default true. */
  bias?: boolean;
  /** Features of a key; default embedDim. */
  kdim?: number;
  /** Features of a value; default embedDim. */
  vdim?: number;
  /** forward(x) attends causally (query i to keys j ≤ i: PyTorch's is_causal=True in each call); attend takes its masks as given. Default false. */
  causal?: boolean;
  rng?: Rng;
  dtype?: DType;
}

export interface AttendOptions {
  /** [N, S]: with maskKind 'bool', 1 = that key is padding and is ignored (PyTorch's key_padding_mask); 'float': added. */
  keyPaddingMask?: Tensor | null;
  /** [L, S] or [N·numHeads, L, S]: with maskKind 'bool', 1 = NOT allowed to attend (PyTorch nn.MHA's attn_mask); 'float': added. */
  attnMask?: Tensor | null;
  /** How both masks are read; default 'bool'. */
  maskKind?: MaskKind;
  /** Query i attends to keys j ≤ i only (with keyPaddingMask, not with attnMask). Default false. */
  isCausal?: boolean;
  /** Return the attention weights; default true. */
  needWeights?: boolean;
  /** Weights averaged over the heads [N, L, S] (default true) or per head [N, numHeads, L, S]. */
  averageAttnWeights?: boolean;
  /**
   * What a query whose keys are all masked gets: 'nan' (the default; PyTorch 1.13's MHA, and PyTorch
   * 2.6's with needWeights) or 'zero' weights, so a zero output (PyTorch 2.6's need_weights=False
   * path, and forward's: a sample that is all padding must not end a training run).
   */
  emptyRows?: 'nan' | 'zero';
  /** Training mode: dropout of the attention weights applies only then. Default false. */
  training?: boolean;
  /** Where dropout masks are drawn from while training. */
  rng?: Rng;
}

export interface AttendResult {
  /** [N, L, E]. */
  output: Tensor;
  /** The attention weights (after dropout, as PyTorch returns them), or null with needWeights: false. */
  weights: Tensor | null;
}

const mhaSchema: SchemaOf<MultiheadAttentionOptions> = {
  dropout: num,
  bias: bool,
  kdim: int,
  vdim: int,
  causal: bool,
  rng: rngSpec,
  dtype: oneOf('float32', 'float64'),
};
const tensorOrNull = spec('a Tensor or null', (v) => v === null || v instanceof Tensor);
const attendSchema: SchemaOf<AttendOptions> = {
  keyPaddingMask: tensorOrNull,
  attnMask: tensorOrNull,
  maskKind: oneOf('bool', 'float'),
  isCausal: bool,
  needWeights: bool,
  averageAttnWeights: bool,
  emptyRows: oneOf('nan', 'zero'),
  training: bool,
  rng: rngSpec,
};

export class MultiheadAttention extends Module {
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  /** Whether forward attends causally (MultiheadAttentionOptions.causal). */
  readonly causal: boolean;
  /** Whether q, k and v share one [3E, E] in_proj_weight (kdim = vdim = embedDim). */
  readonly packed: boolean;
  readonly inProjWeight: Tensor | null;
  readonly qProjWeight: Tensor | null;
  readonly kProjWeight: Tensor | null;
  readonly vProjWeight: Tensor | null;
  readonly inProjBias: Tensor | null;
  readonly outProj: Linear;
  /** The packed projection's row scales [3E, 1] per dtype (see qRowScale), built on first use. */
  private readonly rowScales = new Map<DType, Tensor>();

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    opts: MultiheadAttentionOptions = {},
  ) {
    super();
    const what = 'MultiheadAttention';
    checkOptions(what, opts, mhaSchema);
    for (const [k, v] of [
      ['embedDim', embedDim],
      ['numHeads', numHeads],
      ['kdim', opts.kdim ?? embedDim],
      ['vdim', opts.vdim ?? embedDim],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what}: ${k} must be a positive integer, got ${v}`);
    }
    if (embedDim % numHeads !== 0) throw new RangeError(`${what}: embedDim ${embedDim} is not divisible by numHeads ${numHeads}`);
    this.headDim = embedDim / numHeads;
    this.kdim = opts.kdim ?? embedDim;
    this.vdim = opts.vdim ?? embedDim;
    this.dropout = checkDropP(opts.dropout ?? 0, what);
    this.causal = opts.causal ?? false;
    this.packed = this.kdim === embedDim && this.vdim === embedDim;
    const rng = opts.rng ?? nextDefaultRng();
    const dtype = opts.dtype ?? 'float32';
    const xavier = (shape: number[]) => parameter(shape, dtype, (t) => glorotUniform_(t, rng));
    const e = embedDim;
    this.inProjWeight = this.packed ? this.registerParameter('in_proj_weight', xavier([3 * e, e])) : null;
    this.qProjWeight = this.packed ? null : this.registerParameter('q_proj_weight', xavier([e, e]));
    this.kProjWeight = this.packed ? null : this.registerParameter('k_proj_weight', xavier([e, this.kdim]));
    this.vProjWeight = this.packed ? null : this.registerParameter('v_proj_weight', xavier([e, this.vdim]));
    const zeros = (n: number) => parameter([n], dtype, (t) => t.data.fill(0));
    this.inProjBias = opts.bias === false ? null : this.registerParameter('in_proj_bias', zeros(3 * e));
    this.outProj = this.registerModule('out_proj', new Linear(e, e, { bias: opts.bias !== false, rng, dtype }));
    if (this.outProj.bias) this.outProj.bias.data.fill(0);
  }

  /**
   * Self-attention of x [N, L, E] (query = key = value), without weights: the layer in a Sequential.
   * opts.mask [N, L] (1 = padding) is the key padding mask; causal as built; a query with no key
   * left gets 0 (emptyRows 'zero').
   */
  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    return this.attend(x, x, x, {
      keyPaddingMask: opts?.mask ?? null,
      isCausal: this.causal,
      emptyRows: 'zero',
      needWeights: false,
      training: opts?.training,
      rng: opts?.rng,
    }).output;
  }

  /** The output's steps are the input's; the mask is read as the keys' padding. */
  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  /** PyTorch's forward(query, key, value, …) with batch_first=True; see the file's header for the mask convention (bool: 1 = masked). */
  attend(query: Tensor, key: Tensor, value: Tensor, opts: AttendOptions = {}): AttendResult {
    const what = this.describe();
    checkOptions('MultiheadAttention.attend', opts, attendSchema);
    const e = this.embedDim,
      h = this.numHeads,
      d = this.headDim;
    const is3 = (t: Tensor) => t instanceof Tensor && t.ndim === 3;
    if (!is3(query) || query.shape[2] !== e) throw new ShapeError(`${what}: expected query [N, L, ${e}], got ${fmtShape(query.shape)}`);
    const [n, l] = query.shape;
    if (!is3(key) || key.shape[0] !== n || key.shape[2] !== this.kdim)
      throw new ShapeError(`${what}: expected key [${n}, S, ${this.kdim}], got ${fmtShape(key.shape)}`);
    const s = key.shape[1];
    if (!is3(value) || value.shape[0] !== n || value.shape[1] !== s || value.shape[2] !== this.vdim)
      throw new ShapeError(`${what}: expected value [${n}, ${s}, ${this.vdim}], got ${fmtShape(value.shape)}`);

    // projections: self-attention is one product with the packed weight, otherwise one per input
    const rows = (t: Tensor, f: number) => reshape(t, [t.shape[0] * t.shape[1], f]);
    // q's scale 1/√D: when it is a power of two (D = 4, 16, 64, …) scaling changes only exponents,
    // so (x·Wqᵀ + bq)·s equals x·(s·Wq)ᵀ + s·bq exactly, values and gradients (barring subnormals):
    // the scale goes on the [E, E] weight rows instead of on q [N, H, L, D]
    const scale = 1 / Math.sqrt(d);
    const fold = Number.isFinite(Math.log2(scale)) && Number.isInteger(Math.log2(scale));
    const scaled = (t: Tensor) => (fold ? mul(t, scale) : t);
    const bias = (i: number) => (this.inProjBias ? narrow(this.inProjBias, 0, i * e, e) : null);
    // the packed weight (or bias) with its first E rows (q's) scaled: one broadcast product by a
    // constant column, s on q's rows and 1 on k's and v's (x·1 = x), so no [3E, E] is cut and
    // joined again each way; its backward is g times the same column
    const rows3 = fold && this.inProjWeight ? this.qRowScale(scale, this.inProjWeight.dtype) : null;
    const packedQ = (t: Tensor) => (rows3 ? mul(t, t.ndim === 2 ? rows3 : reshape(rows3, [3 * e])) : t);
    const training = opts.training ?? false;
    const rng = training && this.dropout > 0 ? (opts.rng ?? needRng(undefined, what)) : null;
    // no weights asked and no mask but the causal one: one op each way where the backend has the
    // attention kernels (the same values and dropout draws as the composition below)
    const plain = opts.needWeights === false && !opts.keyPaddingMask && !opts.attnMask;
    const causal = opts.isCausal ?? false,
      dropout = rng ? this.dropout : 0;
    // the heads side by side [N·L, E] through the output projection
    const project = (o: Tensor) => ({ output: reshape(dense(o, this.outProj.weight, this.outProj.bias), [n, l, e]), weights: null });
    let q: Tensor, k: Tensor, v: Tensor;
    if (this.inProjWeight && query === key && key === value) {
      const b = this.inProjBias && packedQ(this.inProjBias);
      const proj = dense(rows(query, e), packedQ(this.inProjWeight), b);
      const fused = plain && packedSelfAttention(proj, n, l, h, fold ? 1 : scale, causal, dropout, rng);
      if (fused) return project(fused);
      // [N·L, 3E] → [N, L, 3, H, D] → [3, N, H, L, D]
      const qkv = permute(reshape(proj, [n, l, 3, h, d]), [2, 0, 3, 1, 4]);
      // one split, whose backward joins the three gradients in one tensor
      [q, k, v] = split(qkv, 1, 0).map((t) => reshape(t, [n, h, l, d]));
    } else {
      const w = (i: number, sep: Tensor | null) => sep ?? narrow(this.inProjWeight!, 0, i * e, e);
      const heads = (t: Tensor, len: number) => permute(reshape(t, [n, len, h, d]), [0, 2, 1, 3]);
      const bq = bias(0);
      const qp = dense(rows(query, e), scaled(w(0, this.qProjWeight)), bq && scaled(bq));
      const kp = dense(rows(key, this.kdim), w(1, this.kProjWeight), bias(1));
      const vp = dense(rows(value, this.vdim), w(2, this.vProjWeight), bias(2));
      const fused = plain && projectedAttention(qp, kp, vp, n, l, s, h, fold ? 1 : scale, causal, dropout, rng);
      if (fused) return project(fused);
      q = heads(qp, l);
      k = heads(kp, s);
      v = heads(vp, s);
    }

    const { attend, additive } = this.masks(opts, n, l, s, query.dtype);
    const core = attentionCore(q, k, v, attend, additive, fold ? 1 : scale, dropout, rng, opts.emptyRows ?? 'nan');
    const { output } = project(reshape(permute(core.output, [0, 2, 1, 3]), [n * l, e]));
    if (opts.needWeights === false) return { output, weights: null };
    return { output, weights: opts.averageAttnWeights === false ? core.weights : mean(core.weights, 1) };
  }

  /** [3E, 1]: `scale` in q's E rows, 1 in k's and v's; a constant (no gradient), one per dtype. */
  private qRowScale(scale: number, dtype: DType): Tensor {
    let col = this.rowScales.get(dtype);
    if (!col) {
      const e = this.embedDim,
        data = allocStorage(dtype, 3 * e);
      data.fill(1);
      data.fill(scale, 0, e);
      col = new Tensor(data, [3 * e, 1]);
      this.rowScales.set(dtype, col);
    }
    return col;
  }

  /**
   * keyPaddingMask, attnMask and isCausal as one mask over the scores [N, H, L, S]: for bool masks
   * an "attend" mask (1 = attend: neither mask sets the entry), for float masks their sum.
   */
  private masks(opts: AttendOptions, n: number, l: number, s: number, dtype: DType): { attend: Tensor | null; additive: Tensor | null } {
    const what = this.describe();
    const h = this.numHeads;
    const kpm = opts.keyPaddingMask ?? null;
    let am = opts.attnMask ?? null;
    if (am && opts.isCausal) throw new RangeError(`${what}: give attnMask or isCausal, not both`);
    if (kpm && !(kpm.ndim === 2 && kpm.shape[0] === n && kpm.shape[1] === s))
      throw new ShapeError(`${what}: expected keyPaddingMask [${n}, ${s}] ([N, S]), got ${fmtShape(kpm.shape)}`);
    if (am) {
      const ok2 = am.ndim === 2 && am.shape[0] === l && am.shape[1] === s;
      const ok3 = am.ndim === 3 && am.shape[0] === n * h && am.shape[1] === l && am.shape[2] === s;
      if (!ok2 && !ok3)
        throw new ShapeError(
          `${what}: expected attnMask [${l}, ${s}] ([L, S]) or [${n * h}, ${l}, ${s}] ([N·numHeads, L, S]), got ${fmtShape(am.shape)}`,
        );
      if (ok3) am = reshape(am, [n, h, l, s]);
    }
    const kind = opts.maskKind ?? 'bool';
    const kpm4 = kpm && reshape(kpm, [n, 1, 1, s]);
    if (kind === 'float') {
      let sum: Tensor | null = kpm4 && am ? add(kpm4, am) : (kpm4 ?? am);
      if (opts.isCausal) {
        const causal = causalAttendMask(l, s, dtype);
        const c = allocStorage(dtype, l * s).map((_, i) => (causal.data[i] ? 0 : -Infinity));
        const ct = new Tensor(c, [l, s]);
        sum = sum ? add(sum, ct) : ct;
      }
      return { attend: null, additive: sum };
    }
    if (kpm) checkBoolMask(kpm, what, 'keyPaddingMask');
    if (am) checkBoolMask(am, what, 'attnMask');
    if (!kpm && !am && !opts.isCausal) return { attend: null, additive: null };
    // the 1 = attend mask over [N or 1, H or 1, L, S]: entry allowed unless a mask sets it
    const causal = opts.isCausal ? causalAttendMask(l, s, dtype) : null;
    const perHead = am?.ndim === 4;
    const nn = kpm || perHead ? n : 1,
      hh = perHead ? h : 1;
    const out = allocStorage(dtype, nn * hh * l * s);
    for (let b = 0; b < nn; b++)
      for (let hd = 0; hd < hh; hd++)
        for (let i = 0; i < l; i++)
          for (let j = 0; j < s; j++) {
            let ok = true;
            if (kpm && kpm.data[b * s + j] !== 0) ok = false;
            if (am && am.data[perHead ? ((b * h + hd) * l + i) * s + j : i * s + j] !== 0) ok = false;
            if (causal && causal.data[i * s + j] === 0) ok = false;
            out[((b * hh + hd) * l + i) * s + j] = ok ? 1 : 0;
          }
    return { attend: new Tensor(out, [nn, hh, l, s]), additive: null };
  }

  override describe(): string {
    const dims = this.packed ? '' : `, kdim ${this.kdim}, vdim ${this.vdim}`;
    return `MultiheadAttention(${this.embedDim}, ${this.numHeads} heads${dims}${this.dropout ? `, dropout ${this.dropout}` : ''}${this.causal ? ', causal' : ''})`;
  }
}
