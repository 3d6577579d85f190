/**
 * descent train --data FILE.txt (a next-token language model), descent generate, and eval, summary,
 * predict, export, compare, lr-find and sweep given a language model or plain text. The corpus is a
 * short story written for these tests (test/fixtures/text/corpus.txt); the model is tiny and the
 * context short, so each run takes a second or two.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, wholeAndResumed } from './run-cli.js';
import { readWeights } from '../../src/cli/weights.js';
import { tempDir } from '../tmp-dir.js';

const dir = tempDir('descent-lm-cli-');
const at = (name: string) => join(dir, name);
const corpus = join(process.cwd(), 'test', 'fixtures', 'text', 'corpus.txt');
const TINY = 'embedding:V:16,posembed,transformer:2:ff=32:dropout=0:causal=true,linear';
const base = ['--data', corpus, '--context', '16', '--model', TINY, '--batch-size', '32', '--lr', '0.01'];

const chars = [...new Set(readFileSync(corpus, 'utf8'))];

test('a character model trains: the epoch lines carry test loss, perplexity and accuracy, the loss falls, the final line gives the perplexity', async () => {
  const save = at('char.safetensors');
  const r = await cli('train', ...base, '--epochs', '2', '--save', save);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  const data = lines.find((l) => l.startsWith('data:')) as string;
  // every distinct character of the training part, with padding and [UNK]
  const V = readWeights(save).lm?.vectorizer.vocabulary.length as number;
  assert.ok(V >= chars.length - 5 && V <= chars.length + 2, `vocabulary ${V}, ${chars.length} distinct characters`);
  assert.match(
    data,
    new RegExp(`characters \\(${V} tokens in the vocabulary\\), 3,784 train / 420 held-out tokens \\(the last 0\\.1 of the text`),
  );
  assert.match(data, /236 training windows \(stride 16\), 26 held-out windows/);
  assert.match(r.out, new RegExp(`model: embedding:${V}:16,posembed,transformer:2:ff=32:dropout=0:causal=true,linear:${V} \\(`));
  const epochs = lines.filter((l) => l.startsWith('epoch '));
  assert.equal(epochs.length, 2);
  const figures = epochs.map((l) => {
    const m = /^epoch \d\/2 {2}train loss ([\d.]+) {2}test loss ([\d.]+) {2}test ppl ([\d.]+) {2}test acc ([\d.]+) {2}lr /.exec(l);
    assert.ok(m, l);
    return { train: Number(m[1]), test: Number(m[2]), ppl: Number(m[3]), acc: Number(m[4]) };
  });
  assert.ok(figures[1].train < figures[0].train, `train loss ${figures[0].train} → ${figures[1].train}`);
  assert.ok(figures[1].test < figures[0].test, `test loss ${figures[0].test} → ${figures[1].test}`);
  for (const f of figures) assert.ok(Math.abs(f.ppl - Math.exp(f.test)) < 0.01 * f.ppl, `ppl ${f.ppl} against exp(${f.test})`);
  // better than a uniform guess over the vocabulary, and than the most frequent character (a space, ~18%)
  assert.ok(figures[1].ppl < V / 2, `perplexity ${figures[1].ppl} of ${V} tokens`);
  const fin = /^final test perplexity ([\d.]+) {2}\(test loss ([\d.]+), next-token accuracy ([\d.]+)\)$/m.exec(r.out);
  assert.ok(fin, r.out);
  assert.equal(Number(fin[1]), figures[1].ppl);
  assert.equal(Number(fin[2]), figures[1].test);
  assert.equal(Number(fin[3]), figures[1].acc);

  // what the file keeps: the tokens, T, the stride, the first token and the vectorizer's split
  const lm = readWeights(save).lm;
  assert.deepEqual(
    {
      tokens: lm?.tokens,
      T: lm?.contextLength,
      stride: lm?.stride,
      start: lm?.start,
      split: lm?.vectorizer.split,
      std: lm?.vectorizer.standardize,
    },
    { tokens: 'char', T: 16, stride: 16, start: 'T', split: 'character', std: 'none' },
  );

  // generate: the prompt, then the drawn text; the same seed the same text, another seed another
  const gen = async (...args: string[]) => {
    const g = await cli('generate', '--weights', save, '--length', '60', ...args);
    assert.equal(g.code, 0, g.err);
    return g.out;
  };
  const a = await gen('--prompt', 'The keeper', '--seed', '3');
  assert.ok(a.startsWith('The keeper'), a);
  assert.ok(a.length > 'The keeper'.length + 40, a);
  assert.equal(await gen('--prompt', 'The keeper', '--seed', '3'), a);
  assert.notEqual(await gen('--prompt', 'The keeper', '--seed', '4'), a);
  // greedy decoding draws nothing: every seed gives the same text
  assert.equal(
    await gen('--prompt', 'The', '--temperature', '0', '--seed', '1'),
    await gen('--prompt', 'The', '--temperature', '0', '--seed', '9'),
  );
  // no prompt: the training text's first character starts it, printed as the prompt
  const j = JSON.parse(await gen('--json', '--top-k', '5', '--top-p', '0.9'));
  assert.equal(j.prompt, 'T');
  assert.equal(j.text, `T${j.generated}`);
  // a prompt longer than the context is cropped to its last 16 characters
  const long = await gen('--prompt', 'x'.repeat(40));
  assert.ok(long.startsWith('x'.repeat(40)) && long.length > 80, long);

  // eval of the same held-out tail gives the figures train reported for it
  const e = await cli('eval', '--weights', save, '--data', corpus, '--val-split', '0.1', '--json');
  assert.equal(e.code, 0, e.err);
  const ej = JSON.parse(e.out);
  assert.equal(ej.loss.toFixed(4), figures[1].test.toFixed(4));
  assert.equal(ej.accuracy.toFixed(4), figures[1].acc.toFixed(4));
  assert.equal(ej.perplexity, Math.exp(ej.loss));
  assert.equal(ej.windows, 26);
  const et = await cli('eval', '--weights', save, '--data', corpus, '--val-split', '0.1');
  assert.equal(et.code, 0, et.err);
  assert.match(
    et.out,
    new RegExp(`test loss ${figures[1].test.toFixed(4)} {2}test ppl ${figures[1].ppl.toFixed(3)} {2}test acc ${figures[1].acc.toFixed(4)}`),
  );
  // the whole file: every window of it
  const whole = JSON.parse((await cli('eval', '--weights', save, '--data', corpus, '--json')).out);
  assert.equal(whole.windows, Math.floor((4204 - 17) / 16) + 1);

  // summary: the layers, the input T and the vocabulary
  const s = await cli('summary', '--weights', save);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /Embedding\(\d+, 16\)/);
  assert.match(s.out, new RegExp(`Linear\\(16→${V}\\) +\\[16, ${V}\\]`));
  assert.match(s.out, new RegExp(`input: 16 token ids \\(characters; vocabulary of ${V} tokens`));

  // predict and export refuse it, naming generate
  const p = await cli('predict', '--weights', save, corpus);
  assert.equal(p.code, 2);
  assert.match(p.err, /is a language model .*; descent generate --weights/);
  const x = await cli('export', '--weights', save, '--out', at('lm.onnx'));
  assert.equal(x.code, 2);
  assert.match(x.err, /is a language model .*which export does not write/);
});

test('--json records carry testPerplexity; a word model reads lowercased words; --test-data is the held-out text eval scores alike', async () => {
  const text = readFileSync(corpus, 'utf8');
  const cut = text.indexOf('The storm came');
  writeFileSync(at('train.txt'), text.slice(0, cut));
  writeFileSync(at('test.txt'), text.slice(cut));
  const save = at('word.json');
  const r = await cli(
    'train',
    '--data',
    at('train.txt'),
    '--test-data',
    at('test.txt'),
    '--tokens',
    'word',
    '--context',
    '8',
    '--model',
    'embedding:V:16,lstm:32:seq=true,linear',
    '--epochs',
    '2',
    '--batch-size',
    '16',
    '--lr',
    '0.01',
    '--json',
    '--save',
    save,
  );
  assert.equal(r.code, 0, r.err);
  const records = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(records.length, 2);
  for (const rec of records) assert.equal(rec.testPerplexity, Math.exp(rec.testLoss));
  const lm = readWeights(save).lm;
  assert.equal(lm?.tokens, 'word');
  assert.equal(lm?.vectorizer.standardize, 'lower_and_strip_punctuation');
  assert.ok(lm?.vectorizer.vocabulary.includes('keeper'));
  assert.ok(!lm?.vectorizer.vocabulary.includes('The'), 'words are lowercased');
  const e = JSON.parse((await cli('eval', '--weights', save, '--data', at('test.txt'), '--json')).out);
  assert.equal(e.loss, records[1].testLoss);
  assert.equal(e.accuracy, records[1].testAccuracy);
  // words joined by spaces after the prompt
  const g = await cli('generate', '--weights', save, '--prompt', 'the sea', '--length', '6');
  assert.equal(g.code, 0, g.err);
  assert.match(g.out, /^the sea( \S+){6}$/);
});

test('a language model run resumes from its checkpoint bit for bit', async () => {
  const { whole, resumed } = await wholeAndResumed([...base, '--limit', '40', '--test-limit', '4'], at('ck'));
  assert.equal(typeof whole.testPerplexity, 'number');
  assert.deepEqual(resumed, whole);
});

test('the default model is the pre-norm causal Transformer over the vocabulary, with posembed of T', async () => {
  const r = await cli('train', '--data', corpus, '--context', '8', '--limit', '4', '--test-limit', '2', '--epochs', '1');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /model: embedding:\d+:128,posembed,transformer:4:ff=512:act=gelu:prenorm=true:layers=2:causal=true,linear:\d+ \(/);
  assert.match(r.out, /^final test perplexity [\d.]+ /m);
});

test('flags and models that make no sense for a language model are refused in one line', async () => {
  const refused = async (args: string[], message: RegExp, command = 'train') => {
    const r = await cli(command, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.err, message);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  };
  await refused(
    ['--data', corpus, '--context', '16', '--model', 'embedding:V:16,lstm:32,linear'],
    /a language model gives every step's next-token logits, \[T, V\] = \[16, \d+\] per window; layer 2 \(linear:\d+\): the model ends in \[\d+\], .*must end in \[T, \d+\] \(a recurrent layer gives every step with seq=true/,
  );
  await refused(['--data', corpus, '--model', 'linear:64,relu,linear'], /start it with embedding:V:dim/);
  await refused(['--data', corpus, '--model', 'cnn'], /is a built-in model/);
  await refused(
    ['--data', corpus, '--model', 'embedding:5:8,lstm:8:seq=true,linear'],
    /the embedding has 5 rows, and the vocabulary has \d+ tokens/,
  );
  for (const [flag, ...value] of [
    ['--label-column', 'x'],
    ['--mixup', '0.2'],
    ['--cutmix', '1'],
    ['--class-weights', 'balanced'],
    ['--augment', 'flip'],
    ['--standardize'],
    ['--cv', '3'],
    ['--ensemble', '2'],
    ['--swa', '1'],
    ['--resize', '8x8'],
    ['--full-batch'],
  ])
    await refused(['--data', corpus, flag, ...value], new RegExp(`^descent train: ${flag} does not apply to a language model`));
  await refused(['--data', corpus, '--test-data', at('x.csv')], /--test-data .*must be a \.txt file too/);
  await refused(['--data', corpus, '--context', '5000'], /the training part holds 3,784 tokens, too few for one window of --context 5000/);
  // the GPU takes a language model (test/webgpu/gpu/lm.test.ts), with every optimizer but the wrappers and closures
  await refused(['--data', corpus, '--optimizer', 'sam', '--backend', 'webgpu'], /--backend webgpu: --optimizer sam runs on the host/);
  await refused(['--data', 'embedded', '--tokens', 'word'], /--tokens applies to a language model/);
  await refused(['--data', corpus, '--optimizer', 'lbfgs'], /a language model trains in mini-batches/);
  // the commands that take labelled data refuse plain text
  await refused(['--data', corpus], /a \.txt file is a language model's corpus/, 'lr-find');
  await refused(
    ['--data', corpus, '--optimizers', 'sgd,adam'],
    /plain text trains a language model; compare trains its built-in models/,
    'compare',
  );
  await refused(['--data', corpus], /plain text trains a language model; sweep tunes/, 'sweep');
});

test('generate and eval refuse a model that is not a language model, naming what it is', async () => {
  const csv = at('iris.csv');
  writeFileSync(csv, `a,b,label\n${Array.from({ length: 40 }, (_, i) => `${i % 7},${(i * 3) % 5},${i % 2 ? 'x' : 'y'}`).join('\n')}\n`);
  const save = at('clf.json');
  const t = await cli('train', '--data', csv, '--val-split', '0.25', '--model', 'logreg', '--epochs', '1', '--save', save);
  assert.equal(t.code, 0, t.err);
  const g = await cli('generate', '--weights', save);
  assert.equal(g.code, 2);
  assert.match(
    g.err,
    /holds a classifier of 1×1×2 inputs \(model logreg\), not a language model; train one with descent train --data FILE\.txt/,
  );
  const e = await cli('eval', '--weights', save, '--data', corpus);
  assert.equal(e.code, 2);
  assert.match(e.err, /plain text is scored by a language model .*is a classifier/);
});

test('a saved language model whose vectorizer does not match its tokens is refused naming the field', async () => {
  const save = at('tiny.json');
  const r = await cli('train', ...base, '--epochs', '1', '--limit', '4', '--test-limit', '1', '--save', save);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(readFileSync(save, 'utf8'));
  doc.lm.tokens = 'word';
  writeFileSync(at('bad.json'), JSON.stringify(doc));
  const g = await cli('generate', '--weights', at('bad.json'));
  assert.notEqual(g.code, 0);
  assert.match(g.err, /lm\.vectorizer: split whitespace for tokens word, got character/);
});
