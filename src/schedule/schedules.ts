/**
 * Learning-rate schedules as pure functions of the step: `(t) => lr`.
 *
 * Convention (the one rule to remember): `t` counts optimizer updates (or epochs) already taken, from
 * 0, and `schedule(t)` is the learning rate of update number t. The driver (driver.ts) sets the rate
 * *before* each update, so there is no `scheduler.step()` / `optimizer.step()` order to get wrong.
 * This equals PyTorch's value of `optimizer.param_groups[0]['lr']` after `t` calls of
 * `scheduler.step()` (its `last_epoch == t`), which is what the golden fixtures record.
 *
 * Every schedule is a closed form (PyTorch computes most of them recursively; the two agree up to
 * rounding). Stateful metric-driven decay (reduce-on-plateau) lives in plateau.ts.
 *
 * References: the lecture (α₀e^(−kt), α₀/(1+kt)); torch.optim.lr_scheduler (1.13); Loshchilov &
 * Hutter 2017 (SGDR); Smith 2017 (cyclical learning rates); Smith & Topin 2019 (1cycle);
 * Huang et al. 2017 (snapshot ensembles); Goyal et al. 2017 (linear warm-up); Izmailov et al. 2018
 * (SWALR). Goldens: tools/golden_schedules.py (torch 1.13) and tools/golden_torch2_schedules.py (2.6).
 */

import { bool, checkOptions, fn, num, numArray, oneOf, type SchemaOf } from '../util/options.js';

export type Schedule = (t: number) => number;

/**
 * A schedule that also cycles the momentum (oneCycle with cycleMomentum): `momentum(t)` is the
 * momentum of update t — SGD's and RMSprop's `momentum`, β₁ of Adam-like optimizers — which the
 * driver (driver.ts) sets with the rate. Combinators refuse it rather than drop the momentum.
 */
export type MomentumSchedule = Schedule & { readonly momentum?: Schedule };

/**
 * The options check every factory makes first (util/options): unknown names (with the nearest valid
 * one), wrong types and missing required options are refused, naming "<name> schedule".
 */
function checked<T extends object>(schedule: string, o: T, schema: SchemaOf<T>, required: readonly (keyof T & string)[]): T {
  return checkOptions(`${schedule} schedule`, o, schema, { required });
}

/** Validation: every message names the schedule, the parameter, the accepted range and the value. */
function need(schedule: string, name: string, v: unknown, ok: boolean, range: string): void {
  if (!ok) throw new RangeError(`${schedule} schedule: invalid ${name} ${JSON.stringify(v)}; expected ${range}`);
}
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const nonNeg = (s: string, n: string, v: number) => need(s, n, v, isNum(v) && v >= 0, 'a number ≥ 0');
const positive = (s: string, n: string, v: number) => need(s, n, v, isNum(v) && v > 0, 'a number > 0');
const posInt = (s: string, n: string, v: number) => need(s, n, v, Number.isInteger(v) && v > 0, 'an integer ≥ 1');
const unit = (s: string, n: string, v: number) => need(s, n, v, isNum(v) && v > 0 && v <= 1, 'in (0, 1]');

function checkStep(t: number): void {
  if (!(Number.isInteger(t) && t >= 0)) throw new RangeError(`schedule: step t must be an integer ≥ 0, got ${t}`);
}

/** Wrap a formula so that a bad step is an error rather than NaN. */
function sched(f: (t: number) => number): Schedule {
  return (t) => {
    checkStep(t);
    return f(t);
  };
}

/** α(t) = α₀. */
export function constant(o: { lr: number }): Schedule {
  checked('constant', o, { lr: num }, ['lr']);
  nonNeg('constant', 'lr', o.lr);
  return sched(() => o.lr);
}

/** α(t) = α₀·γ^⌊t/stepSize⌋ (PyTorch StepLR). */
export function stepDecay(o: { lr: number; stepSize: number; gamma?: number }): Schedule {
  checked('step', o, { lr: num, stepSize: num, gamma: num }, ['lr', 'stepSize']);
  const gamma = o.gamma ?? 0.1;
  nonNeg('step', 'lr', o.lr);
  posInt('step', 'stepSize', o.stepSize);
  positive('step', 'gamma', gamma);
  return sched((t) => o.lr * gamma ** Math.floor(t / o.stepSize));
}

