/**
 * initWebGPU({ autotune: true }) end to end (run by `npm run test:webgpu` on lavapipe): a short
 * training run of a CNN and of an MLP with fitAsync times each of the step's products under every
 * tile shape at its first read and runs the rest under the chosen ones, and its losses and
 * parameters equal those of the same run without autotune, value for value (the tile changes the
 * time, not the values; tiles.test.ts forces each shape on each kernel). Without autotune nothing
 * is timed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setBackend, type Module } from '../../../src/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import { TILE_SHAPES, tileBytes, tileFor } from '../../../src/backend/webgpu/gemm.js';
import { disposeWebGPU, initWebGPU } from '../../../src/backend/webgpu/index.js';
import { cnn, mlp, shortRun } from './models.js';

before(async () => {
  await initWasm();
  setBackend('wasm');
});
after(() => disposeWebGPU());

const models: [string, (seed: number) => Module][] = [
  ['CNN', cnn],
  ['MLP', mlp],
];

/** One epoch of 96 images in batches of 32 on a fresh device, with or without autotune: the step losses, the parameters, what was tuned and the kernels dispatched. */
async function run(make: (seed: number) => Module, autotune: boolean) {
  const { losses, params, info } = await shortRun(make, { autotune }, { test: true });
  const workgroupBytes = (await initWebGPU()).device.limits.maxComputeWorkgroupStorageSize;
  return { losses, params, tuned: info.autotune, kernels: info.kernels, workgroupBytes };
}

for (const [name, make] of models)
  test(`${name}: a run with autotune times the products, then equals the run without it value for value`, async () => {
    const plain = await run(make, false);
    assert.equal(plain.tuned, null, 'without autotune nothing is tuned');
    assert.ok(!Object.keys(plain.kernels).some((k) => k.startsWith('autotune:')), 'without autotune no product is timed');

    const tuned = await run(make, true);
    const fit = TILE_SHAPES.filter((t) => tileBytes(t) <= tuned.workgroupBytes).map((t) => t.name);
    assert.ok(tuned.tuned && tuned.tuned.length >= 4, `products tuned: ${tuned.tuned?.length}`);
    for (const p of tuned.tuned) {
      const what = `${p.kernel} ${p.m}×${p.n}×${p.k}`;
      assert.equal(p.base, tileFor(p.m, p.n).name, `${what}: tileFor's shape`);
      assert.ok(Object.keys(p.ms).length >= fit.length - 2, `${what}: timed under ${Object.keys(p.ms).join(', ')}`);
      for (const [s, ms] of Object.entries(p.ms)) assert.ok(ms > 0 && Number.isFinite(ms), `${what} under ${s}: ${ms} ms`);
      assert.ok(p.tile in p.ms, `${what}: the chosen shape ${p.tile} was timed`);
      assert.ok(p.ms[p.tile] <= p.ms[p.base], `${what}: ${p.tile} is not slower than ${p.base}`);
    }
    assert.ok(Object.keys(tuned.kernels).some((k) => k.startsWith('autotune:')));
    console.log(`autotune ${name}: ${tuned.tuned.map((p) => `${p.kernel} ${p.m}×${p.n}×${p.k} ${p.base}→${p.tile}`).join('; ')}`);

    assert.deepEqual(tuned.losses, plain.losses, 'step losses');
    assert.equal(tuned.params.length, plain.params.length);
    for (const [i, p] of tuned.params.entries()) assert.deepEqual(p, plain.params[i], `parameter ${i}`);
  });
