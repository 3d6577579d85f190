/**
 * Training on storage the host cannot read synchronously, proved on the emulated device
 * (emulated-device.ts: the reference kernels behind a DeviceStorage that hides its values and
 * counts reads): fitAsync gives the reference backend's losses to the bit, no host read happens
 * inside a step, a run interrupted at a checkpoint and resumed equals the uninterrupted one, fit's
 * checkpoints resume in fitAsync, onNonFinite 'skip' leaves out fit's steps, and a host read or an
 * optimizer without a device update fail with their messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adam,
  Conv2d,
  crossEntropy,
  DataLoader,
  decodeCheckpoint,
  Dropout,
  encodeCheckpoint,
  evaluate,
  evaluateAsync,
  fit,
  fitAsync,
  fitRun,
  Flatten,
  Linear,
  MaxPool2d,
  mul,
  parseAugment,
  ReLU,
  Lion,
  Muon,
  muonParamGroups,
  accelerationInfo,
  isDeviceStorage,
  type Storage,
  Rng,
  SGD,
  Sequential,
  setBackend,
  Tensor,
  TensorDataset,
  sqrt,
  sum,
  type AnyOptimizer,
  type Callback,
  type Checkpoint,
  type EpochRecord,
  type Module,
} from '../../src/index.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';
import { mlp, runOptions, trainSet, testSet } from './setup.js';
import { WithSpare } from '../helpers.js';

setBackend('reference');
registerEmulatedDevice();

const mlpModel = (seed: number) => mlp(seed, { hidden: 48, dropout: 0.25 });
const cnnModel = (seed: number) => {
  const r = new Rng(seed).fork('init');
  return new Sequential(
    new Conv2d(1, 4, 5, { padding: 2, rng: r.fork('c1') }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(4, 8, 3, { padding: 1, rng: r.fork('c2') }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(8 * 7 * 7, 24, { rng: r.fork('f1') }),
    new ReLU(),
    new Dropout(0.5),
    new Linear(24, 10, { rng: r.fork('f2') }),
  );
};

const options = (model: Module, optimizer: AnyOptimizer, seed: number) => runOptions(model, optimizer, seed);

/** The records without the clock's fields (constant here anyway) for a readable diff. */
const figures = (rs: EpochRecord[]) =>
  rs.map((r) => ({ epoch: r.epoch, trainLoss: r.trainLoss, testLoss: r.testLoss, testAccuracy: r.testAccuracy, lr: r.lr }));

async function paramsOf(m: Module): Promise<number[][]> {
  const out: number[][] = [];
  for (const p of m.parameters()) out.push(Array.from(await p.read()));
  return out;
}

for (const [name, make, makeOpt] of [
  ['MLP + dropout, Adam', mlpModel, (m: Module) => new Adam(m.parameters(), { lr: 1e-3 })],
  ['CNN + dropout, SGD with momentum', cnnModel, (m: Module) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 })],
  ['CNN + dropout, AdamW amsgrad', cnnModel, (m: Module) => new Adam(m.parameters(), { lr: 2e-3, amsgrad: true, weightDecay: 0.01 })],
] as const) {
  test(`fitAsync on the emulated device equals the reference backend to the bit: ${name}, 2 epochs`, async () => {
    const host = make(3);
    const hostRecords = fit(options(host, makeOpt(host), 5));

    const dev = make(3);
    await dev.to(DEVICE);
    assert.equal(dev.parameters()[0].device, DEVICE);
    const devOpt = makeOpt(dev);
    const steps: number[] = [];
    const before = { ...counters };
    const o = options(dev, devOpt, 5);
    // count reads between the first and the last step: only the losses (one per step), read a step behind
    let readsAtFirstStep = -1;
    let readsAtLastStep = -1;
    const records = await fitAsync({
      ...o,
      callbacks: [
        {
          onStepBegin: (s) => {
            if (s.step === 0) readsAtFirstStep = counters.reads;
            if (s.step === 7) readsAtLastStep = counters.reads;
          },
          onStepEnd: (s) => void steps.push(s.step),
        },
      ],
    });
    const readsInRun = counters.reads - before.reads;
    assert.deepEqual(figures(records), figures(hostRecords));
    assert.deepEqual(await paramsOf(dev), await paramsOf(host));
    // optimizer state lives on the device
    const st = [...devOpt.state.values()][0] as Record<string, unknown>;
    for (const v of Object.values(st)) if (typeof v === 'object') assert.equal((v as { device?: string }).device, DEVICE);
    // from the start of step 1 to the start of step 8: steps 1..4, epoch 1's end (parameters
    // checked, test set evaluated), steps 5..7. Reads in between: the losses of steps 1..7 (each
    // issued once its step is queued, awaited after the next one is), the finite check (one scalar
    // reduced on the device from every parameter) and the evaluation (2 batches: a loss and the
    // logits each) — none inside a step.
    assert.equal(readsAtLastStep - readsAtFirstStep, 7 + 1 + 2 * 2);
    // in all: 8 losses, 2 finite checks, 2 evaluations
    assert.equal(readsInRun, 8 + 2 + 2 * 4);
    assert.equal(steps.length, 8);
  });
}

