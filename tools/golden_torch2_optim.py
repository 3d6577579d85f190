#!/usr/bin/python3
"""Golden trajectories of PyTorch 2's optimizers: Adafactor, Rprop and ASGD, and NAdam's and RAdam's
2.x options decoupled_weight_decay and maximize.

Run with PyTorch 2.6 (see /work/shared/tools/torch2.sh or any PyTorch >= 2.5):
    bash ../shared/tools/torch2.sh python tools/golden_torch2_optim.py     (writes test/fixtures/optim/torch2.json)

The cases reuse tools/golden_optim.py's problems and record format, so test/optim/torch2.test.ts
checks them as test/optim/golden.test.ts checks the 1.13 fixtures:
  surfaces   Rosenbrock from (-1.2, 1) and Beale from (1, 1.5), 50 steps, the gradient from the same
             hand-written formulas as src/surfaces/functions.ts; one setting per optimizer on the other
             surfaces with the gradient from torch autograd.
  mlp        the 4-3-2 tanh MLP, 20 full-batch steps: the loss before each step, the parameters after
             it, the final state (descent's camelCase keys). Its weights are matrices, so Adafactor's
             factored path runs on them and the vector path on the biases.
  tensor3    Adafactor on one [2, 3, 4] parameter (factored over the last two dimensions, a batch of
             two matrices) with f(W) = sum(c·sin W) + ½ sum(d·W²), gradient c·cos W + d·W.
The default dtype stays float32, as for a PyTorch user: ASGD's eta and mu and NAdam's mu_product are
float32 scalar tensors (the descent rules round them the same way). Every parameter is float64.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_optim as G  # noqa: E402

if not hasattr(torch.optim, 'Adafactor'):
    sys.exit(f'torch {torch.__version__} has no torch.optim.Adafactor: run this with PyTorch >= 2.5')

G.CLASSES.update(adafactor=torch.optim.Adafactor, rprop=torch.optim.Rprop, asgd=torch.optim.ASGD)
G.CAMEL.update(beta2_decay='beta2Decay', step_sizes='stepSizes', decoupled_weight_decay='decoupledWeightDecay')
G.STATE_CAMEL.update(row_var='rowVar', col_var='colVar', variance='variance', prev='prev', step_size='stepSize',
                     eta='eta', mu='mu', ax='ax')

S, B, M = G.S, G.B, G.M
SETTINGS = {
    'adafactor': [
        dict(lr={S: 1e-2, B: 1e-2, M: 1e-2}),
        dict(lr={S: 0.05, B: 0.05, M: 0.1}, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=2.0, weight_decay=0.1),
        dict(lr=0.05, eps=(1e-30, 1e-3), d=1.5, only=[M]),
        dict(lr=0.02, maximize=True, only=[M]),
    ],
    'rprop': [
        dict(lr={S: 1e-2, B: 1e-2, M: 1e-2}),
        dict(lr={S: 0.05, B: 0.05, M: 0.05}, etas=(0.3, 1.5), step_sizes=(1e-4, 0.2)),
        dict(lr=0.01, maximize=True, only=[M]),
    ],
    'asgd': [
        dict(lr={S: 1e-3, B: 1e-3, M: 0.5}),
        dict(lr={S: 5e-4, B: 1e-3, M: 0.3}, lambd=1e-2, alpha=0.5, t0=5, weight_decay=0.05),
        dict(lr={S: 5e-4, B: 1e-3, M: 0.3}, lambd=0.1, alpha=1.0, t0=0),
        dict(lr=0.2, maximize=True, only=[M]),
    ],
    'nadam': [
        dict(lr={S: 0.05, B: 0.05, M: 0.05}, weight_decay=0.1, decoupled_weight_decay=True),
        dict(lr={S: 0.02, B: 0.02, M: 0.02}, weight_decay=0.05, decoupled_weight_decay=True, betas=(0.85, 0.99), momentum_decay=1e-2),
        dict(lr=0.02, maximize=True, only=[M]),
        dict(lr=0.02, maximize=True, weight_decay=0.1, decoupled_weight_decay=True, only=[M]),
    ],
    'radam': [
        dict(lr={S: 1e-3, B: 0.01, M: 0.01}, weight_decay=0.1, decoupled_weight_decay=True),
        dict(lr={S: 1e-3, B: 0.02, M: 0.05}, weight_decay=0.5, decoupled_weight_decay=True, betas=(0.8, 0.9)),
        dict(lr=0.01, maximize=True, only=[M]),
        dict(lr=0.01, maximize=True, weight_decay=0.1, only=[M]),
    ],
}
AUTOGRAD_SETTINGS = [('adafactor', dict(lr=0.05)), ('rprop', dict(lr=0.01)), ('asgd', dict(lr=0.002)),
                     ('nadam', dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
                     ('radam', dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True))]

TENSOR3_SETTINGS = [dict(lr=0.05), dict(lr=0.1, beta2_decay=-0.6, eps=(1e-4, 1e-2), d=1.2, weight_decay=0.2)]


def tensor3_case(kw, steps=20):
    g = torch.Generator().manual_seed(2026)
    w0 = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    c = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    d = torch.rand(2, 3, 4, generator=g, dtype=torch.float64) + 0.5
    p = w0.clone().requires_grad_(True)
    opt = torch.optim.Adafactor([p], **kw)
    params = []
    for _ in range(steps):
        opt.zero_grad()
        with torch.no_grad():
            p.grad = c * torch.cos(p) + d * p
        opt.step()
        params.append(p.detach().flatten().tolist())
    st = opt.state[p]
    state = {G.STATE_CAMEL[k]: (v.item() if v.dim() == 0 else v.flatten().tolist()) for k, v in st.items()}
    return dict(key='adafactor', options=G.descent_options(kw), shape=[2, 3, 4], init=w0.flatten().tolist(),
                c=c.flatten().tolist(), d=d.flatten().tolist(), steps=steps, params=params, state=state)


def main():
    surfaces, mlp = [], []
    for key, settings in SETTINGS.items():
        for setting in settings:
            for problem in (S, B, M):
                if 'only' in setting and problem not in setting['only']:
                    continue
                kw = G.kwargs_for(setting, problem)
                if problem == M:
                    mlp.append(G.mlp_case(key, kw))
                else:
                    c = G.surface_case(key, kw, problem)
                    if c is None:
                        sys.exit(f'{key} {kw} diverges on {problem}: choose another setting')
                    surfaces.append(c)
    for key, kw in AUTOGRAD_SETTINGS:
        for problem in G.AUTOGRAD:
            c = G.autograd_case(key, kw, problem)
            if c is not None:
                surfaces.append(c)
    tensor3 = [tensor3_case(kw) for kw in TENSOR3_SETTINGS]
    out = os.path.join(G.OUT, 'torch2.json')
    with open(out, 'w') as f:
        json.dump(dict(torch=torch.__version__, script='tools/golden_torch2_optim.py', surfaces=surfaces, mlp=mlp, tensor3=tensor3), f)
    print(f'torch2.json (torch {torch.__version__}): {len(surfaces)} surface cases, {len(mlp)} MLP cases, {len(tensor3)} tensor3 cases',
          file=sys.stderr)


if __name__ == '__main__':
    main()
