/**
 * descent compare: train the same model from the same initial weights on the same batch order with
 * each optimizer, and print final train loss, test accuracy and time.
 *
 * Each run is `descent train` (runTrain) with the same seed: the model's initial weights come from
 * rng.fork('model') and the batch order from rng.fork('data'), both independent of the optimizer, so
 * only the update rule differs between rows.
 *
 * `--export-run DIR` writes what the runs used, so that tools/compare_torch.py --from DIR can train
 * PyTorch from the very same start (not merely the same seed, which means different numbers there):
 *
 *   DIR/manifest.json        model, data, epochs, batch size, seed, the files below, and each
 *                            optimizer's full hyper-parameters (the values its param group held)
 *   DIR/init/<param>.f32     initial weights, one file per parameter in PyTorch's layout and
 *                            naming (Linear weight [out, in], "0.weight"), raw little-endian float32
 *   DIR/order/epoch-<e>.i32  the sample order of epoch e (1-based), little-endian int32; batch b is
 *                            positions [b·B, (b+1)·B) of it, the last batch possibly shorter
 *   DIR/results.json         descent's rows (final train loss, test accuracy, time, per-epoch records)
 *
 * The weights and order are captured from the runs themselves (at the start of training and from the
 * loader), and every run is checked to have started from the same weights and order as the first.
 *
 * DIR must be new or an empty folder (its parent is checked before training). The files are written
 * into a fresh temporary folder beside DIR once every run has finished, which is then renamed to DIR:
 * DIR either holds a complete export or does not exist (an interrupted export never appears there).
 */
import { isCorpus } from '../lm.js';
import { SEED_MAX } from '../../tensor/rng.js';
import { MAX_EPOCHS, resolveName } from '../train-checks.js';
import { models } from '../../train/models.js';
import { clip, didYouMean } from '../../util/names.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Callback, EpochRecord } from '../../train/trainer.js';
import { FASHION_MNIST_SEARCH_PATH } from '../../data/node.js';
import { checkNewDir, writeDirAtomic } from '../../io/files.js';
import type { Command, Io } from '../command.js';
import { UsageError, parseArgs, type OptSpec, type Parsed } from '../args.js';
import { getOptimizer, optimizerNames } from '../../optim/registry.js';
import { backendOption } from '../backend.js';
import { dataOption } from '../data.js';
import { runTrain, trainCommand } from './train.js';

/** Learning rates (and momenta) per optimizer for `--lr-table tuned` (the lecture's seven optimizers, plus gd). */
export const TUNED: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  sgd: { lr: 0.1 },
  gd: { lr: 0.1 },
  momentum: { lr: 0.05, momentum: 0.9 },
  nesterov: { lr: 0.05, momentum: 0.9 },
  adagrad: { lr: 0.05 },
  rmsprop: { lr: 1e-3 },
  adadelta: { lr: 1.0 },
  adam: { lr: 1e-3 },
  adamw: { lr: 1e-3 },
  adamax: { lr: 2e-3 },
  nadam: { lr: 2e-3 },
  radam: { lr: 1e-3 },
  lion: { lr: 1e-4 },
  // the wrappers over their default base (sgd) with momentum's settings; WRAPPER:BASE takes the base's row
  sam: { lr: 0.05, momentum: 0.9 },
  asam: { lr: 0.05, momentum: 0.9 },
  lookahead: { lr: 0.1, momentum: 0.9 },
  'schedule-free-sgd': { lr: 1 },
  'schedule-free-adamw': { lr: 5e-3 },
  // the references' recommended values, not swept here: Muon's lr is for its hidden matrices (its
  // AdamW groups take --adam-lr, 3e-4); Prodigy and D-Adaptation estimate the step and take lr 1
  muon: { lr: 0.02 },
  adan: { lr: 1e-3 },
  prodigy: { lr: 1 },
  dadaptadam: { lr: 1 },
  soap: { lr: 3e-3 },
};

/** The tuned row of `key`, or of the base of a `WRAPPER:BASE` key. */
function tunedRow(key: string): Readonly<Record<string, number>> {
  return TUNED[key] ?? TUNED[key.split(':')[1] ?? ''] ?? {};
}

