"""Checks test/fixtures/attention/attention.json (written with PyTorch 1.13 by golden_attention.py,
whose SDPA cases are F.scaled_dot_product_attention's formula in torch ops) against PyTorch 2.

Run with PyTorch 2.6:  ../shared/tools/torch2.sh python tools/check_attention_torch2.py
Prints the largest difference of each SDPA case from F.scaled_dot_product_attention (a bool mask
True = attend, a float mask added) and of each MultiheadAttention case from PyTorch 2's module with
need_weights True and False, then what each gives for a query whose keys are all masked (PyTorch 2.6:
SDPA 0; MHA NaN with need_weights=True, 0 with need_weights=False). Exits 1 if a difference exceeds 1e-12.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
FIXTURE = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'attention', 'attention.json')


def t(e):
    return torch.tensor(e['data']).reshape(e['shape'])


def main():
    d = json.load(open(FIXTURE))
    worst = 0.0
    for c in d['sdpa']:
        mask = None
        if 'mask' in c:
            mask = t(c['mask'])
            mask = mask.bool() if c['maskKind'] == 'bool' else mask
        out = F.scaled_dot_product_attention(t(c['q']), t(c['k']), t(c['v']), attn_mask=mask, is_causal=c['isCausal'],
                                             scale=c.get('scale'))
        err = (out - t(c['out'])).abs().max().item()
        worst = max(worst, err)
        print(f'sdpa {c["name"]}: {err:.2e}')
    for c in d['mha']:
        m = torch.nn.MultiheadAttention(c['embedDim'], c['numHeads'], batch_first=True, **c['options'])
        m.load_state_dict({k: t(v) for k, v in c['state'].items()})
        m.train()
        q = t(c['query'])
        k = q if c['selfAttention'] else t(c['key'])
        v = q if c['selfAttention'] else t(c['value'])
        kpm = t(c['keyPaddingMask']).bool() if 'keyPaddingMask' in c else None
        am = None
        if 'attnMask' in c:
            am = t(c['attnMask'])
            am = am.bool() if c['maskKind'] == 'bool' else am
        for need in (True, False):
            out, _ = m(q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=need, average_attn_weights=c['average'])
            err = (out - t(c['out'])).abs().max().item()
            worst = max(worst, err)
            print(f'mha {c["name"]} need_weights={need}: {err:.2e}')
    x = torch.randn(1, 3, 4)
    row = torch.ones(3, 3, dtype=torch.bool)
    row[1] = False
    print('empty row, SDPA:', F.scaled_dot_product_attention(x, x, x, attn_mask=row)[0, 1].tolist())
    mha = torch.nn.MultiheadAttention(4, 2, batch_first=True)
    pad = torch.ones(1, 3, dtype=torch.bool)
    for need in (True, False):
        print(f'all keys padded, MHA need_weights={need}:', mha(x, x, x, key_padding_mask=pad, need_weights=need)[0][0, 0].tolist())
    print(f'torch {torch.__version__}: worst difference {worst:.2e}')
    sys.exit(0 if worst <= 1e-12 else 1)


if __name__ == '__main__':
    main()
