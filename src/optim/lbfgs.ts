/**
 * L-BFGS — PyTorch 1.13's torch.optim.LBFGS (after minFunc), same defaults, same iterates.
 *
 * All parameters are flattened into one vector θ (float64 when they are float64). One call of
 * step(closure) runs up to maxIter iterations of
 *
 *   g = ∇J(θ)
 *   d = −H·g            H: the inverse-Hessian approximation of the last historySize pairs
 *                       (s = θₖ₊₁ − θₖ, y = gₖ₊₁ − gₖ), applied by the two-loop recursion with the
 *                       initial scaling H₀ = (sᵀy / yᵀy)·I; a pair is kept only when sᵀy > 1e-10
 *   t = min(1, 1/‖g‖₁)·lr on the very first iteration, else lr
 *   t ← strong-Wolfe line search (lineSearchFn 'strongWolfe'), or the fixed step t
 *   θ ← θ + t·d
 *
 * and stops early when max|g| ≤ toleranceGrad, gᵀd > −toleranceChange, max|t·d| ≤ toleranceChange,
 * |ΔJ| < toleranceChange, or after maxEval evaluations of the closure.
 *
 * Conventions (PyTorch's): the closure re-evaluates the loss and leaves fresh gradients in
 * `param.grad` (zero them, compute the loss, backward, return the loss); it may return a number or a
 * one-element Tensor. A parameter without a gradient counts as a zero gradient. maxEval defaults to
 * ⌊1.25·maxIter⌋. With no line search the last iteration of a step does not re-evaluate the closure
 * (the next step begins by doing so). The state is global (one parameter group only) and lives under
 * the first parameter's name in stateDict(), with the history flattened row by row.
 *
 * Reference: Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithm 7.4; Liu & Nocedal (1989).
 */
import { type Tensor, allocStorage, type DType, type HostStorage } from '../tensor/tensor.js';
import { withGrad } from '../autograd/engine.js';
import { ClosureOptimizer, check, lossValue, type Closure, type Method, type OptimizerStateDict, type ParamsInput } from './optimizer.js';
import { checkOptions, num, nullable, str } from '../util/options.js';
import { strongWolfe } from './linesearch.js';
import { axpy, dot, maxAbs } from './vec.js';

export interface LBFGSOptions {
  lr: number;
  maxIter: number;
  /** Closure evaluations allowed per step; default ⌊1.25·maxIter⌋. */
  maxEval: number;
  toleranceGrad: number;
  toleranceChange: number;
  historySize: number;
  /** The strong-Wolfe line search, or null for the fixed step lr. 'strong_wolfe' (PyTorch's spelling) and 'strong-wolfe' (the CLI's) are the same as 'strongWolfe'. */
  lineSearchFn: null | LBFGSLineSearch;
}

/** The names of the strong-Wolfe line search L-BFGS accepts: the library's, PyTorch's and the CLI's. */
export type LBFGSLineSearch = 'strongWolfe' | 'strong_wolfe' | 'strong-wolfe';

const posInt = (v: number) => Number.isInteger(v) && v >= 1;
/**
 * The largest counts L-BFGS accepts. The history costs 2·historySize·n numbers (n parameters):
 * 1000 pairs of a 100 000-parameter float32 model are 800 MB. maxIter and maxEval bound the work
 * of one step(): at most maxEval closure calls.
 */
export const LBFGS_LIMITS = Object.freeze({ maxIter: 100_000, maxEval: 125_000, historySize: 1000 });
const upTo = (v: number, most: number) => posInt(v) && v <= most;
const nonNeg = (v: number) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** L-BFGS's name and options (a closure method: its step is LBFGS.step(closure)). */
export const lbfgsRule: Method<LBFGSOptions> = {
  name: 'LBFGS',
  defaults: { lr: 1, maxIter: 20, maxEval: 25, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearchFn: null },
  schema: { lr: num, maxIter: num, maxEval: num, toleranceGrad: num, toleranceChange: num, historySize: num, lineSearchFn: nullable(str) },
  validate(h) {
    check('LBFGS', 'lr', h.lr, nonNeg(h.lr), '≥ 0');
    check('LBFGS', 'maxIter', h.maxIter, upTo(h.maxIter, LBFGS_LIMITS.maxIter), `an integer from 1 to ${LBFGS_LIMITS.maxIter}`);
    check('LBFGS', 'maxEval', h.maxEval, upTo(h.maxEval, LBFGS_LIMITS.maxEval), `an integer from 1 to ${LBFGS_LIMITS.maxEval}`);
    check('LBFGS', 'toleranceGrad', h.toleranceGrad, nonNeg(h.toleranceGrad), '≥ 0');
    check('LBFGS', 'toleranceChange', h.toleranceChange, nonNeg(h.toleranceChange), '≥ 0');
    check(
      'LBFGS',
      'historySize',
      h.historySize,
      upTo(h.historySize, LBFGS_LIMITS.historySize),
      `an integer from 1 to ${LBFGS_LIMITS.historySize}`,
    );
    check('LBFGS', 'lineSearchFn', h.lineSearchFn, h.lineSearchFn === null || h.lineSearchFn === 'strongWolfe', "null or 'strongWolfe'");
  },
};

