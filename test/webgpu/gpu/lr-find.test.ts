/**
 * The learning-rate range test on the GPU (lavapipe): lrFindAsync with the model on 'webgpu'
 * follows lrFind on wasm — the same rates, losses within float32 noise, the curve ending at the
 * same step (a range that diverges included), the same suggestion — and puts the parameters and
 * the optimizer's device state back exactly, so training after it equals training without it bit
 * for bit; `descent lr-find --backend webgpu` runs the test on the GPU and says so.
 *
 * Tolerance: the curve's losses are those of steps trained on float32 gradients summed in different
 * orders, as the training runs of train.test.ts, at rates that grow until the steps amplify those
 * differences instead of damping them. Measured on lavapipe (scaled by 1 + |loss|): ≤ 3.0e-6 at
 * Adam's rates up to 0.067 and SGD's up to 2.4, then 1.2e-5 at Adam's 0.1 and 4.2e-5 at SGD's 3.5.
 * So the points at rates ≤ 0.05 (Adam) or ≤ 1 (SGD) are held to setup.ts's TOL (1e-5), the rest
 * of the curve to TAIL_TOL (5e-4); a loss read a step early or late differs from its neighbour by
 * 1e-2 or more (another batch), a missed or repeated update by as much.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Adam,
  DataLoader,
  fitAsync,
  lrFind,
  lrFindAsync,
  Rng,
  SGD,
  type AnyOptimizer,
  type LrFindOptions,
  type LrFindResult,
  type Module,
} from '../../../src/index.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { steepestLr } from '../../../src/train/lr-find.js';
import { mlpDropout } from './models.js';
import { assertNear, data, TOL, useWasmAndWebGPU } from './setup.js';

const TAIL_TOL = 5e-4;

useWasmAndWebGPU();

const loader = (seed: number) => new DataLoader(data.train.slice(0, 192), { batchSize: 32, shuffle: true, rng: new Rng(seed) });

/** Asserts the curve `got` (webgpu) near `want` (wasm): within TOL at rates ≤ `stable`, TAIL_TOL beyond (see the header). */
function assertCurveNear(got: LrFindResult, want: LrFindResult, stable: number): void {
  const n = want.lrs.filter((lr) => lr <= stable).length;
  assert.ok(n >= 10 && n < want.lrs.length, `${n} of ${want.lrs.length} points at rates ≤ ${stable}`);
  const worst = assertNear('loss', got.losses.slice(0, n), want.losses.slice(0, n), TOL);
  assertNear('smoothed', got.smoothed.slice(0, n), want.smoothed.slice(0, n), TOL);
  const tail = assertNear('loss', got.losses.slice(n), want.losses.slice(n), TAIL_TOL);
  assertNear('smoothed', got.smoothed.slice(n), want.smoothed.slice(n), TAIL_TOL);
  console.log(
    `lr-find max scaled loss difference, webgpu vs wasm: ${worst.toExponential(2)} at rates ≤ ${stable}, ${tail.toExponential(2)} beyond`,
  );
}

/** The range test of `make`'s model and optimizer on wasm (lrFind) and on webgpu (lrFindAsync), with the same options. */
async function both(make: () => { model: Module; optimizer: AnyOptimizer }, options: Partial<LrFindOptions>) {
  const host = make();
  const want = lrFind({ ...host, train: loader(5), rng: new Rng(6), ...options });
  const dev = make();
  await dev.model.to('webgpu');
  const got = await lrFindAsync({ ...dev, train: loader(5), rng: new Rng(6), ...options });
  return { want, got };
}

test('lrFindAsync on the GPU gives lrFind’s curve on wasm: the same rates, losses within float32 noise, the same suggestion', async () => {
  const make = () => {
    const model = mlpDropout(2);
    return { model, optimizer: new Adam(model.parameters(), { lr: 1e-3 }) };
  };
  const { want, got } = await both(make, { startLr: 1e-5, endLr: 1e-1, steps: 24, skipStart: 2, skipEnd: 2 });
  assert.equal(want.diverged, false);
  assert.equal(got.diverged, false);
  assert.deepEqual(got.lrs, want.lrs);
  assertCurveNear(got, want, 0.05);
  assert.equal(got.suggestion, want.suggestion);
  assert.equal(got.suggestion, steepestLr(got.lrs, got.smoothed, 2, 2));
  assert.equal(got.minLossLr, want.minLossLr);
});

