/**
 * permute and transpose on a device backend without a permute kernel (the emulated device, whose
 * kernels are the reference backend's primitives): the op falls back on scatterPlanes with an
 * uploaded map of each element's output offset, so values and gradients equal the host op's and
 * nothing is read back. (WebGPU's own permute kernel: test/webgpu/gpu/sequence-ops.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromData, grad, mul, permute, setBackend, sum, transpose, type Tensor } from '../../src/index.js';
import { toDevice } from '../../src/autograd/device.js';
import { floatSource } from '../helpers.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';

setBackend('reference');
registerEmulatedDevice();

test('permute and transpose on a device without a permute kernel equal the host op: values and gradients, nothing read back', async () => {
  const cases: [number[], (x: Tensor) => Tensor][] = [
    [[2, 3, 4], (x) => permute(x, [2, 0, 1])],
    [[2, 1, 3, 5], (x) => permute(x, [3, 1, 0, 2])],
    [[3, 4, 5], (x) => transpose(x, 0, 2)],
  ];
  for (const [shape, f] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    const xv = floatSource(5)(n, -1, 1);
    const x = fromData(xv, shape, { requiresGrad: true });
    const y = f(x);
    const gy = fromData(floatSource(6)(n, -1, 1), y.shape);
    const [gx] = grad([sum(mul(y, gy))], [x]);
    const xd = await toDevice(fromData(xv, shape, { requiresGrad: true }), DEVICE);
    const gyd = await toDevice(gy, DEVICE);
    const reads = counters.reads;
    const yd = f(xd);
    const [gxd] = grad([sum(mul(yd, gyd))], [xd]);
    assert.equal(counters.reads, reads, 'nothing is read back');
    assert.equal(yd.device, DEVICE);
    assert.deepEqual(yd.shape, y.shape);
    assert.deepEqual(Array.from(await yd.read()), Array.from(y.data));
    assert.deepEqual(Array.from(await gxd!.read()), Array.from(gx!.data));
  }
});
