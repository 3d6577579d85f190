/** descent predict: class probabilities of images, CSV rows or NumPy arrays' samples under trained weights; a regression model's values of CSV rows or arrays. */
import type { Command, Io } from '../command.js';
import { UsageError, givenOptions, type Parsed } from '../args.js';
import { describeCsvColumns, featureColumnsOf, type CsvTextColumn } from '../data.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Module } from '../../nn/module.js';
import { backendOption, selectBackend } from '../backend.js';
import { noGrad } from '../../autograd/engine.js';
import { FASHION_MNIST_CLASSES } from '../../data/dataset.js';
import { readImageFile } from '../../data/image-folder.js';
import { CsvColumnsError, MissingFeatureError, readCsvColumns, readCsvTexts, TextFeatureError } from '../../data/csv.js';
import { TextVectorizer } from '../../data/text.js';
import { DataFormatError } from '../../data/idx.js';
import {
  applyImpute,
  applyPreprocess,
  checkImpute,
  checkPreprocess,
  unstandardize,
  type ImputePreprocess,
  type Preprocess,
} from '../../data/preprocess.js';
import { softmaxRow } from '../../train/metrics.js';
import { hostScoped } from '../../train/step-scope.js';
import { npzInputKey, npzInputs, NpzDataError } from '../../data/npz.js';
import { encodeNpy, NpyError, type NpyArray } from '../../io/npy.js';
import { readNpy, readNpz } from '../../io/npy-node.js';
import { checkWritableFile, writeFileAtomic } from '../../io/files.js';
import { stringify } from 'csv-stringify/sync';
import { readWeights, savedPart, savedTargets, warnRefused, type SavedModel } from '../weights.js';
import { buildSaved, weightsOptions } from './eval.js';

/** Fashion-MNIST's geometry, for weights files that do not state theirs. */
const DEFAULT_INPUT: [number, number, number] = [1, 28, 28];

/** CSV rows are read and scored this many at a time, so a file of any length takes bounded memory. */
export const CSV_BATCH_ROWS = 1000;

/** An argument read as CSV: a name ending in .csv, or `-` (standard input); any other is an image. */
const isCsvArg = (f: string): boolean => f === '-' || /\.csv$/i.test(f);

/** An argument read as NumPy arrays: a name ending in .npy or .npz. */
const isArrayArg = (f: string): boolean => /\.np[yz]$/i.test(f);

/** The name standard input has in error messages. */
const STDIN_NAME = 'stdin';

function quoteList(names: readonly string[]): string {
  const q = names.map((n) => JSON.stringify(n));
  return q.length <= 8 ? q.join(', ') : `${q.slice(0, 8).join(', ')}, … (${q.length} columns)`;
}

/** What the model reads, in words, for the messages that refuse the other kind of input. */
function expects(saved: SavedModel): string {
  if (saved.csv) return `CSV rows with the feature columns ${quoteList(featureColumnsOf(saved.csv))}`;
  if (saved.npz) return `NumPy arrays of samples ${(saved.inputShape ?? DEFAULT_INPUT).join('×')} (C×H×W) in .npy or .npz files`;
  if (saved.preprocess) return 'CSV rows';
  return `images (${(saved.inputShape ?? DEFAULT_INPUT).join('×')}, C×H×W)`;
}

/** One prediction line (text) or record (--json) per sample, in input order. */
function printer(o: Parsed, io: Io, classes: readonly string[]) {
  return (logits: ArrayLike<number>, k: number, name: string, where: Record<string, string | number>) => {
    const p = softmaxRow(logits);
    const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]);
    if (o.json) {
      io.out(
        JSON.stringify({
          ...where,
          predicted: classes[order[0]],
          probabilities: Object.fromEntries(classes.map((c, j) => [c, p[j]])),
        }),
      );
    } else {
      io.out(
        `${name}: ${order
          .slice(0, Math.min(o.top, k))
          .map((j) => `${classes[j]} ${p[j].toFixed(4)}`)
          .join(', ')}`,
      );
    }
  };
}

type Where = Record<string, string | number>;
/** Where a sample's outputs go: printed one by one, or gathered for --out and written by `end`. */
interface Sink {
  add(raw: ArrayLike<number>, k: number, name: string, where: Where): void;
  end(): void;
}

