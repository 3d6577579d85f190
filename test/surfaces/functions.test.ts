/** Surfaces: gradients and Hessians equal central differences; listed minima are minima. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { surfaces, getSurface, type Surface } from '../../src/surfaces/index.js';
import { assertClose } from '../helpers.js';

function probePoints(s: Surface): [number, number][] {
  const [x0, x1] = s.view.x;
  const [y0, y1] = s.view.y;
  const pts: [number, number][] = [];
  for (const a of [0.13, 0.37, 0.61, 0.88]) for (const b of [0.21, 0.52, 0.79]) pts.push([x0 + a * (x1 - x0), y0 + b * (y1 - y0)]);
  pts.push(s.start);
  return pts;
}

for (const s of Object.values(surfaces)) {
  test(`${s.name}: gradient equals central differences of f`, () => {
    const h = 1e-6;
    for (const [x, y] of probePoints(s)) {
      const g = s.grad(x, y);
      const nx = (s.f(x + h, y) - s.f(x - h, y)) / (2 * h);
      const ny = (s.f(x, y + h) - s.f(x, y - h)) / (2 * h);
      const scale = Math.max(1, Math.abs(s.f(x, y)));
      assertClose(g, [nx, ny], 1e-6 * scale, `${s.name} grad at (${x}, ${y})`);
    }
  });

  test(`${s.name}: Hessian equals central differences of the gradient and is symmetric`, () => {
    const h = 1e-6;
    for (const [x, y] of probePoints(s)) {
      const H = s.hessian(x, y);
      assert.equal(H[0][1], H[1][0]);
      const gxp = s.grad(x + h, y);
      const gxm = s.grad(x - h, y);
      const gyp = s.grad(x, y + h);
      const gym = s.grad(x, y - h);
      const num = [(gxp[0] - gxm[0]) / (2 * h), (gyp[0] - gym[0]) / (2 * h), (gyp[1] - gym[1]) / (2 * h)];
      const scale = Math.max(1, Math.abs(H[0][0]), Math.abs(H[1][1]));
      assertClose([H[0][0], H[0][1], H[1][1]], num, 1e-6 * scale, `${s.name} Hessian at (${x}, ${y})`);
    }
  });

  test(`${s.name}: listed minima have zero gradient, a positive definite Hessian, and the global one is lowest`, () => {
    for (const m of s.minima) {
      const [gx, gy] = s.grad(m.x[0], m.x[1]);
      assert.ok(Math.hypot(gx, gy) < 1e-9, `${s.name}: gradient ${gx}, ${gy} at minimum ${m.x}`);
      const [[a, b], [, c]] = s.hessian(m.x[0], m.x[1]);
      assert.ok(a > 0 && a * c - b * b > 0, `${s.name}: Hessian not positive definite at ${m.x}`);
      assert.equal(m.f, s.f(m.x[0], m.x[1]));
    }
    for (const c of s.saddles) {
      const [gx, gy] = s.grad(c.x[0], c.x[1]);
      assert.ok(Math.hypot(gx, gy) < 1e-9, `${s.name}: gradient at critical point ${c.x}`);
    }
    const globals = s.minima.filter((m) => m.global);
    if (s.minima.length) assert.ok(globals.length >= 1);
    // No probe point is below the global minimum.
    for (const [x, y] of probePoints(s)) if (globals.length) assert.ok(s.f(x, y) >= globals[0].f - 1e-12);
  });
}

test('known minima values', () => {
  assert.deepEqual(
    getSurface('rosenbrock').minima.map((m) => [m.x, m.f]),
    [[[1, 1], 0]],
  );
  assert.deepEqual(
    getSurface('beale').minima.map((m) => [m.x, m.f]),
    [[[3, 0.5], 0]],
  );
  const tw = getSurface('twowells');
  assert.equal(tw.minima.find((m) => m.global)!.f, -8 / 3);
  assertClose(tw.minima.find((m) => !m.global)!.f, -5 / 12, 1e-15);
  const hb = getSurface('himmelblau');
  assert.equal(hb.minima.length, 4);
  for (const m of hb.minima) assert.ok(m.f < 1e-20 && m.global, `himmelblau minimum ${m.x} f=${m.f}`);
  assert.equal(getSurface('rastrigin').f(0, 0), 0);
  assert.equal(getSurface('saddle').minima.length, 0);
});

test('unknown surface names the valid ones', () => {
  assert.throws(() => getSurface('banana'), /unknown surface "banana"; expected one of bowl, saddle/);
});
