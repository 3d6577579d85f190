/**
 * Newton's method with Levenberg–Marquardt damping and a line search; exact or Hessian-free.
 *
 * Each step minimises the quadratic Taylor model J(θ + d) ≈ J + gᵀd + ½dᵀHd:
 *
 *   exact        H from the autograd (n Hessian-vector products, or a `hessian` callback), then
 *                (H + λI) d = −g solved by Cholesky. λ is the smallest of λ₀, λ₀ + τ, λ₀ + 2τ, λ₀ + 4τ, …
 *                (τ = −min Hᵢᵢ + β when some Hᵢᵢ ≤ 0, β = 10⁻³·mean|Hᵢᵢ|) for which the
 *                factorisation succeeds — Nocedal & Wright's "Cholesky with added multiple of the
 *                identity" (Algorithm 3.3). H + λI is then positive definite, so d is a descent
 *                direction even where H is indefinite (at a saddle).
 *   hessianFree  (H + λ₀I) d = −g by conjugate gradients on Hessian-vector products, stopped when
 *                ‖r‖ ≤ min(cgTol, √‖g‖)·‖g‖ (superlinear forcing, Dembo–Eisenstat–Steihaug; cgTol
 *                defaults to 0.01, not the textbook 0.5, which on Rosenbrock's valley stops CG after
 *                one product and crawls like steepest descent), after cgMaxIter products, or at the
 *                first direction of non-positive curvature: then the iterate so far — Nocedal &
 *                Wright §7.1 — or, if −g itself has negative curvature, CG again with λ raised by
 *                twice that curvature (the Hessian reflected along −g).
 *
 *   θ ← θ + t·d  with t from the line search:
 *     'armijo'      t = lr, lr/2, lr/4, … until J(θ + t·d) ≤ J + c1·t·gᵀd (Wolfe's first condition);
 *                   if no trial passes, the step is not taken
 *     'strongWolfe' PyTorch's strong-Wolfe search (the one L-BFGS uses), from t = lr
 *     null          the full step t = lr; a step that does not lower J is rejected and λ grows ×10
 *                   (Levenberg–Marquardt), λ shrinks ÷10 after a success
 *
 * So J never increases. One step() is one Newton iteration (unlike LBFGS, whose step runs maxIter).
 *
 * The closure: return the loss as a Tensor with its graph (no backward needed — Newton takes the
 * gradient itself, with createGraph, and differentiates it again). With the `hessian` option the
 * closure may instead be PyTorch's kind (sets .grad, returns a number): the surfaces pass their
 * exact 2×2 Hessians that way. Counters: funcEvals (closure calls), gradEvals, hessEvals (full
 * Hessians formed) and hvpEvals (Hessian-vector products, n per autograd Hessian).
 */
import { Tensor } from '../tensor/tensor.js';
import { grad as autoGrad, withGrad } from '../autograd/engine.js';
import { ClosureOptimizer, check, type Closure, type Method, type OptimizerStateDict, type ParamsInput } from './optimizer.js';
import { checkOptions, fn, num, nullable, str } from '../util/options.js';
import { Curvature } from './hvp.js';
import { armijo, strongWolfe } from './linesearch.js';
import { dot, maxAbs } from './vec.js';

export interface NewtonOptions {
  /** First trial step length (1: the full Newton step). */
  lr: number;
  mode: 'exact' | 'hessianFree';
  /** λ₀ ≥ 0, always added to the Hessian. */
  damping: number;
  /** 'strong_wolfe' (PyTorch's spelling of L-BFGS's search) and 'strong-wolfe' (the CLI's) are the same as 'strongWolfe'. */
  lineSearch: 'armijo' | 'strongWolfe' | 'strong_wolfe' | 'strong-wolfe' | null;
  /** Sufficient-decrease constant of the line search. */
  c1: number;
  /** Trials of the line search (or λ increases without one). */
  maxLs: number;
  /** No step when max|g| ≤ toleranceGrad. */
  toleranceGrad: number;
  /** Hessian-free: most Hessian-vector products per step. */
  cgMaxIter: number;
  /** Hessian-free: largest relative residual at which CG stops. */
  cgTol: number;
  /** The Hessian at the current parameters (row-major n×n) instead of the autograd's; hessianFree multiplies by it. */
  hessian: null | (() => ArrayLike<number>);
}

const nonNeg = (v: number) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const posInt = (v: number) => Number.isInteger(v) && v >= 1;

/**
 * The largest sizes Newton accepts. `exactParams`: the exact mode stores the n×n Hessian in float64
 * and factors a copy, 16·n² bytes (1.6 GB at 10 000 parameters); beyond it use the Hessian-free
 * mode, which keeps a few vectors of n. `maxLs` and `cgMaxIter` bound the work of one step.
 */
