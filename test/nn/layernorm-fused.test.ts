/**
 * LayerNorm on the wasm backend's layerNorm / layerNormBackward extensions (one kernel each way,
 * asm/layernorm.ts) against the composed path the reference runs (normaliseRows, then the weight's
 * product and the bias' sum) in float64: outputs and the gradients of the input, weight and bias
 * within float32 rounding, for W6's rows of 64, odd feature counts, a 2-D normalised shape, no
 * affine, no bias, one and two threads; the fused op is the one recorded; under createGraph its
 * gradients differentiate again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { initWasm, setWasmThreads } from '../../src/backend/wasm/index.js';
import { assertClose, randT } from '../helpers.js';

await initWasm({ threads: 2 });

interface Case {
  shape: number[];
  norm: number[];
  affine: boolean;
  bias: boolean;
}
const CASES: Case[] = [
  { shape: [128, 28, 64], norm: [64], affine: true, bias: true },
  { shape: [300, 7], norm: [7], affine: true, bias: true },
  { shape: [50, 3, 5, 13], norm: [5, 13], affine: true, bias: true },
  { shape: [400, 9], norm: [9], affine: false, bias: false },
  { shape: [600, 6], norm: [6], affine: true, bias: false },
];

/** y and the gradients of x, weight, bias on `backend` in `dtype`, from the same float64 draws. */
function run(c: Case, backend: string, dtype: d.DType): { op: string | undefined; out: Float64Array[] } {
  d.setBackend(backend);
  const m = new d.LayerNorm(c.norm, { elementwiseAffine: c.affine, bias: c.bias, dtype });
  const F = c.norm.reduce((a, b) => a * b, 1);
  if (m.weight) m.weight.data.set(randT([F], 5, 0.5, 1.5).data);
  if (m.bias) m.bias.data.set(randT([F], 6).data);
  // rows with a mean far from 0 and a small spread, where centring matters
  const x = d.fromData(randT(c.shape, 7, 2.9, 3.1).data, c.shape, { dtype, requiresGrad: true });
  const y = m.forward(x);
  d.backward(y, { gradient: d.fromData(randT(c.shape, 8).data, c.shape, { dtype }) });
  const out = [y.data, x.grad!.data, ...(m.weight ? [m.weight.grad!.data] : []), ...(m.bias ? [m.bias.grad!.data] : [])];
  return { op: y.node?.op, out: out.map((a) => Float64Array.from(a)) };
}

for (const threads of [1, 2]) {
  test(`LayerNorm on wasm float32 runs the fused layerNorm op and equals the composed float64 path (${threads} thread(s))`, () => {
    setWasmThreads(threads);
    try {
      for (const c of CASES) {
        const what = `LayerNorm(${c.norm}) affine ${c.affine} bias ${c.bias} on [${c.shape}]`;
        const got = run(c, 'wasm', 'float32');
        const want = run(c, 'reference', 'float64');
        assert.equal(got.op, 'layerNorm', `${what}: the fused op`);
        assert.notEqual(want.op, 'layerNorm', `${what}: the reference composes`);
        assert.equal(got.out.length, want.out.length);
        ['y', 'gx', 'gw', 'gb'].slice(0, got.out.length).forEach((name, i) => {
          // gw and gb sum over every row: their tolerance scales with the rows
          const tol = i < 2 ? 2e-4 : 2e-6 * (got.out[1].length / got.out[i].length);
          assertClose(got.out[i], want.out[i], tol, `${what} ${name}`);
        });
      }
    } finally {
      setWasmThreads(2);
      d.setBackend('wasm');
    }
  });
}

test('the fused LayerNorm differentiates twice (createGraph): its second derivative equals the composed float64 one', () => {
  const shape = [200, 16];
  const second = (backend: string, dtype: d.DType) => {
    d.setBackend(backend);
    const m = new d.LayerNorm(16, { dtype });
    m.weight!.data.set(randT([16], 9, 0.5, 1.5).data);
    const x = d.fromData(randT(shape, 10).data, shape, { dtype, requiresGrad: true });
    const u = d.fromData(randT(shape, 11).data, shape, { dtype }),
      w = d.fromData(randT(shape, 12).data, shape, { dtype });
    const y = m.forward(x);
    const [g1] = d.grad(d.sum(d.mul(y, u)), [x], { createGraph: true });
    const [g2] = d.grad(d.sum(d.mul(g1!, w)), [x]);
    return { op: y.node?.op, g1: g1!.data, g2: g2!.data };
  };
  try {
    const got = second('wasm', 'float32');
    const want = second('reference', 'float64');
    assert.equal(got.op, 'layerNorm');
    assertClose(got.g1, want.g1, 2e-4, 'first derivative');
    assertClose(got.g2, want.g2, 2e-3, 'second derivative');
  } finally {
    d.setBackend('wasm');
  }
});
