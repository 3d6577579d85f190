/**
 * Lookahead — Zhang, Lucas, Hinton & Ba 2019, "Lookahead Optimizer: k steps forward, 1 step back"
 * (NeurIPS), Algorithm 1, as a wrapper over any base optimizer:
 *
 *   φ ← θ                               (slow weights: the parameters at the first step)
 *   every step:  θ ← base step of θ      (the fast weights; the base keeps its own state)
 *   every k-th:  θ ← αθ + (1 − α)φ;  φ ← θ     (= φ + α(θ − φ): the slow weights move toward the fast)
 *
 * Usage: `new Lookahead(new Adam(params, { lr: 1e-3 }), { k: 5, alpha: 0.5 })`. A closure given to
 * step() goes to the base (so Lookahead over SAM works).
 *
 * Conventions: defaults k 5, α 0.5 (the paper's); the interpolation is written αθ + (1 − α)φ, the
 * first author's code (michaelrzhang/lookahead); φ is taken at the first step, not at construction,
 * so weights loaded after building the optimizer are the ones φ starts from; the base's state
 * (momentum, Adam's moments) carries over the synchronisation unchanged (that code's
 * `pullback_momentum: "none"`). The model is evaluated at the fast weights θ, which equal φ right
 * after each synchronisation (that code swaps φ in for evaluation).
 * State: slow (φ) per parameter; counter `step` (base steps since the last synchronisation).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import { num } from '../util/options.js';
import { check, checkNonNeg, type AnyOptimizer, type Closure, type UpdateRule } from './optimizer.js';
import { WrapperOptimizer } from './wrapper.js';

export interface LookaheadOptions {
  /** The base optimizer's (read-only here). */
  lr: number;
  /** Base steps between synchronisations. */
  k: number;
  /** α: how far the slow weights move toward the fast ones, in (0, 1]. */
  alpha: number;
}

const ownSchema = { k: num, alpha: num };

export const lookaheadRule: UpdateRule<LookaheadOptions> = {
  name: 'Lookahead',
  defaults: { lr: 0, k: 5, alpha: 0.5 },
  schema: { lr: num, ...ownSchema },
  validate(h) {
    checkNonNeg('Lookahead', 'lr', h.lr);
    check('Lookahead', 'k', h.k, Number.isInteger(h.k) && h.k >= 1, 'an integer ≥ 1');
    check('Lookahead', 'alpha', h.alpha, typeof h.alpha === 'number' && h.alpha > 0 && h.alpha <= 1, 'in (0, 1]');
  },
  init(p) {
    return { slow: p.slice() as HostStorage };
  },
  apply() {
    throw new Error('Lookahead: step() the wrapper, not its rule');
  },
};

export class Lookahead extends WrapperOptimizer<LookaheadOptions> {
  /** Base steps since the last synchronisation. */
  fastSteps = 0;

  constructor(base: AnyOptimizer, options: Partial<Omit<LookaheadOptions, 'lr'>> = {}) {
    super(lookaheadRule, base, options, ownSchema);
    if (new Set(this.paramGroups.map((g) => g.k)).size > 1) throw new RangeError('Lookahead: k must be the same for every parameter group');
  }

  /** The base's closure evaluations, when it counts them (SAM). */
  get evals(): number | undefined {
    return (this.base as { evals?: number }).evals;
  }

  /** True when the base needs a closure (SAM). */
  get needsClosure(): boolean {
    return (this.base as { needsClosure?: boolean }).needsClosure === true;
  }

  override step(closure?: Closure): number | undefined {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const name = this.nameOf(p);
        if (!this.state.has(name)) this.state.set(name, this.rule.init(p.data, g, p.shape));
      }
    }
    const loss = this.base.step(closure) as number | undefined;
    this.fastSteps++;
    if (this.fastSteps >= this.paramGroups[0].k) {
      this.fastSteps = 0;
      noGrad(() => this.synchronise());
    }
    return loss;
  }

  private synchronise(): void {
    for (const g of this.paramGroups) {
      const a = g.alpha;
      for (const p of g.params) {
        const slow = this.state.get(this.nameOf(p))!.slow as HostStorage;
        const w = p.data;
        for (let i = 0; i < w.length; i++) {
          const v = w[i] * a + (1 - a) * slow[i];
          w[i] = v;
          slow[i] = w[i];
        }
      }
    }
  }

  protected counters(): Record<string, number> {
    return { step: this.fastSteps };
  }

  protected loadCounters(c: Record<string, number>): void {
    const s = c.step ?? 0;
    check('Lookahead', 'state counter step', s, Number.isInteger(s) && s >= 0, 'an integer ≥ 0');
    this.fastSteps = s;
  }
}
