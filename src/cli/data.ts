/**
 * Resolve the CLI's --data value (and the options of users' own data) to a train/test pair
 * (Node-only). --data is one of:
 *   auto | embedded          Fashion-MNIST (installed, else the embedded subset)
 *   DIR with IDX files       Fashion-MNIST's four IDX files
 *   DIR of class folders     PyTorch's ImageFolder layout: DIR/CLASS/*.png|jpg, or DIR/train/CLASS/…
 *                            with DIR/test (or DIR/val) beside it
 *   FILE.npz                 NumPy arrays: inputs and labels or targets (src/data/npz.ts), with a
 *                            test set where it holds x_test/y_test
 *   FILE.csv (or any file)   a header row, a label column (or --target columns: regression),
 *                            numeric features
 * A source without its own test set needs --test-data or --val-split, unless the caller reads only
 * its training part (`trainOnly`).
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { loadEmbedded, loadFashionMnist, hasFashionMnistFiles, FASHION_MNIST_SEARCH_PATH } from '../data/node.js';
import {
  loadCsv,
  loadCsvRegression,
  keepTrainingCategories,
  MAX_ONE_HOT_CATEGORIES,
  MissingFeatureError,
  oneHotNames,
  readCsvHeader,
  TextFeatureError,
  loadCsvText,
  TextColumnsError,
  type CsvTexts,
  type OneHotColumn,
} from '../data/csv.js';
import { DEFAULT_MAX_TOKENS, TextVectorizer, type TextOutputMode, type TextVectorizerJSON } from '../data/text.js';
import { ImageSizeError, loadImageFolders } from '../data/image-folder.js';
import { checkTestSet, npzDatasets, NpzDataError, type NpzDatasets } from '../data/npz.js';
import { readNpz } from '../io/npy-node.js';
import { NpyError } from '../io/npy.js';
import {
  checkImpute,
  checkPreprocess,
  fitImpute,
  fitStandardize,
  fitTargetStandardize,
  imputeDataset,
  preprocessDataset,
  randomSplit,
  standardizeTargets,
  type ImputePreprocess,
  type Preprocess,
} from '../data/preprocess.js';
import { complementIndices, kFold, stratifiedKFold, stratifiedSplit } from '../data/folds.js';
import { DataFormatError } from '../data/idx.js';
import { parseImageSize } from '../data/image.js';
import { Rng } from '../tensor/rng.js';
import { UsageError, type OptSpec } from './args.js';
import { Dataset, RegressionDataset } from '../data/dataset.js';

const DEFAULT_FASHION_MNIST_DIR = FASHION_MNIST_SEARCH_PATH[0];

/** What the CLI trains on: class labels (Dataset) or, with --target, float targets (RegressionDataset). */
export type CliDataset = Dataset | RegressionDataset;

/** A regression data set (--target), whose batches' targets are floats [B, T]. */
export function isRegression(d: CliDataset): d is RegressionDataset {
  return d instanceof RegressionDataset;
}

/** The outputs a model of this data needs: one per class, or one per target. */
export function outputsOf(d: CliDataset): number {
  return isRegression(d) ? d.targetNames.length : d.classes.length;
}

export interface LoadedData<D extends CliDataset = CliDataset> {
  train: D;
  test: D;
  /** Where it came from, for the log line. */
  source: string;
  /**
   * The input transformation fitted on the training part (--standardize); a trained model needs it
   * again for any later input (`applyPreprocess` from src/data/preprocess.ts).
   */
  preprocess?: Preprocess;
  /** The fill of missing feature values fitted on the training part (--impute), applied before `preprocess`. */
  impute?: ImputePreprocess;
  /**
   * A regression's target standardization fitted on the training part (--standardize-targets): the
   * data sets hold standardized targets, and a trained model's outputs are standardized values.
   */
  targetPreprocess?: Preprocess;
  /** CSV: the columns read, which a model trained on them needs again in any file it reads. */
  csv?: CsvColumns;
  /** NumPy (.npz): the names of the inputs and outputs arrays read. */
  npz?: { x: string; y: string };
}

/** The columns of a CSV data set: the feature columns in file order, and the label column or the target columns. */
export interface CsvColumns {
  /** The features in file order: a column's name, a one-hot column's `column_value` names in its place. */
  features: string[];
  /** Classification: the label column. */
  label?: string;
  /** Regression (--target): the target columns, in the order of the model's outputs. */
  targets?: string[];
  /** --ignore-columns: the columns left out, which eval leaves out of a file holding them. */
  ignored?: string[];
  /** --one-hot: the one-hot encoded columns and their categories, which eval and predict encode files in. */
  oneHot?: OneHotColumn[];
  /**
   * --text: the free-text column (the only feature, `features` = [column]) and the vectorizer fitted
   * on the training part, which eval, predict and export read the column's texts with.
   */
  text?: CsvTextColumn;
}

/** A free-text column and its vectorizer (vocabulary, T), as a weights file keeps them. */
export interface CsvTextColumn extends TextVectorizerJSON {
  column: string;
}

/**
 * The columns of a file the features are read from, in file order: `features` with each one-hot
 * column's `column_value` names given back as the column (a weights file's `csv` is checked to hold
 * them so, see src/cli/weights.ts).
 */
export function featureColumnsOf(c: CsvColumns): string[] {
  if (!c.oneHot?.length) return c.features;
  const out: string[] = [];
  for (let i = 0; i < c.features.length; ) {
    const h = c.oneHot.find((h) => oneHotNames(h).every((n, k) => c.features[i + k] === n));
    out.push(h ? h.column : c.features[i]);
    i += h ? h.categories.length : 1;
  }
  return out;
}

/** 'label "species"' or 'targets "price", "rent"': what the columns besides the features are, for messages. */
export function describeCsvColumns(c: CsvColumns): string {
  return c.targets ? `target${c.targets.length === 1 ? '' : 's'} ${quoteList(c.targets)}` : `label "${c.label}"`;
}

/** The class-labelled data a command needs: a regression data set (--target) is refused naming `command`. */
export function classificationOnly(d: LoadedData, command: string): LoadedData<Dataset> {
  if (isRegression(d.train) || isRegression(d.test))
    throw new UsageError(
      `--target: ${command} takes class labels; a regression data set is trained and scored by descent train, eval and predict`,
    );
  return d as LoadedData<Dataset>;
}

