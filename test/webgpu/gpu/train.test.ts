/**
 * The WebGPU backend end to end (run by `npm run test:webgpu` on lavapipe): a short training run of
 * the MLP and the CNN with the model on 'webgpu' (Module.to + fitAsync) follows the same run on the
 * wasm backend (fit) step by step, with Adam and with SGD + momentum, and the MLP with RMSprop
 * (centered, with momentum) and with Adagrad (their fused updates on the GPU, their rules on wasm);
 * a run interrupted after a mid-epoch checkpoint and resumed on 'webgpu' equals the uninterrupted
 * one bit for bit; onNonFinite 'skip' leaves out fit's steps; and `descent train --backend webgpu`
 * trains and names the backend and its adapter (with --gpu-autotune too, to the same losses).
 *
 * Tolerance: the two backends run the same float32 arithmetic in different orders (the GPU's tiled
 * products and tree reductions against wasm's SIMD lanes), so every product and sum differs by a
 * few float32 ulps, and the difference grows through the steps (each update is taken from slightly
 * different gradients). Measured on lavapipe (the largest scaled difference over the four runs
 * below): 9.2e-7 on a step's loss, 5.4e-7 on a parameter after the last step. The bounds are about
 * 10× those: 1e-5 on each step's loss and each parameter (scaled by 1 + |value|); a wrong kernel,
 * a stale read or a missed update moves a step's loss by 1e-3 or more at these learning rates.
 *
 * RMSprop and Adagrad divide each gradient by its own running size, so at PyTorch's ε (1e-8,
 * 1e-10) a weight whose gradient is a near-cancelling sum (a border pixel's) takes a step of order
 * lr whose sign is float32 noise: the same runs on wasm and on the reference backend, both on the
 * host, already differ by 4e-5 (centered RMSprop with momentum) and 8e-6 (Adagrad) on such a
 * weight. With ε = 1e-4 for RMSprop and Keras' initial accumulator 0.1 for Adagrad those two host
 * runs agree within 4e-7, and the bounds above hold for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Adagrad,
  Adam,
  backend,
  DataLoader,
  fit,
  fitAsync,
  RMSprop,
  Rng,
  SGD,
  type AnyOptimizer,
  type Checkpoint,
  type EpochRecord,
  type Module,
  type Tensor,
} from '../../../src/index.js';
import { mul, sqrt, square, sum } from '../../../src/autograd/ops.js';
import { crossEntropy } from '../../../src/autograd/cross-entropy.js';
import { initWebGPU, webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { cnn, mlpDropout } from './models.js';
import { assertNear, data, recordedRun, useWasmAndWebGPU } from './setup.js';

const LOSS_TOL = 1e-5;
const PARAM_TOL = 1e-5;

useWasmAndWebGPU();

/** 2 epochs of `samples` training images in batches of 32 (and 64 test images), per-step losses recorded. */
const run = (model: Module, optimizer: AnyOptimizer, samples: number, device: boolean) =>
  recordedRun(model, optimizer, device, { seed: 11, samples });

/** Name, model, optimizer, training samples, and the fused update kernel that must run once per parameter and step. */
const cases: [string, (seed: number) => Module, (m: Module) => AnyOptimizer, number, string][] = [
  ['MLP + dropout, Adam', mlpDropout, (m) => new Adam(m.parameters(), { lr: 2e-3 }), 128, 'adamStep'],
  ['MLP + dropout, SGD with momentum', mlpDropout, (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 }), 128, 'sgdStep'],
  ['CNN, Adam', cnn, (m) => new Adam(m.parameters(), { lr: 2e-3 }), 64, 'adamStep'],
  ['CNN, SGD with Nesterov momentum', cnn, (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true }), 64, 'sgdStep'],
  [
    'MLP + dropout, centered RMSprop with momentum',
    mlpDropout,
    (m) => new RMSprop(m.parameters(), { lr: 1e-3, centered: true, momentum: 0.9, eps: 1e-4, weightDecay: 1e-4 }),
    128,
    'rmspropStep',
  ],
  [
    'MLP + dropout, Adagrad',
    mlpDropout,
    (m) => new Adagrad(m.parameters(), { lr: 0.05, lrDecay: 0.01, initialAccumulatorValue: 0.1 }),
    128,
    'adagradStep',
  ],
];

