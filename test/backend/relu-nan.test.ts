/**
 * ReLU keeps NaN and its backward lets the gradient through where the output is NaN, as PyTorch's
 * relu (x ≤ 0 ? 0 : x) and threshold_backward (out ≤ 0 ? 0 : g) do — torch.relu([nan, -1, 2])
 * is [nan, 0, 2] and its gradient [1, 0, 1]. A ReLU that turned NaN into 0 would hide a NaN
 * weight from the loss (training and evaluation would report plausible numbers). Checked on the
 * reference and the wasm backend, elementwise and in every fused layer: dense, convolution
 * (im2col and Winograd) and convolution + max pooling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm } from '../../src/backend/wasm/index.js';
import { referenceBackend as R } from '../../src/backend/reference.js';
import { extensionsOf } from '../../src/backend/backend.js';
import { setBackend, fromData, dense, convLayer, convPoolLayer, relu, sum, mul, type Tensor } from '../../src/index.js';
import { floatSource } from '../helpers.js';

const W = { ...(await initWasm({ threads: 2 })), ...extensionsOf('wasm') };
const rnd = floatSource(777);

test('relu and reluGrad: NaN stays NaN, −0 and negatives give +0, a NaN output passes the gradient and a NaN gradient is masked where the output is ≤ 0 (reference and wasm, vector lanes and tails)', () => {
  const n = 4099; // past the wasm kernels' small-array threshold, with a scalar tail
  const x = rnd(n, -2, 2);
  const special: [number, number][] = [
    [0, NaN],
    [1, -0],
    [2, -1],
    [3, 3],
    [4097, NaN],
    [4098, -0.5],
  ];
  for (const [i, v] of special) x[i] = v;
  const g = rnd(n, -1, 1);
  g[2] = NaN; // masked: x[2] ≤ 0
  g[3] = NaN; // passes: x[3] > 0
  for (const [name, B] of [
    ['reference', R],
    ['wasm', W],
  ] as const) {
    const y = new Float32Array(n).fill(7);
    B.unary('relu', x, y);
    const gx = new Float32Array(n).fill(7);
    B.binary('reluGrad', g, [n], x, [n], gx, [n]);
    for (let i = 0; i < n; i++) {
      const wantY = Number.isNaN(x[i]) ? NaN : x[i] <= 0 ? 0 : x[i];
      assert.ok(Object.is(y[i], wantY), `${name} relu(${x[i]}) = ${y[i]}, expected ${wantY}`);
      const wantG = x[i] <= 0 ? 0 : g[i];
      assert.ok(Object.is(gx[i], wantG), `${name} reluGrad(${g[i]}, ${x[i]}) = ${gx[i]}, expected ${wantG}`);
    }
  }
});

/** A float32 tensor of uniform values in [lo, hi) (the wasm backend fuses float32 layers only). */
const t32 = (shape: readonly number[], lo = -1, hi = 1) =>
  fromData(
    rnd(
      shape.reduce((a, b) => a * b, 1),
      lo,
      hi,
    ),
    [...shape],
    { dtype: 'float32' },
  );

/** Σ over channel `c` of a [n, C, h, w] array (or column c of [n, C]). */
function channelSum(a: Float32Array, shape: number[], c: number): number {
  const [n, C] = shape,
    plane = shape.slice(2).reduce((p, d) => p * d, 1);
  let s = 0;
  for (let b = 0; b < n; b++) for (let i = 0; i < plane; i++) s += a[(b * C + c) * plane + i];
  return s;
}

/** y's channel `c` all NaN and every other element finite. */
function onlyChannelNaN(y: Tensor, c: number, what: string): void {
  const [n, C] = y.shape,
    plane = y.shape.slice(2).reduce((p, d) => p * d, 1);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < C; k++)
      for (let i = 0; i < plane; i++) {
        const v = y.data[(b * C + k) * plane + i];
        assert.ok(k === c ? Number.isNaN(v) : Number.isFinite(v), `${what}: output [${b}, ${k}, ${i}] = ${v}`);
      }
}

for (const backend of ['reference', 'wasm']) {
  test(`a NaN bias reaches the output through each fused layer's ReLU, and that channel's bias gradient is the sum of its output gradient (${backend})`, () => {
    setBackend(backend);
    try {
      const layers: [string, number[], number[], (x: Tensor, w: Tensor, b: Tensor) => Tensor][] = [
        ['dense', [6, 20], [9, 20], (x, w, b) => dense(x, w, b, 'relu')],
        ['conv 3×3 (im2col)', [3, 2, 7, 9], [5, 2, 3, 3], (x, w, b) => convLayer(x, w, b, { padding: 1 }, 'relu')],
        ['conv 5×5, 8 → 8 (Winograd)', [4, 8, 10, 10], [8, 8, 5, 5], (x, w, b) => convLayer(x, w, b, { padding: 2 }, 'relu')],
        ['conv 3×3, 8 → 8 (Winograd)', [4, 8, 10, 10], [8, 8, 3, 3], (x, w, b) => convLayer(x, w, b, { padding: 1 }, 'relu')],
        ['conv + max pool', [3, 1, 8, 8], [4, 1, 5, 5], (x, w, b) => convPoolLayer(x, w, b, { padding: 2 }, 'relu', 2)],
      ];
      for (const [what, xs, ws, layer] of layers) {
        const x = t32(xs),
          w = t32(ws, -0.3, 0.3);
        const k = ws[0];
        const bias = rnd(k, -0.1, 0.1);
        bias[1] = NaN;
        const b = fromData(bias, [k], { dtype: 'float32', requiresGrad: true });
        const y = layer(x, w, b);
        onlyChannelNaN(y, 1, `${what} on ${backend}`);
        // loss Σ c ⊙ y: the output gradient is c, which ReLU passes where y is NaN
        const c = t32(y.shape);
        sum(mul(y, c)).backward();
        const gb = b.grad!.data;
        const want = channelSum(c.data as Float32Array, [...y.shape], 1);
        assert.ok(Math.abs(gb[1] - want) <= 1e-5 * (1 + Math.abs(want)), `${what} on ${backend}: bias gradient ${gb[1]}, expected ${want}`);
        assert.ok(Array.from(gb).every(Number.isFinite), `${what} on ${backend}: bias gradient ${Array.from(gb)}`);
      }
      // the autograd op alone: torch.relu([nan, -1, 2]).sum().backward() gives [1, 0, 1]
      const t = fromData([NaN, -1, 2], [3], { requiresGrad: true });
      sum(relu(t)).backward();
      assert.deepEqual(Array.from(t.grad!.data), [1, 0, 1]);
    } finally {
      setBackend('wasm');
    }
  });
}
