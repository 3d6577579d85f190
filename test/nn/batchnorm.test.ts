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
import { assertClose, gradCheck, randT } from '../helpers.js';

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

test('BatchNorm: evaluation uses the running statistics and leaves them as they are', () => {
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

test('updateBatchNorm sets the running statistics to the plain average of the batches (PyTorch update_bn: momentum null), restores momentum, leaves the parameters', async () => {
  const model = new d.Sequential(new d.Linear(3, 2, { rng: new d.Rng(4) }), new d.BatchNorm1d(2, { momentum: 0.3 }));
  const batches = [d.randn([5, 3], new d.Rng(5)), d.randn([7, 3], new d.Rng(6)), d.randn([4, 3], new d.Rng(7))];
  model.forward(batches[0], { training: true }); // statistics that the update must forget
  const params = model.parameters().map((p) => Array.from(p.data));
  const bn = model.layers[1] as d.BatchNorm1d;
  // by hand: each batch's mean and unbiased variance of the Linear layer's output, averaged with equal weights
  const lin = model.layers[0] as d.Linear;
  const want = { mean: [0, 0], var: [0, 0] };
  for (const b of batches) {
    const h = lin.forward(b).toArray<number[][]>();
    for (let c = 0; c < 2; c++) {
      const col = h.map((r) => r[c]);
      const m = col.reduce((a, v) => a + v, 0) / col.length;
      want.mean[c] += m / batches.length;
      want.var[c] += col.reduce((a, v) => a + (v - m) ** 2, 0) / (col.length - 1) / batches.length;
    }
  }
  d.updateBatchNorm(model, batches);
  assertClose(bn.runningMean!.data, want.mean, 1e-5, 'running mean');
  assertClose(bn.runningVar!.data, want.var, 1e-5, 'running variance');
  assert.equal(bn.numBatchesTracked!.data[0], 3);
  assert.equal(bn.momentum, 0.3);
  assert.deepEqual(
    model.parameters().map((p) => Array.from(p.data)),
    params,
  );
  // { x } batches (a DataLoader's) and the async form give the same statistics
  const again = new d.Sequential(lin, new d.BatchNorm1d(2));
  await d.updateBatchNormAsync(
    again,
    batches.map((x) => ({ x })),
  );
  assertClose((again.layers[1] as d.BatchNorm1d).runningMean!.data, want.mean, 1e-5, 'async running mean');
  // dropout in the model needs a generator for the training-mode passes
  const withDropout = new d.Sequential(new d.BatchNorm1d(3), new d.Dropout(0.5));
  assert.throws(() => d.updateBatchNorm(withDropout, batches), /needs a random generator/);
  d.updateBatchNorm(withDropout, batches, { rng: new d.Rng(1) });
  assert.ok(!d.hasBatchNorm(lin) && d.hasBatchNorm(withDropout));
});

test('the model spec: batchnorm is BatchNorm2d after an image layer and BatchNorm1d after a flat one, with its options; formats back; bad values name the layer', () => {
  const layers = d.parseModelSpec('batchnorm,conv:4:3,bn:eps=0.001:momentum=0.2:affine=false,relu,flatten,batchnorm:track=false,linear');
  assert.equal(
    d.formatModelSpec(layers),
    'batchnorm,conv:4:3,batchnorm:eps=0.001:momentum=0.2:affine=false,relu,flatten,batchnorm:track=false,linear',
  );
  const { model, shapes } = d.buildFromLayers(layers, { rng: new d.Rng(1), inputShape: [1, 28, 28], classes: 10 });
  const [a, , b, , , c] = model.layers;
  assert.ok(a instanceof d.BatchNorm2d && a.numFeatures === 1);
  assert.ok(b instanceof d.BatchNorm2d && b.numFeatures === 4 && b.eps === 0.001 && b.momentum === 0.2 && !b.affine && b.weight === null);
  assert.ok(c instanceof d.BatchNorm1d && c.numFeatures === 4 * 26 * 26 && !c.trackRunningStats && c.runningMean === null);
  assert.deepEqual(shapes[5], [4 * 26 * 26]);
  assert.deepEqual(model.forward(d.zeros([2, 1, 28, 28]), { training: true }).shape, [2, 10]);
  assert.throws(
    () => d.parseModelSpec('linear:8,batchnorm:momentum=2'),
    /layer 1 \(batchnorm:momentum=2\): momentum: expected a number in \[0, 1\], got "2"/,
  );
  assert.throws(() => d.parseModelSpec('batchnorm:0.1'), /batchnorm takes no values, got 1/);
});

test("PyTorch's state_dict of a BatchNorm CNN (safetensors, int64 num_batches_tracked) loads into the spec and gives PyTorch's evaluation logits", () => {
  const T = F.training;
  const model = d
    .resolveModel('conv:4:3:pad=1,batchnorm,relu,maxpool:2,flatten,linear:16,batchnorm,relu,linear:3')
    .build({ rng: new d.Rng(0), inputShape: [1, 8, 8], classes: 3 });
  const bytes = readFileSync(new URL('../../../test/fixtures/batchnorm/cnn_bn.safetensors', import.meta.url));
  assert.equal(d.decodeSafetensors(bytes).tensors.get('1.num_batches_tracked')!.dtype, 'I64');
  d.loadSafetensors(model, bytes);
  assert.deepEqual(model.stateDict()['6.num_batches_tracked'].data, [5]);
  assertClose(model.forward(d.fromData(T.evalX, [4, 1, 8, 8])).data, T.evalLogits, 1e-5, 'logits');
  // an integer dtype is for buffers only
  const sd = d.decodeSafetensors(bytes);
  const w = sd.tensors.get('0.bias')!;
  sd.tensors.set('0.bias', { dtype: 'I32', shape: w.shape, data: new Uint8Array(4 * w.shape[0]) });
  assert.throws(
    () => d.loadSafetensors(model, d.encodeSafetensors(sd.tensors)),
    /tensor "0\.bias": dtype I32 cannot be loaded into a float32 parameter; expected F32, F64, F16 or BF16$/,
  );
});

test("fuse: BatchNorm + ReLU as one op gives the two layers' outputs, gradients (first and second order) and running statistics, with NaN kept as ReLU keeps it (reference and wasm)", () => {
  onBackends((backend) => {
    const make = () =>
      new d.Sequential(
        new d.Conv2d(2, 3, 3, { padding: 1, rng: new d.Rng(1) }),
        new d.BatchNorm2d(3),
        new d.ReLU(),
        new d.Flatten(),
        new d.Linear(48, 4, { rng: new d.Rng(2) }),
        new d.BatchNorm1d(4, { momentum: null }),
        new d.ReLU(),
      );
    const plain = make(),
      fused = d.fuse(make()) as d.Sequential;
    assert.deepEqual(
      fused.layers.map((l) => l.constructor.name),
      ['Conv2d', 'BatchNormReLU', 'Flatten', 'Linear', 'BatchNormReLU'],
    );
    assert.deepEqual(
      fused.namedState().map(([n]) => n),
      plain.namedState().map(([n]) => n),
    );
    const x = d.randn([5, 2, 4, 4], new d.Rng(3));
    x.data[7] = NaN; // one sample's values of every channel after the convolution
    for (const training of [true, true, false]) {
      const run = (m: d.Module) => {
        for (const p of m.parameters()) p.grad = null;
        const y = m.forward(x, { training });
        d.sum(d.mul(y, d.randn([5, 4], new d.Rng(4)))).backward();
        return { y: Array.from(y.data), g: m.parameters().map((p) => Array.from(p.grad!.data)), s: m.stateDict() };
      };
      const a = run(plain),
        b = run(fused);
      assertClose(
        b.y.map((v) => (Number.isNaN(v) ? 1e9 : v)),
        a.y.map((v) => (Number.isNaN(v) ? 1e9 : v)),
        1e-5,
        `${backend} y, training ${training}`,
      );
      for (const [i, g] of b.g.entries())
        assertClose(
          g.map((v) => (Number.isNaN(v) ? 1e9 : v)),
          a.g[i].map((v) => (Number.isNaN(v) ? 1e9 : v)),
          1e-5,
          `${backend} gradient ${i}`,
        );
      for (const k of Object.keys(a.s))
        assertClose(
          b.s[k].data.map((v) => (Number.isNaN(v) ? 1e9 : v)),
          a.s[k].data.map((v) => (Number.isNaN(v) ? 1e9 : v)),
          1e-5,
          `${backend} ${k}`,
        );
    }
    // second order: the gradient of a gradient goes through the fused op as through the two layers
    const gg = (m: d.Module) => {
      const xs = d.randn([4, 2, 4, 4], new d.Rng(5)).requireGrad();
      const [gx] = d.grad(d.sum(d.square(m.forward(xs, { training: true }))), [xs], { createGraph: true });
      d.sum(d.square(gx!)).backward();
      return Array.from(m.parameters()[1].grad!.data);
    };
    const p2 = make(),
      f2 = d.fuse(make());
    assertClose(gg(f2), gg(p2), 1e-5, `${backend} second-order gradient`);
  });
});

test("fuse: BatchNorm2d + ReLU + MaxPool2d as one op gives the three layers' outputs, gradients (first and second order) and running statistics (reference and wasm)", () => {
  onBackends((backend) => {
    const make = () =>
      new d.Sequential(
        new d.Conv2d(2, 4, 3, { padding: 1, rng: new d.Rng(1) }),
        new d.BatchNorm2d(4),
        new d.ReLU(),
        new d.MaxPool2d(2),
        new d.Flatten(),
      );
    const plain = make(),
      fused = d.fuse(make()) as d.Sequential;
    assert.deepEqual(
      fused.layers.map((l) => l.constructor.name),
      ['Conv2d', 'BatchNormReLUMaxPool', 'Flatten'],
    );
    assert.deepEqual(
      fused.namedState().map(([n]) => n),
      plain.namedState().map(([n]) => n),
    );
    const x = d.randn([16, 2, 12, 12], new d.Rng(3)); // 4,608 values after the convolution: wasm's kernels take it
    const gOut = d.randn([16, 144], new d.Rng(4));
    for (const training of [true, false]) {
      const run = (m: d.Module) => {
        for (const p of m.parameters()) p.grad = null;
        const y = m.forward(x, { training });
        d.sum(d.mul(y, gOut)).backward();
        return { y: Array.from(y.data), g: m.parameters().map((p) => Array.from(p.grad!.data)), s: m.stateDict() };
      };
      const a = run(plain),
        b = run(fused);
      assertClose(b.y, a.y, 1e-5, `${backend} y, training ${training}`);
      for (const [i, g] of b.g.entries()) assertClose(g, a.g[i], 1e-5, `${backend} gradient ${i}`);
      for (const k of Object.keys(a.s)) assertClose(b.s[k].data, a.s[k].data, 1e-5, `${backend} ${k}`);
    }
    const gg = (m: d.Module) => {
      const xs = x.detach().requireGrad();
      const [gx] = d.grad(d.sum(d.square(m.forward(xs, { training: true }))), [xs], { createGraph: true });
      d.sum(d.square(gx!)).backward();
      return Array.from(m.parameters()[0].grad!.data);
    };
    assertClose(gg(d.fuse(make())), gg(make()), 1e-4, `${backend} second-order gradient`);
  });
});

test('the fast host BatchNorm equals its definition as autograd ops: training and evaluation, with and without affine, 3-D input (float64)', () => {
  for (const [Cls, shape, opts] of [
    [d.BatchNorm2d, [3, 4, 2, 5], {}],
    [d.BatchNorm1d, [6, 3, 4], { affine: false }],
    [d.BatchNorm1d, [7, 5], { trackRunningStats: false }],
  ] as const) {
    const bn = new Cls(shape[1], { ...opts, dtype: 'float64' });
    if (bn.weight) for (let i = 0; i < bn.weight.size; i++) [bn.weight.data[i], bn.bias!.data[i]] = [1 + i / 10, i / 7];
    const x = d.randn([...shape], new d.Rng(8), { dtype: 'float64' });
    for (const training of [true, false]) {
      const xs = x.detach().requireGrad();
      const y = bn.forward(xs, { training });
      // the definition, from the same statistics: (x − μ)/√(σ² + eps)·γ + β
      const axes = [0, ...shape.slice(2).map((_, i) => i + 2)];
      const b = shape.map((v, i) => (i === 1 ? v : 1));
      const x2 = x.detach().requireGrad();
      const useBatch = training || !bn.runningMean;
      const mu = useBatch ? d.mean(x2, axes, true) : d.reshape(bn.runningMean!, b);
      const v = useBatch ? d.variance(x2, axes, true, 0) : d.reshape(bn.runningVar!, b);
      let want = d.div(d.sub(x2, mu), d.sqrt(d.add(v, bn.eps)));
      if (bn.weight) want = d.add(d.mul(want, d.reshape(bn.weight, b)), d.reshape(bn.bias!, b));
      assertClose(y.data, want.data, 1e-12, `${bn.describe()} y, training ${training}`);
      const gy = d.randn([...shape], new d.Rng(9), { dtype: 'float64' });
      d.backward(y, { gradient: gy });
      d.backward(want, { gradient: gy });
      assertClose(xs.grad!.data, x2.grad!.data, 1e-10, `${bn.describe()} dx, training ${training}`);
    }
  }
});

test("wasm's batchNorm kernels equal the float64 loops on tensors big enough to reach them: tails, one value per row, |mean| ≫ std, ReLU with NaN, max pooling after them, batch and running statistics", () => {
  const ext = d.extensionsOf('wasm');
  for (const [Cls, shape, opts, offset] of [
    [d.BatchNorm2d, [16, 8, 9, 11], {}, 0], // planes of 99: vector loops and their tails
    [d.BatchNorm2d, [8, 6, 16, 16], { affine: false }, 3000], // |mean| ≫ std: the split mean
    [d.BatchNorm1d, [4096, 3], { momentum: null }, -2], // one value per (sample, channel)
    [d.BatchNorm1d, [64, 5, 40], { trackRunningStats: false }, 1],
  ] as const) {
    const x0 = d.randn([...shape], new d.Rng(11));
    for (let i = 0; i < x0.size; i++) x0.data[i] = x0.data[i] * (1 + (i % 7) / 3) + offset;
    x0.data[5] = NaN; // in channel 0 of sample 0 (a NaN batch mean), or a single value for BatchNorm1d's rows
    const results = (['reference', 'wasm'] as const).map((backend) => {
      d.setBackend(backend);
      try {
        const bn = new Cls(shape[1], opts);
        if (bn.weight) for (let i = 0; i < bn.weight.size; i++) [bn.weight.data[i], bn.bias!.data[i]] = [0.5 + i / 10, i / 7 - 0.3];
        const fused = new d.BatchNormReLU(bn);
        const pooled =
          shape.length === 4
            ? [
                ['bnrelupool 2', new d.BatchNormReLUMaxPool(bn, new d.MaxPool2d(2))],
                // overlapping windows (an offset scattered to twice), padding and a window over the edge
                [
                  'bnrelupool 3/2 pad 1 ceil',
                  new d.BatchNormReLUMaxPool(bn, new d.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true })),
                ],
              ]
            : [];
        const out: Record<string, number[]> = {};
        for (const [name, m] of [['bn', bn], ['bnrelu', fused], ...pooled] as [string, d.Module][])
          for (const training of [true, false]) {
            const x = x0.detach().requireGrad();
            for (const p of bn.parameters()) p.grad = null;
            const y = m.forward(x, { training });
            d.sum(d.mul(y, d.randn([...y.shape], new d.Rng(12)))).backward();
            const key = `${name} training ${training}`;
            out[`${key} y`] = Array.from(y.data);
            out[`${key} gx`] = Array.from(x.grad!.data);
            for (const [n, p] of bn.namedParameters()) out[`${key} g${n}`] = Array.from(p.grad!.data);
            for (const [n, b] of bn.namedBuffers()) out[`${key} ${n}`] = Array.from(b.data);
          }
        return out;
      } finally {
        d.setBackend('wasm');
      }
    });
    const [ref, wasm] = results;
    const desc = `${Cls.name} ${JSON.stringify(shape)} ${JSON.stringify(opts)}`;
    assert.deepEqual(Object.keys(wasm), Object.keys(ref), desc);
    for (const k of Object.keys(ref)) {
      const nan = (a: number[]) => a.map((v) => (Number.isNaN(v) ? 1e9 : v));
      // float32 kernels against float64 loops that round once: a few float32 ulps of the values' scale
      assertClose(nan(wasm[k]), nan(ref[k]), 2e-5, `${desc} ${k}`);
    }
    // the kernels ran: the extension takes float32 tensors of this size
    const bnx = new Cls(shape[1], opts);
    const outArr = new Float32Array(x0.size);
    const mean = new Float64Array(shape[1]),
      variance = new Float64Array(shape[1]);
    const inner = x0.size / shape[0] / shape[1];
    assert.equal(
      ext.batchNorm?.(
        x0.data,
        outArr,
        shape[0],
        shape[1],
        inner,
        mean,
        variance,
        1e-5,
        true,
        bnx.weight?.data ?? null,
        bnx.bias?.data ?? null,
        false,
      ),
      true,
      desc,
    );
  }
});