for (const [name, make, makeOpt, samples, update] of cases) {
  test(`${name}: a short run on webgpu follows the same run on wasm within float32 noise`, async () => {
    assert.equal(backend().name, 'wasm');
    const host = make(5);
    const want = await run(host, makeOpt(host), samples, false);

    const dev = make(5);
    await dev.to('webgpu');
    assert.equal(dev.parameters()[0].device, 'webgpu');
    const kernelsBefore = Object.values(webgpuInfo().kernels).reduce((a, b) => a + b, 0);
    const updatesBefore = webgpuInfo().kernels[update] ?? 0;
    const got = await run(dev, makeOpt(dev), samples, true);
    const info = webgpuInfo();
    // the run happened on the GPU: kernels dispatched, the fused update once per parameter and step
    assert.ok(Object.values(info.kernels).reduce((a, b) => a + b, 0) > kernelsBefore + 100);
    assert.equal((info.kernels[update] ?? 0) - updatesBefore, got.losses.length * got.params.length, `${update} dispatches`);
    assert.equal(backend().name, 'wasm', 'the host backend stays current');

    assert.equal(got.losses.length, (2 * samples) / 32);
    const lossErr = assertNear('step loss', got.losses, want.losses, LOSS_TOL);
    let paramErr = 0;
    for (const [i, p] of got.params.entries()) paramErr = Math.max(paramErr, assertNear(`parameter ${i}`, p, want.params[i], PARAM_TOL));
    for (const [i, r] of got.records.entries()) {
      assertNear(
        `epoch ${i + 1} losses`,
        [r.trainLoss, r.testLoss as number],
        [want.records[i].trainLoss, want.records[i].testLoss as number],
        LOSS_TOL,
      );
      assert.equal(r.testAccuracy, want.records[i].testAccuracy, `epoch ${i + 1} test accuracy`);
    }
    // the run learned something: the losses are not all one value
    assert.ok(Math.abs(want.losses[0] - want.losses[want.losses.length - 1]) > 1e-3);
    console.log(`webgpu vs wasm ${name}: step loss ${lossErr.toExponential(2)}, parameters ${paramErr.toExponential(2)}`);
  });
}

test('on webgpu, a run interrupted after a mid-epoch checkpoint and resumed equals the uninterrupted run bit for bit (MLP + dropout, Adam)', async () => {
  const go = async (o: { resume?: Checkpoint; stopAt?: number }) => {
    const model = mlpDropout(7);
    await model.to('webgpu');
    const rng = new Rng(13);
    const saved: Checkpoint[] = [];
    let records: EpochRecord[] | undefined;
    try {
      records = await fitAsync({
        model,
        optimizer: new Adam(model.parameters(), { lr: 2e-3 }),
        train: new DataLoader(data.train.slice(0, 96), { batchSize: 32, shuffle: true, rng: rng.fork('data') }),
        test: new DataLoader(data.test.slice(0, 32), { batchSize: 32 }),
        epochs: 2,
        rng,
        now: () => 0,
        resume: o.resume,
        checkpoint: { everySteps: 2, save: (c) => void saved.push(c) },
        callbacks: [
          {
            onStepBegin: (s) => {
              if (s.step === o.stopAt) throw new Error('interrupted');
            },
          },
        ],
      });
    } catch (e) {
      if ((e as Error).message !== 'interrupted') throw e;
    }
    const params: Float32Array[] = [];
    for (const p of model.parameters()) params.push((await p.read()) as Float32Array);
    return { records, saved, params };
  };
  const full = await go({});
  assert.deepEqual(
    full.saved.map((c) => [c.step, c.epoch, c.batch]),
    [
      [2, 0, 2],
      [4, 1, 1],
      [6, 2, 0],
    ],
  );
  const cut = await go({ stopAt: 5 });
  assert.equal(cut.records, undefined);
  const last = cut.saved[cut.saved.length - 1];
  assert.equal(last.step, 4);
  const resumed = await go({ resume: last });
  assert.deepEqual(resumed.records, full.records);
  assert.deepEqual(resumed.params, full.params);
  assert.deepEqual(resumed.saved, full.saved.slice(2));
});

