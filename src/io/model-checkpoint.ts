/**
 * Keras 3's ModelCheckpoint for fit and fitAsync (Node-only: it writes files). After each epoch (or
 * every `saveFreq` optimizer steps) the model goes to a file; with saveBestOnly (the default here,
 * false in Keras) only when the monitored figure improves on the best so far, so the file always
 * holds the best model seen and a crash, an interrupt or an overfitting tail loses none of it.
 *
 * The rule (keras/src/callbacks/model_checkpoint.py over monitor_callback.py):
 *   - the field, its direction ('auto': max for names holding "acc" or "auc", else min) and minDelta
 *     are earlyStopping's (`recordMonitor`); the best starts at ±∞, so the first epoch whose figure
 *     is a number saves, and a NaN never improves (Keras' `nan < best` is false). minDelta is an
 *     addition (Keras' ModelCheckpoint compares with 0, this default);
 *   - initialValueThreshold (Keras' initial_value_threshold) is where the best starts instead: only
 *     a figure beating it is saved. Keras ignores it without save_best_only; here that is refused;
 *   - saveBestOnly false: every epoch is written and the record is not read;
 *   - saveFreq N (Keras' integer save_freq, there counted in batches): instead of at epoch ends, the
 *     model is written after every optimizer step whose number (TrainState.step, from 1; a skipped
 *     step counts and writes nothing) is a multiple of N. A step has one figure, its training loss
 *     (onStepEnd's: the data loss of the batch, or of the group with `accumulate`, before the step's
 *     update), so with saveBestOnly the monitor must be 'trainLoss' and that loss is what is
 *     compared. Keras compares its batch logs' running mean of the epoch so far, which restarts each
 *     epoch; the step's own loss is the same figure at every step. Any other monitor is refused, as
 *     Keras' batch logs hold no validation figure (it warns and saves every time). The weights are
 *     taken in onUpdate, right after the step (on a device: a read queued there, so the steps
 *     fitAsync runs ahead do not reach them), and written when the loss arrives. No record is
 *     marked;
 *   - the path may hold `{epoch}` or `{epoch:0Nd}` (the epoch from 1, zero-padded to N digits, as
 *     Python formats it), `{step}` or `{step:0Nd}` (the optimizer steps taken, TrainState.step;
 *     Keras' {batch} counts within the epoch), `{{` and `}}` for braces; without a placeholder each
 *     write replaces the file;
 *   - a record without the monitored field is an error naming the fields it has (Keras warns and
 *     saves anyway, which would keep a model that is not the best under the file's name).
 *
 * What is written is what evaluation used: the model's parameters and buffers, or, for an optimizer
 * evaluated at weights of its own (Schedule-Free's average), those (TrainState.evaluatedState), the
 * same weights `descent train --save` writes at the end of such a run. The default writer makes a
 * safetensors file (with `metadata`) through writeFileAtomic, so a reader sees the previous best or
 * the new one, never half a file; `write` takes another format. A model on a device (fitAsync on
 * WebGPU) is read back first and onEpochEnd returns the promise, which fitAsync awaits. The state
 * (the best figure, its epoch, the last file) is kept in checkpoints under `modelCheckpoint:<path>`,
 * so a resumed run continues from the best so far instead of saving its first epoch again.
 */
import type { Module, StateDict } from '../nn/module.js';
import type { Callback, EpochRecord, TrainState } from '../train/trainer.js';
import { copyState, monitorSchema, recordMonitor, type MonitorOptions } from '../train/callbacks.js';
import { check } from '../optim/optimizer.js';
import { bool, checkOptions, fn, num, spec, str, type SchemaOf } from '../util/options.js';
import { saveSafetensors } from './safetensors.js';
import { checkWritableFile, writeFileAtomic } from './files.js';

export interface ModelCheckpointOptions extends MonitorOptions {
  /** The file written; may hold `{epoch}` / `{epoch:02d}` (the epoch from 1), `{{` and `}}` for braces. Its folder must exist. */
  path: string;
  /** Write only at epochs that improve the monitored field (default true); false writes every epoch. */
  saveBestOnly?: boolean;
  /**
   * With saveBestOnly, what the best starts at (Keras' initial_value_threshold): only a figure that
   * beats it (by more than minDelta) is saved (default ±∞: the first number is). Refused without
   * saveBestOnly, which writes every time.
   */
  initialValueThreshold?: number;
  /**
   * 'epoch' (default): write at epoch ends. An integer N ≥ 1: write after every optimizer step whose
   * number (TrainState.step) is a multiple of N instead; with saveBestOnly only when the step's
   * training loss improves, which needs monitor 'trainLoss' (the one figure a step has).
   */
  saveFreq?: 'epoch' | number;
  /** String pairs for the safetensors header's __metadata__ (the default writer's). */
  metadata?: Record<string, string>;
  /**
   * Write the file yourself (another format): `state` holds the values to save, host copies by the
   * module's parameter and buffer names. Called with the path formatted for the epoch.
   */
  write?: (path: string, model: Module, state: StateDict) => void;
}

