/**
 * The Transformer encoder (Vaswani et al. 2017) as PyTorch's nn.TransformerEncoderLayer and
 * nn.TransformerEncoder with batch_first=True: x [N, L, dModel] → [N, L, dModel].
 *
 *   post-norm (default):  x = norm1(x + SA(x));        x = norm2(x + FF(x))
 *   pre-norm (normFirst): x = x + SA(norm1(x));        x = x + FF(norm2(x))
 *   SA(x) = dropout1(self_attn(x, x, x, masks));       FF(x) = dropout2(linear2(dropout(act(linear1(x)))))
 *
 * Parameters and state_dict order are PyTorch's: self_attn.* (MultiheadAttention's), linear1.*,
 * linear2.*, norm1.*, norm2.*; the encoder's layers.0.…, layers.1.…, then norm.*. The three
 * dropouts and the attention's share `dropout` and act only while training. Masks follow nn.MHA's
 * convention (bool: 1 = masked; see src/nn/attention.ts).
 */
import type { Rng } from '../tensor/rng.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { add } from '../autograd/ops.js';
import type { MaskKind } from '../autograd/attention.js';
import { Module, type ForwardOptions, type MaskSupport } from './module.js';
import { Linear, type Sequential } from './layers.js';
import { LayerNorm } from './layernorm.js';
import { MultiheadAttention } from './attention.js';
import { Dropout } from './dropout.js';
import { cloneLayer, describeStack, feedForward, layerOptions, layerSettings, layerTraits, stackParts } from './transformer-parts.js';
import { bool, checkOptions, int, num, oneOf, rng as rngSpec, type SchemaOf } from '../util/options.js';

export interface TransformerEncoderLayerOptions {
  /** Hidden width of the feed-forward block; default 2048 (PyTorch's). */
  dimFeedforward?: number;
  /** Drop probability of the attention weights and of the three dropouts, in [0, 1); default 0.1. */
  dropout?: number;
  /** The feed-forward activation; default 'relu'. 'gelu' is the exact (erf) GELU, PyTorch's. */
  activation?: 'relu' | 'gelu';
  /** The LayerNorms' eps; default 1e-5. */
  layerNormEps?: number;
  /** Normalise before each block (pre-norm) instead of after the residual sum; default false. */
  normFirst?: boolean;
  /** Biases of the linear layers, the attention and the LayerNorms (PyTorch 2's bias=); default true. */
  bias?: boolean;
  /** forward(x) attends causally (PyTorch's is_causal=True in each call); forwardMasked takes its masks as given. Default false. */
  causal?: boolean;
  rng?: Rng;
  dtype?: DType;
}

/** Masks of an encoder pass, in nn.MHA's convention (bool: 1 = masked). */
export interface EncoderMasks {
  /** [L, S] or [N·nhead, L, S]: 1 = query i may not attend to key j (or added, with maskKind 'float'). */
  srcMask?: Tensor | null;
  /** [N, L]: 1 = that position is padding and no query attends to it (or added, with maskKind 'float'). */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (position i attends to j ≤ i); not with srcMask. */
  isCausal?: boolean;
  /** How the masks are read; default 'bool'. */
  maskKind?: MaskKind;
  /** What a position with no key left gets: NaN (the default, PyTorch 1.13's) or 0 (PyTorch 2.6's); see AttendOptions.emptyRows. */
  emptyRows?: 'nan' | 'zero';
}

const layerSchema: SchemaOf<TransformerEncoderLayerOptions> = {
  dimFeedforward: int,
  dropout: num,
  activation: oneOf('relu', 'gelu'),
  layerNormEps: num,
  normFirst: bool,
  bias: bool,
  causal: bool,
  rng: rngSpec,
  dtype: oneOf('float32', 'float64'),
};

