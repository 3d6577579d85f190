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
  trainStep,
  add,
  noGrad,
  getModel,
  evaluateConfusion,
  l1Penalty,
  l2Penalty,
  composeAugment,
  cutmix,
  mixup,
  randomChoiceMix,
  randomFlip,
  randomCrop,
  randomScale,
  colorJitter,
  elasticNetPenalty,
  nearZeroFraction,
  exponential,
  inverseTime,
  constant,
  snapshotCosine,
  snapshotEnsemble,
  evaluateEnsemble,
  restoreWeights,
  Dropout,
  Dropout2d,
  DropConnect,
  FractionalMaxPool2d,
  fromData,
  type SnapshotRun,
  type Module,
  Tensor,
  type AnyOptimizer,
  type HostStorage,
  type Schedule,
} from '../../../src/index.js';
import { beginDeviceStep } from '../../../src/train/async.js';
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
  const pool = c.pool === 'fmp' ? 'fmp' : 'maxpool:2';
  return `conv:8:5:pad=2,relu,${pool},conv:16:5:pad=2,relu,${pool},flatten,${hidden},linear`;
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

/** The run's rate at step t (from 0); the snapshot schedule needs the run's length in steps. */
export function scheduleOf(c: TrainConfig, totalSteps = 1): Schedule {
  if (c.schedule === 'snapshot') return snapshotCosine({ lr: c.lr, totalSteps, cycles: c.cycles });
  if (c.schedule === 'exponential') return exponential({ lr: c.lr, k: c.k });
  if (c.schedule === 'inverse') return inverseTime({ lr: c.lr, k: c.k });
  return constant({ lr: c.lr });
}

/** What the snapshot callbacks see of a step. */
type StepState = { model: Module; step: number; optimizer: AnyOptimizer };

export class TrainSession {
  readonly config: TrainConfig;
  readonly model: Module;
  readonly optimizer: AnyOptimizer;
  readonly loader: DataLoader<Dataset, Int32Array | Tensor>;
  readonly testLoader: DataLoader;
  readonly trainSet: Dataset;
  readonly testSet: Dataset;
  readonly stepsPerEpoch: number;
  readonly fullBatch: boolean;
  private readonly schedule: Schedule;
  /** The library's snapshot-ensemble callbacks (schedule 'snapshot'): the cyclic rate and a snapshot at each cycle's end. */
  readonly snapshots: SnapshotRun | null = null;
  private readonly maskRng: Rng;
  /** The mask generator's state before the last training forward (mini-batch steps), to replay its masks. */
  private maskState: ReturnType<Rng['getState']> | null = null;
  private readonly weights: Tensor[];
  private iter: Iterator<{ x: Tensor; y: Int32Array | Tensor }> | null = null;
  private epochRng: Rng | null = null;
  private evals = 0;
  private sums = { loss: 0, correct: 0, n: 0 };
  step = 0;
  epoch = 0;
  /** Examples in the last batch. */
  private lastBatch = 0;
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
    // MixUp turns the batches' labels into class probabilities (the loss takes them as soft targets)
    const mix = config.augment === 'mixup' ? mixup({ alpha: 0.4, numClasses: train.classes.length }) : undefined;
    this.loader = new DataLoader(this.trainSet, {
      batchSize,
      shuffle: !this.fullBatch,
      rng: rng.fork('data'),
      flatten,
      ...(transform ? { transform } : {}),
      mix,
    });
    this.testLoader = new DataLoader(this.testSet, { batchSize: 500, flatten });
    this.stepsPerEpoch = this.loader.length;
    const o = OPT_NAMES[config.optimizer];
    this.optimizer = createOptimizer(o.name, this.model.namedParameters(), { lr: config.lr, ...o.options });
    const totalSteps = config.epochs * this.stepsPerEpoch;
    this.schedule = scheduleOf(config, totalSteps);
    if (config.schedule === 'snapshot') this.snapshots = snapshotEnsemble({ lr: config.lr, totalSteps, cycles: config.cycles });
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
  private nextBatch(): { batch: { x: Tensor; y: Int32Array | Tensor }; lr: number; n: number; state: StepState } {
    if (!this.iter) {
      this.iter = this.loader.epoch(this.epoch);
      this.epochRng = this.maskRng.fork(`epoch:${this.epoch}`);
      this.sums = { loss: 0, correct: 0, n: 0 };
    }
    const batch = this.iter.next().value as { x: Tensor; y: Int32Array | Tensor };
    this.lastBatch = batch.x.shape[0];
    const lr = this.schedule(this.step);
    this.optimizer.setLr(lr);
    const state = { model: this.model, step: this.step, optimizer: this.optimizer };
    // The library's snapshot callbacks set the same cyclic rate (lr above is what they set) and take the snapshots.
    for (const cb of this.snapshots?.callbacks ?? []) cb.onStepBegin(state);
    return { batch, lr, n: batch.x.shape[0], state };
  }

