/**
 * The activation modules: PyTorch's defaults, the first argument alone or an options object,
 * refusals that name the module, the argument and what it expects, and a forward equal to the op's
 * (whose values and gradients test/autograd/activations.test.ts compares with PyTorch's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';

const x = d.fromData([-3, -0.5, 0, 0.5, 25], [5], { dtype: 'float64' });
const same = (a: d.Tensor, b: d.Tensor) => assert.deepEqual(Array.from(a.data), Array.from(b.data));

test("PyTorch's defaults: LeakyReLU 0.01, ELU 1, GELU 'none', Softplus beta 1 and threshold 20", () => {
  const leaky = new d.LeakyReLU(),
    elu = new d.ELU(),
    gelu = new d.GELU(),
    softplus = new d.Softplus();
  assert.equal(leaky.negativeSlope, 0.01);
  assert.equal(elu.alpha, 1);
  assert.equal(gelu.approximate, 'none');
  assert.deepEqual([softplus.beta, softplus.threshold], [1, 20]);
  same(leaky.forward(x), d.leakyRelu(x, 0.01));
  same(elu.forward(x), d.elu(x, 1));
  same(gelu.forward(x), d.gelu(x, 'none'));
  same(new d.SiLU().forward(x), d.silu(x));
  same(softplus.forward(x), d.softplus(x, 1, 20));
  // softplus is the identity past the threshold
  assert.equal(softplus.forward(x).data[4], 25);
  assert.deepEqual(
    [leaky, elu, gelu, new d.SiLU(), softplus].map((m) => m.describe()),
    ['LeakyReLU(negativeSlope=0.01)', 'ELU(alpha=1)', "GELU(approximate='none')", 'SiLU', 'Softplus(beta=1, threshold=20)'],
  );
  assert.deepEqual(leaky.parameters(), [], 'no parameters');
});

test('the first argument alone or as options, as nn.LeakyReLU(0.2) and nn.LeakyReLU(negative_slope=0.2)', () => {
  assert.equal(new d.LeakyReLU(0.2).negativeSlope, 0.2);
  assert.equal(new d.LeakyReLU({ negativeSlope: 0.2 }).negativeSlope, 0.2);
  assert.equal(new d.ELU({ alpha: 0.5 }).alpha, 0.5);
  assert.equal(new d.GELU('tanh').approximate, 'tanh');
  assert.equal(new d.GELU({ approximate: 'tanh' }).approximate, 'tanh');
  const sp = new d.Softplus(2, 10);
  assert.deepEqual([sp.beta, sp.threshold], [2, 10]);
  assert.deepEqual([new d.Softplus({ threshold: 5 }).beta, new d.Softplus({ threshold: 5 }).threshold], [1, 5]);
  same(new d.GELU('tanh').forward(x), d.gelu(x, 'tanh'));
  same(new d.Softplus(2, 10).forward(x), d.softplus(x, 2, 10));
  // negative values, as PyTorch accepts them
  assert.equal(new d.LeakyReLU(-0.5).forward(x).data[0], 1.5);
  assert.equal(new d.ELU(-1).alpha, -1);
  assert.equal(new d.Softplus(-1).beta, -1);
});

test('refusals name the module, the argument, what it expects and what it got', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => new d.LeakyReLU(NaN), /^RangeError: LeakyReLU: negativeSlope must be a finite number, got NaN$/],
    [() => new d.LeakyReLU('0.1' as unknown as number), /^TypeError: LeakyReLU: invalid negativeSlope "0\.1"; expected a number$/],
    [() => new d.ELU(Infinity), /^RangeError: ELU: alpha must be a finite number, got Infinity$/],
    [() => new d.GELU('exact' as d.GeluApproximate), /^RangeError: GELU: approximate must be 'none' or 'tanh', got "exact"$/],
    [
      () => new d.GELU({ approximate: 'tan' as d.GeluApproximate }),
      /^RangeError: GELU: invalid approximate "tan"; expected 'none' or 'tanh'/,
    ],
    [() => new d.Softplus(0), /^RangeError: Softplus: beta must be a finite, non-zero number, got 0$/],
    [() => new d.Softplus(1, NaN), /^RangeError: Softplus: threshold must be a finite number, got NaN$/],
    [
      () => new d.Softplus({ beta: 2, treshold: 5 } as d.SoftplusOptions),
      /^RangeError: Softplus: unknown option "treshold" \(did you mean "threshold"\?\)/,
    ],
    [() => new d.ELU({ alpha: 1, inplace: true } as d.ELUOptions), /^RangeError: ELU: unknown option "inplace"/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: Error) => (assert.match(`${e.name}: ${e.message}`, re), true));
});

test('in a Sequential: a small GELU network trains like any other (its loss falls)', () => {
  const rng = new d.Rng(3);
  const net = new d.Sequential(
    new d.Linear(2, 8, { rng }),
    new d.GELU(),
    new d.Linear(8, 8, { rng }),
    new d.SiLU(),
    new d.Linear(8, 1, { rng }),
  );
  const xs = d.fromData([0, 0, 0, 1, 1, 0, 1, 1], [4, 2]);
  const ys = d.fromData([0, 1, 1, 0], [4, 1]);
  const opt = new d.Adam(net.parameters(), { lr: 0.05 });
  const loss = () => d.mseLoss(net.forward(xs), ys);
  const first = loss().item();
  for (let i = 0; i < 100; i++) {
    opt.zeroGrad();
    loss().backward();
    opt.step();
  }
  assert.ok(loss().item() < first / 10, `loss ${first} → ${loss().item()}`);
});
