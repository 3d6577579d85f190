/**
 * Snapshot ensembles (Huang et al. 2017, "Snapshot Ensembles: Train 1, get M for free"): one run with
 * the cyclic cosine schedule of M cycles (schedule/snapshotCosine); at the end of each cycle, where the
 * rate has annealed to ~0 and the model sits in a local minimum, the weights are saved. The M
 * snapshots form an ensemble (ensemble.ts) that averages their probabilities.
 */
import type { Module } from '../nn/module.js';
import { snapshotCosine, snapshotSteps } from '../schedule/schedules.js';
import { setScheduledLr, type LrTarget } from '../schedule/driver.js';
import { captureWeights, type WeightSnapshot } from './averaging.js';
import { checkOptions, num, type SchemaOf } from '../util/options.js';

export interface SnapshotEnsembleOptions {
  /** Rate at the start of each cycle. */
  lr: number;
  /** Updates in the whole run. */
  totalSteps: number;
  /** M, the number of cycles (and snapshots). */
  cycles: number;
}
const snapshotSchema: SchemaOf<SnapshotEnsembleOptions> = { lr: num, totalSteps: num, cycles: num };

interface RunState {
  model: Module;
  step: number;
  optimizer: LrTarget;
}

export interface SnapshotRun {
  /** Weights saved at the end of each cycle, in order. */
  readonly snapshots: WeightSnapshot[];
  /** The update counts (1-based) at which snapshots are taken. */
  readonly at: readonly number[];
  /** Trainer callbacks: set the cyclic rate before each step and save at cycle ends. */
  callbacks: { onStepBegin(s: RunState): void; onStepEnd(s: RunState): void }[];
}

/** The schedule and snapshot-taking for M cycles over totalSteps updates, starting from rate lr. */
export function snapshotEnsemble(o: SnapshotEnsembleOptions): SnapshotRun {
  checkOptions('snapshotEnsemble', o, snapshotSchema, { required: ['lr', 'totalSteps', 'cycles'] });
  const sched = snapshotCosine(o);
  const at = snapshotSteps(o.totalSteps, o.cycles);
  const snapshots: WeightSnapshot[] = [];
  return {
    snapshots,
    at,
    callbacks: [
      {
        // with several parameter groups each keeps its ratio to the first, as under scheduleCallback
        onStepBegin(s) {
          setScheduledLr(s.optimizer, sched(s.step), 'snapshotEnsemble');
        },
        onStepEnd(s) {
          if (at.includes(s.step)) snapshots.push(captureWeights(s.model));
        },
      },
    ],
  };
}
