import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm, setWasmThreads } from '../../src/backend/wasm/index.js';
import { setWinogradEnabled } from '../../src/backend/wasm/convolution.js';
import { gradCheck, randT, assertClose } from '../helpers.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/upsampling/${name}`, import.meta.url), 'utf8'));
type Entry = { shape: number[]; data: number[]; grad: number[] };
type Case<P> = { name: string; params: P; x: Entry; w: Entry; b: Entry; y: number[]; yShape: number[]; gy: number[] };
type Params2d = Required<d.ConvTranspose2dArgs> & {
  stride: [number, number];
  padding: [number, number];
  outputPadding: [number, number];
  dilation: [number, number];
};
type Params1d = Required<d.ConvTranspose1dArgs>;
const F = fixture('conv-transpose.json') as { cases: Case<Params2d>[]; cases1d: Case<Params1d>[] };
const leaf = (e: { shape: number[]; data: number[] }, dtype: 'float32' | 'float64') =>
  d.fromData(dtype === 'float32' ? Float32Array.from(e.data) : Float64Array.from(e.data), e.shape, { requiresGrad: true });

/** `op` on one golden case in `dtype`, then the backward of sum(y·gy): the output and the three gradients checked to `tol`. */
function checkGolden<P>(
  c: Case<P>,
  op: (x: d.Tensor, w: d.Tensor, b: d.Tensor, p: P) => d.Tensor,
  dtype: 'float32' | 'float64',
  tol: number,
  what: string,
): void {
  const x = leaf(c.x, dtype),
    w = leaf(c.w, dtype),
    b = leaf(c.b, dtype);
  const y = op(x, w, b, c.params);
  assert.deepEqual(y.shape, c.yShape, `${what} ${c.name} shape`);
  assertClose(y.data, c.y, tol, `${what} ${c.name} y`);
  const gy = dtype === 'float32' ? Float32Array.from(c.gy) : Float64Array.from(c.gy);
  d.backward(y, { gradient: d.fromData(gy, c.yShape) });
  assertClose(x.grad!.data, c.x.grad, tol, `${what} ${c.name} dx`);
  assertClose(w.grad!.data, c.w.grad, tol, `${what} ${c.name} dw`);
  assertClose(b.grad!.data, c.b.grad, tol, `${what} ${c.name} db`);
}

const op2d = (x: d.Tensor, w: d.Tensor, b: d.Tensor, p: Params2d) => d.convTranspose2d(x, w, b, p);
const op1d = (x: d.Tensor, w: d.Tensor, b: d.Tensor, p: Params1d) => d.convTranspose1d(x, w, b, p);

test('convTranspose2d equals PyTorch F.conv_transpose2d: values and gradients of x, w, b (tools/golden_upsampling.py)', () => {
  const cs = F.cases;
  // the fixture covers what the op must handle
  assert.ok(
    cs.some((c) => c.params.stride.some((s) => s === 3)),
    'stride 3',
  );
  assert.ok(
    cs.some((c) => c.params.outputPadding.some((p, i) => p >= c.params.stride[i])),
    'outputPadding ≥ stride (allowed by the dilation)',
  );
  assert.ok(
    cs.some((c) => c.params.groups === 2) && cs.some((c) => c.params.groups === c.x.shape[1] && c.params.groups > 1),
    'groups 2 and depthwise',
  );
  assert.ok(cs.some((c) => c.w.shape[2] !== c.w.shape[3]) && cs.some((c) => c.x.shape[0] > 1), 'non-square kernels, batch > 1');
  for (const c of cs) checkGolden(c, op2d, 'float64', 1e-12, 'reference');
});

test('convTranspose1d equals PyTorch F.conv_transpose1d: values and gradients of x, w, b', () => {
  for (const c of F.cases1d) checkGolden(c, op1d, 'float64', 1e-12, 'reference');
});

