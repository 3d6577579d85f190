/**
 * ONNX export of the sequence layers (src/io/onnx-sequence.ts), run in ONNX Runtime's WebAssembly
 * build and compared with descent's evaluation forward: Conv1d (stride, padding, dilation, groups),
 * the 1-D pools, AdaptiveAvgPool1d, Embedding taking float ids, Transpose, and Linear on [N, T, F]
 * (fused or not).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-web';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { Module } from '../../src/nn/module.js';
import { Flatten, Linear, ReLU, Sequential } from '../../src/nn/layers.js';
import { GELU, SiLU } from '../../src/nn/activation.js';
import { Conv1d } from '../../src/nn/conv1d.js';
import { AdaptiveAvgPool1d, AvgPool1d, MaxPool1d } from '../../src/nn/pool1d.js';
import { Embedding } from '../../src/nn/embedding.js';
import { Transpose } from '../../src/nn/transpose.js';
import { LayerNorm } from '../../src/nn/layernorm.js';
import { BatchNorm1d } from '../../src/nn/batchnorm.js';
import { fuse, LinearReLU, LinearSiLU } from '../../src/nn/fuse.js';
import { exportOnnx } from '../../src/io/onnx.js';

ort.env.wasm.numThreads = 1;

/** ONNX Runtime's output for x next to the model's evaluation forward, to 1e-5 + 1e-4·|y|. */
async function assertSameOutputs(model: Module, inputShape: number[], x: Tensor): Promise<void> {
  const want = model.forward(x, { training: false });
  const session = await ort.InferenceSession.create(exportOnnx(model, { inputShape }));
  const r = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data), [...x.shape]) });
  const got = r.output;
  assert.deepEqual(got.dims, want.shape);
  const data = got.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < want.size; i++) worst = Math.max(worst, Math.abs(data[i] - want.data[i]) / (1e-5 + 1e-4 * Math.abs(want.data[i])));
  assert.ok(worst <= 1, `ONNX Runtime's output differs from the model's forward: worst error ${worst.toFixed(2)}× the tolerance`);
}

function normal(rng: Rng, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

function ids(rng: Rng, shape: number[], num: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float32Array.from({ length: n }, () => Math.floor(rng.uniform() * num)),
    shape,
  );
}

test('Conv1d (stride, padding, dilation, groups), MaxPool1d, AvgPool1d and AdaptiveAvgPool1d run in ONNX Runtime', async () => {
  const rng = new Rng(2);
  const bn = new BatchNorm1d(8);
  // running statistics that are not the defaults, so the file must carry them
  for (let i = 0; i < 8; i++) [bn.runningMean!.data[i], bn.runningVar!.data[i]] = [rng.normal() * 0.3, 0.5 + rng.uniform()];
  const model = new Sequential(
    new Conv1d(4, 8, 3, { padding: 1, rng }),
    new ReLU(),
    new MaxPool1d(3, { stride: 2, padding: 1 }),
    new Conv1d(8, 8, 3, { dilation: 2, groups: 4, stride: 2, padding: 2, rng }),
    bn,
    new AvgPool1d(3, { stride: 1, padding: 1, countIncludePad: false }),
    new Conv1d(8, 6, 1, { bias: false, rng }),
    new AvgPool1d(2),
    new AdaptiveAvgPool1d(3),
    new Conv1d(6, 6, 2, { rng }),
    new AdaptiveAvgPool1d(1),
    new Flatten(),
    new Linear(6, 2, { rng }),
  );
  await assertSameOutputs(model, [4, 48], normal(rng, [3, 4, 48]));
});

test('Embedding → Transpose → Conv1d, and Linear, fused Linear layers and LayerNorm on [N, T, F], run in ONNX Runtime', async () => {
  const rng = new Rng(5);
  const text = new Sequential(
    new Embedding(30, 6, { paddingIdx: 0, rng }),
    new LayerNorm(6),
    new Linear(6, 6, { rng }),
    new ReLU(),
    new Linear(6, 5, { rng }),
    new SiLU(),
    new Transpose(),
    new Conv1d(5, 4, 3, { padding: 1, rng }),
    new Transpose(1, 2),
    new Linear(4, 3, { rng }),
  );
  const x = ids(rng, [4, 11], 30);
  await assertSameOutputs(text, [11], x);
  const fused = fuse(text);
  assert.ok(fused.layers.some((l) => l instanceof LinearReLU) && fused.layers.some((l) => l instanceof LinearSiLU));
  await assertSameOutputs(fused, [11], x);
  // Embedding on ids of more than one axis per sample: [N, A, B] → [N, A, B, dim]
  await assertSameOutputs(new Sequential(new Embedding(7, 2, { rng }), new Transpose(0, 2)), [3, 2], ids(rng, [2, 3, 2], 7));
});

test('refused: an AdaptiveAvgPool1d with unequal bins, a fused LinearGELU on [N, T, F]', () => {
  assert.throws(
    () => exportOnnx(new Sequential(new AdaptiveAvgPool1d(4)), { inputShape: [2, 10] }),
    /exportOnnx: layer 0 \(AdaptiveAvgPool1d\(4\)\) pools a length of 10 into 4 with bins of unequal sizes/,
  );
  const gelu = fuse(new Sequential(new Linear(3, 3, { rng: new Rng(1) }), new GELU()));
  assert.doesNotThrow(() => exportOnnx(gelu, { inputShape: [3] }), 'on [N, F] it is a Gemm');
  assert.throws(
    () => exportOnnx(gelu, { inputShape: [2, 3] }),
    /exportOnnx: layer 0 \(.*\) takes an input of 3 axes, .*export the unfused model/,
  );
});
