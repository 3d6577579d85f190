import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend, backend } from '../../src/backend/index.js';
import { initWasmSync } from '../../src/backend/wasm/index.js';

test('setBackend("wasm") before initialisation says how to initialise', () => {
  assert.throws(() => setBackend('wasm'), /backend "wasm" is not initialised yet; call `await initWasm\(\)`/);
});

test('initWasmSync registers a working single-threaded wasm backend', () => {
  initWasmSync();
  const b = setBackend('wasm');
  assert.equal(backend().name, 'wasm');
  const out = new Float32Array(4);
  b.matmul(new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([1, 0, 0, 1, 1, 1]), out, 2, 2, 3, false, false);
  assert.deepEqual(Array.from(out), [4, 5, 10, 11]);
  setBackend('reference');
});
