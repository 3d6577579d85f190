"""Golden fixtures for transposed convolutions and interpolation (upsampling), computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_upsampling.py
Writes test/fixtures/upsampling/{conv-transpose,interpolate,autoencoder}.json. Every op case stores
its inputs, the output and the gradients of sum(y * gy) for a given random gy, in float64. The
autoencoder case is a float32 trajectory: PyTorch's initial parameters, the batch, and the loss
before each of a few Adam steps, then the parameters after them.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'upsampling')
g = torch.Generator().manual_seed(20261207)


def rnd(*shape, dtype=torch.float64):
    return (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1).to(dtype)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def case(name, fn, inputs, params):
    ts = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**ts)
    gy = rnd(*y.shape, dtype=y.dtype)
    (y * gy).sum().backward()
    out = {'name': name, 'params': params, 'yShape': list(y.shape), 'y': flat(y), 'gy': flat(gy)}
    for k, v in ts.items():
        out[k] = {'shape': list(v.shape), 'data': flat(v), 'grad': flat(v.grad)}
    return out


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


convt = []
# (n, cin, h, w, cout, kh, kw, stride, padding, output_padding, dilation, groups)
for (n, cin, h, w, cout, kh, kw, s, p, op, d, gr) in [
    (2, 3, 4, 5, 2, 3, 3, 1, 0, 0, 1, 1),
    (2, 3, 4, 5, 4, 3, 3, 2, 1, 1, 1, 1),
    (1, 2, 3, 3, 3, 4, 4, 2, 1, 0, 1, 1),
    (2, 2, 3, 4, 3, 2, 3, (3, 2), (1, 0), (2, 1), 1, 1),
    (1, 2, 4, 4, 2, 3, 3, 1, 1, 0, 2, 1),
    (1, 2, 3, 4, 2, 3, 2, 1, 0, (1, 1), 2, 1),
    (2, 4, 3, 3, 6, 3, 3, 2, 1, 1, 1, 2),
    (2, 3, 4, 4, 3, 3, 3, 2, 1, 1, 1, 3),
    (1, 2, 5, 5, 2, 5, 5, 1, 2, 0, 1, 1),
    (3, 8, 4, 4, 8, 5, 5, 1, 2, 0, 1, 1),
]:
    params = {'stride': pair(s), 'padding': pair(p), 'outputPadding': pair(op), 'dilation': pair(d), 'groups': gr}
    convt.append(case(f'convT {n}x{cin}x{h}x{w} → {cout} k{kh}x{kw} s{s} p{p} op{op} d{d} g{gr}',
                      lambda x, w, b: F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op, groups=gr, dilation=d),
                      {'x': rnd(n, cin, h, w), 'w': rnd(cin, cout // gr, kh, kw), 'b': rnd(cout)}, params))

convt1d = []
for (n, cin, l, cout, k, s, p, op, d, gr) in [
    (2, 3, 5, 2, 3, 2, 1, 1, 1, 1),
    (1, 4, 6, 4, 4, 3, 0, 2, 1, 2),
    (2, 2, 4, 3, 3, 1, 2, 1, 2, 1),
]:
    params = {'stride': s, 'padding': p, 'outputPadding': op, 'dilation': d, 'groups': gr}
    convt1d.append(case(f'convT1d {n}x{cin}x{l} → {cout} k{k} s{s} p{p} op{op} d{d} g{gr}',
                        lambda x, w, b: F.conv_transpose1d(x, w, b, stride=s, padding=p, output_padding=op, groups=gr, dilation=d),
                        {'x': rnd(n, cin, l), 'w': rnd(cin, cout // gr, k), 'b': rnd(cout)}, params))

interp = []
# (input shape, size, scale_factor, mode, align_corners, recompute)
for (shape, size, sf, mode, ac, rc) in [
    ((2, 3, 4, 5), None, 2, 'nearest', None, None),
    ((2, 3, 4, 5), None, (3, 2), 'nearest', None, None),
    ((1, 2, 5, 7), (3, 4), None, 'nearest', None, None),
    ((1, 2, 5, 7), (11, 9), None, 'nearest', None, None),
    ((1, 2, 14, 5), None, 0.7, 'nearest', None, None),
    ((1, 2, 10, 6), None, 1.05, 'nearest', None, None),
    ((1, 2, 5, 7), (12, 3), None, 'nearest-exact', None, None),
    ((2, 3, 4, 5), None, 2, 'bilinear', False, None),
    ((2, 3, 4, 5), None, 2, 'bilinear', True, None),
    ((1, 2, 5, 7), (9, 4), None, 'bilinear', False, None),
    ((1, 2, 5, 7), (9, 4), None, 'bilinear', True, None),
    ((1, 2, 6, 5), (3, 1), None, 'bilinear', True, None),
    ((1, 2, 5, 6), None, 2.5, 'bilinear', False, None),
    ((1, 2, 5, 6), None, 2.5, 'bilinear', False, True),
    ((1, 2, 7, 8), None, (0.6, 1.7), 'bilinear', False, None),
    ((2, 3, 5), None, 2, 'nearest', None, None),
    ((2, 3, 7), 4, None, 'nearest', None, None),
    ((2, 3, 5), 9, None, 'linear', False, None),
    ((2, 3, 5), 9, None, 'linear', True, None),
    ((2, 3, 8), None, 0.75, 'linear', False, None),
]:
    kw = {'mode': mode}
    if size is not None:
        kw['size'] = size
    if sf is not None:
        kw['scale_factor'] = sf
    if ac is not None:
        kw['align_corners'] = ac
    if rc is not None:
        kw['recompute_scale_factor'] = rc
    params = {'mode': mode}
    if size is not None:
        params['size'] = list(size) if isinstance(size, tuple) else size
    if sf is not None:
        params['scaleFactor'] = list(sf) if isinstance(sf, tuple) else sf
    if ac is not None:
        params['alignCorners'] = ac
    if rc is not None:
        params['recomputeScaleFactor'] = rc
    interp.append(case(f'interpolate {shape} {kw}', lambda x: F.interpolate(x, **kw), {'x': rnd(*shape)}, params))
# PyTorch 1.13's nearest backward (upsample_nearest*_backward) picks source indices with the special
# cases m = n (copy) and m = 2n (dst >> 1) that its NCHW forward does not take: for 10 → 10 by
# scale_factor 1.05 the forward reads x[⌊dst/1.05⌋] (0 0 1 2 …) while the gradient is that of a
# copy. Its gradient there is not the derivative of its own output, so only the values are golden.
for c in interp:
    p = c['params']
    if p['mode'] == 'nearest' and p.get('scaleFactor') == 1.05:
        c['forwardOnly'] = True


def autoencoder():
    """Conv2d(1→4, 3, stride 2, padding 1) → ReLU → ConvTranspose2d(4→1, 3, stride 2, padding 1, output_padding 1), MSE to the input."""
    torch.manual_seed(7)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1),
    )
    x = torch.rand(4, 1, 8, 8, generator=g, dtype=torch.float64).float()
    init = {k: {'shape': list(v.shape), 'data': flat(v)} for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = F.mse_loss(model(x), x)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    final = {k: flat(v) for k, v in model.state_dict().items()}
    return {'lr': 0.01, 'x': {'shape': list(x.shape), 'data': flat(x)}, 'init': init, 'losses': losses, 'final': final}


def write(name, obj):
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f)
        f.write('\n')


os.makedirs(OUT, exist_ok=True)
write('conv-transpose.json', {'torch': torch.__version__, 'cases': convt, 'cases1d': convt1d})
write('interpolate.json', {'torch': torch.__version__, 'cases': interp})
write('autoencoder.json', {'torch': torch.__version__, **autoencoder()})
