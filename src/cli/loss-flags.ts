/**
 * `descent train` flags for the training criterion: --loss (cross-entropy for class labels; mse,
 * l1, huber[:δ] or smooth-l1[:β] for --target regression), and PyTorch's CrossEntropyLoss options
 * --label-smoothing ε and --class-weights w1,w2,… | balanced. The criterion is the one loss of the
 * run: fit trains on it and reports its mean over the test set as "test loss" (as a PyTorch loop
 * evaluates with its one criterion object and Keras reports the compiled loss).
 *
 * descent sweep takes --class-weights too (parseClassWeights, classWeightsOf).
 *
 *   checkLossFlags(o)            before the data is loaded: --loss's name and parameter, the list's
 *                                numbers or 'balanced', and that the flags fit --target (or its absence)
 *   lossFromFlags(o, trainSet)   after: one weight per class of the training data, or the balanced
 *                                weights of its labels; undefined for fit's plain crossEntropy
 */
import { UsageError, type OptSpec, type Parsed } from './args.js';
import type { Dataset } from '../data/dataset.js';
import type { SavedLoss } from './weights.js';
import { crossEntropyWith } from '../autograd/cross-entropy.js';
import { mseLoss } from '../autograd/ops.js';
import { huberLoss, l1Loss, smoothL1Loss } from '../autograd/losses.js';
import type { Tensor } from '../tensor/tensor.js';
import { dataKind, isRegression, type CliDataset } from './data.js';
import { classWeightsFor, type ClassWeights } from '../train/class-weights.js';
import type { LossFn } from '../train/trainer.js';
import { clip } from '../util/names.js';
import { decimal } from '../util/decimal.js';

