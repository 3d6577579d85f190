/**
 * The race: every racer's trajectory, computed by the library's own runner (src/surfaces/trajectory.ts)
 * and optimizers (src/optim), cut to the evaluation budget.
 *
 * Fairness: the timeline counts closure calls (function + gradient evaluations). A first-order step
 * costs one; an L-BFGS step with a line search costs as many as it makes, so at timeline position k a
 * racer has moved through exactly the steps whose cumulative cost is ≤ k.
 */
import { trajectory, getSurface, type Surface, type Point } from '../../src/surfaces/index.js';
import { createOptimizer, getOptimizer, MATRIX_ONLY, type NamedParams, type Steppable } from '../../src/optim/index.js';
import { parseSchedule } from '../../src/schedule/index.js';
import { optimizerDefaults as optimizerDefaultsOf, type LabState, type OptValue, type Racer } from './state.js';

export interface Run {
  racer: Racer;
  label: string;
  /** The options given to the library (hand-set ∪ tuned lr). */
  options: Record<string, OptValue>;
  lrSource: 'hand' | 'tuned' | 'one' | 'default' | 'none';
  /** Points after each step (index 0 is the start) whose cumulative cost is within the budget. */
  xs: Float64Array;
  ys: Float64Array;
  fs: Float64Array;
  /** Cumulative evaluations at each point. */
  cost: Int32Array;
  /** The library's verdict for the whole run. */
  diverged: boolean;
  /** Adam-family moments of x and y per step (for the bias-correction plot), when asked. */
  moments?: Moments;
  /** AdaGrad and RMSProp: the step size each coordinate got, η_t / (√s + ε), per step t = 1.. as [x, y]. */
  stepSizes?: number[][];
  error?: string;
}

export interface Moments {
  beta1: number;
  beta2: number;
  /** per step t = 1..: [m, v, m̂, v̂] for the x and y coordinates */
  m: number[][];
  v: number[][];
  mHat: number[][];
  vHat: number[][];
  /** the exact gradient each step used (without noise) */
  g: number[][];
}

/** Options that make closure-driven methods readable on a map: one iteration per step, a line search. */
export const LAB_DEFAULTS: Record<string, Record<string, OptValue>> = {
  lbfgs: { maxIter: 1, lineSearchFn: 'strongWolfe' },
};

export function labelOf(r: Racer): string {
  const name = getOptimizer(r.opt).name;
  const base = r.noisy && r.opt === 'gd' ? 'SGD (noisy GD)' : r.noisy ? `${name} + noise` : name;
  return r.sched ? `${base} · ${r.sched.split(':')[0]}` : base;
}

/** Reference value for "loss above the best": the global minimum, or the lowest value in view. */
export function fRef(s: Surface): number {
  if (s.minima.length) return Math.min(...s.minima.map((m) => m.f));
  let lo = Infinity;
  const n = 80;
  for (let i = 0; i <= n; i++)
    for (let j = 0; j <= n; j++) {
      const x = s.view.x[0] + ((s.view.x[1] - s.view.x[0]) * i) / n;
      const y = s.view.y[0] + ((s.view.y[1] - s.view.y[0]) * j) / n;
      lo = Math.min(lo, s.f(x, y));
    }
  return lo;
}

export interface RunSettings {
  fn: string;
  start: Point;
  budget: number;
  noise: number;
  seed: number;
}

