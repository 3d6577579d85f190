/**
 * descent train: build a model by name, train it with an optimizer by name, report every epoch.
 * The CLI parses flags and calls the library's fitRun(); everything the run does (penalties,
 * augmentation, schedules, snapshots, SWA/EMA, full batch, checkpoints, divergence) is an option or
 * callback there.
 */
import type { Command, Io } from '../command.js';
import { UsageError, givenOptions, type OptSpec, type Parsed } from '../args.js';
import { Rng } from '../../tensor/rng.js';
import { deviceRefusal, runLabel, selectTrainBackend, trainBackendOption } from '../backend.js';
import { fitRunAsync } from '../../train/async.js';
import { DataLoader } from '../../data/loader.js';
import {
  fitRun,
  reEvaluatesLoss,
  type EpochRecord,
  type Callback,
  type FitOptions,
  type FitResult,
  type CheckpointOptions,
} from '../../train/trainer.js';
import type { Checkpoint } from '../../train/checkpoint.js';
import { modelSampleShape, models } from '../../train/models.js';
import { resolveCliModel } from '../model.js';
import { modelSpecHelp } from '../../train/spec.js';
import type { Module } from '../../nn/module.js';
import { hasBatchNorm } from '../../nn/batchnorm.js';
import { createOptimizer, optimizerNames } from '../../optim/registry.js';
import type { Optimizer, BaseHyper } from '../../optim/optimizer.js';
import {
  absoluteDataPath,
  FingerprintCache,
  dataOption,
  dataOptions,
  fingerprintChange,
  isRegression,
  limit,
  loadData,
  outputsOf,
  type CliDataset,
  type CsvTextColumn,
  type DataFingerprint,
  type LoadedData,
} from '../data.js';
import { mae, mse, unitMetrics } from '../../train/metrics.js';
import { progressDrawer, fmtInt } from '../progress.js';
import { trainExtensions } from '../extensions.js';
import '../cnn-flags.js'; // --dropout, --dropconnect, --augment
import { writeFileAtomic, checkWritableFile } from '../../io/files.js';
import { writeSavedModel, type SavedModelInfo } from '../weights.js';
import { checkpointDir, existingCheckpoints, loadLatestCheckpoint } from '../../io/checkpoints.js';
import { basename, resolve } from 'node:path';
import { checkTrainData, checkTrainOptions, stallMessage, MAX_EPOCHS } from '../train-checks.js';
import { hyperParameterFlags, optimizerBagFrom, sharedOptimizerFlags } from '../optimizer-flags.js';
import { SEED_MAX } from '../../tensor/rng.js';
import { LBFGS_LIMITS } from '../../optim/lbfgs.js';
import { checkLossFlags, describeLoss, lossFromFlags, lossOptions } from '../loss-flags.js';
import { checkLmFlags, fmtPerplexity, isCorpus, LM_DEFAULT_MODEL, lmOptions } from '../lm.js';

export const optimizerOptions: OptSpec[] = [
  { name: 'lr', type: 'number', min: 0, help: "learning rate η (default: the optimizer's own)" },
  { name: 'momentum', type: 'number', min: 0, help: 'momentum μ (sgd, momentum, nesterov, rmsprop)' },
  { name: 'dampening', type: 'number', help: 'momentum dampening τ (sgd)' },
  { name: 'nesterov', type: 'boolean', help: 'Nesterov momentum (sgd)' },
  { name: 'weight-decay', type: 'number', min: 0, help: 'weight decay λ (L2 added to the gradient; decoupled for adamw)' },
  { name: 'max-iter', type: 'int', min: 1, max: LBFGS_LIMITS.maxIter, help: 'iterations per step (lbfgs; default 20)' },
  {
    name: 'history-size',
    type: 'int',
    min: 1,
    max: LBFGS_LIMITS.historySize,
    help: 'curvature pairs kept (lbfgs; default 100; each pair is two copies of the weights)',
  },
  {
    name: 'line-search',
    type: 'string',
    choices: ['none', 'strong-wolfe', 'armijo'],
    help: 'line search (lbfgs: none or strong-wolfe, default none; newton: default armijo)',
  },
  {
    name: 'hessian-free',
    type: 'boolean',
    help: 'Newton by conjugate gradients on Hessian-vector products instead of the full Hessian (newton)',
  },
  { name: 'damping', type: 'number', min: 0, help: 'λ added to the Hessian (newton; default 0)' },
  // Adam, RMSprop, Adagrad, Adadelta, NAdam, RAdam, Rprop, ASGD, Adafactor, Prodigy; --rho, --alpha
  ...hyperParameterFlags,
  // Schedule-Free, SAM/ASAM, Lookahead, Muon, Prodigy, SOAP
  ...sharedOptimizerFlags,
];

