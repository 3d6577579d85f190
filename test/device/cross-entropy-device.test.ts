/**
 * crossEntropy with class weights, label smoothing, ignored targets and class-probability targets
 * on a device (the emulated one: the reference kernels behind a DeviceStorage the host cannot
 * read): the device compositions (src/autograd/cross-entropy.ts, crossEntropyOnDevice;
 * cross-entropy-probs.ts, probsOnDevice) against the host op, loss and gradients, every reduction,
 * with no host read until the caller's; the recorded backward runs there too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossEntropy, fromData, grad, setBackend, sum, type CrossEntropyOptions, type Tensor } from '../../src/index.js';
import { toDevice } from '../../src/autograd/device.js';
import { assertClose, floatSource } from '../helpers.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';

setBackend('reference');
registerEmulatedDevice();

const N = 6,
  C = 5;
const t = [0, 4, 2, 4, 1, 0];
const weight = [0.5, 2, 0, 1, 1.5];

async function lossAndGrad(
  x: Tensor,
  o: CrossEntropyOptions,
  createGraph = false,
  targets: number[] | Tensor = t,
): Promise<[number[], number[]]> {
  const y = crossEntropy(x, targets, o);
  const gy = fromData(floatSource(3)(y.size, 0.5, 1.5), y.shape);
  const g = grad([y], [x], { gradOutputs: [y.device === 'cpu' ? gy : await toDevice(gy, DEVICE)], createGraph })[0]!;
  return [Array.from(await y.read()), Array.from(await g.read())];
}

test('crossEntropy with weight and labelSmoothing on a device equals the host op (loss and gradient, every reduction), reading nothing back', async () => {
  const host = fromData(floatSource(7)(N * C, -3, 3), [N, C], { requiresGrad: true });
  const dev = (await toDevice(host, DEVICE)).requireGrad();
  for (const reduction of ['mean', 'sum', 'none'] as const)
    for (const o of [{}, { labelSmoothing: 0.1 }, { weight }, { weight, labelSmoothing: 0.3 }] as CrossEntropyOptions[]) {
      const what = `${reduction} ${JSON.stringify(o)}`;
      const [yh, gh] = await lossAndGrad(host, { ...o, reduction });
      const reads = counters.reads;
      const y = crossEntropy(dev, t, { ...o, reduction });
      const g = grad([y], [dev], { gradOutputs: [await toDevice(fromData(floatSource(3)(y.size, 0.5, 1.5), y.shape), DEVICE)] })[0]!;
      assert.equal(y.device, DEVICE);
      assert.equal(g.device, DEVICE);
      assert.equal(counters.reads, reads, `${what}: no host read in the forward and backward`);
      assertClose(await y.read(), yh, 1e-6, `${what} loss`);
      assertClose(await g.read(), gh, 1e-6, `${what} gradient`);
      // the backward recorded in differentiable ops (createGraph) runs on the device too
      const [, gr] = await lossAndGrad(dev, { ...o, reduction }, true);
      assertClose(gr, gh, 1e-6, `${what} recorded gradient`);
    }
  // a second derivative through the device composition
  const g2 = grad([sum(crossEntropy(dev, t, { weight, labelSmoothing: 0.2 }))], [dev], { createGraph: true })[0]!;
  const h = grad([sum(g2.mul(g2))], [dev])[0]!;
  const g2h = grad([sum(crossEntropy(host, t, { weight, labelSmoothing: 0.2 }))], [host], { createGraph: true })[0]!;
  assertClose(await h.read(), grad([sum(g2h.mul(g2h))], [host])[0]!.data, 1e-6, 'Hessian-vector product');
});

test('crossEntropy with ignored rows on a device equals the host op (loss and gradient, every reduction, every row ignored), reading nothing back', async () => {
  const host = fromData(floatSource(8)(N * C, -3, 3), [N, C], { requiresGrad: true });
  const dev = (await toDevice(host, DEVICE)).requireGrad();
  const targetSets = [
    [0, -100, 2, 4, -100, 0],
    [-100, -100, -100, -100, -100, -100],
    // weight 0 on class 2 and the others ignored: the mean is NaN, the ignored rows' gradient 0
    [2, -100, 2, -100, 2, -100],
  ];
  for (const targets of targetSets)
    for (const reduction of ['mean', 'sum', 'none'] as const)
      for (const o of [{}, { weight, labelSmoothing: 0.3 }] as CrossEntropyOptions[]) {
        const what = `${targets} ${reduction} ${JSON.stringify(o)}`;
        const [yh, gh] = await lossAndGrad(host, { ...o, reduction }, false, targets);
        const reads = counters.reads;
        const y = crossEntropy(dev, targets, { ...o, reduction });
        const g = grad([y], [dev], { gradOutputs: [await toDevice(fromData(floatSource(3)(y.size, 0.5, 1.5), y.shape), DEVICE)] })[0]!;
        assert.equal(counters.reads, reads, `${what}: no host read in the forward and backward`);
        assertSame(await y.read(), yh, `${what} loss`);
        assertSame(await g.read(), gh, `${what} gradient`);
        const [, gr] = await lossAndGrad(dev, { ...o, reduction }, true, targets);
        assertSame(gr, gh, `${what} recorded gradient`);
      }
});

test('crossEntropy against class probabilities on a device equals the host op (loss, gradients of the logits and of a device target, every reduction), reading nothing back', async () => {
  const host = fromData(floatSource(9)(N * C, -3, 3), [N, C], { requiresGrad: true });
  const dev = (await toDevice(host, DEVICE)).requireGrad();
  const qHost = fromData(floatSource(10)(N * C, 0, 0.4), [N, C], { requiresGrad: true });
  const qDev = (await toDevice(qHost, DEVICE)).requireGrad();
  for (const reduction of ['mean', 'sum', 'none'] as const)
    for (const o of [{}, { labelSmoothing: 0.1 }, { weight }, { weight, labelSmoothing: 0.3 }] as CrossEntropyOptions[]) {
      const what = `${reduction} ${JSON.stringify(o)}`;
      const gyHost = fromData(floatSource(3)(reduction === 'none' ? N : 1, 0.5, 1.5), reduction === 'none' ? [N] : []);
      const yh = crossEntropy(host, qHost, { ...o, reduction });
      const [gxh, gqh] = grad([yh], [host, qHost], { gradOutputs: [gyHost] });
      const gy = await toDevice(gyHost, DEVICE);
      for (const q of [qDev, qHost.detach()]) {
        const reads = counters.reads;
        const y = crossEntropy(dev, q, { ...o, reduction });
        const gs = grad([y], q === qDev ? [dev, qDev] : [dev], { gradOutputs: [gy] });
        assert.equal(y.device, DEVICE);
        assert.equal(counters.reads, reads, `${what}: no host read in the forward and backward`);
        assertClose(await y.read(), yh.data, 1e-6, `${what} loss`);
        assertClose(await gs[0]!.read(), gxh!.data, 1e-6, `${what} gradient`);
        if (q === qDev) assertClose(await gs[1]!.read(), gqh!.data, 1e-6, `${what} target gradient`);
        // recorded (createGraph) on the device too
        const gr = grad([crossEntropy(dev, q, { ...o, reduction })], q === qDev ? [dev, qDev] : [dev], {
          gradOutputs: [gy],
          createGraph: true,
        });
        assertClose(await gr[0]!.read(), gxh!.data, 1e-6, `${what} recorded gradient`);
        if (q === qDev) assertClose(await gr[1]!.read(), gqh!.data, 1e-6, `${what} recorded target gradient`);
      }
    }
});

/** assertClose where NaN must meet NaN. */
function assertSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  const nan = (v: ArrayLike<number>) => Array.from(v, (x) => Number.isNaN(x));
  assert.deepEqual(nan(actual), nan(expected), `${what}: NaN in the same places`);
  assertClose(
    Array.from(actual, (x) => (Number.isNaN(x) ? 0 : x)),
    Array.from(expected, (x) => (Number.isNaN(x) ? 0 : x)),
    1e-6,
    what,
  );
}
