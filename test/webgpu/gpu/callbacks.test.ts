/**
 * Gradient clipping and early stopping on WebGPU (run by `npm run test:webgpu` on lavapipe): the
 * MLP trained with clipGradNormCallback / clipGradValueCallback and earlyStopping(restoreBest) on
 * 'webgpu' (Module.to + fitAsync) follows the same run on wasm (fit): its losses, where it stops,
 * and the weights it ends with. Tolerance as in regularize.test.ts (1e-5 scaled by 1 + |value|);
 * without the clipping the run differs by far more (checked below), so a clipping not applied on
 * the device fails here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clipGradNormCallback,
  clipGradValueCallback,
  DataLoader,
  earlyStopping,
  fit,
  fitAsync,
  Rng,
  SGD,
  setBackend,
  type Callback,
  type Module,
} from '../../../src/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import { mlp } from './models.js';
import { disposeWebGPU, initWebGPU } from '../../../src/backend/webgpu/index.js';
import { loadEmbedded } from '../../../src/data/node.js';

const TOL = 1e-5;
const data = loadEmbedded();

before(async () => {
  await initWasm();
  setBackend('wasm');
  await initWebGPU();
});
after(() => disposeWebGPU());

function options(model: Module, callbacks: Callback[], epochs: number, lr: number) {
  const rng = new Rng(8);
  return {
    model,
    optimizer: new SGD(model.parameters(), { lr, momentum: 0.9 }),
    train: new DataLoader(data.train.slice(0, 192), { batchSize: 64, shuffle: true, rng: rng.fork('data') }),
    test: new DataLoader(data.test.slice(0, 64), { batchSize: 64 }),
    epochs,
    rng,
    now: () => 0,
    callbacks,
  };
}

const close = (a: number, b: number) => Math.abs(a - b) <= TOL * (1 + Math.abs(b));

const runs: [string, () => Callback[], number, number][] = [
  ['clip_grad_norm_ 0.1', () => [clipGradNormCallback({ maxNorm: 0.1 })], 2, 0.05],
  ['clip_grad_value_ 0.005', () => [clipGradValueCallback({ clipValue: 0.005 })], 2, 0.05],
  [
    'clip_grad_norm_ 0.5 and early stopping with restoreBest',
    () => [clipGradNormCallback({ maxNorm: 0.5 }), earlyStopping({ patience: 0, restoreBest: true })],
    6,
    0.5,
  ],
];

for (const [name, make, epochs, lr] of runs) {
  test(`WebGPU with ${name} follows wasm`, async () => {
    const host = mlp(2);
    const steps: number[] = [];
    const want = fit(options(host, [...make(), { onStepEnd: (_s, l) => void steps.push(l) }], epochs, lr));
    if (epochs > 2)
      assert.ok(
        want.length < epochs && want[want.length - 1].restoredEpoch !== want.length,
        `stops early, before its best epoch's weights are restored (${want.length} epochs)`,
      );
    const plain = mlp(2);
    const plainSteps: number[] = [];
    fit(options(plain, [{ onStepEnd: (_s, l) => void plainSteps.push(l) }], epochs, lr));
    assert.ok(
      plainSteps.some((l, i) => i < steps.length && Math.abs(l - steps[i]) > 1e-3 * (1 + Math.abs(l))),
      'without the callbacks the losses differ',
    );
    const dev = mlp(2);
    await dev.to('webgpu');
    const got: number[] = [];
    const records = await fitAsync(options(dev, [...make(), { onStepEnd: (_s, l) => void got.push(l) }], epochs, lr));
    assert.equal(got.length, steps.length);
    got.forEach((l, i) => assert.ok(close(l, steps[i]), `step ${i + 1} loss ${l} vs ${steps[i]}`));
    assert.deepEqual(
      records.map((r) => [r.epoch, r.stoppedEarly, r.restoredEpoch]),
      want.map((r) => [r.epoch, r.stoppedEarly, r.restoredEpoch]),
    );
    const params = await Promise.all(dev.parameters().map((p) => p.read()));
    host.parameters().forEach((p, i) => {
      for (let j = 0; j < p.size; j++) assert.ok(close(params[i][j], p.data[j]), `parameter ${i}[${j}]: ${params[i][j]} vs ${p.data[j]}`);
    });
    assert.equal(dev.parameters()[0].device, 'webgpu');
  });
}
