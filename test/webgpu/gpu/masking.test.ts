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
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import './helpers.js';
import { assertNear } from './setup.js';

test('a masked, causal Transformer classifier trains on webgpu as on wasm, an all-padding sample included; no read inside a step', async () => {
  await initWasm();
  const prev = d.backend().name;
  const [n, l, vocab, f, classes, steps] = [5, 6, 11, 8, 3, 5];
  const batches = Array.from({ length: steps }, (_, s) => {
    const ids = new Float32Array(n * l);
    // sample i has l − ((i + s) % 4) tokens; sample 4 of step 0 has none
    for (let i = 0; i < n; i++) {
      const len = s === 0 && i === 4 ? 0 : l - ((i + s) % 4);
      for (let j = 0; j < len; j++) ids[i * l + j] = 1 + ((i * 5 + j * 3 + s * 7) % (vocab - 1));
    }
    return { ids, targets: Array.from({ length: n }, (_, i) => (i + s) % classes) };
  });
  const run = async (device: boolean) => {
    const rng = new d.Rng(6);
    const model = new d.Sequential(
      new d.Embedding(vocab, f, { paddingIdx: 0, maskPadding: true, rng }),
      new d.PositionalEmbedding(l, f, { rng }),
      new d.TransformerEncoderLayer(f, 2, { dimFeedforward: 16, dropout: 0, activation: 'gelu', normFirst: true, rng }),
      new d.MultiheadAttention(f, 2, { causal: true, rng }),
      new d.SequenceMean(),
      new d.Linear(f, classes, { rng }),
    );
    if (device) await model.to('webgpu');
    const opt = new d.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const losses: number[] = [];
    for (const b of batches) {
      const reads = webgpuInfo().reads;
      opt.zeroGrad();
      const loss = d.crossEntropy(model.forward(d.fromData(b.ids, [n, l]), { training: true }), b.targets);
      loss.backward();
      opt.step();
      if (device) assert.equal(webgpuInfo().reads, reads, 'a step reads nothing back');
      losses.push((await loss.read())[0]);
    }
    return { losses, params: await Promise.all(model.parameters().map(async (p) => Array.from(await p.read()))) };
  };
  try {
    d.setBackend('wasm');
    const want = await run(false);
    const got = await run(true);
    assert.ok(want.losses.every(Number.isFinite) && got.losses.every(Number.isFinite), `finite losses: ${got.losses}`);
    assertNear('step loss', got.losses, want.losses);
    for (const [i, p] of got.params.entries()) assertNear(`parameter ${i}`, p, want.params[i]);
    assert.ok(want.losses[steps - 1] < want.losses[0], `the loss falls: ${want.losses}`);
  } finally {
    d.setBackend(prev);
  }
});

test('a masked bidirectional LSTM and GRU (padding before, after and between real steps) train on webgpu as on wasm', async () => {
  await initWasm();
  const prev = d.backend().name;
  const [n, l, vocab, classes, steps] = [4, 7, 9, 3, 4];
  const batches = Array.from({ length: steps }, (_, s) => {
    const ids = new Float32Array(n * l);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < l; j++) ids[i * l + j] = (i + j + s) % 3 === 0 ? 0 : 1 + ((i * 5 + j * 3 + s) % (vocab - 1));
    return { ids, targets: Array.from({ length: n }, (_, i) => (i + s) % classes) };
  });
  const run = async (device: boolean) => {
    const rng = new d.Rng(7);
    const model = new d.Sequential(
      new d.Embedding(vocab, 6, { paddingIdx: 0, maskPadding: true, rng }),
      new d.LSTM(6, 5, { bidirectional: true, rng }),
      new d.GRU(10, 4, { bidirectional: true, returnSequences: false, rng }),
      new d.Linear(8, classes, { rng }),
    );
    if (device) await model.to('webgpu');
    const opt = new d.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const losses: number[] = [];
    for (const b of batches) {
      const reads = webgpuInfo().reads;
      opt.zeroGrad();
      const loss = d.crossEntropy(model.forward(d.fromData(b.ids, [n, l])), b.targets);
      loss.backward();
      opt.step();
      if (device) assert.equal(webgpuInfo().reads, reads, 'a step reads nothing back');
      losses.push((await loss.read())[0]);
    }
    return { losses, params: await Promise.all(model.parameters().map(async (p) => Array.from(await p.read()))) };
  };
  try {
    d.setBackend('wasm');
    const want = await run(false);
    const got = await run(true);
    assertNear('step loss', got.losses, want.losses);
    for (const [i, p] of got.params.entries()) assertNear(`parameter ${i}`, p, want.params[i]);
    assert.ok(want.losses[steps - 1] < want.losses[0], `the loss falls: ${want.losses}`);
  } finally {
    d.setBackend(prev);
  }
});
