/**
 * The lecture's figures (shared/seed/LECTURE.md) as one-click presets. Starts, learning rates and
 * budgets were picked by running the library (lab/tune-presets note in docs/lab.md) so that each
 * picture shows what the lecture says; the text under the buttons says what to look at.
 */
import { optimizerNames } from '../../src/optim/index.js';
import type { LabState, Racer, OptValue } from './state.js';

export interface Preset {
  id: string;
  title: string;
  /** Two or three sentences: what the figure shows. */
  text: string;
  fn: string;
  start: [number, number];
  budget: number;
  noise?: number;
  seed?: number;
  racers: Racer[];
  /** Plot Adam's m, v, m̂, v̂ over the first steps. */
  moments?: boolean;
  speed?: number;
  /** Gradient-noise batch size B: a noisy racer's σ is `noise / √B` (full batch: no noise). */
  batch?: number;
  /**
   * What the text says, in checkable form (test/lab/part1-presets.test.ts runs each preset and checks
   * them; for a preset with noise, for seeds 0–5). Racers are named by their index in `racers`.
   */
  claims: Claim[];
}

/**
 * `near`: the racer's last point (or its point after `by` evaluations) is within `within` of `near`; `far`: it is not; `below`/`above`: its
 * last f − f* (f itself on a surface without a minimum) is under/over `value`; `beats`: its last
 * f − f* is at least `factor` times smaller than racer `other`'s.
 */
export type Claim =
  | { racer: number; near: [number, number]; within: number; by?: number }
  | { racer: number; far: [number, number]; beyond: number }
  | { racer: number; below: number }
  | { racer: number; above: number }
  | { racer: number; beats: number; factor: number };

const r = (opt: string, options: Record<string, OptValue> = {}, noisy = false): Racer => ({ opt, noisy, options });