export class TransformerEncoderLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dimFeedforward: number;
  readonly dropoutP: number;
  readonly activation: 'relu' | 'gelu';
  readonly layerNormEps: number;
  readonly normFirst: boolean;
  readonly bias: boolean;
  readonly causal: boolean;
  /** PyTorch's dropout (inside the feed-forward block), dropout1 (after attention), dropout2 (after the feed-forward block). */
  private readonly drops: [Dropout, Dropout, Dropout];

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    opts: TransformerEncoderLayerOptions = {},
  ) {
    super();
    const what = 'TransformerEncoderLayer';
    checkOptions(what, opts, layerSchema);
    ({
      dimFeedforward: this.dimFeedforward,
      dropoutP: this.dropoutP,
      activation: this.activation,
      layerNormEps: this.layerNormEps,
      normFirst: this.normFirst,
      bias: this.bias,
    } = layerSettings(what, dModel, nhead, opts));
    this.causal = opts.causal ?? false;
    const rng = opts.rng;
    const dtype = opts.dtype ?? 'float32';
    const ff = this.dimFeedforward;
    this.selfAttn = this.registerModule(
      'self_attn',
      new MultiheadAttention(dModel, nhead, { dropout: this.dropoutP, bias: this.bias, rng, dtype }),
    );
    this.linear1 = this.registerModule('linear1', new Linear(dModel, ff, { bias: this.bias, rng, dtype }));
    this.linear2 = this.registerModule('linear2', new Linear(ff, dModel, { bias: this.bias, rng, dtype }));
    const ln = { eps: this.layerNormEps, bias: this.bias, dtype };
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, ln));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, ln));
    this.drops = [new Dropout(this.dropoutP), new Dropout(this.dropoutP), new Dropout(this.dropoutP)];
  }

  /**
   * x [N, L, dModel] → [N, L, dModel]: the layer in a Sequential. opts.mask [N, L] (1 = padding) is
   * src_key_padding_mask; causal as built; a position with no key left gets 0 (emptyRows 'zero').
   */
  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    return this.forwardMasked(x, { srcKeyPaddingMask: opts?.mask ?? null, isCausal: this.causal, emptyRows: 'zero' }, opts);
  }

  /** The output's positions are the input's; the mask is read as the keys' padding. */
  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  /** The layer with PyTorch's src_mask / src_key_padding_mask / is_causal (bool: 1 = masked). */
  forwardMasked(x: Tensor, masks: EncoderMasks = {}, opts?: ForwardOptions): Tensor {
    if (!(x instanceof Tensor) || x.ndim !== 3 || x.shape[2] !== this.dModel)
      throw new ShapeError(
        `${this.describe()}: expected input [N, L, ${this.dModel}], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`,
      );
    const [dropFF, drop1, drop2] = this.drops;
    const sa = (h: Tensor) =>
      drop1.forward(
        this.selfAttn.attend(h, h, h, {
          attnMask: masks.srcMask ?? null,
          keyPaddingMask: masks.srcKeyPaddingMask ?? null,
          isCausal: masks.isCausal ?? false,
          maskKind: masks.maskKind ?? 'bool',
          emptyRows: masks.emptyRows ?? 'nan',
          needWeights: false,
          training: opts?.training ?? false,
          rng: opts?.rng,
        }).output,
        opts,
      );
    const ffb = (h: Tensor) => feedForward(this, h, dropFF, drop2, opts);
    if (this.normFirst) {
      const h = add(x, sa(this.norm1.forward(x)));
      return add(h, ffb(this.norm2.forward(h)));
    }
    const h = this.norm1.forward(add(x, sa(x)));
    return this.norm2.forward(add(h, ffb(h)));
  }

  /** The options this layer was built with (without rng): what clone() builds from. */
  options(): TransformerEncoderLayerOptions {
    return { ...layerOptions(this), causal: this.causal, dtype: this.linear1.weight.dtype };
  }

  /** A deep copy: the same options and the same parameter values in new tensors (PyTorch's copy.deepcopy). */
  clone(): TransformerEncoderLayer {
    return cloneLayer(this, (rng) => new TransformerEncoderLayer(this.dModel, this.nhead, { ...this.options(), rng }));
  }

  override describe(): string {
    const extra = [...layerTraits(this), ...(this.causal ? ['causal'] : [])];
    return `TransformerEncoderLayer(${this.dModel}, ${this.nhead} heads, ${extra.join(', ')})`;
  }
}

export interface TransformerEncoderOptions {
  /** Applied to the last layer's output (PyTorch's norm=; pre-norm stacks usually end with one). */
  norm?: LayerNorm | null;
}

/**
 * numLayers TransformerEncoderLayers in sequence, then the optional final norm. As PyTorch's
 * nn.TransformerEncoder, the layers are deep copies of `encoderLayer` (its _get_clones): every
 * layer starts with the same parameter values as `encoderLayer`, each in its own tensors, and
 * `encoderLayer` itself is not one of them.
 */
export class TransformerEncoder extends Module {
  readonly layers: Sequential;
  readonly norm: LayerNorm | null;

  constructor(
    encoderLayer: TransformerEncoderLayer,
    readonly numLayers: number,
    opts: TransformerEncoderOptions = {},
  ) {
    super();
    const what = 'TransformerEncoder';
    if (!(encoderLayer instanceof TransformerEncoderLayer))
      throw new TypeError(`${what}: expected a TransformerEncoderLayer, got ${encoderLayer === null ? 'null' : typeof encoderLayer}`);
    const { layers, norm } = stackParts(what, numLayers, opts, () => encoderLayer.clone());
    this.layers = this.registerModule('layers', layers);
    this.norm = norm ? this.registerModule('norm', norm) : null;
  }

  /** Each layer's forward (opts.mask as src_key_padding_mask, each layer's causal), then the norm. */
  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    let h = x;
    for (const layer of this.layers.layers) h = layer.forward(h, opts);
    return this.norm ? this.norm.forward(h) : h;
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  /** Every layer with the same masks (PyTorch's mask / src_key_padding_mask / is_causal), then the norm. */
  forwardMasked(x: Tensor, masks: EncoderMasks = {}, opts?: ForwardOptions): Tensor {
    let h = x;
    for (const layer of this.layers.layers) h = (layer as TransformerEncoderLayer).forwardMasked(h, masks, opts);
    return this.norm ? this.norm.forward(h) : h;
  }

  override describe(): string {
    return describeStack('TransformerEncoder', this.numLayers, this.layers.layers[0], this.norm);
  }
}
