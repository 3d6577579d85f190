/**
 * `descent train --full-batch`: every step uses the whole (limited) training set, so gradient
 * descent, L-BFGS and Newton's method see the same deterministic objective. One "epoch" is one
 * optimizer step (for L-BFGS up to --max-iter iterations). Each line reports the closure
 * evaluations so far, the fair measure of cost across methods.
 */
import type { Io } from './command.js';
import type { Parsed } from './args.js';
import type { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Rng } from '../tensor/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { fitFullBatch } from '../train/fullbatch.js';
import { evaluate, type Callback, type EpochRecord, type TrainState } from '../train/trainer.js';
import { fmtInt } from './progress.js';
import { stallMessage } from './train-checks.js';

export interface FullBatchRun {
  o: Parsed;
  io: Io;
  model: Module;
  optimizer: Optimizer<any>;
  trainSet: Dataset;
  testSet: Dataset;
  flatten: boolean;
  rng: Rng;
  callbacks: Callback[];
}

export function runFullBatch(r: FullBatchRun): { records: EpochRecord[]; finalAccuracy: number } {
  const { o, io, model, optimizer, trainSet, testSet, flatten, callbacks } = r;
  const all = [...new DataLoader(trainSet, { batchSize: trainSet.length, flatten })][0];
  const testLoader = new DataLoader(testSet, { batchSize: 1000, flatten });
  const state: TrainState = { model, optimizer, epoch: 0, epochs: o.epochs, step: 0, stepsPerEpoch: 1, stop: false };
  if (!o.json) io.out(`full batch: ${fmtInt(trainSet.length)} samples per step, one step per epoch`);
  for (const c of callbacks) c.onTrainBegin?.(state);
  const records: EpochRecord[] = [];
  let last = { evals: 0, seconds: 0 };
  fitFullBatch({
    model, optimizer, x: all.x, y: all.y, steps: o.epochs, rng: r.rng,
    lossTerms: () => callbacks.flatMap((c) => Object.values(c.lossTerms?.(state) ?? {}) as Tensor[]),
    onStep: (s) => {
      state.step = s.step;
      state.epoch = s.step - 1;
      for (const c of callbacks) c.onStepEnd?.(state, s.loss);
      const seconds = s.seconds - last.seconds;
      const rec: EpochRecord = {
        epoch: s.step, trainLoss: s.loss, terms: {}, lr: optimizer.lr, seconds,
        samplesPerSec: (trainSet.length * (s.evals - last.evals)) / Math.max(seconds, 1e-9),
        evals: s.evals, iters: s.iters, ...(s.hvps ? { hvps: s.hvps } : {}),
        ...evaluate(model, testLoader),
      };
      last = s;
      for (const c of callbacks) c.onEpochEnd?.(state, rec);
      records.push(rec);
      if (o.json) io.out(JSON.stringify(rec));
      else {
        const cost = `evals ${s.evals}${s.hvps ? ` + ${s.hvps} Hv` : ''}, iters ${s.iters}`;
        io.out(`step ${String(s.step).padStart(String(o.epochs).length)}/${o.epochs}  train loss ${s.loss.toFixed(6)}  test loss ${(rec.testLoss as number).toFixed(4)}  test acc ${(rec.testAccuracy as number).toFixed(4)}  ${cost}  ${seconds.toFixed(2)}s`);
      }
      if (s.stalled) io.err(stallMessage(o, s.step, s.loss));
    },
  });
  for (const c of callbacks) c.onTrainEnd?.(state);
  return { records, finalAccuracy: records.length ? (records[records.length - 1].testAccuracy as number) : NaN };
}
