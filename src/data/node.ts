/**
 * Node-only data loading: IDX files from disk (gzipped or not — decided by the 1f 8b magic, not by
 * the name), the full Fashion-MNIST from Debian's dataset-fashion-mnist or a given directory, and
 * the embedded default subset shipped in the package's data/ folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { DataFormatError, parseIdx, type IdxArray } from './idx.js';
import { datasetFromIdx } from './dataset.js';
import { EMBEDDED_DIR, FASHION_MNIST_FILES, isGzip, type TrainTest } from './fashion-mnist.js';

/** Where Debian's dataset-fashion-mnist installs the files. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Where loadFashionMnist looks when no directory is given. */
export const FASHION_MNIST_SEARCH_PATH: readonly string[] = Object.freeze([DEFAULT_FASHION_MNIST_DIR]);

/** A file's bytes; a file that cannot be read is a DataFormatError naming it and the cause. */
function readRaw(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new DataFormatError(path, fsErrorReason(e as NodeJS.ErrnoException, 'file'));
  }
}

/** Read a file's bytes, gunzipping when it starts with the gzip magic. */
export function readMaybeGzip(path: string): Uint8Array {
  const raw = readRaw(path);
  if (!isGzip(raw)) return raw;
  return gunzipChecked(raw, path);
}

/**
 * Why a file or folder could not be read, from the error's code: "not found" only when it is not
 * there (ENOENT) — a folder without read permission is "permission denied", not missing.
 */
