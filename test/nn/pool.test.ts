import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { gradCheck, randT, assertClose } from '../helpers.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/conv/${name}`, import.meta.url), 'utf8'));

test('MaxPool2d and AvgPool2d equal PyTorch: values and input gradients (fixtures from tools/golden_conv.py)', () => {
  const cases = fixture('pool.json').cases;
  assert.ok(cases.filter((c: any) => c.params.kind === 'max').length >= 3);
  assert.ok(cases.filter((c: any) => c.params.kind === 'avg').length >= 3);
  assert.ok(cases.filter((c: any) => c.params.ceilMode).length >= 9, 'ceil_mode cases');
  for (const c of cases) {
    const x = d.fromData(Float64Array.from(c.x.data), c.x.shape, { requiresGrad: true });
    const p = c.params;
    const layer =
      p.kind === 'max'
        ? new d.MaxPool2d(p.kernel, { stride: p.stride, padding: p.padding, ceilMode: p.ceilMode })
        : new d.AvgPool2d(p.kernel, { stride: p.stride, padding: p.padding, countIncludePad: p.countIncludePad, ceilMode: p.ceilMode });
    const y = layer.forward(x);
    assert.deepEqual(y.shape, c.yShape, c.name);
    assertClose(y.data, c.y, 1e-12, `${c.name} y`);
    d.backward(y, { gradient: d.fromData(Float64Array.from(c.gy), c.yShape) });
    assertClose(x.grad!.data, c.x.grad, 1e-12, `${c.name} dx`);
  }
});

test('pooling: gradients match central differences, also second order', () => {
  // Distinct values keep max pooling away from ties, where it is not differentiable.
  gradCheck((x) => d.maxPool2d(x, 2), [randT([2, 2, 6, 5], 1)]);
  gradCheck((x) => d.maxPool2d(x, 3, { stride: 2, padding: 1 }), [randT([1, 3, 7, 7], 2)]);
  gradCheck((x) => d.avgPool2d(x, 2), [randT([2, 2, 6, 5], 3)]);
  gradCheck((x) => d.avgPool2d(x, [3, 2], { stride: [2, 1], padding: 1, countIncludePad: false }), [randT([1, 2, 7, 6], 4)]);
  // Second order: the gradient of ‖∂/∂x Σ pool(x)²‖² exercises the scatter/adjoint ops' own backward.
  for (const pool of [(x: d.Tensor) => d.maxPool2d(x, 2, { stride: 1 }), (x: d.Tensor) => d.avgPool2d(x, 3, { stride: 2, padding: 1 })]) {
    gradCheck(
      (x) => {
        const [gx] = d.grad(d.sum(d.square(pool(x))), [x], { createGraph: true });
        return d.sum(d.mul(gx!, gx!));
      },
      [randT([1, 2, 5, 5], 5)],
      1e-5,
    );
  }
});

test('pooling: defaults and errors', () => {
  const x = d.fromData([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 1, 4, 4]);
  assert.deepEqual(Array.from(new d.MaxPool2d(2).forward(x).data), [6, 8, 14, 16]);
  assert.deepEqual(Array.from(new d.AvgPool2d(2).forward(x).data), [3.5, 5.5, 11.5, 13.5]);
  assert.throws(
    () => new d.MaxPool2d(2).forward(d.zeros([1, 1, 1, 4])),
    /MaxPool2d\(2×2\): input height 1 \(padding 0\) is smaller than the kernel 2/,
  );
  assert.throws(() => new d.MaxPool2d(2, { padding: 2 }).forward(x), /padding \[2, 2\] must be at most half the kernel/);
  assert.throws(() => new d.AvgPool2d(0), /kernelSize: expected an integer ≥ 1/);
});

test('ceilMode on the wasm kernels (float32, past their small-array threshold) equals the reference, the fused convolution + pooling too', async () => {
  const { initWasm } = await import('../../src/backend/wasm/index.js');
  await initWasm({ threads: 2 });
  const rng = new d.Rng(5);
  const x = d.rand([4, 8, 15, 15], rng, { low: -1, high: 1 });
  const cases: [number, d.Pool2dArgs][] = [
    [2, { ceilMode: true }],
    [3, { stride: 2, padding: 1, ceilMode: true }],
    [3, { stride: 3, padding: 1, ceilMode: true }],
  ];
  const run = (backend: string) => {
    d.setBackend(backend);
    return cases.map(([k, o]) => {
      const xs = x.detach().requireGrad();
      const m = d.maxPool2d(xs, k, o),
        a = d.avgPool2d(xs, k, { ...o, countIncludePad: false });
      d.sum(d.add(d.square(m), d.sum(d.square(a)))).backward();
      return { m: Array.from(m.data), mShape: [...m.shape], a: Array.from(a.data), gx: Array.from(xs.grad!.data) };
    });
  };
  try {
    const want = run('reference'),
      got = run('wasm');
    assert.deepEqual(want[0].mShape, [4, 8, 8, 8], '15 → 8 with 2×2 windows rounding up');
    got.forEach((g, i) => {
      assert.deepEqual(g.mShape, want[i].mShape);
      assert.deepEqual(g.m, want[i].m, `max ${i}`);
      assertClose(g.a, want[i].a, 1e-6, `avg ${i}`);
      assertClose(g.gx, want[i].gx, 1e-5, `gradient ${i}`);
    });
    // Conv2d, ReLU, MaxPool2d(ceilMode) fused: the same as the three layers on the reference
    const seq = () =>
      new d.Sequential(new d.Conv2d(8, 4, 3, { padding: 1, rng: new d.Rng(2) }), new d.ReLU(), new d.MaxPool2d(2, { ceilMode: true }));
    d.setBackend('reference');
    const plain = seq().forward(x);
    d.setBackend('wasm');
    const fused = d.fuse(seq()).forward(x);
    assert.deepEqual([...fused.shape], [4, 4, 8, 8]);
    assertClose(fused.data, plain.data, 1e-5, 'fused conv + pool, ceilMode');
  } finally {
    d.setBackend('wasm');
  }
});
