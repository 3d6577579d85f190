/**
 * The asynchronous training loop, for models whose parameters live on a device (WebGPU) that the
 * host cannot read synchronously: `fitAsync` queues every step's kernels — forward, loss,
 * backward, the optimizer's fused update — without reading anything back, and reads each step's
 * loss (`await loss.read()`) a step behind, while the device runs the next one (PyTorch users know
 * the rule from `.item()`: a read inside a step waits for the device). Evaluation runs on the
 * device too and reads its losses and outputs once every batch is queued; each batch's storage is
 * freed once its reads are issued, as a step's is.
 *
 * On a host backend the loop does `fit`'s arithmetic in `fit`'s order, so its records are
 * bit-identical to `fit`'s (test/device/fit-async.test.ts). What is read late: the divergence check
 * sees a step's loss one step after it ran (so the step after a non-finite loss has been applied
 * when the run stops), `onStepEnd(s, loss)` and `onProgress` run when the loss arrives (`s.step`
 * then counts the step after it as well). Callbacks that edit the parameters do it in `onUpdate`,
 * which runs inside the step as in `fit`; a promise returned by `onStepEnd` or `onEpochEnd` (a
 * report read from the device) is awaited. The options that need a synchronous read inside a step
 * (fullBatch and closure optimizers) are refused with a message naming them. SWA, EMA and snapshots
 * sample inside the step, as fit does (averagingCallbacks): on a device the averages live beside
 * the parameters in float32 and are updated by queued kernels, a snapshot is a read issued at its
 * step, and both reach the host (fitRunAsync's result, a checkpoint) once the steps before are done.
 *
 * Checkpoints and resuming are fit's (the same fields, restores and checks, shared with trainer.ts):
 * a checkpoint waits for the steps in flight, reads the parameters and the optimizer's device arrays
 * back (`await read()`) and keeps the dropout and augmentation streams at that step boundary (no
 * later step is queued before it is taken); a resumed run writes the parameters where they live and
 * loads the optimizer state with loadStateDict, which puts its arrays on the parameters' device. An
 * interrupted and resumed run gives the uninterrupted run's records and parameters bit for bit.
 *
 * With `accumulate` a step is a group of micro-batches, as in fit: each micro-batch's forward and
 * backward run in a step scope of their own (the gradient buffers, which hold the group's sum,
 * outlive it), the group's update in its last one's, and its losses are read a group late.
 *
 * onNonFinite 'skip' waits for the device at every step, before its update (PyTorch's GradScaler
 * syncs with `.item()` there too): the loss (plus penalty terms) and one scalar that is 0 exactly
 * when every gradient is finite (the sum of each gradient's x − x, reduced on the device) are read,
 * and a step with either non-finite is not applied, as fit decides it; nothing is then read late, so
 * callbacks see what fit shows them.
 *
 * On a device backend with step scopes (`beginStep`: WebGPU), the storage a step allocates and
 * that is not a parameter, a parameter's gradient or optimizer state is freed when the step ends,
 * so a step's activations and temporary gradients go back to the device's buffer pool at once; a
 * tensor of a step kept past it (by a callback) is refused when used again.
 */
