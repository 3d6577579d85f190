/**
 * `descent train` flags for the regularisers of lecture section 8: --dropout, --dropconnect (with
 * the mask and inference variants) and --augment. Registered as a train extension.
 */
import { UsageError, type Parsed } from './args.js';
import { registerTrainExtension } from './extensions.js';
import { parseAugment, AugmentSpecError } from '../augment/parse.js';

function prob(o: Parsed, key: 'dropout' | 'dropconnect'): number | undefined {
  const p = o[key];
  if (p === undefined) return undefined;
  if (!(p >= 0 && p < 1)) throw new UsageError(`--${key}: the drop probability must be in [0, 1), got ${p}`);
  return p;
}

registerTrainExtension({
  name: 'regularize-net',
  options: [
    { name: 'dropout', type: 'number', metavar: 'P', help: 'dropout probability after each hidden fully-connected layer (mlp, cnn, fmp)' },
    {
      name: 'dropconnect',
      type: 'number',
      metavar: 'P',
      help: 'DropConnect probability on the hidden fully-connected layers (mlp, cnn, fmp)',
    },
    {
      name: 'dropconnect-masks',
      type: 'string',
      choices: ['example', 'batch'],
      default: 'example',
      help: 'one DropConnect mask per example (the paper: N·out·in draws a batch, minutes per epoch on the full set) or per batch (one masked product: seconds per epoch)',
    },
    {
      name: 'dropconnect-inference',
      type: 'string',
      choices: ['mean', 'gaussian'],
      default: 'mean',
      help: 'DropConnect at test time: the mean network or Gaussian moment matching',
    },
    { name: 'augment', type: 'string', metavar: 'SPEC', help: 'augment training batches, e.g. flip,crop:4,scale:0.9-1.1,jitter:0.2' },
  ],
  modelOptions(o) {
    const dropout = prob(o, 'dropout'),
      dropconnect = prob(o, 'dropconnect');
    if (dropconnect === undefined && (o.dropconnectMasks !== 'example' || o.dropconnectInference !== 'mean')) {
      throw new UsageError('--dropconnect-masks / --dropconnect-inference need --dropconnect P');
    }
    if ((dropout || dropconnect) && !['mlp', 'cnn', 'fmp'].includes(o.model)) {
      throw new UsageError(`--${dropout ? 'dropout' : 'dropconnect'} applies to models mlp, cnn and fmp, not ${o.model}`);
    }
    return { dropout, dropconnect, dropconnectMasks: o.dropconnectMasks, dropconnectInference: o.dropconnectInference };
  },
  transform(o) {
    if (o.augment === undefined) return undefined;
    try {
      return parseAugment(o.augment, '--augment');
    } catch (e) {
      if (e instanceof AugmentSpecError) throw new UsageError(e.message);
      throw e;
    }
  },
});