/**
 * The printer for these outputs (a classifier's classes, or a regression's targets), or with --out
 * a collector: every sample's probabilities (a classifier, softmax of its logits) or values, written
 * at the end as .npy [N, outputs] float32, or as .csv with the sample's place, the predicted class
 * (a classifier) and one column per output.
 */
function sinkFor(o: Parsed, io: Io, outputs: readonly string[], regression: boolean): Sink {
  if (o.out === undefined) {
    const print = regression ? valuePrinter(o, io, outputs) : printer(o, io, outputs);
    return { add: print, end: () => {} };
  }
  const path: string = o.out;
  const rows: { where: Where; values: ArrayLike<number> }[] = [];
  return {
    add: (raw, _k, _name, where) => rows.push({ where, values: regression ? Array.from(raw) : softmaxRow(raw) }),
    end: () => {
      const k = outputs.length;
      if (/\.npy$/i.test(path)) {
        const data = new Float32Array(rows.length * k);
        rows.forEach((r, i) => data.set(r.values, i * k));
        writeFileAtomic(path, encodeNpy({ data, shape: [rows.length, k] }, path), '--out');
      } else {
        const place = rows.length ? Object.keys(rows[0].where) : [];
        const records = rows.map((r) => {
          const v = Array.from(r.values);
          const best = v.indexOf(Math.max(...v));
          return [...place.map((c) => r.where[c]), ...(regression ? [] : [outputs[best]]), ...v];
        });
        const header = [...place, ...(regression ? [] : ['predicted']), ...outputs];
        writeFileAtomic(path, stringify([header, ...records]), '--out');
      }
      const what = regression ? `values of ${k} target${k === 1 ? '' : 's'}` : `probabilities of ${k} classes`;
      io.out(`wrote ${rows.length} predictions (${what}) to ${path}`);
    },
  };
}

/** One line (text) or record (--json) per sample of a regression model: its value of each target. */
function valuePrinter(o: Parsed, io: Io, targets: readonly string[]) {
  return (values: ArrayLike<number>, _k: number, name: string, where: Record<string, string | number>) => {
    if (o.json) io.out(JSON.stringify({ ...where, predicted: Object.fromEntries(targets.map((t, j) => [t, values[j]])) }));
    else io.out(`${name}: ${targets.map((t, j) => `${t} ${Number(values[j].toPrecision(6))}`).join(', ')}`);
  };
}

/**
 * The model's outputs for the batch x, row i given to the sink under where(i)'s name and place —
 * unstandardized for a model trained on standardized targets (--standardize-targets). In a step
 * scope (hostScoped): the batch's arrays end with it, and the sink prints or copies each row.
 */
function scoreBatch(
  model: Module,
  x: Tensor,
  sink: Sink,
  targetScale: Preprocess | undefined,
  where: (i: number) => [string, Where],
): void {
  hostScoped(
    model,
    () => [model],
    () => {
      const logits = noGrad(() => model.forward(x, { training: false }));
      const k = logits.shape[1];
      const out = targetScale ? unstandardize(targetScale, logits.data) : logits.data;
      for (let i = 0; i < x.shape[0]; i++) sink.add(out.subarray(i * k, (i + 1) * k), k, ...where(i));
    },
  );
}

async function predictImages(o: Parsed, io: Io, saved: SavedModel, files: string[]): Promise<void> {
  if (savedTargets(saved))
    throw new UsageError(`${files[0]}: the model ${o.weights} is a regression model and takes ${expects(saved)}, not images`);
  const shape = saved.inputShape ?? DEFAULT_INPUT;
  const classes = saved.classes ?? [...FASHION_MNIST_CLASSES];
  const { model, sample } = buildSaved(o, saved, shape, classes.length);
  const [c, h, w] = shape;
  const size = c * h * w;
  const batch = new Float32Array(files.length * size);
  files.forEach((f, i) => batch.set(readImageFile(f, { channels: c as 1 | 3, size: [h, w] }).data, i * size));
  const x = new Tensor(batch, [files.length, ...sample]);
  const logits = noGrad(() => model.forward(x, { training: false }));
  const k = logits.shape[1];
  const sink = sinkFor(o, io, classes, false);
  files.forEach((f, i) => sink.add(logits.data.subarray(i * k, (i + 1) * k), k, f, { image: f }));
  sink.end();
}

