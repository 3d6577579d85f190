/**
 * The error function in float64, for the reference backend (JavaScript has no Math.erf), within a
 * few float64 ulps of the exact value (at most 7; test/backend/erf.test.ts checks it against mpmath):
 *
 *   |x| < 2.5   erf(x) = 2/√π · e^(−x²) · Σₙ (2x²)ⁿ·x / (1·3·…·(2n + 1)), a series of positive
 *               terms (no cancellation), summed until a term no longer changes the sum;
 *   |x| ≥ 2.5   erf(x) = 1 − erfc(x), erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …)))),
 *               the continued fraction evaluated forward (Lentz), under 60 terms from x = 2.5 on;
 *   |x| ≥ 6     ±1 (erfc(6) ≈ 2·10⁻¹⁷ is below half a float64 ulp of 1).
 *
 * The float32 kernels (asm/activations.ts, the WebGPU shaders) use a polynomial of their own.
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SQRT_PI = Math.sqrt(Math.PI);

/** e^(−x²) with x² split as h² + (x − h)(x + h), h = x rounded to 12 fractional bits (h² exact), so x²'s rounding does not reach the result. */
function expNegSquare(x: number): number {
  const h = Math.round(x * 4096) / 4096;
  return Math.exp(-h * h) * Math.exp(-(x - h) * (x + h));
}

export function erf(x: number): number {
  if (Number.isNaN(x) || x === 0) return x; // NaN, and ±0 keeping its sign
  const a = Math.abs(x);
  let y: number;
  if (a >= 6) y = 1;
  else if (a < 2.5) {
    const q = 2 * a * a;
    let term = a,
      sum = a;
    for (let n = 1; sum + term !== sum; n++) {
      term *= q / (2 * n + 1);
      sum += term;
    }
    y = TWO_OVER_SQRT_PI * expNegSquare(a) * sum;
  } else {
    // f = b₀ + a₁/(b₁ + a₂/(b₂ + …)) with bₙ = x, aₙ = n/2; C and D never reach 0 for x > 0
    let f = a,
      c = a,
      d = 0;
    for (let n = 1; n < 100; n++) {
      d = 1 / (a + (n / 2) * d);
      c = a + n / 2 / c;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) <= 1e-16) break;
    }
    y = 1 - expNegSquare(a) / (SQRT_PI * f);
  }
  return x < 0 ? -y : y;
}
