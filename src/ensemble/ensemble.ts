/**
 * Model ensembles: several models' predictions combined at test time (the lecture: "average
 * independently trained models"; snapshots of one run work too, see snapshot.ts).
 *
 *   p(y|x) = Σᵢ wᵢ softmax(fᵢ(x))   with wᵢ = 1/M unless weights are given   (probability averaging)
 *   vote:    the class most members pick, ties broken by the averaged probability
 *
 * `Ensemble` is itself a Module whose forward returns log p(y|x) (log of the averaged
 * probabilities), so anything that evaluates a model — accuracy, cross-entropy, the trainer's
 * evaluate() — evaluates the ensemble unchanged: argmax of log p is argmax of p, and the
 * cross-entropy of log p is the negative log-likelihood of the mixture.
 */
import type { Tensor } from '../tensor/tensor.js';
import { fromData } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import { classLabels } from '../data/tensor-dataset.js';
import { add, log, mul, softmax, argmax } from '../autograd/ops.js';
import { Module, type ForwardOptions } from '../nn/module.js';
import { hostScoped } from '../train/step-scope.js';

export class Ensemble extends Module {
  readonly members: readonly Module[];
  readonly weights: readonly number[];

  constructor(members: readonly Module[], weights?: readonly number[]) {
    super();
    if (members.length === 0) throw new RangeError('Ensemble: needs at least one member');
    if (weights && (weights.length !== members.length || weights.some((w) => !(w >= 0)) || !(weights.reduce((a, b) => a + b, 0) > 0))) {
      throw new RangeError(`Ensemble: weights must be ${members.length} numbers ≥ 0 with a positive sum, got ${JSON.stringify(weights)}`);
    }
    const sum = weights ? weights.reduce((a, b) => a + b, 0) : members.length;
    this.weights = weights ? weights.map((w) => w / sum) : members.map(() => 1 / members.length);
    this.members = [...members];
    members.forEach((m, i) => this.registerModule(String(i), m));
  }

  /** Averaged class probabilities [N, C]. */
  predictProba(x: Tensor, opts: ForwardOptions = {}): Tensor {
    let p: Tensor | null = null;
    this.members.forEach((m, i) => {
      const q = mul(softmax(m.forward(x, opts)), this.weights[i]);
      p = p ? add(p, q) : q;
    });
    return p!;
  }

  /** log of the averaged probabilities: usable wherever logits are. */
  forward(x: Tensor, opts: ForwardOptions = {}): Tensor {
    return log(this.predictProba(x, opts));
  }

  /** Majority vote of the members' argmax; ties go to the class with the larger averaged probability. */
  vote(x: Tensor): Int32Array {
    return noGrad(() => {
      const probs = this.members.map((m) => softmax(m.forward(x, {})));
      return voteFrom(
        probs.map((p) => p.data),
        this.weights,
        x.shape[0],
        probs[0].shape[1],
      );
    });
  }

  override describe(): string {
    return `Ensemble[${this.members.length}]`;
  }
}

/** Votes from members' probability rows ([N·C] each). */
export function voteFrom(probs: readonly ArrayLike<number>[], weights: readonly number[], n: number, classes: number): Int32Array {
  const out = new Int32Array(n);
  const votes = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    votes.fill(0);
    for (const p of probs) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (p[i * classes + c] > p[i * classes + best]) best = c;
      votes[best]++;
    }
    let pick = 0,
      pickAvg = -1;
    for (let c = 0; c < classes; c++) {
      let avg = 0;
      probs.forEach((p, k) => (avg += weights[k] * p[i * classes + c]));
      if (votes[c] > votes[pick] || (votes[c] === votes[pick] && avg > pickAvg)) {
        pick = c;
        pickAvg = avg;
      }
    }
    out[i] = pick;
  }
  return out;
}

/** Anything yielding labelled batches (the DataLoader, the trainer's BatchSource). */
export interface LabelledSource {
  epoch(e: number): Iterable<{ x: Tensor; y: ArrayLike<number> | Tensor }>;
}