/** α(t) = α₀·γ^(number of milestones ≤ t) (PyTorch MultiStepLR). */
export function multiStep(o: { lr: number; milestones: readonly number[]; gamma?: number }): Schedule {
  checked('multistep', o, { lr: num, milestones: numArray, gamma: num }, ['lr', 'milestones']);
  const gamma = o.gamma ?? 0.1;
  nonNeg('multistep', 'lr', o.lr);
  positive('multistep', 'gamma', gamma);
  need(
    'multistep',
    'milestones',
    o.milestones,
    Array.isArray(o.milestones) && o.milestones.every((m, i) => Number.isInteger(m) && m > 0 && (i === 0 || m > o.milestones[i - 1])),
    'increasing integers ≥ 1',
  );
  return sched((t) => o.lr * gamma ** o.milestones.filter((m) => m <= t).length);
}

/** The lecture's exponential decay α(t) = α₀·e^(−kt). */
export function exponential(o: { lr: number; k: number }): Schedule {
  checked('exponential', o, { lr: num, k: num }, ['lr', 'k']);
  nonNeg('exponential', 'lr', o.lr);
  nonNeg('exponential', 'k', o.k);
  return sched((t) => o.lr * Math.exp(-o.k * t));
}

/** α(t) = α₀·γ^t (PyTorch ExponentialLR); equals exponential with k = −ln γ. */
export function exponentialGamma(o: { lr: number; gamma: number }): Schedule {
  checked('gamma', o, { lr: num, gamma: num }, ['lr', 'gamma']);
  nonNeg('gamma', 'lr', o.lr);
  positive('gamma', 'gamma', o.gamma);
  return sched((t) => o.lr * o.gamma ** t);
}

/** The lecture's 1/t decay α(t) = α₀/(1 + kt). */
export function inverseTime(o: { lr: number; k: number }): Schedule {
  checked('inverse-time', o, { lr: num, k: num }, ['lr', 'k']);
  nonNeg('inverse-time', 'lr', o.lr);
  nonNeg('inverse-time', 'k', o.k);
  return sched((t) => o.lr / (1 + o.k * t));
}

/** α(t) = (α₀ − α_end)·(1 − min(t, T)/T)^power + α_end (PyTorch PolynomialLR has α_end = 0, power 1). */
export function polynomial(o: { lr: number; totalSteps: number; power?: number; endLr?: number }): Schedule {
  checked('polynomial', o, { lr: num, totalSteps: num, power: num, endLr: num }, ['lr', 'totalSteps']);
  const power = o.power ?? 1,
    end = o.endLr ?? 0;
  nonNeg('polynomial', 'lr', o.lr);
  posInt('polynomial', 'totalSteps', o.totalSteps);
  nonNeg('polynomial', 'power', power);
  nonNeg('polynomial', 'endLr', end);
  return sched((t) => (o.lr - end) * (1 - Math.min(t, o.totalSteps) / o.totalSteps) ** power + end);
}

/** α(t) = α₀·(s + (e − s)·min(t, T)/T): linear from factor s to factor e over T steps (PyTorch LinearLR). */
export function linear(o: { lr: number; totalSteps: number; startFactor?: number; endFactor?: number }): Schedule {
  checked('linear', o, { lr: num, totalSteps: num, startFactor: num, endFactor: num }, ['lr', 'totalSteps']);
  const s = o.startFactor ?? 1 / 3,
    e = o.endFactor ?? 1;
  nonNeg('linear', 'lr', o.lr);
  posInt('linear', 'totalSteps', o.totalSteps);
  unit('linear', 'startFactor', s);
  need('linear', 'endFactor', e, isNum(e) && e >= 0 && e <= 1, 'in [0, 1]');
  return sched((t) => o.lr * (s + ((e - s) * Math.min(t, o.totalSteps)) / o.totalSteps));
}

/** Half a cosine from a to b as p goes 0 → 1. */
const cosineBetween = (a: number, b: number, p: number) => b + ((a - b) * (1 + Math.cos(Math.PI * p))) / 2;

