import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/tensor/rng.js';
import { SGD } from '../../src/optim/sgd.js';
import { fit, evaluate, TrainingError } from '../../src/train/trainer.js';
import { getModel } from '../../src/train/models.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadEmbedded } from '../../src/data/node.js';

const data = loadEmbedded();
const train = data.train.slice(0, 600);
const test_ = data.test.slice(0, 300);

function run(seed: number) {
  const rng = new Rng(seed);
  const model = getModel('mlp').build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10 });
  const optimizer = new SGD(model.namedParameters(), { lr: 0.1, momentum: 0.9 });
  const loader = new DataLoader(train, { batchSize: 64, shuffle: true, rng: rng.fork('data'), flatten: true });
  const records = fit({
    model,
    optimizer,
    train: loader,
    test: new DataLoader(test_, { batchSize: 100, flatten: true }),
    epochs: 2,
    rng: rng.fork('train'),
  });
  return { model, records };
}

test('two runs with the same seed give bit-identical weights; another seed does not', () => {
  const a = run(7),
    b = run(7),
    c = run(8);
  const pa = a.model.namedParameters(),
    pb = b.model.namedParameters(),
    pc = c.model.namedParameters();
  let differs = false;
  for (let i = 0; i < pa.length; i++) {
    assert.equal(pa[i][0], pb[i][0]);
    assert.deepEqual(
      Buffer.from(pa[i][1].data.buffer),
      Buffer.from(pb[i][1].data.buffer),
      `parameter ${pa[i][0]} differs between identical seeds`,
    );
    if (!Buffer.from(pa[i][1].data.buffer).equals(Buffer.from(pc[i][1].data.buffer))) differs = true;
  }
  assert.ok(differs, 'a different seed must give different weights');
  assert.deepEqual(
    a.records.map((r) => r.trainLoss),
    b.records.map((r) => r.trainLoss),
  );
});

test('training lowers the loss and beats chance on real images', () => {
  const { model, records } = run(3);
  assert.ok(records[1].trainLoss < records[0].trainLoss, `loss ${records[0].trainLoss} → ${records[1].trainLoss}`);
  const ev = evaluate(model, new DataLoader(test_, { batchSize: 100, flatten: true }));
  assert.ok(ev.testAccuracy > 0.3, `accuracy ${ev.testAccuracy} is not above 3× chance`);
  assert.equal(ev.testAccuracy, records[1].testAccuracy);
});

test('a diverging run stops with a message naming the learning rate', () => {
  const rng = new Rng(1);
  const model = getModel('mlp').build({ rng, inputShape: train.shape, classes: 10 });
  const optimizer = new SGD(model.namedParameters(), { lr: 1e6 });
  const loader = new DataLoader(train, { batchSize: 64, flatten: true, rng });
  assert.throws(
    () => fit({ model, optimizer, train: loader, epochs: 3, rng }),
    (e: unknown) => {
      assert.ok(e instanceof TrainingError);
      assert.match(
        e.message,
        /^the loss became \S+, over 10000× the first step's loss 2\.\d+ \(diverging\) at epoch 1, step \d+ \(learning rate 1000000\); last good checkpoint: none$/,
      );
      assert.equal(e.details.reason, 'exploded');
      assert.equal(e.epoch, 1);
      assert.equal(e.lr, 1e6);
      return true;
    },
  );
});

test('with the explosion rule off, the same run stops at the first non-finite loss, naming epoch and step', () => {
  const rng = new Rng(1);
  const model = getModel('mlp').build({ rng, inputShape: train.shape, classes: 10 });
  const optimizer = new SGD(model.namedParameters(), { lr: 1e6 });
  const loader = new DataLoader(train, { batchSize: 64, flatten: true, rng });
  assert.throws(
    () => fit({ model, optimizer, train: loader, epochs: 3, rng, divergence: false }),
    (e: unknown) => {
      assert.ok(e instanceof TrainingError);
      assert.match(
        e.message,
        /^the loss became (NaN|Infinity) at epoch \d, step \d+ \(learning rate 1000000\); last good checkpoint: none$/,
      );
      assert.equal(e.details.reason, 'non-finite loss');
      return true;
    },
  );
});

test('memory stays flat from epoch 2 to epoch 10 without dispose()', () => {
  const child = fileURLToPath(new URL('./memory-child.js', import.meta.url));
  const r = spawnSync(process.execPath, ['--expose-gc', child], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const mb: number[] = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  assert.equal(mb.length, 10);
  // Retained memory (heap + typed-array buffers after a full GC) at the end of epochs 2..10.
  const growth = mb[9] - mb[1];
  assert.ok(Math.abs(growth) < 3, `memory grew by ${growth.toFixed(2)} MB from epoch 2 to 10: ${mb.map((m) => m.toFixed(1)).join(', ')}`);
});
