/**
 * `descent train` flags for batch mixing: --mixup ALPHA and --cutmix ALPHA (torchvision's MixUp and
 * CutMix, src/augment/mix.ts). With both, each batch takes one of the two with probability ½, as
 * torchvision's reference scripts pair them (RandomChoice([cutmix, mixup])). The training targets
 * become class probabilities; the test set is never mixed.
 */
import { UsageError, type Parsed } from '../args.js';
import { registerTrainExtension } from '../extensions.js';
import { mixupCutmix, type BatchMix } from '../../augment/mix.js';

registerTrainExtension({
  name: 'mix',
  options: [
    {
      name: 'mixup',
      type: 'number',
      gt: 0,
      metavar: 'ALPHA',
      help: "MixUp: blend each training batch's images and labels with their neighbours', λ ~ Beta(ALPHA, ALPHA) per batch (torchvision's MixUp; 0.2–1 is usual)",
    },
    {
      name: 'cutmix',
      type: 'number',
      gt: 0,
      metavar: 'ALPHA',
      help: "CutMix: paste a box of each training image's neighbour into it, labels mixed by the box's area, λ ~ Beta(ALPHA, ALPHA) (torchvision's CutMix; 1 is usual). With --mixup, each batch takes one of the two",
    },
  ],
  mix(o: Parsed, data): BatchMix | undefined {
    if (o.cutmix !== undefined && data.csv)
      throw new UsageError('--cutmix pastes image regions, and CSV data holds feature rows, not images; use --mixup');
    const mix = mixupCutmix({ mixup: o.mixup, cutmix: o.cutmix, numClasses: data.classes });
    if (mix && o.fullBatch)
      throw new UsageError(`--${o.cutmix !== undefined ? 'cutmix' : 'mixup'} mixes mini-batches; it does not apply with --full-batch`);
    return mix;
  },
});