export const PRESETS: Preset[] = [
  {
    id: 'local-global',
    title: 'Local vs global minimum',
    text: 'Two wells: a local minimum at (1, 0) (ring) and the lower, global one at (−2, 0) (star), with a saddle (×) between. Gradient descent only ever goes downhill, so from the right GD — and Adam — settle in the nearer, higher well; momentum carries SGD+momentum over the barrier into the global one. Drag the start left of the saddle and GD finds the global minimum too.',
    fn: 'twowells',
    start: [2.2, 1.2],
    budget: 150,
    racers: [r('gd', { lr: 0.05 }), r('adam', { lr: 0.1 }), r('momentum', { lr: 0.05, momentum: 0.9 })],
    claims: [
      { racer: 0, near: [1, 0], within: 0.05 },
      { racer: 1, near: [1, 0], within: 0.05 },
      { racer: 2, near: [-2, 0], within: 0.05 },
    ],
  },
  {
    id: 'sgd-vs-gd',
    title: 'SGD vs GD',
    text: 'The same learning rate with exact gradients (GD, solid: the full batch) and with seeded Gaussian noise on every gradient (SGD, dashed: a mini-batch of B examples, noise σ/√B). GD follows a smooth path to the minimum; SGD wanders around it and keeps jittering near the bottom, well above GD’s loss. Move the batch-size slider: a larger B means less noise and a path closer to GD’s.',
    fn: 'bowl',
    start: [-4, 2],
    budget: 120,
    noise: 1.5,
    seed: 1,
    batch: 1,
    racers: [r('gd', { lr: 0.05 }), r('gd', { lr: 0.05 }, true)],
    claims: [
      { racer: 0, near: [0, 0], within: 0.05 },
      { racer: 1, near: [0, 0], within: 1.5 },
      { racer: 0, beats: 1, factor: 10 },
    ],
  },
  {
    id: 'sgd-local',
    title: 'SGD at a local minimum',
    text: 'Started inside the local well, with one learning rate (0.08) for all three. GD and SGD both stay there: the gradient is zero at the bottom and the noise is too weak to climb the barrier. SGD+momentum gathers speed on the way down, overshoots through the local minimum, crosses the barrier and settles in the global one.',
    fn: 'twowells',
    start: [1.6, 0.8],
    budget: 200,
    noise: 1,
    seed: 3,
    racers: [r('gd', { lr: 0.08 }), r('gd', { lr: 0.08 }, true), r('momentum', { lr: 0.08, momentum: 0.9 })],
    claims: [
      { racer: 0, near: [1, 0], within: 0.01 },
      { racer: 1, near: [1, 0], within: 0.5 },
      { racer: 2, near: [-2, 0], within: 0.01 },
    ],
  },
  {
    id: 'sgd-saddle',
    title: 'SGD at a saddle point',
    text: 'f = x² − y², started a hair (y = 0.001) off the line y = 0 that leads straight into the saddle; one learning rate (0.01) for all. GD slides to the saddle at the origin and stalls there, where the gradient vanishes: after 200 steps it is still next to it. SGD’s noise knocks it off the ridge, and once off it the slope along y carries it away from the saddle. SGD+momentum gathers speed, swings across the saddle and runs downhill along y without end (the surface has no minimum: its loss diverges to −∞).',
    fn: 'saddle',
    start: [-2.2, 0.001],
    budget: 200,
    noise: 0.3,
    seed: 1,
    racers: [r('gd', { lr: 0.01 }), r('gd', { lr: 0.01 }, true), r('momentum', { lr: 0.01, momentum: 0.9 })],
    claims: [
      { racer: 0, near: [0, 0], within: 0.1 },
      { racer: 1, far: [0, 0], beyond: 0.3 },
      { racer: 2, far: [0, 0], beyond: 100 },
      { racer: 2, below: -1e4 },
    ],
  },
  {
    id: 'momentum-nag',
    title: 'SGD+Momentum vs NAG',
    text: 'The same learning rate and momentum 0.9 on an ill-conditioned bowl. Heavy-ball momentum overshoots the minimum and spirals in; Nesterov evaluates the gradient at the look-ahead point, brakes earlier, overshoots less and settles sooner.',
    fn: 'bowl',
    start: [-4.5, 2.5],
    budget: 120,
    racers: [r('momentum', { lr: 0.05, momentum: 0.9 }), r('nesterov', { lr: 0.05, momentum: 0.9 })],
    claims: [{ racer: 1, beats: 0, factor: 100 }],
  },
  {
    id: 'convex',
    title: 'Comparison at a convex minimum',
    text: 'GD, momentum and NAG from one start on a convex, ill-conditioned bowl, with one learning rate (0.01) for all. A rate small enough for the steep axis makes GD crawl along the shallow one: after 150 steps it is still at f − f* ≈ 0.5. Momentum builds up speed along the shallow axis and ends about five orders of magnitude lower; NAG, braking with its look-ahead gradient, lower still and with a smoother path.',
    fn: 'bowl',
    start: [-4.5, 2.5],
    budget: 150,
    racers: [r('gd', { lr: 0.01 }), r('momentum', { lr: 0.01, momentum: 0.9 }), r('nesterov', { lr: 0.01, momentum: 0.9 })],
    claims: [
      { racer: 0, above: 0.1 },
      { racer: 1, beats: 0, factor: 1e4 },
      { racer: 2, beats: 1, factor: 2 },
    ],
  },
  {
    id: 'so-far',
    title: 'The optimizers so far',
    text: 'GD, momentum, NAG, AdaGrad, RMSProp and AdaDelta on Beale’s function, whose flat plateau and steep walls punish a single step size: the momentum methods need a 10× smaller learning rate than GD to stay on the walls, AdaGrad and RMSProp rescale each coordinate. AdaDelta runs with PyTorch’s default lr = 1, i.e. nothing to tune: its steps grow only as its running average of past updates does, so it starts slowest.',
    fn: 'beale',
    start: [1, 1.5],
    budget: 500,
    racers: [
      r('gd', { lr: 0.01 }),
      r('momentum', { lr: 0.001 }),
      r('nesterov', { lr: 0.001 }),
      r('adagrad', { lr: 0.5 }),
      r('rmsprop', { lr: 0.01 }),
      r('adadelta', { lr: 1 }),
    ],
    claims: [
      { racer: 0, below: 0.01 },
      { racer: 1, below: 0.01 },
      { racer: 2, below: 0.01 },
      { racer: 3, below: 0.01 },
      { racer: 5, above: 0.05 },
      { racer: 0, beats: 5, factor: 10 },
    ],
  },
  {
    id: 'momentum',
    title: 'Momentum',
    text: 'Rosenbrock’s curved valley, the same learning rate for both. GD crawls along the flat floor of the valley (still far from (1, 1) after 400 steps); momentum accumulates velocity along the valley and gets almost there for the same number of gradient evaluations.',
    fn: 'rosenbrock',
    start: [-1.2, 1],
    budget: 400,
    racers: [r('gd', { lr: 0.001 }), r('momentum', { lr: 0.001, momentum: 0.9 })],
    claims: [
      { racer: 0, far: [1, 1], beyond: 1 },
      { racer: 1, near: [1, 1], within: 0.2 },
    ],
  },
  {
    id: 'rmsprop',
    title: 'RMSProp',
    text: 'AdaGrad divides by the root of the sum of all squared gradients, so its steps shrink forever; RMSProp divides by a decaying average instead and keeps a steady pace towards the minimum. Same learning rate for both.',
    fn: 'beale',
    start: [1, 1.5],
    budget: 400,
    racers: [r('adagrad', { lr: 0.05 }), r('rmsprop', { lr: 0.05 })],
    claims: [
      { racer: 0, far: [3, 0.5], beyond: 1 },
      { racer: 1, near: [3, 0.5], within: 0.01 },
    ],
  },
  {
    id: 'bias-correction',
    title: 'Bias correction',
    text: 'Adam’s moments start at zero, so for the first steps m and v (dashed) are far too small — v by a factor of a thousand at t = 1. Dividing by 1 − β₁ᵗ and 1 − β₂ᵗ gives m̂ and v̂ (solid), which track the gradient and its square (grey, x coordinate) from the very first step; the correction fades as t grows.',
    fn: 'rosenbrock',
    start: [-1.2, 1],
    budget: 60,
    racers: [r('adam', { lr: 0.05 })],
    moments: true,
    speed: 0.5,
    claims: [{ racer: 0, far: [1, 1], beyond: 1 }],
  },
  {
    id: 'adam',
    title: 'Adam results',
    text: 'Adam against the methods before it on Beale’s function, each at a good learning rate of its own. Adam overshoots like momentum (it carries m) and steers like RMSProp (it divides by √v̂): it swings into the narrow valley and is the only one at the minimum (3, 0.5) after 500 steps.',
    fn: 'beale',
    start: [1, 1.5],
    budget: 500,
    racers: [
      r('gd', { lr: 0.01 }),
      r('momentum', { lr: 0.001 }),
      r('adagrad', { lr: 0.5 }),
      r('rmsprop', { lr: 0.01 }),
      r('adam', { lr: 0.1 }),
    ],
    claims: [
      { racer: 4, near: [3, 0.5], within: 0.01 },
      { racer: 0, far: [3, 0.5], beyond: 0.05 },
      { racer: 1, far: [3, 0.5], beyond: 0.05 },
      { racer: 2, far: [3, 0.5], beyond: 0.05 },
      { racer: 3, far: [3, 0.5], beyond: 0.05 },
    ],
  },
  {
    id: 'second-order',
    title: 'Newton and L-BFGS',
    text: 'Second-order methods on Rosenbrock, charged fairly: the timeline counts function/gradient evaluations, so every line-search trial costs a step. Newton (exact Hessian, Armijo line search) and L-BFGS (curvature from its history, strong-Wolfe search) reach (1, 1) in well under 100 evaluations, while Adam and momentum are still in the valley.',
    fn: 'rosenbrock',
    start: [-1.2, 1],
    budget: 150,
    racers: [r('momentum', { lr: 0.001 }), r('adam', { lr: 0.1 }), r('lbfgs'), r('newton')],
    claims: [
      { racer: 2, near: [1, 1], within: 1e-3, by: 100 },
      { racer: 3, near: [1, 1], within: 1e-3, by: 100 },
      { racer: 0, far: [1, 1], beyond: 0.2 },
      { racer: 1, far: [1, 1], beyond: 0.2 },
    ],
  },
  {
    id: 'lbfgs-noise',
    title: 'L-BFGS on noisy gradients',
    text: 'L-BFGS builds its curvature model from differences of successive gradients and trusts its line search; both assume exact gradients. On Rosenbrock with exact gradients it reaches (1, 1) in about 100 evaluations; with seeded noise (σ = 1) on every gradient the same method stalls far from the minimum — the gradient differences are mostly noise and the line search accepts or rejects steps by chance. That is why L-BFGS is a full-batch method and SGD-style methods rule mini-batch training.',
    fn: 'rosenbrock',
    start: [-1.2, 1],
    budget: 150,
    noise: 1,
    seed: 0,
    racers: [r('lbfgs'), r('lbfgs', {}, true)],
    claims: [
      { racer: 0, near: [1, 1], within: 1e-3 },
      { racer: 1, far: [1, 1], beyond: 0.5 },
      { racer: 1, above: 0.1 },
    ],
  },
];

