/**
 * matmul (every transpose combination), the fused linear layer and its backward on the GPU,
 * against the reference backend, on sizes of 1, odd, and past several 64×64 tiles and 16-deep slices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceBackend as R } from '../../../src/backend/reference.js';
import { LARGE, TALL, TINY, WIDE, splitFor, tileFor } from '../../../src/backend/webgpu/gemm.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import type { DeviceStorage } from '../../../src/tensor/device.js';
import { K, close, down, rnd, up, zeros } from './helpers.js';
import { GELU, Linear, Rng, Sequential, SiLU, fromData, fuse, matmul, square, sum, type Module } from '../../../src/index.js';

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 9],
  [3, 4, 1],
  [17, 33, 65],
  [64, 64, 16],
  [65, 130, 67],
  [130, 3, 200],
  [600, 5, 7], // linearBackward's gw: 5×7 over K = 600, split along K in 2 slices
];

/** The tolerance of a float32 product of depth k (values in [−1, 1)), relative to 1 + |result|. */
const tolFor = (k: number) => 2e-6 * Math.sqrt(k) + 1e-6;

/** K.matmul of an m×n×k product against the reference, for every transpose flag. */
async function checkMatmul(m: number, n: number, k: number): Promise<void> {
  for (const transA of [false, true])
    for (const transB of [false, true]) {
      const a = rnd(m * k),
        b = rnd(k * n);
      const want = new Float32Array(m * n);
      R.matmul(a, b, want, m, n, k, transA, transB);
      const out = zeros(m * n);
      K.matmul(up(a), up(b), out, m, n, k, transA, transB);
      close('matmul', await down(out), want, tolFor(k), ` ${m}×${n}×${k} tA=${transA} tB=${transB}`);
    }
}

test('matmul equals the reference for every transpose flag and awkward sizes', async () => {
  for (const [m, n, k] of SIZES) await checkMatmul(m, n, k);
});

/** Products of at least LARGE_OUTPUTS outputs run the 128×128 tiles: sizes just past whole tiles. */
const LARGE_SIZES: [number, number, number][] = [
  [2049, 2050, 17],
  [2048, 2200, 9],
];

test('a product with few tiles over a deep K runs split along K and equals the reference', async () => {
  const before = webgpuInfo().kernels['matmul.reduce'] ?? 0;
  // 3 slices with a shorter last one; 16 slices, the last of 19; 256 slices of one 64×64 tile
  for (const [m, n, k] of [
    [3, 5, 1000],
    [70, 9, 4099],
    [1, 2, 70000],
  ]) {
    assert.ok(splitFor(m, n, k).slices > 1);
    await checkMatmul(m, n, k);
  }
  assert.equal((webgpuInfo().kernels['matmul.reduce'] ?? 0) - before, 3 * 4, 'each product (4 transpose flags each) ran split');
});

test('matmul on the large tiles equals the reference for every transpose flag', async () => {
  for (const [m, n, k] of LARGE_SIZES) {
    assert.equal(tileFor(m, n), LARGE, `${m}×${n} runs the large tiles`);
    await checkMatmul(m, n, k);
  }
});

test('matmul on the thin tiles (32×128, 128×32, 32×32) equals the reference for every transpose flag, split along K too', async () => {
  for (const [m, n, k, t] of [
    [32, 300, 45, WIDE],
    [7, 129, 33, WIDE],
    [30, 65, 1000, WIDE],
    [300, 32, 45, TALL],
    [129, 7, 33, TALL],
    [32, 25, 3000, TINY],
    [17, 64, 40, TINY],
  ] as const) {
    assert.equal(tileFor(m, n), t, `${m}×${n} runs the ${t.name} tiles`);
    await checkMatmul(m, n, k);
  }
  assert.ok(splitFor(30, 65, 1000, WIDE).slices > 1, '30×65 over 1000 runs split');
  assert.ok(splitFor(32, 25, 3000, TINY).slices > 1, '32×25 over 3000 runs split');
});

