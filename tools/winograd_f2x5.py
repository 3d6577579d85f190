"""Derives and checks the Winograd F(2, 5) matrices used by asm/winograd.ts.

Toom-Cook with the interpolation points 0, 1, -1, 2, -2 and infinity: Aᵀ holds the points' powers,
G the Lagrange weights, and Bᵀ is solved from the defining identity y = Aᵀ[(G g) ⊙ (Bᵀ d)] for every
2-output correlation y_i = Σ_k d_{i+k} g_k. Prints the three matrices and the largest error of the
nested 2-D form in float32 against direct correlation. Run: /usr/bin/python3 tools/winograd_f2x5.py
"""
import numpy as np

POINTS = [0, 1, -1, 2, -2]
M, R = 2, 5
A = M + R - 1


def matrices():
    at = np.zeros((M, A))
    g = np.zeros((A, R))
    for j, p in enumerate(POINTS):
        for i in range(M):
            at[i][j] = p ** i
        f = np.prod([p - q for q in POINTS if q != p])
        for i in range(R):
            g[j][i] = p ** i / f
    at[M - 1][A - 1] = 1
    g[A - 1][R - 1] = 1
    rows, rhs = [], []
    for i in range(M):
        for e in range(R):
            for f in range(A):
                row = np.zeros(A * A)
                for j in range(A):
                    row[j * A + f] += at[i][j] * g[j][e]
                rows.append(row)
                rhs.append(1.0 if f == i + e else 0.0)
    sol, _, rank, _ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
    assert rank == A * A, 'Bᵀ is not determined'
    return at, g, np.round(sol.reshape(A, A), 12)


def main():
    at, g, bt = matrices()
    np.set_printoptions(precision=6, suppress=True)
    print('Aᵀ =\n', at, '\nG =\n', g, '\nBᵀ =\n', bt)
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(100):
        d = rng.uniform(-1, 1, (A, A)).astype(np.float32)
        w = rng.uniform(-1, 1, (R, R)).astype(np.float32)
        a32, g32, b32 = (m.astype(np.float32) for m in (at, g, bt))
        y = a32 @ ((g32 @ w @ g32.T) * (b32 @ d @ b32.T)) @ a32.T
        ref = np.array([[(d[i:i + R, j:j + R] * w).sum() for j in range(M)] for i in range(M)])
        worst = max(worst, float(np.abs(y - ref).max()))
    print('largest float32 error of a 2x2 block against direct correlation:', worst)
    assert worst < 1e-4


if __name__ == '__main__':
    main()
