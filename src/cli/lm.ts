/**
 * Next-token language models from the command line (Node-only): `descent train --data FILE.txt`
 * reads plain UTF-8 text as one token stream, `descent eval` scores a saved model on other text and
 * `descent generate` continues a prompt.
 *
 *   tokens      char (default): every Unicode character is a token, case, punctuation and line
 *               breaks kept (nanoGPT's shakespeare_char); word: Keras' default standardize
 *               (lowercased, punctuation stripped), split on whitespace. The vocabulary is that of
 *               the training part only ('' padding, '[UNK]' for a token outside it, then by count);
 *               --max-tokens caps it.
 *   held out    --test-data FILE.txt, else the LAST fraction --val-split F (default 0.1) of the
 *               token stream, contiguous as nanoGPT's 90/10 split: no window crosses the split.
 *   windows     the training part as nextTokenWindows of --context T with --stride S (default T);
 *               the held-out part tiles with stride T, each of its tokens predicted once.
 *   model       a layer spec whose first layer is embedding:V:dim (V, written as is, is replaced
 *               by the vocabulary size) and whose output is every step's logits [T, V].
 *   loss        the per-token cross-entropy, PyTorch's K-dimensional form on the logits [B, V, T];
 *               accuracy is the arg-max next-token accuracy over every position, perplexity
 *               exp(test loss).
 */
import { readFileSync } from 'node:fs';
import { UsageError, givenOptions, type OptSpec, type Parsed } from './args.js';
import { TextVectorizer, textTokens, type TextVectorizerJSON } from '../data/text.js';
import { nextTokenWindows, type NextTokenWindows } from '../data/windows.js';
import { resolveCliModel } from './model.js';
import { formatModelSpec, modelFromLayers, ModelSpecError, parseModelSpec, type LayerSpec } from '../train/spec.js';
import type { Module } from '../nn/module.js';
import { crossEntropy } from '../autograd/cross-entropy.js';
import { argmax } from '../autograd/ops.js';
import { transpose } from '../autograd/transpose.js';
import type { Metric, BatchTarget } from '../train/metrics.js';
import { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../tensor/rng.js';
import { targetCount } from '../data/tensor-dataset.js';
import type { SavedLm } from './weights.js';

export type LmTokens = SavedLm['tokens'];

/** The model without --model: a small pre-norm causal Transformer (nanoGPT's layout); V and posembed's max come from the data. */
export const LM_DEFAULT_MODEL = 'embedding:V:128,posembed,transformer:4:ff=512:act=gelu:prenorm=true:layers=2:causal=true,linear';
export const LM_DEFAULT_CONTEXT = 64;
export const LM_DEFAULT_VAL_SPLIT = 0.1;
/** Windows per evaluation batch: train's test figures and eval's are computed in the same batches. */
export const LM_EVAL_BATCH = 64;

/** Whether --data names a language model's corpus (a .txt file). */
export function isCorpus(spec: unknown): spec is string {
  return typeof spec === 'string' && /\.txt$/i.test(spec);
}

/**
 * The flags that mean nothing for a language model, as [flag, why]: given, each is refused in one
 * line (the first found).
 */
const NOT_FOR_LM: [string, string][] = [
  ['label-column', 'the targets are the next tokens of the text'],
  ['target', 'the targets are the next tokens of the text'],
  ['ignore-columns', 'plain text has no columns'],
  ['one-hot', 'plain text has no columns'],
  ['text', 'the whole file is the text (--text names a CSV column)'],
  ['sequence-length', 'the window length is --context T'],
  ['standardize', 'the inputs are token ids'],
  ['standardize-targets', 'the targets are token ids'],
  ['impute', 'plain text has no missing cells'],
  ['stratify', 'the held-out part is the end of the text, not a draw of classes'],
  ['channels', 'the inputs are token ids, not images'],
  ['resize', 'the inputs are token ids, not images'],
  ['augment', 'the inputs are token ids, not images'],
  ['mixup', 'token ids cannot be mixed'],
  ['cutmix', 'token ids cannot be mixed'],
  ['loss', 'the loss is the per-token cross-entropy'],
  ['label-smoothing', 'the loss is the plain per-token cross-entropy'],
  ['class-weights', 'the classes are the vocabulary'],
  ['dropout', 'it applies to the built-in models; write dropout layers in --model'],
  ['dropconnect', 'it applies to the built-in models'],
  ['dropconnect-masks', 'it applies to the built-in models'],
  ['dropconnect-inference', 'it applies to the built-in models'],
  ['cv', 'the held-out part is the end of the text (--val-split) or --test-data'],
  ['ensemble', 'one model is trained'],
  ['snapshots', 'one model is trained'],
  ['swa', 'one model is trained'],
  ['ema', 'one model is trained'],
  ['save-average', 'one model is trained'],
  ['full-batch', 'it trains in mini-batches of windows'],
];

/** The flags that only a language model reads: refused for other data. */
const LM_ONLY = ['tokens', 'context', 'stride'];

/** Refuse the flags that make no sense for a language model (train, eval), or that only it reads (other data). */
export function checkLmFlags(o: Parsed): void {
  const given = givenOptions(o);
  if (!isCorpus(o.data)) {
    const f = LM_ONLY.find((k) => given.has(k));
    if (f !== undefined)
      throw new UsageError(`--${f} applies to a language model, trained on plain text: give --data FILE.txt (not ${String(o.data)})`);
    return;
  }
  for (const [flag, why] of NOT_FOR_LM)
    if (given.has(flag)) throw new UsageError(`--${flag} does not apply to a language model (--data ${o.data}): ${why}`);
  if (o.testData !== undefined && !isCorpus(o.testData))
    throw new UsageError(`--test-data ${o.testData}: with --data ${o.data} (plain text) it must be a .txt file too`);
  if (o.testData !== undefined && given.has('val-split'))
    throw new UsageError(`--val-split applies to text without a test text, and --test-data ${o.testData} gives one; drop one of them`);
}

/** A UTF-8 text file (without its byte-order mark); a missing file or one that is not UTF-8 is refused naming the flag. */
export function readCorpus(path: string, flag: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag} ${path}: ${code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? (e as Error).message})`}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${flag} ${path}: not UTF-8 text`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** How --tokens splits text: the vectorizer's split and standardize. */
function tokenizer(tokens: LmTokens): { split: 'character' | 'whitespace'; standardize: 'none' | 'lower_and_strip_punctuation' } {
  return tokens === 'char'
    ? { split: 'character', standardize: 'none' }
    : { split: 'whitespace', standardize: 'lower_and_strip_punctuation' };
}