export const lossOptions: OptSpec[] = [
  {
    name: 'loss',
    type: 'string',
    metavar: 'NAME',
    help: "the training criterion: cross-entropy (class labels; the default), or for --target regression mse (the default), l1, huber[:δ] (PyTorch's HuberLoss(delta), δ default 1) or smooth-l1[:β] (SmoothL1Loss(beta), β default 1); the test loss is the same criterion",
  },
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

/** The flags that need class labels, which a --target regression refuses naming them. */
const CLASS_LABEL_FLAGS = [
  ['labelSmoothing', '--label-smoothing'],
  ['classWeights', '--class-weights'],
  ['mixup', '--mixup'],
  ['cutmix', '--cutmix'],
  ['ensemble', '--ensemble'],
  ['snapshots', '--snapshots'],
  ['swa', '--swa'],
  ['ema', '--ema'],
  ['saveAverage', '--save-average'],
] as const;
const CLASS_LABEL_FLAG_WHY: Partial<Record<(typeof CLASS_LABEL_FLAGS)[number][0], string>> = {
  labelSmoothing: 'is an option of the cross-entropy of class labels',
  classWeights: 'is an option of the cross-entropy of class labels',
  mixup: 'mixes one-hot class labels',
  cutmix: 'mixes one-hot class labels',
  ensemble: "reports the members' and the ensemble's accuracy",
  snapshots: "reports the snapshots' and the ensemble's accuracy",
  swa: "reports the average's accuracy",
  ema: "reports the average's accuracy",
  saveAverage: 'writes the average of --swa or --ema',
};
const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The regression criteria --loss names, with the parameter each takes after a colon. */
const REGRESSION_LOSSES = { mse: null, l1: null, huber: 'delta', 'smooth-l1': 'beta' } as const;
export type RegressionLossName = keyof typeof REGRESSION_LOSSES;
const LOSS_FORM = 'cross-entropy, mse, l1, huber[:δ] or smooth-l1[:β]';

/** --loss as a name and its parameter (huber's δ, smooth-l1's β); a UsageError naming the flag for anything else. */
export function parseLoss(raw: string): { name: 'cross-entropy' | RegressionLossName; param?: number } {
  const [name, arg, ...more] = raw.trim().toLowerCase().split(':');
  if (name === 'cross-entropy' && arg === undefined) return { name };
  if (!(name in REGRESSION_LOSSES) || more.length) throw new UsageError(`--loss: "${clip(raw)}" is not a loss; expected ${LOSS_FORM}`);
  const key = name as RegressionLossName;
  const param = REGRESSION_LOSSES[key];
  if (arg === undefined) return { name: key };
  if (param === null) throw new UsageError(`--loss ${key} takes no parameter, got "${clip(raw)}"`);
  const v = decimal(arg.trim());
  // PyTorch: HuberLoss needs δ > 0; SmoothL1Loss takes β ≥ 0 (β = 0 is the L1 loss)
  const ok = v !== undefined && Number.isFinite(v) && (key === 'huber' ? v > 0 : v >= 0);
  if (!ok) throw new UsageError(`--loss ${key}:${clip(arg)}: ${param} must be a number ${key === 'huber' ? '> 0' : '≥ 0'}`);
  return { name: key, param: v };
}

/**
 * The flags' syntax, and that they fit the run's targets: checked before any data is loaded where
 * the flags say which it is (--target: a regression; CSV or images without it: class labels), and
 * again once an .npz file's arrays have said it (`regression`: float targets).
 */
export function checkLossFlags(o: Parsed, regression?: boolean): void {
  const loss = o.loss !== undefined ? parseLoss(String(o.loss)) : undefined;
  if (o.classWeights !== undefined) parseClassWeights(String(o.classWeights));
  // an .npz file's outputs decide, once read
  if (regression === undefined && o.target === undefined && typeof o.data === 'string' && dataKind(o.data) === 'npz') return;
  const why = o.target !== undefined ? '--target trains a regression' : "the data's float targets make a regression";
  if (regression ?? o.target !== undefined) {
    if (loss?.name === 'cross-entropy')
      throw new UsageError(`--loss cross-entropy takes class labels; ${why}: give mse, l1, huber[:δ] or smooth-l1[:β]`);
    for (const [key, flag] of CLASS_LABEL_FLAGS)
      if (o[key] !== undefined && o[key] !== false)
        throw new UsageError(`${flag} ${CLASS_LABEL_FLAG_WHY[key] ?? 'needs class labels'}; ${why}`);
    for (const key of ['earlyStopMonitor', 'saveBestMonitor'] as const)
      if (o[key] === 'accuracy')
        throw new UsageError(
          `${flagOf(key)} accuracy: a regression (${o.target !== undefined ? '--target' : 'float targets'}) has no accuracy; monitor the test loss (loss)`,
        );
  } else {
    if (loss !== undefined && loss.name !== 'cross-entropy')
      throw new UsageError(
        `--loss ${o.loss}: a regression loss needs float targets; name them with --target COL (CSV data) or save them as a float array (.npz)`,
      );
    if (o.standardizeTargets)
      throw new UsageError(
        '--standardize-targets applies to a regression: name its target columns with --target (CSV data), or save the targets as a float array (.npz)',
      );
    for (const key of ['earlyStopMonitor', 'saveBestMonitor'] as const)
      if (o[key] === 'mae')
        throw new UsageError(
          `${flagOf(key)} mae: the test MAE is a regression's figure; name the targets with --target COL (CSV data) or save them as a float array (.npz)`,
        );
  }
}

/** The regression criterion of a saved loss (mse when it names none). */
function regressionLoss(l: SavedLoss | undefined): LossFn {
  const p = l?.param;
  switch (l?.name ?? 'mse') {
    case 'l1':
      return (x, y) => l1Loss(x, y as Tensor);
    case 'huber':
      return (x, y) => huberLoss(x, y as Tensor, { delta: p ?? 1 });
    case 'smooth-l1':
      return (x, y) => smoothL1Loss(x, y as Tensor, { beta: p ?? 1 });
    default:
      return (x, y) => mseLoss(x, y as Tensor);
  }
}

/** The criterion a saved loss describes, for eval; undefined for fit's plain crossEntropy. */
export function lossOfSaved(l: SavedLoss | undefined, regression: boolean): LossFn | undefined {
  if (regression) return regressionLoss(l);
  if (l === undefined || (l.labelSmoothing === undefined && l.weight === undefined)) return undefined;
  return crossEntropyWith({ labelSmoothing: l.labelSmoothing, weight: l.weight });
}

/**
 * The run's loss from the flags, checked against the training data, with what --save records of it;
 * undefined for fit's plain crossEntropy. A regression data set trains on --loss (mse by default).
 */
export function lossFromFlags(o: Parsed, trainSet: CliDataset): { loss: LossFn; weight?: number[]; saved: SavedLoss } | undefined {
  if (isRegression(trainSet)) {
    const l = parseLoss(String(o.loss ?? 'mse')) as { name: RegressionLossName; param?: number };
    const saved: SavedLoss = { name: l.name, ...(l.param !== undefined ? { param: l.param } : {}) };
    return { loss: regressionLoss(saved), saved };
  }
  if (o.labelSmoothing === undefined && o.classWeights === undefined) return undefined;
  const weight = o.classWeights !== undefined ? classWeightsOf(parseClassWeights(String(o.classWeights)), trainSet) : undefined;
  const saved: SavedLoss = {
    ...(o.labelSmoothing !== undefined ? { labelSmoothing: o.labelSmoothing } : {}),
    ...(weight ? { weight } : {}),
  };
  return { loss: crossEntropyWith({ labelSmoothing: o.labelSmoothing, weight }), weight, saved };
}

/** "cross-entropy, label smoothing 0.1, class weights 1,2,…" or "huber, delta 0.5": the criterion a model trained with. */
export function describeLoss(l: SavedLoss): string {
  if (l.name !== undefined) {
    const param = REGRESSION_LOSSES[l.name];
    return l.param !== undefined && param !== null ? `${l.name}, ${param} ${l.param}` : l.name;
  }
  const parts = [
    l.labelSmoothing !== undefined ? `label smoothing ${l.labelSmoothing}` : '',
    l.weight ? `class weights ${l.weight.map((w) => Number(w.toPrecision(4))).join(',')}` : '',
  ];
  return ['cross-entropy', ...parts.filter(Boolean)].join(', ');
}