test('linear and linearBackward on the large tiles equal the reference composition', async () => {
  const [m, n, k] = [2049, 2050, 13];
  const x = rnd(m * k),
    w = rnd(n * k),
    bias = rnd(n);
  const out = zeros(m * n);
  assert.ok(K.linear(up(x), up(w), up(bias), out, m, n, k, 'relu', null));
  close('linear', await down(out), linearRef(x, w, bias, m, n, k, true), tolFor(k), ` ${m}×${n}×${k}`);
  // gx = gz·w is m×k' with k' = 2050 outputs per row: the large tiles
  const [m2, n2, k2] = [2048, 9, 2050];
  const gy = rnd(m2 * n2),
    w2 = rnd(n2 * k2),
    y = rnd(m2 * n2);
  const gz = Float32Array.from(gy, (v, i) => (y[i] <= 0 ? 0 : v));
  const want = new Float32Array(m2 * k2);
  R.matmul(gz, w2, want, m2, k2, n2, false, false);
  const gx = zeros(m2 * k2);
  assert.ok(K.linearBackward(up(gy), up(rnd(m2 * k2)), up(w2), up(y), gx, null, null, m2, n2, k2, 'relu', false));
  close('linearBackward.gx', await down(gx), want, tolFor(n2), ` ${m2}×${n2}×${k2}`);
});

test('matmul overwrites its output and runs on one storage bound as both operands', async () => {
  const a = rnd(9 * 9);
  const want = new Float32Array(81);
  R.matmul(a, a, want, 9, 9, 9, false, true);
  const ga = up(a);
  const out = up(rnd(81, 5, 6));
  K.matmul(ga, ga, out, 9, 9, 9, false, true);
  close('matmul', await down(out), want, tolFor(9), ' a·aᵀ');
});

function linearRef(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  m: number,
  n: number,
  k: number,
  relu: boolean,
): Float32Array {
  const y = new Float32Array(m * n);
  R.matmul(x, w, y, m, n, k, false, true);
  for (let i = 0; i < m * n; i++) {
    const z = y[i] + (bias ? bias[i % n] : 0);
    y[i] = relu ? (z > 0 ? z : 0) : z;
  }
  return y;
}

test('linear (x·wᵀ + bias, ReLU) equals the reference composition', async () => {
  for (const [m, n, k] of SIZES)
    for (const withBias of [false, true])
      for (const relu of [false, true]) {
        const x = rnd(m * k),
          w = rnd(n * k),
          bias = withBias ? rnd(n) : null;
        const out = zeros(m * n);
        const ok = K.linear(up(x), up(w), bias ? up(bias) : null, out, m, n, k, relu ? 'relu' : 'none', null);
        if (!ok) throw new Error('linear declined GPU storage');
        close('linear', await down(out), linearRef(x, w, bias, m, n, k, relu), tolFor(k), ` ${m}×${n}×${k} bias=${withBias} relu=${relu}`);
      }
});

test('linearBackward gives gx, gw (set or accumulated) and gb equal to the reference composition', async () => {
  for (const [m, n, k] of SIZES)
    for (const relu of [false, true])
      for (const accumulate of [false, true]) {
        const gy = rnd(m * n),
          x = rnd(m * k),
          w = rnd(n * k),
          y = rnd(m * n),
          gw0 = rnd(n * k);
        const gz = Float32Array.from(gy, (v, i) => (relu ? (y[i] <= 0 ? 0 : v) : v));
        const gxWant = new Float32Array(m * k);
        R.matmul(gz, w, gxWant, m, k, n, false, false);
        const gwWant = new Float32Array(n * k);
        R.matmul(gz, x, gwWant, n, k, m, true, false);
        if (accumulate) for (let i = 0; i < n * k; i++) gwWant[i] += gw0[i];
        const gbWant = new Float32Array(n);
        R.sum(gz, [m, n], [0], gbWant);
        const gx = zeros(m * k),
          gw = up(gw0),
          gb = zeros(n);
        const ok = K.linearBackward(up(gy), up(x), up(w), relu ? up(y) : null, gx, gw, gb, m, n, k, relu ? 'relu' : 'none', accumulate);
        if (!ok) throw new Error('linearBackward declined GPU storage');
        const what = ` ${m}×${n}×${k} relu=${relu} acc=${accumulate}`;
        close('linearBackward.gx', await down(gx), gxWant, tolFor(n), what);
        close('linearBackward.gw', await down(gw), gwWant, tolFor(m), what);
        close('linearBackward.gb', await down(gb), gbWant, tolFor(m), what);
      }
});

