/**
 * Transposed convolutions and upsampling on WebGPU (run by `npm run test:webgpu` on lavapipe):
 * convTranspose2d (it is conv2d's input gradient, so the device's convolution kernels run it) on
 * PyTorch's golden cases and interpolate in every mode, each forward and backward on 'webgpu' with
 * nothing read back, values and gradients equal to the reference backend's within float32 noise;
 * then a small autoencoder-shaped classifier (Conv2d → ConvTranspose2d → Upsample → Linear) trains
 * on webgpu as on wasm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { close, rnd } from './helpers.js';
import { assertStepsAlike, type StepBatch } from './setup.js';

const TOL = 1e-5;
type Entry = { shape: number[]; data: number[] };
const F = JSON.parse(readFileSync(new URL('../../../../test/fixtures/upsampling/conv-transpose.json', import.meta.url), 'utf8')) as {
  cases: { name: string; params: d.ConvTranspose2dArgs; x: Entry; w: Entry; b: Entry }[];
};

/** fn on reference tensors and on 'webgpu' copies: the values and the gradients of Σ y·gy for every input, compared, nothing read back in between. */
async function compareOp(name: string, inputs: Float32Array[], shapes: number[][], fn: (xs: d.Tensor[]) => d.Tensor): Promise<void> {
  const prev = d.backend().name;
  d.setBackend('reference');
  try {
    const xs = inputs.map((v, i) => d.fromData(v, shapes[i], { requiresGrad: true }));
    const y = fn(xs);
    const gyv = rnd(y.size);
    d.sum(d.mul(y, d.fromData(gyv, y.shape))).backward();
    const xd = await Promise.all(inputs.map((v, i) => d.fromData(v, shapes[i], { requiresGrad: true }).to('webgpu')));
    const gy = await d.fromData(gyv, y.shape).to('webgpu');
    const reads = webgpuInfo().reads;
    const yd = fn(xd);
    d.sum(d.mul(yd, gy)).backward();
    assert.equal(webgpuInfo().reads, reads, `${name}: nothing is read back to the host`);
    assert.equal(yd.device, 'webgpu', `${name}: the output lives on the device`);
    assert.deepEqual(yd.shape, y.shape, `${name}: shape`);
    close(name, await yd.read(), y.data, TOL, ' y');
    for (let i = 0; i < xs.length; i++) close(name, await xd[i].grad!.read(), xs[i].grad!.data, TOL, ` d${i}`);
  } finally {
    d.setBackend(prev);
  }
}

test('convTranspose2d on webgpu equals the reference on every golden case (strides, outputPadding, dilation, groups): values and x, w, b gradients', async () => {
  for (const c of F.cases) {
    const inputs = [c.x, c.w, c.b].map((e) => Float32Array.from(e.data));
    await compareOp(c.name, inputs, [c.x.shape, c.w.shape, c.b.shape], ([x, w, b]) => d.convTranspose2d(x, w, b, c.params));
  }
});

test('interpolate on webgpu equals the reference in every mode: values and input gradients', async () => {
  const cases: [number[], d.InterpolateOptions][] = [
    [[2, 3, 5, 7], { scaleFactor: 2 }],
    [[2, 3, 5, 7], { size: [9, 4], mode: 'nearest-exact' }],
    [[2, 3, 5, 7], { size: [11, 13], mode: 'bilinear' }],
    [[2, 3, 5, 7], { scaleFactor: [0.6, 1.5], mode: 'bilinear', alignCorners: true }],
    [[2, 3, 9], { size: 20, mode: 'linear' }],
  ];
  for (const [shape, opts] of cases)
    await compareOp(`interpolate ${JSON.stringify(opts)}`, [rnd(shape.reduce((a, b) => a * b, 1))], [shape], ([x]) =>
      d.interpolate(x, opts),
    );
});

test('Conv2d → ReLU → ConvTranspose2d → Upsample (bilinear, nearest) → Linear trains on webgpu as on wasm; no read inside a step', async () => {
  const build = () => {
    const rng = new d.Rng(3);
    return new d.Sequential(
      new d.Conv2d(1, 4, 3, { stride: 2, padding: 1, rng }),
      new d.ReLU(),
      new d.ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1, rng }),
      new d.Upsample({ scaleFactor: 0.5, mode: 'bilinear' }),
      new d.ConvTranspose2d(3, 2, 3, { dilation: 2, outputPadding: 1, groups: 1, rng }),
      new d.Upsample({ size: [5, 5] }),
      new d.Flatten(),
      new d.Linear(50, 3, { rng }),
    );
  };
  const n = 6;
  const batch: StepBatch = { x: rnd(n * 64), shape: [n, 1, 8, 8], targets: Array.from({ length: n }, (_, i) => i % 3) };
  const { want, got } = await assertStepsAlike(build, new Array<StepBatch>(5).fill(batch), { lr: 0.3 });
  console.log(`step losses: wasm ${want.map((v) => v.toFixed(5))}, webgpu ${got.map((v) => v.toFixed(5))}`);
});
