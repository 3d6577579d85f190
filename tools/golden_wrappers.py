#!/usr/bin/python3
"""Golden trajectories of Schedule-Free SGD/AdamW, SAM/ASAM and Lookahead for descent's tests.

Run:  /usr/bin/python3 tools/golden_wrappers.py      (writes test/fixtures/optim/wrappers.json)

None of these is in torch.optim, so each is written below from its paper's algorithm box in torch
tensor ops, float64, following the arithmetic of the authors' reference code (read, not copied):
  Schedule-Free  Defazio et al. 2024, Algorithm 1; facebookresearch/schedule_free
                 (sgd_schedulefree.py, adamw_schedulefree.py: the y/z form, lr_max weighting,
                 AdamW's sqrt(1 - beta2^t) in the lr, eval()/train() by lerp)
  SAM / ASAM     Foret et al. 2021, Algorithm 1; Kwon et al. 2021, Algorithm 1; davda54/sam
                 (one norm over all parameters, + 1e-12, T^2 g in the ascent), with ASAM's eta
  Lookahead      Zhang et al. 2019, Algorithm 1; michaelrzhang/lookahead (alpha*fast + (1-alpha)*slow)

Problems: the 4-3-2 tanh MLP of tools/golden_optim.py (same data and initial weights, 20 steps:
parameters after every step, the loss before it, the evaluated (averaged) weights for
Schedule-Free, and the final state), and Rosenbrock/Beale from golden_optim's surfaces (50 steps,
gradients from the same formulas as src/surfaces/functions.ts).
Options are stored with descent's names (camelCase, betas as a list).
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_optim import NAMES, SURFACES, mlp_data, mlp_loss  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'optim')


def lerp_(a, b, w):
    """a <- a + w (b - a), in place (torch.lerp, the same two-branch rounding)."""
    a.lerp_(b, w)


class ScheduleFree(torch.optim.Optimizer):
    """Both forms: kind 'sgd' (beta = momentum) or 'adamw' (beta = betas[0], v from betas[1])."""

    def __init__(self, params, kind, lr, beta, beta2=0.999, eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0,
                 weight_lr_power=2.0):
        super().__init__(params, dict(lr=lr, beta=beta, beta2=beta2, eps=eps, weight_decay=weight_decay,
                                      warmup_steps=warmup_steps, r=r, weight_lr_power=weight_lr_power,
                                      k=0, lr_max=-1.0, weight_sum=0.0, train_mode=True))
        self.kind = kind

    @torch.no_grad()
    def switch(self, train):
        for group in self.param_groups:
            if group['train_mode'] == train:
                continue
            w = 1 - group['beta'] if train else 1 - 1 / group['beta']
            for p in group['params']:
                if 'z' in self.state[p]:
                    lerp_(p, self.state[p]['z'], w)
            group['train_mode'] = train

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            assert group['train_mode']
            k = group['k']
            t = k + 1
            warm = t / group['warmup_steps'] if k < group['warmup_steps'] else 1.0
            eta = group['lr'] * warm
            if self.kind == 'adamw':
                eta = eta * math.sqrt(1 - group['beta2'] ** t)
            group['lr_max'] = max(eta, group['lr_max'])
            w_t = (t ** group['r']) * (group['lr_max'] ** group['weight_lr_power'])
            group['weight_sum'] += w_t
            c = w_t / group['weight_sum'] if group['weight_sum'] != 0 else 0.0
            beta = group['beta']
            for y in group['params']:
                if y.grad is None:
                    continue
                st = self.state[y]
                if 'z' not in st:
                    st['z'] = y.detach().clone()
                    if self.kind == 'adamw':
                        st['v'] = torch.zeros_like(y)
                g = y.grad
                if self.kind == 'adamw':
                    st['v'].mul_(group['beta2']).addcmul_(g, g, value=1 - group['beta2'])
                    d = g / (st['v'].sqrt() + group['eps'])
                else:
                    d = g.clone()
                if group['weight_decay'] != 0:
                    d = d + group['weight_decay'] * y
                lerp_(y, st['z'], c)
                y.add_(d, alpha=eta * (beta * (1 - c) - 1))
                st['z'].sub_(d, alpha=eta)
            group['k'] = t


class SAM(torch.optim.Optimizer):
    """SAM/ASAM over a base optimizer; step(closure) evaluates the closure at w and at w + e."""

    def __init__(self, base, rho=0.05, adaptive=False, eta=0.0):
        self.base = base
        super().__init__([{'params': g['params']} for g in base.param_groups], dict(rho=rho, adaptive=adaptive, eta=eta))

    def step(self, closure):
        with torch.enable_grad():
            loss = closure()
        with torch.no_grad():
            norms = []
            for group in self.param_groups:
                for p in group['params']:
                    if p.grad is not None:
                        t = (p.abs() + group['eta']) if group['adaptive'] else 1.0
                        norms.append((t * p.grad).norm(p=2))
            norm = torch.norm(torch.stack(norms), p=2)
            for group in self.param_groups:
                scale = group['rho'] / (norm + 1e-12)
                for p in group['params']:
                    if p.grad is None:
                        continue
                    self.state[p]['w'] = p.detach().clone()
                    t = (p.abs() + group['eta']) if group['adaptive'] else 1.0
                    p.add_(t * t * p.grad * scale)
        with torch.enable_grad():
            closure()
        with torch.no_grad():
            for group in self.param_groups:
                for p in group['params']:
                    if 'w' in self.state[p]:
                        p.copy_(self.state[p].pop('w'))
        self.base.step()
        return loss


class Lookahead(torch.optim.Optimizer):
    def __init__(self, base, k=5, alpha=0.5):
        self.base = base
        self.k, self.alpha, self.count = k, alpha, 0
        super().__init__([{'params': g['params']} for g in base.param_groups], {})

    def step(self, closure=None):
        with torch.no_grad():
            for group in self.param_groups:
                for p in group['params']:
                    if 'slow' not in self.state[p]:
                        self.state[p]['slow'] = p.detach().clone()
        loss = self.base.step(closure) if closure is not None else self.base.step()
        self.count += 1
        if self.count >= self.k:
            self.count = 0
            with torch.no_grad():
                for group in self.param_groups:
                    for p in group['params']:
                        slow = self.state[p]['slow']
                        p.mul_(self.alpha).add_(slow, alpha=1 - self.alpha)
                        slow.copy_(p)
        return loss


# ---- settings: descent's registry key and options; build(params) makes the reference ----------
def sf_sgd(o):
    return lambda ps: ScheduleFree(ps, 'sgd', o.get('lr', 1.0), o.get('momentum', 0.9), weight_decay=o.get('weightDecay', 0.0),
                                   warmup_steps=o.get('warmupSteps', 0), r=o.get('r', 0.0), weight_lr_power=o.get('weightLrPower', 2.0))


def sf_adamw(o):
    b = o.get('betas', [0.9, 0.999])
    return lambda ps: ScheduleFree(ps, 'adamw', o.get('lr', 0.0025), b[0], b[1], eps=o.get('eps', 1e-8),
                                   weight_decay=o.get('weightDecay', 0.0), warmup_steps=o.get('warmupSteps', 0),
                                   r=o.get('r', 0.0), weight_lr_power=o.get('weightLrPower', 2.0))


def base_of(o):
    kw = {k: v for k, v in o.items() if k in ('lr', 'momentum', 'nesterov')}
    if o.get('base', 'sgd') == 'adam':
        return lambda ps: torch.optim.Adam(ps, lr=kw['lr'])
    return lambda ps: torch.optim.SGD(ps, **kw)


def sam(o, preset=None):
    o2 = {**(preset or {}), **o}
    return lambda ps: SAM(base_of(o2)(ps), rho=o2.get('rho', 0.05), adaptive=o2.get('adaptive', False), eta=o2.get('eta', 0.0))


def lookahead(o):
    if o.get('base') == 'sam':
        inner = {k: v for k, v in o.items() if k not in ('base', 'k', 'alpha')}
        return lambda ps: Lookahead(sam({**inner, 'base': 'sgd'})(ps), k=o['k'], alpha=o['alpha'])
    return lambda ps: Lookahead(base_of(o)(ps), k=o.get('k', 5), alpha=o.get('alpha', 0.5))


MLP_SETTINGS = [
    ('schedule-free-sgd', {'lr': 0.5}, sf_sgd),
    ('schedule-free-sgd', {'lr': 0.3, 'momentum': 0.8, 'weightDecay': 0.01, 'warmupSteps': 5}, sf_sgd),
    ('schedule-free-sgd', {'lr': 0.4, 'r': 1.0, 'weightLrPower': 0, 'warmupSteps': 3}, sf_sgd),
    ('schedule-free-adamw', {'lr': 0.05}, sf_adamw),
    ('schedule-free-adamw', {'lr': 0.03, 'betas': [0.8, 0.99], 'eps': 1e-6, 'weightDecay': 0.02, 'warmupSteps': 4}, sf_adamw),
    ('schedule-free-adamw', {'lr': 0.05, 'r': 0.5, 'weightLrPower': 1}, sf_adamw),
    ('sam', {'base': 'sgd', 'lr': 0.1, 'momentum': 0.9, 'rho': 0.05}, sam),
    ('sam', {'base': 'adam', 'lr': 0.01, 'rho': 0.5, 'adaptive': True}, sam),
    ('sam', {'base': 'sgd', 'lr': 0.2, 'rho': 0.2, 'adaptive': True, 'eta': 0.01}, sam),
    ('asam', {'base': 'sgd', 'lr': 0.2}, lambda o: sam(o, {'adaptive': True, 'rho': 0.5, 'eta': 0.01})),
    ('lookahead', {'base': 'sgd', 'lr': 0.1, 'momentum': 0.9, 'k': 5, 'alpha': 0.5}, lookahead),
    ('lookahead', {'base': 'adam', 'lr': 0.02, 'k': 3, 'alpha': 0.8}, lookahead),
]
# Lookahead over SAM is built by hand in the test (the registry wraps only per-parameter bases).
LA_SAM = ('lookahead-sam', {'lr': 0.1, 'rho': 0.05, 'k': 4, 'alpha': 0.5}, lambda o: lookahead({**o, 'base': 'sam'}))

SURFACE_SETTINGS = [
    ('schedule-free-sgd', {'lr': 1e-3}, sf_sgd),
    ('schedule-free-adamw', {'lr': 0.05, 'warmupSteps': 10}, sf_adamw),
    ('sam', {'base': 'sgd', 'lr': 1e-3, 'momentum': 0.9, 'rho': 0.05}, sam),
    ('lookahead', {'base': 'adam', 'lr': 0.05, 'k': 5, 'alpha': 0.5}, lookahead),
]


def state_of(opt, ps):
    """The final state, by parameter name, in descent's keys (the wrapper's own, then the base's under base.)."""
    out = {}
    for n, p in zip(NAMES, ps):
        e = {}
        st = opt.state.get(p, {})
        if 'z' in st:
            e['z'] = st['z'].flatten().tolist()
        if 'v' in st:
            e['expAvgSq'] = st['v'].flatten().tolist()
        if 'slow' in st:
            e['slow'] = st['slow'].flatten().tolist()
        out[n] = e
    return out


