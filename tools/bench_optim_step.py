#!/usr/bin/python3
"""Time one torch.optim step on 10 M float32 parameters (PyTorch 1.13, CPU): the counterpart of
tools/bench_optim_step.ts. Usage: /usr/bin/python3 tools/bench_optim_step.py [adam|sgd|...] [N] [threads] [foreach]"""
import sys
import time

import torch

key = sys.argv[1] if len(sys.argv) > 1 else 'adam'
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
if len(sys.argv) > 3:
    torch.set_num_threads(int(sys.argv[3]))
p = torch.sin(torch.arange(n, dtype=torch.float32)).requires_grad_(True)
p.grad = torch.cos(torch.arange(n, dtype=torch.float32)) * 1e-2
cls = {'adam': torch.optim.Adam, 'adamw': torch.optim.AdamW, 'sgd': torch.optim.SGD, 'rmsprop': torch.optim.RMSprop,
       'adagrad': torch.optim.Adagrad, 'adadelta': torch.optim.Adadelta}[key]
foreach = len(sys.argv) > 4 and sys.argv[4] == 'foreach'
opt = cls([p], lr=1e-3, **({'foreach': True} if foreach else {}))
times = []
for i in range(18):
    t0 = time.perf_counter()
    opt.step()
    t1 = time.perf_counter()
    if i >= 3:
        times.append((t1 - t0) * 1e3)
times.sort()
print(f'torch {torch.__version__} {key} step on {n} float32 parameters ({torch.get_num_threads()} threads, '
      f'foreach {"on" if foreach else "default"}): median {times[7]:.1f} ms (min {times[0]:.1f}, max {times[14]:.1f})')
