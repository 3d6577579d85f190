/**
 * BatchNorm through the CLI: a spec with batchnorm layers trains, its running statistics are saved
 * with the weights (safetensors under PyTorch's names, JSON) and used by eval; SWA's saved average
 * gets statistics recomputed for the averaged weights (PyTorch's update_bn); a batch size that
 * leaves one example in the last batch is refused before training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { tempDir } from '../tmp-dir.js';
import * as d from '../../src/node.js';

const tmp = () => tempDir('descent-bn-');
const SPEC = 'conv:4:3:pad=1,batchnorm,relu,maxpool:2,flatten,linear:16,batchnorm,relu,linear';
const tiny = ['--data', 'embedded', '--limit', '300', '--test-limit', '200', '--batch-size', '50', '--model', SPEC, '--seed', '2'];

test('a BatchNorm model saves its running statistics (safetensors under PyTorch names, JSON) and eval reproduces the final test loss from them', async () => {
  const dir = tmp();
  for (const file of ['m.safetensors', 'm.json']) {
    const path = join(dir, file);
    const r = await cli('train', ...tiny, '--epochs', '2', '--optimizer', 'adam', '--lr', '0.01', '--save', path);
    assert.equal(r.code, 0, r.err);
    const trained = /epoch 2\/2 .*test loss (\S+)/.exec(r.out)![1];
    const e = await cli('eval', '--weights', path, '--data', 'embedded', '--test-limit', '200');
    assert.equal(e.code, 0, e.err);
    assert.equal(/test loss (\S+)/.exec(e.out)![1], trained, `${file}: eval's test loss`);
    if (file.endsWith('.safetensors')) {
      const st = d.decodeSafetensors(readFileSync(path));
      for (const n of ['1.running_mean', '1.running_var', '1.num_batches_tracked', '6.running_mean', '6.weight'])
        assert.ok(st.tensors.has(n), `${n} in the file`);
      // 2 epochs of 6 batches
      assert.deepEqual(Array.from(st.tensors.get('1.num_batches_tracked')!.data as Float32Array), [12]);
    }
  }
});

test("--swa with --save-average: the average's BatchNorm statistics are recomputed for the averaged weights over the training batches", async () => {
  const dir = tmp();
  const avg = join(dir, 'avg.json'),
    fin = join(dir, 'final.json');
  const r = await cli(
    'train',
    ...tiny,
    '--epochs',
    '3',
    '--optimizer',
    'sgd',
    '--lr',
    '0.05',
    '--swa',
    '2',
    '--save',
    fin,
    '--save-average',
    avg,
  );
  assert.equal(r.code, 0, r.err);
  const a = JSON.parse(readFileSync(avg, 'utf8')).state,
    f = JSON.parse(readFileSync(fin, 'utf8')).state;
  // the same statistics by the library: the averaged parameters in a model, update_bn over the same 6 batches in order
  const model = d.resolveModel(SPEC).build({ rng: new d.Rng(0), inputShape: [1, 28, 28], classes: 10 });
  const params = Object.fromEntries(model.namedParameters().map(([n]) => [n, a[n]]));
  model.loadStateDict({ ...model.stateDict(), ...params });
  const { train } = d.loadEmbedded();
  d.updateBatchNorm(model, new d.DataLoader(train.slice(0, 300), { batchSize: 50 }).epoch(0), { rng: new d.Rng(0) });
  const sd = model.stateDict();
  for (const n of ['1.running_mean', '1.running_var', '6.running_mean', '6.running_var']) {
    assert.deepEqual(a[n].data, sd[n].data, n);
    assert.notDeepEqual(a[n].data, f[n].data, `${n} differs from the final weights' statistics`);
  }
  assert.deepEqual(a['1.num_batches_tracked'].data, [6]);
  assert.match(r.out, /SWA from epoch 2: test accuracy \d\.\d{4} \(final weights \d\.\d{4}, 2 samples\)/);
});

test('a batch size that leaves a last batch of one example is refused before training when the model has BatchNorm', async () => {
  const r = await cli(
    'train',
    '--data',
    'embedded',
    '--limit',
    '101',
    '--batch-size',
    '50',
    '--model',
    'linear:8,batchnorm,relu,linear',
    '--epochs',
    '1',
  );
  assert.equal(r.code, 2);
  assert.equal(
    r.err,
    'descent train: --batch-size 50 leaves a last batch of 1 of the 101 training examples, and BatchNorm cannot train on one example; give another batch size (e.g. --batch-size 51)',
  );
  // the same sizes without BatchNorm train
  const ok = await cli(
    'train',
    '--data',
    'embedded',
    '--limit',
    '101',
    '--test-limit',
    '50',
    '--batch-size',
    '50',
    '--model',
    'linear:8,relu,linear',
    '--epochs',
    '1',
  );
  assert.equal(ok.code, 0, ok.err);
});

test('Schedule-Free with BatchNorm: the run evaluates, checkpoints and saves x with running statistics recomputed at x over the training batches', async () => {
  const dir = tmp();
  const save = join(dir, 'sf.json'),
    ck = join(dir, 'ck');
  const r = await cli(
    'train',
    ...tiny,
    '--epochs',
    '2',
    '--optimizer',
    'schedule-free-adamw',
    '--lr',
    '0.01',
    '--save',
    save,
    '--checkpoint-dir',
    ck,
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(readFileSync(save, 'utf8')).state;
  // the same statistics by the library: the saved x in a model, update_bn over the 6 training batches in order
  const model = d.resolveModel(SPEC).build({ rng: new d.Rng(0), inputShape: [1, 28, 28], classes: 10 });
  const params = Object.fromEntries(model.namedParameters().map(([n]) => [n, s[n]]));
  model.loadStateDict({ ...model.stateDict(), ...params });
  const { train } = d.loadEmbedded();
  d.updateBatchNorm(model, new d.DataLoader(train.slice(0, 300), { batchSize: 50 }).epoch(0), {
    rng: new d.Rng(2).fork('train').fork('update-bn'),
  });
  const sd = model.stateDict();
  // the checkpoint's model is y with the statistics gathered while training
  const y = d.loadLatestCheckpoint(ck).checkpoint.model;
  for (const n of ['1.running_mean', '1.running_var', '6.running_mean', '6.running_var']) {
    assert.deepEqual(s[n].data, sd[n].data, n);
    assert.notDeepEqual(Array.from(y[n].data), s[n].data, `${n} differs from the statistics of the y iterates`);
  }
  assert.deepEqual(s['1.num_batches_tracked'].data, [6]);
  // eval of the saved file and of the checkpoint folder reproduces the run's last evaluation
  const last = JSON.parse(r.out.trim().split('\n').at(-1)!);
  for (const weights of [save, ck]) {
    const e = await cli('eval', '--weights', weights, '--data', 'embedded', '--test-limit', '200', '--json');
    assert.equal(e.code, 0, e.err);
    assert.equal(JSON.parse(e.out).loss, last.testLoss, `${weights}: the loss of the run's last evaluation`);
  }
});
