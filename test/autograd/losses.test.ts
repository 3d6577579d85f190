/**
 * The losses of src/autograd/losses.ts and nllLoss against PyTorch 1.13 (fixtures from
 * tools/golden_losses.py): l1, smooth L1, Huber, BCE with logits, BCE, NLL and KL divergence —
 * the loss and the gradients of input and target, every reduction, float32 and float64, on the
 * reference and wasm backends, through the function and the nn.*Loss object; the formulas' edges
 * (the Huber knee, logits 0 and ±100, probabilities 0 and 1, KL's 0·log 0, NLL's ignored rows)
 * are in the fixtures. Then the named differences from cross-entropy and the options' errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose, type LossCase, lossCases, randT } from '../helpers.js';

await initWasm({ threads: 2 });
type Loss = (x: d.Tensor, t: d.Tensor | number[]) => d.Tensor;

/** The case's options in descent's form: a weight of the input's size is a Tensor of its shape, others arrays. */
function optionsOf(c: LossCase): Record<string, unknown> {
  const o: Record<string, unknown> = { ...c.options, reduction: c.reduction };
  const size = c.x.length;
  for (const k of ['weight', 'posWeight'] as const) {
    const w = c.options[k];
    if (w && w.length === size && size !== c.shape[c.shape.length - 1]) o[k] = d.fromData(w, c.shape, { dtype: c.dtype });
  }
  return o;
}

/** The function and the loss object for a case. */
function lossesOf(c: LossCase): Loss[] {
  const o = optionsOf(c) as never;
  const r = c.reduction as d.Reduction;
  switch (c.fn) {
    case 'l1_loss':
      return [(x, t) => d.l1Loss(x, t as d.Tensor, r), (x, t) => new d.L1Loss(r).forward(x, t as d.Tensor)];
    case 'smooth_l1_loss':
      return [(x, t) => d.smoothL1Loss(x, t as d.Tensor, o), (x, t) => new d.SmoothL1Loss(o).forward(x, t as d.Tensor)];
    case 'huber_loss':
      return [(x, t) => d.huberLoss(x, t as d.Tensor, o), (x, t) => new d.HuberLoss(o).forward(x, t as d.Tensor)];
    case 'binary_cross_entropy_with_logits':
      return [
        (x, t) => d.binaryCrossEntropyWithLogits(x, t as d.Tensor, o),
        (x, t) => new d.BCEWithLogitsLoss(o).forward(x, t as d.Tensor),
      ];
    case 'binary_cross_entropy':
      return [(x, t) => d.binaryCrossEntropy(x, t as d.Tensor, o), (x, t) => new d.BCELoss(o).forward(x, t as d.Tensor)];
    case 'nll_loss':
      return [(x, t) => d.nllLoss(x, t, o), (x, t) => new d.NLLLoss(o).forward(x, t)];
    case 'kl_div':
      return [(x, t) => d.klDiv(x, t as d.Tensor, o), (x, t) => new d.KLDivLoss(o).forward(x, t as d.Tensor)];
  }
  throw new Error(`no loss for ${c.fn}`);
}

/** assertClose, where an expected null is PyTorch's NaN. */
function closeOrNaN(actual: ArrayLike<number>, expected: (number | null)[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => {
    if (e === null) assert.ok(Number.isNaN(actual[i]), `${what}[${i}]: got ${actual[i]}, expected NaN`);
    else assertClose([actual[i]], [e], tol, `${what}[${i}]`);
  });
}

const cases = lossCases();