import { Tensor, type HostStorage, type Storage } from '../tensor/tensor.js';
import { isDeviceStorage, type DeviceStorage } from '../tensor/device.js';
import { noGrad } from '../autograd/engine.js';
import { add, sub, sum } from '../autograd/ops.js';
import type { Module } from '../nn/module.js';
import { fuse } from '../nn/fuse.js';
import { Optimizer as OptimizerClass, type AnyOptimizer } from '../optim/optimizer.js';
import { kernelsFor } from '../backend/index.js';
import { classLabels, targetCount } from '../data/tensor-dataset.js';
import { hasEvalWeights } from '../optim/schedule-free.js';
import { checkOptions } from '../util/options.js';
import type { Checkpoint } from './checkpoint.js';
import type { Rng } from '../tensor/rng.js';
import { ClassifierTally, type BatchTarget, type Evaluation, type Metric } from './metrics.js';
import { crossEntropy } from '../autograd/cross-entropy.js';
import {
  averagingCallbacks,
  checkAccumulate,
  groupEnds,
  groupLoss,
  scaledLoss,
  checkDefaultLossTargets,
  evaluationMetrics,
  everyFinite,
  checkCallbackKeys,
  checkGradientHooks,
  checkCheckpointOptions,
  checkpointOf,
  divergenceGuard,
  epochCheckpointDue,
  evalModel,
  batchNormRefresh,
  endInEvalMode,
  evaluateAt,
  restoreRunState,
  resumeRun,
  reportProgress,
  type EpochSums,
  evaluate,
  evaluateSchema,
  fitSchema,
  metricKey,
  needsClosure,
  optimizerState,
  type BatchSource,
  type EpochRecord,
  type EvaluateOptions,
  type FitOptions,
  type FitResult,
  trainState,
} from './trainer.js';
import { lossFunction } from './loss.js';

const defaultNow = () => (globalThis.performance ? performance.now() : Date.now());

/** The one value of a one-element tensor, read where it lives. */
export async function scalarOf(t: Tensor): Promise<number> {
  if (!isDeviceStorage(t.storage)) return t.data[0];
  return (await t.storage.read())[0];
}

/**
 * Resolves to true when every value of the tensors is finite. Those on a device are reduced there
 * to one scalar, read back instead of the tensors: x − x is 0 for a finite x and NaN for ±∞ and
 * NaN, so the sum of every tensor's x − x is exactly 0 when all are finite (a plain sum could
 * overflow to ∞ from finite values).
 */
function finiteAsync(tensors: readonly Tensor[]): Promise<boolean> {
  const onDevice = tensors.filter((t) => isDeviceStorage(t.storage));
  const hostFinite = tensors.every((t) => isDeviceStorage(t.storage) || everyFinite(t.data));
  if (onDevice.length === 0) return Promise.resolve(hostFinite);
  const flag = noGrad(() => onDevice.map((t) => sum(sub(t, t))).reduce((x, y) => add(x, y)));
  return scalarOf(flag).then((v) => v === 0 && hostFinite);
}

/**
 * One optimizer step wherever its parameters live: a rule without a fused update where a parameter
 * lives runs on the host (Optimizer.stepAsync); other optimizers step as step() does.
 */
export async function stepOnDevice(optimizer: AnyOptimizer): Promise<void> {
  if (optimizer instanceof OptimizerClass) await optimizer.stepAsync();
  else optimizer.step();
}

/** What outlives a training step: the parameters, their gradients, the model's buffers (BatchNorm's running statistics) and the optimizer's state. */
function stepKeeps(model: Module, optimizer: AnyOptimizer): Set<Storage> {
  const keep = new Set<Storage>();
  for (const b of model.buffers()) keep.add(b.storage);
  const params = [...model.parameters(), ...optimizer.paramGroups.flatMap((g) => g.params)];
  for (const p of params) {
    keep.add(p.storage);
    if (p.grad) keep.add(p.grad.storage);
  }
  if (optimizer instanceof OptimizerClass)
    for (const st of optimizer.state.values())
      for (const v of Object.values(st)) if (v != null && typeof v !== 'number') keep.add(v as Storage);
  return keep;
}

/**
 * Opens a step scope on the device of the model's parameters where its backend has them
 * (`beginStep`); the returned function frees what the step allocated except the parameters, their
 * gradients and the optimizer state. A no-op on the host. Reads issued before it is called are safe:
 * their copies are queued first.
 */
export function beginDeviceStep(model: Module, optimizer: AnyOptimizer): () => void {
  return deviceStepScope(model, optimizer)();
}

/** beginDeviceStep with the device looked up once, for a loop whose parameters stay where they are. */
export function deviceStepScope(model: Module, optimizer: AnyOptimizer): () => () => void {
  return scopeOn(model, () => stepKeeps(model, optimizer));
}

