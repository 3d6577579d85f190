/**
 * softmax as one op (logSoftmax's kernel writing the probabilities) with its own backward
 * y ⊙ (g − Σ g·y): values against the definition written out here, gradients and gradients of
 * gradients against central differences in float64, float32 on wasm against float64 on the
 * reference, and a row of all −∞ giving NaN as exp(logSoftmax) gives it (PyTorch 1.13's MHA).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose, gradCheck, randT } from '../helpers.js';

await initWasm({ threads: 2 });

function definition(x: d.Tensor): Float64Array {
  const cols = x.shape[x.ndim - 1];
  const out = new Float64Array(x.size);
  for (let r = 0; r < x.size / cols; r++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x.data[r * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x.data[r * cols + j] - m);
    for (let j = 0; j < cols; j++) out[r * cols + j] = Math.exp(x.data[r * cols + j] - m) / s;
  }
  return out;
}

for (const backend of ['reference', 'wasm']) {
  test(`softmax: values, gradients and second derivatives in float64 (${backend})`, () => {
    d.setBackend(backend);
    try {
      for (const shape of [[7], [3, 5], [2, 3, 4, 9]]) {
        const x = randT(shape, 3, -3, 3);
        assertClose(d.softmax(x).data, definition(x), 1e-14, `${JSON.stringify(shape)} values`);
        gradCheck((t) => d.softmax(t), [x]);
        // the gradient is differentiable: check d/dx of Σ w·∂(Σ u·softmax)/∂x by differences of the first gradient
        const u = randT(shape, 5),
          w = randT(shape, 7);
        x.requiresGrad = true;
        const first = (t: d.Tensor) => d.grad(d.sum(d.mul(d.softmax(t), u)), [t], { createGraph: true })[0]!;
        const [gg] = d.grad(d.sum(d.mul(first(x), w)), [x]);
        const h = 1e-6;
        const num = new Float64Array(x.size);
        for (let i = 0; i < x.size; i++) {
          const at = (delta: number) => {
            const xs = new Float64Array(x.data);
            xs[i] += delta;
            const t = d.fromData(xs, shape, { dtype: 'float64', requiresGrad: true });
            const g = d.grad(d.sum(d.mul(d.softmax(t), u)), [t])[0]!.data;
            let s = 0;
            for (let j = 0; j < g.length; j++) s += g[j] * w.data[j];
            return s;
          };
          num[i] = (at(h) - at(-h)) / (2 * h);
        }
        assertClose(gg!.data, num, 1e-6, `${JSON.stringify(shape)} second derivative`);
      }
    } finally {
      d.setBackend('wasm');
    }
  });
}

test('softmax in float32 on wasm matches float64 on the reference, forward and backward, above the wasm kernels’ threshold', () => {
  const shape = [64, 4, 28, 28];
  const x64 = randT(shape, 11, -4, 4),
    g64 = randT(shape, 13);
  const run = (backend: string, dtype: 'float32' | 'float64') => {
    d.setBackend(backend);
    const x = d.fromData(x64.data, shape, { dtype, requiresGrad: true });
    const y = d.softmax(x);
    y.backward(d.fromData(g64.data, shape, { dtype }));
    return [y.data, x.grad!.data];
  };
  try {
    const [y32, g32] = run('wasm', 'float32');
    const [y, g] = run('reference', 'float64');
    assertClose(y32, y, 1e-6, 'values');
    assertClose(g32, g, 1e-6, 'gradient');
  } finally {
    d.setBackend('wasm');
  }
});

test('softmax of a row of all −∞ is NaN (as exp(logSoftmax)), the other rows unaffected', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const y = d.softmax(d.fromData([-Infinity, -Infinity, -Infinity, 0, 1, 2], [2, 3], { dtype }));
    assert.ok(
      [0, 1, 2].every((i) => Number.isNaN(y.data[i])),
      `${dtype}: NaN row`,
    );
    assertClose([...y.data].slice(3), definition(d.fromData([0, 1, 2], [3], { dtype: 'float64' })), 1e-7, `${dtype}: finite row`);
  }
});
