/**
 * Sequence models against PyTorch 1.13 (tools/golden_sequence.py): Linear on [N, T, F] and
 * [N, A, B, F] (the last axis), Transpose, BatchNorm1d on [N, C, L] and LayerNorm over the last
 * axis of [N, T, D] — values and gradients of sum(y·R) in float64 — and ten Adam steps of
 * Embedding → Transpose → Conv1d → ReLU → AdaptiveAvgPool1d(1) → Flatten → Linear on fixed token
 * data, whose losses and final parameters equal PyTorch's. Then the same model through fit(),
 * stateDict/loadStateDict, safetensors and summary(); Dropout on [N, C, L].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { crossEntropy } from '../../src/autograd/cross-entropy.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose } from '../helpers.js';

type Entry = { shape: number[]; data: number[]; grad: number[] };
interface Case {
  name: string;
  params: Record<string, number>;
  x: Entry;
  w?: Entry;
  b?: Entry;
  y: number[];
  yShape: number[];
  gy: number[];
  runningMean?: number[];
  runningVar?: number[];
}
interface Train {
  tokens: { shape: number[]; data: number[] };
  labels: number[];
  lr: number;
  init: Record<string, { shape: number[]; data: number[] }>;
  losses: number[];
  final: Record<string, { shape: number[]; data: number[] }>;
}
const F: { linear: Case[]; transpose: Case[]; norm: Case[]; train: Train } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/sequence/sequence.json', import.meta.url), 'utf8'),
);
const f64 = (v: number[]) => Float64Array.from(v);

/** m's forward on c.x (float64), the backward of sum(y·gy), checked with its weight and bias gradients. */
function check(c: Case, m: d.Module & { weight?: d.Tensor | null; bias?: d.Tensor | null }, opts: d.ForwardOptions = {}): d.Tensor {
  if (c.w) m.loadStateDict({ weight: { shape: c.w.shape, data: c.w.data }, bias: { shape: c.b!.shape, data: c.b!.data }, ...stats(m) });
  const x = d.fromData(f64(c.x.data), c.x.shape, { requiresGrad: true });
  const y = m.forward(x, opts);
  assert.deepEqual(y.shape, c.yShape, c.name);
  assertClose(y.data, c.y, 1e-12, `${c.name} y`);
  d.backward(y, { gradient: d.fromData(f64(c.gy), c.yShape) });
  assertClose(x.grad!.data, c.x.grad, 1e-12, `${c.name} dx`);
  if (c.w) {
    assertClose(m.weight!.grad!.data, c.w.grad, 1e-12, `${c.name} dw`);
    assertClose(m.bias!.grad!.data, c.b!.grad, 1e-12, `${c.name} db`);
  }
  return y;
}

/** A module's buffers as they are (loadStateDict takes the whole state). */
function stats(m: d.Module): d.StateDict {
  return Object.fromEntries(m.namedBuffers().map(([n, t]) => [n, { shape: [...t.shape], data: t.data }]));
}

test('Linear applies to the last axis of [N, T, F] and [N, A, B, F], as PyTorch: values and gradients', () => {
  assert.ok(F.linear.some((c) => c.x.shape.length === 3) && F.linear.some((c) => c.x.shape.length === 4));
  for (const c of F.linear) check(c, new d.Linear(c.w!.shape[1], c.w!.shape[0], { dtype: 'float64' }));
  const fused = d.fuse(new d.Sequential(new d.Linear(4, 3), new d.ReLU()));
  assert.deepEqual(fused.forward(d.zeros([2, 5, 4])).shape, [2, 5, 3], 'the fused LinearReLU takes [N, T, F] too');
});

