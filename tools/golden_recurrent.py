"""Golden fixtures for the recurrent layers (descent's RNN, LSTM, GRU), computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_recurrent.py
Writes test/fixtures/recurrent/recurrent.json, float64 throughout:

- cases: nn.RNN / nn.LSTM / nn.GRU with batch_first=True and random weights (their state_dict, by
  PyTorch's names and in its order), an input x [N, T, F], optionally initial states h0 (and c0); the
  output, h_n (and c_n), and for the loss sum(output * R) + sum(h_n * S) (+ sum(c_n * Sc)) with fixed
  random R, S, Sc: the gradients of x and of every parameter.
- train: LSTM(returnSequences false, i.e. h_n[-1]) followed by Linear on fixed data, ten Adam steps
  (lr 0.01) on the mean cross-entropy; the initial state_dict (the LSTM under `0.`, the Linear under
  `1.`, as descent's Sequential names them) and the loss before each step.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'recurrent')
torch.manual_seed(20240607)
torch.set_default_dtype(torch.float64)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def entry(t):
    return {'shape': list(t.shape), 'data': flat(t)}


def rnd(*shape):
    return torch.rand(*shape) * 2 - 1


CASES = [
    # name, class, kwargs (PyTorch's), descent options, N, T, F, H, initial states
    ('rnn_tanh', nn.RNN, {}, {}, 3, 5, 4, 6, False),
    ('rnn_relu_2_bi', nn.RNN, {'nonlinearity': 'relu', 'num_layers': 2, 'bidirectional': True},
     {'nonlinearity': 'relu', 'numLayers': 2, 'bidirectional': True}, 3, 4, 5, 4, False),
    ('lstm', nn.LSTM, {}, {}, 3, 5, 4, 6, False),
    ('lstm_2_bi_h0', nn.LSTM, {'num_layers': 2, 'bidirectional': True}, {'numLayers': 2, 'bidirectional': True}, 2, 4, 3, 5, True),
    ('gru', nn.GRU, {}, {}, 3, 5, 4, 6, False),
    ('gru_2_bi', nn.GRU, {'num_layers': 2, 'bidirectional': True}, {'numLayers': 2, 'bidirectional': True}, 2, 4, 3, 5, True),
    ('lstm_nobias', nn.LSTM, {'bias': False}, {'bias': False}, 2, 3, 3, 4, False),
]


def case(name, cls, kwargs, options, N, T, Fe, H, initial):
    m = cls(Fe, H, batch_first=True, **kwargs)
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-0.6, 0.6)
    L = kwargs.get('num_layers', 1) * (2 if kwargs.get('bidirectional') else 1)
    x = rnd(N, T, Fe).requires_grad_(True)
    lstm = cls is nn.LSTM
    h0 = rnd(L, N, H) if initial else None
    c0 = rnd(L, N, H) if initial and lstm else None
    state = None
    if initial:
        state = (h0, c0) if lstm else h0
    out, hn = m(x, state)
    cn = None
    if lstm:
        hn, cn = hn
    R = rnd(*out.shape)
    S = rnd(*hn.shape)
    loss = (out * R).sum() + (hn * S).sum()
    Sc = None
    if lstm:
        Sc = rnd(*cn.shape)
        loss = loss + (cn * Sc).sum()
    loss.backward()
    res = {
        'name': name, 'kind': cls.__name__, 'options': options, 'inputSize': Fe, 'hiddenSize': H,
        'state': {k: entry(v) for k, v in m.state_dict().items()},
        'x': entry(x), 'output': entry(out), 'h': entry(hn), 'R': flat(R), 'S': flat(S),
        'gx': flat(x.grad), 'grads': {k: flat(p.grad) for k, p in m.named_parameters()},
    }
    if initial:
        res['h0'] = entry(h0)
    if lstm:
        res['c'] = entry(cn)
        res['Sc'] = flat(Sc)
        if initial:
            res['c0'] = entry(c0)
    return res


class LastHidden(nn.Module):
    """An LSTM whose output is h_n[-1] (descent's returnSequences: false)."""

    def __init__(self, lstm):
        super().__init__()
        self.lstm = lstm

    def forward(self, x):
        return self.lstm(x)[1][0][-1]


def train():
    N, T, Fe, H, C = 8, 6, 3, 5, 3
    lstm = nn.LSTM(Fe, H, batch_first=True)
    lin = nn.Linear(H, C)
    x = rnd(N, T, Fe)
    y = torch.randint(0, C, (N,))
    model = nn.Sequential(LastHidden(lstm), lin)
    state = {f'0.{k}': entry(v) for k, v in lstm.state_dict().items()}
    state.update({f'1.{k}': entry(v) for k, v in lin.state_dict().items()})
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return {'inputSize': Fe, 'hiddenSize': H, 'classes': C, 'lr': 0.01, 'state': state, 'x': entry(x),
            'y': [int(v) for v in y], 'losses': losses}


def main():
    os.makedirs(OUT, exist_ok=True)
    data = {'torch': torch.__version__, 'cases': [case(*c) for c in CASES], 'train': train()}
    with open(os.path.join(OUT, 'recurrent.json'), 'w') as f:
        json.dump(data, f)
        f.write('\n')


if __name__ == '__main__':
    main()
