/** Checkpoints in the library: the byte form, bit-exact resume through fit(), divergence handling. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { SGD } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import { fitRun, TrainingError, type FitOptions } from '../../src/train/trainer.js';
import { encodeCheckpoint, decodeCheckpoint, CheckpointError, crc32, type Checkpoint } from '../../src/train/checkpoint.js';
import { getModel } from '../../src/train/models.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadEmbedded } from '../../src/data/node.js';
import { parseAugment } from '../../src/augment/parse.js';
import { scheduleCallback, plateauCallback, ReduceOnPlateau, cosine } from '../../src/schedule/index.js';
import { mul, sqrt, sum } from '../../src/autograd/ops.js';
import { crossEntropy } from '../../src/autograd/cross-entropy.js';
import { WithSpare } from '../helpers.js';

const data = loadEmbedded();
const train = data.train.slice(0, 240);
const test_ = data.test.slice(0, 100);

test("crc32 is zlib's", () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('the byte form keeps every float bit, NaN, ±Infinity and −0, and refuses a flipped or cut byte naming the source', () => {
  const f32 = new Float32Array([1.1, -0, NaN, 3e-42, Infinity]);
  const f64 = new Float64Array([Math.PI, -0, 1e-320, -Infinity]);
  const c = {
    version: 1,
    epochs: 3,
    epoch: 1,
    batch: 2,
    step: 7,
    skipped: 0,
    model: { w: { shape: [5], data: f32 } },
    optimizer: {
      optimizer: 'SGD',
      state: { w: { momentumBuffer: Array.from({ length: 20 }, (_, i) => i / 3) } },
      paramGroups: [{ lr: 0.1 }],
    },
    callbacks: { plateau: { best: Infinity, neg: -0, nan: NaN } },
    rng: {},
    records: [],
    partial: { seen: 1, lossSum: 2, termSums: {}, seconds: 0 },
    divergence: { reference: 2.3, samples: 1 },
    meta: { x: f64 },
  } as unknown as Checkpoint;
  const bytes = encodeCheckpoint(c);
  const d = decodeCheckpoint(bytes, 'a.dckpt');
  assert.deepEqual(Buffer.from((d.model.w.data as Float32Array).buffer), Buffer.from(f32.buffer));
  assert.deepEqual(Buffer.from((d.meta as { x: Float64Array }).x.buffer), Buffer.from(f64.buffer));
  assert.deepEqual(
    d.optimizer.state.w.momentumBuffer as number[],
    Array.from({ length: 20 }, (_, i) => i / 3),
  );
  const pl = d.callbacks.plateau as { best: number; neg: number; nan: number };
  assert.equal(pl.best, Infinity);
  assert.ok(Object.is(pl.neg, -0));
  assert.ok(Number.isNaN(pl.nan));
  for (const at of [0, 12, 40, bytes.length - 30, bytes.length - 1]) {
    const bad = bytes.slice();
    bad[at] ^= 0x10;
    assert.throws(
      () => decodeCheckpoint(bad, 'a.dckpt'),
      (e: unknown) => e instanceof CheckpointError && /^a\.dckpt: not a usable checkpoint/.test(e.message),
      `flipped byte ${at}`,
    );
  }
  for (const n of [0, 10, 100, bytes.length - 1]) {
    assert.throws(
      () => decodeCheckpoint(bytes.subarray(0, n), 'a.dckpt'),
      /^CheckpointError: a\.dckpt: not a usable checkpoint \(.*truncated/,
      `cut at ${n}`,
    );
  }
});

type Setup = (stop?: { at: number }) => FitOptions & { saved: Checkpoint[] };

/** A run whose checkpoints are collected in memory (encoded and decoded, as a file would be). */
function runOf(make: () => FitOptions, every: { everySteps?: number; everyEpochs?: number }): Setup {
  return () => {
    const saved: Checkpoint[] = [];
    const o = make();
    const run = { ...o, checkpoint: { ...every, save: (c: Checkpoint) => void saved.push(decodeCheckpoint(encodeCheckpoint(c))) } };
    // Not an option of fit (which refuses unknown ones): kept off the enumerable keys.
    return Object.defineProperty(run, 'saved', { value: saved, enumerable: false }) as FitOptions & { saved: Checkpoint[] };
  };
}

function weights(o: FitOptions): Buffer[] {
  return o.model.namedParameters().map(([, p]) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength));
}

