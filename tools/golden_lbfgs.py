#!/usr/bin/python3
"""Golden L-BFGS trajectories from PyTorch 1.13 (float64) for test/optim/lbfgs.test.ts.

Run with the system interpreter that has torch:   /usr/bin/python3 tools/golden_lbfgs.py
Writes test/fixtures/lbfgs/{rosenbrock,logreg}.json. Every case records, after each call of
opt.step(closure), the parameters, the loss step() returned and PyTorch's func_evals / n_iter.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'lbfgs')


def run(params, loss_fn, steps, **opts):
    opt = torch.optim.LBFGS(params, **opts)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    trace = []
    for _ in range(steps):
        loss = opt.step(closure)
        st = opt.state[params[0]]
        trace.append({
            'loss': float(loss),
            'params': [p.detach().reshape(-1).tolist() for p in params],
            'funcEvals': int(st['func_evals']),
            'nIter': int(st['n_iter']),
        })
    return trace


def camel(opts):
    names = {'lr': 'lr', 'max_iter': 'maxIter', 'max_eval': 'maxEval', 'history_size': 'historySize',
             'line_search_fn': 'lineSearchFn', 'tolerance_grad': 'toleranceGrad', 'tolerance_change': 'toleranceChange'}
    out = {}
    for k, v in opts.items():
        out[names[k]] = 'strongWolfe' if v == 'strong_wolfe' else v
    return out


def rosenbrock_cases():
    start = [-1.5, 2.0]
    cases = {
        'wolfe_iter1': dict(line_search_fn='strong_wolfe', max_iter=1),
        'wolfe_default': dict(line_search_fn='strong_wolfe'),
        'none_iter1_lr0.1': dict(lr=0.1, max_iter=1),
        'none_default_lr0.1': dict(lr=0.1),
        'wolfe_iter1_hist3': dict(line_search_fn='strong_wolfe', max_iter=1, history_size=3),
    }
    out = {'function': 'rosenbrock (1-x)^2 + 100(y-x^2)^2', 'start': start, 'steps': 50, 'cases': {}}
    for name, opts in cases.items():
        x = torch.tensor(start, requires_grad=True)
        f = lambda: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        out['cases'][name] = {'options': camel(opts), 'trace': run([x], f, 50, **opts)}
    return out


def logreg_cases():
    g = torch.Generator().manual_seed(1234)
    n, k, c = 64, 20, 3
    X = torch.randn(n, k, generator=g)
    W_true = torch.randn(c, k, generator=g)
    y = (X @ W_true.T + 6.0 * torch.randn(n, c, generator=g)).argmax(1)  # noisy labels: not separable
    W0 = 0.01 * torch.randn(c, k, generator=g)
    b0 = torch.zeros(c)
    L2 = 0.01  # 64 points in 20 dimensions are separable: the penalty keeps the minimum finite
    cases = {
        'wolfe_iter1': (dict(line_search_fn='strong_wolfe', max_iter=1), 40),
        'wolfe_default_hist5': (dict(line_search_fn='strong_wolfe', history_size=5), 5),
        'none_iter1': (dict(max_iter=1), 40),
        'none_default': (dict(), 5),
    }
    out = {
        'model': 'logits = X W^T + b; mean cross-entropy + l2 * sum(W^2)', 'l2': L2,
        'X': X.reshape(-1).tolist(), 'y': y.tolist(), 'shape': [n, k, c],
        'W0': W0.reshape(-1).tolist(), 'b0': b0.tolist(), 'cases': {},
    }
    for name, (opts, steps) in cases.items():
        W = W0.clone().requires_grad_(True)
        b = b0.clone().requires_grad_(True)
        f = lambda: F.cross_entropy(X @ W.T + b, y) + L2 * (W ** 2).sum()
        out['cases'][name] = {'options': camel(opts), 'steps': steps, 'trace': run([W, b], f, steps, **opts)}
    return out


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    for name, data in (('rosenbrock', rosenbrock_cases()), ('logreg', logreg_cases())):
        path = os.path.join(OUT, name + '.json')
        with open(path, 'w') as fh:
            json.dump(data, fh, separators=(',', ':'))
        print('wrote', os.path.relpath(path), os.path.getsize(path), 'bytes')
    print('torch', torch.__version__)
