/**
 * The lab's training session on WebGPU (run by `npm run test:webgpu` on lavapipe):
 * TrainSession.nextOnDevice — the path the training view's worker takes when its backend is
 * webgpu — gives the host path's (next() on wasm) step records and epoch summaries within float32
 * noise, for the settings backend-choice.ts sends to the GPU, and backend-choice keeps the others
 * on the host with a reason.
 *
 * Tolerance 1e-5 (scaled by 1 + |value|) on losses, penalties and the summaries' norms, as in
 * train.test.ts (the same kernels, a few steps); accuracies and confusion counts are compared
 * exactly (an argmax flips only on a near tie, which these runs do not have).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrainSession, type EpochSummary, type StepRecord } from '../../../lab/src/train/session.js';
import { DEFAULTS, type TrainConfig } from '../../../lab/src/train/config.js';
import { gpuUnsupported } from '../../../lab/src/train/backend-choice.js';
import { data, TOL, useWasmAndWebGPU } from './setup.js';

const { train, test: testSet } = data;

useWasmAndWebGPU();

function near(what: string, got: number, want: number): void {
  const e = Math.abs(got - want) / (1 + Math.abs(want));
  assert.ok(e <= TOL, `${what}: ${got} on webgpu, ${want} on wasm (scaled difference ${e})`);
}

async function runAll(c: TrainConfig, onDevice: boolean): Promise<{ steps: StepRecord[]; epochs: EpochSummary[]; s: TrainSession }> {
  const s = new TrainSession(c, train, testSet);
  const steps: StepRecord[] = [];
  const epochs: EpochSummary[] = [];
  for (;;) {
    const r = onDevice ? await s.nextOnDevice('webgpu') : s.next();
    if (!r) break;
    steps.push(r.step);
    if (r.epoch) epochs.push(r.epoch);
  }
  return { steps, epochs, s };
}

const base: TrainConfig = { ...DEFAULTS, train: 96, test: 50, batch: 32, epochs: 2, hidden: 16, seed: 4, backend: 'webgpu' };
const configs: [string, TrainConfig][] = [
  ['MLP, SGD', { ...base, optimizer: 'sgd', lr: 0.1 }],
  ['MLP + dropout + L2 penalty, Adam', { ...base, optimizer: 'adam', lr: 3e-3, reg: 'dropout', p: 0.3, penalty: 'l2', lambda: 1e-3 }],
  ['CNN, Nesterov momentum', { ...base, arch: 'cnn', optimizer: 'nesterov', lr: 0.05, train: 64, epochs: 1 }],
  ['MLP, RMSprop', { ...base, optimizer: 'rmsprop', lr: 3e-3 }],
  ['MLP, Adagrad', { ...base, optimizer: 'adagrad', lr: 0.05 }],
  // a snapshot is taken on the host: the model comes back for it and returns to the GPU
  ['MLP, snapshot schedule (3 cycles), SGD with momentum', { ...base, optimizer: 'momentum', lr: 0.1, schedule: 'snapshot', cycles: 3 }],
];

for (const [name, c] of configs) {
  test(`lab session on webgpu equals the wasm session within float32 noise: ${name}`, async () => {
    assert.equal(gpuUnsupported(c), null);
    const host = await runAll(c, false);
    const dev = await runAll(c, true);
    assert.equal(dev.steps.length, host.steps.length);
    for (const [i, st] of dev.steps.entries()) {
      const h = host.steps[i];
      assert.deepEqual({ ...st, loss: 0, penalty: 0 }, { ...h, loss: 0, penalty: 0 }, `step ${i + 1}`);
      near(`step ${i + 1} loss`, st.loss, h.loss);
      near(`step ${i + 1} penalty`, st.penalty, h.penalty);
    }
    assert.equal(dev.epochs.length, c.epochs);
    for (const [i, e] of dev.epochs.entries()) {
      const h = host.epochs[i];
      near(`epoch ${i + 1} train loss`, e.trainLoss, h.trainLoss);
      near(`epoch ${i + 1} test loss`, e.testLoss, h.testLoss);
      assert.equal(e.trainAccuracy, h.trainAccuracy);
      assert.equal(e.testAccuracy, h.testAccuracy);
      assert.deepEqual(e.confusion, h.confusion);
      for (const [j, n] of e.norms.entries()) {
        near(`epoch ${i + 1} ${n.name} weight norm`, n.weight, h.norms[j].weight);
        near(`epoch ${i + 1} ${n.name} gradient norm`, n.grad, h.norms[j].grad);
      }
    }
    assert.deepEqual(dev.s.snapshots?.at, host.s.snapshots?.at);
    for (const [k, snap] of (dev.s.snapshots?.snapshots ?? []).entries())
      for (const [name, v] of snap)
        v.forEach((x, j) => near(`snapshot ${k + 1} ${name}[${j}]`, x, host.s.snapshots!.snapshots[k].get(name)![j]));
    // the model is back on the host after the last epoch, for the page's mistakes and landscape
    assert.equal(dev.s.model.parameters()[0].device, 'cpu');
    assert.deepEqual(
      dev.s.worstMistakes(4).map((m) => m.index),
      host.s.worstMistakes(4).map((m) => m.index),
    );
  });
}

test('backend-choice keeps on the host what the GPU path cannot train, and says why', () => {
  // every lab optimizer but L-BFGS (full batch) has a fused update; one without, if the list grows, is kept on the host
  assert.match(
    gpuUnsupported({ ...base, optimizer: 'lion' as never }) ?? '',
    /^lion has no fused update on the GPU \(.*rmsprop and adagrad have\)$/,
  );
  assert.match(gpuUnsupported({ ...base, optimizer: 'lbfgs' }) ?? '', /full-batch step/);
  assert.match(gpuUnsupported({ ...base, batch: 96 }) ?? '', /full-batch step/);
  assert.match(gpuUnsupported({ ...base, reg: 'dropconnect' }) ?? '', /DropConnect/);
  assert.match(gpuUnsupported({ ...base, arch: 'cnn', pool: 'fmp' }) ?? '', /fractional max pooling/);
  for (const optimizer of ['sgd', 'momentum', 'nesterov', 'adam', 'rmsprop', 'adagrad'] as const)
    assert.equal(gpuUnsupported({ ...base, optimizer }), null, optimizer);
});
