/**
 * The fused convolution layer (extensions convLayer / convLayerBackward, used by the `convLayer` op,
 * by conv2d with a bias and by the Conv2dReLU module) against the composition
 * it replaces, computed with the reference backend: conv2d, the bias per channel, ReLU; and in the
 * backward ReLU's mask, both convolution gradients and the bias sums. Threads 1 and 2, with and
 * without bias and ReLU, padded, strided and 1×1 geometries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';
import { setWinogradEnabled } from '../../src/backend/wasm/convolution.js';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { extensionsOf, type Conv2dGeometry } from '../../src/backend/backend.js';
import { poolGeometry } from '../../src/autograd/conv.js';
import {
  setBackend,
  Tensor,
  Conv2d,
  Conv2dReLU,
  fuse,
  ReLU,
  MaxPool2d,
  Flatten,
  Linear,
  Sequential,
  Rng,
  crossEntropy,
  convLayer,
  convPoolLayer,
  conv2d,
  conv2dGeometry,
  fromData,
  grad,
  type Conv2dArgs,
  sum,
  square,
} from '../../src/index.js';
import { assertClose, floatSource, gradCheck, randT } from '../helpers.js';

const W = { ...(await initWasm({ threads: 2 })), ...extensionsOf('wasm') };

let rnd = floatSource(4242);

/** The composition on the reference backend: [y, gx, gw, gb]. */
function composed(x: Float32Array, w: Float32Array, b: Float32Array | null, gy: Float32Array, g: Conv2dGeometry, relu: boolean) {
  const shape = [g.n, g.k, g.oh, g.ow];
  const y = new Float32Array(g.n * g.k * g.oh * g.ow);
  R.conv2d(x, w, y, g);
  if (b) R.binary('add', y, shape, b, [1, g.k, 1, 1], y, shape);
  if (relu) R.unary('relu', y, y);
  const gz = new Float32Array(y.length);
  if (relu) R.binary('reluGrad', gy, shape, y, shape, gz, shape);
  else gz.set(gy);
  const gx = new Float32Array(x.length),
    gw = new Float32Array(w.length),
    gb = new Float32Array(g.k);
  R.conv2dBackwardInput(gz, w, gx, g);
  R.conv2dBackwardWeight(x, gz, gw, g);
  R.sum(gz, shape, [0, 2, 3], gb);
  return { y, gx, gw, gb };
}

/**
 * Geometries of the fused layers' tests. The grouped and dilated 5×5 ones have a Winograd layer's
 * shape (stride 1, 8+ channels on both sides): they pass only if they take im2col instead.
 */
const cases: [string, number[], number[], Conv2dArgs][] = [
  ['W2 layer 1 (C=1, 5×5, padding 2)', [8, 1, 28, 28], [32, 1, 5, 5], { padding: 2 }],
  ['W2 layer 2 (32→64, 5×5, padding 2)', [6, 32, 14, 14], [64, 32, 5, 5], { padding: 2 }],
  ['odd sizes, stride 2, no padding', [3, 5, 11, 9], [7, 5, 3, 3], { stride: 2 }],
  ['1×1 (pointwise)', [4, 16, 9, 9], [24, 16, 1, 1], {}],
  ['5×5 in 2 groups, padding 2', [4, 16, 12, 12], [16, 8, 5, 5], { padding: 2, groups: 2 }],
  ['5×5 dilated 2, padding 4', [3, 8, 14, 13], [8, 8, 5, 5], { padding: 4, dilation: 2 }],
  ['depthwise 3×3, dilation 2×3, stride 2', [3, 6, 13, 14], [6, 1, 3, 3], { padding: [2, 3], dilation: [2, 3], stride: 2, groups: 6 }],
  ['1×1 (pointwise) in 4 groups', [4, 8, 7, 7], [12, 2, 1, 1], { groups: 4 }],
];

