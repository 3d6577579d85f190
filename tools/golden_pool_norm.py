"""Golden fixtures for AdaptiveAvgPool2d and GroupNorm, computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_pool_norm.py
Writes test/fixtures/poolnorm/adaptive_avg_pool.json and group_norm.json. Each case stores the
input x, a random output gradient gy, the output y and the gradients of sum(y * gy) with respect to
the input (gx) and, for an affine GroupNorm, its weight and bias (gweight, gbias), with the layer's
state_dict. Values are float64 lists; float32 cases are computed in float32.

Adaptive pooling: bins that divide the input, bins that do not (and overlap), an output larger than
the input, global average pooling, [C, H, W] input and a None side. GroupNorm: one group, one group
per channel and in between, on [N, C], [N, C, L], [N, C, H, W] and [N, C, D, H, W], inputs far
from zero mean, eps and affine varied.
"""
import json
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'poolnorm')
g = torch.Generator().manual_seed(2025)


def rnd(*shape, dtype=torch.float64, scale=1.0, shift=0.0):
    return ((torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * scale + shift).to(dtype)


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def name_of(dtype):
    return 'float64' if dtype == torch.float64 else 'float32'


adaptive = []
for shape, size, dtype in [
    ((2, 3, 7, 5), (3, 2), torch.float32),  # neither side divides: overlapping bins
    ((2, 3, 7, 5), (3, 2), torch.float64),
    ((1, 2, 3, 4), (5, 6), torch.float32),  # output larger than the input: repeated cells
    ((1, 2, 3, 4), (5, 6), torch.float64),
    ((2, 4, 6, 6), 1, torch.float32),  # global average pooling
    ((3, 2, 5, 3), (1, 1), torch.float64),
    ((2, 4, 6, 8), (3, 4), torch.float32),  # both divide: avg_pool2d's windows
    ((2, 3, 4, 9), (2, 4), torch.float32),  # one divides, the other does not
    ((3, 5, 5), (2, 3), torch.float64),  # [C, H, W]
    ((2, 2, 5, 7), (None, 3), torch.float32),  # None keeps the height
    ((2, 2, 13, 11), (6, 4), torch.float32),
]:
    m = nn.AdaptiveAvgPool2d(size)
    x = rnd(*shape, dtype=dtype, scale=2.0, shift=0.5).requires_grad_(True)
    y = m(x)
    gy = rnd(*y.shape, dtype=dtype)
    (y * gy).sum().backward()
    adaptive.append({'shape': list(shape), 'outputSize': size if isinstance(size, int) else list(size),
                     'dtype': name_of(dtype), 'outShape': list(y.shape),
                     'x': flat(x), 'gy': flat(gy), 'y': flat(y), 'gx': flat(x.grad)})

groupnorm = []
for shape, groups, affine, eps, shift, dtype in [
    ((4, 6, 5, 5), 1, True, 1e-5, 0.5, torch.float32),  # one group: each sample whole
    ((4, 6, 5, 5), 6, True, 1e-5, 0.5, torch.float32),  # one group per channel: instance norm
    ((4, 6, 5, 5), 3, True, 1e-5, 0.5, torch.float32),
    ((3, 6, 4, 3), 2, True, 1e-5, 0.5, torch.float64),
    ((3, 6, 4, 3), 6, True, 1e-5, 0.5, torch.float64),
    ((3, 6, 4, 3), 1, True, 1e-5, 0.5, torch.float64),
    ((5, 8), 4, True, 1e-5, 0.0, torch.float32),  # [N, C]
    ((2, 4, 7), 2, False, 1e-3, 0.0, torch.float64),  # [N, C, L], no affine
    ((2, 6, 3, 4), 2, True, 1e-5, 20.0, torch.float32),  # far from zero mean
    ((1, 4, 2, 3, 2), 2, True, 1e-4, 0.5, torch.float64),  # [N, C, D, H, W], a batch of one
]:
    c = shape[1]
    m = nn.GroupNorm(groups, c, eps=eps, affine=affine).to(dtype)
    if affine:
        with torch.no_grad():
            m.weight.copy_(rnd(c, dtype=dtype, scale=0.5, shift=1.0))
            m.bias.copy_(rnd(c, dtype=dtype, scale=0.5))
    x = rnd(*shape, dtype=dtype, scale=2.0, shift=shift).requires_grad_(True)
    y = m(x)
    gy = rnd(*y.shape, dtype=dtype)
    (y * gy).sum().backward()
    case = {'shape': list(shape), 'groups': groups, 'channels': c, 'affine': affine, 'eps': eps,
            'dtype': name_of(dtype),
            'state': {k: {'shape': list(v.shape), 'data': flat(v)} for k, v in m.state_dict().items()},
            'x': flat(x), 'gy': flat(gy), 'y': flat(y), 'gx': flat(x.grad)}
    if affine:
        case['gweight'] = flat(m.weight.grad)
        case['gbias'] = flat(m.bias.grad)
    groupnorm.append(case)

os.makedirs(OUT, exist_ok=True)
for name, cases in [('adaptive_avg_pool.json', adaptive), ('group_norm.json', groupnorm)]:
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f)
    print('wrote', os.path.join(OUT, name))
