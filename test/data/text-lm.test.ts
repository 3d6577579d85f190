/**
 * TextVectorizer for language models (src/data/text.ts): split 'character' as Keras'
 * tf.strings.unicode_split (code points, whitespace included, after standardize), encode (the whole
 * text, unpadded), decode (joined by '' or ' ', padding dropped, 1 as '[UNK]'), and split in JSON
 * (old JSON without it reads as 'whitespace'). Expected values derived by hand in the comments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextVectorizer, textTokens } from '../../src/index.js';

test("split 'character': code points after standardize, spaces and line breaks are tokens, an astral character is one", () => {
  assert.deepEqual(textTokens('Ab, c!\n😀', 'lower_and_strip_punctuation', 'character'), ['a', 'b', ' ', 'c', '\n', '😀']);
  assert.deepEqual(textTokens('Ab, c', 'none', 'character'), ['A', 'b', ',', ' ', 'c']);
  // é as e + U+0301 is two code points, as unicode_split makes it
  assert.deepEqual(textTokens('e\u0301', 'none', 'character'), ['e', '\u0301']);
});

test("a character vocabulary: by count, ties in descending code point; T the longest text's characters", () => {
  // counts: ' ' 4, a 3, b 2, c 1, d 1 → d (0x64) before c (0x63) at 1
  const v = new TextVectorizer({ split: 'character', standardize: 'none' }).adapt(['a b a', 'b c', ' da']);
  assert.deepEqual(v.vocabulary(), ['', '[UNK]', ' ', 'a', 'b', 'd', 'c']);
  assert.equal(v.sequenceLength, 5);
  assert.deepEqual(Array.from(v.transform(['cab', 'x']).ids), [6, 3, 4, 0, 0, 1, 0, 0, 0, 0]);
});

test('encode gives every id of a text (no padding, no cut to T); decode joins characters with nothing', () => {
  const v = new TextVectorizer({ split: 'character', standardize: 'none', sequenceLength: 2 }).adapt(['hello world']);
  const text = 'low hello, dlrow';
  const ids = v.encode(text);
  assert.equal(ids.length, text.length);
  // ',' was never seen: '[UNK]'
  assert.equal(v.decode(ids), 'low hello[UNK] dlrow');
  assert.equal(v.decode(v.encode('hello world')), 'hello world');
  assert.equal(v.decode([0, ...v.encode('he'), 0]), 'he', 'padding is dropped');
});

test("words: encode standardizes and splits on whitespace, decode joins with ' '", () => {
  const v = new TextVectorizer({ sequenceLength: 2 }).adapt(['the cat sat', 'the dog']);
  // the 2; then ties at 1 in descending order: sat, dog, cat
  assert.deepEqual(v.vocabulary(), ['', '[UNK]', 'the', 'sat', 'dog', 'cat']);
  assert.deepEqual(Array.from(v.encode('The cat,  sat on the dog.')), [2, 5, 3, 1, 2, 4]);
  assert.equal(v.decode(v.encode('The cat,  sat on the dog.')), 'the cat sat [UNK] the dog');
  assert.equal(v.decode(Int32Array.from([2, 0, 0, 5])), 'the cat');
});

test("toJSON keeps split; JSON without split (written before it) reads as 'whitespace'", () => {
  const v = new TextVectorizer({ split: 'character', standardize: 'none' }).adapt(['ab ba']);
  const json = JSON.parse(JSON.stringify(v.toJSON()));
  assert.equal(json.split, 'character');
  const back = TextVectorizer.fromJSON(json);
  assert.equal(back.split, 'character');
  assert.deepEqual(Array.from(back.encode('ab')), Array.from(v.encode('ab')));
  delete json.split;
  const old = TextVectorizer.fromJSON(json);
  assert.equal(old.split, 'whitespace');
  assert.equal(new TextVectorizer().split, 'whitespace');
});

test('bad split, encode and decode arguments are refused by name', () => {
  assert.throws(() => new TextVectorizer({ split: 'chars' as 'character' }), /split/);
  const v = new TextVectorizer({ split: 'character' });
  assert.throws(() => v.encode('a'), /encode: the vectorizer has no vocabulary; call adapt/);
  v.adapt(['ab']);
  assert.throws(() => v.encode(3 as unknown as string), /encode: text must be a string, got number/);
  assert.throws(() => v.decode([2, 4]), /decode: ids\[1\] is 4, expected an integer in \[0, 3\]/);
  assert.throws(() => v.decode([1.5]), /ids\[0\] is 1.5/);
  assert.throws(() => v.decode('ab' as unknown as number[]), /decode: ids must be an array/);
});
