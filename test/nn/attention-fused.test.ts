/**
 * MultiheadAttention's self- and cross-attention on the wasm backend's attention / attentionBackward
 * extensions (one kernel call each way, asm/attention.ts) against the composed path the reference
 * runs (the heads' split, batched products, softmax, dropout, the heads' merge) in float64:
 * outputs and every gradient within float32 rounding, for W6's shape, odd head sizes and lengths,
 * a scale that is not folded into the weights, causal, with dropout while training (the same masks:
 * the generator ends at the same position), one and two threads; the kernels are the ones that ran
 * (wasmInfo's count), a mask other than the causal one composes, and under createGraph the
 * gradients differentiate again. scaledDotProductAttention the same way: q, k and v of one batch
 * shape (2-, 3- and 4-D), keys fewer and more than queries, value size ≠ key size, causal, dropout;
 * broadcast batch dimensions compose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';
import { initWasm, setWasmThreads, wasmInfo } from '../../src/backend/wasm/index.js';
import { assertClose, randT } from '../helpers.js';

await initWasm({ threads: 2 });

interface Case {
  n: number;
  l: number;
  e: number;
  heads: number;
}
const CASES: Case[] = [
  { n: 4, l: 28, e: 64, heads: 4 }, // W6: head size 16, its scale 1/4 folded into q's weights
  { n: 3, l: 7, e: 10, heads: 2 }, // head size 5 (no whole vector), scale 1/√5 in the kernel
  { n: 2, l: 33, e: 24, heads: 3 }, // 33 keys: two blocks of 16 and a last of 1
  { n: 2, l: 20, e: 16, heads: 1 },
];

interface Run {
  attentions: number;
  out: Float64Array[];
  next: number;
}

/** y and the gradients of x and every parameter on `backend` in `dtype`, from the same draws; the generator's next word after. */
function run(c: Case, causal: boolean, dropout: number, backend: string, dtype: d.DType): Run {
  d.setBackend(backend);
  // the parameters drawn once in float32, so both runs start from the same values
  const m32 = new d.MultiheadAttention(c.e, c.heads, { dropout, causal, rng: new d.Rng(11) });
  const m = dtype === 'float32' ? m32 : new d.MultiheadAttention(c.e, c.heads, { dropout, causal, dtype, rng: new d.Rng(11) });
  if (m !== m32) m.parameters().forEach((p, i) => p.data.set(m32.parameters()[i].data));
  const shape = [c.n, c.l, c.e];
  const x = d.fromData(randT(shape, 7).data, shape, { dtype, requiresGrad: true });
  const rng = new d.Rng(5);
  const before = wasmInfo().attentions;
  const y = m.forward(x, { training: dropout > 0, rng });
  d.backward(y, { gradient: d.fromData(randT(shape, 8).data, shape, { dtype }) });
  const out = [y.data, x.grad!.data, ...m.parameters().map((p) => p.grad!.data)];
  return { attentions: wasmInfo().attentions - before, out: out.map((a) => Float64Array.from(a)), next: rng.nextU32() };
}

for (const threads of [1, 2]) {
  test(`MultiheadAttention on wasm float32 runs the attention kernels and equals the composed float64 path (${threads} thread(s))`, () => {
    setWasmThreads(threads);
    try {
      for (const c of CASES)
        for (const causal of [false, true])
          for (const dropout of [0, 0.3]) {
            const what = `MultiheadAttention(${c.e}, ${c.heads}) on [${c.n}, ${c.l}, ${c.e}], causal ${causal}, dropout ${dropout}`;
            const got = run(c, causal, dropout, 'wasm', 'float32');
            const want = run(c, causal, dropout, 'reference', 'float64');
            assert.equal(got.attentions, 2, `${what}: one kernel call forward, one backward`);
            assert.equal(want.attentions, 0, `${what}: the reference composes`);
            assert.equal(got.next, want.next, `${what}: the generator ends at the same position`);
            assert.equal(got.out.length, want.out.length);
            const names = ['y', 'gx', 'in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'];
            got.out.forEach((g, i) => {
              // the parameters' gradients sum over every position: their tolerance grows with them
              const tol = i < 2 ? 1e-4 : 1e-5 * c.n * c.l;
              assertClose(g, want.out[i], tol, `${what} ${names[i]}`);
            });
          }
    } finally {
      setWasmThreads(2);
      d.setBackend('reference');
    }
  });
}

