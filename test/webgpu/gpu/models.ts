/** The small models the WebGPU training tests share, each drawn from its seed's 'init' stream, and a short run of one on a fresh device. */
import {
  Adam,
  Conv2d,
  DataLoader,
  Dropout,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Rng,
  Sequential,
  fitAsync,
  type Module,
} from '../../../src/index.js';
import { disposeWebGPU, initWebGPU, webgpuInfo, type WebGPUOptions } from '../../../src/backend/webgpu/index.js';
import { data } from './setup.js';

/** 784-64-10 with ReLU. */
export const mlp = (seed: number) => {
  const r = new Rng(seed).fork('init');
  return new Sequential(new Flatten(), new Linear(784, 64, { rng: r.fork('a') }), new ReLU(), new Linear(64, 10, { rng: r.fork('b') }));
};

/** 784-64-10 with ReLU and dropout 0.2 after the hidden layer. */
export const mlpDropout = (seed: number) => {
  const r = new Rng(seed).fork('init');
  return new Sequential(
    new Flatten(),
    new Linear(784, 64, { rng: r.fork('a') }),
    new ReLU(),
    new Dropout(0.2),
    new Linear(64, 10, { rng: r.fork('b') }),
  );
};

/** conv 5×5×6 (padding 2), pool, conv 3×3×8 (padding 1), pool, fc 32, fc 10. */
export const cnn = (seed: number) => {
  const r = new Rng(seed).fork('init');
  return new Sequential(
    new Conv2d(1, 6, 5, { padding: 2, rng: r.fork('c1') }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(6, 8, 3, { padding: 1, rng: r.fork('c2') }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(8 * 7 * 7, 32, { rng: r.fork('f1') }),
    new ReLU(),
    new Linear(32, 10, { rng: r.fork('f2') }),
  );
};

/**
 * One epoch of the first `n` embedded images in batches of 32 (shuffled by stream `seed`), Adam lr
 * 2e-3, on a fresh device made with `opts`, the model drawn from seed `init`: its step losses, its
 * parameters and webgpuInfo() at the end (with `test`, the first 32 test images are evaluated too).
 */
export async function shortRun(make: (seed: number) => Module, opts: WebGPUOptions, { init = 3, seed = 17, n = 96, test = false } = {}) {
  disposeWebGPU();
  await initWebGPU(opts);
  const model = make(init);
  await model.to('webgpu');
  const rng = new Rng(seed);
  const losses: number[] = [];
  await fitAsync({
    model,
    optimizer: new Adam(model.parameters(), { lr: 2e-3 }),
    train: new DataLoader(data.train.slice(0, n), { batchSize: 32, shuffle: true, rng: rng.fork('data') }),
    test: test ? new DataLoader(data.test.slice(0, 32), { batchSize: 32 }) : undefined,
    epochs: 1,
    rng,
    now: () => 0,
    callbacks: [{ onStepEnd: (_s: unknown, loss: number) => void losses.push(loss) }],
  });
  const params: Float32Array[] = [];
  for (const p of model.parameters()) params.push((await p.read()) as Float32Array);
  return { losses, params, info: webgpuInfo() };
}
