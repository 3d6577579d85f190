#!/usr/bin/python3
"""Golden trajectories of torch.optim (PyTorch 1.13) for descent's optimizer tests.

Run:  /usr/bin/python3 tools/golden_optim.py      (writes test/fixtures/optim/*.json)

Three kinds of fixture, all in float64:
  surfaces.json  every optimizer and setting on Rosenbrock from (-1.2, 1) and Beale from (1, 1.5),
                 50 steps; the gradient is set from the same hand-written formula as
                 src/surfaces/functions.ts (same operation order, so the inputs are bit-identical
                 and only the optimizer's arithmetic is compared). Then one setting per optimizer on
                 bowl, saddle, twowells, himmelblau and rastrigin with the gradient from torch
                 autograd of torch formulas, so the surfaces' own gradients are checked too.
  mlp.json       a 4-3-2 tanh MLP with cross-entropy on 8 fixed samples, 20 full-batch steps per
                 setting: parameters after every step, the loss before it, and the final optimizer
                 state (renamed to descent's camelCase keys, keyed by parameter name). Two settings
                 use parameter groups with their own lr and weight decay.
  clip.json      clip_grad_norm_ (norm types 2, 1, inf) and clip_grad_value_ on fixed gradients.

Lion is not in torch.optim 1.13: it is written below from the paper (Chen et al. 2023,
Algorithm 2) with torch tensor ops, as torch-based reference implementations do.
Options are stored with descent's names (camelCase, betas as a list).
"""
import json
import math
import os
import sys

import torch

# The default dtype stays float32, as for a PyTorch user: it matters only for NAdam, whose mu_product
# scalar is created by torch.tensor(1.) (see src/optim/nadam.ts). Every tensor here is float64 explicitly.
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'optim')


class Lion(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay, maximize=maximize))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, (b1, b2), wd = group['lr'], group['betas'], group['weight_decay']
            for p in group['params']:
                if p.grad is None:
                    continue
                g = -p.grad if group['maximize'] else p.grad
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = 0
                    state['exp_avg'] = torch.zeros_like(p)
                state['step'] += 1
                m = state['exp_avg']
                if wd != 0:
                    p.mul_(1 - lr * wd)
                c = m * b1 + (1 - b1) * g
                p.add_(torch.sign(c), alpha=-lr)
                m.mul_(b2).add_(g, alpha=1 - b2)


CLASSES = {
    'sgd': torch.optim.SGD, 'adagrad': torch.optim.Adagrad, 'rmsprop': torch.optim.RMSprop,
    'adadelta': torch.optim.Adadelta, 'adam': torch.optim.Adam, 'adamw': torch.optim.AdamW,
    'adamax': torch.optim.Adamax, 'nadam': torch.optim.NAdam, 'radam': torch.optim.RAdam, 'lion': Lion,
}

