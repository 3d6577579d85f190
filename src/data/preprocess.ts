/**
 * What a data set needs besides its samples: a seeded train/validation split and per-feature
 * standardisation whose statistics travel with the model, so the samples given to a trained model
 * later (evaluation, prediction) are transformed exactly as its training samples were.
 *
 * Isomorphic.
 */
import { Dataset, RegressionDataset } from './dataset.js';
import type { Rng } from '../tensor/rng.js';

/**
 * Per-feature standardisation x' = (x − mean) / std (scikit-learn's StandardScaler): mean and
 * population standard deviation (divisor N) of each of the C·H·W input values over the training
 * samples, computed in float64. A feature that is constant on the training samples has std 0; its
 * stored std is 1, so it becomes x − mean instead of a division by zero.
 */
export interface StandardizePreprocess {
  kind: 'standardize';
  mean: number[];
  std: number[];
}

/** A transformation of the input samples fitted on the training data. */
export type Preprocess = StandardizePreprocess;

/** Fit standardisation on `ds` (its training samples; never on test data). */
export function fitStandardize(ds: Dataset | RegressionDataset): StandardizePreprocess {
  if (ds.length === 0) throw new RangeError(`fitStandardize: data set ${ds.name} is empty`);
  return standardizeStats(ds.images, ds.length, ds.sampleSize);
}

/**
 * Fit standardisation on the targets of `ds` (its training samples), scikit-learn's
 * TransformedTargetRegressor with a StandardScaler: a model trained on the standardized targets
 * predicts y' and `unstandardize` turns its outputs back into the targets' units.
 */
export function fitTargetStandardize(ds: RegressionDataset): StandardizePreprocess {
  if (ds.length === 0) throw new RangeError(`fitTargetStandardize: data set ${ds.name} is empty`);
  return standardizeStats(ds.targets, ds.length, ds.targetNames.length);
}

/** Each of the `f` columns' mean and population std over `n` rows (std 0 stored as 1), in float64. */
function standardizeStats(x: Float32Array, n: number, f: number): StandardizePreprocess {
  const sum = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    const o = i * f;
    for (let j = 0; j < f; j++) sum[j] += x[o + j];
  }
  const mean = Array.from(sum, (s) => s / n);
  const sq = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    const o = i * f;
    for (let j = 0; j < f; j++) {
      const d = x[o + j] - mean[j];
      sq[j] += d * d;
    }
  }
  const std = Array.from(sq, (s) => {
    const sd = Math.sqrt(s / n);
    return sd > 0 ? sd : 1;
  });
  return { kind: 'standardize', mean, std };
}

/**
 * Check that `p` is a well-formed preprocess (for example one read back from a saved model) and
 * return it typed; `features`, when given, is the sample size it must fit.
 */
export function checkPreprocess(p: unknown, features?: number): Preprocess {
  const bad = (why: string): never => {
    throw new RangeError(`preprocess: ${why}`);
  };
  if (typeof p !== 'object' || p === null) return bad(`expected an object, got ${p === null ? 'null' : typeof p}`);
  const o = p as Record<string, unknown>;
  if (o.kind !== 'standardize') return bad(`unknown kind ${JSON.stringify(o.kind)}; expected "standardize"`);
  const { mean, std } = o;
  if (!Array.isArray(mean) || !Array.isArray(std)) return bad('standardize needs arrays mean and std');
  if (mean.length !== std.length) return bad(`mean has ${mean.length} values but std has ${std.length}`);
  if (features !== undefined && mean.length !== features) return bad(`fitted on ${mean.length} features, but the samples have ${features}`);
  mean.forEach((v, j) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`mean[${j}] is ${String(v)}, expected a finite number`);
  });
  std.forEach((v, j) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(`std[${j}] is ${String(v)}, expected a positive finite number`);
  });
  return { kind: 'standardize', mean: mean as number[], std: std as number[] };
}

/**
 * Apply a fitted preprocess to samples laid out one after the other (N × F values, F the number of
 * features it was fitted on); returns new float32 values, rounded once from the float64 result.
 */
