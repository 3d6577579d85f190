/**
 * The wasm backend's permute extension (asm/layout.ts) against the definition out[o] = x[Σ iₖ·
 * stride(perm[k])]: every permutation of ranks 2–5 with odd sizes, size-1 and mergeable axes,
 * contiguous and strided runs, attention's heads split and merge; through the permute op with
 * gradients against the reference backend, the counter in wasmInfo() saying the kernel ran; float64
 * and small tensors declined. The kernel runs on the calling thread: threads 1 and 2 give the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';
import { extensionsOf, permute, setBackend, sum, mul, Tensor } from '../../src/index.js';
import { stridesOf, sizeOf } from '../../src/tensor/shape.js';
import { floatSource } from '../helpers.js';

await initWasm({ threads: 2 });
setBackend('wasm');
const perm = extensionsOf('wasm').permute!;
const rnd = floatSource(777);

/** Every ordering of [0, n). */
function orders(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of orders(n - 1)) for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), n - 1, ...p.slice(i)]);
  return out;
}

/** The definition, one index at a time. */
function naive(x: Float32Array, shape: number[], p: number[]): Float32Array {
  const st = stridesOf(shape);
  const outShape = p.map((a) => shape[a]);
  const out = new Float32Array(x.length);
  const idx = new Array<number>(p.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let at = 0;
    for (let k = 0; k < p.length; k++) at += idx[k] * st[p[k]];
    out[o] = x[at];
    for (let k = p.length - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

const SHAPES = [
  [67, 43],
  [2048, 3],
  [5, 3, 2, 7, 11],
  [9, 1, 13, 21],
  [3, 31, 1, 29, 1],
  [17, 5, 33],
];

for (const threads of [1, 2]) {
  test(`wasm permute equals the definition for every permutation, odd sizes, size-1 and merged axes (${threads} thread(s))`, () => {
    setWasmThreads(threads);
    for (const shape of SHAPES)
      for (const p of orders(shape.length)) {
        const x = rnd(sizeOf(shape));
        const out = new Float32Array(x.length).fill(Number.NaN);
        const what = `${JSON.stringify(shape)} by ${JSON.stringify(p)}`;
        assert.equal(perm(x, shape, p, out), true, `${what}: declined`);
        assert.deepEqual(out, naive(x, shape, p), what);
      }
    // W6's attention: the packed q, k, v split into heads, and the heads merged
    for (const [shape, p] of [
      [
        [128, 28, 3, 4, 16],
        [2, 0, 3, 1, 4],
      ],
      [
        [3, 128, 4, 28, 16],
        [1, 3, 0, 2, 4],
      ],
      [
        [128, 4, 28, 16],
        [0, 2, 1, 3],
      ],
    ]) {
      const x = rnd(sizeOf(shape));
      const out = new Float32Array(x.length).fill(Number.NaN);
      assert.equal(perm(x, shape, p, out), true);
      assert.deepEqual(out, naive(x, shape, p), `${JSON.stringify(shape)} by ${JSON.stringify(p)}`);
    }
  });
}
setWasmThreads(2);

test('wasm permute declines float64 and tensors below the size gate, writing nothing', () => {
  const x64 = new Float64Array(4096).fill(1),
    o64 = new Float64Array(4096);
  assert.equal(perm(x64, [64, 64], [1, 0], o64), false);
  assert.ok(o64.every((v) => v === 0));
  const x = rnd(12),
    o = new Float32Array(12);
  assert.equal(perm(x, [3, 4], [1, 0], o), false);
  assert.ok(o.every((v) => v === 0));
});

test("the permute op runs the kernel on wasm (attention's heads split and merge), values and gradients as on the reference", () => {
  const shape = [8, 9, 3, 4, 5];
  const x0 = rnd(sizeOf(shape)),
    w0 = rnd(sizeOf(shape));
  const run = () => {
    const x = new Tensor(new Float32Array(x0), shape);
    x.requiresGrad = true;
    const y = permute(x, [2, 0, 3, 1, 4]);
    // merged back and weighted, so the gradient is a permuted w (every element distinct)
    const z = permute(y, [1, 3, 0, 2, 4]);
    sum(mul(z, new Tensor(new Float32Array(w0), shape))).backward();
    return [y.data, z.data, x.grad!.data];
  };
  const before = wasmInfo().permutes;
  const got = run();
  // forward 2, backward 2
  assert.equal(wasmInfo().permutes - before, 4, 'permute kernel calls');
  assert.deepEqual(got[1], x0, 'a permute and its inverse give x back');
  assert.deepEqual(got[2], w0, 'the gradient of Σ w·x through both permutes is w');
  setBackend('reference');
  try {
    const want = run();
    for (let i = 0; i < 3; i++) assert.deepEqual(got[i], want[i], ['y', 'z', 'gx'][i]);
  } finally {
    setBackend('wasm');
  }
});
