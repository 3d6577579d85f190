#!/usr/bin/python3
"""PyTorch's side of `descent compare`. Two modes:

Seed mode: the MLP 784-256-128-10 (ReLU, PyTorch default init) trained on Fashion-MNIST (pixels / 255,
batch 128, shuffled, 3 epochs) with the tuned lecture settings, for several of PyTorch's own seeds, to
see how much the final test accuracy varies from seed to seed.

  /usr/bin/python3 tools/compare_torch.py [--seeds 1,2,3] [--epochs 3] [--optimizers sgd,momentum,...]

Same-start mode: read a run written by `descent compare --export-run DIR` (manifest.json; the initial
weights init/*.f32 and the sample order of each epoch order/epoch-E.i32, raw little-endian float32 /
int32) and train PyTorch from exactly those weights on exactly those batches, with each optimizer's
hyper-parameters as descent held them; print PyTorch's table in descent's format and the difference
from descent's test accuracies (DIR/results.json). Only numpy and torch are needed.

  /usr/bin/python3 tools/compare_torch.py --from DIR [--json OUT] [--ulp-nudge] [--threads N]

--ulp-nudge moves every initial weight one float32 ulp up before training: PyTorch against itself with
a rounding-sized change shows how far float noise alone carries over 3 epochs (a yardstick for the
descent − PyTorch differences, whose matrix products sum in another order).
"""
import argparse
import json
import os
import re
import sys
import time

import numpy as np
import torch

from fmnist_idx import read_idx

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


def idx(name, root=DIR):
    a = read_idx(os.path.join(root, name))  # images: pixels / 255 as float32 rows; labels: int64
    if a.ndim == 3:
        return torch.from_numpy(a.reshape(a.shape[0], -1).astype(np.float32) / 255)
    return torch.from_numpy(a.astype(np.int64))


# descent's optimizer keys -> torch.optim classes; hyper-parameters are renamed camelCase -> snake_case.
TORCH_CLASS = {
    'sgd': torch.optim.SGD, 'gd': torch.optim.SGD, 'momentum': torch.optim.SGD, 'nesterov': torch.optim.SGD,
    'adagrad': torch.optim.Adagrad, 'rmsprop': torch.optim.RMSprop, 'adadelta': torch.optim.Adadelta,
    'adam': torch.optim.Adam, 'adamw': torch.optim.AdamW, 'adamax': torch.optim.Adamax,
    'nadam': torch.optim.NAdam, 'radam': torch.optim.RAdam,
}
# descent's options that PyTorch 1.13 lacks, with the value that means PyTorch's behaviour.
# NAdam: 1.13 double-counts the mu product (fixed in 2.0); descent's legacyMuProduct: true is 1.13's rule.
TORCH_EQUIVALENT = {'epsInsideSqrt': False, 'lrInsideMomentum': False, 'legacyMuProduct': True}


def snake(k):
    return re.sub(r'([A-Z])', lambda m: '_' + m.group(1).lower(), k)


def torch_optimizer(entry, params):
    key, hyper = entry['key'], entry['hyper']
    if key not in TORCH_CLASS:
        sys.exit(f'--from: optimizer "{key}" has no PyTorch 1.13 counterpart here; expected one of {", ".join(TORCH_CLASS)}')
    kw = {}
    for k, v in hyper.items():
        if k in TORCH_EQUIVALENT:
            if v != TORCH_EQUIVALENT[k] and not (k == 'legacyMuProduct' and key != 'nadam'):
                sys.exit(f'--from: {key} has {k} = {json.dumps(v)}; PyTorch 1.13 has only {k} = {json.dumps(TORCH_EQUIVALENT[k])}')
            continue
        if k == 'maximize' and v is False:
            continue  # PyTorch's default; not every 1.13 optimizer takes the keyword
        kw[snake(k)] = tuple(v) if isinstance(v, list) else v
    return TORCH_CLASS[key](params, **kw), kw


def read_raw(root, entry, dtype, count):
    a = np.fromfile(os.path.join(root, entry['file']), dtype=dtype)
    if a.size != count:
        sys.exit(f'--from: {entry["file"]} holds {a.size} values, the manifest says {count}')
    return a


