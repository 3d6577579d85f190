/**
 * Sequence layers in a model spec: embedding, lstm, gru, rnn, conv1d, the 1-D pools and transpose
 * parse, format and build with the shapes their modules produce; a spec with one of them reads
 * one-channel samples [1, T, F] as [T, F] (token ids, flat, when it starts with an embedding); the
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

/** Run `x` through each layer and check every inferred shape, in training and in evaluation. */
function checkShapes(b: d.BuiltSpec, x: d.Tensor): void {
  for (const training of [false, true]) {
    let h = x;
    const rng = new d.Rng(9);
    b.model.layers.forEach((m, i) => {
      h = m.forward(h, { training, rng });
      assert.deepEqual(h.shape.slice(1), b.shapes[i], `layer ${i} (${m.describe()}), training ${training}`);
    });
  }
}

test('sequence tokens parse positionally or as key=value, format canonically, and round-trip through JSON', () => {
  const spec =
    'embedding:100:16:pad=0,lstm:32:layers=2:bidirectional=true:dropout=0.1:seq=true,conv1d:8:3:pad=1:dilation=2,maxpool1d:2:stride=1:pad=1,avgpool1d:2:countpad=false,adaptiveavgpool1d:3,transpose,gru:12,rnn:4:act=relu,linear';
  const layers = d.parseModelSpec(spec);
  assert.equal(d.formatModelSpec(layers), spec);
  assert.deepEqual(d.parseModelSpec(d.formatModelSpec(layers)), layers);
  assert.deepEqual(d.layersFromJson(JSON.parse(JSON.stringify(layers))), layers);
  assert.deepEqual(d.parseModelSpec('embed:num=100:dim=16,simplernn:hidden=4,gap1d'), [
    { type: 'embedding', num: 100, dim: 16 },
    { type: 'rnn', hidden: 4 },
    { type: 'adaptiveavgpool1d' },
  ]);
});

test('the input a spec takes: token ids (flat) after an embedding, [T, F] with a sequence layer, else image or flat', () => {
  const input = (s: string) => d.resolveModel(s).input;
  assert.equal(input('embedding:50:8,lstm:8,linear'), 'flat');
  assert.equal(input('embedding:50:8,flatten,linear'), 'flat');
  assert.equal(input('lstm:8,linear'), 'sequence');
  assert.equal(input('conv1d:4:3,relu,flatten,linear'), 'sequence');
  assert.equal(input('conv:4:3,relu,flatten,linear'), 'image');
  assert.equal(input('linear:8,relu,linear'), 'flat');
  assert.deepEqual(d.modelSampleShape('sequence', [1, 28, 28]), [28, 28]);
  assert.deepEqual(d.modelSampleShape('flat', [1, 28, 28]), [784]);
  assert.deepEqual(d.modelSampleShape('image', [3, 8, 8]), [3, 8, 8]);
  assert.throws(() => d.modelSampleShape('sequence', [3, 8, 8]), /one-channel samples \[1, T, F\].*3×8×8/);
});

test('a grey image is read row by row: conv1d, pools, transpose, lstm with seq=true, linear per step, gru, linear', () => {
  const b = built(
    'conv1d:8:3:pad=1,relu,maxpool1d:2,avgpool1d:3:stride=1:pad=1,transpose,lstm:16:seq=true,linear:6,gru:5:bidirectional=true,linear',
    [1, 28, 28],
  );
  assert.deepEqual(b.shapes, [[8, 28], [8, 28], [8, 14], [8, 14], [14, 8], [14, 16], [14, 6], [10], [10]]);
  assert.ok(b.model.layers[0] instanceof d.Conv1d);
  assert.ok(b.model.layers[5] instanceof d.LSTM && b.model.layers[5].returnSequences === true);
  assert.ok(b.model.layers[7] instanceof d.GRU && b.model.layers[7].bidirectional === true);
  const x = d.fromData(
    Float32Array.from({ length: 2 * 784 }, (_, i) => Math.sin(i)),
    [2, 28, 28],
  );
  checkShapes(b, x);
  assert.deepEqual(b.model.forward(x, { training: false }).shape, [2, 10]);
  // PyTorch's names: the recurrent weights by layer and direction
  const names = b.model.namedParameters().map(([n]) => n);
  assert.ok(names.includes('5.weight_ih_l0') && names.includes('7.weight_hh_l0_reverse'), names.join(' '));
});