/**
 * Cosine annealing α(t) = η_min + (α₀ − η_min)(1 + cos(πt/T))/2 (PyTorch CosineAnnealingLR).
 * Past T the cosine continues (rises again), as PyTorch's does; use SGDR for restarts.
 */
export function cosine(o: { lr: number; totalSteps: number; minLr?: number }): Schedule {
  checked('cosine', o, { lr: num, totalSteps: num, minLr: num }, ['lr', 'totalSteps']);
  const min = o.minLr ?? 0;
  nonNeg('cosine', 'lr', o.lr);
  posInt('cosine', 'totalSteps', o.totalSteps);
  nonNeg('cosine', 'minLr', min);
  return sched((t) => cosineBetween(o.lr, min, t / o.totalSteps));
}

/**
 * SGDR, cosine annealing with warm restarts (Loshchilov & Hutter 2017; PyTorch
 * CosineAnnealingWarmRestarts): cycle i lasts T_i = T₀·T_mult^i steps; within it
 * α = η_min + (α₀ − η_min)(1 + cos(π T_cur/T_i))/2.
 */
export function sgdr(o: { lr: number; t0: number; tMult?: number; minLr?: number }): Schedule {
  checked('sgdr', o, { lr: num, t0: num, tMult: num, minLr: num }, ['lr', 't0']);
  const tMult = o.tMult ?? 1,
    min = o.minLr ?? 0;
  nonNeg('sgdr', 'lr', o.lr);
  posInt('sgdr', 'T0', o.t0);
  posInt('sgdr', 'Tmult', tMult);
  nonNeg('sgdr', 'minLr', min);
  return sched((t) => {
    // Walk the cycles with integers (exact; log-based formulas misplace boundaries by rounding).
    let start = 0,
      len = o.t0;
    while (t >= start + len) {
      start += len;
      len *= tMult;
    }
    return cosineBetween(o.lr, min, (t - start) / len);
  });
}

export type CyclicMode = 'triangular' | 'triangular2' | 'exp_range';

/**
 * Cyclical learning rates (Smith 2017; PyTorch CyclicLR with scale_mode by cycle for triangular and
 * triangular2, by iteration for exp_range): up from `lr` (base) to `maxLr` in `stepSizeUp` steps,
 * down in `stepSizeDown` (default the same). triangular2 halves the amplitude each cycle; exp_range
 * scales it by γ^t.
 */
export function cyclic(o: {
  lr: number;
  maxLr: number;
  stepSizeUp?: number;
  stepSizeDown?: number;
  mode?: CyclicMode;
  gamma?: number;
}): Schedule {
  checked(
    'cyclic',
    o,
    { lr: num, maxLr: num, stepSizeUp: num, stepSizeDown: num, mode: oneOf('triangular', 'triangular2', 'exp_range'), gamma: num },
    ['lr', 'maxLr'],
  );
  const up = o.stepSizeUp ?? 2000,
    down = o.stepSizeDown ?? up,
    mode = o.mode ?? 'triangular',
    gamma = o.gamma ?? 1;
  nonNeg('cyclic', 'lr', o.lr);
  nonNeg('cyclic', 'maxLr', o.maxLr);
  posInt('cyclic', 'stepSizeUp', up);
  posInt('cyclic', 'stepSizeDown', down);
  need('cyclic', 'mode', mode, ['triangular', 'triangular2', 'exp_range'].includes(mode), 'triangular, triangular2 or exp_range');
  positive('cyclic', 'gamma', gamma);
  const total = up + down,
    ratio = up / total;
  return sched((t) => {
    const cycle = Math.floor(1 + t / total);
    const x = 1 + t / total - cycle;
    const frac = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
    const height = (o.maxLr - o.lr) * frac;
    const scale = mode === 'triangular' ? 1 : mode === 'triangular2' ? 1 / 2 ** (cycle - 1) : gamma ** t;
    return o.lr + height * scale;
  });
}

