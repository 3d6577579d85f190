/**
 * conv2d, its two gradients and the fused convolution layer (bias, ReLU) on the GPU against the
 * reference backend, over strides, paddings, dilations, channel groups and sizes that are odd and
 * cross several 64-wide tiles; and against PyTorch's values on the dilated and grouped golden cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Conv2dGeometry } from '../../../src/backend/backend.js';
import { referenceBackend as R } from '../../../src/backend/reference.js';
import { conv2dGeometry } from '../../../src/autograd/conv.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import { K, close, down, downInt, rnd, up, zeros } from './helpers.js';

function geo(
  n: number,
  c: number,
  h: number,
  w: number,
  k: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  ph: number,
  pw: number,
  dh = 1,
  dw = 1,
  groups = 1,
): Conv2dGeometry {
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1,
    ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  return { n, c, h, w, k, kh, kw, oh, ow, strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw, groups };
}

const GEOS: Conv2dGeometry[] = [
  geo(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
  geo(2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1),
  geo(3, 2, 11, 8, 7, 3, 2, 2, 1, 0, 1),
  geo(2, 4, 13, 13, 3, 5, 5, 2, 2, 2, 2),
  geo(5, 1, 28, 28, 8, 5, 5, 1, 1, 2, 2), // the CNN's first layer, 5 images
  geo(2, 9, 10, 6, 70, 3, 3, 3, 2, 1, 0), // more output channels than one tile
  // dilated, grouped (the general kernels, every group in one dispatch)
  geo(2, 3, 11, 12, 5, 3, 3, 1, 1, 2, 2, 2, 2),
  geo(3, 2, 13, 10, 4, 3, 2, 2, 1, 1, 3, 2, 3), // dilation 2×3 with strides: the input gradient's divisions
  geo(2, 6, 9, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2),
  geo(2, 8, 7, 9, 12, 2, 3, 2, 1, 1, 0, 1, 1, 4),
  geo(4, 6, 16, 16, 6, 3, 3, 1, 1, 2, 2, 2, 2, 6), // depthwise and dilated; its weight gradient splits along K
  geo(2, 4, 10, 10, 136, 3, 3, 1, 1, 1, 1, 1, 1, 2), // groups of 68 output channels: more than one tile each
  geo(2, 32, 9, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32), // depthwise, 32 channels
  geo(3, 16, 9, 8, 32, 3, 3, 2, 2, 1, 1, 1, 1, 16), // depthwise with channel multiplier 2 (out = 2·in), strided
  geo(8, 32, 16, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 32), // the same, 32 groups whose weight gradients split along K together
];

const sizes = (g: Conv2dGeometry) => ({ x: g.n * g.c * g.h * g.w, w: g.k * (g.c / g.groups) * g.kh * g.kw, y: g.n * g.k * g.oh * g.ow });
const tol = (depth: number) => 2e-6 * Math.sqrt(depth) + 1e-6;

test('conv2d equals the reference', async () => {
  for (const g of GEOS) {
    const s = sizes(g);
    const x = rnd(s.x),
      w = rnd(s.w);
    const want = new Float32Array(s.y);
    R.conv2d(x, w, want, g);
    const out = zeros(s.y);
    K.conv2d(up(x), up(w), out, g);
    close('conv2d', await down(out), want, tol(g.c * g.kh * g.kw), ` ${JSON.stringify(g)}`);
  }
});

test('conv2dBackwardInput equals the reference', async () => {
  for (const g of GEOS) {
    const s = sizes(g);
    const gy = rnd(s.y),
      w = rnd(s.w);
    const want = new Float32Array(s.x);
    R.conv2dBackwardInput(gy, w, want, g);
    const gx = up(rnd(s.x, 5, 6));
    K.conv2dBackwardInput(up(gy), up(w), gx, g);
    close('conv2dBackwardInput', await down(gx), want, tol(g.k * g.kh * g.kw), ` ${JSON.stringify(g)}`);
  }
});

test('conv2dBackwardWeight equals the reference', async () => {
  for (const g of GEOS) {
    const s = sizes(g);
    const x = rnd(s.x),
      gy = rnd(s.y);
    const want = new Float32Array(s.w);
    R.conv2dBackwardWeight(x, gy, want, g);
    const gw = up(rnd(s.w, 5, 6));
    K.conv2dBackwardWeight(up(x), up(gy), gw, g);
    close('conv2dBackwardWeight', await down(gw), want, tol(g.n * g.oh * g.ow), ` ${JSON.stringify(g)}`);
  }
});

test('convLayer (conv2d + bias per channel, ReLU) equals the reference composition', async () => {
  for (const g of GEOS)
    for (const withBias of [false, true])
      for (const relu of [false, true]) {
        const s = sizes(g);
        const x = rnd(s.x),
          w = rnd(s.w),
          bias = withBias ? rnd(g.k) : null;
        const want = new Float32Array(s.y);
        R.conv2d(x, w, want, g);
        const P = g.oh * g.ow;
        for (let i = 0; i < s.y; i++) {
          const z = want[i] + (bias ? bias[Math.floor(i / P) % g.k] : 0);
          want[i] = relu ? Math.max(z, 0) : z;
        }
        const out = zeros(s.y);
        if (!K.convLayer(up(x), up(w), bias ? up(bias) : null, out, g, relu)) throw new Error('convLayer declined GPU storage');
        close('convLayer', await down(out), want, tol(g.c * g.kh * g.kw), ` bias=${withBias} relu=${relu} ${JSON.stringify(g)}`);
      }
});

test('convLayerBackward gives gx, gw (set or accumulated) and gb equal to the reference composition', async () => {
  for (const g of GEOS)
    for (const relu of [false, true])
      for (const accumulate of [false, true]) {
        const s = sizes(g);
        const gy = rnd(s.y),
          x = rnd(s.x),
          w = rnd(s.w),
          y = rnd(s.y),
          gw0 = rnd(s.w);
        const gz = Float32Array.from(gy, (v, i) => (relu ? (y[i] <= 0 ? 0 : v) : v));
        const gxWant = new Float32Array(s.x);
        R.conv2dBackwardInput(gz, w, gxWant, g);
        const gwWant = new Float32Array(s.w);
        R.conv2dBackwardWeight(x, gz, gwWant, g);
        if (accumulate) for (let i = 0; i < s.w; i++) gwWant[i] += gw0[i];
        const gbWant = new Float32Array(g.k);
        R.sum(gz, [g.n, g.k, g.oh * g.ow], [0, 2], gbWant);
        const gx = zeros(s.x),
          gw = up(gw0),
          gb = up(rnd(g.k, 5, 6));
        if (!K.convLayerBackward(up(gy), up(x), up(w), relu ? up(y) : null, gx, gw, gb, g, accumulate))
          throw new Error('convLayerBackward declined GPU storage');
        const what = ` relu=${relu} acc=${accumulate} ${JSON.stringify(g)}`;
        close('convLayerBackward.gx', await down(gx), gxWant, tol(g.k * g.kh * g.kw), what);
        close('convLayerBackward.gw', await down(gw), gwWant, tol(g.n * g.oh * g.ow), what);
        close('convLayerBackward.gb', await down(gb), gbWant, tol(g.n * g.oh * g.ow), what);
      }
});

test('convPoolLayer and its backward equal conv2d + bias + ReLU + maxPool2d and their gradients on the reference', async () => {
  const cases: [Conv2dGeometry, number, number, number][] = [
    [geo(3, 1, 12, 12, 4, 5, 5, 1, 1, 2, 2), 2, 2, 0],
    [geo(3, 5, 11, 9, 7, 3, 3, 1, 1, 1, 1), 3, 2, 1],
    [geo(3, 4, 12, 11, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2), 2, 2, 0],
  ];
  for (const [g, pk, ps, pp] of cases)
    for (const withBias of [true, false])
      for (const relu of [true, false]) {
        const pg = {
          n: g.n,
          c: g.k,
          h: g.oh,
          w: g.ow,
          kh: pk,
          kw: pk,
          oh: Math.floor((g.oh + 2 * pp - pk) / ps) + 1,
          ow: Math.floor((g.ow + 2 * pp - pk) / ps) + 1,
          strideH: ps,
          strideW: ps,
          padH: pp,
          padW: pp,
        };
        const s = sizes(g);
        const np = pg.n * pg.c * pg.oh * pg.ow;
        const shape = [g.n, g.k, g.oh, g.ow];
        const x = rnd(s.x),
          w = rnd(s.w),
          b = withBias ? rnd(g.k) : null,
          gp = rnd(np);
        const y = new Float32Array(s.y);
        R.conv2d(x, w, y, g);
        if (b) R.binary('add', y, shape, b, [1, g.k, 1, 1], y, shape);
        if (relu) R.unary('relu', y, y);
        const wantP = new Float32Array(np),
          wantIdx = new Int32Array(np);
        R.maxPool2d(y, wantP, wantIdx, pg);
        const gy = new Float32Array(s.y);
        R.scatterPlanes(gp, wantIdx, gy, g.n * g.k, g.oh * g.ow, pg.oh * pg.ow);
        const gz = new Float32Array(s.y);
        if (relu) R.binary('reluGrad', gy, shape, y, shape, gz, shape);
        else gz.set(gy);
        const wantGx = new Float32Array(s.x),
          wantGw = new Float32Array(s.w),
          wantGb = new Float32Array(g.k);
        R.conv2dBackwardInput(gz, w, wantGx, g);
        R.conv2dBackwardWeight(x, gz, wantGw, g);
        R.sum(gz, [g.n, g.k, g.oh * g.ow], [0, 2], wantGb);

        const what = ` bias=${withBias} relu=${relu} ${JSON.stringify(g)}`;
        const p = zeros(np),
          idx = zeros(np, 'int32');
        const gx_ = up(x),
          gw_ = up(w);
        if (!K.convPoolLayer(gx_, gw_, b ? up(b) : null, p, idx, g, pg, relu)) throw new Error('convPoolLayer declined GPU storage');
        const gotP = await down(p);
        close('convPoolLayer', gotP, wantP, tol(g.c * g.kh * g.kw), what);
        // the arg-max follows the GPU's own values: compare it where the reference's maxima are not near-ties
        const gotIdx = await downInt(idx);
        let agree = 0;
        for (let i = 0; i < np; i++) if (gotIdx[i] === wantIdx[i]) agree++;
        if (agree < np * 0.97) throw new Error(`convPoolLayer${what}: only ${agree} of ${np} arg-max offsets agree`);
        // the backward from the reference's indices and pooled values, so both sides scatter alike
        const gx = zeros(s.x),
          gw = zeros(s.w),
          gb = withBias ? zeros(g.k) : null;
        if (!K.convPoolLayerBackward(up(gp), up(wantP), up(wantIdx), gx_, gw_, gx, gw, gb, g, pg, relu, false))
          throw new Error('convPoolLayerBackward declined GPU storage');
        close('convPoolLayerBackward.gx', await down(gx), wantGx, tol(g.k * g.kh * g.kw), what);
        close('convPoolLayerBackward.gw', await down(gw), wantGw, tol(g.n * g.oh * g.ow), what);
        if (gb) close('convPoolLayerBackward.gb', await down(gb), wantGb, tol(g.n * g.oh * g.ow), what);
      }
});

type Entry = { shape: number[]; data: number[]; grad: number[] };
type ConvCase = { name: string; params: object; x: Entry; w: Entry; b: Entry; y: number[]; yShape: number[]; gy: number[] };

test('conv2d and both gradients with dilation and groups equal PyTorch (tools/golden_conv.py), in one dispatch for all groups', async () => {
  const file = new URL('../../../../test/fixtures/conv/conv-dilation-groups.json', import.meta.url);
  const cases: ConvCase[] = JSON.parse(readFileSync(file, 'utf8')).cases;
  assert.ok(cases.length >= 6);
  for (const c of cases) {
    const g = conv2dGeometry(c.x.shape, c.w.shape, c.params, c.name);
    const s = sizes(g);
    const x = up(Float32Array.from(c.x.data)),
      w = up(Float32Array.from(c.w.data)),
      b = up(Float32Array.from(c.b.data));
    const before = webgpuInfo().kernels.convLayer ?? 0;
    const y = zeros(s.y);
    assert.ok(K.convLayer(x, w, b, y, g, false), 'convLayer ran');
    assert.equal((webgpuInfo().kernels.convLayer ?? 0) - before, 1, `${c.name}: one dispatch for ${g.groups} group(s)`);
    close('golden conv2d', await down(y), c.y, 1e-5, ` ${c.name}`);
    const gy = up(Float32Array.from(c.gy));
    const gx = zeros(s.x),
      gw = zeros(s.w);
    K.conv2dBackwardInput(gy, w, gx, g);
    K.conv2dBackwardWeight(x, gy, gw, g);
    close('golden conv2dBackwardInput', await down(gx), c.x.grad, 1e-5, ` ${c.name}`);
    close('golden conv2dBackwardWeight', await down(gw), c.w.grad, 1e-5, ` ${c.name}`);
  }
});

/** Dispatches queued by `queue`, per kernel name (webgpuInfo's counters). */
function dispatchesOf(queue: () => void): Record<string, number> {
  const before = { ...webgpuInfo().kernels };
  queue();
  const d: Record<string, number> = {};
  for (const [name, n] of Object.entries(webgpuInfo().kernels)) if (n - (before[name] ?? 0)) d[name] = n - (before[name] ?? 0);
  return d;
}

