/**
 * One training run of the lab, one batch at a time: the model, the loader, the optimizer and the
 * penalty come from the library (getModel, DataLoader, createOptimizer, l1/l2/elasticNetPenalty),
 * the step is the trainer's (forward with the epoch's mask stream, loss + penalty, zeroGrad,
 * backward, step). It is a class rather than `fit()` because the page pauses, resumes and steps one
 * batch, which a synchronous loop cannot. Isomorphic: the Web Worker and the Node test run the same
 * code on the same data, so their losses agree (docs/lab-training.md says to what precision).
 */
import {
  Rng,
  DataLoader,
  type Dataset,
  createOptimizer,
  crossEntropy,
  add,
  noGrad,
  getModel,
  evaluateConfusion,
  l1Penalty,
  l2Penalty,
  composeAugment,
  randomFlip,
  randomCrop,
  randomScale,
  colorJitter,
  elasticNetPenalty,
  nearZeroFraction,
  exponential,
  inverseTime,
  constant,
  type Module,
  type Tensor,
  type AnyOptimizer,
  type Schedule,
} from '../../../src/index.js';
import { HIST_BINS, HIST_RANGE, type TrainConfig } from './config.js';

export interface StepRecord {
  /** Steps taken, from 1. */
  step: number;
  /** Epoch of this step, from 1. */
  epoch: number;
  /** Mean data loss of the batch (for L-BFGS: of the full batch, before the step). */
  loss: number;
  /** Fraction of the batch classified correctly (before the step). */
  accuracy: number;
  /** Penalty term added to the loss (0 without one). */
  penalty: number;
  lr: number;
  /** Gradient evaluations so far, in units of one full pass over the training samples. */
  gradEpochs: number;
  /** Samples seen so far. */
  samples: number;
}

export interface EpochSummary {
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** Fraction of weights with |w| < 1e-3. */
  nearZero: number;
  /** test confusion counts, [true][predicted], 10 × 10. */
  confusion: number[];
  /** Histogram of the weights (not biases): HIST_BINS counts over [−HIST_RANGE, HIST_RANGE], outside values in the end bins. */
  hist: number[];
  /** Per parameter: name, L2 norm of the weights, L2 norm of the last gradient. */
  norms: { name: string; weight: number; grad: number }[];
}

/** The library's model spec for a config (a compact spec string, or a built-in name). */
export function modelSpec(c: TrainConfig): string {
  const p = Number(c.p.toFixed(4));
  const hidden =
    c.reg === 'dropconnect'
      ? `dropconnect:${c.hidden}:${p}:act=relu:masks=batch`
      : `linear:${c.hidden},relu${c.reg === 'dropout' ? `,dropout:${p}` : ''}`;
  if (c.arch === 'logreg') return 'logreg';
  if (c.arch === 'mlp') return `${hidden},linear`;
  return `conv:8:5:pad=2,relu,maxpool:2,conv:16:5:pad=2,relu,maxpool:2,flatten,${hidden},linear`;
}

const OPT_NAMES: Record<TrainConfig['optimizer'], { name: string; options: Record<string, unknown> }> = {
  sgd: { name: 'sgd', options: {} },
  momentum: { name: 'sgd', options: { momentum: 0.9 } },
  nesterov: { name: 'sgd', options: { momentum: 0.9, nesterov: true } },
  adam: { name: 'adam', options: {} },
  rmsprop: { name: 'rmsprop', options: {} },
  adagrad: { name: 'adagrad', options: {} },
  lbfgs: { name: 'lbfgs', options: { maxIter: 1, historySize: 10, lineSearchFn: 'strong_wolfe' } },
};

export function scheduleOf(c: TrainConfig): Schedule {
  if (c.schedule === 'exponential') return exponential({ lr: c.lr, k: c.k });
  if (c.schedule === 'inverse') return inverseTime({ lr: c.lr, k: c.k });
  return constant({ lr: c.lr });
}

