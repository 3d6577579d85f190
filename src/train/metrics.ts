/**
 * Evaluation beyond one accuracy figure: the confusion matrix of a classifier over a whole source,
 * with its mean loss and accuracy. Rows are the true classes, columns the predicted ones (as in
 * scikit-learn's confusion_matrix), so row i sums to the number of samples of class i.
 */
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import { argmax, crossEntropy } from '../autograd/ops.js';
import type { Module } from '../nn/module.js';
import type { BatchSource } from './trainer.js';

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
  if (!Number.isInteger(classes) || classes < 1) throw new RangeError(`evaluateConfusion: classes must be a positive integer, got ${classes}`);
  return noGrad(() => {
    const confusion = new Int32Array(classes * classes);
    let n = 0, lossSum = 0, correct = 0;
    for (const batch of data.epoch(0)) {
      const logits = model.forward(batch.x, { training: false });
      if (logits.shape[1] !== classes) throw new RangeError(`evaluateConfusion: the model gives ${logits.shape[1]} outputs per sample, the data has ${classes} classes`);
      lossSum += lossFn(logits, batch.y).item() * batch.y.length;
      const pred = argmax(logits, -1);
      for (let i = 0; i < pred.length; i++) {
        const t = batch.y[i];
        confusion[t * classes + pred[i]]++;
        if (pred[i] === t) correct++;
      }
      n += batch.y.length;
    }
    return { loss: lossSum / Math.max(n, 1), accuracy: correct / Math.max(n, 1), samples: n, confusion, classes };
  });
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
