/**
 * The layers of activations-more.ts, RMSNorm, Softmax/LogSoftmax over a middle dim, Identity and
 * Unflatten on a device backend (the emulated device, whose kernels are the reference backend's
 * primitives behind storage the host cannot read): they are composed of primitives, so they run
 * there with nothing read back; values and the gradients of input and parameters equal the host's
 * (to the bit for the compositions the host runs too; RMSNorm's host op differs by rounding).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { toDevice } from '../../src/autograd/device.js';
import { assertClose, floatSource } from '../helpers.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';

d.setBackend('reference');
registerEmulatedDevice();

test('the new layers run on a device: values and gradients equal the host, nothing read back', async () => {
  const layers: [string, () => d.Module, number[], boolean][] = [
    ['PReLU per channel', () => new d.PReLU({ numParameters: 3, init: 0.2 }), [2, 3, 4], true],
    ['PReLU one slope', () => new d.PReLU(), [5, 6], true],
    ['Mish', () => new d.Mish(), [4, 8], true],
    ['Hardswish', () => new d.Hardswish(), [4, 8], true],
    ['Hardsigmoid', () => new d.Hardsigmoid(), [4, 8], true],
    ['SELU', () => new d.SELU(), [4, 8], true],
    ['Hardtanh', () => new d.Hardtanh(-0.5, 2), [4, 8], true],
    ['ReLU6', () => new d.ReLU6(), [4, 8], true],
    ['Softmax dim 1', () => new d.Softmax(1), [2, 3, 4], true],
    ['LogSoftmax dim -1', () => new d.LogSoftmax(-1), [2, 3, 4], true],
    ['Identity', () => new d.Identity(), [3, 4], true],
    ['Unflatten', () => new d.Unflatten(1, [2, -1]), [3, 8], true],
    ['RMSNorm', () => new d.RMSNorm([3, 4], { eps: 1e-5 }), [2, 3, 4], false],
  ];
  for (const [what, make, shape, exact] of layers) {
    const n = shape.reduce((a, b) => a * b, 1);
    // values over [−5, 5], so the kinks at ±3, 0 and 6 are on both sides
    const xv = floatSource(11)(n, -5, 5);
    xv[0] = 3;
    xv[1] = -3;
    const host = make();
    const x = d.fromData(xv, shape, { requiresGrad: true });
    const y = host.forward(x);
    const gy = d.fromData(floatSource(12)(y.size, -1, 1), y.shape);
    const params = host.parameters();
    const grads = d.grad([d.sum(d.mul(y, gy))], [x, ...params]);

    const dev = make();
    await dev.to(DEVICE);
    const xd = await toDevice(d.fromData(xv, shape, { requiresGrad: true }), DEVICE);
    const gyd = await toDevice(gy, DEVICE);
    const reads = counters.reads;
    const yd = dev.forward(xd);
    const gradsD = d.grad([d.sum(d.mul(yd, gyd))], [xd, ...dev.parameters()]);
    assert.equal(counters.reads, reads, `${what}: nothing is read back`);
    assert.equal(yd.device, DEVICE, what);
    assert.deepEqual(yd.shape, y.shape, what);
    const check = (a: ArrayLike<number>, b: ArrayLike<number>, part: string) =>
      exact ? assert.deepEqual(Array.from(a), Array.from(b), `${what} ${part}`) : assertClose(a, b, 2e-6, `${what} ${part}`);
    check(await yd.read(), y.data, 'y');
    for (let i = 0; i < grads.length; i++) check(await gradsD[i]!.read(), grads[i]!.data, `gradient ${i}`);
  }
});