async function predictCsv(o: Parsed, io: Io, saved: SavedModel, files: string[]): Promise<void> {
  const weights: string = o.weights;
  if (!saved.csv)
    throw new UsageError(
      `--weights: ${weights} holds a standardization of CSV features but not their column names; retrain it with descent train --data FILE.csv --save FILE`,
    );
  const targets = saved.csv.targets;
  if (!saved.classes && !targets)
    throw new UsageError(`--weights: ${weights} does not name its classes; retrain it with descent train --save FILE`);
  if (targets && givenOptions(o).has('top'))
    throw new UsageError(`--top ranks classes; ${weights} is a regression model, which predicts one value per target`);
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('standard input (-) can be read once; it is given more than once');
  if (saved.csv.text) return predictTexts(o, io, saved, saved.csv.text, files);
  // the file's columns: a one-hot column once, encoded in the model's categories into its features
  const columns = featureColumnsOf(saved.csv);
  const F = saved.csv.features.length;
  const outputs = targets ?? (saved.classes as string[]);
  const { preprocess, targetScale } = savedScaling(weights, saved, F, targets);
  const impute = saved.impute && savedPart(weights, '', () => checkImpute(saved.impute as ImputePreprocess, F));
  const { model, sample } = buildSaved(o, saved, [1, 1, F], outputs.length);
  const sink = sinkFor(o, io, outputs, targets !== undefined);
  for (const file of files) {
    const name = file === '-' ? STDIN_NAME : file;
    try {
      for await (const b of readCsvColumns(name, columns, {
        batchRows: CSV_BATCH_ROWS,
        input: file === '-' ? process.stdin : undefined,
        allowMissing: impute !== undefined,
        oneHot: saved.csv.oneHot,
      })) {
        // the saved fill and statistics, applied as eval and train apply them (src/data/preprocess.ts)
        const filled = impute ? applyImpute(impute, b.values) : b.values;
        const values = preprocess ? applyPreprocess(preprocess, filled) : filled;
        scoreBatch(model, new Tensor(values, [b.rows, ...sample]), sink, targetScale, (i) => {
          const row = b.start + i + 1;
          return [`${file}:${row}`, { file, row }];
        });
      }
    } catch (e) {
      if (e instanceof MissingFeatureError)
        throw new DataFormatError(e.file, `${e.problem} (the model ${weights} was trained without --impute)`);
      // the model's own columns only are read: this one was a number in training
      if (e instanceof TextFeatureError) throw new DataFormatError(e.file, `${e.problem} (the model reads "${e.column}" as a number)`);
      if (e instanceof CsvColumnsError)
        throw new UsageError(
          `${name}: the model was trained on the feature columns ${quoteList(columns)} (${describeCsvColumns(saved.csv)}); this file lacks ${quoteList(e.missing)} (its columns: ${quoteList(e.header)})`,
        );
      throw e;
    }
  }
  sink.end();
}

/** A --text model's predictions: each file's text column read through the saved vocabulary, a batch of rows at a time. */
async function predictTexts(o: Parsed, io: Io, saved: SavedModel, text: CsvTextColumn, files: string[]): Promise<void> {
  const classes = saved.classes as string[];
  const vectorizer = savedPart(o.weights, '', () => TextVectorizer.fromJSON({ ...text, column: undefined }));
  const T = vectorizer.outputWidth;
  const { model, sample } = buildSaved(o, saved, [1, 1, T], classes.length);
  const sink = sinkFor(o, io, classes, false);
  for (const file of files) {
    const name = file === '-' ? STDIN_NAME : file;
    try {
      for await (const b of readCsvTexts(name, text.column, {
        batchRows: CSV_BATCH_ROWS,
        input: file === '-' ? process.stdin : undefined,
      })) {
        scoreBatch(model, new Tensor(vectorizer.vectorize(b.texts).data, [b.rows, ...sample]), sink, undefined, (i) => {
          const row = b.start + i + 1;
          return [`${file}:${row}`, { file, row }];
        });
      }
    } catch (e) {
      if (e instanceof CsvColumnsError)
        throw new UsageError(
          `${name}: the model reads the text column "${text.column}" (${describeCsvColumns(saved.csv!)}); this file lacks it (its columns: ${quoteList(e.header)})`,
        );
      throw e;
    }
  }
  sink.end();
}

