/** Resolve the CLI's --data value to a train/test pair (Node-only). */
import { existsSync } from 'node:fs';
import { loadEmbedded, loadFashionMnist, FASHION_MNIST_SEARCH_PATH } from '../data/node.js';

const DEFAULT_FASHION_MNIST_DIR = FASHION_MNIST_SEARCH_PATH[0];
import type { Dataset } from '../data/dataset.js';

export interface LoadedData {
  train: Dataset;
  test: Dataset;
  /** Where it came from, for the log line. */
  source: string;
}

export const dataOption = {
  name: 'data',
  type: 'string' as const,
  metavar: 'auto|embedded|DIR',
  default: 'auto',
  help: `where Fashion-MNIST is: "auto" uses ${'/usr/share/datasets/fashion-mnist'} if installed (apt-get install dataset-fashion-mnist), else the embedded subset; "embedded" the 10k/2k subset shipped in the package; or a directory of IDX files`,
};

export async function loadData(spec: string): Promise<LoadedData> {
  if (spec === 'embedded' || (spec === 'auto' && !existsSync(DEFAULT_FASHION_MNIST_DIR))) {
    const d = await loadEmbedded();
    return { ...d, source: `embedded Fashion-MNIST subset (${d.train.length} train / ${d.test.length} test)` };
  }
  const dir = spec === 'auto' ? DEFAULT_FASHION_MNIST_DIR : spec;
  const d = await loadFashionMnist({ dir });
  return { ...d, source: `Fashion-MNIST from ${dir} (${d.train.length} train / ${d.test.length} test)` };
}

/** The first `n` samples (or all when n is undefined). */
export function limit(ds: Dataset, n: number | undefined): Dataset {
  if (n === undefined || n >= ds.length) return ds;
  return ds.slice(0, n);
}
