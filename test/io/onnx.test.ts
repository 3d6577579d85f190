import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Module } from '../../src/nn/module.js';
import { Flatten, Linear, ReLU, Sequential, Sigmoid, Tanh } from '../../src/nn/layers.js';
import { ELU, GELU, LeakyReLU, SiLU, Softplus } from '../../src/nn/activation.js';
import { Conv2d } from '../../src/nn/conv.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../../src/nn/pool.js';
import { BatchNorm1d, BatchNorm2d } from '../../src/nn/batchnorm.js';
import { LayerNorm } from '../../src/nn/layernorm.js';
import { GroupNorm } from '../../src/nn/groupnorm.js';
import { Dropout, Dropout2d } from '../../src/nn/dropout.js';
import { DropConnect } from '../../src/nn/dropconnect.js';
import { FractionalMaxPool2d } from '../../src/nn/fmp.js';
import { Residual } from '../../src/nn/residual.js';
import { fuse } from '../../src/nn/fuse.js';
import { resolveModel } from '../../src/train/spec.js';
import { exportOnnx, type ExportOnnxOptions } from '../../src/io/onnx.js';
import { saveOnnxFile } from '../../src/io/onnx-node.js';
import { tempDir } from '../tmp-dir.js';

// ONNX Runtime's WebAssembly build, run in this process: the reference that reads and runs the files
ort.env.wasm.numThreads = 1;

async function runOnnx(
  bytes: Uint8Array,
  x: Tensor,
  names = { input: 'input', output: 'output' },
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual(session.inputNames, [names.input]);
  assert.deepEqual(session.outputNames, [names.output]);
  const r = await session.run({ [names.input]: new ort.Tensor('float32', Float32Array.from(x.data), [...x.shape]) });
  const out = r[names.output];
  return { data: out.data as Float32Array, dims: out.dims };
}

function randomInput(rng: Rng, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float32Array.from({ length: n }, () => rng.normal() * 1.5),
    shape,
  );
}

/** Running statistics and affine parameters that are not the defaults, so the file must carry them. */
function perturb(model: Module, rng: Rng): void {
  for (const [name, t] of model.namedState()) {
    if (name.endsWith('running_var')) for (let i = 0; i < t.size; i++) t.data[i] = 0.5 + rng.uniform();
    else if (name.endsWith('running_mean') || /norm|^\d+\.(weight|bias)$/.test(name) || t.shape.length === 1)
      for (let i = 0; i < t.size; i++) t.data[i] += 0.3 * rng.normal();
  }
}

async function assertSameOutputs(model: Module, opts: ExportOnnxOptions, batch = 3, seed = 1): Promise<void> {
  const rng = new Rng(seed);
  const x = randomInput(rng, [batch, ...opts.inputShape]);
  const want = model.forward(x, { training: false });
  const got = await runOnnx(exportOnnx(model, opts), x);
  assert.deepEqual(got.dims, want.shape);
  let worst = 0;
  for (let i = 0; i < want.size; i++) {
    const err = Math.abs(got.data[i] - want.data[i]) / (1e-5 + 1e-4 * Math.abs(want.data[i]));
    worst = Math.max(worst, err);
  }
  assert.ok(worst <= 1, `ONNX Runtime's output differs from the model's forward: worst error ${worst.toFixed(2)}× the tolerance`);
}

test('an MLP with every activation, BatchNorm1d, LayerNorm and Dropout runs in ONNX Runtime as its evaluation forward', async () => {
  const rng = new Rng(3);
  const model = new Sequential(
    new Linear(6, 8, { rng }),
    new ReLU(),
    new Linear(8, 8, { rng }),
    new GELU(),
    new Linear(8, 8, { rng }),
    new GELU('tanh'),
    new Linear(8, 8, { rng }),
    new SiLU(),
    new Linear(8, 8, { rng }),
    new Softplus(2, 1),
    new Linear(8, 8, { rng }),
    new Softplus(),
    new LeakyReLU(0.2),
    new ELU(0.5),
    new Tanh(),
    new Dropout(0.5),
    new BatchNorm1d(8),
    new LayerNorm(8),
    new Sigmoid(),
    new Linear(8, 3, { rng, bias: false }),
  );
  perturb(model, rng);
  await assertSameOutputs(model, { inputShape: [6] });
});

