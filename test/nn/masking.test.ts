/**
 * Padding masks carried by a Sequential (ForwardOptions.mask, Module.maskSupport) and causal
 * attention layers. The golden: a classifier Embedding(padding_idx 0) → positions →
 * TransformerEncoder(2) → masked mean → Linear on post-padded ids, ten Adam steps, equals PyTorch
 * 1.13 with src_key_padding_mask = (ids == 0) and the mean over each sample's other steps
 * (tools/golden_attention.py, trainMasked), by hand and through fit(). Then the properties: padding
 * at the end changes nothing (outputs and gradients equal the unpadded sequence's), an all-padding
 * sample gives finite values, layers that cannot honour a mask refuse it by name, and a causal layer's
 * step i does not see steps after i.
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
const F: { torch: string; trainMasked: Train } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/attention/attention.json', import.meta.url), 'utf8'),
);
const t64 = (e: Entry) => d.fromData(new Float64Array(e.data), e.shape);

function classifier(tr: Train, dtype: d.DType = 'float64', causal = false): d.Sequential {
  const rng = new d.Rng(1);
  const layer = new d.TransformerEncoderLayer(tr.dModel, tr.nhead, {
    dimFeedforward: tr.dimFeedforward,
    dropout: 0,
    activation: 'gelu',
    normFirst: true,
    causal,
    dtype,
    rng,
  });
  return new d.Sequential(
    new d.Embedding(tr.vocab, tr.dModel, { paddingIdx: 0, maskPadding: true, dtype, rng }),
    new d.PositionalEmbedding(tr.maxLength, tr.dModel, { dtype, rng }),
    new d.TransformerEncoder(layer, 2, { norm: new d.LayerNorm(tr.dModel, { dtype }) }),
    new d.SequenceMean(),
    new d.Linear(tr.dModel, tr.classes, { dtype, rng }),
  );
}

function trajectory(): number[] {
  const tr = F.trainMasked;
  const model = classifier(tr);
  model.loadStateDict(tr.state);
  const opt = new d.Adam(model.parameters(), { lr: tr.lr });
  const losses: number[] = [];
  for (let i = 0; i < 10; i++) {
    opt.zeroGrad();
    const loss = d.crossEntropy(model.forward(t64(tr.ids), { training: true, rng: new d.Rng(i) }), tr.y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  return losses;
}

test(`a masked classifier's trajectory — padding keys ignored, the mean over the other steps — equals PyTorch ${F.torch}'s`, () => {
  assert.ok(F.trainMasked.ids.data.includes(0), 'the fixture holds padding');
  assertClose(trajectory(), F.trainMasked.losses, 1e-10, 'losses');
});

test('the same on the wasm backend (float64)', async () => {
  await initWasm();
  d.setBackend('wasm');
  try {
    assertClose(trajectory(), F.trainMasked.losses, 1e-10, 'wasm losses');
  } finally {
    d.setBackend('reference');
  }
});

test('fit() carries the mask the same way: the same trajectory', () => {
  const tr = F.trainMasked;
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

test('trap: without maskPadding the padding counts — the trajectory differs from the masked one', () => {
  const tr = F.trainMasked;
  const model = classifier(tr);
  model.loadStateDict(tr.state);
  const plain = new d.Sequential(new d.Embedding(tr.vocab, tr.dModel, { paddingIdx: 0, dtype: 'float64' }), ...model.layers.slice(1));
  plain.loadStateDict(tr.state);
  const masked = model.forward(t64(tr.ids)).data;
  const unmasked = plain.forward(t64(tr.ids)).data;
  assert.ok(Math.max(...Array.from(masked, (v, i) => Math.abs(v - unmasked[i]))) > 1e-3, 'padding changes an unmasked model');
});

/** ids [N, T] padded at the end with `extra` padding steps. */
function padded(ids: number[][], extra: number): d.Tensor {
  const t = ids[0].length + extra;
  return d.fromData(new Float64Array(ids.flatMap((row) => [...row, ...new Array(extra).fill(0)])), [ids.length, t]);
}