/**
 * The options --resume accepts besides the folder; every other setting comes from the checkpoint.
 * --backend among them: a run checkpointed on a GPU continues on a machine without one (bit for bit
 * only on the backend it ran on, which is the default).
 */
const RESUME_OVERRIDES = ['epochs', 'save', 'json', 'keep', 'checkpointEvery', 'onNan', 'backend', 'gpuAutotune', 'resume'];
/** An option's key as its flag: checkpointEvery → --checkpoint-every. */
const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
/** The flags --resume may be given with, for the help and the error. */
const RESUME_FLAGS = RESUME_OVERRIDES.filter((k) => k !== 'resume').map(flagOf);

export const trainOptions: OptSpec[] = [
  {
    name: 'model',
    type: 'string',
    default: 'mlp',
    metavar: 'NAME|SPEC|FILE.json',
    help: 'model to train: a name below, a layer spec or a .json file of layers (see "Model spec")',
  },
  { name: 'optimizer', type: 'string', default: 'adam', metavar: 'NAME', help: 'optimizer (sgd, momentum, adam, ...: see the list below)' },
  ...optimizerOptions,
  {
    name: 'epochs',
    type: 'int',
    min: 1,
    max: MAX_EPOCHS,
    default: 5,
    help: "passes over the training set (with --resume: of the whole run, default the checkpoint's)",
  },
  { name: 'batch-size', type: 'int', min: 1, default: 128, help: 'samples per batch (per step, unless --accumulate)' },
  {
    name: 'accumulate',
    type: 'int',
    min: 1,
    metavar: 'N',
    help: "gradient accumulation: each step sums the gradients of N batches (each batch's loss divided by N; an epoch's last group steps with the batches left), for an effective batch of N × --batch-size (default 1)",
  },
  { name: 'full-batch', type: 'boolean', help: 'every step on the whole training set (one step per epoch); needed by lbfgs and newton' },
  ...lossOptions,
  dataOption,
  ...dataOptions,
  ...lmOptions,
  { name: 'limit', type: 'int', min: 1, help: 'use only the first N training images' },
  { name: 'test-limit', type: 'int', min: 1, help: 'use only the first N test images' },
  { name: 'seed', type: 'int', min: 0, max: SEED_MAX, default: 1, help: 'seed of every random choice (init, shuffling, masks)' },
  trainBackendOption,
  {
    name: 'gpu-autotune',
    type: 'boolean',
    help: "on the GPU, time each product (layer, convolution, gradient) under every tile shape the first time its sizes appear and run the fastest from then on, as PyTorch's cudnn.benchmark; the values do not change, the first steps take longer",
  },
  {
    name: 'save',
    type: 'string',
    metavar: 'FILE',
    help: "write the trained model: FILE.safetensors (PyTorch's state_dict names; the model, input shape and classes in its metadata) or JSON for any other name; checked before training, written atomically",
  },
  {
    name: 'checkpoint-dir',
    type: 'string',
    metavar: 'DIR',
    help: "write checkpoints into DIR (created if absent; one holding another run's checkpoints is refused), to continue the run bit for bit with --resume DIR",
  },
  {
    name: 'checkpoint-every',
    type: 'string',
    metavar: 'Nepochs|Nsteps',
    help: 'how often to checkpoint, e.g. 2epochs or 100steps (default: every epoch end; the last epoch always ends with one)',
  },
  {
    name: 'keep',
    type: 'int',
    min: 1,
    metavar: 'K',
    help: 'keep only the newest K checkpoints (older ones are deleted once the new one is in place)',
  },
  {
    name: 'resume',
    type: 'string',
    metavar: 'DIR',
    help: `continue the run checkpointed in DIR from its newest good checkpoint; the settings, --save among them, come from the checkpoint (besides it, only ${RESUME_FLAGS.join(', ')})`,
  },
  {
    name: 'on-nan',
    type: 'string',
    choices: ['stop', 'skip'],
    default: 'stop',
    help: "a non-finite loss or gradient: stop (exit 1, naming epoch, step, lr and the last checkpoint) or skip that step (not applied; counted); a loss above 10⁴× the first step's always stops",
  },
  { name: 'json', type: 'boolean', help: 'print one JSON record per epoch instead of text' },
];

/** The parsed options this optimizer reads; an option it does not read is an error, not ignored. */
export function optimizerBag(name: string, o: Parsed): Record<string, unknown> {
  return optimizerBagFrom(optimizerOptions, name, o);
}

