#!/usr/bin/python3
"""Golden rate (and momentum) sequences from PyTorch 2's schedulers for descent's newer schedules:
ConstantLR, LambdaLR, SequentialLR, ChainedScheduler, SWALR, and OneCycleLR's cycle_momentum.

Run with PyTorch 2.6 (see /work/shared/tools/torch2.sh):
    bash ../shared/tools/torch2.sh python tools/golden_torch2_schedules.py > test/fixtures/schedule/torch2_schedules.json

As in tools/golden_schedules.py: for each case, the rate the optimizer holds for its (t+1)-th step,
t = 0..N-1, read before the t-th scheduler.step() in the standard loop (optimizer.step();
scheduler.step()). With cycle_momentum the momentum is read at the same time: param_groups[0]
['momentum'] for SGD, betas[0] for Adam. The lambdas are named here and written again in
test/schedule/torch2.test.ts.
"""
import json
import math
import warnings

import torch
from torch.optim import SGD, Adam
from torch.optim import lr_scheduler as L
from torch.optim.swa_utils import SWALR

warnings.filterwarnings("ignore")

LAMBDAS = {
    "inverse-sqrt": lambda t: 1 / (1 + 0.1 * t) ** 0.5,
    "warmup-then-decay": lambda t: (t + 1) / 5 if t < 4 else 0.9 ** (t - 4),
}


def opt(lr, kind="sgd"):
    p = torch.nn.Parameter(torch.zeros(1))
    return Adam([p], lr=lr) if kind == "adam" else SGD([p], lr=lr, momentum=0.9)


def run(make, lr, n, kind="sgd", momentum=False):
    o = opt(lr, kind)
    s = make(o)
    lrs, ms = [], []
    for _ in range(n):
        g = o.param_groups[0]
        lrs.append(g["lr"])
        ms.append(g["betas"][0] if kind == "adam" else g["momentum"])
        o.step()
        s.step()
    return (lrs, ms) if momentum else (lrs, None)


cases = []


def case(name, params, lr, n, make, kind="sgd", momentum=False):
    lrs, ms = run(make, lr, n, kind, momentum)
    c = {"name": name, "params": params, "lr": lr, "steps": n, "torch": lrs}
    if momentum:
        c["momentum"] = ms
        c["optimizer"] = kind
    cases.append(c)


# ConstantLR
case("constantlr", {"factor": 0.5, "totalSteps": 4}, 0.1, 10, lambda o: L.ConstantLR(o, factor=0.5, total_iters=4))
case("constantlr", {}, 0.2, 8, lambda o: L.ConstantLR(o))
# LambdaLR
for name, f in LAMBDAS.items():
    case("lambda", {"lambda": name}, 0.1, 15, lambda o, f=f: L.LambdaLR(o, lr_lambda=f))
# SequentialLR: part i is [kind, params] with descent's names
case("sequential", {"parts": [["constantlr", {"factor": 0.1, "totalSteps": 2}], ["expgamma", {"gamma": 0.9}]], "milestones": [2]}, 1.0, 10,
     lambda o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, gamma=0.9)], milestones=[2]))
case("sequential", {"parts": [["linear", {"startFactor": 0.25, "endFactor": 1.0, "totalSteps": 3}], ["step", {"stepSize": 3, "gamma": 0.5}],
                              ["cosine", {"totalSteps": 6, "minLr": 0.001}]], "milestones": [3, 9]}, 0.1, 20,
     lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.25, total_iters=3), L.StepLR(o, step_size=3, gamma=0.5),
                                  L.CosineAnnealingLR(o, T_max=6, eta_min=0.001)], milestones=[3, 9]))
case("sequential", {"parts": [["constantlr", {"factor": 0.5, "totalSteps": 3}], ["multistep", {"milestones": [2, 4], "gamma": 0.3}],
                              ["polynomial", {"totalSteps": 5, "power": 2.0}]], "milestones": [4, 10]}, 0.2, 18,
     lambda o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.5, total_iters=3), L.MultiStepLR(o, milestones=[2, 4], gamma=0.3),
                                  L.PolynomialLR(o, total_iters=5, power=2.0)], milestones=[4, 10]))
