import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clip, clipMessage, editDistance, findName, suggest } from '../../src/util/names.js';
import { decimal } from '../../src/util/decimal.js';

test('editDistance counts a swap of neighbours as one edit (Damerau–Levenshtein)', () => {
  assert.equal(editDistance('adma', 'adam'), 1);
  assert.equal(editDistance('adam', 'adam'), 0);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('ab', 'ba'), 1);
  assert.equal(editDistance('ca', 'abc'), 3); // optimal string alignment: no edit of a transposed pair
});

test('suggest finds typos and fragments, and stays quiet for unrelated words', () => {
  const opts = ['sgd', 'adam', 'adamw', 'adamax', 'nadam', 'rmsprop', 'lbfgs'];
  assert.equal(suggest('adma', opts), 'adam');
  assert.equal(suggest('ADMA', opts), 'adam');
  assert.equal(suggest('rmsrpop', opts), 'rmsprop');
  assert.equal(suggest('lbfg', opts), 'lbfgs');
  assert.equal(suggest('resnet', opts), undefined);
  assert.equal(suggest('bacth-size', ['batch-size', 'epochs']), 'batch-size');
  assert.equal(suggest('x'.repeat(100_000), opts), undefined);
});

test('findName matches ignoring case and returns the listed spelling', () => {
  assert.equal(findName('MLP', ['mlp', 'cnn']), 'mlp');
  assert.equal(findName('Strong-Wolfe', ['none', 'strong-wolfe']), 'strong-wolfe');
  assert.equal(findName('mlpx', ['mlp']), undefined);
});

test('clip keeps 60 characters and the length; clipMessage clips each long quoted value once', () => {
  assert.equal(clip('short'), 'short');
  assert.equal(clip('y'.repeat(60)), 'y'.repeat(60));
  assert.equal(clip('y'.repeat(61)), `${'y'.repeat(60)}… (61 characters)`);
  const m = clipMessage(`bad "${'a'.repeat(500)}" and "ok" then ${'b'.repeat(300)}`);
  assert.equal(m, `bad "${'a'.repeat(60)}… (500 characters)" and "ok" then ${'b'.repeat(60)}… (300 characters)`);
  assert.equal(clipMessage(m), m, 'idempotent');
  assert.equal(clipMessage('"x" and some words between quotes "y"'), '"x" and some words between quotes "y"');
});

test('decimal reads only decimal numbers', () => {
  for (const [s, v] of [
    ['1', 1],
    ['-2.5', -2.5],
    ['.5', 0.5],
    ['3.', 3],
    ['1e-3', 0.001],
    ['+4E2', 400],
  ] as const)
    assert.equal(decimal(s), v);
  for (const s of ['0x10', '0b1', '0o7', '1_0', 'Infinity', 'NaN', '', ' 1', '1 ', '1e', 'e1', '--1', '1e999'])
    assert.equal(decimal(s), undefined, s);
});
