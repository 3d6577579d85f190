/**
 * Embedding against PyTorch 1.13 (tools/golden_sequence.py): lookups of any index shape, repeated
 * indices whose gradients add, a paddingIdx row (negative included) that takes no gradient; its
 * N(0, 1) initialisation with a zero padding row, gradients of gradients, and the errors for ids
 * that are not integers in range.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { assertClose } from '../helpers.js';

interface Case {
  name: string;
  num: number;
  dim: number;
  paddingIdx: number | null;
  indices: { shape: number[]; data: number[] };
  w: { shape: number[]; data: number[]; grad: number[] };
  y: number[];
  yShape: number[];
  gy: number[];
}
const F: { embedding: Case[] } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/sequence/sequence.json', import.meta.url), 'utf8'),
);

test('Embedding equals PyTorch F.embedding: rows, repeated indices adding their gradients, the paddingIdx row without one (float64)', () => {
  assert.ok(F.embedding.some((c) => c.paddingIdx === null) && F.embedding.some((c) => c.paddingIdx !== null && c.paddingIdx < 0));
  for (const c of F.embedding) {
    const m = new d.Embedding(c.num, c.dim, { dtype: 'float64', ...(c.paddingIdx === null ? {} : { paddingIdx: c.paddingIdx }) });
    m.loadStateDict({ weight: { shape: c.w.shape, data: c.w.data } });
    const y = m.forward(d.fromData(Float64Array.from(c.indices.data), c.indices.shape));
    assert.deepEqual(y.shape, c.yShape, c.name);
    assertClose(y.data, c.y, 1e-15, `${c.name} y`);
    d.backward(y, { gradient: d.fromData(Float64Array.from(c.gy), c.yShape) });
    assertClose(m.weight.grad!.data, c.w.grad, 1e-12, `${c.name} dW`);
    if (c.paddingIdx !== null) {
      const p = c.paddingIdx < 0 ? c.num + c.paddingIdx : c.paddingIdx;
      assert.equal(m.paddingIdx, p);
      assert.ok(c.indices.data.includes(p), `${c.name}: the padding row is looked up`);
      assert.deepEqual(Array.from(m.weight.grad!.data.slice(p * c.dim, (p + 1) * c.dim)), new Array(c.dim).fill(0));
    }
  }
});

test('Embedding initialises N(0, 1) (PyTorch) with the paddingIdx row zero; same seed, same table; float32 by default', () => {
  const m = new d.Embedding(400, 25, { paddingIdx: -2, rng: new d.Rng(5) });
  assert.equal(m.weight.dtype, 'float32');
  assert.deepEqual(m.weight.shape, [400, 25]);
  const w = Array.from(m.weight.data);
  assert.deepEqual(w.slice(398 * 25, 399 * 25), new Array(25).fill(0), 'row 398 = 400 − 2');
  const rest = w.filter((_, i) => Math.floor(i / 25) !== 398);
  const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
  const sd = Math.sqrt(rest.reduce((a, b) => a + (b - mean) ** 2, 0) / rest.length);
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03, `mean ${mean}, sd ${sd}`);
  assert.deepEqual(Array.from(new d.Embedding(400, 25, { paddingIdx: -2, rng: new d.Rng(5) }).weight.data), w);
  const g = new d.Embedding(10, 4, { init: 'glorot', rng: new d.Rng(1) });
  const bound = Math.sqrt(6 / (4 + 10));
  assert.ok(g.weight.data.every((v) => Math.abs(v) <= bound));
  assert.equal(m.describe(), 'Embedding(400, 25, paddingIdx 398)');
});

test('Embedding: the gradient of a gradient is the lookup again, with the padding positions zero', () => {
  const m = new d.Embedding(4, 2, { dtype: 'float64', paddingIdx: 1, rng: new d.Rng(2) });
  const ids = d.fromData(Float64Array.from([3, 1, 3, 0]), [4]);
  const y = m.forward(ids);
  const gy = d.fromData(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [4, 2], { requiresGrad: true });
  const gw = d.grad(d.sum(d.mul(y, gy)), [m.weight], { createGraph: true })[0]!;
  assert.deepEqual(Array.from(gw.data), [7, 8, 0, 0, 0, 0, 1 + 5, 2 + 6]);
  const r = d.fromData(Float64Array.from([1, -1, 2, -2, 3, -3, 4, -4]), [4, 2]);
  const ggy = d.grad(d.sum(d.mul(gw, r)), [gy])[0]!;
  // d/d gy of Σ gw·r: row i of gy reaches gw's row ids[i] unless it is the padding row
  assert.deepEqual(Array.from(ggy.data), [4, -4, 0, 0, 4, -4, 1, -1]);
});

test('Embedding refuses ids that are not integers in [0, num), naming the value and its position, and bad options', () => {
  const m = new d.Embedding(1000, 4);
  assert.throws(
    () => m.forward(d.fromData(Float32Array.from([3, 5, 7, 1 / 255, 9, 9, 9, 9]), [2, 4])),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        'Embedding(1000, 4): index 0.003922 at [0, 3] is not an integer in [0, 1000); token ids stored as uint8 are divided by 255 when read as images — save them as int32',
  );
  assert.throws(() => m.forward(d.fromData([1, 1000], [2])), /Embedding\(1000, 4\): index 1000 at \[1\] is not an integer in \[0, 1000\)$/);
  assert.throws(() => m.forward(d.fromData([-1], [1, 1])), /index -1 at \[0, 0\] is not an integer in \[0, 1000\)$/);
  assert.throws(() => m.forward(d.fromData([2.5], [1])), /index 2.5 at \[0\] is not an integer in \[0, 1000\)$/);
  const w = d.fromData(Float64Array.from([1, 2, 3, 4, 5, 6]), [3, 2], { requiresGrad: true });
  d.sum(d.embedding(w, d.fromData([2, 0, 2], [3]), -1)).backward();
  assert.deepEqual(Array.from(w.grad!.data), [1, 1, 0, 0, 0, 0], 'the functional form: paddingIdx −1 is row 2');
  assert.throws(() => d.embedding(w, d.fromData([0], [1]), 3), /embedding: paddingIdx must be an integer in \[-3, 3\) or null, got 3/);
  assert.throws(() => d.embedding(w, d.fromData([3], [1])), /embedding: index 3 at \[0\] is not an integer in \[0, 3\)$/);
  assert.throws(() => new d.Embedding(0, 4), /Embedding: numEmbeddings must be a positive integer, got 0/);
  assert.throws(() => new d.Embedding(10, 2.5), /Embedding: embeddingDim must be a positive integer, got 2.5/);
  assert.throws(() => new d.Embedding(10, 4, { paddingIdx: 10 }), /Embedding: paddingIdx must be an integer in \[-10, 10\), got 10/);
  assert.throws(() => new d.Embedding(10, 4, { paddingIdx: -11 }), /paddingIdx must be an integer in \[-10, 10\), got -11/);
  assert.throws(() => new d.Embedding(10, 4, { init: 'uniform' } as never), /Embedding.*init/);
  assert.throws(() => new d.Embedding(10, 4, { padding: 0 } as never), /Embedding.*padding/);
});