test("fitAsync on the emulated device with class probabilities [B, 10] as targets: one-hot rows give the labels' run to the bit, with as few reads", async () => {
  const x = new Tensor(trainSet.images, [trainSet.length, ...trainSet.shape]);
  const tx = new Tensor(testSet.images, [testSet.length, ...testSet.shape]);
  const oneHot = (labels: Int32Array) => {
    const q = new Float32Array(labels.length * 10);
    labels.forEach((c, i) => (q[i * 10 + c] = 1));
    return new Tensor(q, [labels.length, 10]);
  };
  const run = async (probabilities: boolean) => {
    const m = mlpModel(9);
    await m.to(DEVICE);
    const rng = new Rng(4);
    const reads = counters.reads;
    const records = await fitAsync({
      model: m,
      optimizer: new Adam(m.parameters(), { lr: 1e-3 }),
      train: new DataLoader(new TensorDataset(x, probabilities ? oneHot(trainSet.labels) : trainSet.labels), {
        batchSize: 64,
        shuffle: true,
        rng: rng.fork('data'),
      }),
      test: new DataLoader(new TensorDataset(tx, probabilities ? oneHot(testSet.labels) : testSet.labels), { batchSize: 64 }),
      epochs: 2,
      rng,
      now: () => 0,
    });
    return { records, reads: counters.reads - reads, params: await paramsOf(m) };
  };
  const labels = await run(false),
    probs = await run(true);
  assert.deepEqual(figures(probs.records), figures(labels.records));
  assert.ok(probs.records[1].testAccuracy! > 0);
  assert.deepEqual(probs.params, labels.params);
  assert.equal(probs.reads, labels.reads);
});

test('no host read inside a step: a training step on the device reads nothing back', async () => {
  const m = cnnModel(1);
  await m.to(DEVICE);
  const opt = new Adam(m.parameters(), { lr: 1e-3 });
  const [batch] = new DataLoader(trainSet, { batchSize: 64 }).epoch(0);
  const reads = counters.reads;
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad({ setToNone: false });
    const loss = crossEntropy(m.forward(batch.x, { training: true, rng: new Rng(i) }), batch.y);
    loss.backward();
    opt.step();
  }
  assert.equal(counters.reads, reads);
  // the unfused model (plain Sequential.forward) equals the host's step for step
  const h = cnnModel(1);
  const hopt = new Adam(h.parameters(), { lr: 1e-3 });
  for (let i = 0; i < 3; i++) {
    hopt.zeroGrad({ setToNone: false });
    crossEntropy(h.forward(batch.x, { training: true, rng: new Rng(i) }), batch.y).backward();
    hopt.step();
  }
  assert.deepEqual(await paramsOf(m), await paramsOf(h));

  // gradient accumulation: two backward passes into the device's .grad buffers, then one step
  const [b1, b2] = new DataLoader(trainSet, { batchSize: 32 }).epoch(0);
  const accReads = counters.reads;
  for (const [model, o] of [
    [m, opt],
    [h, hopt],
  ] as const) {
    o.zeroGrad({ setToNone: false });
    for (const b of [b1, b2]) crossEntropy(model.forward(b.x), b.y).backward();
    o.step();
  }
  assert.equal(counters.reads, accReads);
  assert.deepEqual(await paramsOf(m), await paramsOf(h));
});

