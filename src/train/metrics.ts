/**
 * Metrics as functions of a batch's outputs and targets (accuracy, top-k accuracy, MAE, MSE, or the
 * user's own), which fit() and evaluate() average over a whole source; and evaluation beyond one
 * accuracy figure: the confusion matrix of a classifier over a whole source,
 * with its mean loss and accuracy. Rows are the true classes, columns the predicted ones (as in
 * scikit-learn's confusion_matrix), so row i sums to the number of samples of class i.
 */
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import { argmax } from '../autograd/ops.js';
import { crossEntropy } from '../autograd/cross-entropy.js';
import type { Module } from '../nn/module.js';
import { classLabels, targetCount } from '../data/tensor-dataset.js';
import type { BatchSource } from './trainer.js';
import { hostOnly } from './host-only.js';
import { hostScoped } from './step-scope.js';

/** A batch's targets as fit() and evaluate() pass them on: class labels or a float tensor [B, …] (class probabilities [B, C] among them). */
export type BatchTarget = ArrayLike<number> | Tensor;

/**
 * A metric: the mean over a batch's samples of some score of the model's output against the
 * targets. evaluate() averages it over a source weighting each batch by its sample count, or, when
 * the metric has `sum` (the batch's total over its samples; the built-in metrics do), divides the
 * sums' total by the number of samples, which is exact for counts such as correct predictions.
 * Declared with method syntax, so a function whose target parameter is narrower (`Tensor`, or
 * `Int32Array`) is accepted.
 */
export type Metric = { bivariance(output: Tensor, target: BatchTarget): number }['bivariance'] & {
  sum?: (output: Tensor, target: BatchTarget) => number;
};

function tensorOf(output: Tensor, target: BatchTarget, metric: string): Tensor {
  if (!(target instanceof Tensor)) throw new TypeError(`${metric}: needs float targets (a tensor [B, …]), got class labels`);
  if (target.size !== output.size || target.shape[0] !== output.shape[0])
    throw new RangeError(`${metric}: output [${output.shape.join(', ')}] and target [${target.shape.join(', ')}] differ`);
  return target;
}

function metric(sum: (output: Tensor, target: BatchTarget) => number): Metric {
  const f = (output: Tensor, target: BatchTarget) => sum(output, target) / Math.max(targetCount(target), 1);
  return Object.assign(f, { sum });
}

/**
 * The class of each sample: its label, or, for class probabilities of the output's shape [B, C],
 * the arg-max of its row (Keras' categorical_accuracy; the first of tied maxima).
 */
function labelsOf(output: Tensor, target: BatchTarget, what: string): ArrayLike<number> {
  if (!(target instanceof Tensor)) return target;
  if (target.ndim === 2 && output.ndim === 2 && target.shape[0] === output.shape[0] && target.shape[1] === output.shape[1])
    return argmax(target, -1);
  throw new TypeError(
    `${what}: needs integer class labels or class probabilities of the output's shape [${output.shape.join(', ')}] as targets, got a float tensor [${target.shape.join(', ')}]`,
  );
}

/**
 * Fraction of samples whose arg-max output is the label (outputs [B, C]; integer labels, or class
 * probabilities [B, C], whose arg-max is the label).
 */
export const accuracy: Metric = metric((output, target) => {
  const y = labelsOf(output, target, 'accuracy');
  const pred = argmax(output, -1);
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) correct++;
  return correct;
});

/**
 * Fraction of samples whose label is among the k largest outputs (PyTorch's and Keras's top-k
 * accuracy; a tie at the k-th value counts as a hit, as with Keras's in_top_k). Class
 * probabilities [B, C] as targets stand for their arg-max, as in Keras' top_k_categorical_accuracy.
 */
export function topKAccuracy(k: number): Metric {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`topKAccuracy: k must be a positive integer, got ${k}`);
  return metric((output, target) => {
    if (output.ndim !== 2) throw new RangeError(`topKAccuracy(${k}): expected outputs [B, C], got [${output.shape.join(', ')}]`);
    const y = labelsOf(output, target, `topKAccuracy(${k})`);
    const [b, c] = output.shape;
    const d = output.data;
    let hits = 0;
    for (let i = 0; i < b; i++) {
      const v = d[i * c + y[i]];
      let above = 0;
      for (let j = 0; j < c; j++) if (d[i * c + j] > v) above++;
      if (above < k) hits++;
    }
    return hits;
  });
}