test('the wasm backend equals PyTorch on every golden transposed convolution, threads 1 and 2 (float32)', async () => {
  await initWasm({ threads: 2 });
  try {
    d.setBackend('wasm');
    for (const threads of [1, 2]) {
      setWasmThreads(threads);
      // im2col rounds like the reference; Winograd F(4×4, 5×5) (the 8-channel 5×5 case) further
      // from it (3.2e-5 on this fixture against 2e-6: its transforms scale values by up to 21/4
      // and 8 before they cancel; tools/winograd.py)
      for (const c of F.cases) {
        setWinogradEnabled(false);
        checkGolden(c, op2d, 'float32', 3e-5, `wasm threads=${threads} im2col`);
        setWinogradEnabled(true);
        checkGolden(c, op2d, 'float32', 1e-4, `wasm threads=${threads}`);
      }
      for (const c of F.cases1d) checkGolden(c, op1d, 'float32', 3e-5, `wasm threads=${threads}`);
    }
  } finally {
    setWinogradEnabled(true);
    d.setBackend('reference');
  }
});

test('convTranspose2d is the adjoint of conv2d: ⟨conv2d(u, w), x⟩ = ⟨u, convTranspose2d(x, w)⟩', () => {
  const opts = { stride: [2, 3] as [number, number], padding: [1, 0] as [number, number], dilation: [1, 2] as [number, number], groups: 2 };
  const w = randT([4, 3, 3, 2], 1); // conv2d: 6 → 4 channels; transposed: 4 → 6
  const x = randT([2, 4, 3, 2], 2);
  const y = d.convTranspose2d(x, w, null, { ...opts, outputPadding: [1, 2] });
  const u = randT([...y.shape], 3);
  const cu = d.conv2d(u, w, null, opts);
  assert.deepEqual(cu.shape, x.shape);
  assertClose(d.sum(d.mul(cu, x)).item(), d.sum(d.mul(u, y)).item(), 1e-12, 'inner products');
});

test('convTranspose2d: gradients match central differences, and gradients of gradients', () => {
  gradCheck(
    (x, w, b) => d.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    [randT([2, 2, 3, 2], 4), randT([2, 3, 3, 3], 5), randT([3], 6)],
  );
  gradCheck(
    (x, w) => d.convTranspose2d(x, w, null, { groups: 2, dilation: 2, outputPadding: 1 }),
    [randT([1, 4, 3, 3], 7), randT([4, 1, 2, 3], 8)],
  );
  const u = randT([2, 3, 6, 4], 9);
  u.requiresGrad = false;
  gradCheck(
    (x, w) => {
      const y = d.mul(d.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }), u);
      const [gx, gw] = d.grad(d.sum(y), [x, w], { createGraph: true });
      return d.add(d.sum(d.square(gx!)), d.sum(d.mul(gw!, gw!)));
    },
    [randT([2, 2, 3, 2], 10), randT([2, 3, 3, 3], 11)],
    1e-5,
  );
});

test('ConvTranspose2d: PyTorch layout and state names, output size, default init bounds from out/groups·kh·kw', () => {
  const m = new d.ConvTranspose2d(6, 4, [3, 2], { stride: 2, padding: 1, outputPadding: 1, groups: 2, rng: new d.Rng(1) });
  assert.deepEqual(
    m.namedParameters().map(([n, p]) => [n, p.shape]),
    [
      ['weight', [6, 2, 3, 2]],
      ['bias', [4]],
    ],
  );
  // fanIn = weight.size(1)·kh·kw = 2·3·2 (PyTorch's _calculate_fan_in_and_fan_out on the weight as it lies)
  const bound = 1 / Math.sqrt(2 * 3 * 2);
  for (const p of [m.weight, m.bias!]) {
    const v = Array.from(p.data);
    assert.ok(
      v.every((a) => Math.abs(a) <= bound),
      'within ±1/√fanIn',
    );
    assert.ok(Math.max(...v.map(Math.abs)) > 0.6 * bound, 'spread over the range');
  }
  const y = m.forward(d.zeros([3, 6, 5, 4]));
  // (5 − 1)·2 − 2 + (3 − 1) + 1 + 1 = 10, (4 − 1)·2 − 2 + (2 − 1) + 1 + 1 = 7
  assert.deepEqual(y.shape, [3, 4, 10, 7]);
  assert.equal(m.describe(), 'ConvTranspose2d(6→4, 3×2, stride 2×2, padding 1×1, outputPadding 1×1, groups 2)');
  const a = new d.ConvTranspose2d(2, 3, 3, { rng: new d.Rng(5) }),
    b = new d.ConvTranspose2d(2, 3, 3, { rng: new d.Rng(5) });
  assert.deepEqual(Array.from(a.weight.data), Array.from(b.weight.data), 'same seed, same weights');
  assert.equal(new d.ConvTranspose2d(2, 3, 3, { bias: false }).bias, null);
});