for (const threads of [1, 2]) {
  test(`MultiheadAttention's cross-attention (packed weights, key ≠ query; separate kdim/vdim weights) runs the kernels and equals the composed float64 path (${threads} thread(s))`, () => {
    setWasmThreads(threads);
    const cross = (opts: { kdim?: number; vdim?: number }, causal: boolean, dropout: number, backend: string, dtype: d.DType): Run => {
      d.setBackend(backend);
      const [e, heads, n, lq, lk] = [12, 3, 3, 7, 10];
      const m32 = new d.MultiheadAttention(e, heads, { ...opts, dropout, rng: new d.Rng(21) });
      const m = dtype === 'float32' ? m32 : new d.MultiheadAttention(e, heads, { ...opts, dropout, dtype, rng: new d.Rng(21) });
      if (m !== m32) m.parameters().forEach((p, i) => p.data.set(m32.parameters()[i].data));
      const t = (shape: number[], seed: number) => d.fromData(randT(shape, seed).data, shape, { dtype, requiresGrad: true });
      const query = t([n, lq, e], 1),
        key = t([n, lk, opts.kdim ?? e], 2),
        value = t([n, lk, opts.vdim ?? e], 3);
      const rng = new d.Rng(8);
      const before = wasmInfo().attentions;
      const y = m.attend(query, key, value, { needWeights: false, isCausal: causal, training: dropout > 0, rng }).output;
      d.backward(y, { gradient: d.fromData(randT([n, lq, e], 4).data, [n, lq, e], { dtype }) });
      const out = [y.data, query.grad!.data, key.grad!.data, value.grad!.data, ...m.parameters().map((p) => p.grad!.data)];
      return { attentions: wasmInfo().attentions - before, out: out.map((a) => Float64Array.from(a)), next: rng.nextU32() };
    };
    try {
      for (const opts of [{}, { kdim: 5, vdim: 8 }])
        for (const causal of [false, true])
          for (const dropout of [0, 0.3]) {
            const what = `cross-attention ${JSON.stringify(opts)}, causal ${causal}, dropout ${dropout}`;
            const got = cross(opts, causal, dropout, 'wasm', 'float32');
            const want = cross(opts, causal, dropout, 'reference', 'float64');
            assert.equal(got.attentions, 2, `${what}: one kernel call forward, one backward`);
            assert.equal(got.next, want.next, `${what}: the generator ends at the same position`);
            got.out.forEach((g, i) => assertClose(g, want.out[i], i < 4 ? 1e-4 : 3e-4, `${what} output ${i}`));
          }
    } finally {
      setWasmThreads(2);
      d.setBackend('reference');
    }
  });
}

test('a key padding mask, an attention mask or asked-for weights compose instead', () => {
  d.setBackend('wasm');
  try {
    const m = new d.MultiheadAttention(8, 2, { rng: new d.Rng(1) });
    const x = d.fromData(Float32Array.from(randT([2, 5, 8], 3).data), [2, 5, 8]);
    const before = wasmInfo().attentions;
    m.forward(x, { mask: d.fromData(new Float32Array([0, 0, 0, 1, 1, 0, 0, 0, 0, 1]), [2, 5]) });
    m.attend(x, x, x, { attnMask: d.fromData(new Float32Array(25).fill(0), [5, 5]), needWeights: false });
    m.attend(x, x, x);
    assert.equal(wasmInfo().attentions, before);
    m.forward(x);
    assert.equal(wasmInfo().attentions, before + 1, 'the same layer without a mask runs the kernel');
  } finally {
    d.setBackend('reference');
  }
});