export const dataOption = {
  name: 'data',
  type: 'string' as const,
  metavar: 'auto|embedded|DIR|FILE.csv|FILE.npz|FILE.txt',
  default: 'auto',
  help: `the data set: "auto" uses Fashion-MNIST from ${'/usr/share/datasets/fashion-mnist'} if installed (apt-get install dataset-fashion-mnist), else the embedded subset; "embedded" the 10k/2k subset shipped in the package; a directory of IDX files; a directory of images with one subfolder per class (or train/ and test/ subfolders in that layout); a NumPy .npz file of inputs and labels (x_train/y_train[/x_test/y_test], or x/y; float y: regression); a CSV file with a header row and a label column; or (descent train, eval) a .txt file of plain text, which trains a next-token language model (see --tokens)`,
};

/** The options of users' own data (CSV files and image folders); `descent train` lists them after --data. */
export const dataOptions: OptSpec[] = [
  {
    name: 'test-data',
    type: 'string',
    metavar: 'FILE|DIR',
    help: 'the test set, in the format of --data (a CSV file with the same header, an .npz file, or an image folder)',
  },
  {
    name: 'val-split',
    type: 'number',
    gt: 0,
    max: 0.99,
    metavar: 'F',
    help: 'for data without a test set: hold out the fraction F of it, chosen by --seed (plain text: its last fraction F, default 0.1), as the set evaluated every epoch',
  },
  {
    name: 'stratify',
    type: 'boolean',
    help: "with --val-split (or train's --cv): hold out each class in proportion, as scikit-learn's train_test_split(stratify=y) (StratifiedKFold for --cv); class labels only",
  },
  {
    name: 'label-column',
    type: 'string',
    metavar: 'NAME|INDEX',
    help: 'CSV: the label column, by header name or 0-based index (default: the column named "label")',
  },
  {
    name: 'target',
    type: 'string',
    metavar: 'COL[,COL…]',
    help: 'CSV: regression on the numeric column(s) COL, by header name or 0-based index; every other column is a feature. The model has one output per target, the loss is --loss (default mse) and each epoch reports the test MAE and RMSE',
  },
  {
    name: 'ignore-columns',
    type: 'string',
    metavar: 'COL[,COL…]',
    help: 'CSV: columns not read (an id, text), by header name or 0-based index; every other column besides the label or targets is a feature. Saved with the model: eval leaves them out of a file that has them',
  },
  {
    name: 'one-hot',
    type: 'string',
    metavar: 'COL[,COL…]',
    help: `CSV: one-hot encode the text columns COL, by header name or 0-based index: each becomes one 0/1 feature per distinct value of the training file (sorted; named COL_value; a missing or unseen value is all zeros; at most ${MAX_ONE_HOT_CATEGORIES}), saved with the model for eval and predict`,
  },
  {
    name: 'text',
    type: 'string',
    metavar: 'COL',
    help: `CSV: the free-text column COL, by header name or 0-based index, is the model's input: lowercased, punctuation stripped, split on whitespace and read as token ids [T] through a vocabulary of the training part's most frequent words (Keras' TextVectorization: 0 padding, 1 unknown), saved with the model for eval, predict and export. Every other column besides the label must be left out by --ignore-columns. Default model: embedding:V:64:pad=0:mask=true,seqmean,linear, V the vocabulary size; a --model must start with embedding:V:dim:pad=0:mask=true`,
  },
  {
    name: 'max-tokens',
    type: 'int',
    min: 3,
    metavar: 'N',
    help: `with --text or plain text (--data FILE.txt): at most N tokens in the vocabulary, padding and unknown included (default ${DEFAULT_MAX_TOKENS})`,
  },
  {
    name: 'sequence-length',
    type: 'int',
    min: 1,
    metavar: 'T',
    help: 'with --text: the tokens read of each text, cut or padded with 0 to T (default: the longest training text)',
  },
  {
    name: 'text-mode',
    type: 'string',
    choices: ['int', 'multi_hot', 'count', 'tf_idf'],
    metavar: 'MODE',
    help: "with --text: what the model reads of each text (Keras' TextVectorization output_mode): int, its token ids [T] (the default); multi_hot, count or tf_idf, one value per vocabulary term [V] — 1 if the text holds it, how often, or that count times the term's idf log(1 + texts / (1 + texts holding it)), index 0 counting unknown terms. A bag of terms trains a linear model by default (--model linear: logistic regression, as scikit-learn's TfidfVectorizer with LogisticRegression); a --model for it reads V features, no embedding",
  },
  {
    name: 'ngrams',
    type: 'string',
    metavar: 'K|N,M,…',
    help: "with --text: the terms are the n-grams of the words, of sizes 1 … K (or the sizes listed), joined by a space, as Keras' ngrams (default 1: words)",
  },
  {
    name: 'standardize',
    type: 'boolean',
    help: 'CSV: scale each feature to mean 0 and standard deviation 1, with statistics of the training part only',
  },
  {
    name: 'impute',
    type: 'string',
    choices: ['mean', 'median'],
    help: "CSV: fill missing feature cells (empty, NA, NaN, null, … as pandas reads them) with each feature's mean or median over the training part (scikit-learn's SimpleImputer), before --standardize; the values are saved with the model for eval and predict",
  },
  {
    name: 'standardize-targets',
    type: 'boolean',
    help: "CSV regression (--target): train on each target scaled to mean 0 and standard deviation 1 (training part's statistics, scikit-learn's TransformedTargetRegressor), the loss on those; the MAE and RMSE are reported, and predict prints, in the targets' units",
  },
  {
    name: 'channels',
    type: 'string',
    choices: ['1', '3'],
    help: 'image folders: 1 (grey) or 3 (RGB) channels (default: 1 when every image is grey, else 3)',
  },
  {
    name: 'resize',
    type: 'string',
    metavar: 'HxW',
    help: 'image folders: resize every image to H×W, bilinear (default: every image must have the same size)',
  },
];

