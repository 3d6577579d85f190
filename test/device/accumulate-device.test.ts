/**
 * Gradient accumulation in fitAsync on the emulated device: the same groups, steps, records and
 * parameters as fit on the host (dropout and augmentation included), checkpoints between groups
 * that resume bit for bit in either loop, and onNonFinite 'skip' leaving out the groups fit leaves out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adam,
  crossEntropy,
  DataLoader,
  decodeCheckpoint,
  encodeCheckpoint,
  fitAsync,
  fitRun,
  mul,
  parseAugment,
  Rng,
  SGD,
  setBackend,
  sqrt,
  sum,
  type Callback,
  type Checkpoint,
  type FitOptions,
  type Module,
  type Tensor,
} from '../../src/index.js';
import { DEVICE, registerEmulatedDevice } from './emulated-device.js';
import { mlp, trainSet, testSet } from './setup.js';

setBackend('reference');
registerEmulatedDevice();

async function paramsOf(m: Module): Promise<number[][]> {
  const out: number[][] = [];
  for (const p of m.parameters()) out.push(Array.from(await p.read()));
  return out;
}

/**
 * 224 samples in augmented batches of 32 (7 per epoch: groups of 4 and 3 with accumulate 4), 3
 * epochs. Powers of two throughout: crossEntropy's backward scales by g / batch on the device in
 * float32 and on the host in float64 (see crossEntropyOnDevice), the same bits only when both are
 * exact; so the device follows the host to the bit for accumulate 2, 4, 8…, to rounding for 3.
 */
function run(m: Module, seed: number, extra: Partial<FitOptions> = {}): FitOptions {
  const rng = new Rng(seed);
  return {
    model: m,
    optimizer: new Adam(m.parameters(), { lr: 2e-3 }),
    train: new DataLoader(trainSet.slice(0, 224), {
      batchSize: 32,
      shuffle: true,
      rng: rng.fork('data'),
      transform: parseAugment('flip,crop:2'),
    }),
    test: new DataLoader(testSet, { batchSize: 64 }),
    epochs: 3,
    rng,
    now: () => 0,
    accumulate: 4,
    ...extra,
  };
}

test('fitAsync with accumulate 4 on the emulated device equals fit on the host: records, parameters, steps and checkpoints', async () => {
  const steps = (into: number[]): Callback => ({ onStepEnd: (s) => void into.push(s.step) });
  const hostSteps: number[] = [];
  const hostSaved: Checkpoint[] = [];
  const host = mlp(21, { hidden: 48, dropout: 0.25 });
  const ref = fitRun(run(host, 21, { callbacks: [steps(hostSteps)], checkpoint: { everySteps: 1, save: (c) => void hostSaved.push(c) } }));
  assert.deepEqual(
    hostSteps,
    Array.from({ length: 6 }, (_, i) => i + 1),
  );
  const m = mlp(21, { hidden: 48, dropout: 0.25 });
  await m.to(DEVICE);
  const devSteps: number[] = [];
  const devSaved: Checkpoint[] = [];
  const records = await fitAsync(
    run(m, 21, { callbacks: [steps(devSteps)], checkpoint: { everySteps: 1, save: (c) => void devSaved.push(c) } }),
  );
  assert.deepEqual(records, ref.records);
  assert.deepEqual(await paramsOf(m), await paramsOf(host));
  assert.deepEqual(devSteps, hostSteps);
  assert.deepEqual(devSaved, hostSaved);
  assert.ok(hostSaved.some((c) => c.batch > 0 && c.batch < 7 && c.accumulate === 4));
});