/**
 * Keras' binary accuracy: the fraction of binary decisions right, each output counting as 1 above
 * `threshold` (0.5 for probabilities, 0 for logits) and each target from 0.5 up (0/1 labels, or
 * soft labels rounded); outputs and targets of one size ([B], [B, 1], or [B, C] for C independent
 * labels, where a sample scores the mean over its labels).
 */
export function binaryAccuracy(threshold = 0.5): Metric {
  if (typeof threshold !== 'number' || !Number.isFinite(threshold))
    throw new RangeError(`binaryAccuracy: threshold must be a finite number, got ${String(threshold)}`);
  return metric((output, target) => {
    const t = tensorOf(output, target, 'binaryAccuracy').data,
      o = output.data;
    let right = 0;
    for (let i = 0; i < o.length; i++) if (o[i] > threshold === t[i] >= 0.5) right++;
    return right / (o.length / Math.max(output.shape[0], 1));
  });
}

/** Mean absolute error over all elements, in double precision (float targets of the output's size). */
export const mae: Metric = metric((output, target) => {
  const t = tensorOf(output, target, 'mae').data,
    o = output.data;
  let s = 0;
  for (let i = 0; i < o.length; i++) s += Math.abs(o[i] - t[i]);
  return s / (o.length / Math.max(output.shape[0], 1));
});

/** Mean squared error over all elements, in double precision (float targets of the output's size). */
export const mse: Metric = metric((output, target) => {
  const t = tensorOf(output, target, 'mse').data,
    o = output.data;
  let s = 0;
  for (let i = 0; i < o.length; i++) s += (o[i] - t[i]) ** 2;
  return s / (o.length / Math.max(output.shape[0], 1));
});

/**
 * MAE and MSE (as `mae`, `mse`) of outputs and targets standardized per column (v = (y − mean)/std,
 * a model trained on standardized targets), in the targets' own units: each column's error times its
 * std. The CLI's `--standardize-targets` reports these.
 */
export function unitMetrics(std: readonly number[]): { mae: Metric; mse: Metric } {
  const errors = (output: Tensor, target: BatchTarget, name: string, f: (e: number) => number) => {
    const t = tensorOf(output, target, name).data,
      o = output.data;
    const k = std.length;
    if (o.length % k !== 0) throw new RangeError(`${name}: ${o.length} outputs are not a whole number of rows of ${k} targets`);
    let s = 0;
    for (let i = 0; i < o.length; i++) s += f((o[i] - t[i]) * std[i % k]);
    return s / (o.length / Math.max(output.shape[0], 1));
  };
  return {
    mae: metric((output, target) => errors(output, target, 'mae', Math.abs)),
    mse: metric((output, target) => errors(output, target, 'mse', (e) => e * e)),
  };
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  samples: number;
  /** classes × classes counts, row-major: [true][predicted]. */
  confusion: Int32Array;
  classes: number;
}

/**
 * A classifier's mean loss, accuracy and confusion matrix over a whole source in evaluation mode
 * (integer labels; outputs [B, classes]).
 */
export function evaluateConfusion(
  model: Module,
  data: BatchSource,
  classes: number,
  lossFn: (logits: Tensor, y: ArrayLike<number>) => Tensor = crossEntropy,
): Evaluation {
  const tally = new ClassifierTally(classes, 'evaluateConfusion');
  classifierPass(model, data, lossFn, tally, 'evaluateProbabilitiesAsync');
  return tally.result();
}

/**
 * evaluateConfusion's figures and, in the same pass, each sample's class probabilities (the
 * softmax of its outputs, in double precision, N × classes row-major) and label, in source order:
 * what rankingReport(probabilities, labels, classes) takes. A model on a device is evaluated by
 * evaluateProbabilitiesAsync.
 */
