/**
 * crossEntropy (src/autograd/cross-entropy.ts, cross-entropy-probs.ts): values and gradients against
 * PyTorch 1.13 with class weights, label smoothing, ignored targets and class-probability targets
 * (fixtures from tools/golden_cross_entropy.py) on the reference and wasm backends, float32 and
 * float64, through the op, CrossEntropyLoss and crossEntropyWith; the mean's divisor in each form;
 * first and second derivatives by central differences; the options' errors.
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
/** y is null where PyTorch's mean is NaN (every row ignored: JSON has no NaN). */
interface IgnoreBatch extends Omit<Batch, 'cases'> {
  ignoreIndex: number;
  cases: (Omit<Case, 'y'> & { y: (number | null)[] })[];
}
interface ProbBatch extends Omit<Batch, 't' | 'cases'> {
  q: number[];
  cases: (Case & { gq: number[] })[];
}

/** assertClose, where an expected null is PyTorch's NaN. */
function closeOrNaN(actual: ArrayLike<number>, expected: (number | null)[], tol: number, what: string): void {
  expected.forEach((e, i) => {
    if (e === null) assert.ok(Number.isNaN(actual[i]), `${what}[${i}]: got ${actual[i]}, expected NaN`);
    else assertClose([actual[i]], [e], tol, `${what}[${i}]`);
  });
}

/** The three ways to the loss: the op, CrossEntropyLoss, crossEntropyWith. */
function lossesOf(opts: d.CrossEntropyOptions): Loss[] {
  return [(x, t) => d.crossEntropy(x, t, opts), (x, t) => new d.CrossEntropyLoss(opts).forward(x, t), d.crossEntropyWith(opts)];
}

type Loss = (x: d.Tensor, t: number[] | d.Tensor) => d.Tensor;

/**
 * Runs `check` for every case of `batches` on the reference and wasm backends, with each way to the
 * loss (lossesOf: k = 0 the op, 1 CrossEntropyLoss, 2 crossEntropyWith) and the fixtures' tolerance
 * (1e-12 in float64, 2e-6 in float32); wasm is the backend again afterwards.
 */
function eachCase<B extends { shape: number[]; dtype: d.DType; cases: { weighted: boolean }[] }>(
  batches: B[],
  optsOf: (b: B, c: B['cases'][number]) => d.CrossEntropyOptions,
  check: (b: B, c: B['cases'][number], loss: Loss, k: number, tol: number, what: string) => void,
): void {
  try {
    for (const backend of ['reference', 'wasm']) {
      d.setBackend(backend);
      for (const b of batches)
        for (const c of b.cases) {
          const opts = optsOf(b, c);
          const what = `${backend} [${b.shape}] ${b.dtype} ${JSON.stringify({ ...opts, weight: c.weighted })}`;
          for (const [k, loss] of lossesOf(opts).entries()) check(b, c, loss, k, b.dtype === 'float64' ? 1e-12 : 2e-6, what);
        }
    }
  } finally {
    d.setBackend('wasm');
  }
}

test('crossEntropy with weight and labelSmoothing equals PyTorch: loss and gradient, every reduction (reference and wasm, float32 and float64; the op, CrossEntropyLoss, crossEntropyWith, the recorded backward)', () => {
  const batches = F.batches as Batch[];
  assert.ok(batches.length >= 8 && batches.every((b) => b.cases.length === 18));
  eachCase(
    batches,
    (b, c) => ({
      reduction: c.reduction,
      labelSmoothing: c.labelSmoothing,
      weight: c.weighted ? (b.dtype === 'float64' ? b.weight : Float32Array.from(b.weight)) : undefined,
    }),
    (b, c, loss, k, tol, what) => {
      const x = d.fromData(b.x, b.shape, { dtype: b.dtype, requiresGrad: true });
      const y = loss(x, k === 1 ? d.tensor(b.t) : b.t);
      assert.deepEqual(y.shape, c.reduction === 'none' ? [b.shape[0]] : [], `${what}: shape`);
      assertClose(y.data, c.y, tol, `${what} (${k}) y`);
      const gy = d.fromData(c.gy, y.shape, { dtype: b.dtype });
      assertClose(d.grad([y], [x], { gradOutputs: [gy] })[0]!.data, c.gx, tol, `${what} (${k}) gx`);
      if (k === 0) {
        const recorded = d.grad([loss(x, b.t)], [x], { gradOutputs: [gy], createGraph: true })[0]!;
        assert.ok(recorded.requiresGrad);
        assertClose(recorded.data, c.gx, tol, `${what} recorded gx`);
      }
    },
  );
});

