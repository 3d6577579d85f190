/**
 * The convolutional models of the CLI and the regularised MLP (dropout, DropConnect). Builders
 * only; src/train/models.ts registers them by name.
 */
import type { Rng } from '../tensor/rng.js';
import type { DType } from '../tensor/tensor.js';
import { Linear, ReLU, Sequential, Flatten, type Module } from '../nn/index.js';
import { Conv2d } from '../nn/conv.js';
import { MaxPool2d } from '../nn/pool.js';
import { Dropout } from '../nn/dropout.js';
import { DropConnect } from '../nn/dropconnect.js';
import { FractionalMaxPool2d, fmpOutputSize } from '../nn/fmp.js';

export interface RegularizedOptions {
  /** Draws the initial weights (forked per layer). */
  rng: Rng;
  /** [C, H, W] of one input image. */
  inputShape: readonly [number, number, number];
  /** Outputs of the last layer. */
  classes: number;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Dropout probability after each hidden fully-connected layer (0: none). */
  dropout?: number;
  /** DropConnect probability on the hidden fully-connected layers (0: plain Linear). */
  dropconnect?: number;
  /** DropConnect masks: one per example (Wan et al.'s formulation, default) or one per batch (faster). */
  dropconnectMasks?: 'example' | 'batch';
  /** DropConnect at evaluation: the mean weights (default) or Wan et al.'s Gaussian moment matching. */
  dropconnectInference?: 'mean' | 'gaussian';
  [extra: string]: unknown;
}

/** A hidden fully-connected layer with ReLU: Linear+ReLU, or DropConnect with the ReLU inside it. */
function hidden(inF: number, outF: number, o: RegularizedOptions, rng: Rng): Module[] {
  const layers: Module[] = o.dropconnect
    ? [
        new DropConnect(inF, outF, {
          p: o.dropconnect,
          activation: 'relu',
          masks: o.dropconnectMasks,
          inference: o.dropconnectInference,
          rng,
          dtype: o.dtype,
        }),
      ]
    : [new Linear(inF, outF, { rng, dtype: o.dtype }), new ReLU()];
  if (o.dropout) layers.push(new Dropout(o.dropout));
  return layers;
}

/** MLP in → hidden… → classes with optional dropout / DropConnect on the hidden layers. */
export function regularizedMlp(sizes: readonly number[], o: RegularizedOptions): Sequential {
  const rng = o.rng.fork('init');
  const layers: Module[] = [];
  for (let i = 0; i + 2 < sizes.length; i++) layers.push(...hidden(sizes[i], sizes[i + 1], o, rng.fork(`layer${i}`)));
  const last = sizes.length - 2;
  layers.push(new Linear(sizes[last], sizes[last + 1], { rng: rng.fork(`layer${last}`), dtype: o.dtype }));
  return new Sequential(...layers);
}

/**
 * conv5×5×32 – ReLU – maxpool 2 – conv5×5×64 – ReLU – maxpool 2 – fc128 – ReLU – fc10, with
 * padding 2 ("same", as the TensorFlow tutorial network this is the small version of): 28×28 →
 * 28 → 14 → 14 → 7, so the first fully-connected layer reads 64·7·7 = 3136 features. --dropout
 * goes after fc128's ReLU, --dropconnect replaces fc128.
 */
export function cnn(o: RegularizedOptions): Sequential {
  const [C, H, W] = o.inputShape;
  const rng = o.rng.fork('init');
  const h = Math.floor(Math.floor(H / 2) / 2),
    w = Math.floor(Math.floor(W / 2) / 2);
  return new Sequential(
    new Conv2d(C, 32, 5, { padding: 2, rng: rng.fork('conv1'), dtype: o.dtype }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(32, 64, 5, { padding: 2, rng: rng.fork('conv2'), dtype: o.dtype }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    ...hidden(64 * h * w, 128, o, rng.fork('fc1')),
    new Linear(128, o.classes, { rng: rng.fork('fc2'), dtype: o.dtype }),
  );
}

/**
 * A small fractional-max-pooling network after Graham 2014: four blocks of conv3×3 (padding 1,
 * 16·k channels in block k) – ReLU – FMP(α = √2, pseudorandom, overlapping), 28 → 19 → 13 → 9 → 6,
 * then fc128 – ReLU – fc10 (--dropout / --dropconnect act on fc128 as in the cnn model).
 */
export function fmpNet(o: RegularizedOptions): Sequential {
  const [C, H, W] = o.inputShape;
  const rng = o.rng.fork('init');
  const layers: Module[] = [];
  let c = C,
    h = H,
    w = W;
  for (let k = 1; k <= 4; k++) {
    layers.push(
      new Conv2d(c, 16 * k, 3, { padding: 1, rng: rng.fork(`conv${k}`), dtype: o.dtype }),
      new ReLU(),
      new FractionalMaxPool2d({ ratio: Math.SQRT2, rng: rng.fork(`fmp${k}`) }),
    );
    c = 16 * k;
    h = fmpOutputSize(h, Math.SQRT2);
    w = fmpOutputSize(w, Math.SQRT2);
  }
  layers.push(
    new Flatten(),
    ...hidden(c * h * w, 128, o, rng.fork('fc1')),
    new Linear(128, o.classes, { rng: rng.fork('fc2'), dtype: o.dtype }),
  );
  return new Sequential(...layers);
}
