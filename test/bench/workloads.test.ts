/**
 * The benchmark's workload tables (bench/common.ts) agree with each other and with the PyTorch
 * runner's (bench/torch_bench.py), descent's models read their workload's batches (W5: an image's
 * rows as time steps), and bench/run.ts refuses a workload it does not know before measuring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng, Tensor, crossEntropy } from '../../src/index.js';
import { BATCH, INTERLEAVED, ON_GPU_WORKLOADS, SEGMENTS, STEPS, WORKLOADS, isInterleaved, type WorkloadId } from '../../bench/common.js';
import { descentInputShape, descentModel } from '../../bench/models.js';

const bench = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
const torchBench = fileURLToPath(new URL('../../../bench/torch_bench.py', import.meta.url));

test('the samples/s workloads are the interleaved ones, each with its steps and batch', () => {
  for (const w of Object.keys(WORKLOADS) as WorkloadId[]) {
    assert.equal(isInterleaved(w), WORKLOADS[w].unit === 'samples/s', w);
    if (isInterleaved(w)) {
      // at least one timed step per segment, and a warm-up
      const s = STEPS[w];
      assert.ok(s.full >= SEGMENTS.full && s.quick >= SEGMENTS.quick && s.warmup >= 1, `${w}: steps ${JSON.stringify(s)}`);
      assert.ok(Number.isInteger(BATCH[w]) && BATCH[w] > 0, `${w}: batch ${BATCH[w]}`);
    }
  }
  assert.ok(INTERLEAVED.includes('W5') && INTERLEAVED.includes('W6'));
  assert.ok(ON_GPU_WORKLOADS.every((w) => isInterleaved(w)));
});

test("the PyTorch runner's steps, batches and interleaved workloads are bench/common.ts's", () => {
  const py = readFileSync(torchBench, 'utf8');
  // Python literals of str, int and tuples, read as JSON
  const literal = (name: string): unknown => {
    const m = new RegExp(`^${name} = (.*)$`, 'm').exec(py);
    assert.ok(m, `${name} in torch_bench.py`);
    return JSON.parse(m[1].replace(/'/g, '"').replace(/\(/g, '[').replace(/\)/g, ']'));
  };
  assert.deepEqual(literal('INTERLEAVED'), [...INTERLEAVED]);
  assert.deepEqual(literal('BATCH'), BATCH);
  const steps = literal('STEPS') as Record<string, number[]>;
  for (const [w, s] of Object.entries(STEPS)) assert.deepEqual(steps[w], [s.warmup, s.full, s.quick], w);
});

test("each interleaved workload's descent model maps its batch to 10 logits, and every parameter gets a gradient", () => {
  for (const w of INTERLEAVED) {
    const b = 3;
    const rng = new Rng(7);
    const model = descentModel(w, rng);
    const x = new Float32Array(b * 784);
    for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
    const out = model.forward(new Tensor(x, descentInputShape(w, b)), { training: true, rng });
    assert.deepEqual(out.shape, [b, 10], w);
    crossEntropy(out, new Int32Array([0, 4, 9])).backward();
    for (const [name, p] of model.namedParameters()) {
      assert.ok(p.grad, `${w} ${name}: no gradient`);
      assert.ok(
        p.grad.data.some((v) => v !== 0),
        `${w} ${name}: gradient all zeros`,
      );
    }
  }
});

test("W5's model has PyTorch's nn.LSTM(28, 128) and nn.Linear(128, 10) parameters and takes an image as 28 steps of its 28-pixel rows", () => {
  const model = descentModel('W5', new Rng(1));
  const shapes = Object.fromEntries([...model.namedParameters()].map(([n, p]) => [n.replace(/^.*\./, ''), p.shape]));
  // PyTorch's names and shapes: 4 gates × 128 rows
  assert.deepEqual(shapes, {
    weight_ih_l0: [4 * 128, 28],
    weight_hh_l0: [4 * 128, 128],
    bias_ih_l0: [4 * 128],
    bias_hh_l0: [4 * 128],
    weight: [10, 128],
    bias: [10],
  });
  assert.deepEqual(descentInputShape('W5', 5), [5, 28, 28]);
});

test("W6's model has the parameters of the PyTorch runner's RowTransformer, in its order, and takes an image as 28 tokens of its rows", () => {
  const model = descentModel('W6', new Rng(1));
  const params = [...model.namedParameters()].map(([n, p]) => [n.replace(/^(\d+\.)+/, ''), p.shape]);
  // per encoder layer, nn.TransformerEncoderLayer(64, 4, 128)'s named_parameters()
  const layer: [string, number[]][] = [
    ['self_attn.in_proj_weight', [192, 64]],
    ['self_attn.in_proj_bias', [192]],
    ['self_attn.out_proj.weight', [64, 64]],
    ['self_attn.out_proj.bias', [64]],
    ['linear1.weight', [128, 64]],
    ['linear1.bias', [128]],
    ['linear2.weight', [64, 128]],
    ['linear2.bias', [64]],
    ['norm1.weight', [64]],
    ['norm1.bias', [64]],
    ['norm2.weight', [64]],
    ['norm2.bias', [64]],
  ];
  assert.deepEqual(params, [
    ['weight', [64, 28]],
    ['bias', [64]],
    ['weight', [28, 64]],
    ...layer,
    ...layer,
    ['weight', [64]],
    ['bias', [64]],
    ['weight', [10, 64]],
    ['bias', [10]],
  ]);
  assert.deepEqual(descentInputShape('W6', 5), [5, 28, 28]);
});

test('bench --only with a workload it does not know is refused before any measurement', () => {
  const r = spawnSync(process.execPath, [bench, '--quick', '--only', 'W5,W9', '--peers', 'none'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim(), 'bench --only: expected workloads among W1, W2, W3, W4, W5, W6, got "W9"');
  assert.equal(r.stdout, '');
});
