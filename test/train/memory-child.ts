/** Run by trainer.test.ts with --expose-gc: trains 10 epochs and prints retained MB after each. */
import { Rng } from '../../src/tensor/rng.js';
import { SGD } from '../../src/optim/sgd.js';
import { fit } from '../../src/train/trainer.js';
import { getModel } from '../../src/train/models.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadEmbedded } from '../../src/data/node.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const data = loadEmbedded();
const train = data.train.slice(0, 1000);
const rng = new Rng(1);
const model = getModel('mlp').build({ rng: rng.fork('model'), inputShape: train.shape, classes: 10 });
const optimizer = new SGD(model.namedParameters(), { lr: 0.05, momentum: 0.9 });
const loader = new DataLoader(train, { batchSize: 100, shuffle: true, rng: rng.fork('data'), flatten: true });
const mb: number[] = [];
fit({
  model,
  optimizer,
  train: loader,
  epochs: 10,
  rng,
  onEpoch: () => {
    gc();
    gc();
    const m = process.memoryUsage();
    mb.push((m.heapUsed + m.arrayBuffers) / 2 ** 20);
  },
});
console.log(JSON.stringify(mb));
