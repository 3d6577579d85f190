/**
 * summary(model, inputShape): each layer's output shape and parameter count, checked against the
 * arithmetic of the layers (a 5×5 convolution from 1 to 32 channels has 32·1·5·5 + 32 values, a
 * padded 'same' convolution keeps 28×28, a 2×2 pool halves it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summary } from '../../src/nn/summary.js';
import { getModel } from '../../src/train/models.js';
import { resolveModel } from '../../src/train/spec.js';
import { Rng } from '../../src/tensor/rng.js';
import { Linear } from '../../src/nn/layers.js';
import * as d from '../../src/index.js';

test('the lecture CNN: shapes and parameter counts by layer, totals equal numParameters', () => {
  const model = getModel('cnn').build({ rng: new Rng(1), inputShape: [1, 28, 28], classes: 10 });
  const s = summary(model, [1, 28, 28]);
  assert.deepEqual(
    s.layers.map((l) => [l.outputShape, l.params]),
    [
      [[32, 28, 28], 32 * 25 + 32],
      [[32, 28, 28], 0],
      [[32, 14, 14], 0],
      [[64, 14, 14], 64 * 32 * 25 + 64],
      [[64, 14, 14], 0],
      [[64, 7, 7], 0],
      [[3136], 0],
      [[128], 3136 * 128 + 128],
      [[128], 0],
      [[10], 128 * 10 + 10],
    ],
  );
  assert.deepEqual(
    s.layers.map((l) => l.name),
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  );
  assert.equal(s.params, model.numParameters());
  assert.equal(s.buffers, 0);
  const text = s.toString().split('\n');
  assert.equal(text.length, 1 + 1 + 10 + 1);
  assert.match(text[2], /^0 {2}Conv2d\(1→32, 5×5, padding 2×2\)\s+\[32, 28, 28\]\s+832$/);
  assert.match(text[12], /^input \[1, 28, 28\]; 454,922 parameters$/);
});

test('BatchNorm counts its running statistics as buffers; a model that is not a Sequential is one row; bad shapes are refused', () => {
  const spec = resolveModel('conv:8:3,batchnorm,relu,adaptiveavgpool,flatten,linear');
  const model = spec.build({ rng: new Rng(2), inputShape: [3, 16, 16], classes: 5 });
  const s = summary(model, [3, 16, 16]);
  assert.deepEqual(
    s.layers.map((l) => l.outputShape),
    [[8, 14, 14], [8, 14, 14], [8, 14, 14], [8, 1, 1], [8], [5]],
  );
  assert.equal(s.layers[1].params, 16);
  assert.equal(s.buffers, 8 + 8 + 1);
  const one = summary(new Linear(4, 3, { rng: new Rng(3) }), [4]);
  assert.deepEqual(one.layers, [{ name: '', layer: 'Linear(4→3)', outputShape: [3], params: 15 }]);
  assert.throws(() => summary(model, []), /summary: invalid inputShape \[\]; expected the shape of one sample/);
  assert.throws(() => summary(model, [3, 16.5, 16]), /summary: invalid inputShape/);
  assert.throws(() => summary(model, [1, 16, 16]), /Conv2d/);
});

test('a Sequential inside the model lists its own layers, named as their parameters are, the names padded to one column', () => {
  const rng = new d.Rng(1);
  const net = new d.Sequential(
    new d.Linear(4, 6, { rng }),
    new d.Sequential(new d.ReLU(), new d.Linear(6, 3, { rng })),
    new d.Linear(3, 2, { rng }),
  );
  const s = d.summary(net, [4]);
  assert.deepEqual(
    s.layers.map((l) => [l.name, l.outputShape, l.params]),
    [
      ['0', [6], 30],
      ['1.0', [6], 0],
      ['1.1', [3], 21],
      ['2', [2], 8],
    ],
  );
  assert.ok(net.namedParameters().some(([n]) => n === '1.1.weight'));
  const lines = s.toString().split('\n');
  assert.equal(lines[2].indexOf('Linear'), lines[4].indexOf('Linear'), lines.join('\n'));
});

test('a decoder: ConvTranspose2d and Upsample shapes and parameter counts (weight [in, out/groups, kh, kw])', () => {
  const rng = new Rng(2);
  const model = new d.Sequential(
    new d.Conv2d(1, 8, 3, { stride: 2, padding: 1, rng }),
    new d.ConvTranspose2d(8, 4, 4, { stride: 2, padding: 1, groups: 2, rng }),
    new d.Upsample({ scaleFactor: 2, mode: 'bilinear' }),
    new d.ConvTranspose2d(4, 1, 3, { stride: 2, padding: 1, outputPadding: 1, bias: false, rng }),
  );
  const s = summary(model, [1, 28, 28]);
  assert.deepEqual(
    s.layers.map((l) => [l.outputShape, l.params]),
    [
      [[8, 14, 14], 8 * 9 + 8],
      // (14 − 1)·2 − 2 + 3 + 1 = 28; weight [8, 4/2, 4, 4]
      [[4, 28, 28], 8 * 2 * 16 + 4],
      [[4, 56, 56], 0],
      // (56 − 1)·2 − 2 + 2 + 1 + 1 = 112
      [[1, 112, 112], 4 * 1 * 9],
    ],
  );
  assert.equal(s.params, model.numParameters());
});
