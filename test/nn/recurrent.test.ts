/**
 * RNN, LSTM and GRU against PyTorch 1.13 (tools/golden_recurrent.py: test/fixtures/recurrent/): for
 * each case the weights load by PyTorch's state_dict names, and the output, h_n (c_n) and the
 * gradients of the input and of every parameter for sum(output·R) + sum(h_n·S) (+ sum(c_n·Sc))
 * equal PyTorch's in float64, on the reference and wasm backends; an LSTM → Linear trained ten Adam
 * steps gives PyTorch's losses. Then the layer's own contracts: returnSequences false, initial
 * states, errors, dropout, and the model machinery (fit, state dicts, safetensors, summary).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose, gradCheck, randT } from '../helpers.js';

interface Entry {
  shape: number[];
  data: number[];
}
interface Case {
  name: string;
  kind: 'RNN' | 'LSTM' | 'GRU';
  options: d.RNNOptions;
  inputSize: number;
  hiddenSize: number;
  state: Record<string, Entry>;
  x: Entry;
  h0?: Entry;
  c0?: Entry;
  output: Entry;
  h: Entry;
  c?: Entry;
  R: number[];
  S: number[];
  Sc?: number[];
  gx: number[];
  grads: Record<string, number[]>;
}
interface Train {
  inputSize: number;
  hiddenSize: number;
  classes: number;
  lr: number;
  state: Record<string, Entry>;
  x: Entry;
  y: number[];
  losses: number[];
}
const F: { torch: string; cases: Case[]; train: Train } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/recurrent/recurrent.json', import.meta.url), 'utf8'),
);

const TOL = 1e-10;

function layer(kind: Case['kind'], inputSize: number, hiddenSize: number, options: d.RNNOptions): d.Recurrent {
  if (kind === 'RNN') return new d.RNN(inputSize, hiddenSize, options);
  const { nonlinearity: _, ...rest } = options;
  return kind === 'LSTM' ? new d.LSTM(inputSize, hiddenSize, rest) : new d.GRU(inputSize, hiddenSize, rest);
}

function build(c: Case, options: d.RNNOptions = {}): d.Recurrent {
  const m = layer(c.kind, c.inputSize, c.hiddenSize, { ...c.options, ...options, dtype: 'float64', rng: new d.Rng(1) });
  m.loadStateDict(c.state);
  return m;
}

const t64 = (e: Entry, requiresGrad = false) => d.fromData(new Float64Array(e.data), e.shape, { requiresGrad });

function replay(c: Case): void {
  const m = build(c);
  assert.deepEqual(Object.keys(m.stateDict()), Object.keys(c.state), `${c.name}: PyTorch's state_dict names, in its order`);
  const x = t64(c.x, true);
  const r = m.forwardState(x, { h: c.h0 && t64(c.h0), c: c.c0 && t64(c.c0) });
  assert.deepEqual(r.output.shape, c.output.shape, `${c.name}: output shape`);
  assert.deepEqual(r.h.shape, c.h.shape, `${c.name}: h_n shape`);
  assertClose(r.output.data, c.output.data, TOL, `${c.name} output`);
  assertClose(r.h.data, c.h.data, TOL, `${c.name} h_n`);
  const f64 = (v: number[], shape: number[]) => d.fromData(new Float64Array(v), shape);
  let loss = d.add(d.sum(d.mul(r.output, f64(c.R, r.output.shape))), d.sum(d.mul(r.h, f64(c.S, r.h.shape))));
  if (c.kind === 'LSTM') {
    assert.deepEqual(r.c!.shape, c.c!.shape);
    assertClose(r.c!.data, c.c!.data, TOL, `${c.name} c_n`);
    loss = d.add(loss, d.sum(d.mul(r.c!, f64(c.Sc!, r.c!.shape))));
  } else assert.equal(r.c, undefined, `${c.name}: no cell state`);
  loss.backward();
  assertClose(x.grad!.data, c.gx, TOL, `${c.name} input gradient`);
  for (const [n, p] of m.namedParameters()) assertClose(p.grad!.data, c.grads[n], TOL, `${c.name} gradient of ${n}`);
}

test(`RNN, LSTM and GRU equal PyTorch ${F.torch}: outputs, final states, gradients of the input and every parameter (float64)`, () => {
  assert.deepEqual(
    F.cases.map((c) => c.name),
    ['rnn_tanh', 'rnn_relu_2_bi', 'lstm', 'lstm_2_bi_h0', 'gru', 'gru_2_bi', 'lstm_nobias'],
  );
  for (const c of F.cases) replay(c);
});

test('the same on the wasm backend', async () => {
  await initWasm();
  d.setBackend('wasm');
  try {
    for (const c of F.cases) replay(c);
  } finally {
    d.setBackend('reference');
  }
});

test('float32 parameters: the same values to float32 precision, on the reference and wasm backends', async () => {
  await initWasm();
  for (const backend of ['reference', 'wasm'] as const) {
    d.setBackend(backend);
    try {
      for (const c of F.cases) {
        const m = layer(c.kind, c.inputSize, c.hiddenSize, { ...c.options, rng: new d.Rng(1) });
        m.loadStateDict(c.state);
        assert.equal(m.dtype, 'float32');
        const x = d.fromData(new Float32Array(c.x.data), c.x.shape, { requiresGrad: true });
        const r = m.forwardState(x, {
          h: c.h0 && d.fromData(new Float32Array(c.h0.data), c.h0.shape),
          c: c.c0 && d.fromData(new Float32Array(c.c0.data), c.c0.shape),
        });
        assert.equal(r.output.dtype, 'float32');
        assertClose(r.output.data, c.output.data, 1e-5, `${backend} ${c.name} float32 output`);
        d.sum(d.mul(r.output, d.fromData(new Float32Array(c.R), r.output.shape))).backward();
        assert.ok(x.grad && x.grad.dtype === 'float32');
      }
    } finally {
      d.setBackend('reference');
    }
  }
});

test('returnSequences false gives h_n[-1], or cat(h_n[-2], h_n[-1]) when bidirectional', () => {
  for (const c of F.cases) {
    const m = build(c, { returnSequences: false });
    const y = m.forward(t64(c.x));
    const [L, N, H] = c.h.shape;
    const D = c.options.bidirectional ? 2 : 1;
    assert.deepEqual(y.shape, [N, D * H], c.name);
    // the fixture's h_n with the initial states is the one to compare only where the case has none
    const hN = c.h0 ? m.forwardState(t64(c.x)).h.data : c.h.data;
    const want: number[] = [];
    for (let n = 0; n < N; n++)
      for (let dir = 0; dir < D; dir++) for (let j = 0; j < H; j++) want.push(hN[((L - D + dir) * N + n) * H + j]);
    assertClose(y.data, want, TOL, `${c.name} last hidden state`);
    const seq = build(c).forward(t64(c.x));
    assert.deepEqual(seq.shape, [N, c.x.shape[1], D * H], 'returnSequences true (the default) is the output sequence');
  }
});

test('an initial state changes the output; zeros given equal zeros left out; gradients reach h0 and c0', () => {
  const m = new d.LSTM(3, 4, { dtype: 'float64', rng: new d.Rng(2), numLayers: 2 });
  const x = randT([2, 3, 3], 5);
  const none = m.forwardState(x);
  const zero = m.forwardState(x, { h: d.zeros([2, 2, 4], { dtype: 'float64' }), c: d.zeros([2, 2, 4], { dtype: 'float64' }) });
  assertClose(zero.output.data, none.output.data, 1e-15, 'zeros given');
  const h0 = randT([2, 2, 4], 6);
  const c0 = randT([2, 2, 4], 7);
  const other = m.forwardState(x, { h: h0, c: c0 });
  assert.ok(Math.abs(other.output.data[0] - none.output.data[0]) > 1e-6, 'h0 and c0 are read');
  gradCheck((a, b, c) => m.forwardState(a, { h: b, c }).output, [randT([2, 3, 3], 8), randT([2, 2, 4], 9), randT([2, 2, 4], 10)]);
  const g = new d.GRU(3, 4, { dtype: 'float64', rng: new d.Rng(3), bidirectional: true });
  gradCheck((a, b) => g.forwardState(a, { h: b }).h, [randT([2, 3, 3], 11), randT([2, 2, 4], 12)]);
  const r = new d.RNN(3, 4, { dtype: 'float64', rng: new d.Rng(3), bias: false });
  gradCheck((a) => r.forward(a), [randT([2, 3, 3], 13)]);
});

test('a training trajectory: LSTM (returnSequences false) → Linear, ten Adam steps on cross-entropy, equal PyTorch', () => {
  const tr = F.train;
  const model = new d.Sequential(
    new d.LSTM(tr.inputSize, tr.hiddenSize, { returnSequences: false, dtype: 'float64', rng: new d.Rng(1) }),
    new d.Linear(tr.hiddenSize, tr.classes, { dtype: 'float64', rng: new d.Rng(2) }),
  );
  model.loadStateDict(tr.state);
  const opt = new d.Adam(model.parameters(), { lr: tr.lr });
  const x = t64(tr.x);
  const losses: number[] = [];
  for (let i = 0; i < 10; i++) {
    opt.zeroGrad();
    const loss = d.crossEntropy(model.forward(x, { training: true }), tr.y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  assertClose(losses, tr.losses, 1e-10, 'losses');
});

test('fit() trains an LSTM model: the same trajectory as the loop above, one full batch per epoch', () => {
  const tr = F.train;
  const model = new d.Sequential(
    new d.LSTM(tr.inputSize, tr.hiddenSize, { returnSequences: false, dtype: 'float64', rng: new d.Rng(1) }),
    new d.Linear(tr.hiddenSize, tr.classes, { dtype: 'float64', rng: new d.Rng(2) }),
  );
  model.loadStateDict(tr.state);
  const train = new d.DataLoader(new d.TensorDataset(t64(tr.x), Int32Array.from(tr.y)), { batchSize: tr.y.length });
  const records = d.fit({ model, optimizer: new d.Adam(model.parameters(), { lr: tr.lr }), train, epochs: 10, rng: new d.Rng(3) });
  assertClose(
    records.map((r) => r.trainLoss),
    tr.losses,
    1e-10,
    'fit losses',
  );
});

test('state dicts, safetensors and summary of a model holding an LSTM', () => {
  const make = (seed: number) =>
    new d.Sequential(
      new d.LSTM(5, 6, { numLayers: 2, bidirectional: true, returnSequences: false, rng: new d.Rng(seed) }),
      new d.Linear(12, 3, { rng: new d.Rng(seed + 1) }),
    );
  const a = make(1);
  const b = make(10);
  const x = d.rand([2, 4, 5], new d.Rng(3));
  b.loadStateDict(a.stateDict());
  assert.deepEqual(Array.from(b.forward(x).data), Array.from(a.forward(x).data), 'stateDict round trip');
  const c = make(20);
  d.loadSafetensors(c, d.saveSafetensors(a));
  assert.deepEqual(Array.from(c.forward(x).data), Array.from(a.forward(x).data), 'safetensors round trip');
  const names = [...d.decodeSafetensors(d.saveSafetensors(a)).tensors.keys()];
  assert.ok(names.includes('0.weight_hh_l1_reverse'), names.join(', '));
  const s = d.summary(a, [4, 5]);
  assert.deepEqual(
    s.layers.map((l) => l.outputShape),
    [[12], [3]],
  );
  // per direction and layer: 4H·in + 4H·H + 8H
  const lstm = 2 * (24 * 5 + 24 * 6 + 48) + 2 * (24 * 12 + 24 * 6 + 48);
  assert.equal(s.layers[0].params, lstm);
  assert.equal(s.params, lstm + 12 * 3 + 3);
  assert.match(s.toString(), /LSTM\(5→6, numLayers=2, bidirectional, returnSequences=false\)/);
  const seq = d.summary(new d.GRU(5, 6, { rng: new d.Rng(1) }), [7, 5]);
  assert.deepEqual(seq.layers[0].outputShape, [7, 6]);
});

test('initialisation: PyTorch names and shapes, every value in [−1/√H, 1/√H], same seed ⇒ same values', () => {
  const m = new d.GRU(3, 16, { numLayers: 2, bidirectional: true, rng: new d.Rng(4) });
  const sd = m.stateDict();
  assert.deepEqual(Object.keys(sd).slice(0, 8), [
    'weight_ih_l0',
    'weight_hh_l0',
    'bias_ih_l0',
    'bias_hh_l0',
    'weight_ih_l0_reverse',
    'weight_hh_l0_reverse',
    'bias_ih_l0_reverse',
    'bias_hh_l0_reverse',
  ]);
  assert.deepEqual(sd.weight_ih_l0.shape, [48, 3]);
  assert.deepEqual(sd.weight_ih_l1.shape, [48, 32]);
  assert.deepEqual(sd.weight_hh_l1_reverse.shape, [48, 16]);
  assert.equal(Object.keys(sd).length, 16);
  let lo = Infinity,
    hi = -Infinity;
  for (const e of Object.values(sd)) for (const v of e.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  assert.ok(lo >= -0.25 && hi <= 0.25 && lo < -0.24 && hi > 0.24, `range [${lo}, ${hi}] for H = 16`);
  assert.deepEqual(new d.GRU(3, 16, { numLayers: 2, bidirectional: true, rng: new d.Rng(4) }).stateDict(), sd);
  assert.equal(Object.keys(new d.LSTM(3, 4, { bias: false, rng: new d.Rng(1) }).stateDict()).join(), 'weight_ih_l0,weight_hh_l0');
  const glorot = new d.RNN(3, 16, { init: 'glorot', rng: new d.Rng(4) }).stateDict();
  assert.ok(
    glorot.weight_ih_l0.data.some((v) => Math.abs(v) > 0.25),
    'another init reaches beyond ±1/√H',
  );
});

test('errors name the layer and the expected against the actual value', () => {
  const m = new d.LSTM(28, 8, { rng: new d.Rng(1) });
  assert.throws(() => m.forward(d.zeros([32, 28])), /LSTM: expected input \[N, T, 28\], got \[32, 28\]/);
  assert.throws(() => m.forward(d.zeros([2, 3, 27])), /LSTM: expected input \[N, T, 28\], got \[2, 3, 27\]/);
  assert.throws(() => m.forward(d.zeros([2, 0, 28])), /LSTM: expected at least one time step/);
  assert.throws(() => m.forward(d.zeros([2, 3, 28], { dtype: 'float64' })), /LSTM: input is float64, the parameters are float32/);
  assert.throws(
    () => m.forwardState(d.zeros([2, 3, 28]), { h: d.zeros([1, 3, 8]) }),
    /LSTM: expected initial state h \[1, 2, 8\], got \[1, 3, 8\]/,
  );
  assert.throws(() => new d.GRU(4, 4).forwardState(d.zeros([1, 2, 4]), { c: d.zeros([1, 1, 4]) }), /GRU: has no cell state/);
  assert.throws(() => new d.RNN(4, 0), /RNN: hiddenSize must be a positive integer, got 0/);
  assert.throws(() => new d.GRU(2.5, 4), /GRU: inputSize must be a positive integer, got 2.5/);
  assert.throws(() => new d.LSTM(4, 4, { numLayers: 0 }), /LSTM: numLayers must be a positive integer, got 0/);
  assert.throws(() => new d.LSTM(4, 4, { numLayers: 1.5 }), /LSTM: invalid numLayers 1.5; expected an integer/);
  assert.throws(() => new d.LSTM(4, 4, { dropout: 1.5 }), /LSTM: dropout must be in \[0, 1\], got 1.5/);
  assert.throws(
    () => new d.RNN(4, 4, { nonlinearity: 'sigmoid' as 'tanh' }),
    /RNN: invalid nonlinearity "sigmoid"; expected 'tanh' or 'relu'/,
  );
  assert.throws(() => new d.LSTM(4, 4, { nonlinearity: 'relu' } as d.LSTMOptions), /LSTM: unknown option "nonlinearity"/);
  assert.throws(() => new d.LSTM(4, 4, { batch_first: true } as d.LSTMOptions), /LSTM: unknown option "batch_first"/);
  assert.throws(() => new d.LSTM(4, 4, { bidirectional: 'yes' as unknown as boolean }), /LSTM: invalid bidirectional "yes"/);
  const drop = new d.GRU(4, 4, { numLayers: 2, dropout: 0.5 });
  assert.throws(() => drop.forward(d.zeros([1, 2, 4]), { training: true }), /training mode needs a random generator/);
});

test('dropout: between layers only while training; evaluation equals dropout 0; the mask keeps expectations', () => {
  const opts = { numLayers: 2, dtype: 'float64' as const };
  const x = randT([3, 4, 3], 21);
  const plain = new d.LSTM(3, 5, { ...opts, rng: new d.Rng(7) });
  const drop = new d.LSTM(3, 5, { ...opts, dropout: 0.4, rng: new d.Rng(7) });
  const want = plain.forward(x).data;
  assert.deepEqual(Array.from(drop.forward(x).data), Array.from(want), 'no options: evaluation');
  assert.deepEqual(Array.from(drop.forward(x, { training: false, rng: new d.Rng(1) }).data), Array.from(want));
  assert.deepEqual(
    Array.from(plain.forward(x, { training: true, rng: new d.Rng(1) }).data),
    Array.from(want),
    'dropout 0 trains as evaluates',
  );
  const a = drop.forward(x, { training: true, rng: new d.Rng(8) });
  const b = drop.forward(x, { training: true, rng: new d.Rng(8) });
  assert.deepEqual(Array.from(a.data), Array.from(b.data), 'same seed, same masks');
  assert.ok(
    Array.from(a.data).some((v, i) => Math.abs(v - want[i]) > 1e-6),
    'training mode drops',
  );
  // one layer: nothing comes after it, so there is nothing to drop
  const single = new d.RNN(3, 5, { dtype: 'float64', dropout: 0.4, rng: new d.Rng(7) });
  assert.deepEqual(Array.from(single.forward(x, { training: true, rng: new d.Rng(8) }).data), Array.from(single.forward(x).data));
  // a second layer with identity-like weights (W_ih = I, the rest 0, relu) passes its input through:
  // the training output averages to the evaluation output, inverted dropout's expectation
  const id = new d.RNN(4, 4, { numLayers: 2, nonlinearity: 'relu', dropout: 0.3, dtype: 'float64', rng: new d.Rng(9) });
  const sd = id.stateDict();
  for (const k of ['weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1']) sd[k].data.fill(0);
  sd.weight_ih_l1.data = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  id.loadStateDict(sd);
  const xi = randT([2, 3, 4], 22);
  const evalY = id.forward(xi).data;
  const K = 3000;
  const acc = new Float64Array(evalY.length);
  const rng = new d.Rng(10);
  let zeros = 0,
    positive = 0;
  for (let k = 0; k < K; k++) {
    const y = id.forward(xi, { training: true, rng }).data;
    for (let i = 0; i < y.length; i++) {
      acc[i] += y[i] / K;
      if (evalY[i] > 0) {
        positive++;
        if (y[i] === 0) zeros++;
        else assertClose(y[i], evalY[i] / 0.7, 1e-12, 'a kept value is scaled by 1/(1 − p)');
      }
    }
  }
  for (let i = 0; i < evalY.length; i++) {
    const sd_ = evalY[i] * Math.sqrt(0.3 / 0.7 / K);
    assert.ok(Math.abs(acc[i] - evalY[i]) <= 4.5 * sd_ + 1e-12, `mean ${acc[i]} vs evaluation ${evalY[i]}`);
  }
  assert.ok(Math.abs(zeros / positive - 0.3) < 0.02, `drop rate ${zeros / positive}`);
});

/**
 * The output, final states and the gradients of the input, the initial states and every parameter
 * for sum(output·R) + sum(h_n·S) (+ sum(c_n·Sc)), from a layer built with `opts`.
 */