/** The parsed options loadData reads (camel-cased, as parseArgs returns them); all optional. */
export interface DataFlags {
  testData?: string;
  valSplit?: number;
  /** --stratify: --val-split (or --cv's folds) hold out each class in proportion. */
  stratify?: boolean;
  /** --cv K: the data is split into K folds (seeded by Rng(seed).fork('cv')) and `cvFold` is held out as the test set. */
  cv?: number;
  /** The fold --cv holds out, 0 … K−1. */
  cvFold?: number;
  /**
   * The files read so far by a caller that loads the same data with the same flags several times
   * (train --cv: one run per fold), by kind and path: each load reads a file once and splits its own
   * parts from what was read (the data sets are never changed in place).
   */
  reads?: Map<string, unknown>;
  labelColumn?: string;
  /** --target: the regression target columns, comma-separated. */
  target?: string;
  /** --ignore-columns: the CSV columns not read, comma-separated. */
  ignoreColumns?: string;
  /** --one-hot: the CSV columns one-hot encoded, comma-separated. */
  oneHot?: string;
  /** --text: the CSV free-text column. */
  text?: string;
  /** --max-tokens: the vocabulary size cap of --text. */
  maxTokens?: number;
  /** --sequence-length: the token ids read of each --text text. */
  sequenceLength?: number;
  /** --text-mode: int (token ids), multi_hot, count or tf_idf (a bag of terms). */
  textMode?: string;
  /** --ngrams: K (sizes 1 … K) or a list of sizes, as given. */
  ngrams?: string;
  standardize?: boolean;
  channels?: string | number;
  resize?: string;
  /** Seeds --val-split (through Rng(seed).fork('val-split'), apart from every other stream). */
  seed?: number;
  /**
   * Seeds --val-split instead of `seed` when given: the members of an ensemble, trained with seeds
   * seed, seed+1, …, must all hold out the samples the ensemble is evaluated on.
   */
  splitSeed?: number;
  /**
   * A preprocess saved with a trained model: applied to the CSV samples instead of fitting new
   * statistics (evaluating or predicting with a model trained with --standardize).
   */
  preprocess?: Preprocess;
  standardizeTargets?: boolean;
  /** --impute: the strategy that fills missing feature cells. */
  impute?: string;
  /** An imputation saved with a trained model: fills the CSV samples' missing cells instead of fitting new values. */
  trainedImpute?: ImputePreprocess;
  /** A target standardization saved with a trained regression model: applied to the targets instead of fitting new statistics. */
  targetPreprocess?: Preprocess;
  /**
   * The caller reads only the training part (descent augment): a source without a test set is taken
   * whole, and its `test` is empty.
   */
  trainOnly?: boolean;
  /**
   * The caller only evaluates (descent eval): a source without a test set, and without --val-split,
   * is evaluated whole; its `test` is all of it and its `train` empty.
   */
  evaluate?: boolean;
  /**
   * What a trained model was trained on: its classes index the labels of a CSV file (which may lack
   * some but not add one), and a CSV file must have its columns (`csv`: the features, and the default
   * label column or the target columns).
   */
  trained?: { classes?: readonly string[]; csv?: CsvColumns };
}

/** How many data files (or folders) loadData has read in this process: a test reads it to see that --cv reads its data once. */
export const dataReads = { count: 0 };

/** `read()`'s result, from `f.reads` when this load has read `key` before. */
async function readOnce<T>(f: DataFlags, key: string, read: () => T | Promise<T>): Promise<T> {
  if (f.reads?.has(key)) return f.reads.get(key) as T;
  dataReads.count++;
  const value = await read();
  f.reads?.set(key, value);
  return value;
}

export type DataKind = 'embedded' | 'idx' | 'csv' | 'npz' | 'folder' | 'text';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** What kind of data --data names: a folder is IDX or images (by its content), a file or *.csv is CSV. */
export function dataKind(spec: string): DataKind {
  if (spec === 'embedded') return 'embedded';
  if (spec === 'auto') return existsSync(DEFAULT_FASHION_MNIST_DIR) ? 'idx' : 'embedded';
  if (isDirectory(spec)) return hasFashionMnistFiles(spec) ? 'idx' : 'folder';
  if (spec.toLowerCase().endsWith('.npz')) return 'npz';
  // plain text: a language model's corpus (src/cli/lm.ts), which only train, eval and generate read
  if (spec.toLowerCase().endsWith('.txt')) return 'text';
  if (spec.toLowerCase().endsWith('.csv') || existsSync(spec)) return 'csv';
  return 'idx';
}

const KIND_NAMES: Record<DataKind, string> = {
  embedded: 'the embedded Fashion-MNIST',
  idx: 'IDX data',
  csv: 'CSV data',
  npz: 'NumPy arrays',
  folder: 'image folders',
  text: 'plain text (a language model corpus)',
};

/** Refuse options that do not apply to this kind of data, instead of ignoring them. */
function checkFlagsApply(kind: DataKind, f: DataFlags): void {
  const csv = f.trained?.csv;
  if (csv && kind !== 'csv')
    throw new UsageError(
      `--data: the model was trained on the CSV columns ${quoteList(featureColumnsOf(csv))} (${describeCsvColumns(csv)}); give a CSV file with them, not ${KIND_NAMES[kind]}`,
    );
  if (f.target !== undefined && f.labelColumn !== undefined)
    throw new UsageError(
      '--target and --label-column exclude each other: --target columns are regression targets, --label-column names class labels',
    );
  if (f.stratify && f.valSplit === undefined && f.cv === undefined)
    throw new UsageError('--stratify applies to a held-out part: give --val-split F (or --cv K to train)');
  const only: [keyof DataFlags, string, DataKind[]][] = [
    ['labelColumn', '--label-column', ['csv']],
    ['target', '--target', ['csv']],
    ['ignoreColumns', '--ignore-columns', ['csv']],
    ['oneHot', '--one-hot', ['csv']],
    ['text', '--text', ['csv']],
    ['standardize', '--standardize', ['csv', 'npz']],
    ['channels', '--channels', ['folder']],
    ['resize', '--resize', ['folder']],
    ['testData', '--test-data', ['csv', 'npz', 'folder']],
    ['preprocess', 'a saved standardization', ['csv', 'npz']],
    ['standardizeTargets', '--standardize-targets', ['csv', 'npz']],
    ['impute', '--impute', ['csv']],
    ['trainedImpute', 'a saved imputation of missing values', ['csv']],
  ];
  for (const [key, flag, kinds] of only) {
    if (f[key] !== undefined && f[key] !== false && !kinds.includes(kind)) {
      throw new UsageError(`${flag} applies to ${kinds.map((k) => KIND_NAMES[k]).join(' and ')}, not to ${KIND_NAMES[kind]}`);
    }
  }
  for (const [key, flag] of [
    ['maxTokens', '--max-tokens'],
    ['sequenceLength', '--sequence-length'],
    ['textMode', '--text-mode'],
    ['ngrams', '--ngrams'],
  ] as const)
    if (f[key] !== undefined && f.text === undefined)
      throw new UsageError(`${flag} applies to a free-text column: give --text COL (a CSV column of text)`);
  if (f.text !== undefined) {
    const numeric: [keyof DataFlags, string][] = [
      ['target', '--target'],
      ['oneHot', '--one-hot'],
      ['standardize', '--standardize'],
      ['impute', '--impute'],
      ['standardizeTargets', '--standardize-targets'],
    ];
    for (const [key, flag] of numeric)
      if (f[key] !== undefined && f[key] !== false)
        throw new UsageError(
          `${flag} applies to numeric CSV features; with --text ${f.text} the model reads the text's token ids only (a classifier: name its label with --label-column)`,
        );
  }
}