/** The vectorizer a saved language model reads text with. */
export function savedVectorizer(lm: SavedLm): TextVectorizer {
  return TextVectorizer.fromJSON(lm.vectorizer);
}

/** `tokens` as ids of the vocabulary (1, '[UNK]', for a token outside it). */
function idsOf(tokens: readonly string[], vocabulary: readonly string[]): Int32Array {
  const index = new Map(vocabulary.map((t, i) => [t, i]));
  return Int32Array.from(tokens, (t) => index.get(t) ?? 1);
}

/** A corpus read and split: the token ids of each part and what the run keeps. */
export interface LmCorpus {
  train: Int32Array;
  test: Int32Array;
  vectorizer: TextVectorizer;
  lm: SavedLm;
  /** The data line: the file(s), tokens, vocabulary and the split. */
  source: string;
}

/**
 * --data FILE.txt (and --test-data) as token ids: the vocabulary adapted on the training part, or
 * a saved model's (`trained`). `evaluate` (eval): without --val-split or --test-data the whole
 * file is held out.
 */
export function loadCorpus(o: Parsed, trained?: SavedLm, evaluate = false): LmCorpus {
  const path = o.data as string;
  const tokens: LmTokens = trained?.tokens ?? (o.tokens as LmTokens | undefined) ?? 'char';
  const T: number = trained?.contextLength ?? o.context ?? LM_DEFAULT_CONTEXT;
  const stride: number = trained?.stride ?? o.stride ?? T;
  const how = tokenizer(tokens);
  const all = textTokens(readCorpus(path, '--data'), how.standardize, how.split);
  let trainToks: string[], testToks: string[], split: string;
  if (o.testData !== undefined) {
    trainToks = evaluate ? [] : all;
    testToks = textTokens(readCorpus(o.testData, '--test-data'), how.standardize, how.split);
    split = `${trainToks.length.toLocaleString('en-US')} train / ${testToks.length.toLocaleString('en-US')} test tokens`;
  } else if (evaluate && o.valSplit === undefined) {
    trainToks = [];
    testToks = all;
    split = `${all.length.toLocaleString('en-US')} tokens, all evaluated`;
  } else {
    const f: number = o.valSplit ?? LM_DEFAULT_VAL_SPLIT;
    const n = all.length - Math.round(all.length * f);
    trainToks = all.slice(0, n);
    testToks = all.slice(n);
    split = `${n.toLocaleString('en-US')} train / ${testToks.length.toLocaleString('en-US')} held-out tokens (the last ${f} of the text${o.valSplit === undefined ? ', the default --val-split' : ''})`;
  }
  let vectorizer: TextVectorizer;
  if (trained) vectorizer = savedVectorizer(trained);
  else {
    if (trainToks.length === 0)
      throw new UsageError(`--data ${path}: the training part holds no ${tokens === 'char' ? 'character' : 'word'}`);
    vectorizer = new TextVectorizer({ ...how, maxTokens: o.maxTokens, sequenceLength: T });
    // the tokens joined back split into the same tokens (char: code points; word: standardize is idempotent)
    vectorizer.adapt([trainToks.join(tokens === 'char' ? '' : ' ')]);
  }
  const vocabulary = vectorizer.vocabulary();
  const json: TextVectorizerJSON = vectorizer.toJSON();
  const lm: SavedLm = trained ?? { tokens, contextLength: T, stride, start: trainToks[0], vectorizer: json };
  const files = `${path}${o.testData !== undefined ? ` + ${o.testData}` : ''}`;
  const unit = tokens === 'char' ? 'characters' : 'words';
  return {
    train: idsOf(trainToks, vocabulary),
    test: idsOf(testToks, vocabulary),
    vectorizer,
    lm,
    source: `text ${files}: ${unit} (${vocabulary.length.toLocaleString('en-US')} tokens in the ${trained ? 'saved ' : ''}vocabulary), ${split}, context ${T}`,
  };
}