export class TrainSession {
  readonly config: TrainConfig;
  readonly model: Module;
  readonly optimizer: AnyOptimizer;
  readonly loader: DataLoader;
  readonly testLoader: DataLoader;
  readonly trainSet: Dataset;
  readonly testSet: Dataset;
  readonly stepsPerEpoch: number;
  readonly fullBatch: boolean;
  private readonly schedule: Schedule;
  private readonly maskRng: Rng;
  private readonly weights: Tensor[];
  private iter: Iterator<{ x: Tensor; y: Int32Array }> | null = null;
  private epochRng: Rng | null = null;
  private evals = 0;
  private sums = { loss: 0, correct: 0, n: 0 };
  step = 0;
  epoch = 0;
  samples = 0;
  /** Weights after each epoch (flattened), for the loss landscape's projected path. */
  readonly path: Float32Array[] = [];

  constructor(config: TrainConfig, train: Dataset, test: Dataset) {
    this.config = config;
    const rng = new Rng(config.seed);
    this.trainSet = train.slice(0, Math.min(config.train, train.length));
    this.testSet = test.slice(0, Math.min(config.test, test.length));
    const spec = getModel(modelSpec(config));
    this.model = spec.build({ rng: rng.fork('model'), inputShape: train.shape, classes: train.classes.length });
    this.fullBatch = config.optimizer === 'lbfgs' || config.batch >= this.trainSet.length;
    const batchSize = this.fullBatch ? this.trainSet.length : config.batch;
    const flatten = spec.input === 'flat';
    const transform = config.augment === 'flipcrop' ? composeAugment(randomFlip(0.5), randomCrop(2)) : undefined;
    this.loader = new DataLoader(this.trainSet, {
      batchSize,
      shuffle: !this.fullBatch,
      rng: rng.fork('data'),
      flatten,
      ...(transform ? { transform } : {}),
    });
    this.testLoader = new DataLoader(this.testSet, { batchSize: 500, flatten });
    this.stepsPerEpoch = this.loader.length;
    const o = OPT_NAMES[config.optimizer];
    this.optimizer = createOptimizer(o.name, this.model.namedParameters(), { lr: config.lr, ...o.options });
    this.schedule = scheduleOf(config);
    this.maskRng = rng.fork('masks');
    this.weights = this.model
      .namedParameters()
      .filter(([n]) => n.endsWith('weight'))
      .map(([, p]) => p);
    this.path.push(this.flatWeights());
  }

  get done(): boolean {
    return this.epoch >= this.config.epochs && this.iter === null;
  }

  private penalty(): Tensor | null {
    const c = this.config;
    if (c.penalty === 'none' || c.lambda === 0) return null;
    if (c.penalty === 'l1') return l1Penalty(this.weights, c.lambda);
    if (c.penalty === 'l2') return l2Penalty(this.weights, c.lambda);
    return elasticNetPenalty(this.weights, c.lambda, c.lambda);
  }

  /** The next batch (starting an epoch when none is under way), with the step's learning rate set. */
  private nextBatch(): { batch: { x: Tensor; y: Int32Array }; lr: number; n: number } {
    if (!this.iter) {
      this.iter = this.loader.epoch(this.epoch) as Iterator<{ x: Tensor; y: Int32Array }>;
      this.epochRng = this.maskRng.fork(`epoch:${this.epoch}`);
      this.sums = { loss: 0, correct: 0, n: 0 };
    }
    const batch = this.iter.next().value as { x: Tensor; y: Int32Array };
    const lr = this.schedule(this.step);
    this.optimizer.setLr(lr);
    return { batch, lr, n: batch.y.length };
  }

