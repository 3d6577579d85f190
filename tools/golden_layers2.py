#!/usr/bin/python3
"""Golden values for descent's RMSNorm, the activations of autograd/activations-more.ts and the
Softmax / LogSoftmax layers over a chosen dim, computed by PyTorch in float64 (and float32 where
a case says so). One script, two PyTorch versions, each writing what it has:

  PyTorch 1.13 (activations.json): F.hardtanh (default and (-2, 2.5)), F.relu6, F.hardsigmoid,
    F.hardswish, F.mish, F.selu, F.prelu (one slope; one per channel on [N, C, L]),
    F.softmax / F.log_softmax over dim 0, 1 and -1 of [2, 3, 4].
    cases:  {name, op, args, dtype, x, xshape, y, gy, gx, w?, gw?}: y = op(x, ...args), gx (and gw,
            prelu's weight) the gradient of sum(y·gy).
    second: {name, op, args, x, gy, v, ggx} in float64: ggx the gradient of sum(gx·v), gx as above
            computed with create_graph.
    nonfinite: {name, op, args, x, y, gx} at NaN, ∞ and −∞ (strings "NaN", "Infinity", "-Infinity"),
            gx of sum(y), as PyTorch's vectorised kernels give them.
    The inputs hold the kinks (±3 and their neighbours, hardtanh's and relu6's bounds, 0 of both
    signs) and large magnitudes (mish at ±20, ±30, ±1000), plus seeded random values.
  PyTorch 2.6 (rmsnorm.json): nn.RMSNorm / F.rms_norm (PyTorch 2.4+), with eps None (the dtype's
    machine epsilon) and given, with and without weight, over one and two trailing dimensions.
    cases: {name, dtype, shape, normalized_shape, eps, affine, x, w?, y, gy, gx, gw?}: eps null for
    None; w the weight used (random, so its gradient role shows), gx and gw of sum(y·gy).

Run:  /usr/bin/python3 tools/golden_layers2.py                      (PyTorch 1.13: activations.json)
      ../shared/tools/torch2.sh python tools/golden_layers2.py      (PyTorch 2.6: rmsnorm.json)
Both write under test/fixtures/layers2/.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'layers2')
gen = torch.Generator().manual_seed(7)


def flat(t):
    return [float(v) for v in t.detach().to(torch.float64).reshape(-1).tolist()]


def enc(t):
    """Values as JSON numbers, NaN and ±∞ as the strings "NaN", "Infinity", "-Infinity"."""
    return [('NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity') if math.isinf(v) else v) for v in flat(t)]


def uniform(shape, lo, hi, dtype=torch.float64):
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo).to(dtype)


KINKS = [0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0, 2.5, -2.0, 3.0000001, 2.9999999, -3.0000001, -2.9999999,
         6.0000001, 5.9999999, 1e-8, -1e-8, 0.5, -0.5, 10.0, -10.0, 20.0, -20.0, 30.0, -30.0, 1000.0, -1000.0]


def activations():
    fns = {
        'hardtanh': lambda x: F.hardtanh(x),
        'hardtanh(-2, 2.5)': lambda x: F.hardtanh(x, -2.0, 2.5),
        'relu6': F.relu6,
        'hardsigmoid': F.hardsigmoid,
        'hardswish': F.hardswish,
        'mish': F.mish,
        'selu': F.selu,
    }
    ops = {'hardtanh': ('hardtanh', []), 'hardtanh(-2, 2.5)': ('hardtanh', [-2.0, 2.5]), 'relu6': ('relu6', []),
           'hardsigmoid': ('hardsigmoid', []), 'hardswish': ('hardswish', []), 'mish': ('mish', []), 'selu': ('selu', [])}
    cases, second = [], []
    for dtype, dname in ((torch.float64, 'float64'), (torch.float32, 'float32')):
        base = torch.cat([torch.tensor(KINKS, dtype=torch.float64), uniform([24], -8, 8)]).to(dtype)
        for name, f in fns.items():
            x = base.clone().requires_grad_(True)
            y = f(x)
            gy = uniform(x.shape, -1, 1, dtype)
            (gx,) = torch.autograd.grad((y * gy).sum(), x)
            op, args = ops[name]
            cases.append({'name': name, 'op': op, 'args': args, 'dtype': dname, 'x': flat(x), 'xshape': list(x.shape),
                          'y': flat(y), 'gy': flat(gy), 'gx': flat(gx)})
            if dtype == torch.float64 and name != 'hardsigmoid':
                # second derivatives away from the kinks (1.13 has no double backward for hardsigmoid)
                xs = uniform([16], -5, 5).requires_grad_(True)
                gy2 = uniform([16], -1, 1)
                v = uniform([16], -1, 1)
                (g1,) = torch.autograd.grad((f(xs) * gy2).sum(), xs, create_graph=True)
                (gg,) = torch.autograd.grad((g1 * v).sum(), xs)
                second.append({'name': name, 'op': op, 'args': args, 'x': flat(xs), 'gy': flat(gy2), 'v': flat(v), 'ggx': flat(gg)})
        # prelu: one slope, and one per channel on [N, C, L]
        for pname, xshape, w in (('prelu one slope', [len(KINKS)], torch.tensor([0.25], dtype=dtype)),
                                 ('prelu per channel', [2, 3, 4], torch.tensor([0.1, -0.3, 2.0], dtype=dtype))):
            x = (torch.tensor(KINKS, dtype=dtype) if len(xshape) == 1 else uniform(xshape, -2, 2, dtype))
            if len(xshape) == 3:
                x[0, 0, 0] = 0.0
            x = x.clone().requires_grad_(True)
            wt = w.clone().requires_grad_(True)
            y = F.prelu(x, wt)
            gy = uniform(x.shape, -1, 1, dtype)
            gx, gw = torch.autograd.grad((y * gy).sum(), [x, wt])
            cases.append({'name': pname, 'op': 'prelu', 'args': [], 'dtype': dname, 'x': flat(x), 'xshape': xshape,
                          'w': flat(wt), 'y': flat(y), 'gy': flat(gy), 'gx': flat(gx), 'gw': flat(gw)})
    for dim in (0, 1, -1):
        for fname, f in (('softmax', F.softmax), ('logSoftmax', F.log_softmax)):
            x = uniform([2, 3, 4], -3, 3).requires_grad_(True)
            y = f(x, dim=dim)
            gy = uniform(x.shape, -1, 1)
            (gx,) = torch.autograd.grad((y * gy).sum(), x)
            cases.append({'name': f'{fname} dim {dim}', 'op': fname, 'args': [dim], 'dtype': 'float64', 'x': flat(x),
                          'xshape': [2, 3, 4], 'y': flat(y), 'gy': flat(gy), 'gx': flat(gx)})
    # NaN and ±∞ in a tensor of 64, so they go through PyTorch's vectorised kernels (its scalar
    # kernels, for a tensor's last few elements, differ at NaN)
    nonfinite = []
    for name, f in fns.items():
        x = torch.zeros(64, dtype=torch.float64)
        x[:3] = torch.tensor([math.nan, math.inf, -math.inf])
        x.requires_grad_(True)
        y = f(x)
        (gx,) = torch.autograd.grad(y.sum(), x)
        op, args = ops[name]
        nonfinite.append({'name': name, 'op': op, 'args': args, 'x': enc(x[:3]), 'y': enc(y[:3]), 'gx': enc(gx[:3])})
    return {'torch': torch.__version__, 'cases': cases, 'second': second, 'nonfinite': nonfinite}


def rmsnorm():
    cases = []
    specs = [
        ('[4, 6] over [6], eps None', torch.float64, [4, 6], [6], None, True),
        ('[2, 3, 4, 5] over [4, 5], eps 1e-5', torch.float64, [2, 3, 4, 5], [4, 5], 1e-5, True),
        ('[3, 8] over [8], no affine, eps None', torch.float64, [3, 8], [8], None, False),
        ('[5] over [5], eps 0.1', torch.float64, [5], [5], 0.1, True),
        ('tiny rows, eps None: eps decides', torch.float64, [2, 3], [3], None, True),
        ('[4, 6] over [6], float32, eps None', torch.float32, [4, 6], [6], None, True),
        ('tiny rows float32, eps None', torch.float32, [2, 3], [3], None, True),
    ]
    for name, dtype, shape, ns, eps, affine in specs:
        m = torch.nn.RMSNorm(ns, eps=eps, elementwise_affine=affine, dtype=dtype)
        if affine:
            with torch.no_grad():
                m.weight.copy_(uniform(ns, 0.5, 1.5, dtype))
        x = uniform(shape, -2, 2, dtype)
        if name.startswith('tiny'):
            x = x * (1e-9 if dtype == torch.float64 else 1e-4)
        x.requires_grad_(True)
        y = m(x)
        gy = uniform(shape, -1, 1, dtype)
        params = [x] + ([m.weight] if affine else [])
        grads = torch.autograd.grad((y * gy).sum(), params)
        c = {'name': name, 'dtype': 'float64' if dtype == torch.float64 else 'float32', 'shape': shape,
             'normalized_shape': ns, 'eps': eps, 'affine': affine, 'x': flat(x), 'y': flat(y), 'gy': flat(gy),
             'gx': flat(grads[0])}
        if affine:
            c['w'] = flat(m.weight)
            c['gw'] = flat(grads[1])
        cases.append(c)
    return {'torch': torch.__version__, 'cases': cases}


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', name, 'with torch', torch.__version__)


if __name__ == '__main__':
    if hasattr(torch.nn, 'RMSNorm'):
        write('rmsnorm.json', rmsnorm())
    else:
        write('activations.json', activations())
