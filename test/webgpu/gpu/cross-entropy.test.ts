/**
 * crossEntropy with class weights, label smoothing, ignored targets and class-probability targets
 * on 'webgpu' tensors (run by `npm run test:webgpu` on lavapipe): loss and gradients equal
 * PyTorch's float32 ones (the fixtures of test/autograd/cross-entropy.test.ts), every reduction,
 * computed by the device's kernels
 * (logSoftmax with probs, the products and sums of the composition) with nothing read back to the
 * host until the test reads the results.
 *
 * Tolerance 2e-6 scaled by 1 + |expected|, as the activations': WGSL's exp and log are less exact
 * than the CPU's, and the GPU's tree sums add in another order than PyTorch (measured on
 * lavapipe: 1.9e-7 on the losses and the gradients).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { close } from './helpers.js';

interface Batch {
  shape: [number, number];
  dtype: string;
  x: number[];
  t: number[];
  weight: number[];
  cases: { weighted: boolean; labelSmoothing: number; reduction: d.Reduction; y: number[]; gy: number[]; gx: number[] }[];
}
type Case = Batch['cases'][number];
const golden: {
  batches: Batch[];
  ignoreBatches: (Omit<Batch, 'cases'> & { ignoreIndex: number; cases: (Omit<Case, 'y'> & { y: (number | null)[] })[] })[];
  probBatches: (Omit<Batch, 't' | 'cases'> & { q: number[]; cases: (Case & { gq: number[] })[] })[];
} = JSON.parse(readFileSync(new URL('../../../../test/fixtures/loss/cross_entropy.json', import.meta.url), 'utf8'));

const TOL = 2e-6;

/**
 * The case's logits (and probability targets, given as a tensor's values) uploaded, crossEntropy
 * with `opts` and its backward against the case's gy queued on the device, and nothing read back
 * meanwhile (logSoftmax ran on the device): the loss and the leaves, still on the device.
 */
async function onDevice(
  what: string,
  b: { x: number[]; shape: [number, number] },
  c: { gy: number[]; reduction: d.Reduction },
  target: number[] | { q: number[] },
  opts: d.CrossEntropyOptions,
): Promise<{ y: d.Tensor; x: d.Tensor; q: d.Tensor | null }> {
  const x = await d.fromData(b.x, b.shape, { requiresGrad: true }).to('webgpu');
  const q = Array.isArray(target) ? null : await d.fromData(target.q, b.shape, { requiresGrad: true }).to('webgpu');
  const gy = await d.fromData(c.gy, c.reduction === 'none' ? [b.shape[0]] : []).to('webgpu');
  const before = webgpuInfo();
  const y = d.crossEntropy(x, q ?? (target as number[]), { reduction: c.reduction, ...opts });
  d.sum(d.mul(y, gy)).backward();
  const after = webgpuInfo();
  assert.equal(after.reads, before.reads, `${what}: nothing is read back to the host`);
  assert.ok((after.kernels.logSoftmax ?? 0) > (before.kernels.logSoftmax ?? 0), `${what}: logSoftmax runs on the device`);
  assert.equal(y.device, 'webgpu');
  return { y, x, q };
}

test("crossEntropy's weighted, smoothed loss and gradient on 'webgpu' equal PyTorch's float32 ones, on the device's kernels", async () => {
  const batches = golden.batches.filter((b) => b.dtype === 'float32');
  assert.ok(batches.length >= 4);
  for (const b of batches)
    for (const c of b.cases) {
      const what = `[${b.shape}] ${c.reduction} ε ${c.labelSmoothing}${c.weighted ? ' weighted' : ''}`;
      const { y, x } = await onDevice(what, b, c, b.t, { labelSmoothing: c.labelSmoothing, weight: c.weighted ? b.weight : undefined });
      close('crossEntropy loss', (await y.to('cpu')).data, c.y, TOL, ` ${what}`);
      close('crossEntropy gradient', (await x.grad!.to('cpu')).data, c.gx, TOL, ` ${what}`);
    }
});

test("crossEntropy with ignored rows on 'webgpu' equals PyTorch's float32 loss and gradient (every row ignored: NaN mean, 0 gradient), nothing read back", async () => {
  const batches = golden.ignoreBatches.filter((b) => b.dtype === 'float32');
  assert.ok(batches.length >= 3);
  for (const b of batches)
    for (const c of b.cases) {
      const what = `[${b.shape}] ignore ${b.ignoreIndex} ${c.reduction} ε ${c.labelSmoothing}${c.weighted ? ' weighted' : ''}`;
      const { y, x } = await onDevice(what, b, c, b.t, {
        labelSmoothing: c.labelSmoothing,
        weight: c.weighted ? b.weight : undefined,
        ignoreIndex: b.ignoreIndex,
      });
      const got = (await y.to('cpu')).data;
      c.y.forEach((e, i) => {
        if (e === null) assert.ok(Number.isNaN(got[i]), `${what}: loss[${i}] ${got[i]}, expected NaN`);
        else close('crossEntropy loss', [got[i]], [e], TOL, ` ${what}[${i}]`);
      });
      close('crossEntropy gradient', (await x.grad!.to('cpu')).data, c.gx, TOL, ` ${what}`);
    }
});

test("crossEntropy against class probabilities on 'webgpu' equals PyTorch's float32 loss and gradients of the logits and of the target, nothing read back", async () => {
  const batches = golden.probBatches.filter((b) => b.dtype === 'float32');
  assert.ok(batches.length >= 3);
  for (const b of batches)
    for (const c of b.cases) {
      const what = `[${b.shape}] probabilities ${c.reduction} ε ${c.labelSmoothing}${c.weighted ? ' weighted' : ''}`;
      const { y, x, q } = await onDevice(
        what,
        b,
        c,
        { q: b.q },
        { labelSmoothing: c.labelSmoothing, weight: c.weighted ? b.weight : undefined },
      );
      close('crossEntropy loss', (await y.to('cpu')).data, c.y, TOL, ` ${what}`);
      close('crossEntropy gradient', (await x.grad!.to('cpu')).data, c.gx, TOL, ` ${what}`);
      close('crossEntropy target gradient', (await q!.grad!.to('cpu')).data, c.gq, TOL, ` ${what}`);
    }
});
