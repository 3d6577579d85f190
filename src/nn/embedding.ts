/**
 * PyTorch's nn.Embedding: a table of `numEmbeddings` vectors of `embeddingDim` values; forward
 * maps token ids (a tensor of any shape whose values are integers in [0, numEmbeddings), stored as
 * floats as all of descent's data are) to [...ids.shape, embeddingDim].
 */
import type { Tensor, DType } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { embedding } from '../autograd/embedding.js';
import { Module, parameter } from './module.js';
import { initializers, normal_, weightOptionSpecs, type InitName } from './init.js';
import { checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';

/** Embedding's initialisers: 'normal' is N(0, 1), PyTorch's; the others as for Linear, fanIn = embeddingDim. */
export type EmbeddingInit = 'normal' | InitName;

export interface EmbeddingOptions {
  /**
   * The row of padding tokens (PyTorch's padding_idx): initialised to zeros, and it receives no
   * gradient, so it stays as loaded. A negative value counts from the end (numEmbeddings + idx).
   */
  paddingIdx?: number;
  /** Default 'normal': N(0, 1), PyTorch's. */
  init?: EmbeddingInit;
  rng?: Rng;
  dtype?: DType;
}

const embeddingSchema: SchemaOf<EmbeddingOptions> = {
  paddingIdx: num,
  ...weightOptionSpecs,
  init: oneOf('normal', ...(Object.keys(initializers) as InitName[])),
};

export class Embedding extends Module {
  readonly weight: Tensor;
  /** The padding row in [0, numEmbeddings), or null for none. */
  readonly paddingIdx: number | null;

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

  forward(indices: Tensor): Tensor {
    return embedding(this.weight, indices, this.paddingIdx, this.describe());
  }

  override describe(): string {
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, paddingIdx ${this.paddingIdx}` : ''})`;
  }
}
