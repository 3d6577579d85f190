/**
 * TransformerDecoderLayer, TransformerDecoder and Transformer against PyTorch 1.13
 * (tools/golden_decoder.py: test/fixtures/decoder/): post- and pre-norm decoder layers with bool,
 * float and per-head masks, a 2-layer decoder with a final norm and a 2 + 2-layer nn.Transformer with
 * a causal target mask and padding masks load PyTorch's state_dicts by name and give its outputs and
 * every gradient in float64 (reference and wasm); a seq2seq model (embeddings → Transformer →
 * Linear) trained eight Adam steps gives PyTorch's losses (float64, and wasm float32 within float32
 * noise). Then the contracts: the causal flags equal their masks, the mask kinds agree, deep
 * copies, _reset_parameters' init, dropout, errors.
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
interface MaskEntry extends Entry {
  minusInf: number[];
}
type MaskName = 'tgtMask' | 'memoryMask' | 'tgtKeyPaddingMask' | 'memoryKeyPaddingMask' | 'srcKeyPaddingMask';
interface LayerCase {
  name: string;
  options: d.TransformerDecoderLayerOptions & { dModel: number; nhead: number; numLayers?: number };
  maskKind: 'bool' | 'float';
  masks: Partial<Record<MaskName, MaskEntry>>;
  state: Record<string, Entry>;
  tgt: Entry;
  memory: Entry;
  out: Entry;
  R: number[];
  gtgt: number[];
  gmemory: number[];
  grads: Record<string, number[]>;
}
interface TransformerCase {
  options: d.TransformerOptions;
  masks: Partial<Record<MaskName, MaskEntry>>;
  state: Record<string, Entry>;
  src: Entry;
  tgt: Entry;
  out: Entry;
  R: number[];
  gsrc: number[];
  gtgt: number[];
  grads: Record<string, number[]>;
}
interface Train {
  vocab: number;
  dModel: number;
  nhead: number;
  dimFeedforward: number;
  lr: number;
  state: Record<string, Entry>;
  src: Entry;
  tgtIn: Entry;
  y: number[];
  losses: number[];
}
const F: { torch: string; layers: LayerCase[]; transformer: TransformerCase; train: Train } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/decoder/decoder.json', import.meta.url), 'utf8'),
);

const TOL = 1e-10;
const t64 = (e: Entry, requiresGrad = false) => d.fromData(new Float64Array(e.data), e.shape, { requiresGrad });
/** A fixture mask as a tensor: -inf where PyTorch's was. */
const maskT = (e: MaskEntry) =>
  d.fromData(
    Float64Array.from(e.data, (v, i) => (e.minusInf[i] ? -Infinity : v)),
    e.shape,
  );
/** A bool key padding mask (1 = padding) as the float one PyTorch's MHA makes of it: -inf at padding, 0 elsewhere. */
const paddingAsFloat = (e: MaskEntry) =>
  d.fromData(
    Float64Array.from(e.data, (v) => (v ? -Infinity : 0)),
    e.shape,
  );

type Decoderish = d.TransformerDecoderLayer | d.TransformerDecoder;

function build(c: LayerCase): Decoderish {
  const { dModel, nhead, numLayers, ...rest } = c.options;
  const layer = new d.TransformerDecoderLayer(dModel, nhead, { ...rest, dtype: 'float64', rng: new d.Rng(1) });
  const m = numLayers ? new d.TransformerDecoder(layer, numLayers, { norm: new d.LayerNorm(dModel, { dtype: 'float64' }) }) : layer;
  assert.deepEqual(Object.keys(m.stateDict()), Object.keys(c.state), `${c.name}: PyTorch's state_dict names, in its order`);
  m.loadStateDict(c.state);
  return m;
}

