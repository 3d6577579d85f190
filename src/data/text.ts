/**
 * Free text as token ids or as bags of terms, as Keras 3's TextVectorization makes them (split
 * 'whitespace' or 'character', ngrams, output_mode 'int', 'multi_hot', 'count' or 'tf_idf'). Isomorphic.
 *
 *   standardize  'lower_and_strip_punctuation' (default): lowercase, then delete every character of
 *                Keras' DEFAULT_STRIP_REGEX, [!"#$%&()*+,-./:;<=>?@[\]^_`{|}~'];
 *                'lower': lowercase only; 'none': the text as given.
 *   split        'whitespace' (default): on runs of whitespace (JS `\s`); empty pieces are dropped.
 *                'character': into Unicode code points after standardize, as Keras'
 *                tf.strings.unicode_split(x, 'UTF-8'): every character is a token, spaces and
 *                line breaks included (a character-level language model's vocabulary; give it
 *                standardize 'none' to keep case and punctuation). Code points, not grapheme
 *                clusters: an accent written as a combining mark is a token of its own, as in Keras.
 *   ngrams       the terms of a text are its n-grams for each size n in `ngrams` (a number k means
 *                1..k), as tf.strings.ngrams(tokens, sizes, separator=' '): all n-grams of the first
 *                size left to right, then those of the next size; n tokens joined by one space (by
 *                one space under split 'character' too, as in Keras); a text of fewer than n tokens
 *                has no n-gram of size n. Default 1: the terms are the tokens.
 *   vocabulary   outputMode 'int': index 0 = '' (padding), 1 = '[UNK]' (any term outside the
 *                vocabulary); the bag modes have no padding: 0 = '[UNK]'. Then the terms of the
 *                adapted texts by count, most frequent first, at most maxTokens entries in all.
 *                Ties in count go in descending code-point order of the term (what Keras'
 *                IndexLookup gets from `np.lexsort((tokens, counts))[::-1]` over UTF-8 bytes, whose
 *                order is the code points'): of "apple" and "banana" seen equally often, "banana"
 *                comes first. The terms '' and '[UNK]' are never learned.
 *   transform    'int': each text's ids, cut to its first T terms and post-padded with 0 to T.
 *   vectorize    a float32 Tensor, what a TensorDataset takes: 'int' the ids of transform [N, T];
 *                the bag modes one row of width V per text (V the vocabulary size, or maxTokens with
 *                padToMaxTokens, whose extra entries stay 0), out-of-vocabulary terms counted at
 *                index 0: 'multi_hot' 1 where a term occurs, 'count' its number of occurrences,
 *                'tf_idf' that count times the term's idf.
 *   idf          (tf_idf, learned by adapt) log(1 + D / (1 + df)) for each learned term, D the number
 *                of adapted texts (empty ones included) and df the number of them holding the term;
 *                the '[UNK]' entry gets the mean idf of the learned terms (Keras' choice: an unknown
 *                term's document frequency is not known in one pass), 0 when none was learned.
 *                The idf is kept in float64 (Keras: float32) and each row entry rounded once to float32.
 *   encode       'int' only: one text's ids, all of them (no padding, no cut): a language model's stream.
 *   decode       'int' only: ids back to text: the tokens joined with '' ('character') or ' ' ('whitespace');
 *                padding (0) is dropped, and 1 reads as '[UNK]' (standardize and '[UNK]' lose
 *                what they lose: decode(encode(s)) is s only for a standardize 'none' character
 *                vocabulary holding every character of s). Keras has no decode: its users index
 *                get_vocabulary() and join, which gives '' for padding too.
 *
 * T is `sequenceLength` when given, else the longest adapted text's term count (at least 1),
 * fixed by adapt (Keras pads each batch to its own longest text instead) so that a saved vectorizer
 * gives every later text the length the model was trained on.
 *
 * Where descent parts from Keras: padToMaxTokens with 'int' and repeated n-gram sizes are refused
 * (Keras ignores the one and emits the n-grams twice for the other); output_mode 'one_hot', sparse
 * and ragged outputs are not offered. toJSON's sequenceLength is the row width in a bag mode, so a
 * saved vectorizer always says how many values per text a model reads.
 *
 * Lowercasing is String.prototype.toLowerCase (full Unicode; TensorFlow's tf.strings.lower, which
 * Keras calls without an encoding, lowercases ASCII letters only), so the two differ on non-ASCII
 * capitals.
 */
