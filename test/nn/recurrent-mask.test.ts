/**
 * RNN, LSTM and GRU under a padding mask skip the padding steps (Keras' masking). Post-padded, that
 * is PyTorch 1.13's packed sequences (tools/golden_recurrent_mask.py: pack_padded_sequence,
 * pad_packed_sequence's zeros, h_n and c_n after each sample's last real step, every gradient), on
 * the reference and wasm backends, fused and composed; padding anywhere else (before, between)
 * gives what the real steps alone give; a masked Sequential Embedding → LSTM → Linear and
 * Embedding → bidirectional GRU (every step) → SequenceMean → Linear train, padding changing nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as d from '../../src/index.js';
import { initWasm } from '../../src/backend/wasm/index.js';
import { assertClose, randT } from '../helpers.js';

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
  lengths: number[];
  state: Record<string, Entry>;
  x: Entry;
  output: Entry;
  h: Entry;
  c?: Entry;
  R: number[];
  S: number[];
  Sc?: number[];
  gx: number[];
  grads: Record<string, number[]>;
}
const F: { torch: string; cases: Case[] } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/recurrent/masked.json', import.meta.url), 'utf8'),
);
const TOL = 1e-10;
const f64 = (v: ArrayLike<number>, shape: readonly number[], requiresGrad = false) =>
  d.fromData(Float64Array.from(v), [...shape], { requiresGrad });

function build(c: Case, options: d.RNNOptions = {}): d.Recurrent {
  const o = { ...c.options, ...options, dtype: 'float64' as const, rng: new d.Rng(1) };
  const { nonlinearity: _, ...rest } = o;
  const m =
    c.kind === 'RNN'
      ? new d.RNN(c.inputSize, c.hiddenSize, o)
      : c.kind === 'LSTM'
        ? new d.LSTM(c.inputSize, c.hiddenSize, rest)
        : new d.GRU(c.inputSize, c.hiddenSize, rest);
  m.loadStateDict(c.state);
  return m;
}

/** [N, T]: 1 at each sample's steps from its length on. */
const postMask = (lengths: number[], T: number) =>
  f64(
    lengths.flatMap((len) => Array.from({ length: T }, (_, t) => (t >= len ? 1 : 0))),
    [lengths.length, T],
  );

function replay(c: Case, fused: boolean): void {
  const what = `${c.name}${fused ? '' : ' (fused: false)'}`;
  const m = build(c, { fused });
  const x = f64(c.x.data, c.x.shape, true);
  const mask = postMask(c.lengths, c.x.shape[1]);
  const r = m.forwardState(x, undefined, { mask });
  assertClose(r.output.data, c.output.data, TOL, `${what} output`);
  assertClose(r.h.data, c.h.data, TOL, `${what} h_n`);
  let loss = d.add(d.sum(d.mul(r.output, f64(c.R, r.output.shape))), d.sum(d.mul(r.h, f64(c.S, r.h.shape))));
  if (c.kind === 'LSTM') {
    assertClose(r.c!.data, c.c!.data, TOL, `${what} c_n`);
    loss = d.add(loss, d.sum(d.mul(r.c!, f64(c.Sc!, r.c!.shape))));
  }
  loss.backward();
  assertClose(x.grad!.data, c.gx, TOL, `${what} input gradient`);
  for (const [n, p] of m.namedParameters()) assertClose(p.grad!.data, c.grads[n], TOL, `${what} gradient of ${n}`);
}

/** forward's output (every step) and its gradients of sum(output·R): the fused node, which forwardState does not use for an LSTM's c_n. */
function forwardGrads(c: Case, fused: boolean, mask: d.Tensor, x: Entry = c.x) {
  const m = build(c, { fused });
  const xt = f64(x.data, x.shape, true);
  const out = m.forward(xt, { mask });
  d.sum(d.mul(out, f64(c.R, out.shape))).backward();
  return { out: Array.from(out.data), gx: Array.from(xt.grad!.data), grads: m.namedParameters().map(([, p]) => Array.from(p.grad!.data)) };
}

test(`masked (post-padded) RNN, LSTM and GRU equal PyTorch ${F.torch}'s packed sequences: outputs, h_n, c_n, every gradient (float64), fused and composed`, () => {
  assert.deepEqual(
    F.cases.map((c) => c.name),
    ['lstm_2_bi', 'gru_bi', 'rnn_tanh_2', 'lstm'],
  );
  for (const c of F.cases) for (const fused of [true, false]) replay(c, fused);
  // forward runs the fused node for the LSTM too: the same as the composed step
  for (const c of F.cases) {
    const mask = postMask(c.lengths, c.x.shape[1]);
    const a = forwardGrads(c, true, mask),
      b = forwardGrads(c, false, mask);
    assertClose(a.out, b.out, 1e-12, `${c.name} fused output`);
    assertClose(a.gx, b.gx, 1e-12, `${c.name} fused input gradient`);
    a.grads.forEach((g, i) => assertClose(g, b.grads[i], 1e-12, `${c.name} fused gradient ${i}`));
  }
});

test('the same on the wasm backend (float64)', async () => {
  await initWasm();
  d.setBackend('wasm');
  try {
    for (const c of F.cases) for (const fused of [true, false]) replay(c, fused);
  } finally {
    d.setBackend('reference');
  }
});

