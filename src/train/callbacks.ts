/**
 * Training callbacks PyTorch and Keras users add to a loop: gradient clipping between the backward
 * pass and the step, and early stopping on a monitored figure.
 *
 *   clipGradNormCallback   torch.nn.utils.clip_grad_norm_ on every gradient the optimizer steps
 *                          with (Keras' `global_clipnorm`): the gradients, as one vector, scaled to
 *                          norm ≤ maxNorm (optim/clip.ts has the exact rule)
 *   clipGradValueCallback  clip_grad_value_: every component clamped to [−c, c] (Keras' `clipvalue`)
 *   earlyStopping          Keras 3's EarlyStopping: stop once the monitored record field has not
 *                          improved by more than minDelta (and, with a baseline, beaten it) for
 *                          `patience` epochs; optionally put back the best epoch's weights when
 *                          training ends
 *
 * The record field a callback watches (its name, 'min'/'max' direction and minDelta: Keras'
 * MonitorCallback) is `recordMonitor`, shared with modelCheckpoint (src/io/model-checkpoint.ts).
 *
 * Clipping runs in `onGradients` (after backward, before optimizer.step): in fit and fitAsync alike,
 * and on a device (WebGPU) as kernels queued where the gradients live, so a step reads nothing.
 * Early stopping keeps its state (best value, epochs waited, the best weights) in checkpoints, so a
 * resumed run stops where the uninterrupted one would.
 */
import type { HostStorage, Storage, Tensor } from '../tensor/tensor.js';
import { isDeviceStorage } from '../tensor/device.js';
import { clipGradNorm_, clipGradNormOn, clipGradValueWith, clipNormScalars, clipValueScalars } from '../optim/clip.js';
import { check } from '../optim/optimizer.js';
import { hasEvalWeights } from '../optim/schedule-free.js';
import { bool, checkOptions, num, oneOf, str, tensors, type SchemaOf } from '../util/options.js';
import type { Module } from '../nn/module.js';
import type { Callback, EpochRecord, TrainState } from './trainer.js';

/** `params`, or every parameter the optimizer steps, that has a gradient. */
function withGrads(s: TrainState, params: readonly Tensor[] | undefined): Tensor[] {
  return (params ?? s.optimizer.paramGroups.flatMap((g) => g.params)).filter((p) => p.grad !== null);
}

export interface ClipGradNormOptions {
  /** The largest total norm the gradients keep; above it they are scaled down together. */
  maxNorm: number;
  /** The norm's order p (default 2; Infinity: the largest |g|). */
  normType?: number;
  /** The parameters whose gradients are clipped (default: every parameter of the optimizer). */
  params?: readonly Tensor[];
}

const clipNormSchema: SchemaOf<ClipGradNormOptions> = { maxNorm: num, normType: num, params: tensors };

/** Gradient-norm clipping as a callback: clip_grad_norm_ after every backward pass of the run. */
export function clipGradNormCallback(o: ClipGradNormOptions): Callback {
  checkOptions('clipGradNormCallback', o, clipNormSchema, { required: ['maxNorm'] });
  const normType = o.normType ?? 2;
  check('clipGradNormCallback', 'maxNorm', o.maxNorm, o.maxNorm > 0 && Number.isFinite(o.maxNorm), 'a finite number > 0');
  check('clipGradNormCallback', 'normType', normType, normType > 0, '> 0 or Infinity');
  // the device constants of this run, uploaded before its first step (outside every step scope)
  let scalars: ReadonlyMap<number, Storage> | undefined;
  return {
    onTrainBegin(s) {
      const on = (o.params ?? s.optimizer.paramGroups.flatMap((g) => g.params)).find((p) => isDeviceStorage(p.storage));
      scalars = on ? clipNormScalars(on.storage, o.maxNorm, normType) : undefined;
    },
    onGradients(s) {
      const ps = withGrads(s, o.params);
      if (ps.length === 0) return;
      const gs = ps.map((p) => p.grad!);
      if (gs.some((g) => isDeviceStorage(g.storage))) clipGradNormOn(gs, o.maxNorm, normType, scalars);
      else clipGradNorm_(ps, o.maxNorm, normType);
    },
  };
}

export interface ClipGradValueOptions {
  /** Every gradient component is clamped to [−clipValue, clipValue]. */
  clipValue: number;
  /** The parameters whose gradients are clipped (default: every parameter of the optimizer). */
  params?: readonly Tensor[];
}

const clipValueSchema: SchemaOf<ClipGradValueOptions> = { clipValue: num, params: tensors };