/** The model's saved --standardize statistics for `size` inputs and a regression's --standardize-targets, each checked. */
function savedScaling(
  weights: string,
  saved: SavedModel,
  size: number,
  targets: readonly string[] | undefined,
): { preprocess?: Preprocess; targetScale?: Preprocess } {
  return {
    preprocess: saved.preprocess && savedPart(weights, '', () => checkPreprocess(saved.preprocess as Preprocess, size)),
    targetScale:
      targets && saved.targetPreprocess
        ? savedPart(weights, 'target ', () => checkPreprocess(saved.targetPreprocess as Preprocess, targets.length))
        : undefined,
  };
}

/** The inputs array of a .npy file, or of an .npz file's inputs array (npzInputKey), with its name for messages. */
function readInputs(file: string): { array: NpyArray; name: string } {
  if (/\.npy$/i.test(file)) return { array: readNpy(file), name: file };
  const arrays = readNpz(file);
  const key = npzInputKey([...arrays.keys()]);
  if (key === undefined)
    throw new NpzDataError(
      `${file}: no inputs array among ${quoteList([...arrays.keys()])}; expected one named x, X, inputs, features, data or images (or with _test or _train)`,
    );
  return { array: arrays.get(key) as NpyArray, name: `${file}["${key}"]` };
}

/** Each sample of .npy / .npz inputs, read as npzDatasets reads them and scored 1,000 at a time: FILE[i]: class p, … */
async function predictArrays(o: Parsed, io: Io, saved: SavedModel, files: string[]): Promise<void> {
  const weights: string = o.weights;
  const shape = saved.inputShape ?? DEFAULT_INPUT;
  const targets = savedTargets(saved);
  const outputs = targets ?? saved.classes ?? [...FASHION_MNIST_CLASSES];
  if (targets && givenOptions(o).has('top'))
    throw new UsageError(`--top ranks classes; ${weights} is a regression model, which predicts one value per target`);
  const size = shape[0] * shape[1] * shape[2];
  const { preprocess, targetScale } = savedScaling(weights, saved, size, targets);
  const { model, sample } = buildSaved(o, saved, shape, outputs.length);
  const sink = sinkFor(o, io, outputs, targets !== undefined);
  for (const file of files) {
    let samples: ReturnType<typeof npzInputs>;
    let name: string;
    try {
      const read = readInputs(file);
      name = read.name;
      samples = npzInputs(read.array, name);
    } catch (e) {
      if (e instanceof NpyError || e instanceof NpzDataError) throw new UsageError(e.message);
      throw e;
    }
    if (samples.chw.join() !== shape.join())
      throw new UsageError(`${name}: samples of ${samples.chw.join('×')} (C×H×W); the model ${weights} takes ${shape.join('×')}`);
    const n = samples.images.length / size;
    for (let start = 0; start < n; start += CSV_BATCH_ROWS) {
      const rows = Math.min(CSV_BATCH_ROWS, n - start);
      const raw = samples.images.subarray(start * size, (start + rows) * size);
      const values = preprocess ? applyPreprocess(preprocess, raw) : raw;
      scoreBatch(model, new Tensor(values, [rows, ...sample]), sink, targetScale, (i) => [
        `${file}[${start + i}]`,
        { file, index: start + i },
      ]);
    }
  }
  sink.end();
}

