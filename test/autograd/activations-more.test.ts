/**
 * hardtanh, relu6, hardsigmoid, hardswish, mish, selu and prelu, and softmax / logSoftmax over a
 * chosen dim through the Softmax / LogSoftmax layers, against PyTorch 1.13 (fixtures from
 * tools/golden_layers2.py) on the reference and wasm backends, float64 and float32: values, the
 * gradients at the kinks as PyTorch defines them, and second derivatives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm, wasmInfo } from '../../src/backend/wasm/index.js';
import { assertClose, gradCheck, randT } from '../helpers.js';

await initWasm({ threads: 2 });
const G = JSON.parse(readFileSync(new URL('../../../test/fixtures/layers2/activations.json', import.meta.url), 'utf8'));

interface Case {
  name: string;
  op: string;
  args: number[];
  dtype: d.DType;
  x: number[];
  xshape: number[];
  y: number[];
  gy: number[];
  gx: number[];
  w?: number[];
  gw?: number[];
}

const unary: Record<string, (x: d.Tensor, ...a: number[]) => d.Tensor> = {
  hardtanh: d.hardtanh,
  relu6: d.relu6,
  hardsigmoid: d.hardsigmoid,
  hardswish: d.hardswish,
  mish: d.mish,
  selu: d.selu,
  softmax: (x, dim) => new d.Softmax(dim).forward(x),
  logSoftmax: (x, dim) => new d.LogSoftmax(dim).forward(x),
};

test('the activations equal PyTorch: values and gradients, kinks included (reference and wasm, float64 and float32)', () => {
  const cases = G.cases as Case[];
  assert.ok(cases.length >= 24);
  try {
    for (const backend of ['reference', 'wasm']) {
      d.setBackend(backend);
      for (const c of cases) {
        const what = `${backend} ${c.name} ${c.dtype}`;
        // float64: JavaScript's exp, log1p and tanh against the C library's, a few ulps apart
        const tol = c.dtype === 'float64' ? 1e-14 : 2e-7;
        const x = d.fromData(c.x, c.xshape, { dtype: c.dtype, requiresGrad: true });
        const w = c.w ? d.fromData(c.w, [c.w.length], { dtype: c.dtype, requiresGrad: true }) : null;
        const y = w ? d.prelu(x, w) : unary[c.op](x, ...c.args);
        assert.equal(y.dtype, c.dtype);
        assertClose(y.data, c.y, tol, `${what} y`);
        d.backward(y, { gradient: d.fromData(c.gy, c.xshape, { dtype: c.dtype }) });
        assertClose(x.grad!.data, c.gx, tol, `${what} gx`);
        if (w) assertClose(w.grad!.data, c.gw!, c.dtype === 'float64' ? 1e-13 : 1e-5, `${what} gw`);
      }
    }
  } finally {
    d.setBackend('wasm');
  }
});

test("the kinks' gradients are PyTorch's: hardswish −½ at −3 and 1 at 3 (the vectorised kernel's), hardtanh and relu6 0 on their bounds, hardsigmoid 0 at ±3", () => {
  const x = d.fromData([-3, 3, -1, 1, 0, 6], [6], { dtype: 'float64', requiresGrad: true });
  const gradOf = (f: (t: d.Tensor) => d.Tensor) => Array.from(d.grad([d.sum(f(x))], [x])[0]!.data);
  assert.deepEqual(gradOf(d.hardswish).slice(0, 2), [-0.5, 1]);
  assert.deepEqual(gradOf(d.hardsigmoid).slice(0, 2), [0, 0]);
  assert.deepEqual(gradOf((t) => d.hardtanh(t)).slice(2, 4), [0, 0]);
  assert.deepEqual(gradOf(d.relu6).slice(4, 6), [0, 0]);
  // and the fixture holds the same points: PyTorch agrees
  const hs = (G.cases as Case[]).find((c) => c.name === 'hardswish' && c.dtype === 'float64')!;
  assert.equal(hs.gx[hs.x.indexOf(-3)] / hs.gy[hs.x.indexOf(-3)], -0.5);
  assert.equal(hs.gx[hs.x.indexOf(3)] / hs.gy[hs.x.indexOf(3)], 1);
});

test('NaN and ±∞ give what PyTorch gives: a NaN input stays NaN through the clipping ones (reference and wasm, float64 and float32)', () => {
  const num = (v: number | string) => (typeof v === 'number' ? v : Number(v));
  const cases = G.nonfinite as { name: string; op: string; args: number[]; x: string[]; y: (number | string)[]; gx: (number | string)[] }[];
  assert.equal(cases.length, 7);
  try {
    for (const backend of ['reference', 'wasm'])
      for (const dtype of ['float64', 'float32'] as const) {
        d.setBackend(backend);
        for (const c of cases) {
          const x = d.fromData(c.x.map(num), [3], { dtype, requiresGrad: true });
          const y = unary[c.op](x, ...c.args);
          const [gx] = d.grad([d.sum(y)], [x]);
          const what = `${backend} ${dtype} ${c.name}`;
          assert.deepEqual(
            Array.from(y.data),
            c.y.map((v) => (dtype === 'float32' ? Math.fround(num(v)) : num(v))),
            `${what} y`,
          );
          assert.deepEqual(
            Array.from(gx!.data),
            c.gx.map((v) => (dtype === 'float32' ? Math.fround(num(v)) : num(v))),
            `${what} gx`,
          );
        }
      }
  } finally {
    d.setBackend('wasm');
  }
});

test('mish is finite and exact far out: x at +1000, −0 at −1000, gradients 1 and 0', () => {
  const x = d.fromData([1000, -1000, 1e5, -1e5], [4], { dtype: 'float64', requiresGrad: true });
  const y = d.mish(x);
  assert.deepEqual(Array.from(y.data), [1000, -0, 1e5, -0]);
  assert.deepEqual(Array.from(d.grad([d.sum(y)], [x])[0]!.data), [1, 0, 1, 0]);
});

test('second derivatives equal PyTorch (createGraph), and central differences for prelu and hardsigmoid', () => {
  for (const c of G.second as { name: string; op: string; args: number[]; x: number[]; gy: number[]; v: number[]; ggx: number[] }[]) {
    const x = d.fromData(c.x, [c.x.length], { dtype: 'float64', requiresGrad: true });
    const y = unary[c.op](x, ...c.args);
    const [g1] = d.grad([y], [x], { gradOutputs: [d.fromData(c.gy, [c.gy.length], { dtype: 'float64' })], createGraph: true });
    // a piecewise-linear f′ is constant: its gradient is no graph, PyTorch's zeros
    const gg = g1!.requiresGrad ? d.grad([d.sum(d.mul(g1!, d.fromData(c.v, [c.v.length], { dtype: 'float64' })))], [x])[0] : null;
    assertClose(gg ? gg.data : new Float64Array(c.x.length), c.ggx, 1e-12, `${c.name} ggx`);
  }
  assert.ok((G.second as unknown[]).length >= 6);
  const x = randT([2, 3, 4], 5, -2, 2);
  const w = d.fromData([0.1, -0.3, 2], [3], { dtype: 'float64', requiresGrad: true });
  gradCheck((a, b) => d.prelu(a, b), [x, w]);
  gradCheck((a) => d.hardsigmoid(a), [randT([12], 6, -2.5, 2.5)]);
});

test('mish, hardswish, hardsigmoid, selu, hardtanh and relu6 run one wasm kernel each way, equal to the reference backend on float32 tensors past the small-tensor cut', () => {
  // 4,099 values: the SIMD loop and its scalar tail; the kinks, Mish's switch at 20, NaN and ±∞ among them
  const n = 4099;
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) xs[i] = -25 + (50 * ((i * 2654435761) % 4096)) / 4096;
  xs.set([-3, 3, 0, -0, 6, -6, 20, Math.fround(20.000002), Math.fround(19.999998), Number.NaN, Infinity, -Infinity, -90, 90]);
  xs.set([-3, 3, Number.NaN, Infinity, -Infinity], n - 5);
  const gys = Float32Array.from(xs, (_, i) => 0.5 + ((i * 7) % 13) / 13);
  const ops: [string, string, (t: d.Tensor) => d.Tensor][] = [
    ['mish', 'mish', d.mish],
    ['hardswish', 'hardswish', d.hardswish],
    ['hardsigmoid', 'hardsigmoid', d.hardsigmoid],
    ['selu', 'selu', d.selu],
    ['hardtanh(-2, 2.5)', 'hardtanh', (t) => d.hardtanh(t, -2, 2.5)],
    ['relu6', 'hardtanh', d.relu6],
  ];
  const run = (f: (t: d.Tensor) => d.Tensor) => {
    const x = d.fromData(xs, [n], { requiresGrad: true });
    const y = f(x);
    d.backward(y, { gradient: d.fromData(gys, [n]) });
    return [y.data, x.grad!.data];
  };
  const wasm = d.backend();
  const unary = wasm.unary;
  try {
    for (const [name, kernel, f] of ops) {
      d.setBackend('reference');
      const [yr, gr] = run(f);
      d.setBackend('wasm');
      const called: string[] = [];
      wasm.unary = (op, a, out, p) => {
        called.push(op);
        unary.call(wasm, op, a, out, p);
      };
      const copied = wasmInfo().copiedBytes;
      const [yw, gw] = run(f);
      wasm.unary = unary;
      assert.deepEqual(called, [kernel, `${kernel}Deriv`], `${name}: one kernel forward, one backward`);
      assert.ok(wasmInfo().copiedBytes - copied >= 2 * n * 4, `${name}: the kernels ran in wasm memory`);
      for (const [what, a, e] of [
        ['y', yw, yr],
        ['gx', gw, gr],
      ] as const) {
        const odd = (v: ArrayLike<number>) => Array.from(v, (t, i) => `${i}:${t}`).filter((_, i) => !Number.isFinite(v[i]));
        assert.deepEqual(odd(a), odd(e), `${name} ${what}: NaN and ±∞ where the reference has them`);
        const keep = (v: ArrayLike<number>) => Array.from(v, (t) => (Number.isFinite(t) ? t : 0));
        // the reference rounds f′ once and then g·f′, float32 kernels each step (x/3 + ½: two), so
        // a few ulps apart; mish's rational form of tanh(log1p(eˣ)) a few more
        assertClose(keep(a), keep(e), name === 'mish' ? 5e-7 : 3e-7, `${name} ${what}`);
      }
    }
  } finally {
    wasm.unary = unary;
    d.setBackend('wasm');
  }
});

test('prelu: one slope or one per channel (dim 1); a 1-D input has one channel; errors name the sizes', () => {
  const x = d.fromData([-1, 2, -3, 4, -5, 6], [1, 3, 2], { dtype: 'float64' });
  assert.deepEqual(Array.from(d.prelu(x, d.fromData([0.5], [1], { dtype: 'float64' })).data), [-0.5, 2, -1.5, 4, -2.5, 6]);
  assert.deepEqual(Array.from(d.prelu(x, d.fromData([1, 2, 3], [3], { dtype: 'float64' })).data), [-1, 2, -6, 4, -15, 6]);
  assert.throws(
    () => d.prelu(d.zeros([3], { dtype: 'float64' }), d.fromData([1, 2, 3], [3], { dtype: 'float64' })),
    /prelu: weight has 3 values, expected 1 or the 1 channel of x \[3\] \(dim 1\)/,
  );
  assert.throws(() => d.prelu(x, d.zeros([2], { dtype: 'float64' })), /weight has 2 values, expected 1 or the 3 channels of x \[1, 3, 2\]/);
  assert.throws(() => d.prelu(x, d.zeros([3])), /prelu: weight is float32, expected float64 like x/);
  assert.throws(() => d.hardtanh(x, 2, 1), /hardtanh: min \(2\) must be ≤ max \(1\)/);
});
