/**
 * Classification and regression data from CSV files (Node-only): a header row, then one label
 * column (classification) or one or more numeric target columns (regression, loadCsvRegression),
 * every other column a numeric feature. Parsed by `csv-parse` as a stream, so a file is never held whole as text; the
 * features are converted to float32 row by row.
 *
 * A sample of F features is a Dataset sample of shape [1, 1, F]: C·H·W = F, so the flat models (mlp,
 * logreg) see the F features in file order, exactly as written.
 *
 * Labels may be integers or any strings. Integer labels (every label cell an integer) give the
 * classes in numeric order, other labels in string order; either way the class index of a row is the
 * position of its label in the sorted unique labels of the training file. A test file may lack a
 * class but not add one: its rows would be scored against a class the model never saw.
 *
 * A regression test file must have the training file's header; its targets are any numbers.
 *
 * readCsvColumns reads the rows a trained model is to score: only the columns it names, found by
 * header name (so in any order, beside a label column or any other), a batch of rows at a time.
 */
import { createReadStream, openSync, fstatSync, closeSync } from 'node:fs';
import { parse, CsvError } from 'csv-parse';
import { DataFormatError } from './idx.js';
import { Dataset, RegressionDataset } from './dataset.js';

export interface CsvTable {
  path: string;
  /** Column names of the header row (trimmed). */
  header: string[];
  /** Index of the label column in `header`. */
  labelColumn: number;
  /** Header names of the feature columns, in file order. */
  featureNames: string[];
  /** rows × features values, row after row. */
  features: Float32Array;
  /** The label cell of each row (trimmed). */
  labels: string[];
  /** The file line each row ends on (1-based; the header is line 1 unless blank lines precede it). */
  lines: Int32Array;
  rows: number;
}

export interface ReadCsvOptions {
  /**
   * The label column: a number is a 0-based index (negative counts from the end); a string is a
   * column name, or, when no column has that name and it is an integer, an index. Default: the
   * column named "label".
   */
  labelColumn?: string | number;
  /** Columns not read, by name or 0-based index (an id, text): every column besides them and the label is a feature. */
  ignoreColumns?: readonly (string | number)[];
  /** Read a missing feature cell (empty, NA, NaN, null, … as pandas reads them: MISSING_CELLS) as NaN, for fitImpute; default: refused. */
  allowMissing?: boolean;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The cells that mean a missing value: an empty cell and pandas' default na_values. */
export const MISSING_CELLS: ReadonlySet<string> = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);
const INTEGER = /^[+-]?\d+$/;

function preview(names: readonly string[]): string {
  const shown = names.slice(0, 8).map((n) => JSON.stringify(n));
  return shown.join(', ') + (names.length > 8 ? `, … (${names.length} columns)` : '');
}

function resolveLabelColumn(header: readonly string[], spec: string | number | undefined, where: string): number {
  if (spec === undefined) {
    const i = columnByName(header, 'label', 'label column', where);
    if (i === null)
      throw new DataFormatError(
        where,
        `no column named "label"; say which column holds the labels, by name or 0-based index (columns: ${preview(header)})`,
      );
    return i;
  }
  return resolveColumn(header, spec, 'label column', where);
}

/** The index of the one column named `name`, null when none is; a name the header holds twice is refused. */
function columnByName(header: readonly string[], name: string, what: string, where: string): number | null {
  const hits = header.flatMap((h, i) => (h === name ? [i] : []));
  if (hits.length > 1)
    throw new DataFormatError(where, `the ${what} name "${name}" appears ${hits.length} times (columns ${hits.join(', ')})`);
  return hits.length === 1 ? hits[0] : null;
}

/**
 * A column given by name, or by 0-based index (negative from the end) when it is a number or an
 * integer no column is named; `what` ("label column", "target column", …) names it in errors.
 */
