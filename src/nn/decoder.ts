/**
 * The Transformer decoder and the whole encoder–decoder (Vaswani et al. 2017) as PyTorch's
 * nn.TransformerDecoderLayer, nn.TransformerDecoder and nn.Transformer with batch_first=True:
 * tgt [N, T, dModel] and memory [N, S, dModel] (the encoder's output) → [N, T, dModel].
 *
 *   post-norm (default):  x = norm1(x + SA(x));  x = norm2(x + CA(x, mem));  x = norm3(x + FF(x))
 *   pre-norm (normFirst): x = x + SA(norm1(x));  x = x + CA(norm2(x), mem);  x = x + FF(norm3(x))
 *   SA(x) = dropout1(self_attn(x, x, x, tgt masks))
 *   CA(x, mem) = dropout2(multihead_attn(x, mem, mem, memory masks))
 *   FF(x) = dropout3(linear2(dropout(act(linear1(x)))))
 *
 * Parameters and state_dict order are PyTorch's: self_attn.*, multihead_attn.*, linear1.*,
 * linear2.*, norm1.*, norm2.*, norm3.*; the decoder's layers.0.… then norm.*; the Transformer's
 * encoder.layers.…, encoder.norm.*, decoder.layers.…, decoder.norm.*. Masks follow nn.MHA's
 * convention (bool: 1 = masked; see src/nn/attention.ts), one maskKind for all masks of a call.
 *
 * A decoder takes two sequences, so it is not a layer of a Sequential: forward(x) refuses, and
 * forwardMasked(tgt, memory, masks) is its call (Transformer: forwardMasked(src, tgt, masks)).
 */
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { Tensor, allocStorage, type DType } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { add } from '../autograd/ops.js';
import type { MaskKind } from '../autograd/attention.js';
import { Module, type ForwardOptions } from './module.js';
import { Linear, type Sequential } from './layers.js';
import { LayerNorm } from './layernorm.js';
import { MultiheadAttention, type AttendOptions } from './attention.js';
import { Dropout } from './dropout.js';
import { glorotUniform_ } from './init.js';
import { TransformerEncoder, TransformerEncoderLayer } from './transformer.js';
import {
  checkSizes,
  cloneLayer,
  describeStack,
  feedForward,
  layerOptions,
  layerSettings,
  layerTraits,
  stackParts,
} from './transformer-parts.js';
import { bool, checkOptions, int, num, oneOf, rng as rngSpec, spec, type SchemaOf } from '../util/options.js';

export interface TransformerDecoderLayerOptions {
  /** Hidden width of the feed-forward block; default 2048 (PyTorch's). */
  dimFeedforward?: number;
  /** Drop probability of both attentions' weights and of the four dropouts, in [0, 1); default 0.1. */
  dropout?: number;
  /** The feed-forward activation; default 'relu'. 'gelu' is the exact (erf) GELU, PyTorch's. */
  activation?: 'relu' | 'gelu';
  /** The LayerNorms' eps; default 1e-5. */
  layerNormEps?: number;
  /** Normalise before each block (pre-norm) instead of after the residual sum; default false. */
  normFirst?: boolean;
  /** Biases of the linear layers, the attentions and the LayerNorms (PyTorch 2's bias=); default true. */
  bias?: boolean;
  rng?: Rng;
  dtype?: DType;
}

