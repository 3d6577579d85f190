/**
 * zeroGrad({ setToNone: false }): PyTorch 1.x's zero_grad. Each parameter keeps one gradient
 * buffer that backward passes add into in place (on the wasm backend in WebAssembly memory, where
 * the fused dense layer accumulates its weight gradient directly). The default (setToNone) keeps
 * the old rule: a gradient tensor the user holds never changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Linear, ReLU, Sequential, Rng, SGD, Adam, crossEntropy, grad, setBackend, dense, sum } from '../../src/index.js';
import { isGradBuffer } from '../../src/autograd/engine.js';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';
import { assertClose } from '../helpers.js';

await initWasm({ threads: 2 });

function batch(seed: number, n = 64, d = 300): { x: Tensor; y: Int32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform() - 0.5;
  return { x: new Tensor(x, [n, d]), y: Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * 10)) };
}

const mlp = (seed: number) => {
  const rng = new Rng(seed);
  return new Sequential(new Linear(300, 128, { rng }), new ReLU(), new Linear(128, 10, { rng }));
};

for (const be of ['reference', 'wasm']) {
  test(`setToNone: false keeps one zeroed buffer per parameter and gives the same gradients (${be})`, () => {
    setBackend(be);
    const a = mlp(1),
      b = mlp(1);
    const oa = new SGD(a.namedParameters(), { lr: 0.1 }),
      ob = new SGD(b.namedParameters(), { lr: 0.1 });
    oa.zeroGrad({ setToNone: false });
    assert.equal(a.parameters()[0].grad, null, 'a parameter without a gradient keeps none (as PyTorch)');
    let buffers: (Tensor | null)[] = [];
    for (let s = 0; s < 4; s++) {
      const { x, y } = batch(s);
      oa.zeroGrad({ setToNone: false });
      ob.zeroGrad();
      if (s >= 2) a.parameters().forEach((p, i) => assert.equal(p.grad, buffers[i], `step ${s}: parameter ${i} kept its buffer`));
      if (s >= 1)
        a.parameters().forEach((p) => {
          assert.ok(isGradBuffer(p.grad!));
          assert.ok(
            p.grad!.data.every((v) => v === 0),
            'zeroed',
          );
        });
      crossEntropy(a.forward(x), y).backward();
      crossEntropy(b.forward(x), y).backward();
      a.parameters().forEach((p, i) => assertClose(p.grad!.data, b.parameters()[i].grad!.data, 1e-6, `step ${s} gradient ${i}`));
      buffers = a.parameters().map((p) => p.grad);
      oa.step();
      ob.step();
    }
    a.parameters().forEach((p, i) => assertClose(p.data, b.parameters()[i].data, 1e-6, `parameter ${i} after 4 steps`));
  });

  test(`gradient buffers accumulate over backward passes; grad() leaves them alone (${be})`, () => {
    setBackend(be);
    const m = mlp(2);
    const opt = new SGD(m.namedParameters(), { lr: 0.1 });
    const { x, y } = batch(7);
    crossEntropy(m.forward(x), y).backward();
    const once = m.parameters().map((p) => Float32Array.from(p.grad!.data));
    opt.zeroGrad({ setToNone: false });
    crossEntropy(m.forward(x), y).backward();
    crossEntropy(m.forward(x), y).backward();
    m.parameters().forEach((p, i) =>
      assertClose(
        p.grad!.data,
        once[i].map((v) => 2 * v),
        1e-6,
        `twice the gradient of parameter ${i}`,
      ),
    );
    const before = m.parameters().map((p) => Float32Array.from(p.grad!.data));
    const gs = grad(crossEntropy(m.forward(x), y), m.parameters());
    m.parameters().forEach((p, i) => {
      assert.deepEqual(p.grad!.data, before[i], `grad() did not touch parameter ${i}'s buffer`);
      assertClose(gs[i]!.data, once[i], 1e-6, `grad() returned the gradient of parameter ${i}`);
    });
  });

  test(`a weight used twice (tied) accumulates both uses into its buffer (${be})`, () => {
    setBackend(be);
    const rng = new Rng(3);
    const lin = new Linear(128, 128, { rng });
    const opt = new SGD(lin.namedParameters(), { lr: 0.1 });
    const { x } = batch(9, 64, 128);
    const loss = () => sum(dense(dense(x, lin.weight, lin.bias, 'relu'), lin.weight, lin.bias));
    loss().backward();
    const want = grad(loss(), [lin.weight, lin.bias!]);
    opt.zeroGrad({ setToNone: false });
    loss().backward();
    assertClose(lin.weight.grad!.data, want[0]!.data, 1e-5, 'tied weight gradient');
    assertClose(lin.bias!.grad!.data, want[1]!.data, 1e-5, 'tied bias gradient');
  });
}

test('by default a gradient the user kept never changes (a new tensor per backward)', () => {
  setBackend('reference');
  const m = mlp(4);
  const { x, y } = batch(1);
  crossEntropy(m.forward(x), y).backward();
  const kept = m.parameters()[0].grad!;
  const copy = Float32Array.from(kept.data);
  crossEntropy(m.forward(x), y).backward();
  assert.notEqual(m.parameters()[0].grad, kept);
  assert.deepEqual(kept.data, copy);
});

test('on wasm, buffers in WebAssembly memory take the weight gradients without copies', () => {
  setBackend('wasm');
  setWasmThreads(2);
  const perStep = (setToNone: boolean) => {
    const m = mlp(5);
    const opt = new Adam(m.namedParameters(), { lr: 1e-3 });
    const { x, y } = batch(11);
    const run = () => {
      opt.zeroGrad({ setToNone });
      crossEntropy(m.forward(x), y).backward();
      opt.step();
    };
    run();
    run();
    const c0 = wasmInfo().copiedBytes;
    run();
    return { bytes: wasmInfo().copiedBytes - c0, params: m.parameters().map((p) => Float32Array.from(p.data)) };
  };
  const fresh = perStep(true),
    kept = perStep(false);
  fresh.params.forEach((p, i) => assertClose(kept.params[i], p, 1e-6, `parameter ${i} after 3 Adam steps`));
  // The first layer's weight gradient (128×300 floats) no longer goes out to JS and back into Adam.
  // The second layer's (10×128) is too small for wasm memory: its JS buffer is now copied in to be
  // accumulated onto, one copy more.
  const saved = fresh.bytes - kept.bytes,
    want = 2 * 128 * 300 * 4 - 10 * 128 * 4;
  assert.ok(saved >= want, `copies per step ${fresh.bytes} → ${kept.bytes} bytes: saved ${saved}, expected ≥ ${want}`);
});