for (const threads of [1, 2]) {
  test(`fused conv layer and its backward equal conv2d + bias + ReLU on the reference (threads=${threads})`, () => {
    setWasmThreads(threads);
    for (const [name, xs, ws, opts] of cases) {
      const g = conv2dGeometry(xs, ws, opts);
      const nx = xs.reduce((a, b) => a * b),
        nw = ws.reduce((a, b) => a * b),
        ny = g.n * g.k * g.oh * g.ow;
      for (const withBias of [true, false])
        for (const relu of [true, false]) {
          const what = `${name} bias=${withBias} relu=${relu}`;
          const x = rnd(nx),
            w = rnd(nw, -0.3, 0.3),
            b = withBias ? rnd(g.k) : null,
            gy = rnd(ny);
          const want = composed(x, w, b, gy, g, relu);
          const tol = 3e-5 * Math.sqrt(g.c * g.kh * g.kw * g.n);
          const y = new Float32Array(ny).fill(NaN);
          assert.equal(W.convLayer!(x, w, b, y, g, relu), true, `${what}: the fused kernel ran`);
          assertClose(y, want.y, tol, `y ${what}`);
          if (relu) assert.ok(y.some((v) => v === 0) && y.some((v) => v > 0), `${what}: the ReLU clipped some outputs and kept others`);
          const gx = new Float32Array(nx).fill(NaN),
            gw = new Float32Array(nw).fill(NaN),
            gb = new Float32Array(g.k).fill(NaN);
          assert.equal(W.convLayerBackward!(gy, x, w, relu ? y : null, gx, gw, withBias ? gb : null, g, false), true);
          assertClose(gx, want.gx, tol, `gx ${what}`);
          assertClose(gw, want.gw, tol, `gw ${what}`);
          if (withBias) assertClose(gb, want.gb, tol, `gb ${what}`);
          // the data needs no gradient: only the weight's and the bias', and gy is left as it was
          const gyCopy = gy.slice();
          const gw2 = new Float32Array(nw).fill(NaN),
            gb2 = new Float32Array(g.k).fill(NaN);
          assert.equal(W.convLayerBackward!(gy, x, w, relu ? y : null, null, gw2, gb2, g, false), true);
          assertClose(gw2, want.gw, tol, `gw without gx ${what}`);
          assertClose(gb2, want.gb, tol, `gb without gx ${what}`);
          assert.deepEqual(gy, gyCopy, `${what}: the caller's gy is not masked in place`);
          // accumulating into a gradient buffer: gw3 = 0.5 + the weight gradient
          const gw3 = new Float32Array(nw).fill(0.5);
          assert.equal(W.convLayerBackward!(gy, x, w, relu ? y : null, null, gw3, null, g, true), true);
          assertClose(
            gw3,
            want.gw.map((v) => v + 0.5),
            tol,
            `gw accumulated ${what}`,
          );
          // only the input gradient
          const gx4 = new Float32Array(nx).fill(NaN);
          assert.equal(W.convLayerBackward!(gy, x, w, relu ? y : null, gx4, null, null, g, false), true);
          assertClose(gx4, want.gx, tol, `gx alone ${what}`);
        }
    }
  });
}

test('the fused conv layer really ran parts on the worker', () => {
  setWasmThreads(2);
  const g = conv2dGeometry([8, 32, 14, 14], [64, 32, 5, 5], { padding: 2 });
  const x = rnd(8 * 32 * 14 * 14),
    w = rnd(64 * 32 * 25),
    y = new Float32Array(8 * 64 * 14 * 14);
  const before = wasmInfo();
  for (let i = 0; i < 50 && wasmInfo().workerParts === before.workerParts; i++) W.convLayer!(x, w, null, y, g, true);
  assert.ok(wasmInfo().workerParts > before.workerParts, 'the worker ran no part');
});

