#!/usr/bin/python3
"""Golden learning-rate sequences from PyTorch's torch.optim.lr_scheduler (1.13) for descent's tests.

For each case: the rate the optimizer holds for its (t+1)-th step, t = 0..N-1, i.e. the lr read
*before* the t-th scheduler.step() call in the standard loop (optimizer.step(); scheduler.step()).
ReduceLROnPlateau gets a fixed metric sequence and records the rate after each step(metric).

Run:  /usr/bin/python3 tools/golden_schedules.py > test/fixtures/schedule/torch_schedules.json
"""
import json
import math
import warnings

import torch
from torch.optim import SGD
from torch.optim import lr_scheduler as L

warnings.filterwarnings("ignore")


def opt(lr):
    p = torch.nn.Parameter(torch.zeros(1))
    return SGD([p], lr=lr, momentum=0.9)


def run(make, lr, n):
    o = opt(lr)
    s = make(o)
    out = []
    for _ in range(n):
        out.append(o.param_groups[0]["lr"])
        o.step()
        s.step()
    return out


cases = []


def case(name, params, lr, n, make):
    cases.append({"name": name, "params": params, "lr": lr, "steps": n, "torch": run(make, lr, n)})


case("step", {"stepSize": 3, "gamma": 0.5}, 0.1, 12, lambda o: L.StepLR(o, step_size=3, gamma=0.5))
case("multistep", {"milestones": [2, 5, 9], "gamma": 0.3}, 0.2, 12, lambda o: L.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.3))
case("expgamma", {"gamma": 0.9}, 0.1, 20, lambda o: L.ExponentialLR(o, gamma=0.9))
case("polynomial", {"totalSteps": 10, "power": 2.0}, 0.1, 14, lambda o: L.PolynomialLR(o, total_iters=10, power=2.0))
case("polynomial", {"totalSteps": 7, "power": 1.0}, 0.05, 10, lambda o: L.PolynomialLR(o, total_iters=7, power=1.0))
case("linear", {"totalSteps": 6, "startFactor": 0.25, "endFactor": 1.0}, 0.1, 10, lambda o: L.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=6))
case("linear", {"totalSteps": 5, "startFactor": 1.0, "endFactor": 0.1}, 0.1, 8, lambda o: L.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=5))
case("cosine", {"totalSteps": 10, "minLr": 0.001}, 0.1, 25, lambda o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001))
case("sgdr", {"t0": 4, "tMult": 1, "minLr": 0.0}, 0.1, 14, lambda o: L.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=1, eta_min=0.0))
case("sgdr", {"t0": 3, "tMult": 2, "minLr": 0.01}, 0.1, 30, lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01))
for mode, gamma in (("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.97)):
    case("cyclic", {"maxLr": 0.1, "stepSizeUp": 4, "stepSizeDown": 6, "mode": mode, "gamma": gamma}, 0.01, 45,
         lambda o, mode=mode, gamma=gamma: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=6, mode=mode, gamma=gamma, cycle_momentum=False))
case("onecycle", {"maxLr": 0.1, "totalSteps": 20}, 0.1, 20, lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=20, cycle_momentum=False))
case("onecycle", {"maxLr": 0.5, "totalSteps": 17, "pctStart": 0.25, "anneal": "linear", "divFactor": 10.0, "finalDivFactor": 100.0}, 0.5, 17,
     lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=17, pct_start=0.25, anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0, cycle_momentum=False))
case("onecycle", {"maxLr": 0.2, "totalSteps": 30, "threePhase": True}, 0.2, 30, lambda o: L.OneCycleLR(o, max_lr=0.2, total_steps=30, three_phase=True, cycle_momentum=False))
# Warm-up in front of a schedule: SequentialLR([LinearLR, X], milestones=[W]).
case("warmup-expgamma", {"steps": 4, "startFactor": 0.25, "gamma": 0.8}, 0.1, 12,
     lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.25, total_iters=4), L.ExponentialLR(o, gamma=0.8)], milestones=[4]))
case("warmup-cosine", {"steps": 3, "startFactor": 0.1, "totalSteps": 8, "minLr": 0.0}, 0.1, 14,
     lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=3), L.CosineAnnealingLR(o, T_max=8)], milestones=[3]))

# ReduceLROnPlateau: record the lr after each step(metric).
metrics = [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.84, 0.8400001, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9]
for params in ({"factor": 0.5, "patience": 2}, {"factor": 0.1, "patience": 1, "cooldown": 2, "minLr": 0.002}, {"factor": 0.5, "patience": 0, "threshold": 0.05, "thresholdMode": "abs"}, {"mode": "max", "factor": 0.5, "patience": 1}):
    o = opt(0.1)
    kw = {"factor": params["factor"], "patience": params["patience"], "cooldown": params.get("cooldown", 0), "min_lr": params.get("minLr", 0),
          "threshold": params.get("threshold", 1e-4), "threshold_mode": params.get("thresholdMode", "rel"), "mode": params.get("mode", "min")}
    s = L.ReduceLROnPlateau(o, **kw)
    out = []
    for m in metrics:
        s.step(m)
        out.append(o.param_groups[0]["lr"])
    cases.append({"name": "plateau", "params": params, "lr": 0.1, "metrics": metrics, "torch": out})

print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