  /** One optimizer step on the next batch; returns its record, and the epoch's summary when the step ended an epoch. */
  next(): { step: StepRecord; epoch?: EpochSummary } | null {
    if (this.done) return null;
    const { batch, lr, n } = this.nextBatch();
    let loss = 0,
      correct = 0,
      pen = 0;
    const measure = (logits: Tensor) => {
      correct = 0;
      const k = logits.shape[1],
        d = logits.data;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (d[i * k + j] > d[i * k + best]) best = j;
        if (best === batch.y[i]) correct++;
      }
    };
    if (this.fullBatch) {
      const stepRng = this.epochRng!;
      let first = true;
      const closure = (): number => {
        this.evals++;
        this.optimizer.zeroGrad();
        const logits = this.model.forward(batch.x, { training: true, rng: stepRng.fork(`eval:${this.evals}`) });
        let l = crossEntropy(logits, batch.y);
        const p = this.penalty();
        if (first) {
          loss = l.item();
          pen = p ? p.item() : 0;
          measure(logits);
          first = false;
        }
        if (p) l = add(l, p);
        l.backward();
        return l.item();
      };
      if (this.config.optimizer === 'lbfgs') (this.optimizer as unknown as { step(c: () => number): void }).step(closure);
      else {
        closure();
        this.optimizer.step();
      }
    } else {
      const logits = this.model.forward(batch.x, { training: true, rng: this.epochRng! });
      let l = crossEntropy(logits, batch.y);
      loss = l.item();
      measure(logits);
      const p = this.penalty();
      if (p) {
        pen = p.item();
        l = add(l, p);
      }
      this.optimizer.zeroGrad({ setToNone: false });
      l.backward();
      this.optimizer.step();
      this.evals += n / this.trainSet.length;
    }
    return this.endStep(n, loss, correct, pen, lr);
  }

  /**
   * next() for a model on a device (WebGPU): the step's kernels (forward, loss, backward, the fused
   * update) are queued with no host read, then its loss, penalty and logits are read (awaited).
   * The model comes back to the host at an epoch's end, for the summary (and the page's mistakes
   * and landscape), and goes to the device again at the next step. Minibatch steps only: a
   * full-batch step reads its loss inside the step (backend-choice.ts keeps those on the host).
   */
  async nextOnDevice(device: string): Promise<{ step: StepRecord; epoch?: EpochSummary } | null> {
    if (this.done) return null;
    if (this.fullBatch) throw new Error(`a full-batch step reads its loss inside the step; it does not run on ${device}`);
    if (this.model.parameters()[0].device !== device) await this.model.to(device);
    const { batch, lr, n } = this.nextBatch();
    const logits = this.model.forward(batch.x, { training: true, rng: this.epochRng! });
    const data = crossEntropy(logits, batch.y);
    const p = this.penalty();
    this.optimizer.zeroGrad({ setToNone: false });
    (p ? add(data, p) : data).backward();
    this.optimizer.step();
    this.evals += n / this.trainSet.length;
    const [loss, pen, d] = await Promise.all([data.read(), p ? p.read() : null, logits.read()]);
    let correct = 0;
    const k = logits.shape[1];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (d[i * k + j] > d[i * k + best]) best = j;
      if (best === batch.y[i]) correct++;
    }
    if (this.sums.n + n >= this.loader.samplesPerEpoch) await this.model.to('cpu');
    return this.endStep(n, loss[0], correct, pen ? pen[0] : 0, lr);
  }

  /** The bookkeeping after a step: its record, and at an epoch's end the epoch's summary (the model on the host). */
  private endStep(n: number, loss: number, correct: number, pen: number, lr: number): { step: StepRecord; epoch?: EpochSummary } {
    if (!Number.isFinite(loss + pen))
      throw new RangeError(`the loss became ${loss + pen} at step ${this.step + 1} (learning rate ${lr}); try a smaller rate`);
    this.step++;
    this.samples += n;
    this.sums.loss += loss * n;
    this.sums.correct += correct;
    this.sums.n += n;
    const step: StepRecord = {
      step: this.step,
      epoch: this.epoch + 1,
      loss,
      accuracy: correct / n,
      penalty: pen,
      lr,
      gradEpochs: this.evals,
      samples: this.samples,
    };
    // The epoch ends when the loader has no batch left (checked now, so a summary comes with the last step).
    if (this.fullBatch || this.sums.n >= this.loader.samplesPerEpoch) {
      this.iter = null;
      this.epoch++;
      this.path.push(this.flatWeights());
      return { step, epoch: this.summary() };
    }
    return { step };
  }

  private summary(): EpochSummary {
    const ev = evaluateConfusion(this.model, this.testLoader, 10);
    const norms: EpochSummary['norms'] = [];
    for (const [name, p] of this.model.namedParameters()) {
      norms.push({ name, weight: l2norm(p.data), grad: p.grad ? l2norm(p.grad.data) : 0 });
    }
    return {
      epoch: this.epoch,
      step: this.step,
      trainLoss: this.sums.loss / this.sums.n,
      trainAccuracy: this.sums.correct / this.sums.n,
      testLoss: ev.loss,
      testAccuracy: ev.accuracy,
      nearZero: nearZeroFraction(this.weights, 1e-3),
      hist: histogram(this.weights),
      confusion: Array.from(ev.confusion),
      norms,
    };
  }

  /** All weights and biases in one array, in namedParameters order. */
  flatWeights(): Float32Array {
    const ps = this.model.namedParameters();
    const out = new Float32Array(ps.reduce((a, [, p]) => a + p.size, 0));
    let o = 0;
    for (const [, p] of ps) {
      out.set(p.data, o);
      o += p.size;
    }
    return out;
  }

  /** Test probabilities' most confident mistakes: up to `k` of (test index, true, predicted, probability). */
  worstMistakes(k: number): { index: number; label: number; predicted: number; p: number }[] {
    const all: { index: number; label: number; predicted: number; p: number }[] = [];
    noGrad(() => {
      let base = 0;
      for (const b of this.testLoader.epoch(0)) {
        const logits = this.model.forward(b.x, { training: false });
        const K = logits.shape[1],
          d = logits.data;
        for (let i = 0; i < b.y.length; i++) {
          let best = 0,
            mx = -Infinity;
          for (let j = 0; j < K; j++) if (d[i * K + j] > mx) (mx = d[i * K + j]), (best = j);
          let z = 0;
          for (let j = 0; j < K; j++) z += Math.exp(d[i * K + j] - mx);
          if (best !== b.y[i]) all.push({ index: base + i, label: b.y[i], predicted: best, p: 1 / z });
        }
        base += b.y.length;
      }
    });
    return all.sort((a, b) => b.p - a.p).slice(0, k);
  }
}

