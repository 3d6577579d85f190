/**
 * PyTorch's nn.Embedding: a table of `numEmbeddings` vectors of `embeddingDim` values; forward
 * maps token ids (a tensor of any shape whose values are integers in [0, numEmbeddings), stored as
 * floats as all of descent's data are) to [...ids.shape, embeddingDim].
 */
import { Tensor, allocStorage, type DType } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { fmtShape, shapeEq, ShapeError } from '../tensor/shape.js';
import { embedding } from '../autograd/embedding.js';
import { Module, parameter, withMask, type ForwardOptions, type MaskSupport } from './module.js';
import { initializers, normal_, weightOptionSpecs, type InitName } from './init.js';
import { bool, checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';

/** Embedding's initialisers: 'normal' is N(0, 1), PyTorch's; the others as for Linear, fanIn = embeddingDim. */
export type EmbeddingInit = 'normal' | InitName;

export interface EmbeddingOptions {
  /**
   * The row of padding tokens (PyTorch's padding_idx): initialised to zeros, and it receives no
   * gradient, so it stays as loaded. A negative value counts from the end (numEmbeddings + idx).
   */
  paddingIdx?: number;
  /**
   * The positions whose id is paddingIdx are padding (Keras' mask_zero, for the padding id):
   * the output carries the mask [...ids.shape] (1 = padding), which a Sequential passes on
   * (ForwardOptions.mask) so that attention does not attend to those steps and SequenceMean
   * leaves them out. Needs paddingIdx; default false.
   */
  maskPadding?: boolean;
  /** Default 'normal': N(0, 1), PyTorch's. */
  init?: EmbeddingInit;
  rng?: Rng;
  dtype?: DType;
}

const embeddingSchema: SchemaOf<EmbeddingOptions> = {
  paddingIdx: num,
  maskPadding: bool,
  ...weightOptionSpecs,
  init: oneOf('normal', ...(Object.keys(initializers) as InitName[])),
};

export class Embedding extends Module {
  readonly weight: Tensor;
  /** The padding row in [0, numEmbeddings), or null for none. */
  readonly paddingIdx: number | null;
  /** Whether the output carries the padding mask (see EmbeddingOptions.maskPadding). */
  readonly maskPadding: boolean;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    checkOptions('Embedding', opts, embeddingSchema);
    for (const [k, v] of [
      ['numEmbeddings', numEmbeddings],
      ['embeddingDim', embeddingDim],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`Embedding: ${k} must be a positive integer, got ${v}`);
    }
    const p = opts.paddingIdx;
    if (p !== undefined && (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings))
      throw new RangeError(`Embedding: paddingIdx must be an integer in [${-numEmbeddings}, ${numEmbeddings}), got ${p}`);
    this.paddingIdx = p === undefined ? null : p < 0 ? numEmbeddings + p : p;
    this.maskPadding = opts.maskPadding ?? false;
    if (this.maskPadding && this.paddingIdx === null)
      throw new RangeError('Embedding: maskPadding needs paddingIdx, the id of the padding token');
    const rng = opts.rng ?? nextDefaultRng();
    const init = opts.init ?? 'normal';
    this.weight = this.registerParameter(
      'weight',
      parameter([numEmbeddings, embeddingDim], opts.dtype ?? 'float32', (t) => {
        if (init === 'normal') normal_(t, 0, 1, rng);
        else initializers[init](t, rng);
        if (this.paddingIdx !== null) t.data.fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
      }),
    );
  }

  /** Per position: a mask given with the ids passes on; with maskPadding the output carries its own (the given one's padding too). */
  override get maskSupport(): MaskSupport {
    return this.maskPadding ? 'own' : 'keep';
  }

  forward(indices: Tensor, opts?: ForwardOptions): Tensor {
    const out = embedding(this.weight, indices, this.paddingIdx, this.describe());
    if (!this.maskPadding) return out;
    // the ids were read on the host by the lookup, which refuses them anywhere else
    const ids = indices.data,
      given = opts?.mask?.data;
    if (opts?.mask && !shapeEq(opts.mask.shape, indices.shape))
      throw new ShapeError(
        `${this.describe()}: expected a mask of the ids' shape ${fmtShape(indices.shape)}, got ${fmtShape(opts.mask.shape)}`,
      );
    const pad = this.paddingIdx!;
    const m = allocStorage(indices.dtype, ids.length);
    for (let i = 0; i < ids.length; i++) m[i] = ids[i] === pad || (given && given[i] !== 0) ? 1 : 0;
    return withMask(out, new Tensor(m, [...indices.shape]));
  }

  override describe(): string {
    const pad = this.paddingIdx !== null ? `, paddingIdx ${this.paddingIdx}${this.maskPadding ? ', masked' : ''}` : '';
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim}${pad})`;
  }
}
