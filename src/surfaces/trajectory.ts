/**
 * Run any optimizer of the library on a 2-D surface and record every step.
 *
 *   trajectory(surface, optimizer, { start?, steps, noise?, seed?, options?, ... }) → Trajectory
 *
 * The point is one float64 parameter tensor of shape [2] named "xy". Every step calls the
 * optimizer's `step(closure)`; the closure evaluates the surface at the current point, sets
 * `xy.grad` to the exact gradient (plus seeded Gaussian noise of scale σ on each component when
 * `noise` is given, the stochastic-gradient picture) and returns f. First-order optimizers call
 * the closure once per step; closure-driven methods (L-BFGS with line search, Newton) may call it
 * several times, and the runner counts the calls: `evals` in each record is the number of closure
 * calls that step made (`evaluations` is the total). That count is the hook for fair comparisons —
 * no method has to expose its own counter, although the record also carries `optimizerEvals`
 * when the optimizer has a numeric `evaluations` (Steppable's counter; ClosureOptimizer's).
 *
 * Second-order methods get the exact Hessian through the factory's context:
 *   trajectory('rosenbrock', (params, ctx) => new Newton(params, { hessian: () => ctx.hessian() }), {...})
 * where `ctx.hessian()` is the Hessian at the current point as a row-major Float64Array(4)
 * (`ctx.surface` and `ctx.point()` are there too).
 *
 * Record t = 0 is the start (no step yet); record t is the point after t steps and f there. The
 * run stops early when the point or f becomes non-finite or |x|, |y| exceed `divergeAbove`
 * (diverged), or — only when `stopAtConvergence` is set — when ‖∇f‖ ≤ `gradTol` (converged).
 * Noise is drawn from `new Rng(seed).fork('surface-noise')`: same seed ⇒ same trajectory.
 */
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../tensor/rng.js';
import { createOptimizer, type Steppable, type NamedParams } from '../optim/registry.js';
import { getSurface, type Surface, type Point, type Minimum } from './functions.js';
import { bool, checkOptions, fn, num, numPair, spec, type SchemaOf } from '../util/options.js';

export interface StepRecord {
  t: number;
  x: Point;
  f: number;
  /** Exact gradient at x (without noise); when `recordGrad` is set. */
  grad?: Point;
  /** Learning rate used by this step (absent at t = 0 and for methods without one). */
  lr?: number;
  /** Closure calls made by this step (function + gradient evaluations). */
  evals?: number;
  /** The optimizer's own evaluation counter after this step, if it exposes one. */
  optimizerEvals?: number;
}

export interface FactoryContext {
  surface: Surface;
  /** The current point (a copy). */
  point(): Point;
  /** Exact Hessian at the current point, row-major [fxx, fxy, fyx, fyy]. */
  hessian(): Float64Array;
}

export type TrajectoryOptimizer =
  | string
  | { name: string; options?: Record<string, unknown> }
  | ((params: NamedParams, ctx: FactoryContext) => Steppable);

/** A run whose |x| or |y| exceeds this (or whose f is not finite) has diverged, unless the run gives its own bound. */
export const DIVERGE_ABOVE = 1e8;

