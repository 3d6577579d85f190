"""Golden fixtures for the losses beside cross-entropy and MSE, computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_losses.py
Writes test/fixtures/loss/losses.json: a list of cases, each one call of a torch.nn.functional
loss, F.<fn>(x, t, **options, reduction=r), with

  fn, options (descent's names: beta, delta, weight, posWeight, ignoreIndex, logTarget), reduction,
  dtype, shape of x, x, t (a tensor of x's shape; class indices for nll_loss), y (the loss: a list,
  one value for mean/sum/batchmean; null where PyTorch gives NaN), gy (a random output gradient of
  y's shape), gx (the gradient of sum(y * gy) with respect to x) and gt (with respect to t, or null
  where not asked: class indices, and targets where PyTorch's own gradient is infinite or NaN).

smooth_l1_loss with beta 0 is computed as PyTorch 2 computes it, by l1_loss (see torch_fn).
Float32 cases are computed in float32, values written as float64. Elements are placed on the
formulas' edges: |x − t| equal to beta/delta and to 0 (Huber and smooth L1), logits 0 and ±30, ±100
(BCE with logits), probabilities 0 and 1 (BCE's log clamp at −100 and its gradient's 1e-12 floor),
target probabilities 0 (KL's 0·log 0 = 0), ignored rows and a batch with every row ignored (NLL's
0/0 mean).
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
    return [None if v != v else float(v) for v in t.detach().double().reshape(-1).tolist()]


def name_of(dtype):
    return 'float64' if dtype == torch.float64 else 'float32'


cases = []


def torch_fn(fn, kwargs):
    # PyTorch 2's smooth_l1_loss with beta 0 is l1_loss (gradient 0 where x = t); 1.13's own kernel
    # gives -1 there (its backward tests x <= -beta first)
    if fn == 'smooth_l1_loss' and kwargs['beta'] == 0.0:
        return F.l1_loss, {}
    return getattr(F, fn), kwargs


def case(fn, x, t, options, reduction, torch_kwargs, target_grad=True):
    x = x.clone().requires_grad_(True)
    t_in = t.clone().requires_grad_(True) if target_grad else t
    f, kwargs = torch_fn(fn, torch_kwargs)
    y = f(x, t_in, reduction=reduction, **kwargs)
    gy = rnd(*y.shape, dtype=x.dtype, scale=1.5, shift=0.2)
    gx, *rest = torch.autograd.grad((y * gy).sum(), [x, t_in] if target_grad else [x])
    cases.append({
        'fn': fn,
        'options': options,
        'reduction': reduction,
        'dtype': name_of(x.dtype),
        'shape': list(x.shape),
        'x': flat(x),
        't': flat(t) if t.is_floating_point() else [int(v) for v in t.tolist()],
        'y': flat(y),
        'gy': flat(gy),
        'gx': flat(gx),
        'gt': flat(rest[0]) if target_grad else None,
    })


REDUCTIONS = ('none', 'sum', 'mean')

# L1, smooth L1 and Huber, with |x − t| on the knee and at 0
for shape in [(4,), (5, 3), (2, 3, 4)]:
    for dtype in (torch.float32, torch.float64):
        x = rnd(*shape, dtype=dtype, scale=3.0)
        t = rnd(*shape, dtype=dtype, scale=3.0)
        xf, tf = x.reshape(-1), t.reshape(-1)
        tf[0] = xf[0]  # |x − t| = 0
        tf[1] = xf[1] - 1.0  # on the knee of beta = delta = 1
        tf[2] = xf[2] + 0.5  # on the knee of 0.5
        for r in REDUCTIONS:
            case('l1_loss', x, t, {}, r, {})
            for beta in (1.0, 0.5, 0.0, 2.5):
                case('smooth_l1_loss', x, t, {'beta': beta}, r, {'beta': beta})
            for delta in (1.0, 0.5, 2.5):
                case('huber_loss', x, t, {'delta': delta}, r, {'delta': delta})

# BCE with logits: logits at 0 and far out, hard and soft targets, weights and pos_weight
for shape in [(6,), (5, 3)]:
    for dtype in (torch.float32, torch.float64):
        x = rnd(*shape, dtype=dtype, scale=4.0)
        xf = x.reshape(-1)
        xf[0], xf[1], xf[2], xf[3] = 0.0, 30.0, -30.0, 100.0
        xf[4] = -100.0
        hard = (torch.rand(shape, generator=g, dtype=torch.float64) < 0.5).to(dtype)
        soft = torch.rand(shape, generator=g, dtype=torch.float64).to(dtype)
        c = shape[-1]
        w = rnd(*shape, dtype=dtype, scale=0.5, shift=1.0)
        pw = rnd(c, dtype=dtype, scale=1.5, shift=2.0)
        for t in (hard, soft):
            for r in REDUCTIONS:
                case('binary_cross_entropy_with_logits', x, t, {}, r, {})
                case('binary_cross_entropy_with_logits', x, t, {'weight': flat(w)}, r, {'weight': w})
                case('binary_cross_entropy_with_logits', x, t, {'posWeight': flat(pw)}, r, {'pos_weight': pw})
                case('binary_cross_entropy_with_logits', x, t, {'weight': flat(w), 'posWeight': flat(pw)}, r,
                     {'weight': w, 'pos_weight': pw})

# BCE on probabilities: inside (0, 1) with target gradients; with 0 and 1 exactly, without
for shape in [(6,), (4, 3)]:
    for dtype in (torch.float32, torch.float64):
        p = torch.rand(shape, generator=g, dtype=torch.float64).mul(0.98).add(0.01).to(dtype)
        hard = (torch.rand(shape, generator=g, dtype=torch.float64) < 0.5).to(dtype)
        soft = torch.rand(shape, generator=g, dtype=torch.float64).to(dtype)
        w = rnd(shape[-1], dtype=dtype, scale=0.5, shift=1.0)
        edge = p.clone()
        ef = edge.reshape(-1)
        ef[0], ef[1], ef[2], ef[3] = 0.0, 1.0, 1e-30 if dtype == torch.float64 else 1e-30, 1.0 - 1e-7
        edge_t = hard.clone()
        etf = edge_t.reshape(-1)
        etf[0], etf[1] = 1.0, 0.0  # confidently wrong at both ends: each log clamped at −100
        for r in REDUCTIONS:
            for t in (hard, soft):
                case('binary_cross_entropy', p, t, {}, r, {})
                case('binary_cross_entropy', p, t, {'weight': flat(w)}, r, {'weight': w})
            case('binary_cross_entropy', edge, edge_t, {}, r, {}, target_grad=False)
            case('binary_cross_entropy', edge, edge_t, {'weight': flat(w)}, r, {'weight': w}, target_grad=False)

# NLL on log-probabilities: class weights (one of them 0), ignored rows, every row ignored
for n, c in [(1, 2), (5, 3), (8, 10)]:
    for dtype in (torch.float32, torch.float64):
        lp = F.log_softmax(rnd(n, c, dtype=dtype, scale=3.0), dim=1)
        t = torch.randint(0, c, (n,), generator=g)
        t[0] = 1 if n == 1 else 0
        w = rnd(c, dtype=dtype, scale=0.9, shift=1.0)
        w[0] = 0.0
        for r in REDUCTIONS:
            case('nll_loss', lp, t, {}, r, {}, target_grad=False)
            case('nll_loss', lp, t, {'weight': flat(w)}, r, {'weight': w}, target_grad=False)
            if n > 1:
                ti = t.clone()
                ti[1] = -100
                case('nll_loss', lp, ti, {}, r, {}, target_grad=False)
                ti2 = t.clone()
                ti2[-1] = 2
                ti2[0] = 2
                case('nll_loss', lp, ti2, {'ignoreIndex': 2, 'weight': flat(w)}, r, {'ignore_index': 2, 'weight': w},
                     target_grad=False)
                case('nll_loss', lp, torch.full((n,), -100), {}, r, {}, target_grad=False)

# KL divergence: log-probabilities against probabilities (some 0) or log-probabilities
for n, c in [(4, 5), (3, 2)]:
    for dtype in (torch.float32, torch.float64):
        lq = F.log_softmax(rnd(n, c, dtype=dtype, scale=2.0), dim=1)
        p = F.softmax(rnd(n, c, dtype=dtype, scale=2.0), dim=1)
        p0 = p.clone()
        p0[0, 0] = 0.0
        p0[0] = p0[0] / p0[0].sum()
        lp = F.log_softmax(rnd(n, c, dtype=dtype, scale=2.0), dim=1)
        for r in ('none', 'sum', 'mean', 'batchmean'):
            case('kl_div', lq, p, {}, r, {})
            case('kl_div', lq, p0, {}, r, {}, target_grad=False)
            case('kl_div', lq, lp, {'logTarget': True}, r, {'log_target': True})

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'losses.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
print(len(cases), 'cases')
