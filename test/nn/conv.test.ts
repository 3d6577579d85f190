import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import * as rc from '../../src/backend/reference-conv.js';
import { gradCheck, randT, assertClose } from '../helpers.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/conv/${name}`, import.meta.url), 'utf8'));
const leaf = (e: { shape: number[]; data: number[] }) => d.fromData(Float64Array.from(e.data), e.shape, { requiresGrad: true });

test('conv2d equals PyTorch F.conv2d: values and gradients of x, w, b (fixtures from tools/golden_conv.py)', () => {
  const cases = fixture('conv.json').cases;
  assert.ok(cases.length >= 4);
  for (const c of cases) {
    const x = leaf(c.x),
      w = leaf(c.w),
      b = leaf(c.b);
    const y = d.conv2d(x, w, b, { stride: c.params.stride, padding: c.params.padding });
    assert.deepEqual(y.shape, c.yShape, c.name);
    assertClose(y.data, c.y, 1e-12, `${c.name} y`);
    d.backward(y, { gradient: d.fromData(Float64Array.from(c.gy), c.yShape) });
    assertClose(x.grad!.data, c.x.grad, 1e-12, `${c.name} dx`);
    assertClose(w.grad!.data, c.w.grad, 1e-12, `${c.name} dw`);
    assertClose(b.grad!.data, c.b.grad, 1e-12, `${c.name} db`);
  }
});

test('conv2d: gradients match central differences (stride, padding, non-square kernels)', () => {
  gradCheck((x, w, b) => d.conv2d(x, w, b), [randT([2, 2, 5, 4], 1), randT([3, 2, 3, 2], 2), randT([3], 3)]);
  gradCheck((x, w) => d.conv2d(x, w, null, { stride: 2, padding: 1 }), [randT([1, 2, 6, 5], 4), randT([2, 2, 3, 3], 5)]);
  gradCheck((x, w) => d.conv2d(x, w, null, { stride: [1, 3], padding: [2, 0] }), [randT([2, 1, 4, 7], 6), randT([2, 1, 2, 3], 7)]);
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
  for (let trial = 0; trial < 12; trial++) {
    const kh = 1 + rng.int(4),
      kw = 1 + rng.int(4);
    const xShape = [1 + rng.int(3), 1 + rng.int(3), kh + rng.int(6), kw + rng.int(6)];
    const wShape = [1 + rng.int(4), xShape[1], kh, kw];
    const opts = { stride: [1 + rng.int(3), 1 + rng.int(3)] as [number, number], padding: [rng.int(3), rng.int(3)] as [number, number] };
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
