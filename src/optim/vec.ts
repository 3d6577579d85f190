/**
 * Flat-vector helpers for the second-order optimizers (L-BFGS, Newton, line searches).
 *
 * Why a fused multiply-add: PyTorch's CPU `x.add_(y, alpha=a)` computes x + a·y with one rounding
 * (an FMA instruction), and L-BFGS amplifies last-bit differences over tens of iterations. JS has no
 * Math.fma, so fma() below is exact: Dekker's product a·b = ph + pl, then the correctly rounded sum
 * of three doubles by Boldo & Melquiond ("Emulation of FMA and correctly rounded sums: proved
 * algorithms using rounding to odd", IEEE TC 2008): the two low parts are added with rounding to
 * odd, which makes the final round-to-nearest single. Float32 storage needs none of this: the
 * product of two float32 is exact in a double, so fround(a·b + c) is already one rounding.
 */
import type { HostStorage } from '../tensor/tensor.js';

const SPLIT = 134217729; // 2^27 + 1 (Veltkamp)
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: u32[0] holds the significand's low bits

/** Round-to-odd of the exact sum a + b. */
function addOdd(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  const e = a - (s - bb) + (b - bb);
  if (e === 0 || !Number.isFinite(s)) return s;
  f64[0] = s;
  const lo = u32[0];
  if (lo & 1) return s;
  // s has an even significand and is not exact: the odd neighbour on the side of the error
  // (+1 on an even word never carries; −1 borrows only from a zero word).
  if (s > 0 === e > 0) u32[0] = lo + 1;
  else if (lo !== 0) u32[0] = lo - 1;
  else {
    u32[0] = 0xffffffff;
    u32[1] -= 1;
  }
  return f64[0];
}

/** a·b + c with a single rounding (IEEE fusedMultiplyAdd), for finite, non-tiny operands. */
export function fma(a: number, b: number, c: number): number {
  const ph = a * b;
  if (ph === 0 || !Number.isFinite(ph) || !Number.isFinite(c) || Math.abs(ph) < 1e-280) return ph + c;
  // Dekker: ph + pl = a·b exactly.
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const pl = al * bl - (ph - ah * bh - al * bh - ah * bl);
  if (pl === 0) return ph + c;
  // Correctly rounded ph + pl + c: (uh, ul) = c ⊕ pl, (th, tl) = ph ⊕ uh exactly, then th + RO(tl + ul).
  const uh = c + pl;
  let z = uh - c;
  const ul = c - (uh - z) + (pl - z);
  const th = ph + uh;
  z = th - ph;
  const tl = ph - (th - z) + (uh - z);
  return th + addOdd(tl, ul);
}

/** x ← x + a·y, one rounding per element as PyTorch's add_(y, alpha=a). */
export function axpy(a: number, y: HostStorage, x: HostStorage, yOffset = 0, xOffset = 0, n = x.length - xOffset): void {
  if (x instanceof Float64Array) {
    for (let i = 0; i < n; i++) x[xOffset + i] = fma(a, y[yOffset + i], x[xOffset + i]);
  } else {
    for (let i = 0; i < n; i++) x[xOffset + i] += a * y[yOffset + i];
  }
}

export function dot(a: HostStorage, b: HostStorage): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** max |aᵢ| (NaN if any element is NaN). */
export function maxAbs(a: HostStorage): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m || v !== v) m = v;
  }
  return m;
}

export function norm2(a: HostStorage): number {
  return Math.sqrt(dot(a, a));
}
