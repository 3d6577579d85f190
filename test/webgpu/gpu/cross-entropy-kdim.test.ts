/**
 * The K-dimensional crossEntropy and nllLoss on 'webgpu' tensors (run by `npm run test:webgpu` on
 * lavapipe): logits [N, C, d1…dk] against class indices [N, d1…dk] or class probabilities, the loss
 * and the input gradient equal PyTorch's float32 ones (test/fixtures/loss/cross_entropy_kdim.json,
 * from tools/golden_cross_entropy_kdim.py), every option and reduction, with nothing read back to the
 * host until the test reads the results. Tolerance 2e-6 scaled by 1 + |expected|, as cross-entropy's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { close } from './helpers.js';
import './setup.js';

const F = JSON.parse(readFileSync(new URL('../../../../test/fixtures/loss/cross_entropy_kdim.json', import.meta.url), 'utf8'));
const TOL = 2e-6;

interface Case {
  weighted: boolean;
  labelSmoothing?: number;
  reduction: d.Reduction;
  y: number[];
  gy: number[];
  gx: number[];
}
interface Batch {
  shape: number[];
  dtype: d.DType;
  x: number[];
  t?: number[];
  q?: number[];
  ignoreIndex?: number;
  weight: number[];
  cases: Case[];
}

const float32 = (batches: Batch[]) => batches.filter((b) => b.dtype === 'float32');

test("crossEntropy, nllLoss on [N, C, d1…dk] 'webgpu' tensors equal PyTorch's float32 loss and gradient, with nothing read back", async () => {
  const runs: [string, Batch[], (x: d.Tensor, b: Batch, c: Case) => Promise<d.Tensor>][] = [
    [
      'crossEntropy',
      float32(F.batches),
      async (x, b, c) =>
        d.crossEntropy(x, b.t!, {
          reduction: c.reduction,
          labelSmoothing: c.labelSmoothing,
          ignoreIndex: b.ignoreIndex,
          weight: c.weighted ? b.weight : undefined,
        }),
    ],
    [
      'nllLoss',
      float32(F.nllBatches),
      async (x, b, c) =>
        d.nllLoss(x, b.t!, { reduction: c.reduction, ignoreIndex: b.ignoreIndex, weight: c.weighted ? b.weight : undefined }),
    ],
    [
      'crossEntropy (probabilities)',
      float32(F.probBatches),
      async (x, b, c) =>
        d.crossEntropy(x, await d.fromData(b.q!, b.shape).to('webgpu'), {
          reduction: c.reduction,
          labelSmoothing: c.labelSmoothing,
          weight: c.weighted ? b.weight : undefined,
        }),
    ],
  ];
  let n = 0;
  for (const [name, batches, loss] of runs) {
    assert.ok(batches.length >= 2, name);
    for (const b of batches)
      for (const c of b.cases) {
        const what = `${name} [${b.shape}] ${c.reduction} ε ${c.labelSmoothing} weighted ${c.weighted} ignore ${b.ignoreIndex}`;
        const x = await d.fromData(b.x, b.shape, { requiresGrad: true }).to('webgpu');
        const gy = await d.fromData(c.gy, c.reduction === 'none' ? [b.shape[0], ...b.shape.slice(2)] : []).to('webgpu');
        const before = webgpuInfo();
        const y = await loss(x, b, c);
        d.sum(d.mul(y, gy)).backward();
        assert.equal(webgpuInfo().reads, before.reads, `${what}: nothing is read back to the host`);
        assert.equal(y.device, 'webgpu', what);
        close(`${name} loss`, (await y.to('cpu')).data, c.y, TOL, ` ${what}`);
        close(`${name} gradient`, (await x.grad!.to('cpu')).data, c.gx, TOL, ` ${what}`);
        n++;
      }
  }
  assert.ok(n >= 40);
});

test('generate and sampleNext refuse a model and logits on webgpu, naming the device', async () => {
  const rng = new d.Rng(1);
  const model = await new d.Sequential(new d.Embedding(5, 4, { rng }), new d.Linear(4, 5, { rng })).to('webgpu');
  assert.throws(
    () => d.generate(model, [1, 2], { maxNewTokens: 1 }),
    /generate: the model's parameters live on webgpu; .*await model.to\('cpu'\)/,
  );
  const logits = await d.zeros([2, 5]).to('webgpu');
  assert.throws(() => d.sampleNext(logits), /sampleNext: the logits live on webgpu/);
});