/** Masks of a decoder pass, in nn.MHA's convention (bool: 1 = masked; T target steps, S memory steps). */
export interface DecoderMasks {
  /** [T, T] or [N·nhead, T, T]: 1 = target step i may not attend to target step j (or added, with maskKind 'float'). */
  tgtMask?: Tensor | null;
  /** [T, S] or [N·nhead, T, S]: 1 = target step i may not attend to memory step j (or added). */
  memoryMask?: Tensor | null;
  /** [N, T]: 1 = that target step is padding and no target step attends to it (or added). */
  tgtKeyPaddingMask?: Tensor | null;
  /** [N, S]: 1 = that memory step is padding and no target step attends to it (or added). */
  memoryKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (step i attends to target steps j ≤ i): PyTorch 2's tgt_is_causal applied as the mask itself; not with tgtMask. */
  tgtIsCausal?: boolean;
  /** Causal cross-attention (step i attends to memory steps j ≤ i); not with memoryMask. */
  memoryIsCausal?: boolean;
  /** How all the masks are read; default 'bool'. */
  maskKind?: MaskKind;
  /** What a step with no key left gets: NaN (the default, PyTorch 1.13's) or 0 (PyTorch 2.6's); see AttendOptions.emptyRows. */
  emptyRows?: 'nan' | 'zero';
}

const tensorOrNull = spec('a Tensor or null', (v) => v === null || v instanceof Tensor);
const decoderMasksSchema: SchemaOf<DecoderMasks> = {
  tgtMask: tensorOrNull,
  memoryMask: tensorOrNull,
  tgtKeyPaddingMask: tensorOrNull,
  memoryKeyPaddingMask: tensorOrNull,
  tgtIsCausal: bool,
  memoryIsCausal: bool,
  maskKind: oneOf('bool', 'float'),
  emptyRows: oneOf('nan', 'zero'),
};

const layerSchema: SchemaOf<TransformerDecoderLayerOptions> = {
  dimFeedforward: int,
  dropout: num,
  activation: oneOf('relu', 'gelu'),
  layerNormEps: num,
  normFirst: bool,
  bias: bool,
  rng: rngSpec,
  dtype: oneOf('float32', 'float64'),
};

const shapeOf = (t: unknown) => (t instanceof Tensor ? fmtShape(t.shape) : t === null ? 'null' : typeof t);

