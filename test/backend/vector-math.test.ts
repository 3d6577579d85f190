/**
 * asm/activations.ts computes exp, sigmoid, tanh, erf, the GELUs, SiLU, Mish, Hardswish and Hardsigmoid with their derivatives
 * four lanes at a time, as the scalar code's own operations (Mathf.exp's table method, musl's
 * tanhf and expm1f, the erf polynomials): the SIMD results must be the scalar results, bit for bit.
 * Each kernel runs once over all the inputs (the SIMD loop) and once per input (n = 1: the scalar
 * loop that takes a call's last elements), in the SIMD128 and the relaxed-SIMD modules, on the
 * special values, every branch threshold and its neighbours, random bit patterns and a dense range.
 * activationForward's f and f′ (the fused dense layer's) must be `unary`'s too.
 */
import '../../src/backend/wasm/node-flags.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as bins from '../../src/backend/wasm/kernels.generated.js';
import type { KernelExports } from '../../src/backend/wasm/abi.generated.js';
import * as abi from '../../src/backend/wasm/abi.generated.js';
import { ACTIVATION_PAIRS, VECTOR_OPS } from '../../tools/vector-math-ops.js';

const SELU = [1.6732632423543772 * 1.0507009873554805, 1.0507009873554805];
/** Name, op code and the two scalars of each vectorised activation that takes them. */
const PARAMETRISED_OPS: [string, number, number, number][] = [
  ['elu', abi.UN_ELU, 1, 0],
  ['eluDeriv', abi.UN_ELU_DERIV, 1, 0],
  ['elu(-0.7)', abi.UN_ELU, -0.7, 0],
  ['eluDeriv(-0.7)', abi.UN_ELU_DERIV, -0.7, 0],
  ['selu', abi.UN_SELU, SELU[0], SELU[1]],
  ['seluDeriv', abi.UN_SELU_DERIV, SELU[0], SELU[1]],
  ['hardtanh', abi.UN_HARDTANH, -1, 1],
  ['hardtanhDeriv', abi.UN_HARDTANH_DERIV, -1, 1],
  ['hardtanh(0, 6)', abi.UN_HARDTANH, 0, 6],
  ['hardtanhDeriv(0, 6)', abi.UN_HARDTANH_DERIV, 0, 6],
];

/** The inputs, as float32 bit patterns. */
function inputs(): Uint32Array {
  const bits: number[] = [];
  const f = new Float32Array(1),
    u = new Uint32Array(f.buffer);
  const of = (x: number) => {
    f[0] = x;
    return u[0];
  };
  // zeros, subnormals, the normal range's ends, infinities, NaNs (quiet, with a payload, negative)
  for (const b of [0, 1, 0x7fffff, 0x800000, 0x7f7fffff, 0x7f800000, 0x7fc00000, 0x7fc12345, 0x7f812345]) bits.push(b, b | 0x80000000);
  // the branch thresholds (bits and values) of expf, expm1f, tanhf, erf and their ±4-ulp neighbours, at 1, ½, 2, 1/√2 and √2 times
  const thresholds = [0x42b00000, 0x42b17217, 0x3eb17218, 0x3f851592, 0x33000000, 0x4195b844, 0x41200000, 0x3f0c9f54, 0x3e82c578];
  const values = [1, 4, 0.25, 13.86, 6.93, 0.3466, 1.0397, 88.72, 103.97, 9.4, 13.3, Math.SQRT2, 4 * Math.SQRT2, 20, 3, 6];
  const fromBits = (b: number) => {
    u[0] = b;
    return f[0];
  };
  for (const t of [...thresholds.map(fromBits), ...values])
    for (const scale of [1, 0.5, 2, Math.SQRT1_2, Math.SQRT2]) {
      const x = of(t * scale);
      for (let d = -4; d <= 4; d++) bits.push((x + d) >>> 0, ((x + d) | 0x80000000) >>> 0);
    }
  // random bit patterns, and random values over [−30, 30]
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < 40000; i++) bits.push(next());
  for (let i = 0; i < 40000; i++) bits.push(of(-30 + (60 * next()) / 2 ** 32));
  while (bits.length % 4) bits.push(0);
  return Uint32Array.from(bits);
}

for (const [variant, b64] of [
  ['SIMD128', bins.simd],
  ['relaxed SIMD', bins.relaxed],
] as const) {
  test(`${variant}: the vectorised transcendental ops and activations give the scalar code's bits`, (t) => {
    const bytes = Buffer.from(b64, 'base64');
    if (!WebAssembly.validate(bytes)) return t.skip('relaxed SIMD is not available in this engine');
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 16384 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory, abort: () => {} } })
      .exports as unknown as KernelExports;
    const xs = inputs(),
      n = xs.length;
    const base = (k.heapBase() + 63) & ~63;
    const [px, pv, ps, py, pd] = [0, 1, 2, 3, 4].map((i) => base + i * n * 4);
    memory.grow(Math.ceil((pd + n * 4) / 65536));
    const at = (p: number) => new Uint32Array(memory.buffer, p, n);
    at(px).set(xs);
    const hex = (v: number) => `0x${v.toString(16)}`;
    const scalar = new Map<number, Uint32Array>();
    for (const [name, op] of VECTOR_OPS) {
      k.unary(op, px, pv, n, 0, 0);
      for (let i = 0; i < n; i++) k.unary(op, px + i * 4, ps + i * 4, 1, 0, 0);
      const v = at(pv),
        sc = at(ps);
      for (let i = 0; i < n; i++) if (v[i] !== sc[i]) assert.fail(`${name}(${hex(xs[i])}): SIMD ${hex(v[i])}, scalar ${hex(sc[i])}`);
      scalar.set(op, sc.slice());
    }
    for (const [name, f, d] of ACTIVATION_PAIRS) {
      k.activationForward(f, px, py, pd, n);
      const y = at(py),
        dd = at(pd),
        wantY = scalar.get(f)!,
        wantD = scalar.get(d)!;
      for (let i = 0; i < n; i++) {
        if (y[i] !== wantY[i]) assert.fail(`activationForward ${name} y(${hex(xs[i])}): ${hex(y[i])}, unary ${hex(wantY[i])}`);
        if (dd[i] !== wantD[i]) assert.fail(`activationForward ${name} f′(${hex(xs[i])}): ${hex(dd[i])}, unary ${hex(wantD[i])}`);
      }
      // without f′ (no gradient wanted) only y is written; an odd length takes the scalar tail too
      at(pd).fill(0xdeadbeef);
      k.activationForward(f, px, py, 0, n - 3);
      assert.ok(at(pd).every((v) => v === 0xdeadbeef));
      assert.deepEqual(at(py).subarray(0, n - 3), wantY.subarray(0, n - 3));
    }
    // the activations with scalars (ELU, SELU, Hardtanh), vectorised with their scalars in lanes
    for (const [name, op, p0, p1] of PARAMETRISED_OPS) {
      k.unary(op, px, pv, n, p0, p1);
      for (let i = 0; i < n; i++) k.unary(op, px + i * 4, ps + i * 4, 1, p0, p1);
      const v = at(pv),
        sc = at(ps);
      for (let i = 0; i < n; i++) if (v[i] !== sc[i]) assert.fail(`${name}(${hex(xs[i])}): SIMD ${hex(v[i])}, scalar ${hex(sc[i])}`);
    }
  });
}