test('a grouped convolution forward and backward issues as many dispatches whatever its number of groups', async () => {
  // 64 channels in and out, groups 1 (the plain kernels) to 64 (depthwise); at batch 2 no weight
  // gradient splits along K, at batch 8 every one does (a product and its reduce)
  for (const [n, hw, gw] of [
    [2, 8, { 'convLayerBackward.gw': 1 }],
    [8, 16, { 'convLayerBackward.gw': 1, 'convLayerBackward.gw.reduce': 1 }],
  ] as const)
    for (const groups of [1, 2, 8, 32, 64]) {
      const g = geo(n, 64, hw, hw, 64, 3, 3, 1, 1, 1, 1, 1, 1, groups);
      const s = sizes(g);
      const xh = rnd(s.x),
        gyh = rnd(s.y);
      const x = up(xh),
        w = up(rnd(s.w)),
        b = up(rnd(g.k)),
        gy = up(gyh);
      const y = zeros(s.y),
        gx = zeros(s.x),
        gwt = zeros(s.w),
        gb = zeros(g.k);
      const got = dispatchesOf(() => {
        assert.ok(K.convLayer(x, w, b, y, g, true));
        assert.ok(K.convLayerBackward(gy, x, w, y, gx, gwt, gb, g, false));
      });
      assert.deepEqual(got, { convLayer: 1, 'convLayerBackward.gx': 1, ...gw, 'convLayerBackward.gb': 1 }, `groups ${groups}, batch ${n}`);
      const plain = dispatchesOf(() => {
        K.conv2d(x, w, y, g);
        K.conv2dBackwardInput(gy, w, gx, g);
        K.conv2dBackwardWeight(x, gy, gwt, g);
      });
      const split = 'convLayerBackward.gw.reduce' in gw ? { 'conv2dBackwardWeight.reduce': 1 } : {};
      assert.deepEqual(plain, { conv2d: 1, conv2dBackwardInput: 1, conv2dBackwardWeight: 1, ...split }, `groups ${groups}, batch ${n}`);
      // and the values: the reference's
      const want = new Float32Array(s.w);
      R.conv2dBackwardWeight(xh, gyh, want, g);
      close('conv2dBackwardWeight', await down(gwt), want, tol(g.n * g.oh * g.ow), ` ${JSON.stringify(g)}`);
    }
});