export class TransformerDecoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly multiheadAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;
  readonly dimFeedforward: number;
  readonly dropoutP: number;
  readonly activation: 'relu' | 'gelu';
  readonly layerNormEps: number;
  readonly normFirst: boolean;
  readonly bias: boolean;
  /** PyTorch's dropout (inside the feed-forward block), dropout1 (self-attention), dropout2 (cross-attention), dropout3 (feed-forward block). */
  private readonly drops: [Dropout, Dropout, Dropout, Dropout];

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    opts: TransformerDecoderLayerOptions = {},
  ) {
    super();
    const what = 'TransformerDecoderLayer';
    checkOptions(what, opts, layerSchema);
    ({
      dimFeedforward: this.dimFeedforward,
      dropoutP: this.dropoutP,
      activation: this.activation,
      layerNormEps: this.layerNormEps,
      normFirst: this.normFirst,
      bias: this.bias,
    } = layerSettings(what, dModel, nhead, opts));
    const rng = opts.rng;
    const dtype = opts.dtype ?? 'float32';
    const ff = this.dimFeedforward;
    const mha = { dropout: this.dropoutP, bias: this.bias, rng, dtype };
    this.selfAttn = this.registerModule('self_attn', new MultiheadAttention(dModel, nhead, mha));
    this.multiheadAttn = this.registerModule('multihead_attn', new MultiheadAttention(dModel, nhead, mha));
    this.linear1 = this.registerModule('linear1', new Linear(dModel, ff, { bias: this.bias, rng, dtype }));
    this.linear2 = this.registerModule('linear2', new Linear(ff, dModel, { bias: this.bias, rng, dtype }));
    const ln = { eps: this.layerNormEps, bias: this.bias, dtype };
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, ln));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, ln));
    this.norm3 = this.registerModule('norm3', new LayerNorm(dModel, ln));
    const p = this.dropoutP;
    this.drops = [new Dropout(p), new Dropout(p), new Dropout(p), new Dropout(p)];
  }

  /** Refused: a decoder layer reads a target and a memory; forwardMasked(tgt, memory, masks) is its call. */
  forward(_x: Tensor, _opts?: ForwardOptions): Tensor {
    throw new TypeError(
      `${this.describe()}: forward takes one input, a decoder layer two (tgt and memory): call forwardMasked(tgt, memory, masks, opts)`,
    );
  }

  /** PyTorch's forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask) (bool: 1 = masked). */
  forwardMasked(tgt: Tensor, memory: Tensor, masks: DecoderMasks = {}, opts?: ForwardOptions): Tensor {
    checkDecoderInputs(this.describe(), this.dModel, this.nhead, tgt, memory, masks);
    const [dropFF, drop1, drop2, drop3] = this.drops;
    const common: AttendOptions = {
      maskKind: masks.maskKind ?? 'bool',
      emptyRows: masks.emptyRows ?? 'nan',
      needWeights: false,
      training: opts?.training ?? false,
      rng: opts?.rng,
    };
    const sa = (h: Tensor) =>
      drop1.forward(
        this.selfAttn.attend(h, h, h, {
          ...common,
          attnMask: masks.tgtMask ?? null,
          keyPaddingMask: masks.tgtKeyPaddingMask ?? null,
          isCausal: masks.tgtIsCausal ?? false,
        }).output,
        opts,
      );
    const ca = (h: Tensor) =>
      drop2.forward(
        this.multiheadAttn.attend(h, memory, memory, {
          ...common,
          attnMask: masks.memoryMask ?? null,
          keyPaddingMask: masks.memoryKeyPaddingMask ?? null,
          isCausal: masks.memoryIsCausal ?? false,
        }).output,
        opts,
      );
    const ffb = (h: Tensor) => feedForward(this, h, dropFF, drop3, opts);
    if (this.normFirst) {
      let x = add(tgt, sa(this.norm1.forward(tgt)));
      x = add(x, ca(this.norm2.forward(x)));
      return add(x, ffb(this.norm3.forward(x)));
    }
    let x = this.norm1.forward(add(tgt, sa(tgt)));
    x = this.norm2.forward(add(x, ca(x)));
    return this.norm3.forward(add(x, ffb(x)));
  }

  /** The options this layer was built with (without rng): what clone() builds from. */
  options(): TransformerDecoderLayerOptions {
    return { ...layerOptions(this), dtype: this.linear1.weight.dtype };
  }

  /** A deep copy: the same options and the same parameter values in new tensors (PyTorch's copy.deepcopy). */
  clone(): TransformerDecoderLayer {
    return cloneLayer(this, (rng) => new TransformerDecoderLayer(this.dModel, this.nhead, { ...this.options(), rng }));
  }

  override describe(): string {
    return `TransformerDecoderLayer(${this.dModel}, ${this.nhead} heads, ${layerTraits(this).join(', ')})`;
  }
}

/**
 * tgt [N, T, dModel], memory [N, S, dModel] and every mask against them, named as the decoder
 * names them (the attention's own checks would speak of keyPaddingMask and attnMask).
 */
function checkDecoderInputs(what: string, e: number, h: number, tgt: Tensor, memory: Tensor, masks: DecoderMasks): void {
  checkOptions(`${what}: masks`, masks, decoderMasksSchema);
  if (!(tgt instanceof Tensor) || tgt.ndim !== 3 || tgt.shape[2] !== e)
    throw new ShapeError(`${what}: expected tgt [N, T, ${e}], got ${shapeOf(tgt)}`);
  const [n, t] = tgt.shape;
  if (!(memory instanceof Tensor) || memory.ndim !== 3 || memory.shape[0] !== n || memory.shape[2] !== e)
    throw new ShapeError(`${what}: expected memory [${n}, S, ${e}] (tgt's batch ${n}, dModel ${e}), got ${shapeOf(memory)}`);
  const s = memory.shape[1];
  checkPadding(what, 'tgtKeyPaddingMask', masks.tgtKeyPaddingMask, n, t, 'T');
  checkPadding(what, 'memoryKeyPaddingMask', masks.memoryKeyPaddingMask, n, s, 'S');
  checkAttnMask(what, 'tgtMask', masks.tgtMask, n * h, [t, t], 'T, T', masks.tgtIsCausal, 'tgtIsCausal');
  checkAttnMask(what, 'memoryMask', masks.memoryMask, n * h, [t, s], 'T, S', masks.memoryIsCausal, 'memoryIsCausal');
}

