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

export interface Evaluation {
  loss: number;
  accuracy: number;
  samples: number;
  /** classes × classes counts, row-major: [true][predicted]. */
  confusion: Int32Array;
  classes: number;
}

export function evaluateConfusion(
  model: Module,
  data: BatchSource,
  classes: number,
  lossFn: (logits: Tensor, y: ArrayLike<number>) => Tensor = crossEntropy,
): Evaluation {
  if (!Number.isInteger(classes) || classes < 1)
    throw new RangeError(`evaluateConfusion: classes must be a positive integer, got ${classes}`);
  return noGrad(() => {
    const confusion = new Int32Array(classes * classes);
    let n = 0,
      lossSum = 0,
      correct = 0;
    for (const batch of data.epoch(0)) {
      const labels = classLabels(batch.y, 'evaluateConfusion');
      const logits = model.forward(batch.x, { training: false });
      if (logits.shape[1] !== classes)
        throw new RangeError(`evaluateConfusion: the model gives ${logits.shape[1]} outputs per sample, the data has ${classes} classes`);
      lossSum += lossFn(logits, labels).item() * labels.length;
      const pred = argmax(logits, -1);
      for (let i = 0; i < pred.length; i++) {
        const t = labels[i];
        confusion[t * classes + pred[i]]++;
        if (pred[i] === t) correct++;
      }
      n += labels.length;
    }
    return { loss: lossSum / Math.max(n, 1), accuracy: correct / Math.max(n, 1), samples: n, confusion, classes };
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
