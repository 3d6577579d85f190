/**
 * The wasm pooling kernels (asm/pool.ts) against the reference ones, on odd sizes, every stride and
 * padding the layers allow, ties, NaN and −∞, with threads off (1) and on (2). The kernels keep the
 * reference's arithmetic (f64 sums for averages, the same order of additions), so every value and
 * every arg-max index must be identical, not merely close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads } from '../../src/backend/wasm/index.js';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { SMALL_ELEMENTWISE } from '../../src/backend/wasm/context.js';
import { FMP_PARALLEL, POOL_PARALLEL, poolWork } from '../../src/backend/wasm/pooling.js';
import type { PoolGeometry } from '../../src/backend/backend.js';
import { setBackend, backend, extensionsOf } from '../../src/backend/backend.js';
import { maxPool2d, avgPool2d } from '../../src/autograd/conv.js';
import { FractionalMaxPool2d } from '../../src/nn/fmp.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';

const W = await initWasm({ threads: 2 });

let seed = 777;
function next(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}
function rnd(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => 2 * next() - 1);
}
/** Few distinct values (many ties), with some NaN and −∞ when `special`. */
function tied(n: number, special: boolean): Float32Array {
  return Float32Array.from({ length: n }, () => {
    const u = next();
    if (special && u < 0.03) return NaN;
    if (special && u < 0.08) return -Infinity;
    return Math.floor(next() * 3);
  });
}

function geo(
  n: number,
  c: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  ph: number,
  pw: number,
): PoolGeometry {
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1,
    ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
  return { n, c, h, w, kh, kw, oh, ow, strideH: sh, strideW: sw, padH: ph, padW: pw };
}

const GEOS: PoolGeometry[] = [
  geo(2, 3, 19, 23, 2, 2, 2, 2, 0, 0), // the 2×2 SIMD path with odd sizes (a scalar tail and an unused last row/column)
  geo(3, 4, 28, 28, 2, 2, 2, 2, 0, 0), // W2's first pool (its last vector of outputs overlaps the one before)
  geo(2, 8, 16, 17, 2, 2, 2, 2, 0, 0), // whole vectors only
  geo(4, 30, 7, 6, 2, 2, 2, 2, 0, 0), // rows shorter than a vector
  geo(2, 5, 17, 15, 3, 3, 2, 2, 1, 1),
  geo(2, 8, 13, 11, 3, 3, 1, 1, 1, 1), // overlapping windows: scatter adds several times into a cell
  geo(3, 7, 12, 9, 2, 2, 1, 1, 0, 0),
  geo(2, 4, 20, 17, 3, 3, 3, 3, 0, 0),
  geo(2, 6, 14, 13, 2, 3, 2, 1, 1, 1),
  geo(2, 6, 16, 11, 3, 2, 3, 2, 1, 0),
  geo(2, 3, 19, 21, 2, 2, 2, 2, 1, 1), // 2×2 stride 2 with padding: not the SIMD path
  geo(1, 2, 33, 35, 3, 2, 2, 3, 1, 1),
];
// big enough to be split over threads
const BIG: PoolGeometry[] = [geo(16, 16, 114, 116, 2, 2, 2, 2, 0, 0), geo(4, 32, 101, 101, 3, 3, 2, 2, 1, 1)];

