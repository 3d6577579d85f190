/**
 * The training loop: forward, loss (+ regularisation terms), backward, step — per batch, or per
 * group of `accumulate` batches whose gradients are summed (each loss divided by the group size
 * N, PyTorch's accumulation loop) — with callbacks for everything else (schedules, penalties,
 * constraints, snapshots, progress), and options for what every run may want: full-batch steps
 * (L-BFGS, Newton), SWA/EMA averages, snapshot ensembles, checkpoints that resume bit for bit, and
 * divergence handling.
 *
 * Optimizers that evaluate other weights than they train (Schedule-Free: the average x; they have
 * `evalWeights()`) are put in train mode when fit() starts and in eval mode when it ends; each
 * evaluation swaps copies of x in and the trained weights back, bit for bit. Optimizers that take
 * several gradients per step (`needsClosure`: SAM) get a closure whose first call is the batch's own
 * forward and backward pass.
 *
 * Divergence: a non-finite loss (data loss plus penalty terms, a scalar the step computes anyway)
 * stops the run with a TrainingError naming the epoch, the step, the learning rate and the last
 * checkpoint, or with onNonFinite 'skip' leaves the step out; a loss above `divergence.factor` (1e4)
 * times the first step's loss stops it too (an explosion without a NaN: Adam at lr 1e6 reaches 1e21).
 * Gradients are not scanned every step unless skipping is asked for (see FitOptions.onNonFinite).
 *
 * Resuming: a checkpoint keeps everything that is not a pure function of the seed and the position.
 * Epoch e's batch order and dropout stream are forks named by e; mid-epoch, the dropout and
 * augmentation streams' exact positions are saved. Callbacks are restored after onTrainBegin and
 * the optimizer last, so a callback that sets the learning rate when training begins cannot
 * override the saved one.
 *
 * It needs no dispose()/tidy(): every intermediate tensor is an ordinary JS object that the garbage
 * collector frees once the step's graph is unreachable. Each parameter keeps one gradient buffer,
 * zeroed before a step's first backward pass (zeroGrad({ setToNone: false }), PyTorch 1.x's
 * zero_grad) and added to by each of its micro-batches: a step allocates no gradient tensors, and
 * on the wasm backend the buffers live in WebAssembly memory. A mid-epoch checkpoint is taken only
 * after a step, so no partial sum is ever pending in a checkpointed run.
 */
import { Tensor, type HostStorage, type Storage } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { Rng, type RngState } from '../tensor/rng.js';
import { noGrad } from '../autograd/engine.js';
import { add, div } from '../autograd/ops.js';
import { crossEntropy } from '../autograd/cross-entropy.js';
import type { Module } from '../nn/module.js';
import { hostScoped, openHostStep } from './step-scope.js';
import { fuse } from '../nn/fuse.js';
import { tracksBatchNorm, updateBatchNorm } from '../nn/batchnorm.js';
import { ClosureOptimizer, Optimizer as OptimizerClass, type AnyOptimizer, type ParamState } from '../optim/optimizer.js';
import type { EpochStart } from '../data/loader.js';
import { classLabels, targetCount } from '../data/tensor-dataset.js';
import { WeightAverage, captureWeights, swaSampling, type WeightAverageState, type WeightSnapshot } from '../ensemble/averaging.js';
import { DeviceAverage } from '../ensemble/device.js';
import { snapshotEnsemble, type SnapshotRun } from '../ensemble/snapshot.js';
import { CHECKPOINT_VERSION, type Checkpoint } from './checkpoint.js';
import { fitFullBatch } from './fullbatch.js';
import { accuracy, binaryAccuracy, type BatchTarget, type Metric } from './metrics.js';
import { hostOnly } from './host-only.js';
import { isLossModule, lossFunction, lossSpec, type Loss, type LossFn } from './loss.js';

export type { Loss, LossFn, LossModule } from './loss.js';
export { lossFunction } from './loss.js';
import { CrossEntropyLoss, BCELoss, BCEWithLogitsLoss } from '../nn/loss.js';
import { binaryCrossEntropy, binaryCrossEntropyWithLogits } from '../autograd/losses.js';
import { bool, checkOptions, fn, num, oneOf, rng as rngSpec, spec, type SchemaOf } from '../util/options.js';
import { hasEvalWeights } from '../optim/schedule-free.js';
import { Newton } from '../optim/newton.js';

const anObject = spec('an object', (v) => typeof v === 'object' && v !== null && !Array.isArray(v));
const source = spec(
  'a batch source (a DataLoader: epoch(e), length, samplesPerEpoch)',
  (v) => typeof v === 'object' && v !== null && typeof (v as { epoch?: unknown }).epoch === 'function',
);
export const fitSchema: SchemaOf<FitOptions> = {
  model: spec('a Module', (v) => typeof v === 'object' && v !== null && typeof (v as { forward?: unknown }).forward === 'function'),
  optimizer: spec('an Optimizer', (v) => typeof v === 'object' && v !== null && typeof (v as { step?: unknown }).step === 'function'),
  train: source,
  test: source,
  epochs: num,
  rng: rngSpec,
  loss: lossSpec,
  metrics: anObject,
  callbacks: spec('an array of callbacks', (v) => Array.isArray(v)),
  onProgress: fn,
  onEpoch: fn,
  now: fn,
  fullBatch: bool,
  checkpoint: anObject,
  resume: anObject,
  onNonFinite: oneOf('stop', 'skip'),
  onSkip: fn,
  onStall: fn,
  divergence: spec('an object { factor } or false', (v) => v === false || (typeof v === 'object' && v !== null)),
  swa: anObject,
  ema: anObject,
  snapshots: anObject,
  batchNormData: spec('a batch source (a DataLoader) or false', (v) => v === false || source.test(v)),
  accumulate: num,
};
export const evaluateSchema: SchemaOf<EvaluateOptions> = { loss: lossSpec, metrics: anObject, optimizer: fitSchema.optimizer };

/**
 * Where fit recomputes BatchNorm's running statistics for an optimizer's evaluated weights
 * (FitOptions.batchNormData): the batches of `data`'s epoch 0, dropout masks from a fresh `rng()`.
 */
export interface BatchNormRefresh {
  data: BatchSource;
  rng: () => Rng;
}

/**
 * fit's BatchNorm refresh: for an optimizer with evaluated weights of its own (Schedule-Free) and a
 * model with BatchNorm layers that keep running statistics, unless `batchNormData` is false.
 */
export function batchNormRefresh(o: FitOptions): BatchNormRefresh | undefined {
  if (o.batchNormData === false || !hasEvalWeights(o.optimizer) || !tracksBatchNorm(o.model)) return undefined;
  const rng = o.rng;
  return { data: o.batchNormData ?? o.train, rng: () => rng.fork('update-bn') };
}

/** updateBatchNorm over a refresh's batches (PyTorch's update_bn). */
function refreshBatchNorm(model: Module, bn: BatchNormRefresh): void {
  updateBatchNorm(model, bn.data.epoch(0), { rng: bn.rng() });
}

/**
 * Run `fn` with the optimizer's evaluated weights in the parameters (Schedule-Free: the average x)
 * and put the trained ones back bit for bit, so evaluating never changes training. With `bn`, when
 * the evaluated weights differ from the trained ones, BatchNorm's running statistics are recomputed
 * at them for `fn` and the model's own put back after. `fn` learns whether any weights were swapped.
 */
function withEvalWeights<T>(model: Module, optimizer: unknown, bn: BatchNormRefresh | undefined, fn: (swapped: boolean) => T): T {
  if (!hasEvalWeights(optimizer)) return fn(false);
  const swaps = optimizer.evalWeights();
  const kept = swaps.map(([p]) => p.data.slice());
  const buffers: [Tensor, HostStorage][] = bn && swaps.length ? model.namedBuffers().map(([, b]) => [b, b.data.slice()]) : [];
  for (const [p, x] of swaps) p.data.set(x);
  try {
    if (buffers.length) refreshBatchNorm(model, bn!);
    return fn(swaps.length > 0);
  } finally {
    swaps.forEach(([p], i) => p.data.set(kept[i]));
    for (const [b, d] of buffers) b.data.set(d);
  }
}

/**
 * The end of fit and fitAsync for an optimizer with evaluated weights: its eval() (the parameters
 * hold x) and, with `bn`, BatchNorm's running statistics recomputed at x, so the model returned
 * holds what the last evaluation saw.
 */
export function endInEvalMode(model: Module, optimizer: unknown, bn: BatchNormRefresh | undefined): void {
  if (!hasEvalWeights(optimizer)) return;
  const differs = bn !== undefined && optimizer.evalWeights().length > 0;
  optimizer.eval();
  if (differs) refreshBatchNorm(model, bn);
}

