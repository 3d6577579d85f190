"""Golden fixtures for residual blocks (descent's nn.Residual and the spec's res[...]), computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_residual.py
Writes test/fixtures/residual/:

- residual.json: for each case, a model written as a descent spec and as the PyTorch module below
  (Residual: attributes `body` and `shortcut`, so its state_dict names are descent's), trained by SGD
  with momentum on random batches. Stored: the losses, the first step's logits and the gradients of
  the input and of every parameter (by state_dict name), the final state_dict (num_batches_tracked as
  a float) and the evaluation logits. Float32 throughout, values as float64 lists.
- residual_<case>.safetensors: each case's initial state_dict (random BatchNorm affine parameters and
  running statistics, so nothing is 0 or 1 by default), I64 num_batches_tracked as PyTorch saves it.

The cases: a CNN with an identity block and a projection block (stride-2 conv + BatchNorm in the
body, ResNet's `downsample` as the shortcut), BatchNorm everywhere; and an MLP with an identity block
holding BatchNorm1d and a block whose shortcut is a Linear.

  /usr/bin/python3 tools/golden_residual.py check DIR
      (the system suite, test/system/residual-torch.test.ts) loads DIR/model.safetensors, written by
      descent, into the CNN case's module with load_state_dict(strict=True) and compares its
      evaluation logits on DIR/inputs.safetensors (images, logits) with descent's, to 1e-5.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_torch import load_file, save_file  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'residual')


class Residual(nn.Module):
    """descent's nn.Residual: body(x) + shortcut(x), the shortcut the identity when None."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


# descent: conv:4:3:pad=1,batchnorm,relu,
#          res[conv:4:3:pad=1:bias=false,batchnorm,relu,conv:4:3:pad=1:bias=false,batchnorm],relu,
#          res[conv:8:3:stride=2:pad=1:bias=false,batchnorm,relu,conv:8:3:pad=1:bias=false,batchnorm;
#              conv:8:1:stride=2:bias=false,batchnorm],relu,gap,flatten,linear
CNN_SPEC = ('conv:4:3:pad=1,batchnorm,relu,'
            'res[conv:4:3:pad=1:bias=false,batchnorm,relu,conv:4:3:pad=1:bias=false,batchnorm],relu,'
            'res[conv:8:3:stride=2:pad=1:bias=false,batchnorm,relu,conv:8:3:pad=1:bias=false,batchnorm;'
            'conv:8:1:stride=2:bias=false,batchnorm],relu,gap,flatten,linear')


def cnn(channels=1, classes=3):
    def conv(i, o, k, stride=1, pad=0):
        return nn.Conv2d(i, o, k, stride=stride, padding=pad, bias=False)
    return nn.Sequential(
        nn.Conv2d(channels, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        Residual(nn.Sequential(conv(4, 4, 3, pad=1), nn.BatchNorm2d(4), nn.ReLU(), conv(4, 4, 3, pad=1), nn.BatchNorm2d(4))),
        nn.ReLU(),
        Residual(nn.Sequential(conv(4, 8, 3, stride=2, pad=1), nn.BatchNorm2d(8), nn.ReLU(), conv(8, 8, 3, pad=1), nn.BatchNorm2d(8)),
                 nn.Sequential(conv(4, 8, 1, stride=2), nn.BatchNorm2d(8))),
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes),
    )


MLP_SPEC = 'linear:6,res[linear:6,batchnorm,relu,linear:6],relu,res[linear:4,tanh,linear:4;linear:4],relu,linear'


def mlp(features=6, classes=3):
    return nn.Sequential(
        nn.Linear(features, 6),
        Residual(nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 6))),
        nn.ReLU(),
        Residual(nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 4)), nn.Sequential(nn.Linear(6, 4))),
        nn.ReLU(), nn.Linear(4, classes),
    )


g = torch.Generator().manual_seed(2025)


def rnd(*shape, scale=1.0, shift=0.0):
    return ((torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * scale + shift).float()


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def state(m):
    return {k: {'shape': list(v.shape), 'data': flat(v)} for k, v in m.state_dict().items()}


def randomise_batchnorm(net):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.weight.copy_(rnd(c, scale=0.5, shift=1.0))
                m.bias.copy_(rnd(c, scale=0.5))
                m.running_mean.copy_(rnd(c, scale=0.2))
                m.running_var.copy_(rnd(c, scale=0.3, shift=1.0))
                m.num_batches_tracked.fill_(3)


def case(name, spec, net, input_shape, classes, batch=4, steps=3, lr=0.1, momentum=0.9):
    randomise_batchnorm(net)
    os.makedirs(OUT, exist_ok=True)
    save_file(os.path.join(OUT, f'residual_{name}.safetensors'), {k: v.numpy() for k, v in net.state_dict().items()}, {'format': 'pt', 'spec': spec})
    xs = [rnd(batch, *input_shape, scale=1.5) for _ in range(steps)]
    ys = [torch.randint(0, classes, (batch,), generator=g) for _ in range(steps)]
    flat_input = len(input_shape) == 1
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    losses = []
    first = None
    net.train()
    for i, (x, y) in enumerate(zip(xs, ys)):
        x = x.clone().requires_grad_(True)
        opt.zero_grad()
        logits = net(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if i == 0:
            first = {'logits': flat(logits), 'gx': flat(x.grad),
                     'grads': {n: flat(p.grad) for n, p in net.named_parameters()}}
        opt.step()
        losses.append(float(loss))
    net.eval()
    xe = rnd(batch, *input_shape, scale=1.5)
    with torch.no_grad():
        logits = net(xe)
    return {
        'name': name, 'spec': spec, 'inputShape': list(input_shape) if not flat_input else [1, 1, input_shape[0]],
        'classes': classes, 'lr': lr, 'momentum': momentum,
        'batches': [{'x': flat(x), 'y': [int(v) for v in y]} for x, y in zip(xs, ys)],
        'losses': losses, 'first': first, 'final': state(net),
        'evalX': flat(xe), 'evalLogits': flat(logits),
    }


def cmd_check(d):
    """descent's safetensors file → this file's CNN module (strict names), logits compared with descent's."""
    w, meta = load_file(os.path.join(d, 'model.safetensors'))
    ref, _ = load_file(os.path.join(d, 'inputs.safetensors'))
    x = torch.from_numpy(ref['images'])
    net = cnn(x.shape[1], ref['logits'].shape[1])
    net.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=True)
    net.eval()
    with torch.no_grad():
        out = net(x).numpy()
    diff = float(abs(out - ref['logits']).max())
    ok = diff <= 1e-5
    print(f'{"OK" if ok else "FAIL"}: PyTorch {torch.__version__} loaded {len(w)} tensors ({", ".join(sorted(w))}) strictly; '
          f'max |PyTorch - descent| over {out.size} logits = {diff:.3e} (tolerance 1e-5); metadata keys {sorted(meta)}')
    sys.exit(0 if ok else 1)


def main():
    torch.set_num_threads(1)
    if len(sys.argv) == 3 and sys.argv[1] == 'check':
        cmd_check(sys.argv[2])
        return
    torch.manual_seed(11)
    cases = [
        case('cnn', CNN_SPEC, cnn(), (1, 8, 8), 3),
        case('mlp', MLP_SPEC, mlp(), (6,), 3),
    ]
    with open(os.path.join(OUT, 'residual.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f)
    print(f'wrote {OUT}: ' + ', '.join(f'{c["name"]} losses {[round(v, 4) for v in c["losses"]]}' for c in cases))


if __name__ == '__main__':
    main()
