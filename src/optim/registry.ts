/**
 * Optimizers by name, for the CLI, the surfaces runner and the lab.
 *
 * Every first-order class is listed here under PyTorch's lower-cased name; `gd`, `momentum` and
 * `nesterov` are conveniences for SGD (momentum 0.9 unless given). Other optimizers (LBFGS, Newton,
 * …) join with `registerOptimizer(spec)`.
 *
 *   optimizers                      Map name → spec (the CLI lists it)
 *   getOptimizer(name).create(params, o)
 *       lenient: picks from `o` only the options this optimizer knows (so a whole parsed CLI
 *       record can be passed), ignores undefined ones
 *   createOptimizer(name, params, options)
 *       strict: an option this optimizer does not know is an error naming it
 */
import type { Tensor } from '../tensor/tensor.js';
import { clip, didYouMean } from '../util/names.js';
import type { Optimizer, BaseHyper } from './optimizer.js';

/** What a runner needs from an optimizer. `Optimizer` satisfies it; closure-driven methods too. */
export interface Steppable {
  /** One step. The closure (re)evaluates the objective at the current parameters, sets `.grad` and returns f. */
  step(closure?: () => number): unknown;
  zeroGrad?(): void;
  /** The learning rate of the first group, if the method has one. */
  readonly lr?: number;
  setLr?(lr: number): void;
}

export type NamedParams = [string, Tensor][];

export interface OptimizerSpec {
  /** Registry key, lower case (e.g. "adamw", "momentum"). */
  key: string;
  /** Display name (e.g. "AdamW", "SGD+momentum"). */
  name: string;
  /** Option names (camelCase, PyTorch's names) this optimizer accepts. */
  options: readonly string[];
  /** Values filled in before the user's (conveniences such as `momentum`: 0.9). */
  preset?: Readonly<Record<string, unknown>>;
  summary?: string;
  /** Build from already-filtered options. */
  build(params: NamedParams, options: Record<string, unknown>): Optimizer<any>;
  /** Lenient creation (see the header). */
  create(params: NamedParams, o?: Record<string, unknown>): Optimizer<any>;
}

export const optimizers = new Map<string, OptimizerSpec>();

export function registerOptimizer(spec: Omit<OptimizerSpec, 'create'>): OptimizerSpec {
  const full: OptimizerSpec = {
    ...spec,
    create(params, o = {}) {
      const picked: Record<string, unknown> = {};
      for (const k of spec.options) if (o[k] !== undefined) picked[k] = o[k];
      return spec.build(params, { ...spec.preset, ...picked });
    },
  };
  optimizers.set(spec.key.toLowerCase(), full);
  return full;
}

export function optimizerNames(): string[] {
  return [...optimizers.keys()];
}

export function getOptimizer(name: string): OptimizerSpec {
  const e = optimizers.get(String(name).toLowerCase());
  if (!e) throw new RangeError(`unknown optimizer "${clip(String(name))}"; expected one of ${optimizerNames().join(', ')}${didYouMean(String(name), optimizerNames())}`);
  return e;
}

/** The spec of a registered optimizer (its `options` list the option names it reads). */
export function optimizerInfo(name: string): OptimizerSpec {
  return getOptimizer(name);
}

/** Build a registered optimizer over named parameters. Unknown option names are rejected, naming them. */
export function createOptimizer(name: string, params: NamedParams, options: Record<string, unknown> = {}): Optimizer<any> {
  const e = getOptimizer(name);
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if (!e.options.includes(k)) throw new RangeError(`${e.name}: unknown option "${k}"; expected one of ${e.options.join(', ')}`);
    clean[k] = v;
  }
  return e.build(params, { ...e.preset, ...clean });
}

export type { BaseHyper };

// ---- the first-order optimizers of this library ----------------------------------------------
import { SGD } from './sgd.js';

