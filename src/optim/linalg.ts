/**
 * Small dense linear algebra for the matrix optimizers (Muon, SOAP), in float64 whatever the
 * parameters' dtype: row-major matrices in Float64Array, sizes passed beside them.
 *
 *   matmul(a, b, m, k, n)           a (m×k) · b (k×n)
 *   gramRows(a, m, n)               a · aᵀ (m×m)
 *   symEig(A, n)                    eigenvalues (descending) and eigenvectors (columns) of a symmetric
 *                                   matrix, by cyclic Jacobi rotations
 *   qrQ(A, n)                       the orthogonal factor Q of A = QR (square A), by Householder reflections
 *   modeProduct(t, dims, k, Q, …)   the mode-k product of an N-d tensor with a square matrix or its transpose
 *   modeGram(t, dims, k)            the mode-k unfolding times its transpose (Shampoo's L, R, … statistics)
 *
 * Conventions: eigenvector and Q-column signs are whatever the algorithm yields (LAPACK's may differ);
 * SOAP's update is invariant to them (a sign flips a coordinate of the rotated moment and of the way
 * back alike), and an eigenspace of a repeated eigenvalue is any orthonormal basis of it — there a
 * rotated Adam's result depends on the basis, so two implementations agree only where the statistics'
 * eigenvalues are distinct. Sums run in index order, so results equal BLAS's to rounding (~1e-16 relative).
 */
/** a (m×k) · b (k×n) → m×n. */
export function matmul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  out = new Float64Array(m * n),
): Float64Array {
  out.fill(0);
  for (let i = 0; i < m; i++) {
    const ro = i * n;
    for (let l = 0; l < k; l++) {
      const ail = a[i * k + l];
      if (ail === 0) continue;
      const rb = l * n;
      for (let j = 0; j < n; j++) out[ro + j] += ail * b[rb + j];
    }
  }
  return out;
}

/** a · aᵀ for a (m×n) → m×m (symmetric: the upper triangle is computed and mirrored). */
export function gramRows(a: ArrayLike<number>, m: number, n: number, out = new Float64Array(m * m)): Float64Array {
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      let s = 0;
      for (let l = 0; l < n; l++) s += a[i * n + l] * a[j * n + l];
      out[i * m + j] = s;
      out[j * m + i] = s;
    }
  }
  return out;
}

/**
 * Eigen-decomposition of a symmetric n×n matrix (only the values are read, the input is not changed):
 * cyclic Jacobi sweeps until every off-diagonal entry is negligible against the diagonal (relative
 * 1e-300 floor keeps a zero matrix finite). Returns the eigenvalues in descending order and the
 * eigenvectors as the matching columns of an n×n row-major matrix.
 */
export function symEig(A: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(A as ArrayLike<number>);
  // w holds the eigenvectors as rows (w = Vᵀ), so a rotation updates two contiguous rows
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) w[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-32 * diag || off < 1e-300) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // the rotation angle that zeroes a[p][q]: t = tan θ, the smaller root (Golub & Van Loan, Algorithm 8.5.1)
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J on rows p and q (A stays symmetric: the columns are the mirrored rows)
        const rp = p * n;
        const rq = q * n;
        for (let k = 0; k < n; k++) {
          if (k === p || k === q) continue;
          const akp = a[rp + k];
          const akq = a[rq + k];
          const np = c * akp - s * akq;
          const nq = s * akp + c * akq;
          a[rp + k] = np;
          a[k * n + p] = np;
          a[rq + k] = nq;
          a[k * n + q] = nq;
        }
        a[rp + p] = app - t * apq;
        a[rq + q] = aqq + t * apq;
        a[rp + q] = 0;
        a[rq + p] = 0;
        for (let k = 0; k < n; k++) {
          const wpk = w[rp + k];
          const wqk = w[rq + k];
          w[rp + k] = c * wpk - s * wqk;
          w[rq + k] = s * wpk + c * wqk;
        }
      }
    }
  }
  const order = [...Array(n).keys()].sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = a[src * n + src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = w[src * n + k];
  });
  return { values, vectors };
}

