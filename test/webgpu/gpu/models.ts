/** The small models the WebGPU training tests share, each drawn from its seed's 'init' stream. */
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Rng, Sequential } from '../../../src/index.js';

/** 784-64-10 with ReLU. */
export const mlp = (seed: number) => {
  const r = new Rng(seed).fork('init');
  return new Sequential(new Flatten(), new Linear(784, 64, { rng: r.fork('a') }), new ReLU(), new Linear(64, 10, { rng: r.fork('b') }));
};

/** 784-64-10 with ReLU and dropout 0.2 after the hidden layer. */
export const mlpDropout = (seed: number) => {
  const r = new Rng(seed).fork('init');
  return new Sequential(
    new Flatten(),
    new Linear(784, 64, { rng: r.fork('a') }),
    new ReLU(),
    new Dropout(0.2),
    new Linear(64, 10, { rng: r.fork('b') }),
  );
};

/** conv 5×5×6 (padding 2), pool, conv 3×3×8 (padding 1), pool, fc 32, fc 10. */
export const cnn = (seed: number) => {
  const r = new Rng(seed).fork('init');
  return new Sequential(
    new Conv2d(1, 6, 5, { padding: 2, rng: r.fork('c1') }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(6, 8, 3, { padding: 1, rng: r.fork('c2') }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(8 * 7 * 7, 32, { rng: r.fork('f1') }),
    new ReLU(),
    new Linear(32, 10, { rng: r.fork('f2') }),
  );
};
