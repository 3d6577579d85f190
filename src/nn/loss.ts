/** Losses as small objects, PyTorch-style: new CrossEntropyLoss().forward(logits, targets). */
import type { Tensor } from '../tensor/tensor.js';
import { checkReduction, crossEntropy, mseLoss, type Reduction } from '../autograd/ops.js';

/** The reduction is checked when the loss is built: an options object or a misspelling is refused, never a silent sum. */
export class CrossEntropyLoss {
  constructor(readonly reduction: Reduction = 'mean') {
    checkReduction('CrossEntropyLoss', reduction);
  }
  forward(logits: Tensor, targets: ArrayLike<number> | Tensor): Tensor {
    return crossEntropy(logits, targets, this.reduction);
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
