"""Golden fixture for a character-level causal Transformer language model, trained by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_lm.py
Writes test/fixtures/lm/char_lm.json.

The text is a few sentences written for this fixture. Its vocabulary is built as descent's
TextVectorizer({ split: 'character', standardize: 'none' }) builds it (Keras' rules): '' (0) and
'[UNK]' (1), then the characters by count, most frequent first, ties in descending code point; the
ids are the text's characters through it (the test checks the vectorizer gives the same).

Model (float64), under descent's Sequential names:
  0 Embedding(V, E) → 1 learned positions x + P[0:T] (P ~ N(0, 0.02)) → 2 one pre-norm
  TransformerEncoderLayer(E, H, FF, dropout 0, relu) with a bool causal src_mask →
  3 LayerNorm(E) → 4 Linear(E, V): logits [B, T, V].
Data: next-token windows of T ids with stride T (x = ids[i·T … +T), y = the same shifted by one);
step k takes the windows (4k + j) mod N, j = 0 … 3. Loss: the K-dimensional
F.cross_entropy(logits.transpose(1, 2), y), mean over B·T tokens. Eight Adam steps (lr 0.01).
The fixture holds the initial state_dict, the windows' ids, each step's loss (before the step), and
greedy continuations of the trained model: nanoGPT's generate with the context cropped to the last
T ids, arg-max of the last position, 30 new ids after the text's first 5 ids.
"""
import json
import os
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'lm')
torch.manual_seed(20261208)
torch.set_default_dtype(torch.float64)

TEXT = (
    "The river ran low in August, and the children walked its stones to the far bank. "
    "Their mother called from the porch; nobody answered, for the water was loud. "
    "By evening the clouds came over the hill and the first drops fell on the dry road.\n"
    "Rain, said the old man, is a letter the sky writes slowly."
)


def entry(t):
    return {'shape': list(t.shape), 'data': [float(v) for v in t.detach().reshape(-1).tolist()]}


def vocabulary(text):
    counts = Counter(text)
    learned = [c for c, _ in sorted(counts.items(), key=lambda kv: (kv[1], ord(kv[0])), reverse=True)]
    return ['', '[UNK]'] + learned


class CharLM(nn.Module):
    def __init__(self, V, T, E, H, FF):
        super().__init__()
        self.emb = nn.Embedding(V, E)
        self.pos = nn.Parameter(torch.randn(T, E) * 0.02)
        self.layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, norm_first=True, batch_first=True)
        self.norm = nn.LayerNorm(E)
        self.head = nn.Linear(E, V)

    def forward(self, ids):
        L = ids.shape[1]
        causal = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
        x = self.emb(ids) + self.pos[:L]
        return self.head(self.norm(self.layer(x, src_mask=causal)))


def main():
    vocab = vocabulary(TEXT)
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in TEXT])
    V, T, E, H, FF, B, steps, lr = len(vocab), 16, 16, 2, 32, 4, 8, 0.01
    N = (len(ids) - T - 1) // T + 1
    model = CharLM(V, T, E, H, FF)
    model.train()
    state = {'0.weight': entry(model.emb.weight), '1.weight': entry(model.pos)}
    state.update({f'2.{k}': entry(v) for k, v in model.layer.state_dict().items()})
    state.update({f'3.{k}': entry(v) for k, v in model.norm.state_dict().items()})
    state.update({f'4.{k}': entry(v) for k, v in model.head.state_dict().items()})
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, batches = [], []
    for k in range(steps):
        idx = [(B * k + j) % N for j in range(B)]
        x = torch.stack([ids[i * T:i * T + T] for i in idx])
        y = torch.stack([ids[i * T + 1:i * T + T + 1] for i in idx])
        opt.zero_grad()
        loss = F.cross_entropy(model(x).transpose(1, 2), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
        batches.append(idx)
    model.eval()
    out = ids[:5].unsqueeze(0)
    with torch.no_grad():
        for _ in range(30):
            logits = model(out[:, -T:])[:, -1, :]
            out = torch.cat([out, logits.argmax(-1, keepdim=True)], dim=1)
    fixture = {'torch': torch.__version__, 'text': TEXT, 'vocabulary': vocab, 'ids': ids.tolist(),
               'vocab': V, 'contextLength': T, 'dModel': E, 'nhead': H, 'dimFeedforward': FF, 'lr': lr,
               'windows': N, 'batches': batches, 'state': state, 'losses': losses,
               'prompt': ids[:5].tolist(), 'greedy': out[0].tolist()}
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'char_lm.json')
    with open(path, 'w') as f:
        json.dump(fixture, f, allow_nan=False)
    print('wrote', path, 'V', V, 'windows', N, 'losses', [round(v, 4) for v in losses])


main()