test('the fused attention differentiates twice (createGraph): its second derivative equals the composed float64 one', () => {
  const c = { n: 2, l: 9, e: 12, heads: 2 };
  const shape = [c.n, c.l, c.e];
  const second = (backend: string, dtype: d.DType, causal: boolean) => {
    d.setBackend(backend);
    const m32 = new d.MultiheadAttention(c.e, c.heads, { dropout: 0.2, causal, rng: new d.Rng(2) });
    const m = dtype === 'float32' ? m32 : new d.MultiheadAttention(c.e, c.heads, { dropout: 0.2, causal, dtype, rng: new d.Rng(2) });
    if (m !== m32) m.parameters().forEach((p, i) => p.data.set(m32.parameters()[i].data));
    const x = d.fromData(randT(shape, 10).data, shape, { dtype, requiresGrad: true });
    const u = d.fromData(randT(shape, 11).data, shape, { dtype }),
      w = d.fromData(randT(shape, 12).data, shape, { dtype });
    const before = wasmInfo().attentions;
    const y = m.forward(x, { training: true, rng: new d.Rng(4) });
    const [g1] = d.grad(d.sum(d.mul(y, u)), [x], { createGraph: true });
    const [g2] = d.grad(d.sum(d.mul(g1!, w)), [x]);
    return { attentions: wasmInfo().attentions - before, g1: g1!.data, g2: g2!.data };
  };
  try {
    for (const causal of [false, true]) {
      const got = second('wasm', 'float32', causal);
      const want = second('reference', 'float64', causal);
      assert.equal(got.attentions, 1, 'the forward ran the kernel (the recorded backward is composed)');
      assertClose(got.g1, want.g1, 1e-4, `causal ${causal}: first derivative`);
      assertClose(got.g2, want.g2, 1e-3, `causal ${causal}: second derivative`);
    }
  } finally {
    d.setBackend('reference');
  }
});

interface SdpaCase {
  batch: number[];
  lq: number;
  lk: number;
  dk: number;
  dv: number;
}
const SDPA: SdpaCase[] = [
  { batch: [3, 2], lq: 9, lk: 9, dk: 8, dv: 8 },
  { batch: [4], lq: 6, lk: 11, dk: 5, dv: 7 }, // more keys than queries, value size ≠ key size
  { batch: [2, 3], lq: 13, lk: 5, dk: 16, dv: 4 }, // fewer keys than queries: causal rows past the keys see them all
  { batch: [], lq: 20, lk: 17, dk: 3, dv: 9 },
];

/** scaledDotProductAttention's output and the gradients of q, k, v on `backend` in `dtype`; the kernel calls; the generator's next word. */
function runSdpa(c: SdpaCase, causal: boolean, dropoutP: number, scale: number | undefined, backend: string, dtype: d.DType): Run {
  d.setBackend(backend);
  const t = (shape: number[], seed: number) => d.fromData(randT(shape, seed).data, shape, { dtype, requiresGrad: true });
  const q = t([...c.batch, c.lq, c.dk], 1),
    k = t([...c.batch, c.lk, c.dk], 2),
    v = t([...c.batch, c.lk, c.dv], 3);
  const rng = new d.Rng(9);
  const before = wasmInfo().attentions;
  const y = d.scaledDotProductAttention(q, k, v, { isCausal: causal, dropoutP, scale, training: dropoutP > 0, rng });
  d.backward(y, { gradient: d.fromData(randT([...y.shape], 4).data, y.shape, { dtype }) });
  const out = [y.data, q.grad!.data, k.grad!.data, v.grad!.data];
  return { attentions: wasmInfo().attentions - before, out: out.map((a) => Float64Array.from(a)), next: rng.nextU32() };
}