def mlp_case(key, options, make, steps=20, switch_every=None):
    X, Y, init = mlp_data()
    ps = [t.clone().requires_grad_(True) for t in init]
    opt = make(options)(ps)

    def closure():
        opt.zero_grad()
        loss = mlp_loss(X, Y, ps)
        loss.backward()
        return loss.item()

    losses, params, evals = [], [], []
    for t in range(steps):
        if isinstance(opt, ScheduleFree) or (isinstance(opt, Lookahead) and not isinstance(opt.base, SAM)):
            losses.append(closure())
            opt.step()
        else:
            losses.append(opt.step(closure))
        params.append({n: p.detach().flatten().tolist() for n, p in zip(NAMES, ps)})
        if isinstance(opt, ScheduleFree):
            # the averaged weights x, computed without touching the parameters (descent's evalWeights())
            with torch.no_grad():
                xs = {}
                for n, p in zip(NAMES, ps):
                    x = p.detach().clone()
                    lerp_(x, opt.state[p]['z'], 1 - 1 / opt.param_groups[0]['beta'])
                    xs[n] = x.flatten().tolist()
            evals.append(xs)
            if switch_every and (t + 1) % switch_every == 0:
                # eval() then train() in place, as the reference's are called around an evaluation
                opt.switch(False)
                opt.switch(True)
                params[-1] = {n: p.detach().flatten().tolist() for n, p in zip(NAMES, ps)}
    case = dict(key=key, options=options, steps=steps, loss=losses, params=params, state=state_of(opt, ps))
    if evals:
        case['evalParams'] = evals
    if switch_every:
        case['switchEvery'] = switch_every
    if isinstance(opt, ScheduleFree):
        g = opt.param_groups[0]
        case['counters'] = dict(step=g['k'], lrMax=g['lr_max'], weightSum=g['weight_sum'])
    return case


