/**
 * descent train --text: a CSV column of free text read as token ids through a vocabulary of the
 * training part (TextVectorizer), saved with the model; eval, predict, summary and export read the
 * column through it. The classes here are told apart by a keyword among random filler words, so a
 * bag of embeddings (the default model) and an LSTM learn them only from the ids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, lastRecord } from './run-cli.js';
import { readWeights } from '../../src/cli/weights.js';
import { Dataset, Rng, randomSplit } from '../../src/index.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-text-cli-');
const at = (name: string) => join(dir, name);

const FILLER = ['the', 'a', 'movie', 'film', 'plot', 'was', 'is', 'and', 'acting', 'story', 'it', 'of', 'this', 'scene', 'cast'];
const KEYS = { pos: ['wonderful', 'Great!', 'loved', 'superb,'], neg: ['awful', 'Boring.', 'hated', 'terrible;'] };

/**
 * n reviews (id, review, label): 3–14 filler words (and of `unseen`, words the training file lacks),
 * some capitalised, and one keyword of the class at a random place.
 */
function reviews(n: number, seed: number, unseen: readonly string[] = []): string {
  const rng = new Rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rng.uniform() * a.length)];
  const lines = ['id,review,label'];
  for (let i = 0; i < n; i++) {
    const label = i % 2 === 0 ? 'pos' : 'neg';
    const words = Array.from({ length: 3 + Math.floor(rng.uniform() * 12) }, () => {
      const w = pick([...FILLER, ...unseen]);
      return rng.uniform() < 0.2 ? w.toUpperCase() : w;
    });
    words.splice(Math.floor(rng.uniform() * (words.length + 1)), 0, pick(KEYS[label]));
    lines.push(`${seed}-${i},"${words.join(' ')}",${label}`);
  }
  return `${lines.join('\n')}\n`;
}

const train = at('reviews.csv');
writeFileSync(train, reviews(300, 1));
const holdout = at('holdout.csv');
writeFileSync(holdout, reviews(100, 2, ['popcorn', 'sequel', 'director']));
const base = ['--data', train, '--text', 'review', '--ignore-columns', 'id', '--label-column', 'label'];

test('the default model (a bag of embeddings) learns the keyword; eval and predict read the saved vocabulary and agree', async () => {
  const weights = at('bag.json');
  const r = await cli('train', ...base, '--val-split', '0.3', '--epochs', '15', '--batch-size', '16', '--lr', '0.02', '--save', weights);
  assert.equal(r.code, 0, r.err);
  const data = r.out.split('\n').find((l) => l.startsWith('data:')) as string;
  assert.match(data, /text "review" \(\d+ words, 15 tokens\), label column "label"/);
  const V = readWeights(weights).csv?.text?.vocabulary.length as number;
  assert.ok(V > 20 && V < 30, `vocabulary of ${V} words`);
  assert.match(r.out, new RegExp(`model: embedding:${V}:64:pad=0:mask=true,seqmean,linear`));
  const acc = Number(/final test accuracy ([\d.]+)/.exec(r.out)?.[1]);
  assert.ok(acc > 0.9, `accuracy ${acc}`);
  // the held-out file: eval's accuracy is the share of predict's classes that match the labels
  const e = await cli('eval', '--weights', weights, '--data', holdout, '--json');
  assert.equal(e.code, 0, e.err);
  const evalAcc = JSON.parse(e.out).accuracy as number;
  assert.ok(evalAcc > 0.9, `eval accuracy ${evalAcc}`);
  const p = await cli('predict', '--weights', weights, holdout, '--json');
  assert.equal(p.code, 0, p.err);
  const predicted = p.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).predicted as string);
  assert.equal(predicted.length, 100);
  const right = predicted.filter((c, i) => c === (i % 2 === 0 ? 'pos' : 'neg')).length;
  assert.equal(right / 100, evalAcc);
  // eval of the training file with the same --val-split scores the same held-out rows as training did
  const same = await cli('eval', '--weights', weights, '--data', train, '--val-split', '0.3', '--seed', '1', '--json');
  assert.equal(same.code, 0, same.err);
  assert.equal(JSON.parse(same.out).accuracy, acc);
  // a weights file whose vocabulary lost its padding entry is refused naming the field
  const saved = JSON.parse(readFileSync(weights, 'utf8'));
  saved.csv.text.vocabulary.shift();
  writeFileSync(at('bad.json'), JSON.stringify(saved));
  const bad = await cli('eval', '--weights', at('bad.json'), '--data', holdout);
  assert.equal(bad.code, 1, bad.err);
  assert.match(bad.err, /csv\.text: vocabulary: expected '' and '\[UNK\]' first/);
  const s = await cli('summary', '--weights', weights);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /Embedding/);
  assert.match(s.out, new RegExp(`input: 15 token ids of the CSV text column "review" \\(vocabulary of ${V} words`));
  const x = await cli('export', '--weights', weights, '--out', at('bag.onnx'), '--json');
  assert.equal(x.code, 0, x.err);
  assert.deepEqual(JSON.parse(x.out).input.shape, ['batch', 15]);
});

