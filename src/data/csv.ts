/**
 * Classification and regression data from CSV files (Node-only): a header row, then one label
 * column (classification) or one or more numeric target columns (regression, loadCsvRegression),
 * every other column a numeric feature. Parsed by `csv-parse` as a stream, so a file is never held whole as text; the
 * features are converted to float32 row by row.
 *
 * A text column may be one-hot encoded (`oneHot`): it becomes k features of 0 or 1, one per category
 * (the sorted distinct values of the training file, at most MAX_ONE_HOT_CATEGORIES), named
 * `column_value` as pandas' get_dummies names them, in its place among the features. A missing cell
 * or a value outside the categories is all zeros (scikit-learn's handle_unknown='ignore').
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
import { withImages } from './preprocess.js';

export interface CsvTable {
  path: string;
  /** Column names of the header row (trimmed). */
  header: string[];
  /** Index of the label column in `header`. */
  labelColumn: number;
  /** The feature names, in file order: a column's header name, or a one-hot column's `column_value` names in its place. */
  featureNames: string[];
  /** rows × features values, row after row. */
  features: Float32Array;
  /** The one-hot encoded columns with their categories, in file order (empty when none). */
  oneHot: OneHotColumn[];
  /** The header names of the columns the features are read from, in file order (a one-hot column once). */
  featureColumns: string[];
  /** The header names of the columns `ignoreColumns` left out, in file order. */
  ignoredColumns: string[];
  /** The label cell of each row (trimmed). */
  labels: string[];
  /** The free-text column's cell of each row (trimmed; a missing cell is ''), when `text` named one. */
  texts?: string[];
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
  /**
   * Text columns to one-hot encode, by name or 0-based index; a `{ column, categories }` (the
   * `oneHot` a reader returned) encodes the column in those categories instead of the file's own.
   */
  oneHot?: readonly OneHotSpec[];
  /**
   * A free-text column, by name or 0-based index, read as strings (`texts`): every other column
   * besides the label must be ignored (a TextColumnsError names the others), so `features` is empty.
   */
  text?: string | number;
}

/** A one-hot encoded column: its header name and its categories, in the order of its features. */
export interface OneHotColumn {
  column: string;
  categories: string[];
}

/**
 * A column to one-hot encode: by name or 0-based index (its categories the sorted distinct values of
 * the file read), or with fixed categories (those of a trained model, to read later files the same way).
 */
export type OneHotSpec = string | number | { readonly column: string; readonly categories: readonly string[] };

/** The most categories a one-hot column may have: a column with more is almost surely a number or an id. */
export const MAX_ONE_HOT_CATEGORIES = 1000;

