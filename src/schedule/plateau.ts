/**
 * Reduce-on-plateau: the one schedule that is not a function of the step, because it reads a metric
 * (PyTorch ReduceLROnPlateau, same rules and defaults). It is a small state machine, kept separate
 * and explicit:
 *
 *   const p = new ReduceOnPlateau({ lr: 0.1, patience: 2 });
 *   ... after each epoch:  lr = p.step(testLoss)   // the rate for the next epoch
 *
 * Rules: a value is an improvement if it beats the best so far by more than `threshold` (relative:
 * best·(1 ∓ threshold); absolute: best ∓ threshold). After more than `patience` epochs without one,
 * lr ← max(lr·factor, minLr) (unless that changes it by less than eps), then `cooldown` epochs pass
 * in which bad epochs are not counted.
 */

import { checkOptions, num, oneOf, type SchemaOf } from '../util/options.js';

export interface PlateauOptions {
  lr: number;
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  cooldown?: number;
  minLr?: number;
  eps?: number;
}

const plateauSchema: SchemaOf<PlateauOptions> = {
  lr: num,
  mode: oneOf('min', 'max'),
  factor: num,
  patience: num,
  threshold: num,
  thresholdMode: oneOf('rel', 'abs'),
  cooldown: num,
  minLr: num,
  eps: num,
};

export interface PlateauState {
  lr: number;
  best: number;
  numBadEpochs: number;
  cooldownCounter: number;
  steps: number;
}

export class ReduceOnPlateau {
  readonly o: Required<PlateauOptions>;
  private s: PlateauState;

  constructor(o: PlateauOptions) {
    checkOptions('plateau schedule', o, plateauSchema, { required: ['lr'] });
    const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as PlateauOptions;
    this.o = { mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8, ...given };
    const { lr, factor, patience, threshold, cooldown, minLr, mode, thresholdMode } = this.o;
    const bad = (name: string, v: unknown, range: string) =>
      new RangeError(`plateau schedule: invalid ${name} ${JSON.stringify(v)}; expected ${range}`);
    if (!(lr >= 0)) throw bad('lr', lr, '≥ 0');
    if (!(factor >= 0 && factor < 1)) throw bad('factor', factor, 'in [0, 1)');
    if (!(Number.isInteger(patience) && patience >= 0)) throw bad('patience', patience, 'an integer ≥ 0');
    if (!(threshold >= 0)) throw bad('threshold', threshold, '≥ 0');
    if (!(Number.isInteger(cooldown) && cooldown >= 0)) throw bad('cooldown', cooldown, 'an integer ≥ 0');
    if (!(minLr >= 0)) throw bad('minLr', minLr, '≥ 0');
    if (mode !== 'min' && mode !== 'max') throw bad('mode', mode, 'min or max');
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') throw bad('thresholdMode', thresholdMode, 'rel or abs');
    this.s = { lr, best: mode === 'min' ? Infinity : -Infinity, numBadEpochs: 0, cooldownCounter: 0, steps: 0 };
  }

  /** The current learning rate. */
  get lr(): number {
    return this.s.lr;
  }

  private isBetter(a: number): boolean {
    const { mode, threshold, thresholdMode } = this.o;
    const best = this.s.best;
    if (mode === 'min') return thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return thresholdMode === 'rel' ? a > best * (1 + threshold) : a > best + threshold;
  }

  /** Feed one epoch's metric; returns the learning rate to use next. */
  step(metric: number): number {
    if (this.count(metric)) this.s.lr = this.cut(this.s.lr);
    return this.s.lr;
  }

  /**
   * step() for several parameter groups: `lrs` are the groups' current rates; returns each group's
   * rate for the next epoch, each cut by the same rule when the plateau cuts its own (PyTorch's
   * ReduceLROnPlateau, one minLr for every group).
   */
  stepGroups(metric: number, lrs: readonly number[]): number[] {
    const cut = this.count(metric);
    if (cut) this.s.lr = this.cut(this.s.lr);
    return lrs.map((lr) => (cut ? this.cut(lr) : lr));
  }

  /** Counts one epoch's metric; true when the patience has run out and the rates are cut now. */
  private count(metric: number): boolean {
    if (!Number.isFinite(metric)) throw new RangeError(`plateau schedule: metric must be finite, got ${metric}`);
    const s = this.s;
    s.steps++;
    if (this.isBetter(metric)) {
      s.best = metric;
      s.numBadEpochs = 0;
    } else s.numBadEpochs++;
    if (s.cooldownCounter > 0) {
      s.cooldownCounter--;
      s.numBadEpochs = 0;
    }
    if (s.numBadEpochs <= this.o.patience) return false;
    s.cooldownCounter = this.o.cooldown;
    s.numBadEpochs = 0;
    return true;
  }

  /** lr·factor, not below minLr; lr itself where that changes it by eps or less. */
  private cut(lr: number): number {
    const next = Math.max(lr * this.o.factor, this.o.minLr);
    return lr - next > this.o.eps ? next : lr;
  }

  stateDict(): PlateauState {
    return { ...this.s };
  }

  loadStateDict(s: PlateauState): void {
    this.s = { ...s };
  }
}
