/**
 * The wasm backend's batchedMatmul extension (one gemmBatch kernel call for every product of a
 * batch) against one backend matmul per matrix — the path batched.ts takes without it: the same
 * bits where the per-matrix products run on the wasm GEMM, within float32 rounding of the reference
 * where they are too small for it. Every transpose flag, odd sizes, batch 1, a shared (stride 0)
 * operand, threads 1 and 2; through matmul / matmulTransposed with gradients, the counter in
 * wasmInfo() saying the kernel ran; float64 declined.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { backend, extensionsOf, matmul, setBackend, Tensor } from '../../src/index.js';
import { matmulTransposed } from '../../src/autograd/batched.js';
import { assertClose, floatSource } from '../helpers.js';

await initWasm({ threads: 2 });
setBackend('wasm');
const W = backend();
const bmm = extensionsOf('wasm').batchedMatmul!;
const rnd = floatSource(4242);

/** Products one per matrix with `mm` (a backend's matmul) on views, as batched.ts runs them without the extension. */
function perMatrix(
  mm: typeof R.matmul,
  a: Float32Array,
  b: Float32Array,
  batch: number,
  m: number,
  n: number,
  k: number,
  tA: boolean,
  tB: boolean,
  sa: number,
  sb: number,
): Float32Array {
  const out = new Float32Array(batch * m * n);
  for (let z = 0; z < batch; z++)
    mm(a.subarray(z * sa, z * sa + m * k), b.subarray(z * sb, z * sb + k * n), out.subarray(z * m * n, (z + 1) * m * n), m, n, k, tA, tB);
  return out;
}

// [batch, m, n, k, a shared, b shared]: W6's attention products, odd sizes, batch 1, broadcast operands
const CASES: [number, number, number, number, boolean, boolean][] = [
  [512, 28, 28, 16, false, false],
  [512, 28, 16, 28, false, false],
  [7, 13, 11, 9, false, false],
  [40, 5, 7, 3, false, false],
  [1, 30, 17, 21, false, false],
  [6, 19, 10, 12, true, false],
  [6, 19, 10, 12, false, true],
];

for (const threads of [1, 2]) {
  test(`wasm batchedMatmul equals one product per matrix, every transpose flag, odd sizes, shared operands (${threads} thread(s))`, () => {
    setWasmThreads(threads);
    for (const [batch, m, n, k, shareA, shareB] of CASES)
      for (const tA of [false, true])
        for (const tB of [false, true]) {
          const sa = shareA ? 0 : m * k,
            sb = shareB ? 0 : k * n;
          const a = rnd((shareA ? 1 : batch) * m * k),
            b = rnd((shareB ? 1 : batch) * k * n);
          const out = new Float32Array(batch * m * n).fill(Number.NaN);
          const what = `${batch}×(${m}×${k})·(${k}×${n}) tA ${tA} tB ${tB} shared ${shareA}/${shareB}`;
          assert.equal(bmm(a, b, out, batch, m, n, k, tA, tB, sa, sb), true, `${what}: declined`);
          if (m * n * k >= 1024) assert.deepEqual(out, perMatrix(W.matmul, a, b, batch, m, n, k, tA, tB, sa, sb), `${what}: bits`);
          assertClose(out, perMatrix(R.matmul, a, b, batch, m, n, k, tA, tB, sa, sb), 1e-5, what);
        }
  });
}
setWasmThreads(2);

test('wasm batchedMatmul declines float64 and a batch too small for a kernel call, writing nothing', () => {
  const a64 = new Float64Array(4 * 8 * 8).fill(1);
  const out64 = new Float64Array(4 * 8 * 8);
  assert.equal(bmm(a64, a64, out64, 4, 8, 8, 8, false, false, 64, 64), false);
  assert.ok(out64.every((v) => v === 0));
  const a = rnd(2 * 3 * 4),
    out = new Float32Array(2 * 3 * 3);
  assert.equal(bmm(a, a, out, 2, 3, 3, 4, false, true, 12, 12), false);
  assert.ok(out.every((v) => v === 0));
});

test('matmul and matmulTransposed on [N, H, L, E] run one gemmBatch per product on wasm, values and gradients as on the reference', () => {
  const [nb, h, l, e] = [3, 4, 9, 6];
  const q = new Tensor(rnd(nb * h * l * e), [nb, h, l, e]),
    kk = new Tensor(rnd(nb * h * l * e), [nb, h, l, e]),
    v = new Tensor(rnd(nb * h * l * e), [nb, h, l, e]);
  const g = new Tensor(rnd(nb * h * l * e), [nb, h, l, e]);
  const run = () => {
    const [qq, k2, vv] = [q, kk, v].map((t) => {
      const c = new Tensor(new Float32Array(t.data), t.shape);
      c.requiresGrad = true;
      return c;
    });
    const y = matmul(matmulTransposed(qq, k2), vv);
    y.backward(g);
    return [y.data, qq.grad!.data, k2.grad!.data, vv.grad!.data];
  };
  const before = wasmInfo().batchedProducts;
  const got = run();
  // forward 2, backward 2 for each product's two operands
  assert.equal(wasmInfo().batchedProducts - before, 6, 'gemmBatch calls');
  setBackend('reference');
  try {
    const want = run();
    for (let i = 0; i < 4; i++) assertClose(got[i], want[i], 1e-5, ['y', 'gq', 'gk', 'gv'][i]);
  } finally {
    setBackend('wasm');
  }
});

test('a float64 batched product on wasm takes the per-matrix path (no gemmBatch call)', () => {
  const a = new Tensor(
    new Float64Array(2 * 3 * 20 * 20).map((_, i) => Math.sin(i)),
    [2, 3, 20, 20],
  );
  const before = wasmInfo().batchedProducts;
  const y = matmul(a, a);
  assert.equal(wasmInfo().batchedProducts, before);
  assert.equal(y.dtype, 'float64');
  let s = 0;
  for (let p = 0; p < 20; p++) s += a.data[p] * a.data[p * 20];
  assert.ok(Math.abs(y.data[0] - s) < 1e-12);
});