export const presetIds = PRESETS.map((p) => p.id);

/** The parts of a racer's run a claim looks at (the page's runs and race.ts's Run both have them). */
export interface ClaimRun {
  label: string;
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  fs: ArrayLike<number>;
  cost: ArrayLike<number>;
}

/**
 * Undefined when the claim holds for these runs, else what was found instead. `ref` is f* (the global
 * minimum's value); on a surface without a minimum (`hasMin` false) losses are f itself.
 */
export function checkClaim(c: Claim, runs: ClaimRun[], ref: number, hasMin: boolean): string | undefined {
  const run = runs[c.racer];
  if (!run || run.xs.length === 0) return `racer ${c.racer}: no run`;
  let at = run.xs.length - 1;
  if ('by' in c && c.by !== undefined) while (at > 0 && run.cost[at] > c.by) at--;
  const x = run.xs[at];
  const y = run.ys[at];
  const loss = (r: ClaimRun) => (hasMin ? r.fs[r.fs.length - 1] - ref : r.fs[r.fs.length - 1]);
  const where = `${run.label} ends at (${x.toPrecision(4)}, ${y.toPrecision(4)}), loss ${loss(run).toExponential(3)}`;
  if ('near' in c)
    return Math.hypot(x - c.near[0], y - c.near[1]) <= c.within ? undefined : `${where}; claimed within ${c.within} of ${c.near}`;
  if ('far' in c)
    return Math.hypot(x - c.far[0], y - c.far[1]) > c.beyond ? undefined : `${where}; claimed farther than ${c.beyond} from ${c.far}`;
  if ('below' in c) return loss(run) < c.below ? undefined : `${where}; claimed loss below ${c.below}`;
  if ('above' in c) return loss(run) > c.above ? undefined : `${where}; claimed loss above ${c.above}`;
  const other = runs[c.beats];
  return loss(run) * c.factor <= loss(other)
    ? undefined
    : `${where}; claimed ${c.factor}× lower than ${other.label} (${loss(other).toExponential(3)})`;
}

/** The state for a preset; racers whose optimizer the library does not have (yet) are left out. */
export function presetState(p: Preset, base: LabState): LabState {
  const known = new Set(optimizerNames());
  return {
    ...base,
    view: 'race',
    preset: p.id,
    fn: p.fn,
    start: [...p.start],
    budget: p.budget,
    t: 0,
    speed: p.speed ?? (p.budget <= 150 ? 1 : p.budget <= 300 ? 2 : 4),
    lrMode: 'each',
    noise: p.noise ?? 0,
    seed: p.seed ?? 0,
    moments: !!p.moments,
    batch: p.batch ?? 1,
    racers: p.racers.filter((x) => known.has(x.opt)).map((x) => ({ ...x, options: { ...x.options } })),
  };
}
