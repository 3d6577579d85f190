/**
 * Regularisation penalties J(θ) + λR(W), as differentiable loss terms the trainer adds to the loss and
 * reports on their own (record.terms.l1, .l2, .elasticNet).
 *
 * Conventions (the lecture's, with its errata applied):
 *   L1, the Lasso penalty:   λ Σ|w|          gradient λ·sign(w)  (0 at w = 0)
 *   L2, the Ridge penalty:   λ Σw²           gradient 2λw — NOT (λ/2)Σw². So an L2 penalty λ under
 *                            SGD is exactly SGD's weightDecay 2λ (tested). Keras' l2(λ) is the same.
 *   Elastic Net:             λ₁ Σ|w| + λ₂ Σw² (the lecture's Σ(βW² + |W|) is λ₁ = λ, λ₂ = βλ)
 * The sums run over the chosen parameters, by default the weights and not the biases (every
 * parameter with two or more dimensions: Linear and Conv2d weights).
 *
 * An L2 penalty is not decoupled weight decay: under Adam the penalty's gradient 2λw is divided by
 * √v̂ like any gradient, while decoupled decay (AdamW, decay.ts) shrinks w by ηλw directly.
 */
import type { Tensor } from '../tensor/tensor.js';
import { abs, add, mul, square, sum } from '../autograd/ops.js';

export type ParamFilter = (name: string, p: Tensor) => boolean;

/** Weights, not biases: parameters with ndim ≥ 2. */
export const weightsOnly: ParamFilter = (_name, p) => p.shape.length >= 2;
export const allParameters: ParamFilter = () => true;

/** Anything with named parameters (a Module). */
export interface HasParameters {
  namedParameters(): [string, Tensor][];
}

export function selectParameters(model: HasParameters, filter: ParamFilter = weightsOnly): Tensor[] {
  return model
    .namedParameters()
    .filter(([n, p]) => filter(n, p))
    .map(([, p]) => p);
}

function checkLambda(what: string, lambda: number): void {
  if (!(typeof lambda === 'number' && Number.isFinite(lambda) && lambda >= 0))
    throw new RangeError(`${what}: invalid λ ${JSON.stringify(lambda)}; expected a number ≥ 0`);
}

function total(params: readonly Tensor[], f: (p: Tensor) => Tensor, what: string): Tensor {
  if (params.length === 0) throw new RangeError(`${what}: no parameters selected (by default only weights, ndim ≥ 2, are penalised)`);
  return params.map((p) => sum(f(p))).reduce((a, b) => add(a, b));
}

/** λ Σ|w| (Lasso). */
export function l1Penalty(params: readonly Tensor[], lambda: number): Tensor {
  checkLambda('L1 penalty', lambda);
  return mul(total(params, abs, 'L1 penalty'), lambda);
}

/** λ Σw² (Ridge); its gradient is 2λw. */
export function l2Penalty(params: readonly Tensor[], lambda: number): Tensor {
  checkLambda('L2 penalty', lambda);
  return mul(total(params, square, 'L2 penalty'), lambda);
}

/** λ₁ Σ|w| + λ₂ Σw². */
export function elasticNetPenalty(params: readonly Tensor[], l1: number, l2: number): Tensor {
  return add(l1Penalty(params, l1), l2Penalty(params, l2));
}

/** Σ|w| and Σw² as plain numbers (no graph), for reporting. */
export function norms(params: readonly Tensor[]): { l1: number; l2sq: number; count: number } {
  let l1 = 0,
    l2sq = 0,
    count = 0;
  for (const p of params) {
    const d = p.data;
    for (let i = 0; i < d.length; i++) {
      l1 += Math.abs(d[i]);
      l2sq += d[i] * d[i];
    }
    count += d.length;
  }
  return { l1, l2sq, count };
}

/** Fraction of the weights with |w| ≤ tol (tol = 0 counts exact zeros). */
export function nearZeroFraction(params: readonly Tensor[], tol = 1e-3): number {
  let n = 0,
    z = 0;
  for (const p of params) {
    const d = p.data;
    for (let i = 0; i < d.length; i++) if (Math.abs(d[i]) <= tol) z++;
    n += d.length;
  }
  return n ? z / n : 0;
}