# ChainedScheduler: the factors multiply
case("chain", {"parts": [["constantlr", {"factor": 0.1, "totalSteps": 2}], ["expgamma", {"gamma": 0.9}]]}, 1.0, 10,
     lambda o: L.ChainedScheduler([L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, gamma=0.9)]))
case("chain", {"parts": [["linear", {"startFactor": 0.5, "endFactor": 1.0, "totalSteps": 4}], ["step", {"stepSize": 3, "gamma": 0.5}],
                         ["polynomial", {"totalSteps": 10, "power": 2.0}]]}, 0.1, 14,
     lambda o: L.ChainedScheduler([L.LinearLR(o, start_factor=0.5, total_iters=4), L.StepLR(o, step_size=3, gamma=0.5),
                                   L.PolynomialLR(o, total_iters=10, power=2.0)]))
case("chain", {"parts": [["multistep", {"milestones": [3, 7], "gamma": 0.5}], ["cosine", {"totalSteps": 12, "minLr": 0.0}]]}, 0.1, 12,
     lambda o: L.ChainedScheduler([L.MultiStepLR(o, milestones=[3, 7], gamma=0.5), L.CosineAnnealingLR(o, T_max=12)]))
# SWALR
for params, lr in (({"swaLr": 0.01, "annealSteps": 5, "anneal": "cos"}, 0.1), ({"swaLr": 0.05, "annealSteps": 4, "anneal": "linear"}, 0.2),
                   ({"swaLr": 0.02, "annealSteps": 0, "anneal": "cos"}, 0.1), ({"swaLr": 0.03, "annealSteps": 1, "anneal": "linear"}, 0.1),
                   ({"swaLr": 0.3, "annealSteps": 10, "anneal": "cos"}, 0.1)):
    case("swalr", params, lr, 14, lambda o, p=params: SWALR(o, swa_lr=p["swaLr"], anneal_epochs=p["annealSteps"], anneal_strategy=p["anneal"]))
# OneCycleLR with cycle_momentum: the rate and the momentum (SGD) or beta1 (Adam)
case("onecycle", {"maxLr": 0.1, "totalSteps": 20, "cycleMomentum": True}, 0.1, 20,
     lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=20), momentum=True)
case("onecycle", {"maxLr": 0.5, "totalSteps": 17, "pctStart": 0.25, "anneal": "linear", "cycleMomentum": True, "baseMomentum": 0.8, "maxMomentum": 0.9},
     0.5, 17, lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=17, pct_start=0.25, anneal_strategy="linear", base_momentum=0.8, max_momentum=0.9),
     momentum=True)
case("onecycle", {"maxLr": 0.2, "totalSteps": 30, "threePhase": True, "cycleMomentum": True}, 0.2, 30,
     lambda o: L.OneCycleLR(o, max_lr=0.2, total_steps=30, three_phase=True), momentum=True)
case("onecycle", {"maxLr": 0.01, "totalSteps": 25, "cycleMomentum": True, "baseMomentum": 0.85, "maxMomentum": 0.95}, 0.01, 25,
     lambda o: L.OneCycleLR(o, max_lr=0.01, total_steps=25), kind="adam", momentum=True)
case("onecycle", {"maxLr": 0.01, "totalSteps": 24, "threePhase": True, "anneal": "linear", "cycleMomentum": True, "baseMomentum": 0.7, "maxMomentum": 0.9},
     0.01, 24, lambda o: L.OneCycleLR(o, max_lr=0.01, total_steps=24, three_phase=True, anneal_strategy="linear", base_momentum=0.7, max_momentum=0.9),
     kind="adam", momentum=True)

print(json.dumps({"torch": torch.__version__, "script": "tools/golden_torch2_schedules.py", "cases": cases}, indent=1))
