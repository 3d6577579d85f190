"""Golden fixtures for crossEntropy with class weights and label smoothing, computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_cross_entropy.py
Writes test/fixtures/loss/cross_entropy.json: for each shape [N, C] and dtype, the logits x and
the targets t once, then one case per (weight, label_smoothing, reduction) with the loss y of
F.cross_entropy(x, t, weight=w, label_smoothing=eps, reduction=r), a random output gradient gy
(a scalar for mean and sum, [N] for none) and the gradient gx of sum(y * gy). Values are float64
lists; float32 cases are computed in float32.

Shapes: a batch of one, two classes, more classes than rows, C = 10 as Fashion-MNIST. Weights:
none, and random ones with a zero weight on a class that is a target (it still counts in the
smoothing term of the other rows, and adds nothing to the mean's divisor Σ w[t]). JSON has no NaN,
so every batch has a target of positive weight.

ignoreBatches: the same cases with ignore_index (PyTorch's default -100, and a class index, 1,
ignored although it is a class) on some rows, for ε 0 and 0.1: ignored rows give 0 loss and 0
gradient, drop out of the mean's divisor and lose their smoothing term too. One batch ignores every
row: its mean is 0/0, NaN, written as null (JSON has no NaN), and its gradient 0.

probBatches: probability targets, a float [N, C] of the logits' shape (PyTorch ≥ 1.10):
F.cross_entropy(x, q, weight=w, label_smoothing=eps, reduction=r) with q rows drawn as normalised
exponentials (Dirichlet(1, …, 1)); the last row is halved, so it sums to 0.5 (PyTorch does not
normalise the target, and the gradient's s_i = Σ_c w[c] q_i[c] is then not 1 even without
weights). 'mean' divides by N, not by a sum of weights. gq is the gradient with respect to q.
Every new case draws its random numbers after the first section's, whose values stay as they were.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'loss')
g = torch.Generator().manual_seed(2026)


def rnd(*shape, dtype=torch.float64, scale=1.0, shift=0.0):
    return ((torch.rand(tuple(shape), generator=g, dtype=torch.float64) * 2 - 1) * scale + shift).to(dtype)


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def name_of(dtype):
    return 'float64' if dtype == torch.float64 else 'float32'


batches = []
for n, c in [(1, 2), (5, 3), (3, 7), (16, 10)]:
    for dtype in (torch.float32, torch.float64):
        x0 = rnd(n, c, dtype=dtype, scale=3.0)
        t = torch.randint(0, c, (n,), generator=g)
        # class 0 (zero weight below) is the first row's target, and never every row's: the
        # weighted mean's divisor Σ w[t] stays positive (a batch of one has target 1)
        t[0] = 0 if n > 1 else 1
        if n > 1:
            t[1] = 1 + t[1] % (c - 1)
        w = rnd(c, dtype=dtype, scale=0.9, shift=1.0)
        w[0] = 0.0
        cases = []
        for weighted in (False, True):
            for eps in (0.0, 0.1, 0.3):
                for reduction in ('mean', 'sum', 'none'):
                    x = x0.clone().requires_grad_(True)
                    y = F.cross_entropy(x, t, weight=w if weighted else None, label_smoothing=eps, reduction=reduction)
                    gy = rnd(*y.shape, dtype=dtype, shift=1.0)
                    (y * gy).sum().backward()
                    cases.append({'weighted': weighted, 'labelSmoothing': eps, 'reduction': reduction,
                                  'y': flat(y), 'gy': flat(gy), 'gx': flat(x.grad)})
        batches.append({'shape': [n, c], 'dtype': name_of(dtype), 'x': flat(x0), 't': t.tolist(),
                        'weight': flat(w), 'cases': cases})



def nulls(xs):
    return [None if v != v else v for v in xs]


ignore_batches = []
for n, c, ignore_index, ignored in [(5, 3, -100, [1, 3]), (16, 10, 1, None), (4, 3, -100, [0, 1, 2, 3])]:
    for dtype in (torch.float32, torch.float64):
        x0 = rnd(n, c, dtype=dtype, scale=3.0)
        t = torch.randint(0, c, (n,), generator=g)
        if ignored is None:
            # ignore_index 1 is a class: rows 2 and 5 have it, row 0 keeps class 0 (zero weight)
            t[0] = 0
            t[2] = t[5] = 1
            t[3] = 2
        else:
            t[0] = 2 if len(ignored) < n else t[0]
            t[torch.tensor(ignored)] = ignore_index
        w = rnd(c, dtype=dtype, scale=0.9, shift=1.0)
        w[0] = 0.0
        cases = []
        for weighted in (False, True):
            for eps in (0.0, 0.1):
                for reduction in ('mean', 'sum', 'none'):
                    x = x0.clone().requires_grad_(True)
                    y = F.cross_entropy(x, t, weight=w if weighted else None, ignore_index=ignore_index,
                                        label_smoothing=eps, reduction=reduction)
                    gy = rnd(*y.shape, dtype=dtype, shift=1.0)
                    (y * gy).sum().backward()
                    cases.append({'weighted': weighted, 'labelSmoothing': eps, 'reduction': reduction,
                                  'y': nulls(flat(y)), 'gy': flat(gy), 'gx': flat(x.grad)})
        ignore_batches.append({'shape': [n, c], 'dtype': name_of(dtype), 'x': flat(x0), 't': t.tolist(),
                               'ignoreIndex': ignore_index, 'weight': flat(w), 'cases': cases})

prob_batches = []
for n, c in [(1, 2), (5, 3), (16, 10)]:
    for dtype in (torch.float32, torch.float64):
        x0 = rnd(n, c, dtype=dtype, scale=3.0)
        e = -torch.log(torch.rand((n, c), generator=g, dtype=torch.float64))
        q = e / e.sum(1, keepdim=True)
        q[-1] *= 0.5
        q = q.to(dtype)
        w = rnd(c, dtype=dtype, scale=0.9, shift=1.0)
        w[0] = 0.0
        cases = []
        for weighted in (False, True):
            for eps in (0.0, 0.1):
                for reduction in ('mean', 'sum', 'none'):
                    x = x0.clone().requires_grad_(True)
                    qq = q.clone().requires_grad_(True)
                    y = F.cross_entropy(x, qq, weight=w if weighted else None, label_smoothing=eps, reduction=reduction)
                    gy = rnd(*y.shape, dtype=dtype, shift=1.0)
                    (y * gy).sum().backward()
                    cases.append({'weighted': weighted, 'labelSmoothing': eps, 'reduction': reduction,
                                  'y': flat(y), 'gy': flat(gy), 'gx': flat(x.grad), 'gq': flat(qq.grad)})
        prob_batches.append({'shape': [n, c], 'dtype': name_of(dtype), 'x': flat(x0), 'q': flat(q),
                             'weight': flat(w), 'cases': cases})

os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, 'cross_entropy.json')
with open(path, 'w') as f:
    json.dump({'torch': torch.__version__, 'batches': batches, 'ignoreBatches': ignore_batches,
               'probBatches': prob_batches}, f, allow_nan=False)
print('wrote', path)