/**
 * FitOptions.accumulate, checked (`who` names the loop): an integer ≥ 1, and 1 for full-batch runs
 * and for optimizers whose step re-evaluates the loss (a closure over one batch cannot see a group).
 */
export function checkAccumulate(who: string, o: Pick<FitOptions, 'accumulate' | 'fullBatch' | 'optimizer'>): number {
  const n = o.accumulate ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${who}: accumulate must be a positive integer, got ${n}`);
  if (n === 1) return n;
  if (o.fullBatch)
    throw new RangeError(`${who}: accumulate ${n} needs mini-batch steps; fullBatch already takes every step on the whole training set`);
  const opt = o.optimizer;
  if (reEvaluatesLoss(opt))
    throw new RangeError(
      `${who}: accumulate ${n} cannot apply to ${opt.rule.name}, which re-evaluates the loss inside its step (a closure over one batch); use accumulate 1`,
    );
  return n;
}

/** Whether the `index`-th micro-batch of an epoch (from 1) ends its group: every `accumulate`-th, and the epoch's last. */
export function groupEnds(index: number, accumulate: number, batches: number): boolean {
  return index % accumulate === 0 || index >= batches;
}

/** A micro-batch's loss as it is differentiated: divided by `accumulate` (the very tensor when it is 1). */
export function scaledLoss(loss: Tensor, accumulate: number): Tensor {
  return accumulate === 1 ? loss : div(loss, accumulate);
}

/** onStepEnd's loss: a group's mean data loss per sample (the batch's own when there is one). */
export function groupLoss(group: readonly { n: number; dataLoss: number }[]): number {
  if (group.length === 1) return group[0].dataLoss;
  let seen = 0,
    sum = 0;
  for (const m of group) {
    seen += m.n;
    sum += m.dataLoss * m.n;
  }
  return sum / Math.max(seen, 1);
}

/** Whether the optimizer's step re-evaluates the loss through a closure (L-BFGS, Newton, SAM): it cannot sum gradients over batches. */
export function reEvaluatesLoss(optimizer: unknown): boolean {
  return needsClosure(optimizer) || optimizer instanceof ClosureOptimizer;
}

/** The closure-driven step of an optimizer that evaluates the gradient more than once (SAM). */
export function needsClosure(optimizer: unknown): boolean {
  return (optimizer as { needsClosure?: boolean }).needsClosure === true;
}

/**
 * The float targets the default loss, crossEntropy, takes: class probabilities [B, C] with C ≥ 2
 * (crossEntropy checks that C is the output's). Other float targets — [B, 1] or [B, …] for
 * regression — need a loss of their own, named in the error: a single column would be a
 * cross-entropy of one class, 0 whatever the model says.
 */
export function checkDefaultLossTargets(who: string, y: BatchTarget): void {
  if (y instanceof Tensor && !(y.ndim === 2 && y.shape[1] >= 2))
    throw new TypeError(
      `${who}: the targets are a float tensor [${y.shape.join(', ')}]; give a loss for them, such as loss: mseLoss (the default, crossEntropy, takes class labels or class probabilities [B, C] of the output's shape)`,
    );
}

/**
 * The metrics evaluated when none are given: accuracy for class labels, and for class
 * probabilities under cross-entropy (arg-max against arg-max: targets [B, C] of the output's shape);
 * binary accuracy (as `accuracy`) under the binary cross-entropies; none for other float targets
 * (a regression's, or a sequence model's ids [B, T] against its output [B, T, V]).
 */