function resolveColumn(header: readonly string[], spec: string | number, what: string, where: string): number {
  let index: number;
  if (typeof spec === 'string') {
    const i = columnByName(header, spec, what, where);
    if (i !== null) return i;
    if (!INTEGER.test(spec.trim())) throw new DataFormatError(where, `no ${what} named "${spec}" (columns: ${preview(header)})`);
    index = Number(spec.trim());
  } else index = spec;
  const n = header.length;
  if (!Number.isInteger(index) || index < -n || index >= n) {
    throw new DataFormatError(
      where,
      `${what} index ${index} is out of range: the header has ${n} columns (0…${n - 1}, or −1…−${n} from the end)`,
    );
  }
  return index < 0 ? n + index : index;
}

/** The target columns, each once, leaving at least one feature column. */
function resolveTargetColumns(header: readonly string[], specs: readonly (string | number)[], where: string): number[] {
  if (specs.length === 0) throw new DataFormatError(where, 'no target column given; name at least one');
  const cols = specs.map((c) => resolveColumn(header, c, 'target column', where));
  const twice = cols.findIndex((c, k) => cols.indexOf(c) !== k);
  if (twice >= 0) throw new DataFormatError(where, `the target column "${header[cols[twice]]}" is given twice`);
  if (cols.length === header.length)
    throw new DataFormatError(where, `every column is a target (${preview(header)}); expected feature columns besides them`);
  return cols;
}

type CsvRecord = { record: string[]; info: { lines: number } };

/** The file at `path` as a stream; one that cannot be opened, or is a folder, names the file. */
function openCsvFile(path: string): NodeJS.ReadableStream {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    throw new DataFormatError(path, `cannot be read: ${why}`);
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new DataFormatError(path, 'cannot be read: is a folder, expected a CSV file');
  }
  return createReadStream('', { fd });
}

/**
 * The records of a CSV file (or of `input`, a stream `path` names in messages), parsed by
 * `csv-parse` as a stream, each with the file line it ends on. A malformed file or a read error
 * ends as a DataFormatError naming the file (and the line where known).
 */
async function* csvRecords(path: string, input?: NodeJS.ReadableStream): AsyncGenerator<CsvRecord> {
  const parser = (input ?? openCsvFile(path)).pipe(
    parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }),
  );
  try {
    for await (const rec of parser as AsyncIterable<CsvRecord>) yield rec;
  } catch (e) {
    if (e instanceof CsvError) {
      const at = (e as CsvError & { lines?: number }).lines;
      throw new DataFormatError(at !== undefined ? `${path}:${at}` : path, `malformed CSV: ${e.message.replace(/\s+/g, ' ')}`);
    }
    if (e instanceof DataFormatError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataFormatError(path, `cannot be read: ${code === 'EISDIR' ? 'is a folder, expected a CSV file' : (e as Error).message}`);
  }
}

/** A row with as many fields as the header, else the error naming file and line. */
function checkRagged(cells: readonly string[], header: readonly string[], where: string): void {
  if (cells.length !== header.length)
    throw new DataFormatError(where, `ragged row: expected ${header.length} fields as in the header, got ${cells.length}`);
}

/**
 * A missing feature cell where missing values are not allowed: a DataFormatError whose `problem`
 * is the message without the place, so a caller can say how the value may be filled.
 */
export class MissingFeatureError extends DataFormatError {
  constructor(
    where: string,
    readonly problem: string,
  ) {
    super(where, problem);
  }
}

/**
 * The number a feature (or target) cell holds, else the error naming file, line and column. With
 * `allowMissing`, a missing cell (MISSING_CELLS) is NaN, for an imputation to fill.
 */
function featureValue(cell: string, j: number, header: readonly string[], where: string, role = 'feature', allowMissing = false): number {
  if (!NUMBER.test(cell)) {
    if (allowMissing && MISSING_CELLS.has(cell)) return NaN;
    const column = `column ${j} ("${header[j]}")`;
    if (!MISSING_CELLS.has(cell))
      throw new DataFormatError(where, `${column}: ${JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell)} is not a number`);
    const missing = `${column}: ${cell === '' ? 'is empty, a missing value' : `${JSON.stringify(cell)} is a missing value`}; every ${role} needs a number`;
    if (role === 'feature') throw new MissingFeatureError(where, `${missing} unless missing features are imputed`);
    throw new DataFormatError(where, missing);
  }
  return Number(cell);
}

