/**
 * descent train's device path (src/cli/commands/train.ts: the model moved to the device, trained by
 * fitAsync, moved back for saving), run in-process on the emulated device against the host path;
 * a run checkpointed every few steps and resumed on the device equals the uninterrupted run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from '../../src/cli/args.js';
import { runTrain, trainCommand } from '../../src/cli/commands/train.js';
import { deviceRefusal, selectTrainBackend } from '../../src/cli/backend.js';
import '../../src/cli/ext/regularize.js'; // the --l1/--l2 flags
import '../../src/cli/ext/ensemble.js'; // --swa, --ema, --snapshots
import '../../src/cli/ext/save-best.js'; // --save-best
import type { Io } from '../../src/cli/command.js';
import { backend } from '../../src/index.js';
import { readCheckpoint } from '../../src/io/checkpoints.js';
import { counters, DEVICE, registerEmulatedDevice } from './emulated-device.js';
import { tempDir } from '../tmp-dir.js';

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

test("descent train --label-smoothing --class-weights on a device backend: the host run's records, the loss composed on the device", async () => {
  const flags = [...args, '--label-smoothing', '0.1', '--class-weights', 'balanced', '--backend', 'wasm'];
  const host = await runTrain(parseArgs(flags, trainCommand.options, 'train'), io([]));
  const dev = await runTrain({ ...parseArgs(flags, trainCommand.options, 'train'), backend: DEVICE }, io([]));
  const plain = await runTrain(parseArgs([...args, '--backend', 'wasm'], trainCommand.options, 'train'), io([]));
  for (const [i, r] of dev.records.entries()) {
    assert.ok(
      Math.abs(r.trainLoss - host.records[i].trainLoss) < 1e-4,
      `epoch ${i + 1} train loss ${r.trainLoss} vs ${host.records[i].trainLoss}`,
    );
    assert.ok(Math.abs((r.testLoss as number) - (host.records[i].testLoss as number)) < 1e-4);
    assert.ok(Math.abs(r.trainLoss - plain.records[i].trainLoss) > 1e-3, 'the options change the loss');
  }
});

test('descent train --save-best on a device backend: the epochs the host run saves, the weights read back within float32 noise', async () => {
  const dir = tempDir('descent-save-best-device-');
  const run = async (where: string) => {
    const file = join(dir, `${where}.json`);
    const flags = ['--epochs', '4', '--optimizer', 'sgd', '--lr', '0.2', '--momentum', '0.9', '--save-best', file, '--backend', 'wasm'];
    const o = parseArgs([...args.slice(0, -4), '--model', 'mlp', ...flags], trainCommand.options, 'train');
    const r = await runTrain(where === 'host' ? o : { ...o, backend: DEVICE }, io([]));
    const state = JSON.parse(readFileSync(file, 'utf8')).state as Record<string, { data: number[] }>;
    return { saves: r.records.filter((x) => x.savedBest === true).map((x) => x.epoch), state };
  };
  const host = await run('host');
  assert.ok(host.saves.length > 1 && host.saves.length < 4, `saves at some epochs only (${host.saves.join(', ')})`);
  const dev = await run('device');
  assert.deepEqual(dev.saves, host.saves);
  for (const [name, e] of Object.entries(host.state))
    e.data.forEach((v, j) => assert.ok(Math.abs(dev.state[name].data[j] - v) < 1e-4 * (1 + Math.abs(v)), `${name}[${j}]`));
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
  assert.equal(deviceRefusal(parsed('--optimizer', 'adamw')), null);
  assert.equal(deviceRefusal(parsed('--optimizer', 'sgd', '--momentum', '0.9')), null);
  // fitAsync resumes, checkpoints mid-epoch and skips non-finite steps
  assert.equal(deviceRefusal(parsed('--on-nan', 'skip', '--checkpoint-dir', 'ck', '--checkpoint-every', '10steps')), null);
  for (const o of ['rmsprop', 'adagrad', 'adadelta']) assert.equal(deviceRefusal(parsed('--optimizer', o)), null, o);
  assert.equal(deviceRefusal(parsed('--optimizer', 'lion')), '--optimizer lion');
  // an explicit --backend webgpu takes the rule-based optimizers whose rule then runs on the host; auto does not, nor the wrappers
  for (const o of ['lion', 'muon', 'soap', 'nadam']) assert.equal(deviceRefusal(parsed('--optimizer', o), true), null, o);
  for (const o of ['sam', 'lookahead', 'prodigy', 'schedule-free-adamw'])
    assert.equal(deviceRefusal(parsed('--optimizer', o), true), `--optimizer ${o}`, o);
  // penalties and constraints run on the device (src/regularize/device.ts)
  assert.equal(
    deviceRefusal(parsed('--l1', '1e-4', '--l1-proximal', '--l2', '0.001', '--max-norm', '3', '--decoupled-decay', '0.01')),
    null,
  );
  assert.equal(deviceRefusal(parsed('--dropconnect', '0.5')), '--dropconnect');
  // recurrent layers, conv1d, embeddings and attention run on the device
  for (const m of [
    'lstm:8,linear',
    'gru:8:bidirectional=true,linear',
    'rnn:8,linear',
    'embedding:20:4,lstm:8,linear',
    'conv1d:4:3,relu,flatten,linear',
    'embedding:20:4,flatten,linear',
    'embedding:20:8,posembed,transformer:2,seqmean,linear',
  ])
    assert.equal(deviceRefusal({ ...parsed(), model: m }), null, m);
  // read from the model's layers, not its name: aliases, a residual block's body, a .json file
  for (const m of ['fractionalmaxpool2d,flatten,linear', 'linear:8,res[dropconnect:8:0.5,relu],linear', 'fmp'])
    assert.equal(deviceRefusal({ ...parsed(), model: m }), `--model ${m}`, m);
  const dir = tempDir('descent-refusal-');
  const hostOnly = join(dir, 'model.json'),
    plain = join(dir, 'plain.json');
  writeFileSync(hostOnly, JSON.stringify([{ type: 'dropconnect', out: 8 }, { type: 'linear' }]));
  writeFileSync(plain, JSON.stringify([{ type: 'linear', out: 8 }, { type: 'relu' }, { type: 'linear' }]));
  assert.equal(deviceRefusal({ ...parsed(), model: hostOnly }), `--model ${hostOnly}`);
  assert.equal(deviceRefusal({ ...parsed(), model: plain }), null);
  assert.equal(deviceRefusal(parsed('--full-batch')), '--full-batch');
  // weight averages and snapshots sample inside the step, on the device (src/ensemble/device.ts)
  for (const f of [
    ['--swa', '2'],
    ['--ema', '0.9'],
    ['--snapshots', '2'],
  ])
    assert.equal(deviceRefusal(parsed(...f)), null, f[0]);
  await assert.rejects(
    () => runTrain(parsed('--backend', 'webgpu', '--optimizer', 'sam'), io([])),
    /^UsageError: --backend webgpu: --optimizer sam runs on the host \(it reads values inside a step\); use --backend wasm$/,
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

test("descent train on a device: --checkpoint-every 3steps, stopped after a mid-epoch checkpoint and --resume d, prints the uninterrupted run's lines and saves its weights", async () => {
  const dir = tempDir('descent-device-ckpt-');
  const base = [
    ...args.filter((a, i) => a !== '--epochs' && args[i - 1] !== '--epochs'),
    '--epochs',
    '3',
    '--dropout',
    '0.25',
    '--augment',
    'flip,crop:2',
  ];
  const ck = join(dir, 'ck');
  const fullLines: string[] = [];
  await trainCommand.run(
    {
      ...parseArgs(
        [...base, '--checkpoint-dir', ck, '--checkpoint-every', '3steps', '--save', join(dir, 'full.json')],
        trainCommand.options,
        'train',
      ),
      backend: DEVICE,
    },
    io(fullLines),
  );
  const names = readdirSync(ck)
    .filter((n) => n.endsWith('.dckpt'))
    .sort();
  // 4 batches per epoch: steps 3, 6, 9 mid-epoch and 12 at the end
  assert.deepEqual(
    names,
    [3, 6, 9, 12].map((k) => `ckpt-${String(k).padStart(12, '0')}.dckpt`),
  );
  // a run stopped right after step 6 (epoch 2, batch 2) leaves the checkpoints up to it
  const stopped = join(dir, 'stopped');
  mkdirSync(stopped);
  for (const n of names.slice(0, 2)) copyFileSync(join(ck, n), join(stopped, n));
  const lines: string[] = [];
  const reads = counters.reads;
  await trainCommand.run(parseArgs(['--resume', stopped, '--save', join(dir, 'resumed.json')], trainCommand.options, 'train'), io(lines));
  assert.ok(counters.reads > reads, 'the resumed run trained on the device');
  assert.equal(lines[0], `resuming from ${stopped}/${names[1]}: epoch 2, batch 2, step 6; training to epoch 3`);
  // the same lines from the model line on, the clock's figures aside
  const clockless = (l: string) => l.replace(/[\d.,]+ ?(s\b|samples\/s)/g, '#$1').replace(/saved weights to .*/, 'saved weights');
  const from = (ls: string[]) => ls.slice(ls.findIndex((l) => l.startsWith('model: '))).map(clockless);
  const epochLines = from(fullLines).filter((l) => !/^epoch 1\//.test(l));
  assert.deepEqual(from(lines), epochLines);
  assert.match(lines.join('\n'), new RegExp(`backend ${DEVICE}\\b`));
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'resumed.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'full.json'), 'utf8')));
  // and the resumed run wrote the uninterrupted run's later checkpoints (the clock's figures aside)
  const state = (path: string) => {
    const { model, optimizer, rng, step, epoch, batch, divergence, partial } = readCheckpoint(path);
    return { model, optimizer, rng, step, epoch, batch, divergence, seen: partial.seen, lossSum: partial.lossSum };
  };
  for (const n of names.slice(2)) assert.deepEqual(state(join(stopped, n)), state(join(ck, n)), n);
});