export interface Landscape {
  /** Grid coordinates along each direction (the final weights at 0). */
  alphas: number[];
  /** Training loss at (alphas[j], alphas[i]), row i, column j, on a fixed subset of the training samples. */
  random: number[][];
  /** The same over the path's two principal directions. */
  pca: number[][];
  /** The path (weights after each epoch, the initial ones first) in the principal directions' coordinates. */
  path: [number, number][];
  /** Share of the path's variance that the two principal directions explain. */
  explained: number;
}

/**
 * The loss around the final weights on a 2-D slice (Li, Xu, Taylor, Studer & Goldstein, "Visualizing the
 * Loss Landscape of Neural Nets", NeurIPS 2018): (1) along two Gaussian random directions, filter-normalised —
 * each output unit's row of a weight matrix (each filter of a convolution) scaled to that row's norm in the
 * weights, biases left at 0 — and (2) along the two principal directions of the path (weights after each
 * epoch minus the final ones), with the path projected on them.
 */
export function landscape(s: TrainSession, grid = 21, samples = 1000): Landscape {
  const params = s.model.namedParameters().map(([n, p]) => ({ n, p, at: p.data.slice() }));
  const sizes = params.map((q) => q.p.size);
  const D = sizes.reduce((a, b) => a + b, 0);
  const final = s.flatWeights();
  const rng = new Rng(s.config.seed).fork('landscape');
  const randomDir = (name: string): Float64Array => {
    const r = rng.fork(name);
    const d = new Float64Array(D);
    let o = 0;
    for (const q of params) {
      if (q.p.shape.length >= 2) {
        const rows = q.p.shape[0],
          cols = q.p.size / rows;
        for (let i = 0; i < rows; i++) {
          let nw = 0,
            nd = 0;
          for (let j = 0; j < cols; j++) {
            const v = r.normal();
            d[o + i * cols + j] = v;
            nd += v * v;
            nw += q.at[i * cols + j] ** 2;
          }
          const f = Math.sqrt(nw) / (Math.sqrt(nd) || 1);
          for (let j = 0; j < cols; j++) d[o + i * cols + j] *= f;
        }
      }
      o += q.p.size;
    }
    return d;
  };
  const sub = s.trainSet.slice(0, Math.min(samples, s.trainSet.length));
  const loader = new DataLoader(sub, { batchSize: sub.length, flatten: s.testLoader.flatten });
  const [batch] = [...loader.epoch(0)];
  const lossAt = (a: number, b: number, d1: Float64Array, d2: Float64Array): number => {
    let o = 0;
    for (const q of params) {
      const t = q.p.data;
      for (let i = 0; i < t.length; i++) t[i] = final[o + i] + a * d1[o + i] + b * d2[o + i];
      o += t.length;
    }
    return noGrad(() => crossEntropy(s.model.forward(batch.x, { training: false }), batch.y).item());
  };
  // Principal directions of the path: the top two eigenvectors of the Gram matrix of (w_k − w_final).
  const P = s.path.map((w) => Float64Array.from(w, (v, i) => v - final[i]));
  const n = P.length;
  const G = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => dot(P[i], P[j])));
  const eig = topEigen(G, 2);
  const dirs = eig.map(({ vec, val }) => {
    const d = new Float64Array(D);
    for (let k = 0; k < n; k++) for (let i = 0; i < D; i++) d[i] += vec[k] * P[k][i];
    const norm = Math.sqrt(val) || 1;
    for (let i = 0; i < D; i++) d[i] /= norm;
    return d;
  });
  const total = G.reduce((a, r, i) => a + r[i], 0);
  const path = P.map((w) => [dot(w, dirs[0]), dot(w, dirs[1])] as [number, number]);
  const reach = Math.max(1e-3, ...path.map(([a, b]) => Math.max(Math.abs(a), Math.abs(b)))) * 1.2;
  const alphas = Array.from({ length: grid }, (_, i) => -1 + (2 * i) / (grid - 1));
  const r1 = randomDir('d1'),
    r2 = randomDir('d2');
  const random = alphas.map((b) => alphas.map((a) => lossAt(a, b, r1, r2)));
  const pca = alphas.map((b) => alphas.map((a) => lossAt(a * reach, b * reach, dirs[0], dirs[1])));
  for (const q of params) q.p.data.set(q.at);
  return {
    alphas,
    random,
    pca,
    path: path.map(([a, b]) => [a / reach, b / reach]),
    explained: total > 0 ? (eig[0].val + eig[1].val) / total : 0,
  };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The k largest eigenpairs of a small symmetric positive semi-definite matrix, by power iteration with deflation. */