/** The classes for the data line: all of up to six, else the first three, …, the last. */
function shownClasses(cls: readonly string[]): string {
  return cls.length <= 6 ? cls.join(', ') : `${cls.slice(0, 3).join(', ')}, …, ${cls[cls.length - 1]}`;
}

function quoteList(names: readonly string[]): string {
  const q = names.map((n) => JSON.stringify(n));
  return q.length <= 8 ? q.join(', ') : `${q.slice(0, 8).join(', ')}, … (${q.length} columns)`;
}

/** Refuse a CSV file whose feature columns (one-hot columns as the file's columns) are not those the model was trained on, naming them. */
function checkColumns(path: string, got: readonly string[], trained: CsvColumns): void {
  const want = featureColumnsOf(trained);
  const missing = want.filter((n) => !got.includes(n));
  const extra = got.filter((n) => !want.includes(n));
  const what = `the model was trained on the feature columns ${quoteList(want)} (${describeCsvColumns(trained)})`;
  if (missing.length || extra.length) {
    const diff = [missing.length ? `lacks ${quoteList(missing)}` : '', extra.length ? `has ${quoteList(extra)} besides` : ''].filter(
      (x) => x,
    );
    const hint = extra.length ? ` (--ignore-columns ${extra.join(',')} leaves ${extra.length === 1 ? 'it' : 'them'} out)` : '';
    throw new UsageError(`--data ${path}: ${what}; this file ${diff.join(' and ')}${hint}`);
  }
  const j = got.findIndex((n, i) => n !== want[i]);
  if (j >= 0)
    throw new UsageError(
      `--data ${path}: ${what}; this file has them in another order (feature ${j} is ${JSON.stringify(got[j])} here, ${JSON.stringify(want[j])} in training)`,
    );
}

export async function loadData(spec: string, flags: DataFlags = {}): Promise<LoadedData> {
  const kind = dataKind(spec);
  checkFlagsApply(kind, flags);
  const data = await loadKind(kind, spec, flags);
  return data;
}

function loadKind(kind: DataKind, spec: string, flags: DataFlags): Promise<LoadedData> {
  switch (kind) {
    case 'embedded':
    case 'idx':
      return loadIdx(kind, spec).then((d) => withTestSet(d, flags));
    case 'csv':
      return loadCsvData(spec, flags);
    case 'npz':
      return loadNpzData(spec, flags);
    case 'folder':
      return loadFolderData(spec, flags);
    case 'text':
      throw new UsageError(
        `--data ${spec}: a .txt file is a language model's corpus, which descent train trains on (and descent eval and descent generate read the model saved from it); this command takes class-labelled or regression data`,
      );
  }
}

async function loadIdx(kind: 'embedded' | 'idx', spec: string): Promise<LoadedData> {
  if (kind === 'embedded') {
    const d = await loadEmbedded();
    return { ...d, source: `embedded Fashion-MNIST subset (${d.train.length} train / ${d.test.length} test)` };
  }
  const dir = spec === 'auto' ? DEFAULT_FASHION_MNIST_DIR : spec;
  const d = await loadFashionMnist({ dir });
  return { ...d, source: `Fashion-MNIST from ${dir} (${d.train.length} train / ${d.test.length} test)` };
}

/** A data set with its own test set refuses --val-split (it would silently replace the test set). */
function withTestSet(d: LoadedData, f: DataFlags): LoadedData {
  if (f.valSplit !== undefined)
    throw new UsageError(`--val-split applies to data without a test set; ${d.source.replace(/ \(.*$/, '')} has one`);
  if (f.cv !== undefined) throw new UsageError(`--cv applies to data without a test set; ${d.source.replace(/ \(.*$/, '')} has one`);
  return d;
}

/** The evaluation set: the given test set, or a seeded --val-split of `train`. */
function testOrSplit<D extends CliDataset>(train: D, test: D | undefined, f: DataFlags, what: string): { train: D; test: D; how: string } {
  if (test) {
    if (f.valSplit !== undefined) throw new UsageError(`--val-split applies to data without a test set; ${what} has one`);
    if (f.cv !== undefined)
      throw new UsageError(
        f.testData !== undefined
          ? `--cv applies to data without a test set, and --test-data ${f.testData} gives one; drop one of them`
          : `--cv applies to data without a test set; ${what} has one`,
      );
    return { train, test, how: `${train.length} train / ${test.length} test` };
  }
  if (f.stratify && isRegression(train))
    throw new UsageError(`--stratify holds out each class in proportion; a regression (--target) has no classes, drop --stratify`);
  if (f.cv !== undefined) return cvFold(train, f);
  if (f.valSplit === undefined && f.trainOnly) return { train, test: train.slice(0, 0) as D, how: `${train.length} samples` };
  if (f.valSplit === undefined && f.evaluate)
    return { train: train.slice(0, 0) as D, test: train, how: `${train.length} samples, all evaluated` };
  if (f.valSplit === undefined) {
    throw new UsageError(
      `${what} has no test set: give --test-data FILE|DIR, or --val-split F to hold out a fraction (e.g. --val-split 0.2)`,
    );
  }
  const seed = f.splitSeed ?? f.seed ?? 0;
  let parts;
  try {
    const rng = new Rng(seed).fork('val-split');
    parts = f.stratify ? stratifiedSplit(train as Dataset, f.valSplit, rng) : randomSplit(train, f.valSplit, rng);
  } catch (e) {
    throw new UsageError(
      `--val-split ${f.valSplit}${f.stratify ? ' --stratify' : ''}: ${(e as Error).message.replace(/^(randomSplit|stratifiedSplit): /, '')}`,
    );
  }
  return {
    train: parts.train as D,
    test: parts.val as D,
    how: `${parts.train.length} train / ${parts.val.length} held out by --val-split ${f.valSplit}${f.stratify ? ' stratified' : ''} (seed ${seed})`,
  };
}

/** --cv K: the folds of `train` (the same for every fold's run: a pure function of the labels or count, K and the seed), fold `cvFold` held out. */
function cvFold<D extends CliDataset>(train: D, f: DataFlags): { train: D; test: D; how: string } {
  const k = f.cv as number;
  const seed = f.seed ?? 0;
  const rng = new Rng(seed).fork('cv');
  let folds: Int32Array[];
  try {
    folds = f.stratify ? stratifiedKFold((train as Dataset).labels, k, rng) : kFold(train.length, k, rng);
  } catch (e) {
    throw new UsageError(`--cv ${k}${f.stratify ? ' --stratify' : ''}: ${(e as Error).message.replace(/^(kFold|stratifiedKFold): /, '')}`);
  }
  const i = f.cvFold ?? 0;
  const test = train.subset(folds[i], `${train.name}/fold${i + 1}`) as D;
  const rest = train.subset(complementIndices(train.length, folds[i]), `${train.name}/train`) as D;
  return {
    train: rest,
    test,
    how: `${rest.length} train / ${test.length} held out as fold ${i + 1} of --cv ${k}${f.stratify ? ' stratified' : ''} (seed ${seed})`,
  };
}

