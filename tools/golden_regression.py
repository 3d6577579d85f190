"""Golden fixtures for descent's regression report (regressionReport, src/train/metrics.ts).

Run with /usr/bin/python3 (NumPy):  /usr/bin/python3 tools/golden_regression.py
Writes test/fixtures/regression/report.json.

scikit-learn is not among the Debian packages this project installs, so its definitions are
re-expressed below in NumPy, float64, from the float32 values descent reads:

  mean_absolute_error(y, p, multioutput='raw_values')      = mean_i |p_ij − y_ij|
  root_mean_squared_error(y, p, multioutput='raw_values')  = sqrt(mean_i (p_ij − y_ij)²)
  r2_score(y, p, multioutput='raw_values')                 = 1 − Σ_i (y_ij − p_ij)² / Σ_i (y_ij − ȳ_j)²,
      force_finite=True: a column constant over the samples (denominator 0) scores 1.0 when every
      prediction equals it (numerator 0), else 0.0.
  overall: MAE and RMSE over every value (Keras' MeanAbsoluteError, RootMeanSquaredError),
      R² the columns' unweighted mean (r2_score's multioutput='uniform_average').
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'regression')


def report(y, p):
    e = p - y
    mae = np.abs(e).mean(axis=0)
    rmse = np.sqrt((e * e).mean(axis=0))
    num = (e * e).sum(axis=0)
    den = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(den > 0, 1 - num / np.where(den > 0, den, 1), np.where(num == 0, 1.0, 0.0))
    return {
        'perTarget': [{'mae': float(a), 'rmse': float(b), 'r2': float(c)} for a, b, c in zip(mae, rmse, r2)],
        'overall': {'mae': float(np.abs(e).mean()), 'rmse': float(np.sqrt((e * e).mean())), 'r2': float(r2.mean())},
    }


def case(name, y, p):
    y = y.astype(np.float32)
    p = p.astype(np.float32)
    r = report(y.astype(np.float64), p.astype(np.float64))
    return {'name': name, 'rows': int(y.shape[0]), 'targets': int(y.shape[1]),
            'y': y.ravel().astype(np.float64).tolist(), 'p': p.ravel().astype(np.float64).tolist(), **r}


def main():
    rng = np.random.default_rng(7)
    cases = []
    y = rng.normal(size=(50, 1))
    cases.append(case('one target', y, y + 0.3 * rng.normal(size=y.shape)))
    y = rng.normal(loc=[0, 100, -5], scale=[1, 20, 0.1], size=(40, 3))
    cases.append(case('three targets of different scales', y, y + rng.normal(scale=[0.5, 5, 0.2], size=y.shape)))
    y = rng.normal(size=(30, 2))
    cases.append(case('worse than the mean (negative R²)', y, -y))
    # large offset: Σy² − (Σy)²/n would cancel in float64
    y = 1e6 + rng.normal(size=(64, 1))
    cases.append(case('targets far from 0', y, y + 0.5 * rng.normal(size=y.shape)))
    y = np.column_stack([np.full(10, 2.5), np.full(10, -1.0), rng.normal(size=10)])
    p = y.copy()
    p[:, 1] += 0.25
    p[:, 2] += rng.normal(scale=0.1, size=10)
    cases.append(case('constant columns: predicted exactly (R² 1) and not (R² 0)', y, p))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'report.json'), 'w') as f:
        json.dump({'generator': 'tools/golden_regression.py', 'cases': cases}, f)
        f.write('\n')


if __name__ == '__main__':
    main()