def surface_case(problem, key, options, make, steps=50):
    fn, start = SURFACES[problem]
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make(options)([p])

    def closure():
        x, y = p.detach().tolist()
        f, g = fn(x, y)
        p.grad = torch.tensor(g, dtype=torch.float64)
        return f

    xs = [list(start)]
    for _ in range(steps):
        if isinstance(opt, SAM):
            opt.step(closure)
        else:
            closure()
            opt.step()
        xs.append(p.detach().tolist())
    assert all(math.isfinite(v) for pt in xs for v in pt)
    return dict(problem=problem, key=key, options=options, start=start, steps=steps, x=xs)


def main():
    cases = [mlp_case(k, o, m) for k, o, m in MLP_SETTINGS]
    cases.append(mlp_case(*LA_SAM))
    # eval()/train() in place every 5 steps: the reference's lerps, round trip included
    cases.append(mlp_case('schedule-free-adamw', {'lr': 0.05}, sf_adamw, switch_every=5))
    cases.append(mlp_case('schedule-free-sgd', {'lr': 0.5, 'momentum': 0.7}, sf_sgd, switch_every=5))
    surfaces = [surface_case(pr, k, o, m) for pr in ('rosenbrock', 'beale') for k, o, m in SURFACE_SETTINGS]
    out = dict(torch=torch.__version__, script='tools/golden_wrappers.py', mlp=cases, surfaces=surfaces)
    with open(os.path.join(OUT, 'wrappers.json'), 'w') as f:
        json.dump(out, f)
    print(f'wrote {len(cases)} MLP and {len(surfaces)} surface cases to test/fixtures/optim/wrappers.json')


if __name__ == '__main__':
    main()
