/**
 * ONNX's own checker (Debian's python3-onnx, `onnx.checker.check_model(full_check=True)`: the
 * schema of every operator, attribute and type, then strict shape inference) accepts the files
 * exportOnnx writes for models using every layer it exports, and reads back their opset, IR
 * version, input and output shapes and metadata.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/tensor/rng.js';
import { Flatten, Linear, ReLU, Sequential, Sigmoid, Tanh } from '../../src/nn/layers.js';
import { ELU, GELU, LeakyReLU, SiLU, Softplus } from '../../src/nn/activation.js';
import { Conv2d } from '../../src/nn/conv.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../../src/nn/pool.js';
import { BatchNorm1d, BatchNorm2d } from '../../src/nn/batchnorm.js';
import { LayerNorm } from '../../src/nn/layernorm.js';
import { GroupNorm } from '../../src/nn/groupnorm.js';
import { Dropout } from '../../src/nn/dropout.js';
import { DropConnect } from '../../src/nn/dropconnect.js';
import { Residual } from '../../src/nn/residual.js';
import { fuse } from '../../src/nn/fuse.js';
import { resolveModel } from '../../src/train/spec.js';
import { exportOnnx } from '../../src/io/onnx.js';
import { tempDir } from '../tmp-dir.js';

const PYTHON = '/usr/bin/python3';
const CHECK = `
import json, sys, onnx
for path in sys.argv[1:]:
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    print(json.dumps({"ir": m.ir_version, "opset": [o.version for o in m.opset_import], "input": dims(m.graph.input[0]),
                      "output": dims(m.graph.output[0]), "metadata": {p.key: p.value for p in m.metadata_props},
                      "ops": sorted({n.op_type for n in m.graph.node})}))
`;

test("ONNX's checker accepts exportOnnx's files, every exported layer among them", () => {
  const dir = tempDir('descent-onnx-check-');
  const rng = new Rng(1);
  const mlp = new Sequential(
    new Linear(6, 8, { rng }),
    new GELU('tanh'),
    new Linear(8, 8, { rng }),
    new GELU(),
    new SiLU(),
    new Softplus(2, 1),
    new LeakyReLU(0.1),
    new ELU(),
    new Dropout(0.2),
    new BatchNorm1d(8),
    new LayerNorm(8),
    new Tanh(),
    new Sigmoid(),
    new DropConnect(8, 3, { activation: 'relu', rng }),
  );
  const cnn = new Sequential(
    new Residual(new Sequential(new Conv2d(2, 4, 3, { padding: 1, rng }), new GroupNorm(2, 4)), new Conv2d(2, 4, 1, { rng })),
    new ReLU(),
    new BatchNorm2d(4),
    new MaxPool2d(2, { ceilMode: true }),
    new AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false }),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(4, 3, { rng }),
  );
  const builtIn = fuse(resolveModel('cnn').build({ rng, inputShape: [1, 28, 28], classes: 10 }));
  const files = [
    [mlp, { inputShape: [6], impute: new Float32Array(6), standardize: { mean: new Float32Array(6), std: new Float32Array(6).fill(2) } }],
    [cnn, { inputShape: [2, 9, 9], softmax: true, metadata: { 'descent.classes': '["a","b","c"]' } }],
    [builtIn, { inputShape: [1, 28, 28] }],
  ] as const;
  const paths = files.map(([model, opts], i) => {
    const path = join(dir, `m${i}.onnx`);
    writeFileSync(path, exportOnnx(model, opts));
    return path;
  });
  const py = spawnSync(PYTHON, ['-c', CHECK, ...paths], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const got = py.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  for (const g of got) {
    assert.equal(g.ir, 8);
    assert.deepEqual(g.opset, [17]);
  }
  assert.deepEqual(
    [got[0].input, got[0].output],
    [
      ['batch', 6],
      ['batch', 3],
    ],
  );
  assert.deepEqual(
    [got[1].input, got[1].output],
    [
      ['batch', 2, 9, 9],
      ['batch', 3],
    ],
  );
  assert.deepEqual(
    [got[2].input, got[2].output],
    [
      ['batch', 1, 28, 28],
      ['batch', 10],
    ],
  );
  assert.deepEqual(got[1].metadata, { 'descent.classes': '["a","b","c"]' });
  for (const op of ['Erf', 'Tanh', 'Softplus', 'Where', 'IsNaN', 'LayerNormalization', 'BatchNormalization', 'Gemm', 'LeakyRelu', 'Elu'])
    assert.ok(got[0].ops.includes(op), `${op} in ${got[0].ops}`);
  for (const op of ['Conv', 'InstanceNormalization', 'Add', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Softmax'])
    assert.ok(got[1].ops.includes(op), `${op} in ${got[1].ops}`);
});