export function evaluateProbabilities(
  model: Module,
  data: BatchSource,
  classes: number,
  lossFn: (logits: Tensor, y: ArrayLike<number>) => Tensor = crossEntropy,
): Evaluation & { probabilities: Float64Array; labels: Int32Array } {
  const tally = new ClassifierTally(classes, 'evaluateProbabilities', true);
  classifierPass(model, data, lossFn, tally, 'evaluateProbabilitiesAsync');
  return tally.withProbabilities();
}

/**
 * A classifier pass's running figures: each batch's logits [B, classes] (on the host), labels and
 * mean loss are added in source order. With `keep`, each sample's softmax row and label are kept
 * too, in that order.
 */
export class ClassifierTally {
  private readonly confusion: Int32Array;
  private n = 0;
  private lossSum = 0;
  private correct = 0;
  private readonly rows: Float64Array[] | undefined;
  private readonly labels: number[] = [];

  constructor(
    readonly classes: number,
    readonly who: string,
    keep = false,
  ) {
    if (!Number.isInteger(classes) || classes < 1) throw new RangeError(`${who}: classes must be a positive integer, got ${classes}`);
    this.confusion = new Int32Array(classes * classes);
    this.rows = keep ? [] : undefined;
  }

  /** Refuses logits whose outputs per sample are not the classes. */
  checkOutputs(logits: Tensor): void {
    if (logits.shape[1] !== this.classes)
      throw new RangeError(`${this.who}: the model gives ${logits.shape[1]} outputs per sample, the data has ${this.classes} classes`);
  }

  /** One batch: its host logits, its labels and its mean loss. */
  add(logits: Tensor, labels: ArrayLike<number>, loss: number): void {
    this.checkOutputs(logits);
    const k = this.classes;
    this.lossSum += loss * labels.length;
    const pred = argmax(logits, -1);
    for (let i = 0; i < pred.length; i++) {
      const t = labels[i];
      this.confusion[t * k + pred[i]]++;
      if (pred[i] === t) this.correct++;
    }
    if (this.rows) {
      const d = logits.data;
      for (let i = 0; i < labels.length; i++) {
        this.rows.push(softmaxRow(d.subarray(i * k, (i + 1) * k)));
        this.labels.push(labels[i]);
      }
    }
    this.n += labels.length;
  }

  /** The mean loss and accuracy over the samples added, and their confusion matrix. */
  result(): Evaluation {
    const n = this.n;
    return {
      loss: this.lossSum / Math.max(n, 1),
      accuracy: this.correct / Math.max(n, 1),
      samples: n,
      confusion: this.confusion,
      classes: this.classes,
    };
  }

  /** result() with the kept probabilities (N × classes, row-major) and labels. */
  withProbabilities(): Evaluation & { probabilities: Float64Array; labels: Int32Array } {
    const rows = this.rows ?? [];
    const probabilities = new Float64Array(this.n * this.classes);
    rows.forEach((r, i) => probabilities.set(r, i * this.classes));
    return { ...this.result(), probabilities, labels: Int32Array.from(this.labels) };
  }
}

/** Adds each batch of `data` to `tally`, evaluated on the host; a model on a device is refused, naming `instead`. */
function classifierPass(
  model: Module,
  data: BatchSource,
  lossFn: (logits: Tensor, y: ArrayLike<number>) => Tensor,
  tally: ClassifierTally,
  instead: string,
): void {
  hostOnly(model, tally.who, instead);
  noGrad(() => {
    for (const batch of data.epoch(0)) {
      const labels = classLabels(batch.y, tally.who);
      // a batch's arrays end with it (hostScoped): the tally copies what it keeps
      hostScoped(
        model,
        () => [model, tally],
        () => {
          const logits = model.forward(batch.x, { training: false });
          tally.checkOutputs(logits);
          tally.add(logits, labels, lossFn(logits, labels).item());
        },
      );
    }
  });
}

/** Precision, recall, F1 and support of one class, or their average over the classes. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** Samples of the class (for an average: of every class). */
  support: number;
}

export interface ClassificationReport {
  /** One entry per class, in class order, with its name (or its index as a string). */
  perClass: (ClassScores & { name: string })[];
  accuracy: number;
  /** The classes' unweighted mean (scikit-learn's macro avg). */
  macro: ClassScores;
  /** The classes' mean weighted by their support (scikit-learn's weighted avg). */
  weighted: ClassScores;
}

