/**
 * descent export: a model written by `descent train --save` as an ONNX file (exportOnnx,
 * src/io/onnx.ts) that ONNX Runtime runs in a browser, Node, Python or C++. The file takes what
 * `descent predict` reads, so the model's CSV preprocessing goes inside it: missing values (NaN)
 * filled with the saved --impute values, the saved --standardize statistics applied, a regression's
 * --standardize-targets undone on the outputs. An image model takes [batch, C, H, W] pixels in
 * [0, 1] (an MLP flattens them inside). The classes, targets and feature columns go in the file's
 * metadata (`descent.classes`, `descent.targets`, `descent.features`); a --one-hot column is one
 * input per category, which the caller encodes as the categories in `descent.oneHot` say (the
 * graph takes numbers only).
 */
import type { Command, Io } from '../command.js';
import { UsageError, type Parsed } from '../args.js';
import { readWeights, savedPart, savedTargets, warnRefused, type SavedModel } from '../weights.js';
import { buildSaved, weightsOptions } from './eval.js';
import { checkImpute, checkPreprocess } from '../../data/preprocess.js';
import { exportOnnx, ONNX_OPSET, type ExportOnnxOptions } from '../../io/onnx.js';
import { writeFileAtomic } from '../../io/files.js';

function exportOptions(o: Parsed, saved: SavedModel): { options: ExportOnnxOptions; outputs: string[]; regression: boolean } {
  const weights: string = o.weights;
  const targets = savedTargets(saved);
  const outputs = targets ?? saved.classes;
  if (!outputs) throw new UsageError(`--weights: ${weights} does not name its classes; retrain it with descent train --save FILE`);
  if (targets && o.softmax)
    throw new UsageError(
      `--softmax turns a classifier's logits into probabilities; ${weights} is a regression model (targets ${targets.join(', ')})`,
    );
  const metadata: Record<string, string> = { 'descent.model': o.model ?? saved.model ?? '' };
  metadata[targets ? 'descent.targets' : 'descent.classes'] = JSON.stringify(outputs);
  const options: ExportOnnxOptions = { inputShape: [], softmax: o.softmax === true, metadata };
  if (saved.csv?.text) {
    // token ids [T] of the text column, read through the vocabulary kept in the metadata
    const { column, ...vectorizer } = saved.csv.text;
    metadata['descent.features'] = JSON.stringify(saved.csv.features);
    metadata['descent.text'] = JSON.stringify({ column, ...vectorizer });
    options.inputShape = [vectorizer.sequenceLength];
  } else if (saved.csv) {
    const F = saved.csv.features.length;
    metadata['descent.features'] = JSON.stringify(saved.csv.features);
    if (saved.csv.oneHot?.length) metadata['descent.oneHot'] = JSON.stringify(saved.csv.oneHot);
    options.inputShape = [F];
    if (saved.impute) options.impute = savedPart(weights, '', () => checkImpute(saved.impute!, F)).values;
  } else options.inputShape = [...(saved.inputShape ?? [1, 28, 28])];
  const size = options.inputShape.reduce((a, b) => a * b, 1);
  if (saved.preprocess) options.standardize = savedPart(weights, '', () => checkPreprocess(saved.preprocess!, size));
  if (targets && saved.targetPreprocess)
    options.targetStandardize = savedPart(weights, 'target ', () => checkPreprocess(saved.targetPreprocess!, targets.length));
  return { options, outputs, regression: targets !== undefined };
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'a trained model as an ONNX file, for ONNX Runtime in the browser, Node, Python or C++',
  options: [
    ...weightsOptions,
    { name: 'out', type: 'string', metavar: 'FILE.onnx', help: 'where to write the ONNX file (written whole or not at all); required' },
    {
      name: 'softmax',
      type: 'boolean',
      help: "end the graph with a softmax, so a classifier's file gives probabilities instead of logits",
    },
    { name: 'json', type: 'boolean', help: 'print one JSON object describing the file instead of the lines' },
  ],
  helpExtra: [
    `The file is ONNX opset ${ONNX_OPSET}: input "input" [batch, …], output "output" [batch, outputs], the batch size free. A CSV model's file takes the feature columns in training order (NaN for a missing value when it was trained with --impute) and applies the saved --impute and --standardize values itself; a regression model trained with --standardize-targets gives values in the targets' units. An image model takes C×H×W pixels scaled to [0, 1] (an .npz-trained model: a sample as it was trained, uint8 arrays as values ÷255, channels first), and applies a saved --standardize itself. Classes, targets and feature names are in the file's metadata (descent.classes, descent.targets, descent.features); a --one-hot column is one input per category (1 for the row's value, else 0), its categories in descent.oneHot. A --text model takes T token ids of its text column (as floats, 0 padding after the text's first T tokens), or with --text-mode multi_hot, count or tf_idf the V values of its terms; its vocabulary, T or V, mode, n-grams and idf are in descent.text.`,
    'Layers without an ONNX form (fractional max pooling, DropConnect with Gaussian inference, BatchNorm without running statistics) are refused, naming the layer.',
    'Example: descent export --weights model.safetensors --out model.onnx --softmax',
  ].join('\n'),
  async run(o: Parsed, io: Io) {
    if (!o.weights) throw new UsageError('--weights: the weights file is required (write one with descent train --save FILE)');
    if (!o.out) throw new UsageError('--out: the ONNX file to write is required (a name ending in .onnx)');
    if (!/\.onnx$/i.test(o.out)) throw new UsageError(`--out: expected a file name ending in .onnx, got "${o.out}"`);
    const saved = readWeights(o.weights);
    warnRefused(saved, 'export', io.err);
    if (saved.lm)
      throw new UsageError(
        `--weights: ${saved.path} is a language model (per-step logits [T, V] over its vocabulary), which export does not write: the ONNX file's output is [batch, outputs]; descent generate --weights ${o.weights} samples from it`,
      );
    const { options, outputs, regression } = exportOptions(o, saved);
    const shape =
      options.inputShape.length === 1 ? ([1, 1, options.inputShape[0]] as const) : (options.inputShape as [number, number, number]);
    const built = buildSaved(o, saved, shape, outputs.length);
    if (built.input === 'flat' && !saved.csv) options.flatten = true;
    // a sequence model's file takes its [T, F] samples as the model does; a flat model trained on
    // an .npz of rows (N, F) — features, or token ids (N, T) — the rows, not the [1, 1, F] it keeps
    if (built.input === 'sequence') options.inputShape = built.sample;
    else if (built.input === 'flat' && saved.npz && shape[0] === 1 && shape[1] === 1) options.inputShape = [shape[2]];
    let bytes: Uint8Array;
    try {
      bytes = exportOnnx(built.model, options);
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(`--weights: ${o.weights}: ${e.message}`);
      throw e;
    }
    writeFileAtomic(o.out, bytes, '--out');
    const input = ['batch', ...options.inputShape];
    const output = ['batch', outputs.length];
    const kind = regression ? 'values of the targets' : options.softmax ? 'probabilities of the classes' : 'logits of the classes';
    if (o.json) {
      io.out(
        JSON.stringify({
          file: o.out,
          bytes: bytes.length,
          opset: ONNX_OPSET,
          input: { name: 'input', shape: input },
          output: { name: 'output', shape: output, kind, names: outputs },
          ...(saved.csv ? { features: saved.csv.features } : {}),
          ...(saved.csv?.oneHot?.length ? { oneHot: saved.csv.oneHot } : {}),
          ...(saved.csv?.text ? { text: { column: saved.csv.text.column, vocabularySize: saved.csv.text.vocabulary.length } } : {}),
          ...inside(options),
        }),
      );
      return;
    }
    const { before, after } = inside(options);
    const note = (steps: string[]) => (steps.length ? ` (${steps.join(', ')} inside)` : '');
    io.out(`wrote ${o.out}: ONNX opset ${ONNX_OPSET}, ${bytes.length.toLocaleString('en-US')} bytes`);
    io.out(
      `input  "input"  [${input.join(', ')}]${saved.csv?.text ? ` token ids of the text column ${JSON.stringify(saved.csv.text.column)} (vocabulary of ${saved.csv.text.vocabulary.length} words in descent.text)` : saved.csv ? ` features ${preview(saved.csv.features)}` : saved.npz ? ' samples as trained' : ' pixels in [0, 1]'}${note(before)}`,
    );
    for (const h of saved.csv?.oneHot ?? [])
      io.out(
        `one-hot ${JSON.stringify(h.column)}: ${h.categories.length} inputs, 1 for the row's category (${preview(h.categories)}), else 0`,
      );
    io.out(`output "output" [${output.join(', ')}] ${kind} ${preview(outputs)}${note(after)}`);
  },
};

/** What the file does to a sample before the model, and to the model's outputs after it. */
function inside(o: ExportOnnxOptions): { before: string[]; after: string[] } {
  const before = [o.impute ? 'NaN filled by --impute' : '', o.standardize ? '--standardize' : '', o.flatten ? 'flatten' : ''];
  const after = [o.targetStandardize ? '--standardize-targets undone' : '', o.softmax ? 'softmax' : ''];
  return { before: before.filter((x) => x), after: after.filter((x) => x) };
}

function preview(names: readonly string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, … (${names.length})`;
}
