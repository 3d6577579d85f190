/**
 * Names that say these are 2-D test surfaces (value, gradient, Hessian and minima at a point x, y),
 * not functions of a tensor: `rosenbrock` is the 2-D surface of the lab and `descent surface`. The
 * same objects; the short names stay. The convention is in docs/library.md, "Names".
 */
export {
  rosenbrock as rosenbrockSurface,
  beale as bealeSurface,
  himmelblau as himmelblauSurface,
  rastrigin as rastriginSurface,
  bowl as bowlSurface,
  saddle as saddleSurface,
  twowells as twowellsSurface,
} from './functions.js';