/**
 * The next-token windows of one part: `limit` keeps the first N windows. A part too short for one
 * window is refused naming `what` and the flags that change it.
 */
export function corpusWindows(ids: Int32Array, T: number, stride: number, what: string, limit?: number): NextTokenWindows {
  if (ids.length < T + 1)
    throw new UsageError(
      `${what} holds ${ids.length.toLocaleString('en-US')} tokens, too few for one window of --context ${T} and its next token (${T + 1}); give a longer text or a smaller --context`,
    );
  const kept = limit === undefined ? ids : ids.subarray(0, Math.min(ids.length, (limit - 1) * stride + T + 1));
  return nextTokenWindows(kept, { contextLength: T, stride });
}

/** Each entry `embedding:V:` of a spec string with V the vocabulary size. */
function withVocabularySize(arg: string, V: number): string {
  return arg.replace(/(^|,)(\s*(?:embedding|embed)\s*:\s*)V(?=\s*(?::|,|$))/gi, `$1$2${V}`);
}

/**
 * The network of a language model spec over V tokens and windows of T: its layers up to the
 * per-step logits [T, V], and its canonical spec (V written out, the last linear layer sized V),
 * which rebuilds it. A spec that does not start with an embedding of at least V rows, or whose
 * output is not [T, V] per window, is refused naming what it gives.
 */