/** One racer's run. `steps` = budget is enough: every step costs at least one evaluation. */
export function runRacer(
  set: RunSettings,
  racer: Racer,
  options: Record<string, OptValue>,
  wantMoments: boolean,
): Omit<Run, 'label' | 'lrSource'> {
  const surface = getSurface(set.fn);
  let opt: Steppable | undefined;
  const factory = (params: NamedParams, ctx: { hessian(): Float64Array }) => {
    const o = { ...options } as Record<string, unknown>;
    // Second-order methods that want the exact Hessian get it from the runner's context.
    if (getOptimizer(racer.opt).options.includes('hessian')) o.hessian = () => ctx.hessian();
    opt = createOptimizer(racer.opt, params, o);
    return opt;
  };
  const moments: Moments | undefined = wantMoments ? { beta1: 0, beta2: 0, m: [], v: [], mHat: [], vHat: [], g: [] } : undefined;
  let prev: Point = set.start;
  const stepSizes: number[][] | undefined = racer.opt === 'adagrad' || racer.opt === 'rmsprop' ? [] : undefined;
  const hyper = { ...optimizerDefaultsOf(racer.opt), ...options } as Record<string, number | boolean>;
  if (moments) {
    const b = (options.betas ?? optimizerDefaultsOf(racer.opt).betas) as number[];
    moments.beta1 = b[0];
    moments.beta2 = b[1];
  }
  // A racer's schedule sets the lr of step t (1-based) to the schedule's value at t − 1, from its own lr.
  let lrAt: ((t: number) => number) | undefined;
  if (racer.sched) {
    const p = parseSchedule(racer.sched, { lr: Number(options.lr ?? optimizerDefaultsOf(racer.opt).lr), total: set.budget });
    if (p.kind !== 'schedule') throw new RangeError(`schedule ${racer.sched}: not a function of the step`);
    lrAt = (t) => p.schedule(t - 1);
  }
  const tr = trajectory(surface, factory, {
    ...(lrAt ? { lrAt } : {}),
    start: set.start,
    steps: set.budget,
    // Every step costs at least one evaluation, and no step may run past the budget: an L-BFGS
    // step with a large maxIter from the URL would otherwise freeze the page inside one step.
    maxEvaluations: set.budget,
    noise: racer.noisy ? set.noise : 0,
    seed: set.seed,
    onStep:
      moments || stepSizes
        ? (r) => {
            if (stepSizes && r.t > 0 && opt) {
              const st = (opt as unknown as { state?: Map<string, Record<string, unknown>> }).state?.get('xy');
              const t = st?.step as number;
              const eps = hyper.eps as number;
              const lr = hyper.lr as number;
              if (racer.opt === 'adagrad') {
                // src/optim/adagrad.ts: clr = η / (1 + (t − 1)·lrDecay), step = clr / (√sum + ε) (ε inside the root if asked)
                const s = st?.sum as Float64Array;
                const clr = lr / (1 + (t - 1) * (hyper.lrDecay as number));
                const den = (i: number) => (hyper.epsInsideSqrt ? Math.sqrt(s[i] + eps) : Math.sqrt(s[i]) + eps);
                if (s) stepSizes.push([clr / den(0), clr / den(1)]);
              } else {
                // src/optim/rmsprop.ts: step = η / (√(v − ḡ²) + ε) when centered, else η / (√v + ε)
                const v = st?.squareAvg as Float64Array;
                const ga = st?.gradAvg as Float64Array | undefined;
                const den = (i: number) => Math.sqrt(v[i] - (hyper.centered && ga ? ga[i] * ga[i] : 0)) + eps;
                if (v) stepSizes.push([lr / den(0), lr / den(1)]);
              }
            }
            if (!moments) return;
            const at = prev;
            prev = r.x;
            if (r.t === 0 || !opt) return;
            const st = (opt as unknown as { state?: Map<string, Record<string, unknown>> }).state?.get('xy');
            const m = st?.expAvg as Float64Array | undefined;
            const v = st?.expAvgSq as Float64Array | undefined;
            const t = st?.step as number | undefined;
            if (!m || !v || typeof t !== 'number') return;
            // The bias corrections as Adam applies them (src/optim/adam.ts): divide by 1 − βᵗ.
            const c1 = 1 - moments.beta1 ** t;
            const c2 = 1 - moments.beta2 ** t;
            moments.m.push([m[0], m[1]]);
            moments.v.push([v[0], v[1]]);
            moments.mHat.push([m[0] / c1, m[1] / c1]);
            moments.vHat.push([v[0] / c2, v[1] / c2]);
            moments.g.push(surface.grad(at[0], at[1]));
          }
        : undefined,
  });
  const pts = tr.trace;
  const xs: number[] = [];
  const ys: number[] = [];
  const fs: number[] = [];
  const cost: number[] = [];
  let c = 0;
  for (const r of pts) {
    c += r.evals ?? 0;
    if (c > set.budget) break;
    xs.push(r.x[0]);
    ys.push(r.x[1]);
    fs.push(r.f);
    cost.push(c);
  }
  return {
    racer,
    options,
    xs: Float64Array.from(xs),
    ys: Float64Array.from(ys),
    fs: Float64Array.from(fs),
    cost: Int32Array.from(cost),
    diverged: tr.diverged && xs.length === pts.length,
    moments,
    stepSizes: stepSizes?.slice(0, Math.max(0, xs.length - 1)),
  };
}

/** Index of the last point a racer has reached at timeline position k (cost ≤ k). */
export function indexAt(run: Run, k: number): number {
  const c = run.cost;
  let lo = 0;
  let hi = c.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (c[mid] <= k) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// ---- tuned learning rates --------------------------------------------------------------------

/** Log grid 1e-4 … 3 (half decades). */
export const LR_GRID = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3];
const tunedCache = new Map<string, number>();

