/**
 * `descent train` flags for batch mixing: --mixup ALPHA and --cutmix ALPHA (torchvision's MixUp and
 * CutMix, src/augment/mix.ts). With both, each batch takes one of the two with probability ½, as
 * torchvision's reference scripts pair them (RandomChoice([cutmix, mixup])). The training targets
 * become class probabilities; the test set is never mixed.
 */
import { UsageError, type Parsed } from '../args.js';
import { registerTrainExtension } from '../extensions.js';
import { cutmix, mixup, randomChoiceMix, type BatchMix } from '../../augment/mix.js';

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
    const mixes: BatchMix[] = [];
    const numClasses = data.classes;
    if (o.cutmix !== undefined) {
      if (data.csv) throw new UsageError('--cutmix pastes image regions, and CSV data holds feature rows, not images; use --mixup');
      mixes.push(cutmix({ alpha: o.cutmix, numClasses }));
    }
    if (o.mixup !== undefined) mixes.push(mixup({ alpha: o.mixup, numClasses }));
    if (mixes.length && o.fullBatch)
      throw new UsageError(`--${o.cutmix !== undefined ? 'cutmix' : 'mixup'} mixes mini-batches; it does not apply with --full-batch`);
    return mixes.length > 1 ? randomChoiceMix(mixes) : mixes[0];
  },
});
