/** Search spaces: parsing and its errors, the scrambled Halton sequence's stratification, grid and random points. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { halton, parseSpace, pointFor, samplePoints, SweepSpecError } from '../../src/sweep/space.js';

const known = ['lr', 'momentum', 'betas', 'weightDecay', 'eps'];

test('parseSpace reads log ranges, uniform ranges, choices and schedules', () => {
  assert.deepEqual(parseSpace('lr=log:1e-4:1, momentum=0.8:0.99, weightDecay=0|1e-4, schedule=constant|cosine', known), [
    { name: 'lr', kind: 'log', lo: 1e-4, hi: 1 },
    { name: 'momentum', kind: 'uniform', lo: 0.8, hi: 0.99 },
    { name: 'weightDecay', kind: 'choice', values: [0, 1e-4] },
    { name: 'schedule', kind: 'choice', values: ['constant', 'cosine'] },
  ]);
  assert.deepEqual(parseSpace('beta2=0.999', known), [{ name: 'beta2', kind: 'choice', values: [0.999] }]);
});

test('a bad search space is one clear error naming the part', () => {
  const bad: [string, RegExp][] = [
    ['lr=log:0:1', /lr=log:0:1: a log range needs a positive low end/],
    ['lr=1:0.1', /the low end must be below the high end/],
    ['lrr=log:1e-4:1', /unknown name "lrr".*did you mean lr/],
    ['lr', /is not name=range/],
    ['lr=log:1e-4:abc', /expected a decimal number, got "abc"/],
    ['schedule=cosin', /unknown schedule "cosin"/],
    ['lr=0.1,lr=0.2', /lr is given twice/],
  ];
  for (const [text, re] of bad)
    assert.throws(
      () => parseSpace(text, known),
      (e: Error) => e instanceof SweepSpecError && re.test(e.message),
      text,
    );
});

test('Halton: base 2 is the van der Corput sequence, and each base stratifies its first b^k points', () => {
  const pts = halton(81, 4, 7);
  assert.deepEqual(
    pts.slice(0, 4).map((p) => p[0]),
    [0.5, 0.25, 0.75, 0.125],
  );
  for (const [d, b] of [
    [1, 3],
    [2, 5],
    [3, 7],
  ] as const) {
    for (const n of [b, b * b]) {
      if (n > 81) continue;
      // Indices 1..n−1 have distinct last k digits and a digit permutation keeps them distinct, so
      // each point falls in its own cell of width 1/n (1e-9 absorbs rounding of sums like 1/3 + 2/9).
      const cells = new Set(pts.slice(0, n - 1).map((p) => Math.floor(p[d] * n + 1e-9)));
      assert.equal(cells.size, n - 1, `base ${b}, ${n} cells`);
    }
  }
  assert.deepEqual(halton(5, 3, 7), halton(5, 3, 7));
  assert.notDeepEqual(
    halton(5, 3, 7).map((p) => p[1]),
    halton(5, 3, 8).map((p) => p[1]),
  );
  for (const p of pts) for (const u of p) assert.ok(u >= 0 && u < 1);
});

test('grid: every combination, ranges log- or evenly spaced with both ends', () => {
  const dims = parseSpace('lr=log:1e-3:1,momentum=0.5:0.9,weightDecay=0|1e-4', known);
  const pts = samplePoints(dims, 'grid', 4, 0);
  assert.equal(pts.length, 4 * 4 * 2);
  const lrs = [...new Set(pts.map((p) => p.lr as number))];
  assert.deepEqual(
    lrs.map((x) => Number(x.toPrecision(12))),
    [1e-3, 1e-2, 1e-1, 1],
  );
  const ms = [...new Set(pts.map((p) => p.momentum as number))];
  assert.deepEqual(
    ms.map((x) => Number(x.toPrecision(12))),
    [0.5, 0.633333333333, 0.766666666667, 0.9],
  );
});

test('random and halton points lie in their ranges, the same for the same seed', () => {
  const dims = parseSpace('lr=log:1e-4:1e-1,momentum=0.8:0.99', known);
  for (const s of ['random', 'halton'] as const) {
    const pts = samplePoints(dims, s, 20, 3);
    assert.equal(pts.length, 20);
    for (const p of pts) {
      assert.ok((p.lr as number) >= 1e-4 && (p.lr as number) <= 1e-1);
      assert.ok((p.momentum as number) >= 0.8 && (p.momentum as number) <= 0.99);
    }
    assert.deepEqual(samplePoints(dims, s, 20, 3), pts);
  }
});

test('pointFor: beta1/beta2 fill betas from the defaults; options an optimizer does not read are left out', () => {
  assert.deepEqual(pointFor({ lr: 0.01, beta1: 0.8, momentum: 0.9 }, ['lr', 'betas', 'eps']), {
    options: { lr: 0.01, betas: [0.8, 0.999] },
  });
  assert.deepEqual(pointFor({ lr: 0.1, beta2: 0.99, schedule: 'cosine' }, ['lr', 'momentum']), {
    options: { lr: 0.1 },
    schedule: 'cosine',
  });
});

test("a wrapper's base is a choice of names, not numbers", () => {
  assert.deepEqual(parseSpace('lr=log:1e-3:1e-1, base=Momentum|adam', [...known, 'base']), [
    { name: 'lr', kind: 'log', lo: 1e-3, hi: 1e-1 },
    { name: 'base', kind: 'choice', values: ['momentum', 'adam'] },
  ]);
  assert.deepEqual(pointFor({ lr: 0.01, base: 'adam' }, ['lr', 'base', 'rho']), { options: { lr: 0.01, base: 'adam' } });
});
