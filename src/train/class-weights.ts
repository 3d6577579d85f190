/**
 * The per-class weights of a weighted cross-entropy (PyTorch's CrossEntropyLoss(weight=…)) for a
 * run on a training set, shared by descent train --class-weights and descent sweep's trials.
 */
import type { Dataset } from '../data/dataset.js';
import { clip } from '../util/names.js';

/** A list of weights, one per class in label order, or 'balanced' (computed from the training labels). */
export type ClassWeights = readonly number[] | 'balanced';

/**
 * `weights` for a run on `trainSet`: a list as it is, or 'balanced' as n / (C · countᶜ) over its
 * labels (scikit-learn's compute_class_weight('balanced')). A RangeError whose message starts with
 * `what` for a list whose length is not the number of classes, or 'balanced' with a class that has
 * no training examples.
 */
export function classWeightsFor(weights: ClassWeights, trainSet: Dataset, what = 'classWeights'): number[] {
  const C = trainSet.classes.length;
  if (weights !== 'balanced') {
    if (weights.length !== C)
      throw new RangeError(
        `${what}: ${weights.length} weight${weights.length === 1 ? '' : 's'} for the ${C} classes of the training data; give one per class, in label order`,
      );
    return [...weights];
  }
  const counts = new Array<number>(C).fill(0);
  for (const label of trainSet.labels) counts[label]++;
  const empty = counts.indexOf(0);
  if (empty >= 0)
    throw new RangeError(
      `${what} balanced: class ${empty} (${clip(trainSet.classes[empty])}) has no training examples, so it has no balanced weight; give the weights as a list`,
    );
  return counts.map((n) => trainSet.length / (C * n));
}
