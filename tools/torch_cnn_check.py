"""Train the CLI's `cnn` / `fmp` models in PyTorch on the same data, for comparison with descent.

  /usr/bin/python3 tools/torch_cnn_check.py --model cnn --epochs 3 --data data/fashion-mnist-subset --dropout 0.5

Same architecture, PyTorch's default init, Adam, batch 64, shuffled; prints test accuracy per epoch.
(PyTorch's FractionalMaxPool2d is its own variant, not Graham's pseudorandom overlapping one, so the
fmp numbers are only indicative.)
"""
import argparse, os, time
import numpy as np
import torch
import torch.nn as nn

from fmnist_idx import read_idx

p = argparse.ArgumentParser()
p.add_argument('--model', default='cnn')
p.add_argument('--epochs', type=int, default=3)
p.add_argument('--data', default='data/fashion-mnist-subset')
p.add_argument('--dropout', type=float, default=0.0)
p.add_argument('--seed', type=int, default=1)
p.add_argument('--threads', type=int, default=1)
a = p.parse_args()
torch.manual_seed(a.seed)
torch.set_num_threads(a.threads)


def idx(name):
    return read_idx(os.path.join(a.data, name))


def find(prefix):
    for f in sorted(os.listdir(a.data)):
        if f.startswith(prefix):
            return f
    raise FileNotFoundError(prefix)


xtr = torch.tensor(idx(find('train-images')), dtype=torch.float32).unsqueeze(1) / 255
ytr = torch.tensor(idx(find('train-labels')), dtype=torch.long)
xte = torch.tensor(idx(find('t10k-images')), dtype=torch.float32).unsqueeze(1) / 255
yte = torch.tensor(idx(find('t10k-labels')), dtype=torch.long)

drop = [nn.Dropout(a.dropout)] if a.dropout else []
if a.model == 'cnn':
    net = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), *drop, nn.Linear(128, 10))
else:
    layers, c, s = [], 1, 28
    for k in range(1, 5):
        layers += [nn.Conv2d(c, 16 * k, 3, padding=1), nn.ReLU(), nn.FractionalMaxPool2d(2, output_ratio=1 / 2 ** 0.5)]
        c, s = 16 * k, int(s / 2 ** 0.5)
    net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * s * s, 128), nn.ReLU(), *drop, nn.Linear(128, 10))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for e in range(a.epochs):
    t0 = time.time()
    net.train()
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), 64):
        b = perm[i:i + 64]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(xte).argmax(1) == yte).float().mean().item()
    print(f'epoch {e + 1}  test acc {acc:.4f}  {time.time() - t0:.1f}s')
