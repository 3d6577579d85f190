/**
 * The activations on WebGPU (run by `npm run test:webgpu` on lavapipe): through autograd on
 * 'webgpu' tensors, values and gradients equal PyTorch's float32 ones (the fixtures of
 * test/autograd/activations.test.ts, special values included), computed by the device's own
 * kernels with no read back to the host; and each kernel equals the reference backend on
 * special values and on an array crossing many workgroups.
 *
 * Tolerance 2e-6 scaled by 1 + |expected| (the wasm and reference backends meet 1e-6): WGSL's exp,
 * log and division are less exact than the CPU's. NaN must be NaN and an infinity the same infinity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { UnaryOp } from '../../../src/backend/backend.js';
import { referenceBackend as R } from '../../../src/backend/reference.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { K, close, down, next, up, zeros } from './helpers.js';

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
const num = (v: Num): number => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);
type Op = 'leakyRelu' | 'elu' | 'gelu' | 'silu' | 'softplus' | 'erf';
interface Case {
  name: string;
  op: Op;
  args: (number | string)[];
  dtype: 'float32' | 'float64';
  x: Num[];
  y: Num[];
  gy: Num[];
  gx: Num[];
}
const golden: { cases: Case[] } = JSON.parse(
  readFileSync(new URL('../../../../test/fixtures/activations/activations.json', import.meta.url), 'utf8'),
);

const OPS: Record<Op, (x: d.Tensor, args: (number | string)[]) => d.Tensor> = {
  leakyRelu: (x, a) => d.leakyRelu(x, ...(a as [number?])),
  elu: (x, a) => d.elu(x, ...(a as [number?])),
  gelu: (x, a) => d.gelu(x, ...(a as [d.GeluApproximate?])),
  silu: (x) => d.silu(x),
  softplus: (x, a) => d.softplus(x, ...(a as [number?, number?])),
  erf: (x) => d.erf(x),
};
/** The kernels each case runs: its forward and the derivative of its backward (erf's backward is composed of exp and products). */
function kernels(c: Case): string[] {
  const f = c.op === 'gelu' && c.args[0] === 'tanh' ? 'geluTanh' : c.op;
  return c.op === 'erf' ? ['unary.erf'] : [`unary.${f}`, `unary.${f}Deriv`];
}

const TOL = 2e-6;

test("values and gradients of 'webgpu' tensors equal PyTorch's float32 ones, special values included, on the device's kernels", async () => {
  for (const c of golden.cases.filter((k) => k.dtype === 'float32')) {
    const n = c.x.length;
    const x = await d.fromData(c.x.map(num), [n], { requiresGrad: true }).to('webgpu');
    const gy = await d.fromData(c.gy.map(num), [n]).to('webgpu');
    const before = webgpuInfo();
    const y = OPS[c.op](x, c.args);
    d.sum(d.mul(y, gy)).backward();
    const after = webgpuInfo();
    assert.equal(after.reads, before.reads, `${c.name}: nothing is read back to the host`);
    for (const k of kernels(c))
      assert.ok(
        (after.kernels[k] ?? 0) > (before.kernels[k] ?? 0),
        `${c.name}: ${k} runs on the device (${JSON.stringify(after.kernels)})`,
      );
    close(`${c.name} value`, (await y.to('cpu')).data, c.y.map(num), TOL);
    close(`${c.name} gradient`, (await x.grad!.to('cpu')).data, c.gx.map(num), TOL);
  }
});

// each activation kernel with the scalars of a PyTorch call, negative ones included
const KERNELS: [UnaryOp, number[]][] = [
  ['erf', []],
  ['gelu', []],
  ['geluDeriv', []],
  ['geluTanh', []],
  ['geluTanhDeriv', []],
  ['silu', []],
  ['siluDeriv', []],
  ['leakyRelu', [0.01]],
  ['leakyReluDeriv', [0.01]],
  ['leakyRelu', [-0.5]],
  ['leakyReluDeriv', [-0.5]],
  ['elu', [1]],
  ['eluDeriv', [1]],
  ['elu', [-0.7]],
  ['eluDeriv', [-0.7]],
  ['softplus', [1, 20]],
  ['softplusDeriv', [1, 20]],
  ['softplus', [2, 3]],
  ['softplusDeriv', [2, 3]],
  ['softplus', [-1, 20]],
  ['softplusDeriv', [-1, 20]],
  ['mish', []],
  ['mishDeriv', []],
  ['hardswish', []],
  ['hardswishDeriv', []],
  ['hardsigmoid', []],
  ['hardsigmoidDeriv', []],
  ['selu', [1.6732632423543772 * 1.0507009873554805, 1.0507009873554805]],
  ['seluDeriv', [1.6732632423543772 * 1.0507009873554805, 1.0507009873554805]],
  ['hardtanh', [-1, 1]],
  ['hardtanhDeriv', [-1, 1]],
  ['hardtanh', [0, 6]],
  ['hardtanhDeriv', [0, 6]],
];

test('each activation kernel equals the reference: ±0, tiny and huge values, ±∞, NaN, and 70,001 values over many workgroups', async () => {
  const special = [0, -0, 1e-30, -1e-30, 1, -1, 3, -3, 4, -4, 6, 20, -20, 100, -100, 1e30, -1e30, Infinity, -Infinity, NaN];
  for (const n of [special.length, 70001]) {
    const a = Float32Array.from({ length: n }, (_, i) => (i < special.length ? special[i] : (next() * 2 - 1) * 12));
    for (const [op, p] of KERNELS) {
      const want = new Float32Array(n);
      R.unary(op, a, want, p);
      const out = zeros(n);
      K.unary(op, up(a), out, p);
      close(`unary.${op}(${p})`, await down(out), want, TOL, ` n=${n}`);
    }
  }
});
