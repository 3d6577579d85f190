"""The descent benchmark workloads with PyTorch (CPU, 2 threads), for bench/run.ts.

Run as a child process with LD_LIBRARY_PATH pointing at OpenBLAS's OpenMP build. Same data, same
batch order (the LCG shuffle of bench/common.ts), same models and hyper-parameters as the descent
run. Prints one JSON line: {framework, workload, value, unit, peakMiB, extra}; for the interleaved
workloads (W1, W2, W5) first the segment protocol on stdin/stdout (serve_segments), as bench/child.ts
does.
"""
import json, os, resource, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
from fmnist_idx import read_idx  # noqa: E402

DATA = '/usr/share/datasets/fashion-mnist'
# warm-up, full, quick (the interleaved W1, W2, W5: run.ts sends the timed steps)
STEPS = {'W1': (10, 400, 40), 'W2': (2, 40, 6), 'W3': (2, 10, 3), 'W5': (3, 40, 8), 'W6': (3, 40, 8)}
INTERLEAVED = ('W1', 'W2', 'W5', 'W6')
BATCH = {'W1': 128, 'W2': 64, 'W5': 128, 'W6': 128}


def batch_order(n, seed):
    idx_ = np.arange(n, dtype=np.int64)
    s = seed & 0xFFFFFFFF or 1
    for i in range(n - 1, 0, -1):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        j = s % (i + 1)
        idx_[i], idx_[j] = idx_[j], idx_[i]
    return idx_


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib():
    with open('/proc/self/statm') as f:
        return round(int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20)


class LastStepLSTM(nn.Module):
    """W5: nn.LSTM(28, 128, batch_first=True), then nn.Linear(128, 10) on the last step's output."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


class RowTransformer(nn.Module):
    """W6: each image's 28 rows as tokens: Linear(28, 64) per token plus a learned position embedding,
    two pre-norm nn.TransformerEncoderLayer(64, 4, 128, dropout 0.1, GELU) and a final LayerNorm
    (nn.TransformerEncoder's norm), the mean over the tokens, Linear(64, 10)."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(28, 64)
        self.pos = nn.Parameter(torch.randn(28, 64) * 0.02)
        layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.1, activation='gelu', batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(64), enable_nested_tensor=False)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.encoder(self.proj(x) + self.pos).mean(1))


def train(workload):
    images = torch.from_numpy(read_idx(f'{DATA}/train-images-idx3-ubyte.gz').astype(np.float32) / 255.0)
    labels = torch.from_numpy(read_idx(f'{DATA}/train-labels-idx1-ubyte.gz').astype(np.int64))
    torch.manual_seed(1)
    if workload == 'W2':
        model = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
        x_all = images.reshape(-1, 1, 28, 28)
    elif workload == 'W5':
        model = LastStepLSTM()
        x_all = images.reshape(-1, 28, 28)  # each image's rows as its 28 time steps
    elif workload == 'W6':
        model = RowTransformer()
        x_all = images.reshape(-1, 28, 28)  # each image's rows as its 28 tokens
    else:
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
        x_all = images.reshape(-1, 784)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    B = BATCH[workload]
    order = torch.from_numpy(batch_order(len(labels), 42))
    warm = STEPS[workload][0]
    at = 0

    def step():
        nonlocal at
        ids = order[torch.arange(at, at + B) % len(order)]
        at += B
        x, y = x_all[ids], labels[ids]
        out = model(x)
        l = F.cross_entropy(out, y)
        opt.zero_grad()
        l.backward()
        opt.step()
        return l.item()

    for _ in range(warm):
        step()
    return serve_segments(step, B)


def reply(obj):
    print(json.dumps(obj), flush=True)


