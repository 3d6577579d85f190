/**
 * SWA, EMA, snapshot and independent ensembles on WebGPU (run by `npm run test:webgpu` on lavapipe): the MLP
 * trained on 'webgpu' by fitRunAsync, its averages kept on the GPU in float32 (src/ensemble/device.ts),
 * follows the same run on wasm by fitRun (float64 averages on the host): the step losses, the
 * snapshots, the SWA and EMA averages and the sample counts; and fitEnsembleAsync with its members
 * on the GPU follows fitEnsemble on wasm (the members' losses, the ensemble's report). Tolerance as in train.test.ts (1e-5
 * scaled by 1 + |value|): the backends sum in different orders. The rules themselves are checked
 * exactly on the emulated device (test/device/averages-device.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DataLoader,
  fitEnsemble,
  fitEnsembleAsync,
  fitRun,
  fitRunAsync,
  Rng,
  SGD,
  type Callback,
  type FitOptions,
  type Module,
} from '../../../src/index.js';
import { mlp } from './models.js';
import { assertNear, data, near, sgdOptions, useWasmAndWebGPU } from './setup.js';

useWasmAndWebGPU();

const options = (model: Module, callbacks: Callback[]): FitOptions =>
  sgdOptions(model, callbacks, { epochs: 3 }, { swa: { everySteps: 2 }, ema: { decay: 0.8 }, snapshots: { cycles: 3 } });

test('WebGPU with SWA, EMA and snapshots follows wasm', async () => {
  const host = mlp(2);
  const steps: number[] = [];
  const want = fitRun(options(host, [{ onStepEnd: (_s, l) => void steps.push(l) }]));
  const dev = mlp(2);
  await dev.to('webgpu');
  const got: number[] = [];
  const r = await fitRunAsync(options(dev, [{ onStepEnd: (_s, l) => void got.push(l) }]));
  assert.equal(dev.parameters()[0].device, 'webgpu');
  assert.equal(got.length, 9);
  got.forEach((l, i) => assert.ok(near(l, steps[i]), `step ${i + 1} loss ${l} vs ${steps[i]}`));
  assert.deepEqual(r.snapshots!.at, [3, 6, 9]);
  assert.equal(r.snapshots!.snapshots.length, 3);
  r.snapshots!.snapshots.forEach((snap, k) => {
    for (const [name, v] of snap) assertNear(`snapshot ${k + 1} ${name}`, v, want.snapshots!.snapshots[k].get(name)!);
  });
  for (const kind of ['swa', 'ema'] as const) {
    const a = r[kind]!,
      b = want[kind]!;
    assert.equal(a.n, b.n, `${kind} samples`);
    for (const [name] of host.namedParameters()) assertNear(`${kind} ${name}`, a.get(name)!, b.get(name)!);
  }
  assert.equal(r.swa!.n, 4);
  assert.equal(r.ema!.n, 9);
});

test('fitEnsembleAsync with its members on WebGPU follows fitEnsemble on wasm', async () => {
  const member = (model: Module, i: number): FitOptions => {
    const rng = new Rng(20 + i);
    return {
      model,
      optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }),
      train: new DataLoader(data.train.slice(0, 128), { batchSize: 64, shuffle: true, rng: rng.fork('data') }),
      epochs: 2,
      rng,
      now: () => 0,
    };
  };
  const testSet = () => new DataLoader(data.test.slice(0, 96), { batchSize: 48 });
  const want = fitEnsemble({ members: 2, test: testSet(), member: (i) => member(mlp(i), i) });
  const got = await fitEnsembleAsync({
    members: 2,
    test: testSet(),
    member: async (i) => {
      const m = mlp(i);
      await m.to('webgpu');
      return member(m, i);
    },
  });
  for (const m of got.models) assert.equal(m.parameters()[0].device, 'webgpu');
  got.results.forEach((r, i) =>
    r.records.forEach((rec, e) =>
      assert.ok(near(rec.trainLoss, want.results[i].records[e].trainLoss), `member ${i + 1} epoch ${e + 1} loss`),
    ),
  );
  const [a, b] = [got.report!, want.report!];
  // the same predictions: float32 noise moves no test image across a decision here
  assert.deepEqual([a.members, a.average, a.vote, a.samples], [b.members, b.average, b.vote, b.samples]);
  assert.ok(near(a.averageLoss, b.averageLoss), `ensemble loss ${a.averageLoss} vs ${b.averageLoss}`);
  assert.notDeepEqual(b.members[0], b.members[1], 'two different members');
});
