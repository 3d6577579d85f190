/**
 * Curvature through the autograd's gradient of a gradient.
 *
 *   g(θ) = ∇J(θ)          one backward pass with createGraph, so g keeps its own graph
 *   H·v  = ∇(g·v)          one more backward pass through that graph (Pearlmutter's trick: the
 *                          Hessian-vector product costs a small multiple of a gradient and never
 *                          forms H)
 *   H    = [H·e₁ … H·eₙ]   n such products, for models small enough to hold an n×n matrix
 *
 * Parameters are flattened in the order given (PyTorch's convention for L-BFGS), in float64 here
 * whatever the parameters' dtype: the Newton system is solved in double precision.
 */
import { Tensor, allocStorage, zeros } from '../tensor/tensor.js';
import { grad } from '../autograd/engine.js';

export class Curvature {
  /** ∇J flattened (float64). */
  readonly grad: Float64Array;
  readonly n: number;
  /** Hessian-vector products computed so far. */
  hvpCount = 0;
  private readonly g: Tensor[];

  constructor(
    loss: Tensor,
    readonly params: Tensor[],
  ) {
    if (loss.size !== 1) throw new RangeError(`Curvature: the loss must have one element, got ${loss.size}`);
    if (!loss.requiresGrad) throw new Error('Curvature: the loss does not depend on the parameters (computed under noGrad, or a number?)');
    this.g = grad(loss, params, { createGraph: true, allowUnused: true }).map(
      (gi, i) => gi ?? zeros(params[i].shape, { dtype: params[i].dtype }),
    );
    this.n = params.reduce((n, p) => n + p.size, 0);
    this.grad = new Float64Array(this.n);
    let off = 0;
    for (const gi of this.g) {
      this.grad.set(gi.data, off);
      off += gi.size;
    }
  }

  /** H·v for a flat vector v of length n. */
  hvp(v: ArrayLike<number>): Float64Array {
    if (v.length !== this.n) throw new RangeError(`hvp: vector has ${v.length} values, parameters have ${this.n}`);
    this.hvpCount++;
    const out = new Float64Array(this.n);
    // Components of g that do not depend on θ (J linear in them) contribute nothing.
    const outs: Tensor[] = [];
    const seeds: Tensor[] = [];
    let off = 0;
    for (const gi of this.g) {
      if (gi.requiresGrad) {
        outs.push(gi);
        const seed = allocStorage(gi.dtype, gi.size);
        for (let i = 0; i < gi.size; i++) seed[i] = v[off + i];
        seeds.push(new Tensor(seed, gi.shape));
      }
      off += gi.size;
    }
    if (outs.length === 0) return out;
    const hv = grad(outs, this.params, { gradOutputs: seeds, allowUnused: true });
    off = 0;
    hv.forEach((h, i) => {
      if (h) out.set(h.data, off);
      off += this.params[i].size;
    });
    return out;
  }

  /** The full Hessian, row-major n×n, symmetrised ((H + Hᵀ)/2) against rounding. */
  hessian(): Float64Array {
    const n = this.n;
    const H = new Float64Array(n * n);
    const e = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      e[j] = 1;
      const col = this.hvp(e);
      e[j] = 0;
      for (let i = 0; i < n; i++) H[i * n + j] = col[i];
    }
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const s = 0.5 * (H[i * n + j] + H[j * n + i]);
        H[i * n + j] = s;
        H[j * n + i] = s;
      }
    }
    return H;
  }
}

/** The Hessian of a scalar function of the parameters (convenience over Curvature). */
export function hessian(loss: Tensor, params: Tensor[]): Float64Array {
  return new Curvature(loss, params).hessian();
}

/** H·v at the current parameters (convenience over Curvature). */
export function hessianVectorProduct(loss: Tensor, params: Tensor[], v: ArrayLike<number>): Float64Array {
  return new Curvature(loss, params).hvp(v);
}
