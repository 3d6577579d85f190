/**
 * Schedule-Free SGD and AdamW — Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky 2024, "The Road
 * Less Scheduled" (NeurIPS), Algorithm 1; reference: facebookresearch/schedule_free
 * (`sgd_schedulefree.py`, `adamw_schedulefree.py`), whose arithmetic is followed here.
 *
 * Three sequences: z (the base method's iterates), x (their weighted average: the weights to
 * evaluate), and y = (1 − β)z + βx (where the gradient is taken: the weights trained). The
 * parameters hold y in train mode, x in eval mode; z is state. One step, at t = k + 1:
 *
 *   ηₜ = lr · min(1, t / warmupSteps)                        (SGD)
 *   ηₜ = lr · min(1, t / warmupSteps) · √(1 − β₂ᵗ)             (AdamW: Adam's bias correction in the lr)
 *   ηmax ← max(ηmax, ηₜ);   wₜ = tʳ · ηmax^weightLrPower;   W ← W + wₜ;   cₜ = wₜ / W   (0 when W = 0)
 *   SGD:    d = g + λy
 *   AdamW:  v ← β₂v + (1 − β₂)g²;   d = g / (√v + ε) + λy        (no first moment: β₁ is the interpolation)
 *   y ← (1 − cₜ)y + cₜz + ηₜ(β(1 − cₜ) − 1) d               (= the new y, without forming x)
 *   z ← z − ηₜ d
 *
 * with β = momentum (SGD) or β₁ (AdamW). Mode switches, exact up to rounding:
 *   eval():  x = y + (1 − 1/β)(z − y)        train():  y = x + (1 − β)(z − x)
 *
 * Conventions (the reference's): t starts at 1; z starts at the parameters of the first step; the
 * weight decay λ is taken at y and enters d (so it moves z and y alike); each lerp is PyTorch's
 * (a + w(b − a) for w < 0.5, b − (b − a)(1 − w) otherwise); defaults lr 1 (SGD) and 0.0025 (AdamW),
 * β 0.9, β₂ 0.999, ε 1e-8, r 0, weightLrPower 2. A step in eval mode is an error, as there.
 *
 * Where implementations differ: the reference mutates `p.grad` (divides it, adds λy); descent leaves
 * the gradient untouched. `adamw_schedulefree_reference.py` corrects v inside the root
 * (d = g / (√(v/(1 − β₂ᵗ)) + ε)) and keeps √(1 − β₂ᵗ) out of ηmax — different iterates; this file
 * follows `adamw_schedulefree.py`, the one the package exports. The reference keeps k, ηmax and W
 * per parameter group; here they are in each parameter's state (step, lrMax, weightSum), equal for
 * every parameter that gets a gradient at every step, so the rule stays a pure per-parameter update.
 * Optax's `schedule_free` wraps any base transform; these are the two fused forms.
 *
 * State: step, lrMax, weightSum, z, expAvgSq (AdamW). The mode is the group's `trainMode` (the
 * reference's `train_mode`), so a stateDict() taken in either mode restores that mode.
 */
import type { HostStorage } from '../tensor/tensor.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, check, checkNonNeg, type ParamState, type ParamsInput, type UpdateRule } from './optimizer.js';
import { bool, num, numPair } from '../util/options.js';
import { checkBool } from './util.js';

export interface ScheduleFreeSGDOptions {
  lr: number;
  /** β: the interpolation between z and x, in (0, 1). */
  momentum: number;
  weightDecay: number;
  /** Linear warm-up of ηₜ over this many steps (0: none). */
  warmupSteps: number;
  /** Polynomial weighting tʳ of the average. */
  r: number;
  /** The average weights ηmax to this power (0: uniform). */
  weightLrPower: number;
  /** True while the parameters hold y (training), false while they hold x (evaluation). */
  trainMode: boolean;
}

export interface ScheduleFreeAdamWOptions {
  lr: number;
  /** [β₁, β₂]: β₁ interpolates between z and x, β₂ averages g². */
  betas: [number, number];
  eps: number;
  weightDecay: number;
  warmupSteps: number;
  r: number;
  weightLrPower: number;
  trainMode: boolean;
}

/** The per-parameter state of both rules (expAvgSq: AdamW only). */
export interface ScheduleFreeState {
  step: number;
  lrMax: number;
  weightSum: number;
  z: HostStorage;
  expAvgSq?: HostStorage;
}

