/**
 * SWA, EMA and snapshot ensembles with fitRunAsync (src/train/trainer.ts averagingCallbacks,
 * src/ensemble/device.ts). On a host backend fitRunAsync samples where fitRun does, so its
 * averages, snapshots and records equal fitRun's to the bit — with a max-norm constraint, whose
 * edit the samples must see. On the emulated device (the reference kernels behind a DeviceStorage
 * that counts reads) the averages live on the device in float32: they equal the float32 form of
 * PyTorch's AveragedModel rules replayed on the host from fitRun's weights exactly, and the host's
 * float64 averages to float32 rounding; snapshots equal fitRun's; the only reads the averages add
 * are one per parameter for each average at the run's end and for each snapshot; and a run
 * interrupted after a checkpoint and resumed gives the uninterrupted run's averages and snapshots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adam,
  captureWeights,
  decodeCheckpoint,
  encodeCheckpoint,
  fitRun,
  fitRunAsync,
  maxNormCallback,
  SGD,
  setBackend,
  type AnyOptimizer,
  type Callback,
  type Checkpoint,
  type FitOptions,
  type FitResult,
  type Module,
  type WeightSnapshot,
} from '../../src/index.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';
import { figures as recordFigures, mlp as mlpOf, runOptions } from './setup.js';

setBackend('reference');
registerEmulatedDevice();

const mlp = (seed: number) => mlpOf(seed, { dropout: 0.25 });

const EMA_DECAY = 0.9;
const SWA_EVERY = 2;

/**
 * A 3-epoch run (12 steps) with SWA every 2 steps, an EMA and 3 snapshot cycles; with `constrained`
 * a max-norm constraint too (on the host only: on a device its norms round per kernel, so the run
 * would no longer equal the host's to the bit, see src/regularize/device.ts).
 */
function options(model: Module, optimizer: AnyOptimizer, extra: Callback[] = [], constrained = false): FitOptions {
  return runOptions(model, optimizer, 4, {
    epochs: 3,
    swa: { everySteps: SWA_EVERY },
    ema: { decay: EMA_DECAY },
    snapshots: { cycles: 3 },
    callbacks: [
      ...(constrained ? [maxNormCallback({ params: model.parameters().filter((p) => p.shape.length === 2), maxNorm: 0.5 })] : []),
      ...extra,
    ],
  });
}

const sgd = (m: Module) => new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
const figures = (r: FitResult) => recordFigures(r.records);
const snapshotsOf = (r: FitResult) => r.snapshots!.snapshots.map((s) => Object.fromEntries([...s].map(([k, v]) => [k, Array.from(v)])));

test('fitRunAsync on a host backend: the averages, snapshots and records of fitRun to the bit (samples after the max-norm edit)', async () => {
  const a = mlp(1);
  const sync = fitRun(options(a, sgd(a), [], true));
  const b = mlp(1);
  const async = await fitRunAsync(options(b, sgd(b), [], true));
  assert.deepEqual(figures(async), figures(sync));
  assert.deepEqual(async.swa!.stateDict(), sync.swa!.stateDict());
  assert.deepEqual(async.ema!.stateDict(), sync.ema!.stateDict());
  assert.equal(sync.swa!.n, 12 / SWA_EVERY);
  assert.equal(sync.ema!.n, 12);
  assert.deepEqual(async.snapshots!.at, [4, 8, 12]);
  assert.deepEqual(snapshotsOf(async), snapshotsOf(sync));
  // every snapshot row satisfies the constraint: it was taken after the edit
  for (const snap of sync.snapshots!.snapshots) {
    const w = snap.get('1.weight')!;
    for (let r = 0; r < 32; r++) {
      let sq = 0;
      for (let c = 0; c < 784; c++) sq += w[r * 784 + c] ** 2;
      assert.ok(Math.sqrt(sq) <= 0.5 * (1 + 1e-6), `row ${r} of a snapshot has norm ${Math.sqrt(sq)}`);
    }
  }
});

/** The device rules in float32, one rounding per kernel (sub, then div or mul, then add), over the host run's samples. */
function replay(samples: WeightSnapshot[], kind: 'swa' | 'ema'): Map<string, Float32Array> {
  const avg = new Map<string, Float32Array>();
  samples.forEach((snap, n) => {
    for (const [name, w] of snap) {
      if (n === 0) {
        avg.set(name, Float32Array.from(w));
        continue;
      }
      const a = avg.get(name)!;
      const k = Math.fround(kind === 'swa' ? n + 1 : 1 - EMA_DECAY);
      for (let i = 0; i < a.length; i++) {
        const d = Math.fround(w[i] - a[i]);
        a[i] = Math.fround(a[i] + Math.fround(kind === 'swa' ? d / k : d * k));
      }
    }
  });
  return avg;
}

