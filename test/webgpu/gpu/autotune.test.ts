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
import { Rng, referenceBackend, setBackend, type Module } from '../../../src/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import { TILE_SHAPES, tileBytes, tileFor } from '../../../src/backend/webgpu/gemm.js';
import { GpuStorage, disposeWebGPU, initWebGPU, webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { matmulSource } from '../../../src/backend/webgpu/dense.js';
import { dispatchProduct } from '../../../src/backend/webgpu/tune.js';
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

test('a tile shape whose shader the device refuses is left out of the timings, and its error reaches no later read', async () => {
  disposeWebGPU();
  const ctx = await initWebGPU({ autotune: true });
  const [m, n, k] = [96, 80, 64];
  const base = tileFor(m, n);
  const bad = TILE_SHAPES.find((t) => t.name !== base.name && tileBytes(t) <= ctx.device.limits.maxComputeWorkgroupStorageSize)!;
  const rng = new Rng(9);
  const a = Float32Array.from({ length: m * k }, () => rng.uniform() - 0.5),
    b = Float32Array.from({ length: k * n }, () => rng.uniform() - 0.5);
  const ga = GpuStorage.from(a, ctx),
    gb = GpuStorage.from(b, ctx),
    go = GpuStorage.zeros('float32', m * n, ctx);
  const queue = () =>
    dispatchProduct(ctx, {
      name: 'matmul',
      family: 'matmul-refused-under-one-shape',
      // not WGSL under `bad`: its pipeline is invalid, which the device reports asynchronously
      source: (t, split) => (t.name === bad.name ? 'fn main( {' : matmulSource(false, false, t, split)),
      ints: [m, n, k],
      storage: [ga, gb, go],
      m,
      n,
      k,
      splittable: true,
      accumulate: false,
    });
  queue();
  const first = (await go.read()) as Float32Array;
  const tuned = webgpuInfo().autotune!.find((p) => p.m === m && p.n === n && p.k === k)!;
  assert.ok(!(bad.name in tuned.ms), `${bad.name} timed: ${JSON.stringify(tuned.ms)}`);
  assert.ok(Object.keys(tuned.ms).length >= 2, `shapes timed: ${Object.keys(tuned.ms).join(', ')}`);
  assert.notEqual(tuned.tile, bad.name);
  queue();
  const second = (await go.read()) as Float32Array;
  assert.deepEqual(second, first, 'the chosen shape gives the same values');
  const want = new Float32Array(m * n);
  referenceBackend.matmul(a, b, want, m, n, k, false, false);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(second[i] - want[i]) <= 1e-5, `entry ${i}: ${second[i]} vs ${want[i]}`);
  await ctx.sync();
});