/** The case's masks as descent takes them: PyTorch's bool key padding beside float masks becomes the float 0 / -inf. */
function decoderMasks(c: { masks: LayerCase['masks'] }, kind: 'bool' | 'float'): d.DecoderMasks {
  const out: d.DecoderMasks = { maskKind: kind };
  const m = c.masks;
  if (m.tgtMask) out.tgtMask = maskT(m.tgtMask);
  if (m.memoryMask) out.memoryMask = maskT(m.memoryMask);
  const pad = kind === 'float' ? paddingAsFloat : maskT;
  if (m.tgtKeyPaddingMask) out.tgtKeyPaddingMask = pad(m.tgtKeyPaddingMask);
  if (m.memoryKeyPaddingMask) out.memoryKeyPaddingMask = pad(m.memoryKeyPaddingMask);
  return out;
}

function replay(c: LayerCase): void {
  const m = build(c);
  const tgt = t64(c.tgt, true);
  const memory = t64(c.memory, true);
  const out = m.forwardMasked(tgt, memory, decoderMasks(c, c.maskKind), { training: true, rng: new d.Rng(5) });
  assert.deepEqual(out.shape, c.out.shape, `${c.name}: output shape`);
  assertClose(out.data, c.out.data, TOL, `${c.name} output`);
  d.sum(d.mul(out, d.fromData(new Float64Array(c.R), out.shape))).backward();
  assertClose(tgt.grad!.data, c.gtgt, TOL, `${c.name} tgt gradient`);
  assertClose(memory.grad!.data, c.gmemory, TOL, `${c.name} memory gradient`);
  for (const [n, p] of m.namedParameters()) assertClose(p.grad!.data, c.grads[n], TOL, `${c.name} gradient of ${n}`);
}

function buildTransformer(c: TransformerCase): d.Transformer {
  const t = new d.Transformer({ ...c.options, dtype: 'float64', rng: new d.Rng(1) });
  assert.deepEqual(Object.keys(t.stateDict()), Object.keys(c.state), "nn.Transformer's state_dict names, in its order");
  t.loadStateDict(c.state);
  return t;
}

function replayTransformer(masks: d.TransformerMasks, what: string): void {
  const c = F.transformer;
  const t = buildTransformer(c);
  const src = t64(c.src, true);
  const tgt = t64(c.tgt, true);
  const out = t.forwardMasked(src, tgt, masks, { training: true, rng: new d.Rng(5) });
  assertClose(out.data, c.out.data, TOL, `${what}: output`);
  d.sum(d.mul(out, d.fromData(new Float64Array(c.R), out.shape))).backward();
  assertClose(src.grad!.data, c.gsrc, TOL, `${what}: src gradient`);
  assertClose(tgt.grad!.data, c.gtgt, TOL, `${what}: tgt gradient`);
  for (const [n, p] of t.namedParameters()) assertClose(p.grad!.data, c.grads[n], TOL, `${what}: gradient of ${n}`);
}

/** nn.Transformer's case: PyTorch's float causal tgt_mask and bool padding masks, in descent's single-kind forms. */
function transformerMaskForms(): [string, d.TransformerMasks][] {
  const m = F.transformer.masks;
  const T = F.transformer.tgt.shape[1];
  const pads = (f: (e: MaskEntry) => d.Tensor) => ({
    srcKeyPaddingMask: f(m.srcKeyPaddingMask!),
    tgtKeyPaddingMask: f(m.tgtKeyPaddingMask!),
    memoryKeyPaddingMask: f(m.memoryKeyPaddingMask!),
  });
  return [
    ['float: generateSquareSubsequentMask and -inf padding', { ...pads(paddingAsFloat), tgtMask: maskT(m.tgtMask!), maskKind: 'float' }],
    [
      "bool: generateSquareSubsequentMask(T, { kind: 'bool' })",
      { ...pads(maskT), tgtMask: d.Transformer.generateSquareSubsequentMask(T, { kind: 'bool', dtype: 'float64' }) },
    ],
    ['bool: tgtIsCausal', { ...pads(maskT), tgtIsCausal: true }],
  ];
}

