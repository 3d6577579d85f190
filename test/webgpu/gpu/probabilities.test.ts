/**
 * evaluateProbabilitiesAsync on the device (lavapipe) against evaluateProbabilities on wasm, the
 * same trained weights moved there: every class probability within 1e-5 of the wasm one
 * (relative), the per-class ROC AUC within 1e-6, the labels and confusion matrix equal, the loss
 * within float32 noise; and evaluateProbabilities and evaluateConfusion refuse the model on the
 * device, naming evaluateProbabilitiesAsync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DataLoader,
  evaluateConfusion,
  evaluateProbabilities,
  evaluateProbabilitiesAsync,
  fit,
  rankingReport,
  type Module,
} from '../../../src/index.js';
import { cnn, mlp } from './models.js';
import { assertNear, data, sgdOptions, useWasmAndWebGPU } from './setup.js';

useWasmAndWebGPU();

/** 160 test images in 5 batches of 32. */
const batches = () => new DataLoader(data.test.slice(0, 160), { batchSize: 32 });

for (const [name, make] of [
  ['the MLP', mlp],
  ['the CNN', cnn],
] as [string, (seed: number) => Module][]) {
  test(`evaluateProbabilitiesAsync on webgpu gives evaluateProbabilities' figures on wasm (${name}, trained one epoch)`, async () => {
    const model = make(3);
    fit(sgdOptions(model, [], { epochs: 1 }));
    const want = evaluateProbabilities(model, batches(), 10);
    await model.to('webgpu');
    const got = await evaluateProbabilitiesAsync(model, batches(), 10);
    await model.to('cpu');
    assert.equal(got.samples, 160);
    assert.deepEqual(got.labels, want.labels);
    assert.deepEqual(got.confusion, want.confusion);
    assert.equal(got.accuracy, want.accuracy);
    assertNear('loss', [got.loss], [want.loss]);
    let worst = 0;
    for (let i = 0; i < want.probabilities.length; i++) {
      const e = Math.abs(got.probabilities[i] - want.probabilities[i]) / want.probabilities[i];
      assert.ok(e <= 1e-5, `probability ${i}: ${got.probabilities[i]} on webgpu, ${want.probabilities[i]} on wasm (relative ${e})`);
      worst = Math.max(worst, e);
    }
    const g = rankingReport(got.probabilities, got.labels, 10);
    const w = rankingReport(want.probabilities, want.labels, 10);
    for (const [c, s] of w.perClass.entries()) {
      if (s.rocAuc === null) assert.equal(g.perClass[c].rocAuc, null);
      else
        assert.ok(
          Math.abs((g.perClass[c].rocAuc as number) - s.rocAuc) <= 1e-6,
          `class ${c}: ROC AUC ${g.perClass[c].rocAuc} on webgpu, ${s.rocAuc} on wasm`,
        );
    }
    assert.ok(Math.abs(g.macro.rocAuc - w.macro.rocAuc) <= 1e-6, `macro ROC AUC ${g.macro.rocAuc} on webgpu, ${w.macro.rocAuc} on wasm`);
    console.log(`${name}: largest relative probability difference ${worst.toExponential(2)}, macro ROC AUC ${w.macro.rocAuc}`);
  });
}

test('evaluateProbabilities and evaluateConfusion refuse a model on webgpu, naming evaluateProbabilitiesAsync', async () => {
  const model = mlp(3);
  await model.to('webgpu');
  for (const [who, run] of [
    ['evaluateProbabilities', () => evaluateProbabilities(model, batches(), 10)],
    ['evaluateConfusion', () => evaluateConfusion(model, batches(), 10)],
  ] as [string, () => unknown][])
    assert.throws(run, {
      message: `${who}: the model's parameters live on webgpu, which is read asynchronously; use await evaluateProbabilitiesAsync(…)`,
    });
});
