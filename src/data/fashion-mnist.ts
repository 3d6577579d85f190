/**
 * Fashion-MNIST file names and the embedded default subset, isomorphic part: what the files are
 * called, how many samples the embedded set holds, and a browser/Node `fetch` loader (gzip is undone
 * with DecompressionStream, which evergreen browsers and Node 18+ have). The file-system loader is in
 * ./node.ts.
 */
import { DataFormatError, parseIdx } from './idx.js';
import { datasetFromIdx, FASHION_MNIST_CLASSES, type Dataset } from './dataset.js';

/** The four files of a split pair, by their canonical (uncompressed) names. */
export const FASHION_MNIST_FILES = Object.freeze({
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
});

/**
 * The embedded default: a class-balanced subset of the real Fashion-MNIST, 1000 training and 200 test
 * images per class, chosen by tools/make-embedded-data.ts and stored as gzipped IDX files (the same
 * names as the full set, with .gz) in data/fashion-mnist-subset/ of the package.
 */
export const EMBEDDED_DIR = 'data/fashion-mnist-subset';
export const EMBEDDED_TRAIN_PER_CLASS = 1000;
export const EMBEDDED_TEST_PER_CLASS = 200;
export const EMBEDDED_TRAIN_SIZE = EMBEDDED_TRAIN_PER_CLASS * FASHION_MNIST_CLASSES.length;
export const EMBEDDED_TEST_SIZE = EMBEDDED_TEST_PER_CLASS * FASHION_MNIST_CLASSES.length;

export interface TrainTest {
  train: Dataset;
  test: Dataset;
  /** Where the data came from (a directory or URL), for logs. */
  source: string;
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompress gzip with the platform's DecompressionStream (browser and Node ≥ 18). */
export async function gunzipStream(bytes: Uint8Array, name = 'gzip data'): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataFormatError(name, `corrupt or truncated gzip data (${(e as Error).message})`);
  }
}

/**
 * Load a train/test pair over `fetch` from `baseUrl` (a directory URL ending in '/'), trying
 * `<name>.gz` first, then `<name>`. In the lab: `fetchFashionMnist(new URL('data/fashion-mnist-subset/', base))`.
 */
export async function fetchFashionMnist(baseUrl: string | URL, fetchFn: typeof fetch = fetch): Promise<TrainTest> {
  const base = new URL(String(baseUrl).endsWith('/') ? String(baseUrl) : `${String(baseUrl)}/`);
  const get = async (file: string) => {
    const tried: string[] = [];
    for (const candidate of [`${file}.gz`, file]) {
      const url = new URL(candidate, base);
      tried.push(url.href);
      const res = await fetchFn(url);
      if (!res.ok) continue;
      let bytes: Uint8Array = new Uint8Array(await res.arrayBuffer());
      if (isGzip(bytes)) bytes = await gunzipStream(bytes, url.href);
      return { idx: parseIdx(bytes, url.href), name: url.href };
    }
    throw new DataFormatError(file, `not found; tried ${tried.join(', ')}`);
  };
  const F = FASHION_MNIST_FILES;
  const [ti, tl, vi, vl] = await Promise.all([get(F.trainImages), get(F.trainLabels), get(F.testImages), get(F.testLabels)]);
  return {
    train: datasetFromIdx(ti.idx, tl.idx, { imagesName: ti.name, labelsName: tl.name, name: 'fashion-mnist/train' }),
    test: datasetFromIdx(vi.idx, vl.idx, { imagesName: vi.name, labelsName: vl.name, name: 'fashion-mnist/test' }),
    source: base.href,
  };
}
