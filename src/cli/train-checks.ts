/**
 * The checks `descent train` makes before any work: names, option combinations, and what the data
 * set allows. Each failure is one UsageError naming the option, what it expects and what was given.
 *
 *   checkTrainOptions(o)        before the data is loaded: --model and --optimizer resolved ignoring
 *                               case (to the registered spelling, which the log then shows),
 *                               --batch-size with --full-batch, --swa past the last epoch
 *   checkTrainData(o, train, test)  after: one image size in both sets (whatever loaded them), the
 *                               exact Newton's Hessian against its size limit, the batch transform (--augment) run once on one image of
 *                               the data's size, so a crop larger than the image fails here and not
 *                               after an epoch of blank images
 */
import { UsageError, givenOptions, type Parsed } from './args.js';
import { models } from '../train/models.js';
import { optimizerNames } from '../optim/registry.js';
import { trainExtensions } from './extensions.js';
import { outputsOf, type CliDataset } from './data.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../tensor/rng.js';
import { clip, didYouMean, findName } from '../util/names.js';
import { createOptimizer, getOptimizer } from '../optim/registry.js';
import { resolveCliModel } from './model.js';
import { NEWTON_LIMITS } from '../optim/newton.js';
import { checkSameImages } from '../data/node.js';

/**
 * Most epochs of `descent train` and `descent compare`: each epoch keeps a record (and compare's
 * --export-run the epoch's sample order), so memory grows with them.
 */
export const MAX_EPOCHS = 10_000;

/** The library's option names as the CLI spells them (an error from the library is re-worded). */
const CLI_SPELLING: [RegExp, string][] = [
  [/\blineSearchFn\b|\blineSearch\b/g, '--line-search'],
  [/'strongWolfe'/g, 'strong-wolfe'],
  [/\bnull or strong-wolfe\b/g, 'none or strong-wolfe'],
  [/'armijo', strong-wolfe or null/g, 'armijo, strong-wolfe or none'],
  [/mode 'hessianFree' \(hessianFree: true\)/g, '--hessian-free'],
  [/\b(maxIter|maxEval|historySize|weightDecay|hessianFree)\b/g, '--$1'],
];

