/**
 * Gradient clipping and early stopping for parameters the host cannot read synchronously (the
 * emulated device: the reference kernels behind a DeviceStorage). The device clipping
 * (clipGradNormOn, clipGradValue_) against clip_grad_norm_ / clip_grad_value_ on the host, with
 * nothing read back while it is queued; fitAsync with the clipping, early-stopping and
 * model-checkpoint callbacks on the device against fit on the host; and fitAsync on host parameters giving fit's records to the bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clipGradNorm_,
  clipGradNormAsync,
  clipGradNormCallback,
  clipGradValue_,
  clipGradValueCallback,
  earlyStopping,
  fit,
  fitAsync,
  SGD,
  setBackend,
  Tensor,
  type Callback,
  type Module,
} from '../../src/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clipGradNormOn } from '../../src/optim/clip.js';
import { modelCheckpoint } from '../../src/io/model-checkpoint.js';
import { loadSafetensorsFile } from '../../src/io/safetensors-node.js';
import { tempDir } from '../tmp-dir.js';
import { toDevice } from '../../src/autograd/device.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';
import { figures, mlp, runOptions, sample } from './setup.js';

setBackend('reference');
registerEmulatedDevice();
/** Parameters whose gradients hold `values` (one array per parameter), on the host or on the device. */
async function withGrads(values: Float32Array[], device: boolean): Promise<Tensor[]> {
  return Promise.all(
    values.map(async (v) => {
      const p = new Tensor(new Float32Array(v.length), [v.length], true);
      const g = new Tensor(v.slice(), [v.length]);
      p.grad = device ? await toDevice(g, DEVICE) : g;
      return p;
    }),
  );
}

const rel = (a: number, b: number) => Math.abs(a - b) / (1 + Math.abs(b));

test('clipping on the device equals clip_grad_norm_ / clip_grad_value_ on the host, and queues without reading back', async () => {
  const values = [sample(37, 1, 0.8), sample(5, 2, 3), sample(120, 3, 0.1)];
  for (const normType of [2, 1, 3, Infinity])
    for (const maxNorm of [0.5, 1e3]) {
      const host = await withGrads(values, false);
      const want = clipGradNorm_(host, maxNorm, normType);
      const dev = await withGrads(values, true);
      const reads = counters.reads;
      const total = clipGradNormOn(
        dev.map((p) => p.grad!),
        maxNorm,
        normType,
      );
      assert.equal(counters.reads, reads, 'nothing is read while the clipping is queued');
      const got = (await total.read())[0];
      assert.ok(rel(got, want) < 1e-6, `norm ${normType}: total ${got} vs ${want}`);
      for (const [i, p] of dev.entries()) {
        const g = await p.grad!.read();
        for (let j = 0; j < g.length; j++)
          assert.ok(
            rel(g[j], host[i].grad!.data[j]) < 1e-6,
            `norm ${normType}, max ${maxNorm}: g[${i}][${j}] ${g[j]} vs ${host[i].grad!.data[j]}`,
          );
      }
      if (maxNorm === 1e3)
        for (const [i, p] of dev.entries())
          assert.deepEqual(Array.from(await p.grad!.read()), Array.from(values[i]), 'no clipping below the bound');
    }
  const asyncDev = await withGrads(values, true);
  const asyncHost = await withGrads(values, false);
  assert.ok(rel(await clipGradNormAsync(asyncDev, 0.5), clipGradNorm_(asyncHost, 0.5)) < 1e-6);
  assert.equal(await clipGradNormAsync(await withGrads(values, false), 0.5), clipGradNorm_(await withGrads(values, false), 0.5));
  await assert.rejects(
    async () => clipGradNorm_(await withGrads(values, true), 0.5),
    /clipGradNorm_: the gradients live on emulated, where their norm cannot be read synchronously; use clipGradNormAsync/,
  );

  const vh = await withGrads(values, false);
  clipGradValue_(vh, 0.3);
  const vd = await withGrads(values, true);
  clipGradValue_(vd, 0.3);
  for (const [i, p] of vd.entries()) assert.deepEqual(Array.from(await p.grad!.read()), Array.from(vh[i].grad!.data));
});