export interface TrainRun {
  records: EpochRecord[];
  finalAccuracy: number;
  /** The sample order of each epoch the loader used (mini-batch runs; `descent compare --export-run` writes it). */
  trainOrder?: (epoch: number) => Int32Array;
  /** The library's result: SWA/EMA averages, snapshots, skipped steps. */
  result: FitResult;
  model: Module;
  /** What --save records beside the weights (the model spec, classes, data columns): --save-average writes it too. */
  saved: SavedModelInfo;
}

/** A regression's test figures: MAE and RMSE (√ of the test MSE metric, the mean over every sample and target). */
export function regressionFigures(r: EpochRecord): { mae: number; rmse: number } | undefined {
  return typeof r.testMae === 'number' && typeof r.testMse === 'number' ? { mae: r.testMae, rmse: Math.sqrt(r.testMse) } : undefined;
}

/** The record of the weights a run ends with: the last epoch's, or that of the epoch early stopping put back. */
export function finalRecord(records: readonly EpochRecord[]): EpochRecord | undefined {
  const restored = records[records.length - 1]?.restoredEpoch;
  return typeof restored === 'number' ? records.find((r) => r.epoch === restored) : records[records.length - 1];
}

/** "test loss 0.1234  test acc 0.8765", or for a regression "test loss …  test mae …  test rmse …". */
export function fmtTest(r: EpochRecord): string[] {
  if (r.testLoss === undefined) return [];
  const g = regressionFigures(r);
  return [
    `test loss ${r.testLoss.toFixed(4)}`,
    ...(typeof r.testPerplexity === 'number' ? [`test ppl ${fmtPerplexity(r.testPerplexity)}`] : []),
    ...(g
      ? [`test mae ${g.mae.toPrecision(5)}`, `test rmse ${g.rmse.toPrecision(5)}`]
      : [`test acc ${(r.testAccuracy as number).toFixed(4)}`]),
  ];
}

export function fmtRecord(r: EpochRecord, epochs: number, extra: string[]): string {
  const parts = [`epoch ${String(r.epoch).padStart(String(epochs).length)}/${epochs}`, `train loss ${r.trainLoss.toFixed(4)}`];
  for (const [k, v] of Object.entries(r.terms)) parts.push(`${k} ${v.toExponential(3)}`);
  parts.push(...fmtTest(r));
  parts.push(`lr ${Number(r.lr.toPrecision(4))}`, `${r.seconds.toFixed(1)}s`, `${fmtInt(r.samplesPerSec)} samples/s`, ...extra);
  return parts.join('  ');
}

function fmtFullBatchRecord(r: EpochRecord, epochs: number): string {
  const cost = `evals ${r.evals}${r.hvps ? ` + ${r.hvps} Hv` : ''}, iters ${r.iters}`;
  return `step ${String(r.epoch).padStart(String(epochs).length)}/${epochs}  train loss ${r.trainLoss.toFixed(6)}  ${fmtTest(r).join('  ')}  ${cost}  ${r.seconds.toFixed(2)}s`;
}

/** Write a text file so that readers see the old one or the new one, never half of it (writeFileAtomic). */
export function writeAtomic(path: string, text: string): void {
  writeFileAtomic(path, text);
}

/** --checkpoint-every: "2epochs", "1epoch", "100steps". */
export function parseCheckpointEvery(v: string): { everyEpochs?: number; everySteps?: number } {
  const m = /^([1-9][0-9]{0,8})\s*(epochs?|steps?)$/.exec(v.trim());
  if (!m) throw new UsageError(`--checkpoint-every: expected a count and a unit such as 2epochs or 100steps, got "${v.slice(0, 40)}"`);
  return m[2].startsWith('epoch') ? { everyEpochs: Number(m[1]) } : { everySteps: Number(m[1]) };
}

/** Checks that need no data: output paths and flag combinations, so a mistake fails in the first second. */
export function preflight(o: Parsed): void {
  checkLmFlags(o);
  checkTrainOptions(o);
  checkLossFlags(o);
  if (o.save !== undefined) {
    if (o.save === '') throw new UsageError('--save: empty file name; give the file to write the weights to');
    checkWritableFile(o.save, '--save');
  }
  if (o.checkpointDir === '') throw new UsageError('--checkpoint-dir: empty folder name');
  if (o.checkpointDir === undefined && o.resume === undefined) {
    if (o.checkpointEvery !== undefined) throw new UsageError('--checkpoint-every needs --checkpoint-dir DIR');
    if (o.keep !== undefined) throw new UsageError('--keep needs --checkpoint-dir DIR');
  }
  if (o.checkpointEvery !== undefined) parseCheckpointEvery(o.checkpointEvery);
  for (const x of trainExtensions) x.preflight?.(o);
  // A fresh run never writes beside another run's checkpoints: --resume and eval would pick the
  // other run's newer step, and --keep would rank both runs together.
  if (o.checkpointDir !== undefined && o.resume === undefined) {
    const found = existingCheckpoints(o.checkpointDir);
    if (found.length)
      throw new UsageError(
        `--checkpoint-dir ${o.checkpointDir}: the folder already holds ${found.length} checkpoint${found.length === 1 ? '' : 's'} of another run (newest ${basename(found[0])}); continue that run with --resume ${o.checkpointDir}, or give a new or empty folder`,
      );
  }
}

