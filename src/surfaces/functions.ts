/**
 * 2-D test functions for watching optimizers: exact value, gradient and Hessian, and the known
 * critical points.
 *
 * Everything is plain float64 arithmetic on (x, y), written out by hand rather than through
 * autograd, so the trajectory runner (./trajectory.ts) gives optimizers the exact gradient and
 * second-order methods can ask for the exact Hessian. Each function carries a suggested view box
 * (for plots and the lab) and a default start point that shows the function's character.
 *
 * Minima that have no closed form (Himmelblau's three irrational ones) are polished to machine
 * precision by Newton's method on the exact gradient when this module loads.
 */
import { clip, didYouMean } from '../util/names.js';

export type Point = [number, number];
/** [[fxx, fxy], [fxy, fyy]] */
export type Hessian2 = [[number, number], [number, number]];

export interface CriticalPoint {
  x: Point;
  f: number;
}

export interface Minimum extends CriticalPoint {
  /** True for the lowest value of the function (several minima may tie). */
  global: boolean;
}

export interface Surface {
  readonly name: string;
  readonly title: string;
  /** Plain-text formula, e.g. "(1 − x)² + 100·(y − x²)²". */
  readonly formula: string;
  /** What the function shows about optimizers (one sentence). */
  readonly description: string;
  f(x: number, y: number): number;
  grad(x: number, y: number): Point;
  hessian(x: number, y: number): Hessian2;
  readonly minima: readonly Minimum[];
  /** Saddle points and maxima, where gradient descent can stall. */
  readonly saddles: readonly CriticalPoint[];
  readonly view: { readonly x: Point; readonly y: Point };
  readonly start: Point;
}

const PI2 = 2 * Math.PI;

/** Newton's method on the exact gradient and Hessian: turns a 6-digit critical point into a 16-digit one. */
export function polishCritical(s: Pick<Surface, 'grad' | 'hessian'>, p: Point, iterations = 50): Point {
  let [x, y] = p;
  for (let k = 0; k < iterations; k++) {
    const [gx, gy] = s.grad(x, y);
    const [[a, b], [, c]] = s.hessian(x, y);
    const det = a * c - b * b;
    if (det === 0 || !Number.isFinite(det)) break;
    const dx = (c * gx - b * gy) / det;
    const dy = (a * gy - b * gx) / det;
    x -= dx;
    y -= dy;
    if (Math.abs(dx) + Math.abs(dy) === 0) break;
  }
  return [x, y];
}

function build(spec: Omit<Surface, 'minima' | 'saddles'> & { minima: Point[]; saddles?: Point[]; polish?: boolean }): Surface {
  const pts = (ps: Point[]) => (spec.polish ? ps.map((p) => polishCritical(spec, p)) : ps);
  const mins = pts(spec.minima).map((x) => ({ x, f: spec.f(x[0], x[1]) }));
  const lowest = Math.min(...mins.map((m) => m.f));
  const minima = mins.map((m) => Object.freeze({ ...m, x: Object.freeze(m.x) as Point, global: m.f <= lowest + 1e-12 }));
  const saddles = pts(spec.saddles ?? []).map((x) => Object.freeze({ x: Object.freeze(x) as Point, f: spec.f(x[0], x[1]) }));
  const { polish: _p, ...rest } = spec;
  return Object.freeze({ ...rest, minima: Object.freeze(minima), saddles: Object.freeze(saddles) });
}

/** Ill-conditioned convex quadratic (condition number 10): plain GD zig-zags across the narrow axis. */
export const bowl = build({
  name: 'bowl',
  title: 'Ill-conditioned bowl',
  formula: '0.5·(x² + 10·y²)',
  description: 'convex quadratic with condition number 10: gradient descent zig-zags, momentum damps it',
  f: (x, y) => 0.5 * (x * x + 10 * y * y),
  grad: (x, y) => [x, 10 * y],
  hessian: () => [
    [1, 0],
    [0, 10],
  ],
  minima: [[0, 0]],
  view: { x: [-5, 5], y: [-3, 3] },
  start: [-4, 2],
});

