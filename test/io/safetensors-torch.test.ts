/**
 * A safetensors file written by PyTorch 1.13 (tools/safetensors_torch.py fixture: a small CNN
 * trained 2 epochs on the embedded data) loads into the same architecture built from a spec, and
 * gives PyTorch's logits on the first 20 test images to 1e-5 and PyTorch's test accuracy on all
 * 2,000. No PyTorch needed here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as d from '../../src/node.js';
import { initWasm } from '../../src/backend/wasm/index.js';

const dir = fileURLToPath(new URL('../../../test/fixtures/safetensors/', import.meta.url));
const SPEC = 'conv:8:5:pad=2,relu,maxpool:2,conv:16:5:pad=2,relu,maxpool:2,flatten,linear:32,relu,dropout:0.5,linear:10';
const weightsPath = `${dir}small_cnn.safetensors`;
const ref = d.decodeSafetensors(readFileSync(`${dir}small_cnn_logits.safetensors`));

function logitsOf(model: d.Module, n?: number): { logits: Float32Array; acc: number } {
  const { test: testSet } = d.loadEmbedded();
  const set = n === undefined ? testSet : testSet.slice(0, n);
  const out = new Float32Array(set.length * 10);
  let at = 0,
    correct = 0;
  d.noGrad(() => {
    for (const b of new d.DataLoader(set, { batchSize: 500 }).epoch(0)) {
      const y = model.forward(b.x, { training: false });
      out.set(y.data, at * 10);
      d.argmax(y, -1).forEach((p, i) => void (correct += +(p === b.y[i])));
      at += b.y.length;
    }
  });
  return { logits: out, acc: correct / set.length };
}

function build(spec: string): d.Module {
  return d.resolveModel(spec).build({ rng: new d.Rng(1).fork('model'), inputShape: [1, 28, 28], classes: 10 });
}

test("PyTorch's safetensors file loads into the spec it names and gives PyTorch's logits to 1e-5", () => {
  const model = build(SPEC);
  const before = model.parameters().map((p) => Array.from(p.data));
  const meta = d.loadSafetensorsFile(weightsPath, model);
  assert.equal(meta.format, 'pt');
  assert.match(meta.torch, /^1\.13/);
  assert.equal(meta.spec, SPEC);
  assert.notDeepEqual(
    model.parameters().map((p) => Array.from(p.data)),
    before,
    'the weights changed',
  );
  const want = ref.tensors.get('logits')!;
  assert.deepEqual(want.shape, [20, 10]);
  const labels = new BigInt64Array(ref.tensors.get('labels')!.data.slice().buffer);
  assert.deepEqual(Array.from(labels, Number), Array.from(d.loadEmbedded().test.labels.subarray(0, 20)), 'the same 20 images');
  const { logits } = logitsOf(model, 20);
  let worst = 0;
  for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - want.data[i]));
  assert.ok(worst <= 1e-5, `max |descent − PyTorch| = ${worst}`);
  assert.ok(Math.max(...Array.from(want.data, Math.abs)) > 1, 'the logits are not trivially small');
});

test("it reaches PyTorch's test accuracy on the 2,000 embedded test images", async () => {
  await initWasm(); // the CLI's backend; the reference one takes ~10 s for the 2,000 images
  d.setBackend('wasm');
  try {
    const model = build(SPEC);
    const meta = d.loadSafetensorsFile(weightsPath, model);
    assert.equal(logitsOf(model).acc.toFixed(6), meta.test_accuracy);
  } finally {
    d.setBackend('reference');
  }
});

test("the same file loads into a DropConnect version (PyTorch's Linear+ReLU is DropConnect with act=relu) with the same logits", () => {
  const plain = build(SPEC);
  const dc = build('conv:8:5:pad=2,relu,maxpool:2,conv:16:5:pad=2,relu,maxpool:2,flatten,dropconnect:32:act=relu,dropout:0.5,linear:10');
  d.loadSafetensorsFile(weightsPath, plain);
  d.loadSafetensorsFile(weightsPath, dc);
  assert.deepEqual(Array.from(logitsOf(dc, 20).logits), Array.from(logitsOf(plain, 20).logits));
});

test('a module of another architecture refuses the file and is left unchanged', () => {
  const other = build('conv:8:5:pad=2,relu,maxpool:2,conv:16:5:pad=2,relu,maxpool:2,flatten,linear:64,relu,linear:10');
  const before = other.parameters().map((p) => Array.from(p.data));
  assert.throws(
    () => d.loadSafetensorsFile(weightsPath, other),
    /small_cnn\.safetensors: tensor "7\.weight": shape \[32, 784\] in the file, the module's parameter is \[64, 784\]/,
  );
  assert.deepEqual(
    other.parameters().map((p) => Array.from(p.data)),
    before,
  );
});