/** The feature names of a one-hot column: `column_value` per category (pandas' get_dummies, scikit-learn's get_feature_names_out). */
export function oneHotNames(c: OneHotColumn): string[] {
  return c.categories.map((v) => `${c.column}_${v}`);
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

/** The header row of a CSV file (its names trimmed); the rest of the file is not read. */
export async function readCsvHeader(path: string): Promise<string[]> {
  const input = openCsvFile(path) as NodeJS.ReadableStream & { destroy(): void };
  try {
    for await (const rec of csvRecords(path, input)) return rec.record;
  } finally {
    input.destroy();
  }
  throw new DataFormatError(path, 'empty file: expected a header row, then one row per sample');
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
 * A feature cell that holds text, not a number: a DataFormatError whose `problem` is the message
 * without the place and the hint, and `column` the header name, so a caller can name its own way of
 * encoding or leaving out the column.
 */
export class TextFeatureError extends DataFormatError {
  constructor(
    where: string,
    readonly problem: string,
    readonly column: string,
  ) {
    super(
      where,
      `${problem} (a text column is one-hot encoded by the option oneHot: [${JSON.stringify(column)}], or left out by ignoreColumns)`,
    );
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
    if (!MISSING_CELLS.has(cell)) {
      const problem = `${column}: ${JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell)} is not a number`;
      if (role === 'feature') throw new TextFeatureError(where, problem, header[j]);
      throw new DataFormatError(where, problem);
    }
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
  /** One-hot encoded columns, in file order, with their categories when fixed (else fitted on the file). */
  oneHot: { col: number; categories?: readonly string[] }[];
  /** The free-text column, read as strings. */
  text?: number;
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

/** The free-text column: neither the label, a target, ignored nor one-hot encoded. */
function resolveTextColumn(header: readonly string[], spec: string | number, taken: Layout, where: string): number {
  const c = resolveColumn(header, spec, 'text column', where);
  const what =
    c === taken.label
      ? 'the label column'
      : taken.targetColumns.includes(c)
        ? 'a target column'
        : taken.ignored.includes(c)
          ? 'ignored'
          : taken.oneHot.some((h) => h.col === c)
            ? 'one-hot encoded'
            : null;
  if (what !== null) throw new DataFormatError(where, `the text column "${header[c]}" is ${what}; it cannot also be the text`);
  return c;
}

/**
 * A text column beside other feature columns: a text model reads the text only, so every other
 * column besides the label must be ignored. `others` names them, for the caller's hint.
 */
export class TextColumnsError extends DataFormatError {
  constructor(
    where: string,
    readonly text: string,
    readonly others: readonly string[],
  ) {
    super(
      where,
      `the text column "${text}" is read alone, and ${others.map((n) => JSON.stringify(n)).join(', ')} ${others.length === 1 ? 'is a feature column' : 'are feature columns'} besides it; ignore ${others.length === 1 ? 'it' : 'them'} (ignoreColumns)`,
    );
  }
}

/**
 * The columns to one-hot encode, each once, none of them the label, a target or ignored, in file
 * order; fixed categories must be distinct strings.
 */
function resolveOneHot(
  header: readonly string[],
  specs: readonly OneHotSpec[] | undefined,
  taken: Layout,
  where: string,
): Layout['oneHot'] {
  const out = (specs ?? []).map((spec) => {
    if (typeof spec === 'object' && spec !== null) {
      const cats = spec.categories;
      if (!Array.isArray(cats) || cats.length === 0 || cats.some((c) => typeof c !== 'string'))
        throw new TypeError(`oneHot: the categories of ${JSON.stringify(spec.column)} must be a non-empty list of strings`);
      const twice = cats.findIndex((c, k) => cats.indexOf(c) !== k);
      if (twice >= 0)
        throw new TypeError(`oneHot: the category ${JSON.stringify(cats[twice])} of ${JSON.stringify(spec.column)} is given twice`);
      return { col: resolveColumn(header, spec.column, 'one-hot column', where), categories: cats as readonly string[] };
    }
    return { col: resolveColumn(header, spec, 'one-hot column', where) };
  });
  const cols = out.map((o) => o.col);
  const twice = cols.findIndex((c, k) => cols.indexOf(c) !== k);
  if (twice >= 0) throw new DataFormatError(where, `the one-hot column "${header[cols[twice]]}" is given twice`);
  for (const c of cols) {
    const is =
      c === taken.label
        ? 'the label column'
        : taken.targetColumns.includes(c)
          ? 'a target column'
          : taken.ignored.includes(c)
            ? 'ignored'
            : null;
    if (is) throw new DataFormatError(where, `"${header[c]}" is ${is}; it cannot also be one-hot encoded`);
  }
  return out.sort((a, b) => a.col - b.col);
}

/** The category codes of one one-hot column as its cells are read: −1 for a missing or unknown value. */
class CategoryCodes {
  /** value → code: the index in fixed categories, else the order of first appearance (sorted at the end). */
  readonly codes = new Map<string, number>();
  constructor(readonly fixed: readonly string[] | undefined) {
    fixed?.forEach((c, i) => this.codes.set(c, i));
  }
  code(cell: string): number {
    if (MISSING_CELLS.has(cell)) return -1;
    const c = this.codes.get(cell);
    if (c !== undefined) return c;
    if (this.fixed) return -1;
    this.codes.set(cell, this.codes.size);
    return this.codes.size - 1;
  }
  /** The categories in feature order and, for fitted ones, each first-appearance code's sorted index. */
  finish(column: string, path: string): { categories: string[]; remap?: Int32Array } {
    if (this.fixed) return { categories: [...this.fixed] };
    const n = this.codes.size;
    if (n === 0)
      throw new DataFormatError(path, `the one-hot column "${column}" has no value, every cell is missing; there is no category to encode`);
    if (n > MAX_ONE_HOT_CATEGORIES)
      throw new DataFormatError(
        path,
        `the one-hot column "${column}" has ${n} distinct values, more than ${MAX_ONE_HOT_CATEGORIES}; it is likely a number or an id, not a category`,
      );
    const categories = [...this.codes.keys()].sort();
    const rank = new Map(categories.map((c, i) => [c, i]));
    const remap = new Int32Array(n);
    for (const [c, i] of this.codes) remap[i] = rank.get(c) as number;
    return { categories, remap };
  }
}

/** The feature names of a file's columns: a feature column's own, a one-hot column's `column_value`; a name twice is refused. */
function featureNamesOf(header: readonly string[], role: Int8Array, oneHot: readonly OneHotColumn[], where: string): string[] {
  const names: string[] = [];
  let m = 0;
  for (let j = 0; j < header.length; j++) {
    if (role[j] === 0) names.push(header[j]);
    else if (role[j] === 4) names.push(...oneHotNames(oneHot[m++]));
  }
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n) && oneHot.length > 0)
      throw new DataFormatError(
        where,
        `the feature name "${n}" comes twice once the one-hot columns are encoded (column_value names); rename a column`,
      );
    seen.add(n);
  }
  return names;
}

interface Rows extends Layout {
  header: string[];
  /** The feature names, in file order (a one-hot column's `column_value` names in its place). */
  featureNames: string[];
  /** The header names of the columns features are read from, in file order (a one-hot column once). */
  featureColumns: string[];
  /** The one-hot columns with their categories, in file order. */
  oneHotColumns: OneHotColumn[];
  features: Float32Array;
  /** rows × target columns values. */
  targets: Float32Array;
  labels: string[];
  /** The text column's cells, when the layout has one. */
  texts: string[];
  lines: Int32Array;
  rows: number;
}

/**
 * Read a CSV file's rows, its columns laid out by `layoutOf(header)`. Every error names the file and
 * line (and column). The numeric features are read row by row; a one-hot column's cells as category
 * codes, encoded into the features once the file is read (its fitted categories are known then).
 */
async function readRows(path: string, layoutOf: (header: readonly string[], where: string) => Layout, allowMissing = false): Promise<Rows> {
  let header: string[] | null = null;
  let headerWhere = path;
  let layout: Layout = { label: -1, targetColumns: [], ignored: [], oneHot: [] };
  let role = new Int8Array(0); // per column: 0 feature, 1 label, 2 target, 3 ignored, 4 one-hot, 5 text
  let hotIndex = new Int32Array(0); // per column: its index among the one-hot columns
  let hot: CategoryCodes[] = [];
  let F = 0; // numeric features
  let T = 0;
  let rows = 0;
  let cap = 1024;
  let features = new Float32Array(0);
  let targets = new Float32Array(0);
  let codes: Int32Array[] = [];
  let lines = new Int32Array(cap);
  const labels: string[] = [];
  const texts: string[] = [];
  const grow = <A extends Float32Array | Int32Array>(a: A, width: number): A => {
    const b = new (a.constructor as new (n: number) => A)(cap * width);
    b.set(a);
    return b;
  };
  for await (const rec of csvRecords(path)) {
    const cells = rec.record;
    const line = rec.info.lines;
    if (header === null) {
      header = cells;
      headerWhere = `${path}:${line}`;
      layout = layoutOf(header, headerWhere);
      role = new Int8Array(header.length);
      hotIndex = new Int32Array(header.length);
      if (layout.label >= 0) role[layout.label] = 1;
      for (const j of layout.targetColumns) role[j] = 2;
      for (const j of layout.ignored) role[j] = 3;
      layout.oneHot.forEach((h, m) => {
        role[h.col] = 4;
        hotIndex[h.col] = m;
      });
      if (layout.text !== undefined) role[layout.text] = 5;
      hot = layout.oneHot.map((h) => new CategoryCodes(h.categories));
      T = layout.targetColumns.length;
      F = role.filter((r) => r === 0).length;
      if (layout.text !== undefined && F + hot.length > 0)
        throw new TextColumnsError(
          headerWhere,
          header[layout.text],
          header.filter((_, j) => role[j] === 0 || role[j] === 4),
        );
      if (F + hot.length === 0 && layout.text === undefined)
        throw new DataFormatError(
          headerWhere,
          layout.ignored.length === 0 && layout.label >= 0
            ? `the header has only the label column "${header[layout.label]}"; expected feature columns besides it`
            : `every column is the label, a target or ignored (${preview(header)}); expected feature columns besides them`,
        );
      features = new Float32Array(cap * F);
      targets = new Float32Array(cap * T);
      codes = hot.map(() => new Int32Array(cap));
      continue;
    }
    checkRagged(cells, header, `${path}:${line}`);
    if (rows === cap) {
      cap *= 2;
      features = grow(features, F);
      targets = grow(targets, T);
      codes = codes.map((c) => grow(c, 1));
      lines = grow(lines, 1);
    }
    let o = rows * F;
    for (let j = 0; j < cells.length; j++) {
      const cell = cells[j];
      const r = role[j];
      if (r === 1) {
        if (cell === '') throw new DataFormatError(`${path}:${line}`, `column ${j} ("${header[j]}"): missing label`);
        labels.push(cell);
      } else if (r === 0) features[o++] = featureValue(cell, j, header, `${path}:${line}`, 'feature', allowMissing);
      else if (r === 4) codes[hotIndex[j]][rows] = hot[hotIndex[j]].code(cell);
      else if (r === 5) texts.push(MISSING_CELLS.has(cell) ? '' : cell);
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
  const hdr = header;
  const fitted = hot.map((h, m) => h.finish(hdr[layout.oneHot[m].col], path));
  const oneHotColumns = fitted.map((f, m) => ({ column: hdr[layout.oneHot[m].col], categories: f.categories }));
  const featureNames = featureNamesOf(hdr, role, oneHotColumns, headerWhere);
  let out = features.slice(0, rows * F);
  if (hot.length > 0) {
    // the numeric features and each one-hot column's 0/1 block, in column order
    const W = featureNames.length;
    out = new Float32Array(rows * W);
    for (let i = 0; i < rows; i++) {
      let src = i * F;
      let dst = i * W;
      for (let j = 0; j < hdr.length; j++) {
        if (role[j] === 0) out[dst++] = features[src++];
        else if (role[j] === 4) {
          const m = hotIndex[j];
          const { remap } = fitted[m];
          const c = codes[m][i];
          if (c >= 0) out[dst + (remap ? remap[c] : c)] = 1;
          dst += fitted[m].categories.length;
        }
      }
    }
  }
  return {
    ...layout,
    header: hdr,
    featureNames,
    featureColumns: hdr.filter((_, j) => role[j] === 0 || role[j] === 4 || role[j] === 5),
    oneHotColumns,
    features: out,
    targets: targets.slice(0, rows * T),
    labels,
    texts,
    lines: lines.slice(0, rows),
    rows,
  };
}

/** The header names of the ignored columns, in file order. */
function ignoredNames(r: Rows): string[] {
  return [...r.ignored].sort((a, b) => a - b).map((j) => r.header[j]);
}

/** Read one CSV file: header, label column, numeric features. Every error names the file and line (and column). */
export async function readCsvTable(path: string, opts: ReadCsvOptions = {}): Promise<CsvTable> {
  const r = await readRows(
    path,
    (header, where) => {
      const layout: Layout = { label: resolveLabelColumn(header, opts.labelColumn, where), targetColumns: [], ignored: [], oneHot: [] };
      layout.ignored = resolveIgnored(header, opts.ignoreColumns, layout, where);
      layout.oneHot = resolveOneHot(header, opts.oneHot, layout, where);
      if (opts.text !== undefined) layout.text = resolveTextColumn(header, opts.text, layout, where);
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
    oneHot: r.oneHotColumns,
    featureColumns: r.featureColumns,
    ignoredColumns: ignoredNames(r),
    labels: r.labels,
    ...(r.text !== undefined ? { texts: r.texts } : {}),
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
  /**
   * Columns among `names` to one-hot encode in the categories given (a reader's `oneHot`): each
   * gives its categories' count of values, 0 or 1, in its place; a missing or other value is all zeros.
   */
  oneHot?: readonly OneHotColumn[];
}

/** A run of consecutive rows of a CSV file, the columns asked for only. */
export interface CsvBatch {
  /** rows × columns values, row after row, each row's values in the order the columns were asked for (a one-hot column's categories in its place). */
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
  // per column asked for: its one-hot categories' codes, or null for a number
  const hot = names.map((n) => {
    const c = (opts.oneHot ?? []).find((h) => h.column === n);
    return c ? new CategoryCodes(c.categories) : null;
  });
  for (const h of opts.oneHot ?? [])
    if (!names.includes(h.column))
      throw new RangeError(`readCsvColumns: the one-hot column ${JSON.stringify(h.column)} is not among the names`);
  const width = hot.map((h) => (h ? (h.fixed as readonly string[]).length : 1));
  const F = width.reduce((a, w) => a + w, 0);
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
    let o = rows * F;
    for (let k = 0; k < names.length; k++) {
      const h = hot[k];
      if (h) {
        const c = h.code(cells[index[k]]);
        if (c >= 0) values[o + c] = 1;
        o += width[k];
      } else values[o++] = featureValue(cells[index[k]], index[k], header, where, 'feature', opts.allowMissing);
    }
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

/** A run of consecutive rows' texts (readCsvTexts). */
export interface CsvTextBatch {
  texts: string[];
  rows: number;
  /** Index of the batch's first row among the file's data rows (0 for the row after the header). */
  start: number;
  /** The file line each row ends on (1-based). */
  lines: Int32Array;
}

/**
 * Read the free-text column `column` of a CSV file, by header name, in batches of consecutive rows
 * (a missing cell is ''), as readCsvColumns reads numbers: other columns are not read; a name the
 * header lacks is a CsvColumnsError.
 */
export async function* readCsvTexts(
  path: string,
  column: string,
  opts: Pick<ReadCsvColumnsOptions, 'batchRows' | 'input'> = {},
): AsyncGenerator<CsvTextBatch> {
  const batchRows = opts.batchRows ?? 1000;
  if (!Number.isInteger(batchRows) || batchRows < 1)
    throw new RangeError(`readCsvTexts: batchRows must be a positive integer, got ${batchRows}`);
  let header: string[] | null = null;
  let j = -1;
  let texts: string[] = [];
  let lines: number[] = [];
  let start = 0;
  for await (const rec of csvRecords(path, opts.input)) {
    const where = `${path}:${rec.info.lines}`;
    if (header === null) {
      header = rec.record;
      const hits = header.flatMap((h, i) => (h === column ? [i] : []));
      if (hits.length === 0) throw new CsvColumnsError(where, [column], header);
      if (hits.length > 1)
        throw new DataFormatError(where, `the column name "${column}" appears ${hits.length} times (columns ${hits.join(', ')})`);
      j = hits[0];
      continue;
    }
    checkRagged(rec.record, header, where);
    const cell = rec.record[j];
    texts.push(MISSING_CELLS.has(cell) ? '' : cell);
    lines.push(rec.info.lines);
    if (texts.length === batchRows) {
      yield { texts, rows: texts.length, start, lines: Int32Array.from(lines) };
      start += texts.length;
      texts = [];
      lines = [];
    }
  }
  if (header === null) throw new DataFormatError(path, 'empty file: expected a header row, then one row per sample');
  if (texts.length > 0) yield { texts, rows: texts.length, start, lines: Int32Array.from(lines) };
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
  const labels = labelIndices(table, cls);
  return new Dataset({ images: table.features, labels, shape: [1, 1, table.featureNames.length], classes: cls.classes, name });
}

/** Each row's class index in `cls`; a label outside them is refused naming file and line. */
function labelIndices(table: CsvTable, cls: CsvClasses): Int32Array {
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
  return labels;
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
  /** The feature names, in file order (a one-hot column's `column_value` names in its place). */
  featureNames: string[];
  /** The header names of the columns the features are read from, in file order (a one-hot column once). */
  featureColumns: string[];
  /** The one-hot encoded columns with the training file's categories (give them as `oneHot` to read another file alike). */
  oneHot: OneHotColumn[];
  /** The header names of the columns `ignoreColumns` left out. */
  ignoredColumns: string[];
  /** The header name of the label column. */
  labelName: string;
}

/**
 * Load a CSV data set, and its test file when given (it must have the same header and only labels of
 * the training file). Fewer than 2 classes in the training file is an error, there being nothing to
 * classify, unless `classes` gives those of a trained model.
 */
export async function loadCsv(path: string, opts: LoadCsvOptions = {}): Promise<CsvData> {
  if (opts.text !== undefined) throw new TypeError('loadCsv: a text column has no numeric features; read it with loadCsvText');
  const train = await readCsvTable(path, opts);
  // the test file's one-hot columns take the training file's categories
  const test = opts.testPath !== undefined ? await readCsvTable(opts.testPath, { ...opts, oneHot: train.oneHot }) : undefined;
  if (test) checkSameHeader(test.path, test.header, path, train.header);
  const cls = tableClasses(path, train, test, opts.classes);
  return {
    ...cls,
    train: csvDataset(train, cls, 'csv/train'),
    test: test ? csvDataset(test, cls, 'csv/test') : undefined,
    featureNames: train.featureNames,
    featureColumns: train.featureColumns,
    oneHot: train.oneHot,
    ignoredColumns: train.ignoredColumns,
    labelName: train.header[train.labelColumn],
  };
}

/**
 * The classes of a training table (and its test table): the given classes of a trained model, which
 * every label must be among, else the training table's own, at least 2, which the test table's
 * labels must be among.
 */
function tableClasses(path: string, train: CsvTable, test: CsvTable | undefined, classes: readonly string[] | undefined): CsvClasses {
  const cls: CsvClasses = classes
    ? { classes: [...classes], labelKind: classes.every((c) => INTEGER.test(c)) ? 'integer' : 'string' }
    : csvClasses([train]);
  if (classes) {
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
  return cls;
}

/** The texts of a CSV file and their class indices. */
export interface CsvTexts {
  texts: string[];
  labels: Int32Array;
  /** The file line each row ends on (1-based). */
  lines: Int32Array;
}

export interface CsvTextData extends CsvClasses {
  train: CsvTexts;
  /** Present when `testPath` was given. */
  test?: CsvTexts;
  /** The header name of the text column. */
  textColumn: string;
  /** The header names of the columns `ignoreColumns` left out (every one besides the text and the label). */
  ignoredColumns: string[];
  labelName: string;
}

/**
 * Load a CSV file of free text and class labels, and its test file when given (same header, only
 * labels of the training file): the column `text` as strings (a missing cell is ''), every column
 * besides it and the label ignored by `ignoreColumns` (a TextColumnsError names the others). Classes
 * as loadCsv finds them. Turn the texts into token ids with a TextVectorizer (src/data/text.ts).
 */
export async function loadCsvText(
  path: string,
  opts: Omit<LoadCsvOptions, 'text' | 'oneHot' | 'allowMissing'> & { text: string | number },
): Promise<CsvTextData> {
  if (!opts || (typeof opts.text !== 'string' && typeof opts.text !== 'number'))
    throw new TypeError(`loadCsvText: options.text must be a column name or index, got ${typeof opts?.text}`);
  const read = { labelColumn: opts.labelColumn, ignoreColumns: opts.ignoreColumns, text: opts.text };
  const train = await readCsvTable(path, read);
  const test = opts.testPath !== undefined ? await readCsvTable(opts.testPath, read) : undefined;
  if (test) checkSameHeader(test.path, test.header, path, train.header);
  const cls = tableClasses(path, train, test, opts.classes);
  const texts = (t: CsvTable): CsvTexts => ({ texts: t.texts ?? [], labels: labelIndices(t, cls), lines: t.lines });
  return {
    ...cls,
    train: texts(train),
    test: test ? texts(test) : undefined,
    textColumn: train.featureColumns[0],
    ignoredColumns: train.ignoredColumns,
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
  /** Text columns to one-hot encode (see ReadCsvOptions.oneHot); a test file takes the training file's categories. */
  oneHot?: readonly OneHotSpec[];
}

export interface CsvRegressionData {
  train: RegressionDataset;
  /** Present when `testPath` was given. */
  test?: RegressionDataset;
  /** The feature names, in file order (a one-hot column's `column_value` names in its place). */
  featureNames: string[];
  /** The header names of the columns the features are read from, in file order (a one-hot column once). */
  featureColumns: string[];
  /** The one-hot encoded columns with the training file's categories (give them as `oneHot` to read another file alike). */
  oneHot: OneHotColumn[];
  /** The header names of the columns `ignoreColumns` left out. */
  ignoredColumns: string[];
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
  const layoutOf =
    (oneHot: readonly OneHotSpec[] | undefined) =>
    (header: readonly string[], where: string): Layout => {
      const layout: Layout = { label: -1, targetColumns: resolveTargetColumns(header, opts.targets, where), ignored: [], oneHot: [] };
      layout.ignored = resolveIgnored(header, opts.ignoreColumns, layout, where);
      layout.oneHot = resolveOneHot(header, oneHot, layout, where);
      return layout;
    };
  const train = await readRows(path, layoutOf(opts.oneHot), opts.allowMissing);
  // the test file's one-hot columns take the training file's categories
  const test = opts.testPath !== undefined ? await readRows(opts.testPath, layoutOf(train.oneHotColumns), opts.allowMissing) : undefined;
  if (test) checkSameHeader(opts.testPath as string, test.header, path, train.header);
  const targetNames = train.targetColumns.map((j) => train.header[j]);
  const featureNames = train.featureNames;
  const shape = [1, 1, featureNames.length] as const;
  const dataset = (r: Rows, name: string) => new RegressionDataset({ images: r.features, targets: r.targets, shape, targetNames, name });
  return {
    train: dataset(train, 'csv/train'),
    test: test ? dataset(test, 'csv/test') : undefined,
    featureNames,
    featureColumns: train.featureColumns,
    oneHot: train.oneHotColumns,
    ignoredColumns: ignoredNames(train),
    targetNames,
  };
}

/**
 * The one-hot categories the training part of a split file holds. A file's categories are read
 * from all of its rows, and --val-split and --cv split it afterwards: each one-hot column keeps the
 * categories some sample of `train` has, and every set drops the features of the others, so a held-out
 * sample of a category the training part lacks reads as no category (all zeros), as an unseen value of
 * a later file does (scikit-learn's OneHotEncoder fitted on the training part, handle_unknown='ignore').
 * `features` are the names of a sample's values in order, one-hot columns as their `column_value`
 * names; a column left without a category in the training part is refused, naming it.
 */
export function keepTrainingCategories<D extends Dataset | RegressionDataset>(
  features: readonly string[],
  oneHot: readonly OneHotColumn[],
  train: D,
  sets: readonly D[],
): { features: string[]; oneHot: OneHotColumn[]; train: D; sets: D[] } {
  const f = features.length;
  const keep = new Array<boolean>(f).fill(true);
  const kept: OneHotColumn[] = oneHot.map((h) => {
    const start = features.indexOf(oneHotNames(h)[0]);
    const categories = h.categories.filter((_, j) => {
      let seen = false;
      for (let i = 0; i < train.length && !seen; i++) seen = train.images[i * f + start + j] === 1;
      keep[start + j] = seen;
      return seen;
    });
    if (categories.length === 0) throw new RangeError(`one-hot column "${h.column}" has no value in the training part`);
    return { column: h.column, categories };
  });
  if (keep.every((k) => k)) return { features: [...features], oneHot: kept, train, sets: [...sets] };
  const columns = keep.flatMap((k, j) => (k ? [j] : []));
  const narrow = (ds: D): D => {
    const images = new Float32Array(ds.length * columns.length);
    for (let i = 0; i < ds.length; i++)
      for (let c = 0; c < columns.length; c++) images[i * columns.length + c] = ds.images[i * f + columns[c]];
    return withImages(ds, images, [1, 1, columns.length]);
  };
  return { features: columns.map((j) => features[j]), oneHot: kept, train: narrow(train), sets: sets.map(narrow) };
}
