/**
 * Conv1d, MaxPool1d, AvgPool1d and AdaptiveAvgPool1d against PyTorch 1.13 (tools/golden_sequence.py:
 * test/fixtures/sequence/sequence.json): values and the gradients of sum(y·R) for input, weight and
 * bias, in float64 on the reference backend and in float32 on the wasm one (they run on the 2-D
 * kernels through a height-1 view); their default initialisation and their errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm, setWasmThreads } from '../../src/backend/wasm/index.js';
import { assertClose } from '../helpers.js';

type Entry = { shape: number[]; data: number[]; grad: number[] };
interface Case {
  name: string;
  params: Record<string, number | boolean | string>;
  x: Entry;
  w?: Entry;
  b?: Entry;
  y: number[];
  yShape: number[];
  gy: number[];
}
const F: { conv1d: Case[]; pool1d: Case[] } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/sequence/sequence.json', import.meta.url), 'utf8'),
);
type DT = 'float32' | 'float64';
const arr = (v: number[], dtype: DT) => (dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v));

function conv1dOf(c: Case, dtype: DT): d.Conv1d {
  const [out, inPerGroup, k] = c.w!.shape;
  const p = c.params as { stride: number; padding: number; dilation: number; groups: number };
  const m = new d.Conv1d(inPerGroup * p.groups, out, k, { ...p, dtype, rng: new d.Rng(1) });
  m.loadStateDict({ weight: { shape: c.w!.shape, data: c.w!.data }, bias: { shape: c.b!.shape, data: c.b!.data } });
  return m;
}

function poolOf(c: Case): d.Module {
  const p = c.params as { kind: string; kernel: number; stride: number; padding: number; countIncludePad: boolean; outputSize: number };
  if (p.kind === 'max') return new d.MaxPool1d(p.kernel, { stride: p.stride, padding: p.padding });
  if (p.kind === 'avg') return new d.AvgPool1d(p.kernel, { stride: p.stride, padding: p.padding, countIncludePad: p.countIncludePad });
  return new d.AdaptiveAvgPool1d(p.outputSize);
}

/** The module's forward on the case's x, then the backward of sum(y·gy): y and every gradient checked to `tol`. */
function check(c: Case, m: d.Module, dtype: DT, tol: number, what: string): void {
  const x = d.fromData(arr(c.x.data, dtype), c.x.shape, { requiresGrad: true });
  const y = m.forward(x);
  assert.deepEqual(y.shape, c.yShape, `${what} ${c.name} shape`);
  assertClose(y.data, c.y, tol, `${what} ${c.name} y`);
  d.backward(y, { gradient: d.fromData(arr(c.gy, dtype), c.yShape) });
  assertClose(x.grad!.data, c.x.grad, tol, `${what} ${c.name} dx`);
  const conv = m instanceof d.Conv1d ? m : null;
  if (conv) {
    assert.deepEqual(conv.weight.grad!.shape, c.w!.shape, 'the weight gradient has the weight shape [out, in/groups, k]');
    assertClose(conv.weight.grad!.data, c.w!.grad, tol, `${what} ${c.name} dw`);
    assertClose(conv.bias!.grad!.data, c.b!.grad, tol, `${what} ${c.name} db`);
  }
}

test('Conv1d equals PyTorch F.conv1d for strides, padding, dilation and groups: values and gradients of x, w, b (float64)', () => {
  assert.ok(F.conv1d.length >= 5);
  assert.ok(F.conv1d.some((c) => c.params.dilation !== 1) && F.conv1d.some((c) => c.params.groups === c.x.shape[1]));
  for (const c of F.conv1d) check(c, conv1dOf(c, 'float64'), 'float64', 1e-12, 'reference');
});

test('MaxPool1d (padding), AvgPool1d (countIncludePad, padding), AdaptiveAvgPool1d (unequal bins) equal PyTorch (float64)', () => {
  const kinds = F.pool1d.map((c) => c.params.kind);
  assert.ok(kinds.includes('max') && kinds.includes('avg') && kinds.includes('adaptive'));
  assert.ok(F.pool1d.some((c) => c.params.kind === 'adaptive' && c.x.shape[2] === 10 && c.params.outputSize === 4));
  for (const c of F.pool1d) check(c, poolOf(c), 'float64', 1e-12, 'reference');
});