test('clipGradNormAsync uploads its constants once per device and value: a second call with them uploads nothing', async () => {
  const values = [sample(37, 4, 0.8), sample(120, 5, 0.1)];
  for (const normType of [2, Infinity, 3]) {
    const uploads: number[] = [];
    for (let call = 0; call < 3; call++) {
      const dev = await withGrads(values, true);
      const host = await withGrads(values, false);
      const before = counters.writes;
      const total = clipGradNormAsync(dev, 0.25, normType);
      uploads.push(counters.writes - before);
      assert.ok(rel(await total, clipGradNorm_(host, 0.25, normType)) < 1e-6, `norm ${normType}, call ${call + 1}`);
      for (const [i, p] of dev.entries()) {
        const g = await p.grad!.read();
        for (let j = 0; j < g.length; j++) assert.ok(rel(g[j], host[i].grad!.data[j]) < 1e-6, `norm ${normType}: g[${i}][${j}]`);
      }
    }
    // maxNorm, 1e-6 and 1 (a general p-norm adds p and 1/p), those not uploaded by a call before
    assert.ok(uploads[0] <= (normType === 3 ? 5 : 3), `norm ${normType}: the first call uploaded ${uploads[0]}`);
    assert.deepEqual(uploads.slice(1), [0, 0], `norm ${normType}: uploads of each call ${uploads}`);
  }
});

const options = (model: Module, seed: number, callbacks: Callback[], epochs = 2) =>
  runOptions(model, new SGD(model.parameters(), { lr: 0.5, momentum: 0.9 }), seed, { epochs, callbacks });

const runs: [string, (m: Module) => Callback[]][] = [
  ['clip_grad_norm_ 0.2', () => [clipGradNormCallback({ maxNorm: 0.2 })]],
  ['clip_grad_norm_ 0.05 (∞-norm)', () => [clipGradNormCallback({ maxNorm: 0.05, normType: Infinity })]],
  ['clip_grad_value_ 0.01', () => [clipGradValueCallback({ clipValue: 0.01 })]],
];

for (const [name, make] of runs)
  test(`fitAsync with ${name}: fit's records to the bit on the host, within float32 rounding on the device`, async () => {
    const ref = mlp(4);
    const want = fit(options(ref, 6, make(ref)));
    const plain = mlp(4);
    fit(options(plain, 6, []));
    const differs = plain.parameters().some((p, i) => p.data.some((v, j) => v !== ref.parameters()[i].data[j]));
    assert.ok(differs, 'the clipping changes this run');

    const host = mlp(4);
    assert.deepEqual(figures(await fitAsync(options(host, 6, make(host)))), figures(want));

    const dev = mlp(4);
    await dev.to(DEVICE);
    const got = await fitAsync(options(dev, 6, make(dev)));
    assert.equal(got.length, want.length);
    for (const [i, r] of got.entries())
      for (const k of ['trainLoss', 'testLoss', 'testAccuracy'] as const)
        assert.ok(Math.abs((r[k] as number) - (want[i][k] as number)) < 2e-5, `epoch ${i + 1} ${k}: ${r[k]} vs ${want[i][k]}`);
    const values = await Promise.all(dev.parameters().map((p) => p.read()));
    ref.parameters().forEach((p, i) => {
      for (let j = 0; j < p.size; j++) assert.ok(rel(values[i][j], p.data[j]) < 1e-5, `parameter ${i}[${j}]`);
    });
  });

test('clipping by norm on the device uploads its constants once per run, none in a step', async () => {
  const uploads = async (callbacks: Callback[]) => {
    const m = mlp(4);
    await m.to(DEVICE);
    const before = counters.writes;
    const steps: number[] = [];
    await fitAsync(options(m, 6, [...callbacks, { onStepEnd: (s) => void steps.push(s.step) }]));
    return { uploads: counters.writes - before, steps: steps.length };
  };
  const plain = await uploads([]);
  assert.equal(plain.steps, 8);
  // maxNorm, 1e-6 and 1; a general p-norm adds p and 1/p
  for (const [normType, constants] of [
    [2, 3],
    [Infinity, 3],
    [3, 5],
  ]) {
    const clipped = await uploads([clipGradNormCallback({ maxNorm: 0.5, normType })]);
    assert.equal(clipped.steps, plain.steps);
    assert.equal(clipped.uploads - plain.uploads, constants, `normType ${normType}: uploads beyond the plain run's`);
  }
});