/**
 * One-cycle (Smith & Topin 2019; PyTorch OneCycleLR): from maxLr/divFactor up to maxLr over the first
 * pctStart of totalSteps, then down to maxLr/(divFactor·finalDivFactor), by cosine or linear
 * annealing; threePhase goes back to the initial rate before the final descent.
 *
 * cycleMomentum (PyTorch's cycle_momentum) cycles the momentum inversely: from maxMomentum down to
 * baseMomentum while the rate rises, back up while it falls (three phases: stays at maxMomentum in
 * the third), with the same annealing; the result then carries `momentum(t)` and the driver sets
 * it as the optimizer's momentum or β₁. Its default is false here: PyTorch's is true, which
 * silently gives momentum 0.85–0.95 to an SGD built without momentum.
 */
export function oneCycle(o: {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  anneal?: 'cos' | 'linear';
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}): MomentumSchedule {
  checked(
    'onecycle',
    o,
    {
      maxLr: num,
      totalSteps: num,
      pctStart: num,
      anneal: oneOf('cos', 'linear'),
      divFactor: num,
      finalDivFactor: num,
      threePhase: bool,
      cycleMomentum: bool,
      baseMomentum: num,
      maxMomentum: num,
    },
    ['maxLr', 'totalSteps'],
  );
  const pct = o.pctStart ?? 0.3,
    div = o.divFactor ?? 25,
    finalDiv = o.finalDivFactor ?? 1e4,
    anneal = o.anneal ?? 'cos';
  const baseM = o.baseMomentum ?? 0.85,
    maxM = o.maxMomentum ?? 0.95;
  nonNeg('onecycle', 'maxLr', o.maxLr);
  posInt('onecycle', 'totalSteps', o.totalSteps);
  need('onecycle', 'pctStart', pct, isNum(pct) && pct > 0 && pct < 1, 'in (0, 1)');
  positive('onecycle', 'divFactor', div);
  positive('onecycle', 'finalDivFactor', finalDiv);
  need('onecycle', 'anneal', anneal, anneal === 'cos' || anneal === 'linear', 'cos or linear');
  need('onecycle', 'baseMomentum', baseM, isNum(baseM) && baseM >= 0 && baseM < 1, 'in [0, 1)');
  need('onecycle', 'maxMomentum', maxM, isNum(maxM) && maxM >= 0 && maxM < 1, 'in [0, 1)');
  const initial = o.maxLr / div,
    min = initial / finalDiv,
    T = o.totalSteps;
  // Phase end steps as PyTorch computes them (floating point, may be fractional); m: the momentum's ends.
  const phases = o.threePhase
    ? [
        { end: pct * T - 1, from: initial, to: o.maxLr, m: [maxM, baseM] },
        { end: 2 * pct * T - 2, from: o.maxLr, to: initial, m: [baseM, maxM] },
        { end: T - 1, from: initial, to: min, m: [maxM, maxM] },
      ]
    : [
        { end: pct * T - 1, from: initial, to: o.maxLr, m: [maxM, baseM] },
        { end: T - 1, from: o.maxLr, to: min, m: [baseM, maxM] },
      ];
  const f = (a: number, b: number, p: number) => (anneal === 'cos' ? cosineBetween(a, b, p) : a + (b - a) * p);
  const at = (t: number, value: (ph: (typeof phases)[number], p: number) => number) => {
    if (t >= T) throw new RangeError(`onecycle schedule: step ${t} is past totalSteps ${T} (steps 0..${T - 1})`);
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const ph = phases[i];
      if (t <= ph.end || i === phases.length - 1) return value(ph, (t - start) / (ph.end - start));
      start = ph.end;
    }
    return NaN; // not reached: the last phase takes every t < T
  };
  const lr = sched((t) => at(t, (ph, p) => f(ph.from, ph.to, p)));
  if (!o.cycleMomentum) return lr;
  return Object.assign(lr, { momentum: sched((t) => at(t, (ph, p) => f(ph.m[0], ph.m[1], p))) });
}

/** A combinator's parts must not carry a momentum cycle (it would be lost). */
function noMomentum(name: string, parts: readonly Schedule[]): void {
  parts.forEach((s, i) => {
    if ((s as MomentumSchedule).momentum)
      throw new RangeError(
        `${name} schedule: schedule ${i} cycles the momentum, which ${name} cannot carry; drive that one-cycle schedule alone`,
      );
  });
}