test('crossEntropy with ignoreIndex equals PyTorch: loss and gradient, every reduction, with weight and labelSmoothing, every row ignored (reference and wasm, float32 and float64; the op, CrossEntropyLoss, crossEntropyWith, the recorded backward)', () => {
  const batches = F.ignoreBatches as IgnoreBatch[];
  assert.ok(batches.length >= 6 && batches.every((b) => b.cases.length === 12));
  assert.ok(batches.some((b) => b.t.every((t) => t === b.ignoreIndex)) && batches.some((b) => b.ignoreIndex === 1));
  eachCase(
    batches,
    (b, c) => ({
      reduction: c.reduction,
      labelSmoothing: c.labelSmoothing,
      ignoreIndex: b.ignoreIndex,
      weight: c.weighted ? b.weight : undefined,
    }),
    (b, c, loss, k, tol, what) => {
      const x = d.fromData(b.x, b.shape, { dtype: b.dtype, requiresGrad: true });
      const y = loss(x, k === 1 ? d.tensor(b.t) : b.t);
      closeOrNaN(y.data, c.y, tol, `${what} (${k}) y`);
      const gy = d.fromData(c.gy, y.shape, { dtype: b.dtype });
      assertClose(d.grad([y], [x], { gradOutputs: [gy] })[0]!.data, c.gx, tol, `${what} (${k}) gx`);
      if (k === 0) {
        const recorded = d.grad([loss(x, b.t)], [x], { gradOutputs: [gy], createGraph: true })[0]!;
        assertClose(recorded.data, c.gx, tol, `${what} recorded gx`);
      }
    },
  );
});

test('crossEntropy against class probabilities [N, C] equals PyTorch: loss, gradient of the logits and of the target, every reduction, with weight and labelSmoothing (reference and wasm, float32 and float64; the op, CrossEntropyLoss, crossEntropyWith, the recorded backward)', () => {
  const batches = F.probBatches as ProbBatch[];
  assert.ok(batches.length >= 6 && batches.every((b) => b.cases.length === 12));
  eachCase(
    batches,
    (b, c) => ({ reduction: c.reduction, labelSmoothing: c.labelSmoothing, weight: c.weighted ? b.weight : undefined }),
    (b, c, loss, k, tol, what) => {
      const x = d.fromData(b.x, b.shape, { dtype: b.dtype, requiresGrad: true });
      const q = d.fromData(b.q, b.shape, { dtype: b.dtype, requiresGrad: k === 0 });
      const y = loss(x, q);
      assert.deepEqual(y.shape, c.reduction === 'none' ? [b.shape[0]] : [], `${what}: shape`);
      assertClose(y.data, c.y, tol, `${what} (${k}) y`);
      const gy = d.fromData(c.gy, y.shape, { dtype: b.dtype });
      assertClose(d.grad([y], [x], { gradOutputs: [gy] })[0]!.data, c.gx, tol, `${what} (${k}) gx`);
      if (k === 0) {
        assertClose(d.grad([loss(x, q)], [q], { gradOutputs: [gy] })[0]!.data, c.gq, tol, `${what} gq`);
        const [rx, rq] = d.grad([loss(x, q)], [x, q], { gradOutputs: [gy], createGraph: true });
        assert.ok(rx!.requiresGrad);
        assertClose(rx!.data, c.gx, tol, `${what} recorded gx`);
        assertClose(rq!.data, c.gq, tol, `${what} recorded gq`);
      }
    },
  );
});

