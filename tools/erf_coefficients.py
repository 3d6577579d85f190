"""The coefficients of the float32 erf in asm/activations.ts and the WebGPU shaders, and its error.

Run with /usr/bin/python3 (mpmath and NumPy):  /usr/bin/python3 tools/erf_coefficients.py
Prints both polynomials as float32 literals (highest degree first, for Horner) and the largest
error, in float32 ulps of erf(x), of the float32 evaluation below on a grid of [0, 4.5] and of
10^-30…1, against mpmath's erf at 40 digits.

The algorithm (|x| = a; erf is odd):
  a < 1     erf(a) = a + a·P(a²),             P ≈ erf(√t)/√t − 1 on t ∈ [0, 1], 7 coefficients
  a < 4     erf(a) = 1 − e^(−a²)·Q(1/a),      Q ≈ erfc(1/u)·e^(1/u²) on u ∈ [1/4, 1], 10 coefficients
  else      erf(a) = 1                        (erfc(3.92) is below half a float32 ulp of 1)
Both are Chebyshev fits (mpmath.chebyfit, near minimax); every step is one float32 operation
(multiplications and additions apart, no fused multiply-add), as the kernels do it.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
f32 = np.float32


def fit(f, lo, hi, n):
    coeffs, err = mp.chebyfit(f, [lo, hi], n, error=True)
    return [f32(float(c)) for c in coeffs], err


P, p_err = fit(lambda t: (mp.erf(mp.sqrt(t)) / mp.sqrt(t) if t > 0 else 2 / mp.sqrt(mp.pi)) - 1, 0, 1, 7)
Q, q_err = fit(lambda u: mp.erfc(1 / u) * mp.exp(1 / u ** 2), mp.mpf(1) / 4, 1, 10)


def horner(c, x):
    r = c[0]
    for k in c[1:]:
        r = f32(f32(r * x) + k)
    return r


def erf32(x):
    x = f32(x)
    a = f32(abs(x))
    if a < 1:
        return f32(x + f32(x * horner(P, f32(a * a))))
    if a < 4:
        y = f32(f32(1) - f32(f32(np.exp(f32(-f32(a * a)))) * horner(Q, f32(f32(1) / a))))
    else:
        y = f32(1)
    return -y if x < 0 else y


def ulps(x):
    exact = mp.erf(mp.mpf(float(x)))
    return abs(float(erf32(x)) - float(exact)) / float(np.spacing(f32(abs(float(exact)))))


def literal(c):
    return '%.9g' % float(c)


if __name__ == '__main__':
    print('P (a < 1):', ', '.join(literal(c) for c in P), f'  fit error {mp.nstr(p_err, 3)}')
    print('Q (a < 4):', ', '.join(literal(c) for c in Q), f'  fit error {mp.nstr(q_err, 3)}')
    grid = np.concatenate([np.linspace(0, 4.5, 45001, dtype=f32)[1:], f32(10) ** np.linspace(-30, 0, 3001, dtype=f32)])
    worst = max(grid, key=ulps)
    print(f'largest error: {ulps(worst):.3f} float32 ulps, at x = {float(worst)!r}')
