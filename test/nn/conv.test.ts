import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import * as rc from '../../src/backend/reference-conv.js';
import { initWasm, setWasmThreads } from '../../src/backend/wasm/index.js';
import { gradCheck, randT, assertClose } from '../helpers.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/conv/${name}`, import.meta.url), 'utf8'));
type Entry = { shape: number[]; data: number[]; grad: number[] };
type ConvCase = {
  name: string;
  params: { stride: [number, number]; padding: [number, number]; dilation?: [number, number]; groups?: number };
  x: Entry;
  w: Entry;
  b: Entry;
  y: number[];
  yShape: number[];
  gy: number[];
};
const convCases = (name: string): ConvCase[] => fixture(name).cases;
const leaf = (e: { shape: number[]; data: number[] }, dtype: 'float32' | 'float64' = 'float64') =>
  d.fromData(dtype === 'float32' ? Float32Array.from(e.data) : Float64Array.from(e.data), e.shape, { requiresGrad: true });

/** conv2d (with its bias) on one golden case in `dtype`, then the backward of sum(y·gy): its values and the three gradients checked to `tol`. */
function checkGolden(c: ConvCase, dtype: 'float32' | 'float64', tol: number, what: string): void {
  const x = leaf(c.x, dtype),
    w = leaf(c.w, dtype),
    b = leaf(c.b, dtype);
  const y = d.conv2d(x, w, b, c.params);
  assert.deepEqual(y.shape, c.yShape, `${what} ${c.name}`);
  assertClose(y.data, c.y, tol, `${what} ${c.name} y`);
  const gy = dtype === 'float32' ? Float32Array.from(c.gy) : Float64Array.from(c.gy);
  d.backward(y, { gradient: d.fromData(gy, c.yShape) });
  assertClose(x.grad!.data, c.x.grad, tol, `${what} ${c.name} dx`);
  assertClose(w.grad!.data, c.w.grad, tol, `${what} ${c.name} dw`);
  assertClose(b.grad!.data, c.b.grad, tol, `${what} ${c.name} db`);
}

test('conv2d equals PyTorch F.conv2d: values and gradients of x, w, b (fixtures from tools/golden_conv.py)', () => {
  const cases = convCases('conv.json');
  assert.ok(cases.length >= 4);
  for (const c of cases) checkGolden(c, 'float64', 1e-12, 'reference');
});

test('conv2d with dilation and groups (depthwise included) equals PyTorch F.conv2d: values and gradients of x, w, b', () => {
  const cases = convCases('conv-dilation-groups.json');
  assert.ok(cases.some((c) => c.params.dilation!.some((v) => v > 1)) && cases.some((c) => c.params.groups === c.x.shape[1]));
  for (const c of cases) {
    assert.deepEqual(c.w.shape[1] * c.params.groups!, c.x.shape[1], 'the weight is [K, C/groups, kh, kw]');
    checkGolden(c, 'float64', 1e-12, 'reference');
  }
});

test('the wasm backend equals PyTorch on every golden convolution, threads 1 and 2 (float32)', async () => {
  await initWasm({ threads: 2 });
  try {
    d.setBackend('wasm');
    for (const threads of [1, 2]) {
      setWasmThreads(threads);
      for (const c of [...convCases('conv.json'), ...convCases('conv-dilation-groups.json')])
        checkGolden(c, 'float32', 2e-5, `wasm threads=${threads}`);
    }
  } finally {
    d.setBackend('reference');
  }
});

test('conv2d: gradients match central differences (stride, padding, non-square kernels)', () => {
  gradCheck((x, w, b) => d.conv2d(x, w, b), [randT([2, 2, 5, 4], 1), randT([3, 2, 3, 2], 2), randT([3], 3)]);
  gradCheck((x, w) => d.conv2d(x, w, null, { stride: 2, padding: 1 }), [randT([1, 2, 6, 5], 4), randT([2, 2, 3, 3], 5)]);
  gradCheck((x, w) => d.conv2d(x, w, null, { stride: [1, 3], padding: [2, 0] }), [randT([2, 1, 4, 7], 6), randT([2, 1, 2, 3], 7)]);
});

test('conv2d: gradients match central differences with dilation and groups', () => {
  gradCheck(
    (x, w, b) => d.conv2d(x, w, b, { dilation: [2, 3], padding: [1, 2] }),
    [randT([2, 2, 7, 8], 12), randT([3, 2, 3, 2], 13), randT([3], 14)],
  );
  gradCheck((x, w) => d.conv2d(x, w, null, { groups: 2, stride: 2, padding: 1 }), [randT([1, 4, 6, 5], 15), randT([6, 2, 3, 3], 16)]);
  gradCheck((x, w) => d.conv2d(x, w, null, { groups: 3, dilation: 2, padding: 2 }), [randT([2, 3, 6, 6], 17), randT([3, 1, 3, 3], 18)]);
});

