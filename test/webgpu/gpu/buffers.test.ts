/**
 * The buffer pool: a destroyed storage's buffer is reused by the next storage of its size (zeros
 * cleared, uploads written), never while a queued command still binds it; a garbage-collected
 * storage gives its buffer back too; a destroyed storage is refused wherever it is passed; a step
 * scope frees what was allocated inside it and not kept.
 * Each test uses a length no other test allocates, so the pool's other buffers do not interfere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GpuStorage, initWebGPU, webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { K, ctx, down, up, zeros } from './helpers.js';

test('a destroyed buffer is reused by the next storage of its size: zeros read zero, uploads read their values', async () => {
  const a = up(Float32Array.from({ length: 1237 }, (_, i) => i + 1));
  await down(a);
  a.destroy();
  a.destroy(); // a second destroy gives nothing back twice
  const before = webgpuInfo();
  const z = zeros(1237);
  let after = webgpuInfo();
  assert.equal(after.buffers, before.buffers, 'no buffer created');
  assert.equal(after.reused, before.reused + 1);
  assert.equal(z.buffer, a.buffer);
  assert.ok(
    (await down(z)).every((v) => v === 0),
    'the reused buffer was cleared',
  );
  z.destroy();
  const values = Float32Array.from({ length: 1237 }, (_, i) => -i);
  const u = up(values);
  after = webgpuInfo();
  assert.equal(after.buffers, before.buffers);
  assert.equal(u.buffer, a.buffer);
  assert.deepEqual([...(await down(u))], [...values]);
  const other = zeros(1238);
  assert.notEqual(other.buffer, a.buffer, 'another size gets another buffer');
});

test('a buffer destroyed while a queued kernel binds it is not reused before that kernel is submitted', async () => {
  const a = up(Float32Array.from({ length: 1301 }, (_, i) => i));
  await down(a);
  const out = zeros(1301);
  K.unary('neg', a, out);
  a.destroy();
  // were a's buffer handed out now, this upload (run by the queue before the unsubmitted kernel) would replace a's values
  const b = up(new Float32Array(1301).fill(9));
  assert.notEqual(b.buffer, a.buffer);
  const got = await down(out);
  assert.deepEqual([...got.slice(0, 4)], [-0, -1, -2, -3]);
  assert.equal(got[1300], -1300);
  // after the submit it is pooled
  assert.equal(zeros(1301).buffer, a.buffer);
});

test('a garbage-collected storage gives its buffer back to the pool', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const size = 1409 * 4;
  const drop = () => {
    up(new Float32Array(1409).fill(1));
  };
  drop();
  const pooled = webgpuInfo().pooledBytes;
  let back = false;
  for (let i = 0; i < 20 && !back; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
    ctx.flush(); // a buffer released while commands are queued is pooled at their submit
    back = webgpuInfo().pooledBytes >= pooled + size;
  }
  assert.ok(back, 'the collected storage was not pooled');
  const before = webgpuInfo().buffers;
  zeros(1409);
  assert.equal(webgpuInfo().buffers, before, 'the next storage of its size reused it');
});

test('a destroyed storage is refused by kernels, reads, writes, copies and clears, naming the op', async () => {
  const a = up(new Float32Array([1, 2, 3]));
  const out = zeros(3);
  a.destroy();
  const msg = (op: string) => new RegExp(`webgpu backend: ${op} was given a storage that was destroyed`);
  assert.throws(() => K.unary('neg', a, out), msg('unary\\.neg'));
  await assert.rejects(a.read(), msg('read'));
  assert.throws(() => a.write(new Float32Array(3)), msg('write'));
  assert.throws(() => ctx.copy(a, out), msg('copy'));
  assert.throws(() => ctx.clear(a), msg('clear'));
  assert.ok(a instanceof GpuStorage && a.destroyed);
  assert.deepEqual([...(await down(out))], [0, 0, 0]);
});

test('initWebGPU names a bad maxPoolBytes', async () => {
  await assert.rejects(initWebGPU({ maxPoolBytes: -1 }), /initWebGPU: invalid maxPoolBytes -1; expected an integer number of bytes ≥ 0/);
  assert.equal(ctx.maxPoolBytes, 256 * 1024 * 1024);
});

test('write() submits only when a queued command binds or copies the written storage', async () => {
  const a = up(new Float32Array([1, 2, 3]));
  const out = zeros(3);
  const fresh = zeros(3);
  K.unary('neg', a, out);
  let submits = webgpuInfo().submits;
  fresh.write(new Float32Array([7, 8, 9])); // no queued command sees `fresh`
  assert.equal(webgpuInfo().submits, submits);
  a.write(new Float32Array([10, 20, 30])); // the queued neg reads `a`: it is submitted first
  assert.equal(webgpuInfo().submits, submits + 1);
  assert.deepEqual([...(await down(out))], [-1, -2, -3]);
  assert.deepEqual([...(await down(a))], [10, 20, 30]);
  assert.deepEqual([...(await down(fresh))], [7, 8, 9]);
  // a copy into the storage counts as a use too
  submits = webgpuInfo().submits;
  ctx.copy(a, fresh);
  fresh.write(new Float32Array([4, 5, 6]));
  assert.equal(webgpuInfo().submits, submits + 1);
  assert.deepEqual([...(await down(fresh))], [4, 5, 6]);
});

test('a pooled buffer given out as zeros and written before any use keeps the written values', async () => {
  const a = up(new Float32Array(1543).fill(5));
  await down(a);
  a.destroy();
  const z = zeros(1543);
  assert.equal(z.buffer, a.buffer);
  const other = zeros(7);
  K.unary('neg', other, other); // an encoder is open, not binding z
  z.write(new Float32Array(1543).fill(3));
  const out = zeros(1543);
  K.unary('neg', z, out);
  assert.ok(
    (await down(out)).every((v) => v === -3),
    'the pending clear ran after the write',
  );
  assert.ok((await down(z)).every((v) => v === 3));
});

test('a step scope destroys the storage allocated inside it that keep does not hold; scopes nest', async () => {
  const before = zeros(5);
  const end = ctx.beginStep();
  const kept = zeros(5);
  const dropped = up(new Float32Array([1, 2, 3]));
  const endInner = ctx.beginStep();
  const inner = zeros(6);
  assert.throws(() => end(new Set()), /step scopes must end innermost first/);
  endInner(new Set([inner]));
  end(new Set([kept]));
  assert.equal(dropped.destroyed, true);
  assert.equal(kept.destroyed, false);
  assert.equal(inner.destroyed, false, 'kept by its own scope');
  assert.equal(before.destroyed, false, 'allocated before the scope');
  assert.deepEqual([...(await down(kept))], [0, 0, 0, 0, 0]);
});