/** --target's or --ignore-columns' comma-separated columns; an index stays a string, which the CSV readers read as a name first. */
function columnList(raw: string, flag: string): string[] {
  const cols = raw.split(',').map((c) => c.trim());
  if (cols.some((c) => c === ''))
    throw new UsageError(`${flag}: expected COL or COL,COL,… (column names or 0-based indices), got "${raw}"`);
  return cols;
}

/**
 * The one-hot columns and the columns ignored: the flags' (train), or a trained model's (eval). A
 * model's ignored columns are left out of a file that has them, and its one-hot columns encoded with
 * its categories where the file has them (checkColumns names a column the file lacks).
 */
async function csvColumnOptions(path: string, f: DataFlags): Promise<{ ignoreColumns?: string[]; oneHot?: (string | OneHotColumn)[] }> {
  const trained = f.trained?.csv;
  let ignoreColumns = f.ignoreColumns !== undefined ? columnList(f.ignoreColumns, '--ignore-columns') : undefined;
  let oneHot: (string | OneHotColumn)[] | undefined = f.oneHot !== undefined ? columnList(f.oneHot, '--one-hot') : undefined;
  const savedIgnored = ignoreColumns === undefined && trained?.ignored?.length;
  if (savedIgnored || trained?.oneHot?.length) {
    const header = await readCsvHeader(path);
    if (savedIgnored) ignoreColumns = trained.ignored?.filter((n) => header.includes(n));
    oneHot = trained.oneHot?.filter((h) => header.includes(h.column));
  }
  return { ignoreColumns, oneHot };
}

/** The data line's note of the one-hot columns: ', one-hot "city" (3 categories), …'. */
function describeOneHot(oneHot: readonly OneHotColumn[]): string {
  return oneHot.map((h) => `, one-hot "${h.column}" (${h.categories.length} categor${h.categories.length === 1 ? 'y' : 'ies'})`).join('');
}

/** The columns to save with the model: the features, the label or targets, and the ignored and one-hot columns when there are any. */
function csvColumns(
  d: { featureNames: string[]; ignoredColumns: string[]; oneHot: OneHotColumn[] },
  what: { label: string } | { targets: string[] },
): CsvColumns {
  return {
    features: d.featureNames,
    ...what,
    ...(d.ignoredColumns.length ? { ignored: d.ignoredColumns } : {}),
    ...(d.oneHot.length ? { oneHot: d.oneHot } : {}),
  };
}

/** A CSV file's rows as class-labelled samples, or with --target (or a regression model's targets) as regression samples. */
async function readCsvSets(
  path: string,
  f: DataFlags,
): Promise<{ train: CliDataset; test?: CliDataset; columns: CsvColumns; featureColumns: string[]; describe: string }> {
  const trained = f.trained?.csv;
  const targets = f.target !== undefined ? columnList(f.target, '--target') : trained?.targets;
  const { ignoreColumns, oneHot } = await csvColumnOptions(path, f);
  const allowMissing = f.impute !== undefined || f.trainedImpute !== undefined;
  if (targets !== undefined) {
    const d = await loadCsvRegression(path, { targets, testPath: f.testData, ignoreColumns, oneHot, allowMissing });
    const plural = d.targetNames.length === 1 ? '' : 's';
    return {
      train: d.train,
      test: d.test,
      columns: csvColumns(d, { targets: d.targetNames }),
      featureColumns: d.featureColumns,
      describe: `target column${plural} ${quoteList(d.targetNames)} (regression)`,
    };
  }
  const d = await loadCsv(path, {
    labelColumn: f.labelColumn ?? trained?.label,
    testPath: f.testData,
    classes: f.trained?.classes,
    ignoreColumns,
    oneHot,
    allowMissing,
  });
  const cls = d.classes;
  const shown = shownClasses(cls);
  return {
    train: d.train,
    test: d.test,
    columns: csvColumns(d, { label: d.labelName }),
    featureColumns: d.featureColumns,
    describe: `label column "${d.labelName}" (${d.labelKind} labels, ${cls.length} classes: ${shown})`,
  };
}

async function loadCsvData(path: string, f: DataFlags): Promise<LoadedData> {
  if (f.testData !== undefined && isDirectory(f.testData))
    throw new UsageError(`--test-data ${f.testData} is a folder; with --data ${path} (CSV) it must be a CSV file`);
  const trained = f.trained?.csv;
  if (f.text !== undefined || trained?.text) return loadCsvTextData(path, f);
  let d: Awaited<ReturnType<typeof readCsvSets>>;
  try {
    d = await readOnce(f, `csv:${path}`, () => readCsvSets(path, f));
  } catch (e) {
    // a missing feature the run was not told to fill: name the flag that fills it
    if (e instanceof MissingFeatureError)
      throw new DataFormatError(
        e.file,
        `${e.problem} (${f.trained ? 'the model was trained without --impute' : '--impute mean|median fills them'})`,
      );
    // text in a numeric column: name the flags that encode it or leave it out
    if (e instanceof TextFeatureError) {
      const col = e.column;
      const why = !trained
        ? `--one-hot ${col} encodes a text column, --ignore-columns ${col} leaves it out`
        : featureColumnsOf(trained).includes(col)
          ? `the model reads "${col}" as a number`
          : `the model has no column "${col}": --ignore-columns ${col} leaves it out`;
      throw new DataFormatError(e.file, `${e.problem} (${why})`);
    }
    throw e;
  }
  if (trained) checkColumns(path, d.featureColumns, trained);
  const split = testOrSplit(d.train, d.test, f, `--data ${path}`);
  let { train, test } = split;
  let columns = d.columns;
  if (!trained && columns.oneHot?.length) {
    // the categories of the training part only, when the test part was split from the same file
    let kept: ReturnType<typeof keepTrainingCategories<CliDataset>>;
    try {
      kept = keepTrainingCategories(columns.features, columns.oneHot, train, [test]);
    } catch (e) {
      throw new UsageError(`--one-hot: ${(e as Error).message}; leave it out (--ignore-columns)`);
    }
    columns = { ...columns, features: kept.features, oneHot: kept.oneHot };
    train = kept.train;
    test = kept.sets[0];
  }
  const parts = [
    `CSV ${path}${f.testData !== undefined ? ` + ${f.testData}` : ''}: ${columns.features.length} features`,
    `${d.describe}${describeOneHot(columns.oneHot ?? [])}`,
    split.how,
  ];
  let impute: ImputePreprocess | undefined;
  if (f.trainedImpute !== undefined) {
    try {
      impute = checkImpute(f.trainedImpute, train.sampleSize);
    } catch (e) {
      throw new UsageError(`${path}: the model's ${(e as Error).message}`);
    }
    parts.push(`missing features filled with the saved ${impute.strategy}s of the model`);
  } else if (f.impute !== undefined) {
    try {
      impute = fitImpute(train, f.impute as 'mean' | 'median', columns.features);
    } catch (e) {
      throw new UsageError(`--impute ${f.impute}: ${(e as Error).message.replace(/^fitImpute: /, '')}`);
    }
    parts.push(`missing features filled with the ${impute.strategy} of the training part`);
  }
  if (impute) {
    train = imputeDataset(impute, train);
    test = imputeDataset(impute, test);
  }
  const scaled = standardizeParts(path, train, test, f, parts, 'name its target columns with --target');
  return { ...scaled, source: parts.join(', '), impute, csv: columns };
}

