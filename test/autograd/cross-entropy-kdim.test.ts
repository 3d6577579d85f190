/**
 * The K-dimensional crossEntropy and nllLoss (src/autograd/cross-entropy.ts, perPosition): input
 * [N, C, d1…dk] against class indices [N, d1…dk] or class probabilities of the input's shape, values
 * and gradients against PyTorch 1.13 (fixtures from tools/golden_cross_entropy_kdim.py) with class
 * weights, ignore_index and label smoothing, every reduction, on the reference and wasm backends, in
 * float32 and float64, through the op and the loss classes; the shape errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm, wasmInfo } from '../../src/backend/wasm/index.js';
import { assertClose } from '../helpers.js';

await initWasm({ threads: 2 });
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/loss/cross_entropy_kdim.json', import.meta.url), 'utf8'));

interface Case {
  weighted: boolean;
  labelSmoothing?: number;
  reduction: d.Reduction;
  y: number[];
  yShape: number[];
  gy: number[];
  gx: number[];
  gq?: number[];
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

type Loss = (x: d.Tensor, t: number[] | Int32Array | d.Tensor) => d.Tensor;

/** For every backend, batch and case: `check` with the fixtures' tolerance (1e-12 in float64, 2e-6 in float32). */
function eachCase(batches: Batch[], check: (b: Batch, c: Case, tol: number, what: string) => void): void {
  try {
    for (const backend of ['reference', 'wasm']) {
      d.setBackend(backend);
      for (const b of batches)
        for (const c of b.cases)
          check(
            b,
            c,
            b.dtype === 'float64' ? 1e-12 : 2e-6,
            `${backend} [${b.shape}] ${b.dtype} ${JSON.stringify({ ...c, y: 0, gy: 0, gx: 0, gq: 0 })}`,
          );
    }
  } finally {
    d.setBackend('wasm');
  }
}

function checkCase(
  b: Batch,
  c: Case,
  losses: Loss[],
  targets: (b: Batch) => (number[] | Int32Array | d.Tensor)[],
  tol: number,
  what: string,
): void {
  for (const [k, loss] of losses.entries())
    for (const [j, t] of targets(b).entries()) {
      const x = d.fromData(b.x, b.shape, { dtype: b.dtype, requiresGrad: true });
      const y = loss(x, t);
      assert.deepEqual(y.shape, c.yShape, `${what}: shape`);
      assertClose(y.data, c.y, tol, `${what} (${k}, ${j}) y`);
      const gy = d.fromData(c.gy, y.shape, { dtype: b.dtype });
      assertClose(d.grad([y], [x], { gradOutputs: [gy] })[0]!.data, c.gx, tol, `${what} (${k}, ${j}) gx`);
    }
}

/** The class indices as a Tensor [N, d1…dk], a number[] and an Int32Array of N·d1⋯dk. */
const indexForms = (b: Batch) => [d.fromData(b.t!, [b.shape[0], ...b.shape.slice(2)]), b.t!, Int32Array.from(b.t!)];

test('crossEntropy on logits [N, C, d1…dk] equals PyTorch: weight, ignoreIndex (−100 and a class), labelSmoothing, every reduction, loss and gradient (reference and wasm, float32 and float64; the op and CrossEntropyLoss; targets as a Tensor, an array, an Int32Array)', () => {
  const batches = F.batches as Batch[];
  assert.ok(batches.length === 8 && batches.some((b) => b.shape.length === 4) && batches.some((b) => b.ignoreIndex === 1));
  eachCase(batches, (b, c, tol, what) => {
    const opts: d.CrossEntropyOptions = {
      reduction: c.reduction,
      labelSmoothing: c.labelSmoothing,
      ignoreIndex: b.ignoreIndex,
      weight: c.weighted ? b.weight : undefined,
    };
    checkCase(b, c, [(x, t) => d.crossEntropy(x, t, opts), (x, t) => new d.CrossEntropyLoss(opts).forward(x, t)], indexForms, tol, what);
  });
});

test('nllLoss on log-probabilities [N, C, d1…dk] equals PyTorch: weight, ignoreIndex, every reduction (reference and wasm, float32 and float64; the op and NLLLoss)', () => {
  const batches = F.nllBatches as Batch[];
  assert.equal(batches.length, 8);
  eachCase(batches, (b, c, tol, what) => {
    const opts: d.NLLOptions = { reduction: c.reduction, ignoreIndex: b.ignoreIndex, weight: c.weighted ? b.weight : undefined };
    checkCase(b, c, [(x, t) => d.nllLoss(x, t, opts), (x, t) => new d.NLLLoss(opts).forward(x, t)], indexForms, tol, what);
  });
});

test("crossEntropy on logits [N, C, d1…dk] against class probabilities of the logits' shape equals PyTorch, with their gradient (the mean divides by N·d1⋯dk)", () => {
  const batches = F.probBatches as Batch[];
  assert.equal(batches.length, 4);
  eachCase(batches, (b, c, tol, what) => {
    const x = d.fromData(b.x, b.shape, { dtype: b.dtype, requiresGrad: true });
    const q = d.fromData(b.q!, b.shape, { dtype: b.dtype, requiresGrad: true });
    const y = d.crossEntropy(x, q, { reduction: c.reduction, labelSmoothing: c.labelSmoothing, weight: c.weighted ? b.weight : undefined });
    assert.deepEqual(y.shape, c.yShape, `${what}: shape`);
    assertClose(y.data, c.y, tol, `${what} y`);
    const [gx, gq] = d.grad([y], [x, q], { gradOutputs: [d.fromData(c.gy, y.shape, { dtype: b.dtype })] });
    assertClose(gx!.data, c.gx, tol, `${what} gx`);
    assertClose(gq!.data, c.gq!, tol, `${what} gq`);
  });
});

