/**
 * rocAuc, averagePrecision and rankingReport against scikit-learn's roc_auc_score and
 * average_precision_score (re-expressed in NumPy by tools/golden_auc.py, fixtures in
 * test/fixtures/auc/), a case computed by hand, their errors, and evaluateProbabilities against
 * evaluateConfusion and predictProba.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { averagePrecision, rankingReport, rocAuc, type RankingScores } from '../../src/train/ranking.js';
import { evaluateConfusion, evaluateProbabilities } from '../../src/train/metrics.js';
import { predictProba } from '../../src/train/trainer.js';
import { Dataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { Linear } from '../../src/nn/layers.js';
import { Rng } from '../../src/tensor/rng.js';

const fixture = <T>(name: string): T =>
  (JSON.parse(readFileSync(new URL(`../../../test/fixtures/auc/${name}.json`, import.meta.url), 'utf8')) as { cases: T }).cases;

interface BinaryCase {
  name: string;
  scores: number[];
  labels: number[];
  rocAuc: number;
  averagePrecision: number;
}
interface MultiCase {
  name: string;
  classes: number;
  probabilities: number[];
  labels: number[];
  perClass: RankingScores[];
  macro: { rocAuc: number; averagePrecision: number };
  weighted: { rocAuc: number; averagePrecision: number };
  binary?: { rocAuc: number; averagePrecision: number };
}

const close = (got: number | null, want: number | null, what: string) => {
  if (want === null) return assert.equal(got, null, what);
  assert.ok(got !== null && Math.abs(got - want) <= 1e-12, `${what}: ${got} vs ${want}`);
};

test('rocAuc and averagePrecision: a case by hand (AUC 3/4, AP (1·½ + ⅔·½) = 5/6)', () => {
  // sorted by score: 0.8 (+), 0.4 (−), 0.35 (+), 0.1 (−); of the 4 (positive, negative) pairs, 3 are ordered right
  const scores = [0.1, 0.4, 0.35, 0.8];
  assert.equal(rocAuc(scores, [0, 0, 1, 1]), 0.75);
  // ½·1 + ½·⅔ summed in floating point (as NumPy does): 0.8333333333333333, one ulp below 5 / 6
  assert.equal(averagePrecision(scores, [0, 0, 1, 1]), 0.5 + 1 / 3);
  assert.equal(rocAuc(scores, [false, false, true, true]), 0.75);
  // a tie between a positive and a negative counts ½
  assert.equal(rocAuc([0.5, 0.5, 0.2], [1, 0, 0]), 0.75);
  assert.equal(averagePrecision([0.5, 0.5, 0.2], [1, 0, 0]), 0.5);
});

test('rocAuc and averagePrecision equal scikit-learn within 1e-12 (random, tied, perfect, inverted, imbalanced scores)', () => {
  const cases = fixture<BinaryCase[]>('binary');
  assert.equal(cases.length, 8);
  for (const c of cases) {
    close(rocAuc(c.scores, c.labels), c.rocAuc, `${c.name}: rocAuc`);
    close(averagePrecision(c.scores, c.labels), c.averagePrecision, `${c.name}: averagePrecision`);
  }
  const perfect = cases.find((c) => c.name === 'perfect ranking')!;
  assert.equal(rocAuc(perfect.scores, perfect.labels), 1);
  assert.equal(
    rocAuc(
      perfect.scores.map((s) => -s),
      perfect.labels,
    ),
    0,
  );
  // float32 scores are read as they are
  const random = cases.find((c) => c.name === 'random scores')!;
  assert.equal(
    rocAuc(Float32Array.from(random.scores), Int32Array.from(random.labels)),
    rocAuc(Array.from(Float32Array.from(random.scores)), random.labels),
  );
});

test('rankingReport: one-vs-rest per class, macro and weighted averages equal scikit-learn within 1e-12 (K = 2, 3, 4, 5)', () => {
  const cases = fixture<MultiCase[]>('multiclass');
  assert.equal(cases.length, 5);
  for (const c of cases) {
    const names = Array.from({ length: c.classes }, (_, j) => `c${j}`);
    const r = rankingReport(c.probabilities, c.labels, names);
    assert.equal(r.perClass.length, c.classes);
    r.perClass.forEach((s, j) => {
      assert.equal(s.name, names[j]);
      assert.equal(s.support, c.perClass[j].support, `${c.name}, class ${j} support`);
      close(s.rocAuc, c.perClass[j].rocAuc, `${c.name}, class ${j} rocAuc`);
      close(s.averagePrecision, c.perClass[j].averagePrecision, `${c.name}, class ${j} averagePrecision`);
    });
    for (const avg of ['macro', 'weighted'] as const)
      for (const key of ['rocAuc', 'averagePrecision'] as const) close(r[avg][key], c[avg][key], `${c.name}, ${avg} ${key}`);
    assert.equal(r.macro.support, c.labels.length);
    if (c.classes === 2) {
      assert.ok(c.binary && r.binary, c.name);
      assert.equal(r.binary.positive, 'c1');
      close(r.binary.rocAuc, c.binary.rocAuc, `${c.name}: binary rocAuc`);
      close(r.binary.averagePrecision, c.binary.averagePrecision, `${c.name}: binary averagePrecision`);
    } else assert.equal(r.binary, undefined);
  }
});

test('rankingReport: a class absent from the labels is null and left out of the averages', () => {
  const c = fixture<MultiCase[]>('multiclass').find((k) => k.name.includes('absent'))!;
  const r = rankingReport(c.probabilities, c.labels, 5);
  assert.deepEqual(r.perClass[3], { name: '3', rocAuc: null, averagePrecision: null, support: 0 });
  const present = r.perClass.filter((s) => s.support > 0);
  assert.equal(present.length, 4);
  close(r.macro.rocAuc, present.reduce((a, s) => a + (s.rocAuc as number), 0) / 4, 'macro over the four present classes');
  assert.equal(JSON.parse(JSON.stringify(r)).perClass[3].rocAuc, null);
});

test('rocAuc, averagePrecision and rankingReport name what is wrong with their inputs', () => {
  assert.throws(
    () => rocAuc([0.1, 0.2, 0.3], [1, 1, 1]),
    /rocAuc: needs both positive and negative samples, got 3 positive and 0 negative/,
  );
  assert.throws(() => rocAuc([0.1, 0.2], [0, 0]), /got 0 positive and 2 negative/);
  assert.throws(() => rocAuc([], []), /got 0 positive and 0 negative/);
  assert.throws(() => averagePrecision([0.1, 0.2], [0, 0]), /averagePrecision: needs at least one positive sample, got 0 of 2/);
  assert.equal(averagePrecision([0.1, 0.2], [1, 1]), 1);
  assert.throws(() => rocAuc([0.1, 0.2], [0, 1, 1]), /rocAuc: scores \(2\) and positives \(3\) must have one entry per sample/);
  assert.throws(() => rocAuc([0.1, 0.2], [0, 2]), /rocAuc: positives must be 0\/1 or booleans, got 2 at index 1/);
  assert.throws(() => rocAuc([0.1, Number.NaN], [0, 1]), /rocAuc: scores must be finite numbers, got NaN at index 1/);
  const p = [0.9, 0.1, 0.8, 0.2, 0.3, 0.7];
  assert.throws(
    () => rankingReport(p, [0, 0, 0], ['cat', 'dog']),
    /rankingReport: all 3 labels are class "cat"; ROC AUC needs samples of at least two classes/,
  );
  assert.throws(() => rankingReport([], [], 2), /rankingReport: no samples/);
  assert.throws(() => rankingReport(p, [0, 1], 2), /rankingReport: 2 labels of 2 classes need 4 probabilities \(N × K, row-major\), got 6/);
  assert.throws(() => rankingReport(p, [0, 1, 2], 2), /labels must be class indices 0…1, got 2 at index 2/);
  assert.throws(() => rankingReport([0.5, 0.5], [0], 1), /needs at least two classes, got 1/);
  assert.throws(
    () => rankingReport([0.9, 0.1, Number.NaN, 0.2], [0, 1], ['cat', 'dog']),
    /probabilities must be finite numbers, got NaN for sample 1, class "cat"/,
  );
});

test("evaluateProbabilities: evaluateConfusion's figures and predictProba's probabilities, in one pass", () => {
  const rng = new Rng(5);
  const n = 37;
  const ds = new Dataset({
    images: Float32Array.from({ length: n * 4 }, () => rng.normal()),
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    shape: [1, 1, 4],
    classes: ['a', 'b', 'c'],
  });
  const model = new Linear(4, 3, { rng: new Rng(2) });
  const loader = new DataLoader(ds, { batchSize: 10, flatten: true });
  const e = evaluateProbabilities(model, loader, 3);
  const c = evaluateConfusion(model, loader, 3);
  assert.equal(e.loss, c.loss);
  assert.equal(e.accuracy, c.accuracy);
  assert.deepEqual(e.confusion, c.confusion);
  const p = predictProba(model, loader);
  assert.deepEqual(e.probabilities, p.probs);
  assert.deepEqual(e.labels, p.labels);
  assert.equal(e.probabilities.length, n * 3);
  const r = rankingReport(e.probabilities, e.labels, ds.classes);
  assert.equal(
    r.perClass[0].rocAuc,
    rocAuc(
      Array.from({ length: n }, (_, i) => e.probabilities[i * 3]),
      Array.from(e.labels, (y) => (y === 0 ? 1 : 0)),
    ),
  );
  assert.throws(
    () => evaluateProbabilities(model, loader, 4),
    /evaluateProbabilities: the model gives 3 outputs per sample, the data has 4 classes/,
  );
  assert.throws(() => evaluateProbabilities(model, loader, 0), /evaluateProbabilities: classes must be a positive integer, got 0/);
});