test('on the emulated device: the averages are the float32 rules replayed exactly, within float32 rounding of the host float64 ones; snapshots and records equal the host run', async () => {
  const host = mlp(2);
  // the weights each sample sees: after the step and its max-norm edit (fit's onStepEnd comes after every onUpdate)
  const seen: WeightSnapshot[] = [];
  const hostRun = fitRun(options(host, sgd(host), [{ onStepEnd: (s) => void seen.push(captureWeights(s.model)) }]));

  const bare = mlp(2);
  await bare.to(DEVICE);
  const bareOptions = { ...options(bare, sgd(bare)), swa: undefined, ema: undefined, snapshots: undefined };
  let reads = counters.reads;
  const bareRun = await fitRunAsync(bareOptions);
  const bareReads = counters.reads - reads;

  const dev = mlp(2);
  await dev.to(DEVICE);
  reads = counters.reads;
  const devRun = await fitRunAsync(options(dev, sgd(dev)));
  const devReads = counters.reads - reads;
  assert.notDeepEqual(figures(bareRun), figures(devRun), 'the snapshot schedule changes the learning rate');
  assert.deepEqual(figures(devRun), figures(hostRun));
  assert.deepEqual(snapshotsOf(devRun), snapshotsOf(hostRun));
  // what the averages add: one read per parameter for each snapshot and for each average's sync at the end
  const nParams = dev.parameters().length;
  assert.equal(devReads - bareReads, 3 * nParams + 2 * nParams);

  const swaSamples = seen.filter((_, i) => (i + 1) % SWA_EVERY === 0);
  for (const [kind, avg, samples] of [
    ['swa', devRun.swa!, swaSamples],
    ['ema', devRun.ema!, seen],
  ] as const) {
    assert.equal(avg.n, samples.length, kind);
    const expected = replay(samples, kind);
    const hostAvg = kind === 'swa' ? hostRun.swa! : hostRun.ema!;
    for (const [name, want] of expected) {
      const got = avg.get(name)!;
      assert.deepEqual(Array.from(got), Array.from(want), `${kind} ${name}: the float32 rule`);
      const ref = hostAvg.get(name)!;
      let err = 0;
      for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - ref[i]) / (1 + Math.abs(ref[i])));
      assert.ok(err < 2e-6, `${kind} ${name}: ${err} from the float64 average`);
    }
  }
});

test('on the emulated device: a run interrupted after a checkpoint and resumed gives the uninterrupted run its averages and snapshots', async () => {
  const run = async (o: { resume?: Checkpoint; stopAt?: number }) => {
    const m = mlp(3);
    await m.to(DEVICE);
    const saved: Checkpoint[] = [];
    const stop: Callback = {
      onStepBegin: (s) => {
        if (s.step === o.stopAt) throw new Error('interrupted');
      },
    };
    let result: FitResult | undefined;
    try {
      result = await fitRunAsync({
        ...options(m, new Adam(m.parameters(), { lr: 3e-3 }), [stop]),
        resume: o.resume,
        checkpoint: { everySteps: 3, save: (c) => void saved.push(decodeCheckpoint(encodeCheckpoint(c))) },
      });
    } catch (e) {
      if ((e as Error).message !== 'interrupted') throw e;
    }
    return { result, saved };
  };
  const full = await run({});
  const r = full.result!;
  // the checkpoint at step 9 holds the two snapshots taken by then and the averages as they were
  const at9 = full.saved.find((c) => c.step === 9)!;
  const states = at9.callbacks as Record<string, { n?: number; snapshots?: unknown[] }>;
  assert.equal(states.snapshots.snapshots!.length, 2);
  assert.equal(states.ema.n, 9);
  assert.equal(states.swa.n, 4);
  for (const stopAt of [5, 8, 11]) {
    const cut = await run({ stopAt });
    assert.equal(cut.result, undefined);
    const last = cut.saved[cut.saved.length - 1];
    assert.deepEqual(
      last,
      full.saved.find((c) => c.step === last.step),
    );
    const resumed = (await run({ resume: last })).result!;
    assert.deepEqual(figures(resumed), figures(r), `records after resuming at step ${last.step}`);
    assert.deepEqual(resumed.swa!.stateDict(), r.swa!.stateDict(), `SWA after resuming at step ${last.step}`);
    assert.deepEqual(resumed.ema!.stateDict(), r.ema!.stateDict(), `EMA after resuming at step ${last.step}`);
    assert.deepEqual(snapshotsOf(resumed), snapshotsOf(r), `snapshots after resuming at step ${last.step}`);
  }
});