/** A key padding mask is [N, len] (`letter` names len in the message). */
function checkPadding(what: string, name: string, m: Tensor | null | undefined, n: number, len: number, letter: string): void {
  if (m && !(m.ndim === 2 && m.shape[0] === n && m.shape[1] === len))
    throw new ShapeError(`${what}: expected ${name} [${n}, ${len}] ([N, ${letter}]), got ${fmtShape(m.shape)}`);
}

/** An attention mask is [L, S] or [N·nhead, L, S], and not given with its causal flag. */
function checkAttnMask(
  what: string,
  name: string,
  m: Tensor | null | undefined,
  nh: number,
  [l, s]: [number, number],
  letters: string,
  causal: boolean | undefined,
  flag: string,
): void {
  if (!m) return;
  if (causal) throw new RangeError(`${what}: give ${name} or ${flag}, not both`);
  const ok2 = m.ndim === 2 && m.shape[0] === l && m.shape[1] === s;
  const ok3 = m.ndim === 3 && m.shape[0] === nh && m.shape[1] === l && m.shape[2] === s;
  if (!ok2 && !ok3)
    throw new ShapeError(
      `${what}: expected ${name} [${l}, ${s}] or [${nh}, ${l}, ${s}] ([${letters}] or [N·nhead, ${letters}]), got ${fmtShape(m.shape)}`,
    );
}

export interface TransformerDecoderOptions {
  /** Applied to the last layer's output (PyTorch's norm=; nn.Transformer's decoder has one). */
  norm?: LayerNorm | null;
}

/**
 * numLayers TransformerDecoderLayers in sequence, each reading the same memory and masks, then the
 * optional final norm. As PyTorch's nn.TransformerDecoder, the layers are deep copies of
 * `decoderLayer` (its _get_clones), and `decoderLayer` itself is not one of them.
 */
export class TransformerDecoder extends Module {
  readonly layers: Sequential;
  readonly norm: LayerNorm | null;

  constructor(
    decoderLayer: TransformerDecoderLayer,
    readonly numLayers: number,
    opts: TransformerDecoderOptions = {},
  ) {
    super();
    const what = 'TransformerDecoder';
    if (!(decoderLayer instanceof TransformerDecoderLayer))
      throw new TypeError(
        `${what}: expected a TransformerDecoderLayer, got ${decoderLayer === null ? 'null' : ((decoderLayer as object)?.constructor?.name ?? typeof decoderLayer)}`,
      );
    const { layers, norm } = stackParts(what, numLayers, opts, () => decoderLayer.clone());
    this.layers = this.registerModule('layers', layers);
    this.norm = norm ? this.registerModule('norm', norm) : null;
  }

  /** Refused: a decoder reads a target and a memory; forwardMasked(tgt, memory, masks) is its call. */
  forward(_x: Tensor, _opts?: ForwardOptions): Tensor {
    throw new TypeError(
      `${this.describe()}: forward takes one input, a decoder two (tgt and memory): call forwardMasked(tgt, memory, masks, opts)`,
    );
  }

  /** Every layer with the same memory and masks (PyTorch's TransformerDecoder.forward), then the norm. */
  forwardMasked(tgt: Tensor, memory: Tensor, masks: DecoderMasks = {}, opts?: ForwardOptions): Tensor {
    let h = tgt;
    for (const layer of this.layers.layers) h = (layer as TransformerDecoderLayer).forwardMasked(h, memory, masks, opts);
    return this.norm ? this.norm.forward(h) : h;
  }

