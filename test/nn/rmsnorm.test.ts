/**
 * RMSNorm and rmsNorm against PyTorch 2.6's nn.RMSNorm (fixtures from tools/golden_layers2.py) on
 * the reference and wasm backends, float64 and float32: eps None as the dtype's machine epsilon,
 * eps given, with and without weight, over one and two trailing dimensions; the wasm kernels on
 * larger float32 tensors against the reference backend's loop; second derivatives; errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm, wasmInfo } from '../../src/backend/wasm/index.js';
import { extension } from '../../src/backend/backend.js';
import { machineEps } from '../../src/nn/rmsnorm.js';
import { assertClose, floatSource, gradCheck, randT } from '../helpers.js';

await initWasm({ threads: 2 });
const G = JSON.parse(readFileSync(new URL('../../../test/fixtures/layers2/rmsnorm.json', import.meta.url), 'utf8'));

test('RMSNorm equals PyTorch 2.6: output and the gradients of input and weight (reference and wasm, float64 and float32)', () => {
  assert.ok(G.torch.startsWith('2.'));
  assert.ok(G.cases.length >= 7);
  try {
    for (const backend of ['reference', 'wasm']) {
      d.setBackend(backend);
      for (const c of G.cases) {
        const dtype = c.dtype as d.DType;
        const tol = dtype === 'float64' ? 1e-13 : 3e-6;
        const what = `${backend} ${c.name}`;
        const m = new d.RMSNorm(c.normalized_shape, { eps: c.eps ?? undefined, elementwiseAffine: c.affine, dtype });
        assert.deepEqual(Object.keys(m.stateDict()), c.affine ? ['weight'] : []);
        if (c.affine) m.loadStateDict({ weight: { shape: c.normalized_shape, data: c.w } });
        const x = d.fromData(c.x, c.shape, { dtype, requiresGrad: true });
        const y = m.forward(x);
        assert.equal(y.dtype, dtype);
        assertClose(y.data, c.y, tol, `${what} y`);
        d.backward(y, { gradient: d.fromData(c.gy, c.shape, { dtype }) });
        assertClose(x.grad!.data, c.gx, tol * 10, `${what} gx`);
        if (c.affine) assertClose(m.weight!.grad!.data, c.gw, tol * 10, `${what} gw`);
      }
    }
  } finally {
    d.setBackend('wasm');
  }
});

test("float32 past the small-tensor cut runs wasm's rmsNorm kernels both ways, equal to the reference backend's loop", () => {
  const rnd = floatSource(11);
  // F = 99 (a scalar tail after the SIMD loop), rows 67; F = 256 over 200 rows (parts of more than FLUSH_ROWS rows)
  for (const [rows, F, affine] of [
    [67, 99, true],
    [200, 256, true],
    [40, 64, false],
  ] as const) {
    const xv = rnd(rows * F, -3, 3),
      gv = rnd(rows * F, -1, 1),
      wv = rnd(F, 0.5, 1.5);
    const run = () => {
      const x = d.fromData(xv, [rows, F], { requiresGrad: true });
      const w = affine ? d.fromData(wv, [F], { requiresGrad: true }) : null;
      const y = d.rmsNorm(x, F, w, 1e-5);
      d.backward(y, { gradient: d.fromData(gv, [rows, F]) });
      return [y.data, x.grad!.data, w ? w.grad!.data : new Float32Array(0)];
    };
    const what = `[${rows}, ${F}]${affine ? '' : ' no weight'}`;
    try {
      d.setBackend('reference');
      assert.equal(extension('rmsNorm'), undefined);
      const [yr, gxr, gwr] = run();
      d.setBackend('wasm');
      assert.ok(extension('rmsNorm') && extension('rmsNormBackward'));
      const copied = wasmInfo().copiedBytes;
      const [yw, gxw, gww] = run();
      // x in and y out forward, g and x in and gx out backward: the JavaScript loop copies nothing
      assert.ok(wasmInfo().copiedBytes - copied >= 5 * rows * F * 4, `${what}: the kernels ran`);
      assertClose(yw, yr, 3e-7, `${what} y`);
      assertClose(gxw, gxr, 2e-6, `${what} gx`);
      assertClose(gww, gwr, 2e-6 * Math.sqrt(rows), `${what} gw`);
    } finally {
      d.setBackend('wasm');
    }
  }
});

test("eps left out is the machine epsilon of the input's dtype, as PyTorch's None: it decides rows of tiny values", () => {
  assert.equal(machineEps('float32'), 1.1920928955078125e-7);
  assert.equal(machineEps('float64'), 2.220446049250313e-16);
  const x = d.fromData([1e-4, 0, 0], [1, 3], { dtype: 'float64' });
  // mean square 1e-8/3: with float64's eps the row is scaled to √3 almost exactly, with float32's it is not
  assertClose(d.rmsNorm(x, 3).data[0], Math.sqrt(3), 1e-7);
  assert.ok(Math.abs(d.rmsNorm(x, 3, null, 2 ** -23).data[0] - Math.sqrt(3)) > 1);
  assert.equal(new d.RMSNorm(3).eps, null);
});

test('RMSNorm: second derivatives by central differences; rmsNorm is the layer; no buffers', () => {
  const x = randT([3, 4, 5], 3, -2, 2);
  const w = randT([4, 5], 4, 0.5, 1.5);
  const twice = (a: d.Tensor, b: d.Tensor) => {
    const [g] = d.grad([d.rmsNorm(a, [4, 5], b, 1e-3)], [a], { gradOutputs: [randT([3, 4, 5], 9)], createGraph: true });
    return g!;
  };
  gradCheck((a, b) => d.rmsNorm(a, [4, 5], b, 1e-3), [x, w]);
  gradCheck(twice, [x, w], 1e-5);
  const m = new d.RMSNorm([4, 5], { dtype: 'float64', eps: 1e-3 });
  assert.deepEqual(Array.from(m.forward(x).data), Array.from(d.rmsNorm(x, [4, 5], m.weight, 1e-3).data));
  assert.deepEqual(m.buffers(), [], 'no running statistics: training and evaluation are one forward');
  assert.equal(m.describe(), 'RMSNorm(4×5, eps 0.001)');
  assert.equal(new d.RMSNorm(8, { elementwiseAffine: false }).describe(), 'RMSNorm(8, no affine)');
});

test('RMSNorm: errors name the layer with expected and actual', () => {
  assert.throws(() => new d.RMSNorm(0), /RMSNorm: normalizedShape must be positive integers, got 0/);
  assert.throws(() => new d.RMSNorm(4, { eps: -1 }), /RMSNorm: invalid eps -1; expected ≥ 0/);
  assert.throws(() => new d.RMSNorm(4, { bias: true } as never), /RMSNorm/);
  assert.throws(() => new d.RMSNorm([4, 5]).forward(d.zeros([2, 5, 4])), /RMSNorm\(4×5\): expected input \[\*, 4, 5\], got \[2, 5, 4\]/);
  assert.throws(
    () => d.rmsNorm(d.zeros([2, 4]), 4, d.zeros([4], { dtype: 'float64' })),
    /rmsNorm: weight is float64, expected float32 like x/,
  );
  assert.throws(() => d.rmsNorm(d.zeros([2, 4]), 4, d.zeros([5])), /rmsNorm: expected weight \[4\] \(normalizedShape\), got \[5\]/);
});
