/**
 * The device layer: GpuStorage round trips (float32 and int32, empty), write ordering against
 * queued kernels, batching (many dispatches, one submit at the read; more dispatches than one
 * uniform block holds), the pipeline cache, aliasing an input with the output, the counters, and
 * the clear errors for misuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GpuStorage, isHardwareAdapter, webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { K, ctx, down, downInt, up, zeros } from './helpers.js';

test('float32 and int32 storage round-trips, zeros start at zero, empty storage reads empty', async () => {
  const f = Float32Array.from([1.5, -2, Number.NaN, 3e38]);
  assert.deepEqual([...(await down(up(f)))], [...f]);
  const i = Int32Array.from([7, -8, 2147483647, -2147483648, 0]);
  assert.deepEqual([...(await downInt(up(i)))], [...i]);
  assert.deepEqual([...(await down(zeros(5)))], [0, 0, 0, 0, 0]);
  assert.equal((await down(zeros(0))).length, 0);
  const s = up(f);
  assert.equal(s.device, 'webgpu');
  assert.equal(s.dtype, 'float32');
  assert.equal(s.length, 4);
});

test('allocDevice gives zero-filled storage of the asked type and length, empty included', async () => {
  const f = K.allocDevice('float32', 5);
  assert.ok(f instanceof GpuStorage);
  assert.equal(f.dtype, 'float32');
  assert.deepEqual([...(await down(f as GpuStorage))], [0, 0, 0, 0, 0]);
  const i = K.allocDevice('int32', 3);
  assert.equal(i.dtype, 'int32');
  assert.deepEqual([...(await downInt(i as GpuStorage))], [0, 0, 0]);
  const e = K.allocDevice('float32', 0);
  assert.equal(e.length, 0);
  assert.equal((await e.read()).length, 0);
});

test('write() is ordered after the kernels queued before it and before those queued after', async () => {
  const a = up(new Float32Array([1, 2, 3]));
  const b = zeros(3);
  K.unary('neg', a, b); // reads a = [1, 2, 3]
  a.write(new Float32Array([10, 20, 30]));
  const c = zeros(3);
  K.unary('neg', a, c); // reads a = [10, 20, 30]
  assert.deepEqual([...(await down(b))], [-1, -2, -3]);
  assert.deepEqual([...(await down(c))], [-10, -20, -30]);
});

test('many dispatches are one submit; more than one uniform block of them still run in order', async () => {
  const a = up(new Float32Array([1, 2]));
  const one = up(new Float32Array([1, 1]));
  const before = ctx.counters.submits;
  for (let i = 0; i < 10; i++) K.binary('add', a, [2], one, [2], a, [2]);
  await down(a);
  assert.equal(ctx.counters.submits, before + 1, 'ten dispatches and a read: one submit');
  for (let i = 0; i < 600; i++) K.binary('add', a, [2], one, [2], a, [2]);
  assert.deepEqual([...(await down(a))], [611, 612]);
});

test('destroy() waits for the queued kernels that use the storage and submits nothing itself', async () => {
  const a = up(new Float32Array([1, 2, 3]));
  const b = zeros(3);
  K.unary('neg', a, b);
  const before = ctx.counters.submits;
  a.destroy();
  assert.equal(ctx.counters.submits, before, 'destroy does not submit');
  assert.deepEqual([...(await down(b))], [-1, -2, -3]);
});

test('pipelines are compiled once per WGSL source', async () => {
  const a = up(new Float32Array([4]));
  const o = zeros(1);
  K.unary('sqrt', a, o);
  const n = ctx.pipelineCount;
  for (let i = 0; i < 5; i++) K.unary('sqrt', a, o);
  assert.equal(ctx.pipelineCount, n);
  K.unary('exp', a, o);
  assert.equal(ctx.pipelineCount, n + 1);
  assert.deepEqual([...(await down(o))], [Math.fround(Math.exp(4))]);
});

test('an input that is also the output: in place for unary, through a copy for matmul', async () => {
  const a = up(new Float32Array([1, 2, 3, 4]));
  K.unary('square', a, a);
  assert.deepEqual([...(await down(a))], [1, 4, 9, 16]);
  K.matmul(a, a, a, 2, 2, 2, false, false);
  assert.deepEqual([...(await down(a))], [1 + 36, 4 + 64, 9 + 144, 36 + 256]);
});

test('webgpuInfo names a software adapter here and counts kernels, uploads and buffers', async () => {
  const info = webgpuInfo();
  assert.equal(info.initialised, true);
  assert.match(info.adapter, /llvmpipe|swiftshader/i);
  assert.equal(info.software, true);
  assert.ok((info.kernels['unary.sqrt'] ?? 0) >= 6, JSON.stringify(info.kernels));
  assert.ok(info.pipelines > 0);
  const s = up(new Float32Array(1111));
  zeros(1113);
  const now = webgpuInfo();
  assert.equal(now.uploads, info.uploads + 1);
  assert.equal(now.uploadBytes, info.uploadBytes + 1111 * 4);
  assert.equal(now.buffers + now.reused, info.buffers + info.reused + 2);
  s.write(new Float32Array(1111));
  assert.equal(webgpuInfo().uploads, info.uploads + 2);
});

test('misuse is refused with one message naming the op, the argument and what was expected', () => {
  assert.throws(
    () => K.unary('neg', new Float32Array(2) as unknown as GpuStorage, zeros(2)),
    /webgpu backend: unary: a must be WebGPU storage of this device, got a Float32Array/,
  );
  assert.throws(() => K.matmul(zeros(3), zeros(4), zeros(4), 2, 2, 2, false, false), /matmul: a has 3 elements, expected 4/);
  assert.throws(
    () =>
      K.maxPool2d(zeros(4), zeros(1), zeros(1), {
        n: 1,
        c: 1,
        h: 2,
        w: 2,
        kh: 2,
        kw: 2,
        oh: 1,
        ow: 1,
        strideH: 2,
        strideW: 2,
        padH: 0,
        padW: 0,
      }),
    /maxPool2d: idx must be int32 storage, got float32/,
  );
  assert.throws(() => up(new Float32Array(3)).write(new Float32Array(2)), /write of 2 values into storage of 3/);
  assert.throws(() => up(new Float32Array(3)).write(new Int32Array(3)), /write of a Int32Array into float32 storage/);
  assert.throws(() => GpuStorage.zeros('float32', -1, ctx), /non-negative integer, got -1/);
});

test('in-place binary and unary ops (out is an input) read each element before writing it', async () => {
  // the gradient accumulation buf += g, and the bias added into the output
  const buf = up(new Float32Array([1, 2, 3, 4, 5, 6]));
  K.binary('add', buf, [2, 3], up(new Float32Array([10, 20, 30, 40, 50, 60])), [2, 3], buf, [2, 3]);
  assert.deepEqual([...(await down(buf))], [11, 22, 33, 44, 55, 66]);
  K.binary('add', buf, [2, 3], up(new Float32Array([1, 2, 3])), [3], buf, [2, 3]);
  assert.deepEqual([...(await down(buf))], [12, 24, 36, 45, 57, 69]);
  K.binary('sub', up(new Float32Array([100])), [], buf, [2, 3], buf, [2, 3]);
  assert.deepEqual([...(await down(buf))], [88, 76, 64, 55, 43, 31]);
  K.binary('mul', buf, [2, 3], buf, [2, 3], buf, [2, 3]);
  assert.deepEqual([...(await down(buf))], [88 * 88, 76 * 76, 64 * 64, 55 * 55, 43 * 43, 31 * 31]);
  const r = up(new Float32Array([-1, 2, -3, 4]));
  K.unary('relu', r, r);
  assert.deepEqual([...(await down(r))], [0, 2, 0, 4]);
  const info = webgpuInfo();
  assert.ok(info.kernels['binary.add'] >= 2 && info.kernels['unary.relu'] >= 1);
});

test('initWebGPU registers the backend "webgpu" with its extensions, without making it current; isHardwareAdapter is false on a software adapter', async () => {
  const { backend, backendNames, extensionsOf } = await import('../../../src/backend/backend.js');
  assert.ok(backendNames().includes('webgpu'));
  assert.notEqual(backend().name, 'webgpu');
  const ext = extensionsOf('webgpu') as Record<string, unknown>;
  for (const name of [
    'allocDevice',
    'adamStep',
    'sgdStep',
    'zero',
    'batchUpdates',
    'linear',
    'linearBackward',
    'convLayer',
    'convPoolLayer',
  ])
    assert.equal(typeof ext[name], 'function', name);
  assert.equal(isHardwareAdapter(), false);
});
