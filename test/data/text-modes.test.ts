/**
 * TextVectorizer's bag modes (multi_hot, count, tf_idf) and n-grams (src/data/text.ts) against Keras 3's
 * TextVectorization rules (fixtures from tools/golden_text_modes.py: vocabulary order with n-grams and
 * ties, '[UNK]' at 0 with no padding entry, out-of-vocabulary terms counted at 0, the idf with the mean
 * idf for '[UNK]', padToMaxTokens), hand-derived rows, the JSON round trip, errors, and a linear model
 * trained with fit on tf_idf rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  Adam,
  DataLoader,
  Linear,
  Rng,
  TensorDataset,
  TextVectorizer,
  evaluate,
  fit,
  textNgrams,
  type TextOutputMode,
  type TextVectorizerOptions,
} from '../../src/index.js';
import { assertClose } from '../helpers.js';

interface Case {
  name: string;
  outputMode: TextOutputMode;
  ngrams: number | number[];
  maxTokens: number;
  padToMaxTokens?: boolean;
  vocabulary: string[];
  terms: string[][];
  rows: number[][];
  adaptRows: number[][];
  idf?: number[];
  sequenceLength?: number;
}
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/text/modes.json', import.meta.url), 'utf8')) as {
  adapt: string[];
  transform: string[];
  cases: Case[];
};

// Keras computes the rows and idf in float32: relative error up to about 2⁻²⁴ per rounding
const F32 = 1e-6;

for (const c of F.cases) {
  test(`golden (Keras 3's rules): ${c.name}: vocabulary, terms, rows${c.idf ? ', idf' : ''}`, () => {
    const v = new TextVectorizer({
      outputMode: c.outputMode,
      ngrams: c.ngrams,
      maxTokens: c.maxTokens,
      padToMaxTokens: c.padToMaxTokens,
    }).adapt(F.adapt);
    assert.deepEqual(v.vocabulary(), c.vocabulary);
    assert.deepEqual(
      F.transform.map((t) => v.tokens(t)),
      c.terms,
    );
    if (c.outputMode === 'int') {
      assert.equal(v.sequenceLength, c.sequenceLength);
      assert.deepEqual(Array.from(v.transform(F.transform).ids), c.rows.flat());
      assert.deepEqual(Array.from(v.transform(F.adapt).ids), c.adaptRows.flat());
      return;
    }
    const width = c.rows[0].length;
    assert.equal(v.outputWidth, width);
    assert.equal(v.sequenceLength, undefined);
    if (c.idf) assertClose(v.idf(), c.idf, F32, 'idf');
    const x = v.vectorize(F.transform);
    assert.deepEqual(x.shape, [F.transform.length, width]);
    assert.equal(x.dtype, 'float32');
    assertClose(x.data, c.rows.flat(), F32, 'rows');
    assertClose(v.vectorize(F.adapt).data, c.adaptRows.flat(), F32, 'adapted rows');
  });
}

test('bag rows by hand: [UNK] at 0 gathers every unknown term, no padding entry; multi_hot, count, tf_idf', () => {
  const texts = ['b a b', 'c b', ''];
  // counts b 3, a 1, c 1 → b, then the tie in descending order c, a; '[UNK]' first
  const count = new TextVectorizer({ outputMode: 'count' }).adapt(texts);
  assert.deepEqual(count.vocabulary(), ['[UNK]', 'b', 'c', 'a']);
  assert.deepEqual(Array.from(count.vectorize(['b b x y a', '']).data), [2, 2, 0, 1, 0, 0, 0, 0]);
  const hot = new TextVectorizer({ outputMode: 'multi_hot' }).adapt(texts);
  assert.deepEqual(Array.from(hot.vectorize(['b b x y a']).data), [1, 1, 0, 1]);
  // 3 documents (the empty one counts); df b 2, c 1, a 1: idf b = ln(1 + 3/3) = ln 2, c = a = ln(1 + 3/2) = ln 2.5;
  // '[UNK]' the mean (ln 2 + 2 ln 2.5) / 3
  const tfidf = new TextVectorizer({ outputMode: 'tf_idf' }).adapt(texts);
  const oov = (Math.log(2) + 2 * Math.log(2.5)) / 3;
  assertClose(tfidf.idf(), [oov, Math.log(2), Math.log(2.5), Math.log(2.5)], 1e-15, 'idf');
  // 'b b x y a': b twice, two unknown terms, a once
  assertClose(tfidf.vectorize(['b b x y a']).data, [2 * oov, 2 * Math.log(2), 0, Math.log(2.5)], F32, 'row');
  // maxTokens counts '[UNK]' only: 2 keeps one term; padToMaxTokens widens the row with zeros (and zero idf)
  assert.deepEqual(new TextVectorizer({ outputMode: 'count', maxTokens: 2 }).adapt(texts).vocabulary(), ['[UNK]', 'b']);
  const padded = new TextVectorizer({ outputMode: 'tf_idf', maxTokens: 6, padToMaxTokens: true }).adapt(texts);
  assert.equal(padded.outputWidth, 6);
  assert.deepEqual(Array.from(padded.idf().slice(4)), [0, 0]);
  assert.deepEqual(padded.vectorize(['c']).shape, [1, 6]);
});

test('n-grams: size by size, each left to right, joined by one space; a short text has none of a larger size', () => {
  assert.deepEqual(textNgrams(['a', 'b', 'c'], [1, 2, 3]), ['a', 'b', 'c', 'a b', 'b c', 'a b c']);
  assert.deepEqual(textNgrams(['a', 'b', 'c'], [3, 1]), ['a b c', 'a', 'b', 'c']);
  assert.deepEqual(textNgrams(['a'], [2, 3]), []);
  const v = new TextVectorizer({ ngrams: 2, split: 'character', standardize: 'none' });
  assert.deepEqual(v.tokens('ab '), ['a', 'b', ' ', 'a b', 'b  ']);
  // 'int' with n-grams: T counts terms, n-grams included (3 tokens → 5 terms)
  assert.equal(new TextVectorizer({ ngrams: 2 }).adapt(['x y z', 'x']).sequenceLength, 5);
});

test('an idf needs every adapted text: the same texts in another order give the same idf and rows; adapt replaces the idf', () => {
  const texts = ['good film', 'bad film', 'good good plot', 'bad plot twist', 'film'];
  const a = new TextVectorizer({ outputMode: 'tf_idf', ngrams: 2 }).adapt(texts);
  const b = new TextVectorizer({ outputMode: 'tf_idf', ngrams: 2 }).adapt([...texts].reverse());
  assert.deepEqual(b.vocabulary(), a.vocabulary());
  assert.deepEqual(Array.from(b.idf()), Array.from(a.idf()));
  assert.deepEqual(Array.from(b.vectorize(texts).data), Array.from(a.vectorize(texts).data));
  const before = a.idf();
  a.adapt(['film']);
  assert.deepEqual(a.vocabulary(), ['[UNK]', 'film']);
  // one document holding 'film': ln(1 + 1/2); '[UNK]' the mean of that one
  assertClose(a.idf(), [Math.log(1.5), Math.log(1.5)], 1e-15);
  assert.notEqual(before.length, a.idf().length);
});

test('JSON round trip keeps outputMode, ngrams, padToMaxTokens and the idf; JSON without them reads as int with ngrams 1', () => {
  const texts = ['the cat sat', 'the dog sat down', 'a cat'];
  const queries = ['the cat', 'a dog sat on a mat', ''];
  const opts: TextVectorizerOptions[] = [
    { outputMode: 'tf_idf', ngrams: [1, 3], padToMaxTokens: true, maxTokens: 40 },
    { outputMode: 'count', ngrams: 2 },
    { outputMode: 'multi_hot', maxTokens: 4 },
    { outputMode: 'int', ngrams: 2 },
  ];
  for (const o of opts) {
    const v = new TextVectorizer(o).adapt(texts);
    const back = TextVectorizer.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
    assert.equal(back.outputMode, o.outputMode);
    assert.deepEqual(back.ngrams, o.ngrams ?? 1);
    assert.equal(back.padToMaxTokens, v.padToMaxTokens);
    assert.deepEqual(back.vocabulary(), v.vocabulary());
    assert.equal(back.outputWidth, v.outputWidth);
    assert.deepEqual(Array.from(back.vectorize(queries).data), Array.from(v.vectorize(queries).data), o.outputMode);
  }
  const old = TextVectorizer.fromJSON({ maxTokens: 10, standardize: 'lower', sequenceLength: 2, vocabulary: ['', '[UNK]', 'a b', 'a'] });
  assert.equal(old.outputMode, 'int');
  assert.equal(old.ngrams, 1);
  // ngrams 1: 'a b' is one whitespace token pair, never a term
  assert.deepEqual(Array.from(old.transform(['a b']).ids), [3, 1]);
  assert.deepEqual(old.toJSON().outputMode, 'int');
});

test('errors name the option and the value', () => {
  assert.throws(() => new TextVectorizer({ ngrams: 0 }), /ngrams must be ≥ 1, got 0/);
  assert.throws(() => new TextVectorizer({ ngrams: [] }), /ngrams must hold at least one size/);
  assert.throws(() => new TextVectorizer({ ngrams: [2, 0] }), /ngrams sizes must be ≥ 1, got 0 in \[2, 0\]/);
  assert.throws(() => new TextVectorizer({ ngrams: [2, 2] }), /ngrams sizes must be distinct/);
  assert.throws(() => new TextVectorizer({ ngrams: 1.5 }), /ngrams/);
  assert.throws(() => new TextVectorizer({ outputMode: 'one_hot' as TextOutputMode }), /outputMode/);
  assert.throws(
    () => new TextVectorizer({ outputMode: 'tf_idf', sequenceLength: 8 }),
    /sequenceLength applies to outputMode 'int' only.*got sequenceLength 8 with outputMode 'tf_idf'/,
  );
  assert.throws(
    () => new TextVectorizer({ padToMaxTokens: true }),
    /padToMaxTokens applies to outputMode 'multi_hot', 'count' or 'tf_idf', got outputMode 'int'/,
  );
  assert.throws(() => new TextVectorizer({ outputMode: 'count', maxTokens: 1 }), /maxTokens must be ≥ 2.*'count', got 1/);
  const bag = new TextVectorizer({ outputMode: 'count' });
  assert.throws(() => bag.vectorize(['a']), /vectorize: .*call adapt/);
  bag.adapt(['a b']);
  assert.throws(() => bag.transform(['a']), /transform: gives ids \('int'\); outputMode 'count' gives float rows: call vectorize/);
  assert.throws(() => bag.encode('a'), /encode: works on the ids of outputMode 'int'.*'count'/);
  assert.throws(() => bag.decode([0]), /decode: works on the ids of outputMode 'int'/);
  assert.throws(() => bag.idf(), /idf: only outputMode 'tf_idf' has an idf, this one is 'count'/);
  const json = new TextVectorizer({ outputMode: 'tf_idf' }).adapt(['a b']).toJSON();
  assert.throws(() => TextVectorizer.fromJSON({ ...json, idf: [1] }), /idf: expected 3 finite numbers/);
  assert.throws(
    () => TextVectorizer.fromJSON({ ...json, vocabulary: ['', '[UNK]', 'a'] }),
    /vocabulary: expected '\[UNK\]' first and no ''/,
  );
  assert.throws(() => TextVectorizer.fromJSON({ ...json, sequenceLength: 9 }), /sequenceLength: expected the row width 3.*got 9/);
  assert.throws(() => TextVectorizer.fromJSON({ ...json, outputMode: 'count' }), /idf: expected nothing/);
});

test('end to end: tf_idf bigram rows into a Linear model trained with fit separate two classes of toy texts', () => {
  const rng = new Rng(5);
  const good = ['great', 'wonderful', 'loved it', 'very good', 'fine acting'];
  const bad = ['awful', 'boring', 'hated it', 'very bad', 'poor acting'];
  const filler = ['the film', 'this movie', 'the plot', 'overall', 'the cast'];
  const pick = (xs: string[]) => xs[rng.int(xs.length)];
  const make = (n: number) => {
    const texts: string[] = [];
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      texts.push(`${pick(filler)} was ${pick(labels[i] === 0 ? good : bad)} ${pick(filler)}`);
    }
    return { texts, labels };
  };
  const train = make(200),
    held = make(60);
  const v = new TextVectorizer({ outputMode: 'tf_idf', ngrams: 2 }).adapt(train.texts);
  const x = v.vectorize(train.texts);
  const model = new Linear(v.outputWidth, 2, { rng: rng.fork('model') });
  fit({
    model,
    optimizer: new Adam(model.parameters(), { lr: 0.05 }),
    train: new DataLoader(new TensorDataset(x, train.labels), { batchSize: 20, shuffle: true, rng: rng.fork('data') }),
    epochs: 10,
    rng: rng.fork('fit'),
  });
  const result = evaluate(model, new DataLoader(new TensorDataset(v.vectorize(held.texts), held.labels), { batchSize: 60 }));
  assert.equal(result.testAccuracy, 1, JSON.stringify(result));
  assert.ok(result.testLoss < 0.1, JSON.stringify(result));
  // 'very' and 'it' occur in both classes: the words that decide are the class words
  assert.ok(v.vocabulary().includes('very good') && v.vocabulary().includes('very bad'));
});

test('ties go in UTF-8 byte order, descending, on random words mixing ASCII, é, U+D7FF, U+E000..U+FFFF and astral characters', () => {
  const rng = new Rng(3);
  // U+E000..U+FFFF sort below astral characters by code point, above them by UTF-16 unit
  const pool = ['a', 'z', 'é', '\uD7FF', '\uE000', '\uFF5A', '\uFFFF', '😀', '𝔸'];
  const words = [
    ...new Set(Array.from({ length: 2000 }, () => Array.from({ length: 1 + rng.int(4) }, () => pool[rng.int(pool.length)]).join(''))),
  ];
  const v = new TextVectorizer({ standardize: 'none', outputMode: 'count' }).adapt([words.join(' ')]);
  const bytesDescending = [...words].sort((a, b) => Buffer.compare(Buffer.from(b), Buffer.from(a)));
  assert.deepEqual(v.vocabulary().slice(1), bytesDescending);
});
