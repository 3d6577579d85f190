/**
 * Gradient clipping — PyTorch's torch.nn.utils.clip_grad_norm_ and clip_grad_value_ (1.13).
 *
 *   clipGradNorm_(params, maxNorm, normType = 2):
 *     N ← ‖(‖g₁‖, ‖g₂‖, …)‖   (the norm of all gradients as one vector; normType ∞: max |gᵢ|)
 *     c ← min(1, maxNorm / (N + 1e-6));   every gᵢ ← c · gᵢ;   returns N
 *   clipGradValue_(params, clipValue): every component clamped to [−clipValue, clipValue]
 *
 * Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks".
 * Conventions (PyTorch's): the 1e-6 in the denominator, so a norm just at maxNorm shrinks by a
 * hair; the gradients are scaled even when c = 1 (a no-op); parameters without a gradient are
 * skipped; a non-finite total norm is an error only with errorIfNonfinite. In place, hence the "_".
 */
import { bool, checkOptions } from '../util/options.js';
import type { Tensor } from '../tensor/tensor.js';
import { check } from './optimizer.js';

type ParamList = Iterable<Tensor> | Iterable<[string, Tensor]>;

function grads(params: ParamList): Tensor[] {
  const out: Tensor[] = [];
  for (const item of params) {
    const t = Array.isArray(item) ? item[1] : (item as Tensor);
    if (t.grad) out.push(t.grad);
  }
  return out;
}

export function clipGradNorm_(params: ParamList, maxNorm: number, normType = 2, opts: { errorIfNonfinite?: boolean } = {}): number {
  checkOptions('clipGradNorm_', opts, { errorIfNonfinite: bool });
  check(
    'clipGradNorm_',
    'maxNorm',
    maxNorm,
    typeof maxNorm === 'number' && maxNorm >= 0 && Number.isFinite(maxNorm),
    'a finite number ≥ 0',
  );
  check('clipGradNorm_', 'normType', normType, typeof normType === 'number' && normType > 0, '> 0 or Infinity');
  const gs = grads(params);
  if (gs.length === 0) return 0;
  let total: number;
  if (normType === Infinity) {
    total = 0;
    for (const g of gs) for (let i = 0; i < g.size; i++) total = Math.max(total, Math.abs(g.data[i]));
  } else {
    // Sum of per-tensor norms to the p, as torch.norm(torch.stack([norm(g) for g]), p).
    let acc = 0;
    for (const g of gs) {
      let s = 0;
      const d = g.data;
      if (normType === 2) for (let i = 0; i < d.length; i++) s += d[i] * d[i];
      else for (let i = 0; i < d.length; i++) s += Math.abs(d[i]) ** normType;
      const norm = normType === 2 ? Math.sqrt(s) : s ** (1 / normType);
      acc += normType === 2 ? norm * norm : norm ** normType;
    }
    total = normType === 2 ? Math.sqrt(acc) : acc ** (1 / normType);
  }
  if (opts.errorIfNonfinite && !Number.isFinite(total)) {
    throw new RangeError(`clipGradNorm_: the total norm of order ${normType} of the gradients is ${total}`);
  }
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  for (const g of gs) {
    const d = g.data;
    for (let i = 0; i < d.length; i++) d[i] *= coef;
  }
  return total;
}

export function clipGradValue_(params: ParamList, clipValue: number): void {
  check('clipGradValue_', 'clipValue', clipValue, typeof clipValue === 'number' && clipValue >= 0, 'a number ≥ 0');
  for (const g of grads(params)) {
    const d = g.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      d[i] = v > clipValue ? clipValue : v < -clipValue ? -clipValue : v;
    }
  }
}