test('Transpose equals torch.transpose: [N, C, L] → [N, L, C] by default, any two axes (negative ones from the end)', () => {
  for (const c of F.transpose) check(c, new d.Transpose(c.params.dim0, c.params.dim1));
  assert.deepEqual(new d.Transpose().forward(d.zeros([2, 3, 5])).shape, [2, 5, 3]);
  assert.deepEqual(new d.Transpose(1, -2).forward(d.zeros([2, 3, 5])).shape, [2, 3, 5], 'the same axis twice: the identity');
  assert.throws(
    () => new d.Transpose(0, 3).forward(d.zeros([2, 3, 5])),
    /Transpose\(0, 3\): axis 3 is out of range for an input of rank 3 \(expected \[-3, 2\]\)/,
  );
  assert.throws(() => new d.Transpose(0.5), /Transpose: dim0 must be an integer, got 0.5/);
});

test('BatchNorm1d on [N, C, L] (statistics over N and L) and LayerNorm(D) over the last axis of [N, T, D] equal PyTorch', () => {
  const [bn, ln] = F.norm;
  assert.equal(bn.x.shape.length, 3);
  const b = new d.BatchNorm1d(bn.x.shape[1], { dtype: 'float64', eps: bn.params.eps });
  check(bn, b, { training: true });
  assertClose(b.runningMean!.data, bn.runningMean!, 1e-12, 'running mean');
  assertClose(b.runningVar!.data, bn.runningVar!, 1e-12, 'running variance (unbiased, over N·L values)');
  check(ln, new d.LayerNorm(ln.x.shape[2], { dtype: 'float64', eps: ln.params.eps }));
});

test('Dropout on [N, C, L]: each element kept and scaled by 1/(1 − p) or zeroed, the gradient through the same mask; eval is the identity', () => {
  const x = d.fromData(f64(Array.from({ length: 2 * 3 * 40 }, (_, i) => 1 + (i % 7))), [2, 3, 40], { requiresGrad: true });
  const drop = new d.Dropout(0.25);
  const y = drop.forward(x, { training: true, rng: new d.Rng(4) });
  assert.deepEqual(y.shape, [2, 3, 40]);
  d.backward(y, { gradient: d.fromData(new Float64Array(240).fill(2), [2, 3, 40]) });
  let kept = 0;
  for (let i = 0; i < 240; i++) {
    const k = y.data[i] !== 0;
    kept += +k;
    assertClose(y.data[i], k ? x.data[i] / 0.75 : 0, 1e-15, `y[${i}]`);
    assertClose(x.grad!.data[i], k ? 2 / 0.75 : 0, 1e-15, `dx[${i}]`);
  }
  assert.ok(kept > 150 && kept < 210, `${kept} of 240 kept at p = 0.25`);
  assert.deepEqual(Array.from(drop.forward(x, { training: false }).data), Array.from(x.data));
});

function textModel(dtype: 'float32' | 'float64' = 'float64', rng = new d.Rng(1)): d.Sequential {
  return new d.Sequential(
    new d.Embedding(50, 8, { paddingIdx: 0, dtype, rng }),
    new d.Transpose(),
    new d.Conv1d(8, 6, 3, { padding: 1, dtype, rng }),
    new d.ReLU(),
    new d.AdaptiveAvgPool1d(1),
    new d.Flatten(),
    new d.Linear(6, 3, { dtype, rng }),
  );
}

const tokens = () => d.fromData(f64(F.train.tokens.data), F.train.tokens.shape);

