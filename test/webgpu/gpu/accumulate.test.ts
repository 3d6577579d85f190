/**
 * Gradient accumulation on WebGPU (lavapipe): fitAsync with accumulate 3 and the model on 'webgpu'
 * follows fit with accumulate 3 on wasm within float32 noise (each step's group loss, the
 * parameters, the records), with one fused update per parameter and group.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, SGD, type AnyOptimizer, type Module } from '../../../src/index.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { cnn, mlpDropout } from './models.js';
import { assertNear, recordedRun, useWasmAndWebGPU } from './setup.js';

useWasmAndWebGPU();

/** recordedRun (2 epochs of `samples` images in batches of 32, seed 13) with accumulate 3: onStepEnd's losses are the groups'. */
const run = (model: Module, optimizer: AnyOptimizer, samples: number, device: boolean) =>
  recordedRun(model, optimizer, device, { seed: 13, samples, extra: { accumulate: 3 } });

const cases: [string, (seed: number) => Module, (m: Module) => AnyOptimizer, number, string, number][] = [
  // 5 batches per epoch: groups of 3 and 2
  ['MLP + dropout, Adam', mlpDropout, (m) => new Adam(m.parameters(), { lr: 2e-3 }), 160, 'adamStep', 4],
  // 2 batches per epoch: one partial group
  ['CNN, SGD with momentum', cnn, (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 }), 64, 'sgdStep', 2],
];

for (const [name, make, makeOpt, samples, update, steps] of cases) {
  test(`${name}, accumulate 3: webgpu follows wasm within float32 noise, one update per group`, async () => {
    const host = make(5);
    const want = await run(host, makeOpt(host), samples, false);
    const dev = make(5);
    await dev.to('webgpu');
    const before = webgpuInfo().kernels[update] ?? 0;
    const got = await run(dev, makeOpt(dev), samples, true);
    assert.equal(want.losses.length, steps);
    assert.equal(got.losses.length, steps);
    assert.equal((webgpuInfo().kernels[update] ?? 0) - before, steps * got.params.length, `${update} dispatches`);
    const lossErr = assertNear('group loss', got.losses, want.losses);
    let paramErr = 0;
    for (const [i, p] of got.params.entries()) paramErr = Math.max(paramErr, assertNear(`parameter ${i}`, p, want.params[i]));
    for (const [i, r] of got.records.entries()) {
      const w = want.records[i];
      assertNear(`epoch ${i + 1} losses`, [r.trainLoss, r.testLoss as number], [w.trainLoss, w.testLoss as number]);
      assert.equal(r.testAccuracy, w.testAccuracy, `epoch ${i + 1} test accuracy`);
    }
    assert.ok(Math.abs(want.losses[0] - want.losses[want.losses.length - 1]) > 1e-3, 'the run learned something');
    console.log(`webgpu vs wasm ${name}, accumulate 3: group loss ${lossErr.toExponential(2)}, parameters ${paramErr.toExponential(2)}`);
  });
}