import { Tensor } from '../tensor/tensor.js';
import { bool, checkOptions, int, oneOf, spec, type SchemaOf } from '../util/options.js';

export type TextStandardize = 'lower_and_strip_punctuation' | 'lower' | 'none';
export type TextSplit = 'whitespace' | 'character';
/** 'int': ids per position; the bag modes: one row per text, one entry per vocabulary term. */
export type TextOutputMode = 'int' | 'multi_hot' | 'count' | 'tf_idf';

export interface TextVectorizerOptions {
  /** Entries of the vocabulary, padding (in 'int') and '[UNK]' among them (≥ 3 in 'int', ≥ 2 in a bag mode). Default 20000. */
  maxTokens?: number;
  /** Terms per text (≥ 1), outputMode 'int' only. Default: the longest adapted text's term count. */
  sequenceLength?: number;
  /** Default 'lower_and_strip_punctuation'. */
  standardize?: TextStandardize;
  /** Tokens are words ('whitespace', the default) or Unicode characters ('character'). */
  split?: TextSplit;
  /** Default 'int'. */
  outputMode?: TextOutputMode;
  /** N-gram sizes: k means 1..k, an array the sizes given (distinct, each ≥ 1, in that order). Default 1. */
  ngrams?: number | readonly number[];
  /** Bag modes only: rows of width maxTokens whatever the vocabulary's size (the rest 0). Default false. */
  padToMaxTokens?: boolean;
}

/** What a vectorizer keeps: its settings, vocabulary and T (JSON round-trips). */
export interface TextVectorizerJSON {
  maxTokens: number;
  standardize: TextStandardize;
  /** Optional: JSON without it reads as 'whitespace', the only split a vectorizer without it can have had. */
  split?: TextSplit;
  /** The values per text: T, the ids per text, in 'int'; the row width in a bag mode. */
  sequenceLength: number;
  /** The vocabulary in index order: '' and '[UNK]' first in 'int', '[UNK]' first in a bag mode. */
  vocabulary: string[];
  /** Optional: JSON without it reads as 'int'. */
  outputMode?: TextOutputMode;
  /** Optional: JSON without it reads as 1 (the terms are the tokens). */
  ngrams?: number | number[];
  /** Optional: JSON without it reads as false. */
  padToMaxTokens?: boolean;
  /** tf_idf only: each vocabulary entry's idf, in vocabulary order ('[UNK]' first). */
  idf?: number[];
}

export const PAD_TOKEN = '';
export const OOV_TOKEN = '[UNK]';
export const DEFAULT_MAX_TOKENS = 20000;

// Keras' DEFAULT_STRIP_REGEX: r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']' (`,-\.` is the range , - .)
const STRIP = /[!"#$%&()*+,\-./:;<=>?@[\\\]^_`{|}~']/g;
const WHITESPACE = /\s+/;

const schema: SchemaOf<TextVectorizerOptions> = {
  maxTokens: int,
  sequenceLength: int,
  standardize: oneOf('lower_and_strip_punctuation', 'lower', 'none'),
  split: oneOf('whitespace', 'character'),
  outputMode: oneOf('int', 'multi_hot', 'count', 'tf_idf'),
  ngrams: spec(
    'an integer or an array of integers',
    (v) => Number.isInteger(v) || (Array.isArray(v) && v.every((n) => Number.isInteger(n))),
  ),
  padToMaxTokens: bool,
};

/**
 * Code-point order (that of UTF-8 bytes), which differs from `<` on strings only beyond U+FFFF: at the
 * first differing UTF-16 unit, a surrogate (half of a code point ≥ U+10000) must rank above the units
 * U+E000..U+FFFF, so those two ranges swap places before the units are compared.
 */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i),
      y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  return unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** `text` standardized as `how` says. */
export function standardizeText(text: string, how: TextStandardize = 'lower_and_strip_punctuation'): string {
  if (how === 'none') return text;
  const lower = text.toLowerCase();
  return how === 'lower' ? lower : lower.replace(STRIP, '');
}