def same_start(root, out_json, nudge=False):
    with open(os.path.join(root, 'manifest.json')) as f:
        m = json.load(f)
    if m.get('format') != 'descent-compare-run' or m.get('version') != 1:
        sys.exit(f'--from: {root}/manifest.json is not a descent compare run (format {m.get("format")}, version {m.get("version")})')
    if m['data'] == 'embedded':
        sys.exit('--from: the run used descent\'s embedded subset; export it with --data DIR (the IDX files) instead')
    if m['scaling'] != 'x/255':
        sys.exit(f'--from: unknown pixel scaling {m["scaling"]}; expected x/255')
    xtr, ytr = idx('train-images-idx3-ubyte.gz', m['data']), idx('train-labels-idx1-ubyte.gz', m['data'])
    xte, yte = idx('t10k-images-idx3-ubyte.gz', m['data']), idx('t10k-labels-idx1-ubyte.gz', m['data'])
    if m['limit'] is not None:
        xtr, ytr = xtr[:m['limit']], ytr[:m['limit']]
    if m['testLimit'] is not None:
        xte, yte = xte[:m['testLimit']], yte[:m['testLimit']]
    if len(xtr) != m['trainSamples']:
        sys.exit(f'--from: {m["data"]} gives {len(xtr)} training images, the run had {m["trainSamples"]}')
    init = {p['name']: torch.from_numpy(read_raw(root, p, '<f4', int(np.prod(p['shape']))).reshape(p['shape']).copy()) for p in m['params']}
    if nudge:  # every initial weight one float32 ulp up: the size of a rounding difference, to see what it does to 3 epochs
        init = {n: torch.nextafter(t, torch.tensor(float('inf'))) for n, t in init.items()}
    orders = [torch.from_numpy(read_raw(root, e, '<i4', e['length']).astype(np.int64)) for e in m['order']]
    for e, o in zip(m['order'], orders):
        if not torch.equal(o.sort().values, torch.arange(len(xtr))):
            sys.exit(f'--from: {e["file"]} is not a permutation of 0..{len(xtr) - 1}')
    weights = [p for p in m['params'] if p['name'].endswith('.weight')]
    layers = []
    for i, p in enumerate(weights):
        layers.append(torch.nn.Linear(p['shape'][1], p['shape'][0]))
        if i + 1 < len(weights):
            layers.append(torch.nn.ReLU())
    with open(os.path.join(root, m['results'])) as f:
        theirs = {r['optimizer']: r for r in json.load(f)['results']}
    print(f'PyTorch {torch.__version__}, {torch.get_num_threads()} threads, from {root}: the initial weights and batch order of descent\'s run'
          + (', every initial weight nudged up by one float32 ulp' if nudge else ''))
    print(f'model {m["model"]}, {m["epochs"]} epoch(s), batch {m["batchSize"]}, seed {m["seed"]} (descent\'s), data {m["data"]}, {len(xtr)} / {len(xte)}')
    rows = []
    for entry in m['optimizers']:
        model = torch.nn.Sequential(*layers)
        model.load_state_dict(init, strict=True)
        opt, kw = torch_optimizer(entry, model.parameters())
        t0 = time.time()
        for o in orders:
            total, seen = 0.0, 0
            for b in o.split(m['batchSize']):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(xtr[b]), ytr[b])
                loss.backward()
                opt.step()
                total += loss.item() * len(b)
                seen += len(b)
        seconds = time.time() - t0
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        d = theirs.get(entry['key'])
        rows.append(dict(optimizer=entry['key'], options=kw, trainLoss=total / seen, testAccuracy=acc, seconds=seconds,
                         descentTestAccuracy=d['testAccuracy'] if d else None, descentTrainLoss=d['trainLoss'] if d else None))
        print(f'  {entry["key"]}: done ({seconds:.1f} s)', file=sys.stderr, flush=True)
    settings = lambda r: ', '.join(f'{k} {json.dumps(v) if isinstance(v, bool) else v}' for k, v in r['options'].items())
    w = max(9, *(len(r['optimizer']) for r in rows))
    sw = max(8, *(len(settings(r)) for r in rows))
    print(f'{"optimizer":<{w}}  {"settings":<{sw}}  {"train loss":>10}  {"test acc":>8}  {"time":>8}  {"descent":>8}  {"diff":>7}')
    for r in rows:
        da = r['descentTestAccuracy']
        tail = f'  {da:8.4f}  {da - r["testAccuracy"]:+7.4f}' if da is not None else f'  {"-":>8}  {"-":>7}'
        print(f'{r["optimizer"]:<{w}}  {settings(r):<{sw}}  {r["trainLoss"]:10.4f}  {r["testAccuracy"]:8.4f}  {r["seconds"]:6.1f} s' + tail)
    print('diff = descent − PyTorch test accuracy, same initial weights, same batches, same hyper-parameters')
    if out_json:
        with open(out_json, 'w') as f:
            json.dump(dict(torch=torch.__version__, run=root, seed=m['seed'], epochs=m['epochs'], results=rows), f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seeds', default='1,2,3')
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--optimizers', default=','.join(TUNED))
    ap.add_argument('--from', dest='run', metavar='DIR', help='a run written by descent compare --export-run DIR')
    ap.add_argument('--json', metavar='OUT', help='with --from: also write PyTorch\'s rows (and descent\'s accuracies) to OUT')
    ap.add_argument('--threads', type=int, default=2, help='torch.set_num_threads (default 2)')
    ap.add_argument('--ulp-nudge', action='store_true', help='with --from: move every initial weight up by one float32 ulp (how far does rounding noise alone carry 3 epochs?)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.run:
        return same_start(a.run, a.json, a.ulp_nudge)
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
