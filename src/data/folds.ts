/**
 * Stratified hold-out splits and k-fold cross-validation folds, allocated as scikit-learn allocates
 * them (train_test_split(stratify=y) / StratifiedShuffleSplit, KFold(shuffle=True) and
 * StratifiedKFold(shuffle=True)). The counts — how many samples of each class, and how many in each
 * fold — are scikit-learn's; which samples fill them is drawn by descent's own seeded Rng, so the
 * index sets differ from scikit-learn's for the same seed number.
 *
 * Isomorphic.
 */
import type { Dataset } from './dataset.js';
import type { Rng } from '../tensor/rng.js';

/**
 * How many of `draws` samples each class gets when drawn from classes of `counts` samples
 * (scikit-learn's `_approximate_mode`): each class's share counts/total·draws rounded down, then the
 * samples still missing go one each to the classes with the largest fractional remainders, ties
 * broken at random by `rng`. The result sums to `draws` and is within one of each share.
 */
export function approximateMode(counts: readonly number[], draws: number, rng: Rng): number[] {
  const total = counts.reduce((a, c) => a + c, 0);
  if (!Number.isInteger(draws) || draws < 0 || draws > total)
    throw new RangeError(`approximateMode: draws must be an integer from 0 to ${total}, got ${draws}`);
  // the share in scikit-learn's order of operations (count / total · draws), so floors and ties match
  const share = counts.map((c) => (c / total) * draws);
  const out = share.map(Math.floor);
  let missing = draws - out.reduce((a, c) => a + c, 0);
  if (missing > 0) {
    const remainder = share.map((s, i) => s - out[i]);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const v of values) {
      const tied = remainder.flatMap((r, i) => (r === v ? [i] : []));
      const take = Math.min(tied.length, missing);
      const order = rng.permutation(tied.length);
      for (let k = 0; k < take; k++) out[tied[order[k]]]++;
      missing -= take;
      if (missing === 0) break;
    }
  }
  return out;
}

/** The indices 0..n−1 not in `held` (which is sorted ascending), in order. */
export function complementIndices(n: number, held: ArrayLike<number>): Int32Array {
  const mark = new Uint8Array(n);
  for (let i = 0; i < held.length; i++) mark[held[i]] = 1;
  const out = new Int32Array(n - held.length);
  let a = 0;
  for (let i = 0; i < n; i++) if (!mark[i]) out[a++] = i;
  return out;
}

/**
 * Hold out round(fraction · N) samples of a class-labelled data set as a validation set, each class
 * in proportion (scikit-learn's `train_test_split(..., stratify=y)`): the training part's count of
 * each class is `approximateMode` of the class counts for N − round(fraction · N) draws and the rest
 * of the class is held out; which samples, by `rng`. Both parts keep the data set's order. As
 * scikit-learn, refuses a class with a single sample, and a part with fewer samples than there are
 * classes.
 */
export function stratifiedSplit(ds: Dataset, fraction: number, rng: Rng): { train: Dataset; val: Dataset } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`stratifiedSplit: fraction must be in (0, 1), got ${fraction}`);
  const n = ds.length;
  const nVal = Math.round(fraction * n);
  const nTrain = n - nVal;
  if (nVal < 1 || nTrain < 1)
    throw new RangeError(
      `stratifiedSplit: a fraction ${fraction} of ${n} samples leaves ${nVal} to validate and ${nTrain} to train; both need at least 1`,
    );
  // the classes present, in label order (numpy.unique's), and each one's samples in data order
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const l = ds.labels[i];
    const m = members.get(l);
    if (m) m.push(i);
    else members.set(l, [i]);
  }
  const labels = [...members.keys()].sort((a, b) => a - b);
  const counts = labels.map((l) => (members.get(l) as number[]).length);
  const single = labels.find((_, k) => counts[k] < 2);
  if (single !== undefined)
    throw new RangeError(
      `stratifiedSplit: class ${JSON.stringify(ds.classes[single] ?? String(single))} has 1 sample; stratifying needs at least 2 of each class, one to train on and one to hold out`,
    );
  for (const [part, size] of [
    ['validate', nVal],
    ['train', nTrain],
  ] as const)
    if (size < labels.length)
      throw new RangeError(
        `stratifiedSplit: a fraction ${fraction} of ${n} samples leaves ${size} to ${part}, fewer than the ${labels.length} classes; stratifying needs at least one of each`,
      );
  const trainCounts = approximateMode(counts, nTrain, rng);
  const held = new Uint8Array(n);
  labels.forEach((l, k) => {
    const idx = members.get(l) as number[];
    const perm = rng.permutation(idx.length);
    for (let j = trainCounts[k]; j < idx.length; j++) held[idx[perm[j]]] = 1;
  });
  const valIdx = new Int32Array(nVal);
  let b = 0;
  for (let i = 0; i < n; i++) if (held[i]) valIdx[b++] = i;
  return { train: ds.subset(complementIndices(n, valIdx), `${ds.name}/train`), val: ds.subset(valIdx, `${ds.name}/val`) };
}

