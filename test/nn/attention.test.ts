/**
 * scaledDotProductAttention and MultiheadAttention against PyTorch 1.13 (tools/golden_attention.py:
 * test/fixtures/attention/): outputs, attention weights and the gradients of every input and
 * parameter for sum(out·R) (+ sum(weights·W)) in float64, on the reference and wasm backends; the
 * two mask conventions (SDPA: 1 = attend; nn.MHA: 1 = masked) as named trap tests; a fully masked
 * row is NaN as in PyTorch; PyTorch's initialisation; dropout; errors.
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
interface SdpaCase {
  name: string;
  q: Entry;
  k: Entry;
  v: Entry;
  out: Entry;
  R: number[];
  gq: number[];
  gk: number[];
  gv: number[];
  isCausal: boolean;
  mask?: Entry;
  maskKind?: d.MaskKind;
  scale?: number;
}
interface MhaCase {
  name: string;
  embedDim: number;
  numHeads: number;
  options: d.MultiheadAttentionOptions;
  state: Record<string, Entry>;
  query: Entry;
  key?: Entry;
  value?: Entry;
  out: Entry;
  R: number[];
  gquery: number[];
  gkey?: number[];
  gvalue?: number[];
  selfAttention: boolean;
  needWeights: boolean;
  average: boolean;
  weights?: Entry;
  W?: number[];
  keyPaddingMask?: Entry;
  attnMask?: Entry;
  maskKind?: d.MaskKind;
  grads: Record<string, number[]>;
}
const F: { torch: string; sdpa: SdpaCase[]; mha: MhaCase[]; allPadded: { sample0Finite: boolean; sample1NaN: boolean } } = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/attention/attention.json', import.meta.url), 'utf8'),
);

const TOL = 1e-10;
const t64 = (e: Entry, requiresGrad = false) => d.fromData(new Float64Array(e.data), e.shape, { requiresGrad });
const f64 = (v: number[], shape: number[]) => d.fromData(new Float64Array(v), shape);

function replaySdpa(c: SdpaCase): void {
  const [q, k, v] = [t64(c.q, true), t64(c.k, true), t64(c.v, true)];
  const out = d.scaledDotProductAttention(q, k, v, {
    attnMask: c.mask ? t64(c.mask) : null,
    maskKind: c.maskKind,
    isCausal: c.isCausal,
    scale: c.scale,
  });
  assert.deepEqual(out.shape, c.out.shape, `${c.name}: output shape`);
  assertClose(out.data, c.out.data, TOL, `${c.name} output`);
  d.sum(d.mul(out, f64(c.R, out.shape))).backward();
  assertClose(q.grad!.data, c.gq, TOL, `${c.name} dq`);
  assertClose(k.grad!.data, c.gk, TOL, `${c.name} dk`);
  assertClose(v.grad!.data, c.gv, TOL, `${c.name} dv`);
}

function buildMha(c: MhaCase): d.MultiheadAttention {
  const m = new d.MultiheadAttention(c.embedDim, c.numHeads, { ...c.options, dtype: 'float64', rng: new d.Rng(1) });
  assert.deepEqual(Object.keys(m.stateDict()), Object.keys(c.state), `${c.name}: PyTorch's state_dict names, in its order`);
  m.loadStateDict(c.state);
  return m;
}

function replayMha(c: MhaCase): void {
  const m = buildMha(c);
  const query = t64(c.query, true);
  const key = c.selfAttention ? query : t64(c.key!, true);
  const value = c.selfAttention ? query : t64(c.value!, true);
  const r = m.attend(query, key, value, {
    keyPaddingMask: c.keyPaddingMask ? t64(c.keyPaddingMask) : null,
    attnMask: c.attnMask ? t64(c.attnMask) : null,
    maskKind: c.maskKind,
    needWeights: c.needWeights,
    averageAttnWeights: c.average,
  });
  assert.deepEqual(r.output.shape, c.out.shape, `${c.name}: output shape`);
  assertClose(r.output.data, c.out.data, TOL, `${c.name} output`);
  let loss = d.sum(d.mul(r.output, f64(c.R, r.output.shape)));
  if (c.weights) {
    assert.ok(r.weights, `${c.name}: weights returned`);
    assert.deepEqual(r.weights.shape, c.weights.shape, `${c.name}: weights shape`);
    assertClose(r.weights.data, c.weights.data, TOL, `${c.name} weights`);
    loss = d.add(loss, d.sum(d.mul(r.weights, f64(c.W!, r.weights.shape))));
  } else assert.equal(r.weights, null, `${c.name}: needWeights false gives null`);
  loss.backward();
  assertClose(query.grad!.data, c.gquery, TOL, `${c.name} dquery`);
  if (!c.selfAttention) {
    assertClose(key.grad!.data, c.gkey!, TOL, `${c.name} dkey`);
    assertClose(value.grad!.data, c.gvalue!, TOL, `${c.name} dvalue`);
  }
  for (const [n, p] of m.namedParameters()) assertClose(p.grad!.data, c.grads[n], TOL, `${c.name} gradient of ${n}`);
}

test(`scaledDotProductAttention equals PyTorch ${F.torch}'s formula: plain 4-D and 3-D, float and bool masks, causal, scale (float64, every gradient)`, () => {
  assert.deepEqual(
    F.sdpa.map((c) => c.name),
    ['plain4d', 'plain3d', 'float_mask', 'bool_mask', 'causal', 'scale'],
  );
  for (const c of F.sdpa) replaySdpa(c);
});

test(`MultiheadAttention equals PyTorch ${F.torch}: self and cross attention, kdim/vdim, masks, weights averaged and per head, need_weights false, no bias`, () => {
  assert.deepEqual(
    F.mha.map((c) => c.name),
    ['self', 'cross_per_head', 'kdim_vdim', 'key_padding', 'attn_mask_bool', 'attn_mask_float', 'no_weights', 'no_bias'],
  );
  for (const c of F.mha) replayMha(c);
});

test('the same on the wasm backend', async () => {
  await initWasm();
  d.setBackend('wasm');
  try {
    for (const c of F.sdpa) replaySdpa(c);
    for (const c of F.mha) replayMha(c);
  } finally {
    d.setBackend('reference');
  }
});

test('float32: the same values to float32 precision on the reference and wasm backends', async () => {
  await initWasm();
  for (const backend of ['reference', 'wasm'] as const) {
    d.setBackend(backend);
    try {
      for (const c of F.mha) {
        const m = new d.MultiheadAttention(c.embedDim, c.numHeads, { ...c.options, rng: new d.Rng(1) });
        m.loadStateDict(c.state);
        const t32 = (e: Entry) => d.fromData(new Float32Array(e.data), e.shape, { requiresGrad: true });
        const query = t32(c.query);
        const key = c.selfAttention ? query : t32(c.key!);
        const value = c.selfAttention ? query : t32(c.value!);
        const t32m = (e?: Entry) => (e ? d.fromData(new Float32Array(e.data), e.shape) : null);
        const r = m.attend(query, key, value, {
          keyPaddingMask: t32m(c.keyPaddingMask),
          attnMask: t32m(c.attnMask),
          maskKind: c.maskKind,
          needWeights: c.needWeights,
          averageAttnWeights: c.average,
        });
        assert.equal(r.output.dtype, 'float32');
        assertClose(r.output.data, c.out.data, 1e-5, `${backend} ${c.name} float32 output`);
        d.sum(d.mul(r.output, d.fromData(new Float32Array(c.R), r.output.shape))).backward();
        assert.ok(
          query.grad && query.grad.dtype === 'float32' && query.grad.data.every(Number.isFinite),
          `${backend} ${c.name} float32 gradient`,
        );
      }
    } finally {
      d.setBackend('reference');
    }
  }
});

test('trap: the two mask conventions — SDPA bool mask 1 = attend, MultiheadAttention bool mask 1 = masked', () => {
  const m = new d.MultiheadAttention(4, 1, { dtype: 'float64', rng: new d.Rng(3) });
  const x = randT([1, 3, 4], 5);
  // key 2 hidden: SDPA's mask keeps keys 0 and 1 (1 = attend); MHA's mask names key 2 (1 = masked)
  const keep = d.fromData(new Float64Array([1, 1, 0, 1, 1, 0, 1, 1, 0]), [3, 3]);
  const hide = d.fromData(new Float64Array([0, 0, 1, 0, 0, 1, 0, 0, 1]), [3, 3]);
  const mha = m.attend(x, x, x, { attnMask: hide, averageAttnWeights: true });
  for (let i = 0; i < 3; i++) assert.equal(mha.weights!.data[i * 3 + 2], 0, `MHA: query ${i} gives key 2 no weight`);
  const padded = m.attend(x, x, x, { keyPaddingMask: d.fromData(new Float64Array([0, 0, 1]), [1, 3]) });
  assertClose(padded.output.data, mha.output.data, 1e-14, 'keyPaddingMask 1 = padding, the same as attnMask 1 = masked');
  // SDPA with the same projections: the MHA mask given to SDPA would attend ONLY to key 2
  const q = randT([1, 3, 4], 7),
    k = randT([1, 3, 4], 8),
    v = randT([1, 3, 4], 9);
  const sdpaKeep = d.scaledDotProductAttention(q, k, v, { attnMask: keep });
  const sdpaHide = d.scaledDotProductAttention(q, k, v, { attnMask: hide });
  for (let i = 0; i < 3; i++) assertClose(sdpaHide.data.slice(i * 4, i * 4 + 4), v.data.slice(8, 12), 1e-14, 'SDPA 1 = attend: only key 2');
  const manual = d.matmul(
    d.softmax(
      d.add(
        d.mul(d.matmul(q, d.transpose(k, 1, 2)), 0.5),
        d.fromData(new Float64Array([0, 0, -Infinity, 0, 0, -Infinity, 0, 0, -Infinity]), [3, 3]),
      ),
    ),
    v,
  );
  assertClose(sdpaKeep.data, manual.data, 1e-14, 'SDPA keep-mask = additive −∞ on key 2');
  // a float mask given as a bool one is refused, naming the fix
  assert.throws(
    () => d.scaledDotProductAttention(q, k, v, { attnMask: d.fromData(new Float64Array(9).fill(-Infinity), [3, 3]) }),
    /attnMask is read as a bool mask \(0\/1\) but holds -Infinity .*maskKind: 'float'/,
  );
  assert.throws(() => m.attend(x, x, x, { attnMask: d.fromData(new Float64Array(9).fill(0.5), [3, 3]) }), /holds 0\.5/);
});

test(`trap: a query whose keys are all masked — NaN in MultiheadAttention, as PyTorch ${F.torch}'s MHA (its sample 1: NaN ${F.allPadded.sample1NaN}); 0 in SDPA, as PyTorch 2.5+'s`, () => {
  assert.deepEqual(F.allPadded, { sample0Finite: true, sample1NaN: true }, 'PyTorch gives NaN for an all-padding sample');
  const m = new d.MultiheadAttention(4, 2, { dtype: 'float64', rng: new d.Rng(2) });
  const x = randT([2, 3, 4], 11);
  const { output } = m.attend(x, x, x, { keyPaddingMask: d.fromData(new Float64Array([0, 0, 0, 1, 1, 1]), [2, 3]) });
  assert.ok(output.data.slice(0, 12).every(Number.isFinite), 'sample 0 is finite');
  assert.ok(output.data.slice(12).every(Number.isNaN), 'sample 1 is NaN');
  // SDPA (PyTorch 2.6 gives F.scaled_dot_product_attention(q, q, q, attn_mask)[0, 1] = [0, 0, 0, 0] here)
  const q = randT([2, 3, 4], 12);
  const rowMask = d.fromData(new Float64Array([1, 1, 1, 0, 0, 0, 1, 1, 1]), [3, 3]);
  const y = d.scaledDotProductAttention(q, q, q, { attnMask: rowMask });
  for (const n of [0, 1]) {
    assert.deepEqual(Array.from(y.data.slice(n * 12 + 4, n * 12 + 8)), [0, 0, 0, 0], 'SDPA: the row with no key is 0');
    assert.ok([...y.data.slice(n * 12, n * 12 + 4), ...y.data.slice(n * 12 + 8, n * 12 + 12)].every((v) => Number.isFinite(v) && v !== 0));
  }
  d.sum(d.mul(y, randT([2, 3, 4], 13))).backward();
  assert.ok(q.grad!.data.every(Number.isFinite), 'and its gradients are finite');
  // the other rows are as without the empty one: the same as a float mask with −∞ there, and −∞ everywhere is 0 too
  const add = d.fromData(
    Float64Array.from(rowMask.data, (v) => (v ? 0 : -Infinity)),
    [3, 3],
  );
  assertClose(d.scaledDotProductAttention(q, q, q, { attnMask: add, maskKind: 'float' }).data, y.data, 1e-15, 'float −∞ mask');
});

test('isCausal equals the lower-triangular mask, in SDPA (1 = attend) and in MHA (1 = masked)', () => {
  const q = randT([2, 4, 3], 1),
    k = randT([2, 4, 3], 2),
    v = randT([2, 4, 3], 3);
  const tri = (attend: boolean) =>
    d.fromData(
      Float64Array.from({ length: 16 }, (_, i) => (i % 4 <= Math.floor(i / 4) === attend ? 1 : 0)),
      [4, 4],
    );
  assertClose(
    d.scaledDotProductAttention(q, k, v, { isCausal: true }).data,
    d.scaledDotProductAttention(q, k, v, { attnMask: tri(true) }).data,
    0,
  );
  const m = new d.MultiheadAttention(3, 1, { dtype: 'float64', rng: new d.Rng(4) });
  const pad = d.fromData(new Float64Array([0, 0, 0, 1, 0, 0, 0, 0]), [2, 4]);
  const a = m.attend(q, q, q, { isCausal: true, keyPaddingMask: pad });
  const b = m.attend(q, q, q, { attnMask: tri(false), keyPaddingMask: pad });
  assertClose(a.output.data, b.output.data, 0);
  assertClose(a.weights!.data, b.weights!.data, 0);
  assert.throws(() => d.scaledDotProductAttention(q, k, v, { isCausal: true, attnMask: tri(true) }), /attnMask or isCausal, not both/);
});

test('gradients of SDPA with a float mask and dropout-free MHA agree with central differences (float64)', () => {
  const mask = randT([3, 4], 9);
  gradCheck(
    (q, k, v) => d.scaledDotProductAttention(q, k, v, { attnMask: mask, maskKind: 'float' }),
    [randT([2, 3, 2], 1), randT([2, 4, 2], 2), randT([2, 4, 3], 3)],
  );
  const m = new d.MultiheadAttention(4, 2, { kdim: 3, vdim: 2, dtype: 'float64', rng: new d.Rng(5) });
  gradCheck((q, k, v) => m.attend(q, k, v).output, [randT([2, 3, 4], 4), randT([2, 5, 3], 5), randT([2, 5, 2], 6)]);
});

test('second order through self-attention (packed q/k/v split, the scale folded or not): the gradient of the gradient agrees with central differences (float64)', () => {
  // x ↦ ∇ₓ Σ out³ differentiated again: the split's joined backward (a cat) must itself be recorded
  const m = new d.MultiheadAttention(4, 2, { dtype: 'float64', rng: new d.Rng(7) });
  const cube = (t: d.Tensor) => d.sum(d.pow(t, 3));
  const inputGrad = (x: d.Tensor) => d.grad(cube(m.attend(x, x, x).output), [x], { createGraph: true })[0]!;
  gradCheck(inputGrad, [randT([2, 3, 4], 8)]);
  // head size 4: the scale 1/2 folded into q's projection rows
  const m8 = new d.MultiheadAttention(8, 2, { dtype: 'float64', rng: new d.Rng(9) });
  gradCheck((x) => d.grad(cube(m8.attend(x, x, x).output), [x], { createGraph: true })[0]!, [randT([2, 3, 8], 11)]);
  // and the parameters' second derivatives: ∂/∂W of Σ ∇ₓ, through the packed in_proj_weight
  const x = randT([2, 3, 4], 10);
  const w = m.inProjWeight!;
  const [gx] = d.grad(cube(m.attend(x, x, x).output), [x], { createGraph: true });
  const [gw] = d.grad(d.sum(gx!), [w]);
  assert.deepEqual([...gw!.shape], [12, 4]);
  assert.ok(
    [...gw!.data].some((v) => v !== 0),
    'the second derivative reaches every third of in_proj_weight',
  );
  for (let part = 0; part < 3; part++)
    assert.ok(
      [...gw!.data.subarray(part * 16, (part + 1) * 16)].some((v) => v !== 0),
      `rows ${part * 4}..${part * 4 + 3} of in_proj_weight get a second derivative`,
    );
});

test("a power-of-two scale 1/√D folded into q's projection rows gives exactly the unfolded q·s: output and every gradient (float32, reference and wasm)", async () => {
  await initWasm();
  const prev = d.backend().name;
  try {
    for (const backend of ['reference', 'wasm'])
      for (const packed of [true, false]) {
        d.setBackend(backend);
        // D = 16: scale 1/4; kdim ≠ embedDim makes the projections separate
        const e = 64,
          h = 4,
          dh = 16;
        const m = new d.MultiheadAttention(e, h, packed ? { rng: new d.Rng(3) } : { kdim: 32, vdim: 32, rng: new d.Rng(3) });
        for (const p of m.parameters()) if (p.name?.endsWith('bias')) p.data.set(randT([p.size], 4).data);
        const x = d.fromData(randT([3, 5, e], 5).data, [3, 5, e], { dtype: 'float32', requiresGrad: true });
        const kv = packed ? x : d.fromData(randT([3, 6, 32], 6).data, [3, 6, 32], { dtype: 'float32', requiresGrad: true });
        const gy = d.fromData(randT([3, 5, e], 7).data, [3, 5, e], { dtype: 'float32' });
        const params = m.parameters();
        const inputs = packed ? [x, ...params] : [x, kv, ...params];
        const got = d.grad([m.attend(x, kv, kv).output], inputs, { gradOutputs: [gy] });
        // the same layer written out with q scaled after its projection, as PyTorch does
        const rows = (t: d.Tensor) => d.reshape(t, [t.shape[0] * t.shape[1], t.shape[2]]);
        const heads = (t: d.Tensor, len: number) => d.permute(d.reshape(t, [3, len, h, dh]), [0, 2, 1, 3]);
        const b = (i: number) => d.narrow(m.inProjBias!, 0, i * e, e);
        let q: d.Tensor, k: d.Tensor, v: d.Tensor;
        if (packed) {
          const qkv = d.permute(d.reshape(d.dense(rows(x), m.inProjWeight!, m.inProjBias), [3, 5, 3, h, dh]), [2, 0, 3, 1, 4]);
          [q, k, v] = d.split(qkv, 1, 0).map((t) => d.reshape(t, [3, h, 5, dh]));
        } else {
          q = heads(d.dense(rows(x), m.qProjWeight!, b(0)), 5);
          k = heads(d.dense(rows(kv), m.kProjWeight!, b(1)), 6);
          v = heads(d.dense(rows(kv), m.vProjWeight!, b(2)), 6);
        }
        // an all-ones mask keeps SDPA on the composed ops that m.attend (weights asked) runs: on wasm
        // the unmasked call is the attention kernel, which sums q·k in another order
        const all = d.fromData(new Float32Array(5 * (packed ? 5 : 6)).fill(1), [5, packed ? 5 : 6]);
        const o = d.reshape(d.permute(d.scaledDotProductAttention(q, k, v, { attnMask: all }), [0, 2, 1, 3]), [15, e]);
        const y = d.reshape(d.dense(o, m.outProj.weight, m.outProj.bias), [3, 5, e]);
        const want = d.grad([y], inputs, { gradOutputs: [gy] });
        const what = `${backend}, ${packed ? 'packed' : 'separate'}`;
        assert.deepEqual([...m.attend(x, kv, kv).output.data], [...y.data], `${what}: output`);
        got.forEach((g, i) => assert.deepEqual([...g!.data], [...want[i]!.data], `${what}: gradient of ${inputs[i].name ?? `input ${i}`}`));
      }
  } finally {
    d.setBackend(prev);
  }
});

test("initialisation is PyTorch's: Xavier-uniform projections, zero in_proj_bias and out_proj.bias, Linear's default out_proj.weight", () => {
  const e = 16;
  const m = new d.MultiheadAttention(e, 4, { rng: new d.Rng(7) });
  const bound = Math.sqrt(6 / (e + 3 * e));
  const w = Array.from(m.inProjWeight!.data);
  assert.ok(w.every((x) => Math.abs(x) <= bound) && Math.max(...w.map(Math.abs)) > 0.9 * bound, 'in_proj_weight ~ U(±√(6/(E+3E)))');
  assert.ok(m.inProjBias!.data.every((x) => x === 0) && m.outProj.bias!.data.every((x) => x === 0), 'biases 0');
  const ow = Array.from(m.outProj.weight.data);
  assert.ok(ow.every((x) => Math.abs(x) <= 1 / Math.sqrt(e)) && Math.max(...ow.map(Math.abs)) > 0.2, 'out_proj.weight ~ U(±1/√E)');
  const u = new d.MultiheadAttention(8, 2, { kdim: 3, vdim: 5, rng: new d.Rng(7) });
  const b = (fanIn: number) => Math.sqrt(6 / (fanIn + 8));
  assert.ok(
    u.kProjWeight!.data.every((x) => Math.abs(x) <= b(3)) && u.vProjWeight!.data.every((x) => Math.abs(x) <= b(5)),
    'separate weights: Xavier each',
  );
  assert.deepEqual(Object.keys(new d.MultiheadAttention(8, 2, { bias: false }).stateDict()), ['in_proj_weight', 'out_proj.weight']);
  // same seed ⇒ same parameters
  assert.deepEqual(
    new d.MultiheadAttention(8, 2, { rng: new d.Rng(9) }).stateDict(),
    new d.MultiheadAttention(8, 2, { rng: new d.Rng(9) }).stateDict(),
  );
});

test('dropout: only while training, masks from the rng (same seed ⇒ same output); eval equals dropout 0', () => {
  const state = new d.MultiheadAttention(8, 2, { dtype: 'float64', rng: new d.Rng(1) }).stateDict();
  const m = new d.MultiheadAttention(8, 2, { dropout: 0.5, dtype: 'float64', rng: new d.Rng(2) });
  const m0 = new d.MultiheadAttention(8, 2, { dtype: 'float64', rng: new d.Rng(3) });
  m.loadStateDict(state);
  m0.loadStateDict(state);
  const x = randT([2, 5, 8], 3);
  assertClose(m.forward(x).data, m0.forward(x).data, 0, 'eval = dropout 0');
  const a = m.forward(x, { training: true, rng: new d.Rng(4) });
  const b = m.forward(x, { training: true, rng: new d.Rng(4) });
  assertClose(a.data, b.data, 0, 'same seed, same masks');
  assert.notDeepEqual(Array.from(a.data), Array.from(m0.forward(x).data), 'training drops');
  assert.throws(() => m.forward(x, { training: true }), /random generator/);
  const s = d.scaledDotProductAttention(x, x, x, { dropoutP: 0.5 });
  assertClose(s.data, d.scaledDotProductAttention(x, x, x).data, 0, 'SDPA: no dropout unless training');
  assert.throws(() => d.scaledDotProductAttention(x, x, x, { dropoutP: 0.5, training: true }), /needs a random generator/);
});

test('errors name the layer and the expected against the actual value', () => {
  assert.throws(() => new d.MultiheadAttention(30, 4), /MultiheadAttention: embedDim 30 is not divisible by numHeads 4/);
  assert.throws(() => new d.MultiheadAttention(0, 1), /embedDim must be a positive integer, got 0/);
  assert.throws(() => new d.MultiheadAttention(8, 2, { dropout: 1 }), /p must be in \[0, 1\), got 1/);
  assert.throws(() => new d.MultiheadAttention(8, 2, { heads: 2 } as never), /heads/);
  const m = new d.MultiheadAttention(32, 4, { rng: new d.Rng(1) });
  const x = d.zeros([2, 5, 32]);
  assert.throws(() => m.forward(d.zeros([2, 5, 16])), /MultiheadAttention\(32, 4 heads\): expected query \[N, L, 32\], got \[2, 5, 16\]/);
  assert.throws(() => m.attend(x, d.zeros([2, 6, 32]), d.zeros([2, 7, 32])), /expected value \[2, 6, 32\], got \[2, 7, 32\]/);
  assert.throws(() => m.attend(x, d.zeros([3, 6, 32]), d.zeros([3, 6, 32])), /expected key \[2, S, 32\], got \[3, 6, 32\]/);
  assert.throws(
    () => m.attend(x, x, x, { keyPaddingMask: d.zeros([2, 4]) }),
    /expected keyPaddingMask \[2, 5\] \(\[N, S\]\), got \[2, 4\]/,
  );
  assert.throws(
    () => m.attend(x, x, x, { attnMask: d.zeros([5, 4]) }),
    /expected attnMask \[5, 5\] \(\[L, S\]\) or \[8, 5, 5\] \(\[N·numHeads, L, S\]\), got \[5, 4\]/,
  );
  assert.throws(() => m.attend(x, x, x, { maskKind: 'additive' as never }), /maskKind/);
  const q = d.zeros([2, 3, 4]);
  assert.throws(() => d.scaledDotProductAttention(q, d.zeros([2, 5, 3]), d.zeros([2, 5, 3])), /differ in their last dimension \(4 vs 3\)/);
  assert.throws(
    () => d.scaledDotProductAttention(q, d.zeros([2, 5, 4]), d.zeros([2, 6, 3])),
    /k \[2, 5, 4\] has 5 keys but v \[2, 6, 3\] has 6 values/,
  );
  assert.throws(
    () => d.scaledDotProductAttention(q, q, q, { attnMask: d.zeros([4, 3]) }),
    /attnMask \[4, 3\] does not broadcast to the scores \[2, 3, 3\]/,
  );
  assert.throws(() => d.scaledDotProductAttention(q, q, q, { dropoutP: 1 }), /dropoutP must be in \[0, 1\), got 1/);
});