export function defaultMetrics(y: BatchTarget, loss: Loss | undefined, output: Tensor): Record<string, Metric> {
  const threshold = binaryThreshold(loss);
  if (threshold !== null) return { accuracy: binaryAccuracy(threshold) };
  const crossEntropyLoss = loss === undefined || loss === crossEntropy || loss instanceof CrossEntropyLoss;
  const probabilities = y instanceof Tensor && y.ndim === 2 && y.shape[1] >= 2 && sameShape(y.shape, output.shape);
  return !(y instanceof Tensor) || (crossEntropyLoss && probabilities) ? { accuracy } : {};
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** An evaluation's metrics, fixed at its first batch: the given ones, else defaultMetrics; each must be a function. */
export function evaluationMetrics(who: string, o: EvaluateOptions, y: BatchTarget, output: Tensor): [string, Metric][] {
  const metrics = Object.entries(o.metrics ?? defaultMetrics(y, o.loss, output));
  for (const [name, m] of metrics)
    if (typeof m !== 'function') throw new TypeError(`${who}: metric "${name}" must be a function (output, target) => number`);
  return metrics;
}

/**
 * The binary losses' decision threshold, as Keras resolves 'accuracy' to binary accuracy under a
 * binary cross-entropy: 0 for logits (BCE with logits), ½ for probabilities (BCE); null for others.
 */
function binaryThreshold(loss: Loss | undefined): number | null {
  if (loss === binaryCrossEntropyWithLogits || loss instanceof BCEWithLogitsLoss) return 0;
  if (loss === binaryCrossEntropy || loss instanceof BCELoss) return 0.5;
  return null;
}

export interface LabeledBatch {
  x: Tensor;
  /** Class labels (one per sample), or a float tensor [B, …] of targets. */
  y: BatchTarget;
  /** The epoch's augmentation stream after this batch (the DataLoader sets it); saved in checkpoints. */
  transformRng?: Rng;
}

/** Anything that yields the batches of one epoch (the DataLoader is one). */
export interface BatchSource {
  /**
   * The batches of epoch `e`. Resuming a checkpoint taken mid-epoch passes `start`: the source must
   * then begin at batch `start.batch` with its augmentation stream at `start.transformRng` (the
   * DataLoader does; fit() refuses a source that yields more batches than are left).
   */
  epoch(e: number, start?: EpochStart): Iterable<LabeledBatch>;
  /** Batches per epoch. */
  readonly length: number;
  readonly samplesPerEpoch: number;
}

/**
 * What callbacks see. Numbering, the same in TrainState, Progress, EpochRecord, TrainingError and
 * onSkip: epochs and steps are counted from 1, as printed ("epoch 1/5", Keras's convention); the
 * first epoch is epoch 1 and its first step is step 1. `step` here is a count: the steps taken so
 * far, so while step k runs (onStepBegin) it is k − 1 and after it (onStepEnd) k — the 0-based index
 * of the step about to be taken, which is what a schedule of the step count reads. A checkpoint's
 * `epoch` is likewise the number of epochs completed.
 */
export interface TrainState {
  model: Module;
  optimizer: AnyOptimizer;
  /** The epoch being run, from 1 to `epochs` (0 in onTrainBegin, before any epoch). */
  epoch: number;
  epochs: number;
  /** Optimizer steps taken so far (one per batch, or per group with `accumulate`): 0 before the first; a skipped step counts (see onNonFinite). */
  step: number;
  /** Optimizer steps per epoch: the batches, ⌈batches / accumulate⌉ (1 with fullBatch). */
  stepsPerEpoch: number;
  /** Set by a callback to end training after the current epoch (early stopping). */
  stop: boolean;
  /**
   * The parameters and buffers evaluation uses, by name (host copies), when they are not the
   * model's own: an optimizer evaluated at weights of its own (Schedule-Free's average x, with
   * BatchNorm's running statistics recomputed there as each evaluation recomputes them, so with
   * BatchNorm a call costs a pass over that data). Undefined when evaluation uses the model as it
   * is. What a callback that saves the evaluated model writes (modelCheckpoint); fit and fitAsync
   * set it.
   */
  evaluatedState?(): Checkpoint['evalModel'];
}

/** The state that fit and fitAsync start from and hand to their callbacks: no epoch begun, no step taken. */
export function trainState(
  model: Module,
  optimizer: AnyOptimizer,
  epochs: number,
  stepsPerEpoch: number,
  evaluatedState: () => Checkpoint['evalModel'],
): TrainState {
  return { model, optimizer, epoch: 0, epochs, step: 0, stepsPerEpoch, stop: false, evaluatedState };
}

/**
 * One finished epoch. `epoch` counts from 1 (see TrainState for the numbering). With a `test`
 * source the record carries `testLoss` and each metric under `test` + its name with a capital
 * (metrics `{ accuracy, mae }` give `testAccuracy` and `testMae`).
 */
export interface EpochRecord {
  /** The epoch, from 1 to `epochs`, as printed ("epoch 1/5"). */
  epoch: number;
  /** Mean data loss per sample over the epoch's applied steps (without penalty terms, not divided by `accumulate`). */
  trainLoss: number;
  /** Mean of each extra loss term (e.g. l1, l2) over the epoch's batches. */
  terms: Record<string, number>;
  /** Mean loss on the test source (when fit has one). */
  testLoss?: number;
  /** Arg-max accuracy on the test source (the default metric for class labels). */
  testAccuracy?: number;
  /** Learning rate at the end of the epoch. */
  lr: number;
  seconds: number;
  samplesPerSec: number;
  [extra: string]: unknown;
}

export interface Callback {
  /**
   * Name under which `state()` is kept in checkpoints; a callback with state() needs one, unique in
   * the run. On resume, `loadState()` is called after onTrainBegin with what `state()` returned.
   */
  key?: string;
  state?(): unknown;
  loadState?(state: unknown): void;
  onTrainBegin?(s: TrainState): void;
  /** At the start of an epoch (not called again when a run resumes in the middle of one). */
  onEpochBegin?(s: TrainState): void;
  /** Before the forward pass of a step, its first micro-batch's with `accumulate` (a schedule sets the learning rate here). */
  onStepBegin?(s: TrainState): void;
  /** Extra differentiable loss terms for this step, by name (L1, L2, Elastic Net penalties); asked for each micro-batch, divided by `accumulate` with its loss. */
  lossTerms?(s: TrainState): Record<string, Tensor>;
  /**
   * After the backward pass, before optimizer.step(): edits of the gradients (clipping) go here.
   * With `accumulate`, once per step, after the group's last backward pass (the summed gradients).
   * Called for every gradient the optimizer steps with: a closure optimizer's re-evaluations too
   * (SAM: twice a step; full-batch L-BFGS: every evaluation of its line search). Not called for a
   * skipped step. fitAsync calls it inside the step, before any of the step's values is read.
   * Newton differentiates the loss itself (a Hessian too), so fit refuses it with such a callback.
   */
  onGradients?(s: TrainState): void;
  /**
   * Right after optimizer.step(), before the next forward pass: edits of the parameters (proximal
   * steps, constraints, decoupled decay) go here. fitAsync calls it inside the step, before any of
   * the step's values is read, so on a device it queues kernels and reads nothing. Not called for a
   * skipped step. The swa, ema and snapshots options sample here, after the caller's callbacks.
   */
  onUpdate?(s: TrainState): void;
  /**
   * After the step's update, with its data loss (logs, reports): with `accumulate`, the group's
   * mean data loss per sample. Not called for a skipped step. fitAsync calls it when the loss has arrived (a step late) and awaits a returned promise.
   */
  onStepEnd?(s: TrainState, loss: number): void;
  /** After evaluation; may add fields to the record. fitAsync awaits a returned promise (fit does not). */
  onEpochEnd?(s: TrainState, record: EpochRecord): void;
  onTrainEnd?(s: TrainState): void;
}

/** After each step: where the run is (numbered from 1, see TrainState) and how fast it goes. */
export interface Progress {
  /** The epoch being run, from 1 to `epochs`. */
  epoch: number;
  epochs: number;
  /** Batches of this epoch done, from 1 to `numBatches` (reported after each step: by groups with `accumulate`). */
  batch: number;
  numBatches: number;
  /** Mean data loss of the epoch's batches so far. */
  loss: number;
  samplesPerSec: number;
  etaSeconds: number;
}

export interface CheckpointOptions {
  /** Receives each checkpoint (a Node program writes it with `checkpointDir`); may return a label for messages, such as the file name. */
  save(c: Checkpoint): string | void;
  /** A checkpoint after every k epochs (default 1 when everySteps is not given). The run's last epoch always ends with one. */
  everyEpochs?: number;
  /** A checkpoint after every k optimizer steps, mid-epoch included (with `accumulate`, at the end of a group). */
  everySteps?: number;
  /** Stored with each checkpoint as `meta` (the CLI keeps its options there). */
  meta?: Record<string, unknown>;
}

/**
 * The explosion rule: training stops when a step's data loss exceeds `factor` times the first
 * step's data loss (the reference is kept in checkpoints, so a resumed run uses the same one).
 */
export interface DivergenceOptions {
  /** Default 1e4: cross-entropy starting at ln 10 ≈ 2.3 stops above 2.3e4. */
  factor?: number;
}

export interface FullBatchFitRecord {
  evals: number;
  iters: number;
  hvps?: number;
}

export interface FitOptions {
  model: Module;
  optimizer: AnyOptimizer;
  train: BatchSource;
  test?: BatchSource;
  /** Epochs of the whole run (a resumed run continues up to this many). */
  epochs: number;
  /** Draws stochastic layers' masks (dropout, DropConnect) while training. */
  rng: Rng;
  /**
   * The training objective, a function or a loss object (default crossEntropy, for class labels
   * or class probabilities [B, C]; for other float targets mseLoss, huberLoss, l1Loss,
   * binaryCrossEntropyWithLogits (0/1 labels of the output's shape), …).
   */
  loss?: Loss;
  /**
   * Evaluated on `test` after every epoch, each reported as `test` + its capitalised name
   * (`{ mae }` → `testMae`): accuracy, topKAccuracy(k), mae, mse or a function
   * `(output, target) => number`. Default: `{ accuracy }` when the targets are class labels, or
   * class probabilities [B, C] under the default loss; none for other float targets; `{}`
   * evaluates the loss only.
   */
  metrics?: Record<string, Metric>;
  callbacks?: Callback[];
  onProgress?: (p: Progress) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Clock in milliseconds (performance.now by default). */
  now?: () => number;
  /**
   * Every step on the whole training set (all of `train`'s epoch 0 in one batch): one optimizer
   * step per epoch through a closure, as L-BFGS and Newton need (see fullbatch.ts). Records gain
   * `evals`, `iters` and (Newton) `hvps`.
   */
  fullBatch?: boolean;
  /** Write checkpoints (see CheckpointOptions). */
  checkpoint?: CheckpointOptions;
  /** Continue the run a checkpoint describes (the same model, optimizer, data and callbacks must be given). */
  resume?: Checkpoint;
  /**
   * A non-finite loss or gradient: 'stop' (default) throws a TrainingError; 'skip' does not apply
   * the step, counts it (FitResult.skipped, onSkip) and goes on. With 'skip' every step's gradients
   * are checked (one pass over them); with 'stop' the loss is checked every step (a scalar) and the
   * parameters at every epoch end and before every checkpoint, so a non-finite gradient with a
   * finite loss stops the run at the next step whose loss it makes non-finite, or at the latest at
   * the epoch's end (ReLU can hide NaN weights from the loss), and never reaches a checkpoint.
   */
  onNonFinite?: 'stop' | 'skip';
  onSkip?: (info: { epoch: number; step: number; reason: string }) => void;
  /**
   * Full batch only: called once when the loss has stayed exactly the same for `stallSteps` (3)
   * steps in a row — the optimizer makes no progress (e.g. a line search that finds no decrease) —
   * or with `stopped` when the optimizer itself reports that its step changed nothing and every
   * further step would repeat it (Newton's `stalled`), at which point the run ends there.
   */
  onStall?: (info: { step: number; steps: number; loss: number; lr: number; stopped?: boolean }) => void;
  /** The explosion rule (on by default); false turns it off. */
  divergence?: DivergenceOptions | false;
  /** Stochastic weight averaging of the weights at every epoch end from `startEpoch` (1-based) on, or every `everySteps` steps. */
  swa?: { startEpoch?: number; everySteps?: number };
  /** Exponential moving average of the weights, updated after every step. */
  ema?: { decay: number };
  /** Snapshot ensemble: `cycles` cosine cycles over the run's steps from the optimizer's lr, a snapshot at each cycle's end. */
  snapshots?: { cycles: number };
  /**
   * An optimizer evaluated at other weights than it trains (Schedule-Free: the average x) and a
   * model with BatchNorm: the running statistics gathered while training belong to the trained
   * weights y, so they are recomputed at x (updateBatchNorm, PyTorch's update_bn: a training-mode
   * pass over this source's epoch 0, dropout masks from `rng.fork('update-bn')`) for every
   * evaluation and every checkpoint's `evalModel` (and put back after: training is unchanged to
   * the bit), and at the end of the run, where the model is left at x with them. Default `train`;
   * false keeps the statistics of y.
   */
  batchNormData?: BatchSource | false;
  /**
   * Gradient accumulation (PyTorch's usual loop, Keras's gradient_accumulation_steps): each
   * optimizer step sums the gradients of `accumulate` consecutive batches (micro-batches), each
   * micro-batch's loss (penalty terms included) divided by `accumulate`; an epoch's last group steps
   * with the micro-batches left, still divided by `accumulate`. Default 1: a step per batch. Steps
   * (TrainState.step, schedules, onStepBegin/onStepEnd, onGradients, onProgress, everySteps, the
   * divergence messages) count optimizer steps, `stepsPerEpoch` is ⌈batches / accumulate⌉, and
   * onStepEnd receives the group's mean data loss per sample. Records' trainLoss is the mean data
   * loss over the epoch's samples, as without it. With onNonFinite 'skip' a group with a non-finite
   * loss or summed gradient is skipped whole (one skipped step). Refused with fullBatch and with
   * optimizers that re-evaluate the loss inside their step (SAM, L-BFGS, Newton).
   */
  accumulate?: number;
}

/** What fitRun returns: the epoch records and what the run's options asked to keep. */
export interface FitResult {
  records: EpochRecord[];
  /** Steps whose update was not applied (onNonFinite 'skip'). */
  skipped: number;
  swa?: WeightAverage;
  ema?: WeightAverage;
  snapshots?: SnapshotRun;
  /** The label returned by the last checkpoint save. */
  lastCheckpoint?: string;
}

export type DivergenceReason = 'non-finite loss' | 'non-finite parameters' | 'exploded';

/** Training diverged: the loss (or the parameters) became non-finite, or the loss exploded. */
export class TrainingError extends Error {
  override name = 'TrainingError';
  constructor(
    message: string,
    readonly details: { reason: DivergenceReason; epoch: number; step: number; lr: number; value: number; lastCheckpoint?: string } = {
      reason: 'non-finite loss',
      epoch: 0,
      step: 0,
      lr: NaN,
      value: NaN,
    },
  ) {
    super(message);
  }
  get epoch(): number {
    return this.details.epoch;
  }
  get step(): number {
    return this.details.step;
  }
  get lr(): number {
    return this.details.lr;
  }
  get lastCheckpoint(): string | undefined {
    return this.details.lastCheckpoint;
  }
}

const defaultNow = () => (globalThis.performance ? performance.now() : Date.now());

/** Train for `epochs` epochs; returns one record per epoch (fitRun returns the averages and snapshots too). */
export function fit(o: FitOptions): EpochRecord[] {
  return fitRun(o).records;
}

/** True when every value is finite (one pass, stopping at the first that is not). */
export function everyFinite(d: ArrayLike<number>): boolean {
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  return true;
}

/** True when every parameter and buffer is finite (a NaN running variance spoils every evaluation). */
export function allFinite(model: Module): boolean {
  return model.namedState().every(([, p]) => everyFinite(p.data));
}

/** True when every gradient is finite (one pass over them on the host). */
export function gradsFinite(optimizer: AnyOptimizer): boolean {
  for (const g of optimizer.paramGroups) {
    for (const p of g.params) {
      const d = p.grad?.data;
      if (d && !everyFinite(d)) return false;
    }
  }
  return true;
}

/** fit's and fitAsync's `onProgress` call after a step of epoch `epoch` (from 1), `batch` batches into it. */
export function reportProgress(o: FitOptions, epoch: number, batch: number, acc: EpochSums): void {
  if (!o.onProgress || acc.seen === 0) return;
  const rate = acc.seen / Math.max(acc.seconds, 1e-9);
  o.onProgress({
    epoch,
    epochs: o.epochs,
    batch,
    numBatches: o.train.length,
    loss: acc.lossSum / acc.seen,
    samplesPerSec: rate,
    etaSeconds: (o.train.samplesPerEpoch - acc.seen) / rate,
  });
}

/** The checkpoint options' counts, checked by fit and fitAsync (`who` names the loop in the message). */
export function checkCheckpointOptions(who: string, ck: CheckpointOptions | undefined): void {
  for (const name of ['everyEpochs', 'everySteps'] as const) {
    const v = ck?.[name];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1))
      throw new RangeError(`${who}: checkpoint.${name} must be a positive integer, got ${v}`);
  }
}

