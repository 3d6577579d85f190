/**
 * MixUp and CutMix training on WebGPU (run by `npm run test:webgpu` on lavapipe): the CNN trained on
 * mixed batches — host images and class-probability targets, uploaded each step, the cross-entropy
 * against the probabilities composed on the device — follows the same run on wasm: each step's loss,
 * the epochs' losses and accuracies and the final weights, within float32 noise. The same run
 * without the mix differs by far more (checked), so targets that lost their mixing on the way fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, DataLoader, Rng, cutmix, fit, fitAsync, mixup, randomChoiceMix, type FitOptions, type Module } from '../../../src/index.js';
import { assertNear, data, useWasmAndWebGPU } from './setup.js';
import { cnn } from './models.js';

useWasmAndWebGPU();

function options(model: Module, mixed: boolean, losses: number[]): FitOptions {
  const rng = new Rng(12);
  const mix = mixed ? randomChoiceMix([mixup({ alpha: 0.4, numClasses: 10 }), cutmix({ alpha: 1, numClasses: 10 })]) : undefined;
  return {
    model,
    optimizer: new Adam(model.parameters(), { lr: 0.003 }),
    train: new DataLoader(data.train.slice(0, 128), { batchSize: 32, shuffle: true, rng: rng.fork('data'), mix }),
    test: new DataLoader(data.test.slice(0, 64), { batchSize: 32 }),
    epochs: 2,
    rng,
    now: () => 0,
    callbacks: [{ onStepEnd: (_s, loss) => void losses.push(loss) }],
  };
}

test('a CNN trained on MixUp/CutMix batches on webgpu follows the wasm run', async () => {
  const wantLosses: number[] = [],
    gotLosses: number[] = [],
    plainLosses: number[] = [];
  const host = cnn(3);
  const want = fit(options(host, true, wantLosses));
  const device = cnn(3);
  await device.to('webgpu');
  const got = await fitAsync(options(device, true, gotLosses));
  fit(options(cnn(3), false, plainLosses));
  const worst = assertNear('step loss', gotLosses, wantLosses);
  assert.equal(gotLosses.length, 8);
  for (const [i, r] of got.entries()) {
    assertNear(`epoch ${i + 1}`, [r.trainLoss, r.testLoss as number], [want[i].trainLoss, want[i].testLoss as number]);
    assert.equal(r.testAccuracy, want[i].testAccuracy);
  }
  const params = host.parameters();
  for (const [i, p] of device.parameters().entries()) assertNear(`parameter ${i}`, (await p.read()) as Float32Array, params[i].data);
  const apart = Math.max(...plainLosses.map((l, i) => Math.abs(l - wantLosses[i])));
  assert.ok(apart > 100 * (worst + 1e-7), `the unmixed run is ${apart} away, the device run ${worst}`);
});