  override describe(): string {
    return describeStack('TransformerDecoder', this.numLayers, this.layers.layers[0], this.norm);
  }
}

export interface TransformerOptions extends TransformerDecoderLayerOptions {
  /** Width of every layer's input and output; default 512. */
  dModel?: number;
  /** Attention heads; default 8. */
  nhead?: number;
  /** Encoder layers; default 6. */
  numEncoderLayers?: number;
  /** Decoder layers; default 6. */
  numDecoderLayers?: number;
}

/** Masks of a Transformer pass: the encoder's (src*), the decoder's (tgt*, memory*); bool: 1 = masked. */
export interface TransformerMasks extends DecoderMasks {
  /** [S, S] or [N·nhead, S, S]: the encoder's self-attention mask (PyTorch's src_mask). */
  srcMask?: Tensor | null;
  /** [N, S]: 1 = that source step is padding; the encoder's keys only — give it as memoryKeyPaddingMask too to hide it from the decoder, as PyTorch. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal encoder self-attention (PyTorch 2's src_is_causal applied as the mask); not with srcMask. */
  srcIsCausal?: boolean;
}

const transformerMasksSchema: SchemaOf<TransformerMasks> = {
  ...decoderMasksSchema,
  srcMask: tensorOrNull,
  srcKeyPaddingMask: tensorOrNull,
  srcIsCausal: bool,
};

const transformerSchema: SchemaOf<TransformerOptions> = {
  ...layerSchema,
  dModel: int,
  nhead: int,
  numEncoderLayers: int,
  numDecoderLayers: int,
};

/**
 * PyTorch's nn.Transformer (batch_first=True): TransformerEncoder(numEncoderLayers, final LayerNorm)
 * over src [N, S, dModel] gives the memory; TransformerDecoder(numDecoderLayers, final LayerNorm)
 * over tgt [N, T, dModel] and that memory gives [N, T, dModel]. No embeddings and no output
 * projection, as PyTorch's. Initialised as its _reset_parameters: after the layers are built,
 * every parameter with more than one dimension is redrawn Xavier-uniform from `rng`, in
 * parameters() order (so the copied layers differ); biases keep their layers' values (the
 * attentions' 0, the linears' U(±1/√fanIn)), LayerNorms 1 and 0.
 */
export class Transformer extends Module {
  readonly encoder: TransformerEncoder;
  readonly decoder: TransformerDecoder;
  readonly dModel: number;
  readonly nhead: number;