test(`TransformerDecoderLayer and TransformerDecoder equal PyTorch ${F.torch} (training mode, dropout 0): outputs and every gradient (float64)`, () => {
  assert.deepEqual(
    F.layers.map((c) => c.name),
    ['post_relu', 'post_relu_bool', 'pre_gelu_bool', 'post_float', 'pre_gelu_per_head', 'decoder2_norm'],
  );
  for (const c of F.layers) replay(c);
});

test(`Transformer (2 + 2 layers, causal target mask, padding masks) equals PyTorch ${F.torch}: output and every gradient, in each mask form`, () => {
  for (const [what, masks] of transformerMaskForms()) replayTransformer(masks, what);
});

test('the same on the wasm backend', async () => {
  await initWasm();
  d.setBackend('wasm');
  try {
    for (const c of F.layers) replay(c);
    const [what, masks] = transformerMaskForms()[0];
    replayTransformer(masks, `wasm, ${what}`);
  } finally {
    d.setBackend('reference');
  }
});

test("generateSquareSubsequentMask is PyTorch's (−∞ above the diagonal, 0 elsewhere); its bool kind is 1 where that is −∞", () => {
  const want = F.transformer.masks.tgtMask!;
  const T = want.shape[0];
  const f = d.Transformer.generateSquareSubsequentMask(T);
  assert.equal(f.dtype, 'float32');
  assert.deepEqual(f.shape, want.shape);
  assert.deepEqual(
    Array.from(f.data),
    want.minusInf.map((v) => (v ? -Infinity : 0)),
  );
  const b = d.Transformer.generateSquareSubsequentMask(T, { kind: 'bool' });
  assert.deepEqual(Array.from(b.data), want.minusInf);
  assert.throws(() => d.Transformer.generateSquareSubsequentMask(0), /sz must be a positive integer, got 0/);
  assert.throws(() => d.Transformer.generateSquareSubsequentMask(3, { kind: 'int' as never }), /kind/);
});

test('tgtIsCausal equals the bool causal tgtMask; memoryIsCausal equals the bool [T, S] mask above the diagonal', () => {
  const c = F.layers.find((l) => l.name === 'post_relu_bool')!;
  const m = build(c) as d.TransformerDecoderLayer;
  const masks = decoderMasks(c, 'bool');
  const viaFlag = m.forwardMasked(t64(c.tgt), t64(c.memory), { ...masks, tgtMask: null, tgtIsCausal: true });
  assertClose(viaFlag.data, c.out.data, TOL, 'tgtIsCausal');
  const [T, S] = [c.tgt.shape[1], c.memory.shape[1]];
  const above = d.fromData(
    Float64Array.from({ length: T * S }, (_, k) => (k % S > Math.floor(k / S) ? 1 : 0)),
    [T, S],
  );
  const base = { tgtKeyPaddingMask: masks.tgtKeyPaddingMask };
  const a = m.forwardMasked(t64(c.tgt), t64(c.memory), { ...base, memoryIsCausal: true });
  const b = m.forwardMasked(t64(c.tgt), t64(c.memory), { ...base, memoryMask: above });
  assertClose(a.data, b.data, 0, 'memoryIsCausal');
  assert.notDeepEqual(Array.from(a.data), Array.from(m.forwardMasked(t64(c.tgt), t64(c.memory), base).data), 'the mask acts');
});

class Seq2Seq extends d.Module {
  readonly srcEmb: d.Embedding;
  readonly tgtEmb: d.Embedding;
  readonly transformer: d.Transformer;
  readonly out: d.Linear;

  constructor(tr: Train, dtype: d.DType) {
    super();
    const rng = new d.Rng(1);
    this.srcEmb = this.registerModule('srcEmb', new d.Embedding(tr.vocab, tr.dModel, { dtype, rng }));
    this.tgtEmb = this.registerModule('tgtEmb', new d.Embedding(tr.vocab, tr.dModel, { dtype, rng }));
    const t = { dModel: tr.dModel, nhead: tr.nhead, numEncoderLayers: 1, numDecoderLayers: 1 };
    this.transformer = this.registerModule(
      'transformer',
      new d.Transformer({ ...t, dimFeedforward: tr.dimFeedforward, dropout: 0, dtype, rng }),
    );
    this.out = this.registerModule('out', new d.Linear(tr.dModel, tr.vocab, { dtype, rng }));
  }

