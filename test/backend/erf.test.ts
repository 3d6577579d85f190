/**
 * erf against mpmath at 40 digits (test/fixtures/activations/erf.json, from
 * tools/golden_activations.py) on float32 inputs over [−4.5, 4.5], around the float32 kernels'
 * switches at 1 and 4 and GELU's at √2 and 4√2, and down to 10⁻³⁰: the reference's float64 erf
 * within 8 float64 ulps, its float32 results correctly rounded but for a hair, and the wasm
 * kernel's float32 polynomial within 1.1 float32 ulps (tools/erf_coefficients.py measures 1.05).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initWasm } from '../../src/backend/wasm/index.js';
import { SMALL_ELEMENTWISE } from '../../src/backend/wasm/context.js';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { erf } from '../../src/backend/erf.js';

const W = await initWasm({ threads: 2 });
const golden: { x: number[]; erf: number[] } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/activations/erf.json', import.meta.url), 'utf8'),
);

/** The spacing of float32 numbers at |v| (normal numbers; subnormals share 2⁻¹⁴⁹). */
function ulp32(v: number): number {
  const a = Math.abs(v);
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** The largest |got − exact| in units of `ulp(exact)`, with the x where it is. */
function worst(got: ArrayLike<number>, ulp: (v: number) => number): { err: number; at: number } {
  let err = 0,
    at = NaN;
  golden.x.forEach((x, i) => {
    const e = Math.abs(got[i] - golden.erf[i]) / ulp(golden.erf[i]);
    if (!(e <= err)) {
      err = e;
      at = x;
    }
  });
  return { err, at };
}

test('the reference erf is within 8 float64 ulps of the exact value, odd, and exact at 0, ±∞ and NaN', () => {
  const { err, at } = worst(
    golden.x.map((x) => erf(x)),
    (v) => Math.max(Math.abs(v), 2 ** -1022) * Number.EPSILON,
  );
  assert.ok(err <= 8, `largest error ${err} float64 ulps at x = ${at}`);
  for (const x of [0.3, 1.7, 3.1, 5.5]) assert.equal(erf(-x), -erf(x));
  assert.ok(Object.is(erf(-0), -0) && Object.is(erf(0), 0));
  assert.deepEqual([erf(Infinity), erf(-Infinity), erf(6), erf(-40)], [1, -1, 1, -1]);
  assert.ok(Number.isNaN(erf(NaN)));
});

test('float32 erf: the reference rounds the float64 value (within 0.5001 ulps), the wasm kernel within 1.1 ulps; ±0, ±∞ and NaN as PyTorch', () => {
  // tiled past the wasm kernels' small-array threshold, so the polynomial runs (vector body and tail)
  const n = 2 * SMALL_ELEMENTWISE + 3;
  assert.ok(golden.x.length <= n);
  const x = new Float32Array(n);
  x.set(golden.x);
  x.set([0, -0, Infinity, -Infinity, NaN], golden.x.length);
  for (const [name, B, bound] of [
    ['reference', R, 0.5001],
    ['wasm', W, 1.1],
  ] as const) {
    const y = new Float32Array(n);
    B.unary('erf', x, y);
    const { err, at } = worst(y, ulp32);
    assert.ok(err <= bound, `${name}: largest error ${err} float32 ulps at x = ${at}`);
    const k = golden.x.length;
    assert.ok(Object.is(y[k], 0) && Object.is(y[k + 1], -0), `${name}: erf(±0) = ${y[k]}, ${y[k + 1]}`);
    assert.deepEqual([y[k + 2], y[k + 3]], [1, -1], `${name}: erf(±∞)`);
    assert.ok(Number.isNaN(y[k + 4]), `${name}: erf(NaN) = ${y[k + 4]}`);
  }
});