test('an embedding reads token ids [T] into [T, dim]; rnn, adaptive pooling and flatten follow', () => {
  const b = built(
    'embedding:20:6:pad=0,rnn:7:act=relu:layers=2:dropout=0.2:seq=true,transpose,adaptiveavgpool1d:2,flatten,linear',
    [1, 1, 9],
    3,
  );
  assert.deepEqual(b.shapes, [[9, 6], [9, 7], [7, 9], [7, 2], [14], [3]]);
  const ids = d.fromData(
    Float32Array.from({ length: 2 * 9 }, (_, i) => (i * 7) % 20),
    [2, 9],
  );
  checkShapes(b, ids);
  const emb = b.model.layers[0] as d.Embedding;
  assert.ok(emb instanceof d.Embedding);
  assert.deepEqual(Array.from(emb.weight.data.subarray(0, 6)), [0, 0, 0, 0, 0, 0], 'the pad row starts at zero');
});

test('the same spec and seed give the same weights; another seed gives others', () => {
  const spec = 'lstm:8,linear';
  const w = (seed: number) =>
    d
      .resolveModel(spec)
      .build({ rng: new d.Rng(seed).fork('model'), inputShape: [1, 5, 4], classes: 3 })
      .parameters()
      .map((p) => Array.from(p.data));
  assert.deepEqual(w(1), w(1));
  assert.notDeepEqual(w(1), w(2));
});

test('sequence mistakes name the layer, the shapes and the way out', () => {
  rejects(() => built('lstm:8,linear', [3, 32, 32]), /layer 0 \(lstm:8\): a sequence model reads one-channel samples \[1, T, F\].*3×32×32/);
  rejects(
    () => built('dropout:0.1,embedding:10:4,flatten,linear', [1, 1, 8]),
    /layer 1 \(embedding:10:4\): reads token ids, so it must be the model's first layer/,
  );
  rejects(() => built('embedding:10:4:pad=10,flatten,linear', [1, 1, 8]), /pad=10 must be a token id in \[0, 10\)/);
  rejects(() => built('lstm:8:dropout=0.3,linear', [1, 5, 4]), /dropout=0\.3 acts between stacked layers.*layers=2/);
  rejects(() => built('lstm:8,gru:4,linear', [1, 5, 4]), /layer 1 \(gru:4\): takes sequences \[T, F\] but gets \[8\].*seq=true/);
  rejects(
    () => built('conv1d:4:9,flatten,linear', [1, 5, 4]),
    /layer 0 \(conv1d:4:9\): input \[5, 4\] with padding 0 is shorter than the kernel 9/,
  );
  rejects(() => built('conv1d:4:3:groups=2,flatten,linear', [1, 5, 4]), /groups=2 must divide the input channels \(5/);
  rejects(() => built('maxpool1d:2:pad=2,flatten,linear', [1, 5, 4]), /padding 2 must be at most half the kernel 2/);
  rejects(() => built('lstm:8:seq=true', [1, 5, 4]), /ends in \[5, 8\].*end a sequence with an lstm, gru or rnn without seq=true/);
  rejects(() => d.parseModelSpec('lstm'), /lstm needs hidden/);
  rejects(() => d.parseModelSpec('rnn:4:act=sigmoid'), /expected one of tanh, relu/);
  rejects(() => d.parseModelSpec('embedding:10'), /embedding needs dim/);
});

test('perStep: a spec ends in [T, classes], a class per step (a language model), and a model ending in [classes] is refused naming seq=true', () => {
  const rng = new d.Rng(1);
  const lm = d.resolveModel('embedding:12:8,lstm:16:seq=true,linear').build({ rng, inputShape: [1, 1, 5], classes: 12, perStep: true });
  assert.deepEqual(lm.forward(d.tensor([[1, 2, 3, 4, 5]])).shape, [1, 5, 12]);
  assert.throws(
    () => d.resolveModel('embedding:12:8,lstm:16,linear').build({ rng, inputShape: [1, 1, 5], classes: 12, perStep: true }),
    /layer 2 \(linear\): the model ends in \[12\], and a model with 12 classes at every step must end in \[T, 12\] \(a recurrent layer gives every step with seq=true/,
  );
  // without perStep the same per-step model is refused: it must end in [classes]
  assert.throws(
    () => d.resolveModel('embedding:12:8,lstm:16:seq=true,linear').build({ rng, inputShape: [1, 1, 5], classes: 12 }),
    /the model ends in \[5, 12\] but the data has 12 classes/,
  );
});
