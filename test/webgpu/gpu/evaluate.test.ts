/**
 * evaluateAsync's device storage (lavapipe): each batch's tensors — the uploaded batch, the
 * activations, the loss, the output — are freed when the batch is queued, as a training step's
 * are, so an evaluation of many batches takes every buffer after its first batch's from the pool;
 * its figures are unchanged (equal to the same evaluation on wasm within float32 noise, the
 * accuracy exactly). The pool's bytes are not compared: a tensor of an earlier test that the
 * garbage collector reclaims meanwhile adds its buffer to the pool (the MLP's parameters, 203,560
 * bytes, did so during the CNN's test). predictAsync with the model on the GPU gives predict's
 * outputs on wasm within float32 noise, and predict refuses the model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, Tensor, evaluate, evaluateAsync, predict, predictAsync, type Module } from '../../../src/index.js';
import { crossEntropy } from '../../../src/autograd/cross-entropy.js';
import { initWebGPU, webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { cnn, mlpDropout } from './models.js';
import { assertNear, data, useWasmAndWebGPU } from './setup.js';

useWasmAndWebGPU();

/** 160 test images in 5 batches of 32. */
const batches = () => new DataLoader(data.test.slice(0, 160), { batchSize: 32 });

for (const [name, make] of [
  ['the MLP', mlpDropout],
  ['the CNN', cnn],
] as [string, (seed: number) => Module][]) {
  test(`evaluateAsync frees each batch's storage on the device (${name}): no tensor outlives its batch, and after the first batch no buffer is created`, async () => {
    const host = make(5);
    const want = evaluate(host, batches());
    const model = make(5);
    await model.to('webgpu');
    const ctx = await initWebGPU();
    ctx.trimPool(); // what the tests before left in the pool does not count
    // the losses, kept past their batches: each must have been freed with its batch
    const losses: Tensor[] = [];
    // buffers created when each batch's loss is taken (its forward pass queued)
    const atLoss: number[] = [];
    const loss = (out: Tensor, y: Tensor | ArrayLike<number>) => {
      atLoss.push(webgpuInfo().buffers);
      const l = crossEntropy(out, y as Int32Array);
      losses.push(l);
      return l;
    };
    // buffers created before the first evaluation and after each
    const counts = [webgpuInfo().buffers];
    const results = [];
    for (let i = 0; i < 3; i++) {
      results.push(await evaluateAsync(model, batches(), { loss }));
      counts.push(webgpuInfo().buffers);
    }
    console.log(`${name}: buffers created before and after each evaluation ${counts}, at batches 1–5's losses ${atLoss.slice(0, 5)}`);
    assert.equal(losses.length, 15);
    for (const [i, l] of losses.entries())
      assert.equal((l.storage as { destroyed?: boolean }).destroyed, true, `batch ${(i % 5) + 1}'s loss outlived its batch`);
    // the first evaluation's later batches take its first batch's buffers; the later evaluations create none
    assert.ok(counts[1] > counts[0], `the first evaluation created no buffer: ${counts}`);
    assert.deepEqual(atLoss.slice(1, 5), Array(4).fill(counts[1]), `buffers created at batches 2–5's losses: ${atLoss.slice(0, 5)}`);
    assert.deepEqual(counts.slice(2), [counts[1], counts[1]], `buffers created before and after each evaluation: ${counts}`);
    for (const r of results) {
      assertNear('test loss', [r.testLoss], [want.testLoss]);
      assert.equal(r.testAccuracy, want.testAccuracy);
    }
    for (const p of model.parameters()) assert.ok(!(p.storage as { destroyed?: boolean }).destroyed, 'a parameter was freed');
  });
}

test('predictAsync with the model on webgpu: the outputs predict gives on wasm, a tensor in batches and a source', async () => {
  const x = new Tensor(data.test.images.slice(0, 70 * 784), [70, 1, 28, 28]);
  for (const make of [mlpDropout, cnn]) {
    const host = make(6);
    const want = predict(host, x, { batchSize: 32 });
    const model = make(6);
    await model.to('webgpu');
    assert.throws(() => predict(model, x), /predict: the model's parameters live on webgpu, .*predictAsync/);
    const got = await predictAsync(model, x, { batchSize: 32 });
    assert.deepEqual(got.shape, [70, 10]);
    assertNear('outputs', got.data, want.data);
    assertNear('outputs of a source', (await predictAsync(model, batches())).data, predict(host, batches()).data);
  }
});