/** `text` standardized and split on whitespace (or into its code points, split 'character'): its tokens. */
export function textTokens(text: string, how: TextStandardize = 'lower_and_strip_punctuation', split: TextSplit = 'whitespace'): string[] {
  const s = standardizeText(text, how);
  if (split === 'character') return [...s];
  return s.split(WHITESPACE).filter((t) => t !== '');
}

/** The n-grams of `tokens` for each size in `sizes`, size by size, each left to right, joined by ' ' (tf.strings.ngrams). */
export function textNgrams(tokens: readonly string[], sizes: readonly number[]): string[] {
  if (sizes.length === 1 && sizes[0] === 1) return [...tokens];
  const out: string[] = [];
  for (const n of sizes) for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  return out;
}

function checkTexts(owner: string, texts: unknown): asserts texts is readonly string[] {
  if (!Array.isArray(texts)) throw new TypeError(`${owner}: texts must be an array of strings, got ${typeof texts}`);
  const i = texts.findIndex((t) => typeof t !== 'string');
  if (i >= 0) throw new TypeError(`${owner}: texts[${i}] must be a string, got ${texts[i] === null ? 'null' : typeof texts[i]}`);
}

/** The sizes `ngrams` stands for, or a RangeError naming it. */
function ngramSizes(ngrams: number | readonly number[]): number[] {
  if (typeof ngrams === 'number') {
    if (ngrams < 1) throw new RangeError(`TextVectorizer: ngrams must be ≥ 1, got ${ngrams}`);
    return Array.from({ length: ngrams }, (_, i) => i + 1);
  }
  if (ngrams.length === 0) throw new RangeError('TextVectorizer: ngrams must hold at least one size, got []');
  const bad = ngrams.find((n) => n < 1);
  if (bad !== undefined) throw new RangeError(`TextVectorizer: ngrams sizes must be ≥ 1, got ${bad} in [${ngrams.join(', ')}]`);
  if (new Set(ngrams).size !== ngrams.length)
    throw new RangeError(`TextVectorizer: ngrams sizes must be distinct, got [${ngrams.join(', ')}]`);
  return [...ngrams];
}

export class TextVectorizer {
  readonly maxTokens: number;
  readonly standardize: TextStandardize;
  readonly split: TextSplit;
  readonly outputMode: TextOutputMode;
  /** As given: a number k (sizes 1..k) or the sizes. */
  readonly ngrams: number | readonly number[];
  readonly padToMaxTokens: boolean;
  private readonly sizes: number[];
  private fixedLength: number | undefined;
  private vocab: string[] | null = null;
  private index = new Map<string, number>();
  private idfWeights: Float64Array | null = null;

  constructor(opts: TextVectorizerOptions = {}) {
    checkOptions('TextVectorizer', opts, schema);
    const mode = opts.outputMode ?? 'int';
    const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
    // the special entries ('' and '[UNK]' in 'int', '[UNK]' in a bag mode) leave room for a learned term
    const least = mode === 'int' ? 3 : 2;
    if (maxTokens < least)
      throw new RangeError(
        mode === 'int'
          ? `TextVectorizer: maxTokens must be ≥ 3 (padding, '[UNK]' and a token), got ${maxTokens}`
          : `TextVectorizer: maxTokens must be ≥ 2 ('[UNK]' and a token) with outputMode '${mode}', got ${maxTokens}`,
      );
    if (opts.sequenceLength !== undefined) {
      if (mode !== 'int')
        throw new RangeError(
          `TextVectorizer: sequenceLength applies to outputMode 'int' only (a '${mode}' row has one entry per vocabulary term), got sequenceLength ${opts.sequenceLength} with outputMode '${mode}'`,
        );
      if (opts.sequenceLength < 1) throw new RangeError(`TextVectorizer: sequenceLength must be ≥ 1, got ${opts.sequenceLength}`);
    }
    if (opts.padToMaxTokens && mode === 'int')
      throw new RangeError("TextVectorizer: padToMaxTokens applies to outputMode 'multi_hot', 'count' or 'tf_idf', got outputMode 'int'");
    this.sizes = ngramSizes(opts.ngrams ?? 1);
    this.ngrams = typeof opts.ngrams === 'object' ? [...opts.ngrams] : (opts.ngrams ?? 1);
    this.maxTokens = maxTokens;
    this.standardize = opts.standardize ?? 'lower_and_strip_punctuation';
    this.split = opts.split ?? 'whitespace';
    this.outputMode = mode;
    this.padToMaxTokens = opts.padToMaxTokens ?? false;
    this.fixedLength = opts.sequenceLength;
  }