test("a language model's loss: crossEntropy(out.transpose(1, 2), y) equals crossEntropy(out.reshape([B·T, V]), y's B·T ids)", () => {
  const out = d.fromData(
    Array.from({ length: 2 * 3 * 5 }, (_, i) => Math.sin(i * 1.7)),
    [2, 3, 5],
    { dtype: 'float64', requiresGrad: true },
  );
  const y = [4, 0, 2, 1, 3, 3];
  const a = d.crossEntropy(d.transpose(out, 1, 2), d.fromData(y, [2, 3]));
  const b = d.crossEntropy(d.reshape(out, [6, 5]), y);
  assertClose(a.data, b.data, 1e-15, 'loss');
  assertClose(d.grad([a], [out])[0]!.data, d.grad([b], [out])[0]!.data, 1e-15, 'gradient');
  // the recorded backward (createGraph) goes through the permute too: Hessian-vector products agree
  const v = d.fromData(
    Array.from({ length: 30 }, (_, i) => Math.cos(i)),
    [2, 3, 5],
    { dtype: 'float64' },
  );
  const hv = (loss: d.Tensor) => {
    const g = d.grad([loss], [out], { createGraph: true })[0]!;
    assert.ok(g.requiresGrad);
    return d.grad([d.sum(d.mul(g, v))], [out])[0]!.data;
  };
  const viaPermute = hv(d.crossEntropy(d.transpose(out, 1, 2), d.fromData(y, [2, 3]), { labelSmoothing: 0.1 }));
  assertClose(viaPermute, hv(d.crossEntropy(d.reshape(out, [6, 5]), y, { labelSmoothing: 0.1 })), 1e-14, 'Hessian-vector product');
  assert.ok(Array.from(viaPermute).some((h) => Math.abs(h) > 1e-3));
});

test("on wasm, the K-dimensional loss moves the classes last with the permute kernel, forward and backward: a char LM's [B, V, T] logits give the 2-D loss of their [B·T, V] rows, bit for bit", () => {
  d.setBackend('wasm');
  const [B, V, T] = [4, 65, 16]; // 4160 floats: above the size under which wasm leaves a permute to JavaScript
  const rng = new d.Rng(7);
  const x = d.randn([B, V, T], rng, { requiresGrad: true });
  const y = Int32Array.from({ length: B * T }, (_, i) => (i * 31) % V);
  const before = wasmInfo().permutes;
  const loss = d.crossEntropy(x, y, { labelSmoothing: 0.1 });
  const [gx] = d.grad([loss], [x]);
  assert.equal(wasmInfo().permutes - before, 2, 'permute kernel calls: the logits forward, their gradient back');
  // the same rows laid out [B·T, V] by hand, through the 2-D loss
  const xs = x.data,
    rows = new Float32Array(B * T * V);
  for (let b = 0; b < B; b++) for (let v = 0; v < V; v++) for (let t = 0; t < T; t++) rows[(b * T + t) * V + v] = xs[(b * V + v) * T + t];
  const x2 = new d.Tensor(rows, [B * T, V], true);
  const loss2 = d.crossEntropy(x2, y, { labelSmoothing: 0.1 });
  const [g2] = d.grad([loss2], [x2]);
  assert.equal(loss.data[0], loss2.data[0], 'loss');
  const back = new Float32Array(B * V * T);
  for (let b = 0; b < B; b++)
    for (let v = 0; v < V; v++) for (let t = 0; t < T; t++) back[(b * V + v) * T + t] = g2!.data[(b * T + t) * V + v];
  assert.deepEqual(gx!.data, back, 'gradient');
  assert.ok(back.some((g) => g !== 0));
});

test('K-dimensional shape errors name the expected and the actual shapes', () => {
  const x = d.zeros([2, 5, 3]);
  assert.throws(
    () => d.crossEntropy(x, d.zeros([2, 4])),
    /CrossEntropyLoss: logits \[2, 5, 3\] need targets of class indices \[2, 3\] or class probabilities .*\[2, 5, 3\]; got a Tensor \[2, 4\]/,
  );
  assert.throws(() => d.crossEntropy(x, [0, 1, 2, 3, 4]), /CrossEntropyLoss: logits \[2, 5, 3\] need 6 targets .*; got 5/);
  assert.throws(
    () => d.nllLoss(x, d.zeros([2, 5, 3])),
    /NLLLoss: input \[2, 5, 3\] need targets of class indices \[2, 3\]; got a Tensor \[2, 5, 3\]/,
  );
  assert.throws(() => d.crossEntropy(x, [0, 1, 2, 3, 4, 5]), /target 5 is 5, expected an integer class in \[0, 4\]/);
  assert.throws(() => d.crossEntropy(x, [0, 1, 2, 3, 4, 0], { weight: [1, 1] }), /weight has 2 values, expected 5/);
  assert.throws(() => d.crossEntropy(d.zeros([5]), [0]), /expected logits \[N, C\] or \[N, C, d1, …, dk\], got \[5\]/);
});
