import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

test('same seed, same stream; forks are independent of the parent position', () => {
  const a = new Rng(42),
    b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(
    Array.from({ length: 5 }, () => b.nextU32()),
    xs,
  );
  const f1 = new Rng(42).fork('init').uniform();
  const p = new Rng(42);
  p.uniform();
  p.uniform();
  assert.equal(p.fork('init').uniform(), f1);
  assert.notEqual(new Rng(42).fork('shuffle').uniform(), f1);
  assert.notEqual(new Rng(43).fork('init').uniform(), f1);
});

test('uniform and normal have the right moments; int is unbiased', () => {
  const r = new Rng(7);
  const n = 200000;
  let s = 0,
    s2 = 0,
    u = 0;
  const counts = new Array(3).fill(0);
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
    u += r.uniform();
    counts[r.int(3)]++;
  }
  assert.ok(Math.abs(s / n) < 0.01);
  assert.ok(Math.abs(s2 / n - 1) < 0.01);
  assert.ok(Math.abs(u / n - 0.5) < 0.005);
  for (const c of counts) assert.ok(Math.abs(c / n - 1 / 3) < 0.005);
  const perm = Array.from(r.permutation(100)).sort((x, y) => x - y);
  assert.deepEqual(
    perm,
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test('no Math.random anywhere in the library source', () => {
  const root = fileURLToPath(new URL('../../../src', import.meta.url));
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|js)$/.test(f) && /Math\.random\s*\(/.test(readFileSync(p, 'utf8'))) offenders.push(p);
    }
  };
  walk(root);
  assert.deepEqual(offenders, []);
});
