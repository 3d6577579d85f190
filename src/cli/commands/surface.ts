/**
 * descent surface: run one optimizer on a 2-D test function and print its trajectory.
 *
 * With --json: one object {"fn", "optimizer", "options", "trace": [{"t", "x": [x, y], "f"}, ...]},
 * the trace starting with t = 0 at the start point, one entry per step (fewer if it diverged).
 * Without: a table of the path (all steps when few, else a sample) and how it ended.
 */
import type { Command, Io } from '../command.js';
import { UsageError, type OptSpec, type Parsed } from '../args.js';
import { createOptimizer, getOptimizer, optimizerNames, type NamedParams } from '../../optim/registry.js';
import { surfaces, surfaceNames, getSurface } from '../../surfaces/functions.js';
import { DIVERGE_ABOVE, trajectory, type StepRecord, type FactoryContext } from '../../surfaces/trajectory.js';
import { LBFGS_LIMITS } from '../../optim/lbfgs.js';
import { SEED_MAX } from '../../tensor/rng.js';
import { resolveName, splitWrapper } from '../train-checks.js';
import { hyperParameterFlags, optimizerBagFrom, sharedOptimizerFlags } from '../optimizer-flags.js';

/** CLI flag → optimizer option (camelCase, PyTorch's names). Shared with `descent compare`. */
export const surfaceOptimizerOptions: OptSpec[] = [
  { name: 'lr', type: 'number', min: 0, help: "learning rate η (default: the optimizer's own)" },
  { name: 'momentum', type: 'number', min: 0, help: 'momentum μ (sgd, rmsprop; 0.9 for momentum/nesterov unless given)' },
  { name: 'dampening', type: 'number', help: 'momentum dampening τ (sgd)' },
  { name: 'nesterov', type: 'boolean', help: 'Nesterov momentum (sgd)' },
  { name: 'weight-decay', type: 'number', min: 0, help: 'weight decay λ (L2 in the gradient; decoupled for adamw and lion)' },
  // Adam, RMSprop, Adagrad, Adadelta, NAdam, RAdam, Rprop, ASGD, Adafactor, Prodigy
  ...hyperParameterFlags,
  { name: 'max-iter', type: 'int', min: 1, max: LBFGS_LIMITS.maxIter, help: "iterations per step (lbfgs; default 20, PyTorch's)" },
  { name: 'history-size', type: 'int', min: 1, max: LBFGS_LIMITS.historySize, help: 'curvature pairs kept (lbfgs; default 100)' },
  {
    name: 'line-search',
    type: 'string',
    choices: ['none', 'strong-wolfe', 'armijo'],
    help: 'line search (lbfgs: none or strong-wolfe, default none; newton: default armijo)',
  },
  { name: 'hessian-free', type: 'boolean', help: 'Newton by conjugate gradients on Hessian-vector products (newton)' },
  { name: 'damping', type: 'number', min: 0, help: 'λ added to the Hessian (newton; default 0)' },
  // Schedule-Free, SAM/ASAM, Lookahead, Muon, Prodigy, SOAP
  ...sharedOptimizerFlags,
];

/** Most steps of `descent surface` (and `descent schedule`): a million take about two seconds. */
export const MAX_SURFACE_STEPS = 1_000_000;
/** Lines per write when streaming. */
const CHUNK = 1000;

/** The rows the text table shows of a path of n records: all when few, else the first 11 and tenths. */
function sampleIndexes(n: number): Set<number> {
  const show = new Set<number>();
  if (n <= 25) for (let i = 0; i < n; i++) show.add(i);
  else {
    for (let i = 0; i <= 10; i++) show.add(i);
    for (let k = 1; k <= 10; k++) show.add(Math.round((k * (n - 1)) / 10));
  }
  return show;
}

/** The optimizer options given on the command line; one that does not apply to `name` is an error. */
export function optimizerOptionsFrom(name: string, o: Parsed): Record<string, unknown> {
  return optimizerBagFrom(surfaceOptimizerOptions, name, o);
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-4 || a >= 1e6) ? v.toExponential(6) : v.toFixed(8);
}

