/**
 * Losses as small objects, PyTorch-style: `new CrossEntropyLoss().forward(logits, targets)`; each
 * also works as fit's and evaluate's `loss`. The options are checked when the loss is built, so a
 * misspelt name, a misspelt reduction or a bad δ is refused there, before any training.
 */
import type { Tensor } from '../tensor/tensor.js';
import { checkReduction, mseLoss, type Reduction } from '../autograd/ops.js';
import {
  crossEntropySettings,
  crossEntropyWith,
  nllLoss,
  nllSettings,
  type CrossEntropyOptions,
  type NLLOptions,
} from '../autograd/cross-entropy.js';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  huberLoss,
  klDiv,
  l1Loss,
  smoothL1Loss,
  bceSettings,
  bceWithLogitsSettings,
  huberSettings,
  klDivSettings,
  smoothL1Settings,
  type BCEOptions,
  type BCEWithLogitsOptions,
  type HuberOptions,
  type KLDivOptions,
  type KLDivReduction,
  type SmoothL1Options,
} from '../autograd/losses.js';

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

/** PyTorch's nn.L1Loss: |input − target|, reduced. */
export class L1Loss {
  constructor(readonly reduction: Reduction = 'mean') {
    checkReduction('L1Loss', reduction);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, this.reduction);
  }
}

/** PyTorch's nn.SmoothL1Loss: `new SmoothL1Loss()`, `('sum')` or `({ reduction, beta })`. */
export class SmoothL1Loss {
  readonly reduction: Reduction;
  readonly beta: number;
  constructor(reductionOrOptions: Reduction | SmoothL1Options = 'mean') {
    ({ reduction: this.reduction, beta: this.beta } = smoothL1Settings(reductionOrOptions));
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/** PyTorch's nn.HuberLoss: `new HuberLoss()`, `('sum')` or `({ reduction, delta })`. */
export class HuberLoss {
  readonly reduction: Reduction;
  readonly delta: number;
  constructor(reductionOrOptions: Reduction | HuberOptions = 'mean') {
    ({ reduction: this.reduction, delta: this.delta } = huberSettings(reductionOrOptions));
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

/** PyTorch's nn.BCEWithLogitsLoss: `new BCEWithLogitsLoss({ reduction, weight, posWeight })`; logits against 0/1 targets of their shape. */
export class BCEWithLogitsLoss {
  readonly options: BCEWithLogitsOptions;
  constructor(reductionOrOptions: Reduction | BCEWithLogitsOptions = 'mean') {
    this.options = bceWithLogitsSettings(reductionOrOptions);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, this.options);
  }
}

/** PyTorch's nn.BCELoss: `new BCELoss({ reduction, weight })`; probabilities against 0/1 targets of their shape. */
export class BCELoss {
  readonly options: BCEOptions;
  constructor(reductionOrOptions: Reduction | BCEOptions = 'mean') {
    this.options = bceSettings(reductionOrOptions);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, this.options);
  }
}

/** PyTorch's nn.NLLLoss: `new NLLLoss({ reduction, weight, ignoreIndex })`; log-probabilities [N, C] against class indices. */
export class NLLLoss {
  readonly options: NLLOptions;
  constructor(reductionOrOptions: Reduction | NLLOptions = 'mean') {
    this.options = nllSettings(reductionOrOptions);
  }
  forward(input: Tensor, targets: ArrayLike<number> | Tensor): Tensor {
    return nllLoss(input, targets, this.options);
  }
}

/** PyTorch's nn.KLDivLoss: `new KLDivLoss({ reduction: 'batchmean', logTarget })`; log-probabilities against probabilities. */
export class KLDivLoss {
  readonly reduction: KLDivReduction;
  readonly logTarget: boolean;
  constructor(reductionOrOptions: KLDivReduction | KLDivOptions = 'mean') {
    ({ reduction: this.reduction, logTarget: this.logTarget } = klDivSettings(reductionOrOptions));
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}