  /** Whether adapt (or fromJSON) has given it a vocabulary. */
  get adapted(): boolean {
    return this.vocab !== null;
  }

  /** T, the ids per text in 'int'; undefined before adapt when no sequenceLength was given, and in a bag mode. */
  get sequenceLength(): number | undefined {
    return this.fixedLength;
  }

  /** The values per text that vectorize gives: T in 'int'; in a bag mode V, or maxTokens with padToMaxTokens. */
  get outputWidth(): number {
    if (this.vocab === null) throw new Error('TextVectorizer.outputWidth: call adapt(texts) first');
    if (this.outputMode === 'int') return this.fixedLength as number;
    return this.padToMaxTokens ? this.maxTokens : this.vocab.length;
  }

  /** The terms of one text, standardized, split and cut into n-grams as this vectorizer does: what the vocabulary indexes. */
  tokens(text: string): string[] {
    return textNgrams(textTokens(text, this.standardize, this.split), this.sizes);
  }

  /**
   * Learn the vocabulary from `texts` (replacing any earlier one): the most frequent terms, ties in
   * descending code-point order; T, when sequenceLength was not given ('int'); the idf ('tf_idf').
   */
  adapt(texts: readonly string[]): this {
    checkTexts('TextVectorizer.adapt', texts);
    const counts = new Map<string, number>();
    const docs = new Map<string, number>();
    const tfIdf = this.outputMode === 'tf_idf';
    let longest = 0;
    for (const text of texts) {
      const terms = this.tokens(text);
      longest = Math.max(longest, terms.length);
      for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
      if (tfIdf) for (const t of new Set(terms)) docs.set(t, (docs.get(t) ?? 0) + 1);
    }
    counts.delete(PAD_TOKEN);
    counts.delete(OOV_TOKEN);
    const special = this.outputMode === 'int' ? [PAD_TOKEN, OOV_TOKEN] : [OOV_TOKEN];
    const learned = [...counts]
      .sort((a, b) => b[1] - a[1] || compareCodePoints(b[0], a[0]))
      .slice(0, this.maxTokens - special.length)
      .map(([t]) => t);
    this.setVocabulary([...special, ...learned]);
    if (tfIdf) {
      const idf = new Float64Array(learned.length + 1);
      let sum = 0;
      learned.forEach((t, i) => {
        idf[i + 1] = Math.log(1 + texts.length / (1 + (docs.get(t) as number)));
        sum += idf[i + 1];
      });
      idf[0] = learned.length > 0 ? sum / learned.length : 0;
      this.idfWeights = idf;
    }
    if (this.outputMode === 'int' && this.fixedLength === undefined) this.fixedLength = Math.max(1, longest);
    return this;
  }

  private setVocabulary(vocab: string[]): void {
    this.vocab = vocab;
    this.index = new Map(vocab.map((t, i) => [t, i]));
  }

  /** The vocabulary in index order: '' (padding, 'int' only), '[UNK]', then the learned terms. */
  vocabulary(): string[] {
    if (this.vocab === null) throw new Error('TextVectorizer.vocabulary: call adapt(texts) first');
    return [...this.vocab];
  }

  /** Entries of the vocabulary, padding and '[UNK]' among them: an Embedding needs this many rows. */
  get vocabularySize(): number {
    if (this.vocab === null) throw new Error('TextVectorizer.vocabularySize: call adapt(texts) first');
    return this.vocab.length;
  }

