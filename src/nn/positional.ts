/**
 * Position information for attention, which by itself is blind to order: x [N, L, dim] + P[0:L].
 *
 * PositionalEmbedding: P is learned (Keras' PositionEmbedding, GPT-2's wpe), `weight` [maxLength,
 * dim] initialised N(0, 0.02) as GPT-2 does — small beside the N(0, 1) token Embedding, so the
 * positions start as a perturbation of the tokens rather than drowning them (Keras' default,
 * Glorot-uniform over [maxLength, dim], depends on maxLength instead).
 *
 * SinusoidalPositionalEncoding: P is Vaswani et al.'s fixed table (the PyTorch tutorial's
 * PositionalEncoding without its dropout), for position p and i < dim/2:
 *   P[p, 2i] = sin(p / base^(2i/dim)),   P[p, 2i+1] = cos(p / base^(2i/dim))
 * No parameters and no buffer: the rows are computed (in float64, then stored in x's dtype) for the
 * longest L seen, so a state dict has no entry for them (the tutorial's `pe` buffer has none here).
 *
 * Both refuse L > maxLength.
 */
import { Tensor, allocStorage, type DType, type HostStorage } from '../tensor/tensor.js';
import { type Rng, nextDefaultRng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { add } from '../autograd/ops.js';
import { narrow } from '../autograd/indexing.js';
import { Module, parameter, type MaskSupport } from './module.js';
import { normal_, weightOptionSpecs } from './init.js';
import { checkOptions, num, type SchemaOf } from '../util/options.js';

export interface PositionalEmbeddingOptions {
  rng?: Rng;
  dtype?: DType;
}

const { rng: rngSpec, dtype: dtypeSpec } = weightOptionSpecs;
const embSchema: SchemaOf<PositionalEmbeddingOptions> = { rng: rngSpec, dtype: dtypeSpec };

function checkInput(what: string, x: Tensor, dim: number, maxLength: number): number {
  if (!(x instanceof Tensor) || x.ndim !== 3 || x.shape[2] !== dim)
    throw new ShapeError(`${what}: expected input [N, L, ${dim}], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
  const l = x.shape[1];
  if (l > maxLength) throw new RangeError(`${what}: sequence length ${l} exceeds maxLength ${maxLength}`);
  return l;
}

function positiveInt(what: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what}: ${name} must be a positive integer, got ${v}`);
}

export class PositionalEmbedding extends Module {
  readonly weight: Tensor;

  constructor(
    readonly maxLength: number,
    readonly dim: number,
    opts: PositionalEmbeddingOptions = {},
  ) {
    super();
    checkOptions('PositionalEmbedding', opts, embSchema);
    positiveInt('PositionalEmbedding', 'maxLength', maxLength);
    positiveInt('PositionalEmbedding', 'dim', dim);
    const rng = opts.rng ?? nextDefaultRng();
    this.weight = this.registerParameter(
      'weight',
      parameter([maxLength, dim], opts.dtype ?? 'float32', (t) => normal_(t, 0, 0.02, rng)),
    );
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  /** x [N, L, dim] + weight[0:L] (the same rows for every sample). */
  forward(x: Tensor): Tensor {
    const l = checkInput(this.describe(), x, this.dim, this.maxLength);
    return add(x, narrow(this.weight, 0, 0, l));
  }

  override describe(): string {
    return `PositionalEmbedding(${this.maxLength}, ${this.dim})`;
  }
}

export interface SinusoidalPositionalEncodingOptions {
  /** The longest sequence accepted; default 5000 (the PyTorch tutorial's max_len). */
  maxLength?: number;
  /** The wavelengths' base; default 10000 (Vaswani et al.'s). */
  base?: number;
}

const sinSchema: SchemaOf<SinusoidalPositionalEncodingOptions> = { maxLength: num, base: num };

/** Rows 0..rows−1 of the sinusoidal table for `dim` features. */
export function sinusoidalTable(rows: number, dim: number, base: number, dtype: DType): HostStorage {
  const out = allocStorage(dtype, rows * dim);
  for (let i = 0; 2 * i < dim; i++) {
    // base^(−2i/dim), as the tutorial's exp(2i · −ln(base)/dim)
    const freq = Math.exp(2 * i * (-Math.log(base) / dim));
    for (let p = 0; p < rows; p++) {
      out[p * dim + 2 * i] = Math.sin(p * freq);
      if (2 * i + 1 < dim) out[p * dim + 2 * i + 1] = Math.cos(p * freq);
    }
  }
  return out;
}

export class SinusoidalPositionalEncoding extends Module {
  readonly maxLength: number;
  readonly base: number;
  private table: Tensor | null = null;

  constructor(
    readonly dim: number,
    opts: SinusoidalPositionalEncodingOptions = {},
  ) {
    super();
    const what = 'SinusoidalPositionalEncoding';
    checkOptions(what, opts, sinSchema);
    positiveInt(what, 'dim', dim);
    this.maxLength = opts.maxLength ?? 5000;
    positiveInt(what, 'maxLength', this.maxLength);
    this.base = opts.base ?? 10000;
    if (!(this.base > 0 && Number.isFinite(this.base))) throw new RangeError(`${what}: base must be a positive number, got ${this.base}`);
  }

  /** P[0:L] as an [L, dim] tensor of `dtype` (a constant: no gradient). */
  positions(l: number, dtype: DType): Tensor {
    if (!this.table || this.table.shape[0] < l || this.table.dtype !== dtype)
      this.table = new Tensor(sinusoidalTable(l, this.dim, this.base, dtype), [l, this.dim]);
    return this.table.shape[0] === l ? this.table : narrow(this.table, 0, 0, l);
  }

  override get maskSupport(): MaskSupport {
    return 'keep';
  }

  /** x [N, L, dim] + P[0:L]. */
  forward(x: Tensor): Tensor {
    const l = checkInput(this.describe(), x, this.dim, this.maxLength);
    return add(x, this.positions(l, x.dtype));
  }

  override describe(): string {
    return `SinusoidalPositionalEncoding(${this.dim}${this.maxLength !== 5000 ? `, maxLength ${this.maxLength}` : ''})`;
  }
}