/** Run to the end; then for every checkpoint taken, resume a fresh setup from it and compare every float. */
function checkResumes(setup: Setup, epochs: number, pick: (c: Checkpoint) => boolean): number {
  const full = setup();
  const res = fitRun({ ...full, epochs });
  const ref = weights(full);
  let n = 0;
  for (const c of full.saved.filter(pick)) {
    const again = setup();
    const r2 = fitRun({ ...again, epochs, resume: c });
    const w = weights(again);
    w.forEach((b, i) =>
      assert.ok(b.equals(ref[i]), `resumed from step ${c.step} (epoch ${c.epoch}, batch ${c.batch}): parameter ${i} differs`),
    );
    assert.deepEqual(
      r2.records.map((r) => [r.trainLoss, r.testLoss, r.lr]),
      res.records.map((r) => [r.trainLoss, r.testLoss, r.lr]),
      `records after resuming from step ${c.step}`,
    );
    n++;
  }
  return n;
}

function mlp(seed: number, o: { dropout?: number } = {}) {
  const rng = new Rng(seed);
  return { rng, model: getModel('mlp').build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10, ...o }) };
}

test('SGD with momentum, stopped at every epoch end, resumes bit for bit', () => {
  const setup = runOf(() => {
    const { rng, model } = mlp(3);
    return {
      model,
      optimizer: new SGD(model.namedParameters(), { lr: 0.05, momentum: 0.9 }),
      train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
      test: new DataLoader(test_, { batchSize: 100, flatten: true }),
      epochs: 3,
      rng: rng.fork('train'),
    };
  }, {});
  assert.equal(
    checkResumes(setup, 3, (c) => c.epoch < 3),
    2,
  );
});

test('Adam with a step schedule and a plateau schedule, stopped mid-epoch, resumes bit for bit', () => {
  const setup = runOf(
    () => {
      const { rng, model } = mlp(4);
      const optimizer = new Adam(model.namedParameters(), { lr: 0.01 });
      return {
        model,
        optimizer,
        train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
        test: new DataLoader(test_, { batchSize: 100, flatten: true }),
        epochs: 3,
        rng: rng.fork('train'),
        callbacks: [scheduleCallback(cosine({ lr: 0.01, totalSteps: 18 }), { unit: 'step' })],
      };
    },
    { everySteps: 4 },
  );
  assert.ok(checkResumes(setup, 3, (c) => c.batch > 0) >= 3);
  const plateau = runOf(() => {
    const { rng, model } = mlp(5);
    const optimizer = new SGD(model.namedParameters(), { lr: 0.1 });
    return {
      model,
      optimizer,
      train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
      test: new DataLoader(test_, { batchSize: 100, flatten: true }),
      epochs: 4,
      rng: rng.fork('train'),
      callbacks: [plateauCallback(new ReduceOnPlateau({ lr: 0.1, patience: 0, factor: 0.5 }))],
    };
  }, {});
  assert.equal(
    checkResumes(plateau, 4, (c) => c.epoch < 4),
    3,
  );
});

test('two parameter groups with a step schedule and a plateau schedule resume bit for bit, each group at its own rate', () => {
  /** The first layer's parameters at the optimizer's lr, the rest at a tenth of it. */
  const grouped = (model: ReturnType<typeof mlp>['model'], lr: number) => {
    const named = model.namedParameters();
    return new SGD(
      [
        { params: named.slice(0, 2), lr },
        { params: named.slice(2), lr: lr / 10 },
      ],
      { lr, momentum: 0.9 },
    );
  };
  const rates: number[][] = [];
  const setup = (cb: () => FitOptions['callbacks']) =>
    runOf(() => {
      const { rng, model } = mlp(7);
      return {
        model,
        optimizer: grouped(model, 0.05),
        train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
        test: new DataLoader(test_, { batchSize: 100, flatten: true }),
        epochs: 3,
        rng: rng.fork('train'),
        callbacks: [
          ...(cb() ?? []),
          {
            onEpochEnd: (s: { optimizer: { paramGroups: { lr: number }[] } }) => void rates.push(s.optimizer.paramGroups.map((g) => g.lr)),
          },
        ],
      };
    }, {});
  assert.equal(
    checkResumes(
      setup(() => [scheduleCallback(cosine({ lr: 0.05, totalSteps: 3 }), { unit: 'epoch' })]),
      3,
      (c) => c.epoch < 3,
    ),
    2,
  );
  for (const [a, b] of rates) assert.ok(Math.abs(b - a / 10) <= 1e-15 * a, `groups at ${a} and ${b}: not a tenth`);
  rates.length = 0;
  assert.equal(
    checkResumes(
      setup(() => [plateauCallback(new ReduceOnPlateau({ lr: 0.05, patience: 0, factor: 0.5 }))]),
      3,
      (c) => c.epoch < 3,
    ),
    2,
  );
  for (const [a, b] of rates) assert.ok(Math.abs(b - a / 10) <= 1e-15 * a, `groups at ${a} and ${b}: not a tenth`);
});

