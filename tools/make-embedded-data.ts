/**
 * Build the embedded default data set, data/fashion-mnist-subset/, from the full Fashion-MNIST
 * (Debian's dataset-fashion-mnist in /usr/share/datasets/fashion-mnist, or the directory given as
 * the first argument).
 *
 *   npx tsc -p tsconfig.json && node dist/tools/make-embedded-data.js [SRC_DIR]
 *
 * Selection (deterministic, class-balanced): for each class, the samples of that class are shuffled
 * with Rng(20261127).fork('train:' + class) (or 'test:' + class) and the first 1000 (train) / 200
 * (test) are kept; the kept indices are then sorted, so the subset keeps the original file order
 * (which is already class-mixed). The output is four gzipped IDX files under the full set's names,
 * readable by the same loader, plus manifest.json recording the source indices. The output folder is
 * checked before the source is read, and each file is written with writeFileAtomic.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng } from '../src/tensor/rng.js';
import { encodeIdx, type IdxArray } from '../src/data/idx.js';
import { EMBEDDED_DIR, EMBEDDED_TEST_PER_CLASS, EMBEDDED_TRAIN_PER_CLASS, FASHION_MNIST_FILES } from '../src/data/fashion-mnist.js';
import { FASHION_MNIST_CLASSES } from '../src/data/dataset.js';
import { readIdxFile } from '../src/data/node.js';
import { checkWritableDir, writeFileAtomic } from '../src/io/files.js';

const SEED = 20261127;
const src = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const out = join(process.cwd(), EMBEDDED_DIR);

function pick(labels: IdxArray, perClass: number, split: string): Int32Array {
  const rng = new Rng(SEED);
  const chosen: number[] = [];
  for (let c = 0; c < FASHION_MNIST_CLASSES.length; c++) {
    const ofClass: number[] = [];
    for (let i = 0; i < labels.data.length; i++) if (labels.data[i] === c) ofClass.push(i);
    if (ofClass.length < perClass) throw new Error(`${split}: class ${c} has only ${ofClass.length} samples, need ${perClass}`);
    rng.fork(`${split}:${c}`).shuffle(ofClass);
    chosen.push(...ofClass.slice(0, perClass));
  }
  return Int32Array.from(chosen.sort((a, b) => a - b));
}

function take(arr: IdxArray, idx: Int32Array): IdxArray {
  const row = arr.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Uint8Array(idx.length * row);
  idx.forEach((i, k) => data.set((arr.data as Uint8Array).subarray(i * row, (i + 1) * row), k * row));
  return { dtype: 'uint8', shape: [idx.length, ...arr.shape.slice(1)], data };
}

function write(name: string, arr: IdxArray): number {
  const gz = gzipSync(encodeIdx(arr), { level: 9 });
  writeFileAtomic(join(out, `${name}.gz`), gz);
  return gz.length;
}

try {
  checkWritableDir(out, 'output folder');
} catch (e) {
  process.stderr.write(`make-embedded-data: ${(e as Error).message}\n`);
  process.exit(1);
}
mkdirSync(out, { recursive: true });
const F = FASHION_MNIST_FILES;
const manifest: Record<string, unknown> = {
  description: 'Class-balanced subset of Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, MIT licence), made by tools/make-embedded-data.ts',
  seed: SEED,
  classes: FASHION_MNIST_CLASSES,
};
let total = 0;
for (const [split, imgs, labs, perClass] of [
  ['train', F.trainImages, F.trainLabels, EMBEDDED_TRAIN_PER_CLASS],
  ['test', F.testImages, F.testLabels, EMBEDDED_TEST_PER_CLASS],
] as const) {
  const images = readIdxFile(join(src, `${imgs}.gz`));
  const labels = readIdxFile(join(src, `${labs}.gz`));
  const idx = pick(labels, perClass, split);
  total += write(imgs, take(images, idx));
  total += write(labs, take(labels, idx));
  manifest[split] = { count: idx.length, perClass, sourceFile: imgs, sourceIndices: Array.from(idx) };
}
writeFileAtomic(join(out, 'manifest.json'), `${JSON.stringify(manifest)}\n`);
console.log(`wrote ${out}: ${(total / 1e6).toFixed(2)} MB of gzipped IDX`);
