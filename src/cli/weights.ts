/**
 * A trained model on disk, for `descent train --save`, `descent eval` and `descent predict`. Every
 * form names what is needed to rebuild the network without --model: the model (its built-in name or
 * canonical spec), the options that change its layers (dropout, DropConnect), the input shape, the
 * class names, the input preprocessing fitted on the training data (--standardize) and, for CSV
 * data, the feature columns and the label column or (regression) the target columns, with the
 * columns --ignore-columns left out and the categories of the --one-hot columns.
 *
 * - `FILE.safetensors`: the weights under PyTorch's state_dict names (src/io/safetensors.ts), the
 *   description in the header's __metadata__ as `descent.*` keys (JSON-encoded values), so PyTorch
 *   loads the same file with `load_state_dict`;
 * - any other name: JSON `{ model, seed, modelOptions, inputShape, classes, preprocess, csv, state }`;
 * - a checkpoint file (`ckpt-*.dckpt`) or a checkpoint folder (its newest good checkpoint): the
 *   description is stored in the checkpoint's meta by `descent train --checkpoint-dir`.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Module, StateDict } from '../nn/module.js';
import { DataFormatError } from '../data/idx.js';
import { checkImpute, checkPreprocess, type ImputePreprocess, type Preprocess } from '../data/preprocess.js';
import { checkSafetensors, loadSafetensors, saveSafetensors, torchParameterNames } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/files.js';
import { decodeCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import { loadLatestCheckpoint } from '../io/checkpoints.js';
import type { CsvColumns, CsvTextColumn } from './data.js';
import { TextVectorizer, type TextVectorizerJSON } from '../data/text.js';
import { oneHotNames, type OneHotColumn } from '../data/csv.js';
import type { RegressionLossName } from './loss-flags.js';
import { UsageError } from './args.js';

/** What rebuilds a trained network: stored beside its weights in every saved form. */
export interface SavedModelInfo {
  /** A built-in model name or a canonical layer spec (resolveModel reads both). */
  model: string;
  /** Builder options that change the layers (dropout, DropConnect), as given to ModelSpec.build. */
  modelOptions?: Record<string, unknown>;
  /** [C, H, W] of one input. */
  inputShape: [number, number, number];
  /** A classifier's classes, in output order. */
  classes?: string[];
  /** A regression model's targets, in output order (CSV: the target columns, as `csv.targets`). */
  targets?: string[];
  preprocess?: Preprocess;
  /** The values that fill missing CSV features (--impute), applied before `preprocess`. */
  impute?: ImputePreprocess;
  /** A regression's target standardization (--standardize-targets): its outputs are standardized values. */
  targetPreprocess?: Preprocess;
  /** CSV data: the feature columns in file order and the label or target columns, which a file evaluated needs. */
  csv?: CsvColumns;
  /** NumPy data (an .npz file): the names of the inputs and outputs arrays it was trained on. */
  npz?: { x: string; y: string };
  seed?: number;
  /**
   * The criterion the model trained and was tested with, absent for the plain cross-entropy: a
   * regression loss (--loss), or the cross-entropy's options (--label-smoothing, --class-weights,
   * the weights resolved). eval reports the same loss.
   */
  loss?: SavedLoss;
  /**
   * A next-token language model (descent train --data FILE.txt): its tokens, context and
   * vocabulary. `model` is then the layers up to the per-step logits [T, V], built by lmModel
   * (src/cli/lm.ts), and `inputShape` [1, 1, T].
   */
  lm?: SavedLm;
}

/** What a language model keeps beside its weights: eval and generate read text through it. */
export interface SavedLm {
  /** 'char': every Unicode character is a token (case, punctuation, line breaks kept); 'word': lowercased words without punctuation. */
  tokens: 'char' | 'word';
  /** T, the window the model trained on: generation crops its context to the last T tokens. */
  contextLength: number;
  /** The training windows' stride (held-out windows tile the text: stride T). */
  stride: number;
  /** The training text's first token: where generation starts without a prompt. */
  start: string;
  /** The vocabulary and how text is split into it. */
  vectorizer: TextVectorizerJSON;
}

