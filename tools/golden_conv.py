"""Golden fixtures for convolution, pooling and fractional max pooling, computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_conv.py [FILE.json ...]
Writes test/fixtures/conv/*.json, or only the files named (another build of PyTorch may round a
convolution's last bit differently, so regenerating a committed file can change its bytes). Every case stores its inputs, the output and the gradients of
sum(y * gy) for a given random gy, all in float64 (FMP also in float32, because PyTorch computes its
interval sequence in the input's dtype).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'conv')
g = torch.Generator().manual_seed(1234)


def rnd(*shape, dtype=torch.float64, gen=None):
    return (torch.rand(*shape, generator=gen or g, dtype=torch.float64) * 2 - 1).to(dtype)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def case(name, fn, inputs, params, gen=None):
    ts = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**ts)
    gy = rnd(*y.shape, dtype=y.dtype, gen=gen)
    (y * gy).sum().backward()
    out = {'name': name, 'params': params, 'yShape': list(y.shape), 'y': flat(y), 'gy': flat(gy)}
    for k, v in ts.items():
        out[k] = {'shape': list(v.shape), 'data': flat(v), 'grad': flat(v.grad)}
    return out


conv = []
for (n, c, h, w, k, kh, kw, stride, pad) in [
    (2, 3, 7, 6, 4, 3, 3, (1, 1), (0, 0)),
    (2, 3, 7, 6, 4, 3, 3, (2, 2), (1, 1)),
    (1, 2, 8, 8, 3, 5, 5, (1, 1), (2, 2)),
    (2, 2, 6, 7, 3, 2, 3, (2, 1), (1, 0)),
]:
    conv.append(case(f'conv {n}x{c}x{h}x{w} k{k}x{kh}x{kw} s{stride} p{pad}',
                     lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad),
                     {'x': rnd(n, c, h, w), 'w': rnd(k, c, kh, kw), 'b': rnd(k)},
                     {'stride': list(stride), 'padding': list(pad)}))

pool = []
for (kernel, stride, pad) in [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (1, 2), (0, 1))]:
    pool.append(case(f'max k{kernel} s{stride} p{pad}',
                     lambda x: F.max_pool2d(x, kernel, stride, pad),
                     {'x': rnd(2, 3, 7, 8)},
                     {'kind': 'max', 'kernel': list(kernel), 'stride': list(stride), 'padding': list(pad)}))
for (kernel, stride, pad, incl) in [((2, 2), (2, 2), (0, 0), True), ((3, 3), (2, 2), (1, 1), True), ((3, 3), (2, 2), (1, 1), False), ((2, 3), (1, 2), (1, 1), True)]:
    pool.append(case(f'avg k{kernel} s{stride} p{pad} incl{incl}',
                     lambda x: F.avg_pool2d(x, kernel, stride, pad, count_include_pad=incl),
                     {'x': rnd(2, 3, 7, 8)},
                     {'kind': 'avg', 'kernel': list(kernel), 'stride': list(stride), 'padding': list(pad), 'countIncludePad': incl}))

fmp = []
for (dtype, shape, kernel, osize) in [
    (torch.float64, (2, 3, 9, 10), (2, 2), (5, 6)),
    (torch.float32, (2, 3, 9, 10), (2, 2), (5, 6)),
    (torch.float32, (1, 2, 28, 28), (2, 2), (19, 19)),
    (torch.float64, (2, 2, 11, 13), (3, 2), (7, 9)),
    (torch.float32, (1, 4, 14, 14), (2, 2), (9, 9)),
]:
    samples = torch.rand(shape[0], shape[1], 2, generator=g, dtype=torch.float64).to(dtype)
    fmp.append(case(f'fmp {dtype} {shape} k{kernel} out{osize}',
                    lambda x: F.fractional_max_pool2d(x, kernel, output_size=osize, _random_samples=samples),
                    {'x': rnd(*shape, dtype=dtype)},
                    {'kernel': list(kernel), 'outputSize': list(osize), 'samples': flat(samples), 'dtype': str(dtype).replace('torch.', '')}))

# ceil_mode, from a generator of its own so that the cases above keep their inputs: odd sizes
# whose last windows hang over the edge (and, at stride 3 with padding 1, a window that would
# start in the padding, which PyTorch drops)
gc = torch.Generator().manual_seed(4321)
for (kernel, stride, pad) in [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 3), (3, 3), (1, 1))]:
    pool.append(case(f'max k{kernel} s{stride} p{pad} ceil',
                     lambda x: F.max_pool2d(x, kernel, stride, pad, ceil_mode=True),
                     {'x': rnd(2, 3, 7, 9, gen=gc)},
                     {'kind': 'max', 'kernel': list(kernel), 'stride': list(stride), 'padding': list(pad), 'ceilMode': True}))
    for incl in [True, False]:
        pool.append(case(f'avg k{kernel} s{stride} p{pad} incl{incl} ceil',
                         lambda x: F.avg_pool2d(x, kernel, stride, pad, ceil_mode=True, count_include_pad=incl),
                         {'x': rnd(2, 3, 7, 9, gen=gc)},
                         {'kind': 'avg', 'kernel': list(kernel), 'stride': list(stride), 'padding': list(pad), 'countIncludePad': incl, 'ceilMode': True}))

# dilation and groups (including depthwise, groups = in = out, and a channel multiplier of 2),
# alone and with stride and padding, from a generator of their own so that the cases above keep
# their inputs
gd = torch.Generator().manual_seed(2468)
conv_dg = []
for (n, c, h, w, k, kh, kw, stride, pad, dil, groups) in [
    (2, 3, 9, 8, 4, 3, 3, (1, 1), (0, 0), (2, 2), 1),
    (2, 2, 11, 12, 3, 3, 2, (2, 1), (1, 2), (2, 3), 1),
    (2, 4, 7, 8, 6, 3, 3, (2, 2), (1, 1), (1, 1), 2),
    (1, 8, 6, 7, 4, 3, 2, (1, 1), (1, 0), (1, 1), 4),
    (2, 3, 10, 9, 3, 3, 3, (2, 2), (2, 2), (2, 2), 3),
    (2, 2, 8, 9, 4, 3, 3, (1, 2), (1, 1), (1, 1), 2),
    (2, 4, 9, 10, 4, 2, 3, (1, 2), (2, 1), (2, 1), 2),
    (1, 6, 12, 11, 6, 5, 5, (1, 1), (4, 4), (2, 2), 6),
]:
    conv_dg.append(case(f'conv {n}x{c}x{h}x{w} k{k}x{kh}x{kw} s{stride} p{pad} d{dil} g{groups}',
                        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad, dilation=dil, groups=groups),
                        {'x': rnd(n, c, h, w, gen=gd), 'w': rnd(k, c // groups, kh, kw, gen=gd), 'b': rnd(k, gen=gd)},
                        {'stride': list(stride), 'padding': list(pad), 'dilation': list(dil), 'groups': groups}, gen=gd))

os.makedirs(OUT, exist_ok=True)
files = [('conv.json', conv), ('pool.json', pool), ('fmp.json', fmp), ('conv-dilation-groups.json', conv_dg)]
wanted = sys.argv[1:] or [fname for fname, _ in files]
unknown = set(wanted) - {fname for fname, _ in files}
if unknown:
    sys.exit(f'golden_conv.py: no fixture named {sorted(unknown)}; expected some of {[f for f, _ in files]}')
for fname, data in files:
    if fname not in wanted:
        continue
    with open(os.path.join(OUT, fname), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': data}, f)
print('wrote', OUT)