/**
 * --resume DIR: the newest usable checkpoint in DIR and the run's options from it; --epochs and the
 * output flags may be given, nothing else. A newer file that is refused is reported in one line.
 */
export function resolveResume(o: Parsed, io: Io, fingerprints = new FingerprintCache()): { o: Parsed; checkpoint: Checkpoint } {
  const given = givenOptions(o);
  const extra = [...given]
    .map((k) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()))
    .filter((k) => !RESUME_OVERRIDES.includes(k));
  if (extra.length)
    throw new UsageError(
      `${flagOf(extra[0])}: with --resume the run's settings come from the checkpoint; besides --resume only ${RESUME_FLAGS.slice(0, -1).join(', ')} and ${RESUME_FLAGS[RESUME_FLAGS.length - 1]} may be given`,
    );
  if (o.resume === '') throw new UsageError('--resume: empty folder name');
  const latest = loadLatestCheckpoint(o.resume);
  for (const r of latest.refused) io.err(`descent train: ${r.reason}; resuming from the previous good one, ${latest.path}`);
  const c = latest.checkpoint;
  const meta = c.meta as { command?: string; options?: Parsed; fingerprints?: Record<string, DataFingerprint> } | undefined;
  if (!meta || meta.command !== 'train' || !meta.options || typeof meta.options !== 'object')
    throw new UsageError(`--resume: ${latest.path} was not written by descent train (no options in it)`);
  for (const [key, then] of Object.entries(meta.fingerprints ?? {})) {
    const path = meta.options[key];
    if (typeof path !== 'string' || !then || typeof then.sha256 !== 'string') continue;
    const change = fingerprintChange(then, fingerprints.get(path));
    if (change !== null)
      throw new UsageError(
        `${flagOf(key)} ${path}: changed since the run checkpointed in ${o.resume} began (${change}); resume with the data it was trained on, or start a new run`,
      );
  }
  const merged: Parsed = {
    ...meta.options,
    epochs: given.has('epochs') ? o.epochs : c.epochs,
    json: o.json,
    save: given.has('save') ? o.save : meta.options.save,
    keep: o.keep ?? meta.options.keep,
    checkpointEvery: o.checkpointEvery ?? meta.options.checkpointEvery,
    onNan: given.has('on-nan') ? o.onNan : meta.options.onNan,
    backend: given.has('backend') ? o.backend : meta.options.backend,
    gpuAutotune: given.has('gpu-autotune') ? o.gpuAutotune : meta.options.gpuAutotune,
    checkpointDir: o.resume,
    // still a resumed run: preflight lets it write into the folder holding its own checkpoints
    resume: o.resume,
  };
  if (c.epoch > merged.epochs || (c.epoch === merged.epochs && c.batch > 0))
    throw new UsageError(
      `--epochs ${merged.epochs}: the checkpoint ${latest.path} is already at epoch ${c.epoch + (c.batch > 0 ? 1 : 0)}; give --epochs ${c.epoch + 1} or more`,
    );
  if (!merged.json)
    io.out(
      `resuming from ${latest.path}: ${c.batch > 0 ? `epoch ${c.epoch + 1}, batch ${c.batch}` : `after epoch ${c.epoch}`}, step ${c.step}; training to epoch ${merged.epochs}`,
    );
  return { o: merged, checkpoint: c };
}

/**
 * The model of a --text run: without --model, a bag of embeddings (fastText-like) over the
 * vocabulary; a --model must start with an embedding of at least the vocabulary's V rows, since the
 * input is token ids in [0, V).
 */
