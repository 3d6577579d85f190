/**
 * matmul beyond two dimensions (torch.matmul's rule: batch dimensions broadcast, a 1-D operand a
 * row or a column whose dimension the result drops) and Linear on inputs [*, in] (nn.Linear's: the
 * layer applies to the last dimension). Values against the definition written out here, gradients
 * against central differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matmul, Linear, Rng, reshape, setBackend, type Tensor } from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose, gradCheck, randT } from '../helpers.js';

await initWasm({ threads: 2 });

/** The batched product by its definition: out[batch, i, j] = Σ_p a[batch', i, p]·b[batch'', p, j], batch indices broadcast. */
function reference(a: Tensor, b: Tensor): { shape: number[]; data: Float64Array } {
  const as = a.ndim === 1 ? [1, a.size] : [...a.shape],
    bs = b.ndim === 1 ? [b.size, 1] : [...b.shape];
  const [n, k] = as.slice(-2),
    m = bs[bs.length - 1];
  const ab = as.slice(0, -2),
    bb = bs.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const pad = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const pa = pad(ab),
    pb = pad(bb);
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const count = batch.reduce((p, d) => p * d, 1);
  const data = new Float64Array(count * n * m);
  for (let c = 0; c < count; c++) {
    // the batch index, and each operand's flat batch offset with its broadcast dimensions held at 0
    let rest = c,
      oa = 0,
      ob = 0,
      sa = 1,
      sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const i = rest % batch[d];
      rest = Math.floor(rest / batch[d]);
      oa += (pa[d] === 1 ? 0 : i) * sa;
      ob += (pb[d] === 1 ? 0 : i) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a.data[(oa * n + i) * k + p] * b.data[(ob * k + p) * m + j];
        data[(c * n + i) * m + j] = s;
      }
  }
  return { shape: [...batch, ...(a.ndim === 1 ? [] : [n]), ...(b.ndim === 1 ? [] : [m])], data };
}

const CASES: [number[], number[], number[]][] = [
  [
    [2, 3, 4],
    [4, 2],
    [2, 3, 2],
  ],
  [
    [2, 3, 4],
    [2, 4, 5],
    [2, 3, 5],
  ],
  [
    [1, 3, 4],
    [5, 4, 2],
    [5, 3, 2],
  ],
  [
    [2, 1, 3, 4],
    [5, 4, 2],
    [2, 5, 3, 2],
  ],
  [[4], [2, 4, 5], [2, 5]],
  [[2, 3, 4], [4], [2, 3]],
  [
    [3, 4],
    [2, 4, 5],
    [2, 3, 5],
  ],
];

for (const backend of ['reference', 'wasm']) {
  test(`matmul broadcasts batch dimensions as torch.matmul does, values and gradients (${backend})`, () => {
    setBackend(backend);
    try {
      CASES.forEach(([sa, sb, want], c) => {
        const a = randT(sa, 10 + c),
          b = randT(sb, 20 + c);
        const y = matmul(a, b);
        const r = reference(a, b);
        assert.deepEqual([...y.shape], want, `${JSON.stringify(sa)} · ${JSON.stringify(sb)}: shape`);
        assert.deepEqual(r.shape, want);
        assertClose(y.data, r.data, 1e-12, `${JSON.stringify(sa)} · ${JSON.stringify(sb)}`);
        gradCheck((p, q) => matmul(p, q), [a, b]);
      });
    } finally {
      setBackend('wasm');
    }
  });
}

test('matmul names both shapes when the inner or the batch dimensions do not fit', () => {
  assert.throws(
    () => matmul(randT([2, 3, 4]), randT([5, 2])),
    /^ShapeError: matmul: inner dimensions differ: \[2, 3, 4\] · \[5, 2\] \(4 vs 5\)$/,
  );
  assert.throws(
    () => matmul(randT([2, 3, 4]), randT([3, 4, 5])),
    /^ShapeError: matmul \(batch dimensions\): shapes \[2\] and \[3\] cannot be broadcast \(dimension 0: 2 vs 3\)$/,
  );
});

test('Linear applies to the last dimension of an input [*, in] (and to a 1-D input), as nn.Linear does, gradients included', () => {
  const layer = new Linear(3, 2, { rng: new Rng(4), dtype: 'float64' });
  const x = randT([2, 4, 3], 5);
  const y = layer.forward(x);
  assert.deepEqual([...y.shape], [2, 4, 2]);
  const flat = layer.forward(reshape(x, [8, 3]));
  assertClose(y.data, flat.data, 0, 'the same rows as the [8, 3] input');
  const one = layer.forward(randT([3], 6));
  assert.deepEqual([...one.shape], [2]);
  gradCheck((v) => layer.forward(v), [x]);
  gradCheck(() => layer.forward(x), [layer.weight, layer.bias!]);
  assert.throws(() => layer.forward(randT([2, 4, 5])), /^ShapeError: Linear\(3→2\): expected input \[\*, 3\], got \[2, 4, 5\]$/);
});
