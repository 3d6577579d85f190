/**
 * The training loop: forward, loss (+ regularisation terms), backward, step — per batch, with
 * callbacks for everything else (schedules, penalties, constraints, snapshots, progress).
 *
 * It needs no dispose()/tidy(): every intermediate tensor is an ordinary JS object that the garbage
 * collector frees once the step's graph is unreachable. Each parameter keeps one gradient buffer,
 * zeroed before every backward pass (zeroGrad({ setToNone: false }), PyTorch 1.x's zero_grad): a
 * step allocates no gradient tensors, and on the wasm backend the buffers live in WebAssembly memory.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../tensor/rng.js';
import { noGrad } from '../autograd/engine.js';
import { add, argmax, crossEntropy } from '../autograd/ops.js';
import type { Module } from '../nn/module.js';
import type { Optimizer, BaseHyper } from '../optim/optimizer.js';

export interface LabeledBatch {
  x: Tensor;
  y: ArrayLike<number>;
}

/** Anything that yields the batches of one epoch (the DataLoader is one). */
export interface BatchSource {
  epoch(e: number): Iterable<LabeledBatch>;
  /** Batches per epoch. */
  readonly length: number;
  readonly samplesPerEpoch: number;
}

export interface TrainState {
  model: Module;
  optimizer: Optimizer<BaseHyper>;
  /** 0-based epoch being run. */
  epoch: number;
  epochs: number;
  /** Optimizer steps taken so far (0 before the first). */
  step: number;
  stepsPerEpoch: number;
  /** Set by a callback to end training after the current epoch (early stopping). */
  stop: boolean;
}

export interface EpochRecord {
  epoch: number; // 1-based, as printed
  trainLoss: number; // mean data loss over the epoch's batches (without penalties)
  terms: Record<string, number>; // mean of each extra loss term (e.g. l1, l2)
  testLoss?: number;
  testAccuracy?: number;
  lr: number; // learning rate at the end of the epoch
  seconds: number;
  samplesPerSec: number;
  [extra: string]: unknown;
}

export interface Callback {
  onTrainBegin?(s: TrainState): void;
  onEpochBegin?(s: TrainState): void;
  /** Before the forward pass of a step (a schedule sets the learning rate here). */
  onStepBegin?(s: TrainState): void;
  /** Extra differentiable loss terms for this step, by name (L1, L2, Elastic Net penalties). */
  lossTerms?(s: TrainState): Record<string, Tensor>;
  /** After optimizer.step() (constraints, proximal steps, weight averages). */
  onStepEnd?(s: TrainState, loss: number): void;
  /** After evaluation; may add fields to the record. */
  onEpochEnd?(s: TrainState, record: EpochRecord): void;
  onTrainEnd?(s: TrainState): void;
}

export interface Progress {
  epoch: number;
  epochs: number;
  batch: number;
  numBatches: number;
  loss: number;
  samplesPerSec: number;
  etaSeconds: number;
}

export interface FitOptions {
  model: Module;
  optimizer: Optimizer<any>;
  train: BatchSource;
  test?: BatchSource;
  epochs: number;
  /** Draws stochastic layers' masks (dropout, DropConnect) while training. */
  rng: Rng;
  loss?: (logits: Tensor, y: ArrayLike<number>) => Tensor;
  callbacks?: Callback[];
  onProgress?: (p: Progress) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Clock in milliseconds (performance.now by default). */
  now?: () => number;
}

export class TrainingError extends Error {
  override name = 'TrainingError';
}

const defaultNow = () => (globalThis.performance ? performance.now() : Date.now());

