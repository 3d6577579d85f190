"""Golden fixtures for descent's ranking metrics (rocAuc, averagePrecision, rankingReport in
src/train/ranking.ts).

Run with /usr/bin/python3 (NumPy):  /usr/bin/python3 tools/golden_auc.py
Writes test/fixtures/auc/binary.json and test/fixtures/auc/multiclass.json.

scikit-learn is not among the Debian packages this project installs, so its definitions
(sklearn/metrics/_ranking.py and _base.py) are re-expressed below in NumPy, float64:

  the binary curve (confusion_matrix_at_thresholds, formerly _binary_clf_curve): samples sorted by
      score, descending (stable); one threshold per distinct score; tps and fps the cumulative counts
      of positives and negatives scoring at or above it.
  roc_curve (drop_intermediate=True): the points of the curve where fps or tps has a corner (a
      non-zero second difference), the first and the last; then (0, 0) prepended; fpr = fps/N,
      tpr = tps/P.  auc: the trapezoid rule over (fpr, tpr).
  roc_auc_score: that area; NaN (with a warning) when y_true holds one class.
  precision_recall_curve: precision = tps/(tps + fps), recall = tps/P, reversed (recall
      decreasing), with precision 1 and recall 0 appended.
  average_precision_score: −Σ diff(recall) · precision[:-1] = Σ (R_n − R_{n−1}) P_n, clipped at 0
      (not the trapezoid).
  multi-class: roc_auc_score(y, p, multi_class='ovr', average=…) and
      average_precision_score(onehot(y), p, average=…): the binary figure of each class c with
      scores p[:, c] and positives y == c, their unweighted mean ('macro') and their mean weighted
      by the class's support ('weighted').  A class absent from y has no ROC AUC (scikit-learn raises
      for roc_auc_score and scores its average precision 0 with a warning); descent reports both as
      undefined and leaves the class out of the averages, which is what scikit-learn gives for the
      present classes' columns alone (the weighted average is the same either way: weight 0).
  two classes: the binary figures of class 1's probability, roc_auc_score(y, p[:, 1]).

Each binary area is cross-checked against the Mann–Whitney U statistic / (P·N) (ties count ½).
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'auc')


def binary_curve(y, s):
    order = np.argsort(-s, kind='stable')
    s = s[order]
    y = y[order].astype(np.float64)
    distinct = np.nonzero(np.diff(s))[0]
    idx = np.concatenate([distinct, [y.size - 1]])
    tps = np.cumsum(y)[idx]
    fps = 1 + idx.astype(np.float64) - tps
    return fps, tps


def roc_curve(y, s):
    fps, tps = binary_curve(y, s)
    if fps.shape[0] > 2:
        keep = np.concatenate([[True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]])
        fps, tps = fps[keep], tps[keep]
    fps = np.concatenate([[0.0], fps])
    tps = np.concatenate([[0.0], tps])
    return fps / fps[-1], tps / tps[-1]


def trapezoid(yv, xv):
    return float(np.sum(np.diff(xv) * (yv[1:] + yv[:-1]) / 2.0))


def roc_auc(y, s):
    assert 0 < y.sum() < y.size
    fpr, tpr = roc_curve(y, s)
    area = trapezoid(tpr, fpr)
    # Mann–Whitney: pairs (positive, negative) ordered right, ties ½
    pos, neg = s[y == 1], s[y == 0]
    u = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert abs(area - u / (pos.size * neg.size)) < 1e-12, (area, u / (pos.size * neg.size))
    return area


def average_precision(y, s):
    assert y.sum() > 0
    fps, tps = binary_curve(y, s)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    precision = np.concatenate([precision[::-1], [1.0]])
    recall = np.concatenate([recall[::-1], [0.0]])
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def binary_case(name, s, y):
    s = np.asarray(s, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    return {'name': name, 'scores': s.tolist(), 'labels': y.tolist(),
            'rocAuc': roc_auc(y, s), 'averagePrecision': average_precision(y, s)}


def multiclass_case(name, p, y, k):
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    per = []
    for c in range(k):
        pos = (y == c).astype(np.int64)
        n = int(pos.sum())
        if n == 0:
            per.append({'rocAuc': None, 'averagePrecision': None, 'support': 0})
        else:
            per.append({'rocAuc': roc_auc(pos, p[:, c]), 'averagePrecision': average_precision(pos, p[:, c]), 'support': n})
    present = [c for c in range(k) if per[c]['support'] > 0]
    w = np.array([per[c]['support'] for c in present], dtype=np.float64)

    def avg(key, weights):
        v = np.array([per[c][key] for c in present])
        return float(np.average(v, weights=weights))

    out = {'name': name, 'classes': k, 'probabilities': p.ravel().tolist(), 'labels': y.tolist(), 'perClass': per,
           'macro': {'rocAuc': avg('rocAuc', None), 'averagePrecision': avg('averagePrecision', None)},
           'weighted': {'rocAuc': avg('rocAuc', w), 'averagePrecision': avg('averagePrecision', w)}}
    if k == 2:
        out['binary'] = {'rocAuc': roc_auc(y, p[:, 1]), 'averagePrecision': average_precision(y, p[:, 1])}
    return out


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main():
    rng = np.random.default_rng(11)
    binary = []
    # the example of scikit-learn's docstrings: AUC 0.75, AP 0.8333…
    binary.append(binary_case('hand-computed', [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]))
    y = rng.integers(0, 2, size=200)
    binary.append(binary_case('random scores', rng.random(200), y))
    y = rng.integers(0, 2, size=300)
    s = np.round(np.clip(0.5 + 0.3 * (y - 0.5) + 0.25 * rng.normal(size=300), 0, 1), 1)
    binary.append(binary_case('heavy ties (scores rounded to 1 decimal)', s, y))
    y = rng.integers(0, 2, size=60)
    s = y + 0.1 * rng.random(60)
    binary.append(binary_case('perfect ranking', s, y))
    binary.append(binary_case('inverted ranking', -s, y))
    binary.append(binary_case('every score equal', np.full(20, 0.5), rng.permutation([1] * 7 + [0] * 13)))
    y = (rng.random(500) < 0.04).astype(np.int64)
    y[:3] = 1
    s = rng.normal(size=500) + 1.5 * y
    binary.append(binary_case('imbalanced (about 4% positives)', s, y))
    y = (rng.random(400) < 0.9).astype(np.int64)
    binary.append(binary_case('imbalanced (about 90% positives), ties', np.round(rng.normal(size=400) + 0.8 * y, 1), y))

    multi = []
    for k, n, name in [(2, 120, 'two classes'), (3, 150, 'three classes'), (5, 400, 'five classes')]:
        y = rng.integers(0, k, size=n)
        z = rng.normal(size=(n, k))
        z[np.arange(n), y] += 1.0
        multi.append(multiclass_case(name, softmax(z), y, k))
    y = rng.integers(0, 5, size=300)
    y[y == 3] = 4
    z = rng.normal(size=(300, 5))
    z[np.arange(300), y] += 1.5
    multi.append(multiclass_case('five classes, class 3 absent', softmax(z), y, 5))
    y = rng.choice(4, size=250, p=[0.7, 0.2, 0.07, 0.03])
    z = rng.normal(size=(250, 4))
    z[np.arange(250), y] += 1.0
    # ties: the first three columns rounded to 2 decimals, the last 1 − their sum (rows still sum to 1,
    # as roc_auc_score's multi_class='ovr' requires)
    p = softmax(z)
    p[:, :3] = np.round(p[:, :3], 2)
    p[:, 3] = 1 - p[:, :3].sum(axis=1)
    multi.append(multiclass_case('four imbalanced classes, probabilities rounded to 2 decimals (ties)', p, y, 4))

    os.makedirs(OUT, exist_ok=True)
    for name, cases in [('binary', binary), ('multiclass', multi)]:
        with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
            json.dump({'generator': 'tools/golden_auc.py', 'cases': cases}, f)
            f.write('\n')
    hand = binary[0]
    print(f"hand-computed: rocAuc {hand['rocAuc']!r}, averagePrecision {hand['averagePrecision']!r}")


if __name__ == '__main__':
    main()