/** L-BFGS's global state (PyTorch's state keys, camel-cased). */
interface LBFGSState {
  funcEvals: number;
  nIter: number;
  d: HostStorage | null;
  t: number;
  oldDirs: HostStorage[];
  oldStps: HostStorage[];
  ro: number[];
  hDiag: number;
  prevFlatGrad: HostStorage | null;
  prevLoss: number;
}

export class LBFGS extends ClosureOptimizer<LBFGSOptions> {
  private readonly params: Tensor[];
  private readonly n: number;
  private readonly dtype: DType;
  private s: LBFGSState;
  /** Closure evaluations made by the last call of step(). */
  lastEvals = 0;
  /** Iterations made by the last call of step(). */
  lastIters = 0;

  constructor(params: ParamsInput<LBFGSOptions>, options: Partial<LBFGSOptions> = {}) {
    checkOptions(lbfgsRule.name, options, lbfgsRule.schema);
    const maxIter = options.maxIter ?? lbfgsRule.defaults.maxIter;
    // PyTorch spells it 'strong_wolfe'; the CLI 'strong-wolfe'.
    const ls = options.lineSearchFn;
    const lineSearchFn = ls === 'strong_wolfe' || ls === 'strong-wolfe' ? 'strongWolfe' : ls;
    super(lbfgsRule, params, {
      ...options,
      lineSearchFn,
      maxEval: options.maxEval ?? Math.min(Math.floor((maxIter * 5) / 4), LBFGS_LIMITS.maxEval),
    });
    if (this.paramGroups.length !== 1)
      throw new RangeError("LBFGS: doesn't support per-parameter options (parameter groups); pass one list of parameters");
    this.params = this.paramGroups[0].params;
    const dtypes = new Set(this.params.map((p) => p.dtype));
    if (dtypes.size !== 1) throw new TypeError(`LBFGS: all parameters must share one dtype, got ${[...dtypes].join(' and ')}`);
    this.dtype = this.params[0].dtype;
    this.n = this.params.reduce((n, p) => n + p.size, 0);
    this.s = freshState();
  }

  /** Total closure evaluations so far (PyTorch's state['func_evals']). */
  get funcEvals(): number {
    return this.s.funcEvals;
  }

  /** Objective evaluations so far: the closure calls (funcEvals). */
  get evaluations(): number {
    return this.s.funcEvals;
  }

  /** Total iterations so far (PyTorch's state['n_iter']). */
  get nIter(): number {
    return this.s.nIter;
  }

  private gatherFlatGrad(): HostStorage {
    const out = allocStorage(this.dtype, this.n);
    let off = 0;
    for (const p of this.params) {
      if (p.grad) {
        if (p.grad.size !== p.size)
          throw new Error(`LBFGS: gradient of "${this.nameOf(p)}" has ${p.grad.size} values, parameter has ${p.size}`);
        out.set(p.grad.data, off);
      }
      off += p.size;
    }
    return out;
  }

  private addGrad(t: number, d: HostStorage): void {
    let off = 0;
    for (const p of this.params) {
      axpy(t, d, p.data, off);
      off += p.size;
    }
  }

  private cloneParams(): HostStorage[] {
    return this.params.map((p) => p.data.slice() as HostStorage);
  }

  private setParams(x: HostStorage[]): void {
    this.params.forEach((p, i) => p.data.set(x[i]));
  }

