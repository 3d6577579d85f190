/**
 * AdaptiveAvgPool2d and GroupNorm on WebGPU (run by `npm run test:webgpu` on lavapipe): both are
 * autograd ops, so a model moved to 'webgpu' runs them on the device's kernels with nothing read back
 * to the host, and its outputs and the gradients of the input, weight and bias equal the reference
 * backend's, for each form of adaptive pooling (1×1, divisible bins, overlapping bins, an output
 * larger than the input) and for one group, one group per channel and in between. Maximum scaled
 * errors are printed at the end (`webgpu max error …`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { close, reseed, rnd } from './helpers.js';

const TOL = 1e-5;

/** y = m(x) and the gradients of Σ y·gy on the current host backend and on 'webgpu', compared. */
async function compare(name: string, make: () => d.Module, shape: number[]): Promise<void> {
  d.setBackend('reference');
  const host = make();
  for (const [, p] of host.namedParameters()) p.data.set(rnd(p.size, 0.5, 1.5));
  const xv = rnd(
    shape.reduce((a, b) => a * b, 1),
    -2,
    3,
  );
  const x = d.fromData(xv, shape, { requiresGrad: true });
  const y = host.forward(x);
  const gyv = rnd(y.size);
  d.sum(d.mul(y, d.fromData(gyv, y.shape))).backward();

  const dev = make();
  dev.loadStateDict(host.stateDict());
  await dev.to('webgpu');
  const xd = await d.fromData(xv, shape, { requiresGrad: true }).to('webgpu');
  const gy = await d.fromData(gyv, y.shape).to('webgpu');
  const before = webgpuInfo().reads;
  const yd = dev.forward(xd);
  d.sum(d.mul(yd, gy)).backward();
  assert.equal(webgpuInfo().reads, before, `${name}: nothing is read back to the host`);
  assert.equal(yd.device, 'webgpu');
  assert.deepEqual(yd.shape, y.shape, `${name}: shape`);
  close(name, await yd.read(), y.data, TOL, ' y');
  close(name, await xd.grad!.read(), x.grad!.data, TOL, ' dx');
  const hp = new Map(host.namedParameters());
  for (const [k, p] of dev.namedParameters()) close(name, await p.grad!.read(), hp.get(k)!.grad!.data, TOL, ` d${k}`);
}

test('AdaptiveAvgPool2d on webgpu equals the reference backend: global, divisible, overlapping and enlarging bins, values and input gradients', async () => {
  reseed(11);
  const prev = d.backend().name;
  try {
    await compare('AdaptiveAvgPool2d 1×1', () => new d.AdaptiveAvgPool2d(1), [2, 3, 6, 5]);
    await compare('AdaptiveAvgPool2d divisible', () => new d.AdaptiveAvgPool2d([3, 2]), [2, 3, 6, 4]);
    await compare('AdaptiveAvgPool2d overlapping', () => new d.AdaptiveAvgPool2d([3, 2]), [2, 3, 7, 5]);
    await compare('AdaptiveAvgPool2d enlarging', () => new d.AdaptiveAvgPool2d([5, 6]), [1, 2, 3, 4]);
    await compare('AdaptiveAvgPool2d [C, H, W]', () => new d.AdaptiveAvgPool2d([4, 3]), [3, 13, 11]);
  } finally {
    d.setBackend(prev);
  }
});

test('GroupNorm on webgpu equals the reference backend: one group, one per channel and in between, values and the gradients of input, weight and bias', async () => {
  reseed(12);
  const prev = d.backend().name;
  try {
    for (const g of [1, 3, 6]) await compare(`GroupNorm(${g}, 6)`, () => new d.GroupNorm(g, 6), [4, 6, 5, 5]);
    await compare('GroupNorm(4, 8) on [N, C]', () => new d.GroupNorm(4, 8, { eps: 1e-3 }), [5, 8]);
    await compare('GroupNorm without affine', () => new d.GroupNorm(2, 4, { affine: false }), [2, 4, 7]);
  } finally {
    d.setBackend(prev);
  }
});
