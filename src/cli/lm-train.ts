/**
 * descent train --data FILE.txt: a next-token language model (src/cli/lm.ts) made ready for the
 * library's fitRun as prepareTrain makes labelled data ready: the same optimizers, schedules,
 * clipping, checkpoints, --resume, --json and progress bar; the data are next-token windows, the
 * loss the per-token cross-entropy, the metric the next-token accuracy, and each record carries
 * testPerplexity = exp(testLoss).
 */
import type { Io } from './command.js';
import { UsageError, givenOptions, type Parsed } from './args.js';
import { Rng } from '../tensor/rng.js';
import { DataLoader } from '../data/loader.js';
import { reEvaluatesLoss, type Callback, type EpochRecord, type FitOptions } from '../train/trainer.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { createOptimizer } from '../optim/registry.js';
import type { Optimizer, BaseHyper } from '../optim/optimizer.js';
import type { FingerprintCache } from './data.js';
import { progressDrawer, fmtInt } from './progress.js';
import { trainExtensions } from './extensions.js';
import { writeSavedModel, type SavedModelInfo } from './weights.js';
import { checkpointOptions, described, epochPrinter, finalRecord, optimizerBag, type PreparedTrain } from './commands/train.js';
import { corpusWindows, fmtPerplexity, LM_DEFAULT_MODEL, LM_EVAL_BATCH, lmLoss, lmModel, loadCorpus, tokenAccuracy } from './lm.js';

/** A record with its test perplexity, exp(test loss), when it has a test loss. */
function withPerplexity(r: EpochRecord): EpochRecord {
  if (typeof r.testLoss === 'number') r.testPerplexity = Math.exp(r.testLoss);
  return r;
}

/** The held-out text, for messages. */
function heldOut(o: Parsed): string {
  return o.testData !== undefined ? `--test-data ${o.testData}` : `--data ${o.data}: the held-out part (the last --val-split of the text)`;
}

/** Build the language model, optimizer, loaders and callbacks of a --data FILE.txt run (see the header). */
export function prepareLmTrain(
  o: Parsed,
  io: Io,
  extraCallbacks: Callback[],
  resume: Checkpoint | undefined,
  backendLabel: string,
  fingerprints: FingerprintCache,
): PreparedTrain {
  if (reEvaluatesLossByName(o.optimizer))
    throw new UsageError(
      `--optimizer ${o.optimizer} re-evaluates the loss on the whole training set (--full-batch); a language model trains in mini-batches of windows`,
    );
  const corpus = loadCorpus(o);
  const { lm } = corpus;
  const T = lm.contextLength;
  const V = lm.vectorizer.vocabulary.length;
  const trainSet = corpusWindows(corpus.train, T, lm.stride, `--data ${o.data}: the training part`, o.limit);
  const testSet = corpusWindows(corpus.test, T, T, heldOut(o), o.testLimit);
  const rng = new Rng(o.seed);
  const arg = o.model === 'mlp' && !givenOptions(o).has('model') ? LM_DEFAULT_MODEL : String(o.model);
  const { model, name } = lmModel(arg, V, T, rng.fork('model'));
  // What --save keeps: eval and generate rebuild the network and read text through the vocabulary.
  const saved: SavedModelInfo = { model: name, inputShape: [1, 1, T], lm, seed: o.seed };
  const optimizer = createOptimizer(o.optimizer, model.namedParameters(), optimizerBag(o.optimizer, o)) as Optimizer<BaseHyper>;
  const accumulate: number = o.accumulate ?? 1;
  if (accumulate > 1 && reEvaluatesLoss(optimizer))
    throw new UsageError(
      `--accumulate ${accumulate}: --optimizer ${o.optimizer} re-evaluates the loss inside its step (a closure over one batch), so gradients cannot be summed over batches`,
    );
  const sampleShape = [T];
  const trainLoader = new DataLoader(trainSet, {
    batchSize: o.batchSize,
    shuffle: true,
    dropLast: false,
    rng: rng.fork('data'),
    sampleShape,
  });
  const testLoader = new DataLoader(testSet, { batchSize: LM_EVAL_BATCH, sampleShape });
  const stepsPerEpoch = Math.ceil(trainLoader.length / accumulate);
  const setup = { model, optimizer, epochs: o.epochs, stepsPerEpoch, saved };
  const callbacks = [...trainExtensions.flatMap((x) => x.callbacks?.(o, setup) ?? []), ...extraCallbacks];
  const checkpoint = checkpointOptions(o, saved, fingerprints);
  if (!o.json) {
    io.out(
      `data: ${corpus.source}; ${fmtInt(trainSet.length)} training windows (stride ${lm.stride}), ${fmtInt(testSet.length)} held-out windows`,
    );
    io.out(
      `model: ${name} (${fmtInt(model.numParameters())} parameters), optimizer: ${described(optimizer)}, seed ${o.seed}, backend ${backendLabel}`,
    );
    if (accumulate > 1)
      io.out(`accumulating ${accumulate} batches of ${o.batchSize} per step (effective batch ${fmtInt(accumulate * o.batchSize)})`);
    io.out(
      'loss: the per-token cross-entropy (train and test); test ppl = exp(test loss), test acc = the next-token accuracy over every position',
    );
  }
  const bar = io.tty && !o.json ? progressDrawer(io.raw) : null;
  const fit: FitOptions = {
    model,
    optimizer,
    train: trainLoader,
    test: testLoader,
    loss: lmLoss,
    metrics: { accuracy: tokenAccuracy },
    epochs: o.epochs,
    rng: rng.fork('train'),
    callbacks,
    ...(accumulate > 1 ? { accumulate } : {}),
    checkpoint,
    resume,
    onNonFinite: o.onNan ?? 'stop',
    batchNormData: false,
    onProgress: bar ? (p) => bar.draw(p) : undefined,
    onEpoch: epochPrinter(o, io, bar, withPerplexity),
  };
  return {
    fit,
    model: name,
    finish(result) {
      const records = result.records.map(withPerplexity);
      const final = finalRecord(records);
      if (result.skipped > 0)
        (o.json ? io.err : io.out)(`skipped ${result.skipped} step(s) whose loss or gradient was not finite (--on-nan skip)`);
      for (const line of trainExtensions.flatMap((x) => x.summary?.(o, records) ?? [])) (o.json ? io.err : io.out)(line);
      if (o.save) {
        writeSavedModel(o.save, model, saved);
        if (!o.json) io.out(`saved weights to ${o.save}`);
      }
      const finalAccuracy = typeof final?.testAccuracy === 'number' ? final.testAccuracy : NaN;
      if (!o.json && typeof final?.testPerplexity === 'number')
        io.out(
          `final test perplexity ${fmtPerplexity(final.testPerplexity)}  (test loss ${(final.testLoss as number).toFixed(4)}, next-token accuracy ${finalAccuracy.toFixed(4)})`,
        );
      return { records, finalAccuracy, trainOrder: (e) => trainLoader.order(e), result, model, saved };
    },
  };
}

/** L-BFGS and Newton step on the whole training set in one closure (--full-batch), which a language model does not take. */
function reEvaluatesLossByName(optimizer: unknown): boolean {
  return ['lbfgs', 'newton'].includes(String(optimizer).toLowerCase());
}