/** Unbounded saddle: a start on the stable axis only escapes through noise or round-off. */
export const saddle = build({
  name: 'saddle',
  title: 'Saddle',
  formula: 'x² − y²',
  description: 'saddle at the origin and no minimum: GD started near y = 0 lingers at the saddle before escaping',
  f: (x, y) => x * x - y * y,
  grad: (x, y) => [2 * x, -2 * y],
  hessian: () => [
    [2, 0],
    [0, -2],
  ],
  minima: [],
  saddles: [[0, 0]],
  view: { x: [-2.5, 2.5], y: [-2.5, 2.5] },
  start: [-2, 1e-3],
});

/**
 * Two wells: f = x⁴/4 + x³/3 − x² + y². Along x, f′ = x³ + x² − 2x = x(x − 1)(x + 2), so there is a
 * local minimum at (1, 0) with f = −5/12, the global minimum at (−2, 0) with f = −8/3, and a saddle
 * at (0, 0) with f = 0 between them (a barrier 5/12 high seen from the local well).
 */
export const twowells = build({
  name: 'twowells',
  title: 'Local vs global minimum',
  formula: 'x⁴/4 + x³/3 − x² + y²',
  description:
    'a local minimum at (1, 0) and a lower global one at (−2, 0): from the right, GD stops in the local well, momentum may cross',
  f: (x, y) => (x * x * x * x) / 4 + (x * x * x) / 3 - x * x + y * y,
  grad: (x, y) => [x * x * x + x * x - 2 * x, 2 * y],
  hessian: (x) => [
    [3 * x * x + 2 * x - 2, 0],
    [0, 2],
  ],
  minima: [
    [-2, 0],
    [1, 0],
  ],
  saddles: [[0, 0]],
  view: { x: [-3, 2.5], y: [-2, 2] },
  start: [2, 1],
});

/** Rosenbrock's banana valley: easy to find, slow to follow. */
export const rosenbrock = build({
  name: 'rosenbrock',
  title: 'Rosenbrock',
  formula: '(1 − x)² + 100·(y − x²)²',
  description: 'a curved, flat-bottomed valley: finding it is easy, following it to (1, 1) is slow',
  f: (x, y) => {
    const a = 1 - x;
    const b = y - x * x;
    return a * a + 100 * b * b;
  },
  grad: (x, y) => {
    const b = y - x * x;
    return [-2 * (1 - x) - 400 * x * b, 200 * b];
  },
  hessian: (x, y) => [
    [2 - 400 * y + 1200 * x * x, -400 * x],
    [-400 * x, 200],
  ],
  minima: [[1, 1]],
  view: { x: [-2, 2], y: [-1, 3] },
  start: [-1.2, 1],
});

/** Beale: flat plateaus and sharp ridges, the minimum at (3, 0.5) in a narrow valley. */
export const beale = build({
  name: 'beale',
  title: 'Beale',
  formula: '(1.5 − x + x·y)² + (2.25 − x + x·y²)² + (2.625 − x + x·y³)²',
  description: 'large flat regions and steep walls: adaptive methods rescale, plain GD crawls or explodes',
  f: (x, y) => {
    const a1 = 1.5 - x + x * y;
    const a2 = 2.25 - x + x * y * y;
    const a3 = 2.625 - x + x * y * y * y;
    return a1 * a1 + a2 * a2 + a3 * a3;
  },
  grad: (x, y) => {
    const y2 = y * y;
    const y3 = y2 * y;
    const a1 = 1.5 - x + x * y;
    const a2 = 2.25 - x + x * y2;
    const a3 = 2.625 - x + x * y3;
    return [2 * (a1 * (y - 1) + a2 * (y2 - 1) + a3 * (y3 - 1)), 2 * (a1 * x + a2 * 2 * x * y + a3 * 3 * x * y2)];
  },
  hessian: (x, y) => {
    const y2 = y * y;
    const y3 = y2 * y;
    const a1 = 1.5 - x + x * y;
    const a2 = 2.25 - x + x * y2;
    const a3 = 2.625 - x + x * y3;
    // ∂aᵢ/∂x = yⁱ − 1, ∂aᵢ/∂y = i·x·yⁱ⁻¹; ∂²aᵢ/∂x² = 0, ∂²aᵢ/∂x∂y = i·yⁱ⁻¹, ∂²aᵢ/∂y² = i(i−1)·x·yⁱ⁻².
    const dx = [y - 1, y2 - 1, y3 - 1];
    const dy = [x, 2 * x * y, 3 * x * y2];
    const a = [a1, a2, a3];
    const dxy = [1, 2 * y, 3 * y2];
    const dyy = [0, 2 * x, 6 * x * y];
    let hxx = 0;
    let hxy = 0;
    let hyy = 0;
    for (let i = 0; i < 3; i++) {
      hxx += dx[i] * dx[i];
      hxy += dx[i] * dy[i] + a[i] * dxy[i];
      hyy += dy[i] * dy[i] + a[i] * dyy[i];
    }
    return [
      [2 * hxx, 2 * hxy],
      [2 * hxy, 2 * hyy],
    ];
  },
  minima: [[3, 0.5]],
  view: { x: [-4.5, 4.5], y: [-4.5, 4.5] },
  start: [1, 1.5],
});

