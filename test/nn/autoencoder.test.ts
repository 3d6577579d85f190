/**
 * A small convolutional autoencoder — Conv2d(1→4, 3, stride 2, padding 1) → ReLU →
 * ConvTranspose2d(4→1, 3, stride 2, padding 1, outputPadding 1), MSE to its own input — trained by
 * Adam from PyTorch's initial parameters gives PyTorch's losses and final parameters (float32).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose } from '../helpers.js';

type State = Record<string, { shape: number[]; data: number[] }>;
const T = JSON.parse(readFileSync(new URL('../../../test/fixtures/upsampling/autoencoder.json', import.meta.url), 'utf8')) as {
  lr: number;
  x: { shape: number[]; data: number[] };
  init: State;
  losses: number[];
  final: Record<string, number[]>;
};

function replay(what: string): void {
  const model = new d.Sequential(
    new d.Conv2d(1, 4, 3, { stride: 2, padding: 1 }),
    new d.ReLU(),
    new d.ConvTranspose2d(4, 1, 3, { stride: 2, padding: 1, outputPadding: 1 }),
  );
  assert.deepEqual(
    model.namedParameters().map(([n, p]) => [n, p.shape]),
    Object.entries(T.init).map(([n, e]) => [n, e.shape]),
    "PyTorch's state names and shapes",
  );
  model.loadStateDict(T.init);
  const x = d.fromData(Float32Array.from(T.x.data), T.x.shape);
  const opt = new d.Adam(model.parameters(), { lr: T.lr });
  const losses: number[] = [];
  for (let i = 0; i < T.losses.length; i++) {
    opt.zeroGrad();
    const y = model.forward(x, { training: true });
    assert.deepEqual(y.shape, x.shape, 'the decoder gives back the input size');
    const loss = d.mseLoss(y, x);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  assert.ok(T.losses.at(-1)! < 0.8 * T.losses[0], "PyTorch's loss falls");
  assertClose(losses, T.losses, 2e-5, `${what} losses`);
  const sd = model.stateDict();
  for (const [n, v] of Object.entries(T.final)) assertClose(sd[n].data, v, 2e-4, `${what} final ${n}`);
}

test('Conv2d → ReLU → ConvTranspose2d autoencoder: eight Adam steps give PyTorch’s losses and parameters (reference, float32)', () => {
  replay('reference');
});

test('the same trajectory on wasm', async () => {
  await initWasm({ threads: 2 });
  try {
    d.setBackend('wasm');
    replay('wasm');
  } finally {
    d.setBackend('reference');
  }
});
