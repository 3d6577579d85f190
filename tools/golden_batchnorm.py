"""Golden fixtures for BatchNorm1d / BatchNorm2d and LayerNorm, computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_batchnorm.py
Writes test/fixtures/batchnorm/batchnorm.json:

- layers: a BatchNorm layer with given options and random affine parameters sees several training
  batches (forward, backward of sum(y * gy)), then one evaluation batch. Each step stores the
  input, gy, the output, the gradients of the input and the affine parameters, and the buffers
  after the step (num_batches_tracked as a float).
- training: a small CNN with BatchNorm2d and BatchNorm1d trained by SGD with momentum, its initial
  state_dict, its losses, its final state_dict and its evaluation logits.

Values are stored as float64 lists; float32 cases are computed in float32. The trained CNN's
state_dict is also written as test/fixtures/batchnorm/cnn_bn.safetensors (I64 num_batches_tracked).
LayerNorm cases (forward, gradients of the input and the affine parameters) go to layernorm.json.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'batchnorm')
g = torch.Generator().manual_seed(2024)


def rnd(*shape, dtype=torch.float64, scale=1.0, shift=0.0):
    return ((torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * scale + shift).to(dtype)


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def state(m):
    return {k: {'shape': list(v.shape), 'data': flat(v)} for k, v in m.state_dict().items()}


def layer_case(name, kind, c, shape, opts, dtype, steps=3):
    cls = {'1d': nn.BatchNorm1d, '2d': nn.BatchNorm2d}[kind]
    m = cls(c, **opts).to(dtype)
    if m.affine:
        with torch.no_grad():
            m.weight.copy_(rnd(c, dtype=dtype, scale=0.5, shift=1.0))
            m.bias.copy_(rnd(c, dtype=dtype, scale=0.5))
    out = {'name': name, 'kind': kind, 'features': c, 'dtype': 'float64' if dtype == torch.float64 else 'float32',
           'options': {'eps': opts.get('eps', 1e-5), 'momentum': opts.get('momentum', 0.1),
                       'affine': opts.get('affine', True), 'trackRunningStats': opts.get('track_running_stats', True)},
           'initial': state(m), 'steps': []}
    for i in range(steps + 1):
        training = i < steps
        m.train(training)
        # a shift and scale per batch, so the running statistics move
        x = rnd(*shape, dtype=dtype, scale=1.0 + i, shift=0.5 * i).requires_grad_(True)
        for p in m.parameters():
            p.grad = None
        y = m(x)
        gy = rnd(*y.shape, dtype=dtype)
        (y * gy).sum().backward()
        step = {'training': training, 'x': {'shape': list(x.shape), 'data': flat(x)}, 'gy': flat(gy), 'y': flat(y),
                'gx': flat(x.grad), 'state': state(m)}
        if m.affine:
            step['gweight'] = flat(m.weight.grad)
            step['gbias'] = flat(m.bias.grad)
        out['steps'].append(step)
    return out


layers = [
    layer_case('1d [8, 5] default', '1d', 5, (8, 5), {}, torch.float32),
    layer_case('1d [6, 4, 3] momentum 0.3 eps 1e-3', '1d', 4, (6, 4, 3), {'momentum': 0.3, 'eps': 1e-3}, torch.float32),
    layer_case('2d [4, 3, 5, 5] default', '2d', 3, (4, 3, 5, 5), {}, torch.float32),
    layer_case('2d [2, 3, 4, 6] cumulative (momentum None)', '2d', 3, (2, 3, 4, 6), {'momentum': None}, torch.float32, steps=4),
    layer_case('2d [3, 2, 3, 3] no affine', '2d', 2, (3, 2, 3, 3), {'affine': False}, torch.float32),
    layer_case('1d [5, 4] no running stats', '1d', 4, (5, 4), {'track_running_stats': False}, torch.float32),
    layer_case('2d [2, 4, 3, 3] float64', '2d', 4, (2, 4, 3, 3), {}, torch.float64),
    layer_case('1d [2, 3] two values per channel', '1d', 3, (2, 3), {}, torch.float64),
]

# A CNN with both layers, trained on random data by SGD with momentum.
torch.manual_seed(7)
net = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(4 * 4 * 4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3),
)
initial = state(net)
xs = [rnd(8, 1, 8, 8, dtype=torch.float32) for _ in range(5)]
ys = [torch.randint(0, 3, (8,), generator=g) for _ in range(5)]
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
losses = []
net.train()
for x, y in zip(xs, ys):
    opt.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    losses.append(float(loss))
net.eval()
xe = rnd(4, 1, 8, 8, dtype=torch.float32)
with torch.no_grad():
    logits = net(xe)
training = {
    'initial': initial,
    'batches': [{'x': flat(x), 'y': [int(v) for v in y]} for x, y in zip(xs, ys)],
    'lr': 0.1, 'momentum': 0.9,
    'losses': losses,
    'final': state(net),
    'evalX': flat(xe),
    'evalLogits': flat(logits),
}

os.makedirs(OUT, exist_ok=True)
# the trained CNN as PyTorch's state_dict in a safetensors file: num_batches_tracked stays int64 (I64)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_torch import save_file  # noqa: E402
save_file(os.path.join(OUT, 'cnn_bn.safetensors'), {k: v.numpy() for k, v in net.state_dict().items()}, {'format': 'pt'})
with open(os.path.join(OUT, 'batchnorm.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'layers': layers, 'training': training}, f)
print('wrote', os.path.join(OUT, 'batchnorm.json'))

# LayerNorm: over the last dimensions given by normalized_shape, per sample; forward and gradients
layernorm = []
for shape, norm, affine, eps, dtype in [
    ((4, 6), (6,), True, 1e-5, torch.float32),
    ((3, 2, 5), (5,), True, 1e-3, torch.float32),
    ((2, 3, 4, 4), (3, 4, 4), True, 1e-5, torch.float32),
    ((5, 7), (7,), False, 1e-5, torch.float64),
]:
    m = nn.LayerNorm(norm, eps=eps, elementwise_affine=affine).to(dtype)
    if affine:
        with torch.no_grad():
            m.weight.copy_(rnd(*norm, dtype=dtype, scale=0.5, shift=1.0))
            m.bias.copy_(rnd(*norm, dtype=dtype, scale=0.5))
    x = rnd(*shape, dtype=dtype, scale=2.0, shift=0.5).requires_grad_(True)
    y = m(x)
    gy = rnd(*y.shape, dtype=dtype)
    (y * gy).sum().backward()
    case = {'shape': list(shape), 'normalizedShape': list(norm), 'affine': affine, 'eps': eps,
            'dtype': 'float64' if dtype == torch.float64 else 'float32', 'state': state(m),
            'x': flat(x), 'gy': flat(gy), 'y': flat(y), 'gx': flat(x.grad)}
    if affine:
        case['gweight'] = flat(m.weight.grad)
        case['gbias'] = flat(m.bias.grad)
    layernorm.append(case)
with open(os.path.join(OUT, 'layernorm.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': layernorm}, f)
print('wrote', os.path.join(OUT, 'layernorm.json'))
