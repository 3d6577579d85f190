import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { gradCheck, randT, assertClose } from '../helpers.js';
import { interpolateAxes, interpolationMatrix } from '../../src/autograd/interpolate.js';

type Entry = { shape: number[]; data: number[]; grad: number[] };
type Case = { name: string; params: d.InterpolateOptions; x: Entry; y: number[]; yShape: number[]; gy: number[]; forwardOnly?: boolean };
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/upsampling/interpolate.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

function checkGolden(c: Case, dtype: 'float32' | 'float64', tol: number, what: string, layer = false): void {
  const x = d.fromData(dtype === 'float32' ? Float32Array.from(c.x.data) : Float64Array.from(c.x.data), c.x.shape, { requiresGrad: true });
  const y = layer ? new d.Upsample(c.params as d.UpsampleOptions).forward(x) : d.interpolate(x, c.params);
  assert.deepEqual(y.shape, c.yShape, `${what} ${c.name} shape`);
  assertClose(y.data, c.y, tol, `${what} ${c.name} y`);
  // PyTorch's gradient there is not that of its own forward (tools/golden_upsampling.py); descent's is (the gradient checks below)
  if (c.forwardOnly) return;
  d.backward(y, { gradient: d.fromData(dtype === 'float32' ? Float32Array.from(c.gy) : Float64Array.from(c.gy), c.yShape) });
  assertClose(x.grad!.data, c.x.grad, tol, `${what} ${c.name} dx`);
}

test('interpolate equals PyTorch 1.13 F.interpolate: values and input gradients (tools/golden_upsampling.py)', () => {
  const modes = new Set(F.cases.map((c) => c.params.mode));
  for (const m of ['nearest', 'nearest-exact', 'linear', 'bilinear']) assert.ok(modes.has(m as d.InterpolateMode), m);
  assert.ok(F.cases.some((c) => c.params.alignCorners === true) && F.cases.some((c) => c.params.alignCorners === false));
  assert.ok(
    F.cases.some((c) => c.yShape.at(-1)! < c.x.shape.at(-1)!),
    'a downscale',
  );
  assert.equal(F.cases.filter((c) => c.forwardOnly).length, 1, 'one case whose PyTorch gradient is not golden');
  for (const c of F.cases) checkGolden(c, 'float64', 1e-12, 'reference');
});

test('Upsample equals F.interpolate on every golden case', () => {
  for (const c of F.cases) checkGolden(c, 'float64', 1e-12, 'Upsample', true);
});

test('interpolate on wasm equals PyTorch (float32)', async () => {
  await initWasm({ threads: 2 });
  try {
    d.setBackend('wasm');
    for (const c of F.cases) checkGolden(c, 'float32', 2e-6, 'wasm');
  } finally {
    d.setBackend('reference');
  }
});

