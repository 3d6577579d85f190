/**
 * stratifiedSplit, kFold and stratifiedKFold against scikit-learn's allocation. The index sets
 * cannot equal scikit-learn's (another random generator), so these check what defines them: the
 * fold sizes of KFold, the per-class counts of StratifiedShuffleSplit (its `_approximate_mode`,
 * with the examples of its docstring) and StratifiedKFold (round robin over the labels sorted by
 * order of first appearance), worked out by hand here; that folds partition the samples; and that
 * the draw is a pure function of the seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dataset, kFold, stratifiedKFold, stratifiedSplit, complementIndices, Rng } from '../../src/index.js';
import { approximateMode } from '../../src/data/folds.js';

/** A data set whose sample i has the single feature value i and label labels[i]. */
function labelled(labels: number[], classes = ['a', 'b', 'c', 'd', 'e']): Dataset {
  return new Dataset({
    images: Float32Array.from(labels, (_, i) => i),
    labels: Int32Array.from(labels),
    shape: [1, 1, 1],
    classes,
    name: 'toy',
  });
}

/** labels with counts[c] samples of class c, interleaved (c0 c1 c2 c0 c1 …) so no class is one block. */
function withCounts(counts: number[]): number[] {
  const left = [...counts];
  const out: number[] = [];
  while (left.some((c) => c > 0)) left.forEach((c, k) => c > 0 && (out.push(k), left[k]--));
  return out;
}

const countOf = (labels: ArrayLike<number>, idx: ArrayLike<number>, cls: number) => Array.from(idx).filter((i) => labels[i] === cls).length;
const isAscending = (a: ArrayLike<number>) => Array.from(a).every((v, i) => i === 0 || a[i - 1] < v);

test("approximateMode: scikit-learn's docstring examples of _approximate_mode", () => {
  assert.deepEqual(approximateMode([4, 2], 3, new Rng(0)), [2, 1]);
  assert.deepEqual(approximateMode([5, 2], 4, new Rng(0)), [3, 1]);
  // [2, 2, 2, 1] for 2 draws: the three classes of 2 tie (remainder 4/7 each), two of them get one
  // (scikit-learn gives [0, 1, 1, 0] for rng=0 and [1, 1, 0, 0] for rng=42): which two is drawn
  const seen = new Set<string>();
  for (let s = 0; s < 40; s++) {
    const m = approximateMode([2, 2, 2, 1], 2, new Rng(s));
    assert.equal(m[3], 0);
    assert.deepEqual(
      m.slice(0, 3).sort((a, b) => a - b),
      [0, 1, 1],
    );
    seen.add(m.join());
  }
  assert.equal(seen.size, 3, 'each pair of the tied classes is drawn for some seed');
  // exact shares stay exact, whatever the generator
  assert.deepEqual(approximateMode([6, 3, 3], 8, new Rng(5)), [4, 2, 2]);
  assert.deepEqual(approximateMode([50, 50, 50], 120, new Rng(5)), [40, 40, 40]);
  assert.throws(() => approximateMode([2, 2], 5, new Rng(0)), /draws must be an integer from 0 to 4, got 5/);
});

