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
  for (const c of cases) {
    const x = d.fromData(Float64Array.from(c.x.data), c.x.shape, { requiresGrad: true });
    const p = c.params;
    const layer =
      p.kind === 'max'
        ? new d.MaxPool2d(p.kernel, { stride: p.stride, padding: p.padding })
        : new d.AvgPool2d(p.kernel, { stride: p.stride, padding: p.padding, countIncludePad: p.countIncludePad });
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
