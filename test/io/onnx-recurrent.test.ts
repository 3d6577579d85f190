/**
 * ONNX export of RNN, LSTM and GRU (src/io/onnx-recurrent.ts): each file runs in ONNX Runtime's
 * WebAssembly build and gives the model's evaluation forward — the gate reordering, the biases, the
 * directions and the layout changes around ONNX's time-major operators all show in the numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-web';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { Module } from '../../src/nn/module.js';
import { Linear, Sequential } from '../../src/nn/layers.js';
import { GRU, LSTM, RNN } from '../../src/nn/recurrent.js';
import { exportOnnx } from '../../src/io/onnx.js';

ort.env.wasm.numThreads = 1;

/** Runs the model's file on a random batch in ONNX Runtime; asserts its output equals forward's. */
async function assertSameOutputs(model: Module, inputShape: number[], batch = 3, seed = 1): Promise<number[]> {
  const rng = new Rng(seed);
  const shape = [batch, ...inputShape];
  const x = new Tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    shape,
  );
  const want = model.forward(x, { training: false });
  const session = await ort.InferenceSession.create(exportOnnx(model, { inputShape }));
  const out = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data), shape) })).output;
  assert.deepEqual(out.dims, want.shape);
  const got = out.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < want.size; i++) worst = Math.max(worst, Math.abs(got[i] - want.data[i]) / (1e-5 + 1e-4 * Math.abs(want.data[i])));
  assert.ok(worst <= 1, `ONNX Runtime's output differs from the model's forward: worst error ${worst.toFixed(2)}× the tolerance`);
  return [...want.shape];
}

test('LSTM (its last hidden state) → Linear runs in ONNX Runtime as its forward', async () => {
  const rng = new Rng(1);
  const model = new Sequential(new LSTM(5, 8, { returnSequences: false, rng }), new Linear(8, 3, { rng }));
  assert.deepEqual(await assertSameOutputs(model, [6, 5]), [3, 3]);
});

test('a bidirectional two-layer GRU → Linear: linear_before_reset, z r h order, cat(h_n[-2], h_n[-1])', async () => {
  const rng = new Rng(2);
  const model = new Sequential(
    new GRU(4, 6, { numLayers: 2, bidirectional: true, returnSequences: false, rng }),
    new Linear(12, 3, { rng }),
  );
  assert.deepEqual(await assertSameOutputs(model, [5, 4], 2), [2, 3]);
});

test('RNN with ReLU, whole sequences: one layer, and two bidirectional layers', async () => {
  assert.deepEqual(await assertSameOutputs(new RNN(3, 4, { nonlinearity: 'relu', rng: new Rng(3) }), [7, 3]), [3, 7, 4]);
  const deep = new RNN(3, 4, { nonlinearity: 'relu', numLayers: 2, bidirectional: true, rng: new Rng(4) });
  assert.deepEqual(await assertSameOutputs(deep, [7, 3]), [3, 7, 8]);
});

test('whole sequences of a bidirectional LSTM, one without biases, and one with dropout (the identity in evaluation)', async () => {
  const rng = new Rng(5);
  assert.deepEqual(await assertSameOutputs(new LSTM(3, 5, { bidirectional: true, numLayers: 2, rng }), [4, 3]), [3, 4, 10]);
  assert.deepEqual(await assertSameOutputs(new GRU(3, 5, { bias: false, rng }), [4, 3]), [3, 4, 5]);
  assert.deepEqual(await assertSameOutputs(new RNN(3, 5, { bias: false, rng }), [4, 3]), [3, 4, 5]);
  assert.deepEqual(await assertSameOutputs(new LSTM(3, 5, { numLayers: 3, dropout: 0.5, rng }), [4, 3], 1), [1, 4, 5]);
});