/**
 * Linear warm-up in front of any schedule: for t < W the rate rises linearly from
 * startFactor·s(0) to s(0) (PyTorch LinearLR's form: s(0)·(f + (1 − f)·t/W)); from t = W on it is s(t − W),
 * i.e. the schedule starts its own clock after the warm-up (as SequentialLR does).
 */
export function warmup(s: Schedule, o: { steps: number; startFactor?: number }): Schedule {
  if (typeof s !== 'function') throw new TypeError(`warmup schedule: invalid schedule ${typeof s}; expected a function (t) => lr`);
  checked('warmup', o, { steps: num, startFactor: num }, ['steps']);
  noMomentum('warmup', [s]);
  const f = o.startFactor ?? 1 / 3;
  posInt('warmup', 'steps', o.steps);
  need('warmup', 'startFactor', f, isNum(f) && f >= 0 && f <= 1, 'in [0, 1]');
  const peak = s(0);
  return sched((t) => (t < o.steps ? peak * (f + ((1 - f) * t) / o.steps) : s(t - o.steps)));
}

/**
 * Schedules in sequence: schedules[i] runs from milestones[i − 1] (0 for the first) with its own clock
 * restarted at 0. This equals PyTorch SequentialLR (which calls step(0) on the next scheduler at a
 * milestone) for the schedules here; golden: tools/golden_torch2_schedules.py.
 */
export function join(schedules: readonly Schedule[], milestones: readonly number[]): Schedule {
  need(
    'join',
    'schedules',
    schedules,
    Array.isArray(schedules) && schedules.length > 0 && schedules.every((f) => fn.test(f)),
    'a non-empty array of schedules (t) => lr',
  );
  noMomentum('join', schedules);
  need('join', 'milestones', milestones, numArray.test(milestones), numArray.expected);
  need(
    'join',
    'milestones',
    milestones,
    milestones.length === schedules.length - 1 &&
      milestones.every((m, i) => Number.isInteger(m) && m > 0 && (i === 0 || m > milestones[i - 1])),
    `${schedules.length - 1} increasing integers ≥ 1 (one fewer than schedules)`,
  );
  return sched((t) => {
    let i = 0;
    while (i < milestones.length && t >= milestones[i]) i++;
    return schedules[i](t - (i === 0 ? 0 : milestones[i - 1]));
  });
}

/**
 * α(t) = α₀·factor for t < totalSteps, then α₀ (PyTorch ConstantLR; defaults factor 1/3, 5 steps).
 * Used as a short constant warm-up, or inside chain().
 */
export function constantFactor(o: { lr: number; factor?: number; totalSteps?: number }): Schedule {
  checked('constant-factor', o, { lr: num, factor: num, totalSteps: num }, ['lr']);
  const factor = o.factor ?? 1 / 3,
    T = o.totalSteps ?? 5;
  nonNeg('constant-factor', 'lr', o.lr);
  need('constant-factor', 'factor', factor, isNum(factor) && factor >= 0 && factor <= 1, 'in [0, 1]');
  need('constant-factor', 'totalSteps', T, Number.isInteger(T) && T >= 0, 'an integer ≥ 0');
  return sched((t) => (t < T ? o.lr * factor : o.lr));
}

/**
 * α(t) = α₀·λ(t) for any function λ of the step (PyTorch LambdaLR's lr_lambda). A λ that returns
 * anything but a finite number ≥ 0 is an error naming the step. The library's only schedule that
 * takes code, so the CLI has no spelling for it.
 */
export function lambdaFactor(o: { lr: number; lrLambda: (t: number) => number }): Schedule {
  checked('lambda', o, { lr: num, lrLambda: fn }, ['lr', 'lrLambda']);
  nonNeg('lambda', 'lr', o.lr);
  return sched((t) => {
    const k = o.lrLambda(t);
    if (!(isNum(k) && k >= 0))
      throw new RangeError(
        `lambda schedule: lrLambda(${t}) returned ${typeof k === 'number' ? k : typeof k}; expected a finite number ≥ 0`,
      );
    return o.lr * k;
  });
}

