/** Losses as small objects, PyTorch-style: new CrossEntropyLoss().forward(logits, targets). */
import type { Tensor } from '../tensor/tensor.js';
import { checkReduction, mseLoss, type Reduction } from '../autograd/ops.js';
import { crossEntropySettings, crossEntropyWith, type CrossEntropyOptions } from '../autograd/cross-entropy.js';

/**
 * PyTorch's nn.CrossEntropyLoss: `new CrossEntropyLoss()`, `('sum')` or
 * `({ reduction, labelSmoothing, weight, ignoreIndex })`; its targets are class indices or class
 * probabilities [N, C]. The options are checked when the loss is built: a
 * misspelt name or a misspelt reduction is refused, never a silent mean.
 */
export class CrossEntropyLoss {
  readonly reduction: Reduction;
  readonly labelSmoothing: number;
  /** The class weights (a copy), or null for all 1. */
  readonly weight: Float64Array | null;
  /** Targets equal to it are left out (PyTorch's ignore_index; default −100). */
  readonly ignoreIndex: number;
  private readonly loss: (logits: Tensor, targets: ArrayLike<number> | Tensor) => Tensor;
  constructor(reductionOrOptions: Reduction | CrossEntropyOptions = 'mean') {
    ({
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
    } = crossEntropySettings(reductionOrOptions));
    this.loss = crossEntropyWith(reductionOrOptions);
  }
  forward(logits: Tensor, targets: ArrayLike<number> | Tensor): Tensor {
    return this.loss(logits, targets);
  }
}

export class MSELoss {
  constructor(readonly reduction: Reduction = 'mean') {
    checkReduction('MSELoss', reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.reduction);
  }
}