test('a diverging range ends on the GPU at the step where it ends on wasm, though its losses arrive a step late', async () => {
  const make = () => {
    const model = mlpDropout(3);
    return { model, optimizer: new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 }) };
  };
  const { want, got } = await both(make, { startLr: 1e-3, endLr: 1e3, steps: 40, smoothing: 0.3, skipStart: 2, skipEnd: 2 });
  assert.equal(want.diverged, true);
  assert.ok(want.lrs.length < 40, `wasm took all ${want.lrs.length} steps`);
  assert.equal(got.diverged, true);
  assert.equal(got.lrs.length, want.lrs.length, 'steps on the curve');
  assert.deepEqual(got.lrs, want.lrs);
  assertCurveNear(got, want, 1);
  const last = got.smoothed[got.smoothed.length - 1];
  assert.ok(!Number.isFinite(last) || last > 5 * Math.min(...got.smoothed), `the last smoothed loss ${last} did not diverge`);
  assert.equal(got.suggestion, want.suggestion);
});

test('lrFindAsync puts the parameters and the device optimizer state back exactly: a fit after it equals one without it, bit for bit', async () => {
  const make = async () => {
    const model = mlpDropout(4);
    await model.to('webgpu');
    const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
    return { model, optimizer };
  };
  // one epoch first, so that Adam's state lives on the device when the range test starts
  const epoch = (m: { model: Module; optimizer: AnyOptimizer }, seed: number) =>
    fitAsync({ ...m, train: loader(seed), epochs: 1, rng: new Rng(seed) });
  const read = async (m: Module) => Promise.all(m.namedState().map(async ([n, t]) => [n, Array.from(await t.read())] as const));
  const probed = await make();
  const plain = await make();
  await epoch(probed, 7);
  await epoch(plain, 7);
  const params = await read(probed.model);
  const state = JSON.stringify(await probed.optimizer.readStateDict());
  assert.ok(state.includes('expAvg'), 'Adam has state before the range test');
  const r = await lrFindAsync({ ...probed, train: loader(5), startLr: 1e-4, endLr: 10, steps: 20, smoothing: 0.5 });
  assert.ok(r.lrs.length >= 2);
  assert.deepEqual(await read(probed.model), params, 'parameters after the range test');
  assert.equal(JSON.stringify(await probed.optimizer.readStateDict()), state, 'optimizer state after the range test');
  assert.equal(probed.optimizer.lr, 2e-3);
  await epoch(probed, 8);
  await epoch(plain, 8);
  assert.deepEqual(await read(probed.model), await read(plain.model), 'parameters after the next epoch');
});

test('lrFind refuses a model on the GPU, naming lrFindAsync', async () => {
  const model = mlpDropout(1);
  await model.to('webgpu');
  assert.throws(
    () => lrFind({ model, optimizer: new SGD(model.parameters()), train: loader(1) }),
    /^Error: lrFind: the model's parameters live on webgpu; run the range test there with await lrFindAsync\(options\)$/,
  );
});

const main = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

test('descent lr-find --backend webgpu runs the range test on the GPU, names it, and gives the curve wasm gives within float32 noise', () => {
  // Adam (the CLI's default optimizer) at rates up to 0.03
  const args = [
    'lr-find',
    '--data',
    'embedded',
    '--limit',
    '256',
    '--batch-size',
    '32',
    '--steps',
    '20',
    '--start-lr',
    '1e-4',
    '--end-lr',
    '0.03',
  ];
  const gpu = spawnSync(process.execPath, [main, ...args, '--backend', 'webgpu', '--json'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(gpu.status, 0, `exit status ${gpu.status} (signal ${gpu.signal}): ${gpu.stderr}`);
  const wasm = spawnSync(process.execPath, [main, ...args, '--backend', 'wasm', '--json'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(wasm.status, 0, wasm.stderr);
  const got = JSON.parse(gpu.stdout),
    want = JSON.parse(wasm.stdout);
  assert.deepEqual(got.lrs, want.lrs);
  assertCurveNear(got, want, 0.01);
  assert.equal(got.suggestion, want.suggestion);
  const text = spawnSync(process.execPath, [main, ...args, '--backend', 'webgpu'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(text.status, 0, text.stderr);
  const { adapter, software } = webgpuInfo();
  assert.ok(text.stdout.includes(`backend webgpu (${adapter}${software ? ', software adapter' : ''})`), text.stdout);
  assert.match(text.stdout, /^suggested --lr \d\.\d\de-\d /m);
});
