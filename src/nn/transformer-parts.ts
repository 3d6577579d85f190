/**
 * What the Transformer's encoder layer (transformer.ts) and decoder layer (decoder.ts) have in
 * common, written once: the options both take, checked into settings; the feed-forward block
 * FF(x) = dropout_out(linear2(dropout(act(linear1(x))))); the options a built layer gives back (what
 * its clone() builds from); the deep copy; and the words their describe() strings share. The
 * stacks (TransformerEncoder, TransformerDecoder) share their layer count and final-norm checks and
 * their describe(). Internal: src/nn/index.ts does not re-export this file.
 */
import { Rng } from '../tensor/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module, ForwardOptions } from './module.js';
import { type Linear, linearForward, Sequential } from './layers.js';
import { LayerNorm } from './layernorm.js';
import { checkDropP, type Dropout } from './dropout.js';
import { checkOptions } from '../util/options.js';
import type { TransformerEncoderLayerOptions } from './transformer.js';

/** The options both layers take (the decoder's are these, the encoder's add causal). */
export type CommonLayerOptions = Omit<TransformerEncoderLayerOptions, 'causal' | 'rng'>;

/** CommonLayerOptions with their defaults, as the layers keep them. */
export interface LayerSettings {
  readonly dimFeedforward: number;
  readonly dropoutP: number;
  readonly activation: 'relu' | 'gelu';
  readonly layerNormEps: number;
  readonly normFirst: boolean;
  readonly bias: boolean;
}

/** Positive-integer sizes and the dModel/nhead split (the layers' and nn.Transformer's check). */
export function checkSizes(what: string, dModel: number, nhead: number, dimFeedforward: number): void {
  for (const [k, v] of [
    ['dModel', dModel],
    ['nhead', nhead],
    ['dimFeedforward', dimFeedforward],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what}: ${k} must be a positive integer, got ${v}`);
  }
  if (dModel % nhead !== 0) throw new RangeError(`${what}: dModel ${dModel} is not divisible by nhead ${nhead}`);
}

/**
 * The common options (already checked against the layer's schema) with PyTorch's defaults:
 * dimFeedforward 2048, dropout 0.1, relu, layerNormEps 1e-5, post-norm, biases; sizes, the drop
 * probability and eps refused when out of range, in that order.
 */
export function layerSettings(what: string, dModel: number, nhead: number, opts: CommonLayerOptions): LayerSettings {
  const dimFeedforward = opts.dimFeedforward ?? 2048;
  checkSizes(what, dModel, nhead, dimFeedforward);
  const dropoutP = checkDropP(opts.dropout ?? 0.1, what);
  const layerNormEps = opts.layerNormEps ?? 1e-5;
  if (!(layerNormEps >= 0)) throw new RangeError(`${what}: layerNormEps must be ≥ 0, got ${layerNormEps}`);
  return {
    dimFeedforward,
    dropoutP,
    activation: opts.activation ?? 'relu',
    layerNormEps,
    normFirst: opts.normFirst ?? false,
    bias: opts.bias ?? true,
  };
}

/** A built layer's common options (without rng), in the order its options() lists them. */
export function layerOptions(layer: LayerSettings): Required<Omit<CommonLayerOptions, 'dtype'>> {
  return {
    dimFeedforward: layer.dimFeedforward,
    dropout: layer.dropoutP,
    activation: layer.activation,
    layerNormEps: layer.layerNormEps,
    normFirst: layer.normFirst,
    bias: layer.bias,
  };
}

/** FF(h) = dropOut(linear2(dropFF(act(linear1(h))))), the activation fused into linear1's product. */
export function feedForward(
  layer: LayerSettings & { readonly linear1: Linear; readonly linear2: Linear },
  h: Tensor,
  dropFF: Dropout,
  dropOut: Dropout,
  opts: ForwardOptions | undefined,
): Tensor {
  return dropOut.forward(layer.linear2.forward(dropFF.forward(linearForward(layer.linear1, h, layer.activation), opts)), opts);
}

/** describe()'s words for the common settings: "ff 2048, relu, post-norm, dropout 0.1" (no dropout when 0). */
export function layerTraits(layer: LayerSettings): string[] {
  return [
    `ff ${layer.dimFeedforward}`,
    layer.activation,
    layer.normFirst ? 'pre-norm' : 'post-norm',
    layer.dropoutP ? `dropout ${layer.dropoutP}` : '',
  ].filter(Boolean);
}

/**
 * A deep copy (PyTorch's copy.deepcopy): `build` makes a layer of the same options from the
 * generator it is given, whose values copyFrom then overwrites; a fixed local generator keeps the
 * caller's streams untouched.
 */
export function cloneLayer<T extends Module>(layer: T, build: (rng: Rng) => T): T {
  const c = build(new Rng(0));
  c.copyFrom(layer);
  return c;
}

/**
 * A stack's layers and final norm (PyTorch's _get_clones): numLayers deep copies of the layer
 * (`clone`), and opts.norm or null. The caller has checked the layer's class and registers both.
 */
export function stackParts(
  what: string,
  numLayers: number,
  opts: { norm?: LayerNorm | null },
  clone: () => Module,
): { layers: Sequential; norm: LayerNorm | null } {
  if (!Number.isInteger(numLayers) || numLayers < 1)
    throw new RangeError(`${what}: numLayers must be a positive integer, got ${numLayers}`);
  checkOptions(what, opts, { norm: { expected: 'a LayerNorm or null', test: (v) => v === null || v instanceof LayerNorm } });
  return { layers: new Sequential(...Array.from({ length: numLayers }, clone)), norm: opts.norm ?? null };
}

/** "What(numLayers × layer, final norm)". */
export function describeStack(what: string, numLayers: number, first: Module, norm: LayerNorm | null): string {
  return `${what}(${numLayers} × ${first.describe()}${norm ? ', final norm' : ''})`;
}
