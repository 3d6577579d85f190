/**
 * Optimizers by name, for the CLI, the surfaces runner and the lab.
 *
 * Every first-order class is listed here under PyTorch's lower-cased name; `gd`, `momentum` and
 * `nesterov` are conveniences for SGD (momentum 0.9 unless given). Other optimizers (LBFGS, Newton,
 * …) join with `registerOptimizer(spec)`.
 *
 *   optimizers                      Map name → spec (the CLI lists it)
 *   getOptimizer(name).create(params, o)
 *       lenient: picks from `o` only the options this optimizer knows, ignores undefined ones
 *   createOptimizer(name, params, options)
 *       strict: an option this optimizer does not know is an error naming it and the nearest valid
 *       one, a wrong type an error naming the type (the same check as the classes' constructors)
 *
 * The option names are each rule's schema (`optionsOf(rule)`), written once beside its defaults.
 */
import type { Tensor } from '../tensor/tensor.js';
import { clip, didYouMean } from '../util/names.js';
import { checkNames, optionNames } from '../util/options.js';
import type { AnyOptimizer, BaseHyper, Closure, UpdateRule } from './optimizer.js';

/** What a runner needs from an optimizer. `Optimizer` satisfies it; closure-driven methods too. */
export interface Steppable {
  /** One step. The closure (re)evaluates the objective at the current parameters, sets `.grad` and returns f. */
  step(closure?: Closure): unknown;
  zeroGrad?(): void;
  /** The learning rate of the first group, if the method has one. */
  readonly lr?: number;
  setLr?(lr: number): void;
  /** Objective evaluations so far, when the method counts them (ClosureOptimizer: L-BFGS, Newton); read by trajectories and the lab. */
  readonly evaluations?: number;
}

export type NamedParams = [string, Tensor][];

export interface OptimizerSpec {
  /** Registry key, lower case (e.g. "adamw", "momentum"). */
  key: string;
  /** Display name (e.g. "AdamW", "SGD+momentum"). */
  name: string;
  /** Option names (camelCase, PyTorch's names) this optimizer accepts: its rule's schema (`optionsOf`). */
  options: readonly string[];
  /** Values filled in before the user's (conveniences such as `momentum`: 0.9). */
  preset?: Readonly<Record<string, unknown>>;
  summary?: string;
  /** Build from already-filtered options. */
  build(params: NamedParams, options: Record<string, unknown>): AnyOptimizer;
  /** Lenient creation (see the header). */
  create(params: NamedParams, o?: Record<string, unknown>): AnyOptimizer;
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
  if (!e)
    throw new RangeError(
      `unknown optimizer "${clip(String(name))}"; expected one of ${optimizerNames().join(', ')}${didYouMean(String(name), optimizerNames())}`,
    );
  return e;
}

/** The spec of a registered optimizer (its `options` list the option names it reads). */
export function optimizerInfo(name: string): OptimizerSpec {
  return getOptimizer(name);
}

/**
 * Build a registered optimizer over named parameters. Unknown option names are rejected, naming the
 * nearest valid one, and wrong types by the optimizer's own check (util/options); options whose
 * value is undefined are left out (so a whole parsed record can be passed).
 */
export function createOptimizer(name: string, params: NamedParams, options: Record<string, unknown> = {}): AnyOptimizer {
  const e = getOptimizer(name);
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    checkNames(e.name, { [k]: v }, e.options);
    clean[k] = v;
  }
  return e.build(params, { ...e.preset, ...clean });
}

export type { BaseHyper };

/** The option names of an update rule: the keys of its schema, written once there. */
export function optionsOf(rule: Pick<UpdateRule<BaseHyper>, 'schema'>): string[] {
  return optionNames(rule.schema);
}

// ---- the first-order optimizers of this library ----------------------------------------------
import { SGD, sgdRule } from './sgd.js';

