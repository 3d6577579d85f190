/** descent predict: class probabilities of images under trained weights. */
import type { Command, Io } from '../command.js';
import { UsageError, type Parsed } from '../args.js';
import { Tensor } from '../../tensor/tensor.js';
import { backendOption, selectBackend } from '../backend.js';
import { noGrad } from '../../autograd/engine.js';
import { FASHION_MNIST_CLASSES } from '../../data/dataset.js';
import { readImageFile } from '../../data/image-folder.js';
import { softmaxRow } from '../../train/metrics.js';
import { readWeights, warnRefused } from '../weights.js';
import { buildSaved, weightsOptions } from './eval.js';

/** Fashion-MNIST's geometry, for weights files that do not state theirs. */
const DEFAULT_INPUT: [number, number, number] = [1, 28, 28];

export const predictCommand: Command = {
  name: 'predict',
  summary: 'class probabilities of PNG or JPEG images under trained weights',
  positional: 'IMAGE...',
  options: [
    ...weightsOptions,
    { name: 'top', type: 'int', min: 1, default: 3, help: 'how many classes to print per image' },
    backendOption,
    { name: 'json', type: 'boolean', help: "print one JSON record per image (every class's probability)" },
  ],
  helpExtra:
    "Images are converted to the model's channels and resized to its input size. Example: descent predict --weights mlp.json shoe.png bag.jpg",
  async run(o: Parsed, io: Io) {
    if (!o.weights) throw new UsageError('--weights: the weights file is required (write one with descent train --save FILE)');
    const files: string[] = o._;
    if (!files.length) throw new UsageError('no image given; expected one or more PNG or JPEG files after the options');
    await selectBackend(o.backend);
    const saved = readWeights(o.weights);
    warnRefused(saved, 'predict', io.err);
    if (saved.csv || saved.preprocess) {
      const cols = saved.csv ? ` (columns ${saved.csv.features.slice(0, 4).join(', ')}${saved.csv.features.length > 4 ? ', …' : ''})` : '';
      throw new UsageError(
        `--weights: ${o.weights} was trained on CSV features${cols}; predict reads images: evaluate a labelled CSV file with descent eval --weights ${o.weights} --data FILE.csv`,
      );
    }
    const shape = saved.inputShape ?? DEFAULT_INPUT;
    const classes = saved.classes ?? [...FASHION_MNIST_CLASSES];
    const { model, flat } = buildSaved(o, saved, shape, classes.length);
    const [c, h, w] = shape;
    const size = c * h * w;
    const batch = new Float32Array(files.length * size);
    files.forEach((f, i) => batch.set(readImageFile(f, { channels: c as 1 | 3, size: [h, w] }).data, i * size));
    const x = new Tensor(batch, flat ? [files.length, size] : [files.length, c, h, w]);
    const logits = noGrad(() => model.forward(x, { training: false }));
    const k = logits.shape[1];
    files.forEach((f, i) => {
      const p = softmaxRow(logits.data.subarray(i * k, (i + 1) * k));
      const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]);
      if (o.json) {
        io.out(
          JSON.stringify({
            image: f,
            predicted: classes[order[0]],
            probabilities: Object.fromEntries(classes.map((name, j) => [name, p[j]])),
          }),
        );
      } else {
        io.out(
          `${f}: ${order
            .slice(0, Math.min(o.top, k))
            .map((j) => `${classes[j]} ${p[j].toFixed(4)}`)
            .join(', ')}`,
        );
      }
    });
  },
};
