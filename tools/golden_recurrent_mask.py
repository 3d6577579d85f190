"""Golden fixtures for recurrent layers under a padding mask, computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_recurrent_mask.py
Writes test/fixtures/recurrent/masked.json, float64 throughout.

descent's RNN, LSTM and GRU given a padding mask [N, T] (1 = padding) skip the padding steps (Keras'
masking: the state passes over them unchanged). For post-padded sequences that is PyTorch's packed
sequences: nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False),
the output unpacked with pad_packed_sequence (zeros at the padding steps, total_length T), h_n (and
c_n) the state after each sample's last real step (the reverse direction's: after its first). Each
case: random weights U(-0.6, 0.6) (the state_dict by PyTorch's names), x [N, T, F], the lengths; the
output, h_n (and c_n), and for the loss sum(output * R) + sum(h_n * S) (+ sum(c_n * Sc)) the
gradients of x and of every parameter.
"""
import json
import os

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'recurrent')
torch.manual_seed(20261207)
torch.set_default_dtype(torch.float64)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def entry(t):
    return {'shape': list(t.shape), 'data': flat(t)}


def rnd(*shape):
    return torch.rand(*shape) * 2 - 1


CASES = [
    # name, class, kwargs (PyTorch's), descent options, T, F, H, lengths
    ('lstm_2_bi', nn.LSTM, {'num_layers': 2, 'bidirectional': True}, {'numLayers': 2, 'bidirectional': True}, 6, 4, 5,
     [6, 3, 1]),
    ('gru_bi', nn.GRU, {'bidirectional': True}, {'bidirectional': True}, 5, 3, 4, [2, 5, 4]),
    ('rnn_tanh_2', nn.RNN, {'num_layers': 2}, {'numLayers': 2}, 6, 3, 4, [4, 1, 6, 2]),
    ('lstm', nn.LSTM, {}, {}, 4, 3, 5, [1, 4]),
]


def case(name, cls, kwargs, options, T, Fe, H, lengths):
    m = cls(Fe, H, batch_first=True, **kwargs)
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-0.6, 0.6)
    N = len(lengths)
    x = rnd(N, T, Fe)
    for n, length in enumerate(lengths):
        x[n, length:] = 0
    x.requires_grad_(True)
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, hn = m(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    lstm = cls is nn.LSTM
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
        'name': name, 'kind': cls.__name__, 'options': options, 'inputSize': Fe, 'hiddenSize': H, 'lengths': lengths,
        'state': {k: entry(v) for k, v in m.state_dict().items()},
        'x': entry(x), 'output': entry(out), 'h': entry(hn), 'R': flat(R), 'S': flat(S),
        'gx': flat(x.grad), 'grads': {k: flat(p.grad) for k, p in m.named_parameters()},
    }
    if lstm:
        res['c'] = entry(cn)
        res['Sc'] = flat(Sc)
    return res


def main():
    os.makedirs(OUT, exist_ok=True)
    data = {'torch': torch.__version__, 'cases': [case(*c) for c in CASES]}
    with open(os.path.join(OUT, 'masked.json'), 'w') as f:
        json.dump(data, f)
        f.write('\n')


if __name__ == '__main__':
    main()