/**
 * Scopes on the device of the model's parameters where its backend has them (`beginStep`): each
 * opened scope's returned function frees the storage allocated inside it except what `keeps()`
 * holds then. A no-op on the host.
 */
function scopeOn(model: Module, keeps: () => Set<Storage>): () => () => void {
  const onDevice = model.parameters().find((p) => isDeviceStorage(p.storage));
  const begin = onDevice ? kernelsFor(onDevice.storage).ext.beginStep : undefined;
  if (!begin) return () => () => {};
  return () => {
    const end = begin();
    return () => end(keeps());
  };
}

/**
 * Scopes for forward passes without training on the device of the model's parameters (see scopeOn):
 * each frees what it allocated but the model's state and gradients. A no-op on the host.
 */
export function evaluationScope(model: Module): () => () => void {
  return scopeOn(model, () => stateKeeps(model));
}

/** What outlives an evaluation batch: the parameters, their gradients and the model's buffers. */
function stateKeeps(model: Module): Set<Storage> {
  const keep = new Set<Storage>();
  for (const [, t] of model.namedState()) keep.add(t.storage);
  for (const p of model.parameters()) if (p.grad) keep.add(p.grad.storage);
  return keep;
}

const SYNC_ONLY: [keyof FitOptions, string][] = [['fullBatch', 'a full-batch step reads the loss inside its closure']];

/** Resolves to true when every gradient is finite (see finiteAsync). */
function gradsFiniteAsync(optimizer: AnyOptimizer): Promise<boolean> {
  return finiteAsync(optimizer.paramGroups.flatMap((g) => g.params.map((p) => p.grad).filter((t): t is Tensor => t !== null)));
}

/**
 * `fit` for parameters on any backend, a device included: the same options and records, with the
 * losses and metrics read asynchronously (see the module comment for what is read late and the
 * options it refuses). With onNonFinite 'skip' every step waits for the device before its update
 * (see the module comment).
 */
export async function fitAsync(o: FitOptions): Promise<EpochRecord[]> {
  return (await fitRunAsync(o)).records;
}