test('padding at the end changes nothing: outputs and gradients equal the unpadded sequences’ (causal too)', () => {
  const tr = F.trainMasked;
  for (const causal of [false, true]) {
    const ids = [
      [3, 1, 4, 1],
      [5, 9, 2, 6],
    ];
    const run = (x: d.Tensor) => {
      const model = classifier(tr, 'float64', causal);
      model.loadStateDict(tr.state);
      const out = model.forward(x);
      d.sum(d.mul(out, d.fromData(new Float64Array([0.3, -1, 2, 0.5, 0.7, -0.2]), [2, 3]))).backward();
      const grads = model.namedParameters().map(([n, p]) => [n, Array.from(p.grad!.data)] as const);
      return { out: Array.from(out.data), grads };
    };
    const a = run(padded(ids, 0)),
      b = run(padded(ids, 3));
    assertClose(b.out, a.out, 1e-12, `outputs, causal ${causal}`);
    for (let i = 0; i < a.grads.length; i++) {
      const [name, g] = a.grads[i];
      // the positions of the padding steps (rows 4..6 of 1.weight) take no gradient: those steps are read by nothing
      assertClose(b.grads[i][1], g, 1e-12, `gradient of ${name}, causal ${causal}`);
    }
  }
});

test('a sample that is all padding gives finite outputs and gradients (0 from attention), the others unchanged', () => {
  const tr = F.trainMasked;
  const model = classifier(tr);
  model.loadStateDict(tr.state);
  const ids = d.fromData(new Float64Array([3, 1, 4, 0, 0, 0, 0, 0]), [2, 4]);
  const out = model.forward(ids);
  const loss = d.crossEntropy(out, [1, 2]);
  loss.backward();
  assert.ok(Array.from(out.data).every(Number.isFinite), 'outputs finite');
  for (const [n, p] of model.namedParameters()) assert.ok(Array.from(p.grad!.data).every(Number.isFinite), `${n}'s gradient finite`);
  const alone = model.forward(d.fromData(new Float64Array([3, 1, 4, 0]), [1, 4]));
  assertClose(Array.from(out.data).slice(0, 3), alone.data, 1e-12, 'sample 0 as if alone');
  // sample 1: every step masked, SequenceMean's mean over no step is 0, so the logits are the Linear's bias
  assertClose(Array.from(out.data).slice(3), model.layers[4] instanceof d.Linear ? model.layers[4].bias!.data : [], 1e-12, 'sample 1');
});

test('a mask given to forward reaches every layer, as an Embedding with maskPadding makes it', () => {
  const tr = F.trainMasked;
  const model = classifier(tr);
  model.loadStateDict(tr.state);
  const ids = t64(tr.ids);
  const plain = new d.Sequential(new d.Embedding(tr.vocab, tr.dModel, { paddingIdx: 0, dtype: 'float64' }), ...model.layers.slice(1));
  plain.loadStateDict(tr.state);
  const mask = d.fromData(
    Float64Array.from(tr.ids.data, (v) => (v === 0 ? 1 : 0)),
    tr.ids.shape,
  );
  assertClose(plain.forward(ids, { mask }).data, model.forward(ids).data, 1e-12, 'given = made');
  // and the encoder's forward with opts.mask is forwardMasked with srcKeyPaddingMask (PyTorch's, tested in transformer.test.ts)
  const enc = model.layers[2] as d.TransformerEncoder;
  const x = randT([6, 7, tr.dModel], 5);
  assertClose(
    enc.forward(x, { mask }).data,
    enc.forwardMasked(x, { srcKeyPaddingMask: mask }).data,
    1e-12,
    'forward(mask) = forwardMasked',
  );
});