function textModel(o: Parsed, text: CsvTextColumn): string {
  const V = text.vocabulary.length;
  if (text.outputMode !== undefined && text.outputMode !== 'int') {
    // a bag of terms: V features a row, a linear model by default (logistic regression)
    if (!givenOptions(o).has('model') && o.model === 'mlp') return 'linear';
    if (/^embedding:/.test(resolveCliModel(o.model).name))
      throw new UsageError(
        `--model ${o.model}: --text-mode ${text.outputMode} gives the model ${V} values a text (one per vocabulary term), not token ids; leave the embedding out (e.g. linear, or linear:64,relu,linear), or use --text-mode int`,
      );
    return o.model;
  }
  const way = `embedding:${V}:dim:pad=0:mask=true,… (e.g. embedding:${V}:64:pad=0:mask=true,seqmean,linear)`;
  if (!givenOptions(o).has('model') && o.model === 'mlp') return `embedding:${V}:64:pad=0:mask=true,seqmean,linear`;
  const name = resolveCliModel(o.model).name;
  const num = /^embedding:(\d+)/.exec(name);
  if (!num) throw new UsageError(`--model ${o.model}: --text ${text.column} gives the model token ids; start it with an embedding: ${way}`);
  if (Number(num[1]) < V)
    throw new UsageError(
      `--model ${o.model}: the embedding has ${num[1]} rows, and the vocabulary of --text ${text.column} has ${V} words (ids 0 … ${V - 1}); give embedding:${V}:… or --max-tokens ${num[1]}`,
    );
  return o.model;
}

/**
 * --checkpoint-dir: where the run's checkpoints go and what they keep to resume it (its options,
 * paths made absolute, and its data's fingerprints); undefined without the flag.
 */
export function checkpointOptions(o: Parsed, saved: SavedModelInfo, fingerprints: FingerprintCache): CheckpointOptions | undefined {
  if (o.checkpointDir === undefined) return undefined;
  const sink = checkpointDir(o.checkpointDir, { keep: o.keep });
  // --save and --save-best stay: a resumed run writes the weights where the run it continues was to write them.
  // Paths are stored absolute, so a run resumed from another working directory finds the same
  // files, and the data with its fingerprint, so a resumed run refuses data changed since.
  const { resume: _r, json: _j, epochs: _e, checkpointDir: _d, ...options } = o;
  const stored: Record<string, DataFingerprint> = {};
  for (const key of ['data', 'testData'] as const) {
    if (typeof options[key] !== 'string') continue;
    options[key] = absoluteDataPath(options[key]);
    const fp = fingerprints.get(options[key]);
    if (fp) stored[key] = fp;
  }
  for (const key of ['save', 'saveBest'] as const) if (typeof options[key] === 'string') options[key] = resolve(options[key]);
  if (typeof options.model === 'string' && /\.json$/i.test(options.model.trim())) options.model = resolve(options.model.trim());
  return {
    save: (c) => sink.save(c),
    ...(o.checkpointEvery !== undefined ? parseCheckpointEvery(o.checkpointEvery) : {}),
    meta: { command: 'train', options, saved, fingerprints: stored },
  };
}

/** The optimizer and its hyper-parameters for the model line: "adam {…}", a wrapper "… over adam {…}". */
export function described(opt: Optimizer<BaseHyper>): string {
  const base = (opt as { base?: Optimizer<BaseHyper> }).base;
  const own = Object.fromEntries(Object.entries(opt.paramGroups[0]).filter(([k]) => k !== 'params' && !(base && k === 'lr')));
  return `${opt.rule.name} ${JSON.stringify(own)}${base ? ` over ${described(base)}` : ''}`;
}

/** A run made ready: the options for fitRun and what to print and write when it returns. */
export interface PreparedTrain {
  fit: FitOptions;
  /** The model trained: --model, or a --text run's default embedding model. */
  model: string;
  finish(result: FitResult): TrainRun;
}

/**
 * A BatchNorm layer cannot train on one example per channel (its variance is 0/0; PyTorch refuses
 * it too): a batch size that leaves a last batch of one example is refused before training starts,
 * rather than failing at the end of the first epoch.
 */
function checkBatchNormBatches(model: Module, o: Parsed, examples: number): void {
  const size = o.fullBatch ? examples : Math.min(o.batchSize as number, examples);
  if (examples % size !== 1 || !hasBatchNorm(model)) return;
  if (examples === 1) throw new UsageError('the training set has 1 example, and BatchNorm cannot train on one example per batch');
  let fit = size + 1;
  while (examples % fit === 1) fit++;
  throw new UsageError(
    `--batch-size ${size} leaves a last batch of 1 of the ${examples} training examples, and BatchNorm cannot train on one example; give another batch size (e.g. --batch-size ${fit})`,
  );
}

/**
 * The batches BatchNorm's running statistics are recomputed from for weights other than the ones
 * trained (PyTorch's update_bn over the training loader): the training set in order, without
 * augmentation, in batches of the training steps' size. Used for SWA/EMA averages and for
 * Schedule-Free's average x.
 */