test("an LSTM over the ids (mask=true skips the padding) learns too; --sequence-length and --max-tokens set T and V; a test file's words are not in the vocabulary", async () => {
  const weights = at('lstm.safetensors');
  const r = await cli(
    'train',
    ...base,
    '--test-data',
    holdout,
    ...['--model', 'embedding:40:16:pad=0:mask=true,lstm:16,linear', '--max-tokens', '40', '--sequence-length', '20'],
    ...['--epochs', '12', '--batch-size', '16', '--lr', '0.02', '--save', weights, '--json'],
  );
  assert.equal(r.code, 0, r.err);
  const last = lastRecord(r.out);
  assert.ok((last.testAccuracy as number) > 0.9, `accuracy ${last.testAccuracy}`);
  const text = readWeights(weights).csv?.text;
  assert.equal(text?.sequenceLength, 20);
  assert.equal(text?.column, 'review');
  // the test file's words are not in the vocabulary
  assert.ok(!text?.vocabulary.includes('popcorn'));
  const e = await cli('eval', '--weights', weights, '--data', holdout, '--json');
  assert.equal(e.code, 0, e.err);
  assert.equal(JSON.parse(e.out).accuracy, last.testAccuracy);
});

test('the vocabulary is fitted on the training part only: a word of a held-out row only is unknown, one of a training row only is known', async () => {
  const lines = reviews(60, 5).trim().split('\n');
  // the rows --val-split 0.25 --seed 3 holds out: a split of the row numbers, as the CLI splits them
  const probe = new Dataset({
    images: Float32Array.from({ length: 60 }, (_, i) => i),
    labels: new Int32Array(60),
    shape: [1, 1, 1],
    classes: ['a'],
  });
  const parts = randomSplit(probe, 0.25, new Rng(3).fork('val-split'));
  const [held, kept] = [parts.val.images[0], parts.train.images[0]];
  const tag = (i: number, word: string) => (lines[i + 1] = lines[i + 1].replace(',"', `,"${word} `));
  tag(held, 'xylophone');
  tag(kept, 'kazoo');
  const file = at('tagged.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const weights = at('tagged.json');
  const r = await cli(
    'train',
    '--data',
    file,
    '--text',
    'review',
    '--ignore-columns',
    'id',
    '--val-split',
    '0.25',
    '--seed',
    '3',
    '--epochs',
    '1',
    '--save',
    weights,
  );
  assert.equal(r.code, 0, r.err);
  const vocabulary = readWeights(weights).csv?.text?.vocabulary ?? [];
  assert.ok(vocabulary.includes('kazoo'));
  assert.ok(!vocabulary.includes('xylophone'));
});

test('refusals name the way: a feature column left in, a model without an embedding, too small an embedding, --text on other data', async () => {
  const extra = await cli('train', '--data', train, '--text', 'review', '--val-split', '0.2', '--epochs', '1');
  assert.equal(extra.code, 2, extra.err);
  assert.match(extra.err, /a text model reads the text only.*"id".*--ignore-columns id leaves it out/);
  const mlp = await cli('train', ...base, '--val-split', '0.2', '--model', 'mlp', '--epochs', '1');
  assert.equal(mlp.code, 2);
  assert.match(mlp.err, /--model mlp: .*start it with an embedding: embedding:\d+:dim:pad=0:mask=true/);
  const small = await cli(
    'train',
    ...base,
    '--val-split',
    '0.2',
    '--model',
    'embedding:10:8:pad=0:mask=true,seqmean,linear',
    '--epochs',
    '1',
  );
  assert.equal(small.code, 2);
  assert.match(small.err, /the embedding has 10 rows, and the vocabulary of --text review has \d+ words/);
  const npz = await cli('train', '--data', 'embedded', '--text', 'review', '--epochs', '1');
  assert.equal(npz.code, 2);
  assert.match(npz.err, /--text applies to CSV data, not to the embedded Fashion-MNIST/);
  const tokens = await cli('train', '--data', train, '--max-tokens', '50', '--val-split', '0.2', '--epochs', '1');
  assert.equal(tokens.code, 2);
  assert.match(tokens.err, /--max-tokens applies to a free-text column: give --text COL/);
  const std = await cli('train', ...base, '--val-split', '0.2', '--standardize', '--epochs', '1');
  assert.equal(std.code, 2);
  assert.match(std.err, /--standardize applies to numeric CSV features/);
  for (const r of [extra, mlp, small, npz, tokens, std]) assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
});

test('--text-mode tf_idf: a bag of words trains a linear model (logistic regression); eval, predict, summary and export read the texts through the saved vocabulary and idf; --ngrams 2 adds word pairs', async () => {
  const weights = at('tfidf.json');
  const bag = ['--text-mode', 'tf_idf'];
  const r = await cli(
    'train',
    ...base,
    ...bag,
    '--val-split',
    '0.3',
    '--epochs',
    '15',
    '--batch-size',
    '16',
    '--lr',
    '0.05',
    '--save',
    weights,
  );
  assert.equal(r.code, 0, r.err);
  const text = readWeights(weights).csv?.text;
  const V = text?.vocabulary.length as number;
  assert.equal(text?.outputMode, 'tf_idf');
  assert.equal(text?.vocabulary[0], '[UNK]', 'a bag has no padding entry: 0 counts the unknown terms');
  assert.match(r.out, new RegExp(`text "review" \\(${V} words, tf_idf rows of ${V}\\)`));
  assert.match(r.out, /model: linear \(/);
  const acc = Number(/final test accuracy ([\d.]+)/.exec(r.out)?.[1]);
  assert.ok(acc > 0.9, `accuracy ${acc}`);
  const same = await cli('eval', '--weights', weights, '--data', train, '--val-split', '0.3', '--seed', '1', '--json');
  assert.equal(same.code, 0, same.err);
  assert.equal(JSON.parse(same.out).accuracy, acc);
  const e = await cli('eval', '--weights', weights, '--data', holdout, '--json');
  const p = await cli('predict', '--weights', weights, holdout, '--json');
  assert.equal(p.code, 0, p.err);
  const predicted = p.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).predicted as string);
  assert.equal(predicted.filter((c, i) => c === (i % 2 === 0 ? 'pos' : 'neg')).length / 100, JSON.parse(e.out).accuracy);
  const s = await cli('summary', '--weights', weights);
  assert.match(s.out, new RegExp(`input: ${V} tf_idf values of the CSV text column "review", one per vocabulary term`));
  const x = await cli('export', '--weights', weights, '--out', at('tfidf.onnx'), '--json');
  assert.equal(x.code, 0, x.err);
  assert.deepEqual(JSON.parse(x.out).input.shape, ['batch', V]);
  // word pairs are terms too
  const pairs = await cli(
    'train',
    ...base,
    '--text-mode',
    'multi_hot',
    '--ngrams',
    '2',
    '--val-split',
    '0.3',
    '--epochs',
    '1',
    '--save',
    at('pairs.json'),
  );
  assert.equal(pairs.code, 0, pairs.err);
  const vocabulary = readWeights(at('pairs.json')).csv?.text?.vocabulary as string[];
  assert.ok(vocabulary.includes('the') && vocabulary.some((t) => /^\S+ \S+$/.test(t)), 'single words and word pairs');
  assert.match(pairs.out, new RegExp(`text "review" \\(${vocabulary.length} terms, multi_hot rows of ${vocabulary.length}\\)`));
  // refusals: an embedding reads ids, not term values; --sequence-length is int's; a bad --ngrams; --text-mode without --text
  const emb = await cli(
    'train',
    ...base,
    ...bag,
    '--val-split',
    '0.2',
    '--model',
    'embedding:100:8:pad=0:mask=true,seqmean,linear',
    '--epochs',
    '1',
  );
  assert.equal(emb.code, 2);
  assert.match(emb.err, /--text-mode tf_idf gives the model \d+ values a text \(one per vocabulary term\), not token ids/);
  const len = await cli('train', ...base, ...bag, '--sequence-length', '5', '--val-split', '0.2', '--epochs', '1');
  assert.equal(len.code, 2);
  assert.match(len.err, /--sequence-length applies to --text-mode int/);
  const ng = await cli('train', ...base, '--ngrams', '0', '--val-split', '0.2', '--epochs', '1');
  assert.equal(ng.code, 2);
  assert.match(ng.err, /--ngrams: expected K .* got "0"/);
  const alone = await cli('train', '--data', train, '--text-mode', 'count', '--val-split', '0.2', '--epochs', '1');
  assert.equal(alone.code, 2);
  assert.match(alone.err, /--text-mode applies to a free-text column: give --text COL/);
  for (const q of [emb, len, ng, alone]) assert.doesNotMatch(q.err, /\n\s+at /, 'no stack trace');
});
