"""descent's safetensors files in PyTorch, and PyTorch's in descent (the PyTorch side).

Debian's PyTorch 1.13 has no safetensors package, so the format is read and written here with
numpy and json (an 8-byte little-endian header length, a JSON header, the raw little-endian data).

  # (a) descent → PyTorch: descent trains the MLP and the CNN briefly and writes weights + logits,
  #     PyTorch loads the weights with load_state_dict(strict=True) and compares the logits on the
  #     2,000 embedded test images (must agree to 1e-5).
  node dist/tools/safetensors_check.js export /tmp/st
  /usr/bin/python3 tools/safetensors_torch.py check /tmp/st

  # (b) PyTorch → descent: PyTorch trains the same two models briefly, saves them as safetensors
  #     with their logits and test accuracy; descent loads them and compares.
  /usr/bin/python3 tools/safetensors_torch.py train /tmp/st
  node dist/tools/safetensors_check.js import /tmp/st

  # The CI fixture (test/fixtures/safetensors/): a small CNN trained by PyTorch and its logits.
  /usr/bin/python3 tools/safetensors_torch.py fixture test/fixtures/safetensors
"""
import argparse
import copy
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmnist_idx import read_idx  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, 'data', 'fashion-mnist-subset')
DTYPES = {'F32': np.dtype('<f4'), 'F64': np.dtype('<f8'), 'F16': np.dtype('<f2'), 'I64': np.dtype('<i8'), 'I32': np.dtype('<i4')}
NAMES = {v: k for k, v in DTYPES.items()}


def save_file(path, tensors, metadata=None):
    """Write {name: numpy array} as safetensors (header padded with spaces to 8 bytes, as the reference)."""
    header, offset, blobs = {}, 0, []
    if metadata:
        header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    for name, arr in tensors.items():
        arr = np.array(arr, order="C", copy=False)  # (np.ascontiguousarray would make a 0-d array 1-d)
        dt = arr.dtype.newbyteorder('<')
        b = arr.astype(dt).tobytes()
        header[name] = {'dtype': NAMES[dt], 'shape': list(arr.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + '.tmp', path)


def load_file(path):
    """{name: numpy array}, metadata; checks that the ranges tile the data part, as the reference does."""
    raw = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {})
    data = raw[8 + n:]
    out, at = {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        a, b = e['data_offsets']
        assert a == at, f'{path}: tensor {name} starts at {a}, expected {at}'
        dt = DTYPES[e['dtype']]
        arr = np.frombuffer(data[a:b], dtype=dt).reshape(e['shape'])
        assert arr.nbytes == b - a
        out[name] = arr.copy()
        at = b
    assert at == len(data), f'{path}: {len(data) - at} bytes after the last tensor'
    return out, meta


def test_set(n=None):
    x = torch.tensor(read_idx(os.path.join(DATA, 't10k-images-idx3-ubyte.gz')), dtype=torch.float32).unsqueeze(1) / 255
    y = torch.tensor(read_idx(os.path.join(DATA, 't10k-labels-idx1-ubyte.gz')), dtype=torch.long)
    return (x, y) if n is None else (x[:n], y[:n])


def train_set():
    x = torch.tensor(read_idx(os.path.join(DATA, 'train-images-idx3-ubyte.gz')), dtype=torch.float32).unsqueeze(1) / 255
    y = torch.tensor(read_idx(os.path.join(DATA, 'train-labels-idx1-ubyte.gz')), dtype=torch.long)
    return x, y


def mlp():
    # descent's mlp: Linear+ReLU stack on flat input (the data loader flattens), so no Flatten module.
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def small_cnn():
    # descent: conv:8:5:pad=2,relu,maxpool:2,conv:16:5:pad=2,relu,maxpool:2,flatten,linear:32,relu,dropout:0.5,linear:10
    return nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))


MODELS = {'mlp': (mlp, True), 'cnn': (cnn, False)}


def logits_of(net, x, flat):
    net.eval()
    with torch.no_grad():
        return net(x.reshape(len(x), -1) if flat else x)