test("fitAsync's checkpoints read the device's parameters and optimizer state: equal to fit's on the host", async () => {
  const host = mlpModel(4);
  const hs: Checkpoint[] = [];
  fit({ ...options(host, new Adam(host.parameters(), { lr: 1e-3, amsgrad: true }), 6), checkpoint: { save: (c) => void hs.push(c) } });
  const dev = mlpModel(4);
  await dev.to(DEVICE);
  const ds: Checkpoint[] = [];
  await fitAsync({
    ...options(dev, new Adam(dev.parameters(), { lr: 1e-3, amsgrad: true }), 6),
    checkpoint: { save: (c) => void ds.push(c) },
  });
  assert.equal(ds.length, 2);
  assert.equal(hs.length, 2);
  // every field: position, parameters, optimizer state, records, the epoch's sums, divergence reference
  for (let i = 0; i < 2; i++) assert.deepEqual(ds[i], hs[i]);
  assert.ok((ds[1].optimizer.state['1.weight'] as Record<string, unknown>).maxExpAvgSq instanceof Float32Array);
});

test('fitAsync on a host backend gives records bit-identical to fit', async () => {
  const a = mlpModel(8),
    b = mlpModel(8);
  const ra = fit(options(a, new Adam(a.parameters(), { lr: 3e-3 }), 2));
  const rb = await fitAsync(options(b, new Adam(b.parameters(), { lr: 3e-3 }), 2));
  assert.deepEqual(rb, ra);
  assert.deepEqual(
    await evaluateAsync(b, new DataLoader(testSet, { batchSize: 50 })),
    evaluate(a, new DataLoader(testSet, { batchSize: 50 })),
  );
});

for (const [name, makeOpt] of [
  ['Lion', (m: Module) => new Lion(m.parameters(), { lr: 1e-3, weightDecay: 0.1 })],
  ['Adam with epsInsideSqrt', (m: Module) => new Adam(m.parameters(), { lr: 1e-3, epsInsideSqrt: true })],
  ['Muon (Adam for the biases)', (m: Module) => new Muon(muonParamGroups(m.namedParameters()), { lr: 0.02 })],
] as const) {
  test(`fitAsync on the emulated device with a rule that has no fused update there (${name}): the rule runs on the host, the reference backend's run to the bit, each update counted`, async () => {
    const host = mlpModel(3);
    const hostOpt = makeOpt(host);
    const hostRecords = fit(options(host, hostOpt, 5));
    const dev = mlpModel(3);
    await dev.to(DEVICE);
    const devOpt = makeOpt(dev);
    const rule = devOpt.rule.name;
    const before = accelerationInfo().updates[rule]?.host ?? 0;
    const records = await fitAsync(options(dev, devOpt, 5));
    assert.deepEqual(figures(records), figures(hostRecords));
    assert.deepEqual(await paramsOf(dev), await paramsOf(host));
    // 8 steps of the model's 4 parameters, every one on the host path; the state stays on the host
    assert.equal(accelerationInfo().updates[rule].host - before, 8 * 4);
    for (const st of devOpt.state.values())
      for (const v of Object.values(st)) if (typeof v === 'object') assert.ok(!isDeviceStorage(v as Storage), 'host state');
    // the optimizer's state equals the host run's (a checkpoint of it resumes either)
    assert.deepEqual(await devOpt.readStateDict(), await hostOpt.readStateDict());
  });
}

test('stepAsync reads state that lives on the device back to the host once, then updates there by the rule', async () => {
  // Adam's state made by its fused update on the device, then epsInsideSqrt (which no fused update takes)
  const [batch] = new DataLoader(trainSet, { batchSize: 64 }).epoch(0);
  const run = async (where: 'host' | 'device') => {
    const m = mlpModel(4);
    if (where === 'device') await m.to(DEVICE);
    const opt = new Adam(m.parameters(), { lr: 1e-3 });
    for (const epsInsideSqrt of [false, true, true]) {
      for (const g of opt.paramGroups) g.epsInsideSqrt = epsInsideSqrt;
      opt.zeroGrad();
      crossEntropy(m.forward(batch.x), batch.y).backward();
      await opt.stepAsync();
    }
    return { params: await paramsOf(m), state: await opt.readStateDict(), opt };
  };
  const host = await run('host');
  const dev = await run('device');
  assert.deepEqual(dev.params, host.params);
  assert.deepEqual(dev.state, host.state);
  for (const st of dev.opt.state.values())
    for (const v of Object.values(st)) if (typeof v === 'object') assert.ok(!isDeviceStorage(v as Storage), 'read back to the host');
});