/** Himmelblau: four global minima of equal value 0; which one you reach depends on where you start. */
export const himmelblau = build({
  name: 'himmelblau',
  title: 'Himmelblau',
  formula: '(x² + y − 11)² + (x + y² − 7)²',
  description: 'four equal minima: the start point and the optimizer decide which basin wins',
  f: (x, y) => {
    const u = x * x + y - 11;
    const v = x + y * y - 7;
    return u * u + v * v;
  },
  grad: (x, y) => {
    const u = x * x + y - 11;
    const v = x + y * y - 7;
    return [4 * x * u + 2 * v, 2 * u + 4 * y * v];
  },
  hessian: (x, y) => {
    const u = x * x + y - 11;
    const v = x + y * y - 7;
    const hxy = 4 * x + 4 * y;
    return [
      [4 * u + 8 * x * x + 2, hxy],
      [hxy, 2 + 4 * v + 8 * y * y],
    ];
  },
  minima: [
    [3, 2],
    [-2.805118, 3.131312],
    [-3.77931, -3.283186],
    [3.584428, -1.848126],
  ],
  // The local maximum and the four saddles between the basins.
  saddles: [
    [-0.270845, -0.923039],
    [0.086678, 2.884254],
    [-3.073026, -0.081353],
    [3.385154, 0.073852],
    [-0.127961, -1.953715],
  ],
  polish: true,
  view: { x: [-5, 5], y: [-5, 5] },
  start: [0, 0],
});

/** Rastrigin: a bowl covered in a regular grid of local minima. */
export const rastrigin = build({
  name: 'rastrigin',
  title: 'Rastrigin',
  formula: '20 + x² − 10·cos(2πx) + y² − 10·cos(2πy)',
  description: 'a grid of local minima on a bowl: first-order methods stop in the nearest dimple',
  f: (x, y) => 20 + x * x - 10 * Math.cos(PI2 * x) + y * y - 10 * Math.cos(PI2 * y),
  grad: (x, y) => [2 * x + 10 * PI2 * Math.sin(PI2 * x), 2 * y + 10 * PI2 * Math.sin(PI2 * y)],
  hessian: (x, y) => [
    [2 + 10 * PI2 * PI2 * Math.cos(PI2 * x), 0],
    [0, 2 + 10 * PI2 * PI2 * Math.cos(PI2 * y)],
  ],
  minima: [[0, 0]],
  view: { x: [-5.12, 5.12], y: [-5.12, 5.12] },
  start: [3.3, -2.2],
});

export const surfaces: Readonly<Record<string, Surface>> = Object.freeze({
  bowl,
  saddle,
  twowells,
  rosenbrock,
  beale,
  himmelblau,
  rastrigin,
});

export const surfaceNames = Object.keys(surfaces);

/** Look a surface up by name, with a message listing the valid names. */
export function getSurface(name: string): Surface {
  const s = surfaces[name.toLowerCase()];
  if (!s)
    throw new RangeError(`unknown surface "${clip(name)}"; expected one of ${surfaceNames.join(', ')}${didYouMean(name, surfaceNames)}`);
  return s;
}
