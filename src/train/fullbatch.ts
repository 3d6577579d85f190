/**
 * Full-batch training: every step sees the whole data set, so the objective is a deterministic
 * function of the parameters and line searches, L-BFGS and Newton's method apply (the lecture's
 * section 6; its section 1 calls plain full-batch gradient descent "batch GD").
 *
 *   fitFullBatch({ model, optimizer, x, y, steps }) → one record per optimizer step
 *
 * Each step calls optimizer.step(closure). The closure evaluates the mean loss on (x, y) (plus any
 * penalty terms): for first-order optimizers and L-BFGS it zeroes the gradients, runs backward and
 * returns the loss (PyTorch's convention); for Newton it returns the loss Tensor with its graph,
 * which Newton differentiates twice itself. The helper counts closure calls, so methods are
 * compared by evaluations, not by steps: GD costs 1 per step, L-BFGS 1 per iteration and more in
 * line searches, Newton 1 + its line search plus Hessian-vector products (`hvps`, each roughly the
 * price of two gradients).
 *
 * Stochastic layers (dropout) draw one mask per step from `rng`, the same for every evaluation in
 * that step, so the objective a line search sees does not change under it.
 */
import type { Tensor } from '../tensor/tensor.js';
import { targetCount } from '../data/tensor-dataset.js';
import { lossFunction, type Loss } from './loss.js';
import { Rng } from '../tensor/rng.js';
import { add } from '../autograd/ops.js';
import { noGrad } from '../autograd/engine.js';
import type { Module } from '../nn/module.js';
import type { AnyOptimizer } from '../optim/optimizer.js';
import { Newton } from '../optim/newton.js';
import { LBFGS } from '../optim/lbfgs.js';

export interface FullBatchRecord {
  /** 1-based step (step 0 is the start, recorded when `recordStart`). */
  step: number;
  /** Loss at the parameters after this step (penalties included). */
  loss: number;
  /** Closure calls so far (each a forward pass, and a backward pass except in Armijo trials). */
  evals: number;
  /** Hessian-vector products so far (Newton). */
  hvps: number;
  /** Optimizer iterations so far (L-BFGS runs up to maxIter per step; others 1). */
  iters: number;
  seconds: number;
  /**
   * Newton's step did not lower the loss (NewtonStepInfo.stalled): its next step would repeat this
   * one, so this is the last record — fitFullBatch stops here, before `steps`.
   */
  stalled?: true;
}

export interface FullBatchOptions {
  model: Module;
  optimizer: AnyOptimizer;
  x: Tensor;
  /** Class labels, class probabilities [N, C], or a float tensor [N, …] of targets (with a loss such as mseLoss). */
  y: ArrayLike<number> | Tensor;
  steps: number;
  loss?: Loss;
  /** Extra differentiable terms added to the objective (penalties). */
  lossTerms?: () => Tensor[];
  /** After each backward pass of the closure, before the optimizer uses the gradients (clipping). */
  onGradients?: () => void;
  /** Checked after each step: true ends the run there (early stopping). */
  shouldStop?: () => boolean;
  /** Masks of stochastic layers (default: a fixed seed). */
  rng?: Rng;
  /** Also record the starting point as step 0 (costs one evaluation, not counted). */
  recordStart?: boolean;
  /** Number of the first step (default 1): a resumed run continues the per-step mask streams. */
  firstStep?: number;
  /** Closure evaluations already spent (a resumed run's count goes on from it). */
  evals?: number;
  /** Called with each step's loss instead of the built-in check (which throws on a non-finite loss). */
  checkLoss?: (loss: number, step: number) => void;
  onStep?: (r: FullBatchRecord) => void;
  now?: () => number;
}

const defaultNow = () => (globalThis.performance ? performance.now() : Date.now());

export function fitFullBatch(o: FullBatchOptions): FullBatchRecord[] {
  const { model, optimizer, x, y } = o;
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new RangeError(`fitFullBatch: steps must be an integer ≥ 0, got ${o.steps}`);
  if (x.shape[0] !== targetCount(y)) throw new RangeError(`fitFullBatch: ${x.shape[0]} inputs but ${targetCount(y)} targets`);
  const lossFn = lossFunction(o.loss);
  const now = o.now ?? defaultNow;
  const rng = (o.rng ?? new Rng(0)).fork('full-batch-masks');
  const wantsGraph = optimizer instanceof Newton;
  let stepRng = rng.fork('step:0');
  let evals = o.evals ?? 0;
  const first = o.firstStep ?? 1;
  if (!Number.isInteger(first) || first < 1) throw new RangeError(`fitFullBatch: firstStep must be an integer ≥ 1, got ${first}`);

  const objective = (): Tensor => {
    let loss = lossFn(model.forward(x, { training: true, rng: stepRng.fork('eval') }), y);
    for (const t of o.lossTerms?.() ?? []) loss = add(loss, t);
    return loss;
  };
  const closure = (): number | Tensor => {
    evals++;
    optimizer.zeroGrad();
    const loss = objective();
    if (wantsGraph) return loss;
    loss.backward();
    o.onGradients?.();
    return loss.item();
  };
  const hvps = () => (optimizer instanceof Newton ? optimizer.hvpEvals : 0);
  const iters = (k: number) => (optimizer instanceof LBFGS ? optimizer.nIter : optimizer instanceof Newton ? optimizer.nIter : k);

  const records: FullBatchRecord[] = [];
  const t0 = now();
  const push = (step: number, stalled = false) => {
    const loss = noGrad(() => objective().item());
    if (o.checkLoss) o.checkLoss(loss, step);
    else if (!Number.isFinite(loss))
      throw new RangeError(
        `full-batch training: the loss became ${loss} at step ${step} (learning rate ${optimizer.lr}); try a smaller learning rate (option lr) or, for LBFGS, lineSearchFn: 'strong_wolfe'`,
      );
    const r: FullBatchRecord = {
      step,
      loss,
      evals,
      hvps: hvps(),
      iters: iters(step),
      seconds: (now() - t0) / 1000,
      ...(stalled ? { stalled: true as const } : {}),
    };
    records.push(r);
    o.onStep?.(r);
  };
  if (o.recordStart) push(first - 1);
  for (let k = first; k < first + o.steps; k++) {
    stepRng = rng.fork(`step:${k}`);
    optimizer.step(closure);
    const stalled = optimizer instanceof Newton && optimizer.trace[optimizer.trace.length - 1]?.stalled === true;
    push(k, stalled);
    if (stalled || o.shouldStop?.()) break;
  }
  return records;
}
