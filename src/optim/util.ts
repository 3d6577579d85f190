/** Small helpers shared by the update rules (kept out of the hot loops). */
import type { HostStorage } from '../tensor/tensor.js';
import { check } from './optimizer.js';

/**
 * A plain typed array of the parameter's dtype and length, filled with `value` (the Optimizer
 * moves state into a backend's own memory after init; a rule allocates plain arrays).
 */
export function like(p: HostStorage, value = 0): HostStorage {
  const b = p instanceof Float64Array ? new Float64Array(p.length) : new Float32Array(p.length);
  if (value !== 0) b.fill(value);
  return b;
}

/** betas = [β1, β2], each in [0, 1) (PyTorch's check), named "betas[0]" / "betas[1]". */
export function checkBetas(opt: string, betas: readonly number[]): void {
  check(opt, 'betas', betas, Array.isArray(betas) && betas.length === 2, 'two numbers [β1, β2]');
  betas.forEach((b, i) => check(opt, `betas[${i}]`, b, typeof b === 'number' && b >= 0 && b < 1, 'in [0, 1)'));
}

export function checkBool(opt: string, name: string, v: unknown): void {
  check(opt, name, v, typeof v === 'boolean', 'true or false');
}