/**
 * Schedules chained by multiplication: α(t) = α₀·Π sᵢ(t), each sᵢ built with lr: 1 (its factor).
 * This is PyTorch ChainedScheduler when every chained scheduler scales the rate by a factor of its
 * own step (ConstantLR, LinearLR, StepLR, MultiStepLR, ExponentialLR, PolynomialLR; CosineAnnealingLR
 * with η_min = 0 within its first T steps), which is how it is used. For the others (LambdaLR,
 * cosine with η_min > 0, cyclic, one-cycle) PyTorch's result depends on the order of the step()
 * calls, since each overwrites or offsets the rate; no product reproduces that: use join or
 * lambdaFactor for those.
 */
export function chain(schedules: readonly Schedule[], o: { lr: number }): Schedule {
  need(
    'chain',
    'schedules',
    schedules,
    Array.isArray(schedules) && schedules.length > 0 && schedules.every((f) => fn.test(f)),
    'a non-empty array of schedules (t) => factor',
  );
  noMomentum('chain', schedules);
  checked('chain', o, { lr: num }, ['lr']);
  nonNeg('chain', 'lr', o.lr);
  return sched((t) => schedules.reduce((a, s) => a * s(t), o.lr));
}

/**
 * The SWA rate (PyTorch torch.optim.swa_utils.SWALR): from α₀ to swaLr over annealSteps by cosine
 * ((1 − cos πp)/2) or linear annealing, then swaLr:
 *   α(t) = swaLr·a(p) + α₀·(1 − a(p)),   p = min(1, t/annealSteps)   (annealSteps = 0: swaLr from t = 0)
 * PyTorch computes it recursively, recovering α₀ from the current rate each step; the closed form
 * agrees up to rounding. Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima and Better
 * Generalization".
 */
export function swalr(o: { lr: number; swaLr: number; annealSteps?: number; anneal?: 'cos' | 'linear' }): Schedule {
  checked('swalr', o, { lr: num, swaLr: num, annealSteps: num, anneal: oneOf('cos', 'linear') }, ['lr', 'swaLr']);
  const A = o.annealSteps ?? 10,
    anneal = o.anneal ?? 'cos';
  nonNeg('swalr', 'lr', o.lr);
  nonNeg('swalr', 'swaLr', o.swaLr);
  need('swalr', 'annealSteps', A, Number.isInteger(A) && A >= 0, 'an integer ≥ 0');
  const a = anneal === 'cos' ? (p: number) => (1 - Math.cos(Math.PI * p)) / 2 : (p: number) => p;
  return sched((t) => {
    const alpha = a(A === 0 ? 1 : Math.min(1, t / A));
    return o.swaLr * alpha + o.lr * (1 - alpha);
  });
}

/**
 * The snapshot-ensemble schedule (Huang et al. 2017, eq. 2): M cosine cycles over T steps,
 *   α(t) = α₀/2 · (cos(π·mod(t−1, ⌈T/M⌉)/⌈T/M⌉) + 1)
 * with the paper's 1-based t; here t is 0-based, so α(t) uses mod(t, ⌈T/M⌉). A snapshot is taken
 * after the last step of each cycle (see snapshotSteps).
 */
export function snapshotCosine(o: { lr: number; totalSteps: number; cycles: number }): Schedule {
  checked('snapshot', o, { lr: num, totalSteps: num, cycles: num }, ['lr', 'totalSteps', 'cycles']);
  nonNeg('snapshot', 'lr', o.lr);
  posInt('snapshot', 'totalSteps', o.totalSteps);
  posInt('snapshot', 'cycles', o.cycles);
  need('snapshot', 'cycles', o.cycles, o.cycles <= o.totalSteps, `≤ totalSteps (${o.totalSteps})`);
  const len = Math.ceil(o.totalSteps / o.cycles);
  return sched((t) => (o.lr / 2) * (Math.cos((Math.PI * (t % len)) / len) + 1));
}

/** The step counts (1-based, after that many updates) at which snapshotCosine's cycles end. */
export function snapshotSteps(totalSteps: number, cycles: number): number[] {
  const len = Math.ceil(totalSteps / cycles);
  const out: number[] = [];
  for (let i = 1; i <= cycles; i++) out.push(Math.min(i * len, totalSteps));
  return [...new Set(out)];
}

/** The first n values of a schedule, for plots and the `descent schedule` command. */
export function sample(s: Schedule, n: number): number[] {
  return Array.from({ length: n }, (_, t) => s(t));
}