test('convLayer: gradients in x, weight and bias match central differences, with and without ReLU (float64)', () => {
  setBackend('reference');
  for (const act of [null, 'relu'] as const) {
    const x = randT([2, 2, 5, 4], 3),
      w = randT([3, 2, 3, 2], 4),
      b = randT([3], 5);
    gradCheck((xx, ww, bb) => convLayer(xx, ww, bb, { padding: 1, stride: [2, 1] }, act), [x, w, b], 1e-6);
    gradCheck((xx, ww) => convLayer(xx, ww, null, { padding: 1 }, act), [x, w], 1e-6);
  }
});

test('conv2d with a bias keeps second derivatives (createGraph runs through the composition)', () => {
  setBackend('reference');
  const x = randT([1, 2, 4, 4], 6),
    w = randT([2, 2, 3, 3], 7),
    b = randT([2], 8);
  // d/dw of Σ (∂L/∂x)² where L = Σ conv2d(x, w, b)²: checked against central differences of the first gradient
  gradCheck(
    (ww) => {
      const y = conv2d(x, ww, b, { padding: 1 });
      const [gx] = grad(sum(square(y)), [x], { createGraph: true });
      return sum(square(gx!));
    },
    [w],
    1e-6,
  );
});

test('convLayer rejects a bias of the wrong size with one clear message', () => {
  setBackend('reference');
  const x = fromData(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]),
    w = fromData(new Float32Array(5 * 3 * 9), [5, 3, 3, 3]);
  assert.throws(() => convLayer(x, w, fromData(new Float32Array(4), [4]), {}, 'relu'), /conv2d: bias must be \[5\], got \[4\]/);
  assert.throws(() => new Conv2dReLU(new Conv2d(4, 5, 3)).forward(x), /Conv2d\(4→5, 3×3\): input has 3 channels, weight expects 4/);
  assert.throws(() => new Conv2d(4, 5, 3).forward(x), /Conv2d\(4→5, 3×3\): input has 3 channels, weight expects 4/);
});

for (const variant of ['plain', 'dilated and grouped'] as const)
  test(`fuse(Sequential(Conv2d, ReLU, MaxPool2d, …)) trains the same on wasm (fused kernels) and on the reference (composed): ${variant}`, () => {
    const odd = variant !== 'plain';
    const run = (name: string) => {
      setBackend(name);
      const rng = new Rng(9);
      const model = fuse(
        new Sequential(
          new Conv2d(1, 8, 5, { padding: odd ? 4 : 2, dilation: odd ? 2 : 1, rng }),
          new ReLU(),
          new MaxPool2d(2),
          new Conv2d(8, 16, 3, { padding: 1, groups: odd ? 4 : 1, rng }),
          new ReLU(),
          new MaxPool2d(2),
          new Flatten(),
          new Linear(16 * 7 * 7, 10, { rng }),
        ),
      );
      const x = new Tensor(rnd(16 * 28 * 28), [16, 1, 28, 28]);
      const y = Int32Array.from({ length: 16 }, (_, i) => (i * 3) % 10);
      const loss = crossEntropy(model.forward(x), y);
      loss.backward();
      rnd = floatSource(4242); // the same input for both runs
      return { loss: loss.item(), grads: model.parameters().map((p) => p.grad!.data) };
    };
    rnd = floatSource(4242);
    setWasmThreads(2);
    const fast = run('wasm');
    const ref = run('reference');
    assertClose(fast.loss, ref.loss, 1e-5, 'loss');
    fast.grads.forEach((g, i) => assertClose(g, ref.grads[i], 2e-5, `gradient of parameter ${i}`));
    assert.ok(fast.grads[0].some((v) => v !== 0) && fast.grads[1].some((v) => v !== 0), 'the first layer got weight and bias gradients');
  });

// ---------------------------------------------------------------- convolution layer + max pooling