def serve_segments(step, B):
    """The segment protocol of bench/run.ts (serveSegments in bench/common.ts): after {"ready":true},
    each `run <steps> <budgetMs> <leadMs>` line first runs untimed steps for <leadMs> (skipped when
    the last segment's median step took more than half of that), then times at most <steps> steps
    (at least one, fewer once <budgetMs> has passed) and replies {"times": [ms...], "lead": <untimed
    steps>}; `warm` does the same without a lead-in, as a warm-up, not measured; `done` ends it."""
    reply({'ready': True})
    times, seg_medians, rss = [], [], []
    loss = float('nan')
    last_median_ms = float('inf')
    while True:
        words = sys.stdin.readline().split()
        if not words:
            raise SystemExit('torch_bench: stdin closed before "done"')
        if words[0] == 'done':
            break
        n, budget = int(words[1]), float(words[2]) / 1000
        lead_ms = float(words[3]) if words[0] == 'run' and len(words) > 3 else 0.0
        lead = 0
        if lead_ms > 0 and last_median_ms < lead_ms / 2:
            lead_end = time.perf_counter() + lead_ms / 1000
            while time.perf_counter() < lead_end:
                loss = step()
                lead += 1
        seg = []
        end = time.perf_counter() + budget
        for i in range(n):
            if i >= 1 and time.perf_counter() > end:
                break
            t0 = time.perf_counter()
            loss = step()
            seg.append((time.perf_counter() - t0) * 1000)
        last_median_ms = float(np.median(seg))
        if words[0] == 'run':
            times += seg
            seg_medians.append(round(last_median_ms, 3))
            rss.append(rss_mib())
        reply({'times': seg, 'lead': lead})
    return {'value': B * 1000 / float(np.median(times)), 'unit': 'samples/s', 'peakMiB': peak_mib(),
            'note': 'batch size / median step time',
            'extra': {'meanSamplesPerSec': round(len(times) * B * 1000 / sum(times)), 'steps': len(times), 'batch': B,
                      'finalLoss': loss, 'rssMiB': rss, 'segmentMedianMs': seg_medians}}


def adam10m(quick):
    N = 10_000_000
    g = torch.Generator().manual_seed(3)
    p = torch.nn.Parameter(torch.rand(N, generator=g) - 0.5)
    p.grad = torch.rand(N, generator=g) - 0.5
    opt = torch.optim.Adam([p], lr=1e-3)
    warm, full, q = STEPS['W3']
    for _ in range(warm):
        opt.step()
    times = []
    for _ in range(q if quick else full):
        t0 = time.perf_counter()
        opt.step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {'value': times[len(times) // 2], 'unit': 'ms', 'peakMiB': peak_mib(), 'note': 'median of steps',
            'extra': {'timesMs': [round(t, 2) for t in times]}}


def lbfgs():
    N = 10_000
    images = read_idx(f'{DATA}/train-images-idx3-ubyte.gz')[:N].reshape(N, 784).astype(np.float32) / 255.0
    x = torch.from_numpy(images)
    y = torch.from_numpy(read_idx(f'{DATA}/train-labels-idx1-ubyte.gz')[:N].astype(np.int64))
    model = nn.Linear(784, 10)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=100, history_size=10, line_search_fn='strong_wolfe')
    evals = 0
    trace = []

    def closure():
        nonlocal evals
        evals += 1
        opt.zero_grad()
        l = F.cross_entropy(model(x), y)
        l.backward()
        trace.append([(time.perf_counter() - t0) * 1000, l.item()])
        return l

    t0 = time.perf_counter()
    opt.step(closure)
    dt = (time.perf_counter() - t0) * 1000
    with torch.no_grad():
        final = F.cross_entropy(model(x), y).item()
    return {'value': dt, 'unit': 'ms', 'peakMiB': peak_mib(), 'extra': {'finalLoss': final, 'evaluations': evals, 'historySize': 10, 'trace': trace}}


def main():
    workload = sys.argv[1]
    quick = '--quick' in sys.argv
    torch.set_num_threads(2)
    if workload in INTERLEAVED:
        r = train(workload)
    elif workload == 'W3':
        r = adam10m(quick)
    else:
        r = lbfgs()
    r['extra'] = {**r.get('extra', {}), 'torch': torch.__version__, 'threads': torch.get_num_threads()}
    print(json.dumps({'framework': 'pytorch', 'workload': workload, **r}))


if __name__ == '__main__':
    main()
