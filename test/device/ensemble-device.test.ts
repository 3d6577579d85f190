/**
 * Independent ensembles with fitEnsembleAsync and evaluateEnsembleAsync: on a host backend they
 * give fitEnsemble's members, records and report to the bit; with every member on the emulated
 * device (the reference kernels behind a DeviceStorage that counts reads) they give the same, the
 * members' probabilities read back once per member and test batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DataLoader,
  evaluateEnsemble,
  evaluateEnsembleAsync,
  fitEnsemble,
  fitEnsembleAsync,
  Rng,
  SGD,
  setBackend,
  type EnsembleFit,
  type FitOptions,
  type Module,
} from '../../src/index.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';
import { data, mlp as mlpOf } from './setup.js';

setBackend('reference');
registerEmulatedDevice();
const trainSet = data.train.slice(0, 192);
const testSet = data.test.slice(0, 100);
const test_ = () => new DataLoader(testSet, { batchSize: 40 });

const mlp = (seed: number) => mlpOf(seed, { hidden: 24, dropout: 0.2 });

/** Member i: the same run with seed 10 + i. */
function member(model: Module, i: number): FitOptions {
  const rng = new Rng(10 + i);
  return {
    model,
    optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }),
    train: new DataLoader(trainSet, { batchSize: 64, shuffle: true, rng: rng.fork('data') }),
    epochs: 2,
    rng,
    now: () => 0,
  };
}

const figures = (f: EnsembleFit) => ({
  records: f.results.map((r) => r.records.map(({ seconds: _s, samplesPerSec: _r, ...kept }) => kept)),
  report: f.report,
});

async function paramsOf(models: Module[]): Promise<number[][]> {
  const out: number[][] = [];
  for (const m of models) for (const p of m.parameters()) out.push(Array.from(await p.read()));
  return out;
}

test('fitEnsembleAsync equals fitEnsemble on the host and with its members on a device', async () => {
  const ended: number[] = [];
  const want = fitEnsemble({ members: 3, test: test_(), member: (i) => member(mlp(i), i), onMemberEnd: (i) => void ended.push(i) });
  assert.deepEqual(ended, [0, 1, 2]);
  assert.equal(want.report?.samples, 100);
  assert.equal(want.report?.members.length, 3);
  // the members differ, so the ensemble is not one model three times
  assert.notDeepEqual(want.report?.members[0], want.report?.members[1]);

  const host = await fitEnsembleAsync({ members: 3, test: test_(), member: (i) => member(mlp(i), i) });
  assert.deepEqual(figures(host), figures(want));
  assert.deepEqual(await paramsOf(host.models), await paramsOf(want.models));

  const before = counters.reads;
  const dev = await fitEnsembleAsync({
    members: 3,
    test: test_(),
    member: async (i) => {
      const m = mlp(i);
      await m.to(DEVICE);
      return member(m, i);
    },
  });
  for (const m of dev.models) assert.equal(m.parameters()[0].device, DEVICE);
  // per member: 3 steps × 2 epochs of losses, 2 finite checks; then 3 test batches × 3 members of probabilities
  assert.equal(counters.reads - before, 3 * (6 + 2) + 3 * 3);
  assert.deepEqual(figures(dev), figures(want));
  assert.deepEqual(await paramsOf(dev.models), await paramsOf(want.models));
});

test('evaluateEnsembleAsync: evaluateEnsemble’s report with weights, and its messages', async () => {
  const models = [mlp(1), mlp(2)];
  const want = evaluateEnsemble(models, test_(), [3, 1]);
  assert.deepEqual(await evaluateEnsembleAsync(models, test_(), [3, 1]), want);
  assert.notDeepEqual(want, evaluateEnsemble(models, test_()), 'the weights change the report');
  await assert.rejects(
    () => evaluateEnsembleAsync(models, test_(), [1]),
    /^RangeError: Ensemble: weights must be 2 numbers ≥ 0 with a positive sum, got \[1\]$/,
  );
  await assert.rejects(
    () => fitEnsembleAsync({ members: 0, member: (i) => member(mlp(i), i) }),
    /^RangeError: fitEnsembleAsync: members must be a positive integer, got 0$/,
  );
});
