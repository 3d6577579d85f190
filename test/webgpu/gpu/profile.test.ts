/**
 * initWebGPU({ profile: true }) end to end (run by `npm run test:webgpu` on lavapipe): a short
 * training run with the profiler on gives every kernel it dispatched, with its dispatch count and
 * a device time, and equals the run without it value for value (a pass per dispatch changes the
 * time, not the values); more dispatches than one batch's queries are all timed; off, the profiler
 * times nothing and webgpuProfile() says how to turn it on.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setBackend, type Module } from '../../../src/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import { GpuStorage, disposeWebGPU, initWebGPU, webgpuInfo, webgpuKernels, webgpuProfile } from '../../../src/backend/webgpu/index.js';
import { PROFILE_PAIRS } from '../../../src/backend/webgpu/profile.js';
import { cnn, mlp, shortRun } from './models.js';

before(async () => {
  await initWasm();
  setBackend('wasm');
});
after(() => disposeWebGPU());

/** One epoch of 64 images in batches of 32 on a fresh device, profiled or not: step losses, parameters, kernels dispatched, the profile. */
async function run(make: (seed: number) => Module, profile: boolean) {
  const { losses, params, info } = await shortRun(make, { profile }, { init: 5, seed: 23, n: 64 });
  return { losses, params, kernels: info.kernels, profiling: info.profiling, times: profile ? await webgpuProfile() : null };
}

for (const [name, make] of [
  ['MLP', mlp],
  ['CNN', cnn],
] as const)
  test(`${name}: a profiled run times every kernel it dispatched, and equals the unprofiled run value for value`, async () => {
    const plain = await run(make, false);
    assert.equal(plain.profiling, false);
    await assert.rejects(webgpuProfile(), /webgpuProfile: the profiler is off; initWebGPU\(\{ profile: true \}\) turns it on/);

    const profiled = await run(make, true);
    assert.equal(profiled.profiling, true);
    const times = profiled.times!;
    // the model moved to the device before any dispatch: every dispatch of the run was timed
    assert.deepEqual(
      Object.fromEntries(times.map((t) => [t.kernel, t.calls])),
      profiled.kernels,
      'each kernel dispatched, with its dispatch count',
    );
    for (const t of times) assert.ok(Number.isFinite(t.ms) && t.ms >= 0, `${t.kernel}: ${t.ms} ms`);
    for (let i = 1; i < times.length; i++) assert.ok(times[i].ms <= times[i - 1].ms, 'most time first');
    const total = times.reduce((s, t) => s + t.ms, 0);
    assert.ok(total > 0, `device time ${total} ms`);
    console.log(`profile ${name}: ${times.map((t) => `${t.kernel} ×${t.calls} ${t.ms.toFixed(2)} ms`).join('; ')}`);

    assert.deepEqual(profiled.losses, plain.losses, 'step losses');
    for (const [i, p] of profiled.params.entries()) assert.deepEqual(p, plain.params[i], `parameter ${i}`);
  });

test('more dispatches than one batch of queries are all timed; reset starts over, and profile: false turns it off', async () => {
  disposeWebGPU();
  const ctx = await initWebGPU({ profile: true });
  const k = webgpuKernels(ctx);
  const a = GpuStorage.from(new Float32Array(1000).fill(0.5), ctx),
    out = GpuStorage.zeros('float32', 1000, ctx);
  const n = PROFILE_PAIRS + 100;
  for (let i = 0; i < n; i++) k.unary('exp', a, out);
  const first = await webgpuProfile({ reset: true });
  assert.deepEqual(
    first.map((t) => [t.kernel, t.calls]),
    [['unary.exp', n]],
  );
  assert.deepEqual(Array.from((await out.read()).subarray(0, 2)), [Math.fround(Math.exp(0.5)), Math.fround(Math.exp(0.5))]);
  k.unary('neg', a, out);
  assert.deepEqual(
    (await webgpuProfile()).map((t) => [t.kernel, t.calls]),
    [['unary.neg', 1]],
    'after a reset, only what came since',
  );
  await initWebGPU({ profile: false });
  assert.equal(webgpuInfo().profiling, false);
  await assert.rejects(webgpuProfile(), /the profiler is off/);
  await assert.rejects(initWebGPU({ profile: 'yes' as unknown as boolean }), /profile/);
});
