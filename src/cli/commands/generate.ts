/**
 * descent generate: text from a language model saved by `descent train --data FILE.txt --save`,
 * nanoGPT's sample.py: the prompt read through the model's vocabulary, then --length tokens drawn
 * one at a time (the context cropped to the model's T; temperature, top-k and top-p as
 * sampleNext applies them), seeded by --seed: the same seed gives the same text.
 */
import type { Command, Io } from '../command.js';
import { UsageError, type Parsed } from '../args.js';
import { Rng, SEED_MAX } from '../../tensor/rng.js';
import { backendOption, selectBackend, selectTrainBackend } from '../backend.js';
import { readWeights, savedTargets, warnRefused, type SavedModel } from '../weights.js';
import { buildSaved } from './eval.js';
import { generate, generateAsync } from '../../train/generate.js';
import { savedVectorizer } from '../lm.js';

/** What a weights file that is no language model holds, for the refusal. */
function whatItIs(saved: SavedModel): string {
  const kind = saved.csv?.text
    ? `a text classifier of the CSV column "${saved.csv.text.column}"`
    : savedTargets(saved)
      ? 'a regression model'
      : 'a classifier';
  return `${kind}${saved.inputShape ? ` of ${saved.inputShape.join('×')} inputs` : ''}${saved.model ? ` (model ${saved.model})` : ''}`;
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'continue a prompt with a language model trained on plain text (descent train --data FILE.txt --save FILE)',
  options: [
    {
      name: 'weights',
      type: 'string',
      metavar: 'FILE|DIR',
      help: 'the language model: a file written by descent train --data FILE.txt --save, a checkpoint file or a --checkpoint-dir folder; required',
    },
    {
      name: 'prompt',
      type: 'string',
      metavar: 'TEXT',
      help: "the text to continue, read through the model's vocabulary (a token outside it reads as [UNK]); default: none, and generation starts from the first token of the training text",
    },
    {
      name: 'length',
      type: 'int',
      min: 0,
      default: 200,
      metavar: 'N',
      help: 'tokens to generate (characters or words, as the model was trained)',
    },
    {
      name: 'temperature',
      type: 'number',
      min: 0,
      default: 1,
      help: 'the logits are divided by it before sampling: below 1 sharper, above 1 flatter; 0 takes the most likely token every time (greedy, no draw)',
    },
    { name: 'top-k', type: 'int', min: 1, metavar: 'K', help: 'sample among the K most likely tokens only (default: all)' },
    {
      name: 'top-p',
      type: 'number',
      min: 0,
      max: 1,
      metavar: 'P',
      help: 'nucleus sampling: among the fewest most likely tokens whose probability reaches P (default 1: all)',
    },
    { name: 'seed', type: 'int', min: 0, max: SEED_MAX, default: 1, help: 'seed of the draws: the same seed gives the same text' },
    {
      ...backendOption,
      choices: ['wasm', 'reference', 'webgpu'],
      help: "kernels: wasm (WebAssembly SIMD, worker threads), reference (plain TypeScript, the test oracle) or webgpu (the GPU, through WebGPU: each token's forward runs there and its last logits are read back)",
    },
    { name: 'json', type: 'boolean', help: 'print one JSON object { prompt, generated, text } instead of the text' },
  ],
  helpExtra: [
    'Prints the prompt followed by the generated text (words joined by spaces for a --tokens word model). Without --prompt the text starts with the first token of the training text (nanoGPT starts from a line break, which not every vocabulary holds), which is printed as the prompt.',
    'Example: descent train --data corpus.txt --context 64 --epochs 5 --save lm.safetensors && descent generate --weights lm.safetensors --prompt "The " --length 300 --temperature 0.8 --top-k 20',
  ].join('\n'),
  async run(o: Parsed, io: Io) {
    if (!o.weights)
      throw new UsageError('--weights: the language model is required (write one with descent train --data FILE.txt --save FILE)');
    const sel = o.backend === 'webgpu' ? await selectTrainBackend('webgpu') : null;
    if (!sel) await selectBackend(o.backend);
    try {
      await generateText(o, io, sel?.device ?? null);
    } finally {
      sel?.release();
    }
  },
};

/** The command's work once the backend runs: the model on `device` when one is given, else on the host. */
async function generateText(o: Parsed, io: Io, device: string | null): Promise<void> {
  const saved = readWeights(o.weights);
  warnRefused(saved, 'generate', io.err);
  const lm = saved.lm;
  if (!lm)
    throw new UsageError(
      `--weights: ${saved.path} holds ${whatItIs(saved)}, not a language model; train one with descent train --data FILE.txt --save FILE`,
    );
  const vectorizer = savedVectorizer(lm);
  const vocabulary = vectorizer.vocabulary();
  const sep = lm.tokens === 'char' ? '' : ' ';
  const given: string = o.prompt ?? '';
  let ids = Array.from(vectorizer.encode(given));
  const unknown = ids.filter((i) => i === 1).length;
  if (unknown > 0)
    io.err(
      `descent generate: ${unknown} token${unknown === 1 ? '' : 's'} of the prompt ${unknown === 1 ? 'is' : 'are'} not in the model's vocabulary and read${unknown === 1 ? 's' : ''} as [UNK]`,
    );
  let prompt = given;
  if (ids.length === 0) {
    // nothing to condition on: the training text's first token starts it
    const start = vocabulary.indexOf(lm.start);
    ids = [start >= 0 ? start : 1];
    prompt = given === '' ? lm.start : `${given}${sep}${lm.start}`;
  }
  const T = lm.contextLength;
  const { model } = buildSaved(o, saved, [1, 1, T], vocabulary.length);
  const options = {
    maxNewTokens: o.length,
    contextLength: T,
    temperature: o.temperature,
    ...(o.topK !== undefined ? { topK: o.topK } : {}),
    ...(o.topP !== undefined ? { topP: o.topP } : {}),
    rng: new Rng(o.seed),
  };
  if (device) await model.to(device);
  const out = device ? await generateAsync(model, ids, options) : generate(model, ids, options);
  const generated = vectorizer.decode(out.ids.subarray(ids.length));
  const text = generated === '' ? prompt : `${prompt}${sep}${generated}`;
  if (o.json) io.out(JSON.stringify({ weights: saved.path, prompt, generated, text, seed: o.seed }));
  else io.out(text);
}