test('a host read of a device tensor and an optimizer without a device update fail with their messages', async () => {
  const m = mlpModel(2);
  await m.to(DEVICE);
  const w = m.parameters()[0];
  assert.throws(
    () => w.data,
    /^Error: tensor \[48, 784\] lives on emulated; read it with await t\.read\(\) or move it with await t\.to\('cpu'\)$/,
  );
  const opt = new Lion(m.parameters(), { lr: 1e-3 });
  const [batch] = new DataLoader(trainSet, { batchSize: 64 }).epoch(0);
  const loss = crossEntropy(m.forward(batch.x), batch.y);
  assert.throws(() => loss.item(), /^Error: tensor \[\] lives on emulated; read it with await t\.read\(\)/);
  assert.equal((await loss.read()).length, 1);
  loss.backward();
  assert.throws(
    () => opt.step(),
    /^Error: Lion: parameter "1\.weight" lives on emulated, where Lion with these options has no fused update \(its rule runs on the host: await optimizer\.stepAsync\(\), as fitAsync steps, reads the parameter back and writes its update\); optimizers that run on emulated: Adam \(.*\); AdamW \(.*\); SGD \(.*\); RMSprop \(.*\); Adagrad \(.*\); Adadelta \(.*\)$/,
  );
  const eps = new Adam(m.parameters(), { lr: 1e-3, epsInsideSqrt: true });
  assert.throws(() => eps.step(), /Adam: parameter "1\.weight" lives on emulated, where Adam with these options has no fused update/);
  // the synchronous loop sends a device model to the asynchronous one
  assert.throws(
    () => fit(options(m, new Adam(m.parameters()), 1)),
    /^Error: fit: the model's parameters live on emulated, which is read asynchronously; use await fitAsync\(…\)$/,
  );
  assert.throws(() => evaluate(m, new DataLoader(testSet, { batchSize: 64 })), /use await evaluateAsync/);
  // moving back: the values are the same
  const v = Array.from(await w.read());
  await m.to('cpu');
  assert.equal(w.device, 'cpu');
  assert.deepEqual(Array.from(w.data), v);
  await assert.rejects(() => m.to('gpu'), /^Error: to\('gpu'\): unknown device "gpu"; expected one of: cpu, emulated$/);
  await assert.rejects(
    () => m.to('webgpu'),
    /^Error: to\('webgpu'\): device "webgpu" is not initialised yet; call `await initWebGPU\(\)` first/,
  );
});

test('optimizer state follows its parameter to the device; back on the host it is carried over with readStateDict', async () => {
  const [batch] = new DataLoader(trainSet, { batchSize: 64 }).epoch(0);
  const stepOf = (m: Module, o: AnyOptimizer) => {
    o.zeroGrad({ setToNone: false });
    crossEntropy(m.forward(batch.x), batch.y).backward();
    o.step();
  };
  const h = mlpModel(6);
  const ho = new Adam(h.parameters(), { lr: 1e-2 });
  for (let i = 0; i < 3; i++) stepOf(h, ho);
  const m = mlpModel(6);
  const mo = new Adam(m.parameters(), { lr: 1e-2 });
  stepOf(m, mo); // on the host: host state
  await m.to(DEVICE);
  stepOf(m, mo); // the state is uploaded at this step
  const st = mo.state.get('1.weight') as Record<string, unknown>;
  assert.equal((st.expAvg as { device?: string }).device, DEVICE);
  await m.to('cpu');
  assert.throws(
    () => stepOf(m, mo),
    /^Error: Adam: the state of parameter "1\.weight" lives on emulated but the parameter on the host; move the model back, or carry the state over with loadStateDict\(await optimizer\.readStateDict\(\)\)$/,
  );
  mo.loadStateDict(await mo.readStateDict());
  stepOf(m, mo);
  assert.deepEqual(await paramsOf(m), await paramsOf(h));
  assert.deepEqual(mo.stateDict(), ho.stateDict());
});

/** fit's options with an augmenting source (flips and crops drawn from the loader's stream), 3 epochs of 4 batches. */
function augmented(seed: number) {
  const rng = new Rng(seed);
  return {
    train: new DataLoader(trainSet, { batchSize: 64, shuffle: true, rng: rng.fork('data'), transform: parseAugment('flip,crop:2') }),
    test: new DataLoader(testSet, { batchSize: 64 }),
    epochs: 3,
    rng,
    now: () => 0,
  };
}

