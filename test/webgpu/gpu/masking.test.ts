/**
 * A padding mask and causal attention on WebGPU (run by `npm run test:webgpu` on lavapipe): a
 * classifier Embedding (maskPadding) → positions → TransformerEncoderLayer → causal
 * MultiheadAttention → SequenceMean → Linear, on post-padded ids with one sample all padding, trains
 * on 'webgpu' as on wasm — step losses and parameters within float32 noise, finite throughout, and
 * nothing read back inside a step (the mask is made on the host from the ids and uploaded); masked
 * recurrent layers (their steps reordered by row gathers) likewise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../../src/index.js';
import './helpers.js';
import { assertStepsAlike, type StepBatch } from './setup.js';

/** `steps` batches of n × l ids below `vocab`, 0 (padding) where `pad(i, j, s)` says; targets cycle through `classes`. */
function idBatches(
  n: number,
  l: number,
  vocab: number,
  classes: number,
  steps: number,
  pad: (i: number, j: number, s: number) => boolean,
): StepBatch[] {
  return Array.from({ length: steps }, (_, s) => ({
    x: Float32Array.from({ length: n * l }, (_, k) => {
      const [i, j] = [Math.floor(k / l), k % l];
      return pad(i, j, s) ? 0 : 1 + ((i * 5 + j * 3 + s * 7) % (vocab - 1));
    }),
    shape: [n, l],
    targets: Array.from({ length: n }, (_, i) => (i + s) % classes),
  }));
}

test('a masked, causal Transformer classifier trains on webgpu as on wasm, an all-padding sample included; no read inside a step', async () => {
  const [n, l, vocab, f, classes] = [5, 6, 11, 8, 3];
  // sample i has l − ((i + s) % 4) tokens; sample 4 of step 0 has none
  const batches = idBatches(n, l, vocab, classes, 5, (i, j, s) => (s === 0 && i === 4) || j >= l - ((i + s) % 4));
  const { want, got } = await assertStepsAlike(() => {
    const rng = new d.Rng(6);
    return new d.Sequential(
      new d.Embedding(vocab, f, { paddingIdx: 0, maskPadding: true, rng }),
      new d.PositionalEmbedding(l, f, { rng }),
      new d.TransformerEncoderLayer(f, 2, { dimFeedforward: 16, dropout: 0, activation: 'gelu', normFirst: true, rng }),
      new d.MultiheadAttention(f, 2, { causal: true, rng }),
      new d.SequenceMean(),
      new d.Linear(f, classes, { rng }),
    );
  }, batches);
  assert.ok(want.every(Number.isFinite) && got.every(Number.isFinite), `finite losses: ${got}`);
});

test('a masked bidirectional LSTM and GRU (padding before, after and between real steps) train on webgpu as on wasm', async () => {
  const [n, l, vocab, classes] = [4, 7, 9, 3];
  // one batch five times: the loss on it falls
  const batches = new Array<StepBatch>(5).fill(idBatches(n, l, vocab, classes, 1, (i, j) => (i + j) % 3 === 0)[0]);
  await assertStepsAlike(
    () => {
      const rng = new d.Rng(7);
      return new d.Sequential(
        new d.Embedding(vocab, 6, { paddingIdx: 0, maskPadding: true, rng }),
        new d.LSTM(6, 5, { bidirectional: true, rng }),
        new d.GRU(10, 4, { bidirectional: true, returnSequences: false, rng }),
        new d.Linear(8, classes, { rng }),
      );
    },
    batches,
    { lr: 0.1 },
  );
});