/** Every callback with state() has a key, unique in the run (checkpoints keep the states by key). */
/** Newton builds its gradient and Hessian from the loss inside its step: a gradient edit (onGradients) would not reach them. */
export function checkGradientHooks(who: string, optimizer: AnyOptimizer, cbs: readonly Callback[]): void {
  if (optimizer instanceof Newton && cbs.some((c) => c.onGradients))
    throw new RangeError(
      `${who}: Newton differentiates the loss inside its step (gradient and Hessian), so a callback's onGradients edit (gradient clipping) cannot apply; drop the clipping or use another optimizer`,
    );
}

export function checkCallbackKeys(who: string, cbs: readonly Callback[]): void {
  const keys = new Set<string>();
  for (const c of cbs) {
    if (!c.state) continue;
    if (!c.key) throw new RangeError(`${who}: a callback with state() needs a key to be kept in checkpoints`);
    if (keys.has(c.key)) throw new RangeError(`${who}: two callbacks have the key "${c.key}"`);
    keys.add(c.key);
  }
}

/**
 * The callbacks behind the options swa, ema and snapshots, for fit and fitAsync alike. `first` (the
 * snapshot schedule, which sets the lr before a step) goes before the caller's callbacks, `last`
 * after them, so a sample sees the weights once every onUpdate edit (a constraint, a proximal step)
 * is applied. A sample is taken inside the step (onUpdate; SWA's epoch samples in onEpochEnd): on
 * the host WeightAverage.update and captureWeights, exactly; for parameters on a device the averages
 * live there (DeviceAverage: queued kernels, nothing read) and a snapshot is a read issued at its
 * step. `settle()` brings what a device holds to the host (the averages into `result.swa`/`result.ema`,
 * the snapshots read so far into `result.snapshots`): before a checkpoint keeps their states and
 * when the run ends. The states' form is the same on the host and on a device, so a run
 * checkpointed by either loop resumes in the other.
 */
export function averagingCallbacks(
  who: string,
  o: Pick<FitOptions, 'swa' | 'ema' | 'snapshots' | 'fullBatch' | 'model'>,
  result: FitResult,
): { first: Callback[]; last: Callback[]; settle(): Promise<void> } {
  const first: Callback[] = [];
  const last: Callback[] = [];
  const settles: (() => Promise<void>)[] = [];
  const named = o.model.namedParameters();
  const onDevice = named.some(([, p]) => isDeviceStorage(p.storage));
  if (o.snapshots) {
    if (o.fullBatch) throw new RangeError(`${who}: snapshots need mini-batch steps, not fullBatch`);
    const cycles = o.snapshots.cycles;
    let run: SnapshotRun | undefined;
    let plan: { lr: number; totalSteps: number } | undefined;
    // device snapshots in flight, in step order
    const reading: Promise<WeightSnapshot>[] = [];
    const make = (p: { lr: number; totalSteps: number }, snaps: WeightSnapshot[] = []) => {
      plan = p;
      run = snapshotEnsemble({ ...p, cycles });
      run.snapshots.push(...snaps);
    };
    Object.defineProperty(result, 'snapshots', { get: () => run, enumerable: true });
    first.push({
      key: 'snapshots',
      onTrainBegin(s) {
        const totalSteps = s.epochs * s.stepsPerEpoch;
        if (cycles > totalSteps) throw new RangeError(`${who}: snapshots.cycles ${cycles} is more than the run's ${totalSteps} steps`);
        make({ lr: s.optimizer.lr, totalSteps });
      },
      onStepBegin: (s) => run!.callbacks[0].onStepBegin(s),
      state: () => ({ ...plan, snapshots: run!.snapshots.map((m) => Object.fromEntries(m)) }),
      loadState(st) {
        const v = st as { lr: number; totalSteps: number; snapshots: Record<string, Float32Array | Float64Array>[] };
        make(
          { lr: v.lr, totalSteps: v.totalSteps },
          v.snapshots.map((x) => new Map(Object.entries(x))),
        );
      },
    });
    last.push({
      onUpdate(s) {
        if (!run!.at.includes(s.step)) return;
        if (!onDevice) run!.snapshots.push(captureWeights(s.model));
        else {
          // each read is issued now, so it holds this step's values whenever it resolves; a snapshot
          // is a whole model (parameters and buffers), an average is of the parameters alone
          const whole = s.model.namedState();
          const values = whole.map(([, p]) => p.read());
          reading.push(Promise.all(values).then((vs) => new Map(whole.map(([n], i) => [n, vs[i]]))));
        }
      },
    });
    settles.push(async () => {
      for (const r of reading.splice(0)) run!.snapshots.push(await r);
    });
  }
  const average = (avg: WeightAverage, key: 'swa' | 'ema', due: { atStep(s: TrainState): boolean; atEpoch(s: TrainState): boolean }) => {
    const dev = onDevice ? new DeviceAverage(avg, named) : null;
    const take = (s: TrainState) => (dev ? dev.sample() : avg.update(s.model));
    last.push({
      key,
      onUpdate: (s) => void (due.atStep(s) && take(s)),
      onEpochEnd: (s) => void (due.atEpoch(s) && take(s)),
      state: () => avg.stateDict(),
      loadState(v) {
        avg.loadStateDict(v as WeightAverageState);
        dev?.load();
      },
    });
    if (dev) settles.push(() => dev.sync());
  };
  if (o.swa) average((result.swa = new WeightAverage('swa')), 'swa', swaSampling(o.swa));
  if (o.ema) average((result.ema = new WeightAverage('ema', o.ema.decay)), 'ema', { atStep: () => true, atEpoch: () => false });
  return {
    first,
    last,
    async settle() {
      for (const f of settles) await f();
    },
  };
}