/** --ngrams K (sizes 1 … K) or N,M,… (those sizes), checked here so that a bad value names the flag. */
function ngramSizes(arg: string | undefined): number | number[] | undefined {
  if (arg === undefined) return undefined;
  const parts = arg.split(',').map((p) => p.trim());
  const sizes = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || sizes.some((n) => n < 1) || new Set(sizes).size !== sizes.length)
    throw new UsageError(`--ngrams: expected K (n-grams of 1 … K words) or distinct sizes N,M,… each an integer ≥ 1, got "${arg}"`);
  return parts.length === 1 ? sizes[0] : sizes;
}

/** A data set of row numbers into `texts`, whose split (--val-split, --cv) picks the texts of each part. */
function rowsOf(t: CsvTexts, classes: readonly string[], name: string): Dataset {
  return new Dataset({ images: Float32Array.from(t.texts, (_, i) => i), labels: t.labels, shape: [1, 1, 1], classes, name });
}

/** The texts a data set of row numbers (rowsOf) picks. */
function textsOf(rows: Dataset, texts: readonly string[]): string[] {
  return Array.from(rows.images, (i) => texts[i]);
}

/**
 * A CSV file's free-text column (--text, or a text model's saved column) as token ids [1, 1, T]:
 * the vocabulary is fitted on the training part only, after the split, as --standardize's
 * statistics are; a trained model's saved vectorizer reads the texts instead.
 */
async function loadCsvTextData(path: string, f: DataFlags): Promise<LoadedData> {
  const trained = f.trained?.csv;
  if (trained && !trained.text)
    throw new UsageError(
      `--text: the model was trained on the CSV columns ${quoteList(featureColumnsOf(trained))} as numbers; it reads no text column`,
    );
  if (trained?.targets) throw new UsageError('--text: a text model is a classifier; the saved model is a regression');
  const column = trained?.text?.column ?? (f.text as string);
  let ignoreColumns = f.ignoreColumns !== undefined ? columnList(f.ignoreColumns, '--ignore-columns') : undefined;
  if (trained) {
    // a text model reads its text and label columns only: every other column of the file is left out
    const header = await readCsvHeader(path);
    const label = f.labelColumn ?? trained.label;
    ignoreColumns = header.filter((n) => n !== column && n !== label);
  }
  let d: Awaited<ReturnType<typeof loadCsvText>>;
  try {
    d = await readOnce(f, `csv-text:${path}`, () =>
      loadCsvText(path, {
        text: column,
        labelColumn: f.labelColumn ?? trained?.label,
        testPath: f.testData,
        classes: f.trained?.classes,
        ignoreColumns,
      }),
    );
  } catch (e) {
    if (e instanceof TextColumnsError)
      throw new UsageError(
        `--text ${f.text}: a text model reads the text only, and ${e.file.replace(/:\d+$/, '')} has the feature column${e.others.length === 1 ? '' : 's'} ${quoteList(e.others)} besides it; --ignore-columns ${e.others.join(',')} leaves ${e.others.length === 1 ? 'it' : 'them'} out`,
      );
    throw e;
  }
  const split = testOrSplit(rowsOf(d.train, d.classes, 'csv/train'), d.test && rowsOf(d.test, d.classes, 'csv/test'), f, `--data ${path}`);
  const testTexts = (d.test ?? d.train).texts;
  let vectorizer: TextVectorizer;
  if (trained?.text) {
    try {
      vectorizer = TextVectorizer.fromJSON(trained.text);
    } catch (e) {
      throw new UsageError(`--weights: the model's text vectorizer: ${(e as Error).message.replace(/^TextVectorizer.fromJSON: /, '')}`);
    }
  } else {
    const mode = (f.textMode ?? 'int') as TextOutputMode;
    if (mode !== 'int' && f.sequenceLength !== undefined)
      throw new UsageError(
        `--sequence-length applies to --text-mode int (token ids); --text-mode ${mode} gives one value per vocabulary term`,
      );
    vectorizer = new TextVectorizer({
      maxTokens: f.maxTokens,
      sequenceLength: f.sequenceLength,
      outputMode: mode,
      ngrams: ngramSizes(f.ngrams),
    });
    vectorizer.adapt(textsOf(split.train, d.train.texts));
  }
  const rowsOfTexts = (rows: Dataset, texts: readonly string[], name: string): Dataset => {
    const x = vectorizer.vectorize(textsOf(rows, texts));
    return new Dataset({ images: x.data as Float32Array, labels: rows.labels, shape: [1, 1, x.shape[1]], classes: d.classes, name });
  };
  const train = rowsOfTexts(split.train, d.train.texts, 'csv/train');
  const test = rowsOfTexts(split.test, testTexts, split.test.name);
  const json = vectorizer.toJSON();
  const V = json.vocabulary.length;
  const terms = json.ngrams === 1 || (Array.isArray(json.ngrams) && json.ngrams.length === 1 && json.ngrams[0] === 1) ? 'words' : 'terms';
  const saved = trained ? ' in the saved vocabulary' : '';
  const text =
    json.outputMode === 'int' || json.outputMode === undefined
      ? `text "${d.textColumn}" (${V.toLocaleString('en-US')} ${terms}${saved}, ${json.sequenceLength.toLocaleString('en-US')} tokens)`
      : `text "${d.textColumn}" (${V.toLocaleString('en-US')} ${terms}${saved}, ${json.outputMode} rows of ${json.sequenceLength.toLocaleString('en-US')})`;
  const cls = shownClasses(d.classes);
  const columns: CsvColumns = {
    features: [d.textColumn],
    label: d.labelName,
    ...(d.ignoredColumns.length ? { ignored: d.ignoredColumns } : {}),
    text: { column: d.textColumn, ...json },
  };
  return {
    train,
    test,
    source: `CSV ${path}${f.testData !== undefined ? ` + ${f.testData}` : ''}: ${text}, label column "${d.labelName}" (${d.labelKind} labels, ${d.classes.length} classes: ${cls}), ${split.how}`,
    csv: columns,
  };
}