/** Gradient-value clipping as a callback: clip_grad_value_ after every backward pass of the run. */
export function clipGradValueCallback(o: ClipGradValueOptions): Callback {
  checkOptions('clipGradValueCallback', o, clipValueSchema, { required: ['clipValue'] });
  check('clipGradValueCallback', 'clipValue', o.clipValue, o.clipValue > 0 && Number.isFinite(o.clipValue), 'a finite number > 0');
  // ±clipValue on the device, uploaded before the run's first step (outside every step scope)
  let scalars: ReadonlyMap<number, Storage> | undefined;
  return {
    onTrainBegin(s) {
      const on = (o.params ?? s.optimizer.paramGroups.flatMap((g) => g.params)).find((p) => isDeviceStorage(p.storage));
      scalars = on ? clipValueScalars(on.storage, o.clipValue) : undefined;
    },
    onGradients(s) {
      clipGradValueWith(withGrads(s, o.params), o.clipValue, scalars);
    },
  };
}

/** How a callback watches an epoch record's field: the options earlyStopping and modelCheckpoint share. */
export interface MonitorOptions {
  /** The epoch record's field watched (default 'testLoss'; 'testAccuracy', 'trainLoss' or a metric's test<Name>). */
  monitor?: string;
  /** 'min' for a loss, 'max' for an accuracy; 'auto' (default) is max when the name holds "acc" or "auc", else min (Keras' rule). */
  mode?: 'min' | 'max' | 'auto';
  /** A change counts as an improvement only when larger than this (default 0). */
  minDelta?: number;
}

export const monitorSchema: SchemaOf<MonitorOptions> = { monitor: str, mode: oneOf('min', 'max', 'auto'), minDelta: num };

/** A watched record field (Keras' MonitorCallback): its name, direction, the test of an improvement and the read of a record. */
export interface Monitor {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  /** What the best starts at: +∞ for 'min', −∞ for 'max', so the first number (not NaN) improves on it. */
  readonly initial: number;
  /** Whether `v` beats `best` by more than minDelta; a NaN never does. */
  improves(v: number, best: number): boolean;
  /** The record's number under `monitor`; a record without one is a RangeError naming `who` and the fields it has. */
  read(record: EpochRecord): number;
}

/** The monitor of `o` (checked; `who` names the callback in errors). */
export function recordMonitor(who: string, o: MonitorOptions): Monitor {
  const monitor = o.monitor ?? 'testLoss';
  const minDelta = o.minDelta ?? 0;
  check(who, 'minDelta', minDelta, Number.isFinite(minDelta) && minDelta >= 0, 'a finite number ≥ 0');
  const mode = o.mode === 'max' || o.mode === 'min' ? o.mode : /acc|auc/i.test(monitor) ? 'max' : 'min';
  return {
    monitor,
    mode,
    initial: mode === 'min' ? Infinity : -Infinity,
    improves: (v, best) => (mode === 'min' ? v + minDelta < best : v - minDelta > best),
    read(record) {
      const v = record[monitor];
      if (typeof v === 'number') return v;
      const have = Object.keys(record).filter((k) => typeof record[k] === 'number');
      throw new RangeError(
        `${who}: the epoch record has no number "${monitor}" to monitor (it has ${have.join(', ')})${monitor.startsWith('test') ? '; give fit a test source' : ''}`,
      );
    },
  };
}

/**
 * A copy of the model's parameters and buffers by name; those on a device are read back, and then
 * a promise of the copy is returned (fitAsync awaits what onEpochEnd returns).
 */
export function copyState(model: Module): Record<string, HostStorage> | Promise<Record<string, HostStorage>> {
  const named = model.namedState();
  if (!named.some(([, t]) => isDeviceStorage(t.storage)))
    return Object.fromEntries(named.map(([n, t]) => [n, (t.data as HostStorage).slice()]));
  return Promise.all(named.map(([, t]) => t.read())).then((values) =>
    Object.fromEntries(named.map(([n], i) => [n, values[i] as HostStorage])),
  );
}

export interface EarlyStoppingOptions extends MonitorOptions {
  /** Epochs without an improvement before training stops (default 0: the first epoch that does not improve stops it). */
  patience?: number;
  /** When training ends, put back the parameters and buffers of the best epoch (default false). */
  restoreBest?: boolean;
  /** Epochs trained before the field is watched (default 0). */
  startFromEpoch?: number;
  /**
   * Keras' baseline: the value the field must beat (by more than minDelta) within `patience`
   * epochs, or training stops; an improvement on the best that falls short of it does not restart
   * the wait (default: none, any improvement does).
   */
  baseline?: number;
}

const earlySchema: SchemaOf<EarlyStoppingOptions> = {
  ...monitorSchema,
  patience: num,
  restoreBest: bool,
  startFromEpoch: num,
  baseline: num,
};

interface EarlyState {
  best: number;
  bestEpoch: number;
  wait: number;
  stoppedEpoch: number;
  weights?: Record<string, HostStorage>;
}

/** Early stopping (the callback earlyStopping returns): its figures can be read once fit returns. */
export interface EarlyStopping extends Callback {
  readonly monitor: string;
  /** The best value of the monitored field so far (±Infinity before the first epoch watched). */
  readonly best: number;
  /** The epoch (from 1) of the best value; 0 before the first epoch watched. */
  readonly bestEpoch: number;
  /** The epoch (from 1) after which it stopped training; 0 when it did not. */
  readonly stoppedEpoch: number;
}