export function batchNormLoader(trainSet: CliDataset, o: Parsed, sampleShape: readonly number[]): DataLoader<CliDataset> {
  return new DataLoader(trainSet, { batchSize: o.fullBatch ? trainSet.length : o.batchSize, sampleShape });
}

/**
 * What a train run prints at each epoch's end: the record as one JSON line with --json, else its
 * line (a full-batch one with --full-batch) with the extensions' figures; `amend` adds derived
 * figures to the record first. The progress bar is cleared before.
 */
export function epochPrinter(o: Parsed, io: Io, bar: { clear(): void } | null, amend?: (r: EpochRecord) => void): (r: EpochRecord) => void {
  return (r) => {
    bar?.clear();
    amend?.(r);
    if (o.json) io.out(JSON.stringify(r));
    else if (o.fullBatch) io.out(fmtFullBatchRecord(r, o.epochs));
    else
      io.out(
        fmtRecord(
          r,
          o.epochs,
          trainExtensions.map((x) => x.describe?.(o, r)).filter((s): s is string => !!s),
        ),
      );
  };
}

/** Build the model, optimizer, loaders and callbacks from the options (backend selected, data loaded). */
export function prepareTrain(
  o: Parsed,
  io: Io,
  data: LoadedData,
  extraCallbacks: Callback[] = [],
  resume?: Checkpoint,
  backendLabel: string = o.backend,
  fingerprints = new FingerprintCache(),
): PreparedTrain {
  if (!o.fullBatch && ['lbfgs', 'newton'].includes(String(o.optimizer).toLowerCase()))
    throw new UsageError(`--optimizer ${o.optimizer} re-evaluates the loss within a step; add --full-batch`);
  if (data.csv?.text) o = { ...o, model: textModel(o, data.csv.text) };
  const spec = resolveCliModel(o.model);
  const trainSet = limit(data.train, o.limit);
  const testSet = limit(data.test, o.testLimit);
  checkTrainData(o, trainSet, testSet);
  checkLossFlags(o, isRegression(trainSet));
  const criterion = lossFromFlags(o, trainSet);
  const rng = new Rng(o.seed);
  const modelExtras = Object.assign({}, ...trainExtensions.map((x) => x.modelOptions?.(o) ?? {}));
  const regression = isRegression(trainSet);
  const model = spec.build({ rng: rng.fork('model'), inputShape: trainSet.shape, classes: outputsOf(trainSet), ...modelExtras });
  checkBatchNormBatches(model, o, trainSet.length);
  // What --save, eval and predict need to rebuild this network without --model.
  const saved: SavedModelInfo = {
    model: spec.name,
    modelOptions: Object.fromEntries(Object.entries(modelExtras).filter(([, v]) => v !== undefined)),
    inputShape: [...trainSet.shape],
    ...(regression ? { targets: [...trainSet.targetNames] } : { classes: [...trainSet.classes] }),
    ...(data.preprocess ? { preprocess: data.preprocess } : {}),
    ...(data.impute ? { impute: data.impute } : {}),
    ...(data.targetPreprocess ? { targetPreprocess: data.targetPreprocess } : {}),
    ...(data.csv ? { csv: data.csv } : {}),
    ...(data.npz ? { npz: data.npz } : {}),
    seed: o.seed,
    ...(criterion ? { loss: criterion.saved } : {}),
  };
  const optimizer = createOptimizer(o.optimizer, model.namedParameters(), optimizerBag(o.optimizer, o)) as Optimizer<BaseHyper>;
  const accumulate: number = o.fullBatch ? 1 : (o.accumulate ?? 1);
  if (accumulate > 1 && reEvaluatesLoss(optimizer))
    throw new UsageError(
      `--accumulate ${accumulate}: --optimizer ${o.optimizer} re-evaluates the loss inside its step (a closure over one batch), so gradients cannot be summed over batches`,
    );
  const sampleShape = modelSampleShape(spec.input, trainSet.shape);
  const transforms = o.fullBatch ? [] : trainExtensions.map((x) => x.transform?.(o)).filter((t) => t !== undefined);
  const mix = trainExtensions.map((x) => x.mix?.(o, { classes: outputsOf(trainSet), csv: Boolean(data.csv) })).find((m) => m !== undefined);
  const trainLoader = o.fullBatch
    ? new DataLoader(trainSet, { batchSize: trainSet.length, sampleShape })
    : new DataLoader(trainSet, {
        batchSize: o.batchSize,
        shuffle: true,
        dropLast: false,
        rng: rng.fork('data'),
        sampleShape,
        transform: transforms.length ? (x, r) => transforms.reduce((acc, t) => t!(acc, r), x) : undefined,
        mix,
      });
  const testLoader = new DataLoader(testSet, { batchSize: 1000, sampleShape });
  const stepsPerEpoch = o.fullBatch ? 1 : Math.ceil(trainLoader.length / accumulate);
  const setup = { model, optimizer, epochs: o.epochs, stepsPerEpoch, saved };
  const callbacks = [...trainExtensions.flatMap((x) => x.callbacks?.(o, setup) ?? []), ...extraCallbacks];
  if (o.snapshots !== undefined && o.snapshots > o.epochs * stepsPerEpoch)
    throw new UsageError(`--snapshots ${o.snapshots}: more cycles than the run's ${o.epochs * stepsPerEpoch} steps`);
  const checkpoint = checkpointOptions(o, saved, fingerprints);
  if (!o.json) {
    if (o.fullBatch) {
      io.out(
        `data: ${data.source}, using ${trainSet.length} / ${testSet.length}\nmodel: ${o.model} (${fmtInt(model.numParameters())} parameters), optimizer: ${optimizer.rule.name}, seed ${o.seed}`,
      );
      io.out(`full batch: ${fmtInt(trainSet.length)} samples per step, one step per epoch`);
    } else {
      io.out(
        `data: ${data.source}${trainSet !== data.train || testSet !== data.test ? `, using ${trainSet.length} / ${testSet.length}` : ''}`,
      );
      io.out(
        `model: ${o.model} (${fmtInt(model.numParameters())} parameters), optimizer: ${described(optimizer)}, seed ${o.seed}, backend ${backendLabel}`,
      );
      if (accumulate > 1)
        io.out(`accumulating ${accumulate} batches of ${o.batchSize} per step (effective batch ${fmtInt(accumulate * o.batchSize)})`);
    }
  }
  if (!o.json && saved.loss)
    io.out(
      `loss: ${describeLoss(saved.loss)}${data.targetPreprocess ? " on the standardized targets (train and test; MAE and RMSE in the targets' units)" : ' (train and test)'}`,
    );
  if (!o.json && mix) io.out(`training batches mixed: ${mix.describe} (the test set is not)`);
  const bar = io.tty && !o.json && !o.fullBatch ? progressDrawer(io.raw) : null;
  const fit: FitOptions = {
    model,
    optimizer,
    train: trainLoader,
    test: testLoader,
    loss: criterion?.loss,
    // a regression reports MAE and the MSE whose root the CLI prints (RMSE), in the targets' units
    ...(regression ? { metrics: data.targetPreprocess ? unitMetrics(data.targetPreprocess.std) : { mae, mse } } : {}),
    epochs: o.epochs,
    rng: rng.fork('train'),
    callbacks,
    fullBatch: Boolean(o.fullBatch),
    ...(accumulate > 1 ? { accumulate } : {}),
    checkpoint,
    resume,
    onNonFinite: o.onNan ?? 'stop',
    swa: o.swa !== undefined ? { startEpoch: o.swa } : undefined,
    ema: o.ema !== undefined ? { decay: o.ema } : undefined,
    snapshots: o.snapshots !== undefined ? { cycles: o.snapshots } : undefined,
    // Schedule-Free with BatchNorm: evaluated, checkpointed (evalModel) and saved at x with statistics recomputed there
    batchNormData: batchNormLoader(trainSet, o, sampleShape),
    onStall: (i) =>
      i.stopped
        ? io.err(stallMessage(o, i.step, i.loss))
        : io.err(
            `descent train: warning: the loss has stayed at ${i.loss} for ${i.steps} steps (step ${i.step}, learning rate ${i.lr}): the optimizer makes no progress${String(o.optimizer).toLowerCase() === 'newton' ? '; try --damping or without --hessian-free' : ''}`,
          ),
    onProgress: bar ? (p) => bar.draw(p) : undefined,
    onEpoch: epochPrinter(o, io, bar),
  };
  return {
    fit,
    model: o.model,
    finish(result) {
      const records = result.records;
      const final = finalRecord(records);
      const finalAccuracy = final && !regression ? (final.testAccuracy as number) : NaN;
      if (result.skipped > 0)
        (o.json ? io.err : io.out)(`skipped ${result.skipped} step(s) whose loss or gradient was not finite (--on-nan skip)`);
      for (const line of trainExtensions.flatMap((x) => x.summary?.(o, records) ?? [])) (o.json ? io.err : io.out)(line);
      if (o.save) {
        writeSavedModel(o.save, model, saved);
        if (!o.json) io.out(`saved weights to ${o.save}`);
      }
      const g = final && regression ? regressionFigures(final) : undefined;
      if (!o.json && !o.fullBatch)
        io.out(
          g ? `final test mae ${g.mae.toPrecision(5)}  rmse ${g.rmse.toPrecision(5)}` : `final test accuracy ${finalAccuracy.toFixed(4)}`,
        );
      return { records, finalAccuracy, trainOrder: o.fullBatch ? undefined : (e) => trainLoader.order(e), result, model, saved };
    },
  };
}

