"""Training speed of "sequential Fashion-MNIST" in PyTorch, the counterpart of tools/bench_lstm.ts:
LSTM(28, 128, batch_first) → Linear(128, 10) on the last hidden state, batch 128, Adam, float32,
random data, two threads.
  /usr/bin/python3 tools/bench_lstm.py [steps]
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(1)
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
N, T, Fe, H, C = 128, 28, 28, 128, 10
lstm = nn.LSTM(Fe, H, batch_first=True)
lin = nn.Linear(H, C)
opt = torch.optim.Adam(list(lstm.parameters()) + list(lin.parameters()), lr=1e-3)
x = torch.rand(N, T, Fe)
y = torch.arange(N) % C
for i in range(steps + 3):
    if i == 3:
        t0 = time.perf_counter()
    opt.zero_grad()
    loss = F.cross_entropy(lin(lstm(x)[1][0][-1]), y)
    loss.backward()
    opt.step()
s = time.perf_counter() - t0
print(f'PyTorch {torch.__version__} (2 threads) LSTM(28, 128) → Linear(128, 10), batch {N}: {steps * N / s:.0f} samples/s ({s / steps * 1000:.1f} ms/step)')