const poolCases: [string, number[], number[], Conv2dArgs, [number, { stride?: number; padding?: number }]][] = [
  ['W2 layer 1 + 2×2 pool', [8, 1, 28, 28], [32, 1, 5, 5], { padding: 2 }, [2, {}]],
  ['W2 layer 2 + 2×2 pool', [6, 32, 14, 14], [64, 32, 5, 5], { padding: 2 }, [2, {}]],
  ['odd sizes, overlapping padded 3×3 windows (stride 2)', [3, 5, 11, 9], [7, 5, 3, 3], { padding: 1 }, [3, { stride: 2, padding: 1 }]],
  ['5×5 in 4 groups + 2×2 pool', [4, 16, 12, 12], [8, 4, 5, 5], { padding: 2, groups: 4 }, [2, {}]],
  ['5×5 dilated 2 + 2×2 pool', [3, 8, 14, 14], [8, 8, 5, 5], { padding: 4, dilation: 2 }, [2, {}]],
  [
    'depthwise 3×3 dilated 2 + 3×3 pool (stride 2)',
    [3, 5, 11, 9],
    [5, 1, 3, 3],
    { padding: 2, dilation: 2, groups: 5 },
    [3, { stride: 2, padding: 1 }],
  ],
];

for (const threads of [1, 2]) {
  test(`fused conv layer + max pooling equals conv2d + bias + ReLU + maxPool2d on the reference, and so does its backward (threads=${threads})`, () => {
    setWasmThreads(threads);
    for (const [name, xs, ws, opts, [pk, popts]] of poolCases) {
      const g = conv2dGeometry(xs, ws, opts);
      const yShape = [g.n, g.k, g.oh, g.ow];
      const pg = poolGeometry(yShape, pk, popts, 'maxPool2d');
      const nx = xs.reduce((a, b) => a * b),
        nw = ws.reduce((a, b) => a * b),
        ny = g.n * g.k * g.oh * g.ow,
        np = g.n * g.k * pg.oh * pg.ow;
      for (const withBias of [true, false])
        for (const relu of [true, false]) {
          const what = `${name} bias=${withBias} relu=${relu}`;
          const x = rnd(nx),
            w = rnd(nw, -0.3, 0.3),
            b = withBias ? rnd(g.k) : null,
            gp = rnd(np);
          // the reference composition: y, then pooled + idx; backward: scatter, mask, both gradients, bias sums
          const y = new Float32Array(ny);
          R.conv2d(x, w, y, g);
          if (b) R.binary('add', y, yShape, b, [1, g.k, 1, 1], y, yShape);
          if (relu) R.unary('relu', y, y);
          const wantP = new Float32Array(np),
            wantIdx = new Int32Array(np);
          R.maxPool2d(y, wantP, wantIdx, pg);
          const gy = new Float32Array(ny);
          R.scatterPlanes(gp, wantIdx, gy, g.n * g.k, g.oh * g.ow, pg.oh * pg.ow);
          const want = composed(x, w, null, gy, g, false); // gy already carries the pooling; mask below
          if (relu) {
            const gz = new Float32Array(ny);
            R.binary('reluGrad', gy, yShape, y, yShape, gz, yShape);
            Object.assign(want, composed(x, w, null, gz, g, false));
          }
          const tol = 3e-5 * Math.sqrt(g.c * g.kh * g.kw * g.n);
          const p = new Float32Array(np).fill(NaN),
            idx = new Int32Array(np).fill(-1);
          assert.equal(W.convPoolLayer!(x, w, b, p, idx, g, pg, relu), true, `${what}: the fused kernel ran`);
          assertClose(p, wantP, tol, `pooled ${what}`);
          assert.deepEqual(idx, wantIdx, `${what}: the arg-max offsets`);
          const gx = new Float32Array(nx).fill(NaN),
            gw = new Float32Array(nw).fill(NaN),
            gb = new Float32Array(g.k).fill(NaN);
          assert.equal(W.convPoolLayerBackward!(gp, p, idx, x, w, gx, gw, withBias ? gb : null, g, pg, relu, false), true);
          assertClose(gx, want.gx, tol, `gx ${what}`);
          assertClose(gw, want.gw, tol, `gw ${what}`);
          if (withBias) assertClose(gb, want.gb, tol, `gb ${what}`);
          const gw3 = new Float32Array(nw).fill(0.5);
          assert.equal(W.convPoolLayerBackward!(gp, p, idx, x, w, null, gw3, null, g, pg, relu, true), true);
          assertClose(
            gw3,
            want.gw.map((v) => v + 0.5),
            tol,
            `gw accumulated ${what}`,
          );
        }
    }
  });
}

