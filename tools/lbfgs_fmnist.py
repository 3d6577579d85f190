#!/usr/bin/python3
"""PyTorch side of tools/lbfgs_fmnist.ts: full-batch L-BFGS on logistic regression, first N Fashion-MNIST
training images, zero initial weights. Prints one JSON line. Run by the .ts driver with
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp and torch.set_num_threads(2)."""
import json, sys, time
import numpy as np
import torch
import torch.nn.functional as F

from fmnist_idx import read_idx

n, iters, history, dtype, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
torch.set_num_threads(2)
DATA = '/usr/share/datasets/fashion-mnist'


dt = torch.float64 if dtype == 'float64' else torch.float32
x = torch.from_numpy(read_idx(f'{DATA}/train-images-idx3-ubyte.gz')[:n].reshape(n, 784).copy()).to(dt) / 255
y = torch.from_numpy(read_idx(f'{DATA}/train-labels-idx1-ubyte.gz')[:n].astype(np.int64))
trace_losses = []
times, out = [], None
for _ in range(repeats):
    W = torch.zeros(10, 784, dtype=dt, requires_grad=True)
    b = torch.zeros(10, dtype=dt, requires_grad=True)
    # maxEval high enough that exactly `iters` iterations run (strong Wolfe may use >1 evaluation each)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=iters, max_eval=iters * 10, history_size=history, line_search_fn='strong_wolfe',
                            tolerance_grad=0, tolerance_change=0)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ W.T + b, y)
        loss.backward()
        trace_losses.append(float(loss))
        return loss

    t0 = time.perf_counter()
    trace_losses.clear()
    opt.step(closure)
    times.append(time.perf_counter() - t0)
    with torch.no_grad():
        final = float(F.cross_entropy(x @ W.T + b, y))
    st = opt.state[W]
    out = {'framework': 'pytorch ' + torch.__version__, 'finalLoss': final, 'funcEvals': st['func_evals'], 'nIter': st['n_iter']}
out['seconds'] = times
out['evalLosses'] = trace_losses
print(json.dumps(out))