test('padding before or between the real steps gives what the real steps alone give (Keras: the state passes over them)', () => {
  const c = F.cases.find((k) => k.name === 'lstm_2_bi')!;
  const [N, T, Fe] = c.x.shape;
  // sample n's real steps scattered among padding, in the same order: step t of the post-padded x goes to slot[n][t]
  const slots = [[0, 1, 2, 3, 4, 5], [1, 3, 5], [4]];
  const x = new Float64Array(N * T * Fe);
  const mask = new Float64Array(N * T).fill(1);
  for (let n = 0; n < N; n++)
    slots[n].forEach((s, t) => {
      mask[n * T + s] = 0;
      x.set(c.x.data.slice((n * T + t) * Fe, (n * T + t + 1) * Fe), (n * T + s) * Fe);
    });
  for (const fused of [true, false]) {
    const m = build(c, { fused });
    const r = m.forwardState(f64(x, [N, T, Fe]), undefined, { mask: f64(mask, [N, T]) });
    assertClose(r.h.data, c.h.data, TOL, `h_n, fused ${fused}`);
    assertClose(r.c!.data, c.c!.data, TOL, `c_n, fused ${fused}`);
    // each real step's output at its own step, zero at the padding
    const out = r.output.data;
    const H2 = r.output.shape[2];
    for (let n = 0; n < N; n++)
      for (let s = 0; s < T; s++) {
        const t = slots[n].indexOf(s);
        const want = t < 0 ? new Array(H2).fill(0) : c.output.data.slice((n * T + t) * H2, (n * T + t + 1) * H2);
        assertClose(out.slice((n * T + s) * H2, (n * T + s + 1) * H2), want, TOL, `output of sample ${n} step ${s}, fused ${fused}`);
      }
  }
});

test('a sample all padding keeps its initial state (zero without one); a mask of another shape is refused', () => {
  const lstm = new d.LSTM(3, 4, { dtype: 'float64', rng: new d.Rng(2) });
  const x = randT([2, 3, 3], 4);
  const mask = f64([0, 0, 1, 1, 1, 1], [2, 3]);
  const h0 = randT([1, 2, 4], 5);
  const c0 = randT([1, 2, 4], 6);
  for (const fused of [true, false]) {
    const m = new d.LSTM(3, 4, { dtype: 'float64', rng: new d.Rng(2), fused });
    const r = m.forwardState(x, { h: h0, c: c0 }, { mask });
    assertClose(r.h.data.slice(4), h0.data.slice(4), 1e-15, `sample 1's h_n is h0, fused ${fused}`);
    assertClose(r.c!.data.slice(4), c0.data.slice(4), 1e-15, `sample 1's c_n is c0, fused ${fused}`);
    assert.ok(
      r.output.data.slice(12).every((v) => v === 0),
      'its outputs are zero',
    );
    assert.ok(
      m
        .forward(x, { mask })
        .data.slice(12)
        .every((v) => v === 0),
      'forward: no initial state, zeros',
    );
  }
  assert.throws(
    () => lstm.forward(x, { mask: f64([0, 0, 0, 0], [2, 2]) }),
    /LSTM: expected a padding mask \[2, 3\] \(\[N, T\]\), got \[2, 2\]/,
  );
});

test('in a Sequential: Embedding(maskPadding) → LSTM → Linear and → bidirectional GRU (every step) → SequenceMean → Linear; padding changes nothing', () => {
  const rng = new d.Rng(3);
  const models = [
    new d.Sequential(
      new d.Embedding(12, 4, { paddingIdx: 0, maskPadding: true, rng }),
      new d.LSTM(4, 5, { returnSequences: false, rng }),
      new d.Linear(5, 3, { rng }),
    ),
    new d.Sequential(
      new d.Embedding(12, 4, { paddingIdx: 0, maskPadding: true, rng }),
      new d.GRU(4, 5, { bidirectional: true, numLayers: 2, rng }),
      new d.SequenceMean(),
      new d.Linear(10, 3, { rng }),
    ),
  ];
  for (const model of models) {
    const short = model.forward(d.fromData(Float32Array.from([3, 7, 1, 9, 2, 5, 0, 0]), [2, 4]));
    const padded = model.forward(d.fromData(Float32Array.from([3, 7, 1, 9, 0, 0, 2, 5, 0, 0, 0, 0]), [2, 6]));
    const pre = model.forward(d.fromData(Float32Array.from([0, 0, 3, 7, 1, 9, 0, 0, 0, 0, 2, 5]), [2, 6]));
    assertClose(padded.data, short.data, 1e-5, `${model.layers[1].describe()}: post-padding`);
    assertClose(pre.data, short.data, 1e-5, `${model.layers[1].describe()}: pre-padding`);
  }
  // and they train through fit
  const ids = d.fromData(
    Float32Array.from({ length: 40 }, (_, i) => (i % 5 === 4 ? 0 : 1 + ((i * 7) % 11))),
    [8, 5],
  );
  const train = new d.DataLoader(
    new d.TensorDataset(
      ids,
      Int32Array.from({ length: 8 }, (_, i) => i % 3),
    ),
    { batchSize: 4 },
  );
  const records = d.fit({
    model: models[0],
    optimizer: new d.Adam(models[0].parameters(), { lr: 0.05 }),
    train,
    epochs: 5,
    rng: new d.Rng(1),
  });
  assert.ok(records.at(-1)!.trainLoss < records[0].trainLoss, `the loss falls: ${records.map((r) => r.trainLoss)}`);
});
