/**
 * BatchNorm on the WebGPU backend (run by `npm run test:webgpu` on lavapipe): a CNN with
 * BatchNorm2d and BatchNorm1d trained on 'webgpu' (Module.to + fitAsync) follows the same run on
 * wasm (fit) — step losses, parameters, running statistics and the evaluation each epoch — within
 * float32 noise (the bounds of train.test.ts); the running statistics stay in their own device
 * buffers (no new buffer from the third step on); and
 * updateBatchNormAsync recomputes them on the device as updateBatchNorm does on the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  DataLoader,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Rng,
  Sequential,
  SGD,
  updateBatchNorm,
  updateBatchNormAsync,
  type Module,
} from '../../../src/index.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { assertNear, assertRunNear, data, recordedRun, useWasmAndWebGPU } from './setup.js';

useWasmAndWebGPU();

/**
 * The layers before a BatchNorm have no bias, as usual: BatchNorm subtracts the batch mean, so such
 * a bias gets a gradient that is zero but for float32 rounding. The optimizer is SGD with momentum:
 * Adam divides each gradient by its own size, so a weight whose gradient is a near-cancelling sum
 * moves by lr in directions that differ between the backends (see train.test.ts).
 */
const net = (seed: number): Module => {
  const r = new Rng(seed).fork('init');
  return new Sequential(
    new Conv2d(1, 6, 5, { padding: 2, bias: false, rng: r.fork('c1') }),
    new BatchNorm2d(6),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(6 * 14 * 14, 32, { bias: false, rng: r.fork('f1') }),
    new BatchNorm1d(32, { momentum: 0.2 }),
    new ReLU(),
    new Linear(32, 10, { rng: r.fork('f2') }),
  );
};

/** 2 epochs of 160 images, SGD with momentum; webgpuInfo().buffers recorded after each step. */
async function run(model: Module, device: boolean) {
  const buffersAt: number[] = [];
  const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const r = await recordedRun(model, optimizer, device, { seed: 3, samples: 160, onStep: () => void buffersAt.push(webgpuInfo().buffers) });
  return { ...r, buffersAt };
}

test('a CNN with BatchNorm2d and BatchNorm1d trains on webgpu as on wasm: losses, parameters, running statistics, evaluation', async () => {
  const want = await run(net(4), false);
  const dev = net(4);
  await dev.to('webgpu');
  const held = dev.buffers().map((b) => b.storage);
  assert.ok(dev.buffers().every((b) => b.device === 'webgpu'));
  const got = await run(dev, true);
  // the running statistics were updated in their own storage, which the step scopes left alone
  assert.deepEqual(
    dev.buffers().map((b) => b.storage),
    held,
  );
  const { loss: lossErr, state: stateErr } = assertRunNear(got, want);
  assert.deepEqual(Array.from(got.state.find(([n]) => n === '1.num_batches_tracked')![1]), [10]);
  // from the third step of the first epoch on, every buffer a step needs comes from the pool
  assert.equal(got.buffersAt[4], got.buffersAt[2], 'buffers created in steps 4 and 5');
  console.log(
    `webgpu vs wasm BatchNorm CNN: step loss ${lossErr.toExponential(2)}, parameters and statistics ${stateErr.toExponential(2)}`,
  );

  // update_bn on the device equals update_bn on the host for the same weights
  const host = net(4);
  host.loadStateDict(
    Object.fromEntries(got.state.map(([n, v]) => [n, { shape: [...host.namedState().find(([m]) => m === n)![1].shape], data: v }])),
  );
  const batches = () => new DataLoader(data.train.slice(0, 96), { batchSize: 32 }).epoch(0);
  updateBatchNorm(host, batches());
  await updateBatchNormAsync(dev, batches());
  const hs = host.namedBuffers();
  for (const [i, [n, b]] of dev.namedBuffers().entries()) assertNear(`update_bn ${n}`, await b.read(), hs[i][1].data);
});