test('an accumulating run checkpointed between groups resumes bit for bit: fitAsync from its own checkpoints and from fit’s', async () => {
  const saved: Checkpoint[] = [];
  const m = mlp(22, { hidden: 48, dropout: 0.25 });
  await m.to(DEVICE);
  const full = await fitAsync(
    run(m, 22, { checkpoint: { everySteps: 1, save: (c) => void saved.push(decodeCheckpoint(encodeCheckpoint(c))) } }),
  );
  const want = await paramsOf(m);
  // inside an epoch: after its first group of 4 batches
  const mid = saved.filter((c) => c.batch > 0 && c.batch < 7);
  assert.deepEqual(
    mid.map((c) => [c.step, c.epoch, c.batch]),
    [
      [1, 0, 4],
      [3, 1, 4],
      [5, 2, 4],
    ],
  );
  for (const c of mid) {
    const again = mlp(22, { hidden: 48, dropout: 0.25 });
    await again.to(DEVICE);
    assert.deepEqual(await fitAsync({ ...run(again, 22), resume: c }), full, `records resumed at step ${c.step}`);
    assert.deepEqual(await paramsOf(again), want, `parameters resumed at step ${c.step}`);
  }
  // fit's checkpoint at step 3, resumed on the device
  const hostSaved: Checkpoint[] = [];
  fitRun(run(mlp(22, { hidden: 48, dropout: 0.25 }), 22, { checkpoint: { everySteps: 1, save: (c) => void hostSaved.push(c) } }));
  const again = mlp(22, { hidden: 48, dropout: 0.25 });
  await again.to(DEVICE);
  assert.deepEqual(await fitAsync({ ...run(again, 22), resume: hostSaved.find((c) => c.step === 3) }), full);
  assert.deepEqual(await paramsOf(again), want);
  await assert.rejects(
    fitAsync({ ...run(mlp(22), 22, { accumulate: 2 }), resume: mid[0] }),
    /^RangeError: fitAsync: the checkpoint was taken with accumulate 4, this run has accumulate 2; resume with accumulate 4$/,
  );
});

test("onNonFinite 'skip' with accumulate: fitAsync leaves out the groups fit leaves out (a NaN loss; a NaN gradient under a finite loss)", async () => {
  const go = async (where: 'fit' | typeof DEVICE) => {
    const m = mlp(23);
    if (where === DEVICE) await m.to(DEVICE);
    const w = m.parameters()[0];
    const opt = new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
    let k = 0;
    const skips: [number, string][] = [];
    const o = run(m, 23, {
      optimizer: opt,
      test: undefined,
      // micro-batch 2 (group 1) has a NaN loss
      loss: (logits: Tensor, y: Parameters<typeof crossEntropy>[1]) => {
        const l = crossEntropy(logits, y);
        return ++k === 2 ? mul(l, NaN) : l;
      },
      onNonFinite: 'skip',
      onSkip: (i) => void skips.push([i.step, i.reason]),
      // 0 in value, a NaN gradient (d√u/du = ∞ at u = 0, times 0) in the micro-batches of step 5
      callbacks: [{ lossTerms: (s: { step: number }) => (s.step === 4 ? { bad: sqrt(sum(mul(w, 0))) } : {}) } as Callback],
    });
    const records = where === 'fit' ? fitRun(o).records : await fitAsync(o);
    return { records, skips, params: await paramsOf(m) };
  };
  const ref = await go('fit');
  assert.deepEqual(ref.skips, [
    [1, 'the loss became NaN'],
    [5, 'a gradient became non-finite'],
  ]);
  assert.deepEqual(await go(DEVICE), ref);
});

test('fitAsync refuses an accumulate that is not a positive integer', async () => {
  const m = mlp(24);
  await assert.rejects(fitAsync(run(m, 24, { accumulate: 0 })), /^RangeError: fitAsync: accumulate must be a positive integer, got 0$/);
});

test('fitAsync with accumulate 3 on the host backend equals fit bit for bit (groups of 3, 3, 1)', async () => {
  const host = mlp(25, { hidden: 48, dropout: 0.25 });
  const ref = fitRun(run(host, 25, { accumulate: 3 }));
  const m = mlp(25, { hidden: 48, dropout: 0.25 });
  assert.deepEqual(await fitAsync(run(m, 25, { accumulate: 3 })), ref.records);
  assert.deepEqual(await paramsOf(m), await paramsOf(host));
});
