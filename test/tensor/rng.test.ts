import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, manualSeed } from '../../src/tensor/rng.js';
import { rand, randn } from '../../src/tensor/tensor.js';
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

test('randn and rand without a generator draw from the default one: manualSeed(s) repeats them, as torch.manual_seed does torch.randn; a wrong generator is named', () => {
  manualSeed(11);
  const a = randn([4]).data.join(),
    b = rand([3], undefined, { low: -1, high: 1 }).data.join();
  manualSeed(11);
  assert.equal(randn([4], null).data.join(), a);
  assert.equal(rand([3], null, { low: -1, high: 1 }).data.join(), b);
  assert.notEqual(randn([4]).data.join(), a, 'the default generator moves on');
  assert.throws(
    () => randn([2], { std: 2 } as never),
    /^TypeError: randn: invalid rng \{"std":2\}; expected an Rng \(new Rng\(seed\)\), or nothing for the default generator$/,
  );
});