test("ignored rows leave the mean's divisor and drop their smoothing term; a probability target's mean divides by N, not by Σ weight (PyTorch's two rules)", () => {
  // uniform logits: log softmax = −ln 2 everywhere, so row i's loss is ln 2 · Σ_c qᵢ[c] = ln 2 · sᵢ
  const x = d.zeros([3, 2], { dtype: 'float64', requiresGrad: true });
  // row 1 ignored (PyTorch's default −100): 2 ln 2 over the 2 rows that count = ln 2 (over N = 3: 2/3 ln 2)
  assertClose(d.crossEntropy(x, [0, -100, 1]).item(), Math.LN2, 1e-15, 'mean without the ignored row');
  assert.deepEqual(Array.from(d.crossEntropy(x, [0, -100, 1], 'none').data), [Math.LN2, 0, Math.LN2]);
  // an ignoreIndex that is a class: the rows of class 1 count for nothing
  assertClose(d.crossEntropy(x, [0, 1, 1], { ignoreIndex: 1 }).item(), Math.LN2, 1e-15, 'ignoreIndex 1');
  // weight [1, 3], ε = 0.2: rows 0 and 2 have s = 0.8·w[t] + 0.1·(1 + 3) = 1.2, 2.8; D = 1 + 3 = 4, so
  // the mean is 4 ln 2 / 4 = ln 2 (kept, the ignored row's smoothing 0.4 ln 2 would make it 1.1 ln 2)
  const weight = [1, 3];
  assertClose(d.crossEntropy(x, [0, -100, 1], { weight, labelSmoothing: 0.2 }).item(), Math.LN2, 1e-15, 'smoothed weighted mean');
  // the gradient (s·softmax − q)/4: row 0 (0.6 − 0.9, 0.6 − 0.3)/4; row 1 ignored: 0
  const g = d.grad([d.crossEntropy(x, [0, -100, 1], { weight, labelSmoothing: 0.2 })], [x])[0]!;
  assertClose(g.data, [-0.3 / 4, 0.3 / 4, 0, 0, 1.3 / 4, -1.3 / 4], 1e-15, 'gradient');
  // every row ignored: no mean (PyTorch's 0/0 is NaN), a sum of 0, and a gradient of 0, not NaN
  assert.ok(Number.isNaN(d.crossEntropy(x, [-100, -100, -100]).item()));
  assert.equal(d.crossEntropy(x, [-100, -100, -100], 'sum').item(), 0);
  assert.deepEqual(
    Array.from(d.grad([d.crossEntropy(x, [-100, -100, -100], { weight, labelSmoothing: 0.2 })], [x])[0]!.data),
    [0, 0, 0, 0, 0, 0],
  );
  // targets of weight 0 beside an ignored row: the counted rows' gradient is NaN, the ignored one's 0 (PyTorch)
  const gz = d.grad([d.crossEntropy(x, [0, -100, 0], { weight: [0, 1] })], [x])[0]!;
  assert.deepEqual(
    Array.from(gz.data, (v) => (Number.isNaN(v) ? 'NaN' : v)),
    ['NaN', 'NaN', 0, 0, 'NaN', 'NaN'],
  );

  // probability targets: rows q = (1, 0), (0.5, 0.5), (0, 1) weighted [1, 3] give s = 1, 2, 3: the
  // mean is 6 ln 2 / N = 2 ln 2 (divided by Σ_i s_i = 6, as a class-index mean would be: ln 2)
  const q = d.tensor(
    [
      [1, 0],
      [0.5, 0.5],
      [0, 1],
    ],
    { dtype: 'float64' },
  );
  assertClose(d.crossEntropy(x, q, { weight }).item(), 2 * Math.LN2, 1e-15, 'probability mean');
  assertClose(d.crossEntropy(x, q, { weight, reduction: 'sum' }).item(), 6 * Math.LN2, 1e-15, 'probability sum');
  // the gradient (s·softmax − w ⊙ q)/N, row 1: (2·0.5 − 0.5, 2·0.5 − 1.5)/3
  const gq = d.grad([d.crossEntropy(x, q, { weight })], [x])[0]!;
  assertClose(Array.from(gq.data).slice(2, 4), [0.5 / 3, -0.5 / 3], 1e-15, 'probability gradient row 1');
  // a row that sums to 0.5 is taken as it is (no normalisation): its loss is 0.5 ln 2
  assertClose(
    d.crossEntropy(
      x,
      d.tensor(
        [
          [0.25, 0.25],
          [0.5, 0.5],
          [0.5, 0.5],
        ],
        { dtype: 'float64' },
      ),
      'none',
    ).data,
    [0.5 * Math.LN2, Math.LN2, Math.LN2],
    1e-15,
    'unnormalised row',
  );
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
  // ignored rows (−100, and a class as ignoreIndex), and class probabilities: both inputs' derivatives
  const probs = randT([4, 5], 44, 0, 1);
  for (const reduction of ['mean', 'sum', 'none'] as const)
    for (const opts of [{}, { ignoreIndex: 4 }, { weight, labelSmoothing: 0.1, ignoreIndex: 2 }] as d.CrossEntropyOptions[]) {
      gradCheck((a) => d.crossEntropy(a, [0, opts.ignoreIndex ?? -100, 2, 4], { ...opts, reduction }), [randT([4, 5], 45)]);
      gradCheck(
        (a, q) => d.crossEntropy(a, q, { weight: opts.weight, labelSmoothing: opts.labelSmoothing, reduction }),
        [randT([4, 5], 46), probs],
      );
      gradCheck(
        (a, q) =>
          d.sum(
            d.square(
              d.grad([d.sum(d.crossEntropy(a, q, { weight: opts.weight, labelSmoothing: opts.labelSmoothing, reduction }))], [a, q], {
                createGraph: true,
              })[0]!,
            ),
          ),
        [randT([4, 5], 47), probs],
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
  for (const k of [1.5, '1', NaN])
    assert.throws(
      () => d.crossEntropyWith({ ignoreIndex: k as never }),
      new RegExp(`^TypeError: CrossEntropyLoss: invalid ignoreIndex ${typeof k === 'string' ? '"1"' : k}; expected an integer`),
    );
  assert.throws(
    () => d.crossEntropy(x, [0, 3], { ignoreIndex: -1 }),
    /^RangeError: target 1 is 3, expected an integer class in \[0, 2\] or the ignoreIndex -1$/,
  );
  assert.throws(
    () => d.crossEntropy(x, [0, -100], { ignoreIndex: -1 }),
    /target 1 is -100, expected an integer class in \[0, 2\] or the ignoreIndex -1/,
  );
  // probability targets take no ignoreIndex ≥ 0 (PyTorch: "ignore_index is not supported for floating point target"); a negative one matches nothing
  const q = d.fromData([0.2, 0.3, 0.5, 1, 0, 0], [2, 3]);
  assert.throws(
    () => d.crossEntropy(x, q, { ignoreIndex: 0 }),
    /^RangeError: CrossEntropyLoss: ignoreIndex 0 with class-probability targets \(a float Tensor \[2, 3\]\); PyTorch takes none ≥ 0 with them/,
  );
  assert.equal(d.crossEntropy(x, q, { ignoreIndex: -1 }).item(), d.crossEntropy(x, q).item());
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
  assert.deepEqual(
    [new d.CrossEntropyLoss('sum').weight, new d.CrossEntropyLoss().labelSmoothing, new d.CrossEntropyLoss().ignoreIndex],
    [null, 0, -100],
  );
  assert.equal(new d.CrossEntropyLoss({ ignoreIndex: 3 }).ignoreIndex, 3);
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
    /^ShapeError: CrossEntropyLoss: targets must be 2 class indices, a Tensor of shape \[2\], or class probabilities of the logits' shape \[2, 3\]; got \[2, 1\]$/,
  );
  assert.throws(() => d.crossEntropy(x, d.tensor([1, 0, 2])), /^ShapeError: CrossEntropyLoss: 2 logits rows but 3 targets$/);
  assert.throws(() => d.crossEntropy(x, d.tensor([0.5, 0])), /target 0 is 0\.5, expected an integer class in \[0, 2\]/);
  assert.throws(
    () => d.crossEntropy(x, 1 as never),
    /^TypeError: CrossEntropyLoss: targets must be class indices \(an array, an Int32Array or a Tensor of shape \[2\]\), got number$/,
  );
});