/** `fitRun` for parameters on any backend: fitAsync's loop, returning the records, the skipped count and the SWA/EMA averages and snapshots the options asked for. */
export async function fitRunAsync(o: FitOptions): Promise<FitResult> {
  checkOptions('fitAsync', o, fitSchema, { required: ['model', 'optimizer', 'train', 'epochs', 'rng'] });
  for (const [k, why] of SYNC_ONLY)
    if (o[k] !== undefined && o[k] !== false) throw new RangeError(`fitAsync: option ${k} is not supported (${why}); use fit`);
  const { model, optimizer, train, test, epochs, rng } = o;
  if (needsClosure(optimizer))
    throw new RangeError(`fitAsync: ${optimizer.rule.name} re-evaluates the loss inside its step (a closure); use fit`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`fitAsync: epochs must be a positive integer, got ${epochs}`);
  const skip = o.onNonFinite === 'skip';
  const factor = o.divergence === false ? Infinity : (o.divergence?.factor ?? 1e4);
  if (!(factor > 1)) throw new RangeError(`fitAsync: divergence.factor must be > 1, got ${factor}`);
  checkCheckpointOptions('fitAsync', o.checkpoint);
  const net = fuse(model);
  const lossFn = lossFunction(o.loss);
  const now = o.now ?? defaultNow;
  const openStep = deviceStepScope(model, optimizer);
  const accumulate = checkAccumulate('fitAsync', o);
  const onDevice = model.parameters().some((p) => isDeviceStorage(p.storage));
  // Schedule-Free's evaluated weights are swapped on the host (evaluateAsync), BatchNorm's statistics recomputed there
  const bn = onDevice ? undefined : batchNormRefresh(o);
  const s = trainState(model, optimizer, epochs, Math.ceil(train.length / accumulate), () =>
    onDevice ? undefined : evalModel(model, optimizer, bn).evalModel,
  );
  const result: FitResult = { records: [], skipped: 0 };
  const records = result.records;
  const averages = averagingCallbacks('fitAsync', o, result);
  const cbs = [...averages.first, ...(o.callbacks ?? []), ...averages.last];
  checkCallbackKeys('fitAsync', cbs);
  checkGradientHooks('fitAsync', optimizer, cbs);
  const div = { reference: NaN, samples: 0 };
  const r0 = o.resume;
  const at = r0 ? resumeRun('fitAsync', r0, o, s, records, div) : undefined;
  const startEpoch = at?.epoch ?? 0,
    startBatch = at?.batch ?? 0;
  result.skipped = at?.skipped ?? 0;
  let lastCheckpoint: string | undefined;

  const { fail, failParameters, failAllSkipped, checkLoss } = divergenceGuard(optimizer, factor, div, () => lastCheckpoint);
  // a checkpoint is taken at a step boundary with nothing in flight: the parameters are read back
  // (and checked finite, as fit checks them), the optimizer's device arrays too
  const save = async (epoch: number, batch: number, masks: Rng | undefined, transform: Rng | undefined, p: EpochSums) => {
    const ck = o.checkpoint;
    if (!ck) return;
    // every read issued before the first is awaited: one wait for the device, not one per array
    const named = model.namedState();
    const deviceState: DeviceStorage[] = [];
    if (optimizer instanceof OptimizerClass)
      for (const st of optimizer.state.values())
        for (const v of Object.values(st)) if (v !== undefined && typeof v !== 'number' && isDeviceStorage(v)) deviceState.push(v);
    const [values, stateValues] = await Promise.all([
      Promise.all(named.map(([, t]) => t.read())),
      Promise.all(deviceState.map((v) => v.read())),
    ]);
    const params: Checkpoint['model'] = Object.fromEntries(named.map(([n, t], i) => [n, { shape: [...t.shape], data: values[i] }]));
    // a mid-epoch checkpoint is inside epoch + 1; an epoch-end one after epoch `epoch`
    if (!values.every(everyFinite)) failParameters(batch > 0 ? epoch + 1 : Math.max(epoch, 1), s.step);
    const device = new Map<Storage, HostStorage>(deviceState.map((v, i) => [v, stateValues[i] as Float32Array]));
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
      meta: ck.meta,
      accumulate,
    };
    const extra = onDevice ? {} : evalModel(model, optimizer, bn);
    // the averages and snapshots a device holds, brought to the host so that their states are current
    await averages.settle();
    const label = ck.save(checkpointOf(position, params, extra, optimizerState(optimizer, device), cbs));
    lastCheckpoint = typeof label === 'string' ? label : `step ${s.step}`;
    result.lastCheckpoint = lastCheckpoint;
  };
  const checkpointDue = (e: number) => epochCheckpointDue(o.checkpoint, e, epochs);

  for (const c of cbs) c.onTrainBegin?.(s);
  if (r0) restoreRunState(cbs, optimizer, r0);
  // Schedule-Free: train at y, end in eval mode (the average x in the parameters), as fit does
  if (hasEvalWeights(optimizer)) optimizer.train();
  const maskRng = rng.fork('masks');
  for (let e = startEpoch; e < epochs && !s.stop; e++) {
    s.epoch = e + 1;
    const resuming = e === startEpoch && startBatch > 0;
    if (!resuming) for (const c of cbs) c.onEpochBegin?.(s);
    const acc: EpochSums = resuming ? at!.partial : { seen: 0, lossSum: 0, termSums: {}, seconds: 0 };
    let t0 = now();
    const secondsBefore = acc.seconds;
    // b: the epoch's batches settled (their losses read and counted); taken: those queued
    let b = resuming ? startBatch : 0;
    let taken = b;
    const epochRng = resuming && at!.masks ? at!.masks : maskRng.fork(`epoch:${e}`);
    let transformRng: Rng | undefined;
    // A micro-batch's loss and penalty terms, read when they arrive; a step is a group of them (accumulate).
    type Micro = { n: number; loss: Promise<number>; terms: [string, Promise<number>][] };
    // bad: why the step was not applied, decided inside it (onNonFinite 'skip'); undefined: decided when its losses arrive
    type Pending = { step: number; micros: Micro[]; bad?: string | null };
    const queue: Pending[] = [];
    const totalOf = async (m: Micro) => {
      const dataLoss = await m.loss;
      let total = dataLoss;
      const stepTerms: [string, number][] = [];
      for (const [k, v] of m.terms) {
        const tv = await v;
        stepTerms.push([k, tv]);
        total += tv;
      }
      return { n: m.n, dataLoss, total, stepTerms };
    };
    const settle = async (p: Pending) => {
      const ms = [];
      for (const m of p.micros) ms.push(await totalOf(m));
      let bad = p.bad;
      if (bad === undefined) {
        bad = null;
        for (const m of ms) {
          const why = checkLoss(m.total, e + 1, p.step);
          if (why && !skip) fail('non-finite loss', m.total, e + 1, p.step, why);
          bad ??= why;
        }
      }
      if (bad) {
        result.skipped++;
        b += ms.length;
        o.onSkip?.({ epoch: e + 1, step: p.step, reason: bad });
      } else {
        const stepLoss = groupLoss(ms);
        for (const c of cbs) await c.onStepEnd?.(s, stepLoss);
        for (const m of ms) {
          for (const [k, tv] of m.stepTerms) acc.termSums[k] = (acc.termSums[k] ?? 0) + tv * m.n;
          acc.seen += m.n;
          acc.lossSum += m.dataLoss * m.n;
          b++;
        }
      }
      acc.seconds = secondsBefore + (now() - t0) / 1000;
      reportProgress(o, e + 1, b, acc);
    };
    // The group's update, inside the step scope of its last micro-batch: the gradients hold its sum.
    const update = async (p: Pending) => {
      if (skip) {
        // onNonFinite 'skip' decides before the update: the losses and the summed gradients' finiteness are read here
        const gradsOk = gradsFiniteAsync(optimizer);
        p.bad = null;
        for (const m of p.micros) p.bad ??= checkLoss((await totalOf(m)).total, e + 1, p.step);
        if (!p.bad && !(await gradsOk)) p.bad = 'a gradient became non-finite';
      }
      if (!p.bad) {
        for (const c of cbs) c.onGradients?.(s);
        await stepOnDevice(optimizer);
      }
      s.step++;
      // edits of the parameters (constraints, proximal steps) belong to the step, as in fit
      if (!p.bad) for (const c of cbs) c.onUpdate?.(s);
    };
    const afterUpdate = async (p: Pending) => {
      queue.push(p);
      while (queue.length > (skip ? 0 : 1)) await settle(queue.shift()!);
      const every = o.checkpoint?.everySteps;
      if (every && s.step % every === 0 && !(taken === train.length && checkpointDue(e))) {
        // a mid-epoch checkpoint: the streams are at this step's boundary (no later step is queued yet)
        while (queue.length) await settle(queue.shift()!);
        await save(e, b, epochRng, transformRng, acc);
        t0 = now() - (acc.seconds - secondsBefore) * 1000;
      }
    };
    let group: Pending | undefined;
    const batches = resuming ? train.epoch(e, { batch: startBatch, transformRng: at!.transform }) : train.epoch(e);
    for (const batch of batches) {
      if (resuming && taken >= train.length)
        throw new RangeError(
          `fitAsync: the training source yielded more than its ${train.length} batches in epoch ${e + 1} (a source resumed mid-epoch must start at the batch it is given)`,
        );
      if (!o.loss) checkDefaultLossTargets('fitAsync', batch.y);
      if (!group) {
        for (const c of cbs) c.onStepBegin?.(s);
        group = { step: s.step + 1, micros: [] };
      }
      const p = group;
      let ends = false;
      // on a device, the micro-batch's own storage is freed at its end (the losses are read from copies queued before)
      const endStep = openStep();
      try {
        const logits = net.forward(batch.x, { training: true, rng: epochRng });
        let loss = lossFn(logits, batch.y);
        // the reads are issued now and awaited a step later: nothing inside the step waits for the device
        const m: Micro = { n: targetCount(batch.y), loss: scalarOf(loss), terms: [] };
        for (const c of cbs) {
          const terms = c.lossTerms?.(s);
          if (!terms) continue;
          for (const [k, v] of Object.entries(terms)) {
            m.terms.push([k, scalarOf(v)]);
            loss = add(loss, v);
          }
        }
        // the buffers are zeroed before the group's first backward pass only: its gradients add up
        if (p.micros.length === 0) optimizer.zeroGrad({ setToNone: false });
        scaledLoss(loss, accumulate).backward();
        p.micros.push(m);
        taken++;
        transformRng = batch.transformRng;
        ends = groupEnds(taken, accumulate, train.length);
        if (ends) await update(p);
      } finally {
        endStep();
      }
      if (!ends) continue;
      group = undefined;
      await afterUpdate(p);
    }
    // a source that yields fewer batches than its length: its last, partial group steps too
    if (group) {
      const p = group;
      const endStep = openStep();
      try {
        await update(p);
      } finally {
        endStep();
      }
      await afterUpdate(p);
    }
    while (queue.length) await settle(queue.shift()!);
    if (acc.seen === 0 && b > 0) failAllSkipped(e + 1, s.step, result.skipped);
    // the check's temporaries are freed at once, as a step's are (its read is issued before)
    const endCheck = openStep();
    let finite: Promise<boolean>;
    try {
      finite = finiteAsync(model.namedState().map(([, t]) => t));
    } finally {
      endCheck();
    }
    if (!(await finite)) failParameters(e + 1, s.step);
    acc.seconds = secondsBefore + (now() - t0) / 1000;
    const terms: Record<string, number> = {};
    for (const [k, v] of Object.entries(acc.termSums)) terms[k] = v / Math.max(acc.seen, 1);
    const record: EpochRecord = {
      epoch: e + 1,
      trainLoss: acc.lossSum / Math.max(acc.seen, 1),
      terms,
      lr: optimizer.lr,
      seconds: acc.seconds,
      samplesPerSec: acc.seen / Math.max(acc.seconds, 1e-9),
    };
    const evals = (optimizer as unknown as { evals?: unknown }).evals;
    if (typeof evals === 'number') record.evals = evals;
    const evalOptions = { loss: o.loss, metrics: o.metrics, optimizer };
    if (test) Object.assign(record, bn ? evaluateAt(model, test, evalOptions, bn) : await evaluateAsync(model, test, evalOptions));
    for (const c of cbs) await c.onEpochEnd?.(s, record);
    records.push(record);
    o.onEpoch?.(record);
    // a run stopped by a callback (early stopping) ends with a checkpoint, as its last epoch would
    if (checkpointDue(e) || s.stop) await save(e + 1, 0, undefined, undefined, acc);
  }
  for (const c of cbs) await c.onTrainEnd?.(s);
  await averages.settle();
  endInEvalMode(model, optimizer, bn);
  return result;
}