# Settings: torch keyword arguments; 'lr' may be a dict per problem; 'only' restricts problems.
S, B, M = 'rosenbrock', 'beale', 'mlp'
SETTINGS = {
    'sgd': [
        dict(lr={S: 1e-3, B: 1e-3, M: 0.5}),
        dict(lr={S: 2e-4, B: 2e-4, M: 0.1}, momentum=0.9),
        dict(lr={S: 2e-4, B: 2e-4, M: 0.1}, momentum=0.9, nesterov=True),
        dict(lr={S: 5e-4, B: 5e-4, M: 0.2}, momentum=0.8, dampening=0.3, weight_decay=0.05),
        dict(lr=0.05, momentum=0.5, maximize=True, only=[M]),
    ],
    'adagrad': [
        dict(lr={S: 0.1, B: 0.1, M: 0.1}),
        dict(lr={S: 0.2, B: 0.2, M: 0.1}, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-6),
        dict(lr=0.05, maximize=True, only=[M]),
    ],
    'rmsprop': [
        dict(lr={S: 1e-2, B: 1e-2, M: 1e-2}),
        dict(lr={S: 1e-3, B: 1e-3, M: 1e-2}, momentum=0.9),
        dict(lr={S: 1e-2, B: 1e-2, M: 1e-2}, centered=True),
        dict(lr={S: 1e-3, B: 1e-3, M: 1e-2}, centered=True, momentum=0.5, weight_decay=0.05, alpha=0.9, eps=1e-4),
        dict(lr=0.01, maximize=True, only=[M]),
    ],
    'adadelta': [
        dict(lr={S: 1.0, B: 1.0, M: 1.0}),
        dict(lr={S: 10.0, B: 10.0, M: 0.5}, rho=0.8, eps=1e-4, weight_decay=0.05),
        dict(lr=1.0, maximize=True, only=[M]),
    ],
    'adam': [
        dict(lr={S: 0.05, B: 0.05, M: 0.05}),
        dict(lr={S: 0.05, B: 0.05, M: 0.05}, amsgrad=True),
        dict(lr={S: 0.02, B: 0.02, M: 0.05}, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.05),
        dict(lr={S: 0.05, B: 0.05, M: 0.05}, amsgrad=True, weight_decay=0.1),
        dict(lr=0.01, maximize=True, only=[M]),
    ],
    'adamw': [
        dict(lr={S: 0.05, B: 0.05, M: 0.05}),
        dict(lr={S: 0.05, B: 0.05, M: 0.05}, weight_decay=0.1, amsgrad=True, betas=(0.85, 0.95)),
        dict(lr=0.01, maximize=True, only=[M]),
    ],
    'adamax': [
        dict(lr={S: 0.05, B: 0.05, M: 0.05}),
        dict(lr={S: 0.05, B: 0.05, M: 0.05}, betas=(0.8, 0.95), eps=1e-4, weight_decay=0.05),
        dict(lr=0.01, maximize=True, only=[M]),
    ],
    'nadam': [
        dict(lr={S: 0.05, B: 0.05, M: 0.05}),
        dict(lr={S: 0.02, B: 0.02, M: 0.05}, betas=(0.85, 0.99), momentum_decay=1e-2, weight_decay=0.05, eps=1e-6),
    ],
    'radam': [
        dict(lr={S: 1e-3, B: 1e-3, M: 0.05}),
        dict(lr={S: 2e-3, B: 2e-3, M: 0.05}, betas=(0.9, 0.9), weight_decay=0.05, eps=1e-6),
    ],
    'lion': [
        dict(lr={S: 0.01, B: 0.01, M: 0.01}),
        dict(lr={S: 0.01, B: 0.01, M: 0.01}, betas=(0.95, 0.98), weight_decay=0.5),
        dict(lr=0.01, maximize=True, only=[M]),
    ],
}

CAMEL = {'lr_decay': 'lrDecay', 'weight_decay': 'weightDecay', 'initial_accumulator_value': 'initialAccumulatorValue',
         'momentum_decay': 'momentumDecay'}
STATE_CAMEL = {'step': 'step', 'sum': 'sum', 'square_avg': 'squareAvg', 'grad_avg': 'gradAvg', 'momentum_buffer': 'momentumBuffer',
               'acc_delta': 'accDelta', 'exp_avg': 'expAvg', 'exp_avg_sq': 'expAvgSq', 'max_exp_avg_sq': 'maxExpAvgSq',
               'exp_inf': 'expInf', 'mu_product': 'muProduct'}


def kwargs_for(setting, problem):
    kw = {k: v for k, v in setting.items() if k != 'only'}
    if isinstance(kw['lr'], dict):
        kw['lr'] = kw['lr'][problem]
    return kw


def descent_options(kw):
    out = {}
    for k, v in kw.items():
        out[CAMEL.get(k, k)] = list(v) if isinstance(v, tuple) else v
    return out


# ---- surfaces: the same formulas, in the same operation order, as src/surfaces/functions.ts ----
def rosenbrock(x, y):
    a = 1 - x
    b = y - x * x
    return a * a + 100 * b * b, (-2 * (1 - x) - 400 * x * b, 200 * b)


def beale(x, y):
    y2 = y * y
    y3 = y2 * y
    a1 = 1.5 - x + x * y
    a2 = 2.25 - x + x * y2
    a3 = 2.625 - x + x * y3
    f = a1 * a1 + a2 * a2 + a3 * a3
    g = (2 * (a1 * (y - 1) + a2 * (y2 - 1) + a3 * (y3 - 1)), 2 * (a1 * x + a2 * 2 * x * y + a3 * 3 * x * y2))
    return f, g


SURFACES = {S: (rosenbrock, [-1.2, 1.0]), B: (beale, [1.0, 1.5])}


