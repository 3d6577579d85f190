/**
 * Penalties, proximal steps, constraints and decoupled decay on WebGPU (run by `npm run
 * test:webgpu` on lavapipe): the MLP trained with each regularizer callback on 'webgpu'
 * (Module.to + fitAsync) follows the same run on wasm (fit): its losses, the terms and fractions
 * the callbacks report, and the final parameters. Tolerance as in train.test.ts (1e-5 scaled by
 * 1 + |value|): the backends sum in different orders; a missed or late edit moves a loss by 1e-3
 * or more here (checked by the host test in test/device/regularize-device.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decoupledDecayCallback,
  fit,
  fitAsync,
  l1ProximalCallback,
  maxNormCallback,
  penaltyCallback,
  selectParameters,
  type Callback,
  type EpochRecord,
  type Module,
} from '../../../src/index.js';
import { mlp } from './models.js';
import { near, sgdOptions, useWasmAndWebGPU } from './setup.js';

useWasmAndWebGPU();

const runs: [string, (m: Module) => Callback[]][] = [
  ['L1 + L2 penalties', (m) => [penaltyCallback({ params: selectParameters(m), l1: 1e-4, l2: 1e-3 })]],
  [
    'L1 soft-thresholding, max-norm and decoupled decay',
    (m) => [
      l1ProximalCallback({ params: selectParameters(m), lambda: 2e-3 }),
      maxNormCallback({ params: selectParameters(m), maxNorm: 0.5 }),
      decoupledDecayCallback({ params: m.parameters(), weightDecay: 0.05 }),
    ],
  ],
];

for (const [name, make] of runs) {
  test(`WebGPU with ${name} follows wasm`, async () => {
    const host = mlp(2);
    const steps: number[] = [];
    const want = fit(sgdOptions(host, [...make(host), { onStepEnd: (_s, l) => void steps.push(l) }]));
    const dev = mlp(2);
    await dev.to('webgpu');
    const got: number[] = [];
    const records: EpochRecord[] = await fitAsync(sgdOptions(dev, [...make(dev), { onStepEnd: (_s, l) => void got.push(l) }]));
    assert.equal(got.length, steps.length);
    got.forEach((l, i) => assert.ok(near(l, steps[i]), `step ${i + 1} loss ${l} vs ${steps[i]}`));
    for (const [i, r] of records.entries()) {
      const w = want[i];
      for (const [k, v] of Object.entries(w.terms)) assert.ok(near(r.terms[k], v), `epoch ${i + 1} ${k}: ${r.terms[k]} vs ${v}`);
      for (const k of ['nearZero', 'zeros'] as const) {
        assert.equal(typeof r[k], typeof w[k]);
        if (typeof w[k] === 'number')
          assert.ok(Math.abs((r[k] as number) - (w[k] as number)) < 1e-4, `epoch ${i + 1} ${k}: ${r[k]} vs ${w[k]}`);
      }
    }
    const params = await Promise.all(dev.parameters().map((p) => p.read()));
    host.parameters().forEach((p, i) => {
      for (let j = 0; j < p.size; j++) assert.ok(near(params[i][j], p.data[j]), `parameter ${i}[${j}]: ${params[i][j]} vs ${p.data[j]}`);
    });
    assert.equal(dev.parameters()[0].device, 'webgpu');
  });
}
