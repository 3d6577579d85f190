"""Derives and checks the Winograd F(4, 5) and F(4, 3) matrices used by asm/winograd.ts.

Toom-Cook with the interpolation points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity for 5-tap filters
(0, 1, -1, 2, -2 and infinity for 3-tap ones): Aᵀ holds the points' powers, G the Lagrange weights,
and Bᵀ is solved from the defining identity y = Aᵀ[(G g) ⊙ (Bᵀ d)] for every 4-output correlation
y_i = Σ_k d_{i+k} g_k. For 5 taps the first rows of Bᵀ and G are negated together (their product is
unchanged) so that Bᵀ's starts with +1. Prints the matrices as fractions and the largest error of
the nested 2-D form in float32, summed over 32 channels of ReLU-like inputs as in a convolution
layer, against the direct correlation in float64; F(2, 5) (points 0, ±1, ±2, ∞) alongside for
comparison. Run: /usr/bin/python3 tools/winograd.py
"""
from fractions import Fraction

import numpy as np

def matrices(points, m, R=5):
    a = m + R - 1
    at = np.zeros((m, a))
    g = np.zeros((a, R))
    for j, p in enumerate(points):
        for i in range(m):
            at[i][j] = p ** i
        f = np.prod([p - q for q in points if q != p])
        for i in range(R):
            g[j][i] = p ** i / f
    at[m - 1][a - 1] = 1
    g[a - 1][R - 1] = 1
    rows, rhs = [], []
    for i in range(m):
        for e in range(R):
            for f in range(a):
                row = np.zeros(a * a)
                for j in range(a):
                    row[j * a + f] += at[i][j] * g[j][e]
                rows.append(row)
                rhs.append(1.0 if f == i + e else 0.0)
    sol, _, rank, _ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
    assert rank == a * a, 'Bᵀ is not determined'
    bt = np.round(sol.reshape(a, a), 12)
    if R == 5 and bt[0][0] < 0:
        bt[0] *= -1
        g[0] *= -1
    return at, g, bt


def worst_error(at, g, bt, m, R=5, channels=32, trials=100):
    a = m + R - 1
    rng = np.random.default_rng(0)
    a32, g32, b32 = (x.astype(np.float32) for x in (at, g, bt))
    worst, largest = 0.0, 0.0
    for _ in range(trials):
        d = np.maximum(rng.uniform(-0.8, 1.2, (channels, a, a)), 0).astype(np.float32)
        w = rng.uniform(-0.07, 0.07, (channels, R, R)).astype(np.float32)
        acc = np.zeros((a, a), np.float32)
        for c in range(channels):
            acc += (g32 @ w[c] @ g32.T) * (b32 @ d[c] @ b32.T)
        y = a32 @ acc @ a32.T
        ref = np.array([[(d[:, i:i + R, j:j + R].astype(np.float64) * w).sum() for j in range(m)] for i in range(m)])
        worst = max(worst, float(np.abs(y - ref).max()))
        largest = max(largest, float(np.abs(ref).max()))
    return worst, largest


def show(name, mat):
    print(name, '=')
    for row in mat:
        print('  ', '  '.join(f'{str(Fraction(v).limit_denominator(1000)):>6}' for v in row))


def main():
    at, g, bt = matrices([0, 1, -1, 2, -2, 0.5, -0.5], 4)
    print('F(4, 5):')
    show('Aᵀ', at)
    show('G', g)
    show('Bᵀ', bt)
    at3, g3, bt3 = matrices([0, 1, -1, 2, -2], 4, 3)
    print('F(4, 3):')
    show('Aᵀ', at3)
    show('G', g3)
    show('Bᵀ', bt3)
    err4, big4 = worst_error(at, g, bt, 4)
    err3, big3 = worst_error(at3, g3, bt3, 4, 3)
    err2, big2 = worst_error(*matrices([0, 1, -1, 2, -2], 2), 2)
    print(f'F(4, 5): largest float32 error of a 4×4 block, 32 channels: {err4:.2e} ({err4 / big4:.1e} of the largest output)')
    print(f'F(4, 3): largest float32 error of a 4×4 block, 32 channels: {err3:.2e} ({err3 / big3:.1e} of the largest output)')
    print(f'F(2, 5): largest float32 error of a 2×2 block, 32 channels: {err2:.2e} ({err2 / big2:.1e} of the largest output)')
    assert err4 < 1e-4 and err3 < 1e-4


if __name__ == '__main__':
    main()
