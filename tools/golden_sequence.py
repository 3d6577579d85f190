"""Golden fixtures for the sequence layers (Conv1d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d,
Embedding, Transpose, Linear on [N, T, F], and BatchNorm1d, LayerNorm on sequences), computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_sequence.py
Writes test/fixtures/sequence/sequence.json. Everything is float64. Each case stores its inputs,
the output and the gradients of sum(y * R) for a random R of the output's shape (`gy`); an
Embedding case stores its integer indices (as numbers) and the weight's gradient, in which repeated
indices add and the padding_idx row stays zero. `train` is a short trajectory: Embedding(50, 8,
padding_idx=0) -> transpose -> Conv1d(8, 6, 3, padding=1) -> ReLU -> AdaptiveAvgPool1d(1) -> Flatten
-> Linear(6, 3) on fixed token data, cross-entropy, Adam(lr=0.01) for 10 steps: the initial
state_dict and the 10 losses.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'sequence')
g = torch.Generator().manual_seed(31415)


def rnd(*shape):
    return torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def case(name, fn, inputs, params):
    ts = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**ts)
    gy = rnd(*y.shape)
    (y * gy).sum().backward()
    out = {'name': name, 'params': params, 'yShape': list(y.shape), 'y': flat(y), 'gy': flat(gy)}
    for k, v in ts.items():
        out[k] = {'shape': list(v.shape), 'data': flat(v), 'grad': flat(v.grad)}
    return out


conv1d = []
for (n, c, l, k, ks, stride, pad, dil, groups) in [
    (2, 3, 11, 4, 3, 1, 0, 1, 1),
    (2, 3, 11, 4, 3, 2, 1, 1, 1),
    (1, 4, 13, 6, 3, 1, 2, 2, 2),
    (2, 4, 9, 4, 5, 3, 2, 1, 4),
    (3, 2, 8, 2, 1, 1, 0, 1, 1),
]:
    conv1d.append(case(f'conv1d {n}x{c}x{l} k{k}x{ks} s{stride} p{pad} d{dil} g{groups}',
                       lambda x, w, b: F.conv1d(x, w, b, stride=stride, padding=pad, dilation=dil, groups=groups),
                       {'x': rnd(n, c, l), 'w': rnd(k, c // groups, ks), 'b': rnd(k)},
                       {'stride': stride, 'padding': pad, 'dilation': dil, 'groups': groups}))

pool1d = []
for (kernel, stride, pad) in [(2, 2, 0), (3, 2, 1), (4, 1, 2), (3, 3, 0)]:
    pool1d.append(case(f'max k{kernel} s{stride} p{pad}',
                       lambda x: F.max_pool1d(x, kernel, stride, pad),
                       {'x': rnd(2, 3, 11)},
                       {'kind': 'max', 'kernel': kernel, 'stride': stride, 'padding': pad}))
for (kernel, stride, pad, incl) in [(2, 2, 0, True), (3, 2, 1, True), (3, 2, 1, False), (4, 1, 2, False), (5, 3, 2, True)]:
    pool1d.append(case(f'avg k{kernel} s{stride} p{pad} incl{incl}',
                       lambda x: F.avg_pool1d(x, kernel, stride, pad, count_include_pad=incl),
                       {'x': rnd(2, 3, 11)},
                       {'kind': 'avg', 'kernel': kernel, 'stride': stride, 'padding': pad, 'countIncludePad': incl}))
for (l, o) in [(10, 4), (10, 5), (7, 1), (5, 7), (12, 5)]:
    pool1d.append(case(f'adaptive {l} -> {o}',
                       lambda x: F.adaptive_avg_pool1d(x, o),
                       {'x': rnd(2, 3, l)},
                       {'kind': 'adaptive', 'outputSize': o}))

embedding = []
for (num, dim, idx, pad) in [
    (10, 4, [[1, 3, 3, 9], [0, 3, 1, 1]], None),
    (10, 4, [[1, 3, 3, 9], [0, 3, 0, 1]], 0),
    (7, 3, [[[6, 2], [2, 6]], [[5, 5], [0, 6]]], -1),
    (5, 2, [4, 4, 4, 2], 2),
]:
    w = rnd(num, dim)
    ids = torch.tensor(idx, dtype=torch.long)
    wt = w.clone().requires_grad_(True)
    y = F.embedding(ids, wt, padding_idx=None if pad is None else (pad if pad >= 0 else num + pad))
    gy = rnd(*y.shape)
    (y * gy).sum().backward()
    embedding.append({'name': f'embedding {num}x{dim} idx{list(ids.shape)} pad{pad}', 'num': num, 'dim': dim,
                      'paddingIdx': pad, 'indices': {'shape': list(ids.shape), 'data': [float(v) for v in ids.reshape(-1).tolist()]},
                      'w': {'shape': [num, dim], 'data': flat(w), 'grad': flat(wt.grad)},
                      'yShape': list(y.shape), 'y': flat(y), 'gy': flat(gy)})

linear = [case('linear [2, 5, 4] -> 3', lambda x, w, b: F.linear(x, w, b),
               {'x': rnd(2, 5, 4), 'w': rnd(3, 4), 'b': rnd(3)}, {}),
          case('linear [2, 3, 2, 4] -> 5', lambda x, w, b: F.linear(x, w, b),
               {'x': rnd(2, 3, 2, 4), 'w': rnd(5, 4), 'b': rnd(5)}, {})]

transpose = [case('transpose -2 -1 of [2, 3, 5]', lambda x: torch.transpose(x, -2, -1), {'x': rnd(2, 3, 5)}, {'dim0': -2, 'dim1': -1}),
             case('transpose 0 2 of [2, 3, 4, 5]', lambda x: torch.transpose(x, 0, 2), {'x': rnd(2, 3, 4, 5)}, {'dim0': 0, 'dim1': 2})]

# BatchNorm1d on [N, C, L] in training mode (batch statistics over N and L) and LayerNorm(D) over the last axis of [N, T, D]
norm = []
bn = nn.BatchNorm1d(3).double()
with torch.no_grad():
    bn.weight.copy_(rnd(3) * 0.5 + 1)
    bn.bias.copy_(rnd(3) * 0.5)
w0, b0 = bn.weight.detach().clone(), bn.bias.detach().clone()
c = case('batchnorm1d [4, 3, 6] training', lambda x, w, b: F.batch_norm(x, torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), w, b, training=True, eps=1e-5),
         {'x': rnd(4, 3, 6) * 2 + 0.5, 'w': w0, 'b': b0}, {'eps': 1e-5})
xb = torch.tensor(c['x']['data'], dtype=torch.float64).reshape(4, 3, 6)
bn.train()
bn(xb)
c['runningMean'] = flat(bn.running_mean)
c['runningVar'] = flat(bn.running_var)
norm.append(c)
norm.append(case('layernorm(5) on [2, 4, 5]', lambda x, w, b: F.layer_norm(x, (5,), w, b, eps=1e-5),
                 {'x': rnd(2, 4, 5) * 3, 'w': rnd(5) * 0.5 + 1, 'b': rnd(5) * 0.5}, {'eps': 1e-5}))


def train_case():
    torch.manual_seed(7)
    model = nn.Sequential()
    model.add_module('0', nn.Embedding(50, 8, padding_idx=0))
    model.add_module('1', Transpose())
    model.add_module('2', nn.Conv1d(8, 6, 3, padding=1))
    model.add_module('3', nn.ReLU())
    model.add_module('4', nn.AdaptiveAvgPool1d(1))
    model.add_module('5', nn.Flatten())
    model.add_module('6', nn.Linear(6, 3))
    model = model.double()
    tokens = torch.randint(1, 50, (6, 9), generator=g)
    tokens[0, 6:] = 0  # padding at the ends of some sequences
    tokens[3, 4:] = 0
    tokens[5, 8] = 0
    labels = torch.randint(0, 3, (6,), generator=g)
    init = {k: {'shape': list(v.shape), 'data': flat(v)} for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = F.cross_entropy(model(tokens), labels)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return {'tokens': {'shape': list(tokens.shape), 'data': [float(v) for v in tokens.reshape(-1).tolist()]},
            'labels': [int(v) for v in labels.tolist()], 'lr': 0.01, 'init': init, 'losses': losses,
            'final': {k: {'shape': list(v.shape), 'data': flat(v)} for k, v in model.state_dict().items()}}


class Transpose(nn.Module):
    def forward(self, x):
        return x.transpose(-2, -1)


os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'sequence.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'conv1d': conv1d, 'pool1d': pool1d, 'embedding': embedding, 'linear': linear,
               'transpose': transpose, 'norm': norm, 'train': train_case()}, f)
print('wrote', os.path.join(OUT, 'sequence.json'))
