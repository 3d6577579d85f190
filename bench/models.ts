/** The W1 and W2 models built with descent (the bench and the profile train the same ones), fused as fit() fuses them. */
import { Linear, ReLU, Sequential, Flatten, Conv2d, MaxPool2d, type Rng, fuse } from '../src/index.js';

export function descentModel(cnn: boolean, rng: Rng): Sequential {
  return fuse(
    cnn
      ? new Sequential(
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
        )
      : new Sequential(new Linear(784, 256, { rng }), new ReLU(), new Linear(256, 128, { rng }), new ReLU(), new Linear(128, 10, { rng })),
  );
}
