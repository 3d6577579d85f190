/**
 * Shared by the emulated-device training tests: the embedded data they train on (256 training and
 * 128 test images: batches of 64, a power of two, see crossEntropyOnDevice), a small MLP drawn from
 * its seed's 'init' stream, the options of a short seeded run, seeded sample values, and a run's
 * records without the clock's fields.
 */
import {
  DataLoader,
  Dropout,
  Flatten,
  Linear,
  ReLU,
  Rng,
  Sequential,
  type AnyOptimizer,
  type EpochRecord,
  type FitOptions,
  type Module,
} from '../../src/index.js';
import { loadEmbedded } from '../../src/data/node.js';

export const data = loadEmbedded();
export const trainSet = data.train.slice(0, 256);
export const testSet = data.test.slice(0, 128);

/** 784-`hidden`-10 with ReLU, and with `dropout` a Dropout of that rate after the hidden layer. */
export function mlp(seed: number, { hidden = 32, dropout }: { hidden?: number; dropout?: number } = {}): Sequential {
  const r = new Rng(seed).fork('init');
  return new Sequential(
    new Flatten(),
    new Linear(784, hidden, { rng: r.fork('a') }),
    new ReLU(),
    ...(dropout === undefined ? [] : [new Dropout(dropout)]),
    new Linear(hidden, 10, { rng: r.fork('b') }),
  );
}

/**
 * Two epochs of trainSet in shuffled batches of 64 (the 'data' stream of seed `seed`, which is also
 * the run's rng), testSet in batches of 64, a clock that stands still; `extra` adds or replaces options.
 */
export function runOptions(model: Module, optimizer: AnyOptimizer, seed: number, extra: Partial<FitOptions> = {}): FitOptions {
  const rng = new Rng(seed);
  return {
    model,
    optimizer,
    train: new DataLoader(trainSet, { batchSize: 64, shuffle: true, rng: rng.fork('data') }),
    test: new DataLoader(testSet, { batchSize: 64 }),
    epochs: 2,
    rng,
    now: () => 0,
    ...extra,
  };
}

/** The records without the clock's fields. */
export const figures = (rs: EpochRecord[]) => rs.map(({ seconds: _s, samplesPerSec: _r, ...kept }) => kept);

/** `n` values uniform in [−scale, scale) from seed `seed`. */
export function sample(n: number, seed: number, scale = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => (r.uniform() * 2 - 1) * scale);
}
