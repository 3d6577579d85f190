/**
 * A character-level causal Transformer language model end to end against PyTorch 1.13 (fixture from
 * tools/golden_lm.py): TextVectorizer's character vocabulary and encode give PyTorch's ids;
 * Embedding → PositionalEmbedding → pre-norm TransformerEncoderLayer (causal) → LayerNorm → Linear,
 * loaded from PyTorch's initial weights, trained eight Adam steps on nextTokenWindows batches with
 * the K-dimensional crossEntropy(out.transpose(1, 2), y), follows PyTorch's loss trajectory
 * (reference float64 to 1e-10, wasm float32 to 1e-4); the trained model's greedy generate equals
 * PyTorch's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose } from '../helpers.js';

await initWasm({ threads: 2 });

interface Entry {
  shape: number[];
  data: number[];
}
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/lm/char_lm.json', import.meta.url), 'utf8')) as {
  torch: string;
  text: string;
  vocabulary: string[];
  ids: number[];
  vocab: number;
  contextLength: number;
  dModel: number;
  nhead: number;
  dimFeedforward: number;
  lr: number;
  windows: number;
  batches: number[][];
  state: Record<string, Entry>;
  losses: number[];
  prompt: number[];
  greedy: number[];
};

function charLM(dtype: d.DType): d.Sequential {
  const rng = new d.Rng(1);
  const E = F.dModel;
  const model = new d.Sequential(
    new d.Embedding(F.vocab, E, { dtype, rng }),
    new d.PositionalEmbedding(F.contextLength, E, { dtype, rng }),
    new d.TransformerEncoderLayer(E, F.nhead, { dimFeedforward: F.dimFeedforward, dropout: 0, normFirst: true, causal: true, dtype, rng }),
    new d.LayerNorm(E, { dtype }),
    new d.Linear(E, F.vocab, { dtype, rng }),
  );
  assert.deepEqual(Object.keys(model.stateDict()), Object.keys(F.state), "PyTorch's state_dict names, in its order");
  model.loadStateDict(F.state);
  return model;
}

/** The eight steps on the fixture's batches: the loss before each. */
function train(model: d.Module, windows: d.NextTokenWindows): number[] {
  const opt = new d.Adam(model.parameters(), { lr: F.lr });
  return F.batches.map((idx) => {
    const { x, y } = windows.collate(idx);
    opt.zeroGrad();
    const out = model.forward(x.dtype === model.parameters()[0].dtype ? x : d.cast(x, model.parameters()[0].dtype), { training: true });
    const loss = d.crossEntropy(d.transpose(out, 1, 2), y);
    loss.backward();
    opt.step();
    return loss.item();
  });
}

test("TextVectorizer({ split: 'character', standardize: 'none' }) gives the fixture's vocabulary and ids", () => {
  const v = new d.TextVectorizer({ split: 'character', standardize: 'none' }).adapt([F.text]);
  assert.deepEqual(v.vocabulary(), F.vocabulary);
  assert.deepEqual(Array.from(v.encode(F.text)), F.ids);
  assert.equal(v.decode(F.ids), F.text);
});

test(`a character-level causal Transformer LM: eight Adam steps on next-token windows follow PyTorch ${F.torch}'s losses (reference float64 1e-10, wasm float32 1e-4); greedy generate equals PyTorch's`, () => {
  const ids = Int32Array.from(F.ids);
  const windows = d.nextTokenWindows(ids, { contextLength: F.contextLength });
  assert.equal(windows.length, F.windows);
  try {
    d.setBackend('reference');
    const model = charLM('float64');
    assertClose(train(model, windows), F.losses, 1e-10, 'reference float64 losses');
    const out = d.generate(model, F.prompt, {
      maxNewTokens: F.greedy.length - F.prompt.length,
      contextLength: F.contextLength,
      temperature: 0,
    });
    assert.deepEqual(Array.from(out.ids), F.greedy, 'greedy continuation');
    d.setBackend('wasm');
    const losses = train(charLM('float32'), windows);
    losses.forEach((l, i) => assert.ok(Math.abs(l - F.losses[i]) <= 1e-4 * F.losses[i], `wasm float32 step ${i}: ${l} vs ${F.losses[i]}`));
  } finally {
    d.setBackend('wasm');
  }
});
