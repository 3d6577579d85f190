/**
 * ReLU on the GPU as in PyTorch (and on the CPU backends, test/backend/relu-nan.test.ts): NaN
 * stays NaN (x ≤ 0 ? 0 : x) and the backward lets the gradient through where the output is NaN
 * (threshold_backward: out ≤ 0 ? 0 : g) — elementwise, in the fused dense and convolution
 * layers, and in the pooled layer's backward.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Conv2dGeometry } from '../../../src/backend/backend.js';
import { K, down, rnd, up, zeros } from './helpers.js';

test('relu keeps NaN and gives +0 for −0 and negatives; reluGrad passes the gradient where the output is NaN and masks a NaN gradient where it is ≤ 0', async () => {
  const x = rnd(1031, -2, 2);
  x[0] = NaN;
  x[1] = -0;
  x[2] = -1;
  x[3] = 3;
  const g = rnd(1031);
  g[2] = NaN;
  g[3] = NaN;
  const y = zeros(x.length),
    gx = zeros(x.length);
  K.unary('relu', up(x), y);
  K.binary('reluGrad', up(g), [x.length], up(x), [x.length], gx, [x.length]);
  const [yv, gv] = [await down(y), await down(gx)];
  for (let i = 0; i < x.length; i++) {
    const wantY = Number.isNaN(x[i]) ? NaN : x[i] <= 0 ? 0 : x[i];
    assert.ok(Object.is(yv[i], wantY), `relu(${x[i]}) = ${yv[i]}, expected ${wantY}`);
    const wantG = x[i] <= 0 ? 0 : g[i];
    assert.ok(Object.is(gv[i], wantG), `reluGrad(${g[i]}, ${x[i]}) = ${gv[i]}, expected ${wantG}`);
  }
});

test('a NaN bias gives NaN outputs through the fused ReLU of linear and convLayer, and a NaN output passes its gradient in their backwards and the pooled layer', async () => {
  // linear: 4 × 3 outputs, bias 1 NaN
  const [m, n, k] = [4, 3, 5];
  const x = rnd(m * k),
    w = rnd(n * k),
    bias = rnd(n);
  bias[1] = NaN;
  const out = zeros(m * n);
  assert.ok(K.linear(up(x), up(w), up(bias), out, m, n, k, 'relu', null));
  const yv = await down(out);
  for (let i = 0; i < m * n; i++) assert.equal(Number.isNaN(yv[i]), i % n === 1, `linear output ${i} = ${yv[i]}`);
  const gy = rnd(m * n);
  const gb = zeros(n);
  assert.ok(K.linearBackward(up(gy), up(x), up(w), out, zeros(m * k), zeros(n * k), gb, m, n, k, 'relu', false));
  const gbv = await down(gb);
  const col1 = gy.filter((_, i) => i % n === 1).reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(gbv[1] - col1) < 1e-5, `linear bias gradient ${gbv[1]}, expected ${col1}`);

  // convLayer: 2 images, 1 → 3 channels, 3×3 over 6×6 padded, bias 1 NaN
  const g: Conv2dGeometry = {
    n: 2,
    c: 1,
    h: 6,
    w: 6,
    k: 3,
    kh: 3,
    kw: 3,
    oh: 6,
    ow: 6,
    strideH: 1,
    strideW: 1,
    padH: 1,
    padW: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  };
  const plane = g.oh * g.ow;
  const cx = rnd(g.n * g.h * g.w),
    cw = rnd(g.k * 9),
    cb = rnd(g.k);
  cb[1] = NaN;
  const cy = zeros(g.n * g.k * plane);
  assert.ok(K.convLayer(up(cx), up(cw), up(cb), cy, g, true));
  const cyv = await down(cy);
  for (let i = 0; i < cyv.length; i++)
    assert.equal(Number.isNaN(cyv[i]), Math.floor(i / plane) % g.k === 1, `convLayer output ${i} = ${cyv[i]}`);
  const cgy = rnd(cyv.length);
  const cgb = zeros(g.k);
  assert.ok(K.convLayerBackward(up(cgy), up(cx), up(cw), cy, zeros(cx.length), zeros(cw.length), cgb, g, false));
  const want1 = cgy.filter((_, i) => Math.floor(i / plane) % g.k === 1).reduce((s, v) => s + v, 0);
  const cgbv = await down(cgb);
  assert.ok(Math.abs(cgbv[1] - want1) < 1e-5, `convLayer bias gradient ${cgbv[1]}, expected ${want1}`);

  // the pooled layer's backward, 2×2 pooling: pooled values NaN in channel 1, each window's gradient at offset 0
  const pg = { n: g.n, c: g.k, h: g.oh, w: g.ow, kh: 2, kw: 2, oh: 3, ow: 3, strideH: 2, strideW: 2, padH: 0, padW: 0 };
  const np = g.n * g.k * 9;
  const pooled = Float32Array.from({ length: np }, (_, i) => (Math.floor(i / 9) % g.k === 1 ? NaN : 0.5));
  const idx = Int32Array.from({ length: np }, (_, i) => 2 * Math.floor((i % 9) / 3) * g.ow + 2 * (i % 3));
  const gp = rnd(np);
  const pgb = zeros(g.k);
  assert.ok(
    K.convPoolLayerBackward(up(gp), up(pooled), up(idx), up(cx), up(cw), zeros(cx.length), zeros(cw.length), pgb, g, pg, true, false),
  );
  const wantP = gp.filter((_, i) => Math.floor(i / 9) % g.k === 1).reduce((s, v) => s + v, 0);
  const pgbv = await down(pgb);
  assert.ok(Math.abs(pgbv[1] - wantP) < 1e-5, `convPoolLayer bias gradient ${pgbv[1]}, expected ${wantP}`);
});
