/**
 * PReLU, Mish, Hardswish, Hardsigmoid, SELU, Hardtanh, ReLU6, RMSNorm, Softmax/LogSoftmax over a
 * middle dim, Identity and Unflatten on WebGPU (run by `npm run test:webgpu` on lavapipe): Mish,
 * Hardswish, Hardsigmoid, SELU, Hardtanh and ReLU6 run their own activation kernels, the rest are
 * composed of primitives, so a model moved to 'webgpu' runs them on the device's kernels with nothing read
 * back, and the outputs and the gradients of input and parameters equal the reference backend's;
 * an MLP of them trains step for step as on wasm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { close, reseed, rnd } from './helpers.js';
import { assertStepsAlike, type StepBatch } from './setup.js';

const TOL = 1e-5;

/** y = m(x) and the gradients of Σ y·gy on the reference backend and on 'webgpu', compared. */
async function compare(name: string, make: () => d.Module, shape: number[], kernels: string[] = []): Promise<void> {
  d.setBackend('reference');
  const host = make();
  const n = shape.reduce((a, b) => a * b, 1);
  // over [−5, 5] with the kinks themselves: ±3, 0 and 6
  const xv = rnd(n, -5, 5);
  xv.set([3, -3, 0, 6].slice(0, n));
  const x = d.fromData(xv, shape, { requiresGrad: true });
  const y = host.forward(x);
  const gyv = rnd(y.size);
  d.sum(d.mul(y, d.fromData(gyv, y.shape))).backward();

  const dev = make();
  dev.loadStateDict(host.stateDict());
  await dev.to('webgpu');
  const xd = await d.fromData(xv, shape, { requiresGrad: true }).to('webgpu');
  const gy = await d.fromData(gyv, y.shape).to('webgpu');
  const before = webgpuInfo();
  const yd = dev.forward(xd);
  d.sum(d.mul(yd, gy)).backward();
  const after = webgpuInfo();
  assert.equal(after.reads, before.reads, `${name}: nothing is read back to the host`);
  for (const k of kernels) assert.ok((after.kernels[k] ?? 0) > (before.kernels[k] ?? 0), `${name}: ${k} runs on the device`);
  assert.equal(yd.device, 'webgpu');
  assert.deepEqual(yd.shape, y.shape, `${name}: shape`);
  close(name, await yd.read(), y.data, TOL, ' y');
  close(name, await xd.grad!.read(), x.grad!.data, TOL, ' dx');
  const hp = new Map(host.namedParameters());
  for (const [k, p] of dev.namedParameters()) close(name, await p.grad!.read(), hp.get(k)!.grad!.data, TOL, ` d${k}`);
}

test('the new layers on webgpu equal the reference backend: values and the gradients of input and parameters, nothing read back', async () => {
  reseed(21);
  const prev = d.backend().name;
  try {
    await compare('PReLU per channel', () => new d.PReLU({ numParameters: 4, init: 0.1 }), [3, 4, 5]);
    await compare('PReLU one slope', () => new d.PReLU(), [6, 7]);
    await compare('Mish', () => new d.Mish(), [5, 9], ['unary.mish', 'unary.mishDeriv']);
    await compare('Hardswish', () => new d.Hardswish(), [5, 9], ['unary.hardswish', 'unary.hardswishDeriv']);
    await compare('Hardsigmoid', () => new d.Hardsigmoid(), [5, 9], ['unary.hardsigmoid', 'unary.hardsigmoidDeriv']);
    await compare('SELU', () => new d.SELU(), [5, 9], ['unary.selu', 'unary.seluDeriv']);
    await compare('Hardtanh', () => new d.Hardtanh(-2, 2.5), [5, 9], ['unary.hardtanh', 'unary.hardtanhDeriv']);
    await compare('ReLU6', () => new d.ReLU6(), [5, 9], ['unary.hardtanh', 'unary.hardtanhDeriv']);
    await compare('RMSNorm over [C, L]', () => new d.RMSNorm([4, 5], { eps: 1e-5 }), [3, 4, 5]);
    await compare('RMSNorm eps None, no affine', () => new d.RMSNorm(16, { elementwiseAffine: false }), [6, 16]);
    await compare('Softmax dim 1', () => new d.Softmax(1), [3, 4, 5]);
    await compare('LogSoftmax dim -1', () => new d.LogSoftmax(-1), [3, 4, 5]);
    await compare('Identity', () => new d.Identity(), [3, 4]);
    await compare('Unflatten', () => new d.Unflatten(1, [2, -1]), [3, 8]);
  } finally {
    d.setBackend(prev);
  }
});

test('an MLP of the new layers trains on webgpu step for step as on wasm', async () => {
  reseed(22);
  const batch: StepBatch = { x: rnd(8 * 6, -2, 2), shape: [8, 6], targets: [0, 1, 2, 0, 1, 2, 1, 0] };
  const build = () => {
    const rng = new d.Rng(3);
    return new d.Sequential(
      new d.Linear(6, 16, { rng }),
      new d.RMSNorm(16),
      new d.PReLU({ numParameters: 16 }),
      new d.Linear(16, 16, { rng }),
      new d.Hardswish(),
      new d.Linear(16, 16, { rng }),
      new d.Mish(),
      new d.Unflatten(1, [4, 4]),
      new d.RMSNorm([4, 4]),
      new d.Flatten(),
      new d.SELU(),
      new d.Linear(16, 3, { rng }),
    );
  };
  await assertStepsAlike(build, new Array<StepBatch>(5).fill(batch));
});