const sgdOptions = optionsOf(sgdRule);
registerOptimizer({
  key: 'sgd',
  name: 'SGD',
  options: sgdOptions,
  summary: 'stochastic gradient descent (PyTorch SGD)',
  build: (p, o) => new SGD(p, o),
});
registerOptimizer({
  key: 'gd',
  name: 'GD',
  options: sgdOptions,
  summary: 'SGD without momentum (full-batch when the batch is the data set)',
  preset: { momentum: 0 },
  build: (p, o) => new SGD(p, o),
});
registerOptimizer({
  key: 'momentum',
  name: 'SGD+momentum',
  options: sgdOptions,
  summary: 'SGD with heavy-ball momentum 0.9 unless given',
  preset: { momentum: 0.9 },
  build: (p, o) => new SGD(p, o),
});
registerOptimizer({
  key: 'nesterov',
  name: 'SGD+Nesterov',
  options: sgdOptions,
  summary: 'SGD with Nesterov momentum 0.9 unless given',
  preset: { momentum: 0.9, nesterov: true },
  build: (p, o) => new SGD(p, o),
});
import { Adagrad, adagradRule } from './adagrad.js';
import { RMSprop, rmspropRule } from './rmsprop.js';
import { Adadelta, adadeltaRule } from './adadelta.js';
import { Adam, adamRule } from './adam.js';
import { AdamW, adamwRule } from './adamw.js';
import { Adamax, adamaxRule } from './adamax.js';
import { NAdam, nadamRule } from './nadam.js';
import { RAdam, radamRule } from './radam.js';
import { Lion, lionRule } from './lion.js';

registerOptimizer({
  key: 'adagrad',
  name: 'Adagrad',
  options: optionsOf(adagradRule),
  summary: 'per-coordinate lr from the sum of squared gradients',
  build: (p, o) => new Adagrad(p, o),
});
registerOptimizer({
  key: 'rmsprop',
  name: 'RMSprop',
  options: optionsOf(rmspropRule),
  summary: 'lr divided by a running RMS of gradients',
  build: (p, o) => new RMSprop(p, o),
});
registerOptimizer({
  key: 'adadelta',
  name: 'Adadelta',
  options: optionsOf(adadeltaRule),
  summary: 'RMS of updates over RMS of gradients',
  build: (p, o) => new Adadelta(p, o),
});
registerOptimizer({
  key: 'adam',
  name: 'Adam',
  options: optionsOf(adamRule),
  summary: 'bias-corrected first and second moments',
  build: (p, o) => new Adam(p, o),
});
registerOptimizer({
  key: 'adamw',
  name: 'AdamW',
  options: optionsOf(adamwRule),
  summary: 'Adam with decoupled weight decay',
  build: (p, o) => new AdamW(p, o),
});
registerOptimizer({
  key: 'adamax',
  name: 'Adamax',
  options: optionsOf(adamaxRule),
  summary: 'Adam with the infinity norm',
  build: (p, o) => new Adamax(p, o),
});
registerOptimizer({
  key: 'nadam',
  name: 'NAdam',
  options: optionsOf(nadamRule),
  summary: 'Adam with Nesterov momentum',
  build: (p, o) => new NAdam(p, o),
});
registerOptimizer({
  key: 'radam',
  name: 'RAdam',
  options: optionsOf(radamRule),
  summary: 'Adam with a rectified adaptive lr',
  build: (p, o) => new RAdam(p, o),
});
registerOptimizer({
  key: 'lion',
  name: 'Lion',
  options: optionsOf(lionRule),
  summary: 'sign of interpolated momentum (Chen et al. 2023)',
  build: (p, o) => new Lion(p, o),
});

// ---- closure-driven second-order methods: step(closure) may evaluate the objective several times
import { LBFGS, lbfgsRule } from './lbfgs.js';
import { Newton, newtonRule } from './newton.js';

// (the CLI's spellings of their options, such as --hessian-free, are mapped in src/cli/optimizer-spellings.ts)
registerOptimizer({
  key: 'lbfgs',
  name: 'L-BFGS',
  options: optionsOf(lbfgsRule),
  summary: 'limited-memory BFGS (PyTorch LBFGS; one step runs up to maxIter iterations)',
  build: (p, o) => new LBFGS(p, o),
});
registerOptimizer({
  key: 'newton',
  name: 'Newton',
  options: optionsOf(newtonRule),
  summary:
    "damped Newton's method with a line search (exact Hessian or Hessian-free CG); the closure returns the loss Tensor, or pass a hessian callback",
  build: (p, o) => new Newton(p, o),
});

// ---- PyTorch 2's Adafactor, Rprop and ASGD ---------------------------------------------------
import { Adafactor, adafactorRule } from './adafactor.js';
import { Rprop, rpropRule } from './rprop.js';
import { ASGD, asgdRule } from './asgd.js';