function outputsAndGrads(
  kind: Case['kind'],
  opts: d.RNNOptions,
  x0: d.Tensor,
  h0: d.Tensor,
  c0: d.Tensor,
  forward: d.ForwardOptions = {},
): Record<string, ArrayLike<number>> {
  const m = layer(kind, 3, 5, { ...opts, rng: new d.Rng(4) });
  const [x, h, c] = [x0, h0, c0].map((t) => d.fromData(t.data.slice(), t.shape, { requiresGrad: true }));
  const r = m.forwardState(x, kind === 'LSTM' ? { h, c } : { h }, forward);
  const weigh = (t: d.Tensor, seed: number) => d.sum(d.mul(t, randT([...t.shape], seed)));
  let loss = d.add(weigh(r.output, 31), weigh(r.h, 32));
  if (r.c) loss = d.add(loss, weigh(r.c, 33));
  loss.backward();
  const out: Record<string, ArrayLike<number>> = { output: r.output.data, h: r.h.data, gx: x.grad!.data, gh0: h.grad!.data };
  if (r.c) Object.assign(out, { c: r.c.data, gc0: c.grad!.data });
  for (const [n, p] of m.namedParameters()) out[`grad ${n}`] = p.grad!.data;
  return out;
}

test('fused (one node per layer and direction, the default) and composed (fused: false) give equal outputs and gradients', async () => {
  const kinds: [Case['kind'], d.RNNOptions][] = [
    ['RNN', { nonlinearity: 'tanh' }],
    ['RNN', { nonlinearity: 'relu' }],
    ['LSTM', {}],
    ['GRU', {}],
    ['LSTM', { bias: false }],
    ['GRU', { bias: false }],
  ];
  for (const [kind, extra] of kinds) {
    const opts: d.RNNOptions = { ...extra, numLayers: 2, bidirectional: true, dropout: 0.3, dtype: 'float64' };
    const x = randT([3, 4, 3], 41);
    const h0 = randT([4, 3, 5], 42);
    const c0 = randT([4, 3, 5], 43);
    const what = `${kind} ${JSON.stringify(extra)}`;
    for (const forward of [{}, { training: true, rng: new d.Rng(5) }]) {
      const fused = outputsAndGrads(kind, opts, x, h0, c0, forward.rng ? { ...forward, rng: new d.Rng(5) } : forward);
      const composed = outputsAndGrads(
        kind,
        { ...opts, fused: false },
        x,
        h0,
        c0,
        forward.rng ? { ...forward, rng: new d.Rng(5) } : forward,
      );
      assert.deepEqual(Object.keys(fused), Object.keys(composed));
      for (const k of Object.keys(fused)) assertClose(fused[k], composed[k], 1e-12, `${what} ${forward.rng ? 'training' : ''} ${k}`);
    }
  }
  // float32 on the wasm backend, where the step products run in the wasm GEMM: equal to float32 precision
  await initWasm();
  d.setBackend('wasm');
  try {
    for (const kind of ['RNN', 'LSTM', 'GRU'] as const) {
      const opts: d.RNNOptions = { numLayers: 2, bidirectional: true };
      const m = (fused: boolean) => layer(kind, 8, 16, { ...opts, fused, rng: new d.Rng(6) });
      const x = d.fromData(Float32Array.from(randT([6, 5, 8], 44).data), [6, 5, 8]);
      const run = (fused: boolean) => {
        const l = m(fused);
        const xi = d.fromData(x.data.slice(), x.shape, { requiresGrad: true });
        const y = l.forward(xi);
        d.sum(d.mul(y, d.fromData(Float32Array.from(randT([...y.shape], 45).data), y.shape))).backward();
        return [y.data, xi.grad!.data, ...l.parameters().map((p) => p.grad!.data)];
      };
      const [a, b] = [run(true), run(false)];
      a.forEach((v, i) => assertClose(v, b[i], 2e-5, `wasm float32 ${kind} [${i}]`));
    }
  } finally {
    d.setBackend('reference');
  }
});