function checkFolds(fn: string, n: number, k: number): void {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`${fn}: k must be an integer ≥ 2, got ${k}`);
  if (k > n) throw new RangeError(`${fn}: ${n} samples cannot make ${k} folds; k must be at most the number of samples`);
}

/**
 * k-fold cross-validation folds of N samples (scikit-learn's `KFold(k, shuffle=True)`): the test
 * indices of each fold, ascending; the folds partition 0..N−1, the first N mod k folds hold
 * ⌊N/k⌋ + 1 samples and the others ⌊N/k⌋. The samples are shuffled by `rng` first. A fold trains on
 * every index not in it (`complementIndices`).
 */
export function kFold(n: number, k: number, rng: Rng): Int32Array[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`kFold: n must be a whole number, got ${n}`);
  checkFolds('kFold', n, k);
  const perm = rng.permutation(n);
  const folds: Int32Array[] = [];
  for (let f = 0, start = 0; f < k; f++) {
    const size = Math.floor(n / k) + (f < n % k ? 1 : 0);
    folds.push(perm.slice(start, start + size).sort());
    start += size;
  }
  return folds;
}

/**
 * Stratified k-fold folds of integer class labels (scikit-learn's `StratifiedKFold(k, shuffle=True)`):
 * the test indices of each fold, ascending. Each fold's count of each class is scikit-learn's: the
 * labels sorted by class — the classes in order of first appearance — dealt round robin to the folds
 * (sample j of that order to fold j mod k). Which samples of a class go to which fold, by `rng`. As
 * scikit-learn, k larger than every class's count is refused; a class with fewer than k samples
 * leaves some folds without it.
 */
export function stratifiedKFold(labels: ArrayLike<number>, k: number, rng: Rng): Int32Array[] {
  const n = labels.length;
  checkFolds('stratifiedKFold', n, k);
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const m = members.get(labels[i]);
    if (m) m.push(i);
    else members.set(labels[i], [i]);
  }
  const classes = [...members.values()]; // Map keeps the order of first appearance
  if (classes.every((m) => m.length < k))
    throw new RangeError(
      `stratifiedKFold: k = ${k} is larger than the count of every class (the largest has ${Math.max(...classes.map((m) => m.length))} samples)`,
    );
  const foldOf = new Int32Array(n);
  let start = 0;
  for (const idx of classes) {
    // positions start … start + count − 1 of the sorted labels; position p goes to fold p mod k
    const folds = new Int32Array(idx.length);
    for (let j = 0; j < idx.length; j++) folds[j] = (start + j) % k;
    folds.sort();
    rng.shuffle(folds);
    idx.forEach((i, j) => {
      foldOf[i] = folds[j];
    });
    start += idx.length;
  }
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) sizes[foldOf[i]]++;
  const out = Array.from(sizes, (s) => new Int32Array(s));
  const at = new Int32Array(k);
  for (let i = 0; i < n; i++) out[foldOf[i]][at[foldOf[i]]++] = i;
  return out;
}
