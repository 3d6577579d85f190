/**
 * The activations of UnaryOp in WGSL (src/backend/backend.ts gives the formulas, PyTorch's): erf,
 * the two GELUs, SiLU, LeakyReLU, ELU, Softplus, Mish, Hardswish, Hardsigmoid, SELU and Hardtanh with their derivatives. `ACTIVATION_OPS` maps
 * each op to its expression in x (and the uniforms p.p0, p.p1 where `PARAMETRISED` lists it);
 * elementwise.ts puts it in its unary kernel.
 *
 * WGSL leaves ∞·0, ∞/∞, NaN's propagation and comparisons with NaN to the implementation, so each
 * function answers NaN by name, and ±∞ where its formula would meet those, with the value
 * PyTorch's gives; x is clamped where only an overflowing intermediate (x³, x²) depends on it.
 */
import type { ActivationOp, UnaryOp } from '../backend.js';

export const ACTIVATIONS = /* wgsl */ `
fn isInfF(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }

// erf within about one float32 ulp: tools/erf_coefficients.py gives the algorithm, the
// coefficients and the error (asm/activations.ts evaluates the same)
fn erfF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  let a = abs(x);
  if (a < 1.0) {
    let t = a * a;
    var q = 7.87587487e-5;
    q = q * t - 0.00080168643;
    q = q * t + 0.00518908724;
    q = q * t - 0.0268542115;
    q = q * t + 0.112835944;
    q = q * t - 0.37612626;
    q = q * t + 0.128379166;
    return x + x * q;
  }
  if (a >= 4.0) { return select(1.0, -1.0, x < 0.0); }
  let u = 1.0 / a;
  var q = 0.0250325426;
  q = q * u - 0.14789845;
  q = q * u + 0.360861868;
  q = q * u - 0.42983374;
  q = q * u + 0.145477355;
  q = q * u + 0.282589793;
  q = q * u - 0.394859582;
  q = q * u + 0.0248475205;
  q = q * u + 0.561214626;
  q = q * u + 0.00015165568;
  let y = 1.0 - exp(-(a * a)) * q;
  return select(y, -y, x < 0.0);
}

// log(1 + x) = 2·atanh(s), s = x/(2 + x): the odd series in s where |x| < 0.4 (|s| ≤ 0.25, the
// omitted terms below 2⁻³⁴), log(1 + x) beyond, where WGSL's log is accurate relative to its value
fn log1pF(x: f32) -> f32 {
  if (abs(x) < 0.4) {
    let s = x / (2.0 + x);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 / 15.0))))));
    return 2.0 * s * series;
  }
  return log(1.0 + x);
}

const SQRT1_2 = 0.70710678118654752;        // PyTorch's kAlpha of the erf GELU
const INV_SQRT_2PI = 0.39894228040143268;   // its kBeta, 1/√(2π)
const SQRT_2_OVER_PI = 0.79788456080286536; // the tanh GELU's kBeta, √(2/π)
const KAPPA = 0.044715;

// ±∞: ∞·½·(1 + 1) = ∞ and −∞·½·(1 − 1) = NaN, as PyTorch's IEEE arithmetic gives
fn geluF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (isInfF(x)) { return select(nanF(), x, x > 0.0); }
  return x * 0.5 * (1.0 + erfF(x * SQRT1_2));
}
// Φ(x) + x·φ(x); ±∞·0 is NaN in PyTorch; x² capped at 256 (e^−128 is 0 in float32)
fn geluDerivF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (isInfF(x)) { return nanF(); }
  return 0.5 * (1.0 + erfF(x * SQRT1_2)) + x * (INV_SQRT_2PI * exp(min(x * x, 256.0) * -0.5));
}
// tanh's argument from x clamped to ±100, where it already rounds to ±1, so x³ cannot overflow
fn geluTanhInner(x: f32) -> f32 {
  let c = clamp(x, -100.0, 100.0);
  return tanhF(SQRT_2_OVER_PI * (c + KAPPA * (c * c * c)));
}
fn geluTanhF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (isInfF(x)) { return select(nanF(), x, x > 0.0); }
  return 0.5 * x * (1.0 + geluTanhInner(x));
}
fn geluTanhDerivF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (isInfF(x)) { return nanF(); }
  let t = geluTanhInner(x);
  let c = clamp(x, -100.0, 100.0); // 1 − t² is 0 beyond, and c keeps the product finite
  return 0.5 * (1.0 + t) + 0.5 * c * (1.0 - t * t) * (SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * (c * c)));
}
// x·σ(x) with the overflow-free sigmoid (x/(1 + e⁻ˣ) overflows e⁻ˣ below −88)
fn siluF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (isInfF(x)) { return select(nanF(), x, x > 0.0); }
  return x * sigmoidF(x);
}
fn siluDerivF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (isInfF(x)) { return nanF(); }
  let s = sigmoidF(x);
  return s * (1.0 + x * (1.0 - s));
}
fn leakyReluF(x: f32, slope: f32) -> f32 {
  if (isNan(x)) { return x; }
  return select(x * slope, x, x > 0.0);
}
fn leakyReluDerivF(x: f32, slope: f32) -> f32 {
  return select(slope, 1.0, !isNan(x) && x > 0.0);
}
fn eluF(x: f32, alpha: f32) -> f32 {
  if (isNan(x)) { return x; }
  return select(x, (exp(x) - 1.0) * alpha, x <= 0.0);
}
fn eluDerivF(x: f32, alpha: f32) -> f32 {
  if (isNan(x)) { return x; }
  return select(alpha * exp(x), 1.0, x > 0.0);
}
fn softplusF(x: f32, beta: f32, threshold: f32) -> f32 {
  if (isNan(x)) { return x; }
  let z = x * beta;
  if (z > threshold) { return x; }
  return log1pF(exp(z)) / beta;
}
fn softplusDerivF(x: f32, beta: f32, threshold: f32) -> f32 {
  if (isNan(x)) { return x; }
  let z = x * beta;
  if (z > threshold) { return 1.0; }
  let e = exp(z);
  return e / (e + 1.0);
}
// Mish's tanh(log1p(eˣ)) as n/(n + 2), n = eˣ·(eˣ + 2) (asm/activations.ts's mishT), 1 past 20
// where n would overflow; x is clamped below so that e^x stays a number
fn mishT(x: f32) -> f32 {
  if (x > 20.0) { return 1.0; }
  let e = exp(max(x, -104.0));
  let n = e * (e + 2.0);
  return n / (n + 2.0);
}
// +∞ gives ∞·1 = ∞ and −∞ gives −∞·0 = NaN, as PyTorch's
fn mishF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (isInfF(x)) { return select(nanF(), x, x > 0.0); }
  return x * mishT(x);
}
// t + x·σ(x)·(1 − t²), 1 − t² as u·(2 − u), u = 1 − t = 2/(n + 2) (asm/activations.ts's, free of
// 1 − t·t's cancellation); at ±∞ PyTorch's ∞·0 is NaN
fn mishDerivF(x: f32) -> f32 {
  if (isNan(x) || isInfF(x)) { return nanF(); }
  if (x > 20.0) { return 1.0; }
  let e = exp(max(x, -104.0));
  let n = e * (e + 2.0);
  let u = 2.0 / (n + 2.0);
  return n / (n + 2.0) + x * sigmoidF(x) * (u * (2.0 - u));
}
fn hardswishF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (isInfF(x)) { return select(nanF(), x, x > 0.0); }
  return x * clamp(x + 3.0, 0.0, 6.0) / 6.0;
}
fn hardswishDerivF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (x < -3.0) { return 0.0; }
  if (x >= 3.0) { return 1.0; }
  return x / 3.0 + 0.5;
}
fn hardsigmoidF(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  return clamp(x + 3.0, 0.0, 6.0) / 6.0;
}
// ⅙ as float32's 1.0f/6.0f strictly inside (−3, 3), 0 on the bounds, beyond and at NaN
fn hardsigmoidDerivF(x: f32) -> f32 {
  return select(0.0, 1.0 / 6.0, !isNan(x) && x > -3.0 && x < 3.0);
}
fn seluF(x: f32, negCoef: f32, scale: f32) -> f32 {
  if (isNan(x)) { return x; }
  return select(x * scale, (exp(x) - 1.0) * negCoef, x <= 0.0);
}
fn seluDerivF(x: f32, negCoef: f32, scale: f32) -> f32 {
  if (isNan(x)) { return x; }
  return select(negCoef * exp(x), scale, x > 0.0);
}
fn hardtanhF(x: f32, lo: f32, hi: f32) -> f32 {
  if (isNan(x)) { return x; }
  return clamp(x, lo, hi);
}
fn hardtanhDerivF(x: f32, lo: f32, hi: f32) -> f32 {
  return select(0.0, 1.0, !isNan(x) && x > lo && x < hi);
}
`;

