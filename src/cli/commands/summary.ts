/** descent summary: a model's layers, output shapes and parameter counts (Keras' model.summary()), without training. */
import type { Command, Io } from '../command.js';
import { UsageError, type Parsed } from '../args.js';
import { Rng } from '../../tensor/rng.js';
import { resolveCliModel } from '../model.js';
import { readWeights, savedTargets, warnRefused } from '../weights.js';
import { buildSaved, weightsOptions } from './eval.js';
import { summary } from '../../nn/summary.js';
import { ShapeError } from '../../tensor/shape.js';
import { ModelSpecError } from '../../train/spec.js';
import { modelSampleShape } from '../../train/models.js';
import type { Module } from '../../nn/module.js';

/** --input: C×H×W (an image) or F (F features of a CSV row, a [1, 1, F] sample). */
function parseInput(raw: string): [number, number, number] {
  const parts = raw.trim().split(/[x×]/);
  const dims = parts.map((p) => (/^[1-9][0-9]{0,6}$/.test(p) ? Number(p) : NaN));
  if (dims.length > 3 || dims.some((d) => Number.isNaN(d)))
    throw new UsageError(
      `--input: expected C×H×W such as 1x28x28, T×F such as 50x8 (a sequence), or a feature count such as 4, got "${raw.slice(0, 40)}"`,
    );
  // T×F is a one-channel sample [1, T, F], as an .npz (N, T, F) array gives it
  return [...[1, 1].slice(dims.length - 1), ...dims] as [number, number, number];
}

/** A layer that cannot take --input's shape is the input's fault: one usage line naming both. */
function fitsInput<T>(o: Parsed, model: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof RangeError || e instanceof ShapeError) || e instanceof ModelSpecError || o.input === undefined) throw e;
    throw new UsageError(`--input ${o.input}: model ${model} does not take inputs of this shape (${e.message})`);
  }
}

export const summaryCommand: Command = {
  name: 'summary',
  summary: "a model's layers with their output shapes and parameter counts, without training",
  options: [
    {
      ...weightsOptions[1],
      help: 'the model, by name, spec or .json file of layers (default mlp; with --weights: the one the file names)',
    },
    {
      ...weightsOptions[0],
      help: 'a file written by descent train --save, or a checkpoint: the model it holds, with its input shape and classes',
    },
    {
      name: 'input',
      type: 'string',
      metavar: 'CxHxW|TxF|F',
      help: "one sample's shape: channels×height×width of an image, steps×features of a sequence, or the feature count of a CSV row (default 1x28x28, Fashion-MNIST's; with --weights the file's)",
    },
    { name: 'classes', type: 'int', min: 1, max: 100000, help: 'outputs of the last layer (default 10; with --weights the file’s)' },
    { name: 'json', type: 'boolean', help: 'print one JSON object instead of the table' },
  ],
  helpExtra: [
    "Example: descent summary --model 'conv:32:5:pad=2,relu,maxpool:2,flatten,linear' --input 3x32x32",
    'Example: descent summary --weights cnn.safetensors',
  ].join('\n'),
  async run(o: Parsed, io: Io) {
    let built: { model: Module; name: string; sample: number[] };
    let shape: [number, number, number];
    let note: string | undefined;
    if (o.weights !== undefined) {
      const saved = readWeights(o.weights);
      const text = saved.csv?.text;
      if (text)
        note =
          text.outputMode === undefined || text.outputMode === 'int'
            ? `input: ${text.sequenceLength} token ids of the CSV text column ${JSON.stringify(text.column)} (vocabulary of ${text.vocabulary.length.toLocaleString('en-US')} words, 0 padding, 1 unknown)`
            : `input: ${text.sequenceLength} ${text.outputMode} values of the CSV text column ${JSON.stringify(text.column)}, one per vocabulary term (0: unknown terms)`;
      if (saved.lm)
        note = `input: ${saved.lm.contextLength} token ids (${saved.lm.tokens === 'char' ? 'characters' : 'words'}; vocabulary of ${saved.lm.vectorizer.vocabulary.length.toLocaleString('en-US')} tokens, 0 padding, 1 unknown); output: every step's next-token logits`;
      warnRefused(saved, 'summary', io.err);
      shape = o.input !== undefined ? parseInput(o.input) : (saved.inputShape ?? [1, 28, 28]);
      // outputs: the classes, or a regression's targets
      const classes = o.classes ?? saved.classes?.length ?? savedTargets(saved)?.length ?? 10;
      built = buildSaved(o, saved, shape, classes);
    } else {
      shape = o.input !== undefined ? parseInput(o.input) : [1, 28, 28];
      const name = o.model ?? 'mlp';
      const spec = resolveCliModel(name);
      const model = fitsInput(o, name, () => spec.build({ rng: new Rng(0).fork('model'), inputShape: shape, classes: o.classes ?? 10 }));
      built = { model, name, sample: modelSampleShape(spec.input, shape) };
    }
    const sample = built.sample;
    const s = fitsInput(o, built.name, () => summary(built.model, sample));
    if (o.json) {
      io.out(JSON.stringify({ model: built.name, inputShape: s.inputShape, layers: s.layers, params: s.params, buffers: s.buffers }));
      return;
    }
    io.out(`model: ${built.name}`);
    for (const line of s.toString().split('\n')) io.out(line);
    if (note) io.out(note);
  },
};
