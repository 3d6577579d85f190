/**
 * The fastest backend without ceremony: a program that imports descent/node and never mentions a
 * backend trains on wasm with one thread per core (up to 8) and relaxed SIMD (set on Node 20 by the
 * entry itself, before the kernels compile); the isomorphic entry gets there with `await ready()` from descent/wasm.
 * Each case runs in a fresh process, since a V8 flag and the backend choice are per process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./default-backend-child.js', import.meta.url));

function run(mode: string) {
  const r = spawnSync(process.execPath, [child, mode], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const threads = Math.max(1, Math.min(8, availableParallelism()));

test('importing descent/node starts wasm with threads and relaxed SIMD; the reference backend is one call away', () => {
  const r = run('node');
  assert.equal(r.before, 'wasm', 'the backend on import');
  assert.equal(r.name, 'wasm');
  assert.equal(r.threads, threads);
  assert.equal(r.relaxedSimd, true, 'relaxed SIMD on (Node 20 needs the flag that the entry sets)');
  if (threads > 1) assert.ok(r.threadedCalls > 0, 'the training steps ran on several threads');
  assert.ok(r.trainLoss.every(Number.isFinite) && r.trainLoss[1] < r.trainLoss[0], JSON.stringify(r.trainLoss));
  assert.equal(r.oracle, 'reference');
});

test('the isomorphic entry starts on the reference backend; `await ready()` from descent/wasm gives the same wasm backend', () => {
  const r = run('isomorphic');
  assert.equal(r.before, 'reference');
  assert.equal(r.name, 'wasm');
  assert.equal(r.threads, threads);
  assert.equal(
    r.relaxedSimd,
    Number(process.versions.node.split('.')[0]) >= 22,
    'without the Node entry, Node 20 keeps relaxed SIMD off (plain SIMD128)',
  );
});
