/**
 * variance and std as torch.var and torch.std define them: Σ(x − mean)² / (n − correction) over
 * the reduced axes, correction 1 by default (unbiased), 0 for the population; checked against that
 * definition written out here, with central differences for the gradients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromData, std, variance, type Tensor } from '../../src/index.js';
import { assertClose, gradCheck, randT } from '../helpers.js';

/** The definition over one axis (or all, axis null) of a [rows, cols] array, row-major results. */
function byDefinition(x: Tensor, axis: 0 | 1 | null, correction: number): number[] {
  const [rows, cols] = x.shape;
  const at = (r: number, c: number) => x.data[r * cols + c];
  const groups: number[][] =
    axis === null
      ? [Array.from(x.data)]
      : axis === 0
        ? Array.from({ length: cols }, (_, c) => Array.from({ length: rows }, (_, r) => at(r, c)))
        : Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => at(r, c)));
  return groups.map((g) => {
    const m = g.reduce((s, v) => s + v, 0) / g.length;
    return g.reduce((s, v) => s + (v - m) ** 2, 0) / (g.length - correction);
  });
}

test('variance and std over all, one and negative axes, keepdim, corrections 1 (default) and 0', () => {
  const x = randT([4, 5], 3, -2, 2);
  for (const correction of [1, 0]) {
    const c = correction === 1 ? undefined : 0;
    assertClose(variance(x, undefined, false, c).data, byDefinition(x, null, correction), 1e-12, `all, correction ${correction}`);
    assertClose(variance(x, 0, false, c).data, byDefinition(x, 0, correction), 1e-12, `axis 0, correction ${correction}`);
    assertClose(variance(x, -1, false, c).data, byDefinition(x, 1, correction), 1e-12, `axis −1, correction ${correction}`);
    assertClose(std(x, 1, false, c).data, byDefinition(x, 1, correction).map(Math.sqrt), 1e-12, `std axis 1, correction ${correction}`);
  }
  assert.deepEqual([...variance(x, 1, true).shape], [4, 1]);
  assert.deepEqual([...x.std([0, 1]).shape], []);
  assertClose(x.variance(0).data, byDefinition(x, 0, 1), 1e-12, 'the Tensor method');
  // far from 0 in float32: two passes keep the deviations (a one-pass E[x²] − E[x]² would cancel)
  const f = fromData([10000.1, 10000.2, 10000.3, 10000.4], [4], { dtype: 'float32' });
  const want = byDefinition(fromData(Array.from(f.data), [1, 4], { dtype: 'float64' }), null, 1)[0];
  assert.ok(Math.abs(variance(f).item() - want) < 1e-3 * want, `float32 variance ${variance(f).item()} vs ${want}`);
  // one value: 0 / 0 with the default correction, as torch.var gives nan
  assert.ok(Number.isNaN(variance(fromData([5], [1])).item()));
  assert.equal(variance(fromData([5], [1]), undefined, false, 0).item(), 0);
});

test('variance and std have the gradients of their definition', () => {
  const x = randT([3, 4], 7);
  gradCheck((v) => variance(v, 1), [x]);
  gradCheck((v) => std(v, 0, true, 0), [x]);
});

test('variance and std refuse a correction that is not a non-negative integer and name a bad axis', () => {
  const x = randT([2, 3]);
  assert.throws(
    () => variance(x, 0, false, -1),
    /^RangeError: variance: correction must be a non-negative integer \(1: unbiased, 0: population\), got -1$/,
  );
  assert.throws(
    () => std(x, 0, false, 0.5),
    /^RangeError: std: correction must be a non-negative integer \(1: unbiased, 0: population\), got 0.5$/,
  );
  assert.throws(() => std(x, 2), /std: axis 2 is out of range/);
});