export function applyPreprocess(p: Preprocess, samples: ArrayLike<number>): Float32Array {
  const f = p.mean.length;
  if (samples.length % f !== 0) {
    throw new RangeError(`applyPreprocess: ${samples.length} values are not a whole number of samples of ${f} features`);
  }
  const out = new Float32Array(samples.length);
  for (let o = 0; o < samples.length; o += f) {
    for (let j = 0; j < f; j++) out[o + j] = (samples[o + j] - p.mean[j]) / p.std[j];
  }
  return out;
}

/** `ds` with its targets standardized by `p` (fitted by fitTargetStandardize), its inputs as they are. */
export function standardizeTargets(p: Preprocess, ds: RegressionDataset): RegressionDataset {
  if (p.mean.length !== ds.targetNames.length)
    throw new RangeError(`standardizeTargets: fitted on ${p.mean.length} targets, but ${ds.name} has ${ds.targetNames.length}`);
  return new RegressionDataset({
    images: ds.images,
    targets: applyPreprocess(p, ds.targets),
    shape: ds.shape,
    targetNames: ds.targetNames,
    name: ds.name,
  });
}

/** Standardized values (N × F, as applyPreprocess gives them) back in the units `p` was fitted on: v·std + mean, in float64. */
export function unstandardize(p: Preprocess, values: ArrayLike<number>): Float64Array {
  const f = p.mean.length;
  if (values.length % f !== 0) throw new RangeError(`unstandardize: ${values.length} values are not a whole number of rows of ${f}`);
  const out = new Float64Array(values.length);
  for (let o = 0; o < values.length; o += f) for (let j = 0; j < f; j++) out[o + j] = values[o + j] * p.std[j] + p.mean[j];
  return out;
}

/** `ds` with its inputs transformed by `p` (the labels or targets as they are). */
export function preprocessDataset<D extends Dataset | RegressionDataset>(p: Preprocess, ds: D): D {
  if (p.mean.length !== ds.sampleSize) {
    throw new RangeError(`preprocessDataset: fitted on ${p.mean.length} features, but ${ds.name} has ${ds.sampleSize} per sample`);
  }
  return withImages(ds, applyPreprocess(p, ds.images));
}

/** `ds` with `images` as its inputs (samples of `shape`, by default its own), its labels or targets as they are. */
export function withImages<D extends Dataset | RegressionDataset>(
  ds: D,
  images: Float32Array,
  shape: readonly [number, number, number] = ds.shape,
): D {
  if (ds instanceof RegressionDataset)
    return new RegressionDataset({ images, targets: ds.targets, shape, targetNames: ds.targetNames, name: ds.name }) as D;
  const d = ds as Dataset;
  return new Dataset({ images, labels: d.labels, shape, classes: d.classes, name: d.name }) as D;
}

/**
 * Hold out round(fraction · N) samples, chosen by `rng.permutation(N)`, as a validation set. Both
 * parts keep the data set's order, so the split is a pure function of (N, fraction, rng's seed).
 */
export function randomSplit<D extends Dataset | RegressionDataset>(ds: D, fraction: number, rng: Rng): { train: D; val: D } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`randomSplit: fraction must be in (0, 1), got ${fraction}`);
  const n = ds.length;
  const nVal = Math.round(fraction * n);
  if (nVal < 1 || nVal > n - 1) {
    throw new RangeError(
      `randomSplit: a fraction ${fraction} of ${n} samples leaves ${nVal} to validate and ${n - nVal} to train; both need at least 1`,
    );
  }
  const perm = rng.permutation(n);
  const held = new Uint8Array(n);
  for (let k = 0; k < nVal; k++) held[perm[k]] = 1;
  const trainIdx = new Int32Array(n - nVal);
  const valIdx = new Int32Array(nVal);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (held[i]) valIdx[b++] = i;
    else trainIdx[a++] = i;
  }
  return { train: ds.subset(trainIdx, `${ds.name}/train`) as D, val: ds.subset(valIdx, `${ds.name}/val`) as D };
}

