/**
 * How features plug into `descent train` without growing one giant command: an extension declares
 * its flags and turns the parsed options into trainer callbacks, model options or a batch transform.
 * Schedules, penalties, dropout/augmentation and the like each register one.
 */
import type { OptSpec, Parsed } from './args.js';
import type { Callback, EpochRecord } from '../train/trainer.js';
import type { ModelOptions } from '../train/models.js';
import type { BatchTransform } from '../data/loader.js';
import type { BatchMix } from '../augment/mix.js';
import type { Module } from '../nn/module.js';
import type { Optimizer, BaseHyper } from '../optim/optimizer.js';
import type { SavedModelInfo } from './weights.js';

export interface TrainSetup {
  model: Module;
  optimizer: Optimizer<BaseHyper>;
  epochs: number;
  stepsPerEpoch: number;
  /** What --save records beside the weights (model spec, classes, preprocessing): a weights file an extension writes records it too. */
  saved: SavedModelInfo;
}

export interface TrainExtension {
  name: string;
  options: OptSpec[];
  /** Checks that need no data (output paths, flag combinations), run before anything is loaded. */
  preflight?(o: Parsed): void;
  /** Extra fields for the model builder (e.g. dropout). */
  modelOptions?(o: Parsed): Partial<ModelOptions>;
  /** A transform for training batches (augmentation). */
  transform?(o: Parsed): BatchTransform | undefined;
  /** A mix of training batches' inputs and labels (MixUp, CutMix); at most one extension gives one. */
  mix?(o: Parsed, data: { classes: number; csv: boolean }): BatchMix | undefined;
  callbacks?(o: Parsed, setup: TrainSetup): Callback[];
  /** Extra text for the per-epoch line (e.g. "sparsity 0.31"). */
  describe?(o: Parsed, r: EpochRecord): string | undefined;
  /** Lines printed when the run ends (e.g. where early stopping stopped it). */
  summary?(o: Parsed, records: readonly EpochRecord[]): string[];
}

export const trainExtensions: TrainExtension[] = [];

export function registerTrainExtension(x: TrainExtension): void {
  trainExtensions.push(x);
}
