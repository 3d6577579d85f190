/**
 * descent compare: train the same model from the same initial weights on the same batch order with
 * each optimizer, and print final train loss, test accuracy and time.
 *
 * Each run is `descent train` (runTrain) with the same seed: the model's initial weights come from
 * rng.fork('model') and the batch order from rng.fork('data'), both independent of the optimizer, so
 * only the update rule differs between rows.
 */
import type { Command, Io } from '../command.js';
import { UsageError, parseArgs, type OptSpec, type Parsed } from '../args.js';
import { getOptimizer, optimizerNames } from '../../optim/registry.js';
import { backendOption } from '../backend.js';
import { dataOption } from '../data.js';
import { runTrain, trainCommand } from './train.js';

/** Learning rates (and momenta) per optimizer for `--lr-table tuned` (the lecture's seven as in issue 4). */
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
};

export const LECTURE_OPTIMIZERS = 'sgd,momentum,nesterov,adagrad,rmsprop,adadelta,adam';

export interface CompareRow {
  optimizer: string;
  options: Record<string, unknown>;
  trainLoss: number;
  testAccuracy: number;
  seconds: number;
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'train the same model with several optimizers (same initial weights, same batches) and compare',
  options: [
    { name: 'optimizers', type: 'string', default: LECTURE_OPTIMIZERS, metavar: 'A,B,…', help: 'optimizers to compare' },
    { name: 'lr-table', type: 'string', default: 'tuned', choices: ['tuned', 'same'], help: 'tuned: a good lr per optimizer (see below); same: --lr for all' },
    { name: 'lr', type: 'number', min: 0, help: 'the learning rate of every optimizer with --lr-table same (default 0.01)' },
    { name: 'model', type: 'string', default: 'mlp', metavar: 'NAME', help: 'model to train' },
    { name: 'epochs', type: 'int', min: 1, default: 3, help: 'passes over the training set' },
    { name: 'batch-size', type: 'int', min: 1, default: 128, help: 'samples per step' },
    dataOption,
    { name: 'limit', type: 'int', min: 1, help: 'use only the first N training images' },
    { name: 'test-limit', type: 'int', min: 1, help: 'use only the first N test images' },
    { name: 'seed', type: 'int', min: 0, default: 1, help: 'seed of the initial weights and the batch order (shared by all runs)' },
    backendOption,
    { name: 'json', type: 'boolean', help: 'print one JSON object with every run instead of a table' },
  ] satisfies OptSpec[],
  helpExtra: [
    `Tuned table: ${Object.entries(TUNED).map(([k, v]) => `${k} ${Object.values(v).join('/')}`).join(', ')}.`,
    'Example: descent compare --optimizers sgd,momentum,nesterov,adagrad,rmsprop,adadelta,adam --epochs 3',
  ].join('\n'),
  async run(o: Parsed, io: Io) {
    const keys = String(o.optimizers).split(',').map((s) => s.trim().toLowerCase()).filter((s) => s);
    if (keys.length === 0) throw new UsageError('--optimizers: expected a comma-separated list of optimizers');
    for (const k of keys) {
      if (!optimizerNames().includes(k)) throw new UsageError(`--optimizers: unknown optimizer "${k}"; expected names from ${optimizerNames().join(', ')}`);
      if (['lbfgs', 'newton'].includes(k)) throw new UsageError(`--optimizers: ${k} needs full-batch training; compare runs mini-batch SGD-style training`);
    }
    if (o.lrTable === 'tuned' && o.lr !== undefined) throw new UsageError('--lr applies only with --lr-table same');
    const base = parseArgs([], trainCommand.options, 'train');
    const rows: CompareRow[] = [];
    const silent: Io = { out: () => {}, err: io.err, raw: () => {}, tty: false };
    if (!o.json) io.out(`model ${o.model}, ${o.epochs} epoch(s), batch ${o.batchSize}, seed ${o.seed}, lr table ${o.lrTable}`);
    for (const key of keys) {
      const table = o.lrTable === 'tuned' ? TUNED[key] ?? {} : { lr: o.lr ?? 0.01 };
      const run: Parsed = {
        ...base,
        model: o.model, optimizer: key, epochs: o.epochs, batchSize: o.batchSize, data: o.data, limit: o.limit, testLimit: o.testLimit,
        seed: o.seed, backend: o.backend, json: true, ...table,
      };
      const r = await runTrain(run, silent);
      const last = r.records[r.records.length - 1];
      const row: CompareRow = {
        optimizer: key,
        options: { ...getOptimizer(key).preset, ...table },
        trainLoss: last.trainLoss,
        testAccuracy: last.testAccuracy as number,
        seconds: r.records.reduce((s, e) => s + e.seconds, 0),
      };
      rows.push(row);
      if (!o.json) io.err(`  ${key}: done (${row.seconds.toFixed(1)} s)`);
    }
    if (o.json) {
      io.out(JSON.stringify({ model: o.model, epochs: o.epochs, batchSize: o.batchSize, seed: o.seed, lrTable: o.lrTable, results: rows }));
      return;
    }
    const w = Math.max(9, ...rows.map((r) => r.optimizer.length));
    const settings = (r: CompareRow) => Object.entries(r.options).map(([k, v]) => `${k} ${v}`).join(', ');
    const sw = Math.max(8, ...rows.map((r) => settings(r).length));
    io.out(`${'optimizer'.padEnd(w)}  ${'settings'.padEnd(sw)}  ${'train loss'.padStart(10)}  ${'test acc'.padStart(8)}  ${'time'.padStart(8)}`);
    for (const r of rows) {
      io.out(`${r.optimizer.padEnd(w)}  ${settings(r).padEnd(sw)}  ${r.trainLoss.toFixed(4).padStart(10)}  ${r.testAccuracy.toFixed(4).padStart(8)}  ${(r.seconds.toFixed(1) + ' s').padStart(8)}`);
    }
  },
};
