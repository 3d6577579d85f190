/**
 * `descent train` flags for the training criterion, PyTorch's CrossEntropyLoss options:
 * --label-smoothing ε and --class-weights w1,w2,… | balanced. The criterion is the one loss of the
 * run: fit trains on it and reports its mean over the test set as "test loss" (as a PyTorch loop
 * evaluates with its one criterion object and Keras reports the compiled loss).
 *
 * descent sweep takes --class-weights too (parseClassWeights, classWeightsOf).
 *
 *   checkLossFlags(o)            before the data is loaded: the list's numbers, or 'balanced'
 *   lossFromFlags(o, trainSet)   after: one weight per class of the training data, or the balanced
 *                                weights of its labels; undefined without either flag (fit's default)
 */
import { UsageError, type OptSpec, type Parsed } from './args.js';
import type { Dataset } from '../data/dataset.js';
import type { SavedLoss } from './weights.js';
import { crossEntropyWith } from '../autograd/cross-entropy.js';
import { classWeightsFor, type ClassWeights } from '../train/class-weights.js';
import type { LossFn } from '../train/trainer.js';
import { clip } from '../util/names.js';
import { decimal } from '../util/decimal.js';

export const lossOptions: OptSpec[] = [
  {
    name: 'label-smoothing',
    type: 'number',
    min: 0,
    max: 1,
    metavar: 'ε',
    help: "train against (1 − ε)·onehot + ε/classes, PyTorch's CrossEntropyLoss(label_smoothing=ε); the test loss is this same smoothed loss",
  },
  {
    name: 'class-weights',
    type: 'string',
    metavar: 'W1,W2,…|balanced',
    help: "weigh each example's loss by its class, PyTorch's CrossEntropyLoss(weight=…) (the mean divided by the batch's sum of weights): one weight ≥ 0 per class in label order, or balanced, n / (classes · count of the class) over the training set (scikit-learn's); the test loss is this same weighted loss",
  },
];

const FORM = 'W1,W2,… (one weight ≥ 0 per class, in label order) or balanced';

/** --class-weights as numbers, or 'balanced'; a UsageError naming the flag for anything else. */
export function parseClassWeights(raw: string): number[] | 'balanced' {
  if (raw.trim().toLowerCase() === 'balanced') return 'balanced';
  const weights = raw.split(',').map((part) => {
    const v = decimal(part.trim());
    if (v === undefined || v < 0) throw new UsageError(`--class-weights: "${clip(part.trim())}" is not a weight; expected ${FORM}`);
    return v;
  });
  if (weights.every((w) => w === 0)) throw new UsageError('--class-weights: every weight is 0, so no example counts; give a positive one');
  return weights;
}

/** classWeightsFor with its complaints as UsageErrors naming --class-weights. */
export function classWeightsOf(weights: ClassWeights, trainSet: Dataset): number[] {
  try {
    return classWeightsFor(weights, trainSet, '--class-weights');
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

/** The flags' syntax, checked before any data is loaded. */
export function checkLossFlags(o: Parsed): void {
  if (o.classWeights !== undefined) parseClassWeights(String(o.classWeights));
}

/** The run's loss from the flags, checked against the training data; undefined for fit's plain crossEntropy. */
export function lossFromFlags(o: Parsed, trainSet: Dataset): { loss: LossFn; weight?: number[] } | undefined {
  if (o.labelSmoothing === undefined && o.classWeights === undefined) return undefined;
  const weight = o.classWeights !== undefined ? classWeightsOf(parseClassWeights(String(o.classWeights)), trainSet) : undefined;
  return { loss: crossEntropyWith({ labelSmoothing: o.labelSmoothing, weight }), weight };
}

/** "cross-entropy, label smoothing 0.1, class weights 1,2,…": the criterion a model trained with. */
export function describeLoss(l: SavedLoss): string {
  const parts = [
    l.labelSmoothing !== undefined ? `label smoothing ${l.labelSmoothing}` : '',
    l.weight ? `class weights ${l.weight.map((w) => Number(w.toPrecision(4))).join(',')}` : '',
  ];
  return ['cross-entropy', ...parts.filter(Boolean)].join(', ');
}