/** Ten Adam steps of the text model from PyTorch's initial state in `dtype`, checked against PyTorch's losses and final state to `tol`. */
function replay(dtype: 'float32' | 'float64', tol: number, what: string): void {
  const t = F.train;
  const model = textModel(dtype);
  assert.deepEqual(
    model.namedParameters().map(([n, p]) => [n, p.shape]),
    Object.entries(t.init).map(([n, e]) => [n, e.shape]),
    "PyTorch's state names and shapes",
  );
  model.loadStateDict(t.init);
  assert.ok(t.tokens.data.includes(0), 'the data hold padding tokens');
  const opt = new d.Adam(model.parameters(), { lr: t.lr });
  const x = dtype === 'float64' ? tokens() : d.fromData(Float32Array.from(t.tokens.data), t.tokens.shape);
  const losses: number[] = [];
  for (let i = 0; i < t.losses.length; i++) {
    // in-place .grad buffers, as fit() keeps them: the fused layers' weight gradients land there
    opt.zeroGrad({ setToNone: false });
    const loss = crossEntropy(model.forward(x, { training: true }), t.labels);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  assertClose(losses, t.losses, tol, `${what} losses`);
  const sd = model.stateDict();
  for (const [n, e] of Object.entries(t.final)) assertClose(sd[n].data, e.data, tol, `${what} final ${n}`);
  assert.deepEqual(sd['0.weight'].data.slice(0, 8), new Array(8).fill(0), `${what}: the padding row stays zero`);
}

test(`Embedding → Transpose → Conv1d → ReLU → AdaptiveAvgPool1d → Flatten → Linear: ten Adam steps give PyTorch's losses and parameters (float64)`, () => {
  replay('float64', 1e-10, 'reference');
});

test('the same ten steps on the wasm backend (its convolution kernels through the 1-D view), float32', async () => {
  await initWasm({ threads: 2 });
  d.setBackend('wasm');
  try {
    replay('float32', 2e-5, 'wasm');
  } finally {
    d.setBackend('reference');
  }
});

test('the text model trains through fit(), round-trips stateDict and safetensors, and summary() gives its shapes', () => {
  const rng = new d.Rng(9);
  const model = textModel('float32', rng.fork('model'));
  const x = d.fromData(Float32Array.from(F.train.tokens.data), F.train.tokens.shape);
  const ds = new d.TensorDataset(x, Int32Array.from(F.train.labels));
  const records = d.fit({
    model,
    optimizer: new d.Adam(model.parameters(), { lr: 0.05 }),
    train: new d.DataLoader(ds, { batchSize: 3, shuffle: true, rng: rng.fork('data') }),
    test: new d.DataLoader(ds, { batchSize: 6 }),
    epochs: 15,
    rng: rng.fork('fit'),
  });
  assert.equal(records.length, 15);
  assert.ok(records[14].testLoss! < records[0].testLoss! * 0.7, `test loss ${records[0].testLoss} → ${records[14].testLoss}`);
  const y = d.noGrad(() => model.forward(x));

  const copy = textModel('float32', new d.Rng(123));
  copy.loadStateDict(JSON.parse(JSON.stringify(model.stateDict())));
  assert.deepEqual(Array.from(d.noGrad(() => copy.forward(x)).data), Array.from(y.data), 'stateDict through JSON');
  const fromFile = textModel('float32', new d.Rng(321));
  d.loadSafetensors(fromFile, d.saveSafetensors(model));
  assert.deepEqual(Array.from(d.noGrad(() => fromFile.forward(x)).data), Array.from(y.data), 'safetensors');

  const s = d.summary(model, [9]);
  assert.deepEqual(
    s.layers.map((l) => [l.layer, l.outputShape, l.params]),
    [
      ['Embedding(50, 8, paddingIdx 0)', [9, 8], 50 * 8],
      ['Transpose(-2, -1)', [8, 9], 0],
      ['Conv1d(8→6, 3, padding 1)', [6, 9], 6 * 8 * 3 + 6],
      ['ReLU', [6, 9], 0],
      ['AdaptiveAvgPool1d(1)', [6, 1], 0],
      ['Flatten', [6], 0],
      ['Linear(6→3)', [3], 6 * 3 + 3],
    ],
  );
  assert.equal(s.params, model.numParameters());
  const pools = new d.Sequential(new d.Conv1d(2, 4, 5, { stride: 2 }), new d.MaxPool1d(3, { padding: 1 }), new d.AvgPool1d(2));
  assert.deepEqual(
    d.summary(pools, [2, 100]).layers.map((l) => l.outputShape),
    [
      [4, 48],
      [4, 16],
      [4, 8],
    ],
  );
});