function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${what}: element ${i} is ${got[i]}, the reference has ${want[i]}`);
  }
}

const tag = (g: PoolGeometry) => `${g.n}x${g.c}x${g.h}x${g.w} k${g.kh}x${g.kw} s${g.strideH},${g.strideW} p${g.padH},${g.padW}`;

test('the test geometries reach the wasm kernels, and the big ones the threaded path', () => {
  for (const g of [...GEOS, ...BIG]) assert.ok(g.n * g.c * g.h * g.w >= SMALL_ELEMENTWISE, tag(g));
  for (const g of BIG) assert.ok(poolWork(g) >= POOL_PARALLEL, tag(g));
  const g = BIG[0]; // scatterPlanes touches the input and output planes once
  assert.ok(g.n * g.c * (g.h * g.w + g.oh * g.ow) >= POOL_PARALLEL, `scatterPlanes ${tag(g)}`);
});

for (const threads of [1, 2]) {
  const th = `threads=${threads}`;

  test(`wasm max pooling equals the reference: values and arg-max indices, with ties, NaN and −∞ (${th})`, () => {
    setWasmThreads(threads);
    for (const g of [...GEOS, ...BIG])
      for (const kind of BIG.includes(g) ? (['ties+NaN'] as const) : (['random', 'ties', 'ties+NaN'] as const)) {
        const len = g.n * g.c * g.h * g.w,
          outLen = g.n * g.c * g.oh * g.ow;
        const x = kind === 'random' ? rnd(len) : tied(len, kind === 'ties+NaN');
        const y1 = new Float32Array(outLen).fill(7),
          y2 = new Float32Array(outLen);
        const i1 = new Int32Array(outLen).fill(-5),
          i2 = new Int32Array(outLen);
        W.maxPool2d(x, y1, i1, g);
        R.maxPool2d(x, y2, i2, g);
        assertSame(i1, i2, `maxPool2d indices ${tag(g)} ${kind}`);
        assertSame(y1, y2, `maxPool2d values ${tag(g)} ${kind}`);
        // and the values are the inputs at the indices
        for (let p = 0; p < outLen; p++) assert.ok(Object.is(x[Math.floor(p / (g.oh * g.ow)) * g.h * g.w + i1[p]], y1[p]));
      }
  });

  test(`wasm scatterPlanes (max pooling's backward) equals the reference, also with repeated indices (${th})`, () => {
    setWasmThreads(threads);
    for (const g of [...GEOS, ...BIG]) {
      const planes = g.n * g.c,
        inPlane = g.h * g.w,
        outPlane = g.oh * g.ow;
      const idx = new Int32Array(planes * outPlane);
      R.maxPool2d(tied(planes * inPlane, false), new Float32Array(idx.length), idx, g);
      const gy = rnd(idx.length);
      const gx1 = new Float32Array(planes * inPlane).fill(NaN),
        gx2 = new Float32Array(planes * inPlane);
      W.scatterPlanes(gy, idx, gx1, planes, inPlane, outPlane);
      R.scatterPlanes(gy, idx, gx2, planes, inPlane, outPlane);
      assertSame(gx1, gx2, `scatterPlanes ${tag(g)}`);
    }
    // arbitrary indices (fractional max pooling's are not window-shaped), including out-of-plane ones, which are skipped
    const planes = 6,
      inPlane = 700,
      outPlane = 450;
    const idx = Int32Array.from({ length: planes * outPlane }, (_, i) =>
      i % 97 === 0 ? (i % 2 ? -1 : inPlane) : Math.floor(next() * inPlane),
    );
    const gy = rnd(idx.length);
    const gx1 = new Float32Array(planes * inPlane).fill(NaN),
      gx2 = new Float32Array(planes * inPlane);
    W.scatterPlanes(gy, idx, gx1, planes, inPlane, outPlane);
    R.scatterPlanes(gy, idx, gx2, planes, inPlane, outPlane);
    assertSame(gx1, gx2, 'scatterPlanes with arbitrary indices');
    let sum = 0;
    for (let i = 0; i < idx.length; i++) if (idx[i] >= 0 && idx[i] < inPlane) sum += gy[i];
    assert.ok(Math.abs(gx1.reduce((a, b) => a + b, 0) - sum) < 1e-3, 'every in-plane gradient lands somewhere');
  });

  test(`wasm average pooling and its backward equal the reference, counting padding or not (${th})`, () => {
    setWasmThreads(threads);
    for (const g of [...GEOS, ...BIG])
      for (const inclPad of BIG.includes(g) ? [g.padH > 0] : [true, false]) {
        const x = rnd(g.n * g.c * g.h * g.w),
          gy = rnd(g.n * g.c * g.oh * g.ow);
        const y1 = new Float32Array(gy.length).fill(NaN),
          y2 = new Float32Array(gy.length);
        W.avgPool2d(x, y1, g, inclPad);
        R.avgPool2d(x, y2, g, inclPad);
        assertSame(y1, y2, `avgPool2d ${tag(g)} countIncludePad=${inclPad}`);
        const gx1 = new Float32Array(x.length).fill(NaN),
          gx2 = new Float32Array(x.length);
        W.avgPool2dBackward(gy, gx1, g, inclPad);
        R.avgPool2dBackward(gy, gx2, g, inclPad);
        assertSame(gx1, gx2, `avgPool2dBackward ${tag(g)} countIncludePad=${inclPad}`);
      }
  });
}

