/**
 * Indexing and selection ops: values and gradients against PyTorch 1.13 and NumPy goldens
 * (tools/golden_indexing.py), gradients and gradients of gradients by central differences, and the
 * error messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { gradCheck, randT } from '../helpers.js';

type Num = number | string;
interface TJ {
  shape: number[];
  data: Num[];
}
const G = JSON.parse(readFileSync(new URL('../../../test/fixtures/indexing/golden.json', import.meta.url), 'utf8'));

const num = (v: Num): number => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity);
const T = (o: TJ, dtype: d.DType = 'float64', requiresGrad = false): d.Tensor =>
  d.fromData(o.data.map(num), o.shape, { dtype, requiresGrad });
const DTYPES: d.DType[] = ['float64', 'float32'];

/** Equal shapes and values within tol (relative to max(1, |expected|)); NaN matches NaN, infinities match exactly. */
function same(actual: d.Tensor | null, expected: TJ, tol: number, what: string): void {
  assert.ok(actual, `${what}: no tensor`);
  assert.deepEqual([...actual.shape], expected.shape, `${what}: shape`);
  expected.data.forEach((ev, i) => {
    const e = num(ev),
      a = actual.data[i];
    if (Number.isNaN(e) || !Number.isFinite(e))
      assert.ok(Object.is(a, e) || (Number.isNaN(e) && Number.isNaN(a)), `${what}[${i}]: got ${a}, expected ${e}`);
    else assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: got ${a}, expected ${e}`);
  });
}
const tolOf = (dtype: d.DType) => (dtype === 'float64' ? 1e-12 : 1e-6);

/** `call` throws an error whose message (one line) matches `re`. */
function throwsWith(call: () => unknown, re: RegExp, what = re.source): void {
  assert.throws(call, (e: Error) => re.test(e.message) && !e.message.includes('\n'), what);
}

test('index: every slice of the golden list equals NumPy (negative steps and indices included), in float64 and float32', () => {
  for (const dtype of DTYPES) {
    const x = T(G.slicing.x, dtype);
    for (const c of G.slicing.cases) {
      const y = d.index(x, c.spec);
      same(y, c.out, 0, `x[${c.spec}] (${dtype})`);
      assert.equal(y.dtype, dtype);
      // where PyTorch accepts the slice it agrees with NumPy; it refuses only negative steps
      if (c.torch !== 'same') assert.match(c.torch, /step must be greater than zero/);
    }
  }
  assert.ok(
    G.slicing.cases.some((c: { torch: string }) => c.torch !== 'same'),
    'the golden list has negative steps',
  );
});

test('index: the array form, a single number and the Tensor method read the same as the string', () => {
  const x = T(G.slicing.x);
  const eq = (a: d.Tensor, b: d.Tensor) => assert.deepEqual([a.shape, [...a.data]], [b.shape, [...b.data]]);
  eq(d.index(x, [{ start: 1 }, { step: -1 }]), d.index(x, '1:, ::-1'));
  eq(d.index(x, [':', -3, { start: 4, stop: 0, step: -2 }]), d.index(x, ':, -3, 4:0:-2'));
  eq(d.index(x, ['...', null, 2]), d.index(x, '..., None, 2'));
  eq(d.index(x, -1), d.index(x, '-1'));
  eq(x.index('::2, 1'), d.index(x, [{ step: 2 }, 1]));
  eq(d.narrow(x, 1, -3, 2), d.index(x, ':, 1:3'));
  assert.equal(d.index(x, '...'), x, 'a full index is the tensor itself');
  assert.equal(d.index(x, ':, :, ::1'), x);
});

test('gradients of slicing, flip, narrow, squeeze and unsqueeze match central differences', () => {
  const x = randT([3, 4, 5], 1);
  gradCheck((a) => d.index(a, '1:, ::-1'), [x]);
  gradCheck((a) => d.index(a, ':, -3:-1, 4:0:-2'), [x]);
  gradCheck((a) => d.index(a, '-1, None, ::2'), [x]);
  // overlapping selections of the same tensor add their gradients
  gradCheck((a) => d.add(d.index(a, '1:, 1:, 1:'), d.mul(d.index(a, ':-1, -2::-1, :-1'), 3)), [x]);
  gradCheck((a) => d.narrow(a, 2, 1, 3), [x]);
  // a block of whole rows (no axis before it longer than 1) is copied without an index map
  gradCheck((a) => d.narrow(a, 0, 1, 2), [x]);
  gradCheck((a) => d.narrow(a, 1, 1, 2), [randT([1, 4, 5], 2)]);
  gradCheck((a) => d.add(d.narrow(a, 0, 0, 2), d.mul(d.narrow(a, 0, 1, 2), 3)), [x]);
  gradCheck((a) => d.flip(a, [0, 2]), [x]);
  gradCheck((a) => d.unsqueeze(d.squeeze(d.index(a, ':, 1:2')), -1), [x]);
});

test('flip, cat and stack equal PyTorch on every axis', () => {
  for (const dtype of DTYPES) {
    const F = T(G.flip.x, dtype);
    for (const c of G.flip.cases) same(d.flip(F, c.axes), c.out, 0, `flip ${c.axes}`);
    const F10 = d.mul(F, 10);
    for (const c of G.cat) same(d.cat([F, F10], c.axis), c.out, 0, `cat axis ${c.axis}`);
    for (const c of G.stack) same(d.stack([F, F10], c.axis), c.out, 0, `stack axis ${c.axis}`);
  }
});

test('cat, stack, split and chunk: gradients by central differences, sizes as PyTorch', () => {
  const a = randT([2, 3], 2),
    b = randT([2, 1], 3),
    c = randT([2, 4], 4);
  gradCheck((p, q, r) => d.cat([p, q, r], 1), [a, b, c]);
  gradCheck((p, q, r) => d.cat([p, d.mul(p, q)], -1), [a, b, c]);
  gradCheck((p, q) => d.stack([p, d.square(q), p], 1), [a, randT([2, 3], 5)]);
  const x = randT([7, 3], 6);
  gradCheck(
    (p) =>
      d.cat(
        d.split(p, 3).map((s, i) => d.mul(s, i + 1)),
        0,
      ),
    [x],
  );
  gradCheck(
    (p) =>
      d.cat(
        d.split(p, [2, 0, 5]).map((s, i) => d.mul(s, i - 1)),
        0,
      ),
    [x],
  );
  gradCheck(
    (p) =>
      d.stack(
        d.chunk(p, 3, 1).map((s, i) => d.sum(d.mul(s, i + 2))),
        0,
      ),
    [x],
  );
  for (const c of G.split)
    assert.deepEqual(
      d.split(d.arange(c.n), c.arg).map((t) => t.shape[0]),
      c.sizes,
      `split(${c.n}, ${JSON.stringify(c.arg)})`,
    );
  for (const c of G.chunk)
    assert.deepEqual(
      d.chunk(d.arange(c.n), c.chunks).map((t) => t.shape[0]),
      c.sizes,
      `chunk(${c.n}, ${c.chunks})`,
    );
  const pieces = d.split(d.arange(7), 3);
  assert.deepEqual(
    pieces.map((t) => [...t.data]),
    [[0, 1, 2], [3, 4, 5], [6]],
  );
});

test('gather and indexSelect: values and gradients (repeated indices add) equal PyTorch', () => {
  for (const dtype of DTYPES) {
    for (const c of G.gather) {
      const x = T(c.x, dtype, true);
      const y = d.gather(x, c.axis, T(c.index, dtype));
      same(y, c.out, tolOf(dtype), `gather axis ${c.axis}`);
      same(d.grad(y, [x], { gradOutputs: [T(c.w, dtype)] })[0], c.gx, tolOf(dtype), `gather gradient axis ${c.axis}`);
    }
    for (const c of G.indexSelect) {
      const x = T(c.x, dtype, true);
      const y = d.indexSelect(x, c.axis, c.index);
      same(y, c.out, tolOf(dtype), `indexSelect axis ${c.axis}`);
      if (y.size > 0) same(d.grad(y, [x], { gradOutputs: [T(c.w, dtype)] })[0], c.gx, tolOf(dtype), `indexSelect gradient axis ${c.axis}`);
    }
  }
  const x = randT([3, 4], 7);
  gradCheck(
    (a) =>
      d.gather(a, 1, [
        [0, 0, 3],
        [2, 1, 2],
        [3, 3, 3],
      ]),
    [x],
  );
  gradCheck((a) => d.gather(a, 0, d.tensor([[2, 2, 0, 1]])), [x]);
  gradCheck((a) => d.indexSelect(a, 1, new Int32Array([3, 0, 3])), [x]);
  // gather's index as nested arrays, a Tensor, or the indices of topk: the same result
  const idx = d.topk(x, 2, 1).indices;
  assert.deepEqual([...d.gather(x, 1, idx).data], [...d.topk(x, 2, 1).values.data]);
});

test('where broadcasts condition, a and b as PyTorch, with the same gradients', () => {
  for (const dtype of DTYPES) {
    for (const [k, c] of G.where.entries()) {
      const a = T(c.a, dtype, true),
        b = T(c.b, dtype, true);
      const y = d.where(T(c.cond, dtype), a, b);
      same(y, c.out, tolOf(dtype), `where case ${k}`);
      const [ga, gb] = d.grad(y, [a, b], { gradOutputs: [T(c.w, dtype)] });
      same(ga, c.ga, tolOf(dtype), `where case ${k} gradient of a`);
      same(gb, c.gb, tolOf(dtype), `where case ${k} gradient of b`);
    }
  }
  const cond = d.gt(randT([3, 1], 8), 0);
  gradCheck((a, b) => d.where(cond, a, b), [randT([1, 4], 9), randT([4], 10)]);
  gradCheck((a) => d.where(cond, a, 0.5), [randT([3, 4], 11)]);
  assert.deepEqual([...d.maskedFill(d.zeros([2, 3]), d.tensor([1, 0, 1]), 5).data], G.compare.maskedFill.data);
});

test('clamp equals PyTorch: ties at the bounds, min > max, broadcast tensor bounds, NaN, number bounds', () => {
  for (const dtype of DTYPES) {
    for (const [k, c] of G.clamp.entries()) {
      const x = T(c.x, dtype, true);
      const bound = (b: TJ | number | null) => (b === null ? null : typeof b === 'number' ? b : T(b, dtype, true));
      const lo = bound(c.min),
        hi = bound(c.max);
      const y = d.clamp(x, lo, hi);
      same(y, c.out, tolOf(dtype), `clamp case ${k}`);
      const wrt = [x, lo, hi].filter((t): t is d.Tensor => t instanceof d.Tensor);
      const gs = d.grad(y, wrt, { gradOutputs: [T(c.w, dtype)], allowUnused: true });
      same(gs[0], c.gx, tolOf(dtype), `clamp case ${k} gradient of x`);
      if (lo instanceof d.Tensor) same(gs[1], c.gmin, tolOf(dtype), `clamp case ${k} gradient of min`);
      if (hi instanceof d.Tensor) same(gs[wrt.length - 1], c.gmax, tolOf(dtype), `clamp case ${k} gradient of max`);
    }
  }
  // away from the kinks, central differences agree (values spread so that no element sits on a bound)
  gradCheck((a, lo, hi) => d.clamp(a, lo, hi), [randT([3, 4], 12, -2, 2), randT([4], 13, -1.5, -0.5), randT([3, 1], 14, 0.5, 1.5)]);
  gradCheck((a) => d.clamp(a, -0.5, null), [randT([3, 4], 15)]);
  assert.equal((d.clamp(d.tensor([5, -5]), null, 1).toArray() as number[]).join(), '1,-5');
});

test('comparisons and masks equal PyTorch (broadcasting, NaN, -0), carry no gradient and keep the dtype', () => {
  for (const dtype of DTYPES) {
    const a = T(G.compare.a, dtype, true),
      b = T(G.compare.b, dtype);
    const ops = { gt: d.gt, ge: d.ge, lt: d.lt, le: d.le, eq: d.eq, ne: d.ne } as const;
    for (const [name, f] of Object.entries(ops)) {
      const y = f(a, b);
      same(y, G.compare[name], 0, name);
      same(f(a, G.compare.scalar), G.compare[`${name}Scalar`], 0, `${name} with a number`);
      assert.equal(y.requiresGrad, false, `${name} has no gradient`);
      assert.equal(y.dtype, dtype);
    }
    same(d.logicalAnd(a, b), G.compare.logicalAnd, 0, 'logicalAnd');
    same(d.logicalOr(a, b), G.compare.logicalOr, 0, 'logicalOr');
    same(d.logicalNot(a), G.compare.logicalNot, 0, 'logicalNot');
    same(a.gt(b), G.compare.gt, 0, 'the method x.gt');
  }
  // a mask times x: the gradient flows through x only
  const x = randT([2, 3], 16);
  gradCheck((p) => d.mul(p, d.gt(p, 0)), [x]);
});

test('argmax, argmin, max and min on any axis equal PyTorch (first of ties, NaN wins)', () => {
  for (const dtype of DTYPES) {
    for (const c of G.arg) {
      const x = T(c.x, dtype);
      assert.deepEqual([...d.argmax(x, c.axis)], c.argmax.data, `argmax axis ${c.axis}`);
      assert.deepEqual([...d.argmin(x, c.axis)], c.argmin.data, `argmin axis ${c.axis}`);
      assert.deepEqual([...x.argmin(c.axis)], c.argmin.data, 'the method x.argmin');
      same(d.max(x, c.axis), c.max, 0, `max axis ${c.axis}`);
      same(d.min(x, c.axis), c.min, 0, `min axis ${c.axis}`);
    }
  }
  gradCheck((a) => d.min(a, 0, true), [randT([3, 4], 17)]);
});

test('topk and sort: values as PyTorch; positions as PyTorch except among ties, which keep their order', () => {
  for (const dtype of DTYPES) {
    for (const [n, c] of G.topk.entries()) {
      const x = T(c.x, dtype);
      const { values, indices } = d.topk(x, c.k, c.axis, c.largest);
      same(values, c.values, tolOf(dtype), `topk case ${n} values`);
      assert.equal(indices.dtype, dtype);
      assert.deepEqual(indices.shape, values.shape);
      // the positions hold the values
      same(d.gather(x, c.axis, indices), c.values, tolOf(dtype), `topk case ${n}: x at the positions`);
      const vals = c.values.data.map(num),
        pos = [...indices.data];
      const xs = [...x.data].map(String);
      if (new Set(xs).size === xs.length) assert.deepEqual(pos, c.indices.data, `topk case ${n} positions`);
      else {
        // equal values come in increasing position (PyTorch's order among them is unspecified)
        for (let i = 1; i < vals.length; i++)
          if (Object.is(vals[i], vals[i - 1])) assert.ok(pos[i] > pos[i - 1], `topk case ${n}: ties in order`);
      }
    }
    for (const [n, c] of G.sort.entries()) {
      const r = d.sort(T(c.x, dtype), c.axis, c.descending);
      same(r.values, c.values, tolOf(dtype), `sort case ${n} values`);
      assert.deepEqual([...r.indices.data], c.indices.data, `sort case ${n} positions (torch.sort stable=True)`);
    }
  }
  assert.ok(
    G.topk.some((c: { indices: TJ }, i: number) => i === 3 && c.indices.data.join() !== '0,2,4,3'),
    'the tie case really differs in PyTorch',
  );
  // a few of many (one pass keeping the best k) orders exactly as the full sort: ties, NaN, ±0
  const many = d.fromData(
    Array.from({ length: 64 * 64 }, (_, i) => (i % 29 === 3 ? NaN : i % 31 === 0 ? -0 : Math.round(Math.sin(i * 7.1) * 4))),
    [64, 64],
    { dtype: 'float64' },
  );
  for (const largest of [true, false]) {
    for (const axis of [0, 1]) {
      const k = axis === 1 ? 5 : 2;
      const few = d.topk(many, k, axis, largest),
        all = d.sort(many, axis, largest);
      const head = d.narrow(all.indices, axis, 0, k);
      assert.deepEqual([...few.indices.data], [...head.data], `topk(k = ${k}, axis ${axis}, largest ${largest}) as the sort`);
    }
  }
  const x = randT([3, 5], 18);
  gradCheck((a) => d.topk(a, 2, 1).values, [x]);
  gradCheck((a) => d.topk(a, 2, 0, false).values, [x]);
  gradCheck((a) => d.sort(a, -1, true).values, [x]);
  const y = d.topk(x, 1, 1);
  assert.equal(y.indices.requiresGrad, false);
  assert.deepEqual([...y.indices.data], [...d.argmax(x, 1)]);
});

test('second order: the gradient of a gradient through slicing, gather, where, clamp, cat/split and topk matches central differences', () => {
  // gradCheck of x ↦ ∇f(x) compares the Hessian-vector products that createGraph records with
  // central differences of the gradient itself
  const hess = (f: (a: d.Tensor) => d.Tensor) => (a: d.Tensor) => d.grad(f(a), [a], { createGraph: true })[0]!;
  const cube = (t: d.Tensor) => d.sum(d.pow(t, 3));
  const x = randT([3, 4], 19);
  gradCheck(
    hess((a) => cube(d.index(a, '::-1, 1::2'))),
    [x],
  );
  gradCheck(
    hess((a) => d.sum(d.mul(d.index(a, '1:'), d.index(a, ':-1')))),
    [x],
  );
  gradCheck(
    hess((a) =>
      cube(
        d.gather(a, 1, [
          [0, 0],
          [3, 1],
          [2, 2],
        ]),
      ),
    ),
    [x],
  );
  gradCheck(
    hess((a) => cube(d.indexSelect(a, 0, [2, 2, 0]))),
    [x],
  );
  gradCheck(
    hess((a) => cube(d.where(d.gt(a, 0), d.square(a), d.mul(a, 3)))),
    [x],
  );
  gradCheck(
    hess((a) => cube(d.clamp(a, -0.5, 0.5))),
    [randT([3, 4], 20, -2, 2)],
  );
  gradCheck(
    hess((a) => cube(d.cat([...d.split(a, [1, 2]).reverse(), d.flip(a, 1)], 0))),
    [x],
  );
  gradCheck(
    hess((a) => cube(d.topk(a, 2, 1).values)),
    [x],
  );
  // float32 second derivatives run too, with the dtype kept
  const x32 = d.tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { requiresGrad: true },
  );
  const [g] = d.grad(cube(d.index(x32, '::-1')), [x32], { createGraph: true });
  const [h] = d.grad(d.sum(g!), [x32]);
  assert.equal(h!.dtype, 'float32');
  assert.deepEqual([...h!.data], [6, 12, 18, 24]);
});

test('errors name the op, the argument, the expected range and the value; PyTorch refuses the same calls', () => {
  const E = d.reshape(d.arange(12), [3, 4]);
  const cases: Record<string, [() => unknown, RegExp]> = {
    'index 3 on axis 0': [() => d.index(E, '3'), /^index: index 3 on axis 0 is out of range, expected an integer in \[-3, 2\]/],
    'index -4 on axis 0': [() => E.index([-4]), /^index: index -4 on axis 0 is out of range, expected an integer in \[-3, 2\]/],
    'three indices on a matrix': [
      () => d.index(E, '1, 2, 3'),
      /^index: '1, 2, 3' indexes 3 axes, expected at most 2 for a tensor of shape \[3, 4\]/,
    ],
    'gather index -1': [() => d.gather(E, 1, [[-1]]), /^gather: index\[0, 0\] is -1, expected an integer in \[0, 3\]/],
    'gather index 4 on axis of size 4': [() => d.gather(E, 1, [[0], [4]]), /^gather: index\[1, 0\] is 4, expected an integer in \[0, 3\]/],
    'gather index of the wrong rank': [() => d.gather(E, 1, [0]), /^gather: index has shape \[1\], expected rank 2/],
    'gather index larger than x off the axis': [
      () => d.gather(E, 1, [[0], [0], [0], [0]]),
      /^gather: index has shape \[4, 1\], expected at most 3 on axis 0/,
    ],
    'index_select index -1': [() => d.indexSelect(E, 0, [-1]), /^indexSelect: index\[0\] is -1, expected an integer in \[0, 2\]/],
    'index_select index 3 on axis of size 3': [
      () => d.indexSelect(E, 0, [0, 3]),
      /^indexSelect: index\[1\] is 3, expected an integer in \[0, 2\]/,
    ],
    'axis 2 of a matrix': [() => d.flip(E, 2), /^flip: axes is 2, expected an integer in \[-2, 1\] for a tensor of rank 2/],
    'cat mismatched shapes': [() => d.cat([E, d.zeros([2, 3])], 0), /^cat: tensor 1 has shape \[2, 3\], expected \[\*, 4\]/],
    'stack mismatched shapes': [() => d.stack([E, d.zeros([3, 3])]), /^stack: tensor 1 has shape \[3, 3\], expected \[3, 4\]/],
    'split sections not summing to the axis': [() => d.split(E, [1, 1], 0), /^split: sections \[1, 1\] sum to 2, expected 3/],
    'topk k larger than the axis': [() => d.topk(E, 5, 1), /^topk: k is 5, expected an integer in \[0, 4\]/],
    'narrow past the end': [() => d.narrow(E, 1, 2, 3), /^narrow: length is 3, expected an integer in \[0, 2\]/],
    'chunk into 0': [() => d.chunk(E, 0), /^chunk: chunks is 0, expected a positive integer/],
    'where with shapes that do not broadcast': [
      () => d.where(d.ones([3, 1]), E, d.zeros([2])),
      /^where: b has shape \[2\], expected a shape that broadcasts with \[3, 4\] \(cond \[3, 1\], a \[3, 4\]\)/,
    ],
    'clamp with neither bound': [() => d.clamp(E), /^clamp: min and max are both missing/],
    'flip the same axis twice': [() => d.flip(E, [0, -2]), /^flip: axes is \[0, -2\], expected distinct axes/],
  };
  assert.deepEqual(Object.keys(cases).sort(), Object.keys(G.errors).sort(), 'every golden error case is checked');
  for (const [name, [call, re]] of Object.entries(cases)) {
    assert.ok(G.errors[name], `PyTorch refuses: ${name}`);
    throwsWith(call, re, name);
  }
  // more of the same family
  throwsWith(() => d.index(E, '::0'), /^index: the step of the slice on axis 0 is 0, expected a non-zero integer/);
  throwsWith(() => d.index(E, '..., 1, ...'), /^index: '\.\.\., 1, \.\.\.' has 2 ellipses/);
  throwsWith(() => d.index(E, [1.5]), /^index: item 0 is 1\.5, expected an integer/);
  throwsWith(() => d.index(E, [{ start: 0, end: 2 } as d.Slice]), /^index: the slice at item 0 has an unknown field 'end'/);
  throwsWith(() => d.cat([E, d.zeros([3, 4], { dtype: 'float64' })]), /^cat: tensor 1 is float64, expected float32/);
  throwsWith(() => d.cat([]), /^cat: tensors is an empty list/);
  throwsWith(() => d.gather(E, 1, [[1.5]]), /^gather: index\[0, 0\] is 1\.5, expected an integer in \[0, 3\]/);
  throwsWith(() => d.unsqueeze(E, 3), /^unsqueeze: axis is 3, expected an integer in \[-3, 2\] for a tensor of rank 2/);
  throwsWith(() => d.split(E, 0), /^split: size is 0, expected a positive integer/);
  throwsWith(() => d.argmin(E, -3), /^argmin: axis is -3, expected an integer in \[-2, 1\]/);
  throwsWith(() => d.argmax(E, 2), /^argmax: axis 2 is out of range for a tensor of rank 2 \(expected an integer in \[-2, 1\]\)/);
  throwsWith(
    () => d.clamp(d.zeros([3]), d.zeros([2]), 1),
    /^clamp: min has shape \[2\], expected a shape that broadcasts with \[3\] \(x \[3\]\)/,
  );
  throwsWith(
    () => d.gt(d.zeros([2, 3]), d.zeros([2])),
    /^gt: b has shape \[2\], expected a shape that broadcasts with \[2, 3\] \(a \[2, 3\]\)/,
  );
  throwsWith(
    () => d.maskedFill(d.zeros([3]), d.ones([2]), 1),
    /^maskedFill: mask has shape \[2\], expected a shape that broadcasts to x's \[3\]/,
  );
  throwsWith(
    () => d.maskedFill(d.zeros([3]), d.ones([2, 3]), 1),
    /^maskedFill: mask has shape \[2, 3\], expected a shape that broadcasts to x's \[3\]/,
  );
});

test('item() reads a one-element tensor of any rank, the Tensor methods chain', () => {
  const x = d.tensor([
    [1, -2, 3],
    [4, 5, -6],
  ]);
  assert.equal(x.index('1, -1').item(), -6);
  assert.equal(d.sum(x).item(), 5);
  assert.equal(x.index('0:1, 1:2').item(), -2);
  throwsWith(() => x.item(), /item\(\): tensor of shape \[2, 3\] has 6 elements, expected 1/);
  assert.deepEqual(
    x
      .clamp(0, 4)
      .flip(1)
      .gather(1, [[0], [2]])
      .toArray(),
    [[3], [4]],
  );
  assert.deepEqual(x.indexSelect(1, [2]).squeeze().toArray(), [3, -6]);
  assert.deepEqual(x.maskedFill(x.lt(0), 0).toArray(), [
    [1, 0, 3],
    [4, 5, 0],
  ]);
  assert.deepEqual(
    x.split(1, 1).map((t) => t.shape),
    [
      [2, 1],
      [2, 1],
      [2, 1],
    ],
  );
  assert.deepEqual(
    x.chunk(2).map((t) => t.toArray()),
    [[[1, -2, 3]], [[4, 5, -6]]],
  );
  assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 3]);
  assert.deepEqual(x.narrow(1, 1, 2).toArray(), [
    [-2, 3],
    [5, -6],
  ]);
  assert.deepEqual(x.min(1).toArray(), [-2, -6]);
  assert.deepEqual([...x.argmax(1)], [2, 1]);
  assert.deepEqual(x.topk(1, 0).values.toArray(), [[4, 5, 3]]);
  assert.deepEqual(x.sort(1).indices.toArray(), [
    [1, 0, 2],
    [2, 0, 1],
  ]);
  assert.deepEqual(
    [x.ge(3), x.le(3), x.eq(3), x.ne(3)].map((t) => [...t.data].join('')),
    ['001110', '111001', '001000', '110111'],
  );
});

test('arange takes torch.arange forms: (end), (start, end), (start, end, step) with the options last; ⌈(end − start)/step⌉ values, start + i·step', () => {
  assert.deepEqual(d.arange(4).toArray(), [0, 1, 2, 3]);
  assert.deepEqual(d.arange(2, 5).toArray(), [2, 3, 4]);
  assert.deepEqual(d.arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(d.arange(5, 0, -2).toArray(), [5, 3, 1]);
  assert.equal(d.arange(2, 1).size, 0);
  // float step: 10 values as torch.arange(0, 1, 0.1), each start + i·step (the last 0.9, not 1)
  const tenths = d.arange(0, 1, 0.1, { dtype: 'float64' });
  assert.equal(tenths.size, 10);
  assert.equal(tenths.data[9], 9 * 0.1);
  assert.equal(d.arange(3, { dtype: 'float64' }).dtype, 'float64');
  assert.equal(d.arange(1, 3, { requiresGrad: true }).requiresGrad, true);
  assert.throws(() => d.arange(0, 1, 0), /^RangeError: arange: step must not be 0$/);
  assert.throws(() => d.arange(0, Infinity), /^RangeError: arange: end must be a finite number, got Infinity$/);
});

test('max and min without an axis reduce every element to a 0-d tensor and share the gradient evenly among ties (NaN ones when the result is NaN), as torch.max(x) does', () => {
  // torch 1.13: tensor([[1., 3], [3, 2]]).max().backward() gives [[0, 0.5], [0.5, 0]]
  const x = d.tensor(
    [
      [1, 3],
      [3, 2],
    ],
    { requiresGrad: true, dtype: 'float64' },
  );
  const m = d.max(x);
  assert.deepEqual([...m.shape], []);
  assert.equal(m.item(), 3);
  m.backward();
  assert.deepEqual(x.grad!.toArray(), [
    [0, 0.5],
    [0.5, 0],
  ]);
  // [[1, nan], [3, nan]]: the maximum is NaN, the gradient goes half to each NaN
  const y = d.tensor(
    [
      [1, NaN],
      [3, NaN],
    ],
    { requiresGrad: true },
  );
  const n = y.max();
  assert.ok(Number.isNaN(n.item()));
  n.backward();
  assert.deepEqual(y.grad!.toArray(), [
    [0, 0.5],
    [0, 0.5],
  ]);
  const z = d.tensor([4, 1, 1], { requiresGrad: true });
  const q = d.min(z);
  assert.equal(q.item(), 1);
  q.backward();
  assert.deepEqual(z.grad!.toArray(), [0, 0.5, 0.5]);
  assert.deepEqual([...d.max(x, undefined, true).shape], [1, 1]);
  gradCheck((v) => d.mul(d.max(v), d.min(v)), [randT([3, 4], 9)]);
  assert.throws(
    () => d.max(d.zeros([0, 3])),
    /^ShapeError: max: the tensor of shape \[0, 3\] is empty, expected at least one element to reduce$/,
  );
});