/**
 * `evaluate` for a model on any backend: every batch's forward pass and loss are queued first
 * (on a device, with no read in between), then the losses and — for the metrics — the outputs are
 * read and scored on the host in batch order, so the figures equal `evaluate`'s. On a device
 * backend with step scopes each batch is queued in a scope of its own: what it allocated (its
 * upload, activations, loss, output) is freed once its reads are issued, except the model's
 * parameters, their gradients and its buffers; a tensor of a batch kept past it (by a loss or
 * metric function) is refused when used again.
 */
export async function evaluateAsync(
  model: Module,
  data: BatchSource,
  options: EvaluateOptions = {},
): Promise<{ testLoss: number; [metric: string]: number }> {
  const o = checkOptions('evaluateAsync', options, evaluateSchema);
  // the evaluated weights of an optimizer that keeps its own (Schedule-Free) are swapped on the host
  if (hasEvalWeights(o.optimizer)) return evaluate(model, data, o);
  const lossFn = lossFunction(o.loss);
  const net = fuse(model);
  type Queued = { b: number; y: BatchTarget; loss: Promise<number>; out: Promise<Tensor> | null };
  const queued: Queued[] = [];
  let metrics: [string, Metric][] | undefined;
  // on a device each batch's storage (activations, loss, output) is freed when the batch is queued, as a
  // training step's is: its reads are issued before, so their copies are queued first
  const openBatch = evaluationScope(model);
  noGrad(() => {
    for (const batch of data.epoch(0)) {
      if (!o.loss) checkDefaultLossTargets('evaluateAsync', batch.y);
      const endBatch = openBatch();
      try {
        const out = net.forward(batch.x, { training: false });
        metrics ??= evaluationMetrics('evaluateAsync', o, batch.y, out);
        const onDevice = isDeviceStorage(out.storage);
        queued.push({
          b: targetCount(batch.y),
          y: batch.y,
          loss: scalarOf(lossFn(out, batch.y)),
          out: metrics.length === 0 ? null : onDevice ? out.read().then((v) => new Tensor(v, out.shape)) : Promise.resolve(out),
        });
      } finally {
        endBatch();
      }
    }
  });
  let n = 0,
    lossSum = 0;
  const list = metrics ?? Object.entries(o.metrics ?? {});
  const sums = list.map(() => 0);
  for (const q of queued) {
    lossSum += (await q.loss) * q.b;
    const out = q.out && (await q.out);
    if (out) list.forEach(([, m], i) => (sums[i] += m.sum ? m.sum(out, q.y) : m(out, q.y) * q.b));
    n += q.b;
  }
  const r: { testLoss: number; [metric: string]: number } = { testLoss: lossSum / Math.max(n, 1) };
  list.forEach(([name], i) => {
    r[metricKey(name)] = sums[i] / Math.max(n, 1);
  });
  return r;
}

