import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';

test('WasmOptions.threads counts every thread, the calling one included; setWasmThreads returns the count it gets', async () => {
  await assert.rejects(initWasm({ threads: 0 }), /initWasm: invalid threads 0; expected an integer ≥ 1/);
  await assert.rejects(initWasm({ thread: 2 } as never), /initWasm: unknown option "thread" \(did you mean "threads"\?\)/);
  await initWasm({ threads: 2 });
  // two threads: the caller and one worker
  assert.equal(wasmInfo().workers, 1);
  assert.equal(wasmInfo().threads, 2);
  // asking for more than were started gives what there is, and says so
  assert.equal(setWasmThreads(4), 2);
  assert.equal(wasmInfo().threads, 2);
  assert.equal(setWasmThreads(1), 1);
  assert.equal(wasmInfo().threads, 1);
  assert.throws(() => setWasmThreads(0), /invalid thread count 0/);
  // initWasm again starts the missing workers
  await initWasm({ threads: 3 });
  assert.equal(wasmInfo().workers, 2);
  assert.equal(setWasmThreads(4), 3);
});