export interface SavedLoss {
  /** --loss: a regression criterion (absent: cross-entropy). */
  name?: RegressionLossName;
  /** huber's δ or smooth-l1's β, when given. */
  param?: number;
  labelSmoothing?: number;
  /** One weight per class, in label order. */
  weight?: number[];
}

export interface SavedModel extends Partial<SavedModelInfo> {
  path: string;
  /** 'safetensors', 'json' or 'checkpoint'. */
  format: string;
  /** Copy the weights into a module of the same architecture (every parameter, same shapes). */
  loadInto(m: Module): void;
  /** For a checkpoint folder: its newer checkpoint files that could not be read, newest first (`path` is the one read). */
  refused?: { path: string; reason: string }[];
}

/** A check of a value saved with the model at `weights`, failing as a usage error naming the file ("the model's " + what + the check's message). */
export function savedPart<T>(weights: string, what: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    throw new UsageError(`--weights: ${weights}: the model's ${what}${(e as Error).message}`);
  }
}

/** A regression model's target names (absent for a classifier). */
export function savedTargets(saved: Partial<SavedModelInfo>): string[] | undefined {
  return saved.targets ?? saved.csv?.targets;
}

/** One stderr line per newer checkpoint a folder's reading passed over, naming the file read instead. */
export function warnRefused(saved: SavedModel, command: string, err: (line: string) => void): void {
  for (const r of saved.refused ?? []) err(`descent ${command}: ${r.reason}; using the previous good one, ${saved.path}`);
}

const PREFIX = 'descent.';

/**
 * The weights file for `path`: safetensors when the name ends in .safetensors, JSON otherwise.
 * `state`, when given, holds the values to write instead of the model's own (by its names).
 */