  constructor(opts: TransformerOptions = {}) {
    super();
    const what = 'Transformer';
    checkOptions(what, opts, transformerSchema);
    const { dModel = 512, nhead = 8, numEncoderLayers = 6, numDecoderLayers = 6, ...layer } = opts;
    for (const [k, v] of [
      ['numEncoderLayers', numEncoderLayers],
      ['numDecoderLayers', numDecoderLayers],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what}: ${k} must be a positive integer, got ${v}`);
    }
    checkSizes(what, dModel, nhead, layer.dimFeedforward ?? 2048);
    this.dModel = dModel;
    this.nhead = nhead;
    const rng = opts.rng ?? nextDefaultRng();
    const ln = { eps: layer.layerNormEps ?? 1e-5, bias: layer.bias ?? true, dtype: layer.dtype ?? 'float32' };
    const encoderLayer = new TransformerEncoderLayer(dModel, nhead, { ...layer, rng });
    const decoderLayer = new TransformerDecoderLayer(dModel, nhead, { ...layer, rng });
    this.encoder = this.registerModule(
      'encoder',
      new TransformerEncoder(encoderLayer, numEncoderLayers, { norm: new LayerNorm(dModel, ln) }),
    );
    this.decoder = this.registerModule(
      'decoder',
      new TransformerDecoder(decoderLayer, numDecoderLayers, { norm: new LayerNorm(dModel, ln) }),
    );
    for (const p of this.parameters()) if (p.ndim > 1) glorotUniform_(p, rng);
  }

  /** Refused: a Transformer reads a source and a target; forwardMasked(src, tgt, masks) is its call. */
  forward(_x: Tensor, _opts?: ForwardOptions): Tensor {
    throw new TypeError(
      `${this.describe()}: forward takes one input, a Transformer two (src and tgt): call forwardMasked(src, tgt, masks, opts)`,
    );
  }

  /**
   * PyTorch's forward(src, tgt, src_mask, tgt_mask, memory_mask, src_key_padding_mask,
   * tgt_key_padding_mask, memory_key_padding_mask): the encoder over src, then the decoder over
   * tgt and that memory. For autoregressive decoding run `encoder.forwardMasked` once and
   * `decoder.forwardMasked` per step.
   */
  forwardMasked(src: Tensor, tgt: Tensor, masks: TransformerMasks = {}, opts?: ForwardOptions): Tensor {
    const what = this.describe();
    const e = this.dModel;
    const { srcMask, srcKeyPaddingMask, srcIsCausal, ...decoderMasks } = masks;
    if (!(src instanceof Tensor) || src.ndim !== 3 || src.shape[2] !== e)
      throw new ShapeError(`${what}: expected src [N, S, ${e}], got ${shapeOf(src)}`);
    if (!(tgt instanceof Tensor) || tgt.ndim !== 3 || tgt.shape[2] !== e || tgt.shape[0] !== src.shape[0])
      throw new ShapeError(
        `${what}: expected tgt [${src.shape[0]}, T, ${e}] (src's batch ${src.shape[0]}, dModel ${e}), got ${shapeOf(tgt)}`,
      );
    checkOptions(`${what}: masks`, masks, transformerMasksSchema);
    const [n, sl] = src.shape;
    checkPadding(what, 'srcKeyPaddingMask', srcKeyPaddingMask, n, sl, 'S');
    checkAttnMask(what, 'srcMask', srcMask, n * this.nhead, [sl, sl], 'S, S', srcIsCausal, 'srcIsCausal');
    const memory = this.encoder.forwardMasked(
      src,
      {
        srcMask: srcMask ?? null,
        srcKeyPaddingMask: srcKeyPaddingMask ?? null,
        isCausal: srcIsCausal ?? false,
        maskKind: masks.maskKind,
        emptyRows: masks.emptyRows,
      },
      opts,
    );
    return this.decoder.forwardMasked(tgt, memory, decoderMasks, opts);
  }

  /**
   * PyTorch's generate_square_subsequent_mask: [sz, sz], −∞ above the diagonal and 0 elsewhere, a
   * float mask (maskKind 'float'). kind 'bool' gives descent's bool form of the same mask: 1 above
   * the diagonal (masked), 0 elsewhere — what tgtIsCausal applies.
   */
  static generateSquareSubsequentMask(sz: number, opts: { kind?: MaskKind; dtype?: DType } = {}): Tensor {
    checkOptions('Transformer.generateSquareSubsequentMask', opts, { kind: oneOf('bool', 'float'), dtype: oneOf('float32', 'float64') });
    if (!Number.isInteger(sz) || sz < 1)
      throw new RangeError(`Transformer.generateSquareSubsequentMask: sz must be a positive integer, got ${sz}`);
    const masked = (opts.kind ?? 'float') === 'float' ? -Infinity : 1;
    const data = allocStorage(opts.dtype ?? 'float32', sz * sz);
    for (let i = 0; i < sz; i++) for (let j = i + 1; j < sz; j++) data[i * sz + j] = masked;
    return new Tensor(data, [sz, sz]);
  }

  override describe(): string {
    const enc = this.encoder.layers.layers[0] as TransformerEncoderLayer;
    return `Transformer(${this.dModel}, ${this.nhead} heads, ${this.encoder.numLayers} encoder + ${this.decoder.numLayers} decoder layers, ${layerTraits(enc).join(', ')})`;
  }
}