def surface_case(key, kw, problem, steps=50):
    fn, start = SURFACES[problem]
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = CLASSES[key]([p], **kw)
    xs, fs = [list(start)], [fn(*start)[0]]
    for _ in range(steps):
        x, y = p.detach().tolist()
        _, g = fn(x, y)
        opt.zero_grad()
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        x, y = p.detach().tolist()
        xs.append([x, y])
        fs.append(fn(x, y)[0])
    if not all(math.isfinite(v) for pt in xs for v in pt) or max(abs(v) for pt in xs for v in pt) > 1e6:
        return None
    return dict(key=key, optimizer=CLASSES[key].__name__, problem=problem, options=descent_options(kw), start=start,
                steps=steps, x=xs, f=fs)


# ---- other surfaces, with the gradient from torch autograd of torch formulas (not descent's code) ----
def t_bowl(x, y): return 0.5 * (x * x + 10 * y * y)
def t_saddle(x, y): return x * x - y * y
def t_twowells(x, y): return x ** 4 / 4 + x ** 3 / 3 - x * x + y * y
def t_himmelblau(x, y): return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2
def t_rastrigin(x, y): return 20 + x * x - 10 * torch.cos(2 * math.pi * x) + y * y - 10 * torch.cos(2 * math.pi * y)


AUTOGRAD = {'bowl': (t_bowl, [-4.0, 2.0]), 'saddle': (t_saddle, [-2.0, 1e-3]), 'twowells': (t_twowells, [2.0, 1.0]),
            'himmelblau': (t_himmelblau, [0.0, 0.0]), 'rastrigin': (t_rastrigin, [3.3, -2.2])}
AUTOGRAD_SETTINGS = [
    ('sgd', dict(lr=0.002)), ('sgd', dict(lr=0.002, momentum=0.9, nesterov=True)), ('adagrad', dict(lr=0.3)),
    ('rmsprop', dict(lr=0.01, centered=True, momentum=0.5)), ('adadelta', dict(lr=1.0)), ('adam', dict(lr=0.05, amsgrad=True)),
    ('adamw', dict(lr=0.05)), ('adamax', dict(lr=0.05)), ('nadam', dict(lr=0.05)), ('radam', dict(lr=0.01)), ('lion', dict(lr=0.01)),
]


def autograd_case(key, kw, problem, steps=50):
    fn, start = AUTOGRAD[problem]
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = CLASSES[key]([p], **kw)
    xs, fs = [list(start)], [fn(p[0], p[1]).item()]
    for _ in range(steps):
        opt.zero_grad()
        fn(p[0], p[1]).backward()
        opt.step()
        xs.append(p.detach().tolist())
        fs.append(fn(p[0], p[1]).item())
    if not all(math.isfinite(v) for pt in xs for v in pt) or max(abs(v) for pt in xs for v in pt) > 1e6:
        return None
    return dict(key=key, optimizer=CLASSES[key].__name__, problem=problem, options=descent_options(kw), start=start,
                steps=steps, x=xs, f=fs, gradient='torch autograd')


# ---- the MLP ----
NAMES = ['0.weight', '0.bias', '2.weight', '2.bias']


def mlp_data():
    g = torch.Generator().manual_seed(1234)
    X = torch.randn(8, 4, generator=g, dtype=torch.float64)
    Y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
    W1 = torch.randn(3, 4, generator=g, dtype=torch.float64) * 0.5
    b1 = torch.randn(3, generator=g, dtype=torch.float64) * 0.1
    W2 = torch.randn(2, 3, generator=g, dtype=torch.float64) * 0.5
    b2 = torch.randn(2, generator=g, dtype=torch.float64) * 0.1
    return X, Y, [W1, b1, W2, b2]


def mlp_loss(X, Y, ps):
    W1, b1, W2, b2 = ps
    h = torch.tanh(X @ W1.t() + b1)
    return torch.nn.functional.cross_entropy(h @ W2.t() + b2, Y)


def train_mlp(opt, ps, X, Y, steps):
    """`steps` optimizer steps on the small MLP: the loss before each step, the parameters after it."""
    params, losses = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = mlp_loss(X, Y, ps)
        loss.backward()
        losses.append(loss.item())
        opt.step()
        params.append({n: p.detach().flatten().tolist() for n, p in zip(NAMES, ps)})
    return losses, params