test('float64 pooling goes to the reference on the wasm backend (bit-identical)', () => {
  const g = GEOS[2];
  const x = Float64Array.from(rnd(g.n * g.c * g.h * g.w));
  const n = g.n * g.c * g.oh * g.ow;
  const y1 = new Float64Array(n),
    y2 = new Float64Array(n),
    i1 = new Int32Array(n),
    i2 = new Int32Array(n);
  W.maxPool2d(x, y1, i1, g);
  R.maxPool2d(x, y2, i2, g);
  assertSame(y1, y2, 'float64 max values');
  assertSame(i1, i2, 'float64 max indices');
});

test('pooling layers train the same on the wasm backend: maxPool2d, avgPool2d and fractional max pooling gradients', () => {
  setWasmThreads(2);
  const run = (name: string) => {
    setBackend(name);
    assert.equal(backend().name, name);
    seed = 99;
    const x = new Tensor(rnd(4 * 6 * 24 * 22), [4, 6, 24, 22]);
    x.requiresGrad = true;
    const fmp = new FractionalMaxPool2d({ rng: new Rng(3) });
    const y = maxPool2d(x, 2)
      .square()
      .sum()
      .add(
        avgPool2d(x, 3, { stride: 2, padding: 1 })
          .mul(avgPool2d(x, 3, { stride: 2, padding: 1 }))
          .sum(),
      )
      .add(
        fmp
          .forward(x, { training: true, rng: new Rng(5) })
          .square()
          .sum(),
      );
    y.backward();
    return [y.data[0], x.grad!.data] as const;
  };
  const [l1, g1] = run('wasm');
  const [l2, g2] = run('reference');
  assert.ok(Math.abs(l1 - l2) <= 1e-4 * Math.abs(l2), `loss ${l1} vs ${l2}`);
  assertSame(g1, g2, 'input gradient');
});

test("fractional max pooling's arg-max kernel picks the reference's cells: ties (ReLU's zeros), NaN, −∞ windows, 1 and 2 threads, planes split", () => {
  assert.equal(
    extensionsOf('wasm').fmpArgmax?.(new Float64Array(16), new Int32Array(9), 1, 1, 4, 4, new Int32Array(6), new Int32Array(6), 3, 3),
    false,
    'float64 stays on the JavaScript loop',
  );
  // [64, 16, 28, 28] has FMP_PARALLEL outputs and more, so two threads split its planes
  for (const [shape, threads] of [
    [[3, 5, 17, 23], 1],
    [[3, 5, 17, 23], 2],
    [[64, 16, 28, 28], 2],
  ] as const) {
    setWasmThreads(threads);
    const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
    seed = 4242;
    const values = rnd(n).map((v) => (v < 0 ? 0 : v)); // half the cells 0: tied windows
    values[7] = NaN;
    values[40] = NaN;
    values[41] = NaN;
    for (let i = 2 * 17 * 23; i < 3 * 17 * 23; i++) values[i] = -Infinity; // one whole plane of −∞
    const run = (name: string) => {
      setBackend(name);
      const x = new Tensor(values.slice(), [...shape]);
      x.requiresGrad = true;
      const y = new FractionalMaxPool2d({ rng: new Rng(3) }).forward(x, { training: true, rng: new Rng(11) });
      seed = 99;
      y.mul(new Tensor(rnd(y.size), y.shape))
        .sum()
        .backward();
      return { y: y.data, g: x.grad!.data };
    };
    try {
      const fast = run('wasm'),
        ref = run('reference');
      assertSame(fast.y, ref.y, `${shape} threads ${threads}: values`);
      assertSame(fast.g, ref.g, `${shape} threads ${threads}: the gradient reaches the same cells`);
    } finally {
      setBackend('reference');
    }
  }
  assert.ok(
    64 * 16 * 19 * 19 >= FMP_PARALLEL && 3 * 5 * 12 * 16 < FMP_PARALLEL,
    'the big case is split over the threads, the small ones not',
  );
});
