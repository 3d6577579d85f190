/** The SGD rule takes the wasm backend's fused kernel and agrees with its own JS loop. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm } from '../../src/backend/wasm/index.js';
import { setBackend, registerBackend, extensionsOf } from '../../src/backend/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { SGD, type SGDOptions } from '../../src/optim/index.js';
import { assertClose, floatSource } from '../helpers.js';

const wasm = await initWasm({ threads: 2 });
// the wasm backend, counting its fused calls (so the test fails if the rule stops using them)
let fusedCalls = 0;
const ext = extensionsOf('wasm');
registerBackend({ ...wasm, name: 'wasm-sgd-spy' }, { ...ext, sgdStep: (...a) => (fusedCalls++, ext.sgdStep!(...a)) });

function run(backendName: string, o: Partial<SGDOptions>): Float32Array[] {
  setBackend(backendName);
  const rnd = floatSource(11);
  const ps = [new Tensor(rnd(3001), [3001], true), new Tensor(rnd(70 * 33), [70, 33], true), new Tensor(rnd(7), [7], true)];
  ps.forEach((p, i) => (p.name = `p${i}`));
  const opt = new SGD(ps, o);
  for (let t = 0; t < 5; t++) {
    for (const p of ps) p.grad = new Tensor(rnd(p.size), p.shape);
    opt.step();
  }
  setBackend('reference');
  return ps.map((p) => p.data as Float32Array);
}

for (const [name, o] of [
  ['plain', { lr: 0.1 }],
  ['momentum + dampening + L2', { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 }],
  ['nesterov + maximize', { lr: 0.05, momentum: 0.9, nesterov: true, maximize: true }],
] as const) {
  test(`SGD ${name}: the fused wasm step equals the JS loop (float32 tolerance)`, () => {
    const want = run('reference', o);
    fusedCalls = 0;
    const got = run('wasm-sgd-spy', o);
    assert.equal(fusedCalls, 15, 'one fused call per parameter per step');
    got.forEach((g, i) => assertClose(g, want[i], 1e-5, `${name} parameter ${i}`));
  });
}

test("SGD lrInsideMomentum (Keras form) keeps its own loop: the fused kernel has PyTorch's form only", () => {
  const want = run('reference', { lr: 0.05, momentum: 0.9, lrInsideMomentum: true });
  fusedCalls = 0;
  const got = run('wasm-sgd-spy', { lr: 0.05, momentum: 0.9, lrInsideMomentum: true });
  assert.equal(fusedCalls, 0);
  got.forEach((g, i) => assertClose(g, want[i], 1e-6, `parameter ${i}`));
});
