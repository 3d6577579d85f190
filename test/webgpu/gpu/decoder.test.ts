/**
 * The Transformer decoder on WebGPU (run by `npm run test:webgpu` on lavapipe): a seq2seq-shaped
 * classifier — Embedding → Transformer (1 encoder + 1 decoder layer; source padding as
 * srcKeyPaddingMask and memoryKeyPaddingMask, causal target self-attention) → mean over the target
 * steps → Linear — trains on 'webgpu' as on wasm through the composed ops: step losses and
 * parameters within float32 noise, nothing read back inside a step (the padding mask is made on
 * the host from the ids and uploaded).
 */
import { test } from 'node:test';
import * as d from '../../../src/index.js';
import './helpers.js';
import { assertStepsAlike, type StepBatch } from './setup.js';

class TinySeq2Seq extends d.Module {
  readonly emb: d.Embedding;
  readonly transformer: d.Transformer;
  readonly head: d.Linear;

  constructor(vocab: number, f: number, classes: number, normFirst: boolean) {
    super();
    const rng = new d.Rng(8);
    this.emb = this.registerModule('emb', new d.Embedding(vocab, f, { paddingIdx: 0, rng }));
    const sizes = { dModel: f, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16 };
    this.transformer = this.registerModule('transformer', new d.Transformer({ ...sizes, dropout: 0, normFirst, activation: 'gelu', rng }));
    this.head = this.registerModule('head', new d.Linear(f, classes, { rng }));
  }

  /** ids [N, L] as both the source and the target sequence; 0 is padding. */
  forward(ids: d.Tensor): d.Tensor {
    const pad = d.eq(ids, 0);
    const x = this.emb.forward(ids);
    const h = this.transformer.forwardMasked(x, x, { srcKeyPaddingMask: pad, memoryKeyPaddingMask: pad, tgtIsCausal: true });
    return this.head.forward(d.mean(h, 1));
  }
}

test('an Embedding → Transformer (padding and causal masks) → Linear model trains on webgpu as on wasm, post- and pre-norm; no read inside a step', async () => {
  const [n, l, vocab, f, classes] = [5, 6, 11, 8, 3];
  // sample i keeps its first l − (i % 4) ids, the rest is padding (never all of it); one batch five times, so the loss falls
  const batch: StepBatch = {
    x: Float32Array.from({ length: n * l }, (_, k) => {
      const [i, j] = [Math.floor(k / l), k % l];
      return j >= l - (i % 4) ? 0 : 1 + ((i * 5 + j * 3) % (vocab - 1));
    }),
    shape: [n, l],
    targets: Array.from({ length: n }, (_, i) => i % classes),
  };
  const batches = new Array<StepBatch>(5).fill(batch);
  for (const normFirst of [false, true]) {
    const { want, got } = await assertStepsAlike(() => new TinySeq2Seq(vocab, f, classes, normFirst), batches);
    console.log(
      `${normFirst ? 'pre' : 'post'}-norm step losses: wasm ${want.map((v) => v.toFixed(5))}, webgpu ${got.map((v) => v.toFixed(5))}`,
    );
  }
});
