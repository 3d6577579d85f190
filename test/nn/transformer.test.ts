/**
 * TransformerEncoderLayer, TransformerEncoder and the positional layers against PyTorch 1.13
 * (tools/golden_attention.py: test/fixtures/attention/): post-norm ReLU, pre-norm GELU with a key
 * padding mask, a causal source mask and a 2-layer encoder with a final norm load PyTorch's
 * state_dicts by name and give its outputs and every gradient in float64 (reference and wasm); an
 * Embedding → PositionalEmbedding → TransformerEncoder(2) → mean → Linear classifier trained ten Adam
 * steps gives PyTorch's losses, by hand and through fit(). Then the contracts: deep-copied layers
 * start equal, dropout, positional tables, state dicts, safetensors, summary, fuse, errors.
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
interface LayerCase {
  name: string;
  options: d.TransformerEncoderLayerOptions & { dModel: number; nhead: number; numLayers?: number };
  encoder: boolean | null;
  state: Record<string, Entry>;
  x: Entry;
  out: Entry;
  R: number[];
  gx: number[];
  grads: Record<string, number[]>;
  keyPaddingMask?: Entry;
  srcMask?: Entry;
}
interface Train {
  vocab: number;
  maxLength: number;
  dModel: number;
  nhead: number;
  dimFeedforward: number;
  classes: number;
  lr: number;
  state: Record<string, Entry>;
  ids: Entry;
  y: number[];
  losses: number[];
}
const F: { torch: string; layers: LayerCase[]; train: Train } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/attention/attention.json', import.meta.url), 'utf8'),
);

const TOL = 1e-10;
const t64 = (e: Entry, requiresGrad = false) => d.fromData(new Float64Array(e.data), e.shape, { requiresGrad });

type Encoderish = d.TransformerEncoderLayer | d.TransformerEncoder;

function build(c: LayerCase): Encoderish {
  const { dModel, nhead, numLayers, ...rest } = c.options;
  const layer = new d.TransformerEncoderLayer(dModel, nhead, { ...rest, dtype: 'float64', rng: new d.Rng(1) });
  const m = c.encoder ? new d.TransformerEncoder(layer, numLayers!, { norm: new d.LayerNorm(dModel, { dtype: 'float64' }) }) : layer;
  assert.deepEqual(Object.keys(m.stateDict()), Object.keys(c.state), `${c.name}: PyTorch's state_dict names, in its order`);
  m.loadStateDict(c.state);
  return m;
}

function replay(c: LayerCase): void {
  const m = build(c);
  const x = t64(c.x, true);
  const out = m.forwardMasked(
    x,
    { srcKeyPaddingMask: c.keyPaddingMask ? t64(c.keyPaddingMask) : null, srcMask: c.srcMask ? t64(c.srcMask) : null },
    { training: true, rng: new d.Rng(5) },
  );
  assert.deepEqual(out.shape, c.out.shape, `${c.name}: output shape`);
  assertClose(out.data, c.out.data, TOL, `${c.name} output`);
  d.sum(d.mul(out, d.fromData(new Float64Array(c.R), out.shape))).backward();
  assertClose(x.grad!.data, c.gx, TOL, `${c.name} input gradient`);
  for (const [n, p] of m.namedParameters()) assertClose(p.grad!.data, c.grads[n], TOL, `${c.name} gradient of ${n}`);
}

test(`TransformerEncoderLayer and TransformerEncoder equal PyTorch ${F.torch} (training mode, dropout 0): outputs and every gradient (float64)`, () => {
  assert.deepEqual(
    F.layers.map((c) => c.name),
    ['post_relu', 'pre_gelu_padding', 'post_causal_mask', 'encoder2_norm'],
  );
  for (const c of F.layers) replay(c);
});

test('the same on the wasm backend', async () => {
  await initWasm();
  d.setBackend('wasm');
  try {
    for (const c of F.layers) replay(c);
  } finally {
    d.setBackend('reference');
  }
});

test('a causal source mask equals isCausal', () => {
  const c = F.layers.find((l) => l.name === 'post_causal_mask')!;
  const m = build(c) as d.TransformerEncoderLayer;
  assertClose(m.forwardMasked(t64(c.x), { isCausal: true }).data, c.out.data, TOL, 'isCausal');
});

class MeanOverL extends d.Module {
  forward(x: d.Tensor): d.Tensor {
    return d.mean(x, 1);
  }
}

function classifier(tr: Train, dtype: d.DType = 'float64'): d.Sequential {
  const rng = new d.Rng(1);
  const layer = new d.TransformerEncoderLayer(tr.dModel, tr.nhead, {
    dimFeedforward: tr.dimFeedforward,
    dropout: 0,
    activation: 'gelu',
    normFirst: true,
    dtype,
    rng,
  });
  return new d.Sequential(
    new d.Embedding(tr.vocab, tr.dModel, { dtype, rng }),
    new d.PositionalEmbedding(tr.maxLength, tr.dModel, { dtype, rng }),
    new d.TransformerEncoder(layer, 2, { norm: new d.LayerNorm(tr.dModel, { dtype }) }),
    new MeanOverL(),
    new d.Linear(tr.dModel, tr.classes, { dtype, rng }),
  );
}

test(`a training trajectory: Embedding → PositionalEmbedding → TransformerEncoder(2) → mean → Linear, ten Adam steps, equals PyTorch ${F.torch}`, () => {
  const tr = F.train;
  const model = classifier(tr);
  model.loadStateDict(tr.state);
  const opt = new d.Adam(model.parameters(), { lr: tr.lr });
  const ids = t64(tr.ids);
  const losses: number[] = [];
  for (let i = 0; i < 10; i++) {
    opt.zeroGrad();
    const loss = d.crossEntropy(model.forward(ids, { training: true, rng: new d.Rng(i) }), tr.y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  assertClose(losses, tr.losses, 1e-10, 'losses');
});

test('fit() trains the same classifier: the same trajectory, one full batch per epoch', () => {
  const tr = F.train;
  const model = classifier(tr);
  model.loadStateDict(tr.state);
  const train = new d.DataLoader(new d.TensorDataset(t64(tr.ids), Int32Array.from(tr.y)), { batchSize: tr.y.length });
  const records = d.fit({ model, optimizer: new d.Adam(model.parameters(), { lr: tr.lr }), train, epochs: 10, rng: new d.Rng(3) });
  assertClose(
    records.map((r) => r.trainLoss),
    tr.losses,
    1e-10,
    'fit losses',
  );
});

test('trap: TransformerEncoder deep-copies its layer — every layer starts equal to it, in tensors of its own', () => {
  const layer = new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, rng: new d.Rng(3) });
  const enc = new d.TransformerEncoder(layer, 3);
  const ref = layer.stateDict();
  const sd = enc.stateDict();
  for (let i = 0; i < 3; i++)
    for (const [n, e] of Object.entries(ref)) assert.deepEqual(sd[`layers.${i}.${n}`], e, `layers.${i}.${n} equals the layer's ${n}`);
  const own = new Set(layer.parameters());
  const params = enc.parameters();
  assert.equal(new Set(params).size, params.length, 'no tensor is shared between copies');
  assert.ok(
    params.every((p) => !own.has(p)),
    'the given layer is not one of the copies',
  );
  assert.equal(params.length, 3 * layer.parameters().length);
  // training one copy leaves the others as they were
  const l0 = enc.layers.layers[0] as d.TransformerEncoderLayer;
  l0.linear1.weight.data[0] += 1;
  assert.equal(enc.stateDict()['layers.1.linear1.weight'].data[0], ref['linear1.weight'].data[0]);
  // same seed ⇒ same layer
  assert.deepEqual(new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, rng: new d.Rng(3) }).stateDict(), ref);
  // and the copies keep the layer's options
  assert.equal((enc.layers.layers[2] as d.TransformerEncoderLayer).describe(), layer.describe());
});

test('dropout: eval is deterministic and equals dropout 0; training draws from the rng (same seed ⇒ same output)', () => {
  const mk = (dropout: number) => {
    const m = new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout, dtype: 'float64', rng: new d.Rng(2) });
    return m;
  };
  const a = mk(0.3),
    b = mk(0);
  b.loadStateDict(a.stateDict());
  const x = randT([2, 5, 8], 4);
  assertClose(a.forward(x).data, b.forward(x).data, 0, 'eval = dropout 0');
  assertClose(a.forward(x).data, a.forward(x).data, 0, 'eval deterministic');
  const t1 = a.forward(x, { training: true, rng: new d.Rng(9) });
  const t2 = a.forward(x, { training: true, rng: new d.Rng(9) });
  assertClose(t1.data, t2.data, 0, 'same seed');
  assert.notDeepEqual(Array.from(t1.data), Array.from(b.forward(x).data), 'training drops');
  assert.throws(() => a.forward(x, { training: true }), /random generator/);
});

test('PositionalEmbedding adds weight[0:L], N(0, 0.02) at init; L > maxLength is refused', () => {
  const p = new d.PositionalEmbedding(10, 4, { dtype: 'float64', rng: new d.Rng(1) });
  assert.deepEqual(Object.keys(p.stateDict()), ['weight']);
  const w = Array.from(p.weight.data);
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(std > 0.01 && std < 0.03, `std ${std} ≈ 0.02`);
  const x = randT([2, 3, 4], 2);
  const y = p.forward(x);
  for (let n = 0; n < 2; n++) for (let i = 0; i < 12; i++) assert.equal(y.data[n * 12 + i], x.data[n * 12 + i] + w[i], 'x + P[0:L]');
  gradCheck((a, b) => d.add(p.forward(a), d.mul(b, 0)), [randT([2, 3, 4], 3), randT([1], 4)]);
  d.sum(p.forward(x)).backward();
  assert.deepEqual(Array.from(p.weight.grad!.data.slice(0, 12)), new Array(12).fill(2), 'rows 0..L−1 get the batch sum');
  assert.ok(
    p.weight.grad!.data.slice(12).every((v) => v === 0),
    'rows ≥ L get nothing',
  );
  assert.throws(
    () => p.forward(d.zeros([1, 11, 4], { dtype: 'float64' })),
    /PositionalEmbedding\(10, 4\): sequence length 11 exceeds maxLength 10/,
  );
  assert.throws(() => p.forward(d.zeros([1, 3, 5])), /expected input \[N, L, 4\], got \[1, 3, 5\]/);
});

test("SinusoidalPositionalEncoding is Vaswani et al.'s table (the PyTorch tutorial's), no parameters", () => {
  const s = new d.SinusoidalPositionalEncoding(6, { maxLength: 50 });
  assert.equal(s.parameters().length, 0);
  assert.deepEqual(s.stateDict(), {});
  const x = d.zeros([1, 4, 6], { dtype: 'float64' });
  const y = s.forward(x);
  for (let p = 0; p < 4; p++)
    for (let i = 0; i < 3; i++) {
      const angle = p / 10000 ** ((2 * i) / 6);
      assertClose(y.data[p * 6 + 2 * i], Math.sin(angle), 1e-15, `sin p=${p} i=${i}`);
      assertClose(y.data[p * 6 + 2 * i + 1], Math.cos(angle), 1e-15, `cos p=${p} i=${i}`);
    }
  // a longer then a shorter sequence: the rows do not depend on the length asked first
  const long = s.forward(d.zeros([1, 9, 6], { dtype: 'float64' }));
  assertClose(long.data.slice(0, 24), y.data, 0);
  assertClose(s.forward(x).data, y.data, 0);
  assert.equal(
    new d.SinusoidalPositionalEncoding(5).forward(d.zeros([1, 2, 5])).data[9],
    Math.fround(Math.sin(1 / 10000 ** (4 / 5))),
    'odd dim: last column sin',
  );
  assert.throws(() => s.forward(d.zeros([1, 51, 6])), /sequence length 51 exceeds maxLength 50/);
  assert.throws(() => new d.SinusoidalPositionalEncoding(6, { base: 0 }), /base must be a positive number, got 0/);
});

test('state dicts, safetensors, summary and fuse of a model holding a Transformer encoder', () => {
  const tr = F.train;
  const a = classifier(tr, 'float32');
  const b = classifier(tr, 'float32');
  b.loadStateDict(a.stateDict());
  const ids = d.fromData(new Float32Array(tr.ids.data), tr.ids.shape);
  assert.deepEqual(Array.from(b.forward(ids).data), Array.from(a.forward(ids).data), 'stateDict round trip');
  const c = classifier(tr, 'float32');
  for (const p of c.parameters()) p.data.fill(0);
  d.loadSafetensors(c, d.saveSafetensors(a));
  assert.deepEqual(Array.from(c.forward(ids).data), Array.from(a.forward(ids).data), 'safetensors round trip');
  const names = [...d.decodeSafetensors(d.saveSafetensors(a)).tensors.keys()];
  assert.ok(names.includes('2.layers.1.self_attn.in_proj_weight') && names.includes('2.norm.weight'), names.join(', '));
  const s = d.summary(a, [tr.ids.shape[1]]);
  const L = tr.ids.shape[1],
    E = tr.dModel,
    FF = tr.dimFeedforward;
  assert.deepEqual(
    s.layers.map((l) => l.outputShape),
    [[L, E], [L, E], [L, E], [E], [tr.classes]],
  );
  const perLayer = 3 * E * E + 3 * E + E * E + E + E * FF + FF + FF * E + E + 4 * E;
  assert.equal(s.layers[2].params, 2 * perLayer + 2 * E);
  assert.match(s.toString(), /TransformerEncoder\(2 × TransformerEncoderLayer\(8, 2 heads, ff 16, gelu, pre-norm\), final norm\)/);
  const bare = d.summary(
    new d.Sequential(
      new d.SinusoidalPositionalEncoding(8),
      new d.MultiheadAttention(8, 2, { rng: new d.Rng(1) }),
      new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 }),
    ),
    [5, 8],
  );
  assert.deepEqual(
    bare.layers.map((l) => [l.outputShape, l.params]),
    [
      [[5, 8], 0],
      [[5, 8], 4 * 8 * 8 + 4 * 8],
      [[5, 8], perLayer],
    ],
  );
  const f = d.fuse(a);
  assert.deepEqual(Object.keys(f.stateDict()), Object.keys(a.stateDict()), 'fuse keeps the names');
  assert.deepEqual(Array.from(f.forward(ids).data), Array.from(a.forward(ids).data), 'fuse leaves the encoder as it is');
});

test('errors name the layer and the expected against the actual value', () => {
  assert.throws(() => new d.TransformerEncoderLayer(30, 4), /TransformerEncoderLayer: dModel 30 is not divisible by nhead 4/);
  assert.throws(() => new d.TransformerEncoderLayer(8, 2, { activation: 'tanh' as never }), /activation/);
  assert.throws(() => new d.TransformerEncoderLayer(8, 2, { dropout: 1.5 }), /p must be in \[0, 1\), got 1\.5/);
  assert.throws(() => new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 0 }), /dimFeedforward must be a positive integer, got 0/);
  assert.throws(() => new d.TransformerEncoderLayer(8, 2, { normfirst: true } as never), /normfirst/);
  const layer = new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, rng: new d.Rng(1) });
  assert.throws(
    () => layer.forward(d.zeros([2, 5, 6])),
    /TransformerEncoderLayer\(8, 2 heads, .*\): expected input \[N, L, 8\], got \[2, 5, 6\]/,
  );
  assert.throws(() => layer.forwardMasked(d.zeros([2, 5, 8]), { srcKeyPaddingMask: d.zeros([2, 4]) }), /expected keyPaddingMask \[2, 5\]/);
  assert.throws(() => new d.TransformerEncoder(layer, 0), /numLayers must be a positive integer, got 0/);
  assert.throws(() => new d.TransformerEncoder({} as never, 2), /expected a TransformerEncoderLayer/);
  assert.throws(() => new d.TransformerEncoder(layer, 2, { norm: new d.Linear(8, 8) as never }), /norm/);
  assert.throws(() => new d.PositionalEmbedding(0, 4), /maxLength must be a positive integer, got 0/);
});
