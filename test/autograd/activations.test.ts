/**
 * The activations equal PyTorch's (fixtures from tools/golden_activations.py, PyTorch 1.13): values
 * and gradients of leakyRelu, elu, gelu (both forms), silu, softplus and erf, in float32 and
 * float64, on the reference and the wasm backend, at zeros of both signs, tiny and huge inputs, the
 * points where the formulas switch, ±∞ and NaN; and their second derivatives (createGraph) too.
 *
 * Tolerances, scaled by 1 + |expected|: float64 1e-14; float32 1e-6, since PyTorch's float32 GELU
 * takes erf from a vectorised approximation accurate to about 1.5e-7. NaN must be NaN and an
 * infinity the same infinity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initWasm } from '../../src/backend/wasm/index.js';
import { SMALL_ELEMENTWISE } from '../../src/backend/wasm/context.js';
import * as d from '../../src/index.js';
import { gradCheck, randT } from '../helpers.js';

await initWasm({ threads: 2 });

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
const num = (v: Num): number => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);
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
interface Second {
  name: string;
  op: Op;
  args: (number | string)[];
  x: Num[];
  gy: Num[];
  w: Num[];
  ggx: Num[];
}
type Op = 'leakyRelu' | 'elu' | 'gelu' | 'silu' | 'softplus' | 'erf';
const golden: { cases: Case[]; second: Second[] } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/activations/activations.json', import.meta.url), 'utf8'),
);

const OPS: Record<Op, (x: d.Tensor, args: (number | string)[]) => d.Tensor> = {
  leakyRelu: (x, a) => d.leakyRelu(x, ...(a as [number?])),
  elu: (x, a) => d.elu(x, ...(a as [number?])),
  gelu: (x, a) => d.gelu(x, ...(a as [d.GeluApproximate?])),
  silu: (x) => d.silu(x),
  softplus: (x, a) => d.softplus(x, ...(a as [number?, number?])),
  erf: (x) => d.erf(x),
};

/** got ≈ want: |got − want| ≤ tol·(1 + |want|); NaN only against NaN, an infinity only against itself. */
function close(got: ArrayLike<number>, want: readonly number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i],
      w = want[i];
    if (!Number.isFinite(w)) {
      assert.ok(g === w || (Number.isNaN(g) && Number.isNaN(w)), `${what}[${i}]: got ${g}, expected ${w}`);
      continue;
    }
    if (!(Math.abs(g - w) <= tol * (1 + Math.abs(w)))) assert.fail(`${what}[${i}]: got ${g}, expected ${w} (|diff| ${Math.abs(g - w)})`);
  }
}

/** `values` repeated to `n` (past the wasm kernels' small-array threshold, with a tail after the vector lanes). */
const tile = (values: readonly number[], n: number) => Array.from({ length: n }, (_, i) => values[i % values.length]);

const TOL = { float32: 1e-6, float64: 1e-14 };

for (const backend of ['reference', 'wasm'] as const) {
  test(`values and gradients equal PyTorch's, float32 and float64, special values included (${backend})`, () => {
    d.setBackend(backend);
    try {
      for (const c of golden.cases) {
        // on wasm, float32 arrays long enough for its kernels (float64 runs on the reference kernels there)
        const n = backend === 'wasm' && c.dtype === 'float32' ? 2 * SMALL_ELEMENTWISE + 3 : c.x.length;
        const [xs, y, gy, gx] = [c.x, c.y, c.gy, c.gx].map((v) => tile(v.map(num), n));
        const x = d.fromData(xs, [n], { dtype: c.dtype, requiresGrad: true });
        const out = OPS[c.op](x, c.args);
        assert.equal(out.dtype, c.dtype);
        close(out.data, y, TOL[c.dtype], `${c.name} on ${backend}: value`);
        d.sum(d.mul(out, d.fromData(gy, [n], { dtype: c.dtype }))).backward();
        close(x.grad!.data, gx, TOL[c.dtype], `${c.name} on ${backend}: gradient`);
      }
    } finally {
      d.setBackend('wasm');
    }
  });
}