export const NEWTON_LIMITS = Object.freeze({ exactParams: 10_000, maxLs: 1000, cgMaxIter: 100_000 });

/** Newton's name and options (a closure method: its step is Newton.step(closure)). */
export const newtonRule: Method<NewtonOptions> = {
  name: 'Newton',
  defaults: {
    lr: 1,
    mode: 'exact',
    damping: 0,
    lineSearch: 'armijo',
    c1: 1e-4,
    maxLs: 40,
    toleranceGrad: 1e-12,
    cgMaxIter: 100,
    cgTol: 1e-2,
    hessian: null,
  },
  schema: {
    lr: num,
    mode: str,
    damping: num,
    lineSearch: nullable(str),
    c1: num,
    maxLs: num,
    toleranceGrad: num,
    cgMaxIter: num,
    cgTol: num,
    hessian: nullable(fn),
  },
  validate(h) {
    check('Newton', 'lr', h.lr, nonNeg(h.lr) && h.lr > 0, '> 0');
    check('Newton', 'mode', h.mode, h.mode === 'exact' || h.mode === 'hessianFree', "'exact' or 'hessianFree'");
    check('Newton', 'damping', h.damping, nonNeg(h.damping), '≥ 0');
    check(
      'Newton',
      'lineSearch',
      h.lineSearch,
      h.lineSearch === null || h.lineSearch === 'armijo' || h.lineSearch === 'strongWolfe',
      "'armijo', 'strongWolfe' or null",
    );
    check('Newton', 'c1', h.c1, h.c1 > 0 && h.c1 < 1, 'in (0, 1)');
    check('Newton', 'maxLs', h.maxLs, posInt(h.maxLs) && h.maxLs <= NEWTON_LIMITS.maxLs, `an integer from 1 to ${NEWTON_LIMITS.maxLs}`);
    check('Newton', 'toleranceGrad', h.toleranceGrad, nonNeg(h.toleranceGrad), '≥ 0');
    check(
      'Newton',
      'cgMaxIter',
      h.cgMaxIter,
      posInt(h.cgMaxIter) && h.cgMaxIter <= NEWTON_LIMITS.cgMaxIter,
      `an integer from 1 to ${NEWTON_LIMITS.cgMaxIter}`,
    );
    check('Newton', 'cgTol', h.cgTol, h.cgTol > 0 && h.cgTol < 1, 'in (0, 1)');
    check('Newton', 'hessian', typeof h.hessian, h.hessian === null || typeof h.hessian === 'function', 'null or a function');
  },
};

/** What one step did (also the last entry of `trace`). */
export interface NewtonStepInfo {
  loss: number;
  gradNorm: number;
  /** Step length taken (0: no step). */
  t: number;
  /** Damping λ used for the direction. */
  lambda: number;
  /** Hessian-free: CG iterations. */
  cgIters: number;
  funcEvals: number;
  gradEvals: number;
  hvpEvals: number;
  /**
   * The gradient was above toleranceGrad but the step did not lower the loss (no trial point was
   * accepted, or the accepted one has the same loss in the working precision). The parameters are
   * then where they were, or differ by rounding only, so with a line search the next step repeats
   * this one: Newton is stuck there. Drivers should stop and say so (fitFullBatch does).
   */
  stalled: boolean;
}

/** Cholesky factor in place (lower triangle of a row-major n×n); false if not positive definite. */
export function cholesky(A: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j];
    for (let k = 0; k < j; k++) s -= A[j * n + k] * A[j * n + k];
    if (!(s > 0) || !Number.isFinite(s)) return false;
    const ljj = Math.sqrt(s);
    A[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let v = A[i * n + j];
      const ri = i * n;
      const rj = j * n;
      for (let k = 0; k < j; k++) v -= A[ri + k] * A[rj + k];
      A[ri + j] = v / ljj;
    }
  }
  return true;
}

/** Solve L·Lᵀ·x = b given the factor from cholesky(). */
export function choleskySolve(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let v = x[i];
    for (let k = 0; k < i; k++) v -= L[i * n + k] * x[k];
    x[i] = v / L[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let v = x[i];
    for (let k = i + 1; k < n; k++) v -= L[k * n + i] * x[k];
    x[i] = v / L[i * n + i];
  }
  return x;
}

export class Newton extends ClosureOptimizer<NewtonOptions> {
  private readonly params: Tensor[];
  private readonly n: number;
  funcEvals = 0;
  gradEvals = 0;
  hessEvals = 0;
  hvpEvals = 0;
  nIter = 0;
  /** Levenberg–Marquardt λ carried between steps (line search null only). */
  private lmLambda: number;
  /** One record per step. */
  readonly trace: NewtonStepInfo[] = [];

