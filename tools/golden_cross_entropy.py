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

os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, 'cross_entropy.json')
with open(path, 'w') as f:
    json.dump({'torch': torch.__version__, 'batches': batches}, f)
print('wrote', path)
