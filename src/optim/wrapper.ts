/**
 * The shell shared by optimizers that wrap another (SAM, Lookahead): the wrapper is an Optimizer
 * over the base's parameters, by the base's names and groups, so fit(), zeroGrad(), checkpoints and
 * the CLI treat it like any other. The learning rate is the base's (`lr`, `setLr` pass through, so
 * schedules drive the base). stateDict() nests the base's:
 *
 *   { optimizer: 'SAM', state: {wrapper's per-parameter state}, paramGroups: [{wrapper's options}],
 *     counters: {…}, base: base.stateDict() }
 *
 * eval()/train()/evalWeights() pass through to a base that has them (Schedule-Free), so a wrapped
 * Schedule-Free optimizer is still evaluated at its average.
 */
import type { HostStorage, Tensor } from '../tensor/tensor.js';
import { checkOptions, type OptionSchema } from '../util/options.js';
import { Optimizer, type AnyOptimizer, type BaseHyper, type OptimizerStateDict, type UpdateRule } from './optimizer.js';
import { hasEvalWeights, type EvalWeights } from './schedule-free.js';

export interface WrapperStateDict extends OptimizerStateDict {
  counters: Record<string, number>;
  base: OptimizerStateDict;
}

export function isWrapperStateDict(sd: OptimizerStateDict): sd is WrapperStateDict {
  return typeof (sd as WrapperStateDict).base === 'object' && (sd as WrapperStateDict).base !== null;
}

export abstract class WrapperOptimizer<H extends BaseHyper> extends Optimizer<H> implements EvalWeights {
  constructor(
    rule: UpdateRule<H>,
    readonly base: AnyOptimizer,
    options: Partial<Omit<H, 'lr'>>,
    ownSchema: OptionSchema,
  ) {
    checkOptions(rule.name, options, ownSchema);
    if (!(base instanceof Optimizer))
      throw new TypeError(`${rule.name}: the base optimizer must be an Optimizer (such as new SGD(params, …)), got ${typeof base}`);
    const b: Optimizer<BaseHyper> = base;
    // each group at its base group's rate, so a schedule reads the groups' ratios here as in the base
    const groups = b.paramGroups.map((g) => ({ lr: g.lr, params: g.params.map((p: Tensor) => [b.nameOf(p), p] as [string, Tensor]) }));
    super(rule, groups as never, { ...options, lr: base.lr } as Partial<H>);
  }

  /** The base's learning rate (of its first group). */
  override get lr(): number {
    return this.base.lr;
  }

  override setLr(lr: number | ((group: never, i: number) => number)): void {
    this.base.setLr(lr as never);
    this.paramGroups.forEach((g, i) => {
      g.lr = this.base.paramGroups[i].lr;
    });
  }

  /** Counters kept in stateDict() beside the per-parameter state. */
  protected abstract counters(): Record<string, number>;
  protected abstract loadCounters(c: Record<string, number>): void;

  override stateDict(): WrapperStateDict {
    const own = super.stateDict();
    return { ...own, paramGroups: own.paramGroups.map(({ lr: _lr, ...g }) => g), counters: this.counters(), base: this.base.stateDict() };
  }

  override loadStateDict(sd: OptimizerStateDict): void {
    if (sd.optimizer !== this.rule.name)
      throw new Error(`loadStateDict: state is for ${sd.optimizer}, this optimizer is ${this.rule.name}`);
    if (!isWrapperStateDict(sd)) throw new Error(`loadStateDict: ${this.rule.name} state has no "base" (the wrapped optimizer's state)`);
    const counters = sd.counters ?? {};
    for (const [k, v] of Object.entries(counters)) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new TypeError(`loadStateDict: ${this.rule.name} counter "${k}" must be a finite number, got ${JSON.stringify(v)}`);
    }
    this.base.loadStateDict(sd.base);
    const { counters: _c, base: _b, ...own } = sd;
    super.loadStateDict({
      ...own,
      paramGroups: own.paramGroups.map((g, i) => ({ ...g, lr: this.base.paramGroups[i]?.lr ?? this.base.lr })),
    });
    this.loadCounters(counters);
  }

  eval(): void {
    if (hasEvalWeights(this.base)) this.base.eval();
  }

  train(): void {
    if (hasEvalWeights(this.base)) this.base.train();
  }

  evalWeights(): [Tensor, HostStorage][] {
    return hasEvalWeights(this.base) ? this.base.evalWeights() : [];
  }
}