/** PyTorch's lerp a + w(b − a), in its two-branch form (exact at w = 1). */
const lerp = (a: number, b: number, w: number) => (w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w));

const alloc = (p: HostStorage): HostStorage => (p instanceof Float64Array ? new Float64Array(p.length) : new Float32Array(p.length));

function validateCommon(
  name: string,
  h: { lr: number; weightDecay: number; warmupSteps: number; r: number; weightLrPower: number; trainMode: boolean },
): void {
  checkNonNeg(name, 'lr', h.lr);
  checkNonNeg(name, 'weightDecay', h.weightDecay);
  check(name, 'warmupSteps', h.warmupSteps, Number.isInteger(h.warmupSteps) && h.warmupSteps >= 0, 'an integer ≥ 0');
  checkNonNeg(name, 'r', h.r);
  checkNonNeg(name, 'weightLrPower', h.weightLrPower);
  checkBool(name, 'trainMode', h.trainMode);
}

const interpolation = (name: string, option: string, b: number) =>
  check(name, option, b, typeof b === 'number' && b > 0 && b < 1, 'in (0, 1): β interpolates between z and the average x');

/** The step's ηₜ and averaging weight cₜ, advancing step, lrMax and weightSum. */
function advance(
  s: ParamState,
  lr: number,
  warmupSteps: number,
  r: number,
  weightLrPower: number,
  bias: (t: number) => number,
): { lrT: number; c: number } {
  const k = s.step as number;
  const sched = k < warmupSteps ? (k + 1) / warmupSteps : 1;
  const lrT = lr * sched * bias(k + 1);
  const lrMax = Math.max(lrT, s.lrMax as number);
  const weight = (k + 1) ** r * lrMax ** weightLrPower;
  const weightSum = (s.weightSum as number) + weight;
  s.step = k + 1;
  s.lrMax = lrMax;
  s.weightSum = weightSum;
  return { lrT, c: weightSum === 0 ? 0 : weight / weightSum };
}

function notInTrainMode(name: string): never {
  throw new Error(`${name}: step() while the parameters hold the averaged (eval) weights; call optimizer.train() first`);
}

export const scheduleFreeSGDRule: UpdateRule<ScheduleFreeSGDOptions> = {
  name: 'ScheduleFreeSGD',
  defaults: { lr: 1, momentum: 0.9, weightDecay: 0, warmupSteps: 0, r: 0, weightLrPower: 2, trainMode: true },
  schema: { lr: num, momentum: num, weightDecay: num, warmupSteps: num, r: num, weightLrPower: num, trainMode: bool },
  validate(h) {
    validateCommon('ScheduleFreeSGD', h);
    interpolation('ScheduleFreeSGD', 'momentum', h.momentum);
  },
  init(p): ParamState {
    return { step: 0, lrMax: -1, weightSum: 0, z: p.slice() as HostStorage };
  },
  apply(y, g, s, h) {
    if (!h.trainMode) notInTrainMode('ScheduleFreeSGD');
    const beta = h.momentum;
    const wd = h.weightDecay;
    const { lrT, c } = advance(s, h.lr, h.warmupSteps, h.r, h.weightLrPower, () => 1);
    const z = s.z as HostStorage;
    const toY = lrT * (beta * (1 - c) - 1);
    for (let i = 0; i < y.length; i++) {
      const d = g[i] + wd * y[i];
      y[i] = lerp(y[i], z[i], c) + toY * d;
      z[i] -= lrT * d;
    }
  },
};

