/**
 * predict (src/train/predict.ts), Keras' model.predict: a tensor run a batch at a time or a
 * source's batches, in evaluation mode (no dropout, BatchNorm's running statistics), the outputs
 * joined in order — the model's own forward on each batch, for an MLP with dropout and a BatchNorm
 * CNN on wasm; the same outputs from a source as from a tensor; its messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DataLoader,
  Rng,
  Tensor,
  cat,
  fuse,
  narrow,
  noGrad,
  predict,
  predictAsync,
  resolveModel,
  setBackend,
  type Module,
} from '../../src/index.js';
import { initWasm } from '../../src/wasm.js';
import { loadEmbedded } from '../../src/data/node.js';

await initWasm({ threads: 2 });
setBackend('wasm');
const data = loadEmbedded();
const set = data.test.slice(0, 100);

const models: [string, (rng: Rng) => Module][] = [
  ['mlp', (rng) => resolveModel('flatten,linear:64,relu,dropout:0.5,linear:10').build({ rng, inputShape: [1, 28, 28], classes: 10 })],
  [
    'bn-cnn',
    (rng) =>
      resolveModel('conv:8:5:pad=2:bias=false,batchnorm,relu,maxpool:2,flatten,linear:10').build({
        rng,
        inputShape: [1, 28, 28],
        classes: 10,
      }),
  ],
];

/** The 100 images as one tensor [100, 1, 28, 28]. */
const images = new Tensor(set.images.slice(0, 100 * 784), [100, 1, 28, 28]);

test('predict of a tensor: the fused model’s forward on each batch of batchSize, joined in order, in evaluation mode', () => {
  for (const [name, build] of models) {
    const model = build(new Rng(3));
    // running statistics away from their start, so evaluation mode shows
    for (const [n, t] of model.namedState()) if (n.endsWith('running_var')) t.data.fill(2);
    const out = predict(model, images, { batchSize: 32 });
    assert.deepEqual(out.shape, [100, 10], name);
    const net = fuse(model);
    const want = noGrad(() =>
      cat(
        [0, 32, 64, 96].map((s) => net.forward(narrow(images, 0, s, Math.min(32, 100 - s)), { training: false })),
        0,
      ),
    );
    assert.deepEqual(Array.from(out.data), Array.from(want.data), `${name}: the batches' outputs, joined`);
    // one forward over all 100 (the unfused module): the same within float32 rounding
    const whole = noGrad(() => model.forward(images, { training: false }));
    for (let i = 0; i < whole.size; i++)
      assert.ok(
        Math.abs(out.data[i] - whole.data[i]) <= 1e-5 * (1 + Math.abs(whole.data[i])),
        `${name}[${i}]: ${out.data[i]} vs ${whole.data[i]}`,
      );
    // evaluation mode: the same call twice gives the same outputs (dropout off)
    assert.deepEqual(Array.from(predict(model, images, { batchSize: 32 }).data), Array.from(out.data));
    // the default batch (256) takes the 100 images at once
    assert.deepEqual(predict(model, images).shape, [100, 10]);
  }
});

test('predict of a source: its batches’ inputs in order, the labels unread; the same outputs as from the tensor', async () => {
  const model = models[1][1](new Rng(4));
  const fromTensor = predict(model, images, { batchSize: 100 });
  const loader = new DataLoader(set, { batchSize: 30 });
  const fromSource = predict(model, loader);
  assert.deepEqual(fromSource.shape, [100, 10]);
  for (let i = 0; i < fromTensor.size; i++)
    assert.ok(Math.abs(fromSource.data[i] - fromTensor.data[i]) <= 1e-6 * (1 + Math.abs(fromTensor.data[i])), `[${i}]`);
  // on the host predictAsync is predict
  assert.deepEqual(Array.from((await predictAsync(model, loader)).data), Array.from(fromSource.data));
});

test('predict names what is wrong: the batch size, the inputs, the options', () => {
  const model = models[0][1](new Rng(5));
  assert.throws(() => predict(model, images, { batchSize: 0 }), /^RangeError: predict: batchSize must be a positive integer, got 0$/);
  assert.throws(() => predict(model, images, { batchSize: 2.5 }), /predict: .*batchSize.*an integer/);
  assert.throws(() => predict(model, images, { batch: 8 } as never), /predict: unknown option "batch"/);
  assert.throws(
    () => predict(model, 3 as never),
    /^TypeError: predict: expected the inputs as a Tensor \[N, …\] or a source of batches \(a DataLoader\), got number$/,
  );
  assert.throws(
    () => predict(model, new Tensor(Float32Array.of(1), [])),
    /predict: expected inputs \[N, …\] \(a batch of samples\), got a scalar/,
  );
});
