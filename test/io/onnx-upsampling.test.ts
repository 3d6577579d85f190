/** exportOnnx of ConvTranspose2d, ConvTranspose1d and Upsample, run by ONNX Runtime against the model's own forward. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import * as d from '../../src/index.js';
import { exportOnnx } from '../../src/io/onnx.js';
import { tempDir } from '../tmp-dir.js';

ort.env.wasm.numThreads = 1;

/** ONNX's own checker (python3-onnx, full_check: operator schemas and strict shape inference) on the file, and the output shape it infers. */
function checkedOutputShape(bytes: Uint8Array): (number | string)[] {
  const path = join(tempDir('descent-onnx-upsampling-'), 'm.onnx');
  writeFileSync(path, bytes);
  const code = `
import json, sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
print(json.dumps([d.dim_param or d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim]))
`;
  const py = spawnSync('/usr/bin/python3', ['-c', code, path], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  return JSON.parse(py.stdout);
}

async function assertSameOutputs(model: d.Module, inputShape: number[], what: string): Promise<void> {
  const rng = new d.Rng(11);
  const shape = [2, ...inputShape];
  const x = new d.Tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    shape,
  );
  const want = model.forward(x, { training: false });
  const bytes = exportOnnx(model, { inputShape });
  const session = await ort.InferenceSession.create(bytes);
  const out = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data), shape) })).output;
  assert.deepEqual(out.dims, want.shape, what);
  const got = out.data as Float32Array;
  const inferred = checkedOutputShape(bytes);
  assert.equal(inferred.length, want.ndim, `${what}: the checker's output rank`);
  for (let i = 0; i < want.size; i++)
    assert.ok(
      Math.abs(got[i] - want.data[i]) <= 1e-5 + 1e-4 * Math.abs(want.data[i]),
      `${what}[${i}]: ONNX Runtime ${got[i]}, model ${want.data[i]}`,
    );
}

test('a decoder of ConvTranspose2d (stride, padding, outputPadding, dilation, groups) and every Upsample mode runs in ONNX Runtime', async () => {
  const rng = new d.Rng(5);
  const model = new d.Sequential(
    new d.Conv2d(2, 4, 3, { stride: 2, padding: 1, rng }),
    new d.ReLU(),
    new d.ConvTranspose2d(4, 4, 3, { stride: 2, padding: 1, outputPadding: 1, rng }),
    new d.Upsample({ scaleFactor: 2 }),
    new d.ConvTranspose2d(4, 6, [3, 2], { stride: [1, 2], padding: [1, 0], dilation: [2, 1], outputPadding: [1, 1], groups: 2, rng }),
    new d.Upsample({ size: [9, 7], mode: 'bilinear', alignCorners: true }),
    new d.Upsample({ scaleFactor: [1.5, 0.5], mode: 'bilinear' }),
    new d.Upsample({ size: [11, 5], mode: 'nearest-exact' }),
    new d.Upsample({ size: [13, 8] }),
    new d.ConvTranspose2d(6, 1, 2, { bias: false, rng }),
  );
  await assertSameOutputs(model, [2, 6, 5], 'decoder');
});

test('ConvTranspose1d and the 1-D Upsample modes run in ONNX Runtime', async () => {
  const rng = new d.Rng(6);
  const model = new d.Sequential(
    new d.ConvTranspose1d(3, 4, 3, { stride: 2, padding: 1, outputPadding: 1, rng }),
    new d.Upsample({ size: 15, mode: 'linear' }),
    new d.Upsample({ scaleFactor: 2 }),
    new d.Upsample({ scaleFactor: 0.5, mode: 'linear', alignCorners: true }),
    new d.ConvTranspose1d(4, 2, 2, { dilation: 2, groups: 2, rng }),
  );
  await assertSameOutputs(model, [3, 6], '1-d');
});

test('a ConvTranspose2d whose outputPadding ONNX Runtime cannot run is refused, naming it', () => {
  const m = new d.Sequential(new d.ConvTranspose2d(2, 2, 3, { dilation: 2, outputPadding: 1 }));
  assert.throws(
    () => exportOnnx(m, { inputShape: [2, 4, 4] }),
    /exportOnnx: layer 0 \(ConvTranspose2d\(2→2, 3×3, outputPadding 1×1, dilation 2×2\)\) has outputPadding 1×1 ≥ stride 1×1 and > padding 0×0/,
  );
});
