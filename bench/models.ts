/** The models of the interleaved workloads built with descent (the bench and the profile train the same ones), fused as fit() fuses them. */
import { Linear, LSTM, ReLU, Sequential, Flatten, Conv2d, MaxPool2d, type Rng, fuse } from '../src/index.js';
import type { InterleavedWorkload } from './common.js';

export function descentModel(w: InterleavedWorkload, rng: Rng): Sequential {
  switch (w) {
    case 'W1':
      return fuse(
        new Sequential(new Linear(784, 256, { rng }), new ReLU(), new Linear(256, 128, { rng }), new ReLU(), new Linear(128, 10, { rng })),
      );
    case 'W2':
      return fuse(
        new Sequential(
          new Conv2d(1, 32, 5, { padding: 2, rng }),
          new ReLU(),
          new MaxPool2d(2),
          new Conv2d(32, 64, 5, { padding: 2, rng }),
          new ReLU(),
          new MaxPool2d(2),
          new Flatten(),
          new Linear(64 * 7 * 7, 128, { rng }),
          new ReLU(),
          new Linear(128, 10, { rng }),
        ),
      );
    case 'W5':
      // the final hidden state [N, 128] only: PyTorch's out[:, -1] of a one-layer LSTM
      return fuse(new Sequential(new LSTM(28, 128, { returnSequences: false, rng }), new Linear(128, 10, { rng })));
  }
}

/** The shape of a batch of `b` images as the workload's model reads it: rows of pixels as W5's time steps. */
export function descentInputShape(w: InterleavedWorkload, b: number): number[] {
  return w === 'W1' ? [b, 784] : w === 'W2' ? [b, 1, 28, 28] : [b, 28, 28];
}
