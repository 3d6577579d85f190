/**
 * The driver: a trainer callback that sets the optimizer's learning rate from a schedule.
 *
 * Convention: before update number t (0-based) the driver sets lr = schedule(t) (unit 'step'), or
 * lr = schedule(e − 1) during epoch e (unit 'epoch'; epochs are numbered from 1, so the first epoch
 * uses schedule(0)). The rate is *set before the step it is
 * used by*, from the step counter the trainer owns, so nothing has to be called after
 * optimizer.step() and calling order cannot shift the schedule by one (PyTorch's trap). The same
 * t-th value is what PyTorch's optimizer holds for its (t+1)-th step when scheduler.step() is called
 * after each optimizer.step().
 *
 * With several parameter groups the schedule's value is the first group's rate and every other group
 * keeps its ratio to the first, as read when training begins (PyTorch's schedulers scale each
 * group's own initial rate by the same factor; the two agree when the schedule's lr is the first
 * group's, as the CLI builds it). Reduce-on-plateau cuts each group's own rate with its rule
 * (factor, minLr, eps), as PyTorch's does. With one group the rate is set to schedule(t) itself.
 *
 * A schedule that carries a momentum cycle (oneCycle with cycleMomentum) sets the momentum of every
 * parameter group with the rate: β₁ where the group has `betas` (Adam-like, as PyTorch's OneCycleLR
 * decides), else `momentum` (SGD, RMSprop); an optimizer with neither is refused at the first step.
 *
 * The types here are structural (the trainer's Callback/TrainState satisfy them): schedules sit below
 * the trainer in the architecture and do not import it.
 */
import { checkOptions, oneOf } from '../util/options.js';
import type { MomentumSchedule, Schedule } from './schedules.js';
import type { ReduceOnPlateau, PlateauState } from './plateau.js';

export interface LrTarget {
  readonly lr: number;
  /** A number sets every group; a function is called only where `paramGroups` has several. */
  setLr(lr: number | ((group: never, i: number) => number)): void;
  /** Read for the groups' rates and when the schedule cycles the momentum (the Optimizer's parameter groups). */
  readonly paramGroups?: readonly object[];
}

/** The groups' rates per optimizer, read when training begins (or at first use); only their ratios matter. */
const groupBases = new WeakMap<LrTarget, number[]>();

function readBases(opt: LrTarget, who: string): number[] {
  const lrs = (opt.paramGroups ?? []).map((g) => (g as { lr: number }).lr);
  if (lrs.length > 1 && lrs[0] === 0 && lrs.some((lr) => lr !== 0))
    throw new RangeError(
      `${who}: the first parameter group's lr is 0, so the other groups' rates [${lrs.slice(1).join(', ')}] cannot keep their ratio to it; give the first group a non-zero lr`,
    );
  groupBases.set(opt, lrs);
  return lrs;
}

/** Set the first group's rate to `lr` and every other group's to `lr` times its ratio to the first. */
export function setScheduledLr(opt: LrTarget, lr: number, who: string): void {
  const bases = groupBases.get(opt) ?? readBases(opt, who);
  if (bases.length <= 1) opt.setLr(lr);
  else opt.setLr((_g, i) => (i === 0 || bases[i] === bases[0] ? lr : (lr * bases[i]) / bases[0]));
}

/** Set β₁ (groups with `betas`) or `momentum` of every group; a RangeError when a group has neither. */
export function setMomentum(opt: LrTarget, m: number): void {
  const groups = opt.paramGroups;
  if (!groups) throw new RangeError('schedule: this schedule cycles the momentum, but the optimizer has no parameter groups to set it in');
  for (const g of groups as Record<string, unknown>[]) {
    if (Array.isArray(g.betas)) g.betas = [m, ...g.betas.slice(1)];
    else if (typeof g.momentum === 'number') g.momentum = m;
    else
      throw new RangeError(
        `schedule: this schedule cycles the momentum, but the optimizer has neither momentum nor betas (options: ${Object.keys(g)
          .filter((k) => k !== 'params')
          .join(', ')})`,
      );
  }
}

export interface ScheduleState {
  optimizer: LrTarget;
  /** Updates taken so far (before the first update 0). */
  step: number;
  /** The epoch being run, numbered from 1 (the trainer's TrainState.epoch). */
  epoch: number;
}

export interface EpochMetrics {
  trainLoss: number;
  testLoss?: number;
  testAccuracy?: number;
}

export type ScheduleUnit = 'step' | 'epoch';

export function scheduleCallback(schedule: Schedule | MomentumSchedule, o: { unit?: ScheduleUnit } = {}) {
  if (typeof schedule !== 'function')
    throw new TypeError(`scheduleCallback: invalid schedule ${typeof schedule}; expected a function (t) => lr`);
  checkOptions('scheduleCallback', o, { unit: oneOf('step', 'epoch') });
  const unit = o.unit ?? 'step';
  if (unit !== 'step' && unit !== 'epoch')
    throw new RangeError(`scheduleCallback: invalid unit ${JSON.stringify(unit)}; expected step or epoch`);
  const momentum = (schedule as MomentumSchedule).momentum;
  return {
    onTrainBegin(s: ScheduleState): void {
      readBases(s.optimizer, 'scheduleCallback');
    },
    onStepBegin(s: ScheduleState): void {
      const t = unit === 'step' ? s.step : s.epoch - 1;
      setScheduledLr(s.optimizer, schedule(t), 'scheduleCallback');
      if (momentum) setMomentum(s.optimizer, momentum(t));
    },
  };
}

/**
 * Reduce-on-plateau from a metric of each epoch's record (by default the test loss, else the train
 * loss; use mode 'max' in the plateau for an accuracy). The new rate applies from the next epoch.
 */
export function plateauCallback(p: ReduceOnPlateau, metric: (r: EpochMetrics) => number = (r) => r.testLoss ?? r.trainLoss) {
  return {
    /** Checkpoints keep the plateau's state under this key (the trainer's state()/loadState()). */
    key: 'plateau',
    state: () => p.stateDict(),
    loadState: (st: unknown) => p.loadStateDict(st as PlateauState),
    onTrainBegin(s: ScheduleState): void {
      readBases(s.optimizer, 'plateauCallback');
      setScheduledLr(s.optimizer, p.lr, 'plateauCallback');
    },
    onEpochEnd(s: ScheduleState, r: EpochMetrics): void {
      const groups = (s.optimizer.paramGroups ?? []) as readonly { lr: number }[];
      if (groups.length <= 1) s.optimizer.setLr(p.step(metric(r)));
      else {
        const lrs = p.stepGroups(
          metric(r),
          groups.map((g) => g.lr),
        );
        s.optimizer.setLr((_g, i) => lrs[i]);
      }
    },
  };
}
