/** Losses as small objects, PyTorch-style: new CrossEntropyLoss().forward(logits, targets). */
import type { Tensor } from '../tensor/tensor.js';
import { crossEntropy, mseLoss, type Reduction } from '../autograd/ops.js';

export class CrossEntropyLoss {
  constructor(readonly reduction: Reduction = 'mean') {}
  forward(logits: Tensor, targets: ArrayLike<number>): Tensor {
    return crossEntropy(logits, targets, this.reduction);
  }
}

export class MSELoss {
  constructor(readonly reduction: Reduction = 'mean') {}
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.reduction);
  }
}
