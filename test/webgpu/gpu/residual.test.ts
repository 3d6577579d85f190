/**
 * Residual blocks on the WebGPU backend (run by `npm run test:webgpu` on lavapipe): a ResNet-style
 * CNN built from a spec (an identity block and a projection block, BatchNorm in both parts) trained
 * on 'webgpu' (Module.to + fitAsync) follows the same run on wasm (fit) — step losses, parameters,
 * running statistics and each epoch's evaluation — within float32 noise (the bounds and the reasons
 * for SGD with momentum are batchnorm.test.ts's); and `descent train --backend webgpu` trains such a
 * spec, saves it, and `descent eval` rebuilds it from the file.
 *
 * The learning rate is 0.02: at 0.05 a pre-activation of the ReLU after a block falls within 1e-7
 * of 0 in the eighth step, so float32 noise decides whether its gradient passes, and one weight of
 * the block then differs by 4e-5 even between wasm and the reference backend (both on the host).
 * Measured on lavapipe at 0.02: 7.2e-8 on a step's loss, 1.5e-7 on a parameter or statistic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveModel, Residual, Rng, SGD, type Module } from '../../../src/index.js';
import { assertRunNear, recordedRun, useWasmAndWebGPU } from './setup.js';

const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const SPEC =
  'conv:4:3:pad=1:bias=false,batchnorm,relu,maxpool:2,res[conv:4:3:pad=1:bias=false,batchnorm,relu,conv:4:3:pad=1:bias=false,batchnorm],relu,' +
  'res[conv:8:3:stride=2:pad=1:bias=false,batchnorm,relu,conv:8:3:pad=1:bias=false,batchnorm;conv:8:1:stride=2:bias=false,batchnorm],relu,gap,flatten,linear';

useWasmAndWebGPU();

const net = (seed: number): Module => resolveModel(SPEC).build({ rng: new Rng(seed), inputShape: [1, 28, 28], classes: 10 });

/** 2 epochs of 128 images, SGD with momentum. */
const run = (model: Module, device: boolean) =>
  recordedRun(model, new SGD(model.parameters(), { lr: 0.02, momentum: 0.9 }), device, { seed: 5, samples: 128 });

test('a residual CNN with BatchNorm trains on webgpu as on wasm: losses, parameters, running statistics, evaluation', async () => {
  const want = await run(net(6), false);
  const dev = net(6);
  assert.ok(dev instanceof Object && (dev as unknown as { layers: Module[] }).layers.some((l) => l instanceof Residual));
  await dev.to('webgpu');
  assert.ok(
    dev.namedState().every(([, t]) => t.device === 'webgpu'),
    'to() reaches the tensors inside the blocks',
  );
  const got = await run(dev, true);
  const { loss: lossErr, state: stateErr } = assertRunNear(got, want);
  assert.deepEqual(Array.from(got.state.find(([n]) => n === '6.shortcut.1.num_batches_tracked')![1]), [8]);
  console.log(`webgpu vs wasm residual CNN: step loss ${lossErr.toExponential(2)}, parameters and statistics ${stateErr.toExponential(2)}`);
});

test('descent train --backend webgpu trains a res spec and saves it; descent eval rebuilds it from the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-gpu-res-'));
  try {
    const weights = join(dir, 'res.safetensors');
    const common = ['--data', 'embedded', '--test-limit', '64'];
    const t = spawnSync(
      process.execPath,
      [
        main,
        'train',
        '--model',
        SPEC,
        ...common,
        '--limit',
        '128',
        '--batch-size',
        '32',
        '--epochs',
        '1',
        '--backend',
        'webgpu',
        '--json',
        '--save',
        weights,
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    assert.equal(t.status, 0, `exit status ${t.status} (signal ${t.signal}): ${t.stderr}`);
    const last = JSON.parse(
      t.stdout
        .split('\n')
        .filter((l) => l.startsWith('{"epoch"'))
        .pop()!,
    );
    const e = spawnSync(process.execPath, [main, 'eval', '--weights', weights, ...common, '--backend', 'wasm', '--json'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(e.status, 0, e.stderr);
    const r = JSON.parse(e.stdout);
    assert.equal(r.accuracy, last.testAccuracy);
    assert.ok(Math.abs(r.loss - last.testLoss) < 1e-5, `${r.loss} on wasm vs ${last.testLoss} on webgpu`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