test('fitAsync on the emulated device: a run interrupted after a checkpoint (mid-epoch or at an epoch end) and resumed equals the uninterrupted run bit for bit (dropout, augmentation)', async () => {
  const run = async (o: { resume?: Checkpoint; stopAt?: number }) => {
    const m = mlpModel(9);
    await m.to(DEVICE);
    const saved: Checkpoint[] = [];
    const stop: Callback = {
      onStepBegin: (s) => {
        if (s.step === o.stopAt) throw new Error('interrupted');
      },
    };
    let records: EpochRecord[] | undefined;
    try {
      records = await fitAsync({
        model: m,
        optimizer: new Adam(m.parameters(), { lr: 2e-3, amsgrad: true }),
        ...augmented(9),
        resume: o.resume,
        // through the byte form, as a file would carry it
        checkpoint: { everySteps: 3, everyEpochs: 1, save: (c) => void saved.push(decodeCheckpoint(encodeCheckpoint(c))) },
        callbacks: [stop],
      });
    } catch (e) {
      if ((e as Error).message !== 'interrupted') throw e;
    }
    return { records, saved, params: await paramsOf(m) };
  };
  const full = await run({});
  // [step, epoch, batch]: every 3 steps mid-epoch, every epoch end (step 12 is the last epoch's end)
  assert.deepEqual(
    full.saved.map((c) => [c.step, c.epoch, c.batch]),
    [
      [3, 0, 3],
      [4, 1, 0],
      [6, 1, 2],
      [8, 2, 0],
      [9, 2, 1],
      [12, 3, 0],
    ],
  );
  assert.ok(full.saved[0].rng.masks && full.saved[0].rng.transform, 'a mid-epoch checkpoint keeps the dropout and augmentation streams');
  assert.ok(full.saved[0].partial.seen > 0);
  for (const [stopAt, lastStep] of [
    [5, 4],
    [7, 6],
    [10, 9],
  ]) {
    const cut = await run({ stopAt });
    assert.equal(cut.records, undefined);
    const last = cut.saved[cut.saved.length - 1];
    assert.equal(last.step, lastStep);
    assert.deepEqual(
      last,
      full.saved.find((c) => c.step === lastStep),
    );
    const resumed = await run({ resume: last });
    assert.deepEqual(resumed.records, full.records, `records after resuming at step ${lastStep}`);
    assert.deepEqual(resumed.params, full.params, `parameters after resuming at step ${lastStep}`);
    assert.deepEqual(
      resumed.saved,
      full.saved.filter((c) => c.step > lastStep),
    );
  }
});

test("fit's mid-epoch checkpoint resumed by fitAsync gives fit's records, parameters and checkpoints: on the host backend and on the emulated device", async () => {
  const setup = (m: Module, saved: Checkpoint[]) => ({
    model: m,
    optimizer: new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 }),
    ...augmented(11),
    checkpoint: { everySteps: 3, save: (c: Checkpoint) => void saved.push(c) },
  });
  const host = mlpModel(11);
  const saved: Checkpoint[] = [];
  const ref = fitRun(setup(host, saved));
  const mid = saved.find((c) => c.step === 6)!;
  assert.deepEqual([mid.epoch, mid.batch], [1, 2]);
  for (const where of ['cpu', DEVICE]) {
    const m = mlpModel(11);
    if (where === DEVICE) await m.to(DEVICE);
    const again: Checkpoint[] = [];
    const records = await fitAsync({ ...setup(m, again), resume: mid });
    assert.equal(m.parameters()[0].device, where);
    assert.deepEqual(records, ref.records, `records on ${where}`);
    assert.deepEqual(await paramsOf(m), await paramsOf(host), `parameters on ${where}`);
    assert.deepEqual(
      again,
      saved.filter((c) => c.step > 6),
      `checkpoints on ${where}`,
    );
  }
});

test("onNonFinite 'skip' in fitAsync leaves out the steps fit leaves out (a NaN loss; a NaN gradient under a finite loss), on the host backend and the emulated device", async () => {
  const nanLossAt = new Set([2, 7]);
  const run = async (where: 'fit' | 'cpu' | typeof DEVICE) => {
    const m = mlpModel(12);
    if (where === DEVICE) await m.to(DEVICE);
    const w = m.parameters()[0];
    const opt = new Adam(m.parameters(), { lr: 1e-3 });
    let k = 0;
    const skips: [number, string][] = [];
    const o = {
      ...options(m, opt, 12),
      test: undefined,
      loss: (logits: Tensor, y: Parameters<typeof crossEntropy>[1]) => {
        const l = crossEntropy(logits, y);
        return nanLossAt.has(++k) ? mul(l, NaN) : l;
      },
      onNonFinite: 'skip' as const,
      onSkip: (i: { step: number; reason: string }) => void skips.push([i.step, i.reason]),
      // 0 in value, a NaN gradient (d√u/du = ∞ at u = 0, times 0) on step 5 only
      callbacks: [{ lossTerms: (s: { step: number }) => (s.step === 4 ? { bad: sqrt(sum(mul(w, 0))) } : {}) } as Callback],
    };
    const records = where === 'fit' ? fitRun(o).records : await fitAsync(o);
    return { records, skips, params: await paramsOf(m), adamSteps: ([...opt.state.values()][0] as { step: number }).step };
  };
  const ref = await run('fit');
  assert.deepEqual(ref.skips, [
    [2, 'the loss became NaN'],
    [5, 'a gradient became non-finite'],
    [7, 'the loss became NaN'],
  ]);
  assert.equal(ref.adamSteps, 8 - 3);
  for (const where of ['cpu', DEVICE] as const) assert.deepEqual(await run(where), ref, `fitAsync on ${where}`);
});