test('conv2d: gradient of the gradient (its backward ops are differentiable)', () => {
  // f(x, w) = Σ (∂/∂x Σ conv(x, w)·u)² is a function of w through the input-gradient op, and of x
  // through the weight-gradient op below.
  const u = randT([2, 3, 3, 3], 9);
  u.requiresGrad = false;
  gradCheck(
    (x, w) => {
      const y = d.mul(d.conv2d(x, w, null, { padding: 1, stride: 2 }), u);
      const [gx, gw] = d.grad(d.sum(y), [x, w], { createGraph: true });
      return d.add(d.sum(d.square(gx!)), d.sum(d.mul(gw!, gw!)));
    },
    [randT([2, 2, 5, 6], 10), randT([3, 2, 3, 3], 11)],
    1e-5,
  );
  // the same with groups and dilation: the gradient ops carry the geometry
  const u2 = randT([2, 4, 3, 3], 19);
  u2.requiresGrad = false;
  gradCheck(
    (x, w) => {
      const y = d.mul(d.conv2d(x, w, null, { padding: 2, dilation: 2, groups: 2 }), u2);
      const [gx, gw] = d.grad(d.sum(y), [x, w], { createGraph: true });
      return d.add(d.sum(d.square(gx!)), d.sum(d.mul(gw!, gw!)));
    },
    [randT([2, 2, 3, 3], 20), randT([4, 1, 3, 3], 21)],
    1e-5,
  );
});

test('conv2d: float32 agrees with float64 and Conv2d uses PyTorch layout and default init bounds', () => {
  const m = new d.Conv2d(3, 8, 5, { padding: 2, rng: new d.Rng(1) });
  assert.deepEqual(m.weight.shape, [8, 3, 5, 5]);
  assert.deepEqual(m.bias!.shape, [8]);
  const bound = 1 / Math.sqrt(3 * 25);
  for (const v of [...m.weight.data, ...m.bias!.data]) assert.ok(Math.abs(v) <= bound);
  assert.ok(Math.max(...m.weight.data) > 0.9 * bound, 'weights fill the init interval');
  const x = d.rand([2, 3, 9, 9], new d.Rng(2));
  const y = m.forward(x);
  assert.deepEqual(y.shape, [2, 8, 9, 9]);
  const y64 = d.conv2d(
    d.fromData(Float64Array.from(x.data), x.shape),
    d.fromData(Float64Array.from(m.weight.data), m.weight.shape),
    d.fromData(Float64Array.from(m.bias!.data), [8]),
    { padding: 2 },
  );
  assertClose(y.data, y64.data, 1e-5, 'float32 vs float64');
});

test('conv2d: the unfolded (im2col) reference kernels and the active backend equal the direct loops', () => {
  const rng = new d.Rng(30);
  for (let trial = 0; trial < 24; trial++) {
    const kh = 1 + rng.int(4),
      kw = 1 + rng.int(4);
    // the first 12 trials without dilation and groups, then with them
    const dilation: [number, number] = trial < 12 ? [1, 1] : [1 + rng.int(3), 1 + rng.int(3)];
    const groups = trial < 12 ? 1 : 1 + rng.int(3);
    const xShape = [
      1 + rng.int(3),
      groups * (1 + rng.int(3)),
      dilation[0] * (kh - 1) + 1 + rng.int(6),
      dilation[1] * (kw - 1) + 1 + rng.int(6),
    ];
    const wShape = [groups * (1 + rng.int(3)), xShape[1] / groups, kh, kw];
    const opts = {
      stride: [1 + rng.int(3), 1 + rng.int(3)] as [number, number],
      padding: [rng.int(3), rng.int(3)] as [number, number],
      dilation,
      groups,
    };
    const g = d.conv2dGeometry(xShape, wShape, opts);
    const x = randT(xShape, 31 + trial),
      w = randT(wShape, 60 + trial),
      gy = randT([g.n, g.k, g.oh, g.ow], 90 + trial);
    const pairs: [typeof rc.conv2d, typeof rc.conv2d, Float64Array, Float64Array, number][] = [
      [rc.conv2d, rc.conv2dDirect, x.data as Float64Array, w.data as Float64Array, g.n * g.k * g.oh * g.ow],
      [rc.conv2dBackwardInput, rc.conv2dBackwardInputDirect, gy.data as Float64Array, w.data as Float64Array, x.size],
      [rc.conv2dBackwardWeight, rc.conv2dBackwardWeightDirect, x.data as Float64Array, gy.data as Float64Array, w.size],
    ];
    for (const [fast, direct, a, b, size] of pairs) {
      const o1 = new Float64Array(size).fill(7),
        o2 = new Float64Array(size);
      fast(a, b, o1, g);
      direct(a, b, o2, g);
      assertClose(o1, o2, 1e-12, `${fast.name} ${JSON.stringify({ xShape, wShape, opts })}`);
    }
    assertClose(
      d.conv2d(x, w, null, opts).data,
      (() => {
        const o = new Float64Array(g.n * g.k * g.oh * g.ow);
        rc.conv2dDirect(x.data, w.data, o, g);
        return o;
      })(),
      1e-12,
    );
  }
});

