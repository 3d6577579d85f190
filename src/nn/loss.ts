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
 * probabilities [N, C], or, for logits [N, C, d1…dk], class indices [N, d1…dk] or probabilities of
 * the logits' shape (PyTorch's K-dimensional form; 'none' gives [N, d1…dk]). The options are checked when the loss is built: a
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

/**
 * A loss object over a loss op and its options, checked (defaults filled in) once when the object is
 * built: `options` holds them, and forward passes them to the op.
 */
abstract class LossWithOptions<O, T = Tensor> {
  constructor(
    readonly options: Readonly<O>,
    private readonly op: (input: Tensor, target: T, options: O) => Tensor,
  ) {}
  forward(input: Tensor, target: T): Tensor {
    return this.op(input, target, this.options);
  }
}

/** PyTorch's nn.SmoothL1Loss: `new SmoothL1Loss()`, `('sum')` or `({ reduction, beta })`. */
export class SmoothL1Loss extends LossWithOptions<Required<SmoothL1Options>> {
  constructor(reductionOrOptions: Reduction | SmoothL1Options = 'mean') {
    super(smoothL1Settings(reductionOrOptions), smoothL1Loss);
  }
}

/** PyTorch's nn.HuberLoss: `new HuberLoss()`, `('sum')` or `({ reduction, delta })`. */
export class HuberLoss extends LossWithOptions<Required<HuberOptions>> {
  constructor(reductionOrOptions: Reduction | HuberOptions = 'mean') {
    super(huberSettings(reductionOrOptions), huberLoss);
  }
}

/** PyTorch's nn.BCEWithLogitsLoss: `new BCEWithLogitsLoss({ reduction, weight, posWeight })`; logits against 0/1 targets of their shape. */
export class BCEWithLogitsLoss extends LossWithOptions<BCEWithLogitsOptions> {
  constructor(reductionOrOptions: Reduction | BCEWithLogitsOptions = 'mean') {
    super(bceWithLogitsSettings(reductionOrOptions), binaryCrossEntropyWithLogits);
  }
}

/** PyTorch's nn.BCELoss: `new BCELoss({ reduction, weight })`; probabilities against 0/1 targets of their shape. */
export class BCELoss extends LossWithOptions<BCEOptions> {
  constructor(reductionOrOptions: Reduction | BCEOptions = 'mean') {
    super(bceSettings(reductionOrOptions), binaryCrossEntropy);
  }
}

/** PyTorch's nn.NLLLoss: `new NLLLoss({ reduction, weight, ignoreIndex })`; log-probabilities [N, C] against class indices ([N, C, d1…dk] against [N, d1…dk]). */
export class NLLLoss extends LossWithOptions<NLLOptions, ArrayLike<number> | Tensor> {
  constructor(reductionOrOptions: Reduction | NLLOptions = 'mean') {
    super(nllSettings(reductionOrOptions), nllLoss);
  }
}

/** PyTorch's nn.KLDivLoss: `new KLDivLoss({ reduction: 'batchmean', logTarget })`; log-probabilities against probabilities. */
export class KLDivLoss extends LossWithOptions<Required<KLDivOptions>> {
  constructor(reductionOrOptions: KLDivReduction | KLDivOptions = 'mean') {
    super(klDivSettings(reductionOrOptions), klDiv);
  }
}