registerOptimizer({
  key: 'adafactor',
  name: 'Adafactor',
  options: optionsOf(adafactorRule),
  summary:
    'relative step, update clipping, second moments factored into rows and columns for matrices (Shazeer & Stern 2018); on a 2-D point it runs its vector form, which keeps the full second moment',
  build: (p, o) => new Adafactor(p, o),
});
registerOptimizer({
  key: 'rprop',
  name: 'Rprop',
  options: optionsOf(rpropRule),
  summary: 'per-coordinate step sizes from gradient signs (full-batch)',
  build: (p, o) => new Rprop(p, o),
});
registerOptimizer({
  key: 'asgd',
  name: 'ASGD',
  options: optionsOf(asgdRule),
  summary: 'SGD with a decaying rate and iterate averaging (Polyak & Juditsky 1992)',
  build: (p, o) => new ASGD(p, o),
});

// ---- Schedule-Free (./schedule-free.ts) and the wrappers SAM, ASAM, Lookahead (./sam.ts, ./lookahead.ts)
import { ScheduleFreeAdamW, ScheduleFreeSGD, scheduleFreeAdamWRule, scheduleFreeSGDRule } from './schedule-free.js';
import { SAM, samRule } from './sam.js';
import { Lookahead, lookaheadRule } from './lookahead.js';

// trainMode is the optimizer's mode (eval()/train()), kept in stateDict(), not an option to give.
const notMode = (names: string[]) => names.filter((n) => n !== 'trainMode');
registerOptimizer({
  key: 'schedule-free-sgd',
  name: 'Schedule-Free SGD',
  options: notMode(optionsOf(scheduleFreeSGDRule)),
  summary: 'SGD without a schedule: gradients at an interpolation, evaluated at the average (Defazio et al. 2024)',
  build: (p, o) => new ScheduleFreeSGD(p, o),
});
registerOptimizer({
  key: 'schedule-free-adamw',
  name: 'Schedule-Free AdamW',
  options: notMode(optionsOf(scheduleFreeAdamWRule)),
  summary: 'AdamW without a schedule: gradients at an interpolation, evaluated at the average (Defazio et al. 2024)',
  build: (p, o) => new ScheduleFreeAdamW(p, o),
});

/** Registered keys a wrapper may wrap: the per-parameter first-order optimizers (not closure-driven, not wrappers). */
const WRAPS_NOT = new Set(['lbfgs', 'newton', 'sam', 'asam', 'lookahead']);
function wrappable(): string[] {
  return optimizerNames().filter((k) => !WRAPS_NOT.has(k));
}
/** The base optimizer of a wrapper, built strictly from the options that are not the wrapper's own. */
function buildBase(wrapper: string, p: NamedParams, base: unknown, rest: Record<string, unknown>): AnyOptimizer {
  const key = String(base ?? 'sgd').toLowerCase();
  if (!wrappable().includes(key)) {
    throw new RangeError(
      `${wrapper}: invalid base ${JSON.stringify(base)}; expected one of ${wrappable().join(', ')}${didYouMean(String(base), wrappable())}`,
    );
  }
  return createOptimizer(key, p, rest);
}
/**
 * A wrapper accepts its own options, `base`, and every option of any optimizer it can wrap (the base
 * checks them): a getter, so optimizers registered after the wrapper count too.
 */
function registerWrapper(spec: Omit<OptimizerSpec, 'create' | 'options'>, own: string[]): void {
  const options = { get: () => [...new Set([...own, 'base', ...wrappable().flatMap((k) => optimizers.get(k)!.options)])] };
  const full = registerOptimizer(Object.defineProperty({ ...spec }, 'options', options) as Omit<OptimizerSpec, 'create'>);
  Object.defineProperty(full, 'options', options);
}
const samOwn = optionsOf(samRule).filter((n) => n !== 'lr');
const lookaheadOwn = optionsOf(lookaheadRule).filter((n) => n !== 'lr');
const pick = (o: Record<string, unknown>, names: string[]) => {
  const own: Record<string, unknown> = {},
    rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) (names.includes(k) ? own : rest)[k] = v;
  return { own, rest };
};
for (const [key, name, summary, preset] of [
  [
    'sam',
    'SAM',
    'sharpness-aware minimization over a base optimizer (option base, default sgd): two gradients per step (Foret et al. 2021)',
    undefined,
  ],
  [
    'asam',
    'ASAM',
    "adaptive SAM (Kwon et al. 2021): SAM with adaptive, rho 0.5, eta 0.01 (the ASAM repository's settings)",
    { adaptive: true, rho: 0.5, eta: 0.01 },
  ],
] as const) {
  registerWrapper(
    {
      key,
      name,
      summary,
      preset,
      build: (p, o) => {
        const { base, ...all } = o;
        const { own, rest } = pick(all, samOwn);
        return new SAM(buildBase(name, p, base, rest), own);
      },
    },
    samOwn,
  );
}
registerWrapper(
  {
    key: 'lookahead',
    name: 'Lookahead',
    summary: 'k steps of a base optimizer (option base, default sgd), then the slow weights move α toward them (Zhang et al. 2019)',
    build: (p, o) => {
      const { base, ...all } = o;
      const { own, rest } = pick(all, lookaheadOwn);
      return new Lookahead(buildBase('Lookahead', p, base, rest), own);
    },
  },
  lookaheadOwn,
);
// ---- optimizers of 2022–2025: Muon, Adan, Prodigy, D-Adaptation Adam, SOAP ----------------------
import { Muon, muonRule, muonParamGroups } from './muon.js';
import { Adan, adanRule } from './adan.js';
import { Prodigy, prodigyRule } from './prodigy.js';
import { DAdaptAdam, dadaptAdamRule } from './dadapt.js';
import { SOAP, soapRule } from './soap.js';

