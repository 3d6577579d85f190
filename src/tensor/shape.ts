/** Shape arithmetic shared by tensors, autograd and backends. Pure functions, no storage. */

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeEq(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function fmtShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/**
 * A permuted read of a contiguous tensor as few dimensions as it is: output dimensions of `shape`
 * read with the source strides `strides` (in elements). Size-1 dimensions are dropped, and a
 * dimension whose source stride is the next one's stride × that one's size is merged into it (a
 * permutation that keeps the innermost dimensions together, as attention's heads split
 * [N, L, H, D] → [N, H, L, D] does, copies runs of them). Row-major order of the result is the
 * output's order; an empty list means one element.
 */
export function mergeDims(shape: Shape, strides: readonly number[]): { dims: number[]; strides: number[] } {
  const dims: number[] = [],
    st: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && st[last] === strides[i] * shape[i]) {
      dims[last] *= shape[i];
      st[last] = strides[i];
    } else {
      dims.push(shape[i]);
      st.push(strides[i]);
    }
  }
  return { dims, strides: st };
}

/** Row-major strides of a contiguous tensor. */
export function stridesOf(shape: Shape): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

/** NumPy broadcasting: align from the right, a dimension of 1 stretches. */
export function broadcastShapes(a: Shape, b: Shape, what = 'broadcast'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${what}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalise a possibly negative axis against a rank. */
export function normAxis(axis: number, ndim: number, what = 'axis'): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(ndim, 1)) {
    throw new ShapeError(
      `${what}: axis ${axis} is out of range for a tensor of rank ${ndim} (expected an integer in [${ndim === 0 ? 0 : -ndim}, ${Math.max(ndim, 1) - 1}])`,
    );
  }
  return a;
}

export class ShapeError extends Error {
  override name = 'ShapeError';
}