test('dropout with augmentation, SWA and EMA, stopped mid-epoch and at epoch ends, resumes bit for bit (averages included)', () => {
  let last: ReturnType<typeof fitRun> | undefined;
  const make = () => {
    const { rng, model } = mlp(6, { dropout: 0.3 });
    return {
      model,
      optimizer: new SGD(model.namedParameters(), { lr: 0.05, momentum: 0.9 }),
      train: new DataLoader(train, {
        batchSize: 40,
        shuffle: true,
        rng: rng.fork('data'),
        flatten: true,
        transform: parseAugment('flip,crop:2,jitter:0.2'),
      }),
      test: new DataLoader(test_, { batchSize: 100, flatten: true }),
      epochs: 3,
      rng: rng.fork('train'),
      swa: { startEpoch: 2 },
      ema: { decay: 0.9 },
    } as FitOptions;
  };
  const setup = runOf(make, { everySteps: 5, everyEpochs: 1 });
  const full = setup();
  const ref = fitRun(full);
  const picks = full.saved.filter((c) => c.step < 18);
  assert.ok(picks.some((c) => c.batch > 0) && picks.some((c) => c.batch === 0), 'both kinds of stop are tested');
  for (const c of picks) {
    const again = setup();
    last = fitRun({ ...again, resume: c });
    weights(again).forEach((b, i) => assert.ok(b.equals(weights(full)[i]), `step ${c.step}: parameter ${i} differs`));
    for (const k of ['swa', 'ema'] as const) {
      assert.equal(last[k]!.n, ref[k]!.n);
      for (const [name] of full.model.namedParameters())
        assert.ok(
          Buffer.from(last[k]!.get(name)!.buffer).equals(Buffer.from(ref[k]!.get(name)!.buffer)),
          `${k} ${name} after resuming from step ${c.step}`,
        );
    }
  }
});

test('snapshot members are kept in checkpoints', () => {
  const setup = runOf(
    () => {
      const { rng, model } = mlp(7);
      return {
        model,
        optimizer: new SGD(model.namedParameters(), { lr: 0.1, momentum: 0.9 }),
        train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
        epochs: 3,
        rng: rng.fork('train'),
        snapshots: { cycles: 3 },
      };
    },
    { everySteps: 7 },
  );
  const full = setup();
  const ref = fitRun(full);
  const c = full.saved.find((x) => x.step === 14)!;
  const again = setup();
  const r = fitRun({ ...again, resume: c });
  assert.equal(r.snapshots!.snapshots.length, 3);
  r.snapshots!.snapshots.forEach((m, i) => {
    for (const [k, v] of m)
      assert.ok(Buffer.from(v.buffer).equals(Buffer.from(ref.snapshots!.snapshots[i].get(k)!.buffer)), `snapshot ${i} ${k}`);
  });
});

test('a checkpoint from another model is refused naming the parameter', () => {
  const { rng, model } = mlp(1);
  const saved: Checkpoint[] = [];
  fitRun({
    model,
    optimizer: new SGD(model.namedParameters(), { lr: 0.05 }),
    train: new DataLoader(train, { batchSize: 120, flatten: true, rng }),
    epochs: 1,
    rng,
    checkpoint: { save: (c) => void saved.push(c) },
  });
  const other = getModel('logreg').build({ rng, inputShape: train.shape, classes: 10 });
  assert.throws(
    () =>
      fitRun({
        model: other,
        optimizer: new SGD(other.namedParameters(), { lr: 0.05 }),
        train: new DataLoader(train, { batchSize: 120, flatten: true, rng }),
        epochs: 2,
        rng,
        resume: saved[0],
      }),
    /parameter "0.weight" has shape \[10, 784\], the checkpoint's has \[256, 784\]/,
  );
});

test('onNonFinite skip leaves out the steps with a NaN loss (not applied, counted); stop names the last good checkpoint', () => {
  const nanAt = new Set([2, 5, 9]);
  let k = 0;
  const lossFn = (logits: Parameters<typeof crossEntropy>[0], y: ArrayLike<number>) => {
    k++;
    const l = crossEntropy(logits, y);
    return nanAt.has(k) ? mul(l, NaN) : l;
  };
  const { rng, model } = mlp(2);
  const optimizer = new Adam(model.namedParameters(), { lr: 0.001 });
  const skips: number[] = [];
  const r = fitRun({
    model,
    optimizer,
    train: new DataLoader(train, { batchSize: 40, flatten: true, rng }),
    epochs: 2,
    rng,
    loss: lossFn,
    onNonFinite: 'skip',
    onSkip: (i) => skips.push(i.step),
  });
  assert.equal(r.skipped, 3);
  assert.deepEqual(skips, [2, 5, 9]);
  assert.equal(optimizer.state.get('0.weight')!.step, 12 - 3, 'Adam took only the applied steps');
  for (const [, p] of model.namedParameters()) assert.ok(p.data.every(Number.isFinite));
  k = 0;
  const m2 = mlp(2).model;
  const labels: string[] = [];
  assert.throws(
    () =>
      fitRun({
        model: m2,
        optimizer: new Adam(m2.namedParameters(), { lr: 0.001 }),
        train: new DataLoader(train, { batchSize: 40, flatten: true, rng }),
        epochs: 2,
        rng,
        loss: lossFn,
        checkpoint: { everySteps: 1, save: (c) => (labels.push(`ck-${c.step}`), `ck-${c.step}`) },
      }),
    (e: unknown) => {
      assert.ok(e instanceof TrainingError);
      assert.equal(e.message, 'the loss became NaN at epoch 1, step 2 (learning rate 0.001); last good checkpoint: ck-1');
      assert.deepEqual([e.epoch, e.step, e.lr, e.lastCheckpoint], [1, 2, 0.001, 'ck-1']);
      return true;
    },
  );
});