  /** tf_idf: the idf of each row entry (outputWidth of them, '[UNK]' first, 0 for padToMaxTokens' extra entries). */
  idf(): Float64Array {
    if (this.outputMode !== 'tf_idf')
      throw new Error(`TextVectorizer.idf: only outputMode 'tf_idf' has an idf, this one is '${this.outputMode}'`);
    if (this.idfWeights === null) throw new Error('TextVectorizer.idf: call adapt(texts) first');
    const out = new Float64Array(this.outputWidth);
    out.set(this.idfWeights);
    return out;
  }

  /** Each text's first T term ids (1 for a term outside the vocabulary), post-padded with 0: ids [N, T] row-major. outputMode 'int' only. */
  transform(texts: readonly string[]): { ids: Int32Array; shape: [number, number] } {
    checkTexts('TextVectorizer.transform', texts);
    if (this.outputMode !== 'int')
      throw new Error(
        `TextVectorizer.transform: gives ids ('int'); outputMode '${this.outputMode}' gives float rows: call vectorize(texts)`,
      );
    if (this.vocab === null || this.fixedLength === undefined)
      throw new Error('TextVectorizer.transform: the vectorizer has no vocabulary; call adapt(texts) first');
    const T = this.fixedLength;
    const ids = new Int32Array(texts.length * T);
    texts.forEach((text, i) => {
      const toks = this.tokens(text);
      for (let t = 0; t < Math.min(T, toks.length); t++) ids[i * T + t] = this.index.get(toks[t]) ?? 1;
    });
    return { ids, shape: [texts.length, T] };
  }

  /**
   * `texts` as a float32 tensor [N, outputWidth], a TensorDataset's inputs: the ids of transform in
   * 'int'; in a bag mode each text's row, out-of-vocabulary terms counted at index 0 ('[UNK]').
   */
  vectorize(texts: readonly string[]): Tensor {
    checkTexts('TextVectorizer.vectorize', texts);
    if (this.vocab === null) throw new Error('TextVectorizer.vectorize: the vectorizer has no vocabulary; call adapt(texts) first');
    if (this.outputMode === 'int') {
      const { ids, shape } = this.transform(texts);
      return new Tensor(Float32Array.from(ids), shape);
    }
    const W = this.outputWidth;
    const rows = new Float32Array(texts.length * W);
    const idf = this.idfWeights;
    // a text's counts by index, kept to the indices it holds: the work is its term count, not W
    const count = new Map<number, number>();
    texts.forEach((text, i) => {
      count.clear();
      for (const t of this.tokens(text)) {
        const j = this.index.get(t) ?? 0;
        count.set(j, (count.get(j) ?? 0) + 1);
      }
      // tf_idf rounds once to float32, count × idf in float64
      for (const [j, c] of count) rows[i * W + j] = this.outputMode === 'multi_hot' ? 1 : idf === null ? c : c * idf[j];
    });
    return new Tensor(rows, [texts.length, W]);
  }

  /**
   * The ids of the whole of `text`, standardized and split as adapt did: no padding, no cut to T
   * (1 for a token outside the vocabulary). A language model's training stream, or a prompt.
   */
  encode(text: string): Int32Array {
    if (typeof text !== 'string')
      throw new TypeError(`TextVectorizer.encode: text must be a string, got ${text === null ? 'null' : typeof text}`);
    this.checkIds('encode');
    if (this.vocab === null) throw new Error('TextVectorizer.encode: the vectorizer has no vocabulary; call adapt(texts) first');
    const toks = this.tokens(text);
    const ids = new Int32Array(toks.length);
    for (let i = 0; i < toks.length; i++) ids[i] = this.index.get(toks[i]) ?? 1;
    return ids;
  }