export const ACTIVATION_OPS: Record<ActivationOp, string> = {
  erf: 'erfF(x)',
  gelu: 'geluF(x)',
  geluDeriv: 'geluDerivF(x)',
  geluTanh: 'geluTanhF(x)',
  geluTanhDeriv: 'geluTanhDerivF(x)',
  silu: 'siluF(x)',
  siluDeriv: 'siluDerivF(x)',
  leakyRelu: 'leakyReluF(x, p.p0)',
  leakyReluDeriv: 'leakyReluDerivF(x, p.p0)',
  elu: 'eluF(x, p.p0)',
  eluDeriv: 'eluDerivF(x, p.p0)',
  softplus: 'softplusF(x, p.p0, p.p1)',
  softplusDeriv: 'softplusDerivF(x, p.p0, p.p1)',
  mish: 'mishF(x)',
  mishDeriv: 'mishDerivF(x)',
  hardswish: 'hardswishF(x)',
  hardswishDeriv: 'hardswishDerivF(x)',
  hardsigmoid: 'hardsigmoidF(x)',
  hardsigmoidDeriv: 'hardsigmoidDerivF(x)',
  selu: 'seluF(x, p.p0, p.p1)',
  seluDeriv: 'seluDerivF(x, p.p0, p.p1)',
  hardtanh: 'hardtanhF(x, p.p0, p.p1)',
  hardtanhDeriv: 'hardtanhDerivF(x, p.p0, p.p1)',
};

/** The ops that read the uniforms p0, p1 (their kernels' Params has them after n). */
export const PARAMETRISED: ReadonlySet<UnaryOp> = new Set([
  'leakyRelu',
  'leakyReluDeriv',
  'elu',
  'eluDeriv',
  'softplus',
  'softplusDeriv',
  'selu',
  'seluDeriv',
  'hardtanh',
  'hardtanhDeriv',
]);
