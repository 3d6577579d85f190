/**
 * Weight initialisers. Fan-in/fan-out follow PyTorch: for a weight [out, in, ...kernel],
 * fanIn = in·∏kernel and fanOut = out·∏kernel.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../tensor/rng.js';
import { fmtShape, ShapeError } from '../tensor/shape.js';
import { oneOf, rng as rngSpec, type OptionSpec } from '../util/options.js';

export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new ShapeError(`init: fan-in/fan-out need at least 2 dimensions, got ${fmtShape(shape)}`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export function uniform_(t: Tensor, low: number, high: number, rng: Rng): Tensor {
  for (let i = 0; i < t.size; i++) t.data[i] = low + (high - low) * rng.uniform();
  return t;
}

export function normal_(t: Tensor, mean: number, std: number, rng: Rng): Tensor {
  for (let i = 0; i < t.size; i++) t.data[i] = mean + std * rng.normal();
  return t;
}

/** He (Kaiming) normal for ReLU networks: N(0, 2/fanIn). */
export function heNormal_(t: Tensor, rng: Rng): Tensor {
  return normal_(t, 0, Math.sqrt(2 / fans(t.shape).fanIn), rng);
}

/** He (Kaiming) uniform: U(±√(6/fanIn)). */
export function heUniform_(t: Tensor, rng: Rng): Tensor {
  const b = Math.sqrt(6 / fans(t.shape).fanIn);
  return uniform_(t, -b, b, rng);
}

/** Glorot (Xavier) uniform: U(±√(6/(fanIn+fanOut))). */
export function glorotUniform_(t: Tensor, rng: Rng): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const b = Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -b, b, rng);
}

/** Glorot (Xavier) normal: N(0, 2/(fanIn+fanOut)). */
export function glorotNormal_(t: Tensor, rng: Rng): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  return normal_(t, 0, Math.sqrt(2 / (fanIn + fanOut)), rng);
}

/** PyTorch's default for Linear and Conv2d (kaiming_uniform with a=√5): U(±1/√fanIn). */
export function torchDefault_(t: Tensor, rng: Rng): Tensor {
  const b = 1 / Math.sqrt(fans(t.shape).fanIn);
  return uniform_(t, -b, b, rng);
}

export type InitName = 'torch' | 'he' | 'heUniform' | 'glorot' | 'glorotNormal';

export const initializers: Record<InitName, (t: Tensor, rng: Rng) => Tensor> = {
  torch: torchDefault_,
  he: heNormal_,
  heUniform: heUniform_,
  glorot: glorotUniform_,
  glorotNormal: glorotNormal_,
};

/** The options every layer with weights shares (dtype, init, rng), as util/options specs. */
export const weightOptionSpecs: { readonly dtype: OptionSpec; readonly init: OptionSpec; readonly rng: OptionSpec } = {
  dtype: oneOf('float32', 'float64'),
  init: oneOf(...(Object.keys(initializers) as InitName[])),
  rng: rngSpec,
};
