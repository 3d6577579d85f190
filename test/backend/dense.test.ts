/**
 * The fused fully connected layer (extensions linear / linearBackward, used by the `dense` op and by
 * the LinearReLU, LinearGELU and LinearSiLU modules) against the composition it replaces, computed
 * with the reference backend: matmul, bias rows, the activation; and in the backward the
 * activation's gradient (ReLU's mask, g·f′(z)), both products and the bias sums. Threads 1 and 2,
 * with and without bias, every activation, odd and threaded sizes. On wasm the fused layers give
 * the same bits as the unfused Linear and activation modules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { PARALLEL_MACS, SMALL_ELEMENTWISE } from '../../src/backend/wasm/context.js';
import {
  setBackend,
  extensionsOf,
  fuse,
  Tensor,
  GELU,
  Linear,
  LinearGELU,
  LinearSiLU,
  ReLU,
  SiLU,
  Sequential,
  Rng,
  crossEntropy,
  dense,
  fromData,
  type LinearActivation,
  type Module,
} from '../../src/index.js';
import { LINEAR_ACTIVATION_DERIV, isSmoothLinearActivation } from '../../src/backend/backend.js';
import { assertClose, floatSource, gradCheck, randT } from '../helpers.js';

const W = { ...(await initWasm({ threads: 2 })), ...extensionsOf('wasm') };

let rnd = floatSource(777);

const ACTS: LinearActivation[] = ['none', 'relu', 'gelu', 'geluTanh', 'silu'];

/** The composition on the reference backend: [y, f′(z) (smooth activations), gx, gw, gb]. */
function composed(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  gy: Float32Array,
  m: number,
  n: number,
  k: number,
  act: LinearActivation,
) {
  const z = new Float32Array(m * n);
  R.matmul(x, w, z, m, n, k, false, true);
  if (b) R.binary('add', z, [m, n], b, [n], z, [m, n]);
  const y = z.slice();
  if (act !== 'none') R.unary(act, z, y);
  const gz = gy.slice();
  if (act === 'relu') R.binary('reluGrad', gy, [m, n], y, [m, n], gz, [m, n]);
  const d = new Float32Array(m * n);
  if (isSmoothLinearActivation(act)) {
    R.unary(LINEAR_ACTIVATION_DERIV[act], z, d);
    R.binary('mul', gy, [m, n], d, [m, n], gz, [m, n]);
  }
  const gx = new Float32Array(m * k),
    gw = new Float32Array(n * k),
    gb = new Float32Array(n);
  R.matmul(gz, w, gx, m, k, n, false, false);
  R.matmul(gz, x, gw, n, k, m, true, false);
  R.sum(gz, [m, n], [0], gb);
  return { y, d, gx, gw, gb };
}