test('the extensions decline typed arrays (the caller composes primitives)', () => {
  const x = new Float32Array(4) as unknown as DeviceStorage;
  if (K.linear(x, x, null, x, 2, 2, 1, 'none', null) !== false) throw new Error('linear accepted a Float32Array');
});

test('GELU (both forms) and SiLU after a Linear: linear declines them, so the fused layers compose them on the GPU as the unfused ones do', async () => {
  const [m, n, k] = [40, 50, 30];
  for (const act of ['gelu', 'geluTanh', 'silu'] as const) {
    for (const deriv of [zeros(m * n), null])
      assert.equal(K.linear(up(rnd(m * k)), up(rnd(n * k)), null, zeros(m * n), m, n, k, act, deriv), false, act);
    assert.equal(
      K.linearBackward(up(rnd(m * n)), up(rnd(m * k)), up(rnd(n * k)), up(rnd(m * n)), null, zeros(n * k), null, m, n, k, act, false),
      false,
    );
  }
  const x = fromData(rnd(m * k), [m, k]);
  for (const [name, act] of [
    ['GELU', () => new GELU()],
    ['GELU tanh', () => new GELU('tanh')],
    ['SiLU', () => new SiLU()],
  ] as [string, () => Module][]) {
    const make = () => new Sequential(new Linear(k, n, { rng: new Rng(1) }), act(), new Linear(n, 10, { rng: new Rng(2) }));
    const run = async (model: Module) => {
      await model.to('webgpu');
      const y = model.forward(await x.to('webgpu'));
      sum(square(y)).backward();
      return { y: await y.read(), grads: await Promise.all(model.parameters().map((p) => p.grad!.read())) };
    };
    const plain = await run(make()),
      fused = await run(fuse(make()));
    assert.deepEqual(fused.y, plain.y, `${name}: output`);
    fused.grads.forEach((g, i) => assert.deepEqual(g, plain.grads[i], `${name}: gradient ${i}`));
    // and the CPU's values
    const cpu = make();
    const yc = cpu.forward(x);
    sum(square(yc)).backward();
    close(`${name} output`, fused.y, yc.data, tolFor(k));
    cpu.parameters().forEach((p, i) => close(`${name} gradient ${i}`, fused.grads[i], p.grad!.data, 1e-4));
  }
});

test('matmul with a batched first operand and Linear on a 3-D input run on the GPU as one product; two batched operands run as one batchedMatmul', async () => {
  const a = fromData(rnd(2 * 3 * 4), [2, 3, 4]),
    b = fromData(rnd(4 * 5), [4, 5]);
  const want = matmul(a, b);
  const got = matmul(await a.to('webgpu'), await b.to('webgpu'));
  assert.deepEqual([...got.shape], [2, 3, 5]);
  close('matmul (batched)', await got.read(), want.data, tolFor(4));
  const layer = new Linear(4, 2, { rng: new Rng(1) });
  const wantL = layer.forward(a);
  await layer.to('webgpu');
  const gotL = layer.forward(await a.to('webgpu'));
  assert.deepEqual([...gotL.shape], [2, 3, 2]);
  close('linear (3-D input)', await gotL.read(), wantL.data, tolFor(4));
  // two batched operands: one batchedMatmul dispatch (its gradients: test/webgpu/gpu/sequence-ops.test.ts)
  const c = fromData(rnd(2 * 5 * 3), [2, 5, 3]);
  const before = webgpuInfo().kernels.batchedMatmul ?? 0;
  const gotC = matmul(got, await c.to('webgpu'));
  assert.equal((webgpuInfo().kernels.batchedMatmul ?? 0) - before, 1);
  close('matmul (two batched operands)', await gotC.read(), matmul(want, c).data, tolFor(5));
});