test('second derivatives through the host BatchNorm ops reach the layers before them: central differences of a gradient norm, in training and evaluation, with ReLU and with pooling (float64)', () => {
  const bn = new d.BatchNorm2d(3, { dtype: 'float64' });
  for (let i = 0; i < 3; i++) [bn.weight!.data[i], bn.bias!.data[i]] = [0.8 + i / 5, i / 4 - 0.2];
  const layers: [string, d.Module][] = [
    ['BatchNorm2d', bn],
    ['BatchNormReLU', new d.BatchNormReLU(bn)],
    ['BatchNormReLUMaxPool', new d.BatchNormReLUMaxPool(bn, new d.MaxPool2d(2))],
  ];
  const x0 = randT([4, 3, 4, 4], 5);
  for (const [name, m] of layers)
    for (const training of [true, false]) {
      // tanh before the layer: the gradient of the gradient must flow through it, into x
      const f = (x: d.Tensor) => {
        const xs = d.tanh(x);
        const [gx] = d.grad(d.sum(d.pow(m.forward(xs, { training }), 3)), [x], { createGraph: true });
        return d.sum(d.square(gx!));
      };
      try {
        gradCheck(f, [x0], 1e-5);
      } catch (e) {
        throw new Error(`${name}, training ${training}: ${(e as Error).message}`);
      }
    }
});
