/**
 * Ranking metrics of a classifier's scores, as scikit-learn defines them: the area under the ROC
 * curve (roc_auc_score) and average precision (average_precision_score) of one binary problem, and
 * their one-vs-rest report over K classes with macro and support-weighted averages.
 *
 * One binary problem: the samples sorted by score, descending, one threshold per distinct score,
 * TP(t) and FP(t) the positives and negatives scoring t or more (scikit-learn's
 * confusion_matrix_at_thresholds).
 * - ROC AUC: the trapezoid area under (FP/N, TP/P) from (0, 0): tied scores give a diagonal segment,
 *   so the area is the Mann–Whitney U statistic / (P·N), a tied (positive, negative) pair counting ½.
 *   scikit-learn's roc_curve drops collinear points (drop_intermediate), which does not change the
 *   area. The area is summed in integers (2·U) and divided once, so it is exact up to 2⁵³ pairs.
 * - Average precision: Σₙ (Rₙ − Rₙ₋₁) Pₙ over the thresholds, recall R = TP/P and precision
 *   P = TP/(TP + FP) — not interpolated, not the trapezoid under the precision-recall curve.
 */

/** ROC AUC and average precision of one class, or their average over the classes. */
export interface RankingScores {
  /** Area under the ROC curve; null for a class no sample has (undefined). */
  rocAuc: number | null;
  /** Average precision; null for a class no sample has (undefined). */
  averagePrecision: number | null;
  /** Samples of the class (for an average: of every class). */
  support: number;
}

/** An average over the classes present: always defined. */
export interface RankingAverage {
  rocAuc: number;
  averagePrecision: number;
  /** Samples of every class. */
  support: number;
}

export interface RankingReport {
  /** One-vs-rest: class c's probability as the score, its samples the positives; in class order, with its name. */
  perClass: (RankingScores & { name: string })[];
  /** Unweighted mean over the classes present (scikit-learn's average='macro'). */
  macro: RankingAverage;
  /** Mean over the classes weighted by their support (average='weighted'). */
  weighted: RankingAverage;
  /**
   * Two classes only: the binary figures with class 1's probability as the score and class 1 the
   * positive class (scikit-learn's roc_auc_score(y, p[:, 1])); the same numbers as perClass[1].
   */
  binary?: { positive: string; rocAuc: number; averagePrecision: number };
}

interface Binary {
  rocAuc: number;
  averagePrecision: number;
  positives: number;
  negatives: number;
}

/** The ROC area and average precision of `scores` with `isPositive(i)` marking the positives. */
function binaryRanking(scores: ArrayLike<number>, isPositive: (i: number) => boolean, n: number, who: string): Binary {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`${who}: scores must be finite numbers, got ${scores[i]} at index ${i}`);
    order[i] = i;
  }
  order.sort((a, b) => scores[b] - scores[a]);
  let positives = 0;
  for (let i = 0; i < n; i++) if (isPositive(i)) positives++;
  const negatives = n - positives;
  // cumulative counts at each distinct score, from the highest down
  let tp = 0,
    fp = 0,
    twiceU = 0,
    ap = 0;
  for (let i = 0; i < n; ) {
    const s = scores[order[i]];
    const tp0 = tp,
      fp0 = fp;
    for (; i < n && scores[order[i]] === s; i++) {
      if (isPositive(order[i])) tp++;
      else fp++;
    }
    twiceU += (fp - fp0) * (tp + tp0);
    if (tp > tp0) ap += ((tp - tp0) / positives) * (tp / (tp + fp));
  }
  return { rocAuc: twiceU / (2 * positives * negatives), averagePrecision: ap, positives, negatives };
}

function binaryInputs(scores: ArrayLike<number>, positives: ArrayLike<number | boolean>, who: string): (i: number) => boolean {
  if (scores.length !== positives.length)
    throw new RangeError(`${who}: scores (${scores.length}) and positives (${positives.length}) must have one entry per sample`);
  for (let i = 0; i < positives.length; i++) {
    const v = positives[i];
    if (v !== true && v !== false && v !== 0 && v !== 1)
      throw new RangeError(`${who}: positives must be 0/1 or booleans, got ${String(v)} at index ${i}`);
  }
  return (i) => positives[i] === true || positives[i] === 1;
}

/**
 * scikit-learn's roc_auc_score of one binary problem: the probability that a random positive
 * scores above a random negative, ties counting ½. `positives[i]` (1/true or 0/false) says whether
 * sample i is positive. Needs both kinds of sample (the area is undefined otherwise).
 */
