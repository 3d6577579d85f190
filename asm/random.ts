/**
 * Dropout masks drawn in linear memory from the generator of src/tensor/rng.ts (xoshiro128**), so
 * a mask is the one the TypeScript generator gives draw for draw: element i is `keep` where the
 * i-th 32-bit draw u satisfies u ≥ threshold (= p·2³²), else 0. The generator's four words are
 * read from and written back to `state`, so the caller's generator continues after the last draw.
 */

@inline function rotl(x: u32, k: u32): u32 {
  return (x << k) | (x >>> (32 - k));
}

/**
 * The mask of n draws into `mask`, and where `apply` (a constant at each inlined call) x·mask into y
 * in the same pass; the generator's words are read from and written back to `state`.
 */
@inline function drawMask(state: usize, x: usize, y: usize, mask: usize, n: i32, threshold: f64, keep: f32, apply: bool): void {
  let a = load<u32>(state), b = load<u32>(state, 4), c = load<u32>(state, 8), d = load<u32>(state, 12);
  for (let i = 0; i < n; i++) {
    const u = rotl(b * 5, 7) * 9;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    const m: f32 = <f64>u >= threshold ? keep : 0;
    const o = <usize>i << 2;
    store<f32>(mask + o, m);
    if (apply) store<f32>(y + o, load<f32>(x + o) * m);
  }
  store<u32>(state, a);
  store<u32>(state, b, 4);
  store<u32>(state, c, 8);
  store<u32>(state, d, 12);
}

export function dropoutMask(state: usize, out: usize, n: i32, threshold: f64, keep: f32): void {
  drawMask(state, 0, 0, out, n, threshold, keep, false);
}

/** dropoutMask's mask into `mask` and x·mask into y in the same pass (Dropout's forward: the mask is kept for the backward). */
export function dropoutApply(state: usize, x: usize, y: usize, mask: usize, n: i32, threshold: f64, keep: f32): void {
  drawMask(state, x, y, mask, n, threshold, keep, true);
}