test("kFold: scikit-learn's fold sizes (the first n mod k folds one larger), a partition of 0..n−1, seeded", () => {
  // hand-computed: 10 into 3 → 4 3 3; 11 into 4 → 3 3 3 2; 7 into 7 → ones; 12 into 4 → 3s
  const cases: [number, number, number[]][] = [
    [10, 3, [4, 3, 3]],
    [11, 4, [3, 3, 3, 2]],
    [7, 7, [1, 1, 1, 1, 1, 1, 1]],
    [12, 4, [3, 3, 3, 3]],
    [150, 5, [30, 30, 30, 30, 30]],
    [2, 2, [1, 1]],
  ];
  for (const [n, k, sizes] of cases) {
    const folds = kFold(n, k, new Rng(3));
    assert.deepEqual(
      folds.map((f) => f.length),
      sizes,
      `n=${n} k=${k}`,
    );
    assert.ok(folds.every(isAscending));
    const all = folds.flatMap((f) => Array.from(f)).sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: n }, (_, i) => i),
    );
  }
  const a = kFold(50, 5, new Rng(7).fork('cv'));
  assert.deepEqual(a, kFold(50, 5, new Rng(7).fork('cv')));
  assert.notDeepEqual(a, kFold(50, 5, new Rng(8).fork('cv')));
  // shuffled: the first fold is not the first ten samples
  assert.notDeepEqual(Array.from(a[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(Array.from(complementIndices(6, [1, 4])), [0, 2, 3, 5]);
  assert.throws(() => kFold(3, 5, new Rng(0)), /3 samples cannot make 5 folds/);
  assert.throws(() => kFold(10, 1, new Rng(0)), /k must be an integer ≥ 2, got 1/);
});

test("stratifiedKFold: each fold's count of each class is scikit-learn's round robin over the labels in order of first appearance", () => {
  // class 1 appears first (5 samples), then 0 (4), then 2 (3). Sorted by first appearance the
  // labels are 1 1 1 1 1 0 0 0 0 2 2 2, dealt to folds 0 1 2 0 1 2 0 1 2 0 1 2:
  //   class 1 → folds 0 1 2 0 1: counts 2 2 1;  class 0 → 2 0 1 2: 1 1 2;  class 2 → 0 1 2: 1 1 1.
  // (Sorted by label value instead, class 0 would come first and get 2 1 1: the order matters.)
  const labels = [1, 0, 1, 1, 0, 2, 1, 0, 2, 1, 0, 2];
  const want: Record<number, number[]> = { 1: [2, 2, 1], 0: [1, 1, 2], 2: [1, 1, 1] };
  for (const seed of [1, 2, 3]) {
    const folds = stratifiedKFold(labels, 3, new Rng(seed));
    for (const cls of [0, 1, 2])
      assert.deepEqual(
        folds.map((f) => countOf(labels, f, cls)),
        want[cls],
        `class ${cls}, seed ${seed}`,
      );
    assert.deepEqual(
      folds.map((f) => f.length),
      [4, 4, 4],
    );
    assert.ok(folds.every(isAscending));
    assert.deepEqual(
      folds.flatMap((f) => Array.from(f)).sort((a, b) => a - b),
      labels.map((_, i) => i),
    );
  }
  // scikit-learn's docstring: y = [0, 0, 1, 1], 2 folds: one of each class in each
  const two = stratifiedKFold([0, 0, 1, 1], 2, new Rng(4));
  for (const f of two) assert.deepEqual([countOf([0, 0, 1, 1], f, 0), countOf([0, 0, 1, 1], f, 1)], [1, 1]);
  // iris: 50 of each class into 5 folds → 10 of each per fold
  const iris = withCounts([50, 50, 50]);
  for (const f of stratifiedKFold(iris, 5, new Rng(9)))
    assert.deepEqual(
      [0, 1, 2].map((c) => countOf(iris, f, c)),
      [10, 10, 10],
    );
  // which samples go where is seeded
  const big = withCounts([20, 13, 7]);
  assert.deepEqual(stratifiedKFold(big, 4, new Rng(1)), stratifiedKFold(big, 4, new Rng(1)));
  assert.notDeepEqual(stratifiedKFold(big, 4, new Rng(1)), stratifiedKFold(big, 4, new Rng(2)));
  // a class smaller than k leaves a fold without it (scikit-learn warns); k above every class is refused
  const small = [0, 0, 0, 1];
  assert.deepEqual(
    stratifiedKFold(small, 3, new Rng(0)).map((f) => f.length),
    [2, 1, 1],
  );
  assert.throws(
    () => stratifiedKFold([0, 0, 1, 1], 3, new Rng(0)),
    /k = 3 is larger than the count of every class \(the largest has 2 samples\)/,
  );
});

test("stratifiedSplit: each class held out as scikit-learn's train_test_split(stratify=y) allocates it; round(f·N) in all", () => {
  // [5, 2] (scikit-learn's docstring): 4 to train → [3, 1], so 2 and 1 held out; 3/7 of 7 is 3
  // [4, 2]: 3 to train → [2, 1], 2 and 1 held out
  // [6, 3, 3], 1/3: 8 to train → exactly [4, 2, 2], held out 2 1 1
  // iris, 0.2 of 150: 120 to train → 40 each, 10 of each held out
  const cases: [number[], number, number[]][] = [
    [[5, 2], 3 / 7, [2, 1]],
    [[4, 2], 0.5, [2, 1]],
    [[6, 3, 3], 1 / 3, [2, 1, 1]],
    [[50, 50, 50], 0.2, [10, 10, 10]],
  ];
  for (const [counts, fraction, held] of cases) {
    const labels = withCounts(counts);
    const ds = labelled(labels);
    for (const seed of [0, 1, 2]) {
      const { train, val } = stratifiedSplit(ds, fraction, new Rng(seed));
      assert.deepEqual(
        counts.map((_, c) => Array.from(val.labels).filter((l) => l === c).length),
        held,
        `${counts} ${fraction}`,
      );
      assert.equal(val.length, Math.round(fraction * labels.length));
      assert.equal(train.length + val.length, labels.length);
      // the feature is the sample's index: the parts are disjoint and keep the data order
      const t = Array.from(train.images);
      const v = Array.from(val.images);
      assert.ok(isAscending(t) && isAscending(v));
      assert.deepEqual(
        [...t, ...v].sort((a, b) => a - b),
        labels.map((_, i) => i),
      );
      assert.ok(v.every((i) => val.labels[v.indexOf(i)] === labels[i]));
    }
  }
  // a tie: [50, 30, 20] with 0.25 → 75 to train: shares 37.5, 22.5, 15 → one more for class 0 or 1, by the seed
  const tie = labelled(withCounts([50, 30, 20]));
  const got = new Set<string>();
  for (let s = 0; s < 30; s++) {
    const { val } = stratifiedSplit(tie, 0.25, new Rng(s));
    const held = [0, 1, 2].map((c) => Array.from(val.labels).filter((l) => l === c).length);
    assert.ok(held.join() === '12,8,5' || held.join() === '13,7,5', held.join());
    got.add(held.join());
  }
  assert.equal(got.size, 2);
  const ds = labelled(withCounts([30, 20, 10]));
  const a = stratifiedSplit(ds, 0.3, new Rng(7).fork('val-split'));
  assert.deepEqual(a, stratifiedSplit(ds, 0.3, new Rng(7).fork('val-split')));
  assert.notDeepEqual(Array.from(a.val.images), Array.from(stratifiedSplit(ds, 0.3, new Rng(8).fork('val-split')).val.images));
});

test('stratifiedSplit refuses, as scikit-learn, a class of one sample (naming it) and a part smaller than the class count', () => {
  assert.throws(
    () => stratifiedSplit(labelled([0, 0, 1, 1, 2, 0]), 0.5, new Rng(0)),
    /class "c" has 1 sample; stratifying needs at least 2 of each class/,
  );
  assert.throws(
    () => stratifiedSplit(labelled(withCounts([2, 2, 2, 2])), 0.25, new Rng(0)),
    /leaves 2 to validate, fewer than the 4 classes/,
  );
  assert.throws(() => stratifiedSplit(labelled(withCounts([2, 2, 2, 2])), 0.75, new Rng(0)), /leaves 2 to train, fewer than the 4 classes/);
  assert.throws(() => stratifiedSplit(labelled([0, 0, 1, 1]), 1, new Rng(0)), /fraction must be in \(0, 1\), got 1/);
});