/**
 * The grid lr with the lowest mean log-loss above the reference over the run (fast and stable wins),
 * from the surface's default start, without noise, for the given budget (at most 300 evaluations).
 * A run that leaves ten times the view scores worst where the surface has a minimum, best where it
 * has none (escaping a saddle is the point there).
 */
export function tunedLr(fn: string, opt: string, extra: Record<string, OptValue>): number | undefined {
  const spec = getOptimizer(opt);
  if (!spec.options.includes('lr') || MATRIX_ONLY.has(opt)) return undefined;
  const key = `${fn}|${opt}|${JSON.stringify(extra)}`;
  const hit = tunedCache.get(key);
  if (hit !== undefined) return hit;
  const s = getSurface(fn);
  const ref = fRef(s);
  const span = Math.max(s.view.x[1] - s.view.x[0], s.view.y[1] - s.view.y[0]);
  const limit = Math.max(...s.view.x.map(Math.abs), ...s.view.y.map(Math.abs)) + 10 * span;
  const steps = 200;
  let best = LR_GRID[0];
  let bestScore = Infinity;
  for (const lr of LR_GRID) {
    let score = 0;
    try {
      const tr = trajectory(
        s,
        { name: opt, options: { ...LAB_DEFAULTS[opt], ...extra, lr } as Record<string, unknown> },
        { steps, divergeAbove: limit },
      );
      const floor = -12;
      let used = 0;
      for (const r of tr.trace) {
        used += Math.max(1, r.evals ?? 1);
        if (used > steps) break;
        score += Math.max(floor, Math.log10(Math.max(r.f - ref, 1e-300)));
      }
      const left = Math.max(0, steps - used);
      if (tr.diverged) score += left * (s.minima.length ? 1e3 : floor);
      else score += left * Math.max(floor, Math.log10(Math.max(tr.final.f - ref, 1e-300)));
    } catch {
      score = Infinity;
    }
    if (score < bestScore) {
      bestScore = score;
      best = lr;
    }
  }
  tunedCache.set(key, best);
  return best;
}

/**
 * Methods whose `lr` is a step-length multiplier for a line search or a Newton step (1 = the full
 * step), or of a step size the method estimates itself (Prodigy, D-Adaptation), not a learning
 * rate: they keep their own value in "one lr for all" and are not tuned.
 */
export const OWN_STEP = new Set(['lbfgs', 'newton', 'prodigy', 'dadaptadam']);

/** The options a racer runs with under the current lr mode, and where its lr came from. */
export function effectiveOptions(state: LabState, r: Racer): { options: Record<string, OptValue>; lrSource: Run['lrSource'] } {
  const spec = getOptimizer(r.opt);
  const options: Record<string, OptValue> = { ...LAB_DEFAULTS[r.opt], ...r.options };
  // Muon and SOAP refuse a point (computeRuns reports why): no rate is tuned or shared with them.
  if (!spec.options.includes('lr') || MATRIX_ONLY.has(r.opt)) return { options, lrSource: 'none' };
  if (OWN_STEP.has(r.opt))
    return {
      options: { lr: (optimizerDefaultsOf(r.opt).lr as number) ?? 1, ...options },
      lrSource: r.options.lr !== undefined ? 'hand' : 'default',
    };
  if (state.lrMode === 'one') return { options: { ...options, lr: state.lr }, lrSource: 'one' };
  if (r.options.lr !== undefined) return { options, lrSource: 'hand' };
  const { lr: _drop, ...rest } = options;
  const t = tunedLr(state.fn, r.opt, rest);
  return t === undefined ? { options, lrSource: 'none' } : { options: { ...options, lr: t }, lrSource: 'tuned' };
}

export function computeRuns(state: LabState, wantMoments: boolean): Run[] {
  // A mini-batch of B examples averages B independent gradient errors: the noise's σ shrinks as 1/√B.
  const set: RunSettings = {
    fn: state.fn,
    start: state.start,
    budget: state.budget,
    noise: state.noise / Math.sqrt(state.batch ?? 1),
    seed: state.seed,
  };
  return state.racers.map((racer) => {
    const { options, lrSource } = effectiveOptions(state, racer);
    const label = labelOf(racer);
    try {
      const isAdamLike = wantMoments && Array.isArray({ ...optimizerDefaultsOf(racer.opt), ...options }.betas);
      return { ...runRacer(set, racer, options, isAdamLike), label, lrSource };
    } catch (e) {
      const empty = new Float64Array(0);
      return {
        racer,
        options,
        label,
        lrSource,
        xs: empty,
        ys: empty,
        fs: empty,
        cost: new Int32Array(0),
        diverged: false,
        error: (e as Error).message,
      };
    }
  });
}
