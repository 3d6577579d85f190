/**
 * BatchNorm on the WebGPU backend (run by `npm run test:webgpu` on lavapipe): a CNN with
 * BatchNorm2d and BatchNorm1d trained on 'webgpu' (Module.to + fitAsync) follows the same run on
 * wasm (fit) — step losses, parameters, running statistics and the evaluation each epoch — within
 * float32 noise (the bounds of train.test.ts); the running statistics stay in their own device
 * buffers (no new buffer from the third step on); and
 * updateBatchNormAsync recomputes them on the device as updateBatchNorm does on the host.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  DataLoader,
  fit,
  fitAsync,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Rng,
  Sequential,
  SGD,
  setBackend,
  updateBatchNorm,
  updateBatchNormAsync,
  type Module,
} from '../../../src/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import { disposeWebGPU, initWebGPU, webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { loadEmbedded } from '../../../src/data/node.js';

const TOL = 1e-5;
const data = loadEmbedded();

before(async () => {
  await initWasm();
  setBackend('wasm');
  await initWebGPU();
});
after(() => disposeWebGPU());

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

function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
    if (!(e <= TOL)) assert.fail(`${what}[${i}]: ${got[i]} on webgpu, ${want[i]} on wasm (scaled difference ${e} > ${TOL})`);
    worst = Math.max(worst, e);
  }
  return worst;
}

async function run(model: Module, device: boolean) {
  const rng = new Rng(3);
  const losses: number[] = [];
  const buffersAt: number[] = [];
  const o = {
    model,
    optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }),
    train: new DataLoader(data.train.slice(0, 160), { batchSize: 32, shuffle: true, rng: rng.fork('data') }),
    test: new DataLoader(data.test.slice(0, 64), { batchSize: 32 }),
    epochs: 2,
    rng,
    now: () => 0,
    callbacks: [
      {
        onStepEnd: (_s: unknown, loss: number) => {
          losses.push(loss);
          buffersAt.push(webgpuInfo().buffers);
        },
      },
    ],
  };
  const records = device ? await fitAsync(o) : fit(o);
  const state = await Promise.all(model.namedState().map(async ([n, t]) => [n, await t.read()] as const));
  return { records, losses, state, buffersAt };
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
  const lossErr = close('step loss', got.losses, want.losses);
  let stateErr = 0;
  for (const [i, [n, v]] of got.state.entries()) {
    assert.equal(n, want.state[i][0]);
    stateErr = Math.max(stateErr, close(n, v, want.state[i][1]));
  }
  assert.deepEqual(Array.from(got.state.find(([n]) => n === '1.num_batches_tracked')![1]), [10]);
  for (const [i, r] of got.records.entries()) {
    close(`epoch ${i + 1} losses`, [r.trainLoss, r.testLoss as number], [want.records[i].trainLoss, want.records[i].testLoss as number]);
    assert.equal(r.testAccuracy, want.records[i].testAccuracy, `epoch ${i + 1} test accuracy`);
  }
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
  for (const [i, [n, b]] of dev.namedBuffers().entries()) close(`update_bn ${n}`, await b.read(), hs[i][1].data);
});