def cmd_check(a):
    """Load descent's files into PyTorch and compare logits with descent's."""
    x, y = test_set()
    worst = 0.0
    for name, (make, flat) in MODELS.items():
        w, meta = load_file(os.path.join(a.dir, f'descent_{name}.safetensors'))
        net = make()
        net.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=True)
        ref, _ = load_file(os.path.join(a.dir, f'descent_{name}_logits.safetensors'))
        out = logits_of(net, x, flat).numpy()
        exact = logits_of(copy.deepcopy(net).double(), x.double(), flat).numpy()  # float64: the rounding-free reference
        diff = float(np.abs(out - ref['logits']).max())
        e_torch, e_descent = float(np.abs(out - exact).max()), float(np.abs(ref['logits'] - exact).max())
        scale = float(np.abs(ref['logits']).max())
        acc = float((out.argmax(1) == y.numpy()).mean())
        same = int((out.argmax(1) == ref['logits'].argmax(1)).sum())
        print(f'{name}: PyTorch loaded descent_{name}.safetensors ({len(w)} tensors, metadata {meta}); '
              f'logits on {len(x)} test images: max |PyTorch - descent| = {diff:.3e} (largest |logit| {scale:.2f}); '
              f'same argmax on {same}/{len(x)}; test accuracy {acc:.4f}; vs float64 logits: PyTorch float32 {e_torch:.3e}, descent {e_descent:.3e}')
        worst = max(worst, diff)
    ok = worst <= 1e-5
    print(f'{"OK" if ok else "FAIL"}: worst logit difference {worst:.3e} (tolerance 1e-5)')
    sys.exit(0 if ok else 1)


def fit(net, flat, epochs, seed, lr=1e-3, batch=64):
    torch.manual_seed(seed)
    x, y = train_set()
    if flat:
        x = x.reshape(len(x), -1)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            b = perm[i:i + batch]
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[b]), y[b]).backward()
            opt.step()
    return net


def cmd_train(a):
    """Train in PyTorch, save weights, logits and accuracy as safetensors for descent to load."""
    x, y = test_set()
    for name, (make, flat) in MODELS.items():
        torch.manual_seed(a.seed)
        t0 = time.time()
        net = fit(make(), flat, a.epochs, a.seed)
        out = logits_of(net, x, flat)
        acc = float((out.argmax(1) == y).float().mean())
        sd = {k: v.numpy() for k, v in net.state_dict().items()}
        save_file(os.path.join(a.dir, f'torch_{name}.safetensors'), sd, {'format': 'pt', 'test_accuracy': f'{acc:.6f}', 'torch': torch.__version__})
        exact = logits_of(copy.deepcopy(net).double(), x.double(), flat)
        save_file(os.path.join(a.dir, f'torch_{name}_logits.safetensors'), {'logits': out.numpy(), 'logits64': exact.numpy()})
        print(f'{name}: PyTorch {torch.__version__} trained {a.epochs} epoch(s) in {time.time() - t0:.1f}s; test accuracy {acc:.4f} on {len(x)} images; '
              f'wrote torch_{name}.safetensors ({", ".join(sd)})')


def cmd_fixture(a):
    """The small CI fixture: weights of small_cnn trained by PyTorch, and its logits for the first 20 test images."""
    os.makedirs(a.dir, exist_ok=True)
    net = fit(small_cnn(), False, a.epochs, a.seed)
    x, y = test_set()
    out = logits_of(net, x, False)
    acc = float((out.argmax(1) == y).float().mean())
    sd = {k: v.numpy() for k, v in net.state_dict().items()}
    spec = 'conv:8:5:pad=2,relu,maxpool:2,conv:16:5:pad=2,relu,maxpool:2,flatten,linear:32,relu,dropout:0.5,linear:10'
    save_file(os.path.join(a.dir, 'small_cnn.safetensors'), sd, {'format': 'pt', 'spec': spec, 'test_accuracy': f'{acc:.6f}', 'torch': torch.__version__})
    save_file(os.path.join(a.dir, 'small_cnn_logits.safetensors'), {'logits': out[:20].numpy(), 'labels': y[:20].numpy().astype(np.int64)},
              {'images': 'the first 20 test images of data/fashion-mnist-subset, pixels / 255', 'test_accuracy': f'{acc:.6f}'})
    print(f'small_cnn: PyTorch {torch.__version__}, {a.epochs} epoch(s), test accuracy {acc:.4f} on {len(x)} images; fixture in {a.dir}')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('command', choices=['check', 'train', 'fixture'])
    p.add_argument('dir')
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.dir, exist_ok=True)
    {'check': cmd_check, 'train': cmd_train, 'fixture': cmd_fixture}[a.command](a)


if __name__ == '__main__':
    main()
