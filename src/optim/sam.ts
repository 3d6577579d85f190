/**
 * SAM — Sharpness-Aware Minimization (Foret, Kleiner, Mobahi & Neyshabur 2021, ICLR, Algorithm 1),
 * and ASAM, its adaptive form (Kwon, Kim, Park & Choi 2021, ICML, Algorithm 1), as a wrapper over
 * any base optimizer. One step, with two gradient evaluations:
 *
 *   g = ∇L(w)                                   (first evaluation of the closure)
 *   T = 1, or T = |w| + η elementwise            (adaptive: ASAM's normalisation operator T_w)
 *   ε = ρ · T² g / (‖T g‖₂ + 1e-12)              (the ascent to the worst point of the ρ-ball)
 *   g_SAM = ∇L(w + ε)                            (second evaluation, at the perturbed weights)
 *   w ← base step from w with g_SAM              (SGD, Adam, … : any optimizer)
 *
 * ‖T g‖₂ is the norm over every parameter of the wrapped optimizer that has a gradient, its squares
 * summed in the order of the parameters' names (the same bits whatever order they were given in).
 *
 * Usage: `const opt = new SAM(new SGD(params, { lr: 0.1, momentum: 0.9 }), { rho: 0.05 })`, then
 * `opt.step(closure)`, where the closure zeroes the gradients, computes the loss, calls backward()
 * and returns the loss (as for L-BFGS). step() returns the loss at w. fit() passes a closure whose
 * first call reuses the batch's forward and backward pass.
 *
 * Conventions (the reference, davda54/sam, for both SAM and ASAM): 1e-12 added to the norm; T² g
 * (ASAM's T_w applied twice: once in the dual norm, once in the ascent); ρ, adaptive and η per
 * parameter group; defaults ρ 0.05, η 0. Counters: `evals` (closure evaluations: 2 per step).
 *
 * Where implementations differ: davda54's step(closure) expects the first gradient already in
 * `.grad` and calls the closure once; here the closure is called for both (fit() reuses its pass).
 * ASAM's own repository (SamsungLabs/ASAM) uses η = 0.01, scales only tensors named "weight"
 * (biases unnormalised) and adds 1e-16; here every parameter is scaled and η is an option (ASAM's
 * paper suggests ρ ten times SAM's, e.g. 0.5 with adaptive). The m-sharpness of the paper (ε per
 * device shard of the batch) is the batch's ε here, as on one device.
 */
import { noGrad, withGrad } from '../autograd/engine.js';
import type { HostStorage } from '../tensor/tensor.js';
import { bool, num } from '../util/options.js';
import { checkNonNeg, lossValue, type AnyOptimizer, type Closure, type UpdateRule } from './optimizer.js';
import { checkBool } from './util.js';
import { WrapperOptimizer } from './wrapper.js';

export interface SAMOptions {
  /** The base optimizer's (read-only here: set it on the base or with setLr). */
  lr: number;
  /** ρ: the radius of the neighbourhood whose worst loss is minimised. */
  rho: number;
  /** ASAM: normalise by T = |w| + η. */
  adaptive: boolean;
  /** ASAM's η (only with adaptive). */
  eta: number;
}

const ownSchema = { rho: num, adaptive: bool, eta: num };

export const samRule: UpdateRule<SAMOptions> = {
  name: 'SAM',
  defaults: { lr: 0, rho: 0.05, adaptive: false, eta: 0 },
  schema: { lr: num, ...ownSchema },
  validate(h) {
    checkNonNeg('SAM', 'lr', h.lr);
    checkNonNeg('SAM', 'rho', h.rho);
    checkBool('SAM', 'adaptive', h.adaptive);
    checkNonNeg('SAM', 'eta', h.eta);
  },
  init() {
    return {};
  },
  apply() {
    throw new Error('SAM: the update needs a second gradient evaluation; call step(closure)');
  },
};

export class SAM extends WrapperOptimizer<SAMOptions> {
  /** Closure evaluations so far (2 per step). */
  evals = 0;
  private readonly saved = new Map<string, HostStorage>();

  constructor(base: AnyOptimizer, options: Partial<Omit<SAMOptions, 'lr'>> = {}) {
    super(samRule, base, options, ownSchema);
  }

  /** A SAM step evaluates the closure twice; fit() reads this to pass one. */
  get needsClosure(): true {
    return true;
  }

  override step(closure?: Closure): number {
    if (typeof closure !== 'function')
      throw new TypeError(
        'SAM: step() needs a closure (zero the gradients, compute the loss, backward, return it): SAM evaluates the gradient twice per step',
      );
    const loss = lossValue('SAM', withGrad(true, closure));
    this.evals++;
    noGrad(() => this.ascend());
    try {
      lossValue('SAM', withGrad(true, closure));
      this.evals++;
    } finally {
      noGrad(() => this.restore());
    }
    this.base.step();
    return loss;
  }

  /** w ← w + ε, keeping w. */
  private ascend(): void {
    // ‖T g‖² summed by parameter name, so the order the parameters were given in cannot change a bit
    const squares: [string, number][] = [];
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        const w = p.data,
          gr = p.grad.data;
        let s = 0;
        for (let i = 0; i < w.length; i++) {
          const tg = (g.adaptive ? Math.abs(w[i]) + g.eta : 1) * gr[i];
          s += tg * tg;
        }
        squares.push([this.nameOf(p), s]);
      }
    }
    squares.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const norm = Math.sqrt(squares.reduce((acc, [, s]) => acc + s, 0));
    for (const g of this.paramGroups) {
      const scale = g.rho / (norm + 1e-12);
      for (const p of g.params) {
        if (!p.grad) continue;
        const w = p.data,
          gr = p.grad.data;
        this.saved.set(this.nameOf(p), w.slice() as HostStorage);
        for (let i = 0; i < w.length; i++) {
          const t = g.adaptive ? Math.abs(w[i]) + g.eta : 1;
          w[i] += t * t * gr[i] * scale;
        }
      }
    }
  }

  /** w ← the saved w (bit for bit). */
  private restore(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const w = this.saved.get(this.nameOf(p));
        if (w) p.data.set(w);
      }
    }
    this.saved.clear();
  }

  protected counters(): Record<string, number> {
    return { evals: this.evals };
  }

  protected loadCounters(c: Record<string, number>): void {
    this.evals = c.evals ?? 0;
  }
}