/**
 * The checkpoint's parameters written into the model, where they live: on the host into `data`, on a
 * device with DeviceStorage.write (ordered with the kernels queued around it). Names, shapes and
 * dtypes are checked first, so a refused checkpoint changes nothing.
 */
function restoreModel(who: string, model: Module, c: Checkpoint): void {
  const named = model.namedState();
  const buffers = new Set(model.buffers());
  const saved = Object.keys(c.model);
  for (const [n, p] of named) {
    const what = buffers.has(p) ? 'buffer' : 'parameter';
    const e = c.model[n];
    if (!e)
      throw new RangeError(
        `${who}: the checkpoint has no ${what} "${n}" (it holds ${saved.join(', ')}); resume with the model it was taken from`,
      );
    if (e.data.length !== p.size || e.shape.join('x') !== p.shape.join('x'))
      throw new RangeError(`${who}: ${what} "${n}" has shape [${p.shape.join(', ')}], the checkpoint's has [${e.shape.join(', ')}]`);
    if (e.data instanceof Float64Array !== (p.dtype === 'float64'))
      throw new RangeError(
        `${who}: ${what} "${n}" is ${p.dtype}, the checkpoint's is ${e.data instanceof Float64Array ? 'float64' : 'float32'}`,
      );
  }
  if (saved.length !== named.length)
    throw new RangeError(`${who}: the checkpoint has ${saved.length} parameters and buffers, the model ${named.length}`);
  for (const [n, p] of named) {
    const st = p.storage;
    if (isDeviceStorage(st)) st.write(c.model[n].data as Float32Array);
    else st.set(c.model[n].data);
  }
}

function hostArray(v: Storage): HostStorage {
  if (isDeviceStorage(v)) throw new Error(`optimizer state lives on ${v.device}; a checkpoint of it is taken by fitAsync`);
  return v;
}

/**
 * The optimizer's stateDict(), with the per-parameter arrays kept as typed arrays (exact, half the
 * bytes of float64 numbers for float32 state) when the optimizer uses the base class's form; L-BFGS
 * and Newton keep their own (global) form.
 */
export function optimizerState(optimizer: AnyOptimizer, device: Map<Storage, HostStorage> = new Map()): Checkpoint['optimizer'] {
  if (!(optimizer instanceof OptimizerClass) || optimizer.stateDict !== OptimizerClass.prototype.stateDict) return optimizer.stateDict();
  const state: Record<string, Record<string, unknown>> = {};
  for (const [name, st] of optimizer.state) {
    const e: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(st as ParamState))
      if (v !== undefined) e[k] = typeof v === 'number' ? v : (device.get(v) ?? hostArray(v)).slice();
    state[name] = e;
  }
  const paramGroups = optimizer.paramGroups.map(({ params, ...h }) => ({
    ...h,
    params: (params as Tensor[]).map((p) => optimizer.nameOf(p)),
  }));
  return { optimizer: optimizer.rule.name, state, paramGroups } as unknown as Checkpoint['optimizer'];
}

/**
 * After onTrainBegin: the callbacks' states, then the optimizer's last, so a callback that sets the
 * learning rate when training begins cannot override the saved one. Optimizer.loadStateDict puts
 * the arrays where a fresh state would live (wasm memory, or the parameter's device).
 */
export function restoreRunState(cbs: readonly Callback[], optimizer: AnyOptimizer, c: Checkpoint): void {
  for (const cb of cbs) if (cb.key && cb.loadState && c.callbacks[cb.key] !== undefined) cb.loadState(c.callbacks[cb.key]);
  optimizer.loadStateDict(c.optimizer);
}

/** The running sums of an epoch: what a record averages and a mid-epoch checkpoint keeps. */
export interface EpochSums {
  seen: number;
  lossSum: number;
  termSums: Record<string, number>;
  seconds: number;
}

/** Where a resumed run continues (see resumeRun). */
export interface ResumePoint {
  /** 0-based epoch to run first. */
  epoch: number;
  /** Batches of that epoch already trained on (0: it starts from its first). */
  batch: number;
  skipped: number;
  /** The running sums of the epoch in progress (zeros when `batch` is 0). */
  partial: EpochSums;
  /** The dropout stream of the epoch in progress, at the step boundary (mid-epoch only). */
  masks?: Rng;
  /** The augmentation stream of the epoch in progress (mid-epoch only). */
  transform?: RngState;
}

/**
 * fit's and fitAsync's resume, before onTrainBegin: the checkpoint checked against the run (`who`
 * names the loop in messages), the model's parameters restored where they live, the step count,
 * the finished epochs' records and the divergence reference set; returns where the run continues.
 */
export function resumeRun(
  who: string,
  c: Checkpoint,
  o: Pick<FitOptions, 'model' | 'train' | 'epochs' | 'fullBatch' | 'accumulate'>,
  s: TrainState,
  records: EpochRecord[],
  div: { reference: number; samples: number },
): ResumePoint {
  const { epochs, train } = o;
  if (c.epoch > epochs || (c.epoch === epochs && c.batch > 0))
    throw new RangeError(`${who}: the checkpoint is at epoch ${c.epoch + (c.batch > 0 ? 1 : 0)} of ${c.epochs}; epochs ${epochs} is fewer`);
  if (!o.fullBatch && c.batch > train.length)
    throw new RangeError(`${who}: the checkpoint is at batch ${c.batch} of its epoch, the data has ${train.length} batches per epoch`);
  // a group's micro-batches sum into one step: the same grouping, or the steps and schedules would differ
  const then = c.accumulate ?? 1,
    now = o.accumulate ?? 1;
  if (then !== now)
    throw new RangeError(
      `${who}: the checkpoint was taken with accumulate ${then}, this run has accumulate ${now}; resume with accumulate ${then}`,
    );
  if (c.batch % now !== 0 && c.batch !== train.length)
    throw new RangeError(
      `${who}: the checkpoint is at batch ${c.batch}, inside a group of accumulate ${now} (checkpoints are taken between groups)`,
    );
  restoreModel(who, o.model, c);
  s.step = c.step;
  records.push(...(c.records as EpochRecord[]));
  div.reference = c.divergence.reference;
  div.samples = c.divergence.samples;
  const at: ResumePoint = {
    epoch: c.epoch,
    batch: c.batch,
    skipped: c.skipped,
    partial: { seen: 0, lossSum: 0, termSums: {}, seconds: 0 },
  };
  if (c.batch > 0) {
    at.partial = { ...c.partial, termSums: { ...c.partial.termSums } };
    if (c.rng.masks) at.masks = Rng.fromState(c.rng.masks);
    at.transform = c.rng.transform;
  }
  return at;
}

/** A run's position and running figures at a step boundary, as a checkpoint records them. */
export interface RunPosition {
  epochs: number;
  /** Epochs completed (an epoch-end checkpoint) or the 0-based epoch in progress (`batch` > 0). */
  epoch: number;
  batch: number;
  step: number;
  skipped: number;
  /** The epoch's dropout and augmentation streams, kept when `batch` > 0. */
  masks?: Rng;
  transform?: Rng;
  records: readonly EpochRecord[];
  partial: EpochSums;
  divergence: { reference: number; samples: number };
  meta?: Record<string, unknown>;
  /** FitOptions.accumulate (kept when it is not 1). */
  accumulate?: number;
}

/**
 * The checkpoint of fit and fitAsync: `model` the parameters' values (read where they live), and
 * `optimizer` its state dict (optimizerState, with device arrays read back).
 */