export interface TrajectoryOptions {
  /** Start point; the surface's default start if absent. */
  start?: Point;
  /** Number of optimizer steps (the trace has steps + 1 records unless it stops early). */
  steps: number;
  /** Options of a named optimizer (ignored when `optimizer` is a factory or carries options). */
  options?: Record<string, unknown>;
  /** σ of the Gaussian noise added to each gradient component (0: exact gradients). */
  noise?: number;
  /** Seeds the gradient noise (`new Rng(seed).fork('surface-noise')`; default 0): same seed, same trajectory. */
  seed?: number;
  /** Learning rate of step t (1-based), set through `setLr` before the step (a schedule). */
  lrAt?: (t: number) => number;
  /** Store the exact gradient (without noise) in each record's `grad`. */
  recordGrad?: boolean;
  /** ‖∇f‖ at which the run counts as converged (default 1e-6). */
  gradTol?: number;
  /** End the run at the first point where ‖∇f‖ ≤ gradTol (otherwise it runs all `steps`). */
  stopAtConvergence?: boolean;
  /** |x| or |y| beyond which the run counts as diverged and stops (default DIVERGE_ABOVE). */
  divergeAbove?: number;
  /** Called with each record as it is made, the start point's included. */
  onStep?: (r: StepRecord) => void;
  /**
   * Keep every record in `trace` (default true). False keeps none — memory stays flat however many
   * steps — and `onStep` sees each record as it is made (the CLI streams them).
   */
  keepTrace?: boolean;
  /**
   * Most closure calls for the whole run: the call that would pass it ends the run instead, inside
   * whichever step made it (that step is not recorded and the point goes back to where the step
   * began). A step of L-BFGS can make up to maxEval calls, so this bounds the work a run does
   * whatever the optimizer's options (the lab passes its evaluation budget).
   */
  maxEvaluations?: number;
}

export interface Trajectory {
  surface: string;
  optimizer: string;
  options: Record<string, unknown>;
  trace: StepRecord[];
  /** Steps actually taken. */
  steps: number;
  converged: boolean;
  diverged: boolean;
  /** Total closure calls. */
  evaluations: number;
  /** The run ended because `maxEvaluations` was spent. */
  outOfEvaluations: boolean;
  final: { x: Point; f: number; gradNorm: number };
  /** The known minimum nearest to the end point and the distance to it (if the surface has minima). */
  nearest?: { minimum: Minimum; distance: number };
}

