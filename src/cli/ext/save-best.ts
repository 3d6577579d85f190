/**
 * `descent train --save-best FILE`: the library's modelCheckpoint (src/io/model-checkpoint.ts,
 * Keras' ModelCheckpoint with save_best_only) writing FILE as --save does (.safetensors or JSON, the
 * same description beside the weights, so eval and predict read it), at every epoch whose test loss
 * (--save-best-monitor accuracy: test accuracy) beats the best so far, which starts at
 * --save-best-threshold when given (Keras' initial_value_threshold). The path is stored absolute
 * in checkpoints and the best figure in the callback's state, so --resume goes on from the best.
 */
import { resolve } from 'node:path';
import { UsageError, type Parsed } from '../args.js';
import { registerTrainExtension } from '../extensions.js';
import { modelCheckpoint } from '../../io/model-checkpoint.js';
import { checkWritableFile } from '../../io/files.js';
import { writeSavedModel } from '../weights.js';
import { MONITORS } from './stopping.js';

/** The figure --save-best watches: its own flag, else --early-stop-monitor's (loss by default). */
const monitorOf = (o: Parsed) => MONITORS[o.saveBestMonitor ?? o.earlyStopMonitor ?? 'loss'];

registerTrainExtension({
  name: 'save-best',
  options: [
    {
      name: 'save-best',
      type: 'string',
      metavar: 'FILE',
      help: "after every epoch that improves the monitored test figure, write the model to FILE as --save writes it (Keras' ModelCheckpoint with save_best_only): FILE always holds the best model so far; checked before training, written atomically",
    },
    {
      name: 'save-best-monitor',
      type: 'string',
      choices: Object.keys(MONITORS),
      help: 'what --save-best watches: the test loss (lower is better), the test accuracy (higher is better) or, for a --target regression, the test MAE (lower is better); default: what --early-stop-monitor names, else loss',
    },
    {
      name: 'save-best-threshold',
      type: 'number',
      metavar: 'X',
      help: "with --save-best: the best starts at X, so only an epoch whose figure beats X is written (Keras' initial_value_threshold)",
    },
  ],
  preflight(o) {
    if (o.saveBest === undefined) {
      if (o.saveBestMonitor !== undefined) throw new UsageError('--save-best-monitor needs --save-best FILE');
      if (o.saveBestThreshold !== undefined) throw new UsageError('--save-best-threshold needs --save-best FILE');
      return;
    }
    if (o.saveBest === '') throw new UsageError('--save-best: empty file name; give the file to write the best model to');
    for (const [flag, other] of [
      ['--save', o.save],
      ['--save-average', o.saveAverage],
    ] as const)
      if (typeof other === 'string' && other !== '' && resolve(other) === resolve(o.saveBest))
        throw new UsageError(
          `--save-best ${o.saveBest}: the same file as ${flag}, which would replace the best model with ${flag === '--save' ? 'the final one' : 'the average'}; give two files`,
        );
    checkWritableFile(o.saveBest, '--save-best');
  },
  callbacks(o, setup) {
    if (o.saveBest === undefined) return [];
    return [
      modelCheckpoint({
        // absolute, as the checkpoint stores it: the callback's state is found under the same key on --resume;
        // braces doubled, since the file name is taken as written
        path: resolve(o.saveBest).replace(/[{}]/g, '$&$&'),
        monitor: monitorOf(o).key,
        ...(o.saveBestThreshold !== undefined ? { initialValueThreshold: o.saveBestThreshold } : {}),
        write: (path, model, state) => writeSavedModel(path, model, setup.saved, '--save-best', state),
      }),
    ];
  },
  describe(o, r) {
    return o.saveBest !== undefined && r.savedBest === true ? 'saved best' : undefined;
  },
  summary(o, records) {
    if (o.saveBest === undefined) return [];
    const m = monitorOf(o);
    const best = [...records].reverse().find((r) => r.savedBest === true);
    if (!best)
      return [
        o.saveBestThreshold === undefined
          ? `--save-best ${o.saveBest}: no epoch saved (the ${m.label} was never a number)`
          : `--save-best ${o.saveBest}: no epoch saved (the ${m.label} never beat --save-best-threshold ${o.saveBestThreshold})`,
      ];
    return [`best model: epoch ${best.epoch} (${m.label} ${(best[m.key] as number).toFixed(4)}), saved to ${o.saveBest}`];
  },
});