test('convPoolLayer: gradients in x, weight and bias match central differences (float64, the composition)', () => {
  setBackend('reference');
  const x = randT([2, 2, 6, 5], 13),
    w = randT([3, 2, 3, 3], 14),
    b = randT([3], 15);
  gradCheck((xx, ww, bb) => convPoolLayer(xx, ww, bb, { padding: 1 }, 'relu', 2), [x, w, b], 1e-6);
  gradCheck((xx, ww) => convPoolLayer(xx, ww, null, {}, null, 3, { stride: 2, padding: 1 }), [x, w], 1e-6);
  const xg = randT([2, 4, 7, 6], 16),
    wg = randT([2, 2, 3, 3], 17);
  gradCheck((xx, ww, bb) => convPoolLayer(xx, ww, bb, { padding: 2, dilation: 2, groups: 2 }, 'relu', 2), [xg, wg, randT([2], 18)], 1e-6);
});

test('Sequential reports a pooling error against the MaxPool2d layer; fused, against the fused layer, naming the MaxPool2d part', () => {
  setWasmThreads(2);
  for (const name of ['wasm', 'reference']) {
    setBackend(name);
    const model = new Sequential(new Conv2d(1, 4, 3), new ReLU(), new MaxPool2d(4));
    const x = new Tensor(new Float32Array(2 * 1 * 5 * 5), [2, 1, 5, 5]); // conv output 3×3: too small for a 4×4 window
    assert.throws(
      () => model.forward(x),
      (e: Error) => /^layer 2 \(MaxPool2d\(4×4\)\): MaxPool2d\(4×4\): input height 3/.test(e.message),
      name,
    );
    assert.throws(
      () => fuse(model).forward(x),
      (e: Error) => /^layer 0 \(Conv2d\(1→4, 3×3\)\+ReLU\+MaxPool2d\(4×4\)\): MaxPool2d\(4×4\): input height 3/.test(e.message),
      name,
    );
  }
});

// ---------------------------------------------------------------- Winograd F(4×4, 3×3) and F(4×4, 5×5)

/** A layer's operands drawn for inputs xs and filters ws (with bias and an output gradient), and the composed reference's y, gx and gw. */
function layerCase(xs: number[], ws: number[], pad: number) {
  const g = conv2dGeometry(xs, ws, { padding: pad });
  const nx = xs.reduce((a, b) => a * b),
    nw = ws.reduce((a, b) => a * b),
    ny = g.n * g.k * g.oh * g.ow;
  const x = rnd(nx),
    w = rnd(nw, -0.3, 0.3),
    b = rnd(g.k),
    gy = rnd(ny);
  return { g, nx, nw, ny, x, w, b, gy, want: composed(x, w, b, gy, g, false) };
}