  constructor(params: ParamsInput<NewtonOptions>, options: Partial<NewtonOptions> = {}) {
    checkOptions(newtonRule.name, options, newtonRule.schema);
    // The CLI's spellings ('strong-wolfe', 'none', 'hessian-free') and PyTorch's ('strong_wolfe').
    const ls = options.lineSearch as string | null | undefined;
    const lineSearch = ls === 'none' ? null : ls === 'strong-wolfe' || ls === 'strong_wolfe' ? 'strongWolfe' : options.lineSearch;
    // (the check above let 'none' and 'hessian-free' through as strings; validate() then sees the library's names)
    const mode = (options.mode as string) === 'hessian-free' ? 'hessianFree' : options.mode;
    super(newtonRule, params, { ...options, lineSearch, mode });
    if (this.paramGroups.length !== 1) throw new RangeError('Newton: one parameter group only (the Hessian couples all parameters)');
    this.params = this.paramGroups[0].params;
    this.n = this.params.reduce((n, p) => n + p.size, 0);
    this.lmLambda = this.paramGroups[0].damping;
    if (this.paramGroups[0].mode === 'exact' && this.n > NEWTON_LIMITS.exactParams) throw new RangeError(exactTooLarge(this.n));
  }

  /** Evaluations a first-order method would be charged for the same work: closure calls + HVPs. */
  get evaluations(): number {
    return this.funcEvals + this.hvpEvals;
  }

  private value(closure: Closure): { f: number; loss: Tensor | null } {
    this.funcEvals++;
    const v = withGrad(true, closure);
    if (typeof v === 'number') return { f: v, loss: null };
    if (v instanceof Tensor && v.size === 1) return { f: v.data[0], loss: v };
    throw new TypeError(
      `Newton: the closure must return the loss (a one-element Tensor, or a number with the hessian option), got ${v instanceof Tensor ? v.toString() : typeof v}`,
    );
  }

  /** Gradient at the current parameters from the closure's result: autograd or the .grad it set. */
  private gradientOf(loss: Tensor | null): Float64Array {
    this.gradEvals++;
    const g = new Float64Array(this.n);
    let off = 0;
    if (loss && loss.requiresGrad) {
      const gs = autoGrad(loss, this.params, { allowUnused: true });
      gs.forEach((gi, i) => {
        if (gi) g.set(gi.data, off);
        off += this.params[i].size;
      });
    } else {
      for (const p of this.params) {
        if (p.grad) g.set(p.grad.data, off);
        off += p.size;
      }
    }
    return g;
  }

  private getX(): Float64Array {
    const x = new Float64Array(this.n);
    let off = 0;
    for (const p of this.params) {
      x.set(p.data, off);
      off += p.size;
    }
    return x;
  }

  private setX(x0: Float64Array, t: number, d: Float64Array): void {
    let off = 0;
    for (const p of this.params) {
      const v = p.data;
      for (let i = 0; i < v.length; i++) v[i] = x0[off + i] + t * d[off + i];
      off += v.length;
    }
  }