test("onNonFinite 'skip' on webgpu leaves out the steps fit leaves out on wasm (a NaN loss; a NaN gradient under a finite loss)", async () => {
  const go = async (device: boolean) => {
    const model = mlpDropout(8);
    if (device) await model.to('webgpu');
    const w = model.parameters()[0];
    const rng = new Rng(3);
    let k = 0;
    const skips: [number, string][] = [];
    const o = {
      model,
      optimizer: new Adam(model.parameters(), { lr: 2e-3 }),
      train: new DataLoader(data.train.slice(0, 128), { batchSize: 32, shuffle: true, rng: rng.fork('data') }),
      epochs: 1,
      rng,
      now: () => 0,
      loss: (logits: Tensor, y: Parameters<typeof crossEntropy>[1]) => {
        const l = crossEntropy(logits, y);
        return ++k === 2 ? mul(l, NaN) : l;
      },
      onNonFinite: 'skip' as const,
      onSkip: (i: { step: number; reason: string }) => void skips.push([i.step, i.reason]),
      // 0 in value, a NaN gradient (d√u/du = ∞ at u = 0, times 0) on step 4 only
      callbacks: [{ lossTerms: (s: { step: number }): Record<string, Tensor> => (s.step === 3 ? { bad: sqrt(sum(mul(w, 0))) } : {}) }],
    };
    const records = device ? await fitAsync(o) : fit(o);
    const params: Float32Array[] = [];
    for (const p of model.parameters()) params.push((await p.read()) as Float32Array);
    return { records, skips, params };
  };
  const want = await go(false);
  const got = await go(true);
  assert.deepEqual(want.skips, [
    [2, 'the loss became NaN'],
    [4, 'a gradient became non-finite'],
  ]);
  assert.deepEqual(got.skips, want.skips);
  for (const [i, p] of got.params.entries()) assertNear(`parameter ${i}`, p, want.params[i], PARAM_TOL);
  assertNear('train loss', [got.records[0].trainLoss], [want.records[0].trainLoss], LOSS_TOL);
});

const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