for (const threads of [1, 2]) {
  test(`fused linear and its backward equal matmul + bias + activation on the reference (threads=${threads})`, () => {
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
        for (const act of ACTS) {
          const what = `${m}x${n}x${k} bias=${withBias} act=${act}`;
          const smooth = isSmoothLinearActivation(act);
          const x = rnd(m * k),
            w = rnd(n * k, -0.2, 0.2),
            b = withBias ? rnd(n) : null,
            gy = rnd(m * n);
          const want = composed(x, w, b, gy, m, n, k, act);
          const tol = 2e-5 * Math.sqrt(Math.max(k, m));
          const y = new Float32Array(m * n).fill(NaN),
            deriv = smooth ? new Float32Array(m * n).fill(NaN) : null;
          const ran = W.linear!(x, w, b, y, m, n, k, act, deriv);
          // a smooth activation on fewer outputs than the unary kernels take is declined (composed, as unfused)
          assert.equal(ran, !smooth || m * n >= SMALL_ELEMENTWISE, `${what}: the fused kernel ran or declined`);
          if (ran) {
            assertClose(y, want.y, tol, `y ${what}`);
            if (deriv) assertClose(deriv, want.d, tol, `f′(z) ${what}`);
            if (act === 'relu')
              assert.ok(y.some((v) => v === 0) && y.some((v) => v > 0), `${what}: the ReLU clipped some outputs and kept others`);
          } else assert.ok(y.every((v) => Number.isNaN(v)) && deriv!.every((v) => Number.isNaN(v)), `${what}: declined, nothing written`);
          // the backward multiplies by f′(z) (the composition's when the forward declined)
          const saved = act === 'relu' ? y : ran ? deriv : want.d;
          const gx = new Float32Array(m * k).fill(NaN),
            gw = new Float32Array(n * k).fill(NaN),
            gb = new Float32Array(n).fill(NaN);
          assert.equal(W.linearBackward!(gy, x, w, saved, gx, gw, withBias ? gb : null, m, n, k, act, false), true);
          assertClose(gx, want.gx, tol, `gx ${what}`);
          assertClose(gw, want.gw, tol, `gw ${what}`);
          if (withBias) assertClose(gb, want.gb, tol, `gb ${what}`);
          // an input that needs no gradient (the data): only the weight and bias gradients
          const gw2 = new Float32Array(n * k).fill(NaN);
          assert.equal(W.linearBackward!(gy, x, w, saved, null, gw2, null, m, n, k, act, false), true);
          // accumulating into a gradient buffer: gw3 = 0.5 + gzᵀ·x
          const gw3 = new Float32Array(n * k).fill(0.5);
          assert.equal(W.linearBackward!(gy, x, w, saved, null, gw3, null, m, n, k, act, true), true);
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

test('fused linear declines what it does not take: f′(z) asked of ReLU or none, a missing f′(z), an unknown activation', () => {
  const [m, n, k] = [64, 64, 16];
  const x = rnd(m * k),
    w = rnd(n * k),
    y = new Float32Array(m * n),
    d = new Float32Array(m * n),
    gw = new Float32Array(n * k);
  assert.equal(W.linear!(x, w, null, y, m, n, k, 'relu', d), false);
  assert.equal(W.linear!(x, w, null, y, m, n, k, 'none', d), false);
  assert.equal(W.linear!(x, w, null, y, m, n, k, 'tanh' as LinearActivation, d), false);
  assert.equal(W.linearBackward!(y, x, w, null, null, gw, null, m, n, k, 'silu', false), false);
  assert.equal(W.linearBackward!(y, x, w, d, null, gw, null, m, n, k, 'none', false), false);
  assert.equal(W.linearBackward!(y, x, w, d, null, gw, null, m, n, k, 'tanh' as LinearActivation, false), false);
  assert.ok(y.every((v) => v === 0) && gw.every((v) => v === 0), 'nothing written');
  // without f′(z) (no gradient will be asked for) a smooth activation runs: y alone
  assert.equal(W.linear!(x, w, null, y, m, n, k, 'gelu', null), true);
  assert.ok(y.some((v) => v !== 0));
});

/** Loss and gradients of one batch through `model` (on the current backend). */
function lossAndGrads(model: Module, x: Tensor, y: Int32Array): { loss: number; grads: Float32Array[] } {
  for (const p of model.parameters()) p.grad = null;
  const loss = crossEntropy(model.forward(x), y);
  loss.backward();
  return { loss: loss.item(), grads: model.parameters().map((p) => p.grad!.data as Float32Array) };
}

test('on wasm LinearGELU (both forms) and LinearSiLU give the same bits as Linear followed by GELU or SiLU', () => {
  setBackend('wasm');
  const acts: [string, () => Module, new (...a: never[]) => Module][] = [
    ['gelu', () => new GELU(), LinearGELU],
    ['geluTanh', () => new GELU('tanh'), LinearGELU],
    ['silu', () => new SiLU(), LinearSiLU],
  ];
  for (const threads of [1, 2]) {
    setWasmThreads(threads);
    for (const [name, act, cls] of acts)
      for (const withBias of [true, false])
        for (const [batch, hidden] of [
          [96, 150],
          [7, 40],
        ]) {
          // 96×150 outputs take the fused kernels; 7×40 fewer than SMALL_ELEMENTWISE, declined and composed
          // (300 inputs: the product's depth takes two of the GEMM's k blocks)
          const rng = new Rng(3);
          const model = new Sequential(
            new Linear(300, hidden, { rng, bias: withBias }),
            act(),
            new Linear(hidden, 30, { rng }),
            act(),
            new Linear(30, 10, { rng }),
          );
          const fused = fuse(model) as Sequential;
          assert.ok(fused.layers[0] instanceof cls && fused.layers[1] instanceof cls, `${name}: fused`);
          const x = new Tensor(floatSource(batch)(batch * 300), [batch, 300]);
          const y = Int32Array.from({ length: batch }, (_, i) => (i * 3) % 10);
          const a = lossAndGrads(model, x, y),
            b = lossAndGrads(fused, x, y);
          const what = `${name} bias=${withBias} ${batch}×${hidden} threads=${threads}`;
          assert.equal(b.loss, a.loss, `${what}: loss`);
          b.grads.forEach((g, i) => assert.deepEqual(g, a.grads[i], `${what}: gradient of parameter ${i}`));
        }
  }
});

test('the threaded products of the fused layer really ran parts on the worker', () => {
  setWasmThreads(2);
  const m = 128,
    n = 256,
    k = 784;
  const x = rnd(m * k),
    w = rnd(n * k),
    y = new Float32Array(m * n);
  const before = wasmInfo();
  for (let i = 0; i < 200 && wasmInfo().workerParts === before.workerParts; i++) W.linear!(x, w, null, y, m, n, k, 'relu', null);
  assert.ok(wasmInfo().workerParts > before.workerParts, 'the worker ran no part');
});

test('fused linear declines float64 and tiny products (the op composes them instead)', () => {
  assert.equal(W.linear!(new Float64Array(6), new Float64Array(6), null, new Float64Array(4), 2, 2, 3, 'none', null), false);
  assert.equal(W.linear!(new Float32Array(6), new Float32Array(6), null, new Float32Array(4), 2, 2, 3, 'none', null), false);
});

test('dense: gradients in x, weight and bias match central differences, with every activation (float64)', () => {
  setBackend('reference');
  for (const act of [null, 'relu', 'gelu', 'geluTanh', 'silu'] as const) {
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
