"""Golden fixtures for batch mixing (descent's mixup/cutmix, src/augment/mix.ts), computed by PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13 CPU):  /usr/bin/python3 tools/golden_mix.py
Writes test/fixtures/mix/mix.json.

torchvision.transforms.v2.MixUp and CutMix (torchvision ≥ 0.16) are re-expressed below with the same
torch operations, their random draws (λ, and CutMix's box centre r_x, r_y) taken as inputs, so
descent's functions given the same draws must give the same images and targets:

  MixUp:  out = x.roll(1, 0).mul_(1 − λ).add_(x.mul(λ));  y′ = onehot(y).roll(1, 0).mul_(1 − λ).add_(onehot(y).mul(λ))
  CutMix: r = 0.5·sqrt(1 − λ); half sides int(r·W), int(r·H); x1 = max(r_x − hw, 0), y1 = max(r_y − hh, 0),
          x2 = min(r_x + hw, W), y2 = min(r_y + hh, H); out = x.clone(); out[..., y1:y2, x1:x2] =
          x.roll(1, 0)[..., y1:y2, x1:x2]; λ′ = 1 − (x2 − x1)(y2 − y1)/(W·H); y′ mixed with λ′.

Labels given as probability rows [N, C] (descent accepts them; torchvision takes class indices only)
are mixed with the same roll formula. Float32 throughout, values stored as float64 lists.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'mix')


def mix_label(q, lam):
    return q.roll(1, 0).mul_(1.0 - lam).add_(q.mul(lam))


def as_probs(y, classes):
    if y.dtype.is_floating_point:
        return y
    return F.one_hot(y, num_classes=classes).float()


def mixup(x, y, lam, classes):
    out = x.roll(1, 0).mul_(1.0 - lam).add_(x.mul(lam))
    return out, mix_label(as_probs(y, classes), lam)


def cutmix(x, y, lam, rx, ry, classes):
    H, W = x.shape[-2:]
    r = 0.5 * math.sqrt(1.0 - lam)
    hw, hh = int(r * W), int(r * H)
    x1 = int(torch.clamp(torch.tensor([rx - hw]), min=0))
    y1 = int(torch.clamp(torch.tensor([ry - hh]), min=0))
    x2 = int(torch.clamp(torch.tensor([rx + hw]), max=W))
    y2 = int(torch.clamp(torch.tensor([ry + hh]), max=H))
    lam_adj = float(1.0 - (x2 - x1) * (y2 - y1) / (W * H))
    rolled = x.roll(1, 0)
    out = x.clone()
    out[..., y1:y2, x1:x2] = rolled[..., y1:y2, x1:x2]
    return out, mix_label(as_probs(y, classes), lam_adj), [x1, y1, x2, y2], lam_adj


def flat(t):
    return [float(v) for v in t.reshape(-1).tolist()]


def main():
    torch.manual_seed(0)
    groups, cases = [], []
    for n, c, h, w, classes in ((4, 2, 5, 6, 4), (3, 1, 5, 5, 3), (2, 3, 4, 6, 10)):
        x = torch.rand(n, c, h, w)
        y = torch.randint(classes, (n,))
        probs = torch.softmax(torch.randn(n, classes), 1)
        g = len(groups)
        groups.append(dict(shape=[n, c, h, w], classes=classes, x=flat(x), labels=[int(v) for v in y.tolist()], probabilities=flat(probs)))
        for labels in ('labels', 'probabilities'):
            yy = y if labels == 'labels' else probs
            for lam in (0.0, 0.5871, 1.0):
                out, q = mixup(x, yy, lam, classes)
                cases.append(dict(kind='mixup', group=g, y=labels, lam=lam, out=flat(out), target=flat(q)))
            for lam, rx, ry in ((0.0, 0, 0), (0.0, w - 1, h - 1), (0.3, w // 2, h // 2), (0.75, 1, h - 2), (1.0, 2, 2)):
                out, q, box, lam_adj = cutmix(x, yy, lam, rx, ry, classes)
                cases.append(dict(kind='cutmix', group=g, y=labels, lam=lam, rx=rx, ry=ry, box=box, lamAdjusted=lam_adj,
                                  out=flat(out), target=flat(q)))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'mix.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'groups': groups, 'cases': cases}, f)
    print(f'wrote {len(cases)} cases to {OUT}/mix.json')


if __name__ == '__main__':
    main()