for (const [what, extra, expect] of [
  [
    '--snapshots 2 --swa 2 --ema 0.9',
    ['--snapshots', '2', '--swa', '2', '--ema', '0.9'],
    [
      /SWA from epoch 2: test accuracy 0\.\d{4} \(final weights 0\.\d{4}, 1 samples\)/,
      /EMA β=0\.9: test accuracy 0\.\d{4} \(final weights 0\.\d{4}, 8 samples\)/,
      /snapshot ensemble of 2 \(seed \d+\)/,
    ],
  ],
  [
    '--ensemble 2 --ema 0.9',
    ['--ensemble', '2', '--ema', '0.9'],
    [/— member 2\/2, seed 2 —/, /EMA β=0\.9 \(seed 2\)/, /ensemble of 2 \(seeds 1, 2\)/],
  ],
] as const)
  test(`descent train ${what} on a device: the reference run's records and reports (members, ensemble, averages)`, async () => {
    const flags = [...args, ...extra, '--optimizer', 'sgd', '--lr', '0.1'];
    const hostLines: string[] = [];
    await trainCommand.run(parseArgs([...flags, '--backend', 'reference'], trainCommand.options, 'train'), io(hostLines));
    const devLines: string[] = [];
    const reads = counters.reads;
    await trainCommand.run({ ...parseArgs(flags, trainCommand.options, 'train'), backend: DEVICE }, io(devLines));
    assert.ok(counters.reads > reads, 'the run trained on the device');
    assert.match(devLines.join('\n'), new RegExp(`backend ${DEVICE}\\b`));
    // the device runs the reference kernels: the same epochs, snapshot members, ensemble and averages
    // (the averages are float32 on the device, float64 on the host: equal here to the printed digits)
    const clockless = (l: string) => l.replace(/[\d.,]+ ?(s\b|samples\/s)/g, '#$1').replace(/backend \S+/, 'backend');
    const from = (ls: string[]) => ls.filter((l) => !l.startsWith('data: ')).map(clockless);
    assert.deepEqual(from(devLines), from(hostLines));
    for (const re of expect) assert.match(devLines.join('\n'), re);
  });