export function checkpointOf(
  at: RunPosition,
  model: Checkpoint['model'],
  extra: Pick<Checkpoint, 'evalModel'>,
  optimizer: Checkpoint['optimizer'],
  cbs: readonly Callback[],
): Checkpoint {
  return {
    version: CHECKPOINT_VERSION,
    epochs: at.epochs,
    epoch: at.epoch,
    batch: at.batch,
    step: at.step,
    skipped: at.skipped,
    model,
    ...extra,
    optimizer,
    callbacks: Object.fromEntries(cbs.filter((c) => c.state).map((c) => [c.key as string, c.state!()])),
    rng: at.batch > 0 ? { masks: at.masks?.getState(), transform: at.transform?.getState() } : {},
    records: at.records.map((r) => ({ ...r })),
    partial: { ...at.partial, termSums: { ...at.partial.termSums } },
    divergence: { ...at.divergence },
    meta: at.meta,
    ...(at.accumulate !== undefined && at.accumulate !== 1 ? { accumulate: at.accumulate } : {}),
  };
}

/** Whether epoch `e` (0-based) ends with a checkpoint: every `everyEpochs` (1 without everySteps), and the run's last. */
export function epochCheckpointDue(ck: CheckpointOptions | undefined, e: number, epochs: number, fullBatch = false): boolean {
  if (!ck) return false;
  const every = ck.everyEpochs ?? (ck.everySteps ? undefined : 1);
  // A full-batch epoch is one step, so everySteps counts epochs there.
  if (fullBatch && ck.everySteps && (e + 1) % ck.everySteps === 0) return true;
  return (every !== undefined && (e + 1) % every === 0) || e + 1 === epochs;
}

function concatBatches(train: BatchSource): { x: Tensor; y: Int32Array | Tensor } {
  const xs: LabeledBatch[] = [...train.epoch(0)];
  const cat = (ts: Tensor[]): Tensor => {
    const n = ts.reduce((a, t) => a + t.shape[0], 0);
    const data =
      ts[0].dtype === 'float64' ? new Float64Array((n * ts[0].size) / ts[0].shape[0]) : new Float32Array((n * ts[0].size) / ts[0].shape[0]);
    let off = 0;
    for (const t of ts) {
      data.set(t.data, off);
      off += t.size;
    }
    return new Tensor(data, [n, ...ts[0].shape.slice(1)]);
  };
  const ys = xs.map((b) => b.y);
  const floatTargets = ys[0] instanceof Tensor;
  if (xs.length === 1) return { x: xs[0].x, y: floatTargets ? (ys[0] as Tensor) : Int32Array.from(ys[0] as ArrayLike<number>) };
  const x = cat(xs.map((b) => b.x));
  if (floatTargets) return { x, y: cat(ys as Tensor[]) };
  const y = new Int32Array(x.shape[0]);
  let row = 0;
  for (const b of ys as ArrayLike<number>[]) {
    y.set(Array.from(b), row);
    row += b.length;
  }
  return { x, y };
}

/**
 * The divergence rule of fit and fitAsync: `fail` throws the TrainingError that names the epoch,
 * step, rate and last good checkpoint; `checkLoss` returns why a non-finite loss is bad (the caller
 * decides to stop or skip), takes the first finite loss as the reference and fails with 'exploded'
 * when a loss exceeds `factor` times it.
 */
export function divergenceGuard(
  optimizer: { readonly lr: number },
  factor: number,
  div: { reference: number; samples: number },
  lastCheckpoint: () => string | undefined,
): {
  fail: (reason: DivergenceReason, value: number, epoch: number, step: number, what: string) => never;
  /** fail for parameters found non-finite (after a non-finite gradient) at `epoch` (1-based), `step`. */
  failParameters: (epoch: number, step: number) => never;
  /** fail for an epoch whose every step was skipped (onNonFinite 'skip'; `skipped` in all so far). */
  failAllSkipped: (epoch: number, step: number, skipped: number) => never;
  checkLoss: (loss: number, epoch: number, step: number) => string | null;
} {
  const fail = (reason: DivergenceReason, value: number, epoch: number, step: number, what: string): never => {
    const lr = optimizer.lr;
    const last = lastCheckpoint();
    const msg = `${what} at epoch ${epoch}, step ${step} (learning rate ${lr}); last good checkpoint: ${last ?? 'none'}`;
    throw new TrainingError(msg, { reason, epoch, step, lr, value, lastCheckpoint: last });
  };
  const failParameters = (epoch: number, step: number): never =>
    fail('non-finite parameters', NaN, epoch, step, 'the parameters became non-finite (a non-finite gradient)');
  const failAllSkipped = (epoch: number, step: number, skipped: number): never =>
    fail(
      'non-finite loss',
      NaN,
      epoch,
      step,
      `every step of the epoch was skipped (${skipped} in all): the loss or gradient was never finite`,
    );
  const checkLoss = (loss: number, epoch: number, step: number): string | null => {
    if (!Number.isFinite(loss)) return `the loss became ${loss}`;
    if (div.samples === 0) {
      div.reference = Math.abs(loss);
      div.samples = 1;
    } else if (Math.abs(loss) > factor * div.reference && div.reference > 0) {
      fail(
        'exploded',
        loss,
        epoch,
        step,
        `the loss became ${loss.toPrecision(4)}, over ${factor}× the first step's loss ${div.reference.toPrecision(4)} (diverging)`,
      );
    }
    return null;
  };
  return { fail, failParameters, failAllSkipped, checkLoss };
}