test('gradients of gradients: the fused backward refuses createGraph naming fused: false, which gives them', () => {
  for (const kind of ['RNN', 'LSTM', 'GRU'] as const) {
    const x = randT([2, 3, 3], 51);
    x.requiresGrad = true;
    const fused = layer(kind, 3, 4, { dtype: 'float64', rng: new d.Rng(7) });
    assert.throws(
      () => d.grad([d.sum(d.mul(fused.forward(x), fused.forward(x)))], [x], { createGraph: true }),
      /fused layer's backward is not differentiable \(createGraph\); build the layer with \{ fused: false \}/,
    );
    // with fused: false the Hessian-vector product Hv of f = sum(y²) equals the central difference of the fused gradient
    const composed = layer(kind, 3, 4, { dtype: 'float64', rng: new d.Rng(7), fused: false });
    const f = (m: d.Recurrent, xi: d.Tensor) => d.sum(d.mul(m.forward(xi), m.forward(xi)));
    const v = randT([2, 3, 3], 52);
    const [g] = d.grad([f(composed, x)], [x], { createGraph: true });
    const [hv] = d.grad([d.sum(d.mul(g!, v))], [x]);
    const eps = 1e-5;
    const gradAt = (sign: number) => {
      const xs = d.fromData(
        x.data.map((xv, i) => xv + sign * eps * v.data[i]),
        x.shape,
        { requiresGrad: true },
      );
      return d.grad([f(fused, xs)], [xs])[0]!.data;
    };
    const [gp, gm] = [gradAt(1), gradAt(-1)];
    assertClose(
      hv!.data,
      Array.from(gp, (p, i) => (p - gm[i]) / (2 * eps)),
      1e-6,
      `${kind} Hv`,
    );
  }
});
