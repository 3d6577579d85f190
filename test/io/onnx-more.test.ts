/**
 * exportOnnx of PReLU, Hardswish, Hardsigmoid, SELU, Hardtanh, ReLU6, Mish, Softmax, LogSoftmax,
 * Identity, Unflatten and RMSNorm (onnx-more.ts): ONNX Runtime runs the files and gives the
 * model's evaluation forward; ONNX's own checker (Debian's python3-onnx, full_check) accepts them;
 * Unflatten of the batch dimension is refused naming the layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { Module } from '../../src/nn/module.js';
import { Flatten, Linear, Sequential } from '../../src/nn/layers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { Hardsigmoid, Hardswish, Hardtanh, Mish, PReLU, ReLU6, SELU } from '../../src/nn/activation-more.js';
import { RMSNorm } from '../../src/nn/rmsnorm.js';
import { LogSoftmax, Softmax } from '../../src/nn/softmax.js';
import { Identity, Unflatten } from '../../src/nn/unflatten.js';
import { exportOnnx } from '../../src/io/onnx.js';
import { tempDir } from '../tmp-dir.js';

ort.env.wasm.numThreads = 1;

/** Slopes and scales that are not the defaults, so the file must carry them. */
function perturb(model: Module, rng: Rng): void {
  for (const [, t] of model.namedState()) if (t.shape.length === 1) for (let i = 0; i < t.size; i++) t.data[i] += 0.3 * rng.normal();
}

async function assertSameOutputs(model: Module, inputShape: number[], seed: number): Promise<Uint8Array> {
  const rng = new Rng(seed);
  const shape = [3, ...inputShape];
  const x = new Tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 3),
    shape,
  );
  const want = model.forward(x, { training: false });
  const bytes = exportOnnx(model, { inputShape });
  const session = await ort.InferenceSession.create(bytes);
  const out = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data), shape) })).output;
  assert.deepEqual(out.dims, want.shape);
  const got = out.data as Float32Array;
  for (let i = 0; i < want.size; i++)
    assert.ok(
      Math.abs(got[i] - want.data[i]) <= 1e-5 + 1e-4 * Math.abs(want.data[i]),
      `output ${i}: ONNX Runtime ${got[i]}, the model ${want.data[i]}`,
    );
  return bytes;
}

function models(): [Module, number[]][] {
  const rng = new Rng(5);
  const mlp = new Sequential(
    new Linear(6, 8, { rng }),
    new RMSNorm(8),
    new PReLU(),
    new Linear(8, 8, { rng }),
    new Hardswish(),
    new Linear(8, 8, { rng }),
    new Mish(),
    new Linear(8, 8, { rng }),
    new SELU(),
    new Hardtanh(-0.5, 2),
    new Linear(8, 8, { rng }),
    new Hardsigmoid(),
    new Identity(),
    new Linear(8, 12, { rng }),
    new ReLU6(),
    new Unflatten(1, [3, 4]),
    new RMSNorm([3, 4], { eps: 1e-3, elementwiseAffine: false }),
    new LogSoftmax(1),
  );
  const cnn = new Sequential(
    new Conv2d(2, 4, 3, { padding: 1, rng }),
    new PReLU({ numParameters: 4 }),
    new RMSNorm([4, 5, 5]),
    new Softmax(1),
    new Flatten(),
    new Linear(100, 3, { rng }),
  );
  perturb(mlp, rng);
  perturb(cnn, rng);
  return [
    [mlp, [6]],
    [cnn, [2, 5, 5]],
  ];
}

test('the new layers run in ONNX Runtime as their evaluation forward; ONNX checker accepts the files', async () => {
  const dir = tempDir('descent-onnx-more-');
  const paths: string[] = [];
  let i = 0;
  for (const [model, shape] of models()) {
    const bytes = await assertSameOutputs(model, shape, ++i);
    const path = join(dir, `m${i}.onnx`);
    writeFileSync(path, bytes);
    paths.push(path);
  }
  const py = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      'import sys, json, onnx\nfor p in sys.argv[1:]:\n    m = onnx.load(p); onnx.checker.check_model(m, full_check=True); print(json.dumps(sorted({n.op_type for n in m.graph.node})))',
      ...paths,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(py.status, 0, py.stderr);
  const ops = py.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string[]);
  for (const op of ['PRelu', 'HardSwish', 'HardSigmoid', 'Selu', 'Clip', 'Softplus', 'ReduceMean', 'Reshape', 'LogSoftmax'])
    assert.ok(ops[0].includes(op), `${op} in ${ops[0]}`);
  for (const op of ['PRelu', 'ReduceMean', 'Softmax']) assert.ok(ops[1].includes(op), `${op} in ${ops[1]}`);
});

test('Unflatten of the batch dimension is refused, naming the layer', () => {
  const model = new Sequential(new Linear(4, 4), new Unflatten(0, [1, -1]));
  assert.throws(
    () => exportOnnx(model, { inputShape: [4] }),
    /exportOnnx: layer 1 \(Unflatten\(dim=0, \[1, -1\]\)\) splits the batch dimension, whose size the file leaves free/,
  );
});