/** Train for `epochs` epochs with everything the options ask for; see FitOptions. */
export function fitRun(o: FitOptions): FitResult {
  checkOptions('fit', o, fitSchema, { required: ['model', 'optimizer', 'train', 'epochs', 'rng'] });
  const { model, optimizer, train, test, epochs, rng } = o;
  hostOnly(model, 'fit', 'fitAsync');
  const net = fuse(model); // the same parameters, Linear/Conv2d + ReLU (+ MaxPool2d) as fused layers
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`fit: epochs must be a positive integer, got ${epochs}`);
  const onNonFinite = o.onNonFinite ?? 'stop';
  if (onNonFinite !== 'stop' && onNonFinite !== 'skip')
    throw new RangeError(`fit: onNonFinite must be "stop" or "skip", got ${JSON.stringify(onNonFinite)}`);
  const factor = o.divergence === false ? Infinity : (o.divergence?.factor ?? 1e4);
  if (!(factor > 1)) throw new RangeError(`fit: divergence.factor must be > 1, got ${factor}`);
  checkCheckpointOptions('fit', o.checkpoint);
  const lossFn = lossFunction(o.loss);
  const now = o.now ?? defaultNow;
  const accumulate = checkAccumulate('fit', o);
  const stepsPerEpoch = o.fullBatch ? 1 : Math.ceil(train.length / accumulate);
  const bn = batchNormRefresh(o);
  const s = trainState(model, optimizer, epochs, stepsPerEpoch, () => evalModel(model, optimizer, bn).evalModel);
  const result: FitResult = { records: [], skipped: 0 };
  const records = result.records;

  // on the host every sample is taken at once: there is nothing for averages.settle() to bring back
  const averages = averagingCallbacks('fit', o, result);
  const cbs = [...averages.first, ...(o.callbacks ?? []), ...averages.last];
  checkCallbackKeys('fit', cbs);
  checkGradientHooks('fit', optimizer, cbs);

  // Divergence reference: the first step's data loss.
  const div = { reference: NaN, samples: 0 };
  const r0 = o.resume;
  const at = r0 ? resumeRun('fit', r0, o, s, records, div) : undefined;
  const startEpoch = at?.epoch ?? 0,
    startBatch = at?.batch ?? 0;
  const partial: EpochSums = at?.partial ?? { seen: 0, lossSum: 0, termSums: {}, seconds: 0 };
  const resumedMasks = at?.masks;
  const resumedTransform = at?.transform;
  result.skipped = at?.skipped ?? 0;

  let lastCheckpoint: string | undefined;
  const { fail, failParameters, failAllSkipped, checkLoss } = divergenceGuard(optimizer, factor, div, () => lastCheckpoint);
  const save = (epoch: number, batch: number, masks: Rng | undefined, transform: Rng | undefined, p: EpochSums) => {
    const ck = o.checkpoint;
    if (!ck) return;
    // a mid-epoch checkpoint is inside epoch + 1; an epoch-end one after epoch `epoch`
    if (!allFinite(model)) failParameters(batch > 0 ? epoch + 1 : Math.max(epoch, 1), s.step);
    const params = Object.fromEntries(
      model.namedState().map(([n, t]) => [n, { shape: [...t.shape], data: t.data.slice() as Float32Array | Float64Array }]),
    );
    const position = {
      epochs,
      epoch,
      batch,
      step: s.step,
      skipped: result.skipped,
      masks,
      transform,
      records,
      partial: p,
      divergence: div,
      accumulate,
    };
    const label = ck.save(
      checkpointOf({ ...position, meta: ck.meta }, params, evalModel(model, optimizer, bn), optimizerState(optimizer), cbs),
    );
    lastCheckpoint = typeof label === 'string' ? label : `step ${s.step}`;
    result.lastCheckpoint = lastCheckpoint;
  };
  const checkpointDue = (e: number) => epochCheckpointDue(o.checkpoint, e, epochs, o.fullBatch);

  for (const c of cbs) c.onTrainBegin?.(s);
  if (r0) restoreRunState(cbs, optimizer, r0);

  const finishEpoch = (e: number, acc: EpochSums, extra: Record<string, unknown> = {}) => {
    const { seen, lossSum, termSums } = acc;
    const seconds = acc.seconds;
    const terms: Record<string, number> = {};
    for (const [k, v] of Object.entries(termSums)) terms[k] = v / Math.max(seen, 1);
    const record: EpochRecord = {
      epoch: e + 1,
      trainLoss: lossSum / Math.max(seen, 1),
      terms,
      lr: optimizer.lr,
      seconds,
      samplesPerSec: seen / Math.max(seconds, 1e-9),
      ...extra,
    };
    // closure evaluations of an optimizer that counts them (SAM: 2 per step)
    const evals = (optimizer as unknown as { evals?: unknown }).evals;
    if (typeof evals === 'number' && !('evals' in extra)) record.evals = evals;
    if (test) Object.assign(record, evaluateAt(model, test, { loss: o.loss, metrics: o.metrics, optimizer }, bn));
    for (const c of cbs) c.onEpochEnd?.(s, record);
    records.push(record);
    o.onEpoch?.(record);
  };

  // Schedule-Free: train in train mode (y); fit ends in eval mode (the average x in the parameters).
  if (hasEvalWeights(optimizer)) optimizer.train();
  if (o.fullBatch) {
    runFullBatch(
      o,
      s,
      cbs,
      startEpoch,
      lossFn,
      now,
      checkLoss,
      fail,
      (e, rec, acc) => {
        if (!allFinite(model)) fail('non-finite parameters', NaN, e + 1, s.step, 'the parameters became non-finite');
        finishEpoch(e, acc, rec);
        if (checkpointDue(e) || s.stop) save(e + 1, 0, undefined, undefined, { seen: 0, lossSum: 0, termSums: {}, seconds: 0 });
      },
      records,
    );
    for (const c of cbs) c.onTrainEnd?.(s);
    endInEvalMode(model, optimizer, bn);
    return result;
  }

  const maskRng = rng.fork('masks');
  // Each optimizer step (its micro-batches, the update, the callbacks around it) runs in a step
  // scope (step-scope.ts): what it allocates is freed when the step ends unless something reachable
  // from these roots holds it. Not the records: searching every epoch's record at every step would
  // cost more the longer the run.
  const roots = () => [model, net, optimizer, cbs, averages, o.loss, bn, s, result.ema, result.swa, result.snapshots];
  let endStep: (() => void) | null = null;
  const closeStep = () => {
    const end = endStep;
    endStep = null;
    end?.();
  };
  try {
    for (let e = startEpoch; e < epochs && !s.stop; e++) {
      s.epoch = e + 1;
      const resuming = e === startEpoch && startBatch > 0;
      if (!resuming) for (const c of cbs) c.onEpochBegin?.(s);
      const acc = resuming ? partial : { seen: 0, lossSum: 0, termSums: {} as Record<string, number>, seconds: 0 };
      const termSums = acc.termSums;
      let t0 = now();
      const secondsBefore = acc.seconds;
      let b = resuming ? startBatch : 0;
      const epochRng = resuming && resumedMasks ? resumedMasks : maskRng.fork(`epoch:${e}`);
      let transformRng: Rng | undefined;
      const batches = resuming ? train.epoch(e, { batch: startBatch, transformRng: resumedTransform }) : train.epoch(e);
      // The micro-batches of the optimizer step in progress: their gradients are summed in the buffers
      // and their figures are counted when the step is taken (a skipped group's are not).
      type Micro = { batch: LabeledBatch; n: number; dataLoss: number; total: number; terms: [string, number][] };
      let group: Micro[] = [];
      // why the group's step is not applied (onNonFinite 'skip'): its first non-finite loss, or its summed gradient
      let groupBad: string | null = null;
      const endGroup = () => {
        if (!groupBad && onNonFinite === 'skip' && !gradsFinite(optimizer)) groupBad = 'a gradient became non-finite';
        if (groupBad) {
          result.skipped++;
          s.step++;
          b += group.length;
          o.onSkip?.({ epoch: e + 1, step: s.step, reason: groupBad });
        } else {
          for (const c of cbs) c.onGradients?.(s);
          if (needsClosure(optimizer)) {
            // accumulate is 1 here (checkAccumulate): the group is the batch
            const { batch, total } = group[0];
            // The first evaluation is the pass above (its gradients are in .grad); later ones redo it at the moved weights.
            let calls = 0;
            optimizer.step(() => {
              if (calls++ === 0) return total;
              optimizer.zeroGrad({ setToNone: false });
              let l = lossFn(net.forward(batch.x, { training: true, rng: epochRng }), batch.y);
              for (const c of cbs) for (const v of Object.values(c.lossTerms?.(s) ?? {})) l = add(l, v);
              l.backward();
              for (const c of cbs) c.onGradients?.(s);
              return l.item();
            });
          } else optimizer.step();
          s.step++;
          for (const c of cbs) c.onUpdate?.(s);
          const stepLoss = groupLoss(group);
          for (const c of cbs) c.onStepEnd?.(s, stepLoss);
          for (const m of group) {
            for (const [k, tv] of m.terms) termSums[k] = (termSums[k] ?? 0) + tv * m.n;
            acc.seen += m.n;
            acc.lossSum += m.dataLoss * m.n;
            b++;
          }
        }
        group = [];
        groupBad = null;
        acc.seconds = secondsBefore + (now() - t0) / 1000;
        reportProgress(o, e + 1, b, acc);
        // at a group boundary: the gradients are spent, so the checkpoint resumes bit for bit
        const every = o.checkpoint?.everySteps;
        if (every && s.step % every === 0 && !(b === train.length && checkpointDue(e))) {
          save(e, b, epochRng, transformRng, acc);
          t0 = now() - (acc.seconds - secondsBefore) * 1000;
        }
        closeStep();
      };
      for (const batch of batches) {
        if (resuming && b + group.length >= train.length)
          throw new RangeError(
            `fit: the training source yielded more than its ${train.length} batches in epoch ${e + 1} (a source resumed mid-epoch must start at the batch it is given)`,
          );
        if (!o.loss) checkDefaultLossTargets('fit', batch.y);
        if (group.length === 0) {
          endStep = openHostStep(roots);
          for (const c of cbs) c.onStepBegin?.(s);
        }
        const n = targetCount(batch.y);
        const logits = net.forward(batch.x, { training: true, rng: epochRng });
        let loss = lossFn(logits, batch.y);
        const dataLoss = loss.item();
        let total = dataLoss;
        const stepTerms: [string, number][] = [];
        for (const c of cbs) {
          const terms = c.lossTerms?.(s);
          if (!terms) continue;
          for (const [k, v] of Object.entries(terms)) {
            const tv = v.item();
            stepTerms.push([k, tv]);
            total += tv;
            loss = add(loss, v);
          }
        }
        const bad = checkLoss(total, e + 1, s.step + 1);
        if (bad && onNonFinite === 'stop') fail('non-finite loss', total, e + 1, s.step + 1, bad);
        groupBad ??= bad;
        if (!groupBad) {
          // the buffers are zeroed before the group's first backward pass only: its gradients add up
          if (group.length === 0) optimizer.zeroGrad({ setToNone: false });
          scaledLoss(loss, accumulate).backward();
        }
        transformRng = batch.transformRng;
        group.push({ batch, n, dataLoss, total, terms: stepTerms });
        if (groupEnds(b + group.length, accumulate, train.length)) endGroup();
      }
      // a source that yields fewer batches than its length: its last, partial group steps too
      if (group.length) endGroup();
      if (acc.seen === 0 && b > 0) failAllSkipped(e + 1, s.step, result.skipped);
      // One pass per epoch: a non-finite gradient with a finite loss stops here at the latest, before evaluation and any checkpoint.
      if (!allFinite(model)) failParameters(e + 1, s.step);
      acc.seconds = secondsBefore + (now() - t0) / 1000;
      finishEpoch(e, acc);
      // a run stopped by a callback (early stopping) ends with a checkpoint, as its last epoch would
      if (checkpointDue(e) || s.stop) save(e + 1, 0, undefined, undefined, acc);
    }
  } finally {
    closeStep();
  }
  for (const c of cbs) c.onTrainEnd?.(s);
  endInEvalMode(model, optimizer, bn);
  return result;
}

