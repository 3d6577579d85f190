/** The models of the interleaved workloads built with descent (the bench and the profile train the same ones), fused as fit() fuses them. */
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, type Rng, fuse } from '../src/index.js';
import { getModel } from '../src/train/models.js';
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
    case 'W6':
      // the built-in models lstm and transformer (src/train/models.ts), each image's rows as 28 steps
      return fuse(getModel(w === 'W5' ? 'lstm' : 'transformer').build({ rng, inputShape: [1, 28, 28], classes: 10 }) as Sequential);
  }
}

/** The shape of a batch of `b` images as the workload's model reads it: rows of pixels as W5's time steps and W6's tokens. */
export function descentInputShape(w: InterleavedWorkload, b: number): number[] {
  return w === 'W1' ? [b, 784] : w === 'W2' ? [b, 1, 28, 28] : [b, 28, 28];
}