  forward(): d.Tensor {
    throw new Error('Seq2Seq: call logits(src, tgtIn)');
  }

  /** src [N, S] and the shifted target tgtIn [N, T] (ids) → logits [N·T, vocab]; 0 in src is padding. */
  logits(src: d.Tensor, tgtIn: d.Tensor): d.Tensor {
    const pad = d.eq(src, 0);
    const h = this.transformer.forwardMasked(this.srcEmb.forward(src), this.tgtEmb.forward(tgtIn), {
      tgtIsCausal: true,
      srcKeyPaddingMask: pad,
      memoryKeyPaddingMask: pad,
    });
    const [n, t] = tgtIn.shape;
    return d.reshape(this.out.forward(h), [n * t, this.out.outFeatures]);
  }
}

function trainSeq2Seq(dtype: d.DType): number[] {
  const tr = F.train;
  const model = new Seq2Seq(tr, dtype);
  model.loadStateDict(tr.state);
  const opt = new d.Adam(model.parameters(), { lr: tr.lr });
  const arr = dtype === 'float64' ? Float64Array : Float32Array;
  const src = d.fromData(arr.from(tr.src.data), tr.src.shape);
  const tgtIn = d.fromData(arr.from(tr.tgtIn.data), tr.tgtIn.shape);
  const losses: number[] = [];
  for (let i = 0; i < tr.losses.length; i++) {
    opt.zeroGrad();
    const loss = d.crossEntropy(model.logits(src, tgtIn), tr.y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  return losses;
}

test(`a seq2seq trajectory: embeddings → Transformer (causal target, source padding) → Linear, eight Adam steps, equals PyTorch ${F.torch}`, () => {
  assert.deepEqual(Object.keys(new Seq2Seq(F.train, 'float64').stateDict()), Object.keys(F.train.state), 'state_dict names');
  assertClose(trainSeq2Seq('float64'), F.train.losses, 1e-10, 'losses');
});

test('the same trajectory on the wasm backend in float32, within float32 noise', async () => {
  await initWasm();
  d.setBackend('wasm');
  try {
    const losses = trainSeq2Seq('float32');
    const err = Math.max(...losses.map((l, i) => Math.abs(l - F.train.losses[i])));
    console.log(`wasm float32 seq2seq losses vs PyTorch float64: max error ${err.toExponential(2)}`);
    assert.ok(err < 2e-5, `wasm float32 losses ${losses} vs PyTorch ${F.train.losses}: max error ${err}`);
    assert.ok(losses.at(-1)! < losses[0] - 0.3, 'the loss falls');
  } finally {
    d.setBackend('reference');
  }
});

test("Transformer's init is _reset_parameters': every matrix Xavier-uniform, the attentions' biases 0, LayerNorms 1 and 0; same seed ⇒ same model", () => {
  const t = new d.Transformer({ dModel: 16, nhead: 4, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 32, rng: new d.Rng(7) });
  const sd = t.stateDict();
  assert.equal(Object.keys(sd).length, 2 * 12 + 2 + 2 * 18 + 2, 'parameters of 2 encoder layers, 2 decoder layers, 2 norms');
  for (const [n, e] of Object.entries(sd)) {
    if (e.shape.length === 2) {
      const [out, inp] = e.shape;
      const bound = Math.sqrt(6 / (out + inp));
      const v = Array.from(e.data);
      assert.ok(
        v.every((x) => Math.abs(x) <= bound),
        `${n} within ±${bound}`,
      );
      // Xavier's bound, not Linear's U(±1/√fanIn) (1/√16 = 0.25 < √(6/48) ≈ 0.354): the redraw happened
      assert.ok(Math.max(...v.map(Math.abs)) > 0.8 * bound, `${n} fills its Xavier range`);
    } else if (/in_proj_bias|out_proj\.bias|norm\d?\.bias$/.test(n))
      assert.ok(
        Array.from(e.data).every((x) => x === 0),
        `${n} is 0`,
      );
    else if (/norm\d?\.weight$/.test(n))
      assert.ok(
        Array.from(e.data).every((x) => x === 1),
        `${n} is 1`,
      );
  }
  assert.notDeepEqual(
    sd['encoder.layers.0.linear1.weight'].data,
    sd['encoder.layers.1.linear1.weight'].data,
    'the copies are redrawn apart',
  );
  const again = new d.Transformer({
    dModel: 16,
    nhead: 4,
    numEncoderLayers: 2,
    numDecoderLayers: 2,
    dimFeedforward: 32,
    rng: new d.Rng(7),
  });
  assert.deepEqual(again.stateDict(), sd);
  const big = new d.Transformer({ dModel: 16, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, rng: new d.Rng(1) });
  assert.equal(big.stateDict()['decoder.layers.0.linear1.weight'].shape[0], 2048, 'dimFeedforward defaults to 2048');
  assert.match(t.describe(), /Transformer\(16, 4 heads, 2 encoder \+ 2 decoder layers, ff 32, relu, post-norm, dropout 0\.1\)/);
});

test('trap: TransformerDecoder deep-copies its layer — every layer starts equal to it, in tensors of its own', () => {
  const layer = new d.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, rng: new d.Rng(3) });
  const dec = new d.TransformerDecoder(layer, 3);
  const ref = layer.stateDict();
  const sd = dec.stateDict();
  for (let i = 0; i < 3; i++)
    for (const [n, e] of Object.entries(ref)) assert.deepEqual(sd[`layers.${i}.${n}`], e, `layers.${i}.${n} equals the layer's ${n}`);
  const own = new Set(layer.parameters());
  const params = dec.parameters();
  assert.equal(new Set(params).size, params.length, 'no tensor is shared between copies');
  assert.ok(
    params.every((p) => !own.has(p)),
    'the given layer is not one of the copies',
  );
  assert.equal(params.length, 3 * layer.parameters().length);
  assert.equal((dec.layers.layers[2] as d.TransformerDecoderLayer).describe(), layer.describe());
  assert.deepEqual(
    new d.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, rng: new d.Rng(3) }).stateDict(),
    ref,
    'same seed ⇒ same layer',
  );
});