/** Q of the QR factorisation of a square n×n matrix (Householder reflections; Q Qᵀ = I to rounding). */
export function qrQ(A: ArrayLike<number>, n: number): Float64Array {
  const r = Float64Array.from(A as ArrayLike<number>);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const w = new Float64Array(n);
  const sums = new Float64Array(n);
  for (let k = 0; k < n - 1; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += r[i * n + k] * r[i * n + k];
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = r[k * n + k] >= 0 ? -norm : norm;
    w.fill(0);
    for (let i = k; i < n; i++) w[i] = r[i * n + k];
    w[k] -= alpha;
    let wn = 0;
    for (let i = k; i < n; i++) wn += w[i] * w[i];
    if (wn === 0) continue;
    // R ← (I − 2wwᵀ/wᵀw) R;  Q ← Q (I − 2wwᵀ/wᵀw)
    sums.fill(0);
    for (let i = k; i < n; i++) {
      const wi = w[i];
      for (let j = k; j < n; j++) sums[j] += wi * r[i * n + j];
    }
    for (let i = k; i < n; i++) {
      const wi = (2 * w[i]) / wn;
      for (let j = k; j < n; j++) r[i * n + j] -= sums[j] * wi;
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = k; j < n; j++) s += q[i * n + j] * w[j];
      const f = (2 * s) / wn;
      for (let j = k; j < n; j++) q[i * n + j] -= f * w[j];
    }
  }
  return q;
}

/** Sizes around mode k of a row-major tensor: [outer, d_k, inner]. */
function around(dims: readonly number[], k: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < k; i++) outer *= dims[i];
  for (let i = k + 1; i < dims.length; i++) inner *= dims[i];
  return [outer, dims[k], inner];
}

/**
 * Mode-k product of a row-major tensor with a d_k×d_k matrix Q: out[…, a, …] = Σ_i t[…, i, …]·M(i, a),
 * M = Q (`transpose` false: coordinates in Q's basis, Qᵀt along mode k) or Qᵀ (`transpose` true: back, Q·t).
 */
export function modeProduct(
  t: ArrayLike<number>,
  dims: readonly number[],
  k: number,
  Q: ArrayLike<number>,
  back: boolean,
  out = new Float64Array(t.length),
): Float64Array {
  const [outer, d, inner] = around(dims, k);
  // m[i][a] = M(i, a), rows contiguous
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let a = 0; a < d; a++) m[i * d + a] = back ? Q[a * d + i] : Q[i * d + a];
  out.fill(0);
  for (let o = 0; o < outer; o++) {
    const base = o * d * inner;
    for (let i = 0; i < d; i++) {
      const ri = base + i * inner;
      const mi = i * d;
      if (inner === 1) {
        const ti = t[ri];
        if (ti === 0) continue;
        for (let a = 0; a < d; a++) out[base + a] += ti * m[mi + a];
        continue;
      }
      for (let a = 0; a < d; a++) {
        const mia = m[mi + a];
        if (mia === 0) continue;
        const ro = base + a * inner;
        for (let j = 0; j < inner; j++) out[ro + j] += t[ri + j] * mia;
      }
    }
  }
  return out;
}

/** The mode-k Gram matrix: G[i][i'] = Σ over every other index of t[…, i, …]·t[…, i', …] (d_k×d_k). */
export function modeGram(t: ArrayLike<number>, dims: readonly number[], k: number): Float64Array {
  const [outer, d, inner] = around(dims, k);
  const g = new Float64Array(d * d);
  for (let o = 0; o < outer; o++) {
    const base = o * d * inner;
    if (inner === 1) {
      // a rank-one update by the row t[o, :] (upper triangle)
      for (let i = 0; i < d; i++) {
        const ti = t[base + i];
        if (ti === 0) continue;
        const gi = i * d;
        for (let i2 = i; i2 < d; i2++) g[gi + i2] += ti * t[base + i2];
      }
      continue;
    }
    for (let i = 0; i < d; i++) {
      const b1 = base + i * inner;
      for (let i2 = i; i2 < d; i2++) {
        const b2 = base + i2 * inner;
        let s = 0;
        for (let j = 0; j < inner; j++) s += t[b1 + j] * t[b2 + j];
        g[i * d + i2] += s;
      }
    }
  }
  for (let i = 0; i < d; i++) for (let i2 = i + 1; i2 < d; i2++) g[i2 * d + i] = g[i * d + i2];
  return g;
}