test('a non-finite gradient with a finite loss: skip leaves the step out (checked every step); stop catches the parameters at the epoch end', () => {
  // A penalty that is 0 in value but whose gradient is NaN (d√u/du = ∞ at u = 0, times 0), on step 3 only.
  const nanGradOnStep3 = (params: () => Parameters<typeof sum>[0]) => ({
    lossTerms(s: { step: number }): Record<string, ReturnType<typeof sqrt>> {
      return s.step === 2 ? { bad: sqrt(sum(mul(params(), 0))) } : {};
    },
  });
  const make = (spare: boolean) => {
    const { rng, model: net } = mlp(8);
    const model = spare ? new WithSpare(net) : net;
    const w = spare ? (model as WithSpare).spare : net.namedParameters()[0][1];
    return {
      model,
      optimizer: new SGD(model.namedParameters(), { lr: 0.05 }),
      train: new DataLoader(train, { batchSize: 40, shuffle: true, rng: rng.fork('data'), flatten: true }),
      epochs: 1,
      rng,
      callbacks: [nanGradOnStep3(() => w)],
    };
  };
  const a = make(false);
  const r = fitRun({ ...a, onNonFinite: 'skip' });
  assert.equal(r.skipped, 1);
  for (const [, p] of a.model.namedParameters()) assert.ok(p.data.every(Number.isFinite));
  // A NaN first-layer weight reaches the loss through ReLU (relu(NaN) = NaN, as in PyTorch): the
  // next step's loss check stops the run.
  assert.throws(
    () => fitRun(make(false)),
    /^TrainingError: the loss became NaN at epoch 1, step 4 \(learning rate 0\.05\); last good checkpoint: none$/,
  );
  // A NaN the loss never sees: the epoch-end scan of the parameters stops the run, before
  // evaluation and any checkpoint.
  const records: unknown[] = [];
  assert.throws(
    () => fitRun({ ...make(true), onEpoch: (x) => records.push(x) }),
    /^TrainingError: the parameters became non-finite \(a non-finite gradient\) at epoch 1, step 6 \(learning rate 0\.05\); last good checkpoint: none$/,
  );
  assert.deepEqual(records, []);
});

test('Rng.getState/fromState continue draw for draw; DataLoader.epoch(e, { batch, transformRng }) continues an augmented epoch', () => {
  const r = new Rng(42);
  r.normal();
  const st = r.getState();
  const a = [r.normal(), r.nextU32(), r.uniform()];
  const q = Rng.fromState(JSON.parse(JSON.stringify(st)));
  assert.deepEqual([q.normal(), q.nextU32(), q.uniform()], a);
  assert.equal(q.fork('x').nextU32(), new Rng(42).fork('x').nextU32(), 'forks depend on the seed, which the state keeps');
  const loader = new DataLoader(train, {
    batchSize: 50,
    shuffle: true,
    rng: new Rng(3),
    transform: parseAugment('flip,crop:2,jitter:0.3'),
  });
  const all: ReturnType<typeof loader.collate>[] = [];
  let after1: ReturnType<Rng['getState']> | undefined;
  for (const b of loader.epoch(2)) {
    all.push(b);
    if (all.length === 2) after1 = b.transformRng!.getState(); // the live stream, read before the next batch is drawn
  }
  const rest = [...loader.epoch(2, { batch: 2, transformRng: after1 })];
  assert.equal(rest.length, all.length - 2);
  rest.forEach((b, i) => {
    assert.deepEqual(b.indices, all[i + 2].indices);
    assert.ok(Buffer.from(b.x.data.buffer).equals(Buffer.from(all[i + 2].x.data.buffer)), `batch ${i + 2}`);
  });
  assert.throws(() => [...loader.epoch(2, { batch: 2 })], /needs the transform stream's position/);
  assert.throws(() => [...loader.epoch(2, { batch: 99 })], /start batch must be an integer in \[0, 5\], got 99/);
});