/** An .npz file's data sets; a malformed one is refused naming the flag, the file and the array. */
function readNpzSets(path: string, classes: readonly string[] | undefined, flag = '--data'): NpzDatasets {
  try {
    return npzDatasets(readNpz(path), { name: path, classes });
  } catch (e) {
    if (e instanceof NpzDataError || e instanceof NpyError) throw new UsageError(`${flag} ${e.message}`);
    throw e;
  }
}

/** How an .npz file's inputs were read, for the data line: "x_train (28, 28) uint8 → 1×28×28 ÷255". */
function describeNpz(d: NpzDatasets): string {
  const chw = d.train.shape.join('×');
  const how = {
    features: 'features',
    grey: 'one channel: grey images, or sequences [T, F]',
    'channels-first': 'channels first',
    'channels-last': 'channels last, transposed',
  }[d.layout];
  const outputs = isRegression(d.train)
    ? `"${d.keys.y}" float targets (regression: ${quoteList(d.train.targetNames)})`
    : `"${d.keys.y}" ${d.outputs === 'one-hot' ? 'one-hot rows' : 'labels'}, ${d.train.classes.length} classes (${shownClasses(d.train.classes)})`;
  return `"${d.keys.x}" (${[d.train.length, ...d.sampleShape].join(', ')}) ${d.dtype} → ${chw} (${how}${d.dtype === 'uint8' ? ', ÷255' : ''}), ${outputs}`;
}

async function loadNpzData(path: string, f: DataFlags): Promise<LoadedData> {
  const d = await readOnce(f, `npz:${path}`, () => readNpzSets(path, f.trained?.classes));
  let test = d.test;
  let testNote = '';
  if (f.testData !== undefined) {
    if (test)
      throw new UsageError(`--test-data: ${path} already holds a test set ("${d.keys.testX}", "${d.keys.testY}"); give one or the other`);
    if (dataKind(f.testData) !== 'npz')
      throw new UsageError(`--test-data ${f.testData}: with --data ${path} (NumPy arrays) it must be an .npz file`);
    const t = readNpzSets(f.testData, isRegression(d.train) ? undefined : d.train.classes, '--test-data');
    test = t.test ?? t.train;
    try {
      checkTestSet(d.train, `--data ${path}`, test, `--test-data ${f.testData}`);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    testNote = ` + ${f.testData}`;
  }
  const split = testOrSplit(d.train, test, f, `--data ${path}`);
  const parts = [`NumPy ${path}${testNote}: ${describeNpz(d)}`, split.how];
  const scaled = standardizeParts(path, split.train, split.test, f, parts, 'save the targets as a float array');
  return { ...scaled, source: parts.join(', '), npz: { x: d.keys.x, y: d.keys.y } };
}

/**
 * --standardize and --standardize-targets (or a trained model's saved statistics): fitted on the
 * training part, applied to both; each step adds its words to `parts`, the data line.
 */
function standardizeParts(
  path: string,
  train: CliDataset,
  test: CliDataset,
  f: DataFlags,
  parts: string[],
  regressionHint: string,
): { train: CliDataset; test: CliDataset; preprocess?: Preprocess; targetPreprocess?: Preprocess } {
  let preprocess: Preprocess | undefined;
  if (f.preprocess !== undefined) {
    try {
      preprocess = checkPreprocess(f.preprocess, train.sampleSize);
    } catch (e) {
      throw new UsageError(`${path}: the model's ${(e as Error).message}`);
    }
    train = preprocessDataset(preprocess, train);
    test = preprocessDataset(preprocess, test);
    parts.push('standardized with the saved statistics of the model');
  } else if (f.standardize) {
    preprocess = fitStandardize(train);
    train = preprocessDataset(preprocess, train);
    test = preprocessDataset(preprocess, test);
    parts.push('standardized with the mean and std of the training part');
  }
  let targetPreprocess: Preprocess | undefined;
  if (f.targetPreprocess !== undefined || f.standardizeTargets) {
    if (!isRegression(train) || !isRegression(test))
      throw new UsageError(`--standardize-targets applies to a regression: ${regressionHint}`);
    if (f.targetPreprocess !== undefined) {
      try {
        targetPreprocess = checkPreprocess(f.targetPreprocess, train.targetNames.length);
      } catch (e) {
        throw new UsageError(`${path}: the model's target ${(e as Error).message}`);
      }
    } else targetPreprocess = fitTargetStandardize(train);
    train = standardizeTargets(targetPreprocess, train);
    test = standardizeTargets(targetPreprocess, test);
    parts.push(
      f.targetPreprocess !== undefined
        ? 'targets standardized with the saved statistics of the model'
        : 'targets standardized with the mean and std of the training part',
    );
  }
  return { train, test, preprocess, targetPreprocess };
}

async function loadFolderData(dir: string, f: DataFlags): Promise<LoadedData> {
  let size: [number, number] | undefined;
  if (f.resize !== undefined) {
    const s = parseImageSize(f.resize);
    if (!s) throw new UsageError(`--resize: expected HxW with positive integers (e.g. 28x28), got "${f.resize}"`);
    size = s;
  }
  const channels = f.channels === undefined ? undefined : (Number(f.channels) as 1 | 3);
  const split = isDirectory(join(dir, 'train'));
  const trainDir = split ? join(dir, 'train') : dir;
  let testDir: string | undefined;
  if (split) testDir = ['test', 'val'].map((n) => join(dir, n)).find(isDirectory);
  if (f.testData !== undefined) {
    if (testDir !== undefined) throw new UsageError(`--test-data: ${dir} already has its test folder ${testDir}; give one or the other`);
    if (!isDirectory(f.testData))
      throw new UsageError(`--test-data ${f.testData} is not a folder; with --data ${dir} (image folders) it must be an image folder`);
    testDir = f.testData;
  }
  const dirs = testDir !== undefined ? [trainDir, testDir] : [trainDir];
  let loaded;
  try {
    loaded = await readOnce(f, `folder:${dirs.join('\n')}`, () =>
      loadImageFolders(dirs, { channels, size, names: ['images/train', 'images/test'] }),
    );
  } catch (e) {
    if (e instanceof ImageSizeError)
      throw new ImageSizeError(
        e.path,
        e.size,
        e.firstPath,
        e.firstSize,
        'give every image the same size or resize them all (--resize HxW)',
      );
    throw e;
  }
  const { sets, classes, shape, grey } = loaded;
  const s = testOrSplit(sets[0], sets[1], f, `--data ${dir}`);
  const shown = shownClasses(classes);
  const how = `${shape.join('×')} (${shape[0] === 1 ? 'grey' : 'RGB'}${channels === undefined ? (grey ? ': every image is grey' : ': some images are in colour') : ''}${size ? ', resized' : ''})`;
  return {
    train: s.train,
    test: s.test,
    source: `images from ${dirs.join(' and ')}: ${classes.length} classes (${shown}), ${how}, ${s.how}`,
  };
}

/** The first `n` samples (or all when n is undefined). */
export function limit<D extends CliDataset>(ds: D, n: number | undefined): D {
  if (n === undefined || n >= ds.length) return ds;
  return ds.slice(0, n) as D;
}

/**
 * --data or --test-data as an absolute path when it names a file or folder ("auto" and "embedded"
 * stay): a checkpoint stores it so, and a run resumed from another working directory reads the same data.
 */
export function absoluteDataPath(spec: string): string {
  return spec === 'auto' || spec === 'embedded' ? spec : resolve(spec);
}

/** Files up to this size are hashed whole; a larger one by its size, first and last MiB. */
const HASH_WHOLE_BYTES = 64 * 2 ** 20;
const HASH_PART_BYTES = 2 ** 20;

/** What identifies a data file or folder at one time (dataFingerprint). */
export interface DataFingerprint {
  /** A CSV or .npz file's size. */
  bytes?: number;
  /** An image folder's file count. */
  files?: number;
  /** A CSV or .npz file's content; an image folder's file names and sizes. */
  sha256: string;
  /** An image folder's file names, sizes and contents. */
  contentSha256?: string;
}

/**
 * Adds a file's bytes to `hash`: all of them up to 64 MiB; above, its size and its first and last
 * MiB. Returns the size, read from the open file (so it is the size of the bytes hashed) and given
 * to `before` first.
 */
function hashFile(path: string, hash: Hash, buf: Buffer, before?: (size: number) => void): number {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    before?.(size);
    const read = (from: number, to: number) => {
      for (let at = from; at < to; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, to - at), at);
        if (n <= 0) break;
        hash.update(buf.subarray(0, n));
        at += n;
      }
    };
    if (size <= HASH_WHOLE_BYTES) read(0, size);
    else {
      hash.update(`${size}\n`);
      read(0, HASH_PART_BYTES);
      read(size - HASH_PART_BYTES, size);
    }
    return size;
  } finally {
    closeSync(fd);
  }
}