export function rocAuc(scores: ArrayLike<number>, positives: ArrayLike<number | boolean>): number {
  const r = binaryRanking(scores, binaryInputs(scores, positives, 'rocAuc'), scores.length, 'rocAuc');
  if (r.positives === 0 || r.negatives === 0)
    throw new RangeError(
      `rocAuc: needs both positive and negative samples, got ${r.positives} positive and ${r.negatives} negative; ROC AUC is undefined for one class`,
    );
  return r.rocAuc;
}

/**
 * scikit-learn's average_precision_score of one binary problem: Σₙ (Rₙ − Rₙ₋₁) Pₙ over the distinct
 * scores, from the highest down. Needs at least one positive sample (undefined otherwise).
 */
export function averagePrecision(scores: ArrayLike<number>, positives: ArrayLike<number | boolean>): number {
  const r = binaryRanking(scores, binaryInputs(scores, positives, 'averagePrecision'), scores.length, 'averagePrecision');
  if (r.positives === 0)
    throw new RangeError(`averagePrecision: needs at least one positive sample, got 0 of ${scores.length}; average precision is undefined`);
  return r.averagePrecision;
}

/**
 * One-vs-rest ROC AUC and average precision of each class from class probabilities (N × K,
 * row-major, K = `classes` or its names' count) and integer labels, with their macro and
 * support-weighted averages: scikit-learn's roc_auc_score(y, p, multi_class='ovr', average=…) and
 * average_precision_score(onehot(y), p, average=…). A class no label has gets null for both and is
 * left out of the averages (scikit-learn raises for its ROC AUC); labels of a single class are an
 * error. With two classes `binary` holds class 1's figures, roc_auc_score(y, p[:, 1]).
 */
export function rankingReport(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number | readonly string[],
): RankingReport {
  const names = typeof classes === 'number' ? Array.from({ length: classes }, (_, i) => String(i)) : [...classes];
  const k = names.length;
  if (k < 2) throw new RangeError(`rankingReport: needs at least two classes, got ${k}`);
  const n = labels.length;
  if (probabilities.length !== n * k)
    throw new RangeError(
      `rankingReport: ${n} labels of ${k} classes need ${n * k} probabilities (N × K, row-major), got ${probabilities.length}`,
    );
  const support = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= k)
      throw new RangeError(`rankingReport: labels must be class indices 0…${k - 1}, got ${y} at index ${i}`);
    support[y]++;
  }
  for (let i = 0; i < n * k; i++)
    if (!Number.isFinite(probabilities[i]))
      throw new RangeError(
        `rankingReport: probabilities must be finite numbers, got ${probabilities[i]} for sample ${Math.floor(i / k)}, class ${JSON.stringify(names[i % k])}`,
      );
  const present = support.filter((s) => s > 0).length;
  if (present < 2) {
    const only = support.findIndex((s) => s > 0);
    throw new RangeError(
      n === 0
        ? 'rankingReport: no samples; ROC AUC needs samples of at least two classes'
        : `rankingReport: all ${n} labels are class ${JSON.stringify(names[only])}; ROC AUC needs samples of at least two classes`,
    );
  }
  const column = new Float64Array(n);
  const perClass = names.map((name, c) => {
    if (support[c] === 0) return { name, rocAuc: null, averagePrecision: null, support: 0 };
    for (let i = 0; i < n; i++) column[i] = probabilities[i * k + c];
    const r = binaryRanking(column, (i) => labels[i] === c, n, 'rankingReport');
    return { name, rocAuc: r.rocAuc, averagePrecision: r.averagePrecision, support: support[c] };
  });
  const average = (weight: (s: RankingScores) => number): RankingAverage => {
    let w = 0,
      auc = 0,
      ap = 0;
    for (const s of perClass) {
      if (s.support === 0) continue;
      const v = weight(s);
      w += v;
      auc += v * (s.rocAuc as number);
      ap += v * (s.averagePrecision as number);
    }
    return { rocAuc: auc / w, averagePrecision: ap / w, support: n };
  };
  const report: RankingReport = { perClass, macro: average(() => 1), weighted: average((s) => s.support) };
  if (k === 2)
    report.binary = {
      positive: names[1],
      rocAuc: perClass[1].rocAuc as number,
      averagePrecision: perClass[1].averagePrecision as number,
    };
  return report;
}
