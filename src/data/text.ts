/**
 * Free text as token ids, as Keras' TextVectorization (output_mode 'int', split 'whitespace' or
 * 'character', no ngrams) makes them. Isomorphic.
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
 *   vocabulary   index 0 = '' (padding), 1 = '[UNK]' (any token outside the vocabulary), then the
 *                tokens of the adapted texts by count, most frequent first, at most maxTokens
 *                entries in all. Ties in count go in descending code-point order of the token (what
 *                Keras' IndexLookup gets from `np.lexsort((tokens, counts))[::-1]` over UTF-8
 *                bytes, whose order is the code points'): of "apple" and "banana" seen equally
 *                often, "banana" comes first. The tokens '' and '[UNK]' are never learned.
 *   transform    each text's ids, cut to its first T tokens and post-padded with 0 to T.
 *   encode       one text's ids, all of them (no padding, no cut): a language model's stream.
 *   decode       ids back to text: the tokens joined with '' ('character') or ' ' ('whitespace');
 *                padding (0) is dropped, and 1 reads as '[UNK]' (standardize and '[UNK]' lose
 *                what they lose: decode(encode(s)) is s only for a standardize 'none' character
 *                vocabulary holding every character of s). Keras has no decode: its users index
 *                get_vocabulary() and join, which gives '' for padding too.
 *
 * T is `sequenceLength` when given, else the longest adapted text's token count (at least 1),
 * fixed by adapt (Keras pads each batch to its own longest text instead) so that a saved vectorizer
 * gives every later text the length the model was trained on.
 *
 * Lowercasing is String.prototype.toLowerCase (full Unicode; TensorFlow's tf.strings.lower, which
 * Keras calls without an encoding, lowercases ASCII letters only), so the two differ on non-ASCII
 * capitals.
 */
import { checkOptions, int, oneOf, type SchemaOf } from '../util/options.js';

export type TextStandardize = 'lower_and_strip_punctuation' | 'lower' | 'none';
export type TextSplit = 'whitespace' | 'character';

export interface TextVectorizerOptions {
  /** Entries of the vocabulary, padding and '[UNK]' among them (≥ 3). Default 20000. */
  maxTokens?: number;
  /** Tokens per text (≥ 1). Default: the longest adapted text's token count. */
  sequenceLength?: number;
  /** Default 'lower_and_strip_punctuation'. */
  standardize?: TextStandardize;
  /** Tokens are words ('whitespace', the default) or Unicode characters ('character'). */
  split?: TextSplit;
}

/** What a vectorizer keeps: its settings, vocabulary and T (JSON round-trips). */
export interface TextVectorizerJSON {
  maxTokens: number;
  standardize: TextStandardize;
  /** Optional: JSON without it reads as 'whitespace', the only split a vectorizer without it can have had. */
  split?: TextSplit;
  /** T, the ids per text. */
  sequenceLength: number;
  /** The vocabulary in index order: '' and '[UNK]' first. */
  vocabulary: string[];
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
};