export interface EnsembleReport {
  /** Test accuracy of each member alone. */
  members: number[];
  /** Accuracy of the averaged probabilities. */
  average: number;
  /** Accuracy of the majority vote. */
  vote: number;
  /** Mean negative log-likelihood of the averaged probabilities. */
  averageLoss: number;
  samples: number;
}

/**
 * The report's sums over batches: each batch gives the members' class probabilities as host rows
 * ([rows·C] each, in member order), scored in batch order by evaluateEnsemble and its async twin.
 */
function ensembleScore(weights: readonly number[]) {
  const correct = new Float64Array(weights.length);
  let avgCorrect = 0,
    voteCorrect = 0,
    n = 0,
    nll = 0;
  return {
    add(probs: readonly ArrayLike<number>[], rows: number, classes: number, y: ArrayLike<number>): void {
      probs.forEach((p, k) => {
        const pred = argmax(fromData(p, [rows, classes]), -1);
        for (let i = 0; i < rows; i++) if (pred[i] === y[i]) correct[k]++;
      });
      const avg = new Float64Array(rows * classes);
      probs.forEach((p, k) => {
        for (let j = 0; j < avg.length; j++) avg[j] += weights[k] * p[j];
      });
      const pred = argmax(fromData(avg, [rows, classes], { dtype: 'float64' }), -1);
      const votes = voteFrom(probs, weights, rows, classes);
      for (let i = 0; i < rows; i++) {
        if (pred[i] === y[i]) avgCorrect++;
        if (votes[i] === y[i]) voteCorrect++;
        nll -= Math.log(Math.max(avg[i * classes + y[i]], 1e-300));
      }
      n += rows;
    },
    report(): EnsembleReport {
      const d = Math.max(n, 1);
      return {
        members: Array.from(correct, (c) => c / d),
        average: avgCorrect / d,
        vote: voteCorrect / d,
        averageLoss: nll / d,
        samples: n,
      };
    },
  };
}

/** Every member's accuracy and the ensemble's (average and vote), one forward pass per member and batch. */
export function evaluateEnsemble(members: readonly Module[], data: LabelledSource, weights?: readonly number[]): EnsembleReport {
  const ens = new Ensemble(members, weights);
  const score = ensembleScore(ens.weights);
  return noGrad(() => {
    for (const { x, y: target } of data.epoch(0)) {
      const y = classLabels(target, 'evaluateEnsemble');
      // a batch's arrays end with it (hostScoped); the score keeps counts
      hostScoped(
        members,
        () => [members],
        () => {
          const probs = members.map((m) => softmax(m.forward(x, {})));
          score.add(
            probs.map((p) => p.data),
            x.shape[0],
            probs[0].shape[1],
            y,
          );
        },
      );
    }
    return score.report();
  });
}

/**
 * evaluateEnsemble for members on any backend, a device included: each batch's probabilities are
 * computed where each member lives and read back, then scored on the host in batch order as
 * evaluateEnsemble scores them, so on a host backend the report is the same to the bit. A batch's
 * reads are awaited once the next batch is queued, so a device computes while the host scores.
 */
export async function evaluateEnsembleAsync(
  members: readonly Module[],
  data: LabelledSource,
  weights?: readonly number[],
): Promise<EnsembleReport> {
  const ens = new Ensemble(members, weights);
  const score = ensembleScore(ens.weights);
  type Queued = { probs: Promise<ArrayLike<number>[]>; rows: number; classes: number; y: ArrayLike<number> };
  let queued: Queued | null = null;
  const settle = async (q: Queued) => score.add(await q.probs, q.rows, q.classes, q.y);
  for (const { x, y: target } of data.epoch(0)) {
    const y = classLabels(target, 'evaluateEnsembleAsync');
    const probs = noGrad(() => members.map((m) => softmax(m.forward(x, {}))));
    const next: Queued = { probs: Promise.all(probs.map((p) => p.read())), rows: x.shape[0], classes: probs[0].shape[1], y };
    // a failed read is reported where it is awaited, not as unhandled when a later batch throws first
    next.probs.catch(() => {});
    if (queued) await settle(queued);
    queued = next;
  }
  if (queued) await settle(queued);
  return score.report();
}
