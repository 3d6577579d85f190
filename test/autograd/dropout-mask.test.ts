/**
 * Dropout masks drawn by the wasm backend's dropoutMask extension (asm/random.ts) against the
 * JavaScript draw they replace (one Rng.nextU32() per element, kept when ≥ p·2³²): the same mask
 * bit for bit and the generator at the same position afterwards, for odd lengths and p = 0, 0.1,
 * 0.5, 1, on one thread and on two (a mask of 2¹⁷ draws or more is drawn in parts on the threads,
 * each from the state xoshiroJump gives for its first draw, which is checked against stepping the
 * generator); a float64 mask and a short one are declined and drawn in JavaScript. applyDropout (the
 * dropout extension: mask and product in one call) against x · mask as ops on the reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';
import { xoshiroJump } from '../../src/tensor/rng-jump.js';
import { Dropout, extensionsOf, fromData, mul, Rng, setBackend, Tensor } from '../../src/index.js';
import { applyDropout, fillDropMask } from '../../src/autograd/dropout-mask.js';
import { SMALL_ELEMENTWISE } from '../../src/backend/wasm/context.js';

await initWasm({ threads: 2 });
const drawWasm = extensionsOf('wasm').dropoutMask!;

/** The mask by its definition, from a copy of the generator. */
function jsMask(n: number, p: number, rng: Rng): Float32Array {
  const m = new Float32Array(n);
  const keep = p < 1 ? 1 / (1 - p) : 0;
  for (let i = 0; i < n; i++) m[i] = rng.nextU32() >= p * 4294967296 ? keep : 0;
  return m;
}

test('xoshiroJump gives the state k draws ahead, as stepping the generator k times does', () => {
  for (const seed of [0, 1, 123456789])
    for (const k of [0, 1, 2, 31, 32, 33, 1000, 65_536, 131_071, 300_007]) {
      const r = new Rng(seed);
      const jumped = xoshiroJump(r.getState().words, k);
      for (let i = 0; i < k; i++) r.nextU32();
      assert.deepEqual(
        [...jumped],
        r.getState().words.map((w) => w | 0),
        `seed ${seed}, ${k} draws`,
      );
    }
  assert.throws(() => xoshiroJump([1, 2, 3, 4], -1), /xoshiroJump: expected a non-negative integer/);
});

for (const threads of [1, 2])
  test(`the wasm dropout mask is the JavaScript one bit for bit, and the generator continues from the same position (${threads} thread(s))`, () => {
    setWasmThreads(threads);
    const calls = wasmInfo().threadedCalls;
    try {
      maskCases();
    } finally {
      setWasmThreads(2);
    }
    if (threads === 2) assert.ok(wasmInfo().threadedCalls > calls, 'the long masks were drawn on the threads');
  });

function maskCases(): void {
  for (const n of [SMALL_ELEMENTWISE, 4099, 100_003, 131_072, 300_007])
    for (const p of [0, 0.1, 0.5, 1]) {
      const seed = 17 + n;
      const want = jsMask(n, p, new Rng(seed));
      const after = new Rng(seed);
      for (let i = 0; i < n; i++) after.nextU32();

      const rng = new Rng(seed);
      const words = Int32Array.from(rng.getState().words);
      const got = new Float32Array(n).fill(Number.NaN);
      assert.equal(drawWasm(got, p * 4294967296, p < 1 ? 1 / (1 - p) : 0, words), true, `n ${n} p ${p}: declined`);
      assert.deepEqual(got, want, `n ${n} p ${p}: mask`);
      assert.deepEqual([...words], after.getState().words, `n ${n} p ${p}: words after`);

      // through fillDropMask on the wasm backend, then the next draws of the generator
      setBackend('wasm');
      const viaHelper = new Float32Array(n);
      const r2 = new Rng(seed);
      fillDropMask(viaHelper, p, r2);
      assert.deepEqual(viaHelper, want, `n ${n} p ${p}: fillDropMask`);
      assert.equal(r2.nextU32(), after.nextU32(), `n ${n} p ${p}: next draw`);
    }
  const kept = jsMask(100_000, 0.1, new Rng(3)).filter((v) => v !== 0).length;
  assert.ok(Math.abs(kept / 100_000 - 0.9) < 0.01, `kept share ${kept / 100_000}`);
}

test('a float64 or short mask is declined by the wasm kernel and drawn in JavaScript, the same on both backends', () => {
  const w = Int32Array.from(new Rng(5).getState().words);
  assert.equal(drawWasm(new Float64Array(SMALL_ELEMENTWISE * 2), 0.5 * 4294967296, 2, w), false);
  assert.equal(drawWasm(new Float32Array(SMALL_ELEMENTWISE - 1), 0.5 * 4294967296, 2, w), false);
  assert.deepEqual(w, Int32Array.from(new Rng(5).getState().words), 'words untouched when declined');
  const masks = ['wasm', 'reference'].map((b) => {
    setBackend(b);
    const m = new Float64Array(5000);
    fillDropMask(m, 0.3, new Rng(9));
    return m;
  });
  setBackend('wasm');
  assert.deepEqual(masks[0], masks[1]);
});

test('Rng.restore moves a generator to a position getState took, keeping its seed; a malformed state is refused', () => {
  const a = new Rng(42);
  for (let i = 0; i < 10; i++) a.nextU32();
  const st = a.getState();
  const b = new Rng(42);
  b.restore(st);
  assert.equal(b.nextU32(), a.nextU32());
  assert.equal(b.seed, 42);
  assert.throws(
    () => b.restore({ seed: 42, words: [1, 2, 3] as unknown as [number, number, number, number], spare: null }),
    /Rng\.restore: expected/,
  );
});

for (const shape of [
  [37, 113], // 4,181 elements: past the kernels' threshold, not a multiple of 4
  [128, 28, 77], // 275,968: drawn in parts on the threads
])
  test(`applyDropout on wasm: one dropout op (mask and product in one call) equal bit for bit to x · mask and its gradient g · mask, [${shape}]`, () => {
    const n = shape.reduce((a, b) => a * b, 1);
    const xs = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
    xs[5] = Number.NaN;
    xs[6] = Number.POSITIVE_INFINITY;
    const gs = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
    const run = (backend: string) => {
      setBackend(backend);
      const x = new Tensor(new Float32Array(xs), shape);
      x.requiresGrad = true;
      const rng = new Rng(31);
      const y = applyDropout(x, 0.25, rng);
      y.backward(new Tensor(new Float32Array(gs), shape));
      return { op: y.node?.op, y: y.data, g: x.grad!.data, next: rng.nextU32() };
    };
    try {
      const fused = run('wasm');
      const composed = run('reference');
      assert.equal(fused.op, 'dropout', 'the fused op on wasm');
      assert.equal(composed.op, 'mul', 'ops on the reference');
      assert.deepEqual(fused.y, composed.y, 'outputs');
      assert.deepEqual(fused.g, composed.g, 'gradients');
      assert.equal(fused.next, composed.next, 'the generator after the draws');
      // the definition: the mask fillDropMask draws, times x
      const mask = jsMask(n, 0.25, new Rng(31));
      assert.deepEqual(fused.y, mul(fromData(xs, shape), fromData(mask, shape)).data);
      // Dropout's forward draws what Dropout.mask draws
      setBackend('wasm');
      const d = new Dropout(0.25);
      const viaModule = d.forward(fromData(xs, shape), { training: true, rng: new Rng(31) });
      assert.deepEqual(viaModule.data, fused.y);
      assert.deepEqual(d.mask(n, new Rng(31)), mask);
    } finally {
      setBackend('wasm');
    }
  });