/**
 * evaluateProbabilities for a model on any backend, a device included: the same loss, accuracy,
 * confusion matrix, probabilities and labels, with each batch's loss and outputs read once every
 * batch is queued and each batch's storage freed once its reads are issued, as evaluateAsync does.
 * The softmax is taken on the host in double precision, as evaluateProbabilities takes it.
 */
export async function evaluateProbabilitiesAsync(
  model: Module,
  data: BatchSource,
  classes: number,
  lossFn: (logits: Tensor, y: ArrayLike<number>) => Tensor = crossEntropy,
): Promise<Evaluation & { probabilities: Float64Array; labels: Int32Array }> {
  const tally = new ClassifierTally(classes, 'evaluateProbabilitiesAsync', true);
  const net = fuse(model);
  const queued: { labels: ArrayLike<number>; loss: Promise<number>; out: Promise<Tensor> }[] = [];
  const openBatch = evaluationScope(model);
  noGrad(() => {
    for (const batch of data.epoch(0)) {
      const labels = classLabels(batch.y, tally.who);
      const endBatch = openBatch();
      try {
        const out = net.forward(batch.x, { training: false });
        tally.checkOutputs(out);
        queued.push({
          labels,
          loss: scalarOf(lossFn(out, labels)),
          out: isDeviceStorage(out.storage) ? out.read().then((v) => new Tensor(v, out.shape)) : Promise.resolve(out),
        });
      } finally {
        endBatch();
      }
    }
  });
  for (const q of queued) tally.add(await q.out, q.labels, await q.loss);
  return tally.withProbabilities();
}