/**
 * Keras 3's EarlyStopping, epoch for epoch (keras/src/callbacks/early_stopping.py, on_epoch_end):
 * after each epoch past `startFromEpoch`, the epochs waited grow by one; the monitored field
 * improves when it beats the best so far by more than minDelta (lower in 'min' mode, higher in
 * 'max'), and then it is the new best and the wait restarts at 0 — with a `baseline`, only when it
 * beats the baseline too (by more than minDelta), so a run that improves but stays short of the
 * baseline keeps waiting. An epoch that improves never stops training; one that does not stops it
 * once the wait has reached `patience` (never after the first epoch, nor after the run's last,
 * which ends it anyway): training stops after this epoch (TrainState.stop). So with a baseline the
 * run stops at the first epoch without an improvement once `patience` epochs have passed since the
 * start, or since the last epoch that beat both the best and the baseline. The record of that epoch gets
 * `stoppedEarly: true`; with restoreBest, the record of the run's last epoch gets `restoredEpoch`
 * (the best epoch, whether or not it beat the baseline, whose weights are put back when training
 * ends, whether it stopped early or not). A NaN never improves. Schedule-Free optimizers, which
 * evaluate weights of their own, refuse restoreBest.
 */
export function earlyStopping(o: EarlyStoppingOptions = {}): EarlyStopping {
  checkOptions('earlyStopping', o, earlySchema);
  const watch = recordMonitor('earlyStopping', o);
  const monitor = watch.monitor;
  const patience = o.patience ?? 0;
  const startFrom = o.startFromEpoch ?? 0;
  check('earlyStopping', 'patience', patience, Number.isInteger(patience) && patience >= 0, 'an integer ≥ 0');
  check('earlyStopping', 'startFromEpoch', startFrom, Number.isInteger(startFrom) && startFrom >= 0, 'an integer ≥ 0');
  const baseline = o.baseline;
  if (baseline !== undefined) check('earlyStopping', 'baseline', baseline, Number.isFinite(baseline), 'a finite number');
  const fresh = (): EarlyState => ({ best: watch.initial, bestEpoch: 0, wait: 0, stoppedEpoch: 0 });
  let st = fresh();

  // the parameters and buffers by name; those on a device are read back (fitAsync awaits the promise)
  const capture = (s: TrainState): Promise<void> | undefined => {
    const at = st;
    const copy = copyState(s.model);
    if (!(copy instanceof Promise)) {
      at.weights = copy;
      return undefined;
    }
    return copy.then((w) => {
      at.weights = w;
    });
  };

  return {
    key: `earlyStopping:${monitor}`,
    monitor,
    get best() {
      return st.best;
    },
    get bestEpoch() {
      return st.bestEpoch;
    },
    get stoppedEpoch() {
      return st.stoppedEpoch;
    },
    state: () => ({ ...st }),
    loadState(v) {
      st = { ...(v as EarlyState) };
    },
    onTrainBegin(s) {
      if (o.restoreBest && hasEvalWeights(s.optimizer))
        throw new RangeError(
          `earlyStopping: restoreBest cannot be used with ${s.optimizer.rule.name}, which evaluates weights of its own (its average); monitor without restoreBest`,
        );
      st = fresh();
    },
    onEpochEnd(s: TrainState, record: EpochRecord): void | Promise<void> {
      const v = watch.read(record);
      if (s.epoch <= startFrom) return;
      let pending: Promise<void> | undefined;
      const last = () => {
        if (o.restoreBest && (s.stop || s.epoch === s.epochs) && st.bestEpoch > 0) record.restoredEpoch = st.bestEpoch;
      };
      st.wait++;
      if (watch.improves(v, st.best)) {
        st.best = v;
        st.bestEpoch = s.epoch;
        // the wait restarts only when the baseline is beaten as well (Keras)
        if (baseline === undefined || watch.improves(v, baseline)) st.wait = 0;
        if (o.restoreBest) pending = capture(s);
        last();
        return pending;
      }
      // the first epoch watched is the best so far even when it does not beat ±∞ (a NaN), as in Keras
      if (o.restoreBest && !st.weights) {
        pending = capture(s);
        st.bestEpoch = s.epoch;
      }
      // the last epoch ends the run anyway: nothing is stopped early there
      if (st.wait >= patience && s.epoch > 1 && s.epoch < s.epochs) {
        st.stoppedEpoch = s.epoch;
        s.stop = true;
        record.stoppedEarly = true;
      }
      last();
      return pending;
    },
    onTrainEnd(s) {
      if (!o.restoreBest || !st.weights) return;
      for (const [n, t] of s.model.namedState()) {
        const w = st.weights[n];
        if (!w) continue;
        if (isDeviceStorage(t.storage)) t.storage.write(Float32Array.from(w));
        else (t.data as HostStorage).set(w);
      }
    },
  };
}
