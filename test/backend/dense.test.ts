/**
 * The fused fully connected layer (extensions linear / linearBackward, used by the `dense` op and by
 * the LinearReLU module) against the composition it replaces, computed with
 * the reference backend: matmul, bias rows, ReLU; and in the backward ReLU's mask, both products and
 * the bias sums. Threads 1 and 2, with and without bias and ReLU, odd and threaded sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { PARALLEL_MACS } from '../../src/backend/wasm/context.js';
import { setBackend, extensionsOf, fuse, Tensor, Linear, ReLU, Sequential, Rng, crossEntropy, dense, fromData } from '../../src/index.js';
import { assertClose, floatSource, gradCheck, randT } from '../helpers.js';

const W = { ...(await initWasm({ threads: 2 })), ...extensionsOf('wasm') };

let rnd = floatSource(777);

/** The composition on the reference backend: [y, gx, gw, gb]. */
function composed(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  gy: Float32Array,
  m: number,
  n: number,
  k: number,
  relu: boolean,
) {
  const y = new Float32Array(m * n);
  R.matmul(x, w, y, m, n, k, false, true);
  if (b) R.binary('add', y, [m, n], b, [n], y, [m, n]);
  if (relu) R.unary('relu', y, y);
  const gz = new Float32Array(m * n);
  if (relu) R.binary('reluGrad', gy, [m, n], y, [m, n], gz, [m, n]);
  else gz.set(gy);
  const gx = new Float32Array(m * k),
    gw = new Float32Array(n * k),
    gb = new Float32Array(n);
  R.matmul(gz, w, gx, m, k, n, false, false);
  R.matmul(gz, x, gw, n, k, m, true, false);
  R.sum(gz, [m, n], [0], gb);
  return { y, gx, gw, gb };
}

for (const threads of [1, 2]) {
  test(`fused linear and its backward equal matmul + bias + ReLU on the reference (threads=${threads})`, () => {
    setWasmThreads(threads);
    const sizes: [number, number, number][] = [
      [37, 53, 71],
      [128, 256, 784],
      [200, 10, 300],
      [5, 300, 40],
    ];
    assert.ok(128 * 256 * 784 >= PARALLEL_MACS && 200 * 10 * 300 >= PARALLEL_MACS, 'some cases must be split over threads');
    for (const [m, n, k] of sizes)
      for (const withBias of [true, false])
        for (const relu of [true, false]) {
          const what = `${m}x${n}x${k} bias=${withBias} relu=${relu}`;
          const x = rnd(m * k),
            w = rnd(n * k, -0.2, 0.2),
            b = withBias ? rnd(n) : null,
            gy = rnd(m * n);
          const want = composed(x, w, b, gy, m, n, k, relu);
          const tol = 2e-5 * Math.sqrt(Math.max(k, m));
          const y = new Float32Array(m * n).fill(NaN);
          assert.equal(W.linear!(x, w, b, y, m, n, k, relu), true, `${what}: the fused kernel ran`);
          assertClose(y, want.y, tol, `y ${what}`);
          if (relu) assert.ok(y.some((v) => v === 0) && y.some((v) => v > 0), `${what}: the ReLU clipped some outputs and kept others`);
          const gx = new Float32Array(m * k).fill(NaN),
            gw = new Float32Array(n * k).fill(NaN),
            gb = new Float32Array(n).fill(NaN);
          assert.equal(W.linearBackward!(gy, x, w, relu ? y : null, gx, gw, withBias ? gb : null, m, n, k, false), true);
          assertClose(gx, want.gx, tol, `gx ${what}`);
          assertClose(gw, want.gw, tol, `gw ${what}`);
          if (withBias) assertClose(gb, want.gb, tol, `gb ${what}`);
          // an input that needs no gradient (the data): only the weight and bias gradients
          const gw2 = new Float32Array(n * k).fill(NaN);
          assert.equal(W.linearBackward!(gy, x, w, relu ? y : null, null, gw2, null, m, n, k, false), true);
          // accumulating into a gradient buffer: gw3 = 0.5 + gzᵀ·x
          const gw3 = new Float32Array(n * k).fill(0.5);
          assert.equal(W.linearBackward!(gy, x, w, relu ? y : null, null, gw3, null, m, n, k, true), true);
          assertClose(
            gw3,
            want.gw.map((v) => v + 0.5),
            tol,
            `gw accumulated ${what}`,
          );
          assertClose(gw2, want.gw, tol, `gw without gx ${what}`);
        }
  });
}

test('the threaded products of the fused layer really ran parts on the worker', () => {
  setWasmThreads(2);
  const m = 128,
    n = 256,
    k = 784;
  const x = rnd(m * k),
    w = rnd(n * k),
    y = new Float32Array(m * n);
  const before = wasmInfo();
  for (let i = 0; i < 200 && wasmInfo().workerParts === before.workerParts; i++) W.linear!(x, w, null, y, m, n, k, true);
  assert.ok(wasmInfo().workerParts > before.workerParts, 'the worker ran no part');
});

test('fused linear declines float64 and tiny products (the op composes them instead)', () => {
  assert.equal(W.linear!(new Float64Array(6), new Float64Array(6), null, new Float64Array(4), 2, 2, 3, false), false);
  assert.equal(W.linear!(new Float32Array(6), new Float32Array(6), null, new Float32Array(4), 2, 2, 3, false), false);
});

test('dense: gradients in x, weight and bias match central differences, with and without ReLU (float64)', () => {
  setBackend('reference');
  for (const act of [null, 'relu'] as const) {
    const x = randT([4, 5], 3),
      w = randT([3, 5], 4),
      b = randT([3], 5);
    gradCheck((xx, ww, bb) => dense(xx, ww, bb, act), [x, w, b], 1e-6);
    gradCheck((xx, ww) => dense(xx, ww, null, act), [x, w], 1e-6);
  }
});

test('dense rejects mismatched shapes with one clear message', () => {
  setBackend('reference');
  const x = fromData(new Float32Array(6), [2, 3]);
  assert.throws(
    () => dense(x, fromData(new Float32Array(8), [2, 4])),
    /dense: expected x \[m, k\] and weight \[n, k\], got \[2, 3\] and \[2, 4\]/,
  );
  assert.throws(
    () => dense(x, fromData(new Float32Array(6), [2, 3]), fromData(new Float32Array(3), [3])),
    /dense: expected bias \[2\], got \[3\]/,
  );
});

test('fuse(Sequential(Linear, ReLU, Linear)) trains the same on wasm (fused kernels) and on the reference (composed)', () => {
  const run = (name: string) => {
    setBackend(name);
    const rng = new Rng(5);
    const model = fuse(new Sequential(new Linear(300, 64, { rng }), new ReLU(), new Linear(64, 10, { rng })));
    const x = new Tensor(rnd(128 * 300), [128, 300]);
    const y = Int32Array.from({ length: 128 }, (_, i) => (i * 7) % 10);
    const loss = crossEntropy(model.forward(x), y);
    loss.backward();
    rnd = floatSource(777); // the same input for both runs
    return { loss: loss.item(), grads: model.parameters().map((p) => p.grad!.data) };
  };
  rnd = floatSource(777);
  setWasmThreads(2);
  const fast = run('wasm');
  const ref = run('reference');
  assertClose(fast.loss, ref.loss, 1e-5, 'loss');
  fast.grads.forEach((g, i) => assertClose(g, ref.grads[i], 1e-5, `gradient of parameter ${i}`));
  assert.ok(
    fast.grads[0].some((v) => v !== 0),
    'the first layer got a gradient',
  );
});
