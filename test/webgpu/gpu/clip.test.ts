/**
 * clipGradNormAsync and clipGradValue_ on the GPU (lavapipe): the norm and the clipped gradients
 * equal clipGradNorm_'s and clipGradValue_'s on wasm within float32 noise, and their constants are
 * uploaded once per device and value — also when the call is inside a step scope, which frees what a
 * step allocates but not those constants (a later call binds them: a freed storage would be refused).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clipGradNorm_, clipGradNormAsync, clipGradValue_, Rng, SGD, Tensor } from '../../../src/index.js';
import { moveTensor } from '../../../src/autograd/device.js';
import { beginDeviceStep } from '../../../src/train/async.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { assertNear, useWasmAndWebGPU } from './setup.js';
import { mlp } from './models.js';

useWasmAndWebGPU();

/** Gradients of 37, 300 and 5 elements drawn from `seed`, as parameters' .grad on the host or on the GPU. */
async function withGrads(seed: number, device: boolean): Promise<Tensor[]> {
  const rng = new Rng(seed);
  return Promise.all(
    [37, 300, 5].map(async (n) => {
      const p = new Tensor(new Float32Array(n), [n], true);
      p.grad = new Tensor(
        Float32Array.from({ length: n }, () => rng.uniform() - 0.5),
        [n],
      );
      if (device) await moveTensor(p, 'webgpu');
      return p;
    }),
  );
}

test('clipGradNormAsync on the GPU equals clipGradNorm_ on wasm and uploads its constants once, inside step scopes too', async () => {
  // a step scope needs a model on the device to find it: the scope of this MLP's device
  const model = mlp(1);
  await model.to('webgpu');
  const optimizer = new SGD(model.parameters());
  // the first call of each: maxNorm, 1e-6 and 1 for the 2-norm (this file's device is fresh), none
  // more for the ∞-norm, p and 1/p for the 3-norm
  for (const [normType, first] of [
    [2, 3],
    [Infinity, 0],
    [3, 2],
  ]) {
    const uploads: number[] = [];
    for (let call = 0; call < 3; call++) {
      const host = await withGrads(call, false);
      const dev = await withGrads(call, true);
      const want = clipGradNorm_(host, 0.75, normType);
      const end = beginDeviceStep(model, optimizer);
      const before = webgpuInfo().uploads;
      const total = clipGradNormAsync(dev, 0.75, normType);
      uploads.push(webgpuInfo().uploads - before);
      end();
      assertNear(`norm ${normType}, call ${call + 1}`, [await total], [want]);
      for (const [i, p] of dev.entries()) assertNear(`norm ${normType}: gradient ${i}`, await p.grad!.read(), host[i].grad!.data);
    }
    assert.deepEqual(uploads, [first, 0, 0], `norm ${normType}: uploads of each call`);
  }
});

test('clipGradValue_ on the GPU equals clipGradValue_ on wasm and uploads ±clipValue once, inside step scopes too', async () => {
  const model = mlp(2);
  await model.to('webgpu');
  const optimizer = new SGD(model.parameters());
  const uploads: number[] = [];
  for (let call = 0; call < 3; call++) {
    const host = await withGrads(10 + call, false);
    const dev = await withGrads(10 + call, true);
    clipGradValue_(host, 0.2);
    const end = beginDeviceStep(model, optimizer);
    const before = webgpuInfo().uploads;
    clipGradValue_(dev, 0.2);
    uploads.push(webgpuInfo().uploads - before);
    end();
    for (const [i, p] of dev.entries()) assertNear(`call ${call + 1}: gradient ${i}`, await p.grad!.read(), host[i].grad!.data);
  }
  // −0.2 and 0.2 on the first call (no earlier test of this file binds them), for all three gradients
  assert.deepEqual(uploads, [2, 0, 0], 'uploads of each call');
});