function cliTerms(message: string): string {
  let m = message;
  for (const [re, to] of CLI_SPELLING) m = m.replace(re, to);
  return m.replace(/--([a-z]+[A-Z][A-Za-z]*)/g, (_, k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

/**
 * The optimizer options of the command line, checked by the optimizer itself (built once over a
 * one-number parameter, shaped 1×1) before any data is loaded; its RangeError comes back as one UsageError in
 * the CLI's spelling (--line-search armijo with lbfgs: "expected none or strong-wolfe").
 */
export function checkOptimizerBag(name: string, bag: Record<string, unknown>): void {
  try {
    // a 1×1 matrix: the matrix optimizers (Muon, SOAP) refuse a lone vector, the others do not care
    createOptimizer(name, [['probe', new Tensor(new Float64Array(1), [1, 1], true)]], bag);
  } catch (e) {
    if (e instanceof RangeError || e instanceof TypeError)
      throw new UsageError(`--optimizer ${getOptimizer(name).key}: ${cliTerms(e.message)}`);
    throw e;
  }
}

/** `raw` as one of `names` (ignoring case), or a UsageError for `--flag` with a suggestion. */
export function resolveName(flag: string, what: string, raw: unknown, names: readonly string[]): string {
  const found = findName(String(raw), names);
  if (found === undefined)
    throw new UsageError(
      `--${flag}: unknown ${what} "${clip(String(raw))}"; expected one of ${names.join(', ')}${didYouMean(String(raw), names)}`,
    );
  return found;
}

/** `--optimizer sam:adam` is `--optimizer sam --base adam` (a wrapper and the optimizer it steps with). */
export function splitWrapper(o: Parsed): void {
  const [name, base, ...more] = String(o.optimizer).split(':');
  if (base === undefined) return;
  if (more.length > 0 || base === '')
    throw new UsageError(`--optimizer: expected NAME or WRAPPER:BASE (such as sam:adam), got "${clip(String(o.optimizer))}"`);
  if (o.base !== undefined && String(o.base).toLowerCase() !== base.toLowerCase())
    throw new UsageError(`--optimizer ${o.optimizer} names base ${base}, --base names ${o.base}`);
  o.optimizer = name;
  o.base = base;
}

export function checkTrainOptions(o: Parsed): void {
  const builtin = findName(String(o.model), [...models.keys()]);
  if (builtin !== undefined) o.model = builtin;
  else if (/^[A-Za-z][\w-]*$/.test(String(o.model).trim())) {
    // One bare word that is no model name: a typo of a name (with a suggestion), unless it is a
    // one-layer spec.
    try {
      resolveCliModel(o.model);
    } catch {
      resolveName('model', 'model', o.model, [...models.keys()]);
    }
  }
  splitWrapper(o);
  o.optimizer = resolveName('optimizer', 'optimizer', o.optimizer, optimizerNames());
  if (o.swa !== undefined && o.epochs !== undefined && o.swa > o.epochs)
    throw new UsageError(
      `--swa ${o.swa}: averaging from epoch ${o.swa} on takes no sample in a run of ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}; give --swa ${o.epochs} or less, or --epochs ${o.swa} or more`,
    );
  const given = givenOptions(o);
  if (o.accumulate !== undefined && o.accumulate > 1 && o.fullBatch)
    throw new UsageError(
      `--accumulate ${o.accumulate} needs mini-batch steps; --full-batch already takes every step on the whole training set`,
    );
  if (o.fullBatch && given.has('batch-size')) {
    throw new UsageError(
      `--batch-size ${o.batchSize} does not apply with --full-batch: every step uses the whole training set (use --limit N to choose its size)`,
    );
  }
}

export function checkTrainData(o: Parsed, train: CliDataset, test: CliDataset): void {
  checkSameImages(train, test, test.name || 'the test set');
  const [c, h, w] = train.shape;
  if (o.optimizer === 'newton' && !o.hessianFree) {
    const n = resolveCliModel(o.model)
      .build({ rng: new Rng(0), inputShape: train.shape, classes: outputsOf(train) })
      .numParameters();
    if (n > NEWTON_LIMITS.exactParams) {
      throw new UsageError(
        `--optimizer newton: the exact Hessian of model ${o.model} (${n} parameters) would have ${n}² = ${(n * n).toExponential(2)} entries, more than the exact mode allows (${NEWTON_LIMITS.exactParams} parameters); add --hessian-free (conjugate gradients on Hessian-vector products), or use a smaller model such as logreg`,
      );
    }
  }
  for (const x of trainExtensions) {
    const t = x.transform?.(o);
    if (t) checkBatchTransform(t, [c, h, w], String(o.augment));
  }
}

/**
 * Run a batch transform once on one blank image of the data's shape: what it refuses for that size
 * (a crop past half the image) becomes a UsageError for --augment, before any work.
 */
export function checkBatchTransform(t: (x: Tensor, rng: Rng) => Tensor, shape: readonly [number, number, number], spec: string): void {
  const [c, h, w] = shape;
  try {
    t(new Tensor(new Float32Array(c * h * w), [1, c, h, w]), new Rng(0));
  } catch (e) {
    if (e instanceof RangeError || (e as Error).name === 'ShapeError')
      throw new UsageError(`--augment ${clip(spec)}: ${(e as Error).message}`);
    throw e;
  }
}

/**
 * The line `descent train --full-batch` prints (on stderr) when Newton stalls: fitFullBatch has
 * stopped because the step did not lower the loss and every further step would repeat it. Training
 * ends there like early stopping — the weights are kept, reported and saved, and the exit code is 0 —
 * because they are the best the method reaches from this start; the line says why it ended early.
 */
export function stallMessage(o: Parsed, step: number, loss: number): string {
  const hint = o.hessianFree
    ? 'try another --lr, a --damping λ > 0, or --line-search none (Levenberg–Marquardt damping)'
    : 'try another --lr or a --damping λ > 0';
  return `descent train: ${o.optimizer}${o.hessianFree ? ' --hessian-free' : ''} stalled at step ${step} of ${o.epochs}: the step did not lower the loss ${loss.toPrecision(7)}, and every further step would repeat it; stopped early (at a minimum in float32 precision, or a step too short to change the weights: ${hint})`;
}