/**
 * One descent train run, on the backend --backend resolves to. `data`, when given, is used instead of
 * loading --data (the members of --ensemble N share the data, and its --val-split, of the first seed).
 */
export async function runTrain(
  o: Parsed,
  io: Io,
  extraCallbacks: Callback[] = [],
  resume?: Checkpoint,
  loaded?: LoadedData,
  fingerprints = new FingerprintCache(),
): Promise<TrainRun> {
  preflight(o);
  const lm = isCorpus(o.data);
  // 'auto' and 'webgpu' resolve here; the model line prints the backend that runs
  const refusal = deviceRefusal(o, o.backend === 'webgpu');
  if (o.backend === 'webgpu' && refusal !== null)
    throw new UsageError(`--backend webgpu: ${refusal} runs on the host (it reads values inside a step); use --backend wasm`);
  const sel = await selectTrainBackend(o.backend, refusal ?? true, o.gpuAutotune === true);
  o = { ...o, backend: sel.runs };
  const label = runLabel(sel, o);
  try {
    const p = lm
      ? (await import('../lm-train.js')).prepareLmTrain(o, io, extraCallbacks, resume, label, fingerprints)
      : prepareTrain(o, io, loaded ?? (await loadData(o.data, o)), extraCallbacks, resume, label, fingerprints);
    if (!sel.device) return p.finish(fitRun(p.fit));
    // on a device: the model moves there, trains with the asynchronous loop (resuming p.fit.resume:
    // the checkpoint's parameters and optimizer state are written on the device) and comes back for saving
    await p.fit.model.to(sel.device);
    const result = await fitRunAsync(p.fit);
    await p.fit.model.to('cpu');
    return p.finish(result);
  } finally {
    sel.release();
  }
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model on Fashion-MNIST or your own data and report its test loss and accuracy (a regression: MAE and RMSE) per epoch',
  get options() {
    return [...trainOptions, ...trainExtensions.flatMap((x) => x.options)];
  },
  get helpExtra() {
    return [
      `Models: ${[...models.values()].map((m) => `${m.name} (${m.summary})`).join('; ')}.`,
      `Optimizers: ${optimizerNames().join(', ')}.`,
      ...modelSpecHelp(),
      'Example: descent train --model mlp --optimizer sgd --lr 0.1 --epochs 5 --batch-size 128 --seed 1',
      'Wrappers: descent train --optimizer sam --base sgd --lr 0.05 --momentum 0.9 --rho 0.05; --optimizer lookahead:adam --lr 0.001 --k 5 --alpha 0.5. schedule-free-sgd and schedule-free-adamw are evaluated (and saved) at their average, with BatchNorm statistics recomputed there over the training set.',
      'Checkpoints: descent train ... --checkpoint-dir ck --checkpoint-every 100steps --keep 3; later descent train --resume ck --epochs 10',
      `Language model: descent train --data corpus.txt --context 64 --epochs 5 --save lm.safetensors (characters; --tokens word for words; default model ${LM_DEFAULT_MODEL}, V the vocabulary size), then descent generate --weights lm.safetensors --prompt "The " and descent eval --weights lm.safetensors --data other.txt`,
    ].join('\n');
  },
  async run(o, io) {
    let resume: Checkpoint | undefined;
    // the data is hashed once for the run: the resume check and the checkpoints share the fingerprint
    const fingerprints = new FingerprintCache();
    // a language model's refusals (--cv, --ensemble, …) before those commands take the run
    checkLmFlags(o);
    // --cv K: K runs, one per fold (src/cli/ext/cv.ts)
    if (o.cv !== undefined) return (await import('../ext/cv.js')).runCrossValidation(o, io, fingerprints);
    if (o.resume !== undefined) {
      preflight(o);
      ({ o, checkpoint: resume } = resolveResume(o, io, fingerprints));
    }
    // --ensemble / --snapshots / --swa / --ema report averaged weights or several models (src/cli/ext/ensemble.ts)
    const ens = await import('../ext/ensemble.js');
    if (ens.wantsEnsemble(o)) return ens.runEnsembleTrain(o, io, resume, fingerprints);
    await runTrain(o, io, [], resume, undefined, fingerprints);
  },
};