  override step(closure: Closure): number {
    if (typeof closure !== 'function') throw new TypeError('Newton: step(closure) needs a closure that returns the loss');
    const h = this.paramGroups[0];
    const n = this.n;
    const before = { f: this.funcEvals, g: this.gradEvals, v: this.hvpEvals };
    const { f: f0, loss } = this.value(closure);
    if (!Number.isFinite(f0)) throw new RangeError(`Newton: the loss is ${f0} at the current parameters`);

    let curv: Curvature | null = null;
    let g: Float64Array;
    if (h.hessian) {
      g = this.gradientOf(loss);
    } else {
      if (!loss || !loss.requiresGrad)
        throw new TypeError(
          'Newton: the closure must return the loss as a Tensor that depends on the parameters (or pass a hessian option)',
        );
      curv = new Curvature(loss, this.params);
      this.gradEvals++;
      g = curv.grad;
    }
    this.nIter++;
    const info: NewtonStepInfo = {
      loss: f0,
      gradNorm: Math.sqrt(dot(g, g)),
      t: 0,
      lambda: 0,
      cgIters: 0,
      funcEvals: 0,
      gradEvals: 0,
      hvpEvals: 0,
      stalled: false,
    };
    const finish = () => {
      if (curv) this.hvpEvals += curv.hvpCount;
      info.funcEvals = this.funcEvals - before.f;
      info.gradEvals = this.gradEvals - before.g;
      info.hvpEvals = this.hvpEvals - before.v;
      this.trace.push(info);
      return f0;
    };
    if (maxAbs(g) <= h.toleranceGrad) return finish();

    // ---- direction solver for a given λ
    let solve: (lambda: number) => Float64Array;
    let lambda0: number;
    if (h.mode === 'exact') {
      let H: Float64Array;
      if (h.hessian) {
        const given = h.hessian();
        if (given.length !== n * n)
          throw new RangeError(`Newton: the hessian option returned ${given.length} values, expected ${n}×${n} = ${n * n}`);
        H = Float64Array.from(given);
      } else {
        H = (curv as Curvature).hessian();
      }
      this.hessEvals++;
      let minDiag = Infinity;
      let meanDiag = 0;
      for (let i = 0; i < n; i++) {
        minDiag = Math.min(minDiag, H[i * n + i]);
        meanDiag += Math.abs(H[i * n + i]) / n;
      }
      const beta = 1e-3 * (meanDiag > 0 ? meanDiag : 1);
      const shift = minDiag > 0 ? 0 : -minDiag + beta;
      solve = (lambda) => {
        // Smallest λ' in λ, λ + τ, λ + 2τ, λ + 4τ, … making H + λ'I positive definite.
        let extra = 0;
        for (let k = 0; k < 60; k++) {
          const A = H.slice();
          for (let i = 0; i < n; i++) A[i * n + i] += lambda + extra;
          if (cholesky(A, n)) {
            info.lambda = lambda + extra;
            const d = choleskySolve(A, n, g);
            for (let i = 0; i < n; i++) d[i] = -d[i];
            return d;
          }
          extra = extra === 0 ? Math.max(shift, beta) : extra * 2;
        }
        info.lambda = Infinity;
        return g.map((v) => -v);
      };
      lambda0 = h.damping;
    } else {
      // Products from the autograd, or from the given matrix (the surfaces' 2×2 Hessians).
      let c: HvpOracle;
      if (curv) c = curv;
      else {
        const H = Float64Array.from((h.hessian as () => ArrayLike<number>)());
        if (H.length !== n * n)
          throw new RangeError(`Newton: the hessian option returned ${H.length} values, expected ${n}×${n} = ${n * n}`);
        const m: HvpOracle = {
          hvpCount: 0,
          hvp: (v) => {
            m.hvpCount++;
            this.hvpEvals++;
            const out = new Float64Array(n);
            for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i] += H[i * n + j] * v[j];
            return out;
          },
        };
        c = m;
      }
      const tol = Math.min(h.cgTol, Math.sqrt(info.gradNorm)) * info.gradNorm;
      solve = (lambda) => {
        // Negative curvature along −g itself: shift λ so that direction's curvature becomes
        // |pᵀ(H + λI)p|/pᵀp (the Hessian reflected there) and solve again; −g only if that fails.
        let lam = lambda;
        for (let attempt = 0; attempt < 5; attempt++) {
          info.lambda = lam;
          const res = truncatedCG(c, g, lam, h.cgMaxIter, tol);
          info.cgIters += res.iters;
          if (res.firstCurvature === undefined) return res.d;
          lam += 2 * Math.abs(res.firstCurvature) + 1e-12;
        }
        return g.map((v) => -v);
      };
      lambda0 = h.damping;
    }