/** Which columns are what: the label column (−1 for none) and the target columns; every other one is a feature. */
interface Layout {
  label: number;
  targetColumns: number[];
  /** Columns not read (an id, text). */
  ignored: number[];
}

/**
 * The columns to ignore, each once, none of them the label or a target; `ignore` gives them by name
 * or index as the label column is given.
 */
function resolveIgnored(
  header: readonly string[],
  ignore: readonly (string | number)[] | undefined,
  taken: Layout,
  where: string,
): number[] {
  const cols = (ignore ?? []).map((c) => resolveColumn(header, c, 'column to ignore', where));
  const twice = cols.findIndex((c, k) => cols.indexOf(c) !== k);
  if (twice >= 0) throw new DataFormatError(where, `the column to ignore "${header[cols[twice]]}" is given twice`);
  for (const c of cols) {
    if (c === taken.label) throw new DataFormatError(where, `"${header[c]}" is the label column; it cannot be ignored`);
    if (taken.targetColumns.includes(c)) throw new DataFormatError(where, `"${header[c]}" is a target column; it cannot be ignored`);
  }
  return cols;
}

interface Rows extends Layout {
  header: string[];
  /** The feature columns' names, in file order. */
  featureNames: string[];
  features: Float32Array;
  /** rows × target columns values. */
  targets: Float32Array;
  labels: string[];
  lines: Int32Array;
  rows: number;
}

/** Read a CSV file's rows, its columns laid out by `layoutOf(header)`. Every error names the file and line (and column). */
async function readRows(path: string, layoutOf: (header: readonly string[], where: string) => Layout, allowMissing = false): Promise<Rows> {
  let header: string[] | null = null;
  let layout: Layout = { label: -1, targetColumns: [], ignored: [] };
  let role = new Int8Array(0); // per column: 0 feature, 1 label, 2 target, 3 ignored
  let F = 0;
  let T = 0;
  let rows = 0;
  let cap = 1024;
  let features = new Float32Array(0);
  let targets = new Float32Array(0);
  let lines = new Int32Array(cap);
  const labels: string[] = [];
  for await (const rec of csvRecords(path)) {
    const cells = rec.record;
    const line = rec.info.lines;
    if (header === null) {
      header = cells;
      layout = layoutOf(header, `${path}:${line}`);
      role = new Int8Array(header.length);
      if (layout.label >= 0) role[layout.label] = 1;
      for (const j of layout.targetColumns) role[j] = 2;
      for (const j of layout.ignored) role[j] = 3;
      T = layout.targetColumns.length;
      F = role.filter((r) => r === 0).length;
      if (F === 0)
        throw new DataFormatError(
          `${path}:${line}`,
          layout.ignored.length === 0 && layout.label >= 0
            ? `the header has only the label column "${header[layout.label]}"; expected feature columns besides it`
            : `every column is the label, a target or ignored (${preview(header)}); expected feature columns besides them`,
        );
      features = new Float32Array(cap * F);
      targets = new Float32Array(cap * T);
      continue;
    }
    checkRagged(cells, header, `${path}:${line}`);
    if (rows === cap) {
      cap *= 2;
      const f2 = new Float32Array(cap * F);
      f2.set(features);
      features = f2;
      const t2 = new Float32Array(cap * T);
      t2.set(targets);
      targets = t2;
      const l2 = new Int32Array(cap);
      l2.set(lines);
      lines = l2;
    }
    let o = rows * F;
    for (let j = 0; j < cells.length; j++) {
      const cell = cells[j];
      if (role[j] === 1) {
        if (cell === '') throw new DataFormatError(`${path}:${line}`, `column ${j} ("${header[j]}"): missing label`);
        labels.push(cell);
      } else if (role[j] === 0) features[o++] = featureValue(cell, j, header, `${path}:${line}`, 'feature', allowMissing);
    }
    for (let k = 0; k < T; k++) {
      const j = layout.targetColumns[k];
      targets[rows * T + k] = featureValue(cells[j], j, header, `${path}:${line}`, 'target');
    }
    lines[rows] = line;
    rows++;
  }
  if (header === null) throw new DataFormatError(path, 'empty file: expected a header row, then one row per sample');
  if (rows === 0) throw new DataFormatError(path, 'no data rows after the header');
  return {
    ...layout,
    header,
    featureNames: header.filter((_, j) => role[j] === 0),
    features: features.slice(0, rows * F),
    targets: targets.slice(0, rows * T),
    labels,
    lines: lines.slice(0, rows),
    rows,
  };
}

