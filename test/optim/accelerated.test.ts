/**
 * The acceleration table: rules stay pure (no backend import), the table says which rules and
 * options run fused on the current backend, and the Optimizer shell falls back to the rule outside
 * an entry's predicate — with the same values as the rule on the reference backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initWasm } from '../../src/backend/wasm/index.js';
import { setBackend } from '../../src/backend/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Adam, SGD, accelerationInfo, formatAccelerationInfo, type AnyOptimizer } from '../../src/optim/index.js';
import { floatSource } from '../helpers.js';

const src = fileURLToPath(new URL('../../../src/optim/', import.meta.url));

test('no update rule file imports a backend: the rules are the math, the acceleration table is apart', () => {
  const rules = readdirSync(src).filter(
    (f) => f.endsWith('.ts') && /UpdateRule</.test(readFileSync(src + f, 'utf8')) && f !== 'optimizer.ts' && f !== 'registry.ts',
  );
  assert.ok(rules.length >= 10, `found ${rules.length} rule files`);
  for (const f of rules) assert.doesNotMatch(readFileSync(src + f, 'utf8'), /from '\.\.\/backend\//, `${f} imports a backend`);
  assert.doesNotMatch(readFileSync(`${src}util.ts`, 'utf8'), /from '\.\.\/backend\//, 'util.ts imports a backend');
});

test('accelerationInfo: Adam, AdamW and SGD are accelerated on wasm (with their conditions), nothing on the reference', async () => {
  setBackend('reference');
  const ref = accelerationInfo();
  assert.equal(ref.backend, 'reference');
  assert.deepEqual(
    ref.accelerated.map((r) => [r.rule, r.extension, r.available]),
    [
      ['Adam', 'adamStep', false],
      ['AdamW', 'adamStep', false],
      ['SGD', 'sgdStep', false],
      ['RMSprop', 'rmspropStep', false],
      ['Adagrad', 'adagradStep', false],
      ['Adadelta', 'adadeltaStep', false],
    ],
  );
  assert.match(formatAccelerationInfo(), /none; every optimizer runs its rule/);
  await initWasm({ threads: 1 });
  setBackend('wasm');
  const w = accelerationInfo();
  // RMSprop, Adagrad and Adadelta have fused updates on a device only (wasm runs their rules)
  assert.deepEqual(
    w.accelerated.map((r) => [r.rule, r.available]),
    [
      ['Adam', true],
      ['AdamW', true],
      ['SGD', true],
      ['RMSprop', false],
      ['Adagrad', false],
      ['Adadelta', false],
    ],
  );
  assert.match(w.accelerated[0].supports, /not epsInsideSqrt/);
  assert.match(w.accelerated[2].supports, /not lrInsideMomentum/);
  assert.match(
    formatAccelerationInfo(),
    /^acceleration \(wasm\): Adam via adamStep .*SGD via sgdStep .*; other rules and options run the rule$/,
  );
  assert.doesNotMatch(formatAccelerationInfo(), /RMSprop|Adagrad|Adadelta/);
  setBackend('reference');
});

/** Five steps of `make` on `backend`; the parameters after them and the fused/pure counts of `rule` that they added. */
function run(backend: string, rule: string, make: (ps: Tensor[]) => AnyOptimizer, dtype: 'float32' | 'float64' = 'float32') {
  setBackend(backend);
  const rnd = floatSource(3);
  const mk = (n: number) => (dtype === 'float32' ? rnd(n) : Float64Array.from(rnd(n)));
  const ps = [new Tensor(mk(5000), [5000], true), new Tensor(mk(33), [33], true)];
  const before = accelerationInfo().updates[rule] ?? { fused: 0, pure: 0 };
  const opt = make(ps);
  for (let t = 0; t < 5; t++) {
    for (const p of ps) p.grad = new Tensor(mk(p.size), p.shape);
    opt.step();
  }
  const after = accelerationInfo().updates[rule];
  setBackend('reference');
  return { data: ps.map((p) => Array.from(p.data)), fused: after.fused - before.fused, pure: after.pure - before.pure };
}

for (const [what, rule, make, dtype, fused] of [
  ['Adam (float32)', 'Adam', (ps: Tensor[]) => new Adam(ps, { lr: 1e-2 }), 'float32', true],
  ['Adam epsInsideSqrt', 'Adam', (ps: Tensor[]) => new Adam(ps, { lr: 1e-2, epsInsideSqrt: true }), 'float32', false],
  ['Adam float64', 'Adam', (ps: Tensor[]) => new Adam(ps, { lr: 1e-2 }), 'float64', false],
  ['SGD momentum (float32)', 'SGD', (ps: Tensor[]) => new SGD(ps, { lr: 1e-2, momentum: 0.9 }), 'float32', true],
  ['SGD lrInsideMomentum', 'SGD', (ps: Tensor[]) => new SGD(ps, { lr: 1e-2, momentum: 0.9, lrInsideMomentum: true }), 'float32', false],
] as const) {
  test(`${what}: ${fused ? 'runs fused on wasm' : 'falls back to the rule on wasm'} and equals the rule on the reference`, async () => {
    await initWasm({ threads: 1 });
    const w = run('wasm', rule, make, dtype);
    const r = run('reference', rule, make, dtype);
    assert.deepEqual([w.fused, w.pure], fused ? [10, 0] : [0, 10], 'counts on wasm');
    assert.deepEqual([r.fused, r.pure], [0, 10], 'counts on the reference');
    w.data.forEach((d, i) =>
      d.forEach((v, j) => {
        const tol = fused ? 1e-5 * Math.max(1, Math.abs(r.data[i][j])) : 0; // the fallback is the rule itself: identical
        assert.ok(Math.abs(v - r.data[i][j]) <= tol, `parameter ${i}[${j}]: ${v} vs ${r.data[i][j]}`);
      }),
    );
  });
}
