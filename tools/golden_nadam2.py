#!/usr/bin/python3
"""Golden trajectories of PyTorch >= 2.0's NAdam, for descent's default NAdam (legacyMuProduct: false).

Run:  /usr/bin/python3 tools/golden_nadam2.py      (writes test/fixtures/optim/nadam2.json)

Only PyTorch 1.13 is installed here, and its NAdam counts mu_t twice in the second coefficient:
    1.13:  mu_product_next = mu_product * mu * mu_next      (float32 tensor ops)
    2.0:   mu_product_next = mu_product.item() * mu_next     (a Python float; pytorch/pytorch#92699)
so this script writes the 2.0 single-tensor rule out with torch tensor ops (class NAdam2 below), step
by step as in torch/optim/nadam.py of 2.0: step_t += 1; mu, mu_next from the momentum schedule;
mu_product *= mu (a float32 scalar tensor, torch.tensor(1.) under the default dtype); exp_avg.lerp_;
exp_avg_sq.mul_.addcmul_; denom = sqrt(exp_avg_sq / bias_correction2) + eps; two addcdiv_.

To show the re-implementation is faithful, NAdam2(legacy=True) swaps in 1.13's product and must equal
torch.optim.NAdam of the installed 1.13 exactly on every case (checked before anything is written).

Cases, float64 parameters: Rosenbrock from (-1.2, 1) and Beale from (1, 1.5), 50 steps, gradient from
the same formulas as tools/golden_optim.py; the 4-3-2 tanh MLP of tools/golden_optim.py, 20 full-batch
steps, parameters after every step and the final state. Options use descent's names.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_optim import NAMES, OUT, SURFACES, STATE_CAMEL, descent_options, mlp_data, train_mlp  # noqa: E402


class NAdam2(torch.optim.Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3, legacy=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay))
        self.legacy = legacy

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group['lr'], group['betas'], group['eps']
            wd, psi = group['weight_decay'], group['momentum_decay']
            for p in group['params']:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = torch.tensor(0.)
                    state['mu_product'] = torch.tensor(1.)
                    state['exp_avg'] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state['exp_avg_sq'] = torch.zeros_like(p, memory_format=torch.preserve_format)
                grad, exp_avg, exp_avg_sq = p.grad, state['exp_avg'], state['exp_avg_sq']
                mu_product, step_t = state['mu_product'], state['step']
                step_t += 1
                step = step_t.item()
                bias_correction2 = 1 - beta2 ** step
                if wd != 0:
                    grad = grad.add(p, alpha=wd)
                mu = beta1 * (1. - 0.5 * (0.96 ** (step * psi)))
                mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * psi)))
                mu_product *= mu
                if self.legacy:  # torch 1.13: mu_t counted twice, in float32 tensor arithmetic
                    mu_product_next = (mu_product * mu * mu_next).item()
                    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                else:  # torch 2.0
                    mu_product_next = mu_product.item() * mu_next
                    exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
                p.addcdiv_(grad, denom, value=(-lr * (1. - mu) / (1. - mu_product.item())))
                p.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1. - mu_product_next))


SETTINGS = [
    dict(lr=0.05),
    dict(lr=0.02, betas=(0.85, 0.99), momentum_decay=1e-2, weight_decay=0.05, eps=1e-6),
    dict(lr=0.1, betas=(0.5, 0.9), momentum_decay=0.1),
]


def surface_run(make, problem, steps=50):
    fn, start = SURFACES[problem]
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make([p])
    xs, fs = [list(start)], [fn(*start)[0]]
    for _ in range(steps):
        _, g = fn(*p.detach().tolist())
        opt.zero_grad()
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        xs.append(p.detach().tolist())
        fs.append(fn(*xs[-1])[0])
    return xs, fs


def mlp_run(make, steps=20):
    X, Y, init = mlp_data()
    ps = [t.clone().requires_grad_(True) for t in init]
    opt = make(ps)
    losses, params = train_mlp(opt, ps, X, Y, steps)
    state = {}
    for n, p in zip(NAMES, ps):
        state[n] = {STATE_CAMEL[k]: (v.item() if v.dim() == 0 else v.flatten().tolist()) for k, v in opt.state[p].items()}
    return losses, params, state


def main():
    surf, mlp = [], []
    for kw in SETTINGS:
        for problem in SURFACES:
            legacy = surface_run(lambda ps: NAdam2(ps, legacy=True, **kw), problem)
            torch113 = surface_run(lambda ps: torch.optim.NAdam(ps, **kw), problem)
            if legacy != torch113:
                sys.exit(f'NAdam2(legacy=True) differs from torch.optim.NAdam {torch.__version__} on {problem} {kw}')
            xs, fs = surface_run(lambda ps: NAdam2(ps, **kw), problem)
            if xs == torch113[0]:
                sys.exit(f'the 2.0 rule equals 1.13\'s on {problem} {kw}: the case does not tell them apart')
            surf.append(dict(key='nadam', problem=problem, options=descent_options(kw), start=xs[0], steps=len(xs) - 1, x=xs, f=fs))
        legacy = mlp_run(lambda ps: NAdam2(ps, legacy=True, **kw))
        torch113 = mlp_run(lambda ps: torch.optim.NAdam(ps, **kw))
        if legacy[:2] != torch113[:2]:
            sys.exit(f'NAdam2(legacy=True) differs from torch.optim.NAdam {torch.__version__} on the MLP {kw}')
        losses, params, state = mlp_run(lambda ps: NAdam2(ps, **kw))
        mlp.append(dict(key='nadam', options=descent_options(kw), steps=len(losses), loss=losses, params=params, state=state))
    with open(os.path.join(OUT, 'nadam2.json'), 'w') as f:
        json.dump(dict(rule='PyTorch >= 2.0 NAdam (single-tensor), re-implemented with torch ' + torch.__version__ + ' ops',
                       script='tools/golden_nadam2.py', surfaces=surf, mlp=mlp), f)
    print(f'nadam2.json: {len(surf)} surface cases, {len(mlp)} MLP cases; legacy=True equals torch.optim.NAdam {torch.__version__} on all', file=sys.stderr)


if __name__ == '__main__':
    main()
