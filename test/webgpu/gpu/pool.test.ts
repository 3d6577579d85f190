/**
 * maxPool2d (values and indices identical to the reference: ties, NaN, −∞, padding),
 * scatterPlanes (repeated and out-of-range indices), max pooling's backward as a gather (equal to
 * the scatter sum for sum), avgPool2d and its backward (countIncludePad
 * both ways), ceil mode among the geometries, on the GPU against the reference backend.
 */
import { test } from 'node:test';
import type { PoolGeometry } from '../../../src/backend/backend.js';
import { referenceBackend as R } from '../../../src/backend/reference.js';
import { poolOps } from '../../../src/backend/webgpu/pool.js';
import { poolGeometry } from '../../../src/autograd/conv.js';
import { K, close, ctx, down, downInt, next, rnd, same, up, zeros } from './helpers.js';

// the fused layer's gather (not a Backend kernel)
const { maxPool2dBackward } = poolOps(ctx);

function geo(
  n: number,
  c: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  ph: number,
  pw: number,
): PoolGeometry {
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1,
    ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
  return { n, c, h, w, kh, kw, oh, ow, strideH: sh, strideW: sw, padH: ph, padW: pw };
}

const GEOS: PoolGeometry[] = [
  geo(1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
  geo(2, 3, 19, 23, 2, 2, 2, 2, 0, 0),
  geo(3, 4, 28, 28, 2, 2, 2, 2, 0, 0),
  geo(2, 2, 9, 11, 3, 3, 2, 2, 1, 1),
  geo(1, 5, 10, 7, 3, 2, 1, 3, 1, 0),
  geo(2, 1, 6, 6, 5, 5, 1, 1, 2, 2),
  geo(40, 10, 12, 12, 2, 2, 2, 2, 0, 0), // 400 planes: several workgroups of planes
  // ceil mode: last windows hanging over the far edges (the second also drops one that would start in the padding)
  poolGeometry([2, 3, 19, 23], 2, { ceilMode: true }, 'ceil'),
  poolGeometry([2, 2, 8, 10], 3, { stride: 3, padding: 1, ceilMode: true }, 'ceil'),
];
const sizes = (g: PoolGeometry) => ({ x: g.n * g.c * g.h * g.w, y: g.n * g.c * g.oh * g.ow });

function tied(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => {
    const u = next();
    if (u < 0.03) return Number.NaN;
    if (u < 0.08) return Number.NEGATIVE_INFINITY;
    return Math.floor(next() * 3);
  });
}

test('maxPool2d gives the reference values and indices exactly', async () => {
  for (const g of GEOS)
    for (const x of [tied(sizes(g).x), rnd(sizes(g).x)]) {
      const s = sizes(g);
      const want = new Float32Array(s.y),
        wantIdx = new Int32Array(s.y);
      R.maxPool2d(x, want, wantIdx, g);
      const out = zeros(s.y),
        idx = zeros(s.y, 'int32');
      K.maxPool2d(up(x), out, idx, g);
      same('maxPool2d', await down(out), want, ` ${JSON.stringify(g)}`);
      same('maxPool2d.idx', await downInt(idx), wantIdx, ` ${JSON.stringify(g)}`);
    }
});

test('scatterPlanes equals the reference (repeated indices add, out-of-range ones are skipped)', async () => {
  for (const [planes, inPlane, outPlane] of [
    [1, 1, 1],
    [3, 10, 25],
    [70, 49, 16],
    [130, 5, 9],
  ]) {
    const gy = rnd(planes * outPlane);
    const idx = Int32Array.from({ length: planes * outPlane }, () => Math.floor(next() * (inPlane + 2)) - 1);
    const want = new Float32Array(planes * inPlane);
    R.scatterPlanes(gy, idx, want, planes, inPlane, outPlane);
    const gx = up(rnd(planes * inPlane, 5, 6));
    K.scatterPlanes(up(gy), up(idx), gx, planes, inPlane, outPlane);
    close('scatterPlanes', await down(gx), want, 1e-6, ` ${planes}×${inPlane}←${outPlane}`);
  }
});

test("maxPool2dBackward equals the scatter of the pooled gradient to the arg-max offsets, sum for sum, masked where the pooled output is ≤ 0 (a NaN one passes, as in PyTorch's threshold_backward) or not", async () => {
  for (const g of GEOS)
    for (const relu of [false, true]) {
      const s = sizes(g);
      // ties and overlapping windows: one input element is the maximum of several windows
      const x = tied(s.x);
      const pooled = new Float32Array(s.y),
        idx = new Int32Array(s.y);
      R.maxPool2d(x, pooled, idx, g);
      const gy = rnd(s.y);
      const masked = relu ? Float32Array.from(gy, (v, i) => (pooled[i] <= 0 ? 0 : v)) : gy;
      const want = new Float32Array(s.x);
      R.scatterPlanes(masked, idx, want, g.n * g.c, g.h * g.w, g.oh * g.ow);
      const gx = up(rnd(s.x, 5, 6));
      maxPool2dBackward(up(gy), up(idx), relu ? up(pooled) : null, gx, g);
      same('maxPool2dBackward', await down(gx), want, ` relu=${relu} ${JSON.stringify(g)}`);
    }
});

test('avgPool2d and avgPool2dBackward equal the reference, countIncludePad both ways', async () => {
  for (const g of GEOS)
    for (const incl of [true, false]) {
      const s = sizes(g);
      const x = rnd(s.x);
      const want = new Float32Array(s.y);
      R.avgPool2d(x, want, g, incl);
      const out = zeros(s.y);
      K.avgPool2d(up(x), out, g, incl);
      close('avgPool2d', await down(out), want, 1e-6, ` incl=${incl} ${JSON.stringify(g)}`);
      const gy = rnd(s.y);
      const wantGx = new Float32Array(s.x);
      R.avgPool2dBackward(gy, wantGx, g, incl);
      const gx = up(rnd(s.x, 5, 6));
      K.avgPool2dBackward(up(gy), gx, g, incl);
      close('avgPool2dBackward', await down(gx), wantGx, 1e-6, ` incl=${incl} ${JSON.stringify(g)}`);
    }
});