/** Read one CSV file: header, label column, numeric features. Every error names the file and line (and column). */
export async function readCsvTable(path: string, opts: ReadCsvOptions = {}): Promise<CsvTable> {
  const r = await readRows(
    path,
    (header, where) => {
      const layout: Layout = { label: resolveLabelColumn(header, opts.labelColumn, where), targetColumns: [], ignored: [] };
      layout.ignored = resolveIgnored(header, opts.ignoreColumns, layout, where);
      return layout;
    },
    opts.allowMissing,
  );
  return {
    path,
    header: r.header,
    labelColumn: r.label,
    featureNames: r.featureNames,
    features: r.features,
    labels: r.labels,
    lines: r.lines,
    rows: r.rows,
  };
}

/** A CSV file's header lacks columns that were asked for by name (readCsvColumns). */
export class CsvColumnsError extends DataFormatError {
  constructor(
    path: string,
    /** The names asked for that the header lacks, in the order asked. */
    readonly missing: readonly string[],
    /** The file's header. */
    readonly header: readonly string[],
  ) {
    super(
      path,
      `no column${missing.length === 1 ? '' : 's'} ${missing.map((n) => JSON.stringify(n)).join(', ')} (columns: ${preview(header)})`,
    );
  }
}

export interface ReadCsvColumnsOptions {
  /** Rows per batch (default 1000): the rows of one batch are all that is held at a time. */
  batchRows?: number;
  /** A stream to read instead of opening `path` (standard input, say); `path` names it in messages. */
  input?: NodeJS.ReadableStream;
  /** Read a missing cell as NaN (see ReadCsvOptions.allowMissing). */
  allowMissing?: boolean;
}

/** A run of consecutive rows of a CSV file, the columns asked for only. */
export interface CsvBatch {
  /** rows × columns values, row after row, each row's values in the order the columns were asked for. */
  values: Float32Array;
  rows: number;
  /** Index of the batch's first row among the file's data rows (0 for the row after the header). */
  start: number;
  /** The file line each row ends on (1-based). */
  lines: Int32Array;
}

/**
 * Read the columns `names` of a CSV file, by header name, in batches of consecutive rows, so a file
 * of any length is read in bounded memory. The header may hold the columns in any order and others
 * besides, which are not read (a label column, an id of text); a name the header lacks is a
 * CsvColumnsError, a name it holds twice a DataFormatError. The cells read are parsed as
 * readCsvTable parses features, with the same errors naming file, line and column.
 */
export async function* readCsvColumns(path: string, names: readonly string[], opts: ReadCsvColumnsOptions = {}): AsyncGenerator<CsvBatch> {
  const batchRows = opts.batchRows ?? 1000;
  if (!Number.isInteger(batchRows) || batchRows < 1)
    throw new RangeError(`readCsvColumns: batchRows must be a positive integer, got ${batchRows}`);
  if (names.length === 0) throw new RangeError('readCsvColumns: no column names given');
  const F = names.length;
  let header: string[] | null = null;
  let index: number[] = [];
  let values = new Float32Array(batchRows * F);
  let lines = new Int32Array(batchRows);
  let rows = 0;
  let start = 0;
  for await (const rec of csvRecords(path, opts.input)) {
    const cells = rec.record;
    const where = `${path}:${rec.info.lines}`;
    if (header === null) {
      header = cells;
      const hdr = header;
      const missing = names.filter((n) => !hdr.includes(n));
      if (missing.length) throw new CsvColumnsError(where, missing, hdr);
      index = names.map((n) => {
        const hits = hdr.flatMap((h, i) => (h === n ? [i] : []));
        if (hits.length > 1)
          throw new DataFormatError(where, `the column name "${n}" appears ${hits.length} times (columns ${hits.join(', ')})`);
        return hits[0];
      });
      continue;
    }
    checkRagged(cells, header, where);
    const o = rows * F;
    for (let k = 0; k < F; k++) values[o + k] = featureValue(cells[index[k]], index[k], header, where, 'feature', opts.allowMissing);
    lines[rows++] = rec.info.lines;
    if (rows === batchRows) {
      yield { values, rows, start, lines };
      start += rows;
      rows = 0;
      // the batch given out stays the caller's
      values = new Float32Array(batchRows * F);
      lines = new Int32Array(batchRows);
    }
  }
  if (header === null) throw new DataFormatError(path, 'empty file: expected a header row, then one row per sample');
  if (rows > 0) yield { values: values.slice(0, rows * F), rows, start, lines: lines.slice(0, rows) };
  else if (start === 0) throw new DataFormatError(path, 'no data rows after the header');
}