export const LECTURE_OPTIMIZERS = 'sgd,momentum,nesterov,adagrad,rmsprop,adadelta,adam';

export interface CompareRow {
  optimizer: string;
  options: Record<string, unknown>;
  trainLoss: number;
  testAccuracy: number;
  seconds: number;
}

/** What `--export-run` writes to manifest.json (see the header). */
export interface RunManifest {
  format: 'descent-compare-run';
  version: 1;
  model: string;
  /** IDX directory of Fashion-MNIST, or "embedded" (the packaged subset, not readable by the script). */
  data: string;
  /** Pixels as float32 x / 255 (PyTorch: tensor.float() / 255). */
  scaling: 'x/255';
  limit: number | null;
  testLimit: number | null;
  trainSamples: number;
  epochs: number;
  batchSize: number;
  seed: number;
  backend: string;
  params: { name: string; shape: number[]; file: string; dtype: 'float32' }[];
  order: { epoch: number; file: string; dtype: 'int32'; length: number }[];
  optimizers: { key: string; name: string; hyper: Record<string, unknown> }[];
  results: 'results.json';
}

interface Captured {
  params: [string, Float32Array, number[]][];
  orders: Int32Array[];
}

/** A training callback that copies the parameters and hyper-parameters as training begins. */
function captureStart(into: { params?: [string, Float32Array, number[]][]; hyper?: Record<string, unknown> }): Callback {
  return {
    onTrainBegin(s) {
      into.params = s.model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.data), [...p.shape]]);
      const { params: _params, ...hyper } = s.optimizer.paramGroups[0];
      into.hyper = JSON.parse(JSON.stringify(hyper));
    },
  };
}

function sameCapture(a: Captured, b: Captured): string | null {
  if (a.params.length !== b.params.length) return 'the parameter lists differ';
  for (let i = 0; i < a.params.length; i++) {
    const [n, x] = a.params[i],
      [m, y] = b.params[i];
    if (n !== m || x.length !== y.length || x.some((v, j) => !Object.is(v, y[j]))) return `initial ${n} differs`;
  }
  for (let e = 0; e < a.orders.length; e++)
    if (a.orders[e].some((v, j) => v !== b.orders[e][j])) return `the order of epoch ${e + 1} differs`;
  return null;
}

/** Bytes of a typed array in little-endian order (the manifest's promise on any host). */
function leBytes(a: Float32Array | Int32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) dv.setFloat32(i * 4, a[i], true);
    else dv.setInt32(i * 4, a[i], true);
  }
  return out;
}