test('conv2d: clear errors for channel mismatch, too-small input and bad hyper-parameters', () => {
  const m = new d.Conv2d(3, 4, 5, { rng: new d.Rng(0) });
  assert.throws(() => m.forward(d.zeros([1, 2, 8, 8])), /Conv2d\(3→4, 5×5\): input has 2 channels, weight expects 3/);
  assert.throws(() => m.forward(d.zeros([1, 3, 4, 8])), /input height 4 \(padding 0\) is smaller than the kernel 5/);
  assert.throws(() => m.forward(d.zeros([3, 8, 8])), /expected input \[N, C, H, W\], got \[3, 8, 8\]/);
  assert.throws(() => new d.Conv2d(3, 4, 3, { stride: 0 }), /stride: expected an integer ≥ 1/);
  assert.throws(() => new d.Conv2d(0, 4, 3), /inChannels must be a positive integer, got 0/);
});

test("Conv2d: dilation and groups give PyTorch's weight shape, init bounds and output size; clear errors", () => {
  const m = new d.Conv2d(4, 6, 3, { groups: 2, dilation: [2, 1], padding: 1, rng: new d.Rng(3) });
  assert.deepEqual(m.weight.shape, [6, 2, 3, 3], 'weight [out, in/groups, kh, kw]');
  const bound = 1 / Math.sqrt(2 * 9); // fanIn = in/groups·kh·kw
  for (const v of [...m.weight.data, ...m.bias!.data]) assert.ok(Math.abs(v) <= bound);
  assert.ok(Math.max(...m.weight.data.map(Math.abs)) > 1 / Math.sqrt(4 * 9), 'wider than a fanIn without groups would allow');
  // floor((H + 2p − d·(k − 1) − 1)/s) + 1: height (9 + 2 − 4 − 1) + 1 = 7, width (9 + 2 − 2 − 1) + 1 = 9
  assert.deepEqual(m.forward(d.rand([2, 4, 9, 9], new d.Rng(4))).shape, [2, 6, 7, 9]);
  assert.equal(m.describe(), 'Conv2d(4→6, 3×3, padding 1×1, dilation 2×1, groups 2)');
  const dw = new d.Conv2d(5, 5, 3, { groups: 5, rng: new d.Rng(5) });
  assert.deepEqual(dw.weight.shape, [5, 1, 3, 3], 'depthwise');

  assert.throws(() => new d.Conv2d(3, 4, 3, { groups: 2 }), /Conv2d: inChannels 3 is not divisible by groups 2/);
  assert.throws(() => new d.Conv2d(4, 6, 3, { groups: 4 }), /Conv2d: outChannels 6 is not divisible by groups 4/);
  assert.throws(() => new d.Conv2d(4, 4, 3, { groups: 0 }), /groups: expected an integer ≥ 1, got 0/);
  assert.throws(() => new d.Conv2d(4, 4, 3, { dilation: 0 }), /dilation: expected an integer ≥ 1/);
  assert.throws(
    () => m.forward(d.zeros([1, 4, 2, 9])),
    /Conv2d\(4→6, 3×3, padding 1×1, dilation 2×1, groups 2\): input height 2 \(padding 1\) is smaller than the kernel 3 dilated by 2 \(spanning 5\)/,
  );
  assert.throws(
    () => m.forward(d.zeros([1, 6, 9, 9])),
    /Conv2d\(4→6.*groups 2\): input has 6 channels, weight expects 4 \(2 per group × groups 2\)/,
  );
  const x = d.zeros([1, 6, 5, 5]);
  assert.throws(() => d.conv2d(x, d.zeros([4, 2, 3, 3]), null, { groups: 4 }), /conv2d: input has 6 channels, not divisible by groups 4/);
  assert.throws(
    () => d.conv2d(x, d.zeros([4, 3, 3, 3]), null, { groups: 3 }),
    /conv2d: 4 output channels \(weight \[4, 3, 3, 3\]\) are not divisible by groups 3/,
  );
  assert.throws(() => d.conv2d(x, d.zeros([4, 3, 3, 3]), null, { groups: 2.5 }), /conv2d groups: expected an integer ≥ 1, got 2.5/);
});