def mlp_case(key, kw, groups=None, steps=20):
    X, Y, init = mlp_data()
    ps = [t.clone().requires_grad_(True) for t in init]
    if groups:
        spec = [dict(params=[ps[NAMES.index(n)] for n in g['params']], **{k: v for k, v in g.items() if k != 'params'}) for g in groups]
        opt = CLASSES[key](spec, **kw)
    else:
        opt = CLASSES[key](ps, **kw)
    losses, params = train_mlp(opt, ps, X, Y, steps)
    state = {}
    for n, p in zip(NAMES, ps):
        st = opt.state.get(p, {})
        e = {}
        for k, v in st.items():
            name = STATE_CAMEL.get(k, k)
            if v is None:
                continue
            if isinstance(v, torch.Tensor) and v.dim() == 0:
                e[name] = v.item()
            elif isinstance(v, torch.Tensor):
                e[name] = v.flatten().tolist()
            else:
                e[name] = v
        state[n] = e
    case = dict(key=key, optimizer=CLASSES[key].__name__, options=descent_options(kw), steps=steps, loss=losses,
                params=params, state=state)
    if groups:
        case['groups'] = [dict(params=g['params'], **descent_options({k: v for k, v in g.items() if k != 'params'})) for g in groups]
    return case


def main():
    os.makedirs(OUT, exist_ok=True)
    surf, mlp, dropped = [], [], []
    for key, settings in SETTINGS.items():
        for setting in settings:
            for problem in setting.get('only', [S, B, M]):
                kw = kwargs_for(setting, problem)
                if problem == M:
                    mlp.append(mlp_case(key, kw))
                else:
                    c = surface_case(key, kw, problem)
                    (surf.append(c) if c else dropped.append((key, problem, kw)))
    for key, kw in AUTOGRAD_SETTINGS:
        for problem in AUTOGRAD:
            c = autograd_case(key, kw, problem)
            (surf.append(c) if c else dropped.append((key, problem, kw)))
    # Parameter groups: per-group lr and weight decay.
    groups = [dict(params=['0.weight', '0.bias'], lr=0.3), dict(params=['2.weight', '2.bias'], lr=0.05, weight_decay=0.1)]
    mlp.append(mlp_case('sgd', dict(lr=0.1, momentum=0.9), groups))
    mlp.append(mlp_case('adam', dict(lr=0.01), [dict(params=['0.weight', '2.weight'], weight_decay=0.2), dict(params=['0.bias', '2.bias'], lr=0.05)]))

    X, Y, init = mlp_data()
    header = dict(torch=torch.__version__, script='tools/golden_optim.py')
    with open(os.path.join(OUT, 'surfaces.json'), 'w') as f:
        json.dump(dict(header, cases=surf), f)
    with open(os.path.join(OUT, 'mlp.json'), 'w') as f:
        json.dump(dict(header, model='Linear(4,3) -> tanh -> Linear(3,2), cross-entropy (mean), full batch',
                       x=X.flatten().tolist(), y=Y.tolist(), init={n: t.flatten().tolist() for n, t in zip(NAMES, init)},
                       shapes={n: list(t.shape) for n, t in zip(NAMES, init)}, cases=mlp), f)

    # Clipping on fixed gradients.
    g = torch.Generator().manual_seed(99)
    grads = [torch.randn(3, 4, generator=g, dtype=torch.float64) * 2, torch.randn(5, generator=g, dtype=torch.float64)]
    clips = []
    for kind, arg, norm_type in [('norm', 1.0, 2.0), ('norm', 100.0, 2.0), ('norm', 2.0, 1.0), ('norm', 0.5, math.inf), ('value', 0.7, None)]:
        ps = [torch.zeros_like(t, requires_grad=True) for t in grads]
        for p, t in zip(ps, grads):
            p.grad = t.clone()
        total = None
        if kind == 'norm':
            total = torch.nn.utils.clip_grad_norm_(ps, arg, norm_type).item()
        else:
            torch.nn.utils.clip_grad_value_(ps, arg)
        clips.append(dict(kind=kind, arg=arg, normType='inf' if norm_type == math.inf else norm_type, total=total,
                          grads=[p.grad.flatten().tolist() for p in ps]))
    with open(os.path.join(OUT, 'clip.json'), 'w') as f:
        json.dump(dict(header, grads=[t.flatten().tolist() for t in grads], shapes=[list(t.shape) for t in grads], cases=clips), f)

    print(f'surfaces: {len(surf)} cases, mlp: {len(mlp)} cases, clip: {len(clips)} cases', file=sys.stderr)
    for d in dropped:
        print('dropped (diverged):', d, file=sys.stderr)


if __name__ == '__main__':
    main()
