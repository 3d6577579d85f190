/** The models of the interleaved workloads built with descent (the bench and the profile train the same ones), fused as fit() fuses them. */
import {
  AdaptiveAvgPool1d,
  Conv2d,
  Flatten,
  LayerNorm,
  Linear,
  LSTM,
  MaxPool2d,
  PositionalEmbedding,
  ReLU,
  Sequential,
  TransformerEncoderLayer,
  Transpose,
  type Rng,
  fuse,
} from '../src/index.js';
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
    case 'W6': {
      const layer = () =>
        new TransformerEncoderLayer(64, 4, { dimFeedforward: 128, dropout: 0.1, activation: 'gelu', normFirst: true, rng });
      return fuse(
        new Sequential(
          new Linear(28, 64, { rng }),
          new PositionalEmbedding(28, 64, { rng }),
          layer(),
          layer(),
          new LayerNorm(64),
          // the mean over the 28 tokens
          new Transpose(-2, -1),
          new AdaptiveAvgPool1d(1),
          new Flatten(),
          new Linear(64, 10, { rng }),
        ),
      );
    }
  }
}

/** The shape of a batch of `b` images as the workload's model reads it: rows of pixels as W5's time steps and W6's tokens. */
export function descentInputShape(w: InterleavedWorkload, b: number): number[] {
  return w === 'W1' ? [b, 784] : w === 'W2' ? [b, 1, 28, 28] : [b, 28, 28];
}
