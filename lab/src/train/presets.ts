/**
 * The lecture's figures on real networks: each preset is a list of runs (settings that differ from
 * the defaults) trained one after the other and drawn on the same charts, with the lines that say
 * what to look at.
 */
import type { TrainConfig } from './config.js';

export interface TrainPreset {
  title: string;
  text: string;
  /** The runs are ensemble members (except a run with the snapshot schedule): the page averages their test probabilities as each one ends. */
  ensemble?: boolean;
  /** What the step chart's x axis counts. */
  x: 'gradEpochs' | 'step';
  runs: { label: string; config: Partial<TrainConfig> }[];
}

const small: Partial<TrainConfig> = { arch: 'mlp', hidden: 64, train: 2000, test: 1000 };

export const TRAIN_PRESETS: Record<string, TrainPreset> = {
  batch: {
    title: 'Full-batch vs mini-batch',
    text:
      'The same MLP trained by gradient descent on all 2,000 samples per step, by mini-batch SGD (64 per step) and by L-BFGS (full batch, strong Wolfe line search). ' +
      'Against gradient evaluations (x: passes over the data) SGD gets furthest for the same work; per step (the epoch charts: one step per epoch for GD and L-BFGS) L-BFGS gets further than GD.',
    x: 'gradEpochs',
    runs: [
      { label: 'GD (full batch)', config: { ...small, optimizer: 'sgd', lr: 0.2, batch: 2000, epochs: 30 } },
      { label: 'SGD (batch 64)', config: { ...small, optimizer: 'sgd', lr: 0.1, batch: 64, epochs: 6 } },
      { label: 'L-BFGS', config: { ...small, optimizer: 'lbfgs', lr: 1, batch: 2000, epochs: 30 } },
    ],
  },
  decay: {
    title: 'Learning-rate decay',
    text:
      'SGD with a large constant rate against exponential decay lr·e^(−kt) and 1/t decay lr/(1 + kt). ' +
      'The rate is drawn under the loss: the decayed runs stop bouncing and settle lower late in training.',
    x: 'step',
    runs: [
      { label: 'constant', config: { ...small, optimizer: 'sgd', lr: 0.2, schedule: 'constant', epochs: 5 } },
      { label: 'exponential', config: { ...small, optimizer: 'sgd', lr: 0.2, schedule: 'exponential', k: 0.01, epochs: 5 } },
      { label: '1/t', config: { ...small, optimizer: 'sgd', lr: 0.2, schedule: 'inverse', k: 0.02, epochs: 5 } },
    ],
  },
  ensemble: {
    title: 'SGD and ensemble members',
    text:
      'Five members of the same MLP from seeds 1–5 (SGD, lr 0.1, 5 epochs: different initial weights and batch orders) end between 54 % and 71 % test accuracy. ' +
      'Averaging their predicted probabilities, the ensemble beats the mean member at every N, and its best (N = 3, 74.8 %) beats every member (chart: accuracy against N); it does not rise with every member. ' +
      'Then a snapshot ensemble (Huang et al. 2017): one run of the same MLP for 25 epochs, the steps of the five members together, its rate restarted at 0.5 every 5 epochs and annealed along a cosine; ' +
      "the weights at the end of each cycle (marked on its curve) are the snapshots. Averaged, the 5 snapshots reach 78.5 %: above their mean (77.9 %) and the five members' 72.7 % for the same number of steps, but below the run's last snapshot alone (80.1 %), so here the restarts, more than the averaging, make the gain.",
    x: 'step',
    ensemble: true,
    runs: [
      ...[1, 2, 3, 4, 5].map((seed) => ({
        label: `member seed ${seed}`,
        config: { ...small, optimizer: 'sgd', lr: 0.1, seed, epochs: 5 } as Partial<TrainConfig>,
      })),
      {
        label: 'snapshot run (5 cosine cycles)',
        config: { ...small, optimizer: 'sgd', lr: 0.5, seed: 1, epochs: 25, schedule: 'snapshot', cycles: 5 },
      },
    ],
  },
  penalty: {
    title: 'Model accuracy and loss: L1, L2, Elastic Net',
    text:
      'A wide MLP on only 500 samples overfits: train loss falls while test loss rises. An L2 penalty shrinks every weight, L1 drives many to zero ' +
      '(the near-zero fraction grows), Elastic Net does both; the test loss stays lower.',
    x: 'step',
    runs: (['none', 'l1', 'l2', 'elastic'] as const).map((penalty) => ({
      label: penalty,
      config: {
        arch: 'mlp',
        hidden: 256,
        train: 500,
        test: 1000,
        optimizer: 'adam',
        lr: 0.002,
        batch: 50,
        epochs: 30,
        penalty,
        lambda: penalty === 'l2' ? 1e-3 : 1e-4,
      },
    })),
  },
  dropout: {
    title: 'Fully connected network and dropout',
    text:
      'The same wide MLP on 500 samples with and without dropout (p = 0.5 after the hidden layer). Without it the train loss falls towards zero and the test loss turns up; ' +
      'with it the train loss stays higher and the test loss lower. Above, a slice of the network (8 input pixels, 16 of the 256 hidden units, the 10 outputs): ' +
      "the units the library's Dropout dropped for the batch's first example in the latest step are crossed out — a new set with every batch (pause and step one batch to watch).",
    x: 'step',
    runs: (['none', 'dropout'] as const).map((reg) => ({
      label: reg === 'none' ? 'no dropout' : 'dropout 0.5',
      config: { arch: 'mlp', hidden: 256, train: 500, test: 1000, optimizer: 'adam', lr: 0.002, batch: 50, epochs: 30, reg, p: 0.5 },
    })),
  },
  augment: {
    title: 'Crop examples (augmentation)',
    text:
      "Garments from the data set under random flips, crops of a zero-padded image, scaling and brightness/contrast jitter, and MixUp or CutMix of each row's garments, drawn by the library's augment " +
      '(move the sliders above the charts). The MLP trains with flip + crop on 500 samples: the train loss stays higher and the gap to the test loss far smaller; an MLP has no translation invariance, so its test accuracy does not gain within 30 epochs. ' +
      'MixUp (each batch blended with itself shifted by one garment, labels alike, λ ~ Beta(0.4, 0.4)) keeps the train loss at 0.80 by epoch 30 (0.12 without) and the test loss flat: 0.69 against 0.82 without, at a test accuracy of 0.78 against 0.76.',
    x: 'step',
    runs: [
      {
        label: 'no augmentation',
        config: { arch: 'mlp', hidden: 256, train: 500, test: 1000, optimizer: 'adam', lr: 0.002, batch: 50, epochs: 30 },
      },
      {
        label: 'flip + crop',
        config: {
          arch: 'mlp',
          hidden: 256,
          train: 500,
          test: 1000,
          optimizer: 'adam',
          lr: 0.002,
          batch: 50,
          epochs: 30,
          augment: 'flipcrop',
        },
      },
      {
        label: 'MixUp α = 0.4',
        config: { arch: 'mlp', hidden: 256, train: 500, test: 1000, optimizer: 'adam', lr: 0.002, batch: 50, epochs: 30, augment: 'mixup' },
      },
    ],
  },
  dropconnect: {
    title: 'DropConnect against dropout',
    text:
      'DropConnect drops single connections (weights) instead of whole units. With one mask per batch (the fast variant; the paper draws one per example) it regularises ' +
      "far less than dropout on this overfitting set-up: test loss at epoch 30 is about 0.80 against dropout's 0.65 (0.82 with neither, in the dropout preset). " +
      "Above, while the dropout run trains, its dropped units; then the 128 connections from 8 input pixels to 16 hidden units, those the library's DropConnect dropped in the latest batch dashed.",
    x: 'step',
    runs: (['dropout', 'dropconnect'] as const).map((reg) => ({
      label: reg,
      config: { arch: 'mlp', hidden: 256, train: 500, test: 1000, optimizer: 'adam', lr: 0.002, batch: 50, epochs: 30, reg, p: 0.5 },
    })),
  },
  fmp: {
    title: 'Fractional max pooling',
    text:
      "Fractional max pooling (Graham 2014) shrinks an image by α = √2 instead of 2, over regions of 1 or 2 pixels per side drawn anew for every image: above, one garment pooled by the library's layer, " +
      'its regions drawn over it (random against pseudorandom boundaries, disjoint against overlapping regions) and the 19 × 19 result beside each; click for a new draw. ' +
      'Below, the small CNN with 2 × 2 max pooling against fractional max pooling on 1,000 samples: after 6 epochs they end level (test accuracy 75.4 % and 75.0 %); the gain Graham reports comes with deep nets and long training.',
    x: 'step',
    runs: (['max', 'fmp'] as const).map((pool) => ({
      label: pool === 'max' ? 'max pooling 2×2' : 'fractional max pooling √2',
      config: { arch: 'cnn', hidden: 64, pool, train: 1000, test: 500, optimizer: 'adam', lr: 0.002, batch: 50, epochs: 6 },
    })),
  },
};