export const surfaceCommand: Command = {
  name: 'surface',
  summary: 'run an optimizer on a 2-D test function (bowl, rosenbrock, …) and print its path',
  options: [
    { name: 'fn', type: 'string', default: 'rosenbrock', choices: surfaceNames, help: 'the test function' },
    { name: 'optimizer', type: 'string', default: 'sgd', metavar: 'NAME', help: 'optimizer (see below)' },
    { name: 'start', type: 'numbers', count: 2, metavar: 'X,Y', help: "start point (default: the function's own)" },
    {
      name: 'steps',
      type: 'int',
      min: 0,
      max: MAX_SURFACE_STEPS,
      default: 100,
      help: 'optimizer steps (the path is printed as it runs, never held in memory)',
    },
    ...surfaceOptimizerOptions,
    { name: 'noise', type: 'number', min: 0, help: 'σ of Gaussian noise added to each gradient component (stochastic gradients)' },
    { name: 'seed', type: 'int', min: 0, max: SEED_MAX, default: 0, help: 'seed of the gradient noise' },
    { name: 'grad-tol', type: 'number', gt: 0, default: 1e-6, help: 'converged when ‖∇f‖ falls to this' },
    { name: 'json', type: 'boolean', help: 'print {"fn","optimizer","options","trace":[{"t","x":[x,y],"f"},…]}' },
  ] satisfies OptSpec[],
  get helpExtra() {
    return [
      `Functions: ${Object.values(surfaces)
        .map((s) => `${s.name} = ${s.formula}`)
        .join('; ')}.`,
      `Optimizers: ${optimizerNames().join(', ')} (momentum and nesterov are SGD with momentum 0.9 unless --momentum is given).`,
      'Example: descent surface --fn rosenbrock --optimizer adam --lr 0.02 --start -1.2,1 --steps 3000',
    ].join('\n');
  },
  async run(o: Parsed, io: Io) {
    const fn = getSurface(o.fn);
    splitWrapper(o);
    const key = resolveName('optimizer', 'optimizer', o.optimizer, optimizerNames());
    const given = optimizerOptionsFrom(key, o);
    const options = { ...getOptimizer(key).preset, ...given };
    // The path is streamed: records are printed (JSON) or sampled (text) as they come, so memory
    // stays flat up to --steps MAX_SURFACE_STEPS; output goes out in chunks of CHUNK lines.
    const buffer: string[] = [];
    const flush = () => {
      if (buffer.length) io.out(buffer.join('\n'));
      buffer.length = 0;
    };
    const planned = o.steps + 1;
    const want = sampleIndexes(planned);
    const kept = new Map<number, StepRecord>();
    let first: StepRecord | undefined;
    let last: StepRecord | undefined;
    let firstConverged = -1;
    if (o.json)
      io.out(`{"fn":${JSON.stringify(fn.name)},"optimizer":${JSON.stringify(key)},"options":${JSON.stringify(options)},"trace":[`);
    const onStep = (s: StepRecord) => {
      if (o.json) {
        buffer.push((s.t > 0 ? ',' : '') + JSON.stringify({ t: s.t, x: s.x, f: s.f, evals: s.evals }));
        if (buffer.length >= CHUNK) flush();
        return;
      }
      first ??= s;
      last = s;
      if (want.has(s.t)) kept.set(s.t, s);
      if (firstConverged < 0 && Math.hypot(...fn.grad(s.x[0], s.x[1])) <= o.gradTol) firstConverged = s.t;
    };
    let r;
    try {
      // Newton takes the surface's exact Hessian through the runner's context.
      const opt =
        key === 'newton'
          ? (p: NamedParams, ctx: FactoryContext) => createOptimizer(key, p, { ...given, hessian: () => ctx.hessian() })
          : key;
      r = trajectory(fn, opt, {
        start: o.start,
        steps: o.steps,
        options: given,
        noise: o.noise,
        seed: o.seed,
        gradTol: o.gradTol,
        onStep,
        keepTrace: false,
      });
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
    if (o.json) {
      flush();
      io.out(']}');
      return;
    }
    io.out(`${fn.title}: f(x, y) = ${fn.formula}`);
    io.out(
      `optimizer: ${getOptimizer(key).name} ${JSON.stringify(options)}, start (${first!.x.join(', ')}), ${o.steps} steps${o.noise ? `, gradient noise σ = ${o.noise} (seed ${o.seed})` : ''}`,
    );
    // A run that stopped early (diverged) shows the planned rows it reached and its last one.
    kept.set(last!.t, last!);
    io.out(`${'t'.padStart(7)}  ${'x'.padStart(16)}  ${'y'.padStart(16)}  ${'f'.padStart(16)}  ${'|∇f|'.padStart(14)}`);
    let prev = -1;
    for (const i of [...kept.keys()].sort((a, b) => a - b)) {
      if (prev >= 0 && i !== prev + 1) io.out(`${'…'.padStart(7)}`);
      const s = kept.get(i)!;
      const [gx, gy] = fn.grad(s.x[0], s.x[1]);
      io.out(
        `${String(s.t).padStart(7)}  ${fmt(s.x[0]).padStart(16)}  ${fmt(s.x[1]).padStart(16)}  ${fmt(s.f).padStart(16)}  ${fmt(Math.hypot(gx, gy)).padStart(14)}`,
      );
      prev = i;
    }
    const where = r.nearest
      ? `; nearest minimum (${r.nearest.minimum.x.join(', ')}) f = ${r.nearest.minimum.f}${r.nearest.minimum.global ? ' (global)' : ' (local)'}, distance ${fmt(r.nearest.distance)}`
      : '';
    if (r.diverged) {
      const [x, y] = r.final.x;
      const bound = DIVERGE_ABOVE.toExponential().replace('+', '');
      const why = Number.isFinite(r.final.f) ? `|x| or |y| above ${bound} (x = ${fmt(x)}, y = ${fmt(y)})` : `f = ${r.final.f}, not finite`;
      io.out(`diverged at step ${r.steps}: ${why}`);
    } else if (r.converged) {
      io.out(
        `converged: ‖∇f‖ ≤ ${o.gradTol} from step ${firstConverged}, ended at (${r.final.x.map(fmt).join(', ')}) f = ${fmt(r.final.f)} after ${r.steps} steps${where}`,
      );
    } else
      io.out(
        `not converged after ${r.steps} steps: ended at (${r.final.x.map(fmt).join(', ')}) f = ${fmt(r.final.f)}, ‖∇f‖ = ${fmt(r.final.gradNorm)}${where}`,
      );
  },
};