test("nearest is PyTorch 1.13's legacy floor(dst·scale), the product rounded to float32, as its NCHW kernel computes it", () => {
  const x = d.fromData(
    Float64Array.from({ length: 14 }, (_, i) => i),
    [1, 1, 14],
  );
  // 14 → ⌊14·0.7⌋ = 9 (14·0.7 is 9.799… in float64) by scale 1/0.7: floor(dst/0.7) = 0 1 2 4 5 7 8 10 11
  assert.deepEqual(Array.from(d.interpolate(x, { scaleFactor: 0.7 }).data), [0, 1, 2, 4, 5, 7, 8, 10, 11]);
  // 10 → ⌊10.5⌋ = 10 by scale 1.05 does not copy: floor(dst/1.05) (F.interpolate(torch.arange(10.).view(1, 1, 10), scale_factor=1.05))
  const x10 = d.fromData(
    Float64Array.from({ length: 10 }, (_, i) => i),
    [1, 1, 10],
  );
  assert.deepEqual(Array.from(d.interpolate(x10, { scaleFactor: 1.05 }).data), [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // nearest-exact centres: 3 → 5 gives floor((dst + ½)·0.6) = 0 0 1 2 2
  const x3 = d.fromData(Float64Array.of(0, 1, 2), [1, 1, 3]);
  assert.deepEqual(Array.from(d.interpolate(x3, { size: 5, mode: 'nearest-exact' }).data), [0, 0, 1, 2, 2]);
  assert.deepEqual(Array.from(d.interpolate(x3, { size: 5 }).data), [0, 0, 1, 1, 2]);
});

test('interpolate: gradients match central differences (bilinear both alignments, nearest) and second order', () => {
  gradCheck((x) => d.interpolate(x, { size: [5, 7], mode: 'bilinear' }), [randT([2, 2, 3, 4], 1)]);
  gradCheck((x) => d.interpolate(x, { scaleFactor: [0.5, 1.5], mode: 'bilinear', alignCorners: true }), [randT([1, 2, 6, 4], 2)]);
  gradCheck((x) => d.interpolate(x, { scaleFactor: 3 }), [randT([1, 2, 2, 3], 3)]);
  gradCheck((x) => d.interpolate(x, { scaleFactor: 1.05 }), [randT([1, 2, 10], 5)]);
  gradCheck(
    (x) => d.mul(d.interpolate(x, { size: 7, mode: 'linear' }), d.interpolate(x, { size: 7, mode: 'linear' })),
    [randT([2, 2, 4], 4)],
  );
});

test('interpolate: gradient of the gradient (the backward is itself differentiable)', () => {
  // f(x) = Σ (∂/∂x Σ interpolate(x)²·u)²: the backward of the backward runs the forward again
  const u = randT([1, 2, 5, 7], 6);
  u.requiresGrad = false;
  for (const opts of [{ size: [5, 7], mode: 'bilinear' }, { scaleFactor: [1.7, 2.5] }] as d.InterpolateOptions[])
    gradCheck(
      (x) => {
        const y = d.interpolate(x, opts);
        const [gx] = d.grad(d.sum(d.mul(d.square(y), u)), [x], { createGraph: true });
        return d.sum(d.square(gx!));
      },
      [randT([1, 2, 3, 3], 7)],
      1e-5,
    );
});

test('Upsample: describe, and clear errors naming the layer and the expected and actual values', () => {
  assert.equal(new d.Upsample({ scaleFactor: 2 }).describe(), 'Upsample(scaleFactor 2, nearest)');
  assert.equal(
    new d.Upsample({ size: [4, 6], mode: 'bilinear', alignCorners: true }).describe(),
    'Upsample(size 4×6, bilinear, alignCorners true)',
  );
  assert.throws(() => new d.Upsample({}), /Upsample: expected exactly one of size and scaleFactor, got neither/);
  assert.throws(() => new d.Upsample({ size: 3, scaleFactor: 2 }), /Upsample: expected exactly one of size and scaleFactor, got both/);
  assert.throws(
    () => new d.Upsample({ scaleFactor: 2, alignCorners: true }),
    /alignCorners applies to the linear modes .* not to mode 'nearest'/,
  );
  assert.throws(() => new d.Upsample({ scaleFactor: 2, mode: 'bicubic' as never }), /mode/);
  assert.throws(() => new d.Upsample({ size: 0 }), /size must hold integers ≥ 1, got 0/);
  assert.throws(() => new d.Upsample({ scaleFactor: -1 }), /scaleFactor must be positive and finite, got -1/);
  const bl = new d.Upsample({ scaleFactor: 2, mode: 'bilinear' });
  assert.throws(
    () => bl.forward(d.zeros([1, 2, 3])),
    /Upsample\(scaleFactor 2, bilinear\): mode 'bilinear' takes input \[N, C, H, W\], got \[1, 2, 3\]/,
  );
  assert.throws(() => d.interpolate(d.zeros([1, 2, 3, 3]), { size: [2, 2, 2] }), /interpolate: size \[2,2,2\] has 3 values, expected 2/);
  assert.throws(
    () => d.interpolate(d.zeros([1, 2, 3, 3]), { scaleFactor: 0.2 }),
    /scaleFactor 0.2 turns size 3 into 0.6.*rounds down to 0/,
  );
});

test("the host's gathers of taps equal the device's form, products with the interpolation matrices, on every golden case", () => {
  for (const c of F.cases) {
    const x = d.fromData(Float64Array.from(c.x.data), c.x.shape);
    const axes = interpolateAxes(x.shape, c.params);
    const A = axes.map((a) => interpolationMatrix(a, c.params.mode ?? 'nearest', c.params.alignCorners ?? false, 'float64'));
    // x·Awᵀ along the last axis, then Ah·(…) along the height
    let want = d.matmul(x, d.t(A[A.length - 1]));
    if (A.length === 2) want = d.matmul(A[0], want);
    assertClose(d.interpolate(x, c.params).data, want.data, 1e-15, c.name);
  }
});