test('a non-finite gradient under a finite loss, not skipped: the epoch-end check of the parameters on the device stops the run as fit does', async () => {
  const run = async (where: 'fit' | 'cpu' | typeof DEVICE) => {
    // the NaN goes into a parameter the forward never reads, so the loss stays finite
    const m = new WithSpare(mlpModel(6));
    if (where === DEVICE) await m.to(DEVICE);
    const w = m.spare;
    const records: unknown[] = [];
    const o = {
      ...options(m, new SGD(m.parameters(), { lr: 0.05 }), 9),
      epochs: 1,
      onEpoch: (r: unknown) => void records.push(r),
      // 0 in value, a NaN gradient (d√u/du = ∞ at u = 0, times 0) on step 3 only
      callbacks: [{ lossTerms: (s: { step: number }) => (s.step === 2 ? { bad: sqrt(sum(mul(w, 0))) } : {}) } as Callback],
    };
    const before = counters.reads;
    const err = await (async () => (where === 'fit' ? fitRun(o) : await fitAsync(o)))().then(
      () => null,
      (e: Error) => `${e.name}: ${e.message}`,
    );
    return { err, records, reads: counters.reads - before };
  };
  const ref = await run('fit');
  assert.match(
    ref.err ?? '',
    /^TrainingError: the parameters became non-finite \(a non-finite gradient\) at epoch 1, step 4 \(learning rate 0\.05\)/,
  );
  assert.deepEqual(ref.records, []);
  assert.deepEqual((await run('cpu')).err, ref.err);
  const dev = await run(DEVICE);
  assert.deepEqual(dev.err, ref.err);
  assert.deepEqual(dev.records, []);
  // the 4 steps' losses, step 3's term and one scalar for the check: no parameter is read back
  assert.equal(dev.reads, 4 + 1 + 1);
});

test('fitAsync refuses what it cannot take and a checkpoint that does not fit the run, with their messages', async () => {
  const m = mlpModel(2);
  await m.to(DEVICE);
  const o = () => options(m, new Adam(m.parameters()), 1); // 2 epochs
  await assert.rejects(
    () => fitAsync({ ...o(), fullBatch: true }),
    /^RangeError: fitAsync: option fullBatch is not supported \(a full-batch step reads the loss inside its closure\); use fit$/,
  );
  await assert.rejects(
    () => fitAsync({ ...o(), checkpoint: { everySteps: 0, save: () => {} } }),
    /^RangeError: fitAsync: checkpoint\.everySteps must be a positive integer, got 0$/,
  );
  await assert.rejects(
    () => fitAsync({ ...o(), callbacks: [{ state: () => 1 }] }),
    /^RangeError: fitAsync: a callback with state\(\) needs a key to be kept in checkpoints$/,
  );
  const saved: Checkpoint[] = [];
  await fitAsync({ ...o(), checkpoint: { save: (c) => void saved.push(c) } });
  await assert.rejects(
    () => fitAsync({ ...o(), epochs: 1, resume: saved[1] }),
    /^RangeError: fitAsync: the checkpoint is at epoch 2 of 2; epochs 1 is fewer$/,
  );
  const other = cnnModel(2);
  await other.to(DEVICE);
  await assert.rejects(
    () => fitAsync({ ...options(other, new Adam(other.parameters()), 2), resume: saved[0] }),
    /^RangeError: fitAsync: the checkpoint has no parameter "0\.weight" \(it holds 1\.weight, 1\.bias, 4\.weight, 4\.bias\); resume with the model it was taken from$/,
  );
});
