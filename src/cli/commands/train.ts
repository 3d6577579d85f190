/** descent train: build a model by name, train it with an optimizer by name, report every epoch. */
import { writeFileAtomic } from '../../io/files.js';
import type { Command, Io } from '../command.js';
import { UsageError, type OptSpec, type Parsed } from '../args.js';
import { Rng } from '../../tensor/rng.js';
import { backendOption, selectBackend } from '../backend.js';
import { DataLoader } from '../../data/loader.js';
import { fit, type EpochRecord, type Callback } from '../../train/trainer.js';
import { models } from '../../train/models.js';
import { resolveCliModel } from '../model.js';
import { modelSpecHelp } from '../../train/spec.js';
import { createOptimizer, getOptimizer, optimizerNames } from '../../optim/registry.js';
import type { Optimizer, BaseHyper } from '../../optim/optimizer.js';
import { dataOption, dataOptions, limit, loadData } from '../data.js';
import { progressDrawer, fmtInt } from '../progress.js';
import { trainExtensions } from '../extensions.js';
import '../cnn-flags.js'; // --dropout, --dropconnect, --augment
import { runFullBatch } from '../fullbatch.js';
import { checkOptimizerBag, checkTrainData, checkTrainOptions, MAX_EPOCHS } from '../train-checks.js';
import { SEED_MAX } from '../../tensor/rng.js';
import { LBFGS_LIMITS } from '../../optim/lbfgs.js';

export const optimizerOptions: OptSpec[] = [
  { name: 'lr', type: 'number', min: 0, help: 'learning rate η (default: the optimizer\'s own)' },
  { name: 'momentum', type: 'number', min: 0, help: 'momentum μ (sgd, momentum, nesterov, rmsprop)' },
  { name: 'dampening', type: 'number', help: 'momentum dampening τ (sgd)' },
  { name: 'nesterov', type: 'boolean', help: 'Nesterov momentum (sgd)' },
  { name: 'weight-decay', type: 'number', min: 0, help: 'weight decay λ (L2 added to the gradient; decoupled for adamw)' },
  { name: 'max-iter', type: 'int', min: 1, max: LBFGS_LIMITS.maxIter, help: 'iterations per step (lbfgs; default 20)' },
  { name: 'history-size', type: 'int', min: 1, max: LBFGS_LIMITS.historySize, help: 'curvature pairs kept (lbfgs; default 100; each pair is two copies of the weights)' },
  { name: 'line-search', type: 'string', choices: ['none', 'strong-wolfe', 'armijo'], help: 'line search (lbfgs: none or strong-wolfe, default none; newton: default armijo)' },
  { name: 'hessian-free', type: 'boolean', help: 'Newton by conjugate gradients on Hessian-vector products instead of the full Hessian (newton)' },
  { name: 'damping', type: 'number', min: 0, help: 'λ added to the Hessian (newton; default 0)' },
];

export const trainOptions: OptSpec[] = [
  { name: 'model', type: 'string', default: 'mlp', metavar: 'NAME|SPEC|FILE.json', help: 'model to train: a name below, a layer spec or a .json file of layers (see "Model spec")' },
  { name: 'optimizer', type: 'string', default: 'adam', metavar: 'NAME', help: 'optimizer (sgd, momentum, adam, ...: see the list below)' },
  ...optimizerOptions,
  { name: 'epochs', type: 'int', min: 1, max: MAX_EPOCHS, default: 5, help: 'passes over the training set' },
  { name: 'batch-size', type: 'int', min: 1, default: 128, help: 'samples per step' },
  { name: 'full-batch', type: 'boolean', help: 'every step on the whole training set (one step per epoch); needed by lbfgs and newton' },
  dataOption, ...dataOptions,
  { name: 'limit', type: 'int', min: 1, help: 'use only the first N training images' },
  { name: 'test-limit', type: 'int', min: 1, help: 'use only the first N test images' },
  { name: 'seed', type: 'int', min: 0, max: SEED_MAX, default: 1, help: 'seed of every random choice (init, shuffling, masks)' },
  backendOption,
  { name: 'save', type: 'string', metavar: 'FILE', help: 'write the trained weights as JSON (atomically)' },
  { name: 'json', type: 'boolean', help: 'print one JSON record per epoch instead of text' },
];

/** The parsed options this optimizer reads; an option it does not read is an error, not ignored. */
export function optimizerBag(name: string, o: Parsed): Record<string, unknown> {
  const accepted = getOptimizer(name).options;
  const given = optimizerOptions.map((s) => s.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())).filter((k) => o[k] !== undefined);
  const bag: Record<string, unknown> = {};
  for (const k of given) {
    if (!accepted.includes(k)) throw new UsageError(`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} does not apply to optimizer ${name}; it reads ${accepted.join(', ')}`);
    bag[k] = o[k];
  }
  checkOptimizerBag(name, bag);
  return bag;
}

export interface TrainRun {
  records: EpochRecord[];
  finalAccuracy: number;
  /** The sample order of each epoch the loader used (mini-batch runs; `descent compare --export-run` writes it). */
  trainOrder?: (epoch: number) => Int32Array;
}

function fmtRecord(r: EpochRecord, epochs: number, extra: string[]): string {
  const parts = [`epoch ${String(r.epoch).padStart(String(epochs).length)}/${epochs}`, `train loss ${r.trainLoss.toFixed(4)}`];
  for (const [k, v] of Object.entries(r.terms)) parts.push(`${k} ${v.toExponential(3)}`);
  if (r.testLoss !== undefined) parts.push(`test loss ${r.testLoss.toFixed(4)}`, `test acc ${(r.testAccuracy as number).toFixed(4)}`);
  parts.push(`lr ${Number(r.lr.toPrecision(4))}`, `${r.seconds.toFixed(1)}s`, `${fmtInt(r.samplesPerSec)} samples/s`, ...extra);
  return parts.join('  ');
}

