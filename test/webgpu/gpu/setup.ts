/**
 * Shared by the WebGPU training tests (lavapipe) that compare a run on webgpu with the same run on
 * wasm: the hooks that make wasm the host backend and start the device, the embedded data, the
 * scaled comparison (|got − want| ≤ tol·(1 + |want|), NaN never within), the SGD options the
 * callback tests train with, and a run that records its step losses and reads its state back.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import {
  backend,
  crossEntropy,
  DataLoader,
  fit,
  fitAsync,
  fromData,
  Rng,
  SGD,
  setBackend,
  type AnyOptimizer,
  type Callback,
  type FitOptions,
  type Module,
} from '../../../src/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import { disposeWebGPU, initWebGPU, webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { loadEmbedded } from '../../../src/data/node.js';

/** The scaled difference a device run may differ from the wasm run by (float32 noise). */
export const TOL = 1e-5;

export const data = loadEmbedded();

/** Before the file's tests wasm becomes the current backend and a WebGPU device starts; after them the device is disposed. */
export function useWasmAndWebGPU(): void {
  before(async () => {
    await initWasm();
    setBackend('wasm');
    await initWebGPU();
  });
  after(() => disposeWebGPU());
}

/** Whether `got` is within `tol` of `want`, scaled: |got − want| ≤ tol·(1 + |want|). */
export const near = (got: number, want: number, tol = TOL): boolean => Math.abs(got - want) <= tol * (1 + Math.abs(want));

/** Asserts `got` (webgpu) is near `want` (wasm) element by element; returns the largest scaled difference. */
export function assertNear(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = TOL): number {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
    if (!(e <= tol)) assert.fail(`${what}[${i}]: ${got[i]} on webgpu, ${want[i]} on wasm (scaled difference ${e} > ${tol})`);
    worst = Math.max(worst, e);
  }
  return worst;
}

/**
 * SGD with momentum 0.9 at `lr` for `epochs` on the first 192 training images in batches of 64
 * (shuffled by the 'data' stream of seed 8), tested on the first 64, with `callbacks`; `extra`
 * adds or replaces options.
 */
export function sgdOptions(
  model: Module,
  callbacks: Callback[],
  { epochs = 2, lr = 0.05 }: { epochs?: number; lr?: number } = {},
  extra: Partial<FitOptions> = {},
): FitOptions {
  const rng = new Rng(8);
  return {
    model,
    optimizer: new SGD(model.parameters(), { lr, momentum: 0.9 }),
    train: new DataLoader(data.train.slice(0, 192), { batchSize: 64, shuffle: true, rng: rng.fork('data') }),
    test: new DataLoader(data.test.slice(0, 64), { batchSize: 64 }),
    epochs,
    rng,
    now: () => 0,
    callbacks,
    ...extra,
  };
}

/**
 * Two epochs of the first `samples` training images in batches of 32 (shuffled by the 'data' stream
 * of `seed`), tested on the first 64, with fitAsync where `device` and fit elsewhere: the records,
 * each step's loss, the parameters and the named state (parameters and buffers) read back at the
 * end. `onStep` runs after each step's loss is recorded; `extra` adds or replaces options (accumulate).
 */
export async function recordedRun(
  model: Module,
  optimizer: AnyOptimizer,
  device: boolean,
  { seed, samples, onStep, extra }: { seed: number; samples: number; onStep?: () => void; extra?: Partial<FitOptions> },
) {
  const rng = new Rng(seed);
  const losses: number[] = [];
  const o: FitOptions = {
    model,
    optimizer,
    train: new DataLoader(data.train.slice(0, samples), { batchSize: 32, shuffle: true, rng: rng.fork('data') }),
    test: new DataLoader(data.test.slice(0, 64), { batchSize: 32 }),
    epochs: 2,
    rng,
    now: () => 0,
    callbacks: [
      {
        onStepEnd: (_s, loss) => {
          losses.push(loss);
          onStep?.();
        },
      },
    ],
    ...extra,
  };
  const records = device ? await fitAsync(o) : fit(o);
  const params: Float32Array[] = [];
  for (const p of model.parameters()) params.push((await p.read()) as Float32Array);
  const state = await Promise.all(model.namedState().map(async ([n, t]) => [n, await t.read()] as const));
  return { records, losses, params, state };
}

type Recorded = Awaited<ReturnType<typeof recordedRun>>;

/**
 * Asserts that `got` (a recordedRun on webgpu) follows `want` (the same run on wasm): each step's
 * loss, the named state (same names, values near) and each epoch's losses near, the test accuracies
 * equal. Returns the largest scaled differences of the step losses and of the state.
 */
export function assertRunNear(got: Recorded, want: Recorded): { loss: number; state: number } {
  const loss = assertNear('step loss', got.losses, want.losses);
  let state = 0;
  for (const [i, [n, v]] of got.state.entries()) {
    assert.equal(n, want.state[i][0]);
    state = Math.max(state, assertNear(n, v, want.state[i][1]));
  }
  assert.equal(got.records.length, want.records.length, 'epochs');
  for (const [i, r] of got.records.entries()) {
    const w = want.records[i];
    assertNear(`epoch ${i + 1} losses`, [r.trainLoss, r.testLoss as number], [w.trainLoss, w.testLoss as number]);
    assert.equal(r.testAccuracy, w.testAccuracy, `epoch ${i + 1} test accuracy`);
  }
  return { loss, state };
}

/** A batch of stepsTrainAlike: the input's values and shape (token ids or features) and the class targets. */
export interface StepBatch {
  x: Float32Array;
  shape: number[];
  targets: number[];
}

/**
 * Trains the model `build` makes step by step on `batches` (cross-entropy, SGD with momentum 0.9 at
 * `lr`: Adam's g/√v would scale the float32 noise of gradients near zero up to whole steps) on wasm
 * and then on webgpu, the model moved there and the input uploaded first where `upload`. Asserts
 * that a device step reads nothing back, that the step losses and the parameters are near the
 * wasm run's and that the loss falls; returns both runs' losses.
 */
export async function assertStepsAlike(
  build: () => Module,
  batches: readonly StepBatch[],
  { lr = 0.05, training = false, upload = false }: { lr?: number; training?: boolean; upload?: boolean } = {},
): Promise<{ want: number[]; got: number[] }> {
  await initWasm();
  const prev = backend().name;
  const run = async (device: boolean) => {
    const model = build();
    if (device) await model.to('webgpu');
    const opt = new SGD(model.parameters(), { lr, momentum: 0.9 });
    const losses: number[] = [];
    for (const b of batches) {
      const reads = webgpuInfo().reads;
      opt.zeroGrad();
      const x = fromData(b.x, b.shape);
      const loss = crossEntropy(model.forward(device && upload ? await x.to('webgpu') : x, { training }), b.targets);
      loss.backward();
      opt.step();
      if (device) assert.equal(webgpuInfo().reads, reads, 'a step reads nothing back');
      losses.push((await loss.read())[0]);
    }
    return { losses, params: await Promise.all(model.parameters().map(async (p) => Array.from(await p.read()))) };
  };
  try {
    setBackend('wasm');
    const want = await run(false);
    const got = await run(true);
    assertNear('step loss', got.losses, want.losses);
    for (const [i, p] of got.params.entries()) assertNear(`parameter ${i}`, p, want.params[i]);
    assert.ok(want.losses.at(-1)! < want.losses[0], `the loss falls: ${want.losses}`);
    return { want: want.losses, got: got.losses };
  } finally {
    setBackend(prev);
  }
}
