"""Golden fixtures for the K-dimensional cross-entropy and NLL loss, computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_cross_entropy_kdim.py
Writes test/fixtures/loss/cross_entropy_kdim.json: batches of input x [N, C, d1…dk] (k = 1: a
sequence model's [B, V, T]; k = 2: [N, C, H, W]) with class-index targets t [N, d1…dk], and per
case (weight, ignore_index, label_smoothing, reduction) the loss y of
F.cross_entropy(x, t, weight=w, ignore_index=k, label_smoothing=eps, reduction=r), a random output
gradient gy (a scalar for mean and sum, [N, d1…dk] for none) and the gradient gx of sum(y * gy).

Targets: some positions hold the ignore index (-100, or class 1 where ignore_index is 1) and class
0 has weight 0, so 'mean' divides by Σ w[t] over the positions not ignored, never by N·d1⋯dk.

nllBatches: the same for F.nll_loss(x, t, weight, ignore_index, reduction) with x taken as given
(log-probabilities: a log_softmax over dim 1 of random logits, detached). probBatches: class
probabilities of x's shape (rows over dim 1 from Dirichlet(1, …, 1)), with the gradient gq with
respect to them. Values are float64 lists; float32 cases are computed in float32.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'loss')
g = torch.Generator().manual_seed(2027)


def rnd(*shape, dtype=torch.float64, scale=1.0, shift=0.0):
    return ((torch.rand(tuple(shape), generator=g, dtype=torch.float64) * 2 - 1) * scale + shift).to(dtype)


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def name_of(dtype):
    return 'float64' if dtype == torch.float64 else 'float32'


def targets(n, c, dims, ignore_index):
    t = torch.randint(0, c, (n, *dims), generator=g)
    f = t.view(-1)
    f[0] = 0  # class 0 weighs 0: it adds nothing to the weighted mean's divisor
    f[1] = ignore_index
    f[-1] = ignore_index
    f[2] = 2
    return t


batches, nll_batches, prob_batches = [], [], []
for (n, c, dims) in [((2, 5, (4,))), ((2, 3, (3, 2)))]:
    for dtype in (torch.float64, torch.float32):
        for ignore_index in (-100, 1):
            x0 = rnd(n, c, *dims, dtype=dtype, scale=3.0)
            t = targets(n, c, dims, ignore_index)
            w = rnd(c, dtype=dtype, scale=0.9, shift=1.0)
            w[0] = 0.0
            cases, nll_cases = [], []
            lp0 = F.log_softmax(x0, 1).detach()
            for weighted in (False, True):
                for reduction in ('mean', 'sum', 'none'):
                    for eps in (0.0, 0.1):
                        x = x0.clone().requires_grad_(True)
                        y = F.cross_entropy(x, t, weight=w if weighted else None, ignore_index=ignore_index,
                                            label_smoothing=eps, reduction=reduction)
                        gy = rnd(*y.shape, dtype=dtype, shift=1.0)
                        (y * gy).sum().backward()
                        cases.append({'weighted': weighted, 'labelSmoothing': eps, 'reduction': reduction,
                                      'y': flat(y), 'yShape': list(y.shape), 'gy': flat(gy), 'gx': flat(x.grad)})
                    lp = lp0.clone().requires_grad_(True)
                    y = F.nll_loss(lp, t, weight=w if weighted else None, ignore_index=ignore_index, reduction=reduction)
                    gy = rnd(*y.shape, dtype=dtype, shift=1.0)
                    (y * gy).sum().backward()
                    nll_cases.append({'weighted': weighted, 'reduction': reduction, 'y': flat(y),
                                      'yShape': list(y.shape), 'gy': flat(gy), 'gx': flat(lp.grad)})
            common = {'shape': [n, c, *dims], 'dtype': name_of(dtype), 't': flat(t), 'ignoreIndex': ignore_index,
                      'weight': flat(w)}
            batches.append({**common, 'x': flat(x0), 'cases': cases})
            nll_batches.append({**common, 'x': flat(lp0), 'cases': nll_cases})
        x0 = rnd(n, c, *dims, dtype=dtype, scale=3.0)
        e = -torch.log(torch.rand((n, c, *dims), generator=g, dtype=torch.float64))
        q = (e / e.sum(1, keepdim=True)).to(dtype)
        w = rnd(c, dtype=dtype, scale=0.9, shift=1.0)
        cases = []
        for weighted in (False, True):
            for reduction in ('mean', 'sum', 'none'):
                for eps in (0.0, 0.1):
                    x = x0.clone().requires_grad_(True)
                    qq = q.clone().requires_grad_(True)
                    y = F.cross_entropy(x, qq, weight=w if weighted else None, label_smoothing=eps, reduction=reduction)
                    gy = rnd(*y.shape, dtype=dtype, shift=1.0)
                    (y * gy).sum().backward()
                    cases.append({'weighted': weighted, 'labelSmoothing': eps, 'reduction': reduction, 'y': flat(y),
                                  'yShape': list(y.shape), 'gy': flat(gy), 'gx': flat(x.grad), 'gq': flat(qq.grad)})
        prob_batches.append({'shape': [n, c, *dims], 'dtype': name_of(dtype), 'x': flat(x0), 'q': flat(q),
                             'weight': flat(w), 'cases': cases})

os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, 'cross_entropy_kdim.json')
with open(path, 'w') as f:
    json.dump({'torch': torch.__version__, 'batches': batches, 'nllBatches': nll_batches, 'probBatches': prob_batches},
              f, allow_nan=False)
print('wrote', path)
