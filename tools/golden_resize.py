"""Golden fixture for bilinear resizing (descent's --resize), computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_resize.py
Writes test/fixtures/data/resize.json: for each case a CHW float32 input in [0, 1] and
F.interpolate(x[None], size, mode='bilinear', align_corners=False, antialias=False)[0], computed in
float64 so the fixture holds the exact value of the formula.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'data')
g = torch.Generator().manual_seed(19)

CASES = [
    ('down', (1, 5, 7), (3, 4)),
    ('up', (1, 4, 3), (9, 11)),
    ('rgb-mixed', (3, 6, 4), (4, 10)),
    ('one-pixel', (1, 1, 1), (2, 3)),
    ('to-one-pixel', (1, 4, 6), (1, 1)),
    ('mnist-like', (1, 28, 28), (20, 36)),
]

cases = []
for name, shape, size in CASES:
    x = torch.rand(*shape, generator=g, dtype=torch.float64).float()
    y = F.interpolate(x.double()[None], size=size, mode='bilinear', align_corners=False)[0]
    cases.append({'name': name, 'shape': list(shape), 'size': list(size),
                  'x': [float(v) for v in x.reshape(-1).tolist()],
                  'y': [float(v) for v in y.reshape(-1).tolist()]})

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'resize.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f)
    f.write('\n')
print('wrote', len(cases), 'cases')