  private evaluate(closure: Closure): number {
    return lossValue('LBFGS', withGrad(true, closure));
  }

  /** Up to maxIter L-BFGS iterations; returns the loss the closure gave at the starting point. */
  override step(closure: Closure): number {
    if (typeof closure !== 'function')
      throw new TypeError('LBFGS: step(closure) needs a closure that re-evaluates the loss and its gradients');
    const group = this.paramGroups[0];
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearchFn } = group;
    const st = this.s;
    const n = this.n;

    const origLoss = this.evaluate(closure);
    let loss = origLoss;
    let currentEvals = 1;
    st.funcEvals++;
    this.lastEvals = 1;
    this.lastIters = 0;

    let flatGrad = this.gatherFlatGrad();
    let optCond = maxAbs(flatGrad) <= toleranceGrad;
    if (optCond) return origLoss;

    let { d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss } = st;
    // One coefficient per stored pair (at most historySize, fewer until the history fills).
    const al: number[] = [];

    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      st.nIter++;

      // ---- direction
      if (st.nIter === 1) {
        d = allocStorage(this.dtype, n);
        for (let i = 0; i < n; i++) d[i] = -flatGrad[i];
        oldDirs = [];
        oldStps = [];
        ro = [];
        hDiag = 1;
      } else {
        const g = flatGrad;
        const pg = prevFlatGrad as HostStorage;
        const dd = d as HostStorage;
        const y = allocStorage(this.dtype, n);
        const s = allocStorage(this.dtype, n);
        for (let i = 0; i < n; i++) {
          y[i] = g[i] - pg[i];
          s[i] = dd[i] * t;
        }
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (oldDirs.length === historySize) {
            oldDirs.shift();
            oldStps.shift();
            ro.shift();
          }
          oldDirs.push(y);
          oldStps.push(s);
          ro.push(1 / ys);
          hDiag = ys / dot(y, y);
        }
        // Two-loop recursion: d = −H·g.
        const k = oldDirs.length;
        const q = allocStorage(this.dtype, n);
        for (let i = 0; i < n; i++) q[i] = -g[i];
        for (let i = k - 1; i >= 0; i--) {
          al[i] = dot(oldStps[i], q) * ro[i];
          axpy(-al[i], oldDirs[i], q);
        }
        const r = q;
        for (let j = 0; j < n; j++) r[j] = q[j] * hDiag;
        for (let i = 0; i < k; i++) {
          const be = dot(oldDirs[i], r) * ro[i];
          axpy(al[i] - be, oldStps[i], r);
        }
        d = r;
      }
      if (!prevFlatGrad) prevFlatGrad = flatGrad.slice() as HostStorage;
      else prevFlatGrad.set(flatGrad);
      prevLoss = loss;

      // ---- step length
      if (st.nIter === 1) {
        let l1 = 0;
        for (let i = 0; i < n; i++) l1 += Math.abs(flatGrad[i]);
        t = Math.min(1, 1 / l1) * lr;
      } else {
        t = lr;
      }
      const dir = d as HostStorage;
      const gtd = dot(flatGrad, dir);
      if (gtd > -toleranceChange) break;

      let lsEvals = 0;
      if (lineSearchFn === 'strongWolfe') {
        const x0 = this.cloneParams();
        const res = strongWolfe(
          (tt) => {
            this.addGrad(tt, dir);
            const f = this.evaluate(closure);
            const g = this.gatherFlatGrad();
            this.setParams(x0);
            return { f, g };
          },
          t,
          dir,
          loss,
          flatGrad,
          gtd,
          { toleranceChange },
        );
        loss = res.f;
        flatGrad = res.g;
        t = res.t;
        lsEvals = res.evals;
        this.addGrad(t, dir);
        optCond = maxAbs(flatGrad) <= toleranceGrad;
      } else {
        this.addGrad(t, dir);
        if (nIter !== maxIter) {
          // In a stochastic setting re-evaluating after the last iteration would be wasted.
          loss = this.evaluate(closure);
          flatGrad = this.gatherFlatGrad();
          optCond = maxAbs(flatGrad) <= toleranceGrad;
          lsEvals = 1;
        }
      }
      currentEvals += lsEvals;
      st.funcEvals += lsEvals;
      this.lastEvals = currentEvals;
      this.lastIters = nIter;

      // ---- stopping tests
      if (nIter === maxIter) break;
      if (currentEvals >= maxEval) break;
      if (optCond) break;
      let stepMax = 0;
      for (let i = 0; i < n; i++) stepMax = Math.max(stepMax, Math.abs(dir[i] * t));
      if (stepMax <= toleranceChange) break;
      if (Math.abs(loss - prevLoss) < toleranceChange) break;
    }
    this.lastIters = nIter;

    Object.assign(st, { d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss });
    return origLoss;
  }

  /** PyTorch keeps L-BFGS's global state under the first parameter; so does this. */
  override stateDict(): OptimizerStateDict {
    const st = this.s;
    const sd = super.stateDict();
    const flat = (vs: HostStorage[]) => vs.flatMap((v) => Array.from(v));
    const e: Record<string, number | number[]> = { funcEvals: st.funcEvals, nIter: st.nIter };
    if (st.d) {
      Object.assign(e, {
        d: Array.from(st.d),
        t: st.t,
        historyLength: st.oldDirs.length,
        oldDirs: flat(st.oldDirs),
        oldStps: flat(st.oldStps),
        ro: [...st.ro],
        hDiag: st.hDiag,
        prevFlatGrad: st.prevFlatGrad ? Array.from(st.prevFlatGrad) : [],
        prevLoss: st.prevLoss,
      });
    }
    sd.state = { [this.nameOf(this.params[0])]: e };
    return sd;
  }

  override loadStateDict(sd: OptimizerStateDict): void {
    if (sd.optimizer !== 'LBFGS') throw new Error(`loadStateDict: state is for ${sd.optimizer}, this optimizer is LBFGS`);
    const first = this.nameOf(this.params[0]);
    const keys = Object.keys(sd.state);
    if (keys.length > 1 || (keys.length === 1 && keys[0] !== first)) {
      throw new Error(
        `loadStateDict: LBFGS keeps its state under the first parameter "${first}", got ${keys.map((k) => `"${k}"`).join(', ')}`,
      );
    }
    const g = sd.paramGroups[0] as Record<string, unknown> | undefined;
    if (sd.paramGroups.length !== 1 || !g)
      throw new Error(`loadStateDict: LBFGS has one parameter group, state has ${sd.paramGroups.length}`);
    const { params: _names, ...h } = g;
    const merged = { ...this.paramGroups[0], ...h };
    lbfgsRule.validate(merged);
    const e = sd.state[first] ?? {};
    const n = this.n;
    const num = (k: string) => {
      const v = e[k];
      if (typeof v !== 'number') throw new Error(`loadStateDict: LBFGS state "${k}" must be a number`);
      return v;
    };
    const vec = (k: string, len: number) => {
      const v = e[k];
      if (!Array.isArray(v) || v.length !== len)
        throw new Error(`loadStateDict: LBFGS state "${k}" must have ${len} values, got ${Array.isArray(v) ? v.length : typeof v}`);
      const out = allocStorage(this.dtype, len);
      out.set(v);
      return out;
    };
    const rows = (k: string, m: number) => {
      const flat = vec(k, m * n);
      return Array.from({ length: m }, (_, i) => flat.slice(i * n, (i + 1) * n) as HostStorage);
    };
    const s = freshState();
    s.funcEvals = e.funcEvals === undefined ? 0 : num('funcEvals');
    s.nIter = e.nIter === undefined ? 0 : num('nIter');
    if (e.d !== undefined) {
      const m = num('historyLength');
      s.d = vec('d', n);
      s.t = num('t');
      s.oldDirs = rows('oldDirs', m);
      s.oldStps = rows('oldStps', m);
      const r = e.ro;
      if (!Array.isArray(r) || r.length !== m) throw new Error(`loadStateDict: LBFGS state "ro" must have ${m} values`);
      s.ro = [...r];
      s.hDiag = num('hDiag');
      s.prevFlatGrad = vec('prevFlatGrad', n);
      s.prevLoss = num('prevLoss');
    }
    Object.assign(this.paramGroups[0], h);
    this.s = s;
  }
}

function freshState(): LBFGSState {
  return { funcEvals: 0, nIter: 0, d: null, t: 0, oldDirs: [], oldStps: [], ro: [], hDiag: 1, prevFlatGrad: null, prevLoss: 0 };
}