test("fitAsync frees each step's storage on the device: from the third step every buffer comes from the pool, no bind group is created and no output is cleared", async () => {
  const model = cnn(3);
  await model.to('webgpu');
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  (await initWebGPU()).trimPool(); // what the runs above left in the pool does not count
  const created: number[] = [];
  const bound: number[] = [];
  const cleared: number[] = [];
  const count = () => {
    created.push(webgpuInfo().buffers);
    bound.push(webgpuInfo().bindGroups);
    cleared.push(webgpuInfo().clears);
  };
  const terms: Tensor[] = [];
  await fitAsync({
    model,
    optimizer,
    train: new DataLoader(data.train.slice(0, 320), { batchSize: 32 }),
    epochs: 1,
    rng: new Rng(2),
    callbacks: [
      {
        // counted before each step and after the last one's update: the epoch's end (its parameter
        // check) allocates what no step freed, from what the pool holds then
        onStepBegin: count,
        onUpdate: (s: { step: number }) => void (s.step === 10 && count()),
        // a step's own tensor (a zero-weighted penalty on the last layer's weight), kept here past the step
        lossTerms: () => {
          const t = mul(sum(square(model.parameters()[4])), 0);
          terms.push(t);
          return { zero: t };
        },
      },
    ],
  });
  for (const t of terms) assert.equal((t.storage as { destroyed?: boolean }).destroyed, true, 'a step tensor outlived its step');
  assert.equal(created.length, 11);
  // Exact counts: the steps allocate the same sizes in the same order, and a buffer that a
  // collected tensor of the tests above gives back mid-run goes under the step's own in the pool
  // (GpuContext.toPool), so when the garbage collector runs changes neither count.
  // A pooled output handed out as zeros is cleared before its kernel unless the kernel writes it in
  // full (Dispatch.full): the step's products, elementwise ops, reductions and pooling all do
  // (measured: 0 clears in steps 4–10 for 329 dispatches; 203 without `full`).
  assert.deepEqual(cleared.slice(4), Array(7).fill(cleared[3]), `outputs cleared before each step: ${cleared}`);
  // The same buffers at the same uniform offsets every step: the bind groups of the steps before
  // serve the later ones (measured: 43, 45 and 14 in steps 1–3, then none in steps 4–10, 47 dispatches each).
  assert.ok(bound[1] - bound[0] >= 20, `step 1 created few bind groups: ${bound}`);
  assert.deepEqual(bound.slice(4), Array(7).fill(bound[3]), `bind groups created before each step: ${bound}`);
  // step 1 creates the activations, the gradients (kept as .grad) and Adam's state, step 2 the
  // temporaries that step 1's gradients were before they became .grad; steps 3–10 reuse what the
  // steps before freed (measured: 59, 11, then 0 each)
  assert.ok(created[1] > created[0], `step 1 created no buffer: ${created}`);
  assert.deepEqual(created.slice(3), Array(8).fill(created[2]), `buffers created before each step: ${created}`);
  for (const p of model.parameters()) {
    assert.ok(p.grad, 'the gradient is kept');
    assert.ok(!(p.storage as { destroyed?: boolean }).destroyed && !(p.grad.storage as { destroyed?: boolean }).destroyed);
    assert.ok((await p.read()).every(Number.isFinite));
  }
  for (const st of optimizer.state.values())
    for (const v of Object.values(st)) if (v && typeof v === 'object') assert.ok(!(v as { destroyed?: boolean }).destroyed);
});

test('descent train --backend webgpu trains on the GPU and names the backend and its adapter', () => {
  const args = ['train', '--data', 'embedded', '--limit', '64', '--test-limit', '64', '--batch-size', '32', '--epochs', '1'];
  const r = spawnSync(process.execPath, [main, ...args, '--model', 'mlp', '--backend', 'webgpu'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `exit status ${r.status} (signal ${r.signal}): ${r.stderr}`);
  const { adapter, software } = webgpuInfo();
  assert.ok(adapter.length > 0);
  assert.ok(r.stdout.includes(`backend webgpu (${adapter}${software ? ', software adapter' : ''})`), r.stdout);
  assert.match(r.stdout, /^epoch 1\/1 {2}train loss \d+\.\d+ {2}test loss \d+\.\d+/m);
  // --gpu-autotune: said on the model line, and the same losses (the tile changes the time, not the values)
  const tuned = spawnSync(process.execPath, [main, ...args, '--model', 'mlp', '--backend', 'webgpu', '--gpu-autotune'], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(tuned.status, 0, tuned.stderr);
  assert.ok(tuned.stdout.includes(`backend webgpu (${adapter}${software ? ', software adapter' : ''}, tiles autotuned)`), tuned.stdout);
  const losses = (out: string) => out.match(/^epoch 1\/1 {2}train loss \S+ {2}test loss \S+/m)?.[0];
  assert.ok(losses(r.stdout));
  assert.equal(losses(tuned.stdout), losses(r.stdout));
  // auto takes the fastest: wasm over a software adapter (saying why), else the GPU
  const auto = spawnSync(process.execPath, [main, ...args, '--model', 'mlp'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(auto.status, 0, auto.stderr);
  const expected = software
    ? `backend wasm (auto: the WebGPU adapter is a software one, ${adapter}, slower than wasm on this CPU)`
    : `backend webgpu (${adapter})`;
  assert.ok(auto.stdout.includes(expected), auto.stdout);
});