/** The weights an optimizer evaluates, when they differ from the trained ones (a checkpoint keeps both). */
export function evalModel(model: Module, optimizer: unknown, bn?: BatchNormRefresh): Pick<Checkpoint, 'evalModel'> {
  // with `bn`, BatchNorm's statistics are those an evaluation at this point recomputes
  return withEvalWeights(model, optimizer, bn, (swapped) => {
    if (!swapped) return {};
    const out: NonNullable<Checkpoint['evalModel']> = {};
    for (const [n, t] of model.namedState()) out[n] = { shape: [...t.shape], data: t.data.slice() as Float32Array | Float64Array };
    return { evalModel: out };
  });
}

const STALL_STEPS = 3;

/** fit's full-batch branch: one closure-driven optimizer step per epoch on all of `train`. */
function runFullBatch(
  o: FitOptions,
  s: TrainState,
  cbs: Callback[],
  startEpoch: number,
  lossFn: LossFn,
  now: () => number,
  checkLoss: (loss: number, epoch: number, step: number) => string | null,
  fail: (reason: DivergenceReason, value: number, epoch: number, step: number, what: string) => never,
  endEpoch: (
    e: number,
    extra: Record<string, unknown>,
    acc: { seen: number; lossSum: number; termSums: Record<string, number>; seconds: number },
  ) => void,
  records: EpochRecord[],
): void {
  const { model, optimizer, epochs } = o;
  const { x, y } = concatBatches(o.train);
  const last = records.length ? (records[records.length - 1] as EpochRecord & FullBatchFitRecord) : undefined;
  let prev = { evals: last?.evals ?? 0, seconds: 0 };
  let prevLoss = last?.trainLoss ?? NaN,
    same = 0;
  const steps = epochs - startEpoch;
  if (steps <= 0) return;
  fitFullBatch({
    model,
    optimizer,
    x,
    y,
    steps,
    firstStep: startEpoch + 1,
    evals: prev.evals,
    rng: o.rng,
    loss: lossFn,
    now,
    shouldStop: () => s.stop,
    lossTerms: () => cbs.flatMap((c) => Object.values(c.lossTerms?.(s) ?? {}) as Tensor[]),
    onGradients: () => {
      for (const c of cbs) c.onGradients?.(s);
    },
    checkLoss: (loss, step) => {
      const bad = checkLoss(loss, step, step);
      if (bad) fail('non-finite loss', loss, step, step, bad);
      same = loss === prevLoss ? same + 1 : 0;
      prevLoss = loss;
      if (same === STALL_STEPS) o.onStall?.({ step, steps: STALL_STEPS, loss, lr: optimizer.lr });
    },
    onStep: (r) => {
      s.step = r.step;
      s.epoch = r.step;
      for (const c of cbs) c.onUpdate?.(s);
      for (const c of cbs) c.onStepEnd?.(s, r.loss);
      const seconds = r.seconds - prev.seconds;
      const samplesPerSec = (targetCount(y) * (r.evals - prev.evals)) / Math.max(seconds, 1e-9);
      const extra: Record<string, unknown> = {
        trainLoss: r.loss,
        samplesPerSec,
        evals: r.evals,
        iters: r.iters,
        ...(r.hvps ? { hvps: r.hvps } : {}),
      };
      if (r.stalled) extra.stalled = true;
      prev = { evals: r.evals, seconds: r.seconds };
      endEpoch(r.step - 1, extra, { seen: 0, lossSum: 0, termSums: {}, seconds });
      if (r.stalled) o.onStall?.({ step: r.step, steps: 1, loss: r.loss, lr: optimizer.lr, stopped: true });
    },
  });
}

/** What evaluate() computes besides the loss. */
export interface EvaluateOptions {
  /** A loss function or a loss object; default crossEntropy. */
  loss?: Loss;
  /** By name; see FitOptions.metrics (the same default: accuracy for class labels and for probabilities under the default loss). */
  metrics?: Record<string, Metric>;
  /** The model's optimizer: one with evaluated weights of its own (Schedule-Free's average) is evaluated at them. */
  optimizer?: AnyOptimizer;
}

/** The record key of a metric: `test` + its name with a capital (`mae` → `testMae`). */
export function metricKey(name: string): string {
  return `test${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

/**
 * Mean loss and metrics over a whole source in evaluation mode (no graph, no dropout), as
 * `{ testLoss, test<Metric>… }`: by default arg-max accuracy (`testAccuracy`) for class labels.
 */
export function evaluate(model: Module, data: BatchSource, loss?: Loss): { testLoss: number; testAccuracy: number };
export function evaluate(model: Module, data: BatchSource, options: EvaluateOptions): { testLoss: number; [metric: string]: number };
export function evaluate(
  model: Module,
  data: BatchSource,
  lossOrOptions: Loss | EvaluateOptions = {},
): { testLoss: number; [metric: string]: number } {
  const o: EvaluateOptions =
    typeof lossOrOptions === 'function' || isLossModule(lossOrOptions)
      ? { loss: lossOrOptions }
      : checkOptions('evaluate', lossOrOptions, evaluateSchema);
  return evaluateAt(model, data, o, undefined);
}

/** evaluate, with fit's BatchNorm refresh for an optimizer's evaluated weights (batchNormRefresh). */
export function evaluateAt(
  model: Module,
  data: BatchSource,
  o: EvaluateOptions,
  bn: BatchNormRefresh | undefined,
): { testLoss: number; [metric: string]: number } {
  const lossFn = lossFunction(o.loss);
  hostOnly(model, 'evaluate', 'evaluateAsync');
  const net = fuse(model);
  return withEvalWeights(model, o.optimizer, bn, () =>
    noGrad(() => {
      let n = 0,
        lossSum = 0;
      let metrics: [string, Metric][] | undefined;
      let sums: number[] = [];
      for (const batch of data.epoch(0)) {
        if (!o.loss) checkDefaultLossTargets('evaluate', batch.y);
        // a batch's arrays end with it (hostScoped); the metrics return numbers
        hostScoped(
          model,
          () => [model, net, o.metrics, metrics],
          () => {
            const out = net.forward(batch.x, { training: false });
            if (!metrics) {
              metrics = evaluationMetrics('evaluate', o, batch.y, out);
              sums = metrics.map(() => 0);
            }
            const b = targetCount(batch.y);
            lossSum += lossFn(out, batch.y).item() * b;
            metrics.forEach(([, m], i) => {
              sums[i] += m.sum ? m.sum(out, batch.y) : m(out, batch.y) * b;
            });
            n += b;
          },
        );
      }
      const r: { testLoss: number; [metric: string]: number } = { testLoss: lossSum / Math.max(n, 1) };
      (metrics ?? Object.entries(o.metrics ?? {})).forEach(([name], i) => {
        r[metricKey(name)] = (sums[i] ?? 0) / Math.max(n, 1);
      });
      return r;
    }),
  );
}

/** Class probabilities (softmax of the logits) for a whole source, in order: [N × C] row-major. */
export function predictProba(model: Module, data: BatchSource): { probs: Float64Array; labels: Int32Array; classes: number } {
  return noGrad(() => {
    const rows: Float64Array[] = [];
    const labels: number[] = [];
    let classes = 0;
    for (const batch of data.epoch(0)) {
      const y = classLabels(batch.y, 'predictProba');
      hostScoped(
        model,
        () => [model],
        () => {
          const logits = model.forward(batch.x, { training: false });
          classes = logits.shape[1];
          const d = logits.data;
          for (let i = 0; i < logits.shape[0]; i++) {
            const row = new Float64Array(classes);
            let m = -Infinity;
            for (let j = 0; j < classes; j++) m = Math.max(m, d[i * classes + j]);
            let z = 0;
            for (let j = 0; j < classes; j++) z += row[j] = Math.exp(d[i * classes + j] - m);
            for (let j = 0; j < classes; j++) row[j] /= z;
            rows.push(row);
            labels.push(y[i]);
          }
        },
      );
    }
    const probs = new Float64Array(rows.length * classes);
    rows.forEach((r, i) => probs.set(r, i * classes));
    return { probs, labels: Int32Array.from(labels), classes };
  });
}