function topEigen(A: number[][], k: number): { vec: number[]; val: number }[] {
  const n = A.length;
  const M = A.map((r) => r.slice());
  const out: { vec: number[]; val: number }[] = [];
  for (let e = 0; e < k; e++) {
    let v = Array.from({ length: n }, (_, i) => 1 + i / n);
    let val = 0;
    for (let it = 0; it < 300; it++) {
      const w = M.map((r) => dot(r, v));
      const norm = Math.sqrt(dot(w, w));
      if (norm === 0) break;
      v = w.map((x) => x / norm);
      val = norm;
    }
    out.push({ vec: v, val });
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i][j] -= val * v[i] * v[j];
  }
  return out;
}

function histogram(ws: readonly Tensor[]): number[] {
  const h = new Array<number>(HIST_BINS).fill(0);
  for (const w of ws) {
    const d = w.data;
    for (let i = 0; i < d.length; i++) {
      const b = Math.floor(((d[i] + HIST_RANGE) / (2 * HIST_RANGE)) * HIST_BINS);
      h[b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b]++;
    }
  }
  return h;
}

/** Sample images under the library's augmentations: rows of `count` garments, the original first, then `variants` draws. */
export function augmentExamples(data: Dataset, o: AugmentSettings): Float32Array[] {
  const t = composeAugment(
    ...(o.flip > 0 ? [randomFlip(o.flip)] : []),
    ...(o.pad > 0 ? [randomCrop(o.pad)] : []),
    ...(o.scale > 0 ? [randomScale(1 - o.scale, 1 + o.scale)] : []),
    ...(o.brightness > 0 || o.contrast > 0 ? [colorJitter({ brightness: o.brightness, contrast: o.contrast })] : []),
  );
  const idx = Int32Array.from({ length: o.count }, (_, i) => i * 7);
  const { x } = data.collate(idx);
  const rng = new Rng(o.seed).fork('augment');
  const out: Float32Array[] = [x.data.slice() as Float32Array];
  for (let v = 0; v < o.variants; v++) out.push(t(x, rng.fork(`variant:${v}`)).data.slice() as Float32Array);
  return out;
}

export interface AugmentSettings {
  /** Probability of a horizontal flip. */
  flip: number;
  /** Zero padding before a random 28×28 crop, pixels. */
  pad: number;
  /** Scale factor drawn from [1 − scale, 1 + scale]. */
  scale: number;
  brightness: number;
  contrast: number;
  count: number;
  variants: number;
  seed: number;
}

function l2norm(d: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  return Math.sqrt(s);
}