test('Winograd F(4×4, r×r), 3×3 and 5×5: the forward, the input gradient and the weight gradient equal the reference for paddings 0 to r, odd sizes and batches, on 1 and 2 threads', () => {
  for (const [threads, r, pad] of [1, 2].flatMap((t) => [3, 5].flatMap((r) => Array.from({ length: r + 1 }, (_, p) => [t, r, p])))) {
    setWasmThreads(threads);
    {
      // 5 images: not a multiple of the images per product
      const { g, nx, nw, ny, x, w, b, gy, want } = layerCase([5, 9, 11, 13], [10, 9, r, r], pad);
      const what = `${r}×${r}, padding ${pad}, threads ${threads}`;
      const tol = 3e-5 * Math.sqrt(g.c * r * r * g.n);
      const run = (on: boolean) => {
        setWinogradEnabled(on);
        const y = new Float32Array(ny).fill(NaN),
          y2 = new Float32Array(ny).fill(NaN),
          gx = new Float32Array(nx).fill(NaN);
        const gw = new Float32Array(nw).fill(NaN),
          gwAcc = new Float32Array(nw).fill(0.25);
        W.convLayer!(x, w, b, y, g, false);
        W.conv2d(x, w, y2, g);
        W.convLayerBackward!(gy, x, w, null, gx, gw, null, g, false);
        W.convLayerBackward!(gy, x, w, null, null, gwAcc, null, g, true);
        return { y, y2, gx, gw, gwAcc };
      };
      let fast, direct;
      try {
        fast = run(true);
        direct = run(false);
      } finally {
        setWinogradEnabled(true);
      }
      assertClose(fast.y, want.y, tol, `y ${what}`);
      const noBias = want.y.map((v, i) => v - b[Math.floor(i / (g.oh * g.ow)) % g.k]);
      assertClose(fast.y2, noBias, tol, `conv2d ${what}`);
      assertClose(fast.gx, want.gx, tol, `gx ${what}`);
      assertClose(fast.gw, want.gw, tol, `gw ${what}`);
      assertClose(
        fast.gwAcc,
        want.gw.map((v) => v + 0.25),
        tol,
        `gw accumulated ${what}`,
      );
      assert.ok(
        fast.gw.some((v, i) => v !== direct.gw[i]),
        `${what}: the weight gradient took the Winograd path`,
      );
      // the two paths round differently: Winograd really ran (for the input gradient only while r − 1 − p ≥ 0)
      assert.ok(
        fast.y.some((v, i) => v !== direct.y[i]),
        `${what}: the forward took the Winograd path`,
      );
      if (pad <= r - 1)
        assert.ok(
          fast.gx.some((v, i) => v !== direct.gx[i]),
          `${what}: the input gradient took the Winograd path`,
        );
      else assert.deepEqual(fast.gx, direct.gx, `${what}: no Winograd input gradient beyond padding r − 1`);
    }
  }
});

test('Winograd with deep layers: 130 and 260 channels (a last 4-wide panel of tiles; products deeper than one packed block) equal the reference both ways', () => {
  // [x shape, w shape, padding]: the forward's depth is C, the input gradient's K
  const cases: [number[], number[], number][] = [
    [[3, 130, 6, 6], [8, 130, 3, 3], 1], // 12 tiles: a last panel of 4 tiles, 130 deep
    [[3, 8, 6, 6], [130, 8, 3, 3], 1], // the input gradient 130 deep
    [[2, 260, 7, 7], [8, 260, 5, 5], 2], // deeper than KC = 256: V as rows of tiles
    [[9, 16, 5, 9], [12, 16, 3, 3], 1], // groups of 4 tiles across rows and panels
  ];
  for (const threads of [1, 2]) {
    setWasmThreads(threads);
    for (const [xs, ws, pad] of cases) {
      const { g, nx, nw, ny, x, w, b, gy, want } = layerCase(xs, ws, pad);
      const what = `x ${xs.join('×')}, w ${ws.join('×')}, threads ${threads}`;
      const tol = 3e-5 * Math.sqrt(Math.max(g.c, g.k) * g.kh * g.kw * g.n);
      const y = new Float32Array(ny).fill(NaN),
        gx = new Float32Array(nx).fill(NaN),
        gw = new Float32Array(nw).fill(NaN);
      W.convLayer!(x, w, b, y, g, false);
      W.convLayerBackward!(gy, x, w, null, gx, gw, null, g, false);
      assertClose(y, want.y, tol, `y ${what}`);
      assertClose(gx, want.gx, tol, `gx ${what}`);
      assertClose(gw, want.gw, tol, `gw ${what}`);
    }
  }
});