    // ---- step length
    const x0 = this.getX();
    const evalF = (t: number, d: Float64Array) => {
      this.setX(x0, t, d);
      return this.value(closure).f;
    };
    let t = 0;
    let fNew = f0;
    if (h.lineSearch === null) {
      let lambda = Math.max(this.lmLambda, h.damping);
      for (let k = 0; k < h.maxLs; k++) {
        const d = descent(solve(lambda), g);
        const f = evalF(h.lr, d);
        if (f <= f0) {
          t = h.lr;
          fNew = f;
          this.lmLambda = Math.max(lambda / 10, h.damping);
          break;
        }
        // λ is the Levenberg–Marquardt part only; the shift making H + λI definite is recomputed.
        lambda = lambda > 0 ? lambda * 10 : Math.max(info.lambda, 1e-3);
        this.lmLambda = lambda;
      }
      if (t === 0) this.setX(x0, 0, g);
    } else {
      const d = descent(solve(lambda0), g);
      const gtd = dot(g, d);
      if (h.lineSearch === 'armijo') {
        const res = armijo((tt) => evalF(tt, d), h.lr, f0, gtd, { c1: h.c1, maxLs: h.maxLs });
        t = res.t;
        fNew = res.f;
      } else {
        const res = strongWolfe(
          (tt) => {
            this.setX(x0, tt, d);
            const { f, loss: l } = this.value(closure);
            return { f, g: this.gradientOf(l) };
          },
          h.lr,
          d,
          f0,
          g,
          gtd,
          { c1: h.c1, maxLs: h.maxLs },
        );
        t = res.f <= f0 ? res.t : 0;
        if (t > 0) fNew = res.f;
      }
      this.setX(x0, t, d);
    }
    info.t = t;
    info.stalled = !(fNew < f0);
    return finish();
  }

  override stateDict(): OptimizerStateDict {
    const sd = super.stateDict();
    const { hessian: _h, ...rest } = sd.paramGroups[0];
    sd.paramGroups = [rest];
    sd.state = {
      [this.nameOf(this.params[0])]: {
        nIter: this.nIter,
        funcEvals: this.funcEvals,
        gradEvals: this.gradEvals,
        hessEvals: this.hessEvals,
        hvpEvals: this.hvpEvals,
        lambda: this.lmLambda,
      },
    };
    return sd;
  }

  override loadStateDict(sd: OptimizerStateDict): void {
    if (sd.optimizer !== 'Newton') throw new Error(`loadStateDict: state is for ${sd.optimizer}, this optimizer is Newton`);
    const e = Object.values(sd.state)[0] ?? {};
    const num = (k: string) => (typeof e[k] === 'number' ? (e[k] as number) : 0);
    this.nIter = num('nIter');
    this.funcEvals = num('funcEvals');
    this.gradEvals = num('gradEvals');
    this.hessEvals = num('hessEvals');
    this.hvpEvals = num('hvpEvals');
    this.lmLambda = num('lambda');
    const { params: _p, ...hyper } = (sd.paramGroups[0] ?? {}) as Record<string, unknown>;
    const merged = { ...this.paramGroups[0], ...hyper };
    newtonRule.validate(merged);
    Object.assign(this.paramGroups[0], hyper);
  }
}

/** Why the exact mode refuses n parameters, in the library's terms. */
export function exactTooLarge(n: number): string {
  const gb = (16 * n * n) / 1e9;
  return `Newton: the exact Hessian of ${n} parameters has ${n}² = ${(n * n).toExponential(2)} entries (${gb >= 1 ? `${gb.toFixed(0)} GB` : `${(gb * 1000).toFixed(0)} MB`} with its factor), more than the exact mode allows (${NEWTON_LIMITS.exactParams} parameters); use mode 'hessianFree' (hessianFree: true), which multiplies by the Hessian without forming it`;
}

/** d itself if it points downhill, else −g (guards against a direction spoilt by rounding). */
function descent(d: Float64Array, g: Float64Array): Float64Array {
  const gtd = dot(g, d);
  if (gtd < 0 && Number.isFinite(gtd)) return d;
  return g.map((v) => -v);
}

/**
 * Conjugate gradients on (H + λI)·d = −g from d = 0, stopped at residual ‖r‖ ≤ tol, after maxIter
 * products, or on meeting a direction p with pᵀ(H + λI)p ≤ 0 (returning the iterate so far, or −g
 * with that curvature pᵀ(H + λI)p/pᵀp when it is the very first direction).
 */
/** Anything that multiplies by the Hessian (Curvature, or a stored matrix). */
export interface HvpOracle {
  hvp(v: ArrayLike<number>): Float64Array;
  hvpCount: number;
}

export function truncatedCG(
  c: HvpOracle,
  g: Float64Array,
  lambda: number,
  maxIter: number,
  tol: number,
): { d: Float64Array; iters: number; firstCurvature?: number } {
  const n = g.length;
  const d = new Float64Array(n);
  const r = g.map((v) => -v); // residual −g − (H + λI)d at d = 0
  const p = r.slice();
  let rr = dot(r, r);
  let iters = 0;
  for (let k = 0; k < maxIter; k++) {
    if (Math.sqrt(rr) <= tol) break;
    const Hp = c.hvp(p);
    iters++;
    if (lambda !== 0) for (let i = 0; i < n; i++) Hp[i] += lambda * p[i];
    const pHp = dot(p, Hp);
    if (!(pHp > 0)) {
      if (k === 0) return { d: r, iters, firstCurvature: pHp / dot(p, p) };
      break;
    }
    const alpha = rr / pHp;
    for (let i = 0; i < n; i++) {
      d[i] += alpha * p[i];
      r[i] -= alpha * Hp[i];
    }
    const rrNew = dot(r, r);
    const beta = rrNew / rr;
    rr = rrNew;
    for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
  }
  return { d, iters };
}

export type { Closure as NewtonClosure };
