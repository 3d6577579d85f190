/**
 * TextVectorizer against Keras' TextVectorization rules (fixtures from tools/golden_text.py: the
 * standardization, whitespace split, vocabulary order with its ties, truncation and padding), and its
 * properties: a JSON round trip, determinism, the size cap, and the errors naming the option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TextVectorizer, textTokens, type TextStandardize } from '../../src/index.js';
import { Rng } from '../../src/tensor/rng.js';

interface Case {
  name: string;
  maxTokens: number;
  sequenceLength: number;
  standardize: TextStandardize;
  vocabulary: string[];
  tokens: string[][];
  ids: number[][];
  adaptIds: number[][];
}
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/text/text.json', import.meta.url), 'utf8')) as {
  adapt: string[];
  transform: string[];
  cases: (Case & { sequenceLength?: number })[];
};

for (const c of F.cases) {
  test(`golden (Keras' rules): ${c.name}: vocabulary, tokens and ids`, () => {
    const given = c.name === 'default' || c.name === 'none' ? {} : { sequenceLength: c.sequenceLength };
    const v = new TextVectorizer({ maxTokens: c.maxTokens, standardize: c.standardize, ...given }).adapt(F.adapt);
    assert.deepEqual(v.vocabulary(), c.vocabulary);
    assert.equal(v.sequenceLength, c.sequenceLength);
    assert.deepEqual(
      F.transform.map((t) => v.tokens(t)),
      c.tokens,
    );
    const out = v.transform(F.transform);
    assert.deepEqual(out.shape, [F.transform.length, c.sequenceLength]);
    assert.deepEqual(Array.from(out.ids), c.ids.flat());
    assert.deepEqual(Array.from(v.transform(F.adapt).ids), c.adaptIds.flat());
  });
}

test('ties in count go in descending code-point order, after the more frequent tokens; "" and "[UNK]" are never learned', () => {
  const v = new TextVectorizer({ standardize: 'none' }).adapt(['b a c', 'c [UNK] z', 'y']);
  // c twice; then a, b, y, z once each, descending: z, y, b, a
  assert.deepEqual(v.vocabulary(), ['', '[UNK]', 'c', 'z', 'y', 'b', 'a']);
  // beyond U+FFFF the order is the code points' (UTF-8 bytes'), not UTF-16 units': 😀 (U+1F600) > ｚ (U+FF5A)
  assert.deepEqual(new TextVectorizer().adapt(['ｚ 😀']).vocabulary(), ['', '[UNK]', '😀', 'ｚ']);
});

test('maxTokens caps the vocabulary, padding and [UNK] included; the rest is out of vocabulary', () => {
  const v = new TextVectorizer({ maxTokens: 3 }).adapt(['a a b', 'b b c']);
  assert.deepEqual(v.vocabulary(), ['', '[UNK]', 'b']);
  assert.equal(v.vocabularySize, 3);
  assert.deepEqual(Array.from(v.transform(['c b a']).ids), [1, 2, 1]);
});

test('T is the longest adapted text unless sequenceLength is given, and stays fixed after adapt', () => {
  const v = new TextVectorizer().adapt(['one two three', 'four']);
  assert.equal(v.sequenceLength, 3);
  const out = v.transform(['one two three four five', '']);
  assert.deepEqual(out.shape, [2, 3]);
  // every token seen once, in descending order: two, three, one, four
  assert.deepEqual(v.vocabulary(), ['', '[UNK]', 'two', 'three', 'one', 'four']);
  assert.deepEqual(Array.from(out.ids), [4, 2, 3, 0, 0, 0]);
  // every text empty: one padding step, so a model still has an input
  assert.equal(new TextVectorizer().adapt(['', '  ']).sequenceLength, 1);
  assert.equal(new TextVectorizer({ sequenceLength: 7 }).adapt(['a b']).sequenceLength, 7);
});

test('properties on random texts: ids in [0, V), id 0 only after the last token, [UNK] only for unknown tokens; JSON round trip; same texts ⇒ same vocabulary', () => {
  const rng = new Rng(11);
  const words = ['Alpha', 'beta,', 'GAMMA!', 'delta', 'eps.', "zeta's", 'eta', 'théta', '(iota)', 'kappa'];
  const text = () =>
    Array.from({ length: Math.floor(rng.uniform() * 12) }, () => words[Math.floor(rng.uniform() * words.length)]).join(
      rng.uniform() < 0.5 ? ' ' : ' \t ',
    );
  const texts = Array.from({ length: 200 }, text);
  const v = new TextVectorizer({ maxTokens: 8, sequenceLength: 6 }).adapt(texts);
  const V = v.vocabularySize;
  const vocab = v.vocabulary();
  const queries = Array.from({ length: 50 }, text);
  const { ids, shape } = v.transform(queries);
  for (let i = 0; i < shape[0]; i++) {
    const toks = textTokens(queries[i]);
    for (let t = 0; t < shape[1]; t++) {
      const id = ids[i * shape[1] + t];
      assert.ok(id >= 0 && id < V);
      if (t >= toks.length) assert.equal(id, 0, `text ${i} step ${t}: padding`);
      else assert.equal(id, vocab.indexOf(toks[t]) >= 2 ? vocab.indexOf(toks[t]) : 1, `text ${i} step ${t}: "${toks[t]}"`);
    }
  }
  const json = JSON.parse(JSON.stringify(v.toJSON()));
  const back = TextVectorizer.fromJSON(json);
  assert.deepEqual(back.vocabulary(), vocab);
  assert.deepEqual(Array.from(back.transform(queries).ids), Array.from(ids));
  const again = new TextVectorizer({ maxTokens: 8, sequenceLength: 6 }).adapt([...texts]);
  assert.deepEqual(again.vocabulary(), vocab);
  // counts do not depend on the order of the texts
  assert.deepEqual(new TextVectorizer({ maxTokens: 8, sequenceLength: 6 }).adapt([...texts].reverse()).vocabulary(), vocab);
});

test('errors name the option and the value', () => {
  assert.throws(() => new TextVectorizer({ maxTokens: 2 }), /maxTokens must be ≥ 3.*got 2/);
  assert.throws(() => new TextVectorizer({ sequenceLength: 0 }), /sequenceLength must be ≥ 1, got 0/);
  assert.throws(() => new TextVectorizer({ maxTokens: 2.5 }), /maxTokens/);
  assert.throws(() => new TextVectorizer({ standardize: 'upper' as TextStandardize }), /standardize/);
  assert.throws(() => new TextVectorizer({ maxTokens: 10, lowercase: true } as never), /lowercase/);
  assert.throws(() => new TextVectorizer().transform(['a']), /transform: .*call adapt/);
  assert.throws(() => new TextVectorizer().vocabulary(), /call adapt/);
  assert.throws(() => new TextVectorizer().adapt(['a', 3 as never]), /texts\[1\] must be a string, got number/);
  assert.throws(
    () => TextVectorizer.fromJSON({ maxTokens: 5, standardize: 'lower', sequenceLength: 3, vocabulary: ['a', '[UNK]'] }),
    /vocabulary/,
  );
  assert.throws(() => TextVectorizer.fromJSON({ maxTokens: 5, standardize: 'lower', vocabulary: ['', '[UNK]'] }), /sequenceLength/);
});
