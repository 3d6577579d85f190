/**
 * Node-only data loading: IDX files from disk (gzipped or not — decided by the 1f 8b magic, not by
 * the name), the full Fashion-MNIST from Debian's dataset-fashion-mnist or a given directory, and
 * the embedded default subset shipped in the package's data/ folder.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DataFormatError, parseIdx, type IdxArray } from './idx.js';
import { datasetFromIdx } from './dataset.js';
import { EMBEDDED_DIR, FASHION_MNIST_FILES, isGzip, type TrainTest } from './fashion-mnist.js';

/** Where Debian's dataset-fashion-mnist installs the files. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Where loadFashionMnist looks when no directory is given. */
export const FASHION_MNIST_SEARCH_PATH: readonly string[] = Object.freeze([DEFAULT_FASHION_MNIST_DIR]);

/** Read a file's bytes, gunzipping when it starts with the gzip magic. */
export function readMaybeGzip(path: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, expected a file' : (e as Error).message;
    throw new DataFormatError(path, why);
  }
  if (!isGzip(raw)) return raw;
  try {
    return gunzipSync(raw);
  } catch (e) {
    const msg = (e as Error).message;
    const what = /unexpected end of file/i.test(msg) ? 'truncated gzip data' : 'corrupt gzip data';
    throw new DataFormatError(path, `${what} (zlib: ${msg}); the file is damaged, download or reinstall it`);
  }
}

/** Read and parse an IDX file, gzipped or not. */
export function readIdxFile(path: string): IdxArray {
  return parseIdx(readMaybeGzip(path), path);
}

/** The existing file for a canonical IDX name in `dir`: name.gz, name, or the dotted variant. */
function findFile(dir: string, name: string): string | null {
  const dotted = name.replace(/-(idx\d-ubyte)$/, '.$1'); // train-images.idx3-ubyte, as some mirrors name it
  for (const cand of [name + '.gz', name, dotted + '.gz', dotted]) {
    const p = join(dir, cand);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}

/** Whether `dir` holds Fashion-MNIST's training images as IDX (gzipped or not, either naming). */
export function hasFashionMnistFiles(dir: string): boolean {
  return findFile(dir, FASHION_MNIST_FILES.trainImages) !== null;
}

export interface LoadFashionMnistOptions {
  /** A directory holding the four IDX files (gzipped or not); default: FASHION_MNIST_SEARCH_PATH. */
  dir?: string;
}

/**
 * The full Fashion-MNIST (60000 train, 10000 test) from `dir` or from the Debian location. Throws a
 * DataFormatError listing where it looked when the files are not there.
 */
export function loadFashionMnist(opts: LoadFashionMnistOptions = {}): TrainTest {
  const dirs = opts.dir !== undefined ? [resolve(opts.dir)] : [...FASHION_MNIST_SEARCH_PATH];
  for (const dir of dirs) {
    if (findFile(dir, FASHION_MNIST_FILES.trainImages)) return loadDir(dir);
  }
  const F = FASHION_MNIST_FILES;
  const where = dirs.join(', ');
  const hint =
    opts.dir === undefined
      ? ' Install it with `apt-get install dataset-fashion-mnist`, pass a directory (--data DIR), or use the embedded default set.'
      : '';
  throw new DataFormatError(
    opts.dir ?? 'Fashion-MNIST',
    `data set not found: looked for ${F.trainImages}[.gz] in ${where}.${hint}`,
  );
}

function loadDir(dir: string, prefix = 'fashion-mnist'): TrainTest {
  const need = (name: string) => {
    const p = findFile(dir, name);
    if (!p) throw new DataFormatError(join(dir, name), `file not found (nor ${name}.gz) in ${dir}; the data set there is incomplete`);
    return p;
  };
  const F = FASHION_MNIST_FILES;
  const files = { ti: need(F.trainImages), tl: need(F.trainLabels), vi: need(F.testImages), vl: need(F.testLabels) };
  return {
    train: datasetFromIdx(readIdxFile(files.ti), readIdxFile(files.tl), {
      imagesName: files.ti,
      labelsName: files.tl,
      name: prefix + '/train',
    }),
    test: datasetFromIdx(readIdxFile(files.vi), readIdxFile(files.vl), {
      imagesName: files.vi,
      labelsName: files.vl,
      name: prefix + '/test',
    }),
    source: dir,
  };
}

/**
 * The package's data/fashion-mnist-subset directory, found relative to this module so it works from
 * src/ (tsx), from dist/src/ and from an installed node_modules/descent.
 */
export function embeddedDataDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const tried: string[] = [];
  let dir = here;
  for (let up = 0; up < 5; up++) {
    const cand = join(dir, EMBEDDED_DIR);
    tried.push(cand);
    if (findFile(cand, FASHION_MNIST_FILES.trainImages)) return cand;
    dir = dirname(dir);
  }
  throw new DataFormatError(EMBEDDED_DIR, `embedded data set not found; looked in ${tried.join(', ')}. The package is incomplete: reinstall it`);
}

/** The embedded default: 10000 training and 2000 test images of Fashion-MNIST, class-balanced. */
export function loadEmbedded(): TrainTest {
  return loadDir(embeddedDataDir(), 'fashion-mnist-subset');
}