/** Write a file so that readers see the old one or the new one, never half of it. */
export function writeAtomic(path: string, text: string): void {
  writeFileAtomic(path, text);
}

export async function runTrain(o: Parsed, io: Io, extraCallbacks: Callback[] = []): Promise<TrainRun> {
  await selectBackend(o.backend);
  checkTrainOptions(o);
  const spec = resolveCliModel(o.model);
  const data = await loadData(o.data, o);
  const trainSet = limit(data.train, o.limit);
  const testSet = limit(data.test, o.testLimit);
  checkTrainData(o, trainSet, testSet);
  const rng = new Rng(o.seed);
  const modelExtras = Object.assign({}, ...trainExtensions.map((x) => x.modelOptions?.(o) ?? {}));
  const model = spec.build({ rng: rng.fork('model'), inputShape: trainSet.shape, classes: trainSet.classes.length, ...modelExtras });
  const optimizer = createOptimizer(o.optimizer, model.namedParameters(), optimizerBag(o.optimizer, o)) as Optimizer<BaseHyper>;
  if (o.fullBatch) {
    const setupFb = { model, optimizer, epochs: o.epochs, stepsPerEpoch: 1 };
    const cbs = [...trainExtensions.flatMap((x) => x.callbacks?.(o, setupFb) ?? []), ...extraCallbacks];
    if (!o.json) io.out(`data: ${data.source}, using ${trainSet.length} / ${testSet.length}\nmodel: ${o.model} (${fmtInt(model.numParameters())} parameters), optimizer: ${optimizer.rule.name}, seed ${o.seed}`);
    return runFullBatch({ o, io, model, optimizer, trainSet, testSet, flatten: spec.input === 'flat', rng: rng.fork('train'), callbacks: cbs });
  }
  if (['lbfgs', 'newton'].includes(String(o.optimizer).toLowerCase())) throw new UsageError(`--optimizer ${o.optimizer} re-evaluates the loss within a step; add --full-batch`);
  const transforms = trainExtensions.map((x) => x.transform?.(o)).filter((t) => t !== undefined);
  const flatten = spec.input === 'flat';
  const trainLoader = new DataLoader(trainSet, {
    batchSize: o.batchSize, shuffle: true, dropLast: false, rng: rng.fork('data'), flatten,
    transform: transforms.length ? (x, r) => transforms.reduce((acc, t) => t!(acc, r), x) : undefined,
  });
  const testLoader = new DataLoader(testSet, { batchSize: 1000, flatten });
  const setup = { model, optimizer, epochs: o.epochs, stepsPerEpoch: trainLoader.length };
  const callbacks = [...trainExtensions.flatMap((x) => x.callbacks?.(o, setup) ?? []), ...extraCallbacks];
  if (!o.json) {
    io.out(`data: ${data.source}${trainSet !== data.train || testSet !== data.test ? `, using ${trainSet.length} / ${testSet.length}` : ''}`);
    io.out(`model: ${o.model} (${fmtInt(model.numParameters())} parameters), optimizer: ${optimizer.rule.name} ${JSON.stringify(Object.fromEntries(Object.entries(optimizer.paramGroups[0]).filter(([k]) => k !== 'params')))}, seed ${o.seed}, backend ${o.backend}`);
  }
  const bar = io.tty && !o.json ? progressDrawer(io.raw) : null;
  const records = fit({
    model, optimizer, train: trainLoader, test: testLoader, epochs: o.epochs, rng: rng.fork('train'), callbacks,
    onProgress: bar ? (p) => bar.draw(p) : undefined,
    onEpoch: (r) => {
      bar?.clear();
      if (o.json) io.out(JSON.stringify(r));
      else io.out(fmtRecord(r, o.epochs, trainExtensions.map((x) => x.describe?.(o, r)).filter((s): s is string => !!s)));
    },
  });
  const finalAccuracy = records[records.length - 1].testAccuracy as number;
  if (o.save) {
    writeAtomic(o.save, JSON.stringify({ model: o.model, seed: o.seed, state: model.stateDict() }));
    if (!o.json) io.out(`saved weights to ${o.save}`);
  }
  if (!o.json) io.out(`final test accuracy ${finalAccuracy.toFixed(4)}`);
  return { records, finalAccuracy, trainOrder: (e) => trainLoader.order(e) };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model on Fashion-MNIST and report loss and accuracy per epoch',
  get options() {
    return [...trainOptions, ...trainExtensions.flatMap((x) => x.options)];
  },
  get helpExtra() {
    return [
      `Models: ${[...models.values()].map((m) => `${m.name} (${m.summary})`).join('; ')}.`,
      `Optimizers: ${optimizerNames().join(', ')}.`,
      ...modelSpecHelp(),
      'Example: descent train --model mlp --optimizer sgd --lr 0.1 --epochs 5 --batch-size 128 --seed 1',
    ].join('\n');
  },
  async run(o, io) {
    // --ensemble / --snapshots / --swa / --ema train several models or keep snapshots (src/cli/ext/ensemble.ts)
    const ens = await import('../ext/ensemble.js');
    if (ens.wantsEnsemble(o)) return ens.runEnsembleTrain(o, io);
    await runTrain(o, io);
  },
};