test('the wasm backend equals PyTorch on every 1-D convolution and pooling, threads 1 and 2 (float32)', async () => {
  await initWasm({ threads: 2 });
  try {
    d.setBackend('wasm');
    for (const threads of [1, 2]) {
      setWasmThreads(threads);
      for (const c of F.conv1d) check(c, conv1dOf(c, 'float32'), 'float32', 2e-5, `wasm ×${threads}`);
      for (const c of F.pool1d) check(c, poolOf(c), 'float32', 2e-5, `wasm ×${threads}`);
    }
  } finally {
    d.setBackend('reference');
  }
});

test("Conv1d's default initialisation is PyTorch's: weight [out, in/groups, k] and bias in U(±1/√(in/groups·k)); same seed, same values", () => {
  const m = new d.Conv1d(6, 4, 5, { groups: 2, rng: new d.Rng(3) });
  assert.deepEqual(m.weight.shape, [4, 3, 5]);
  assert.deepEqual(m.bias!.shape, [4]);
  assert.deepEqual(
    m.namedParameters().map(([n]) => n),
    ['weight', 'bias'],
  );
  const bound = 1 / Math.sqrt(3 * 5);
  for (const v of [...m.weight.data, ...m.bias!.data]) assert.ok(Math.abs(v) <= bound);
  assert.ok(Math.max(...m.weight.data.map(Math.abs)) > 0.8 * bound, 'the draws fill the interval');
  assert.deepEqual(Array.from(new d.Conv1d(6, 4, 5, { groups: 2, rng: new d.Rng(3) }).weight.data), Array.from(m.weight.data));
  assert.equal(new d.Conv1d(2, 3, 3, { bias: false }).bias, null);
  assert.equal(m.describe(), 'Conv1d(6→4, 5, groups 2)');
});

test('Conv1d, the 1-D pools and AdaptiveAvgPool1d refuse bad options and inputs, naming the layer and the value', () => {
  const throws = (f: () => unknown, re: RegExp) => assert.throws(f, re);
  throws(() => new d.Conv1d(0, 4, 3), /Conv1d: inChannels must be a positive integer, got 0/);
  throws(() => new d.Conv1d(2, 4, 0), /Conv1d kernelSize: expected an integer ≥ 1, got 0/);
  throws(() => new d.Conv1d(2, 4, 3, { stride: 1.5 }), /Conv1d stride: expected an integer ≥ 1, got 1.5/);
  throws(() => new d.Conv1d(2, 4, 3, { padding: -1 }), /Conv1d padding: expected an integer ≥ 0, got -1/);
  throws(() => new d.Conv1d(3, 4, 3, { groups: 2 }), /Conv1d: inChannels 3 is not divisible by groups 2/);
  throws(() => new d.Conv1d(2, 4, 3, { strides: 2 } as never), /Conv1d.*strides/);
  const conv = new d.Conv1d(2, 4, 3);
  throws(() => conv.forward(d.zeros([2, 2, 5, 5])), /Conv1d\(2→4, 3\): expected input \[N, C, L\] .*got \[2, 2, 5, 5\]/);
  throws(() => conv.forward(d.zeros([2, 3, 5])), /expected 2 input channels .*got \[2, 3, 5\]/);
  throws(() => conv.forward(d.zeros([2, 2, 2])), /Conv1d\(2→4, 3\): input length 2 \(padding 0\) is smaller than the kernel 3/);
  throws(() => new d.MaxPool1d(2, { padding: 2 }), /MaxPool1d: padding 2 must be at most half the kernel 2/);
  throws(() => new d.AvgPool1d(3, { stride: 0 }), /AvgPool1d stride: expected an integer ≥ 1, got 0/);
  throws(() => new d.AvgPool1d(3, { countIncludePad: 1 } as never), /AvgPool1d.*countIncludePad/);
  throws(() => new d.MaxPool1d(3).forward(d.zeros([2, 3])), /MaxPool1d\(3\): expected input \[N, C, L\]/);
  throws(() => new d.MaxPool1d(4).forward(d.zeros([1, 1, 3])), /MaxPool1d\(4\): input length 3 \(padding 0\) is smaller than the kernel 4/);
  throws(() => new d.AdaptiveAvgPool1d(0), /AdaptiveAvgPool1d outputSize: expected an integer ≥ 1, got 0/);
  throws(() => new d.AdaptiveAvgPool1d(2).forward(d.zeros([2, 3, 4, 4])), /AdaptiveAvgPool1d\(2\): expected input \[N, C, L\]/);
  // inside a Sequential the error names the layer's position
  throws(
    () => new d.Sequential(new d.Conv1d(2, 4, 3)).forward(d.zeros([1, 5, 8])),
    /layer 0 \(Conv1d\(2→4, 3\)\): .*expected 2 input channels/,
  );
});