test("second derivatives (createGraph) equal PyTorch's double backward", () => {
  d.setBackend('reference');
  try {
    for (const c of golden.second) {
      const n = c.x.length;
      const x = d.fromData(c.x.map(num), [n], { dtype: 'float64', requiresGrad: true });
      const [g1] = d.grad(d.sum(d.mul(OPS[c.op](x, c.args), d.fromData(c.gy.map(num), [n], { dtype: 'float64' }))), [x], {
        createGraph: true,
      });
      const w = d.fromData(c.w.map(num), [n], { dtype: 'float64' });
      // leakyRelu's gradient is a constant mask times the output gradient: no graph, f″ = 0 as in PyTorch
      const gg = g1!.requiresGrad ? d.grad(d.sum(d.mul(g1!, w)), [x])[0]!.data : new Float64Array(n);
      close(gg, c.ggx.map(num), 1e-11, `${c.name}: second derivative`);
    }
  } finally {
    d.setBackend('wasm');
  }
});

test('gradients and gradients of gradients agree with central differences in float64, away from the kinks', () => {
  d.setBackend('reference');
  try {
    const unary: [string, (x: d.Tensor) => d.Tensor, boolean][] = [
      ['elu', (x) => d.elu(x, 0.7), true],
      ['gelu', (x) => d.gelu(x), true],
      ['gelu tanh', (x) => d.gelu(x, 'tanh'), true],
      ['silu', (x) => d.silu(x), true],
      ['softplus', (x) => d.softplus(x, 1.5, 3), true],
      ['erf', (x) => d.erf(x), true],
      // piecewise linear: its gradient is a constant mask times the output gradient (f″ = 0)
      ['leakyRelu', (x) => d.leakyRelu(x, 0.3), false],
    ];
    for (const [, f, curved] of unary) {
      // points at least 0.02 from 0 and from softplus's threshold (x = 2)
      const x = randT([12], 7, -3, 3);
      for (let i = 0; i < x.size; i++) if (Math.abs(x.data[i]) < 0.02 || Math.abs(x.data[i] - 2) < 0.02) x.data[i] += 0.05;
      gradCheck(f, [x], 1e-7);
      if (!curved) continue;
      // the gradient as a function of x, weighted: its own gradient is the second derivative
      const gy = randT([12], 8);
      gy.requiresGrad = false;
      gradCheck((t) => d.grad(d.sum(d.mul(f(t), gy)), [t], { createGraph: true })[0]!, [x], 1e-6);
    }
  } finally {
    d.setBackend('wasm');
  }
});

test('the scalars: PyTorch accepts negative slopes, alphas and betas; NaN, ±∞, beta = 0 and a wrong approximate are refused by name', () => {
  const x = d.fromData([-2, 3], [2], { dtype: 'float64' });
  assert.deepEqual(Array.from(d.leakyRelu(x, -0.5).data), [1, 3]);
  assert.deepEqual(Array.from(d.leakyRelu(x).data), [-0.02, 3]);
  assert.ok(Math.abs(d.elu(x, -1).data[0] - (1 - Math.exp(-2))) < 1e-15);
  assert.ok(Math.abs(d.softplus(x, -1).data[1] + Math.log1p(Math.exp(-3))) < 1e-15);
  assert.throws(() => d.leakyRelu(x, NaN), /^RangeError: leakyRelu: negativeSlope must be a finite number, got NaN$/);
  assert.throws(() => d.elu(x, Infinity), /^RangeError: elu: alpha must be a finite number, got Infinity$/);
  assert.throws(() => d.softplus(x, 0), /^RangeError: softplus: beta must be a finite, non-zero number, got 0$/);
  assert.throws(() => d.softplus(x, 1, -Infinity), /^RangeError: softplus: threshold must be a finite number, got -Infinity$/);
  assert.throws(() => d.elu(x, '1' as unknown as number), /^TypeError: elu: invalid alpha "1"; expected a number$/);
  assert.throws(() => d.gelu(x, 'exact' as d.GeluApproximate), /^RangeError: gelu: approximate must be 'none' or 'tanh', got "exact"$/);
});
