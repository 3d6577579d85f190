"""The IDX reader shared by the Python tools and the PyTorch side of the benchmark (numpy only).

read_idx(path) returns the uint8 array with the file's dimensions. `path` may name the gzipped
or the plain file; the other spelling is tried when it does not exist.
"""
import gzip
import os

import numpy as np

DATA = '/usr/share/datasets/fashion-mnist'


def read_idx(path):
    for p in (path, path + '.gz', path[:-3] if path.endswith('.gz') else None):
        if p and os.path.exists(p):
            with (gzip.open if p.endswith('.gz') else open)(p, 'rb') as f:
                raw = f.read()
            break
    else:
        raise FileNotFoundError(f'{path}: no such IDX file (nor with/without .gz)')
    if raw[2] != 8:
        raise ValueError(f'{path}: expected uint8 IDX data (type 0x08), got 0x{raw[2]:02x}')
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