test('a layer that cannot honour the mask refuses it, naming itself; so does an Embedding with maskPadding but no paddingIdx', () => {
  const rng = new d.Rng(2);
  const ids = d.fromData(new Float32Array([1, 2, 0, 0]), [1, 4]);
  const withConv = new d.Sequential(
    new d.Embedding(5, 4, { paddingIdx: 0, maskPadding: true, rng }),
    new d.Linear(4, 4, { rng }),
    new d.Conv1d(4, 3, 2, { rng }),
  );
  assert.throws(() => withConv.forward(ids), /layer 2 \(Conv1d.*\): takes no padding mask, and its input has one/);
  const withFlatten = new d.Sequential(new d.Embedding(5, 4, { paddingIdx: 0, maskPadding: true, rng }), new d.Flatten());
  assert.throws(() => withFlatten.forward(ids), /layer 1 \(Flatten\): takes no padding mask/);
  // after SequenceMean there is no mask left: a Flatten there is fine
  const ended = new d.Sequential(new d.Embedding(5, 4, { paddingIdx: 0, maskPadding: true, rng }), new d.SequenceMean(), new d.Flatten());
  assert.deepEqual(ended.forward(ids).shape, [1, 4]);
  assert.throws(() => new d.Embedding(5, 4, { maskPadding: true }), /Embedding: maskPadding needs paddingIdx/);
  assert.throws(
    () => new d.SequenceMean().forward(randT([2, 3, 4]), { mask: d.zeros([2, 4]) }),
    /SequenceMean: expected a padding mask \[2, 3\] \(\[N, T\]\), got \[2, 4\]/,
  );
});

test('SequenceMean without a mask is the mean over the steps (x.mean(dim=1)); with one, Keras’ masked mean', () => {
  const x = randT([2, 3, 4], 7);
  assertClose(new d.SequenceMean().forward(x).data, d.mean(x, 1).data, 1e-15, 'mean');
  const mask = d.fromData(new Float64Array([0, 1, 0, 0, 0, 1]), [2, 3]);
  const got = new d.SequenceMean().forward(x, { mask }).data;
  const v = x.data;
  const want = [0, 1, 2, 3].map((f) => (v[f] + v[8 + f]) / 2).concat([0, 1, 2, 3].map((f) => (v[12 + f] + v[16 + f]) / 2));
  assertClose(got, want, 1e-15, 'masked mean');
});

test('causal: a step never sees the steps after it; forward equals attend / forwardMasked with isCausal', () => {
  const rng = new d.Rng(4);
  const mha = new d.MultiheadAttention(8, 2, { causal: true, dtype: 'float64', rng });
  const layer = new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, causal: true, dtype: 'float64', rng });
  const x = randT([2, 5, 8], 3);
  assertClose(mha.forward(x).data, mha.attend(x, x, x, { isCausal: true }).output.data, 1e-14, 'MHA');
  assertClose(layer.forward(x).data, layer.forwardMasked(x, { isCausal: true }).data, 1e-14, 'encoder layer');
  const changed = x.data.slice();
  for (let n = 0; n < 2; n++) for (let f = 0; f < 8; f++) changed[(n * 5 + 4) * 8 + f] += 1; // the last step only
  const y = layer.forward(x).data,
    y2 = layer.forward(d.fromData(changed, x.shape)).data;
  for (let n = 0; n < 2; n++)
    for (let t = 0; t < 5; t++) {
      const same = Array.from({ length: 8 }, (_, f) => y[(n * 5 + t) * 8 + f] === y2[(n * 5 + t) * 8 + f]).every(Boolean);
      assert.equal(same, t < 4, `sample ${n} step ${t} ${t < 4 ? 'unchanged' : 'changed'}`);
    }
  assert.match(layer.describe(), /causal/);
  assert.equal(layer.clone().causal, true, 'clone keeps causal');
  assert.equal(
    new d.TransformerEncoder(layer, 2).layers.layers.every((l) => (l as d.TransformerEncoderLayer).causal),
    true,
  );
});

test('a residual block of per-step layers keeps the mask (padding changes nothing); one with a layer that refuses it refuses it', () => {
  const rng = new d.Rng(8);
  const model = new d.Sequential(
    new d.Embedding(12, 8, { paddingIdx: 0, maskPadding: true, rng }),
    new d.Residual(new d.Sequential(new d.LayerNorm(8), new d.MultiheadAttention(8, 2, { rng }), new d.Linear(8, 8, { rng }))),
    new d.SequenceMean(),
    new d.Linear(8, 2, { rng }),
  );
  const short = model.forward(d.fromData(Float32Array.from([3, 7, 1]), [1, 3]));
  const padded = model.forward(d.fromData(Float32Array.from([3, 7, 1, 0, 0]), [1, 5]));
  assertClose(padded.data, short.data, 1e-5, 'padding');
  assert.equal(model.layers[1].maskSupport, 'keep');
  const refusing = new d.Residual(new d.Sequential(new d.Flatten()));
  assert.equal(refusing.maskSupport, 'refuse');
});
