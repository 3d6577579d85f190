/**
 * The losses beyond cross-entropy and MSE (l1, smooth L1, Huber, BCE with logits, BCE, NLL, KL
 * divergence) on 'webgpu' tensors (run by `npm run test:webgpu` on lavapipe): the loss and the
 * gradients of input and target equal PyTorch's float32 ones (the fixtures of
 * test/autograd/losses.test.ts), every reduction, with nothing read back to the host until the test
 * reads the results; then a binary classifier trained by fitAsync on the device under
 * BCEWithLogitsLoss follows the wasm run.
 *
 * Tolerance 2e-6 scaled by 1 + |expected|, as cross-entropy's: WGSL's exp and log are less exact
 * than the CPU's, and the GPU's tree sums add in another order than PyTorch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import { lossCases } from '../../helpers.js';
import { close } from './helpers.js';
import { assertNear } from './setup.js';

const cases = lossCases().filter((c) => c.dtype === 'float32');

const TOL = 2e-6;

const LOSSES: Record<string, (x: d.Tensor, t: d.Tensor | number[], o: never) => d.Tensor> = {
  l1_loss: (x, t, o: { reduction: d.Reduction }) => d.l1Loss(x, t as d.Tensor, o.reduction),
  smooth_l1_loss: (x, t, o) => d.smoothL1Loss(x, t as d.Tensor, o),
  huber_loss: (x, t, o) => d.huberLoss(x, t as d.Tensor, o),
  binary_cross_entropy_with_logits: (x, t, o) => d.binaryCrossEntropyWithLogits(x, t as d.Tensor, o),
  binary_cross_entropy: (x, t, o) => d.binaryCrossEntropy(x, t as d.Tensor, o),
  nll_loss: (x, t, o) => d.nllLoss(x, t, o),
  kl_div: (x, t, o) => d.klDiv(x, t as d.Tensor, o),
};

test("every loss on 'webgpu' equals PyTorch's float32 loss and gradients, with nothing read back", async () => {
  assert.ok(cases.length > 200);
  for (const c of cases) {
    const what = `${c.fn} [${c.shape}] ${c.reduction} ${JSON.stringify({ ...c.options, weight: !!c.options.weight, posWeight: !!c.options.posWeight })}`;
    const options: Record<string, unknown> = { ...c.options, reduction: c.reduction };
    const w = c.options.weight;
    if (w && w.length === c.x.length && w.length !== c.shape[c.shape.length - 1]) options.weight = d.fromData(w, c.shape);
    const x = await d.fromData(c.x, c.shape, { requiresGrad: true }).to('webgpu');
    const t = c.fn === 'nll_loss' ? c.t : await d.fromData(c.t, c.shape, { requiresGrad: c.gt !== null }).to('webgpu');
    const before = webgpuInfo();
    const y = LOSSES[c.fn](x, t, options as never);
    const gy = await d.fromData(c.gy, y.shape).to('webgpu');
    d.sum(d.mul(y, gy)).backward();
    assert.equal(webgpuInfo().reads, before.reads, `${what}: nothing is read back to the host`);
    assert.equal(y.device, 'webgpu', what);
    const got = (await y.to('cpu')).data;
    c.y.forEach((e, i) => {
      if (e === null) assert.ok(Number.isNaN(got[i]), `${what}: y[${i}] ${got[i]}, expected NaN`);
      else close(`${c.fn} loss`, [got[i]], [e], TOL, ` ${what} [${i}]`);
    });
    close(`${c.fn} input gradient`, (await x.grad!.to('cpu')).data, c.gx, TOL, ` ${what}`);
    if (c.gt !== null) close(`${c.fn} target gradient`, (await (t as d.Tensor).grad!.to('cpu')).data, c.gt, TOL, ` ${what}`);
  }
});

test('a binary classifier trained by fitAsync under BCEWithLogitsLoss on webgpu follows the wasm run, binary accuracy included', async () => {
  await initWasm();
  const n = 192;
  const x = d.randn([n, 4], new d.Rng(4));
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = x.data[4 * i] - x.data[4 * i + 2] > 0 ? 1 : 0;
  const data = new d.TensorDataset(x, new d.Tensor(y, [n, 1]));
  const run = async (backend: 'wasm' | 'webgpu') => {
    const rng = new d.Rng(6);
    const model = new d.Sequential(new d.Linear(4, 8, { rng: rng.fork('a') }), new d.ReLU(), new d.Linear(8, 1, { rng: rng.fork('b') }));
    if (backend === 'webgpu') await model.to('webgpu');
    return d.fitAsync({
      model,
      optimizer: new d.Adam(model.parameters(), { lr: 0.02 }),
      train: new d.DataLoader(data, { batchSize: 32, shuffle: true, rng: rng.fork('data') }),
      test: new d.DataLoader(data, { batchSize: 64 }),
      epochs: 3,
      rng,
      now: () => 0,
      loss: new d.BCEWithLogitsLoss({ posWeight: [1.5] }),
    });
  };
  d.setBackend('wasm');
  const want = await run('wasm');
  const got = await run('webgpu');
  const figures = (r: d.EpochRecord[]) => r.flatMap((e) => [e.trainLoss, e.testLoss as number, e.testAccuracy as number]);
  assertNear('BCE with logits run', figures(got), figures(want));
  assert.ok((want[2].testAccuracy as number) > 0.8, JSON.stringify(want[2]));
});
