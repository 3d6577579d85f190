/** LayerNorm against PyTorch (fixtures from tools/golden_batchnorm.py) on the reference and wasm backends; the spec token; errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose, gradCheck, randT } from '../helpers.js';

await initWasm({ threads: 2 });
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/batchnorm/layernorm.json', import.meta.url), 'utf8'));

test('LayerNorm equals PyTorch: output and the gradients of the input, weight and bias (reference and wasm, float32 and float64)', () => {
  assert.ok(F.cases.length >= 4);
  try {
    for (const backend of ['reference', 'wasm']) {
      d.setBackend(backend);
      for (const c of F.cases) {
        const dtype = c.dtype as d.DType;
        const tol = dtype === 'float64' ? 1e-10 : 2e-5;
        const what = `${backend} LayerNorm(${c.normalizedShape}) on [${c.shape}]`;
        const m = new d.LayerNorm(c.normalizedShape, { eps: c.eps, elementwiseAffine: c.affine, dtype });
        m.loadStateDict(c.state);
        const x = d.fromData(c.x, c.shape, { dtype, requiresGrad: true });
        const y = m.forward(x);
        assertClose(y.data, c.y, tol, `${what} y`);
        d.backward(y, { gradient: d.fromData(c.gy, c.shape, { dtype }) });
        assertClose(x.grad!.data, c.gx, tol * 10, `${what} dx`);
        if (c.affine) {
          assertClose(m.weight!.grad!.data, c.gweight, tol * 10, `${what} dweight`);
          assertClose(m.bias!.grad!.data, c.gbias, tol * 10, `${what} dbias`);
        }
      }
    }
  } finally {
    d.setBackend('wasm');
  }
});

test('LayerNorm: second derivatives by central differences; the same in training and evaluation', () => {
  const m: d.Module = new d.LayerNorm(4, { dtype: 'float64' });
  gradCheck((x) => d.sum(d.square(d.grad(d.sum(d.pow(m.forward(x), 3)), [x], { createGraph: true })[0]!)), [randT([3, 4], 2)]);
  const x = d.randn([2, 4], new d.Rng(1));
  assert.deepEqual(Array.from(m.forward(d.cast(x, 'float64'), { training: true }).data), Array.from(m.forward(d.cast(x, 'float64')).data));
});

test('the spec: layernorm normalises each sample whole; errors name the layer with expected and actual', () => {
  const { model } = d.buildFromLayers(
    d.parseModelSpec('conv:2:3,layernorm,relu,flatten,linear:8,layernorm:eps=0.001:affine=false,linear'),
    {
      rng: new d.Rng(1),
      inputShape: [1, 6, 6],
      classes: 3,
    },
  );
  const [, a, , , , b] = model.layers as d.LayerNorm[];
  assert.deepEqual(a.normalizedShape, [2, 4, 4]);
  assert.ok(b instanceof d.LayerNorm && b.eps === 0.001 && b.weight === null && b.normalizedShape[0] === 8);
  assert.deepEqual(model.forward(d.zeros([5, 1, 6, 6])).shape, [5, 3]);
  assert.throws(
    () => new d.LayerNorm([3, 4]).forward(d.zeros([2, 4, 3])),
    /LayerNorm\(3×4\): expected input \[\*, 3, 4\], got \[2, 4, 3\]/,
  );
  assert.throws(() => new d.LayerNorm(0), /LayerNorm: normalizedShape must be positive integers, got 0/);
  assert.throws(() => new d.LayerNorm(3, { eps: -1 }), /LayerNorm: invalid eps -1; expected ≥ 0/);
});
