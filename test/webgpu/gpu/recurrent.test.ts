/**
 * The recurrent layers on the WebGPU backend (run by `npm run test:webgpu` on lavapipe): narrow,
 * cat and permute, which they are composed of, have no device kernels, so a layer moved to webgpu
 * refuses its input with that reason instead of failing inside an op; moved back, it runs as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LSTM, Rng, rand } from '../../../src/index.js';
import { useWasmAndWebGPU } from './setup.js';

useWasmAndWebGPU();

test('an LSTM on webgpu is refused with the reason; back on the host it gives the same output', async () => {
  const m = new LSTM(5, 6, { rng: new Rng(1) });
  const x = rand([2, 3, 5], new Rng(2));
  const want = Array.from(m.forward(x).data);
  await m.to('webgpu');
  assert.throws(
    () => m.forward(x),
    /LSTM: runs on the host only, and a tensor lives on webgpu; move the model and the input with await \.to\('cpu'\)/,
  );
  await m.to('cpu');
  assert.deepEqual(Array.from(m.forward(x).data), want);
});