test("describe() and options() of the encoder's and the decoder's layers, stacks and the Transformer, to the letter; a clone has its layer's options and description", () => {
  const rng = new d.Rng(1);
  const enc = new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.25, causal: true, rng });
  const enc0 = new d.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, activation: 'gelu', normFirst: true, rng });
  const dec = new d.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.25, layerNormEps: 1e-6, bias: false, rng });
  const dec0 = new d.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, activation: 'gelu', normFirst: true, rng });
  assert.equal(enc.describe(), 'TransformerEncoderLayer(8, 2 heads, ff 16, relu, post-norm, dropout 0.25, causal)');
  assert.equal(enc0.describe(), 'TransformerEncoderLayer(8, 2 heads, ff 16, gelu, pre-norm)');
  assert.equal(dec.describe(), 'TransformerDecoderLayer(8, 2 heads, ff 16, relu, post-norm, dropout 0.25)');
  assert.equal(dec0.describe(), 'TransformerDecoderLayer(8, 2 heads, ff 16, gelu, pre-norm)');
  assert.equal(
    new d.TransformerEncoder(enc, 2).describe(),
    'TransformerEncoder(2 × TransformerEncoderLayer(8, 2 heads, ff 16, relu, post-norm, dropout 0.25, causal))',
  );
  assert.equal(
    new d.TransformerDecoder(dec, 3, { norm: new d.LayerNorm(8) }).describe(),
    'TransformerDecoder(3 × TransformerDecoderLayer(8, 2 heads, ff 16, relu, post-norm, dropout 0.25), final norm)',
  );
  const t = new d.Transformer({
    dModel: 8,
    nhead: 2,
    dimFeedforward: 16,
    numEncoderLayers: 1,
    numDecoderLayers: 2,
    dropout: 0,
    activation: 'gelu',
    normFirst: true,
    rng,
  });
  assert.equal(t.describe(), 'Transformer(8, 2 heads, 1 encoder + 2 decoder layers, ff 16, gelu, pre-norm)');
  const encOptions = {
    dimFeedforward: 16,
    dropout: 0.25,
    activation: 'relu',
    layerNormEps: 1e-5,
    normFirst: false,
    bias: true,
    causal: true,
    dtype: 'float32',
  };
  const decOptions = {
    dimFeedforward: 16,
    dropout: 0.25,
    activation: 'relu',
    layerNormEps: 1e-6,
    normFirst: false,
    bias: false,
    dtype: 'float32',
  };
  // the keys in this order too (options() is what a spec or a saved model would print)
  assert.equal(JSON.stringify(enc.options()), JSON.stringify(encOptions));
  assert.equal(JSON.stringify(dec.options()), JSON.stringify(decOptions));
  assert.equal(JSON.stringify(enc.clone().options()), JSON.stringify(encOptions));
  assert.equal(JSON.stringify(dec.clone().options()), JSON.stringify(decOptions));
  assert.equal(dec.clone().describe(), dec.describe());
  assert.equal(enc.clone().describe(), enc.describe());
});

