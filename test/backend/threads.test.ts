/** The kernel worker really runs parts of split kernels (counted by the runtime, shown by wasmInfo). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, wasmInfo } from '../../src/backend/wasm/index.js';

test('a big product is split over two threads and the worker runs some of its parts', async () => {
  const wasm = await initWasm({ threads: 2 });
  assert.equal(wasmInfo().workers >= 1, true, 'a kernel worker started');
  const m = 192,
    n = 256,
    k = 512; // 25 M multiply-adds: above the threading threshold
  const a = new Float32Array(m * k).fill(0.5),
    b = new Float32Array(k * n).fill(0.25),
    c = new Float32Array(m * n);
  const before = wasmInfo();
  let calls = 0;
  // The worker claims parts dynamically; on a busy machine the caller may take them all for a
  // while, so allow many calls, but a worker that never runs anything fails the test.
  while (calls < 400 && wasmInfo().workerParts === before.workerParts) {
    wasm.matmul(a, b, c, m, n, k, false, false);
    calls++;
  }
  const after = wasmInfo();
  assert.ok(after.threadedCalls > before.threadedCalls, 'the product took the threaded path');
  assert.ok(after.workerParts > before.workerParts, `the worker ran no part in ${calls} split products`);
  assert.equal(c[0], 0.5 * 0.25 * k);
});