/**
 * Missing feature values filled per feature (scikit-learn's SimpleImputer with strategy 'mean' or
 * 'median'): the mean, or the median (the mean of the two middle values of an even count, as
 * numpy.median), of each feature's present values over the training samples, in float64.
 */
export interface ImputePreprocess {
  kind: 'impute';
  strategy: 'mean' | 'median';
  /** The value each feature's missing cells take. */
  values: number[];
}

/** Fit an imputation on `ds` (its training samples, NaN where a value is missing); a feature with no value there is refused. */
export function fitImpute(
  ds: Dataset | RegressionDataset,
  strategy: 'mean' | 'median',
  featureNames?: readonly string[],
): ImputePreprocess {
  if (strategy !== 'mean' && strategy !== 'median')
    throw new RangeError(`fitImpute: strategy must be "mean" or "median", got ${JSON.stringify(strategy)}`);
  const n = ds.length;
  const f = ds.sampleSize;
  const x = ds.images;
  const values = Array.from({ length: f }, (_, j) => {
    const present: number[] = [];
    for (let i = 0; i < n; i++) if (!Number.isNaN(x[i * f + j])) present.push(x[i * f + j]);
    if (present.length === 0)
      throw new RangeError(
        `fitImpute: feature ${j}${featureNames ? ` ("${featureNames[j]}")` : ''} has no value in the ${n} training samples of ${ds.name}, so there is nothing to fill it with`,
      );
    if (strategy === 'mean') return present.reduce((a, v) => a + v, 0) / present.length;
    present.sort((a, b) => a - b);
    const m = present.length >> 1;
    return present.length % 2 ? present[m] : (present[m - 1] + present[m]) / 2;
  });
  return { kind: 'impute', strategy, values };
}

/** Check that `p` is a well-formed imputation (for example one read back from a saved model) for `features` features. */
export function checkImpute(p: unknown, features?: number): ImputePreprocess {
  const bad = (why: string): never => {
    throw new RangeError(`impute: ${why}`);
  };
  if (typeof p !== 'object' || p === null) return bad(`expected an object, got ${p === null ? 'null' : typeof p}`);
  const o = p as Record<string, unknown>;
  if (o.kind !== 'impute') return bad(`unknown kind ${JSON.stringify(o.kind)}; expected "impute"`);
  if (o.strategy !== 'mean' && o.strategy !== 'median') return bad(`strategy ${JSON.stringify(o.strategy)}; expected "mean" or "median"`);
  if (!Array.isArray(o.values)) return bad('expected an array of values');
  if (features !== undefined && o.values.length !== features)
    bad(`fitted on ${o.values.length} features, but the samples have ${features}`);
  o.values.forEach((v, j) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`values[${j}] is ${String(v)}, expected a finite number`);
  });
  return { kind: 'impute', strategy: o.strategy, values: o.values as number[] };
}

/** Samples (N × F values) with each NaN replaced by its feature's value in `p`; new float32 values. */
export function applyImpute(p: ImputePreprocess, samples: ArrayLike<number>): Float32Array {
  const f = p.values.length;
  if (samples.length % f !== 0)
    throw new RangeError(`applyImpute: ${samples.length} values are not a whole number of samples of ${f} features`);
  const out = Float32Array.from(samples);
  for (let i = 0; i < out.length; i++) if (Number.isNaN(out[i])) out[i] = p.values[i % f];
  return out;
}

/** `ds` with its missing inputs filled by `p` (the labels or targets as they are). */
export function imputeDataset<D extends Dataset | RegressionDataset>(p: ImputePreprocess, ds: D): D {
  if (p.values.length !== ds.sampleSize)
    throw new RangeError(`imputeDataset: fitted on ${p.values.length} features, but ${ds.name} has ${ds.sampleSize} per sample`);
  return withImages(ds, applyImpute(p, ds.images));
}