test('the losses equal PyTorch: loss and the gradients of input and target, every reduction (reference and wasm, float32 and float64; the function, the nn.*Loss object, the recorded backward)', () => {
  const fns = new Set(cases.map((c) => c.fn));
  assert.deepEqual([...fns].sort(), [
    'binary_cross_entropy',
    'binary_cross_entropy_with_logits',
    'huber_loss',
    'kl_div',
    'l1_loss',
    'nll_loss',
    'smooth_l1_loss',
  ]);
  assert.ok(cases.length > 400);
  try {
    for (const backend of ['reference', 'wasm']) {
      d.setBackend(backend);
      for (const c of cases) {
        const tol = c.dtype === 'float64' ? 1e-11 : 3e-6;
        const what = `${backend} ${c.fn} ${c.dtype} [${c.shape}] ${c.reduction} ${JSON.stringify({ ...c.options, weight: !!c.options.weight, posWeight: !!c.options.posWeight })}`;
        for (const [k, loss] of lossesOf(c).entries()) {
          const x = d.fromData(c.x, c.shape, { dtype: c.dtype, requiresGrad: true });
          const indices = c.fn === 'nll_loss';
          const t = indices ? c.t : d.fromData(c.t, c.shape, { dtype: c.dtype, requiresGrad: c.gt !== null });
          const y = loss(x, t);
          assert.deepEqual(y.shape, c.reduction === 'none' ? (indices ? [c.shape[0]] : c.shape) : [], `${what}: shape`);
          closeOrNaN(y.data, c.y, tol, `${what} (${k}) y`);
          const gy = d.fromData(c.gy, y.shape, { dtype: c.dtype });
          const inputs = c.gt !== null ? [x, t as d.Tensor] : [x];
          const grads = d.grad([y], inputs, { gradOutputs: [gy], createGraph: k === 0 });
          assertClose(grads[0]!.data, c.gx, tol, `${what} (${k}) gx`);
          if (c.gt !== null) assertClose(grads[1]!.data, c.gt, tol, `${what} (${k}) gt`);
        }
      }
    }
  } finally {
    d.setBackend('wasm');
  }
});

test('smoothL1Loss with β = 0 is l1Loss, gradient 0 where input = target, as PyTorch 2 (PyTorch 1.13 gives −1 there)', () => {
  const x = d.tensor([0.5, 1, 2], { requiresGrad: true });
  const y = d.smoothL1Loss(x, d.tensor([0.5, 0, 2.5]), { beta: 0, reduction: 'none' });
  assert.deepEqual(Array.from(y.data), [0, 1, 0.5]);
  y.sum().backward();
  assert.deepEqual(Array.from(x.grad!.data), [0, 1, -1]);
});

test('BCEWithLogitsLoss and BCELoss: a weighted mean divides by the element count, not by the sum of the weights (unlike CrossEntropyLoss with class weights)', () => {
  const x = d.tensor([
    [0.3, -1.2],
    [2.0, 0.1],
  ]);
  const t = d.tensor([
    [1, 0],
    [0, 1],
  ]);
  const w = [0.5, 3];
  const each = d.binaryCrossEntropyWithLogits(x, t, { weight: w, reduction: 'none' }).data;
  const total = Array.from(each).reduce((a, b) => a + b, 0);
  assertClose(d.binaryCrossEntropyWithLogits(x, t, { weight: w }).item(), total / 4, 1e-6, 'BCE with logits');
  const p = d.sigmoid(x);
  assertClose(d.binaryCrossEntropy(p, t, { weight: w }).item(), total / 4, 1e-5, 'BCE on probabilities');
  // cross-entropy with class weights divides by Σ w[target] instead
  const ce = d.crossEntropy(x, [0, 1], { weight: w, reduction: 'none' }).data;
  assertClose(d.crossEntropy(x, [0, 1], { weight: w }).item(), (ce[0] + ce[1]) / (0.5 + 3), 1e-6, 'crossEntropy');
});

test('binaryCrossEntropyWithLogits at logit 0 has gradient σ(0) − y = ½ − y (a composite of |x| and max(x, 0) would give −y or 1 − y there)', () => {
  const x = d.zeros([3], { requiresGrad: true });
  d.binaryCrossEntropyWithLogits(x, d.tensor([0, 1, 0.25]), 'sum').backward();
  assertClose(x.grad!.data, [0.5, -0.5, 0.25], 1e-7, 'gradient at 0');
});

