/**
 * The public types say what the code accepts: this file must compile under the project's strict
 * settings (the build compiles it), and the runtime checks show the typed uses work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';

/** true exactly when T is `any`. */
type IsAny<T> = 0 extends 1 & T ? true : false;

// toArray() and FitOptions.optimizer are typed, not `any`
const toArrayIsAny: IsAny<ReturnType<d.Tensor['toArray']>> = false;
const fitOptimizerIsAny: IsAny<d.FitOptions['optimizer']> = false;
// L-BFGS takes PyTorch's spelling of its line search
const lbfgsOptions: Partial<d.LBFGSOptions> = { lineSearchFn: 'strong_wolfe' };
// a closure returning the loss Tensor is a closure for every optimizer's step
const closureOfTensor: d.Closure = () => d.tensor([1]);

test('the compile-time checks above hold at run time too', () => {
  assert.equal(toArrayIsAny, false);
  assert.equal(fitOptimizerIsAny, false);
  assert.equal(lbfgsOptions.lineSearchFn, 'strong_wolfe');
  assert.equal(typeof closureOfTensor, 'function');
});

test('toArray: nested arrays, one level per dimension; a number for a 0-d tensor', () => {
  const m = d.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const rows = m.toArray<number[][]>();
  assert.deepEqual(rows[1], [4, 5, 6]);
  assert.deepEqual(rows, [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(new d.Tensor(new Float64Array([7]), []).toArray(), 7);
});

test('step(closure): a PyTorch-style closure returning the loss Tensor works for first-order optimizers and returns the loss as a number', () => {
  const x = new d.Tensor(new Float64Array([3]), [1], true);
  const opt = new d.SGD([x], { lr: 0.25 });
  const loss = opt.step(() => {
    opt.zeroGrad();
    const l = d.sum(d.mul(x, x));
    l.backward();
    return l;
  });
  assert.equal(loss, 9);
  assert.equal(x.data[0], 3 - 0.25 * 6);
  assert.throws(
    () => opt.step(() => d.tensor([1, 2]) as never),
    /SGD: the closure must return the loss \(a number or a one-element Tensor\), got/,
  );
});

test('loadStateDict takes Float32Array (any array-like) data; stateDict gives number[]', () => {
  const a = new d.Linear(2, 2, { rng: new d.Rng(1) });
  const sd: d.StateDict = {
    weight: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    bias: { shape: [2], data: Float64Array.from([5, 6]) },
  };
  a.loadStateDict(sd);
  const back = a.stateDict();
  const w: number[] = back.weight.data;
  assert.deepEqual(w, [1, 2, 3, 4]);
  assert.deepEqual(back.bias.data, [5, 6]);
});