/** Train for `epochs` epochs; returns one record per epoch. */
export function fit(o: FitOptions): EpochRecord[] {
  const { model, optimizer, train, test, epochs, rng } = o;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`fit: epochs must be a positive integer, got ${epochs}`);
  const lossFn = o.loss ?? crossEntropy;
  const cbs = o.callbacks ?? [];
  const now = o.now ?? defaultNow;
  const s: TrainState = { model, optimizer, epoch: 0, epochs, step: 0, stepsPerEpoch: train.length, stop: false };
  const records: EpochRecord[] = [];
  const maskRng = rng.fork('masks');
  for (const c of cbs) c.onTrainBegin?.(s);
  for (let e = 0; e < epochs && !s.stop; e++) {
    s.epoch = e;
    for (const c of cbs) c.onEpochBegin?.(s);
    const t0 = now();
    let seen = 0, lossSum = 0, b = 0;
    const termSums: Record<string, number> = {};
    const epochRng = maskRng.fork(`epoch:${e}`);
    for (const batch of train.epoch(e)) {
      for (const c of cbs) c.onStepBegin?.(s);
      const n = batch.y.length;
      const logits = model.forward(batch.x, { training: true, rng: epochRng });
      let loss = lossFn(logits, batch.y);
      const dataLoss = loss.item();
      if (!Number.isFinite(dataLoss)) {
        throw new TrainingError(`loss became ${dataLoss} at epoch ${e + 1}, batch ${b + 1} (learning rate ${optimizer.lr}); try a smaller --lr`);
      }
      for (const c of cbs) {
        const terms = c.lossTerms?.(s);
        if (!terms) continue;
        for (const [k, v] of Object.entries(terms)) {
          termSums[k] = (termSums[k] ?? 0) + v.item() * n;
          loss = add(loss, v);
        }
      }
      optimizer.zeroGrad({ setToNone: false });
      loss.backward();
      optimizer.step();
      s.step++;
      for (const c of cbs) c.onStepEnd?.(s, dataLoss);
      seen += n;
      lossSum += dataLoss * n;
      b++;
      if (o.onProgress) {
        const dt = (now() - t0) / 1000;
        const rate = seen / Math.max(dt, 1e-9);
        o.onProgress({ epoch: e + 1, epochs, batch: b, numBatches: train.length, loss: lossSum / seen, samplesPerSec: rate, etaSeconds: (train.samplesPerEpoch - seen) / rate });
      }
    }
    const seconds = (now() - t0) / 1000;
    const terms: Record<string, number> = {};
    for (const [k, v] of Object.entries(termSums)) terms[k] = v / Math.max(seen, 1);
    const record: EpochRecord = { epoch: e + 1, trainLoss: lossSum / Math.max(seen, 1), terms, lr: optimizer.lr, seconds, samplesPerSec: seen / Math.max(seconds, 1e-9) };
    if (test) Object.assign(record, evaluate(model, test, lossFn));
    for (const c of cbs) c.onEpochEnd?.(s, record);
    records.push(record);
    o.onEpoch?.(record);
  }
  for (const c of cbs) c.onTrainEnd?.(s);
  return records;
}

/** Mean loss and accuracy in evaluation mode (no graph, no dropout). */
export function evaluate(model: Module, data: BatchSource, lossFn: (logits: Tensor, y: ArrayLike<number>) => Tensor = crossEntropy): { testLoss: number; testAccuracy: number } {
  return noGrad(() => {
    let n = 0, lossSum = 0, correct = 0;
    for (const batch of data.epoch(0)) {
      const logits = model.forward(batch.x, { training: false });
      lossSum += lossFn(logits, batch.y).item() * batch.y.length;
      const pred = argmax(logits, -1);
      for (let i = 0; i < pred.length; i++) if (pred[i] === batch.y[i]) correct++;
      n += batch.y.length;
    }
    return { testLoss: lossSum / Math.max(n, 1), testAccuracy: correct / Math.max(n, 1) };
  });
}

/** Class probabilities (softmax of the logits) for a whole source, in order: [N × C] row-major. */
export function predictProba(model: Module, data: BatchSource): { probs: Float64Array; labels: Int32Array; classes: number } {
  return noGrad(() => {
    const rows: Float64Array[] = [];
    const labels: number[] = [];
    let classes = 0;
    for (const batch of data.epoch(0)) {
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
        labels.push(batch.y[i]);
      }
    }
    const probs = new Float64Array(rows.length * classes);
    rows.forEach((r, i) => probs.set(r, i * classes));
    return { probs, labels: Int32Array.from(labels), classes };
  });
}
