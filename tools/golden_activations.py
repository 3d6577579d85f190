#!/usr/bin/python3
"""Golden values for descent's activations (src/autograd/activations.ts) from PyTorch 1.13:
F.leaky_relu, F.elu, F.gelu (approximate 'none' and 'tanh'), F.silu, F.softplus and torch.erf,
their gradients and (in float64) their second derivatives, and erf itself from mpmath.

Inputs: zeros of both signs, tiny and large magnitudes of both signs, the points where the
formulas switch (0; erf's 1 and 4, so GELU's √2 and 4√2; softplus's threshold/beta and its float32
neighbours), ±∞ and NaN (the outputs are whatever PyTorch gives, NaN included), and seeded random
values. float32 inputs are float32 numbers written exactly.

activations.json:
  cases:  {name, op, args, dtype, x, y, gy, gx}: y = op(x, ...args) in `dtype`, gx the gradient of
          sum(y·gy) (op and args as descent's functions take them: leakyRelu(x, 0.2), gelu(x, 'tanh')).
  second: {name, op, args, x, gy, w, ggx} in float64 on finite inputs: ggx the gradient of
          sum(gx·w), gx as above computed with create_graph (the gradient of the gradient).
erf.json: {x, erf}: float32 inputs and mpmath's erf of each at 40 digits, rounded to float64.
Non-finite numbers are the strings "NaN", "Infinity", "-Infinity" (JSON has no literal for them).

Run:  /usr/bin/python3 tools/golden_activations.py   (writes test/fixtures/activations/)
"""
import json
import math
import os

import mpmath as mp
import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'activations')
gen = torch.Generator().manual_seed(2024)


def enc(t):
    out = []
    for f in np.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t, dtype=np.float64).reshape(-1).tolist():
        if math.isnan(f):
            out.append('NaN')
        elif math.isinf(f):
            out.append('Infinity' if f > 0 else '-Infinity')
        else:
            out.append(f)
    return out


def uniform(n, lo, hi, dtype):
    return (torch.rand(n, generator=gen, dtype=torch.float64) * (hi - lo) + lo).to(dtype)


SPECIAL = [0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-3, -1e-3, 0.1, -0.1, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5,
           2.0, -2.0, 3.0, -3.0, 5.0, -5.0, 7.0, -7.0, 10.0, -10.0, 15.0, -15.0, 20.0, -20.0, 30.0, -30.0,
           50.0, -50.0, 88.0, -88.0, 100.0, -100.0, 1e4, -1e4, math.inf, -math.inf, math.nan]
# erf's switches at 1 and 4 and GELU's (√2 and 4√2), from both sides
SWITCHES = [v for s in (1.0, 4.0, math.sqrt(2), 4 * math.sqrt(2)) for v in (s * (1 - 1e-6), s, s * (1 + 1e-6))]


def inputs(dtype, extra=()):
    xs = torch.tensor(SPECIAL + SWITCHES + [-v for v in SWITCHES] + list(extra), dtype=torch.float64).to(dtype)
    return torch.cat([xs, uniform(24, -6, 6, dtype)])


def near(v, dtype):
    """v, its float32 (or float64) neighbours, and v ± 1e-3."""
    t = torch.tensor([v], dtype=dtype)
    up = torch.nextafter(t, torch.tensor([math.inf], dtype=dtype))
    down = torch.nextafter(t, torch.tensor([-math.inf], dtype=dtype))
    return [float(down), v, float(up), v - 1e-3, v + 1e-3]


# (name, descent op, descent args, torch function, extra inputs given the dtype)
OPS = [
    ('leaky_relu', 'leakyRelu', [], lambda x: F.leaky_relu(x), None),
    ('leaky_relu negative_slope=0.2', 'leakyRelu', [0.2], lambda x: F.leaky_relu(x, 0.2), None),
    ('leaky_relu negative_slope=-0.5', 'leakyRelu', [-0.5], lambda x: F.leaky_relu(x, -0.5), None),
    ('elu', 'elu', [], lambda x: F.elu(x), None),
    ('elu alpha=0.5', 'elu', [0.5], lambda x: F.elu(x, 0.5), None),
    ('elu alpha=-1', 'elu', [-1.0], lambda x: F.elu(x, -1.0), None),
    ('gelu', 'gelu', [], lambda x: F.gelu(x), None),
    ("gelu approximate='tanh'", 'gelu', ['tanh'], lambda x: F.gelu(x, approximate='tanh'), None),
    ('silu', 'silu', [], lambda x: F.silu(x), None),
    ('softplus', 'softplus', [], lambda x: F.softplus(x), lambda d: near(20.0, d) + near(-20.0, d)),
    ('softplus beta=2 threshold=10', 'softplus', [2.0, 10.0], lambda x: F.softplus(x, 2.0, 10.0), lambda d: near(5.0, d)),
    ('softplus beta=0.5 threshold=5', 'softplus', [0.5, 5.0], lambda x: F.softplus(x, 0.5, 5.0), lambda d: near(10.0, d)),
    ('softplus beta=-1', 'softplus', [-1.0, 20.0], lambda x: F.softplus(x, -1.0, 20.0), lambda d: near(-20.0, d)),
    ('softplus threshold=-1', 'softplus', [1.0, -1.0], lambda x: F.softplus(x, 1.0, -1.0), lambda d: near(-1.0, d)),
    ('erf', 'erf', [], torch.erf, None),
]

cases = []
second = []
for dtype, dname in ((torch.float32, 'float32'), (torch.float64, 'float64')):
    for name, op, args, fn, extra in OPS:
        x = inputs(dtype, extra(dtype) if extra else ()).requires_grad_(True)
        y = fn(x)
        gy = uniform(x.numel(), -1, 1, dtype)
        (gx,) = torch.autograd.grad((y * gy).sum(), x)
        cases.append({'name': f'{name} {dname}', 'op': op, 'args': args, 'dtype': dname,
                      'x': enc(x), 'y': enc(y), 'gy': enc(gy), 'gx': enc(gx)})
        if dtype is torch.float64:
            # finite inputs of moderate size: 0 and the switches included
            xf = torch.cat([torch.tensor([0.0, 1e-3, -1e-3, 1.0, -1.0, 3.0, -3.0, 10.0, -10.0] + SWITCHES, dtype=dtype),
                            uniform(16, -5, 5, dtype)]).requires_grad_(True)
            gy2 = uniform(xf.numel(), -1, 1, dtype)
            w = uniform(xf.numel(), -1, 1, dtype)
            (g1,) = torch.autograd.grad((fn(xf) * gy2).sum(), xf, create_graph=True)
            (gg,) = torch.autograd.grad((g1 * w).sum(), xf)
            second.append({'name': name, 'op': op, 'args': args, 'x': enc(xf), 'gy': enc(gy2), 'w': enc(w), 'ggx': enc(gg)})

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'activations.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases, 'second': second}, f, separators=(',', ':'))

mp.mp.dps = 40
grid = np.concatenate([np.linspace(-4.5, 4.5, 1801), np.array(SWITCHES), -np.array(SWITCHES),
                       10.0 ** np.linspace(-30, 0, 61), -(10.0 ** np.linspace(-30, 0, 61))]).astype(np.float32)
with open(os.path.join(OUT, 'erf.json'), 'w') as f:
    json.dump({'x': [float(v) for v in grid], 'erf': [float(mp.erf(mp.mpf(float(v)))) for v in grid]}, f, separators=(',', ':'))
print(f'wrote {len(cases)} cases, {len(second)} second-derivative cases and {len(grid)} erf values to {os.path.normpath(OUT)}')
