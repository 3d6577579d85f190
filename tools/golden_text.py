"""Golden fixtures for descent's TextVectorizer (src/data/text.ts), from Keras' TextVectorization rules.

Run with /usr/bin/python3 (NumPy; TensorFlow is not needed):  /usr/bin/python3 tools/golden_text.py
Writes test/fixtures/text/text.json.

TensorFlow is not installed here, so this script restates in plain Python what Keras'
TextVectorization(output_mode='int', split='whitespace', ngrams=None) does:

- standardize 'lower_and_strip_punctuation': lowercase, then remove every match of Keras'
  DEFAULT_STRIP_REGEX r'[!"#$%&()\\*\\+,-\\./:;<=>?@\\[\\\\\\]^_`{|}~\\']'; 'lower': lowercase only;
  'none': nothing. (Keras lowercases with tf.strings.lower, ASCII letters only; descent and this
  script lowercase all of Unicode, str.lower / toLowerCase. The corpus holds one non-ASCII capital.)
- split: on runs of whitespace, empty pieces dropped.
- adapt (IndexLookup.finalize_state): count every token of every text, drop the special tokens ''
  and '[UNK]', order by `np.lexsort((tokens, counts))[::-1]` over the tokens' UTF-8 bytes (count
  descending, ties by token descending), keep the first max_tokens - 2, and put '' (padding, 0) and
  '[UNK]' (out of vocabulary, 1) in front.
- transform: each token's index (1 when unknown), the first T tokens, post-padded with 0 to T, T being
  output_sequence_length or, in descent, the longest adapted text's token count (Keras pads a batch to
  its own longest text; descent fixes T at adapt so a saved model reads the same length).
"""
import json
import os
import re

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'text')

STRIP = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')


def standardize(text, how):
    if how == 'none':
        return text
    text = text.lower()
    return text if how == 'lower' else STRIP.sub('', text)


def tokens(text, how):
    return [t for t in re.split(r'\s+', standardize(text, how)) if t != '']


def adapt(texts, max_tokens, how):
    counts = {}
    longest = 0
    for text in texts:
        toks = tokens(text, how)
        longest = max(longest, len(toks))
        for t in toks:
            counts[t] = counts.get(t, 0) + 1
    counts.pop('', None)
    counts.pop('[UNK]', None)
    names = list(counts)
    keys = np.array([n.encode('utf-8') for n in names], dtype=object)
    freq = np.array([counts[n] for n in names], dtype=np.int64)
    order = np.lexsort((keys, freq))[::-1][: max_tokens - 2]
    return ['', '[UNK]'] + [names[i] for i in order], max(1, longest)


def transform(texts, vocab, T, how):
    index = {t: i for i, t in enumerate(vocab)}
    rows = []
    for text in texts:
        ids = [index.get(t, 1) for t in tokens(text, how)][:T]
        rows.append(ids + [0] * (T - len(ids)))
    return rows


CORPUS = [
    'The movie was GREAT, great acting!',
    "I didn't like the plot... the ending was bad.",
    'Great: (really) great; the cast -- superb.',
    'bad, BAD, bad movie',
    '   spaces\tand\ttabs\nand newlines   ',
    'Café au lait, café noir',
    'e-mail me @ home; 100% sure [UNK] is a token?',
    '',
    'apple banana cherry',
    'cherry banana apple date',
]

TRANSFORM = [
    'The GREAT movie',
    'unknown words: zebra, quokka!',
    'bad bad bad bad bad bad bad bad bad bad bad bad bad',
    '',
    'CAFÉ and the cast',
    'apple date elderberry',
]

CASES = [
    {'name': 'default', 'maxTokens': 20000, 'standardize': 'lower_and_strip_punctuation'},
    # the cut falls inside a tie: of the tokens seen once, only the highest in descending order stay
    {'name': 'small vocabulary, truncated', 'maxTokens': 9, 'sequenceLength': 4, 'standardize': 'lower_and_strip_punctuation'},
    {'name': 'lower only, padded', 'maxTokens': 30, 'sequenceLength': 16, 'standardize': 'lower'},
    {'name': 'none', 'maxTokens': 12, 'standardize': 'none'},
]


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for c in CASES:
        vocab, longest = adapt(CORPUS, c['maxTokens'], c['standardize'])
        T = c.get('sequenceLength', longest)
        out = dict(c)
        out.update(
            vocabulary=vocab,
            sequenceLength=T,
            tokens=[tokens(t, c['standardize']) for t in TRANSFORM],
            ids=transform(TRANSFORM, vocab, T, c['standardize']),
            adaptIds=transform(CORPUS, vocab, T, c['standardize']),
        )
        cases.append(out)
    with open(os.path.join(OUT, 'text.json'), 'w', encoding='utf-8') as f:
        json.dump({'adapt': CORPUS, 'transform': TRANSFORM, 'cases': cases}, f, ensure_ascii=False, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
