/**
 * ONNX export of the attention layers (src/io/onnx-attention.ts): each file runs in ONNX Runtime's
 * WebAssembly build and gives the model's evaluation forward — the packed projection's split into
 * heads, the scaling, the post- and pre-norm orders, GELU, the final norm and both positional
 * layers all show in the numbers. The decoder side, which reads two sequences, is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-web';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { Module } from '../../src/nn/module.js';
import { Linear, Sequential } from '../../src/nn/layers.js';
import { LayerNorm } from '../../src/nn/layernorm.js';
import { Embedding } from '../../src/nn/embedding.js';
import { MultiheadAttention } from '../../src/nn/attention.js';
import { TransformerEncoder, TransformerEncoderLayer } from '../../src/nn/transformer.js';
import { Transformer, TransformerDecoder, TransformerDecoderLayer } from '../../src/nn/decoder.js';
import { PositionalEmbedding, SinusoidalPositionalEncoding } from '../../src/nn/positional.js';
import { SequenceMean } from '../../src/nn/seqmean.js';
import { GRU, LSTM, RNN } from '../../src/nn/recurrent.js';
import { exportOnnx } from '../../src/io/onnx.js';

ort.env.wasm.numThreads = 1;

/** Runs the model's file on a batch in ONNX Runtime (token ids when `vocab` is given); asserts its output equals forward's. */
async function assertSameOutputs(model: Module, inputShape: number[], batch = 3, vocab = 0, given?: number[]): Promise<number[]> {
  const rng = new Rng(7);
  const shape = [batch, ...inputShape];
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Tensor(
    given ? Float32Array.from(given) : Float32Array.from({ length: n }, () => (vocab ? Math.floor(rng.uniform() * vocab) : rng.normal())),
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

test('Embedding → PositionalEmbedding → TransformerEncoder(2, pre-norm GELU, final norm) → Linear runs in ONNX Runtime as its forward', async () => {
  const rng = new Rng(1);
  const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, activation: 'gelu', normFirst: true, rng });
  const model = new Sequential(
    new Embedding(11, 8, { rng }),
    new PositionalEmbedding(10, 8, { rng }),
    new TransformerEncoder(layer, 2, { norm: new LayerNorm(8) }),
    new Linear(8, 3, { rng }),
  );
  // the copies start equal: make them differ so a wrong layer order shows
  for (const p of model.parameters()) for (let i = 0; i < p.size; i++) p.data[i] += 0.1 * rng.normal();
  assert.deepEqual(await assertSameOutputs(model, [7], 2, 11), [2, 7, 3]);
});

test('MultiheadAttention (self-attention), with and without biases, and a post-norm ReLU layer with dropout (the identity)', async () => {
  const rng = new Rng(2);
  const mha = new MultiheadAttention(8, 4, { rng });
  for (const p of mha.parameters()) for (let i = 0; i < p.size; i++) p.data[i] += 0.1 * rng.normal();
  assert.deepEqual(await assertSameOutputs(mha, [5, 8]), [3, 5, 8]);
  assert.deepEqual(await assertSameOutputs(new MultiheadAttention(6, 2, { bias: false, rng }), [4, 6]), [3, 4, 6]);
  const post = new TransformerEncoderLayer(8, 2, { dimFeedforward: 12, dropout: 0.3, rng });
  for (const p of post.parameters()) for (let i = 0; i < p.size; i++) p.data[i] += 0.1 * rng.normal();
  assert.deepEqual(await assertSameOutputs(post, [6, 8], 2), [2, 6, 8]);
});

test('SinusoidalPositionalEncoding adds its table (odd width too)', async () => {
  assert.deepEqual(await assertSameOutputs(new SinusoidalPositionalEncoding(6), [9, 6]), [3, 9, 6]);
  assert.deepEqual(await assertSameOutputs(new SinusoidalPositionalEncoding(5, { base: 100 }), [4, 5]), [3, 4, 5]);
});

test('a padding mask (Embedding maskPadding) and causal layers: −∞ for padding keys, the masked mean, an all-padding sample 0 as forward gives it', async () => {
  const rng = new Rng(3);
  const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, activation: 'gelu', normFirst: true, causal: true, rng });
  const model = new Sequential(
    new Embedding(11, 8, { paddingIdx: 0, maskPadding: true, rng }),
    new PositionalEmbedding(10, 8, { rng }),
    new TransformerEncoder(layer, 2, { norm: new LayerNorm(8) }),
    new MultiheadAttention(8, 2, { rng }),
    new SequenceMean(),
    new Linear(8, 3, { rng }),
  );
  for (const p of model.parameters()) for (let i = 0; i < p.size; i++) p.data[i] += 0.1 * rng.normal();
  const ids = [4, 8, 5, 0, 0, 0, 3, 1, 2, 7, 9, 6, 0, 0, 0, 0, 0, 0];
  assert.deepEqual(await assertSameOutputs(model, [6], 3, 11, ids), [3, 3]);
  // unmasked, SequenceMean is ReduceMean
  const plain = new Sequential(new Embedding(11, 8, { rng }), new MultiheadAttention(8, 4, { causal: true, rng }), new SequenceMean());
  assert.deepEqual(await assertSameOutputs(plain, [5], 2, 11), [2, 8]);
});

test('recurrent layers under a padding mask (padding before, between and after the real steps; a sample all padding) run in ONNX Runtime as their forward', async () => {
  const rng = new Rng(4);
  const ids = [0, 0, 3, 7, 1, 9, 4, 0, 5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 8, 6, 2, 0, 0, 0];
  const models = [
    new Sequential(
      new Embedding(11, 4, { paddingIdx: 0, maskPadding: true, rng }),
      new LSTM(4, 5, { numLayers: 2, bidirectional: true, rng }),
      new GRU(10, 3, { bidirectional: true, returnSequences: false, rng }),
      new Linear(6, 2, { rng }),
    ),
    new Sequential(
      new Embedding(11, 4, { paddingIdx: 0, maskPadding: true, rng }),
      new RNN(4, 3, { nonlinearity: 'relu', rng }),
      new SequenceMean(),
    ),
  ];
  assert.deepEqual(await assertSameOutputs(models[0], [6], 4, 11, ids), [4, 2]);
  assert.deepEqual(await assertSameOutputs(models[1], [6], 4, 11, ids), [4, 3]);
});

test('the Transformer decoder and nn.Transformer are refused, naming the model and its two inputs', () => {
  const rng = new Rng(5);
  const layer = new TransformerDecoderLayer(8, 2, { dimFeedforward: 16, rng });
  const cases: [Module, RegExp][] = [
    [layer, /exportOnnx: the model \(TransformerDecoderLayer\(8, 2 heads, .*\)\) reads two sequences \(tgt and memory\); .*one input/],
    [new TransformerDecoder(layer, 2), /the model \(TransformerDecoder\(2 × .*\)\) reads two sequences \(tgt and memory\)/],
    [
      new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, rng }),
      /the model \(Transformer\(8, 2 heads, .*\)\) reads two sequences \(src and tgt\)/,
    ],
  ];
  for (const [m, re] of cases) assert.throws(() => exportOnnx(m, { inputShape: [5, 8] }), re);
});