const sgdOptions = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize', 'lrInsideMomentum'] as const;
registerOptimizer({ key: 'sgd', name: 'SGD', options: sgdOptions, summary: 'stochastic gradient descent (PyTorch SGD)', build: (p, o) => new SGD(p, o) });
registerOptimizer({ key: 'gd', name: 'GD', options: sgdOptions, summary: 'SGD without momentum (full-batch when the batch is the data set)', preset: { momentum: 0 }, build: (p, o) => new SGD(p, o) });
registerOptimizer({ key: 'momentum', name: 'SGD+momentum', options: sgdOptions, summary: 'SGD with heavy-ball momentum 0.9 unless given', preset: { momentum: 0.9 }, build: (p, o) => new SGD(p, o) });
registerOptimizer({ key: 'nesterov', name: 'SGD+Nesterov', options: sgdOptions, summary: 'SGD with Nesterov momentum 0.9 unless given', preset: { momentum: 0.9, nesterov: true }, build: (p, o) => new SGD(p, o) });
import { Adagrad } from './adagrad.js';
import { RMSprop } from './rmsprop.js';
import { Adadelta } from './adadelta.js';
import { Adam } from './adam.js';
import { AdamW } from './adamw.js';
import { Adamax } from './adamax.js';
import { NAdam } from './nadam.js';
import { RAdam } from './radam.js';
import { Lion } from './lion.js';

const adamOptions = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize', 'epsInsideSqrt'] as const;
registerOptimizer({ key: 'adagrad', name: 'Adagrad', options: ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps', 'maximize', 'epsInsideSqrt'], summary: 'per-coordinate lr from the sum of squared gradients', build: (p, o) => new Adagrad(p, o) });
registerOptimizer({ key: 'rmsprop', name: 'RMSprop', options: ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize', 'epsInsideSqrt', 'lrInsideMomentum'], summary: 'lr divided by a running RMS of gradients', build: (p, o) => new RMSprop(p, o) });
registerOptimizer({ key: 'adadelta', name: 'Adadelta', options: ['lr', 'rho', 'eps', 'weightDecay', 'maximize'], summary: 'RMS of updates over RMS of gradients', build: (p, o) => new Adadelta(p, o) });
registerOptimizer({ key: 'adam', name: 'Adam', options: adamOptions, summary: 'bias-corrected first and second moments', build: (p, o) => new Adam(p, o) });
registerOptimizer({ key: 'adamw', name: 'AdamW', options: adamOptions, summary: 'Adam with decoupled weight decay', build: (p, o) => new AdamW(p, o) });
registerOptimizer({ key: 'adamax', name: 'Adamax', options: ['lr', 'betas', 'eps', 'weightDecay', 'maximize'], summary: 'Adam with the infinity norm', build: (p, o) => new Adamax(p, o) });
registerOptimizer({ key: 'nadam', name: 'NAdam', options: ['lr', 'betas', 'eps', 'weightDecay', 'momentumDecay', 'legacyMuProduct'], summary: 'Adam with Nesterov momentum', build: (p, o) => new NAdam(p, o) });
registerOptimizer({ key: 'radam', name: 'RAdam', options: ['lr', 'betas', 'eps', 'weightDecay'], summary: 'Adam with a rectified adaptive lr', build: (p, o) => new RAdam(p, o) });
registerOptimizer({ key: 'lion', name: 'Lion', options: ['lr', 'betas', 'weightDecay', 'maximize'], summary: 'sign of interpolated momentum (Chen et al. 2023)', build: (p, o) => new Lion(p, o) });

// ---- closure-driven second-order methods: step(closure) may evaluate the objective several times
import { LBFGS } from './lbfgs.js';
import { Newton } from './newton.js';

// `lineSearch` ('none' | 'strong-wolfe') and `hessianFree` are the CLI's spellings of lineSearchFn and mode.
registerOptimizer({
  key: 'lbfgs', name: 'L-BFGS', options: ['lr', 'maxIter', 'maxEval', 'toleranceGrad', 'toleranceChange', 'historySize', 'lineSearchFn', 'lineSearch'],
  summary: 'limited-memory BFGS (PyTorch LBFGS; one step runs up to maxIter iterations)',
  build: (p, { lineSearch, ...o }) => new LBFGS(p, { ...o, lineSearchFn: (o.lineSearchFn ?? (lineSearch === 'none' ? null : lineSearch)) as never }),
});
registerOptimizer({
  key: 'newton', name: 'Newton', options: ['lr', 'mode', 'damping', 'lineSearch', 'c1', 'maxLs', 'toleranceGrad', 'cgMaxIter', 'cgTol', 'hessian', 'hessianFree'],
  summary: "damped Newton's method with a line search (exact Hessian or Hessian-free CG); the closure returns the loss Tensor, or pass a hessian callback",
  build: (p, { hessianFree, ...o }) => new Newton(p, { ...o, mode: (o.mode ?? (hessianFree ? 'hessianFree' : undefined)) as never }),
});
