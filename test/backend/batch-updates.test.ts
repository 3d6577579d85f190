/**
 * batchUpdates: the optimizer's step over all parameters as one backend job (PyTorch's multi-tensor
 * "foreach" updates). On wasm the fused Adam/SGD updates of parameters that live in WebAssembly
 * memory are queued and run together, cut into parts of about the same size over the threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, wasmFloat32Array, wasmInfo, setWasmThreads } from '../../src/backend/wasm/index.js';
import { setBackend, registerBackend, extensionsOf } from '../../src/backend/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Adam, AdamW, SGD } from '../../src/optim/index.js';
import { floatSource } from '../helpers.js';

const wasm = await initWasm({ threads: 2 });
// the same kernels without batchUpdates: every fused update runs at once, one call per parameter
const ext = extensionsOf('wasm');
registerBackend({ ...wasm, name: 'wasm-unbatched' }, { ...ext, batchUpdates: undefined });

// sizes with two big parameters (each split over the threads), small ones and odd lengths (scalar tails)
const SIZES = [200_003, 257, 100_001, 129, 1_281, 10, 7];

/** Parameters (and gradients) in wasm memory, or plain arrays, filled from one seeded source. */
function params(inWasm: boolean, sizes = SIZES): Tensor[] {
  const rnd = floatSource(11);
  return sizes.map((n, i) => {
    const data = inWasm ? wasmFloat32Array(n) : new Float32Array(n);
    data.set(rnd(n));
    const p = new Tensor(data, [n], true);
    p.name = `p${i}`;
    return p;
  });
}

function train(backendName: string, ps: Tensor[], make: (ps: Tensor[]) => { step(): unknown }, steps = 4): Float32Array[] {
  setBackend(backendName);
  const rnd = floatSource(5);
  const opt = make(ps);
  for (let t = 0; t < steps; t++) {
    for (const p of ps) {
      const g = p.data.buffer instanceof SharedArrayBuffer ? wasmFloat32Array(p.size) : new Float32Array(p.size);
      g.set(rnd(p.size));
      p.grad = new Tensor(g, p.shape);
    }
    opt.step();
  }
  setBackend('reference');
  return ps.map((p) => p.data as Float32Array);
}

const RULES = [
  ['Adam', (ps: Tensor[]) => new Adam(ps, { lr: 1e-2 })],
  ['Adam amsgrad + L2 + maximize', (ps: Tensor[]) => new Adam(ps, { lr: 1e-2, amsgrad: true, weightDecay: 0.1, maximize: true })],
  [
    'AdamW, two groups',
    (ps: Tensor[]) =>
      new AdamW([{ params: ps.slice(0, 3) }, { params: ps.slice(3), lr: 3e-2, weightDecay: 0.2 }], { lr: 1e-2, weightDecay: 0.05 }),
  ],
  ['SGD momentum + Nesterov + L2', (ps: Tensor[]) => new SGD(ps, { lr: 1e-2, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ['SGD plain', (ps: Tensor[]) => new SGD(ps, { lr: 1e-2 })],
] as const;

for (const [name, make] of RULES) {
  test(`${name}: one batched job equals one fused call per parameter, bit for bit`, () => {
    const want = train('wasm-unbatched', params(true), make);
    setWasmThreads(2); // forgets a back-off from late workers, which would run the jobs uncounted
    const before = wasmInfo().threadedCalls;
    const got = train('wasm', params(true), make);
    const jobs = wasmInfo().threadedCalls - before;
    // each step is one threaded call for all seven parameters (unbatched: one per big parameter, 8 in all)
    assert.equal(jobs, 4, `${jobs} threaded calls in 4 batched steps`);
    got.forEach((g, i) => assert.deepEqual(g, want[i], `${name}: parameter ${i} (${SIZES[i]} values)`));
  });
}

test('batched: parameters in plain arrays are updated at once (copied in and out), and agree with the wasm ones', () => {
  const make = RULES[0][1];
  const inWasm = train('wasm', params(true), make);
  const plain = train('wasm', params(false), make);
  plain.forEach((g, i) => assert.deepEqual(g, inWasm[i], `parameter ${i}`));
});

test('batched: more parts than one job holds are run as several jobs', () => {
  const sizes = Array.from({ length: 45 }, (_, i) => 3_000 + 17 * i); // 45 parts, one per parameter
  const make = (ps: Tensor[]) => new Adam(ps, { lr: 1e-2 });
  const want = train('wasm-unbatched', params(true, sizes), make, 2);
  const got = train('wasm', params(true, sizes), make, 2);
  got.forEach((g, i) => assert.deepEqual(g, want[i], `parameter ${i}`));
});

test('batched: updates queued before an error in the step are still done', () => {
  setBackend('wasm');
  const n = 70_000;
  const p = new Tensor(wasmFloat32Array(n).fill(1), [n], true);
  const g = wasmFloat32Array(n).fill(0.5);
  const m = wasmFloat32Array(n),
    v = wasmFloat32Array(n);
  const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, maximize: false, step: 1 };
  assert.throws(
    () =>
      ext.batchUpdates!(() => {
        assert.equal(ext.adamStep!(p.data, g, m, v, null, h), true);
        assert.equal(p.data[0], 1, 'queued, not yet run');
        throw new Error('boom');
      }),
    /boom/,
  );
  // Adam's first step moves every parameter by lr against the gradient's sign
  assert.ok(Math.abs(p.data[0] - 0.9) < 1e-6 && Math.abs(p.data[n - 1] - 0.9) < 1e-6, `p = ${p.data[0]}, ${p.data[n - 1]}`);
  setBackend('reference');
});

test('batched on one thread: the same values', () => {
  const make = RULES[1][1];
  const want = train('wasm-unbatched', params(true), make);
  setWasmThreads(1);
  try {
    const got = train('wasm', params(true), make);
    got.forEach((g, i) => assert.deepEqual(g, want[i], `parameter ${i}`));
  } finally {
    setWasmThreads(2);
  }
});
