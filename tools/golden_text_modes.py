"""Golden fixtures for TextVectorizer's bag modes and n-grams (src/data/text.ts), from Keras' rules.

Run with /usr/bin/python3 (pure Python, nothing to install):  /usr/bin/python3 tools/golden_text_modes.py
Writes test/fixtures/text/modes.json.

TensorFlow and Keras are not installed here, so this script restates by hand what Keras 3's
TextVectorization does (keras-team/keras, keras/src/layers/preprocessing/text_vectorization.py and
index_lookup.py, as of Keras 3.x on the master branch, 2025: TextVectorization builds a StringLookup with
mask_token="" whatever the output_mode; IndexLookup does the counting, ordering, idf and encoding):

- terms (TextVectorization._preprocess): standardize 'lower_and_strip_punctuation', split on
  whitespace, then tf.strings.ngrams(tokens, ngram_width=sizes, separator=" "): for each size n in the
  order given, every run of n consecutive tokens joined by one space, left to right; a text with fewer
  than n tokens has no n-gram of size n (preserve_short_sequences is False, no pad values). An integer
  ngrams=k means the sizes 1..k.
- vocabulary (IndexLookup.finalize_state): count every term of every text; drop '' (the mask) and
  '[UNK]'; order by count descending, ties by the term's UTF-8 bytes descending
  (np.lexsort((tokens, counts))[::-1]); keep the first max_tokens - token_start. token_start is 2 in
  'int' ('' at 0, '[UNK]' at 1) and 1 in the other modes (_oov_start_index is 0 there: the mask has no
  index, and get_vocabulary puts '[UNK]' at 0).
- idf (tf_idf only): over the adapted texts, num_documents = the number of texts (empty ones
  included) and document_frequency = the number of texts holding the term at least once;
  idf = log(1 + num_documents / (1 + document_frequency)) for every kept term, and the OOV entry (index
  0) gets the mean of those kept terms' idf ("We cannot compute the real idf weight of OOV in a single
  pass"). pad_to_max_tokens pads the idf with zeros to max_tokens.
- rows (IndexLookup.call + encode_categorical_inputs): a term's index, 0 ('[UNK]') when it is not in
  the vocabulary; 'multi_hot' 1 where an index occurs, 'count' the number of times, 'tf_idf' the count
  times the idf. Width: the vocabulary size, or max_tokens with pad_to_max_tokens.
- 'int' with n-grams: each text's term indices (1 for unknown), cut to T and post-padded with 0;
  descent fixes T at adapt as the longest adapted text's term count.

Keras computes in float32; the fixture is float64 (the test allows float32 rounding).
"""
import json
import math
import os
import re

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'text')

STRIP = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')


def tokens(text):
    return [t for t in re.split(r'\s+', STRIP.sub('', text.lower())) if t != '']


def sizes_of(ngrams):
    return list(range(1, ngrams + 1)) if isinstance(ngrams, int) else list(ngrams)


def terms(text, ngrams):
    toks = tokens(text)
    out = []
    for n in sizes_of(ngrams):
        out += [' '.join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
    return out


def adapt(texts, c):
    mode, ngrams = c['outputMode'], c['ngrams']
    counts, docs = {}, {}
    longest = 0
    for text in texts:
        ts = terms(text, ngrams)
        longest = max(longest, len(ts))
        for t in ts:
            counts[t] = counts.get(t, 0) + 1
        for t in set(ts):
            docs[t] = docs.get(t, 0) + 1
    counts.pop('', None)
    counts.pop('[UNK]', None)
    start = 2 if mode == 'int' else 1
    order = sorted(counts, key=lambda t: (counts[t], t.encode('utf-8')), reverse=True)[: c['maxTokens'] - start]
    vocab = (['', '[UNK]'] if mode == 'int' else ['[UNK]']) + order
    idf = None
    if mode == 'tf_idf':
        n = len(texts)
        learned = [math.log(1 + n / (1 + docs[t])) for t in order]
        idf = [sum(learned) / len(learned)] + learned
        if c.get('padToMaxTokens'):
            idf += [0.0] * (c['maxTokens'] - len(idf))
    return vocab, idf, max(1, longest)


def rows(texts, c, vocab, idf, T):
    index = {t: i for i, t in enumerate(vocab)}
    mode = c['outputMode']
    if mode == 'int':
        out = []
        for text in texts:
            ids = [index.get(t, 1) for t in terms(text, c['ngrams'])][:T]
            out.append(ids + [0] * (T - len(ids)))
        return out
    width = c['maxTokens'] if c.get('padToMaxTokens') else len(vocab)
    out = []
    for text in texts:
        row = [0.0] * width
        for t in terms(text, c['ngrams']):
            row[index.get(t, 0)] += 1
        if mode == 'multi_hot':
            row = [1.0 if x > 0 else 0.0 for x in row]
        elif mode == 'tf_idf':
            row = [x * w for x, w in zip(row, idf)]
        out.append(row)
    return out


CORPUS = [
    'the cat sat on the mat',
    'The cat ate the rat.',
    'a dog sat on the log',
    'the the the dog',
    '',
    'cat dog cat dog',
    'Rat, mat; log!',
]

TRANSFORM = [
    'the cat sat',
    'a zebra sat on the mat the mat',
    '',
    'dog dog dog unknown words here',
    'cat dog',
]

CASES = [
    {'name': 'tf_idf, ngrams 2', 'outputMode': 'tf_idf', 'ngrams': 2, 'maxTokens': 20000},
    # the cut falls inside ties of count 1; the OOV idf is the mean over the kept terms only
    {'name': 'tf_idf, ngrams 2, cut to 8', 'outputMode': 'tf_idf', 'ngrams': 2, 'maxTokens': 8},
    {'name': 'tf_idf, padded to max tokens', 'outputMode': 'tf_idf', 'ngrams': 1, 'maxTokens': 24, 'padToMaxTokens': True},
    {'name': 'count, ngrams 3, cut to 12', 'outputMode': 'count', 'ngrams': 3, 'maxTokens': 12},
    {'name': 'multi_hot, bigrams only', 'outputMode': 'multi_hot', 'ngrams': [2], 'maxTokens': 20000},
    {'name': 'multi_hot, sizes 3 and 1', 'outputMode': 'multi_hot', 'ngrams': [3, 1], 'maxTokens': 20000},
    {'name': 'int, ngrams 2', 'outputMode': 'int', 'ngrams': 2, 'maxTokens': 20000},
    {'name': 'int, sizes 3 and 1, cut to 10', 'outputMode': 'int', 'ngrams': [3, 1], 'maxTokens': 10},
]


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for c in CASES:
        vocab, idf, T = adapt(CORPUS, c)
        out = dict(c)
        out.update(
            vocabulary=vocab,
            terms=[terms(t, c['ngrams']) for t in TRANSFORM],
            rows=rows(TRANSFORM, c, vocab, idf, T),
            adaptRows=rows(CORPUS, c, vocab, idf, T),
        )
        if idf is not None:
            out['idf'] = idf
        if c['outputMode'] == 'int':
            out['sequenceLength'] = T
        cases.append(out)
    with open(os.path.join(OUT, 'modes.json'), 'w', encoding='utf-8') as f:
        json.dump({'adapt': CORPUS, 'transform': TRANSFORM, 'cases': cases}, f, ensure_ascii=False, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