test('ConvTranspose1d: layout, output length, and the 2-D layer on one row', () => {
  const m = new d.ConvTranspose1d(4, 6, 3, { stride: 3, padding: 1, outputPadding: 2, groups: 2, dtype: 'float64', rng: new d.Rng(2) });
  assert.deepEqual(m.weight.shape, [4, 3, 3]);
  const x = randT([2, 4, 5], 12);
  const y = m.forward(x);
  assert.deepEqual(y.shape, [2, 6, (5 - 1) * 3 - 2 + 2 + 2 + 1]);
  const y2 = d.convTranspose2d(d.reshape(x, [2, 4, 1, 5]), d.reshape(m.weight, [4, 3, 1, 3]), m.bias, {
    stride: [1, 3],
    padding: [0, 1],
    outputPadding: [0, 2],
    groups: 2,
  });
  assert.deepEqual(Array.from(y.data), Array.from(y2.data));
  assert.equal(m.describe(), 'ConvTranspose1d(4→6, 3, stride 3, padding 1, outputPadding 2, groups 2)');
});

test('transposed convolutions: clear errors naming the layer, the expected and the actual values', () => {
  assert.throws(
    () => new d.ConvTranspose2d(2, 2, 3, { stride: 2, outputPadding: 2 }),
    /ConvTranspose2d: outputPadding 2 \(height\) must be smaller than the stride 2 or the dilation 1/,
  );
  assert.throws(
    () => new d.ConvTranspose1d(2, 2, 3, { outputPadding: 1 }),
    /ConvTranspose1d: outputPadding 1 must be smaller than the stride 1 or the dilation 1/,
  );
  assert.throws(() => new d.ConvTranspose2d(3, 2, 3, { groups: 2 }), /ConvTranspose2d: inChannels 3 is not divisible by groups 2/);
  assert.throws(() => new d.ConvTranspose2d(2, 2, 3, { outputpadding: 1 } as never), /outputpadding/);
  const m = new d.ConvTranspose2d(3, 2, 3);
  assert.throws(() => m.forward(d.zeros([1, 2, 4, 4])), /ConvTranspose2d\(3→2, 3×3\): input has 2 channels, weight expects 3/);
  assert.throws(() => m.forward(d.zeros([2, 4, 4])), /expected input \[N, C, H, W\], got \[2, 4, 4\]/);
  assert.throws(
    () => d.convTranspose2d(d.zeros([1, 1, 1, 1]), d.zeros([1, 1, 1, 1]), null, { padding: 1 }),
    /convTranspose2d: output height .* = -1, expected ≥ 1/,
  );
  assert.throws(
    () => d.convTranspose2d(d.zeros([1, 2, 3, 3]), d.zeros([2, 1, 3, 3]), d.zeros([2])),
    /convTranspose2d: bias must be \[1\], got \[2\]/,
  );
  assert.throws(() => new d.ConvTranspose1d(2, 2, 3).forward(d.zeros([1, 2, 4, 4])), /expected input \[N, C, L\]/);
});

test("ConvTranspose2d.forwardToSize: PyTorch's forward(input, output_size) picks the outputPadding that gives the size", () => {
  const m = new d.ConvTranspose2d(2, 3, 3, { stride: [2, 3], padding: 1, dtype: 'float64', rng: new d.Rng(3) });
  const x = randT([2, 2, 4, 5], 13);
  // least sizes (4 − 1)·2 − 2 + 2 + 1 = 7 and (5 − 1)·3 − 2 + 2 + 1 = 13; at most 7 + 1 and 13 + 2
  for (const [h, w] of [
    [7, 13],
    [8, 15],
    [8, 14],
  ]) {
    const y = m.forwardToSize(x, [h, w]);
    assert.deepEqual(y.shape, [2, 3, h, w]);
    const want = d.convTranspose2d(x, m.weight, m.bias, { ...m.convArgs(), outputPadding: [h - 7, w - 13] });
    assert.deepEqual(Array.from(y.data), Array.from(want.data));
  }
  assert.throws(() => m.forwardToSize(x, [9, 13]), /outputSize 9 \(height\) must lie in \[7, 8\] for an input height of 4/);
  assert.throws(() => m.forwardToSize(x, [8, 12]), /outputSize 12 \(width\) must lie in \[13, 15\] for an input width of 5/);
});