const trajectorySchema: SchemaOf<TrajectoryOptions> = {
  start: numPair,
  steps: num,
  options: spec('an object of optimizer options', (v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
  noise: num,
  seed: num,
  lrAt: fn,
  recordGrad: bool,
  gradTol: num,
  stopAtConvergence: bool,
  divergeAbove: num,
  onStep: fn,
  keepTrace: bool,
  maxEvaluations: num,
};

export function trajectory(surfaceIn: Surface | string, optimizer: TrajectoryOptimizer, run: TrajectoryOptions): Trajectory {
  checkOptions('trajectory', run, trajectorySchema, { required: ['steps'] });
  const surface = typeof surfaceIn === 'string' ? getSurface(surfaceIn) : surfaceIn;
  const steps = run.steps;
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`trajectory: invalid steps ${steps}; expected an integer ≥ 0`);
  const noise = run.noise ?? 0;
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new RangeError(`trajectory: invalid noise ${noise}; expected a finite σ ≥ 0`);
  const start = run.start ?? surface.start;
  if (start.length !== 2 || !start.every(Number.isFinite))
    throw new RangeError(`trajectory: invalid start ${JSON.stringify(start)}; expected two finite numbers`);
  const gradTol = run.gradTol ?? 1e-6;
  const divergeAbove = run.divergeAbove ?? DIVERGE_ABOVE;
  const maxEvaluations = run.maxEvaluations ?? Infinity;
  if (!(maxEvaluations >= 0)) throw new RangeError(`trajectory: invalid maxEvaluations ${maxEvaluations}; expected a number ≥ 0`);

  const xy = new Tensor(new Float64Array(start), [2], true);
  xy.name = 'xy';
  const params: NamedParams = [['xy', xy]];
  const ctx: FactoryContext = {
    surface,
    point: () => [xy.data[0], xy.data[1]],
    hessian: () => {
      const [[a, b], [c, d]] = surface.hessian(xy.data[0], xy.data[1]);
      return new Float64Array([a, b, c, d]);
    },
  };

  let name: string;
  let options: Record<string, unknown>;
  let opt: Steppable;
  if (typeof optimizer === 'function') {
    opt = optimizer(params, ctx);
    name = (opt as { rule?: { name: string } }).rule?.name ?? opt.constructor?.name ?? 'custom';
    options = run.options ?? {};
  } else {
    name = typeof optimizer === 'string' ? optimizer : optimizer.name;
    options = (typeof optimizer === 'string' ? run.options : (optimizer.options ?? run.options)) ?? {};
    opt = createOptimizer(name, params, options);
  }

  const rng = new Rng(run.seed ?? 0).fork('surface-noise');
  let calls = 0;
  const closure = (): number => {
    if (calls >= maxEvaluations) throw outOfEvaluations;
    calls++;
    const x = xy.data[0];
    const y = xy.data[1];
    const g = surface.grad(x, y);
    let gx = g[0];
    let gy = g[1];
    if (noise > 0) {
      gx += noise * rng.normal();
      gy += noise * rng.normal();
    }
    xy.grad = new Tensor(new Float64Array([gx, gy]), [2]);
    return surface.f(x, y);
  };

  const trace: StepRecord[] = [];
  const record = (t: number, extra: Partial<StepRecord>): StepRecord => {
    const x: Point = [xy.data[0], xy.data[1]];
    const r: StepRecord = { t, x, f: surface.f(x[0], x[1]), ...extra };
    if (run.recordGrad) r.grad = surface.grad(x[0], x[1]);
    if (run.keepTrace !== false) trace.push(r);
    run.onStep?.(r);
    return r;
  };
  const isConverged = (): boolean => {
    const [gx, gy] = surface.grad(xy.data[0], xy.data[1]);
    return Math.hypot(gx, gy) <= gradTol;
  };
  const isDiverged = (r: StepRecord): boolean =>
    !Number.isFinite(r.f) || !(Math.abs(r.x[0]) <= divergeAbove) || !(Math.abs(r.x[1]) <= divergeAbove);

  let diverged = isDiverged(record(0, {}));
  let taken = 0;
  let spent = false;
  for (let t = 1; t <= steps && !diverged; t++) {
    if (run.stopAtConvergence && isConverged()) break;
    if (run.lrAt) {
      if (!opt.setLr) throw new RangeError(`trajectory: lrAt given but optimizer ${name} has no setLr`);
      opt.setLr(run.lrAt(t));
    }
    const lr = opt.lr;
    const before = calls;
    opt.zeroGrad?.();
    const x0 = [xy.data[0], xy.data[1]];
    try {
      opt.step(closure);
    } catch (e) {
      if (e !== outOfEvaluations) throw e;
      xy.data[0] = x0[0];
      xy.data[1] = x0[1];
      spent = true;
      break;
    }
    taken = t;
    const extra: Partial<StepRecord> = { evals: calls - before };
    if (typeof lr === 'number') extra.lr = lr;
    const own = ownEvals(opt);
    if (own !== undefined) extra.optimizerEvals = own;
    diverged = isDiverged(record(t, extra));
  }

  const x: Point = [xy.data[0], xy.data[1]];
  const [gx, gy] = surface.grad(x[0], x[1]);
  const gradNorm = Math.hypot(gx, gy);
  const out: Trajectory = {
    surface: surface.name,
    optimizer: name,
    options,
    trace,
    steps: taken,
    converged: !diverged && gradNorm <= gradTol,
    diverged,
    evaluations: calls,
    outOfEvaluations: spent,
    final: { x, f: surface.f(x[0], x[1]), gradNorm },
  };
  if (surface.minima.length && !diverged) {
    let best = surface.minima[0];
    let bd = Infinity;
    for (const m of surface.minima) {
      const d = Math.hypot(x[0] - m.x[0], x[1] - m.x[1]);
      if (d < bd) {
        bd = d;
        best = m;
      }
    }
    out.nearest = { minimum: best, distance: bd };
  }
  return out;
}

/** Thrown by the closure when `maxEvaluations` is spent; caught by the runner only. */
const outOfEvaluations = new Error('trajectory: evaluation budget spent');

function ownEvals(opt: Steppable): number | undefined {
  return typeof opt.evaluations === 'number' ? opt.evaluations : undefined;
}