for (const threads of [1, 2]) {
  test(`scaledDotProductAttention on wasm float32 runs the attention kernels and equals the composed float64 path (${threads} thread(s))`, () => {
    setWasmThreads(threads);
    try {
      for (const c of SDPA)
        for (const causal of [false, true])
          for (const [dropoutP, scale] of [
            [0, undefined],
            [0.25, 0.3],
          ] as const) {
            const what = `SDPA ${JSON.stringify(c)}, causal ${causal}, dropout ${dropoutP}, scale ${scale}`;
            const got = runSdpa(c, causal, dropoutP, scale, 'wasm', 'float32');
            const want = runSdpa(c, causal, dropoutP, scale, 'reference', 'float64');
            assert.equal(got.attentions, 2, `${what}: one kernel call forward, one backward`);
            assert.equal(want.attentions, 0, `${what}: the reference composes`);
            assert.equal(got.next, want.next, `${what}: the generator ends at the same position`);
            ['y', 'gq', 'gk', 'gv'].forEach((name, i) => assertClose(got.out[i], want.out[i], 1e-4, `${what} ${name}`));
          }
    } finally {
      setWasmThreads(2);
      d.setBackend('reference');
    }
  });
}

test('scaledDotProductAttention with broadcast batch dimensions, a mask or an empty operand composes on wasm; under createGraph the kernel op differentiates twice', () => {
  d.setBackend('wasm');
  try {
    const f = (shape: number[], seed: number) => d.fromData(Float32Array.from(randT(shape, seed).data), shape);
    const before = wasmInfo().attentions;
    d.scaledDotProductAttention(f([2, 3, 5, 4], 1), f([3, 5, 4], 2), f([3, 5, 4], 3));
    d.scaledDotProductAttention(f([3, 5, 4], 1), f([3, 5, 4], 2), f([3, 5, 4], 3), { attnMask: f([5, 5], 4), maskKind: 'float' });
    // no queries, or no keys (every weight 0): composed, as on the reference
    assert.deepEqual(d.scaledDotProductAttention(f([2, 0, 4], 1), f([2, 3, 4], 2), f([2, 3, 4], 3)).shape, [2, 0, 4]);
    assert.deepEqual([...d.scaledDotProductAttention(f([2, 3, 4], 1), f([2, 0, 4], 2), f([2, 0, 4], 3)).data], new Array(24).fill(0));
    assert.equal(wasmInfo().attentions, before);
  } finally {
    d.setBackend('reference');
  }
  const second = (backend: string, dtype: d.DType) => {
    d.setBackend(backend);
    const t = (shape: number[], seed: number) => d.fromData(randT(shape, seed).data, shape, { dtype, requiresGrad: true });
    const q = t([2, 7, 4], 1),
      k = t([2, 5, 4], 2),
      v = t([2, 5, 3], 3);
    const u = d.fromData(randT([2, 7, 3], 4).data, [2, 7, 3], { dtype });
    const before = wasmInfo().attentions;
    const y = d.scaledDotProductAttention(q, k, v, { isCausal: true, dropoutP: 0.2, training: true, rng: new d.Rng(6) });
    const gs = d.grad(d.sum(d.mul(y, u)), [q, k, v], { createGraph: true });
    const [g2] = d.grad(d.sum(d.mul(d.add(d.sum(d.mul(gs[0]!, gs[0]!)), d.sum(d.mul(gs[2]!, gs[2]!))), 1)), [q]);
    return { attentions: wasmInfo().attentions - before, g1: gs.flatMap((g) => [...g!.data]), g2: g2!.data };
  };
  try {
    const got = second('wasm', 'float32');
    const want = second('reference', 'float64');
    assert.equal(got.attentions, 1, 'the forward ran the kernel');
    assertClose(got.g1, want.g1, 1e-4, 'first derivatives');
    assertClose(got.g2, want.g2, 1e-3, 'second derivative');
  } finally {
    d.setBackend('reference');
  }
});