test('clipping by value on the device uploads ±clipValue once per run, none in a step', async () => {
  const uploads = async (callbacks: Callback[]) => {
    const m = mlp(4);
    await m.to(DEVICE);
    const before = counters.writes;
    await fitAsync(options(m, 6, callbacks));
    return counters.writes - before;
  };
  const plain = await uploads([]);
  assert.equal((await uploads([clipGradValueCallback({ clipValue: 0.01 })])) - plain, 2);
});

test('early stopping with restoreBest on the device stops where fit stops and puts back the best epoch’s weights', async () => {
  // lr 0.5 with momentum overshoots on this subset: the test loss rises after its best epoch
  const make = () => [earlyStopping({ patience: 1, restoreBest: true })];
  const ref = mlp(5);
  const perEpoch: Float32Array[][] = [];
  const snap: Callback = { onEpochEnd: (s) => void perEpoch.push(s.model.parameters().map((p) => Float32Array.from(p.data))) };
  const want = fit(options(ref, 7, [snap, ...make()], 8));
  assert.ok(want.length < 8, `the run stops early (${want.length} epochs)`);
  const best = want[want.length - 1].restoredEpoch as number;
  assert.ok(best >= 1 && best < want.length, `the best epoch (${best}) is before the last`);
  ref.parameters().forEach((p, i) => assert.deepEqual(p.data, perEpoch[best - 1][i]));

  const dev = mlp(5);
  await dev.to(DEVICE);
  const got = await fitAsync(options(dev, 7, make(), 8));
  assert.deepEqual(
    got.map((r) => [r.epoch, r.stoppedEarly, r.restoredEpoch]),
    want.map((r) => [r.epoch, r.stoppedEarly, r.restoredEpoch]),
  );
  const values = await Promise.all(dev.parameters().map((p) => p.read()));
  ref.parameters().forEach((p, i) => {
    for (let j = 0; j < p.size; j++) assert.ok(rel(values[i][j], p.data[j]) < 1e-5, `parameter ${i}[${j}]`);
  });
});

test('modelCheckpoint on the device saves the epochs fit saves, reading the weights back; fitAsync on the host writes fit’s file byte for byte', async () => {
  const dir = tempDir('descent-checkpoint-device-');
  const run = async (where: 'fit' | 'host' | 'device') => {
    const m = mlp(5);
    if (where === 'device') await m.to(DEVICE);
    const path = join(dir, `${where}.safetensors`);
    const o = options(m, 7, [modelCheckpoint({ path })], 8);
    const records = where === 'fit' ? fit(o) : await fitAsync(o);
    return { saves: records.filter((r) => r.savedBest === true).map((r) => r.epoch), bytes: readFileSync(path), path };
  };
  const want = await run('fit');
  assert.ok(want.saves.length > 1 && want.saves.length < 8, `saves at some epochs only (${want.saves.join(', ')})`);
  const host = await run('host');
  assert.deepEqual(host.saves, want.saves);
  assert.ok(host.bytes.equals(want.bytes), 'fitAsync on the host: the same file');
  const reads = counters.reads;
  const dev = await run('device');
  assert.ok(counters.reads > reads);
  assert.deepEqual(dev.saves, want.saves);
  const a = mlp(9),
    b = mlp(9);
  loadSafetensorsFile(want.path, a);
  loadSafetensorsFile(dev.path, b);
  a.parameters().forEach((p, i) => {
    for (let j = 0; j < p.size; j++) assert.ok(rel(b.parameters()[i].data[j], p.data[j]) < 1e-5, `parameter ${i}[${j}]`);
  });
});
