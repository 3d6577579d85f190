/**
 * BatchNorm1d / BatchNorm2d against PyTorch (fixtures from tools/golden_batchnorm.py): outputs,
 * gradients of the input and affine parameters, and the running statistics after each training
 * batch and in evaluation, on the reference and the wasm backend; a CNN with both layers trained
 * by SGD with momentum; and the buffers in stateDict, loadStateDict, copyFrom and the errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose } from '../helpers.js';

await initWasm({ threads: 2 });
const F = JSON.parse(readFileSync(new URL('../../../test/fixtures/batchnorm/batchnorm.json', import.meta.url), 'utf8'));

type Entry = { shape: number[]; data: number[] };
const BACKENDS = ['reference', 'wasm'] as const;

function onBackends(fn: (backend: string) => void): void {
  try {
    for (const b of BACKENDS) {
      d.setBackend(b);
      fn(b);
    }
  } finally {
    d.setBackend('wasm');
  }
}

test('BatchNorm1d and BatchNorm2d equal PyTorch: output, input and affine gradients, running statistics per training batch, evaluation (reference and wasm)', () => {
  assert.ok(F.layers.length >= 8);
  onBackends((backend) => {
    for (const c of F.layers) {
      const dtype = c.dtype as d.DType;
      const tol = dtype === 'float64' ? 1e-10 : 2e-5;
      const Cls = c.kind === '1d' ? d.BatchNorm1d : d.BatchNorm2d;
      const m = new Cls(c.features, { ...c.options, dtype });
      m.loadStateDict(c.initial);
      c.steps.forEach(
        (
          s: {
            training: boolean;
            x: Entry;
            gy: number[];
            y: number[];
            gx: number[];
            gweight?: number[];
            gbias?: number[];
            state: Record<string, Entry>;
          },
          i: number,
        ) => {
          const what = `${backend} ${c.name} step ${i}${s.training ? '' : ' (eval)'}`;
          for (const p of m.parameters()) p.grad = null;
          const x = d.fromData(s.x.data, s.x.shape, { dtype, requiresGrad: true });
          const y = m.forward(x, { training: s.training });
          assertClose(y.data, s.y, tol, `${what} y`);
          d.backward(y, { gradient: d.fromData(s.gy, s.x.shape, { dtype }) });
          assertClose(x.grad!.data, s.gx, tol * 10, `${what} dx`);
          if (s.gweight) {
            assertClose(m.weight!.grad!.data, s.gweight, tol * 10, `${what} dweight`);
            assertClose(m.bias!.grad!.data, s.gbias!, tol * 10, `${what} dbias`);
          }
          const sd = m.stateDict();
          assert.deepEqual(Object.keys(sd).sort(), Object.keys(s.state).sort(), `${what}: state names`);
          for (const [k, e] of Object.entries(s.state)) {
            assert.deepEqual(sd[k].shape, e.shape, `${what} ${k} shape`);
            assertClose(sd[k].data, e.data, tol, `${what} ${k}`);
          }
        },
      );
    }
  });
});

test('a CNN with BatchNorm2d and BatchNorm1d trained by SGD with momentum follows PyTorch: losses, parameters, running statistics, evaluation logits (reference and wasm)', () => {
  const T = F.training;
  onBackends((backend) => {
    const net = new d.Sequential(
      new d.Conv2d(1, 4, 3, { padding: 1 }),
      new d.BatchNorm2d(4),
      new d.ReLU(),
      new d.MaxPool2d(2),
      new d.Flatten(),
      new d.Linear(64, 16),
      new d.BatchNorm1d(16),
      new d.ReLU(),
      new d.Linear(16, 3),
    );
    net.loadStateDict(T.initial);
    const opt = new d.SGD(net.parameters(), { lr: T.lr, momentum: T.momentum });
    const losses: number[] = [];
    for (const b of T.batches) {
      opt.zeroGrad();
      const loss = d.crossEntropy(net.forward(d.fromData(b.x, [8, 1, 8, 8]), { training: true }), b.y);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    assertClose(losses, T.losses, 1e-5, `${backend} losses`);
    const sd = net.stateDict();
    assert.deepEqual(Object.keys(sd).sort(), Object.keys(T.final).sort());
    for (const [k, e] of Object.entries(T.final as Record<string, Entry>)) assertClose(sd[k].data, e.data, 1e-4, `${backend} ${k}`);
    const logits = net.forward(d.fromData(T.evalX, [4, 1, 8, 8]));
    assertClose(logits.data, T.evalLogits, 1e-4, `${backend} evaluation logits`);
  });
});

test('BatchNorm: evaluation uses the running statistics and leaves them as they are; fuse keeps the layer', () => {
  const bn = new d.BatchNorm2d(2);
  const x = d.randn([4, 2, 3, 3], new d.Rng(1));
  bn.forward(x, { training: true });
  const before = bn.stateDict();
  const a = bn.forward(x),
    b = bn.forward(x);
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  assert.deepEqual(bn.stateDict(), before);
  assert.equal(before.num_batches_tracked.data[0], 1);
  // running_var after one batch: 0.9 + 0.1 · (unbiased batch variance), so evaluation differs from training's output
  const t = bn.forward(x, { training: true });
  assert.notDeepEqual(Array.from(t.data), Array.from(a.data));
  const seq = new d.Sequential(new d.Conv2d(2, 2, 1), new d.BatchNorm2d(2), new d.ReLU());
  assert.ok(d.fuse(seq).layers.some((l) => l instanceof d.BatchNorm2d));
  bn.resetRunningStats();
  assert.deepEqual(bn.stateDict().running_var.data, [1, 1]);
  assert.deepEqual(bn.stateDict().num_batches_tracked.data, [0]);
});

test('Module buffers: in stateDict after the parameters, checked by loadStateDict before anything is copied, copied by copyFrom, not given to optimizers', () => {
  const make = () => new d.Sequential(new d.Linear(3, 4), new d.BatchNorm1d(4));
  const m = make();
  assert.deepEqual(
    m.namedState().map(([n]) => n),
    ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked'],
  );
  assert.deepEqual(
    m.namedBuffers().map(([n]) => n),
    ['1.running_mean', '1.running_var', '1.num_batches_tracked'],
  );
  assert.equal(m.parameters().length, 4);
  assert.ok(m.buffers().every((b) => !b.requiresGrad));
  m.forward(d.randn([5, 3], new d.Rng(2)), { training: true });
  const sd = m.stateDict();
  const other = make();
  const { '1.running_var': _, ...missing } = sd;
  const w0 = Array.from(other.parameters()[0].data);
  assert.throws(() => other.loadStateDict(missing), /missing buffer "1\.running_var"/);
  assert.deepEqual(Array.from(other.parameters()[0].data), w0, 'a refused state changes nothing');
  assert.throws(
    () => other.loadStateDict({ ...sd, '1.running_mean': { shape: [3], data: [0, 0, 0] } }),
    /buffer "1\.running_mean" has shape \[4\], state has \[3\]/,
  );
  other.loadStateDict(sd);
  assert.deepEqual(other.stateDict(), sd);
  const third = make();
  third.copyFrom(m);
  assert.deepEqual(third.stateDict(), sd);
});

test('BatchNorm: errors name the layer, the expected and the actual value', () => {
  assert.throws(
    () => new d.BatchNorm2d(3).forward(d.zeros([2, 4, 2, 2])),
    /BatchNorm2d\(3\): expected input \[N, 3, H, W\], got \[2, 4, 2, 2\]/,
  );
  assert.throws(() => new d.BatchNorm2d(3).forward(d.zeros([2, 3])), /expected input \[N, 3, H, W\], got \[2, 3\]/);
  assert.throws(() => new d.BatchNorm1d(3).forward(d.zeros([2, 3, 1, 1])), /BatchNorm1d\(3\): expected input \[N, 3\] or \[N, 3, L\]/);
  assert.throws(
    () => new d.BatchNorm1d(3).forward(d.zeros([1, 3]), { training: true }),
    /BatchNorm1d\(3\): training needs more than 1 value per channel, got input \[1, 3\]/,
  );
  // one sample is fine in evaluation (the running statistics normalise it)
  assert.deepEqual(
    Array.from(new d.BatchNorm1d(3).forward(d.ones([1, 3])).data).map((v) => Math.round(v * 1e4) / 1e4),
    [1, 1, 1],
  );
  assert.throws(() => new d.BatchNorm1d(0), /BatchNorm1d: numFeatures must be a positive integer, got 0/);
  assert.throws(() => new d.BatchNorm1d(2, { momentum: 1.5 }), /BatchNorm1d: invalid momentum 1\.5; expected a number in \[0, 1\] or null/);
  assert.throws(() => new d.BatchNorm2d(2, { eps: -1 }), /BatchNorm2d: invalid eps -1; expected ≥ 0/);
  assert.throws(() => new d.BatchNorm2d(2, { moment: 0.1 } as never), /unknown option "moment" \(did you mean "momentum"\?\)/);
});
