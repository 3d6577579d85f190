/**
 * descent train's device path (src/cli/commands/train.ts: the model moved to the device, trained by
 * fitAsync, moved back for saving), run in-process on the emulated device against the host path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../src/cli/args.js';
import { runTrain, trainCommand } from '../../src/cli/commands/train.js';
import { deviceRefusal, selectTrainBackend } from '../../src/cli/backend.js';
import '../../src/cli/ext/regularize.js'; // the --l1/--l2 flags
import type { Io } from '../../src/cli/command.js';
import { backend } from '../../src/index.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';

registerEmulatedDevice();

function io(lines: string[]): Io {
  return { out: (s) => void lines.push(s), err: (s) => void lines.push(s), tty: false, raw: () => {} };
}

const args = ['--data', 'embedded', '--limit', '256', '--test-limit', '128', '--batch-size', '64', '--epochs', '2', '--model', 'mlp'];

test('descent train on a device backend: the records of the host run, the backend named in the output', async () => {
  const hostLines: string[] = [];
  const host = await runTrain(parseArgs([...args, '--backend', 'wasm'], trainCommand.options, 'train'), io(hostLines));
  const devLines: string[] = [];
  const reads = counters.reads;
  const dev = await runTrain(
    { ...parseArgs([...args, '--backend', 'wasm'], trainCommand.options, 'train'), backend: DEVICE },
    io(devLines),
  );
  assert.ok(counters.reads > reads, 'the device run read its losses back');
  assert.equal(backend().name, 'wasm', 'the host backend stays current');
  assert.match(devLines.join('\n'), new RegExp(`backend ${DEVICE}\\b`));
  assert.match(hostLines.join('\n'), /backend wasm\b/);
  // the device runs the reference kernels and the host wasm's: the same curve within float32 noise
  assert.equal(dev.records.length, 2);
  for (const [i, r] of dev.records.entries()) {
    assert.ok(
      Math.abs(r.trainLoss - host.records[i].trainLoss) < 1e-4,
      `epoch ${i + 1} train loss ${r.trainLoss} vs ${host.records[i].trainLoss}`,
    );
    assert.ok(Math.abs((r.testLoss as number) - (host.records[i].testLoss as number)) < 1e-4);
  }
  // the model came back to the host (for --save)
  assert.equal(dev.model.parameters()[0].device, 'cpu');
});

test('--backend auto is wasm where WebGPU does not start; --backend webgpu says why it cannot run', async () => {
  const auto = await selectTrainBackend('auto');
  if (auto.device === null)
    assert.deepEqual(
      { ...auto, label: undefined, release: undefined },
      { host: 'wasm', device: null, runs: 'wasm', label: undefined, release: undefined },
    );
  else assert.equal(auto.runs, 'webgpu');
  // no adapter at all (not a software one, which auto passes over but --backend webgpu takes)
  if (auto.label === 'wasm (auto: no WebGPU adapter)')
    await assert.rejects(() => selectTrainBackend('webgpu'), /^UsageError: --backend webgpu: /);
});

test('runs a device cannot take: --backend auto keeps them on wasm, --backend webgpu names the reason', async () => {
  const parsed = (...extra: string[]) => parseArgs([...args, ...extra], trainCommand.options, 'train');
  assert.equal(deviceRefusal(parsed('--optimizer', 'adamw'), false), null);
  assert.equal(deviceRefusal(parsed('--optimizer', 'sgd', '--momentum', '0.9'), false), null);
  assert.equal(deviceRefusal(parsed(), true), 'resuming');
  for (const o of ['rmsprop', 'adagrad', 'adadelta']) assert.equal(deviceRefusal(parsed('--optimizer', o), false), null, o);
  assert.equal(deviceRefusal(parsed('--optimizer', 'lion'), false), '--optimizer lion');
  assert.equal(
    deviceRefusal(parsed('--l1', '1e-4', '--l1-proximal', '--l2', '0.001', '--max-norm', '3', '--decoupled-decay', '0.01'), false),
    null,
  );
  assert.equal(deviceRefusal(parsed('--dropconnect', '0.5'), false), '--dropconnect');
  assert.equal(deviceRefusal(parsed('--on-nan', 'skip'), false), '--on-nan skip');
  await assert.rejects(
    () => runTrain(parsed('--backend', 'webgpu', '--optimizer', 'lion'), io([])),
    /^UsageError: --backend webgpu: --optimizer lion runs on the host \(it reads values inside a step\); use --backend wasm$/,
  );
  const { label, release: _, ...kept } = await selectTrainBackend('auto', '--optimizer lion');
  assert.deepEqual(kept, { host: 'wasm', device: null, runs: 'wasm' });
  assert.equal(label, 'wasm (auto: --optimizer lion runs on the host)');
});

test("descent train with penalties and constraints on a device: the host run's records, terms and fractions", async () => {
  const flags = [
    ...args,
    '--l1',
    '0.05',
    '--l1-proximal',
    '--l2',
    '1e-3',
    '--max-norm',
    '2',
    '--decoupled-decay',
    '0.01',
    '--backend',
    'wasm',
  ];
  const host = await runTrain(parseArgs(flags, trainCommand.options, 'train'), io([]));
  const devLines: string[] = [];
  const dev = await runTrain({ ...parseArgs(flags, trainCommand.options, 'train'), backend: DEVICE }, io(devLines));
  assert.match(devLines.join('\n'), new RegExp(`backend ${DEVICE}\\b`));
  assert.match(devLines.join('\n'), /near-zero 0\.\d{4} {2}zeros 0\.\d{4}/);
  assert.equal(dev.records.length, 2);
  for (const [i, r] of dev.records.entries()) {
    const h = host.records[i];
    assert.ok(Math.abs(r.trainLoss - h.trainLoss) < 1e-4, `epoch ${i + 1} train loss ${r.trainLoss} vs ${h.trainLoss}`);
    for (const k of ['l1', 'l2'])
      assert.ok(Math.abs(r.terms[k] - h.terms[k]) < 1e-4 * (1 + h.terms[k]), `epoch ${i + 1} ${k}: ${r.terms[k]} vs ${h.terms[k]}`);
    for (const k of ['nearZero', 'zeros'])
      assert.ok(Math.abs((r[k] as number) - (h[k] as number)) < 1e-3, `epoch ${i + 1} ${k}: ${r[k]} vs ${h[k]}`);
  }
  // decoupled decay, applied after the thresholding, moves the zeros off 0; near-zero counts them
  assert.ok((host.records[1].nearZero as number) > 0.01, 'soft-thresholding brought weights near zero');
});
