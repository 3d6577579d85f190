/**
 * Every product of the backend (matmul under its four transpose flags, whole and split along K, the
 * fused linear layer and its gradients, the convolutions and their gradients, whole and split)
 * gives the same values under every tile shape the tuner may choose (TILE_SHAPES that fit the
 * device) as under tileFor's: each output sums its terms in the same order whatever the tile, and a
 * split product keeps tileFor's slices. The values under tileFor's shapes are checked against the
 * reference backend in dense.test.ts and conv.test.ts; a shape whose loads, stores or walks were
 * wrong gives other values here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Conv2dGeometry } from '../../../src/backend/backend.js';
import { TILE_SHAPES, setTileChoice, splitFor, tileBytes, tileFor } from '../../../src/backend/webgpu/gemm.js';
import type { GpuStorage } from '../../../src/backend/webgpu/index.js';
import { K, ctx, down, rnd, same, up } from './helpers.js';

/** An output's storage before a product writes or adds into it (the same values at every run). */
const filled = (n: number) => up(new Float32Array(n).fill(0.25));
const shapes = TILE_SHAPES.filter((t) => tileBytes(t) <= ctx.device.limits.maxComputeWorkgroupStorageSize);

/** Runs `queue` (which makes fresh outputs from fixed inputs and queues one product into them) under tileFor's shapes, then under each shape, and compares the outputs. */
async function sameUnderEveryShape(name: string, queue: () => GpuStorage[]): Promise<void> {
  const read = async () => Promise.all(queue().map((s) => down(s)));
  const want = await read();
  for (const t of shapes) {
    setTileChoice(() => t);
    try {
      const got = await read();
      got.forEach((g, i) => same(`${name} under every tile`, g, want[i], ` (shape ${t.name}, output ${i})`));
    } finally {
      setTileChoice(null);
    }
  }
}

test('the tuner may choose any of several shapes on this device', () => {
  // lavapipe holds them all; the 16 KiB of WebGPU's default limit holds all but one
  assert.ok(shapes.length >= TILE_SHAPES.length - 1, `${shapes.length} shapes fit`);
});

test('matmul gives the same values under every tile shape, whole and split along K', async () => {
  // 20×24 over K = 3000 runs split (one 32×32 tile of tileFor's): the split keeps its slices
  assert.ok(splitFor(20, 24, 3000, tileFor(20, 24)).slices > 1);
  for (const [m, n, k] of [
    [70, 90, 37],
    [20, 24, 3000],
    [130, 9, 20],
  ])
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        const a = up(rnd(m * k)),
          b = up(rnd(k * n));
        await sameUnderEveryShape(`matmul ${m}×${n}×${k} ${+ta}${+tb}`, () => {
          const out = filled(m * n);
          K.matmul(a, b, out, m, n, k, ta, tb);
          return [out];
        });
      }
});

test('linear and linearBackward give the same values under every tile shape', async () => {
  const [m, n, k] = [600, 20, 40];
  // gw is 20×40 over K = 600: split along K
  assert.ok(splitFor(n, k, m, tileFor(n, k)).slices > 1);
  const x = up(rnd(m * k)),
    w = up(rnd(n * k)),
    bias = up(rnd(n)),
    gy = up(rnd(m * n));
  const y = up(rnd(m * n, -0.5, 1));
  await sameUnderEveryShape('linear', () => {
    const out = filled(m * n);
    assert.ok(K.linear(x, w, bias, out, m, n, k, 'relu', null));
    return [out];
  });
  const gw0 = rnd(n * k);
  await sameUnderEveryShape('linearBackward', () => {
    const gx = filled(m * k),
      gw = up(gw0),
      gb = filled(n);
    assert.ok(K.linearBackward(gy, x, w, y, gx, gw, gb, m, n, k, 'relu', true));
    return [gx, gw, gb];
  });
});

const geo = (n: number, c: number, h: number, k: number, kh: number, stride: number, pad: number, groups = 1): Conv2dGeometry => {
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  return {
    n,
    c,
    h,
    w: h,
    k,
    kh,
    kw: kh,
    oh,
    ow: oh,
    strideH: stride,
    strideW: stride,
    padH: pad,
    padW: pad,
    dilationH: 1,
    dilationW: 1,
    groups,
  };
};

test('the convolutions and their gradients give the same values under every tile shape, whole and split along K', async () => {
  // the last: 8 groups of 2 output channels, their weight gradients split along K in one dispatch
  for (const g of [geo(8, 2, 12, 4, 3, 1, 1), geo(3, 3, 9, 40, 3, 2, 0), geo(8, 8, 12, 16, 3, 1, 1, 8)]) {
    const sx = g.n * g.c * g.h * g.w,
      sw = (g.k * g.c * g.kh * g.kw) / g.groups,
      sy = g.n * g.k * g.oh * g.ow;
    const x = up(rnd(sx)),
      w = up(rnd(sw)),
      bias = up(rnd(g.k)),
      gy = up(rnd(sy)),
      y = up(rnd(sy, -0.5, 1));
    const what = ` ${JSON.stringify(g)}`;
    await sameUnderEveryShape(`conv2d${what}`, () => {
      const out = filled(sy);
      K.conv2d(x, w, out, g);
      return [out];
    });
    await sameUnderEveryShape(`convLayer${what}`, () => {
      const out = filled(sy);
      assert.ok(K.convLayer(x, w, bias, out, g, true));
      return [out];
    });
    await sameUnderEveryShape(`conv2dBackwardInput${what}`, () => {
      const gx = filled(sx);
      K.conv2dBackwardInput(gy, w, gx, g);
      return [gx];
    });
    await sameUnderEveryShape(`conv2dBackwardWeight${what}`, () => {
      const gw = filled(sw);
      K.conv2dBackwardWeight(x, gy, gw, g);
      return [gw];
    });
    const gw0 = rnd(sw);
    await sameUnderEveryShape(`convLayerBackward${what}`, () => {
      const gx = filled(sx),
        gw = up(gw0),
        gb = filled(g.k);
      assert.ok(K.convLayerBackward(gy, x, w, y, gx, gw, gb, g, true));
      return [gx, gw, gb];
    });
  }
  // the first geometry's weight gradient (4×18 over K = 8·144) runs split along K
  assert.ok(splitFor(4, 18, 8 * 144, tileFor(4, 18)).slices > 1);
  assert.ok(splitFor(2, 9, 8 * 144, tileFor(2, 9), 8).slices > 1);
});