/**
 * scikit-learn's classification_report from a confusion matrix (rows the true classes, columns the
 * predicted ones, as evaluateConfusion gives it): per class precision TP/(TP + FP), recall
 * TP/(TP + FN) and F1 = 2PR/(P + R), each 0 where its denominator is (scikit-learn's
 * zero_division=0, without its warning), then their macro and support-weighted averages.
 */
export function classificationReport(confusion: ArrayLike<number>, classes: number | readonly string[]): ClassificationReport {
  const names = typeof classes === 'number' ? Array.from({ length: classes }, (_, i) => String(i)) : [...classes];
  const k = names.length;
  if (k < 1 || confusion.length !== k * k)
    throw new RangeError(`classificationReport: a confusion matrix of ${k} classes has ${k * k} counts, got ${confusion.length}`);
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  let total = 0,
    correct = 0;
  const perClass = names.map((name, c) => {
    let predicted = 0,
      support = 0;
    for (let j = 0; j < k; j++) {
      predicted += confusion[j * k + c];
      support += confusion[c * k + j];
    }
    const tp = confusion[c * k + c];
    total += support;
    correct += tp;
    const precision = ratio(tp, predicted),
      recall = ratio(tp, support);
    return { name, precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const average = (weight: (s: ClassScores) => number): ClassScores => {
    const w = perClass.map(weight);
    const sum = w.reduce((a, b) => a + b, 0);
    const mean = (key: 'precision' | 'recall' | 'f1') =>
      ratio(
        perClass.reduce((a, s, i) => a + s[key] * w[i], 0),
        sum,
      );
    return { precision: mean('precision'), recall: mean('recall'), f1: mean('f1'), support: total };
  };
  return { perClass, accuracy: ratio(correct, total), macro: average(() => 1), weighted: average((s) => s.support) };
}

/** Softmax of one row of logits, computed in double precision. */
export function softmaxRow(logits: ArrayLike<number>): Float64Array {
  const p = new Float64Array(logits.length);
  let m = -Infinity;
  for (let j = 0; j < logits.length; j++) m = Math.max(m, logits[j]);
  let z = 0;
  for (let j = 0; j < logits.length; j++) z += p[j] = Math.exp(logits[j] - m);
  for (let j = 0; j < logits.length; j++) p[j] /= z;
  return p;
}

/** MAE, RMSE and R² of one target column, or their figures over every target. */
export interface RegressionScores {
  mae: number;
  rmse: number;
  r2: number;
}

export interface RegressionReport {
  /** One entry per target column, in output order, with its name (or its index as a string). */
  perTarget: (RegressionScores & { name: string })[];
  /**
   * Over every target: MAE and RMSE over all values (Keras' MeanAbsoluteError and
   * RootMeanSquaredError, the figures fit's `mae` and `mse` metrics give: RMSE = √ of the mean
   * squared error), R² the targets' unweighted mean (scikit-learn's r2_score, multioutput='uniform_average').
   */
  overall: RegressionScores;
  samples: number;
}

/**
 * Streaming sums of a regression's errors per target column, in double precision: |e|, e², and the
 * targets' mean and squared deviations by Welford's update (so R²'s denominator does not cancel).
 */
class RegressionSums {
  readonly abs: Float64Array;
  readonly sq: Float64Array;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  n = 0;
  constructor(readonly targets: number) {
    this.abs = new Float64Array(targets);
    this.sq = new Float64Array(targets);
    this.mean = new Float64Array(targets);
    this.m2 = new Float64Array(targets);
  }
  /** One batch's outputs and targets (rows × targets); with `scale`, both standardized by it, scored in the targets' units. */
  add(outputs: ArrayLike<number>, targets: ArrayLike<number>, rows: number, scale?: TargetScale): void {
    const t = this.targets;
    for (let i = 0; i < rows; i++) {
      this.n++;
      for (let j = 0; j < t; j++) {
        const s = scale ? scale.std[j] : 1,
          m = scale ? scale.mean[j] : 0;
        const y = targets[i * t + j] * s + m;
        const e = outputs[i * t + j] * s + m - y;
        this.abs[j] += Math.abs(e);
        this.sq[j] += e * e;
        const d = y - this.mean[j];
        this.mean[j] += d / this.n;
        this.m2[j] += d * (y - this.mean[j]);
      }
    }
  }
  report(names: readonly string[]): RegressionReport {
    const n = Math.max(this.n, 1);
    // scikit-learn's force_finite: a target constant over the samples scores 1 when predicted exactly, else 0
    const r2 = (j: number) => (this.m2[j] > 0 ? 1 - this.sq[j] / this.m2[j] : this.sq[j] === 0 ? 1 : 0);
    const perTarget = names.map((name, j) => ({ name, mae: this.abs[j] / n, rmse: Math.sqrt(this.sq[j] / n), r2: r2(j) }));
    const t = this.targets;
    const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
    return {
      perTarget,
      overall: {
        mae: sum(this.abs) / (n * t),
        rmse: Math.sqrt(sum(this.sq) / (n * t)),
        r2: perTarget.reduce((s, p) => s + p.r2, 0) / t,
      },
      samples: this.n,
    };
  }
}

function targetNames(targets: number | readonly string[], who: string): string[] {
  const names = typeof targets === 'number' ? Array.from({ length: targets }, (_, i) => String(i)) : [...targets];
  if (names.length < 1) throw new RangeError(`${who}: expected at least one target, got ${names.length}`);
  return names;
}

/**
 * scikit-learn's mean_absolute_error, root_mean_squared_error and r2_score of each target column
 * (outputs and targets N × T, row-major, T = `targets` or its names' count), and the figures over
 * every target (see RegressionReport.overall).
 */
export function regressionReport(
  outputs: ArrayLike<number>,
  targets: ArrayLike<number>,
  names: number | readonly string[],
): RegressionReport {
  const cols = targetNames(names, 'regressionReport');
  const t = cols.length;
  if (outputs.length !== targets.length || outputs.length % t !== 0)
    throw new RangeError(
      `regressionReport: outputs (${outputs.length} values) and targets (${targets.length}) must be the same N × ${t} values`,
    );
  const sums = new RegressionSums(t);
  sums.add(outputs, targets, outputs.length / t);
  return sums.report(cols);
}

/** The per-target mean and std targets were standardized by (`{ mean, std }`, as fitTargetStandardize gives). */
export interface TargetScale {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * A regression model's mean loss over a whole source in evaluation mode and regressionReport of
 * its outputs against the float targets [B, T] (T = `targets` or its names' count), in one pass.
 * With `scale`, the model was trained on targets standardized by it and the source gives them so:
 * the loss is over the standardized values (the one training reported), the report in the
 * targets' own units.
 */
export function evaluateRegression(
  model: Module,
  data: BatchSource,
  targets: number | readonly string[],
  lossFn: (output: Tensor, y: Tensor) => Tensor,
  scale?: TargetScale,
): { loss: number; report: RegressionReport } {
  const names = targetNames(targets, 'evaluateRegression');
  const t = names.length;
  if (scale && (scale.mean.length !== t || scale.std.length !== t))
    throw new RangeError(`evaluateRegression: scale has ${scale.mean.length} means and ${scale.std.length} stds for ${t} targets`);
  return noGrad(() => {
    const sums = new RegressionSums(t);
    let lossSum = 0;
    for (const batch of data.epoch(0)) {
      const y = batch.y;
      if (!(y instanceof Tensor)) throw new TypeError('evaluateRegression: needs float targets [B, T], got class labels');
      hostScoped(
        model,
        () => [model, sums],
        () => {
          const out = model.forward(batch.x, { training: false });
          const b = y.shape[0];
          if (out.size !== b * t || y.size !== b * t)
            throw new RangeError(
              `evaluateRegression: ${t} target${t === 1 ? '' : 's'} per sample, but the outputs are [${out.shape.join(', ')}] and the targets [${y.shape.join(', ')}]`,
            );
          lossSum += lossFn(out, y).item() * b;
          sums.add(out.data, y.data, b, scale);
        },
      );
    }
    return { loss: lossSum / Math.max(sums.n, 1), report: sums.report(names) };
  });
}