  /**
   * Ids back to text: their tokens joined with '' (split 'character') or ' ' (split 'whitespace'),
   * padding (0) dropped, 1 as '[UNK]'. An id outside the vocabulary is refused.
   */
  decode(ids: ArrayLike<number>): string {
    this.checkIds('decode');
    if (this.vocab === null) throw new Error('TextVectorizer.decode: the vectorizer has no vocabulary; call adapt(texts) first');
    if (!Array.isArray(ids) && !ArrayBuffer.isView(ids))
      throw new TypeError(
        `TextVectorizer.decode: ids must be an array or a typed array of token ids, got ${ids === null ? 'null' : typeof ids}`,
      );
    const vocab = this.vocab;
    const toks: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= vocab.length)
        throw new RangeError(`TextVectorizer.decode: ids[${i}] is ${id}, expected an integer in [0, ${vocab.length - 1}]`);
      if (id !== 0) toks.push(vocab[id]);
    }
    return toks.join(this.split === 'character' ? '' : ' ');
  }

  /** encode and decode speak the 'int' ids (padding 0, '[UNK]' 1); a bag mode's vocabulary has no padding. */
  private checkIds(method: string): void {
    if (this.outputMode !== 'int')
      throw new Error(
        `TextVectorizer.${method}: works on the ids of outputMode 'int', this vectorizer's outputMode is '${this.outputMode}'`,
      );
  }

  toJSON(): TextVectorizerJSON {
    if (this.vocab === null) throw new Error('TextVectorizer.toJSON: call adapt(texts) first');
    const json: TextVectorizerJSON = {
      maxTokens: this.maxTokens,
      standardize: this.standardize,
      split: this.split,
      sequenceLength: this.outputWidth,
      vocabulary: [...this.vocab],
      outputMode: this.outputMode,
      ngrams: typeof this.ngrams === 'number' ? this.ngrams : [...this.ngrams],
    };
    if (this.padToMaxTokens) json.padToMaxTokens = true;
    if (this.idfWeights !== null) json.idf = Array.from(this.idfWeights);
    return json;
  }

  /** A vectorizer as toJSON wrote it; a malformed one is refused naming the field. */
  static fromJSON(json: unknown): TextVectorizer {
    const j = json as Partial<TextVectorizerJSON> | null;
    const bad = (field: string, expected: string): never => {
      throw new TypeError(`TextVectorizer.fromJSON: ${field}: expected ${expected}`);
    };
    if (j === null || typeof j !== 'object') return bad('the value', 'an object { maxTokens, standardize, sequenceLength, vocabulary }');
    const mode = j.outputMode ?? 'int';
    const v = new TextVectorizer({
      maxTokens: j.maxTokens,
      standardize: j.standardize,
      split: j.split,
      outputMode: j.outputMode,
      ngrams: j.ngrams,
      padToMaxTokens: j.padToMaxTokens,
      sequenceLength: mode === 'int' ? j.sequenceLength : undefined,
    });
    if (!Number.isInteger(j.sequenceLength) || (j.sequenceLength as number) < 1) bad('sequenceLength', 'an integer ≥ 1');
    const vocab = j.vocabulary;
    if (!Array.isArray(vocab) || !vocab.every((t) => typeof t === 'string')) return bad('vocabulary', 'an array of strings');
    if (mode === 'int') {
      if (vocab[0] !== PAD_TOKEN || vocab[1] !== OOV_TOKEN)
        bad('vocabulary', `'' and '[UNK]' first, got ${JSON.stringify(vocab.slice(0, 2))}`);
    } else if (vocab[0] !== OOV_TOKEN || vocab.includes(PAD_TOKEN))
      bad('vocabulary', `'[UNK]' first and no '' (outputMode '${mode}' has no padding), got ${JSON.stringify(vocab.slice(0, 2))}…`);
    if (vocab.length > v.maxTokens) bad('vocabulary', `at most maxTokens = ${v.maxTokens} entries, got ${vocab.length}`);
    if (new Set(vocab).size !== vocab.length) bad('vocabulary', 'distinct tokens');
    v.setVocabulary([...vocab]);
    if (mode !== 'int' && j.sequenceLength !== v.outputWidth)
      bad('sequenceLength', `the row width ${v.outputWidth} (outputMode '${mode}'), got ${j.sequenceLength}`);
    if (mode === 'tf_idf') {
      const idf = j.idf;
      if (!Array.isArray(idf) || idf.length !== vocab.length || !idf.every((w) => typeof w === 'number' && Number.isFinite(w)))
        bad('idf', `${vocab.length} finite numbers, one per vocabulary entry`);
      v.idfWeights = Float64Array.from(idf as number[]);
    } else if (j.idf !== undefined) bad('idf', `nothing: only outputMode 'tf_idf' has an idf, this one is '${mode}'`);
    return v;
  }
}