test('binaryCrossEntropy clamps each log at −100, so probabilities 0 and 1 give a finite loss and a finite gradient, as PyTorch (a plain log would give ∞ and NaN)', () => {
  const p = d.tensor([0, 1], { requiresGrad: true });
  const y = d.binaryCrossEntropy(p, d.tensor([1, 0]), 'none');
  assert.deepEqual(Array.from(y.data), [100, 100]);
  y.sum().backward();
  for (const g of p.grad!.data) assert.ok(Number.isFinite(g), `gradient ${g}`);
});

test('nllLoss of logSoftmax equals crossEntropy, with weights and ignored rows; klDiv batchmean is the per-sample KL divergence, its mean divides by every element', () => {
  const x = randT([5, 4], 3);
  const t = [0, 3, -100, 1, 3];
  for (const o of [{}, { weight: [1, 0.5, 2, 0.25] }, { reduction: 'sum' as const }]) {
    assertClose(d.nllLoss(d.logSoftmax(x), t, o).item(), d.crossEntropy(x, t, o).item(), 1e-6, JSON.stringify(o));
  }
  const lq = d.logSoftmax(randT([3, 4], 4));
  const p = d.softmax(randT([3, 4], 5));
  const each = d.klDiv(lq, p, 'none');
  const total = each.sum().item();
  assertClose(d.klDiv(lq, p, 'batchmean').item(), total / 3, 1e-6, 'batchmean');
  assertClose(d.klDiv(lq, p).item(), total / 12, 1e-6, 'mean');
  assertClose(d.klDiv(lq, d.log(p), { logTarget: true, reduction: 'sum' }).item(), total, 1e-5, 'logTarget');
});

test('the losses refuse mismatched shapes, bad options and out-of-range values with one message naming the loss', () => {
  const a = randT([2, 3], 1),
    b = randT([3, 2], 2);
  assert.throws(() => d.l1Loss(a, b), /^ShapeError: L1Loss: input \[2, 3\] and target \[3, 2\] differ; expected one shape$/);
  assert.throws(() => d.huberLoss(a, a, { delta: 0 }), /^RangeError: HuberLoss: invalid delta 0; expected a finite number > 0$/);
  assert.throws(() => new d.SmoothL1Loss({ beta: -1 }), /^RangeError: SmoothL1Loss: invalid beta -1; expected a finite number ≥ 0$/);
  assert.throws(() => new d.HuberLoss({ detla: 2 } as never), /HuberLoss: unknown option "detla" \(did you mean "delta"\?\)/);
  assert.throws(() => new d.L1Loss('avg' as never), /L1Loss/);
  assert.throws(
    () => d.binaryCrossEntropy(d.tensor([0.5, 1.5]), d.tensor([1, 0])),
    /^RangeError: BCELoss: input\[1\] is 1\.5; expected probabilities in \[0, 1\] \(for logits use binaryCrossEntropyWithLogits\)$/,
  );
  assert.throws(
    () => d.binaryCrossEntropyWithLogits(a, a, { posWeight: [1, 2] }),
    /^ShapeError: BCEWithLogitsLoss: posWeight \[2\] does not broadcast to the input's shape \[2, 3\]$/,
  );
  assert.throws(
    () => d.binaryCrossEntropyWithLogits(a, a.to('float32')),
    /^TypeError: BCEWithLogitsLoss: input is float64 and target float32/,
  );
  assert.throws(() => d.nllLoss(a, [0, 3]), /^RangeError: target 1 is 3, expected an integer class in \[0, 2\] or the ignoreIndex -100$/);
  assert.throws(() => d.nllLoss(a, [0]), /^ShapeError: NLLLoss: 2 input rows but 1 targets$/);
  assert.throws(
    () => new d.NLLLoss({ weight: [1, 2] }).forward(a, [0, 1]),
    /^ShapeError: NLLLoss: weight has 2 values, expected 3, one per class of input \[2, 3\]$/,
  );
  assert.throws(() => new d.NLLLoss({ labelSmoothing: 0.1 } as never), /NLLLoss: unknown option "labelSmoothing"/);
  assert.throws(
    () => new d.KLDivLoss('batch' as never),
    /^RangeError: KLDivLoss: invalid reduction "batch"; expected 'mean', 'batchmean', 'sum' or 'none' \(did you mean 'batchmean'\?\)$/,
  );
});
