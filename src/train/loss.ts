/**
 * What fit's and evaluate's `loss` option takes: a loss function of the model's output and the
 * batch's targets, or a loss object with forward (PyTorch's criterion), and the one way both are
 * called.
 */
import type { Tensor } from '../tensor/tensor.js';
import { crossEntropy } from '../autograd/cross-entropy.js';
import { spec } from '../util/options.js';
import type { BatchTarget } from './metrics.js';

/**
 * A loss: the model's output and the batch's targets (class labels or a float tensor) to a scalar
 * tensor — crossEntropy (the default), mseLoss, or the user's own. Declared with method syntax, so
 * a function whose target parameter is narrower (mseLoss takes a Tensor) is accepted.
 */
export type LossFn = { bivariance(output: Tensor, target: BatchTarget): Tensor }['bivariance'];

/** A loss object, PyTorch's criterion: CrossEntropyLoss, HuberLoss, BCEWithLogitsLoss, … or anything with this forward. */
export interface LossModule {
  forward(output: Tensor, target: BatchTarget): Tensor;
}

/** What fit's and evaluate's `loss` takes: a loss function or a loss object. */
export type Loss = LossFn | LossModule;

/** Whether `v` is a loss object (has a forward method), as opposed to a function or an options object. */
export function isLossModule(v: unknown): v is LossModule {
  return typeof v === 'object' && v !== null && typeof (v as { forward?: unknown }).forward === 'function';
}

/** The loss as a function: crossEntropy when none is given, a loss object's forward. */
export function lossFunction(loss: Loss | undefined): LossFn {
  if (loss === undefined) return crossEntropy;
  return isLossModule(loss) ? (output, target) => loss.forward(output, target) : loss;
}

/** The `loss` option's spec: a function or a loss object. */
export const lossSpec = spec(
  'a loss: a function (output, target) => Tensor or an object with forward (CrossEntropyLoss, HuberLoss, …)',
  (v) => typeof v === 'function' || isLossModule(v),
);
