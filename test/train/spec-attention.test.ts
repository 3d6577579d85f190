/**
 * Attention layers in a model spec: attention, transformer, posembed, posenc and seqmean (and the
 * embedding's mask=true, the layers' causal=true) parse,
 * format and build with the shapes and modules they name (PyTorch's TransformerEncoderLayer options,
 * each stacked layer with weights of its own, the final LayerNorm of a pre-norm stack); the
 * mistakes are refused naming the layer and the shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/node.js';

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof d.ModelSpecError, `expected ModelSpecError, got ${e}`);
    assert.match(e.message, re);
    return true;
  });
}

const built = (spec: string, inputShape: readonly number[], classes = 10) =>
  d.buildFromLayers(d.parseModelSpec(spec), { rng: new d.Rng(4), inputShape, classes });

test('attention tokens parse positionally or as key=value, format canonically, round-trip through JSON, and take the aliases', () => {
  const spec =
    'embedding:50:16,posembed:40,transformer:4:ff=32:dropout=0:act=gelu:prenorm=true:layers=2,attention:2:dropout=0.1,posenc,seqmean,linear';
  const layers = d.parseModelSpec(spec);
  assert.equal(d.formatModelSpec(layers), spec);
  assert.deepEqual(d.layersFromJson(JSON.parse(JSON.stringify(layers))), layers);
  assert.deepEqual(d.parseModelSpec('mha:heads=2,transformerencoderlayer:4,positionembedding,positionalencoding,globalaveragepooling1d'), [
    { type: 'attention', heads: 2 },
    { type: 'transformer', heads: 4 },
    { type: 'posembed' },
    { type: 'posenc' },
    { type: 'seqmean' },
  ]);
  assert.equal(d.resolveModel('posenc,transformer:4,seqmean,linear').input, 'sequence');
  assert.equal(d.resolveModel('embedding:9:8,transformer:4,seqmean,linear').input, 'flat');
});

test('a grey image as 28 tokens: linear per step, positions, a pre-norm stack with its final norm, the mean over the steps', () => {
  const b = built('linear:32,posembed,transformer:4:ff=48:act=gelu:prenorm=true:layers=2,seqmean,linear', [1, 28, 28]);
  assert.deepEqual(b.shapes, [[28, 32], [28, 32], [28, 32], [32], [10]]);
  const [, pos, stack] = b.model.layers;
  assert.ok(pos instanceof d.PositionalEmbedding && pos.weight.shape[0] === 28, 'posembed holds max = T positions');
  assert.ok(stack instanceof d.Sequential && stack.layers.length === 3, 'two encoder layers and a LayerNorm');
  const [l0, l1, norm] = (stack as d.Sequential).layers;
  assert.ok(l0 instanceof d.TransformerEncoderLayer && l1 instanceof d.TransformerEncoderLayer && norm instanceof d.LayerNorm);
  assert.equal(l0.options().dimFeedforward, 48);
  assert.equal(l0.options().activation, 'gelu');
  assert.equal(l0.options().normFirst, true);
  // each stacked layer draws its own weights (PyTorch's TransformerEncoder would copy one)
  const w = (l: d.Module) => Array.from(l.namedParameters().find(([n]) => n === 'self_attn.in_proj_weight')![1].data);
  assert.notDeepEqual(w(l0), w(l1));
  const x = d.fromData(
    Float32Array.from({ length: 2 * 784 }, (_, i) => Math.sin(i)),
    [2, 28, 28],
  );
  for (const training of [false, true]) assert.deepEqual(b.model.forward(x, { training, rng: new d.Rng(1) }).shape, [2, 10]);
  // PyTorch's names inside the stack
  const names = b.model.namedParameters().map(([n]) => n);
  for (const n of ['2.0.self_attn.in_proj_weight', '2.1.linear2.bias', '2.2.weight', '1.weight'])
    assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
});

test("transformer's defaults are a post-norm ReLU layer with ff = 4·F and dropout 0.1, without a final norm; attention is MultiheadAttention", () => {
  const b = built('embedding:30:8,transformer:2,attention:4,posenc,seqmean,linear', [1, 1, 6], 3);
  assert.deepEqual(b.shapes, [[6, 8], [6, 8], [6, 8], [6, 8], [8], [3]]);
  const layer = b.model.layers[1] as d.TransformerEncoderLayer;
  assert.ok(layer instanceof d.TransformerEncoderLayer);
  const o = layer.options();
  assert.deepEqual([o.dimFeedforward, o.dropout, o.activation, o.normFirst], [32, 0.1, 'relu', false]);
  const mha = b.model.layers[2];
  assert.ok(mha instanceof d.MultiheadAttention && mha.numHeads === 4);
  assert.ok(b.model.layers[3] instanceof d.SinusoidalPositionalEncoding);
  assert.equal(
    built('linear:8,transformer:2:prenorm=true:norm=false,seqmean,linear', [1, 5, 4]).model.layers[1] instanceof d.TransformerEncoderLayer,
    true,
  );
});

test('attention mistakes name the layer, the shapes and the way out', () => {
  rejects(
    () => built('transformer:3,seqmean,linear', [1, 5, 4]),
    /layer 0 \(transformer:3\): heads=3 must divide the features \(4, of \[5, 4\]\)/,
  );
  rejects(() => built('attention:2,linear', [3, 8, 8]), /a sequence model reads one-channel samples \[1, T, F\].*3×8×8/);
  rejects(() => built('embedding:9:8,seqmean,seqmean,linear', [1, 1, 6]), /layer 2 \(seqmean\): takes sequences \[T, F\] but gets \[8\]/);
  rejects(() => built('posembed:3,seqmean,linear', [1, 5, 4]), /max=3 positions, but the sequences have 5 steps/);
  rejects(() => built('transformer:2', [1, 5, 4]), /ends in \[5, 4\].*with seqmean \(the mean over its steps\)/);
  rejects(() => d.parseModelSpec('transformer'), /transformer needs heads/);
  rejects(() => d.parseModelSpec('transformer:2:act=tanh'), /expected one of relu, gelu/);
  rejects(() => d.parseModelSpec('attention:2:dropout=1.5'), /dropout/);
});

test('embedding mask=true carries the padding mask to the attention layers and seqmean; causal=true builds causal layers', () => {
  const spec =
    'embedding:20:8:pad=0:mask=true,posenc,transformer:2:ff=16:dropout=0:layers=2:causal=true,attention:2:causal=true,seqmean,linear';
  const layers = d.parseModelSpec(spec);
  assert.equal(d.formatModelSpec(layers), spec);
  const b = built(spec, [1, 1, 6], 3);
  const [emb, , stack, mha, mean] = b.model.layers;
  assert.ok(emb instanceof d.Embedding && emb.maskPadding && emb.paddingIdx === 0);
  assert.ok(stack instanceof d.Sequential && stack.layers.every((l) => !(l instanceof d.TransformerEncoderLayer) || l.causal));
  assert.ok(mha instanceof d.MultiheadAttention && mha.causal);
  assert.ok(mean instanceof d.SequenceMean, 'seqmean is one SequenceMean layer');
  // padding at the end of a sample changes nothing
  const out = (ids: number[], t: number) => Array.from(b.model.forward(d.fromData(Float32Array.from(ids), [1, t])).data);
  const a = out([3, 7, 1, 0, 0, 0], 6);
  const shorter = built(spec, [1, 1, 3], 3).model;
  shorter.loadStateDict(b.model.stateDict());
  const c = Array.from(shorter.forward(d.fromData(Float32Array.from([3, 7, 1]), [1, 3])).data);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i] - c[i]) < 1e-5, `logit ${i}: ${a[i]} vs ${c[i]}`);
});

test('mask=true mistakes: no pad=, and a layer before seqmean that cannot honour the mask, named with the way out', () => {
  rejects(
    () => built('embedding:20:8:mask=true,seqmean,linear', [1, 1, 6]),
    /layer 0 \(embedding:20:8:mask=true\): mask=true .* give pad=/,
  );
  for (const [spec, at] of [
    ['embedding:20:8:pad=0:mask=true,conv1d:4:3,gap1d,flatten,linear', 'layer 1 \\(conv1d:4:3\\)'],
    ['embedding:20:8:pad=0:mask=true,transformer:2,flatten,linear', 'layer 2 \\(flatten\\)'],
    ['embedding:20:8:pad=0:mask=true,transpose,conv1d:4:3,gap1d,flatten,linear', 'layer 1 \\(transpose\\)'],
  ] as const)
    rejects(
      () => built(spec, [1, 1, 6]),
      new RegExp(`${at}: takes no padding mask, .*end the steps before it with seqmean or an lstm, gru or rnn without seq=true`),
    );
  // after seqmean, or a recurrent layer's final state, the mask has ended: any layer may follow; one giving every step keeps it
  assert.deepEqual(built('embedding:20:8:pad=0:mask=true,seqmean,linear:4,relu,linear', [1, 1, 6]).shapes.at(-1), [10]);
  assert.deepEqual(built('embedding:20:8:pad=0:mask=true,lstm:8,linear:4,relu,linear', [1, 1, 6]).shapes.at(-1), [10]);
  assert.deepEqual(built('embedding:20:8:pad=0:mask=true,gru:8:seq=true,transformer:2,seqmean,linear', [1, 1, 6]).shapes.at(-1), [10]);
  rejects(
    () => built('embedding:20:8:pad=0:mask=true,rnn:8:seq=true,flatten,linear', [1, 1, 6]),
    /layer 2 \(flatten\): takes no padding mask/,
  );
  // a residual block keeps it when every layer in it does
  assert.deepEqual(
    built('embedding:20:8:pad=0:mask=true,res[layernorm,attention:2,linear:8],seqmean,linear', [1, 1, 6]).shapes.at(-1),
    [10],
  );
  rejects(
    () => built('embedding:20:8:pad=0:mask=true,res[conv1d:6:1],seqmean,linear', [1, 1, 6]),
    /layer 1 \(res\): takes no padding mask/,
  );
});