test('dropout: eval is deterministic and equals dropout 0; training draws from the rng (same seed ⇒ same output)', () => {
  const mk = (dropout: number) => new d.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, dropout, dtype: 'float64', rng: new d.Rng(2) });
  const a = mk(0.3),
    b = mk(0);
  b.loadStateDict(a.stateDict());
  const tgt = randT([2, 5, 8], 4),
    mem = randT([2, 3, 8], 5);
  assertClose(a.forwardMasked(tgt, mem).data, b.forwardMasked(tgt, mem).data, 0, 'eval = dropout 0');
  const t1 = a.forwardMasked(tgt, mem, {}, { training: true, rng: new d.Rng(9) });
  const t2 = a.forwardMasked(tgt, mem, {}, { training: true, rng: new d.Rng(9) });
  assertClose(t1.data, t2.data, 0, 'same seed');
  assert.notDeepEqual(Array.from(t1.data), Array.from(b.forwardMasked(tgt, mem).data), 'training drops');
  assert.throws(() => a.forwardMasked(tgt, mem, {}, { training: true }), /random generator/);
});

test('errors name the layer and the expected against the actual value', () => {
  assert.throws(() => new d.TransformerDecoderLayer(30, 4), /TransformerDecoderLayer: dModel 30 is not divisible by nhead 4/);
  assert.throws(() => new d.TransformerDecoderLayer(8, 2, { dimFeedforward: 0 }), /dimFeedforward must be a positive integer, got 0/);
  assert.throws(() => new d.TransformerDecoderLayer(8, 2, { normfirst: true } as never), /normfirst/);
  const layer = new d.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, rng: new d.Rng(1) });
  const tgt = d.zeros([2, 5, 8]),
    mem = d.zeros([2, 6, 8]);
  assert.throws(
    () => layer.forward(tgt),
    /TransformerDecoderLayer\(8, 2 heads, .*\): forward takes one input, .* call forwardMasked\(tgt, memory/,
  );
  assert.throws(() => layer.forwardMasked(d.zeros([2, 5, 6]), mem), /expected tgt \[N, T, 8\], got \[2, 5, 6\]/);
  assert.throws(
    () => layer.forwardMasked(tgt, d.zeros([2, 6, 4])),
    /expected memory \[2, S, 8\] \(tgt's batch 2, dModel 8\), got \[2, 6, 4\]/,
  );
  assert.throws(() => layer.forwardMasked(tgt, d.zeros([3, 6, 8])), /expected memory \[2, S, 8\] .*got \[3, 6, 8\]/);
  assert.throws(
    () => layer.forwardMasked(tgt, mem, { tgtKeyPaddingMask: d.zeros([2, 6]) }),
    /expected tgtKeyPaddingMask \[2, 5\] \(\[N, T\]\), got \[2, 6\]/,
  );
  assert.throws(
    () => layer.forwardMasked(tgt, mem, { memoryKeyPaddingMask: d.zeros([2, 5]) }),
    /expected memoryKeyPaddingMask \[2, 6\] \(\[N, S\]\), got \[2, 5\]/,
  );
  assert.throws(
    () => layer.forwardMasked(tgt, mem, { tgtMask: d.zeros([5, 6]) }),
    /expected tgtMask \[5, 5\] or \[4, 5, 5\] .*got \[5, 6\]/,
  );
  assert.throws(
    () => layer.forwardMasked(tgt, mem, { memoryMask: d.zeros([5, 5]) }),
    /expected memoryMask \[5, 6\] or \[4, 5, 6\] .*got \[5, 5\]/,
  );
  assert.throws(
    () => layer.forwardMasked(tgt, mem, { tgtMask: d.zeros([5, 5]), tgtIsCausal: true }),
    /give tgtMask or tgtIsCausal, not both/,
  );
  assert.throws(() => layer.forwardMasked(tgt, mem, { tgtPaddingMask: d.zeros([2, 5]) } as never), /tgtPaddingMask/);
  assert.throws(() => new d.TransformerDecoder(layer, 0), /numLayers must be a positive integer, got 0/);
  assert.throws(
    () => new d.TransformerDecoder(new d.TransformerEncoderLayer(8, 2) as never, 2),
    /expected a TransformerDecoderLayer, got TransformerEncoderLayer/,
  );
  assert.throws(() => new d.TransformerDecoder(layer, 1).forward(tgt), /forward takes one input, a decoder two/);
  const t = new d.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, rng: new d.Rng(1) });
  assert.throws(() => t.forward(tgt), /forward takes one input, a Transformer two \(src and tgt\)/);
  assert.throws(() => t.forwardMasked(d.zeros([2, 6, 4]), tgt), /Transformer\(8, .*\): expected src \[N, S, 8\], got \[2, 6, 4\]/);
  assert.throws(() => t.forwardMasked(mem, d.zeros([3, 5, 8])), /expected tgt \[2, T, 8\] \(src's batch 2, dModel 8\), got \[3, 5, 8\]/);
  assert.throws(
    () => t.forwardMasked(mem, tgt, { srcKeyPaddingMask: d.zeros([2, 5]) }),
    /expected srcKeyPaddingMask \[2, 6\] \(\[N, S\]\), got \[2, 5\]/,
  );
  assert.throws(
    () => t.forwardMasked(mem, tgt, { srcMask: d.zeros([6, 5]) }),
    /expected srcMask \[6, 6\] or \[4, 6, 6\] \(\[S, S\] or \[N·nhead, S, S\]\), got \[6, 5\]/,
  );
  assert.throws(() => t.forwardMasked(mem, tgt, { srcMask: d.zeros([6, 6]), srcIsCausal: true }), /give srcMask or srcIsCausal, not both/);
  assert.throws(
    () => t.forwardMasked(mem, tgt, { memoryMask: d.zeros([5, 5]) }),
    /TransformerDecoderLayer\(.*\): expected memoryMask \[5, 6\]/,
  );
  assert.throws(() => new d.Transformer({ numEncoderLayers: 0 }), /numEncoderLayers must be a positive integer, got 0/);
  assert.throws(() => new d.Transformer({ dModel: 10, nhead: 4 }), /Transformer: dModel 10 is not divisible by nhead 4/);
  assert.throws(() => new d.Transformer({ d_model: 8 } as never), /d_model/);
});