const schema: SchemaOf<ModelCheckpointOptions> = {
  ...monitorSchema,
  path: str,
  saveBestOnly: bool,
  initialValueThreshold: num,
  saveFreq: spec("'epoch' or an integer ≥ 1", (v) => v === 'epoch' || typeof v === 'number'),
  metadata: spec(
    'an object of strings',
    (v) => typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string'),
  ),
  write: fn,
};

/** The callback modelCheckpoint returns: its figures can be read once fit returns. */
export interface ModelCheckpoint extends Callback {
  readonly monitor: string;
  /** The best value of the monitored field so far (initialValueThreshold, else ±Infinity, before the first save; with saveBestOnly false, not tracked). */
  readonly best: number;
  /** The epoch (from 1) of the best value, whose model the file holds (with saveFreq N, the epoch its step ran in); 0 before the first save. */
  readonly bestEpoch: number;
  /** The optimizer step (TrainState.step) after which the best model was taken: the epoch's last step, or with saveFreq N the step itself; 0 before the first save. */
  readonly bestStep: number;
  /** The file written last; '' before the first write. */
  readonly lastPath: string;
}

interface CheckpointState {
  best: number;
  bestEpoch: number;
  bestStep: number;
  lastPath: string;
}

/** `{epoch}`, `{step}`, `{epoch:0Nd}` and `{step:0Nd}`; `{{`, `}}` are braces; anything else in braces, or a lone brace, is refused. */
function pathTemplate(path: string): (epoch: number, step: number) => string {
  const parts: (string | ((at: { epoch: number; step: number }) => string))[] = [];
  let at = 0;
  for (const m of path.matchAll(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g)) {
    parts.push(path.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[0] === '{{' || m[0] === '}}') parts.push(m[0][0]);
    else if (m[1] === undefined)
      throw new RangeError(`modelCheckpoint: path "${path}" has a lone "${m[0]}"; write {{ or }} for a brace in the name`);
    else {
      const f = /^(epoch|step)(?::(?:0([1-9][0-9]?))?d)?$/.exec(m[1]);
      if (!f)
        throw new RangeError(
          `modelCheckpoint: path "${path}": {${m[1]}} is not a placeholder; expected {epoch}, {step}, or {epoch:0Nd} such as {epoch:02d} (and {{ or }} for a brace)`,
        );
      const key = f[1] as 'epoch' | 'step';
      const width = f[2] === undefined ? 0 : Number(f[2]);
      parts.push((n) => String(n[key]).padStart(width, '0'));
    }
  }
  parts.push(path.slice(at));
  return (epoch, step) => parts.map((p) => (typeof p === 'string' ? p : p({ epoch, step }))).join('');
}

/**
 * Keras 3's ModelCheckpoint (see the file's header): after each epoch, write the model evaluation
 * used to `path` — with saveBestOnly (default), only when the monitored field improves on the best
 * (which starts at initialValueThreshold when given), and then the record gets `savedBest: true`.
 * With saveFreq N, after every N-th optimizer step instead, judged by the step's training loss.
 */