export const predictCommand: Command = {
  name: 'predict',
  summary:
    'class probabilities of PNG or JPEG images, CSV rows or NumPy arrays under trained weights (a regression model: its values of CSV rows or arrays)',
  positional: 'IMAGE...|FILE.csv...|FILE.npy...|FILE.npz...',
  options: [
    ...weightsOptions,
    { name: 'top', type: 'int', min: 1, default: 3, help: 'how many classes to print per image or CSV row (a classifier)' },
    backendOption,
    { name: 'json', type: 'boolean', help: "print one JSON record per image or CSV row (every class's probability)" },
    {
      name: 'out',
      type: 'string',
      metavar: 'FILE.npy|FILE.csv',
      help: "write every sample's prediction to FILE instead of printing it: .npy, float32 [samples, outputs] (a classifier's probabilities, a regression's values), or .csv with the sample's file and row (or index, or image), the predicted class and one column per class or target; written whole at the end or not at all",
    },
  ],
  helpExtra: [
    "Images (a model trained on images): converted to the model's channels and resized to its input size; one line per image, FILE: class p, class p, …",
    `CSV files (a model trained on CSV data; a name ending in .csv, or - for standard input): the header names the columns; the model's feature columns are read by name, in any order, and other columns (the label column among them) are ignored. A --one-hot column is encoded in the categories saved with the model (a value it lacks is all zeros); the saved --impute values and --standardize statistics are applied. One line per data row, FILE:ROW: class p, …, ROW counting the rows after the header from 1; read ${CSV_BATCH_ROWS} rows at a time. A regression model (descent train --target) prints FILE:ROW: target value, … instead; --json gives { file, row, predicted: { target: value } }.`,
    `NumPy files (a name ending in .npy, or .npz: its inputs array, named x, X, inputs, features, data or images, plain or with _test or _train): one sample per row of the first axis, read as descent train reads an .npz file's inputs (uint8 ÷255, channels last transposed), the saved --standardize statistics applied; each must have the model's input shape. One line per sample, FILE[i]: class p, … (i from 0); --json gives { file, index, predicted, probabilities } (a regression model: { file, index, predicted: { target: value } }). A model trained on CSV columns takes CSV files only.`,
    'One call reads one kind: images, CSV files and NumPy files together are refused, as is a kind the model cannot take.',
    'Examples: descent predict --weights mlp.json shoe.png bag.jpg',
    '          descent predict --weights iris.json --json new-flowers.csv',
  ].join('\n'),
  async run(o: Parsed, io: Io) {
    if (!o.weights) throw new UsageError('--weights: the weights file is required (write one with descent train --save FILE)');
    const files: string[] = o._;
    if (!files.length)
      throw new UsageError(
        'no input given; expected one or more PNG or JPEG images, CSV files (FILE.csv, - for standard input) or NumPy files (FILE.npy, FILE.npz), after the options',
      );
    if (o.out !== undefined) {
      if (!/\.(npy|csv)$/i.test(o.out)) throw new UsageError(`--out: expected a file name ending in .npy or .csv, got "${o.out}"`);
      checkWritableFile(o.out, '--out');
    }
    await selectBackend(o.backend);
    const saved = readWeights(o.weights);
    warnRefused(saved, 'predict', io.err);
    if (saved.lm)
      throw new UsageError(
        `--weights: ${saved.path} is a language model (its next-token logits over ${saved.lm.vectorizer.vocabulary.length} ${saved.lm.tokens === 'char' ? 'characters' : 'words'}); descent generate --weights ${o.weights} --prompt TEXT continues a text with it`,
      );
    const csv = files.filter(isCsvArg);
    const arrays = files.filter(isArrayArg);
    const images = files.filter((f) => !isCsvArg(f) && !isArrayArg(f));
    const kinds: [string[], string][] = [
      [csv, 'a CSV file'],
      [arrays, 'a NumPy file'],
      [images, 'an image'],
    ];
    const given = kinds.filter(([list]) => list.length > 0);
    if (given.length > 1)
      throw new UsageError(
        `${given[0][0][0]} is ${given[0][1]} and ${given[1][0][0]} ${given[1][1]}: one call reads one kind of input, the kind the model was trained on (${o.weights} takes ${expects(saved)})`,
      );
    if (arrays.length) {
      if (saved.csv !== undefined)
        throw new UsageError(`${arrays[0]}: the model ${o.weights} was trained on CSV data and takes ${expects(saved)}, not NumPy arrays`);
      return predictArrays(o, io, saved, arrays);
    }
    if (saved.npz && saved.preprocess && images.length)
      throw new UsageError(
        `${images[0]}: the model ${o.weights} standardizes its inputs with the statistics of its NumPy training data; give .npy or .npz files`,
      );
    const onCsv = saved.csv !== undefined || (saved.preprocess !== undefined && saved.npz === undefined);
    if (onCsv && images.length)
      throw new UsageError(
        `${images[0]}: the model ${o.weights} was trained on CSV data and takes ${expects(saved)}, not images; give CSV files (named *.csv, or - for standard input)`,
      );
    if (!onCsv && csv.length)
      throw new UsageError(`${csv[0]}: the model ${o.weights} was trained on images and takes ${expects(saved)}, not CSV rows`);
    if (onCsv) await predictCsv(o, io, saved, csv);
    else await predictImages(o, io, saved, images);
  },
};
