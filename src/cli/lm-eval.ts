/**
 * descent eval of a language model (trained on --data FILE.txt): its per-token test loss,
 * perplexity and next-token accuracy on a text read through its saved vocabulary, computed as
 * train computed its test figures (the same windows and batches), so eval of the text train held
 * out gives the figures train reported.
 */
import type { Io } from './command.js';
import { UsageError, type Parsed } from './args.js';
import { DataLoader } from '../data/loader.js';
import { evaluate } from '../train/trainer.js';
import type { SavedModel, SavedLm } from './weights.js';
import { buildSaved } from './commands/eval.js';
import { checkLmFlags, corpusWindows, fmtPerplexity, isCorpus, LM_EVAL_BATCH, lmLoss, loadCorpus, tokenAccuracy } from './lm.js';
import { fmtInt } from './progress.js';

export function evalLm(o: Parsed, io: Io, saved: SavedModel): void {
  const lm = saved.lm as SavedLm;
  if (!isCorpus(o.data))
    throw new UsageError(
      `--data ${o.data}: ${saved.path} is a language model (${lm.tokens === 'char' ? 'characters' : 'words'}); give it plain text, a .txt file`,
    );
  checkLmFlags(o);
  const corpus = loadCorpus(o, lm, true);
  const T = lm.contextLength;
  const V = lm.vectorizer.vocabulary.length;
  const test = corpusWindows(corpus.test, T, T, o.testData !== undefined ? `--test-data ${o.testData}` : `--data ${o.data}`, o.testLimit);
  const { model, name } = buildSaved(o, saved, [1, 1, T], V);
  const r = evaluate(model, new DataLoader(test, { batchSize: LM_EVAL_BATCH, sampleShape: [T] }), {
    loss: lmLoss,
    metrics: { accuracy: tokenAccuracy },
  });
  const perplexity = Math.exp(r.testLoss);
  if (o.json) {
    io.out(
      JSON.stringify({
        weights: saved.path,
        model: name,
        data: corpus.source,
        windows: test.length,
        tokens: test.length * T,
        loss: r.testLoss,
        perplexity,
        accuracy: r.testAccuracy,
      }),
    );
    return;
  }
  io.out(
    `weights: ${saved.path} (language model ${name}, ${fmtInt(model.numParameters())} parameters); data: ${corpus.source}; ${fmtInt(test.length)} windows (${fmtInt(test.length * T)} predicted tokens)`,
  );
  io.out(
    `test loss ${r.testLoss.toFixed(4)}  test ppl ${fmtPerplexity(perplexity)}  test acc ${r.testAccuracy.toFixed(4)}  (per-token cross-entropy; accuracy of the next token at every position)`,
  );
}