export function fsErrorReason(e: NodeJS.ErrnoException, kind: 'file' | 'folder'): string {
  switch (e.code) {
    case 'ENOENT':
      return `${kind} not found`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied: cannot read this ${kind} (check its permissions and those of the folders above it)`;
    case 'EISDIR':
      return 'is a directory, expected a file';
    case 'ENOTDIR':
      return kind === 'folder' ? 'not a directory' : 'a part of the path is not a directory';
    case 'ELOOP':
      return 'too many symbolic links in the path';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    default:
      return e.message;
  }
}

function gunzipChecked(raw: Uint8Array, path: string, maxOutputLength?: number): Uint8Array {
  try {
    return gunzipSync(raw, maxOutputLength === undefined ? {} : { maxOutputLength });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DataFormatError(
        path,
        `the gzip data expands past the ${maxOutputLength! - 1} bytes its IDX header announces; the file is damaged or not what it claims (refused before inflating it all)`,
      );
    }
    const msg = err.message;
    const what = /unexpected end of file/i.test(msg) ? 'truncated gzip data' : 'corrupt gzip data';
    throw new DataFormatError(path, `${what} (zlib: ${msg}); the file is damaged, download or reinstall it`);
  }
}

/** Bytes per element of each IDX element type (the third byte of the magic). */
const IDX_ELEMENT_BYTES: Record<number, number> = { 8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8 };

/** Largest IDX file descent inflates (the full Fashion-MNIST training images are 47 MB). */
export const MAX_IDX_BYTES = 2 ** 31;

/**
 * The size in bytes an IDX header announces (header included), from the first bytes of the file;
 * undefined when they are not a complete, supported IDX header (parseIdx then says what is wrong).
 */
function announcedIdxBytes(head: Uint8Array): number | undefined {
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) return undefined;
  const elem = IDX_ELEMENT_BYTES[head[2]];
  const rank = head[3];
  if (elem === undefined || rank === 0 || head.length < 4 + 4 * rank) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let n = elem;
  for (let i = 0; i < rank; i++) n *= view.getUint32(4 + 4 * i);
  return 4 + 4 * rank + n;
}

/**
 * The bytes of an IDX file, gunzipped when it starts with the gzip magic. A gzipped file is
 * inflated in two passes so that a small file expanding to gigabytes is refused early: the first
 * compressed bytes give the header (rank and dimensions), then the whole file is inflated with
 * zlib's maxOutputLength set one byte past the size that header announces.
 */
export function readIdxBytes(path: string): Uint8Array {
  const raw = readRaw(path);
  if (!isGzip(raw)) return raw;
  let head: Uint8Array = new Uint8Array(0);
  // A deflate block can spend a few hundred bytes on its code tables before the first output byte.
  for (const k of [512, 8192, 65536]) {
    try {
      head = gunzipSync(raw.subarray(0, k), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      break; // corrupt: the full inflate below reports it
    }
    if (head.length >= 4 && (head.length >= 4 + 4 * head[3] || head[0] !== 0 || head[1] !== 0)) break;
    if (k >= raw.length) break;
  }
  const announced = announcedIdxBytes(head);
  if (announced === undefined) {
    if (head.length >= 4) parseIdx(head, path); // throws the header's problem (magic, type, rank)
    return gunzipChecked(raw, path, 1 << 20); // too short to hold a header: let zlib or parseIdx say why
  }
  if (announced > MAX_IDX_BYTES)
    throw new DataFormatError(path, `the IDX header announces ${announced} bytes, more than descent reads (${MAX_IDX_BYTES})`);
  return gunzipChecked(raw, path, announced + 1);
}

/** Read and parse an IDX file, gzipped or not. */
export function readIdxFile(path: string): IdxArray {
  return parseIdx(readIdxBytes(path), path);
}

/** The existing file for a canonical IDX name in `dir`: name.gz, name, or the dotted variant. */
function findFile(dir: string, name: string): string | null {
  const dotted = name.replace(/-(idx\d-ubyte)$/, '.$1'); // train-images.idx3-ubyte, as some mirrors name it
  for (const cand of [`${name}.gz`, name, `${dotted}.gz`, dotted]) {
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
  return loadDir(locateFashionMnist(opts));
}

/**
 * The folder loadFashionMnist reads, with its four IDX files checked present but not read: the same
 * DataFormatError when they are not there, at the cost of listing a folder.
 */
export function locateFashionMnist(opts: LoadFashionMnistOptions = {}): string {
  const dirs = opts.dir !== undefined ? [resolve(opts.dir)] : [...FASHION_MNIST_SEARCH_PATH];
  for (const dir of dirs) {
    try {
      readdirSync(dir);
    } catch (e) {
      // Missing: look further (and say where it looked); there but unreadable: say so.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new DataFormatError(dir, fsErrorReason(e as NodeJS.ErrnoException, 'folder'));
      continue;
    }
    if (findFile(dir, FASHION_MNIST_FILES.trainImages)) {
      idxFiles(dir);
      return dir;
    }
  }
  const F = FASHION_MNIST_FILES;
  const where = dirs.join(', ');
  const hint =
    opts.dir === undefined
      ? ' Install it with `apt-get install dataset-fashion-mnist`, pass the folder that holds it as `dir`, or use the embedded subset (loadEmbedded()).'
      : '';
  throw new DataFormatError(opts.dir ?? 'Fashion-MNIST', `data set not found: looked for ${F.trainImages}[.gz] in ${where}.${hint}`);
}

/** The four IDX files of the data set in `dir`; a missing one is a DataFormatError naming it. */
function idxFiles(dir: string): { ti: string; tl: string; vi: string; vl: string } {
  const need = (name: string) => {
    const p = findFile(dir, name);
    if (!p) throw new DataFormatError(join(dir, name), `file not found (nor ${name}.gz) in ${dir}; the data set there is incomplete`);
    return p;
  };
  const F = FASHION_MNIST_FILES;
  return { ti: need(F.trainImages), tl: need(F.trainLabels), vi: need(F.testImages), vl: need(F.testLabels) };
}

function loadDir(dir: string, prefix = 'fashion-mnist'): TrainTest {
  const files = idxFiles(dir);
  const out = {
    train: datasetFromIdx(readIdxFile(files.ti), readIdxFile(files.tl), {
      imagesName: files.ti,
      labelsName: files.tl,
      name: `${prefix}/train`,
    }),
    test: datasetFromIdx(readIdxFile(files.vi), readIdxFile(files.vl), {
      imagesName: files.vi,
      labelsName: files.vl,
      name: `${prefix}/test`,
    }),
    source: dir,
  };
  checkSameImages(out.train, out.test, files.vi);
  return out;
}

/**
 * Train and test images must have one size (and channel count): a model built for one cannot read
 * the other, which would otherwise fail only at the first evaluation, after an epoch of training.
 */
export function checkSameImages(train: { shape: readonly number[] }, test: { shape: readonly number[] }, testName: string): void {
  const [tc, th, tw] = train.shape;
  const [vc, vh, vw] = test.shape;
  if (tc !== vc || th !== vh || tw !== vw) {
    throw new DataFormatError(
      testName,
      `test images are ${vc}×${vh}×${vw} (channels×height×width) but the training images are ${tc}×${th}×${tw}; both sets must have one image size`,
    );
  }
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
  throw new DataFormatError(
    EMBEDDED_DIR,
    `embedded data set not found; looked in ${tried.join(', ')}. The package is incomplete: reinstall it`,
  );
}

/** The embedded default: 10000 training and 2000 test images of Fashion-MNIST, class-balanced. */
export function loadEmbedded(): TrainTest {
  return loadDir(embeddedDataDir(), 'fashion-mnist-subset');
}