test('a CNN with Conv2d (stride, padding, dilation, groups), BatchNorm2d, GroupNorm and every pooling runs in ONNX Runtime', async () => {
  const rng = new Rng(4);
  const model = new Sequential(
    new Conv2d(2, 4, 3, { padding: 1, rng }),
    new BatchNorm2d(4),
    new ReLU(),
    new MaxPool2d(2, { ceilMode: true }),
    new Conv2d(4, 6, 3, { stride: 2, padding: [1, 2], dilation: [1, 2], groups: 2, rng }),
    new GroupNorm(3, 6),
    new Dropout2d(0.3),
    new AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false }),
    new AvgPool2d(2, { stride: 1, padding: 1 }),
    new Conv2d(6, 6, 1, { bias: false, rng }),
    new AdaptiveAvgPool2d(2),
    new MaxPool2d(2, { stride: 1, padding: 1 }),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(6, 4, { rng }),
  );
  perturb(model, rng);
  await assertSameOutputs(model, { inputShape: [2, 9, 9] });
});

test("the CLI's built-in models, fused or not, and a residual block run in ONNX Runtime", async () => {
  for (const spec of ['mlp', 'cnn', 'linear:16,batchnorm,relu,linear', 'linear:16,gelu,linear', 'linear:16,silu,linear']) {
    const inputShape = spec === 'cnn' ? [1, 28, 28] : [784];
    const model = resolveModel(spec).build({ rng: new Rng(5), inputShape: [1, 28, 28], classes: 10 });
    perturb(model, new Rng(6));
    await assertSameOutputs(model, { inputShape }, 2);
    await assertSameOutputs(fuse(model), { inputShape }, 2);
  }
  const rng = new Rng(7);
  const block = new Sequential(
    new Residual(
      new Sequential(new Conv2d(3, 3, 3, { padding: 1, rng }), new BatchNorm2d(3), new ReLU(), new Conv2d(3, 3, 3, { padding: 1, rng })),
    ),
    new ReLU(),
    new Residual(
      new Sequential(new Conv2d(3, 5, 3, { stride: 2, padding: 1, rng }), new GroupNorm(5, 5)),
      new Sequential(new Conv2d(3, 5, 1, { stride: 2, bias: false, rng }), new BatchNorm2d(5)),
    ),
    new Flatten(),
    new Linear(80, 2, { rng }),
  );
  perturb(block, rng);
  await assertSameOutputs(block, { inputShape: [3, 8, 8] });
});

test('DropConnect exports its mean inference with its activation', async () => {
  const rng = new Rng(8);
  for (const activation of ['none', 'relu', 'elu', 'gelu', 'softplus'] as const) {
    const model = new Sequential(new DropConnect(5, 7, { p: 0.5, activation, rng }), new Linear(7, 2, { rng }));
    await assertSameOutputs(model, { inputShape: [5] });
  }
});

test('standardize goes in front and softmax at the end; names and metadata are the ones given', async () => {
  const rng = new Rng(9);
  const model = new Sequential(new Linear(4, 3, { rng }));
  const mean = [1, -2, 0.5, 3];
  const std = [2, 0.5, 1, 4];
  const x = randomInput(rng, [5, 4]);
  const bytes = exportOnnx(model, {
    inputShape: [4],
    standardize: { mean, std },
    softmax: true,
    inputName: 'features',
    outputName: 'probabilities',
    metadata: { classes: 'a,b,c' },
  });
  const got = await runOnnx(bytes, x, { input: 'features', output: 'probabilities' });
  const z = new Tensor(
    Float32Array.from(x.data, (v, i) => (v - mean[i % 4]) / std[i % 4]),
    [5, 4],
  );
  const logits = model.forward(z).data;
  for (let r = 0; r < 5; r++) {
    const row = Array.from(logits.subarray(3 * r, 3 * r + 3));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(got.data[3 * r + c] - e[c] / s) < 1e-6, `row ${r} class ${c}`);
  }
  // metadata_props: the key and value are in the file as written
  const text = new TextDecoder().decode(bytes);
  assert.ok(text.includes('classes') && text.includes('a,b,c'));
});

