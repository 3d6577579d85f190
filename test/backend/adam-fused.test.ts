/** The Adam/AdamW rules take the wasm backend's fused kernel and agree with their own JS loop. */
import { test } from 'node:test';
import { initWasm, wasmFloat32Array } from '../../src/backend/wasm/index.js';
import { setBackend, registerBackend, extensionsOf } from '../../src/backend/backend.js';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Adam, AdamW } from '../../src/optim/index.js';
import { assertClose, floatSource } from '../helpers.js';

const wasm = await initWasm({ threads: 2 });
// the wasm backend, counting its fused calls (so the test fails if the rule stops using them)
let fusedCalls = 0;
const ext = extensionsOf('wasm');
registerBackend({ ...wasm, name: 'wasm-spy' }, { ...ext, adamStep: (...a) => (fusedCalls++, ext.adamStep!(...a)) });

function run(backendName: string, make: (ps: Tensor[]) => { step(): unknown }): Float32Array[] {
  setBackend(backendName);
  const rnd = floatSource(7);
  const ps = [new Tensor(rnd(3001), [3001], true), new Tensor(rnd(70 * 33), [70, 33], true)];
  const opt = make(ps);
  for (let t = 0; t < 5; t++) {
    for (const p of ps) p.grad = new Tensor(rnd(p.size), p.shape);
    opt.step();
  }
  setBackend('reference');
  return ps.map((p) => p.data as Float32Array);
}

for (const [name, make] of [
  ['Adam', (ps: Tensor[]) => new Adam(ps, { lr: 1e-2 })],
  ['Adam amsgrad + L2 + maximize', (ps: Tensor[]) => new Adam(ps, { lr: 1e-2, amsgrad: true, weightDecay: 0.1, maximize: true })],
  ['AdamW', (ps: Tensor[]) => new AdamW(ps, { lr: 1e-2, weightDecay: 0.05 })],
] as const) {
  test(`${name}: the fused wasm step equals the JS loop (float32 tolerance)`, () => {
    const want = run('reference', make);
    fusedCalls = 0;
    const got = run('wasm-spy', make);
    assert.equal(fusedCalls, 10, 'one fused call per parameter per step');
    got.forEach((g, i) => assertClose(g, want[i], 1e-5, `${name} parameter ${i}`));
  });
}

test('Adam state lives in WebAssembly memory, and a parameter there gives the same result as a plain one', () => {
  const n = 5001;
  const mk = (inWasm: boolean) => {
    const data = inWasm ? wasmFloat32Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i);
    const p = new Tensor(data, [n], true);
    p.name = 'p';
    p.grad = new Tensor(
      Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.7)),
      [n],
    );
    return p;
  };
  setBackend('wasm');
  const [a, b] = [mk(true), mk(false)];
  const oa = new Adam([a], { lr: 0.01 }),
    ob = new Adam([b], { lr: 0.01 });
  for (let t = 0; t < 3; t++) {
    oa.step();
    ob.step();
  }
  const state = oa.state.get('p')!;
  assert.ok(
    (state.expAvg as Float32Array).buffer === a.data.buffer || (state.expAvg as Float32Array).buffer instanceof SharedArrayBuffer,
    'state lives in wasm memory',
  );
  assert.ok((ob.state.get('p')!.expAvg as Float32Array).buffer instanceof SharedArrayBuffer, 'big float32 state lives in wasm memory');
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  setBackend('reference');
});