export interface CsvClasses {
  /** Class names in index order. */
  classes: string[];
  /** 'integer' when every label cell is an integer (numeric order), else 'string' (string order). */
  labelKind: 'integer' | 'string';
}

/** The classes of one or more tables read together: sorted unique labels (integers numerically). */
export function csvClasses(tables: readonly CsvTable[]): CsvClasses {
  const all = tables.flatMap((t) => t.labels);
  const integer = all.every((l) => INTEGER.test(l));
  if (integer) {
    const values = [...new Set(all.map((l) => Number(l)))].sort((a, b) => a - b);
    return { classes: values.map(String), labelKind: 'integer' };
  }
  const values = [...new Set(all)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { classes: values, labelKind: 'string' };
}

/** A table as a Dataset of [1, 1, F] samples with labels indexed in `classes`. */
export function csvDataset(table: CsvTable, cls: CsvClasses, name = table.path): Dataset {
  const index = new Map(cls.classes.map((c, i) => [c, i]));
  const labels = new Int32Array(table.rows);
  for (let i = 0; i < table.rows; i++) {
    const key = cls.labelKind === 'integer' ? String(Number(table.labels[i])) : table.labels[i];
    const y = index.get(key);
    if (y === undefined)
      throw new DataFormatError(
        `${table.path}:${table.lines[i]}`,
        `label "${table.labels[i]}" is not one of the classes ${preview(cls.classes)}`,
      );
    labels[i] = y;
  }
  return new Dataset({ images: table.features, labels, shape: [1, 1, table.featureNames.length], classes: cls.classes, name });
}

export interface LoadCsvOptions extends ReadCsvOptions {
  /** A second CSV file with the same header, read as the test set. */
  testPath?: string;
  /**
   * The classes of a trained model, in index order: the rows are indexed in them instead of in the
   * file's own labels (which may lack some), and a label outside them is refused.
   */
  classes?: readonly string[];
}

export interface CsvData extends CsvClasses {
  train: Dataset;
  /** Present when `testPath` was given. */
  test?: Dataset;
  featureNames: string[];
  /** The header name of the label column. */
  labelName: string;
}

/**
 * Load a CSV data set, and its test file when given (it must have the same header and only labels of
 * the training file). Fewer than 2 classes in the training file is an error, there being nothing to
 * classify, unless `classes` gives those of a trained model.
 */
export async function loadCsv(path: string, opts: LoadCsvOptions = {}): Promise<CsvData> {
  const train = await readCsvTable(path, opts);
  const test = opts.testPath !== undefined ? await readCsvTable(opts.testPath, opts) : undefined;
  if (test) checkSameHeader(test.path, test.header, path, train.header);
  const cls: CsvClasses = opts.classes
    ? { classes: [...opts.classes], labelKind: opts.classes.every((c) => INTEGER.test(c)) ? 'integer' : 'string' }
    : csvClasses([train]);
  if (opts.classes) {
    const known = new Set(cls.classes);
    for (const t of test ? [train, test] : [train]) {
      const i = t.labels.findIndex((l) => !known.has(cls.labelKind === 'integer' && INTEGER.test(l) ? String(Number(l)) : l));
      if (i >= 0)
        throw new DataFormatError(
          `${t.path}:${t.lines[i]}`,
          `label "${t.labels[i]}" is not a class of the model (${preview(cls.classes)})`,
        );
    }
  } else if (cls.classes.length < 2) {
    throw new DataFormatError(
      path,
      `every row of ${path} has the label ${JSON.stringify(cls.classes[0])}; a classifier needs at least 2 classes`,
    );
  }
  if (test) {
    const known = new Set(cls.classes);
    const i = test.labels.findIndex((l) => !known.has(cls.labelKind === 'integer' && INTEGER.test(l) ? String(Number(l)) : l));
    if (i >= 0)
      throw new DataFormatError(
        `${test.path}:${test.lines[i]}`,
        `class "${test.labels[i]}" is not a class of ${path} (${preview(cls.classes)}); a test file may lack a class but not add one`,
      );
  }
  return {
    ...cls,
    train: csvDataset(train, cls, 'csv/train'),
    test: test ? csvDataset(test, cls, 'csv/test') : undefined,
    featureNames: train.featureNames,
    labelName: train.header[train.labelColumn],
  };
}

export interface LoadCsvRegressionOptions {
  /** The target columns, by header name or 0-based index (negative from the end); every other column is a feature. */
  targets: readonly (string | number)[];
  /** A second CSV file with the same header, read as the test set. */
  testPath?: string;
  /** Columns not read, by name or 0-based index (an id, text). */
  ignoreColumns?: readonly (string | number)[];
  /** Read a missing feature cell as NaN, for fitImpute (a missing target is always refused). */
  allowMissing?: boolean;
}

export interface CsvRegressionData {
  train: RegressionDataset;
  /** Present when `testPath` was given. */
  test?: RegressionDataset;
  featureNames: string[];
  /** The header names of the target columns, in the order given: the columns of a batch's targets [B, T]. */
  targetNames: string[];
}

/** The header of a second file must be the first's, else the error names the first column that differs. */
function checkSameHeader(path: string, header: readonly string[], firstPath: string, first: readonly string[]): void {
  const j = first.findIndex((h, i) => h !== header[i]);
  if (first.length !== header.length || j >= 0) {
    const detail =
      first.length !== header.length
        ? `${header.length} columns here, ${first.length} there`
        : `column ${j} is ${JSON.stringify(header[j])} here, ${JSON.stringify(first[j])} there`;
    throw new DataFormatError(path, `header differs from the one of ${firstPath}: ${detail}`);
  }
}

/**
 * Load a CSV regression data set, and its test file when given (with the same header): each row's
 * `targets` columns, in the order given, are its targets [T], every other column a feature.
 */
export async function loadCsvRegression(path: string, opts: LoadCsvRegressionOptions): Promise<CsvRegressionData> {
  if (!opts || !Array.isArray(opts.targets))
    throw new TypeError(`loadCsvRegression: options.targets must be an array of column names or indices, got ${typeof opts?.targets}`);
  const layoutOf = (header: readonly string[], where: string): Layout => {
    const layout: Layout = { label: -1, targetColumns: resolveTargetColumns(header, opts.targets, where), ignored: [] };
    layout.ignored = resolveIgnored(header, opts.ignoreColumns, layout, where);
    return layout;
  };
  const train = await readRows(path, layoutOf, opts.allowMissing);
  const test = opts.testPath !== undefined ? await readRows(opts.testPath, layoutOf, opts.allowMissing) : undefined;
  if (test) checkSameHeader(opts.testPath as string, test.header, path, train.header);
  const targetNames = train.targetColumns.map((j) => train.header[j]);
  const featureNames = train.featureNames;
  const shape = [1, 1, featureNames.length] as const;
  const dataset = (r: Rows, name: string) => new RegressionDataset({ images: r.features, targets: r.targets, shape, targetNames, name });
  return {
    train: dataset(train, 'csv/train'),
    test: test ? dataset(test, 'csv/test') : undefined,
    featureNames,
    targetNames,
  };
}