export function modelCheckpoint(o: ModelCheckpointOptions): ModelCheckpoint {
  checkOptions('modelCheckpoint', o, schema, { required: ['path'] });
  if (o.path === '') throw new RangeError('modelCheckpoint: path is empty; give the file to write');
  const watch = recordMonitor('modelCheckpoint', o);
  const saveBestOnly = o.saveBestOnly ?? true;
  const threshold = o.initialValueThreshold;
  if (threshold !== undefined) {
    check('modelCheckpoint', 'initialValueThreshold', threshold, Number.isFinite(threshold), 'a finite number');
    if (!saveBestOnly)
      throw new RangeError(
        `modelCheckpoint: initialValueThreshold ${threshold} is where the best starts, and saveBestOnly false writes every time without comparing; drop one of them`,
      );
  }
  const every = o.saveFreq === undefined || o.saveFreq === 'epoch' ? undefined : o.saveFreq;
  if (every !== undefined) {
    check('modelCheckpoint', 'saveFreq', every, Number.isInteger(every) && every >= 1, "'epoch' or an integer ≥ 1");
    if (saveBestOnly && watch.monitor !== 'trainLoss')
      throw new RangeError(
        `modelCheckpoint: saveFreq ${every} with saveBestOnly compares a figure every ${every} steps, and a step has only its training loss: expected monitor 'trainLoss', got ${JSON.stringify(watch.monitor)} (or saveFreq 'epoch', or saveBestOnly false)`,
      );
  }
  const fileAt = pathTemplate(o.path);
  if (o.write && o.metadata)
    throw new RangeError('modelCheckpoint: metadata is for the safetensors file it writes itself; with write, store it in your own file');
  if (!o.write && !/\.safetensors$/i.test(fileAt(1, 1)))
    throw new RangeError(
      `modelCheckpoint: path "${o.path}" must end in .safetensors, the format it writes (give write to save another format)`,
    );
  const write =
    o.write ??
    ((path: string, model: Module, state: StateDict) =>
      writeFileAtomic(path, saveSafetensors(model, { metadata: o.metadata, state }), 'modelCheckpoint'));
  const fresh = (): CheckpointState => ({ best: threshold ?? watch.initial, bestEpoch: 0, bestStep: 0, lastPath: '' });
  let st = fresh();
  type Values = Record<string, ArrayLike<number>>;
  // saveFreq N: the values taken after the n-th applied step (onUpdate), waiting for that step's
  // loss (onStepEnd, which fitAsync calls a step late; both skip the same steps, so they pair in order)
  let taken: { n: number; epoch: number; step: number; values: Values | Promise<Values> }[] = [];
  let updates = 0;
  let ends = 0;

  const save = (path: string, model: Module, values: Values) => {
    const state: StateDict = {};
    for (const [n, t] of model.namedState()) state[n] = { shape: [...t.shape], data: values[n] };
    write(path, model, state);
  };
  // what evaluation uses (see the header); a promise while a device's parameters are read back
  const valuesOf = (s: TrainState): Values | Promise<Values> => {
    const evaluated = s.evaluatedState?.();
    if (evaluated) return Object.fromEntries(Object.entries(evaluated).map(([n, e]) => [n, e.data]));
    return copyState(s.model);
  };
  const saveAt = (path: string, model: Module, values: Values | Promise<Values>): void | Promise<void> => {
    st.lastPath = path;
    if (values instanceof Promise) return values.then((v) => save(path, model, v));
    save(path, model, values);
  };

  return {
    key: `modelCheckpoint:${o.path}`,
    monitor: watch.monitor,
    get best() {
      return st.best;
    },
    get bestEpoch() {
      return st.bestEpoch;
    },
    get bestStep() {
      return st.bestStep;
    },
    get lastPath() {
      return st.lastPath;
    },
    state: () => ({ ...st }),
    loadState(v) {
      // a state without bestStep reads as step 0
      st = { ...(v as CheckpointState) };
      st.bestStep ??= 0;
    },
    onTrainBegin() {
      st = fresh();
      taken = [];
      updates = 0;
      ends = 0;
      // a path that cannot be written fails now, not after the first epoch
      checkWritableFile(fileAt(1, 1), 'modelCheckpoint');
    },
    onUpdate(s: TrainState) {
      if (every === undefined) return;
      updates++;
      if (s.step % every === 0) taken.push({ n: updates, epoch: s.epoch, step: s.step, values: valuesOf(s) });
    },
    onStepEnd(s: TrainState, loss: number): void | Promise<void> {
      if (every === undefined) return;
      ends++;
      if (taken[0]?.n !== ends) return;
      const t = taken.shift()!;
      if (saveBestOnly) {
        if (!watch.improves(loss, st.best)) return;
        st.best = loss;
        st.bestEpoch = t.epoch;
        st.bestStep = t.step;
      }
      return saveAt(fileAt(t.epoch, t.step), s.model, t.values);
    },
    onEpochEnd(s: TrainState, record: EpochRecord): void | Promise<void> {
      if (every !== undefined) return;
      if (saveBestOnly) {
        const v = watch.read(record);
        if (!watch.improves(v, st.best)) return;
        st.best = v;
        st.bestEpoch = s.epoch;
        st.bestStep = s.step;
        record.savedBest = true;
      }
      return saveAt(fileAt(s.epoch, s.step), s.model, valuesOf(s));
    },
  };
}