/**
 * A fingerprint of users' own data, which a resumed run compares with the one its checkpoint
 * stores: a CSV file's size and SHA-256 (of its bytes up to 64 MiB; above, of its size, first and
 * last MiB); an image folder's file count, the SHA-256 of every file's relative path and size, and
 * the SHA-256 of every file's relative path, size and bytes (each file as a CSV file is), so an
 * image edited in place is found even where its size and modification time stay the same. Reading
 * every file costs a fraction of loading them (Fashion-MNIST as 70,000 PNG files, warm cache: about
 * 3 s, against about 1.3 s for names and sizes alone and 13–22 s to load them). Undefined for Fashion-MNIST
 * (embedded, installed or IDX files) and for a path that cannot be read (loading it reports that).
 */
export function dataFingerprint(spec: string): DataFingerprint | undefined {
  fingerprintsComputed.count++;
  const kind = dataKind(spec);
  const buf = Buffer.alloc(HASH_PART_BYTES);
  try {
    if (kind === 'csv' || kind === 'npz' || kind === 'text') {
      const hash = createHash('sha256');
      const bytes = hashFile(spec, hash, buf);
      return { bytes, sha256: hash.digest('hex') };
    }
    if (kind === 'folder') {
      const names = createHash('sha256'),
        contents = createHash('sha256');
      let files = 0;
      const walk = (dir: string) => {
        const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const e of entries) {
          const p = join(dir, e.name);
          if (e.isDirectory()) walk(p);
          else {
            files++;
            // the path and size first, then the bytes: the size marks where this file's bytes end
            hashFile(p, contents, buf, (size) => {
              const line = `${relative(spec, p)}\t${size}\n`;
              names.update(line);
              contents.update(line);
            });
          }
        }
      };
      walk(spec);
      return { files, sha256: names.digest('hex'), contentSha256: contents.digest('hex') };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** How many fingerprints this process has computed (dataFingerprint calls): a test reads it to see that a run hashes its data once. */
export const fingerprintsComputed = { count: 0 };

/**
 * The data fingerprints of one run, each computed the first time it is asked for: a resumed run
 * checks the data against its checkpoint and stores the same fingerprint in its new checkpoints,
 * and every --ensemble member reads the same data, so one hash of each path serves them all. Keyed
 * by the absolute path; a run reads its data once, so it cannot change under the run in between.
 */
export class FingerprintCache {
  private readonly known = new Map<string, DataFingerprint | undefined>();
  get(spec: string): DataFingerprint | undefined {
    const path = absoluteDataPath(spec);
    if (!this.known.has(path)) this.known.set(path, dataFingerprint(path));
    return this.known.get(path);
  }
}

/** How `now` differs from `then`, in words, or null when they are the same. */
export function fingerprintChange(then: DataFingerprint, now: DataFingerprint | undefined): string | null {
  if (now === undefined) return null;
  if (then.bytes !== undefined && now.bytes !== undefined && then.bytes !== now.bytes)
    return `it had ${then.bytes.toLocaleString('en-US')} bytes, now ${now.bytes.toLocaleString('en-US')}`;
  if (then.files !== undefined && now.files !== undefined && then.files !== now.files)
    return `it had ${then.files.toLocaleString('en-US')} files, now ${now.files.toLocaleString('en-US')}`;
  if (then.sha256 !== now.sha256) return then.files !== undefined ? 'its file names or sizes differ' : 'its content differs (SHA-256)';
  // a checkpoint written without the contents' hash is checked by names and sizes only
  if (then.contentSha256 !== undefined && then.contentSha256 !== now.contentSha256)
    return "a file's content differs (same names and sizes; SHA-256 of the contents)";
  return null;
}