test("impute fills NaN inputs, flatten feeds an MLP images, targetStandardize gives outputs in the targets' units", async () => {
  const rng = new Rng(11);
  const model = new Sequential(new Linear(6, 2, { rng }));
  const impute = [0.5, -1, 2, 0, 3, 1];
  const mean = [0, 1, 2, 3, 4, 5];
  const std = [1, 2, 3, 1, 2, 3];
  const target = { mean: [100, -5], std: [10, 0.5] };
  const x = randomInput(rng, [4, 1, 2, 3]);
  x.data[1] = Number.NaN;
  x.data[6 + 4] = Number.NaN;
  const bytes = exportOnnx(model, { inputShape: [1, 2, 3], impute, standardize: { mean, std }, flatten: true, targetStandardize: target });
  const got = await runOnnx(bytes, x);
  assert.deepEqual(got.dims, [4, 2]);
  const z = new Tensor(
    Float32Array.from(x.data, (v, i) => ((Number.isNaN(v) ? impute[i % 6] : v) - mean[i % 6]) / std[i % 6]),
    [4, 6],
  );
  const y = model.forward(z).data;
  for (let i = 0; i < 8; i++) {
    const want = y[i] * target.std[i % 2] + target.mean[i % 2];
    assert.ok(Math.abs(got.data[i] - want) < 1e-4 * Math.max(1, Math.abs(want)), `output ${i}: ${got.data[i]} vs ${want}`);
  }
  assert.throws(
    () => exportOnnx(model, { inputShape: [1, 2, 3], flatten: true, targetStandardize: { mean: [1], std: [1] } }),
    /targetStandardize\.mean has 1 values; the output \[2\] has 2/,
  );
  assert.throws(() => exportOnnx(model, { inputShape: [1, 2, 3] }), /inputShape \[1, 2, 3\] does not fit the model/);
});

test('layers without an ONNX form, a wrong inputShape and bad options are refused, naming them', () => {
  const rng = new Rng(10);
  assert.throws(
    () => exportOnnx(new Sequential(new Conv2d(1, 2, 3, { rng }), new FractionalMaxPool2d({ rng })), { inputShape: [1, 8, 8] }),
    /exportOnnx: layer 1 \(FractionalMaxPool2d.*\) pools over pseudo-random regions, which no ONNX operator expresses/,
  );
  assert.throws(
    () => exportOnnx(new Sequential(new DropConnect(4, 4, { activation: 'relu', inference: 'gaussian', rng })), { inputShape: [4] }),
    /exportOnnx: layer 0 \(DropConnect.*\) evaluates by sampling/,
  );
  assert.throws(
    () => exportOnnx(new Sequential(new Linear(4, 4, { rng }), new BatchNorm1d(4, { trackRunningStats: false })), { inputShape: [4] }),
    /exportOnnx: layer 1 \(BatchNorm1d.*\) has no running statistics/,
  );
  class Twice extends Module {
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  assert.throws(
    () => exportOnnx(new Sequential(new Linear(4, 4, { rng }), new Twice()), { inputShape: [4] }),
    /layer 1 \(Twice\) is a Twice, which exportOnnx has no ONNX form for/,
  );
  assert.throws(
    () => exportOnnx(new Sequential(new Conv2d(3, 2, 3, { rng }), new AdaptiveAvgPool2d(4)), { inputShape: [3, 8, 8] }),
    /pools 6×6 into 4×4 with bins of unequal sizes/,
  );
  assert.throws(
    () => exportOnnx(new Sequential(new Linear(4, 4, { rng })), { inputShape: [5] }),
    /exportOnnx: inputShape \[5\] does not fit the model: /,
  );
  assert.throws(
    () => exportOnnx(new Sequential(new Linear(4, 4, { rng })), { inputShape: [4], standardize: { mean: [0], std: [1, 1, 1, 1] } }),
    /standardize\.mean has 1 values; the input \[4\] has 4/,
  );
  assert.throws(() => exportOnnx(new Sequential(new Linear(4, 4, { rng })), { inputShape: [0] }), /exportOnnx: .*inputShape/);
  assert.throws(
    () => exportOnnx(new Sequential(new Linear(4, 4, { rng })), { inputShape: [4], inputName: 'x', outputName: 'x' }),
    /both "x"/,
  );
});

test('saveOnnxFile writes the file whole, and nothing when the export is refused', async () => {
  const dir = tempDir('descent-onnx-');
  const rng = new Rng(12);
  const model = new Sequential(new Linear(3, 2, { rng }));
  const path = join(dir, 'm.onnx');
  saveOnnxFile(path, model, { inputShape: [3] });
  const x = randomInput(rng, [2, 3]);
  const got = await runOnnx(readFileSync(path), x);
  const want = model.forward(x).data;
  want.forEach((v, i) => assert.ok(Math.abs(got.data[i] - v) < 1e-6, `output ${i}: ${got.data[i]} vs ${v}`));
  const refused = join(dir, 'no.onnx');
  assert.throws(() => saveOnnxFile(refused, model, { inputShape: [4] }), /does not fit the model/);
  assert.equal(existsSync(refused), false);
});