export function writeSavedModel(path: string, model: Module, info: SavedModelInfo, what = '--save', state?: StateDict): void {
  if (/\.safetensors$/i.test(path)) {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(info)) if (v !== undefined) metadata[PREFIX + k] = typeof v === 'string' ? v : JSON.stringify(v);
    writeFileAtomic(path, saveSafetensors(model, { metadata, state }), what);
  } else {
    const json = state
      ? Object.fromEntries(Object.entries(state).map(([n, e]) => [n, { shape: [...e.shape], data: Array.from(e.data) }]))
      : model.stateDict();
    writeFileAtomic(path, JSON.stringify({ ...info, state: json }), what);
  }
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataFormatError(path, code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? (e as Error).message})`);
  }
}

function shape3(v: unknown): [number, number, number] | undefined {
  return Array.isArray(v) && v.length === 3 && v.every((d) => Number.isInteger(d) && d > 0) ? (v as [number, number, number]) : undefined;
}

/** The description fields of a parsed object, each checked; a malformed one names the file. */
function infoFrom(path: string, o: Record<string, unknown>): Partial<SavedModelInfo> {
  const bad = (field: string, why: string): never => {
    throw new DataFormatError(path, `${field}: ${why}`);
  };
  const info: Partial<SavedModelInfo> = {};
  if (o.model !== undefined) info.model = typeof o.model === 'string' ? o.model : bad('model', 'expected a model name or spec');
  if (o.inputShape !== undefined) info.inputShape = shape3(o.inputShape) ?? bad('inputShape', 'expected [C, H, W] of positive integers');
  if (o.classes !== undefined) {
    info.classes =
      Array.isArray(o.classes) && o.classes.length > 0 && o.classes.every((c) => typeof c === 'string')
        ? (o.classes as string[])
        : bad('classes', 'expected a list of class names');
  }
  if (o.targets !== undefined) {
    info.targets =
      Array.isArray(o.targets) && o.targets.length > 0 && o.targets.every((c) => typeof c === 'string')
        ? (o.targets as string[])
        : bad('targets', 'expected a list of target names');
  }
  if (o.npz !== undefined) {
    const a = o.npz as { x?: unknown; y?: unknown } | null;
    info.npz =
      a !== null && typeof a === 'object' && typeof a.x === 'string' && typeof a.y === 'string'
        ? { x: a.x, y: a.y }
        : bad('npz', 'expected { x: array name, y: array name }');
  }
  if (o.modelOptions !== undefined) {
    info.modelOptions =
      o.modelOptions !== null && typeof o.modelOptions === 'object' && !Array.isArray(o.modelOptions)
        ? (o.modelOptions as Record<string, unknown>)
        : bad('modelOptions', 'expected an object');
  }
  if (o.preprocess !== undefined) {
    try {
      info.preprocess = checkPreprocess(o.preprocess);
    } catch (e) {
      bad('preprocess', (e as Error).message.replace(/^preprocess: /, ''));
    }
  }
  if (o.impute !== undefined) {
    try {
      info.impute = checkImpute(o.impute);
    } catch (e) {
      bad('impute', (e as Error).message.replace(/^impute: /, ''));
    }
  }
  if (o.targetPreprocess !== undefined) {
    try {
      info.targetPreprocess = checkPreprocess(o.targetPreprocess);
    } catch (e) {
      bad('targetPreprocess', (e as Error).message.replace(/^preprocess: /, ''));
    }
  }
  if (o.csv !== undefined) {
    const c = o.csv as Partial<CsvColumns>;
    const names = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((n) => typeof n === 'string');
    const ok = o.csv !== null && typeof c === 'object' && names(c.features);
    if (ok && typeof c.label === 'string' && c.targets === undefined)
      info.csv = { features: [...(c.features as string[])], label: c.label };
    else if (ok && names(c.targets) && c.label === undefined)
      info.csv = { features: [...(c.features as string[])], targets: [...(c.targets as string[])] };
    else bad('csv', 'expected { features: [column names], label: column name } or { features: [column names], targets: [column names] }');
    const csv = info.csv as CsvColumns;
    const features = csv.features;
    // written by models trained with --ignore-columns or --one-hot; a model without them reads as before
    if (c.ignored !== undefined) {
      if (!names(c.ignored)) bad('csv.ignored', 'expected a list of column names');
      csv.ignored = [...(c.ignored as string[])];
    }
    if (c.oneHot !== undefined) {
      const list = c.oneHot as unknown;
      const hot = (h: unknown): h is OneHotColumn => {
        const e = h as Partial<OneHotColumn> | null;
        if (e === null || typeof e !== 'object' || typeof e.column !== 'string' || !names(e.categories)) return false;
        const cats = e.categories as string[];
        if (new Set(cats).size !== cats.length) return false;
        // its column_value names lie together among the features, where the column was
        const n = oneHotNames(e as OneHotColumn);
        const at = features.indexOf(n[0]);
        return at >= 0 && n.every((name, k) => features[at + k] === name);
      };
      if (!Array.isArray(list) || list.length === 0 || !list.every(hot))
        bad(
          'csv.oneHot',
          "expected [{ column: column name, categories: [distinct values] }], each column's column_value names among the features in its place",
        );
      csv.oneHot = (list as OneHotColumn[]).map((h) => ({ column: h.column, categories: [...h.categories] }));
    }
    // written by models trained with --text: the text column, the only feature, and its vectorizer
    if (c.text !== undefined) {
      const t = c.text as Partial<CsvTextColumn> | null;
      if (t === null || typeof t !== 'object' || typeof t.column !== 'string' || features.length !== 1 || features[0] !== t.column)
        bad('csv.text', 'expected { column: the text column, the only feature, maxTokens, standardize, sequenceLength, vocabulary }');
      const { column, ...rest } = t as CsvTextColumn;
      try {
        csv.text = { column, ...TextVectorizer.fromJSON(rest).toJSON() };
      } catch (e) {
        bad('csv.text', (e as Error).message.replace(/^TextVectorizer.fromJSON: /, ''));
      }
    }
  }
  if (typeof o.seed === 'number') info.seed = o.seed;
  if (o.lm !== undefined) {
    const l = o.lm as Partial<SavedLm> | null;
    const shape = 'expected { tokens: char or word, contextLength, stride, start, vectorizer }';
    if (
      l === null ||
      typeof l !== 'object' ||
      (l.tokens !== 'char' && l.tokens !== 'word') ||
      !Number.isInteger(l.contextLength) ||
      (l.contextLength as number) < 1 ||
      !Number.isInteger(l.stride) ||
      (l.stride as number) < 1 ||
      typeof l.start !== 'string'
    )
      return bad('lm', shape);
    let vectorizer: TextVectorizerJSON;
    try {
      vectorizer = TextVectorizer.fromJSON(l.vectorizer).toJSON();
    } catch (e) {
      return bad('lm.vectorizer', (e as Error).message.replace(/^TextVectorizer.fromJSON: /, ''));
    }
    const split = l.tokens === 'char' ? 'character' : 'whitespace';
    if (vectorizer.split !== split) bad('lm.vectorizer', `split ${split} for tokens ${l.tokens}, got ${vectorizer.split}`);
    info.lm = { tokens: l.tokens, contextLength: l.contextLength as number, stride: l.stride as number, start: l.start, vectorizer };
  }
  if (o.loss !== undefined) {
    const l = o.loss as SavedLoss | null;
    const smoothing = l?.labelSmoothing,
      weight = l?.weight,
      name = l?.name,
      param = l?.param;
    const crossEntropyOk =
      (smoothing === undefined || (typeof smoothing === 'number' && smoothing >= 0 && smoothing <= 1)) &&
      (weight === undefined || (Array.isArray(weight) && weight.every((w) => typeof w === 'number' && Number.isFinite(w) && w >= 0)));
    const regressionOk =
      smoothing === undefined &&
      weight === undefined &&
      (name === 'mse' || name === 'l1' || name === 'huber' || name === 'smooth-l1') &&
      (param === undefined || (typeof param === 'number' && Number.isFinite(param) && param >= 0));
    const ok = l !== null && typeof l === 'object' && (name === undefined ? param === undefined && crossEntropyOk : regressionOk);
    if (!ok)
      bad(
        'loss',
        'expected { labelSmoothing: a number in [0, 1], weight: [one number ≥ 0 per class] } or { name: mse, l1, huber or smooth-l1, param: a number ≥ 0 }',
      );
    info.loss =
      name !== undefined
        ? { name, ...(param !== undefined ? { param } : {}) }
        : {
            ...(smoothing !== undefined ? { labelSmoothing: smoothing } : {}),
            ...(weight !== undefined ? { weight: [...(weight as number[])] } : {}),
          };
  }
  return info;
}

/**
 * Refuse weights holding NaN or ±Infinity (JSON's null among them): a network with one such value
 * computes plausible-looking losses and classes that mean nothing.
 */
function checkFinite(path: string, tensors: Iterable<[string, ArrayLike<unknown>]>): void {
  for (const [name, data] of tensors) {
    let bad = 0;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad++;
    if (bad > 0) throw new DataFormatError(path, `tensor "${name}" holds ${bad} non-finite value${bad === 1 ? '' : 's'}`);
  }
}

/** Copies `state` into a module; a mismatch or a non-finite value names the file. */
function stateLoader(path: string, state: StateDict): (m: Module) => void {
  return (m) => {
    try {
      m.loadStateDict(state);
    } catch (e) {
      throw new DataFormatError(path, `does not fit the model: ${(e as Error).message.replace(/^loadStateDict: /, '')}`);
    }
    checkFinite(
      path,
      m.namedState().map(([n]) => [n, state[n].data as ArrayLike<unknown>]),
    );
  };
}

function fromCheckpoint(path: string, c: Checkpoint): SavedModel {
  const saved = (c.meta as { saved?: unknown } | undefined)?.saved;
  const info = saved !== null && typeof saved === 'object' ? infoFrom(path, saved as Record<string, unknown>) : {};
  return {
    ...info,
    path,
    format: 'checkpoint',
    // the weights the run evaluated: Schedule-Free's average where the checkpoint keeps one
    loadInto: stateLoader(path, (c.evalModel ?? c.model) as unknown as StateDict),
  };
}

/**
 * Read a trained model: a safetensors file, a `--save` JSON file, a checkpoint file, or a folder of
 * checkpoints (its newest usable one).
 */
export function readWeights(path: string): SavedModel {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // reported by readBytes
  }
  if (isDir) {
    let latest;
    try {
      latest = loadLatestCheckpoint(path);
    } catch (e) {
      throw new DataFormatError(
        path,
        `is a folder without a usable checkpoint (${(e as Error).message.replace(`${path}: `, '')}); expected a weights file or a --checkpoint-dir folder`,
      );
    }
    return { ...fromCheckpoint(latest.path, latest.checkpoint), refused: latest.refused };
  }
  const bytes = readBytes(path);
  const head = new TextDecoder().decode(bytes.subarray(0, 8));
  if (head === 'DCKPT001') return fromCheckpoint(path, decodeCheckpoint(bytes, path));
  let first = 0;
  while (first < bytes.length && (bytes[first] === 0x20 || bytes[first] === 0x0a || bytes[first] === 0x0d || bytes[first] === 0x09))
    first++;
  if (bytes[first] === 0x7b /* { */) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new DataFormatError(path, `not a weights file: invalid JSON (${(e as Error).message})`);
    }
    if (!doc.state || typeof doc.state !== 'object') throw new DataFormatError(path, 'not a weights file: no "state" object');
    const state = doc.state as StateDict;
    return {
      ...infoFrom(path, doc),
      path,
      format: 'json',
      loadInto: stateLoader(path, state),
    };
  }
  if (bytes.length < 8)
    throw new DataFormatError(
      path,
      `not a weights file: ${bytes.length} bytes (expected safetensors, the JSON of descent train --save, or a checkpoint)`,
    );
  // safetensors: an 8-byte little-endian header length, then the JSON header.
  let meta: Record<string, string>;
  try {
    meta = loadSafetensorsMetadata(bytes);
  } catch (e) {
    throw new DataFormatError(
      path,
      `not a weights file: ${(e as Error).message} (expected safetensors, the JSON of descent train --save, or a checkpoint)`,
    );
  }
  // a safetensors header: the tensors it lists must lie in the file, or the file is cut short or damaged
  try {
    checkSafetensors(bytes);
  } catch (e) {
    throw new DataFormatError(path, `truncated or corrupt safetensors file: ${(e as Error).message}`);
  }
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) {
    if (!k.startsWith(PREFIX)) continue;
    const key = k.slice(PREFIX.length);
    try {
      raw[key] = key === 'model' ? v : JSON.parse(v);
    } catch {
      throw new DataFormatError(path, `__metadata__ ${k}: not valid JSON`);
    }
  }
  return {
    ...infoFrom(path, raw),
    path,
    format: 'safetensors',
    loadInto(m) {
      try {
        loadSafetensors(m, bytes);
      } catch (e) {
        throw new DataFormatError(path, `does not fit the model: ${(e as Error).message}`);
      }
      // named as the file names them (PyTorch's state_dict names)
      const names = torchParameterNames(m);
      checkFinite(
        path,
        m.namedState().map(([n, p]) => [names.get(n) ?? n, p.data]),
      );
    },
  };
}

/** The `__metadata__` of a safetensors file (its header checked as far as reading it needs). */
function loadSafetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8) throw new Error(`its 8-byte header length ${n} runs past the end of the file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new Error('its header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error('its header is not a JSON object');
  const meta = (header as Record<string, unknown>).__metadata__;
  if (meta === undefined) return {};
  if (meta === null || typeof meta !== 'object') throw new Error('its __metadata__ is not an object');
  return meta as Record<string, string>;
}
