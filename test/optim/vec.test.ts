import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fma, axpy } from '../../src/optim/vec.js';

/** m·2^e exactly, for a finite double. */
function split(x: number): [bigint, number] {
  if (x === 0) return [0n, 0];
  let e = 0;
  let m = x;
  while (!Number.isInteger(m)) {
    m *= 2;
    e--;
  }
  return [BigInt(m), e];
}

/** a·b + c rounded once, through exact integers (Number(bigint) rounds to nearest, ties to even). */
function exactFma(a: number, b: number, c: number): number {
  const [ma, ea] = split(a);
  const [mb, eb] = split(b);
  const [mc, ec] = split(c);
  const ep = ea + eb;
  const e = Math.min(ep, ec);
  const sum = ma * mb * 2n ** BigInt(ep - e) + mc * 2n ** BigInt(ec - e);
  // Scale into Number's range before rounding, keeping every bit (shifts by powers of two are exact).
  return Number(sum) * 2 ** e;
}

test("fma rounds a·b + c once (PyTorch's add_(y, alpha) does), where a·b + c in two roundings differs", () => {
  const a = 1 + 2 ** -30;
  const b = 1 - 2 ** -30;
  assert.equal(a * b - 1, 0, 'two roundings lose the −2⁻⁶⁰');
  assert.equal(fma(a, b, -1), -(2 ** -60));
});

test('fma equals the exactly rounded a·b + c on 20,000 random triples, including near-cancellations', () => {
  let s = 12345;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  for (let i = 0; i < 20000; i++) {
    const a = (rnd() * 2 - 1) * 2 ** Math.floor(rnd() * 40 - 20);
    const b = (rnd() * 2 - 1) * 2 ** Math.floor(rnd() * 40 - 20);
    const k = i % 3;
    const c =
      k === 0
        ? -a * b * (1 + (rnd() - 0.5) * 1e-9)
        : k === 1
          ? (rnd() * 2 - 1) * 2 ** Math.floor(rnd() * 80 - 40)
          : a * b * (rnd() * 6 - 3);
    const want = exactFma(a, b, c);
    if (fma(a, b, c) !== want) assert.fail(`fma(${a}, ${b}, ${c}) = ${fma(a, b, c)}, exact ${want}`);
  }
});

test('axpy: float64 uses the single rounding, float32 rounds to float32', () => {
  const x64 = new Float64Array([-1, 2]);
  axpy(1 + 2 ** -30, new Float64Array([1 - 2 ** -30, 0]), x64);
  assert.equal(x64[0], -(2 ** -60));
  const x32 = new Float32Array([1, 2]);
  axpy(0.1, new Float32Array([1, 3]), x32);
  assert.deepEqual(Array.from(x32), [Math.fround(1 + 0.1 * 1), Math.fround(2 + 0.1 * 3)]);
});
