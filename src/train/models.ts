/**
 * The models the CLI and the lab can build by name. Each entry says what input it takes, so the
 * data loader can hand it flat vectors or NCHW images.
 */
import type { DType } from '../tensor/tensor.js';
import { findName } from '../util/names.js';
import type { Rng } from '../tensor/rng.js';
import { Linear, ReLU, Sequential, type Module } from '../nn/index.js';
import { cnn, fmpNet, regularizedMlp } from './conv-models.js';
import { resolveModel } from './spec.js';

export interface ModelOptions {
  /** Draws the initial weights. */
  rng: Rng;
  /** [C, H, W] of one input image. */
  inputShape: readonly [number, number, number];
  /** Outputs of the last layer (one per class). */
  classes: number;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Dropout probability after hidden layers (models that support it). */
  dropout?: number;
  /** DropConnect probability on hidden Linear layers (models that support it). */
  dropconnect?: number;
  /** A spec model ends in [T, classes], a class per step, instead of [classes] (BuildSpecOptions.perStep). */
  perStep?: boolean;
  [extra: string]: unknown;
}

/**
 * How a model takes each [C, H, W] sample of the data: 'flat' as a vector [C·H·W] (MLPs; a model
 * whose first layer is an embedding reads it as token ids), 'image' as [C, H, W], 'sequence' as
 * [T, F] = [H, W] of a one-channel sample (the rows of a grey image, the steps of an .npz array
 * (N, T, F); a CSV row [1, 1, F] is one step of F features).
 */
export type ModelInput = 'flat' | 'image' | 'sequence';

/** The shape of one sample as a model with `input` takes samples of `chw` = [C, H, W]. */
export function modelSampleShape(input: ModelInput, chw: readonly number[]): number[] {
  const [c, h, w] = chw;
  if (input === 'flat') return [c * h * w];
  if (input === 'image') return [c, h, w];
  if (c !== 1)
    throw new RangeError(`a sequence model reads one-channel samples [1, T, F] as [T, F]; these samples are ${c}×${h}×${w} (C×H×W)`);
  return [h, w];
}

export interface ModelSpec {
  /** The name it is found by (a built-in's name, or a spec's canonical string). */
  name: string;
  /** One line for --help and listings. */
  summary: string;
  /** 'flat': [N, C·H·W] vectors; 'image': [N, C, H, W]; 'sequence': [N, H, W] of one-channel data. */
  input: ModelInput;
  /** A new model for this input shape and class count, initialised from `o.rng`. */
  build(o: ModelOptions): Module;
}

export const models = new Map<string, ModelSpec>();

export function registerModel(spec: ModelSpec): void {
  models.set(spec.name, spec);
}

/**
 * A built-in model by name, ignoring case (MLP is mlp, as every name of descent is matched), or the
 * model a spec string or inline JSON describes (resolveModel in ./spec.ts; a `.json` file needs
 * resolveModel with a file reader).
 */
export function getModel(name: string): ModelSpec {
  const key = findName(String(name), models.keys());
  return key === undefined ? resolveModel(name) : (models.get(key) as ModelSpec);
}

/** A multilayer perceptron with ReLU between layers; hidden sizes as given. */
export function mlp(sizes: readonly number[], o: Pick<ModelOptions, 'rng' | 'dtype'>): Sequential {
  const layers: Module[] = [];
  const rng = o.rng.fork('init');
  for (let i = 0; i + 1 < sizes.length; i++) {
    layers.push(new Linear(sizes[i], sizes[i + 1], { rng: rng.fork(`layer${i}`), dtype: o.dtype }));
    if (i + 2 < sizes.length) layers.push(new ReLU());
  }
  return new Sequential(...layers);
}

registerModel({
  name: 'mlp',
  summary: 'multilayer perceptron 784-256-128-10 with ReLU (the benchmark model W1)',
  input: 'flat',
  build: (o) => {
    const sizes = [o.inputShape[0] * o.inputShape[1] * o.inputShape[2], 256, 128, o.classes];
    return o.dropout || o.dropconnect ? regularizedMlp(sizes, o) : mlp(sizes, o);
  },
});

registerModel({
  name: 'logreg',
  summary: 'logistic regression 784→10: one Linear layer, softmax cross-entropy (the convex full-batch benchmark)',
  input: 'flat',
  build: (o) => mlp([o.inputShape[0] * o.inputShape[1] * o.inputShape[2], o.classes], o),
});

registerModel({
  name: 'cnn',
  summary: 'conv5x5x32-ReLU-maxpool-conv5x5x64-ReLU-maxpool-fc128-ReLU-fc10, padding 2 (the benchmark CNN)',
  input: 'image',
  build: (o) => cnn(o),
});

registerModel({
  name: 'fmp',
  summary: 'four conv3x3 (16/32/48/64 channels) each with ReLU and fractional max pooling α=√2 (Graham 2014), then fc128-ReLU-fc10',
  input: 'image',
  build: (o) => fmpNet(o),
});

/**
 * The sequence benchmarks as models by name, written as specs so that they mean what `--model SPEC`
 * means (its layers, names and parameter order). Each [1, H, W] sample is read as H steps of W
 * features: a grey image's rows.
 */
export const SEQUENCE_MODEL_SPECS = {
  lstm: 'lstm:128,linear',
  transformer: 'linear:64,posembed,transformer:4:ff=128:act=gelu:prenorm=true:layers=2,seqmean,linear',
} as const;

registerModel({
  name: 'lstm',
  summary: `LSTM(W→128) over the H rows of each image, its last hidden state into fc10 (${SEQUENCE_MODEL_SPECS.lstm}; the benchmark model W5)`,
  input: 'sequence',
  build: (o) => resolveModel(SEQUENCE_MODEL_SPECS.lstm).build(o),
});

registerModel({
  name: 'transformer',
  summary: `the rows as tokens: Linear(W→64), learned positions, two pre-norm Transformer encoder layers (4 heads, ff 128, GELU, dropout 0.1), LayerNorm, the mean over the tokens, fc10 (${SEQUENCE_MODEL_SPECS.transformer}; the benchmark model W6)`,
  input: 'sequence',
  build: (o) => resolveModel(SEQUENCE_MODEL_SPECS.transformer).build(o),
});