export const scheduleFreeAdamWRule: UpdateRule<ScheduleFreeAdamWOptions> = {
  name: 'ScheduleFreeAdamW',
  defaults: { lr: 0.0025, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, warmupSteps: 0, r: 0, weightLrPower: 2, trainMode: true },
  schema: { lr: num, betas: numPair, eps: num, weightDecay: num, warmupSteps: num, r: num, weightLrPower: num, trainMode: bool },
  validate(h) {
    validateCommon('ScheduleFreeAdamW', h);
    check('ScheduleFreeAdamW', 'betas', h.betas, Array.isArray(h.betas) && h.betas.length === 2, 'two numbers [β1, β2]');
    interpolation('ScheduleFreeAdamW', 'betas[0]', h.betas[0]);
    check('ScheduleFreeAdamW', 'betas[1]', h.betas[1], typeof h.betas[1] === 'number' && h.betas[1] >= 0 && h.betas[1] < 1, 'in [0, 1)');
    checkNonNeg('ScheduleFreeAdamW', 'eps', h.eps);
  },
  init(p): ParamState {
    return { step: 0, lrMax: -1, weightSum: 0, z: p.slice() as HostStorage, expAvgSq: alloc(p) };
  },
  apply(y, g, s, h) {
    if (!h.trainMode) notInTrainMode('ScheduleFreeAdamW');
    const [beta1, beta2] = h.betas;
    const { eps, weightDecay: wd } = h;
    const { lrT, c } = advance(s, h.lr, h.warmupSteps, h.r, h.weightLrPower, (t) => Math.sqrt(1 - beta2 ** t));
    const z = s.z as HostStorage;
    const v = s.expAvgSq as HostStorage;
    const toY = lrT * (beta1 * (1 - c) - 1);
    const b2c = 1 - beta2;
    for (let i = 0; i < y.length; i++) {
      const gi = g[i];
      const vi = v[i] * beta2 + b2c * gi * gi;
      v[i] = vi;
      const d = gi / (Math.sqrt(vi) + eps) + wd * y[i];
      y[i] = lerp(y[i], z[i], c) + toY * d;
      z[i] -= lrT * d;
    }
  },
};

/** β of a group: the interpolation weight of either rule. */
const betaOf = (g: ScheduleFreeSGDOptions | ScheduleFreeAdamWOptions) => ('momentum' in g ? g.momentum : g.betas[0]);

/**
 * Optimizers whose evaluated weights differ from the trained ones. fit() and evaluate() read
 * `evalWeights()` (copies; the parameters are not touched, so training continues bit for bit) and
 * leave the model in eval mode at the end of fit(); `eval()`/`train()` switch the parameters in place
 * as the reference does.
 */
export interface EvalWeights {
  eval(): void;
  train(): void;
  /** The weights to evaluate, one copy per parameter that differs (x in train mode; none in eval mode). */
  evalWeights(): [Tensor, HostStorage][];
}

/** True for an optimizer (or wrapper) that has eval weights. */
export function hasEvalWeights(o: unknown): o is EvalWeights {
  return typeof o === 'object' && o !== null && typeof (o as EvalWeights).evalWeights === 'function';
}

class ScheduleFreeBase<H extends ScheduleFreeSGDOptions | ScheduleFreeAdamWOptions> extends Optimizer<H> implements EvalWeights {
  /** Parameters ← x (the average), as the reference's optimizer.eval(). */
  eval(): void {
    this.switchTo(false);
  }

  /** Parameters ← y (where gradients are taken), as the reference's optimizer.train(). */
  train(): void {
    this.switchTo(true);
  }

  /** True while the parameters hold y. */
  get trainMode(): boolean {
    return this.paramGroups.every((g) => g.trainMode);
  }

  evalWeights(): [Tensor, HostStorage][] {
    const out: [Tensor, HostStorage][] = [];
    for (const g of this.paramGroups) {
      if (!g.trainMode) continue;
      const w = 1 - 1 / betaOf(g);
      for (const p of g.params) {
        const z = this.state.get(this.nameOf(p))?.z as HostStorage | undefined;
        if (!z) continue;
        const x = p.data.slice() as HostStorage;
        for (let i = 0; i < x.length; i++) x[i] = lerp(x[i], z[i], w);
        out.push([p, x]);
      }
    }
    return out;
  }

  private switchTo(train: boolean): void {
    for (const g of this.paramGroups) {
      if (g.trainMode === train) continue;
      const beta = betaOf(g);
      const w = train ? 1 - beta : 1 - 1 / beta;
      for (const p of g.params) {
        const z = this.state.get(this.nameOf(p))?.z as HostStorage | undefined;
        if (!z) continue;
        const d = p.data;
        for (let i = 0; i < d.length; i++) d[i] = lerp(d[i], z[i], w);
      }
      g.trainMode = train;
    }
  }
}

export class ScheduleFreeSGD extends ScheduleFreeBase<ScheduleFreeSGDOptions> {
  constructor(params: ParamsInput<ScheduleFreeSGDOptions>, options: Partial<ScheduleFreeSGDOptions> = {}) {
    super(scheduleFreeSGDRule, params, options);
  }
}

export class ScheduleFreeAdamW extends ScheduleFreeBase<ScheduleFreeAdamWOptions> {
  constructor(params: ParamsInput<ScheduleFreeAdamWOptions>, options: Partial<ScheduleFreeAdamWOptions> = {}) {
    super(scheduleFreeAdamWRule, params, options);
  }
}
