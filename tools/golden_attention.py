"""Golden fixtures for attention and the Transformer encoder, computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_attention.py
Writes test/fixtures/attention/attention.json, float64 throughout. For every case the loss is
sum(out * R) (+ sum(weights * W) where attention weights are returned), R and W fixed random, and
the file holds the outputs and the gradients of every input and parameter (by state_dict name).

- sdpa: scaled dot-product attention. PyTorch 1.13 has no F.scaled_dot_product_attention, so the
  reference is its formula in torch ops, PyTorch 2's conventions: softmax(q kᵀ · scale + mask) v,
  a bool mask True = attend (masked_fill of the others with -inf), a float mask added, is_causal the
  lower triangle of ones(L, S). Cases: plain 4-D, 3-D, float mask, bool mask, causal (L ≠ S), scale.
- mha: nn.MultiheadAttention(batch_first=True) with every parameter drawn U(-0.5, 0.5) (so no bias is
  0): self-attention, cross-attention L ≠ S with per-head weights, kdim/vdim ≠ E, key_padding_mask,
  bool and float attn_mask, need_weights=False, bias=False. Module in training mode with dropout 0,
  so PyTorch's inference fast path (eval only) is never taken.
- allPaddedNaN: whether PyTorch's MHA output is NaN for a sample whose keys are all padding.
- layers: nn.TransformerEncoderLayer post-norm relu, pre-norm gelu with src_key_padding_mask,
  post-norm with a bool causal src_mask; nn.TransformerEncoder of 2 pre-norm gelu layers with a
  final LayerNorm and src_key_padding_mask. Training mode, dropout 0 (no fast path).
- train: Embedding → learned positions (descent's PositionalEmbedding: x + P[0:L]) →
  TransformerEncoder(2 pre-norm gelu layers, final norm) → mean over L → Linear; ten Adam steps
  (lr 0.01) on the mean cross-entropy: the initial state_dict under descent's Sequential names
  (0. embedding, 1. positions, 2. encoder, 4. linear) and the loss before each step.
- trainMasked: the same classifier on post-padded ids (padding id 0, Embedding padding_idx=0, each
  sample 2..L tokens long): src_key_padding_mask = (ids == 0) for every encoder layer and the mean
  over each sample's other steps (Keras' masked GlobalAveragePooling1D); ten Adam steps as train.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'attention')
torch.manual_seed(20261207)
torch.set_default_dtype(torch.float64)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def entry(t):
    return {'shape': list(t.shape), 'data': flat(t)}


def rnd(*shape):
    return torch.rand(*shape) * 2 - 1


def randomize(m):
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-0.5, 0.5)


def sdpa_ref(q, k, v, mask=None, is_causal=False, scale=None):
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale
    if is_causal:
        mask = torch.ones(L, S).tril(diagonal=0).bool()
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float('-inf'))
        else:
            scores = scores + mask
    return torch.softmax(scores, dim=-1) @ v


def sdpa_case(name, qs, ks, vs, mask=None, kind=None, is_causal=False, scale=None):
    q, k, v = (rnd(*s).requires_grad_(True) for s in (qs, ks, vs))
    out = sdpa_ref(q, k, v, mask, is_causal, scale)
    R = rnd(*out.shape)
    (out * R).sum().backward()
    res = {'name': name, 'q': entry(q), 'k': entry(k), 'v': entry(v), 'out': entry(out), 'R': flat(R),
           'gq': flat(q.grad), 'gk': flat(k.grad), 'gv': flat(v.grad), 'isCausal': is_causal}
    if mask is not None:
        res['mask'] = entry(mask.double())
        res['maskKind'] = kind
    if scale is not None:
        res['scale'] = scale
    return res


def sdpa_cases():
    bool_mask = torch.rand(2, 1, 4, 6) < 0.6
    bool_mask[..., 0] = True  # every query keeps a key: no NaN row
    return [
        sdpa_case('plain4d', (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)),
        sdpa_case('plain3d', (2, 4, 5), (2, 6, 5), (2, 6, 3)),
        sdpa_case('float_mask', (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), rnd(4, 6), 'float'),
        sdpa_case('bool_mask', (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), bool_mask, 'bool'),
        sdpa_case('causal', (2, 4, 5), (2, 6, 5), (2, 6, 3), is_causal=True),
        sdpa_case('scale', (2, 4, 5), (2, 4, 5), (2, 4, 5), scale=0.7),
    ]


def mha_case(name, E, H, N, L, S, kdim=None, vdim=None, bias=True, self_attn=False, kpm=None, am=None,
             need_weights=True, average=True):
    m = nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)
    randomize(m)
    m.train()
    if self_attn:
        q = rnd(N, L, E).requires_grad_(True)
        k = v = q
    else:
        q = rnd(N, L, E).requires_grad_(True)
        k = rnd(N, S, kdim or E).requires_grad_(True)
        v = rnd(N, S, vdim or E).requires_grad_(True)
    out, w = m(q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights,
               average_attn_weights=average)
    R = rnd(*out.shape)
    loss = (out * R).sum()
    W = None
    if w is not None:
        W = rnd(*w.shape)
        loss = loss + (w * W).sum()
    loss.backward()
    res = {'name': name, 'embedDim': E, 'numHeads': H, 'options': {'bias': bias},
           'state': {k_: entry(t) for k_, t in m.state_dict().items()},
           'query': entry(q), 'out': entry(out), 'R': flat(R), 'gquery': flat(q.grad),
           'selfAttention': self_attn, 'needWeights': need_weights, 'average': average,
           'grads': {k_: flat(p.grad) for k_, p in m.named_parameters()}}
    if kdim:
        res['options']['kdim'] = kdim
    if vdim:
        res['options']['vdim'] = vdim
    if not self_attn:
        res.update({'key': entry(k), 'value': entry(v), 'gkey': flat(k.grad), 'gvalue': flat(v.grad)})
    if w is not None:
        res.update({'weights': entry(w), 'W': flat(W)})
    if kpm is not None:
        res['keyPaddingMask'] = entry(kpm.double())
    if am is not None:
        res['attnMask'] = entry(am.double())
        res['maskKind'] = 'bool' if am.dtype == torch.bool else 'float'
    return res


def mha_cases():
    kpm = torch.zeros(2, 6, dtype=torch.bool)
    kpm[0, 4:] = True
    kpm[1, 1] = True
    am_bool = torch.rand(4, 6) < 0.3
    am_bool[:, 0] = False  # every query keeps a key
    return [
        mha_case('self', 8, 2, 2, 5, 5, self_attn=True),
        mha_case('cross_per_head', 8, 2, 2, 4, 6, average=False),
        mha_case('kdim_vdim', 8, 4, 2, 4, 6, kdim=6, vdim=5),
        mha_case('key_padding', 8, 2, 2, 4, 6, kpm=kpm),
        mha_case('attn_mask_bool', 8, 2, 2, 4, 6, am=am_bool),
        mha_case('attn_mask_float', 8, 2, 2, 4, 6, am=rnd(4, 4, 6)),
        mha_case('no_weights', 8, 2, 2, 5, 5, self_attn=True, need_weights=False),
        mha_case('no_bias', 8, 2, 2, 4, 6, bias=False),
    ]


def all_padded_nan():
    m = nn.MultiheadAttention(4, 2, batch_first=True)
    m.train()
    x = rnd(2, 3, 4)
    kpm = torch.zeros(2, 3, dtype=torch.bool)
    kpm[1] = True
    out, _ = m(x, x, x, key_padding_mask=kpm)
    return {'sample0Finite': bool(torch.isfinite(out[0]).all()), 'sample1NaN': bool(torch.isnan(out[1]).all())}


def layer_case(name, model, options, N, L, E, kpm=None, mask=None, encoder=None):
    randomize(model)
    model.train()
    x = rnd(N, L, E).requires_grad_(True)
    if encoder:
        out = model(x, mask=mask, src_key_padding_mask=kpm)
    else:
        out = model(x, src_mask=mask, src_key_padding_mask=kpm)
    R = rnd(*out.shape)
    (out * R).sum().backward()
    res = {'name': name, 'options': options, 'encoder': encoder,
           'state': {k: entry(t) for k, t in model.state_dict().items()},
           'x': entry(x), 'out': entry(out), 'R': flat(R), 'gx': flat(x.grad),
           'grads': {k: flat(p.grad) for k, p in model.named_parameters()}}
    if kpm is not None:
        res['keyPaddingMask'] = entry(kpm.double())
    if mask is not None:
        res['srcMask'] = entry(mask.double())
    return res


def layer_cases():
    E, H, FF = 8, 2, 16
    kpm = torch.zeros(2, 5, dtype=torch.bool)
    kpm[0, 3:] = True
    causal = torch.ones(5, 5).triu(diagonal=1).bool()  # nn.MHA's bool: True = not allowed
    post = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, batch_first=True)
    pre = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation='gelu', norm_first=True, batch_first=True)
    masked = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, batch_first=True)
    base = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation='gelu', norm_first=True, batch_first=True)
    enc = nn.TransformerEncoder(base, 2, norm=nn.LayerNorm(E), enable_nested_tensor=False)
    opt = {'dModel': E, 'nhead': H, 'dimFeedforward': FF, 'dropout': 0}
    return [
        layer_case('post_relu', post, opt, 2, 5, E),
        layer_case('pre_gelu_padding', pre, {**opt, 'activation': 'gelu', 'normFirst': True}, 2, 5, E, kpm=kpm),
        layer_case('post_causal_mask', masked, opt, 2, 5, E, mask=causal),
        layer_case('encoder2_norm', enc, {**opt, 'activation': 'gelu', 'normFirst': True, 'numLayers': 2}, 2, 5, E,
                   kpm=kpm, encoder=True),
    ]


class Classifier(nn.Module):
    def __init__(self, V, maxlen, E, H, FF, C):
        super().__init__()
        self.emb = nn.Embedding(V, E)
        self.pos = nn.Parameter(torch.randn(maxlen, E) * 0.02)
        layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation='gelu', norm_first=True, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(E), enable_nested_tensor=False)
        self.lin = nn.Linear(E, C)

    def forward(self, ids, pad=None):
        x = self.emb(ids)
        x = x + self.pos[: ids.shape[1]]
        if pad is None:
            return self.lin(self.enc(x).mean(dim=1))
        mask = ids == pad
        keep = (~mask).double().unsqueeze(2)
        h = self.enc(x, src_key_padding_mask=mask)
        return self.lin((h * keep).sum(dim=1) / keep.sum(dim=1))


def train():
    V, maxlen, E, H, FF, C, N, L = 11, 10, 8, 2, 16, 3, 6, 7
    model = Classifier(V, maxlen, E, H, FF, C)
    model.train()
    ids = torch.randint(0, V, (N, L))
    y = torch.randint(0, C, (N,))
    state = {'0.weight': entry(model.emb.weight), '1.weight': entry(model.pos)}
    state.update({f'2.{k}': entry(v) for k, v in model.enc.state_dict().items()})
    state.update({f'4.{k}': entry(v) for k, v in model.lin.state_dict().items()})
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = F.cross_entropy(model(ids), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return {'vocab': V, 'maxLength': maxlen, 'dModel': E, 'nhead': H, 'dimFeedforward': FF, 'classes': C,
            'lr': 0.01, 'state': state, 'ids': entry(ids.double()), 'y': [int(v) for v in y], 'losses': losses}


def train_masked():
    V, maxlen, E, H, FF, C, N, L = 11, 10, 8, 2, 16, 3, 6, 7
    model = Classifier(V, maxlen, E, H, FF, C)
    with torch.no_grad():
        model.emb = nn.Embedding(V, E, padding_idx=0)
    model.train()
    ids = torch.randint(1, V, (N, L))
    for i, n in enumerate(torch.randint(2, L + 1, (N,)).tolist()):
        ids[i, n:] = 0
    y = torch.randint(0, C, (N,))
    state = {'0.weight': entry(model.emb.weight), '1.weight': entry(model.pos)}
    state.update({f'2.{k}': entry(v) for k, v in model.enc.state_dict().items()})
    state.update({f'4.{k}': entry(v) for k, v in model.lin.state_dict().items()})
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = F.cross_entropy(model(ids, pad=0), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return {'vocab': V, 'maxLength': maxlen, 'dModel': E, 'nhead': H, 'dimFeedforward': FF, 'classes': C,
            'lr': 0.01, 'state': state, 'ids': entry(ids.double()), 'y': [int(v) for v in y], 'losses': losses}


def main():
    os.makedirs(OUT, exist_ok=True)
    data = {'torch': torch.__version__, 'sdpa': sdpa_cases(), 'mha': mha_cases(), 'allPadded': all_padded_nan(),
            'layers': layer_cases(), 'train': train(), 'trainMasked': train_masked()}
    with open(os.path.join(OUT, 'attention.json'), 'w') as f:
        json.dump(data, f)
        f.write('\n')


if __name__ == '__main__':
    main()
