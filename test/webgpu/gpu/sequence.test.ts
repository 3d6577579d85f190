/**
 * The 1-D layers on WebGPU (run by `npm run test:webgpu` on lavapipe): Conv1d and the 1-D pools run
 * on the 2-D convolution and pooling kernels through a height-1 view, so a model moved to 'webgpu'
 * runs them with nothing read back to the host, and its outputs and the gradients of the input,
 * weight and bias equal the reference backend's; so do Transpose's and Linear's on [N, T, F].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { close, reseed, rnd } from './helpers.js';

const TOL = 1e-5;

/** y = m(x) and the gradients of Σ y·gy on the reference backend and on 'webgpu', compared. */
async function compare(name: string, make: () => d.Module, shape: number[]): Promise<void> {
  d.setBackend('reference');
  const host = make();
  for (const [, p] of host.namedParameters()) p.data.set(rnd(p.size, -1, 1));
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

test('Conv1d and MaxPool1d on webgpu equal the reference backend: values and the gradients of input, weight and bias', async () => {
  reseed(7);
  const prev = d.backend().name;
  try {
    const rng = new d.Rng(1);
    await compare(
      'Conv1d → MaxPool1d',
      () => new d.Sequential(new d.Conv1d(4, 6, 3, { padding: 1, rng }), new d.MaxPool1d(3, { stride: 2, padding: 1 })),
      [3, 4, 29],
    );
    await compare(
      'Conv1d (stride, dilation, groups) → ReLU → MaxPool1d',
      () =>
        new d.Sequential(new d.Conv1d(4, 8, 5, { stride: 2, padding: 2, dilation: 2, groups: 2, rng }), new d.ReLU(), new d.MaxPool1d(2)),
      [2, 4, 40],
    );
    await compare(
      'AvgPool1d and AdaptiveAvgPool1d',
      () => new d.Sequential(new d.AvgPool1d(3, { stride: 1, padding: 1, countIncludePad: false }), new d.AdaptiveAvgPool1d(4)),
      [2, 3, 10],
    );
  } finally {
    d.setBackend(prev);
  }
});

test('Transpose (the permute kernel) and Linear on [N, T, F] on webgpu equal the reference backend', async () => {
  reseed(8);
  const prev = d.backend().name;
  try {
    const rng = new d.Rng(2);
    await compare(
      'Transpose → Conv1d → Transpose → Linear',
      () => new d.Sequential(new d.Transpose(), new d.Conv1d(5, 6, 3, { rng }), new d.Transpose(1, 2), new d.Linear(6, 3, { rng })),
      [3, 17, 5],
    );
    await compare('Transpose(0, 2) of [2, 3, 4, 5]', () => new d.Transpose(0, 2), [2, 3, 4, 5]);
    await compare('Transpose(1, 3) of [2, 3, 4, 5]', () => new d.Transpose(1, 3), [2, 3, 4, 5]);
  } finally {
    d.setBackend(prev);
  }
});
