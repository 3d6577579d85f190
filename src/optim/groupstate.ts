/**
 * Optimizers whose step reads every parameter before it moves any (Prodigy, D-Adaptation: one
 * step-size estimate d from sums over all parameters). Their shared scalars (d, the running
 * numerator, the step count k) live in each parameter group under the reference code's names,
 * camel-cased, as in PyTorch's param_groups, so `stateDict()` carries them with the
 * hyper-parameters; `loadStateDict` takes them back (they are not options: a constructor refuses them).
 */
import type { HostStorage } from '../tensor/tensor.js';
import { noGrad, withGrad } from '../autograd/engine.js';
import {
  Optimizer,
  lossValue,
  type BaseHyper,
  type Closure,
  type OptimizerStateDict,
  type ParamState,
  type ParamsInput,
  type UpdateRule,
} from './optimizer.js';

/** One parameter as a group step sees it. */
export interface Slot {
  p: HostStorage;
  g: HostStorage;
  s: ParamState;
}

/** A group step: every group's hyper-parameters and parameters with a gradient, and the shared scalars (changed in place). */
export type GroupStep<H, G> = (groups: { h: H; params: Slot[] }[], shared: G) => void;

export abstract class GroupAdaptiveOptimizer<H extends BaseHyper, G extends object> extends Optimizer<H> {
  constructor(
    rule: UpdateRule<H>,
    params: ParamsInput<H>,
    options: Partial<H>,
    private readonly keys: readonly (keyof G & string)[],
    initial: (h: H) => G,
  ) {
    super(rule, params, options);
    const g0 = initial(this.paramGroups[0]);
    for (const g of this.paramGroups) Object.assign(g, g0);
  }

  protected abstract groupStep: GroupStep<H, G>;

  /** The shared scalars (group 0's; every group holds the same). */
  get shared(): G {
    const g = this.paramGroups[0] as unknown as Record<string, unknown>;
    return Object.fromEntries(this.keys.map((k) => [k, g[k]])) as G;
  }

  override step(closure?: Closure): number | undefined {
    const loss = closure ? lossValue(this.rule.name, withGrad(true, closure)) : undefined;
    noGrad(() => {
      const groups = this.paramGroups.map((g) => ({
        h: g as H,
        params: g.params
          .filter((p) => p.grad)
          .map((p) => {
            const name = this.nameOf(p);
            let s = this.state.get(name);
            if (!s) {
              s = this.rule.init(p.data, g, p.shape);
              this.state.set(name, s);
            }
            return { p: p.data, g: p.grad!.data, s };
          }),
      }));
      const shared = this.shared;
      this.groupStep(groups, shared);
      for (const g of this.paramGroups) Object.assign(g, shared);
    });
    return loss;
  }

  override loadStateDict(sd: OptimizerStateDict): void {
    const saved = sd.paramGroups.map((g) => {
      const out: Record<string, unknown> = {};
      for (const k of this.keys) {
        if (!(k in g)) throw new Error(`loadStateDict: ${this.rule.name} state has no "${k}" in its parameter groups`);
        const v = g[k] === null ? Infinity : g[k]; // JSON writes ±∞ as null; the shared scalars that can be ∞ are bounds
        if (typeof v !== 'number' || Number.isNaN(v))
          throw new TypeError(`loadStateDict: ${this.rule.name} group "${k}" must be a number, got ${JSON.stringify(g[k])}`);
        out[k] = v;
      }
      return out;
    });
    const stripped = sd.paramGroups.map((g) =>
      Object.fromEntries(Object.entries(g).filter(([k]) => !(this.keys as readonly string[]).includes(k))),
    );
    super.loadStateDict({ ...sd, paramGroups: stripped });
    saved.forEach((v, i) => Object.assign(this.paramGroups[i], v));
  }
}
