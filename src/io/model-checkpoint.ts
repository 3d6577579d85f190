/**
 * Keras 3's ModelCheckpoint for fit and fitAsync (Node-only: it writes files). After each epoch the
 * model goes to a file; with saveBestOnly (the default here, false in Keras) only when the monitored
 * record field improves on the best so far, so the file always holds the best model seen and a
 * crash, an interrupt or an overfitting tail loses none of it.
 *
 * The rule (keras/src/callbacks/model_checkpoint.py over monitor_callback.py):
 *   - the field, its direction ('auto': max for names holding "acc" or "auc", else min) and minDelta
 *     are earlyStopping's (`recordMonitor`); the best starts at ±∞, so the first epoch whose figure
 *     is a number saves, and a NaN never improves (Keras' `nan < best` is false). minDelta is an
 *     addition (Keras' ModelCheckpoint compares with 0, this default);
 *   - saveBestOnly false: every epoch is written and the record is not read;
 *   - the path may hold `{epoch}` or `{epoch:0Nd}` (the epoch from 1, zero-padded to N digits, as
 *     Python formats it), `{{` and `}}` for braces; without a placeholder each write replaces the file;
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
import type { HostStorage } from '../tensor/tensor.js';
import type { Module, StateDict } from '../nn/module.js';
import type { Callback, EpochRecord, TrainState } from '../train/trainer.js';
import { copyState, monitorSchema, recordMonitor, type MonitorOptions } from '../train/callbacks.js';
import { bool, checkOptions, fn, spec, str, type SchemaOf } from '../util/options.js';
import { saveSafetensors } from './safetensors.js';
import { checkWritableFile, writeFileAtomic } from './files.js';

export interface ModelCheckpointOptions extends MonitorOptions {
  /** The file written; may hold `{epoch}` / `{epoch:02d}` (the epoch from 1), `{{` and `}}` for braces. Its folder must exist. */
  path: string;
  /** Write only at epochs that improve the monitored field (default true); false writes every epoch. */
  saveBestOnly?: boolean;
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
  metadata: spec(
    'an object of strings',
    (v) => typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string'),
  ),
  write: fn,
};

/** The callback modelCheckpoint returns: its figures can be read once fit returns. */
export interface ModelCheckpoint extends Callback {
  readonly monitor: string;
  /** The best value of the monitored field so far (±Infinity before the first save; with saveBestOnly false, not tracked). */
  readonly best: number;
  /** The epoch (from 1) of the best value, whose model the file holds; 0 before the first save. */
  readonly bestEpoch: number;
  /** The file written last; '' before the first write. */
  readonly lastPath: string;
}

interface CheckpointState {
  best: number;
  bestEpoch: number;
  lastPath: string;
}

/** `{epoch}` and `{epoch:0Nd}`; `{{`, `}}` are braces; anything else in braces, or a lone brace, is refused. */
function pathTemplate(path: string): (epoch: number) => string {
  const parts: (string | ((epoch: number) => string))[] = [];
  let at = 0;
  for (const m of path.matchAll(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g)) {
    parts.push(path.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[0] === '{{' || m[0] === '}}') parts.push(m[0][0]);
    else if (m[1] === undefined)
      throw new RangeError(`modelCheckpoint: path "${path}" has a lone "${m[0]}"; write {{ or }} for a brace in the name`);
    else {
      const f = /^epoch(?::(?:0([1-9][0-9]?))?d)?$/.exec(m[1]);
      if (!f)
        throw new RangeError(
          `modelCheckpoint: path "${path}": {${m[1]}} is not a placeholder; expected {epoch} or {epoch:0Nd} such as {epoch:02d} (and {{ or }} for a brace)`,
        );
      const width = f[1] === undefined ? 0 : Number(f[1]);
      parts.push((epoch) => String(epoch).padStart(width, '0'));
    }
  }
  parts.push(path.slice(at));
  return (epoch) => parts.map((p) => (typeof p === 'string' ? p : p(epoch))).join('');
}

/**
 * Keras 3's ModelCheckpoint (see the file's header): after each epoch, write the model evaluation
 * used to `path` — with saveBestOnly (default), only when the monitored field improves, and then
 * the record gets `savedBest: true`.
 */
export function modelCheckpoint(o: ModelCheckpointOptions): ModelCheckpoint {
  checkOptions('modelCheckpoint', o, schema, { required: ['path'] });
  if (o.path === '') throw new RangeError('modelCheckpoint: path is empty; give the file to write');
  const watch = recordMonitor('modelCheckpoint', o);
  const saveBestOnly = o.saveBestOnly ?? true;
  const fileAt = pathTemplate(o.path);
  if (o.write && o.metadata)
    throw new RangeError('modelCheckpoint: metadata is for the safetensors file it writes itself; with write, store it in your own file');
  if (!o.write && !/\.safetensors$/i.test(fileAt(1)))
    throw new RangeError(
      `modelCheckpoint: path "${o.path}" must end in .safetensors, the format it writes (give write to save another format)`,
    );
  const write =
    o.write ??
    ((path: string, model: Module, state: StateDict) =>
      writeFileAtomic(path, saveSafetensors(model, { metadata: o.metadata, state }), 'modelCheckpoint'));
  const fresh = (): CheckpointState => ({ best: watch.initial, bestEpoch: 0, lastPath: '' });
  let st = fresh();

  const save = (path: string, model: Module, values: Record<string, ArrayLike<number>>) => {
    const state: StateDict = {};
    for (const [n, t] of model.namedState()) state[n] = { shape: [...t.shape], data: values[n] };
    write(path, model, state);
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
    get lastPath() {
      return st.lastPath;
    },
    state: () => ({ ...st }),
    loadState(v) {
      st = { ...(v as CheckpointState) };
    },
    onTrainBegin() {
      st = fresh();
      // a path that cannot be written fails now, not after the first epoch
      checkWritableFile(fileAt(1), 'modelCheckpoint');
    },
    onEpochEnd(s: TrainState, record: EpochRecord): void | Promise<void> {
      if (saveBestOnly) {
        const v = watch.read(record);
        if (!watch.improves(v, st.best)) return;
        st.best = v;
        st.bestEpoch = s.epoch;
        record.savedBest = true;
      }
      const path = fileAt(s.epoch);
      st.lastPath = path;
      const evaluated = s.evaluatedState?.();
      if (evaluated) return save(path, s.model, Object.fromEntries(Object.entries(evaluated).map(([n, e]) => [n, e.data])));
      const values = copyState(s.model);
      if (values instanceof Promise) return values.then((v: Record<string, HostStorage>) => save(path, s.model, v));
      save(path, s.model, values);
    },
  };
}