export function lmModel(arg: string, V: number, T: number, rng: Rng, flag = '--model'): { model: Module; name: string } {
  const example = `e.g. ${withVocabularySize(LM_DEFAULT_MODEL, V)}, or embedding:${V}:64,lstm:256:seq=true,linear`;
  const spec = resolveCliModel(withVocabularySize(arg, V));
  let layers: LayerSpec[];
  try {
    layers = parseModelSpec(spec.name);
  } catch {
    throw new UsageError(
      `${flag} ${arg}: a language model is a layer spec that starts with embedding:V:dim (${example}); ${arg} is a built-in model`,
    );
  }
  const first = layers[0];
  if (first?.type !== 'embedding')
    throw new UsageError(
      `${flag} ${arg}: a language model reads token ids; start it with embedding:V:dim, V the vocabulary size ${V} (${example})`,
    );
  if ((first.num as number) < V)
    throw new UsageError(
      `${flag} ${arg}: the embedding has ${first.num} rows, and the vocabulary has ${V} tokens (ids 0 … ${V - 1}); write embedding:V:… (V stands for the vocabulary size) or give --max-tokens ${first.num}`,
    );
  let last = -1;
  layers.forEach((l, i) => {
    if (l.type === 'linear') last = i;
  });
  const sized = layers.map((l, i) => (i === last && l.type === 'linear' && l.out === undefined ? { ...l, out: V } : l));
  try {
    const model = modelFromLayers(sized).build({ rng, inputShape: [1, 1, T], classes: V, perStep: true });
    return { model, name: formatModelSpec(sized) };
  } catch (e) {
    if (e instanceof ModelSpecError)
      throw new UsageError(
        `${flag} ${arg}: a language model gives every step's next-token logits, [T, V] = [${T}, ${V}] per window; ${e.message}`,
      );
    throw e;
  }
}

/** The per-token cross-entropy of logits [B, T, V] against the next ids [B, T] (the K-dimensional form on [B, V, T]). */
export function lmLoss(out: Tensor, y: BatchTarget): Tensor {
  if (!(y instanceof Tensor)) throw new TypeError('lmLoss: the targets must be the next ids [B, T]');
  return crossEntropy(transpose(out, 1, 2), y);
}

/**
 * The arg-max next-token accuracy over every position of logits [B, T, V] against ids [B, T]. A
 * metric's sum is per window (evaluate divides by the windows): the correct tokens / T.
 */
const tokenCorrect = (out: Tensor, y: BatchTarget): number => {
  if (!(y instanceof Tensor)) throw new TypeError('tokenAccuracy: the targets must be the next ids [B, T]');
  const pred = argmax(out, -1);
  const ids = y.data;
  let correct = 0;
  for (let i = 0; i < ids.length; i++) if (pred[i] === ids[i]) correct++;
  return correct / y.shape[1];
};
export const tokenAccuracy: Metric = Object.assign((out: Tensor, y: BatchTarget) => tokenCorrect(out, y) / Math.max(targetCount(y), 1), {
  sum: tokenCorrect,
});

/** exp(loss), as the figures print it. */
export function fmtPerplexity(ppl: number): string {
  return ppl.toFixed(3);
}

/** The flags of a language model's data (descent train lists them after --data's). */
export const lmOptions: OptSpec[] = [
  {
    name: 'tokens',
    type: 'string',
    choices: ['char', 'word'],
    help: `plain text (--data FILE.txt) trains a next-token language model on its tokens: char (default; every character, case, punctuation and line breaks kept) or word (lowercased, punctuation stripped, split on whitespace); the vocabulary is the training part's (0 padding, 1 unknown; --max-tokens caps it). The last --val-split F of the text (default ${LM_DEFAULT_VAL_SPLIT}), or --test-data FILE.txt, is held out. Default model: ${LM_DEFAULT_MODEL} (V: the vocabulary size); a --model starts with embedding:V:dim and gives every step's logits [T, V]`,
  },
  {
    name: 'context',
    type: 'int',
    min: 1,
    metavar: 'T',
    help: `plain text: the tokens per training window, the context the model sees (default ${LM_DEFAULT_CONTEXT})`,
  },
  {
    name: 'stride',
    type: 'int',
    min: 1,
    metavar: 'S',
    help: 'plain text: tokens between the starts of two training windows (default T: each token predicted once an epoch; smaller overlaps them)',
  },
];
