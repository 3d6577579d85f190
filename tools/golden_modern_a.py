#!/usr/bin/python3
"""Golden trajectories of Muon, Adan, Prodigy, D-Adaptation Adam and SOAP, from their reference algorithms.

Run:  /usr/bin/python3 tools/golden_modern_a.py      (writes test/fixtures/optim/modern_a.json)

None of these is in PyTorch 1.13 (Muon is in 2.9 only), so each reference update is written out below
in torch ops, float64, step by step as in the authors' code (read for this, not copied):
  Muon     torch.optim.Muon (2.9, torch/optim/_muon.py) for the Muon groups, with the variants of
           github.com/KellerJordan/Muon (muon.py: x/(|x|+eps)) and keras.optimizers.Muon (m <- b m + g);
           the AdamW groups as the reference's MuonWithAuxAdam (adam_update).
  Adan     github.com/sail-sg/Adan, adan.py, _single_tensor_adan (no_prox both ways).
  Prodigy  github.com/konstmish/prodigy, prodigyopt/prodigy.py (slice_p = 1).
  DAdapt   github.com/facebookresearch/dadaptation, dadaptation/dadapt_adam.py (v3: sqrt(beta2) form).
  SOAP     github.com/nikhilvyas/SOAP, soap.py (merge_dims False), eigh and QR in float64 (the
           reference casts the statistics to float32 for them).

Cases: a 4-4-5-3 tanh network (squared error; the inputs scaled by 1 + 0.1 t at step t, so that no
gradient repeats the last: SOAP's second gradient in the first one's eigenbasis would be diagonal, its
zeros rounding noise that Adam's m/(sqrt(v) + eps) divides by eps) with one 4-d "filter" term, 20 steps, parameters after every
step and the final state; for Adan, Prodigy and D-Adapt also the 2-D surfaces of tools/golden_optim.py.
The network is sized so that every SOAP statistic has distinct eigenvalues (maxPrecondDim 4 leaves the
5-wide modes unrotated): inside a repeated eigenvalue's eigenspace the basis is the solver's choice.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_optim import OUT, SURFACES  # noqa: E402

D = torch.float64
NAMES = ['w1', 'b1', 'c', 'w2', 'b2', 'w3', 'b3']


def net_data():
    g = torch.Generator().manual_seed(2024)
    X = torch.randn(8, 4, generator=g, dtype=D)
    Y = torch.randn(8, 3, generator=g, dtype=D)
    K = torch.randn(2, 3, 2, 2, generator=g, dtype=D)
    init = dict(
        w1=torch.randn(4, 4, generator=g, dtype=D) * 0.5, b1=torch.randn(4, generator=g, dtype=D) * 0.1,
        c=torch.randn(2, 3, 2, 2, generator=g, dtype=D) * 0.5,
        w2=torch.randn(5, 4, generator=g, dtype=D) * 0.5, b2=torch.randn(5, generator=g, dtype=D) * 0.1,
        w3=torch.randn(3, 5, generator=g, dtype=D) * 0.5, b3=torch.randn(3, generator=g, dtype=D) * 0.1)
    return X, Y, K, init


def net_loss(X, Y, K, p, t):
    """Mean squared error of the network on inputs scaled by 1 + 0.1 t at step t (so no two gradients are equal)."""
    h1 = torch.tanh((X * (1 + 0.1 * t)) @ p['w1'].t() + p['b1'])
    h2 = torch.tanh(h1 @ p['w2'].t() + p['b2'])
    mse = ((h2 @ p['w3'].t() + p['b3'] - Y) ** 2).mean()
    return mse + 0.1 * (torch.tanh(p['c']) * K).sum()


# ---- the reference updates, in torch ops ------------------------------------------------------
def ns5(G, coeffs, steps, eps, normalize):
    a, b, c = coeffs
    X = G.clone()
    tall = G.size(0) > G.size(1)
    if tall:
        X = X.T
    n = X.norm()
    X = X / (n + eps) if normalize == 'add' else X / n.clamp(min=eps)
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return X.T if tall else X


def muon_step(groups, state):
    for g in groups:
        for name, p in g['params']:
            st = state.setdefault(name, {})
            grad = p.grad
            if not g['useMuon']:
                if not st:
                    st.update(step=0, expAvg=torch.zeros_like(p), expAvgSq=torch.zeros_like(p))
                st['step'] += 1
                b1, b2 = g['betas']
                st['expAvg'].lerp_(grad, 1 - b1)
                st['expAvgSq'].lerp_(grad.square(), 1 - b2)
                upd = (st['expAvg'] / (1 - b1 ** st['step'])) / ((st['expAvgSq'] / (1 - b2 ** st['step'])).sqrt() + g['adamEps'])
                p.mul_(1 - g['lr'] * g['weightDecay'])
                p.add_(upd, alpha=-g['lr'])
                continue
            if not st:
                st['momentumBuffer'] = torch.zeros_like(p)
            buf, beta = st['momentumBuffer'], g['momentum']
            if g['momentumForm'] == 'ema':
                buf.lerp_(grad, 1 - beta)
                u = grad.lerp(buf, beta) if g['nesterov'] else buf
            else:
                buf.mul_(beta).add_(grad)
                u = grad + beta * buf if g['nesterov'] else buf
            M = u.reshape(p.shape[0], -1)
            O = ns5(M, g['nsCoefficients'], g['nsSteps'], g['eps'], g['nsNormalize'])
            rows, cols = M.shape
            fn = g['adjustLrFn']
            ratio = math.sqrt(max(1, rows / cols)) if fn == 'original' else 0.2 * math.sqrt(max(rows, cols)) if fn == 'match_rms_adamw' else 1.0
            p.mul_(1 - g['lr'] * g['weightDecay'])
            p.add_(O.reshape(p.shape), alpha=-g['lr'] * ratio)


def adan_step(groups, state):
    for g in groups:
        b1, b2, b3 = g['betas']
        for name, p in g['params']:
            st = state.setdefault(name, {})
            grad = p.grad.clone()
            if not st:
                st.update(step=0, expAvg=torch.zeros_like(p), expAvgSq=torch.zeros_like(p), expAvgDiff=torch.zeros_like(p))
            st['step'] += 1
            k = st['step']
            if k == 1:
                st['negPreGrad'] = -grad
            neg = st['negPreGrad']
            neg.add_(grad)
            st['expAvg'].mul_(b1).add_(grad, alpha=1 - b1)
            st['expAvgDiff'].mul_(b2).add_(neg, alpha=1 - b2)
            neg.mul_(b2).add_(grad)
            st['expAvgSq'].mul_(b3).addcmul_(neg, neg, value=1 - b3)
            denom = (st['expAvgSq'].sqrt() / math.sqrt(1 - b3 ** k)).add_(g['eps'])
            ss_diff = g['lr'] * b2 / (1 - b2 ** k)
            ss = g['lr'] / (1 - b1 ** k)
            if g['noProx']:
                p.mul_(1 - g['lr'] * g['weightDecay'])
                p.addcdiv_(st['expAvg'], denom, value=-ss)
                p.addcdiv_(st['expAvgDiff'], denom, value=-ss_diff)
            else:
                p.addcdiv_(st['expAvg'], denom, value=-ss)
                p.addcdiv_(st['expAvgDiff'], denom, value=-ss_diff)
                p.div_(1 + g['lr'] * g['weightDecay'])
            neg.zero_().add_(grad, alpha=-1.0)


def prodigy_step(groups, state, sh):
    g0 = groups[0]
    beta1, beta2 = g0['betas']
    beta3 = g0['beta3'] if g0['beta3'] is not None else math.sqrt(beta2)
    k, d, d_max = sh['k'], sh['d'], sh['dMax']
    lr = max(g['lr'] for g in groups)
    bc = ((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1)) if g0['useBiasCorrection'] else 1
    dlr = d * lr * bc
    growth = g0['growthRate'] if g0['growthRate'] is not None else float('inf')
    decouple = g0['decouple']
    d_num = sh['dNumerator'] * beta3
    d_denom = 0.0
    grads = {}
    for g in groups:
        decay, d0 = g['weightDecay'], g['d0']
        for name, p in g['params']:
            grad = p.grad.clone()
            if decay != 0 and not decouple:
                grad.add_(p, alpha=decay)
            grads[name] = grad
            st = state.setdefault(name, {})
            if not st:
                st.update(step=0, s=torch.zeros_like(p), p0=p.detach().clone(), expAvg=torch.zeros_like(p), expAvgSq=torch.zeros_like(p))
            if g['lr'] > 0:
                d_num += (d / d0) * dlr * torch.dot(grad.flatten(), (st['p0'] - p).flatten()).item()
                st['expAvg'].mul_(beta1).add_(grad, alpha=d * (1 - beta1))
                st['expAvgSq'].mul_(beta2).addcmul_(grad, grad, value=d * d * (1 - beta2))
                st['s'].mul_(beta3).add_(grad, alpha=(d / d0) * (d if g['safeguardWarmup'] else dlr))
                d_denom += st['s'].abs().sum().item()
    if d_denom == 0:
        return
    d_hat = d
    if lr > 0:
        d_hat = g0['dCoef'] * d_num / d_denom
        if d == g0['d0']:
            d = max(d, d_hat)
        d_max = max(d_max, d_hat)
        d = min(d_max, d * growth)
    sh.update(d=d, dMax=d_max, dNumerator=d_num, dDenom=d_denom, dHat=d_hat, k=k + 1)
    for g in groups:
        for name, p in g['params']:
            st = state[name]
            st['step'] += 1
            denom = st['expAvgSq'].sqrt().add_(d * g['eps'])
            if g['weightDecay'] != 0 and decouple:
                p.add_(p, alpha=-g['weightDecay'] * dlr)
            p.addcdiv_(st['expAvg'], denom, value=-dlr)


def dadapt_step(groups, state, sh):
    g0 = groups[0]
    beta1, beta2 = g0['betas']
    k, d = sh['k'], sh['d']
    lr = max(g['lr'] for g in groups)
    bc = ((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1)) if g0['useBiasCorrection'] else 1
    dlr = d * lr * bc
    growth = g0['growthRate'] if g0['growthRate'] is not None else float('inf')
    decouple = g0['decouple']
    sqrt_beta2 = beta2 ** 0.5
    acc, sk_l1 = 0.0, 0.0
    for g in groups:
        decay, r = g['weightDecay'], g['layerScale']
        for name, p in g['params']:
            grad = p.grad.clone()
            if decay != 0 and not decouple:
                grad.add_(p, alpha=decay)
            st = state.setdefault(name, {})
            if not st:
                st.update(step=0, s=torch.zeros_like(p), expAvg=torch.zeros_like(p), expAvgSq=torch.zeros_like(p))
            if g['lr'] > 0:
                denom = st['expAvgSq'].sqrt().add_(g['eps'])
                acc += r * dlr * torch.dot(grad.flatten(), st['s'].div(denom).flatten()).item()
                st['expAvg'].mul_(beta1).add_(grad, alpha=r * dlr * (1 - beta1))
                st['expAvgSq'].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                st['s'].mul_(sqrt_beta2).add_(grad, alpha=dlr * (1 - sqrt_beta2))
                sk_l1 += r * st['s'].abs().sum().item()
    if sk_l1 == 0:
        return
    nw = sqrt_beta2 * sh['numeratorWeighted'] + (1 - sqrt_beta2) * acc
    if lr > 0:
        d_hat = nw / ((1 - sqrt_beta2) * sk_l1)
        d = max(d, min(d_hat, d * growth))
    sh.update(d=d, numeratorWeighted=nw, k=k + 1)
    for g in groups:
        for name, p in g['params']:
            st = state[name]
            st['step'] += 1
            denom = st['expAvgSq'].sqrt().add_(g['eps'])
            if g['weightDecay'] != 0 and decouple:
                p.add_(p, alpha=-g['weightDecay'] * dlr)
            p.addcdiv_(st['expAvg'], denom, value=-1)


def soap_project(t, Q, back):
    for mat in Q:
        if mat is not None:
            t = torch.tensordot(t, mat, dims=[[0], [1 if back else 0]])
        else:
            t = t.permute(list(range(1, t.dim())) + [0])
    return t


def soap_step(groups, state):
    for g in groups:
        for name, p in g['params']:
            grad = p.grad
            st = state.setdefault(name, {})
            sb = g['shampooBeta'] if g['shampooBeta'] is not None else g['betas'][1]
            if not st:
                st.update(step=0, expAvg=torch.zeros_like(p), expAvgSq=torch.zeros_like(p))
                if grad.dim() == 1:
                    st['GG'] = [torch.zeros(grad.shape[0], grad.shape[0], dtype=D) if g['precondition1d'] and grad.shape[0] <= g['maxPrecondDim'] else None]
                else:
                    st['GG'] = [torch.zeros(s, s, dtype=D) if s <= g['maxPrecondDim'] else None for s in grad.shape]
                st['Q'] = None
                soap_update_precond(grad, st, sb, g)
                continue
            gp = soap_project(grad, st['Q'], False)
            b1, b2 = g['betas']
            st['step'] += 1
            st['expAvg'].mul_(b1).add_(gp, alpha=1 - b1)
            st['expAvgSq'].mul_(b2).add_(gp.square(), alpha=1 - b2)
            denom = st['expAvgSq'].sqrt().add_(g['eps'])
            step_size = g['lr']
            if g['correctBias']:
                step_size = step_size * ((1 - b2 ** st['step']) ** .5) / (1 - b1 ** st['step'])
            norm_grad = soap_project(st['expAvg'] / denom, st['Q'], True)
            if g['normalizeGrads']:
                norm_grad = norm_grad / (1e-30 + torch.mean(norm_grad ** 2) ** 0.5)
            p.add_(norm_grad, alpha=-step_size)
            if g['weightDecay'] > 0:
                p.add_(p, alpha=-g['lr'] * g['weightDecay'])
            soap_update_precond(grad, st, sb, g)


def soap_update_precond(grad, st, sb, g):
    if st['Q'] is not None:
        st['expAvg'] = soap_project(st['expAvg'], st['Q'], True)
    for idx, GG in enumerate(st['GG']):
        if GG is None:
            continue
        if grad.dim() == 1:
            outer = grad.unsqueeze(1) @ grad.unsqueeze(0)
        else:
            other = [i for i in range(grad.dim()) if i != idx]
            outer = torch.tensordot(grad, grad, dims=[other, other])
        GG.lerp_(outer, 1 - sb)
    if st['Q'] is None:
        st['Q'] = [None if GG is None else torch.flip(torch.linalg.eigh(GG + 1e-30 * torch.eye(GG.shape[0], dtype=D))[1], [1]) for GG in st['GG']]
    if st['step'] > 0 and st['step'] % g['preconditionFrequency'] == 0:
        v = st['expAvgSq']
        final = []
        for ind, (m, o) in enumerate(zip(st['GG'], st['Q'])):
            if m is None:
                final.append(None)
                continue
            est = torch.diag(o.T @ m @ o)
            idx = torch.argsort(est, descending=True)
            v = v.index_select(ind, idx)
            o = o[:, idx]
            final.append(torch.linalg.qr(m @ o)[0])
        st['expAvgSq'] = v
        st['Q'] = final
    if st['step'] > 0:
        st['expAvg'] = soap_project(st['expAvg'], st['Q'], False)


# ---- defaults (descent's names) and groups -------------------------------------------------------
DEFAULTS = {
    'muon': dict(lr=1e-3, momentum=0.95, nesterov=True, weightDecay=0.1, nsCoefficients=[3.4445, -4.775, 2.0315], nsSteps=5, eps=1e-7,
                 adjustLrFn='original', momentumForm='ema', nsNormalize='clamp', useMuon=True, betas=[0.9, 0.95], adamEps=1e-10),
    'adan': dict(lr=1e-3, betas=[0.98, 0.92, 0.99], eps=1e-8, weightDecay=0.0, noProx=False),
    'prodigy': dict(lr=1.0, betas=[0.9, 0.999], beta3=None, eps=1e-8, weightDecay=0.0, decouple=True, useBiasCorrection=False,
                    safeguardWarmup=False, d0=1e-6, dCoef=1.0, growthRate=None),
    'dadaptadam': dict(lr=1.0, betas=[0.9, 0.999], eps=1e-8, weightDecay=0.0, decouple=False, useBiasCorrection=False, d0=1e-6,
                       growthRate=None, layerScale=1.0),
    'soap': dict(lr=3e-3, betas=[0.95, 0.95], shampooBeta=None, eps=1e-8, weightDecay=0.01, preconditionFrequency=10, maxPrecondDim=10000,
                 precondition1d=False, normalizeGrads=False, correctBias=True),
}
STEPPERS = {'muon': muon_step, 'adan': adan_step, 'soap': soap_step}
SHARED = {'prodigy': (prodigy_step, lambda h: dict(d=h['d0'], dMax=h['d0'], dNumerator=0.0, dDenom=0.0, dHat=0.0, k=0)),
          'dadaptadam': (dadapt_step, lambda h: dict(d=h['d0'], numeratorWeighted=0.0, k=0))}


def make_groups(key, named, options, groups):
    """Groups as descent builds them: `groups` lists names and overrides; Muon without groups splits like muonParamGroups."""
    base = {**DEFAULTS[key], **{k: v for k, v in options.items() if k not in ('adamLr', 'adamWeightDecay')}}
    if groups is None and key == 'muon':
        mats = [n for n, p in named if p.dim() >= 2]
        muon = [n for n in mats if n not in (mats[0], mats[-1])]
        groups = [dict(params=muon, useMuon=True),
                  dict(params=[n for n, _ in named if n not in muon], useMuon=False, lr=options.get('adamLr', 3e-4),
                       weightDecay=options.get('adamWeightDecay', 0.0))]
    if groups is None:
        groups = [dict(params=[n for n, _ in named])]
    d = dict(named)
    return [{**base, **{k: v for k, v in g.items() if k != 'params'}, 'params': [(n, d[n]) for n in g['params']]} for g in groups]


def run(key, groups, closure, steps, record):
    state = {}
    sh = SHARED[key][1](groups[0]) if key in SHARED else None
    for _ in range(steps):
        closure()
        with torch.no_grad():
            if sh is not None:
                SHARED[key][0](groups, state, sh)
            else:
                STEPPERS[key](groups, state)
        record()
    return state, sh


def net_case(key, options, groups=None, steps=20, state_keys=()):
    X, Y, K, init = net_data()
    ps = {n: init[n].clone().requires_grad_(True) for n in NAMES}
    named = [(n, ps[n]) for n in NAMES]
    gs = make_groups(key, named, options, groups)
    losses, params = [], []

    def closure():
        for p in ps.values():
            p.grad = None
        loss = net_loss(X, Y, K, ps, len(losses))
        loss.backward()
        losses.append(loss.item())

    state, sh = run(key, gs, closure, steps, lambda: params.append({n: ps[n].detach().flatten().tolist() for n in NAMES}))
    st = {}
    for n in NAMES:
        e = {}
        for k in state_keys:
            v = state.get(n, {}).get(k)
            if v is None:
                continue
            e[k] = v.flatten().tolist() if torch.is_tensor(v) else v
        if key == 'soap' and 'GG' in state.get(n, {}):
            for j, GG in enumerate(state[n]['GG']):
                if GG is not None:
                    e[f'gg{j}'] = GG.flatten().tolist()
        st[n] = e
    case = dict(key=key, options=options, steps=steps, loss=losses, params=params, state=st)
    if groups:
        case['groups'] = groups
    if sh is not None:
        case['shared'] = sh
    return case


def surface_case(key, options, problem, steps=50):
    fn, start = SURFACES[problem]
    p = torch.tensor(start, dtype=D, requires_grad=True)
    gs = make_groups(key, [('xy', p)], options, None)
    xs, fs = [list(start)], [fn(*start)[0]]

    def closure():
        x, y = p.detach().tolist()
        p.grad = torch.tensor(fn(x, y)[1], dtype=D)

    def record():
        x, y = p.detach().tolist()
        xs.append([x, y])
        fs.append(fn(x, y)[0])

    run(key, gs, closure, steps, record)
    assert all(math.isfinite(v) for pt in xs for v in pt)
    return dict(key=key, problem=problem, options=options, start=start, steps=steps, x=xs, f=fs)


def main():
    torch.set_default_dtype(D)
    X, Y, K, init = net_data()
    net = dict(x=X.flatten().tolist(), y=Y.flatten().tolist(), k=K.flatten().tolist(), kShape=list(K.shape),
               init={n: init[n].flatten().tolist() for n in NAMES}, shapes={n: list(init[n].shape) for n in NAMES}, names=NAMES)
    M = ('momentumBuffer', 'step', 'expAvg', 'expAvgSq')
    A = ('step', 'expAvg', 'expAvgSq', 'expAvgDiff', 'negPreGrad')
    P = ('step', 's', 'p0', 'expAvg', 'expAvgSq')
    DA = ('step', 's', 'expAvg', 'expAvgSq')
    S = ('step', 'expAvgSq')
    cases = [
        net_case('muon', dict(lr=0.02, adamLr=0.01), state_keys=M),
        net_case('muon', dict(lr=0.02, nesterov=False, momentumForm='sum', nsNormalize='add', adjustLrFn='match_rms_adamw', weightDecay=0,
                              adamLr=0.01, adamWeightDecay=0.05), state_keys=M),
        net_case('muon', dict(lr=0.05, nsSteps=3, nsCoefficients=[2, -1.5, 0.5], adjustLrFn='none', momentum=0.8, adamLr=0.02), state_keys=M),
        net_case('muon', dict(lr=0.02, betas=[0.8, 0.9], adamEps=1e-8),
                 groups=[dict(params=['c', 'w2', 'w3']), dict(params=['w1', 'b1', 'b2', 'b3'], useMuon=False, lr=0.01, weightDecay=0.01)], state_keys=M),
        net_case('adan', dict(lr=0.01), state_keys=A),
        net_case('adan', dict(lr=0.02, weightDecay=0.05, betas=[0.9, 0.9, 0.95]), state_keys=A),
        net_case('adan', dict(lr=0.02, weightDecay=0.05, noProx=True), state_keys=A),
        net_case('prodigy', dict(lr=1.0), state_keys=P),
        net_case('prodigy', dict(lr=1.0, weightDecay=0.1, useBiasCorrection=True, safeguardWarmup=True, d0=1e-3, dCoef=2.0, growthRate=1.5), state_keys=P),
        net_case('prodigy', dict(lr=0.5, decouple=False, weightDecay=0.01, beta3=0.9, betas=[0.8, 0.99]), state_keys=P),
        net_case('prodigy', dict(lr=1.0), groups=[dict(params=['w1', 'b1', 'c', 'w2', 'b2']), dict(params=['w3', 'b3'], lr=0.0)], state_keys=P),
        # lr 1 drives d to ~0.4 here, where the steps amplify last-bit differences about threefold per step (4e-10
        # by step 20): 15 steps keep the comparison about rounding, not chaos
        net_case('dadaptadam', dict(lr=1.0), steps=15, state_keys=DA),
        net_case('dadaptadam', dict(lr=1.0, decouple=True, weightDecay=0.1, useBiasCorrection=True, growthRate=1.2, d0=1e-4), state_keys=DA),
        net_case('dadaptadam', dict(lr=0.5, weightDecay=0.01, betas=[0.8, 0.99]),
                 groups=[dict(params=['w1', 'b1', 'c']), dict(params=['w2', 'b2', 'w3', 'b3'], layerScale=0.5)], state_keys=DA),
        net_case('soap', dict(lr=0.01, maxPrecondDim=4), state_keys=S),
        net_case('soap', dict(lr=0.01, maxPrecondDim=4, preconditionFrequency=3, normalizeGrads=True, shampooBeta=0.9, weightDecay=0), state_keys=S),
        net_case('soap', dict(lr=0.02, maxPrecondDim=4, correctBias=False, betas=[0.9, 0.99], preconditionFrequency=4), state_keys=S),
    ]
    surfaces = []
    for problem in SURFACES:
        for key, options in [('adan', dict(lr=0.05)), ('adan', dict(lr=0.02, weightDecay=0.1)), ('prodigy', dict(lr=1.0)),
                             ('prodigy', dict(lr=1.0, d0=1e-3, useBiasCorrection=True)), ('dadaptadam', dict(lr=1.0)),
                             ('dadaptadam', dict(lr=1.0, d0=1e-3, decouple=True, weightDecay=0.01))]:
            surfaces.append(surface_case(key, options, problem))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'modern_a.json')
    with open(path + '.tmp', 'w') as f:
        json.dump(dict(net=net, cases=cases, surfaces=surfaces), f)
    os.replace(path + '.tmp', path)
    print(f'wrote {path}: {len(cases)} network cases, {len(surfaces)} surface trajectories')


if __name__ == '__main__':
    main()
