/**
 * Gradient clipping, early stopping and model checkpoints on WebGPU (run by `npm run test:webgpu`
 * on lavapipe): the MLP trained with clipGradNormCallback / clipGradValueCallback,
 * earlyStopping(restoreBest) and modelCheckpoint on 'webgpu' (Module.to + fitAsync) follows the
 * same run on wasm (fit): its losses, where it stops, the epochs it saves and the weights it ends
 * with or saves; with saveFreq, the weights of each step saved, which fitAsync must take at the step
 * (its losses arrive a step late). Tolerance as in regularize.test.ts (1e-5 scaled by 1 + |value|);
 * without the clipping the run differs by far more (checked below), so a clipping not applied on
 * the device fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clipGradNormCallback,
  clipGradValueCallback,
  earlyStopping,
  fit,
  fitAsync,
  type Callback,
  type Module,
} from '../../../src/index.js';
import { join } from 'node:path';
import { modelCheckpoint } from '../../../src/io/model-checkpoint.js';
import { loadSafetensorsFile } from '../../../src/io/safetensors-node.js';
import { tempDir } from '../../tmp-dir.js';
import { mlp } from './models.js';
import { near, sgdOptions, useWasmAndWebGPU } from './setup.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';

useWasmAndWebGPU();

const options = (model: Module, callbacks: Callback[], epochs: number, lr: number) => sgdOptions(model, callbacks, { epochs, lr });

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
    got.forEach((l, i) => assert.ok(near(l, steps[i]), `step ${i + 1} loss ${l} vs ${steps[i]}`));
    assert.deepEqual(
      records.map((r) => [r.epoch, r.stoppedEarly, r.restoredEpoch]),
      want.map((r) => [r.epoch, r.stoppedEarly, r.restoredEpoch]),
    );
    const params = await Promise.all(dev.parameters().map((p) => p.read()));
    host.parameters().forEach((p, i) => {
      for (let j = 0; j < p.size; j++) assert.ok(near(params[i][j], p.data[j]), `parameter ${i}[${j}]: ${params[i][j]} vs ${p.data[j]}`);
    });
    assert.equal(dev.parameters()[0].device, 'webgpu');
  });
}

test('clip_grad_norm_ on WebGPU uploads its constants once per run, none in a step, and the step scopes leave them usable', async () => {
  const run = async (callbacks: Callback[]) => {
    const m = mlp(2);
    await m.to('webgpu');
    const before = webgpuInfo().uploads;
    const steps: number[] = [];
    await fitAsync(options(m, [...callbacks, { onStepEnd: (_s, l) => void steps.push(l) }], 2, 0.05));
    return { uploads: webgpuInfo().uploads - before, steps: steps.length };
  };
  const plain = await run([]);
  assert.equal(plain.steps, 6);
  // maxNorm, 1e-6 and 1; a general p-norm adds p and 1/p
  for (const [normType, constants] of [
    [2, 3],
    [3, 5],
  ]) {
    const clipped = await run([clipGradNormCallback({ maxNorm: 0.1, normType })]);
    assert.equal(clipped.steps, plain.steps);
    assert.equal(clipped.uploads - plain.uploads, constants, `normType ${normType}: uploads beyond the plain run's`);
  }
});

test('modelCheckpoint on WebGPU saves the epochs wasm saves, the weights read back from the GPU', async () => {
  const dir = tempDir('descent-checkpoint-webgpu-');
  const hostPath = join(dir, 'wasm.safetensors');
  const host = mlp(2);
  const want = fit(options(host, [modelCheckpoint({ path: hostPath }), earlyStopping({ patience: 100, restoreBest: true })], 6, 0.5));
  const saves = want.filter((r) => r.savedBest === true).map((r) => r.epoch);
  assert.ok(saves.length > 1 && saves.length < 6, `saves at some epochs only (${saves.join(', ')})`);
  const devPath = join(dir, 'webgpu.safetensors');
  const dev = mlp(2);
  await dev.to('webgpu');
  const got = await fitAsync(options(dev, [modelCheckpoint({ path: devPath })], 6, 0.5));
  assert.deepEqual(
    got.filter((r) => r.savedBest === true).map((r) => r.epoch),
    saves,
  );
  const a = mlp(3),
    b = mlp(3);
  loadSafetensorsFile(hostPath, a);
  loadSafetensorsFile(devPath, b);
  // the wasm file holds the weights restoreBest put back
  host.parameters().forEach((p, i) => assert.deepEqual(a.parameters()[i].data, p.data));
  a.parameters().forEach((p, i) => {
    const q = b.parameters()[i].data;
    for (let j = 0; j < p.size; j++) assert.ok(near(q[j], p.data[j]), `parameter ${i}[${j}]: ${q[j]} vs ${p.data[j]}`);
  });
});

test('modelCheckpoint saveFreq on WebGPU: each file holds the weights right after its step, though fitAsync reads the losses a step late', async () => {
  const dir = tempDir('descent-checkpoint-steps-webgpu-');
  // 192 images in batches of 64: 3 steps an epoch, 6 in 2 epochs
  const host = mlp(2);
  const after = new Map<number, Float32Array[]>();
  const capture: Callback = {
    onUpdate: (s) =>
      void after.set(
        s.step,
        s.model.parameters().map((p) => Float32Array.from(p.data)),
      ),
  };
  const hostBest = modelCheckpoint({ path: join(dir, 'wasm-best.safetensors'), saveFreq: 2, monitor: 'trainLoss' });
  fit(options(host, [capture, hostBest], 2, 0.5));
  const dev = mlp(2);
  await dev.to('webgpu');
  const devBest = modelCheckpoint({ path: join(dir, 'webgpu-best.safetensors'), saveFreq: 2, monitor: 'trainLoss' });
  await fitAsync(
    options(dev, [modelCheckpoint({ path: join(dir, 'g-{step}.safetensors'), saveFreq: 1, saveBestOnly: false }), devBest], 2, 0.5),
  );
  const fileParams = (path: string) => {
    const m = mlp(3);
    loadSafetensorsFile(path, m);
    return m.parameters().map((p) => p.data);
  };
  for (let k = 1; k <= 6; k++)
    fileParams(join(dir, `g-${k}.safetensors`)).forEach((q, i) => {
      const p = after.get(k)![i];
      for (let j = 0; j < p.length; j++) assert.ok(near(q[j], p[j]), `step ${k}, parameter ${i}[${j}]: ${q[j]} vs ${p[j]}`);
    });
  // the best of steps 2, 4, 6 by training loss: the same step's weights on both
  assert.ok(near(devBest.best, hostBest.best), `best loss ${devBest.best} vs ${hostBest.best}`);
  const a = fileParams(join(dir, 'wasm-best.safetensors'));
  fileParams(join(dir, 'webgpu-best.safetensors')).forEach((q, i) => {
    for (let j = 0; j < q.length; j++) assert.ok(near(q[j], a[i][j]), `best, parameter ${i}[${j}]: ${q[j]} vs ${a[i][j]}`);
  });
});
