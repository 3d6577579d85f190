"""Golden fixtures for the Transformer decoder and nn.Transformer, computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_decoder.py
Writes test/fixtures/decoder/decoder.json, float64 throughout. For every case the loss is
sum(out * R), R fixed random, and the file holds the output and the gradients of tgt, memory (or
src) and every parameter (by state_dict name). Every parameter is drawn U(-0.5, 0.5) (so no bias is
0 and no LayerNorm is the identity). Modules in training mode with dropout 0, so PyTorch's
inference fast paths (eval only) are never taken.

Masks are written as {shape, data, minusInf}: data the finite values (-inf as 0), minusInf 1 where
the value is -inf (JSON has no infinity); a bool mask is 0/1 with no -inf.

- layers: nn.TransformerDecoderLayer(8, 2, 16, batch_first=True), tgt [2, 5, 8], memory [2, 6, 8]:
  post-norm relu without masks; post-norm relu and pre-norm gelu with bool masks (causal tgt_mask,
  random memory_mask, tgt and memory key padding); post-norm with float masks
  (generate_square_subsequent_mask, random memory_mask) and bool key padding (PyTorch fills those
  keys with -inf: descent's float key padding masks 0 / -inf); pre-norm gelu with per-head
  [N·nhead, T, T] and [N·nhead, T, S] bool masks.
- decoder2_norm: nn.TransformerDecoder of 2 pre-norm gelu layers with a final LayerNorm, bool masks.
- transformer: nn.Transformer(d_model=8, nhead=2, 2 encoder and 2 decoder layers, ff 16), src
  [2, 6, 8], tgt [2, 5, 8], tgt_mask = generate_square_subsequent_mask(5), src_key_padding_mask
  = memory_key_padding_mask, tgt_key_padding_mask; with the gradients of src and tgt.
- train: a seq2seq model (source and target Embedding(7, 8), nn.Transformer(8, 2, 1 + 1 layers, ff
  16), Linear(8, 7)) learning to reverse post-padded sequences (0 = padding, 1 = start): teacher
  forcing with the causal tgt_mask, src padding as src_key_padding_mask and
  memory_key_padding_mask, mean cross-entropy over every target step; eight Adam steps (lr 0.01):
  the initial state_dict (srcEmb., tgtEmb., transformer., out.) and the loss before each step.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'decoder')
torch.manual_seed(20261208)
torch.set_default_dtype(torch.float64)
E, H, FF, N, T, S = 8, 2, 16, 2, 5, 6


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def entry(t):
    return {'shape': list(t.shape), 'data': flat(t)}


def mask_entry(m):
    m = m.double()
    inf = torch.isinf(m)
    return {'shape': list(m.shape), 'data': flat(m.masked_fill(inf, 0)), 'minusInf': [int(v) for v in inf.reshape(-1).tolist()]}


def rnd(*shape):
    return torch.rand(*shape) * 2 - 1


def randomize(m):
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-0.5, 0.5)


def padding(n, length, cut):
    """[n, length] bool, True from cut[i] on: the post-padded steps of each sample."""
    m = torch.zeros(n, length, dtype=torch.bool)
    for i, c in enumerate(cut):
        m[i, c:] = True
    return m


def bool_masks(per_head=False):
    tgt_kpm = padding(N, T, [3, 4])
    mem_kpm = padding(N, S, [4, 6])
    mem_kpm[1, 1] = True
    if per_head:
        tgt_mask = torch.rand(N * H, T, T) < 0.4
        tgt_mask[..., 0] = False  # every target step keeps a key
        memory_mask = torch.rand(N * H, T, S) < 0.4
        memory_mask[..., 0] = False
    else:
        tgt_mask = torch.ones(T, T).triu(diagonal=1).bool()  # nn.MHA's bool: True = not allowed
        memory_mask = torch.rand(T, S) < 0.4
        memory_mask[:, 0] = False
    return {'tgt_mask': tgt_mask, 'memory_mask': memory_mask, 'tgt_key_padding_mask': tgt_kpm,
            'memory_key_padding_mask': mem_kpm}


def float_masks():
    masks = bool_masks()
    masks['tgt_mask'] = nn.Transformer.generate_square_subsequent_mask(T).double()
    masks['memory_mask'] = rnd(T, S)
    return masks


MASK_NAMES = {'tgt_mask': 'tgtMask', 'memory_mask': 'memoryMask', 'tgt_key_padding_mask': 'tgtKeyPaddingMask',
              'memory_key_padding_mask': 'memoryKeyPaddingMask', 'src_key_padding_mask': 'srcKeyPaddingMask'}


def decoder_case(name, model, options, masks=None, kind='bool'):
    randomize(model)
    model.train()
    masks = masks or {}
    tgt = rnd(N, T, E).requires_grad_(True)
    mem = rnd(N, S, E).requires_grad_(True)
    out = model(tgt, mem, **masks)
    R = rnd(*out.shape)
    (out * R).sum().backward()
    return {'name': name, 'options': options, 'maskKind': kind,
            'masks': {MASK_NAMES[k]: mask_entry(v) for k, v in masks.items()},
            'state': {k: entry(t) for k, t in model.state_dict().items()},
            'tgt': entry(tgt), 'memory': entry(mem), 'out': entry(out), 'R': flat(R),
            'gtgt': flat(tgt.grad), 'gmemory': flat(mem.grad),
            'grads': {k: flat(p.grad) for k, p in model.named_parameters()}}


def layer(**kw):
    return nn.TransformerDecoderLayer(E, H, FF, dropout=0.0, batch_first=True, **kw)


def decoder_cases():
    opt = {'dModel': E, 'nhead': H, 'dimFeedforward': FF, 'dropout': 0}
    pre = {**opt, 'activation': 'gelu', 'normFirst': True}
    dec = nn.TransformerDecoder(layer(activation='gelu', norm_first=True), 2, norm=nn.LayerNorm(E))
    return [
        decoder_case('post_relu', layer(), opt),
        decoder_case('post_relu_bool', layer(), opt, bool_masks()),
        decoder_case('pre_gelu_bool', layer(activation='gelu', norm_first=True), pre, bool_masks()),
        decoder_case('post_float', layer(), opt, float_masks(), 'float'),
        decoder_case('pre_gelu_per_head', layer(activation='gelu', norm_first=True), pre, bool_masks(per_head=True)),
        decoder_case('decoder2_norm', dec, {**pre, 'numLayers': 2}, bool_masks()),
    ]


def transformer_case():
    model = nn.Transformer(E, H, 2, 2, FF, dropout=0.0, batch_first=True)
    randomize(model)
    model.train()
    src = rnd(N, S, E).requires_grad_(True)
    tgt = rnd(N, T, E).requires_grad_(True)
    src_kpm = padding(N, S, [4, 6])
    src_kpm[1, 2] = True
    masks = {'tgt_mask': nn.Transformer.generate_square_subsequent_mask(T).double(), 'src_key_padding_mask': src_kpm,
             'tgt_key_padding_mask': padding(N, T, [5, 3]), 'memory_key_padding_mask': src_kpm}
    out = model(src, tgt, **masks)
    R = rnd(*out.shape)
    (out * R).sum().backward()
    return {'options': {'dModel': E, 'nhead': H, 'numEncoderLayers': 2, 'numDecoderLayers': 2, 'dimFeedforward': FF,
                        'dropout': 0},
            'masks': {MASK_NAMES[k]: mask_entry(v) for k, v in masks.items()},
            'state': {k: entry(t) for k, t in model.state_dict().items()},
            'src': entry(src), 'tgt': entry(tgt), 'out': entry(out), 'R': flat(R),
            'gsrc': flat(src.grad), 'gtgt': flat(tgt.grad),
            'grads': {k: flat(p.grad) for k, p in model.named_parameters()}}


class Seq2Seq(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.srcEmb = nn.Embedding(V, E)
        self.tgtEmb = nn.Embedding(V, E)
        self.transformer = nn.Transformer(E, H, 1, 1, FF, dropout=0.0, batch_first=True)
        self.out = nn.Linear(E, V)

    def forward(self, src, tgt_in):
        pad = src == 0
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1])
        h = self.transformer(self.srcEmb(src), self.tgtEmb(tgt_in), tgt_mask=causal, src_key_padding_mask=pad,
                             memory_key_padding_mask=pad)
        return self.out(h)


def train():
    V, n, L, steps = 7, 4, 5, 8
    model = Seq2Seq(V)
    model.train()
    src = torch.randint(2, V, (n, L))
    y = torch.zeros(n, L, dtype=torch.long)
    for i, length in enumerate([5, 3, 4, 2]):
        src[i, length:] = 0
        y[i, :length] = src[i, :length].flip(0)  # the reversed sequence, then padding (0) as the target
    tgt_in = torch.cat([torch.ones(n, 1, dtype=torch.long), y[:, :-1]], dim=1)  # 1 = start
    state = {k: entry(v) for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(src, tgt_in).reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return {'vocab': V, 'dModel': E, 'nhead': H, 'dimFeedforward': FF, 'lr': 0.01, 'state': state,
            'src': entry(src.double()), 'tgtIn': entry(tgt_in.double()), 'y': [int(v) for v in y.reshape(-1)],
            'losses': losses}


def main():
    os.makedirs(OUT, exist_ok=True)
    data = {'torch': torch.__version__, 'layers': decoder_cases(), 'transformer': transformer_case(), 'train': train()}
    with open(os.path.join(OUT, 'decoder.json'), 'w') as f:
        json.dump(data, f, allow_nan=False)
        f.write('\n')


if __name__ == '__main__':
    main()