/** Code-point order (that of UTF-8 bytes), which differs from `<` on strings only beyond U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a],
    y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i].codePointAt(0) as number) - (y[i].codePointAt(0) as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
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

function checkTexts(owner: string, texts: unknown): asserts texts is readonly string[] {
  if (!Array.isArray(texts)) throw new TypeError(`${owner}: texts must be an array of strings, got ${typeof texts}`);
  const i = texts.findIndex((t) => typeof t !== 'string');
  if (i >= 0) throw new TypeError(`${owner}: texts[${i}] must be a string, got ${texts[i] === null ? 'null' : typeof texts[i]}`);
}

export class TextVectorizer {
  readonly maxTokens: number;
  readonly standardize: TextStandardize;
  readonly split: TextSplit;
  private fixedLength: number | undefined;
  private vocab: string[] | null = null;
  private index = new Map<string, number>();

  constructor(opts: TextVectorizerOptions = {}) {
    checkOptions('TextVectorizer', opts, schema);
    const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
    // padding and '[UNK]' take two entries: fewer than 3 leaves no room for a learned token
    if (maxTokens < 3) throw new RangeError(`TextVectorizer: maxTokens must be ≥ 3 (padding, '[UNK]' and a token), got ${maxTokens}`);
    if (opts.sequenceLength !== undefined && opts.sequenceLength < 1)
      throw new RangeError(`TextVectorizer: sequenceLength must be ≥ 1, got ${opts.sequenceLength}`);
    this.maxTokens = maxTokens;
    this.standardize = opts.standardize ?? 'lower_and_strip_punctuation';
    this.split = opts.split ?? 'whitespace';
    this.fixedLength = opts.sequenceLength;
  }

  /** Whether adapt (or fromJSON) has given it a vocabulary. */
  get adapted(): boolean {
    return this.vocab !== null;
  }

  /** T, the ids per text; undefined before adapt when no sequenceLength was given. */
  get sequenceLength(): number | undefined {
    return this.fixedLength;
  }

  /** The tokens of one text, standardized and split as this vectorizer does. */
  tokens(text: string): string[] {
    return textTokens(text, this.standardize, this.split);
  }

  /**
   * Learn the vocabulary from `texts` (replacing any earlier one): the most frequent tokens, ties in
   * descending code-point order; and T, when sequenceLength was not given.
   */
  adapt(texts: readonly string[]): this {
    checkTexts('TextVectorizer.adapt', texts);
    const counts = new Map<string, number>();
    let longest = 0;
    for (const text of texts) {
      const toks = this.tokens(text);
      longest = Math.max(longest, toks.length);
      for (const t of toks) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    counts.delete(PAD_TOKEN);
    counts.delete(OOV_TOKEN);
    const learned = [...counts.keys()]
      .sort((a, b) => (counts.get(b) as number) - (counts.get(a) as number) || compareCodePoints(b, a))
      .slice(0, this.maxTokens - 2);
    this.setVocabulary([PAD_TOKEN, OOV_TOKEN, ...learned]);
    if (this.fixedLength === undefined) this.fixedLength = Math.max(1, longest);
    return this;
  }

  private setVocabulary(vocab: string[]): void {
    this.vocab = vocab;
    this.index = new Map(vocab.map((t, i) => [t, i]));
  }

  /** The vocabulary in index order: '' (padding), '[UNK]', then the learned tokens. */
  vocabulary(): string[] {
    if (this.vocab === null) throw new Error('TextVectorizer.vocabulary: call adapt(texts) first');
    return [...this.vocab];
  }

  /** Entries of the vocabulary, padding and '[UNK]' among them: an Embedding needs this many rows. */
  get vocabularySize(): number {
    if (this.vocab === null) throw new Error('TextVectorizer.vocabularySize: call adapt(texts) first');
    return this.vocab.length;
  }

  /** Each text's first T token ids (1 for a token outside the vocabulary), post-padded with 0: ids [N, T] row-major. */
  transform(texts: readonly string[]): { ids: Int32Array; shape: [number, number] } {
    checkTexts('TextVectorizer.transform', texts);
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
   * The ids of the whole of `text`, standardized and split as adapt did: no padding, no cut to T
   * (1 for a token outside the vocabulary). A language model's training stream, or a prompt.
   */
  encode(text: string): Int32Array {
    if (typeof text !== 'string')
      throw new TypeError(`TextVectorizer.encode: text must be a string, got ${text === null ? 'null' : typeof text}`);
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

  toJSON(): TextVectorizerJSON {
    if (this.vocab === null || this.fixedLength === undefined) throw new Error('TextVectorizer.toJSON: call adapt(texts) first');
    return {
      maxTokens: this.maxTokens,
      standardize: this.standardize,
      split: this.split,
      sequenceLength: this.fixedLength,
      vocabulary: [...this.vocab],
    };
  }

  /** A vectorizer as toJSON wrote it; a malformed one is refused naming the field. */
  static fromJSON(json: unknown): TextVectorizer {
    const j = json as Partial<TextVectorizerJSON> | null;
    const bad = (field: string, expected: string): never => {
      throw new TypeError(`TextVectorizer.fromJSON: ${field}: expected ${expected}`);
    };
    if (j === null || typeof j !== 'object') return bad('the value', 'an object { maxTokens, standardize, sequenceLength, vocabulary }');
    const v = new TextVectorizer({ maxTokens: j.maxTokens, standardize: j.standardize, split: j.split, sequenceLength: j.sequenceLength });
    if (j.sequenceLength === undefined) bad('sequenceLength', 'an integer ≥ 1');
    const vocab = j.vocabulary;
    if (!Array.isArray(vocab) || !vocab.every((t) => typeof t === 'string')) return bad('vocabulary', 'an array of strings');
    if (vocab[0] !== PAD_TOKEN || vocab[1] !== OOV_TOKEN)
      bad('vocabulary', `'' and '[UNK]' first, got ${JSON.stringify(vocab.slice(0, 2))}`);
    if (vocab.length > v.maxTokens) bad('vocabulary', `at most maxTokens = ${v.maxTokens} entries, got ${vocab.length}`);
    if (new Set(vocab).size !== vocab.length) bad('vocabulary', 'distinct tokens');
    v.setVocabulary([...vocab]);
    return v;
  }
}
