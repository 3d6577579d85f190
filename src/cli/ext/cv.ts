/**
 * `descent train --cv K`: k-fold cross-validation. The data (which has no test set of its own) is
 * split into K folds (scikit-learn's KFold(shuffle=True), or StratifiedKFold with --stratify, seeded
 * by --seed); each fold is one ordinary train run — the same flags, the same seed, so the same
 * initialisation — on the other K − 1 folds, tested on it, with --standardize and --impute fitted on
 * that run's training part. Prints each fold's final test figures and their mean and standard
 * deviation over the folds (the population std, ddof 0, as numpy's `std()` that scikit-learn users
 * print with `scores.std()`).
 */
import { UsageError, type Parsed } from '../args.js';
import type { Io } from '../command.js';
import { registerTrainExtension } from '../extensions.js';
import { finalRecord, fmtTest, regressionFigures, runTrain } from '../commands/train.js';
import { FingerprintCache } from '../data.js';

/** Most folds: each is a whole training run. */
export const MAX_FOLDS = 100;

registerTrainExtension({
  name: 'cv',
  options: [
    {
      name: 'cv',
      type: 'int',
      min: 2,
      max: MAX_FOLDS,
      metavar: 'K',
      help: "k-fold cross-validation, for data without a test set: train K models, each on K−1 folds (chosen by --seed; each class in proportion with --stratify) and tested on the fold left out; prints each fold's final test figures and their mean and std over folds. Saves nothing",
    },
  ],
});

/** The flags that write or continue one run, or train several models at once: none applies to K runs of which none is kept. */
const REFUSED: [key: string, flag: string][] = [
  ['save', '--save'],
  ['saveBest', '--save-best'],
  ['saveAverage', '--save-average'],
  ['checkpointDir', '--checkpoint-dir'],
  ['resume', '--resume'],
  ['ensemble', '--ensemble'],
  ['snapshots', '--snapshots'],
  ['swa', '--swa'],
  ['ema', '--ema'],
];

/** mean and population standard deviation (divisor N, numpy's default ddof=0) of `xs`. */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length) };
}

export async function runCrossValidation(o: Parsed, io: Io, fingerprints = new FingerprintCache()): Promise<void> {
  const k = o.cv as number;
  const refused = REFUSED.filter(([key]) => o[key] !== undefined).map(([, flag]) => flag);
  if (refused.length)
    throw new UsageError(
      `--cv ${k} trains ${k} models to estimate how well these settings train, and keeps none of them: ${refused.join(', ')} ${refused.length === 1 ? 'does' : 'do'} not apply; train once without --cv for that`,
    );
  if (o.valSplit !== undefined)
    throw new UsageError(
      `--cv ${k} and --val-split ${o.valSplit} both hold out data to test on: --cv tests each fold on the part it holds out; give one`,
    );
  // the JSON output is one record per fold and one summary: the runs' epoch records are not printed
  const runIo: Io = o.json ? { ...io, out: () => {} } : io;
  const figures: Record<string, number>[] = [];
  // the data is read by the first fold's run; every run splits its own fold from it
  const reads = new Map<string, unknown>();
  for (let i = 0; i < k; i++) {
    const run = await runTrain({ ...o, cvFold: i, reads }, runIo, [], undefined, undefined, fingerprints);
    const final = finalRecord(run.records);
    if (!final || final.testLoss === undefined) throw new Error(`--cv: fold ${i + 1} ended without a test figure`);
    const g = regressionFigures(final);
    const f: Record<string, number> = g
      ? { testLoss: final.testLoss, testMae: g.mae, testRmse: g.rmse }
      : { testLoss: final.testLoss, testAccuracy: final.testAccuracy as number };
    figures.push(f);
    if (o.json) io.out(JSON.stringify({ cv: k, fold: i + 1, epoch: final.epoch, ...f }));
    else io.out(`fold ${i + 1}/${k}: ${fmtTest(final).join('  ')}`);
  }
  const keys = Object.keys(figures[0]);
  const stats = Object.fromEntries(keys.map((key) => [key, meanStd(figures.map((f) => f[key]))]));
  if (o.json) {
    const pick = (s: 'mean' | 'std') => Object.fromEntries(keys.map((key) => [key, stats[key][s]]));
    io.out(JSON.stringify({ cv: k, mean: pick('mean'), std: pick('std'), ddof: 0 }));
    return;
  }
  const names: Record<string, [string, (x: number) => string]> = {
    testLoss: ['test loss', (x) => x.toFixed(4)],
    testAccuracy: ['test acc', (x) => x.toFixed(4)],
    testMae: ['test mae', (x) => x.toPrecision(5)],
    testRmse: ['test rmse', (x) => x.toPrecision(5)],
  };
  const parts = keys.map((key) => {
    const [name, fmt] = names[key];
    return `${name} ${fmt(stats[key].mean)} ± ${fmt(stats[key].std)}`;
  });
  io.out(`cv ${k} folds: ${parts.join('  ')}  (mean ± std over the folds; the population std, ddof 0, as numpy's std())`);
}
