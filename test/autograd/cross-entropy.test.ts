/**
 * crossEntropy (src/autograd/cross-entropy.ts): values and gradients against PyTorch 1.13 with class
 * weights and label smoothing (fixtures from tools/golden_cross_entropy.py) on the reference and
 * wasm backends, float32 and float64, through the op, CrossEntropyLoss and crossEntropyWith; the
 * weighted mean's divisor; first and second derivatives by central differences; the options' errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { gradCheck, randT, assertClose } from '../helpers.js';

await initWasm({ threads: 2 });
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/loss/cross_entropy.json', import.meta.url), 'utf8'));

interface Case {
  weighted: boolean;
  labelSmoothing: number;
  reduction: d.Reduction;
  y: number[];
  gy: number[];
  gx: number[];
}
interface Batch {
  shape: [number, number];
  dtype: d.DType;
  x: number[];
  t: number[];
  weight: number[];
  cases: Case[];
}

test('crossEntropy with weight and labelSmoothing equals PyTorch: loss and gradient, every reduction (reference and wasm, float32 and float64; the op, CrossEntropyLoss, crossEntropyWith, the recorded backward)', () => {
  const batches = F.batches as Batch[];
  assert.ok(batches.length >= 8 && batches.every((b) => b.cases.length === 18));
  try {
    for (const backend of ['reference', 'wasm']) {
      d.setBackend(backend);
      for (const b of batches) {
        const tol = b.dtype === 'float64' ? 1e-12 : 2e-6;
        for (const c of b.cases) {
          const opts: d.CrossEntropyOptions = {
            reduction: c.reduction,
            labelSmoothing: c.labelSmoothing,
            weight: c.weighted ? (b.dtype === 'float64' ? b.weight : Float32Array.from(b.weight)) : undefined,
          };
          const what = `${backend} [${b.shape}] ${b.dtype} ${JSON.stringify({ ...opts, weight: c.weighted })}`;
          const losses = [
            (x: d.Tensor) => d.crossEntropy(x, b.t, opts),
            (x: d.Tensor) => new d.CrossEntropyLoss(opts).forward(x, d.tensor(b.t)),
            d.crossEntropyWith(opts),
          ];
          for (const [k, loss] of losses.entries()) {
            const x = d.fromData(b.x, b.shape, { dtype: b.dtype, requiresGrad: true });
            const y = loss(x, b.t);
            assert.deepEqual(y.shape, c.reduction === 'none' ? [b.shape[0]] : [], `${what}: shape`);
            assertClose(y.data, c.y, tol, `${what} (${k}) y`);
            const gy = d.fromData(c.gy, y.shape, { dtype: b.dtype });
            assertClose(d.grad([y], [x], { gradOutputs: [gy] })[0]!.data, c.gx, tol, `${what} (${k}) gx`);
            if (k === 0) {
              const recorded = d.grad([loss(x, b.t)], [x], { gradOutputs: [gy], createGraph: true })[0]!;
              assert.ok(recorded.requiresGrad);
              assertClose(recorded.data, c.gx, tol, `${what} recorded gx`);
            }
          }
        }
      }
    }
  } finally {
    d.setBackend('wasm');
  }
});

test('the weighted mean divides by Σ weight[target], not by N (PyTorch; hand-written versions often divide by N)', () => {
  // uniform logits: log softmax = −ln 2 everywhere, so row i's loss is ln 2 · Σ_c qᵢ[c] = ln 2 · sᵢ
  const x = d.zeros([3, 2], { dtype: 'float64', requiresGrad: true });
  const t = [0, 1, 1];
  const weight = [1, 3];
  // rows weigh w[t] = 1, 3, 3: Σ = 7 ln 2, divided by Σ w[t] = 7 (not by N = 3, which gives 7/3 ln 2)
  assertClose(d.crossEntropy(x, t, { weight }).item(), Math.LN2, 1e-15, 'mean');
  assertClose(d.crossEntropy(x, t, { weight, reduction: 'sum' }).item(), 7 * Math.LN2, 1e-15, 'sum');
  assertClose(
    d.crossEntropy(x, t, { weight, reduction: 'none' }).data,
    [1, 3, 3].map((v) => v * Math.LN2),
    1e-15,
    'none',
  );
  // ε = 0.2: sᵢ = 0.8·w[tᵢ] + (0.2/2)·(1 + 3) = 1.2, 2.8, 2.8; the smoothing term shares the divisor 7
  assertClose(d.crossEntropy(x, t, { weight, labelSmoothing: 0.2 }).item(), (6.8 / 7) * Math.LN2, 1e-15, 'smoothed mean');
  // its gradient (s·softmax − q)/7, row 0: s = 1.2, q = (0.8·1 + 0.1·1, 0.1·3) = (0.9, 0.3): (0.6 − 0.9, 0.6 − 0.3)/7
  const g = d.grad([d.crossEntropy(x, t, { weight, labelSmoothing: 0.2 })], [x])[0]!;
  assertClose(Array.from(g.data).slice(0, 2), [-0.3 / 7, 0.3 / 7], 1e-15, 'gradient row 0');
  // the targets' weights all 0: no mean (PyTorch's 0/0 is nan), even where smoothing leaves a sum
  assert.ok(Number.isNaN(d.crossEntropy(x, [0, 0, 0], { weight: [0, 1] }).item()));
  assert.ok(Number.isNaN(d.crossEntropy(x, [0, 0, 0], { weight: [0, 1], labelSmoothing: 0.5 }).item()));
});

test('crossEntropy with options: first and second derivatives match central differences; no options and zero smoothing give the plain op to the bit', () => {
  const t = [0, 4, 2, 4];
  const weight = [0.5, 2, 0, 1, 1.5];
  for (const reduction of ['mean', 'sum', 'none'] as const)
    for (const opts of [{ labelSmoothing: 0.3 }, { weight }, { weight, labelSmoothing: 0.1 }] as d.CrossEntropyOptions[]) {
      gradCheck((a) => d.crossEntropy(a, t, { ...opts, reduction }), [randT([4, 5], 41)]);
      // the recorded backward differentiates again: Hessian-vector products for Newton's method
      gradCheck(
        (a) => d.sum(d.square(d.grad([d.sum(d.crossEntropy(a, t, { ...opts, reduction }))], [a], { createGraph: true })[0]!)),
        [randT([4, 5], 42)],
      );
    }
  const x = randT([4, 5], 43);
  const plain = d.crossEntropy(x, t);
  const gPlain = d.grad([plain], [x])[0]!;
  for (const opts of [{}, { labelSmoothing: 0 }, { reduction: 'mean' }] as d.CrossEntropyOptions[]) {
    const y = d.crossEntropy(x, t, opts);
    assert.equal(y.item(), plain.item());
    assert.deepEqual(Array.from(d.grad([y], [x])[0]!.data), Array.from(gPlain.data));
  }
});

test('crossEntropy options are checked: a misspelt name, ε outside [0, 1], weights of the wrong length or not finite and ≥ 0', () => {
  const x = randT([2, 3], 1);
  assert.throws(
    () => d.crossEntropy(x, [0, 1], { label_smoothing: 0.1 } as never),
    /^RangeError: CrossEntropyLoss: unknown option "label_smoothing" \(did you mean "labelSmoothing"\?\)/,
  );
  assert.throws(() => new d.CrossEntropyLoss({ weights: [1, 2, 3] } as never), /unknown option "weights" \(did you mean "weight"\?\)/);
  assert.throws(
    () => d.crossEntropyWith({ reduction: 'avg' as never }),
    /^RangeError: CrossEntropyLoss: invalid reduction "avg"; expected 'mean', 'sum' or 'none'/,
  );
  for (const e of [-0.1, 1.5, NaN])
    assert.throws(
      () => d.crossEntropy(x, [0, 1], { labelSmoothing: e }),
      new RegExp(`^RangeError: CrossEntropyLoss: invalid labelSmoothing ${e}; expected in \\[0, 1\\]$`),
    );
  assert.equal(d.crossEntropy(x, [0, 1], { labelSmoothing: 1 }).item() > 0, true);
  assert.throws(
    () => d.crossEntropy(x, [0, 1], { weight: [1, 2] }),
    /^ShapeError: CrossEntropyLoss: weight has 2 values, expected 3, one per class of logits \[2, 3\]$/,
  );
  assert.throws(
    () => d.crossEntropy(x, [0, 1], { weight: [1, -1, 1] }),
    /^RangeError: CrossEntropyLoss: invalid weight\[1\] -1; expected a finite number ≥ 0$/,
  );
  assert.throws(() => d.crossEntropy(x, [0, 1], { weight: [1, 1, Infinity] }), /invalid weight\[2\] Infinity/);
  assert.throws(() => d.crossEntropy(x, [0, 1], { weight: [1, '2', 1] as never }), /invalid weight\[1\] 2; expected a finite number ≥ 0/);
  assert.throws(
    () => d.crossEntropy(x, [0, 1], { weight: 2 as never }),
    /^TypeError: CrossEntropyLoss: invalid weight 2; expected one number per class/,
  );
  assert.throws(
    () => d.crossEntropy(x, [0, 1], { weight: d.ones([1, 3]) }),
    /^ShapeError: CrossEntropyLoss: weight must be one number per class, a Tensor \[C\]; got \[1, 3\]$/,
  );
  // the forms a weight takes: an array, typed arrays, a Tensor; CrossEntropyLoss keeps a copy
  const w = [0.5, 1, 2];
  const want = d.crossEntropy(x, [0, 1], { weight: w }).item();
  for (const weight of [Float64Array.from(w), Float32Array.from(w), d.tensor(w, { dtype: 'float64' })])
    assert.equal(d.crossEntropy(x, [0, 1], { weight }).item(), want);
  const loss = new d.CrossEntropyLoss({ weight: w, labelSmoothing: 0.1 });
  w[0] = 100;
  assert.deepEqual([loss.reduction, loss.labelSmoothing, Array.from(loss.weight!)], ['mean', 0.1, [0.5, 1, 2]]);
  assert.deepEqual([new d.CrossEntropyLoss('sum').weight, new d.CrossEntropyLoss().labelSmoothing], [null, 0]);
});

test('fit and evaluate take crossEntropyWith(...) as their loss: the test loss is the same criterion as the training loss', () => {
  const rng = new d.Rng(3);
  const x = d.randn([32, 4], rng.fork('x'));
  const y = Int32Array.from({ length: 32 }, (_, i) => i % 3);
  const data = new d.TensorDataset(x, y);
  const loader = new d.DataLoader(data, { batchSize: 8 });
  const model = new d.Linear(4, 3, { rng: rng.fork('init') });
  const smoothed = d.crossEntropyWith({ labelSmoothing: 0.3, weight: [1, 2, 0.5] });
  const records = d.fit({
    model,
    optimizer: new d.SGD(model.parameters(), { lr: 0.1 }),
    train: loader,
    test: loader,
    epochs: 1,
    loss: smoothed,
    rng,
  });
  assertClose(records[0].testLoss!, d.evaluate(model, loader, smoothed).testLoss, 1e-12, 'fit test loss');
  assert.notEqual(d.evaluate(model, loader).testLoss, records[0].testLoss);
});
test('fused cross-entropy: every reduction matches central differences, the recorded backward agrees, bad targets are named', () => {
  const targets = [0, 4, 2, 4];
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    gradCheck((a) => d.crossEntropy(a, targets, reduction), [randT([4, 5], 31)]);
    // the value: −log softmax at the target, from the definition
    const x = randT([4, 5], 32);
    const want = targets.map((t, i) => {
      const row = Array.from(x.data.slice(i * 5, i * 5 + 5));
      const m = Math.max(...row);
      return -(row[t] - m - Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)));
    });
    const got = d.crossEntropy(x, targets, reduction);
    const agg = reduction === 'none' ? want : reduction === 'sum' ? want.reduce((a, b) => a + b) : want.reduce((a, b) => a + b) / 4;
    assertClose(got.data, typeof agg === 'number' ? [agg] : agg, 1e-12, `crossEntropy ${reduction}`);
    // the one-pass backward equals the one written in differentiable ops (createGraph)
    const w = randT(reduction === 'none' ? [4] : [], 33);
    const plain = d.grad([d.crossEntropy(x, targets, reduction)], [x], { gradOutputs: [w] })[0]!;
    const recorded = d.grad([d.crossEntropy(x, targets, reduction)], [x], { gradOutputs: [w], createGraph: true })[0]!;
    assert.ok(recorded.requiresGrad, 'createGraph recorded the gradient');
    assertClose(plain.data, recorded.data, 1e-12, `plain vs recorded backward (${reduction})`);
  }
  assert.throws(() => d.crossEntropy(randT([2, 3], 1), [0, 3]), /target 1 is 3, expected an integer class in \[0, 2\]/);
  assert.throws(() => d.crossEntropy(randT([2, 3], 1), [0]), /CrossEntropyLoss: 2 logits rows but 1 targets/);
});

test('crossEntropy keeps log s beside a row maximum far larger than it', () => {
  // torch 1.13: cross_entropy([[1e17, 1e17]] float64, [0]) = 0.6931471805599453 (ln 2)
  assert.equal(d.crossEntropy(d.tensor([[1e17, 1e17]], { dtype: 'float64' }), [0]).item(), Math.LN2);
  assert.equal(d.crossEntropy(d.tensor([[3e7, 3e7]]), [1]).item(), Math.fround(Math.LN2));
});

test('crossEntropy takes a Tensor of class indices (as torch does); other targets are named', () => {
  const x = d.tensor(
    [
      [0.5, -1, 2],
      [1, 0, -0.5],
    ],
    { dtype: 'float64' },
  );
  // torch 1.13: cross_entropy(x, tensor([1, 0])) = 1.8528400403825511
  assertClose([d.crossEntropy(x, d.tensor([1, 0])).item()], [1.8528400403825511], 1e-15, 'Tensor targets');
  assert.equal(new d.CrossEntropyLoss('sum').forward(x, d.tensor([1, 0])).item(), d.crossEntropy(x, [1, 0], 'sum').item());
  assert.throws(
    () => d.crossEntropy(x, d.tensor([[1], [0]])),
    /^ShapeError: CrossEntropyLoss: targets must be 2 class indices, a Tensor of shape \[2\]; got \[2, 1\]$/,
  );
  assert.throws(() => d.crossEntropy(x, d.tensor([1, 0, 2])), /^ShapeError: CrossEntropyLoss: 2 logits rows but 3 targets$/);
  assert.throws(() => d.crossEntropy(x, d.tensor([0.5, 0])), /target 0 is 0\.5, expected an integer class in \[0, 2\]/);
  assert.throws(
    () => d.crossEntropy(x, 1 as never),
    /^TypeError: CrossEntropyLoss: targets must be class indices \(an array, an Int32Array or a Tensor of shape \[2\]\), got number$/,
  );
});
