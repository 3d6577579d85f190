/**
 * Line searches along a direction d from a point x, on φ(t) = f(x + t·d) and φ'(t) = ∇f(x + t·d)·d.
 *
 * strongWolfe — PyTorch's torch.optim.lbfgs._strong_wolfe (itself a port of torch7's lswolfe.lua,
 * after Nocedal & Wright, Numerical Optimization, Algorithms 3.5 and 3.6): bracket an interval that
 * contains a point satisfying the strong Wolfe conditions
 *     φ(t) ≤ φ(0) + c1·t·φ'(0)          (sufficient decrease, Armijo)
 *     |φ'(t)| ≤ −c2·φ'(0)                (curvature)
 * by extrapolating with safeguarded cubic interpolation, then zoom into it. Every branch, bound and
 * comparison is PyTorch 1.13's, including its quirks (the bracketing phase counts iterations from 0
 * and only compares with the previous value from the third trial on; on running out of trials the
 * bracket is [0, t]), because golden tests compare iterates with PyTorch's to 1e-8.
 *
 * armijo — plain backtracking on the sufficient-decrease condition with function values only.
 *
 * The objective is a function of the step length only; the caller moves the parameters and restores
 * them. Vectors are float32 or float64 typed arrays; scalars are JS doubles.
 */
import type { HostStorage } from '../tensor/tensor.js';
import { dot, maxAbs } from './vec.js';

// Python's built-in min/max (keep the first argument unless the second compares strictly better),
// so NaN propagates exactly as in PyTorch's code.
const pyMax = (a: number, b: number) => (b > a ? b : a);
const pyMin = (a: number, b: number) => (b < a ? b : a);

/**
 * Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to `bounds` (default: the
 * interval between x1 and x2); the interval's midpoint when the cubic has no real minimiser.
 */
export function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2sq = d1 * d1 - g1 * g2;
  if (d2sq >= 0) {
    const d2 = Math.sqrt(d2sq);
    const minPos =
      x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return pyMin(pyMax(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

/** f and ∇f at x + t·d (the gradient must be a fresh array: the search keeps references to it). */
export type DirectionalObjective = (t: number) => { f: number; g: HostStorage };

export interface StrongWolfeOptions {
  c1?: number;
  c2?: number;
  toleranceChange?: number;
  maxLs?: number;
}

export interface LineSearchResult {
  f: number;
  g: HostStorage;
  t: number;
  evals: number;
}

/** PyTorch's _strong_wolfe: start at step t with f = φ(0), g = ∇f(x), gtd = φ'(0) < 0. */
export function strongWolfe(
  obj: DirectionalObjective,
  t: number,
  d: HostStorage,
  f: number,
  g: HostStorage,
  gtd: number,
  opts: StrongWolfeOptions = {},
): LineSearchResult {
  const c1 = opts.c1 ?? 1e-4;
  const c2 = opts.c2 ?? 0.9;
  const tolChange = opts.toleranceChange ?? 1e-9;
  const maxLs = opts.maxLs ?? 25;
  const dNorm = maxAbs(d);

  let { f: fNew, g: gNew } = obj(t);
  let evals = 1;
  let gtdNew = dot(gNew, d);

  let tPrev = 0;
  let fPrev = f;
  let gPrev = g;
  let gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: HostStorage[] = [];
  let bracketGtd: number[] = [];

  // Bracketing phase.
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      bracket = [t];
      bracketF = [fNew];
      bracketG = [gNew];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    // Extrapolate: the next trial lies in [t + 0.01(t − tPrev), 10t].
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    ({ f: fNew, g: gNew } = obj(t));
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) {
    bracket = [0, t];
    bracketF = [f, fNew];
    bracketG = [g, gNew];
  }

  // Zoom phase: shrink the bracket until a point satisfies both conditions.
  let insufProgress = false;
  let [lowPos, highPos] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < tolChange) break;
    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);

    // A trial too close to an end of the bracket makes little progress: after two such trials in a
    // row (or one outside the bracket), move it to 10% of the bracket's width from the nearer end.
    const bMax = pyMax(bracket[0], bracket[1]);
    const bMin = pyMin(bracket[0], bracket[1]);
    const eps = 0.1 * (bMax - bMin);
    if (pyMin(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else {
        insufProgress = true;
      }
    } else {
      insufProgress = false;
    }

    ({ f: fNew, g: gNew } = obj(t));
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;

    if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos]) {
      // Not a sufficient decrease, or not below the low end: the trial becomes the high end.
      bracket[highPos] = t;
      bracketF[highPos] = fNew;
      bracketG[highPos] = gNew;
      bracketGtd[highPos] = gtdNew;
      [lowPos, highPos] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0) {
        // The old high end becomes the new low end.
        bracket[highPos] = bracket[lowPos];
        bracketF[highPos] = bracketF[lowPos];
        bracketG[highPos] = bracketG[lowPos];
        bracketGtd[highPos] = bracketGtd[lowPos];
      }
      bracket[lowPos] = t;
      bracketF[lowPos] = fNew;
      bracketG[lowPos] = gNew;
      bracketGtd[lowPos] = gtdNew;
    }
  }
  return { f: bracketF[lowPos], g: bracketG[lowPos], t: bracket[lowPos], evals };
}

export interface ArmijoOptions {
  c1?: number;
  /** Factor the step shrinks by after a failed trial. */
  shrink?: number;
  maxLs?: number;
}

/**
 * Backtracking: the first t in t0, t0·ρ, t0·ρ², … with φ(t) ≤ φ(0) + c1·t·φ'(0). If none of maxLs
 * trials passes, returns t = 0 (stay put) — a descent method must never step uphill.
 */
export function armijo(
  phi: (t: number) => number,
  t0: number,
  f: number,
  gtd: number,
  opts: ArmijoOptions = {},
): { t: number; f: number; evals: number } {
  const c1 = opts.c1 ?? 1e-4;
  const shrink = opts.shrink ?? 0.5;
  const maxLs = opts.maxLs ?? 40;
  let t = t0;
  for (let k = 1; k <= maxLs; k++) {
    const fNew = phi(t);
    if (fNew <= f + c1 * t * gtd) return { t, f: fNew, evals: k };
    t *= shrink;
  }
  return { t: 0, f, evals: maxLs };
}