  /** One optimizer step on the next batch; returns its record, and the epoch's summary when the step ended an epoch. */
  next(): { step: StepRecord; epoch?: EpochSummary } | null {
    if (this.done) return null;
    const { batch, lr, n, state } = this.nextBatch();
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
        if (best === classOf(batch.y, i)) correct++;
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
      this.maskState = this.epochRng!.getState();
      // in a step scope, as fit's steps (on wasm with shared memory the step's arrays live in its memory)
      trainStep(this.model, this.optimizer, () => {
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
      });
      this.evals += n / this.trainSet.length;
    }
    return this.endStep(n, loss, correct, pen, lr, state);
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
    const { batch, lr, n, state } = this.nextBatch();
    this.maskState = this.epochRng!.getState();
    const endStep = beginDeviceStep(this.model, this.optimizer);
    let reads: Promise<[HostStorage, HostStorage | null, HostStorage]>;
    try {
      const logits = this.model.forward(batch.x, { training: true, rng: this.epochRng! });
      const data = crossEntropy(logits, batch.y);
      const p = this.penalty();
      this.optimizer.zeroGrad({ setToNone: false });
      (p ? add(data, p) : data).backward();
      this.optimizer.step();
      // the reads queue their copies now, so the step's storage can be freed before they resolve
      reads = Promise.all([data.read(), p ? p.read() : null, logits.read()]);
    } finally {
      endStep();
    }
    this.evals += n / this.trainSet.length;
    const [loss, pen, d] = await reads;
    let correct = 0;
    const k = d.length / n;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (d[i * k + j] > d[i * k + best]) best = j;
      if (best === classOf(batch.y, i)) correct++;
    }
    // endStep takes a snapshot due after this step on the host: the model comes back for it (and for
    // an epoch's end), and goes to the device again with the next step
    const snapshotDue = this.snapshots?.at.includes(this.step + 1) ?? false;
    if (snapshotDue || this.sums.n + n >= this.loader.samplesPerEpoch) await this.model.to('cpu');
    return this.endStep(n, loss[0], correct, pen ? pen[0] : 0, lr, state);
  }

  /** The bookkeeping after a step: its record, and at an epoch's end the epoch's summary (the model on the host). */
  private endStep(
    n: number,
    loss: number,
    correct: number,
    pen: number,
    lr: number,
    state: StepState,
  ): { step: StepRecord; epoch?: EpochSummary } {
    if (!Number.isFinite(loss + pen))
      throw new RangeError(`the loss became ${loss + pen} at step ${this.step + 1} (learning rate ${lr}); try a smaller rate`);
    this.step++;
    state.step = this.step;
    for (const cb of this.snapshots?.callbacks ?? []) cb.onStepEnd(state);
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

  /**
   * The masks the library's Dropout or DropConnect layer applied in the last mini-batch step, for a
   * drawn slice of the network: replayed by the layer's own mask() / batchMask() from the mask
   * generator's state before that step's forward (the layer is the model's only consumer of it), so
   * they are the masks training used. Dropout: `keep[u]` for hidden units `units` of the batch's
   * first example. DropConnect (one mask per batch): `keep[u · inputs.length + i]` for the
   * connection from input pixel `inputs[i]` to hidden unit `units[u]`. null without either layer.
   */
  masks(units = 16, inputs: readonly number[] = MIDDLE_ROW): DropMasks | null {
    if (!this.maskState) return null;
    const layer = findLayer(this.model);
    if (!layer) return null;
    const rng = Rng.fromState(this.maskState);
    const shown = Array.from({ length: Math.min(units, layer instanceof Dropout ? this.config.hidden : layer.outFeatures) }, (_, i) => i);
    if (layer instanceof Dropout) {
      // The dropout input of a batch of B examples is [B, H]; the first example's row is the first H values.
      const h = this.config.hidden;
      const m = layer.mask(this.lastBatch * h, rng);
      return {
        kind: 'dropout',
        step: this.step,
        p: layer.p,
        units: shown,
        inputs: [],
        total: h,
        keep: shown.map((u) => (m[u] === 0 ? 0 : 1)),
      };
    }
    if (layer.masks !== 'batch') return null;
    const m = layer.batchMask(rng);
    const I = layer.inFeatures;
    return {
      kind: 'dropconnect',
      step: this.step,
      p: layer.p,
      units: shown,
      inputs: [...inputs],
      total: layer.outFeatures,
      keep: shown.flatMap((u) => inputs.map((i) => (m[u * I + i] === 0 ? 0 : 1))),
    };
  }

  /**
   * The snapshot ensemble of a finished 'snapshot' run (the library's evaluateEnsemble over its
   * snapshots, probabilities averaged): test accuracy of each snapshot alone and of the ensemble.
   */
  snapshotEnsembleReport(): { at: number[]; members: number[]; average: number } | null {
    const run = this.snapshots;
    if (!run || run.snapshots.length === 0) return null;
    const spec = getModel(modelSpec(this.config));
    const members = run.snapshots.map((snap, k) => {
      const m = spec.build({ rng: new Rng(k), inputShape: this.trainSet.shape, classes: this.trainSet.classes.length });
      restoreWeights(m, snap);
      return m;
    });
    const r = evaluateEnsemble(members, this.testLoader);
    return { at: [...run.at].slice(0, run.snapshots.length), members: r.members, average: r.average };
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

/** Sample i's class: its label, or the arg-max of its probabilities (mixed batches; Keras' categorical accuracy). */
function classOf(y: Int32Array | Tensor, i: number): number {
  if (!(y instanceof Tensor)) return y[i];
  const k = y.shape[1],
    d = y.data;
  let best = 0;
  for (let j = 1; j < k; j++) if (d[i * k + j] > d[i * k + best]) best = j;
  return best;
}

/** Input pixels drawn in the network figures: the middle 8 of row 14, where the garments are. */
export const MIDDLE_ROW: readonly number[] = Array.from({ length: 8 }, (_, i) => 14 * 28 + 10 + i);

/** A drawn slice of the dropout or DropConnect masks of one step (TrainSession.masks). */
export interface DropMasks {
  kind: 'dropout' | 'dropconnect';
  /** The step whose forward used these masks (steps counted from 1). */
  step: number;
  p: number;
  /** Hidden units shown (indices into the layer's outputs). */
  units: number[];
  /** Input pixels shown (DropConnect). */
  inputs: number[];
  /** Hidden units of the layer. */
  total: number;
  /** 1 kept, 0 dropped: per unit (dropout), per unit × input (DropConnect). */
  keep: number[];
}

/** The model's dropout or DropConnect layer when it is the only layer that draws from the mask generator, else null. */
function findLayer(model: Module): Dropout | DropConnect | null {
  const found: Module[] = [];
  const walk = (m: Module) => {
    if (m instanceof Dropout || m instanceof DropConnect || m instanceof Dropout2d || m instanceof FractionalMaxPool2d) found.push(m);
    for (const [, c] of m.children()) walk(c);
  };
  walk(model);
  const [only] = found;
  return found.length === 1 && (only instanceof Dropout || only instanceof DropConnect) ? only : null;
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
  const final = s.flatWeights();
  const [r1, r2] = randomDirections(s);
  const { dirs, coords, explained } = principalDirections(s.path, final);
  const reach = Math.max(1e-3, ...coords.map(([a, b]) => Math.max(Math.abs(a), Math.abs(b)))) * 1.2;
  const alphas = Array.from({ length: grid }, (_, i) => -1 + (2 * i) / (grid - 1));
  const lossAt = sliceLoss(s, samples);
  const random = alphas.map((b) => alphas.map((a) => lossAt(a, b, r1, r2)));
  const pca = alphas.map((b) => alphas.map((a) => lossAt(a * reach, b * reach, dirs[0], dirs[1])));
  return { alphas, random, pca, path: coords.map(([a, b]) => [a / reach, b / reach]), explained };
}

/**
 * A Gaussian random direction in the space of `params` (concatenated in order), filter-normalised:
 * each row of a weight with ≥ 2 dimensions (an output unit of a linear layer, a filter of a
 * convolution) is scaled to the norm of that row in the weights; biases and other 1-D parameters get 0.
 */
export function filterNormalizedDirection(
  params: readonly { shape: readonly number[]; data: ArrayLike<number> }[],
  rng: Rng,
): Float64Array {
  const d = new Float64Array(params.reduce((a, p) => a + p.data.length, 0));
  let o = 0;
  for (const q of params) {
    if (q.shape.length >= 2) {
      const rows = q.shape[0],
        cols = q.data.length / rows;
      for (let i = 0; i < rows; i++) {
        let nw = 0,
          nd = 0;
        for (let j = 0; j < cols; j++) {
          const v = rng.normal();
          d[o + i * cols + j] = v;
          nd += v * v;
          nw += q.data[i * cols + j] ** 2;
        }
        const f = Math.sqrt(nw) / (Math.sqrt(nd) || 1);
        for (let j = 0; j < cols; j++) d[o + i * cols + j] *= f;
      }
    }
    o += q.data.length;
  }
  return d;
}

/** The landscape's two random directions for a session: filter-normalised against its current weights, from forks of its seed. */
export function randomDirections(s: TrainSession): [Float64Array, Float64Array] {
  const params = s.model.namedParameters().map(([, p]) => ({ shape: p.shape, data: p.data }));
  const rng = new Rng(s.config.seed).fork('landscape');
  return [filterNormalizedDirection(params, rng.fork('d1')), filterNormalizedDirection(params, rng.fork('d2'))];
}

/**
 * The training loss (mean cross-entropy, evaluation mode) on the first `samples` training samples at
 * w + a·d1 + b·d2, w the session's current weights; the weights are put back after each evaluation.
 */
export function sliceLoss(s: TrainSession, samples = 1000): (a: number, b: number, d1: ArrayLike<number>, d2: ArrayLike<number>) => number {
  const params = s.model.namedParameters().map(([, p]) => p);
  const final = s.flatWeights();
  const sub = s.trainSet.slice(0, Math.min(samples, s.trainSet.length));
  const loader = new DataLoader(sub, { batchSize: sub.length, flatten: s.testLoader.flatten });
  const [batch] = [...loader.epoch(0)];
  return (a, b, d1, d2) => {
    let o = 0;
    for (const p of params) {
      const t = p.data;
      for (let i = 0; i < t.length; i++) t[i] = final[o + i] + a * d1[o + i] + b * d2[o + i];
      o += t.length;
    }
    const loss = noGrad(() => crossEntropy(s.model.forward(batch.x, { training: false }), batch.y).item());
    o = 0;
    for (const p of params) {
      p.data.set(final.subarray(o, o + p.size));
      o += p.size;
    }
    return loss;
  };
}

/**
 * The two principal directions of a path of weight vectors around `final`: the top eigenvectors of
 * the Gram matrix of (w_k − final), mapped back to weight space and normalised; the path's
 * coordinates along them, and the share of its variance (sum of squares about `final`) they explain.
 */
export function principalDirections(
  path: readonly ArrayLike<number>[],
  final: ArrayLike<number>,
): { dirs: [Float64Array, Float64Array]; coords: [number, number][]; explained: number } {
  const D = final.length;
  const P = path.map((w) => Float64Array.from({ length: D }, (_, i) => w[i] - final[i]));
  const n = P.length;
  const G = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => dot(P[i], P[j])));
  const eig = topEigen(G, 2);
  const dirs = eig.map(({ vec, val }) => {
    const d = new Float64Array(D);
    for (let k = 0; k < n; k++) for (let i = 0; i < D; i++) d[i] += vec[k] * P[k][i];
    const norm = Math.sqrt(val) || 1;
    for (let i = 0; i < D; i++) d[i] /= norm;
    return d;
  }) as [Float64Array, Float64Array];
  const total = G.reduce((a, r, i) => a + r[i], 0);
  const coords = P.map((w) => [dot(w, dirs[0]), dot(w, dirs[1])] as [number, number]);
  return { dirs, coords, explained: total > 0 ? (eig[0].val + eig[1].val) / total : 0 };
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

/** One variant of fractional max pooling applied to one image (fmpExample). */
export interface FmpPanel {
  sequence: 'random' | 'pseudorandom';
  overlapping: boolean;
  /** Region of output (i, j): rows [rows[0][i], rows[1][i]) × columns [cols[0][j], cols[1][j]). */
  rows: [number[], number[]];
  cols: [number[], number[]];
  /** The pooled image, rows × cols, row-major. */
  pooled: number[];
}

/**
 * A garment pooled by the library's FractionalMaxPool2d (α = √2) in Graham's four variants: random
 * or pseudorandom sequences, disjoint or overlapping regions. Each variant draws from its own fork
 * of `seed`; the regions are the layer's regions() replayed from the generator's state before its
 * forward, so they are the regions the pooled image was taken over.
 */
export function fmpExample(data: Dataset, index: number, seed: number): { image: number[]; panels: FmpPanel[] } {
  const { x } = data.collate(Int32Array.of(index));
  const img = fromData(x.data, [1, 1, 28, 28]);
  const root = new Rng(seed).fork('fmp');
  const panels: FmpPanel[] = [];
  for (const sequence of ['random', 'pseudorandom'] as const)
    for (const overlapping of [false, true]) {
      const layer = new FractionalMaxPool2d({ sequence, overlapping, rng: root.fork('layer') });
      const rng = root.fork(sequence); // the same boundaries for disjoint and overlapping: only the overlap differs
      const state = rng.getState();
      const y = layer.forward(img, { training: true, rng });
      const r = layer.regions(28, 28, Rng.fromState(state));
      panels.push({
        sequence,
        overlapping,
        rows: [Array.from(r.rows[0]), Array.from(r.rows[1])],
        cols: [Array.from(r.cols[0]), Array.from(r.cols[1])],
        pooled: Array.from(y.data),
      });
    }
  return { image: Array.from(x.data), panels };
}

/** Sample images under the library's augmentations: rows of `count` garments, the original first, then `variants` draws. */
export function augmentExamples(data: Dataset, o: AugmentSettings): Float32Array[] {
  const t = composeAugment(
    ...(o.flip > 0 ? [randomFlip(o.flip)] : []),
    ...(o.pad > 0 ? [randomCrop(o.pad)] : []),
    ...(o.scale > 0 ? [randomScale(1 - o.scale, 1 + o.scale)] : []),
    ...(o.brightness > 0 || o.contrast > 0 ? [colorJitter({ brightness: o.brightness, contrast: o.contrast })] : []),
  );
  const mixes = [
    ...(o.cutmix > 0 ? [cutmix({ alpha: o.cutmix, numClasses: data.classes.length })] : []),
    ...(o.mixup > 0 ? [mixup({ alpha: o.mixup, numClasses: data.classes.length })] : []),
  ];
  const mix = mixes.length > 1 ? randomChoiceMix(mixes) : mixes[0];
  const idx = Int32Array.from({ length: o.count }, (_, i) => i * 7);
  const { x, y } = data.collate(idx);
  const rng = new Rng(o.seed).fork('augment');
  const out: Float32Array[] = [x.data.slice() as Float32Array];
  for (let v = 0; v < o.variants; v++) {
    const drawn = t(x, rng.fork(`variant:${v}`));
    // a row is one batch: the mix pairs each garment with the one before it (the first with the last)
    out.push((mix ? mix(drawn, y, rng.fork(`mix:${v}`)).x : drawn).data.slice() as Float32Array);
  }
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
  /** MixUp's α (0: off); λ ~ Beta(α, α) per row. */
  mixup: number;
  /** CutMix's α (0: off); with MixUp, each row takes one of the two. */
  cutmix: number;
  count: number;
  variants: number;
  seed: number;
}

function l2norm(d: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  return Math.sqrt(s);
}
