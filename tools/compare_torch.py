#!/usr/bin/python3
"""PyTorch's side of `descent compare`: the MLP 784-256-128-10 (ReLU, PyTorch default init) trained on
Fashion-MNIST (pixels / 255, batch 128, shuffled, 3 epochs) with the tuned lecture settings, for
several seeds, to see how much the final test accuracy varies from seed to seed.

  /usr/bin/python3 tools/compare_torch.py [--seeds 1,2,3] [--epochs 3] [--optimizers sgd,momentum,...]
"""
import argparse
import gzip
import time

import numpy as np
import torch

DIR = '/usr/share/datasets/fashion-mnist'
TUNED = {
    'sgd': (torch.optim.SGD, dict(lr=0.1)),
    'momentum': (torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    'nesterov': (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    'adagrad': (torch.optim.Adagrad, dict(lr=0.05)),
    'rmsprop': (torch.optim.RMSprop, dict(lr=1e-3)),
    'adadelta': (torch.optim.Adadelta, dict(lr=1.0)),
    'adam': (torch.optim.Adam, dict(lr=1e-3)),
}


def idx(name):
    with gzip.open(f'{DIR}/{name}', 'rb') as f:
        data = f.read()
    if data[2] == 8 and data[3] == 3:
        n, h, w = np.frombuffer(data[4:16], dtype='>i4')
        return torch.from_numpy(np.frombuffer(data[16:], dtype=np.uint8).reshape(n, h * w).astype(np.float32) / 255)
    return torch.from_numpy(np.frombuffer(data[8:], dtype=np.uint8).astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seeds', default='1,2,3')
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--optimizers', default=','.join(TUNED))
    a = ap.parse_args()
    xtr, ytr = idx('train-images-idx3-ubyte.gz'), idx('train-labels-idx1-ubyte.gz')
    xte, yte = idx('t10k-images-idx3-ubyte.gz'), idx('t10k-labels-idx1-ubyte.gz')
    for key in a.optimizers.split(','):
        cls, kw = TUNED[key]
        accs = []
        for seed in [int(s) for s in a.seeds.split(',')]:
            torch.manual_seed(seed)
            model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
            opt = cls(model.parameters(), **kw)
            t0 = time.time()
            for _ in range(a.epochs):
                for b in torch.randperm(len(xtr)).split(128):
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(model(xtr[b]), ytr[b]).backward()
                    opt.step()
            with torch.no_grad():
                acc = (model(xte).argmax(1) == yte).float().mean().item()
            accs.append(acc)
            print(f'{key:9s} seed {seed}: test acc {acc:.4f} ({time.time() - t0:.1f} s)', flush=True)
        print(f'{key:9s} {kw}: mean {np.mean(accs):.4f}, min {min(accs):.4f}, max {max(accs):.4f}', flush=True)


if __name__ == '__main__':
    main()
