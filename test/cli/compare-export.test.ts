/**
 * descent compare --export-run DIR writes what the runs used: replaying training from the exported
 * initial weights, batch order and hyper-parameters alone (a fresh model with other random weights,
 * overwritten from the files) reproduces compare's train loss and test accuracy exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { loadEmbedded } from '../../src/data/node.js';
import { Linear, ReLU, Sequential } from '../../src/nn/index.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { argmax } from '../../src/autograd/ops.js';
import { crossEntropy } from '../../src/autograd/cross-entropy.js';
import { noGrad } from '../../src/autograd/engine.js';
import { createOptimizer } from '../../src/optim/registry.js';
import type { RunManifest } from '../../src/cli/commands/compare.js';

const f32 = (path: string) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const i32 = (path: string) => {
  const b = readFileSync(path);
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** Train an MLP from the exported files only; returns the last epoch's mean loss and the test accuracy. */
function replay(dir: string, m: RunManifest, key: string, orders: Int32Array[]): { trainLoss: number; testAccuracy: number } {
  const { train: fullTrain, test: fullTest } = loadEmbedded();
  const train = fullTrain.slice(0, m.limit!),
    test = fullTest.slice(0, m.testLimit!);
  const weights = m.params.filter((p) => p.name.endsWith('.weight'));
  const rng = new Rng(999); // deliberately not the run's seed: every value must come from the files
  const layers = weights.flatMap((p, i) =>
    i + 1 < weights.length ? [new Linear(p.shape[1], p.shape[0], { rng }), new ReLU()] : [new Linear(p.shape[1], p.shape[0], { rng })],
  );
  const model = new Sequential(...layers);
  model.loadStateDict(Object.fromEntries(m.params.map((p) => [p.name, { shape: p.shape, data: Array.from(f32(join(dir, p.file))) }])));
  const entry = m.optimizers.find((o) => o.key === key)!;
  const opt = createOptimizer(key, model.namedParameters(), entry.hyper);
  const s = train.sampleSize;
  let trainLoss = NaN;
  for (const order of orders) {
    let sum = 0;
    for (let b = 0; b < order.length; b += m.batchSize) {
      const idx = order.subarray(b, b + m.batchSize);
      const x = new Float32Array(idx.length * s);
      idx.forEach((i, k) => x.set(train.images.subarray(i * s, (i + 1) * s), k * s));
      const loss = crossEntropy(
        model.forward(new Tensor(x, [idx.length, s]), { training: true }),
        Array.from(idx, (i) => train.labels[i]),
      );
      sum += loss.item() * idx.length;
      opt.zeroGrad();
      loss.backward();
      opt.step();
    }
    trainLoss = sum / order.length;
  }
  const pred = noGrad(() => argmax(model.forward(new Tensor(test.images.slice(), [test.length, s]), { training: false }), -1));
  let correct = 0;
  for (let i = 0; i < test.length; i++) if (pred[i] === test.labels[i]) correct++;
  return { trainLoss, testAccuracy: correct / test.length };
}

test("--export-run: the exported weights, batch order and hyper-parameters reproduce compare's results", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-export-'));
  try {
    const r = await cli(
      'compare',
      '--data',
      'embedded',
      '--limit',
      '200',
      '--test-limit',
      '100',
      '--epochs',
      '2',
      '--batch-size',
      '64',
      '--backend',
      'reference',
      '--optimizers',
      'sgd,adam',
      '--seed',
      '5',
      '--export-run',
      dir,
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    const m: RunManifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(m.format, 'descent-compare-run');
    assert.deepEqual([m.data, m.limit, m.testLimit, m.trainSamples, m.epochs, m.batchSize, m.seed], ['embedded', 200, 100, 200, 2, 64, 5]);
    assert.deepEqual(
      m.params.map((p) => [p.name, p.shape]),
      [
        ['0.weight', [256, 784]],
        ['0.bias', [256]],
        ['2.weight', [128, 256]],
        ['2.bias', [128]],
        ['4.weight', [10, 128]],
        ['4.bias', [10]],
      ],
    );
    assert.equal(statSync(join(dir, 'init/0.weight.f32')).size, 256 * 784 * 4);
    assert.deepEqual(
      m.optimizers.map((o) => o.key),
      ['sgd', 'adam'],
    );
    assert.equal(m.optimizers[0].hyper.lr, 0.1);
    assert.deepEqual(m.optimizers[1].hyper.betas, [0.9, 0.999]);
    const orders = m.order.map((e) => i32(join(dir, e.file)));
    for (const o of orders)
      assert.deepEqual(
        Array.from(o).sort((a, b) => a - b),
        Array.from({ length: 200 }, (_, i) => i),
      );
    assert.notDeepEqual(orders[0], orders[1], 'each epoch has its own order');
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    assert.deepEqual(
      results.results.map((x: { testAccuracy: number }) => x.testAccuracy),
      out.results.map((x: { testAccuracy: number }) => x.testAccuracy),
    );

    for (const [i, key] of ['sgd', 'adam'].entries()) {
      const again = replay(dir, m, key, orders);
      assert.equal(again.trainLoss, out.results[i].trainLoss, `${key}: train loss replayed from the files`);
      assert.equal(again.testAccuracy, out.results[i].testAccuracy, `${key}: test accuracy replayed from the files`);
    }
    // The replay notices the order: the same files with epoch 2's batches reversed give another loss.
    const reversed = [orders[0], orders[1].slice().reverse()];
    assert.notEqual(replay(dir, m, 'sgd', reversed).trainLoss, out.results[0].trainLoss);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--export-run errors name the option', async () => {
  const r = await cli('compare', '--model', 'cnn', '--export-run', join(tmpdir(), 'never-written'));
  assert.match(r.err, /--export-run: supports models mlp and logreg .* got --model cnn/);
});