/** The files of an export (relative path → bytes): init/, order/ and manifest.json for the first run's capture, and results.json. */
function runFiles(o: Parsed, cap: Captured, optimizers: RunManifest['optimizers'], results: unknown): [string, string | Uint8Array][] {
  const data =
    o.data === 'embedded' || (o.data === 'auto' && !existsSync(FASHION_MNIST_SEARCH_PATH[0]))
      ? 'embedded'
      : resolve(o.data === 'auto' ? FASHION_MNIST_SEARCH_PATH[0] : o.data);
  const m: RunManifest = {
    format: 'descent-compare-run',
    version: 1,
    model: o.model,
    data,
    scaling: 'x/255',
    limit: o.limit ?? null,
    testLimit: o.testLimit ?? null,
    trainSamples: cap.orders[0].length,
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed: o.seed,
    backend: o.backend,
    params: cap.params.map(([name, , shape]) => ({ name, shape, file: `init/${name}.f32`, dtype: 'float32' as const })),
    order: cap.orders.map((a, e) => ({ epoch: e + 1, file: `order/epoch-${e + 1}.i32`, dtype: 'int32' as const, length: a.length })),
    optimizers,
    results: 'results.json',
  };
  return [
    ...cap.params.map(([name, data]): [string, Uint8Array] => [`init/${name}.f32`, leBytes(data)]),
    ...cap.orders.map((a, e): [string, Uint8Array] => [`order/epoch-${e + 1}.i32`, leBytes(a)]),
    ['manifest.json', `${JSON.stringify(m, null, 1)}\n`],
    ['results.json', `${JSON.stringify(results, null, 1)}\n`],
  ];
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'train the same model with several optimizers (same initial weights, same batches) and compare',
  options: [
    {
      name: 'optimizers',
      type: 'string',
      default: LECTURE_OPTIMIZERS,
      metavar: 'A,B,…',
      help: 'optimizers to compare; a wrapper over a base as WRAPPER:BASE (sam:adam, lookahead:adam)',
    },
    {
      name: 'lr-table',
      type: 'string',
      default: 'tuned',
      choices: ['tuned', 'same'],
      help: 'tuned: a good lr per optimizer (see below); same: --lr for all',
    },
    { name: 'lr', type: 'number', min: 0, help: 'the learning rate of every optimizer with --lr-table same (default 0.01)' },
    { name: 'model', type: 'string', default: 'mlp', metavar: 'NAME', help: 'model to train' },
    { name: 'epochs', type: 'int', min: 1, max: MAX_EPOCHS, default: 3, help: 'passes over the training set' },
    { name: 'batch-size', type: 'int', min: 1, default: 128, help: 'samples per step' },
    dataOption,
    { name: 'limit', type: 'int', min: 1, help: 'use only the first N training images' },
    { name: 'test-limit', type: 'int', min: 1, help: 'use only the first N test images' },
    {
      name: 'seed',
      type: 'int',
      min: 0,
      max: SEED_MAX,
      default: 1,
      help: 'seed of the initial weights and the batch order (shared by all runs)',
    },
    backendOption,
    { name: 'json', type: 'boolean', help: 'print one JSON object with every run instead of a table' },
    {
      name: 'export-run',
      type: 'string',
      metavar: 'DIR',
      help: "write the exact initial weights (init/*.f32), the batch order of every epoch (order/epoch-E.i32), each optimizer's hyper-parameters (manifest.json) and the results (results.json) to DIR, for: /usr/bin/python3 tools/compare_torch.py --from DIR (mlp and logreg only)",
    },
  ] satisfies OptSpec[],
  helpExtra: [
    `Tuned table: ${Object.entries(TUNED)
      .map(([k, v]) => `${k} ${Object.values(v).join('/')}`)
      .join(', ')}.`,
    'Example: descent compare --optimizers sgd,momentum,nesterov,adagrad,rmsprop,adadelta,adam --epochs 3',
    'Same start in PyTorch: descent compare --epochs 3 --export-run runs/s1 && /usr/bin/python3 tools/compare_torch.py --from runs/s1',
  ].join('\n'),
  async run(o: Parsed, io: Io) {
    if (isCorpus(o.data))
      throw new UsageError(
        `--data ${o.data}: plain text trains a language model; compare trains its built-in models (--model mlp, cnn, …) on labelled data; compare optimizers on a language model with descent train --data ${o.data} --optimizer NAME, one run each (the same --seed gives the same initial weights and batches)`,
      );
    const keys = String(o.optimizers)
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s);
    if (keys.length === 0) throw new UsageError('--optimizers: expected a comma-separated list of optimizers');
    for (const k of keys) {
      const [name, base] = k.split(':');
      if (base !== undefined && !['sam', 'asam', 'lookahead'].includes(name))
        throw new UsageError(`--optimizers: ${k}: only sam, asam and lookahead take a base (WRAPPER:BASE)`);
      if (base !== undefined && !optimizerNames().includes(base))
        throw new UsageError(`--optimizers: unknown base optimizer "${clip(base)}" in ${k}${didYouMean(base, optimizerNames())}`);
      if (base !== undefined) continue;
      if (!optimizerNames().includes(k))
        throw new UsageError(
          `--optimizers: unknown optimizer "${clip(k)}"; expected names from ${optimizerNames().join(', ')}${didYouMean(k, optimizerNames())}`,
        );
      if (['lbfgs', 'newton'].includes(k))
        throw new UsageError(`--optimizers: ${k} needs full-batch training; compare runs mini-batch SGD-style training`);
    }
    o.model = resolveName('model', 'model', o.model, [...models.keys()]);
    if (o.lrTable === 'tuned' && o.lr !== undefined) throw new UsageError('--lr applies only with --lr-table same');
    if (o.exportRun !== undefined && !['mlp', 'logreg'].includes(o.model)) {
      throw new UsageError(
        `--export-run: supports models mlp and logreg (the PyTorch script rebuilds Linear+ReLU stacks), got --model ${o.model}`,
      );
    }
    const exportDir: string | undefined = o.exportRun;
    if (exportDir !== undefined) checkNewDir(exportDir, '--export-run');
    let first: Captured | undefined;
    const exported: RunManifest['optimizers'] = [];
    const epochRecords: Record<string, EpochRecord[]> = {};
    const base = parseArgs([], trainCommand.options, 'train');
    const rows: CompareRow[] = [];
    const silent: Io = { out: () => {}, err: io.err, raw: () => {}, tty: false };
    if (!o.json) io.out(`model ${o.model}, ${o.epochs} epoch(s), batch ${o.batchSize}, seed ${o.seed}, lr table ${o.lrTable}`);
    for (const key of keys) {
      const table = o.lrTable === 'tuned' ? tunedRow(key) : { lr: o.lr ?? 0.01 };
      const run: Parsed = {
        ...base,
        model: o.model,
        optimizer: key,
        epochs: o.epochs,
        batchSize: o.batchSize,
        data: o.data,
        limit: o.limit,
        testLimit: o.testLimit,
        seed: o.seed,
        backend: o.backend,
        json: true,
        ...table,
      };
      const start: { params?: [string, Float32Array, number[]][]; hyper?: Record<string, unknown> } = {};
      const r = await runTrain(run, silent, exportDir !== undefined ? [captureStart(start)] : []);
      if (exportDir !== undefined) {
        const cap: Captured = { params: start.params!, orders: Array.from({ length: o.epochs }, (_, e) => r.trainOrder!(e)) };
        if (!first) first = cap;
        else {
          const diff = sameCapture(first, cap);
          if (diff) throw new Error(`compare: run ${key} did not start like run ${keys[0]}: ${diff}`);
        }
        exported.push({ key, name: getOptimizer(key.split(':')[0]).name, hyper: start.hyper! });
        epochRecords[key] = r.records;
      }
      const last = r.records[r.records.length - 1];
      const row: CompareRow = {
        optimizer: key,
        options: { ...getOptimizer(key.split(':')[0]).preset, ...table },
        trainLoss: last.trainLoss,
        testAccuracy: last.testAccuracy as number,
        seconds: r.records.reduce((s, e) => s + e.seconds, 0),
      };
      rows.push(row);
      if (!o.json) io.err(`  ${key}: done (${row.seconds.toFixed(1)} s)`);
    }
    if (exportDir !== undefined) {
      const results = {
        model: o.model,
        epochs: o.epochs,
        batchSize: o.batchSize,
        seed: o.seed,
        lrTable: o.lrTable,
        results: rows,
        records: epochRecords,
      };
      writeDirAtomic(exportDir, runFiles(o, first!, exported, results), '--export-run');
    }
    if (exportDir !== undefined && !o.json)
      io.err(`wrote the run to ${exportDir}; PyTorch from the same start: /usr/bin/python3 tools/compare_torch.py --from ${exportDir}`);
    if (o.json) {
      io.out(JSON.stringify({ model: o.model, epochs: o.epochs, batchSize: o.batchSize, seed: o.seed, lrTable: o.lrTable, results: rows }));
      return;
    }
    const w = Math.max(9, ...rows.map((r) => r.optimizer.length));
    const settings = (r: CompareRow) =>
      Object.entries(r.options)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    const sw = Math.max(8, ...rows.map((r) => settings(r).length));
    io.out(
      `${'optimizer'.padEnd(w)}  ${'settings'.padEnd(sw)}  ${'train loss'.padStart(10)}  ${'test acc'.padStart(8)}  ${'time'.padStart(8)}`,
    );
    for (const r of rows) {
      io.out(
        `${r.optimizer.padEnd(w)}  ${settings(r).padEnd(sw)}  ${r.trainLoss.toFixed(4).padStart(10)}  ${r.testAccuracy.toFixed(4).padStart(8)}  ${(`${r.seconds.toFixed(1)} s`).padStart(8)}`,
      );
    }
  },
};