/**
 * Optimizers that act on weight matrices, with the reason a single vector (a 2-D surface point) is
 * not their domain: the surface runner and the lab say this instead of running them there.
 */
export const MATRIX_ONLY: ReadonlyMap<string, string> = new Map([
  [
    'muon',
    'Muon orthogonalises the update of a weight matrix (2-D or more); a surface point (x, y) is one vector, so there is nothing to orthogonalise — use it on a network (descent train/compare)',
  ],
  [
    'soap',
    'SOAP runs Adam in the eigenbasis of the per-dimension statistics of a weight matrix; on one vector it is Adam (or, with precondition1d, a 2×2 full-matrix Adam) — use it on a network (descent train/compare)',
  ],
]);

function refuseVectorsOnly(key: string, params: NamedParams | unknown[], exempt = false): void {
  const flat = params.length > 0 && Array.isArray(params[0]) && typeof (params[0] as unknown[])[0] === 'string';
  if (!flat || exempt) return;
  if ((params as NamedParams).every(([, t]) => t.shape.length < 2)) throw new RangeError(MATRIX_ONLY.get(key)!);
}

registerOptimizer({
  key: 'muon',
  name: 'Muon',
  options: [...optionsOf(muonRule), 'adamLr', 'adamWeightDecay'],
  summary: 'momentum orthogonalised by Newton–Schulz for hidden weight matrices, AdamW for the rest (Jordan et al. 2024)',
  build: (p, { adamLr, adamWeightDecay, ...o }) => {
    const flat = Array.isArray(p[0]) && typeof (p[0] as unknown[])[0] === 'string';
    const groups = flat
      ? muonParamGroups(p, { adamLr: adamLr as number | undefined, adamWeightDecay: adamWeightDecay as number | undefined })
      : p;
    const opt = new Muon(groups as never, o); // options are checked first, then the domain
    refuseVectorsOnly('muon', p);
    return opt;
  },
});
registerOptimizer({
  key: 'adan',
  name: 'Adan',
  options: optionsOf(adanRule),
  summary: 'adaptive Nesterov momentum from gradient differences (Xie et al. 2022)',
  build: (p, o) => new Adan(p, o),
});
registerOptimizer({
  key: 'prodigy',
  name: 'Prodigy',
  options: optionsOf(prodigyRule),
  summary: 'Adam with a self-estimated step size, lr 1 (Mishchenko & Defazio 2024)',
  build: (p, o) => new Prodigy(p, o),
});
registerOptimizer({
  key: 'dadaptadam',
  name: 'D-Adapt Adam',
  options: optionsOf(dadaptAdamRule),
  summary: 'D-Adaptation: Adam with a step size from a distance estimate, lr 1 (Defazio & Mishchenko 2023)',
  build: (p, o) => new DAdaptAdam(p, o),
});
registerOptimizer({
  key: 'soap',
  name: 'SOAP',
  options: optionsOf(soapRule),
  summary: "Adam in the eigenbasis of Shampoo's preconditioner (Vyas et al. 2024)",
  build: (p, o) => {
    const opt = new SOAP(p, o);
    refuseVectorsOnly('soap', p, o.precondition1d === true);
    return opt;
  },
});
