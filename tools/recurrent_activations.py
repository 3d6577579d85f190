"""The coefficients of the float32 σ and tanh of the recurrent step kernels (asm/recurrent.ts), and their error.

Run with /usr/bin/python3 (mpmath and NumPy):  /usr/bin/python3 tools/recurrent_activations.py
Prints both polynomials as float32 literals (highest degree first, for Horner) and the largest
error, in float32 ulps of the exact value (of the smallest normal float32 where the exact value is
below it), of the float32 evaluation below against float64 NumPy
on every float32 in [2^-30, 12] (both signs; σ also on [-100, 100] in steps), the kernels' steps
each one float32 operation (multiplications and additions apart, no fused multiply-add).

The step kernels take five of these per hidden unit and step (an LSTM), so they use an exp of
float32 operations only, where the `unary` kernel's is AssemblyScript's table method in float64
(asm/activations.ts; within half an ulp, about four times the work on four lanes):
  exp(y)   y clamped to [-80, 89] (e^-80 is below half an ulp of 1; from 88.73 the result is ∞);
           n = nearest(y·log2 e), r = (y − n·LN2_HI) − n·LN2_LO (LN2_HI has 9 significant bits,
           so n·LN2_HI and the subtraction are exact), e^r = 1 + (r + r²·E(r)) with E ≈
           (e^r − 1 − r)/r² on |r| ≤ ln2/2, then times 2^(n−1) and 2 (so n = 128 overflows to ∞
           as the exact value does, and no scale is below the normal range)
  σ(x)     1 / (1 + exp(−x))
  tanh(x)  |x| < T0: |x| + |x|·(s·P(s)), s = x², P ≈ (tanh(√s)/√s − 1)/s on s ∈ [0, T0²];
           else 1 − 2/(exp(2|x|) + 1); the sign of x put back
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
f32 = np.float32
LOG2E = f32(1.44269504)
LN2_HI = f32(0.693359375)
LN2_LO = f32(float(mp.log(2)) - 0.693359375)
T0 = f32(0.5493)  # log(3)/2: there 2/(e^{2x} + 1) = 1/2, the large form's worst case
E_DEGREE = 4
P_DEGREE = 6


def fit(f, lo, hi, n):
    coeffs, err = mp.chebyfit(f, [lo, hi], n + 1, error=True)
    return [f32(float(c)) for c in coeffs], err


def e_target(r):
    if abs(r) < mp.mpf('1e-10'):
        return mp.mpf(1) / 2 + r / 6
    return (mp.exp(r) - 1 - r) / r ** 2


def p_target(s):
    if s < mp.mpf('1e-20'):
        return mp.mpf(-1) / 3 + 2 * s / 15
    x = mp.sqrt(s)
    return (mp.tanh(x) / x - 1) / s


HALF_LN2 = mp.log(2) / 2
E, e_err = fit(e_target, -HALF_LN2, HALF_LN2, E_DEGREE)
P, p_err = fit(p_target, 0, mp.mpf(float(T0)) ** 2, P_DEGREE)


def horner(c, x):
    r = np.full_like(x, c[0])
    for k in c[1:]:
        r = (r * x).astype(f32) + k
    return r.astype(f32)


def exp32(y):
    y = np.minimum(np.maximum(y.astype(f32), f32(-80)), f32(89))
    n = np.rint((y * LOG2E).astype(f32)).astype(f32)
    r = ((y - (n * LN2_HI).astype(f32)).astype(f32) - (n * LN2_LO).astype(f32)).astype(f32)
    q = horner(E, r)
    p = (f32(1) + (r + ((r * r).astype(f32) * q).astype(f32)).astype(f32)).astype(f32)
    with np.errstate(invalid='ignore'):
        scale = ((n.astype(np.int32) + 126) << 23).astype(np.int32).view(f32)
    with np.errstate(over='ignore'):
        return ((p * scale).astype(f32) * f32(2)).astype(f32)


def sigmoid32(x):
    with np.errstate(over='ignore'):
        return (f32(1) / (f32(1) + exp32(-x))).astype(f32)


def tanh32(x):
    a = np.abs(x).astype(f32)
    s = (a * a).astype(f32)
    with np.errstate(over='ignore', invalid='ignore'):
        small = (a + (a * (s * horner(P, s)).astype(f32)).astype(f32)).astype(f32)
        large = (f32(1) - (f32(2) / (exp32((f32(2) * a).astype(f32)) + f32(1))).astype(f32)).astype(f32)
    return np.copysign(np.where(a < T0, small, large), x).astype(f32)


TINY = np.finfo(f32).tiny


def ulp_error(got, exact):
    """Error in float32 ulps of the exact value, where that is a normal float32 (0 elsewhere: see tiny_error)."""
    normal = np.abs(exact) >= TINY
    spacing = np.spacing(np.abs(exact).astype(f32)).astype(np.float64)
    return np.where(normal, np.abs(got.astype(np.float64) - exact) / np.where(normal, spacing, 1), 0)


def tiny_error(got, exact):
    """Absolute error where the exact value is below the smallest normal float32 (σ of x < −87.3: 0 from x < −88.72)."""
    return np.where(np.abs(exact) < TINY, np.abs(got.astype(np.float64) - exact), 0)


def every_float(lo, hi):
    """Every float32 in [lo, hi] (positive lo), in chunks."""
    a = int(np.array(f32(lo)).view(np.int32))
    b = int(np.array(f32(hi)).view(np.int32))
    for start in range(a, b + 1, 1 << 24):
        yield np.arange(start, min(start + (1 << 24), b + 1), dtype=np.int32).view(f32)


def literal(c):
    return '%.9g' % float(c)


if __name__ == '__main__':
    print('E (exp, degree %d):' % E_DEGREE, ', '.join(literal(c) for c in E), f'  fit error {mp.nstr(e_err, 3)}')
    print('P (tanh, degree %d):' % P_DEGREE, ', '.join(literal(c) for c in P), f'  fit error {mp.nstr(p_err, 3)}')
    print('LN2_LO:', literal(LN2_LO))
    worst = {'sigmoid': (0, 0), 'tanh': (0, 0)}
    tiny = 0.0

    def note(name, x, got, exact):
        global tiny
        err = ulp_error(got, exact)
        i = int(np.argmax(err))
        if err[i] > worst[name][0]:
            worst[name] = (float(err[i]), float(x[i]))
        tiny = max(tiny, float(np.max(tiny_error(got, exact))))

    for chunk in every_float(2 ** -30, 12):
        for sign in (1, -1):
            x = (chunk * f32(sign)).astype(f32)
            x64 = x.astype(np.float64)
            note('sigmoid', x, sigmoid32(x), 1 / (1 + np.exp(-x64)))
            note('tanh', x, tanh32(x), np.tanh(x64))
    xs = np.linspace(-100, 100, 2_000_001).astype(f32)
    with np.errstate(over='ignore'):
        note('sigmoid', xs, sigmoid32(xs), 1 / (1 + np.exp(-xs.astype(np.float64))))
    for name, (e, at) in worst.items():
        print(f'{name}: largest error {e:.3f} ulp, at x = {at:.9g}')
    print(f'sigmoid where the exact value is below the smallest normal float32: largest absolute error {tiny:.3g}')
    special = np.array([0, -0.0, np.inf, -np.inf, np.nan, 1e-40, 89, -89, 200, -200], dtype=f32)
    print('sigmoid of', special.tolist(), '=', sigmoid32(special).tolist())
    print('tanh of', special.tolist(), '=', tanh32(special).tolist())
