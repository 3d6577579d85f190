/**
 * The ops of sequence and attention models on WebGPU (run by `npm run test:webgpu` on lavapipe):
 * the batchedMatmul kernel (odd sizes, transpose flags, a shared operand, a split along K) against
 * per-batch products of the reference backend; then batched matmul, permute, transpose, where /
 * maskedFill with a device mask, Embedding (repeated ids, paddingIdx) and a composed attention
 * block (projections, heads split by reshape and permute, scaled scores, a key-padding mask,
 * softmax, LayerNorm, GELU, residual adds), each forward and backward on 'webgpu' with nothing
 * read back, values and gradients equal to the reference backend's within float32 noise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceBackend } from '../../../src/backend/reference.js';
import { webgpuInfo } from '../../../src/backend/webgpu/index.js';
import * as d from '../../../src/index.js';
import { initWasm } from '../../../src/backend/wasm/index.js';
import { K, close, down, reseed, rnd, up, zeros } from './helpers.js';
import { assertNear, assertStepsAlike } from './setup.js';

const TOL = 1e-5;

test('the batchedMatmul kernel equals per-batch reference products: odd sizes, every transpose flag, shared operands, split along K', async () => {
  reseed(21);
  const R = referenceBackend;
  const cases: [number, number, number, number, 'a' | 'b' | 'none'][] = [
    [3, 37, 45, 29, 'none'],
    [4, 5, 70, 3, 'a'],
    [2, 33, 1, 17, 'b'],
    [2, 8, 8, 3000, 'none'],
    [5, 129, 66, 40, 'b'],
  ];
  const before = webgpuInfo().kernels.batchedMatmul ?? 0;
  const reduces = webgpuInfo().kernels['batchedMatmul.reduce'] ?? 0;
  let dispatches = 0;
  for (const [batch, m, n, k, shared] of cases) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const sa = shared === 'a' ? 0 : m * k,
          sb = shared === 'b' ? 0 : k * n;
        const a = rnd(shared === 'a' ? m * k : batch * m * k);
        const b = rnd(shared === 'b' ? k * n : batch * k * n);
        const want = new Float32Array(batch * m * n);
        for (let z = 0; z < batch; z++) {
          const c = new Float32Array(m * n);
          R.matmul(a.subarray(z * sa, z * sa + m * k), b.subarray(z * sb, z * sb + k * n), c, m, n, k, transA, transB);
          want.set(c, z * m * n);
        }
        const out = zeros(batch * m * n);
        assert.equal(K.batchedMatmul(up(a), up(b), out, batch, m, n, k, transA, transB, sa, sb), true);
        dispatches++;
        // float32 sums over k terms in another order: the bound grows as √k
        close(
          'batchedMatmul',
          await down(out),
          want,
          1e-6 + 5e-7 * Math.sqrt(k),
          ` ${batch}×${m}×${n}×${k} ${+transA}${+transB} shared ${shared}`,
        );
      }
    }
  }
  assert.ok((webgpuInfo().kernels.batchedMatmul ?? 0) - before >= dispatches, 'webgpuInfo counts the batchedMatmul dispatches');
  assert.ok((webgpuInfo().kernels['batchedMatmul.reduce'] ?? 0) > reduces, 'the deep product (k = 3000) runs split along K');
});

/**
 * fn on reference tensors and on 'webgpu' copies of the same inputs: the values and the gradients
 * of Σ y·gy for every input, compared, with nothing read back from the device in between.
 */
async function compareOp(name: string, inputs: Float32Array[], shapes: number[][], fn: (xs: d.Tensor[]) => d.Tensor): Promise<void> {
  const prev = d.backend().name;
  d.setBackend('reference');
  try {
    const xs = inputs.map((v, i) => d.fromData(v, shapes[i], { requiresGrad: true }));
    const y = fn(xs);
    const gyv = rnd(y.size);
    d.sum(d.mul(y, d.fromData(gyv, y.shape))).backward();
    const xd = await Promise.all(inputs.map((v, i) => d.fromData(v, shapes[i], { requiresGrad: true }).to('webgpu')));
    const gy = await d.fromData(gyv, y.shape).to('webgpu');
    const reads = webgpuInfo().reads;
    const yd = fn(xd);
    d.sum(d.mul(yd, gy)).backward();
    assert.equal(webgpuInfo().reads, reads, `${name}: nothing is read back to the host`);
    assert.equal(yd.device, 'webgpu', `${name}: the output lives on the device`);
    assert.deepEqual(yd.shape, y.shape, `${name}: shape`);
    close(name, await yd.read(), y.data, TOL, ' y');
    for (let i = 0; i < xs.length; i++) close(name, await xd[i].grad!.read(), xs[i].grad!.data, TOL, ` d${i}`);
  } finally {
    d.setBackend(prev);
  }
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const operands = (...shapes: number[][]) => shapes.map((s) => rnd(size(s)));

test('matmul of batched operands on webgpu equals the reference: equal batches, a shared operand, broadcast batch dimensions, 1-D operands', async () => {
  reseed(22);
  const cases: [number[], number[]][] = [
    [
      [2, 3, 5, 7],
      [2, 3, 7, 4],
    ],
    [
      [1, 5, 7],
      [4, 7, 6],
    ],
    [
      [3, 9, 7],
      [1, 7, 2],
    ],
    [
      [2, 1, 5, 7],
      [1, 3, 7, 6],
    ],
    [[7], [3, 7, 4]],
    [
      [3, 5, 7],
      [7, 4],
    ],
  ];
  for (const [sa, sb] of cases) {
    await compareOp(`matmul [${sa}]·[${sb}]`, operands(sa, sb), [sa, sb], ([a, b]) => d.matmul(a, b));
  }
  // q·kᵀ with the transpose as an op: the scores of attention
  const s = [2, 3, 5, 4];
  await compareOp('matmul(q, transpose(k))', operands(s, s), [s, s], ([q, k]) => d.matmul(q, d.transpose(k, -1, -2)));
});

test('permute and transpose on webgpu equal the reference: 3-D to 6-D, size-1 axes, the backward the inverse permutation', async () => {
  reseed(23);
  const cases: [number[], number[]][] = [
    [
      [2, 3, 5, 7],
      [0, 2, 1, 3],
    ],
    [
      [2, 3, 5, 7],
      [3, 1, 0, 2],
    ],
    [
      [4, 1, 6],
      [2, 0, 1],
    ],
    [
      [2, 3, 1, 2, 3, 2],
      [5, 3, 1, 0, 4, 2],
    ],
  ];
  for (const [shape, perm] of cases) {
    await compareOp(`permute [${shape}] by [${perm}]`, operands(shape), [shape], ([x]) => d.permute(x, perm));
  }
  const shape = [3, 4, 5];
  await compareOp('transpose(x, 0, 2)', operands(shape), [shape], ([x]) => d.transpose(x, 0, 2));
  await compareOp('transpose(x, -1, -2)', operands(shape), [shape], ([x]) => d.transpose(x, -1, -2));
});

test('where and maskedFill with a mask on webgpu equal the reference: broadcast mask, tensor and number branches, gradients to both', async () => {
  reseed(24);
  const mask = await d.fromData(Float32Array.from([1, 0, 0, 1, 1, 0, 1, 0]), [2, 1, 1, 4]).to('webgpu');
  const maskHost = d.fromData(Float32Array.from([1, 0, 0, 1, 1, 0, 1, 0]), [2, 1, 1, 4]);
  const s = [2, 3, 5, 4];
  await compareOp('maskedFill(x, mask [N, 1, 1, L])', operands(s), [s], ([x]) =>
    d.maskedFill(x, x.device === 'webgpu' ? mask : maskHost, -1e9),
  );
  await compareOp('where(mask, a, b)', operands(s, [5, 1]), [s, [5, 1]], ([a, b]) =>
    d.where(a.device === 'webgpu' ? mask : maskHost, a, b),
  );
  // a mask made on the device from a comparison, NaN and ∞ in a branch stay where they are chosen
  const inf = Float32Array.from({ length: 8 }, (_, i) => (i % 3 === 0 ? -Infinity : i));
  const prev = d.backend().name;
  d.setBackend('reference');
  try {
    const want = d.where(maskHost, d.fromData(inf, [2, 1, 1, 4]), 0.5);
    const got = d.where(mask, await d.fromData(inf, [2, 1, 1, 4]).to('webgpu'), 0.5);
    assert.deepEqual(Array.from(await got.read()), Array.from(want.data));
  } finally {
    d.setBackend(prev);
  }
});

test('dropout (a host mask uploaded), mean over an axis and a sum over broadcast dimensions on webgpu equal the reference', async () => {
  reseed(28);
  const s = [2, 3, 5, 4];
  const drop = new d.Dropout(0.3);
  await compareOp('dropout', operands(s), [s], ([x]) => drop.forward(x, { training: true, rng: new d.Rng(3) }));
  await compareOp('mean over axis 1', operands(s), [s], ([x]) => d.mean(x, 1));
  await compareOp('bias [4] added to [2, 3, 5, 4]', operands(s, [4]), [s, [4]], ([x, b]) => d.add(x, b));
});

test('Embedding on webgpu equals the reference: repeated ids add their gradients, the padding row gets none; no read-back', async () => {
  reseed(25);
  const prev = d.backend().name;
  d.setBackend('reference');
  try {
    for (const paddingIdx of [undefined, 2]) {
      const ids = d.fromData(Float32Array.from([2, 0, 5, 2, 2, 7, 1, 0, 6, 2, 3, 5]), [3, 4]);
      const host = new d.Embedding(8, 5, { paddingIdx, rng: new d.Rng(3) });
      const y = host.forward(ids);
      const gyv = rnd(y.size);
      d.sum(d.mul(y, d.fromData(gyv, y.shape))).backward();
      const dev = new d.Embedding(8, 5, { paddingIdx, rng: new d.Rng(3) });
      await dev.to('webgpu');
      const gy = await d.fromData(gyv, y.shape).to('webgpu');
      const reads = webgpuInfo().reads;
      const gathers = webgpuInfo().kernels.embeddingGather ?? 0;
      const yd = dev.forward(ids);
      d.sum(d.mul(yd, gy)).backward();
      assert.equal(webgpuInfo().reads, reads, 'nothing is read back to the host');
      assert.equal((webgpuInfo().kernels.embeddingGather ?? 0) - gathers, 1, 'one embeddingGather dispatch');
      assert.equal(yd.device, 'webgpu');
      close('embedding', await yd.read(), y.data, 0, ` y pad ${paddingIdx}`);
      const g = await dev.weight.grad!.read();
      close('embedding', g, host.weight.grad!.data, 0, ` dW pad ${paddingIdx}`);
      // row 2 appears four times: its gradient is the sum of those four rows of gy (0 as the padding row)
      const rows = [0, 3, 4, 9];
      for (let j = 0; j < 5; j++) {
        const want = paddingIdx === 2 ? 0 : rows.reduce((s, i) => s + gyv[i * 5 + j], 0);
        assert.ok(Math.abs(g[2 * 5 + j] - want) <= 1e-6 * (1 + Math.abs(want)), `row 2 column ${j}: ${g[2 * 5 + j]} vs ${want}`);
      }
      assert.deepEqual(Array.from(g.subarray(4 * 5, 5 * 5)), [0, 0, 0, 0, 0], 'an id never looked up gets no gradient');
    }
  } finally {
    d.setBackend(prev);
  }
});

test("Embedding's gradient of its gradient on webgpu equals the reference: the lookup with the padding positions zeroed", async () => {
  reseed(27);
  const prev = d.backend().name;
  d.setBackend('reference');
  try {
    const idv = Float32Array.from([3, 1, 3, 0, 2, 3]);
    const wv = rnd(4 * 3),
      gyv = rnd(6 * 3),
      cv = rnd(4 * 3);
    const run = async (device: boolean) => {
      const on = (t: d.Tensor) => (device ? t.to('webgpu') : Promise.resolve(t));
      const w = await on(d.fromData(wv, [4, 3], { requiresGrad: true }));
      const gy = await on(d.fromData(gyv, [2, 3, 3], { requiresGrad: true }));
      const y = d.embedding(w, d.fromData(idv, [2, 3]), 3);
      const [gw] = d.grad([d.sum(d.mul(y, gy))], [w], { createGraph: true });
      const [ggy] = d.grad([d.sum(d.mul(gw!, await on(d.fromData(cv, [4, 3]))))], [gy]);
      return [await gw!.read(), await ggy!.read()];
    };
    const [want, got] = [await run(false), await run(true)];
    close('embedding', got[0], want[0], 0, ' dW (padding row 3)');
    close('embedding', got[1], want[1], 0, ' d(dW)/d(gy)');
    assert.deepEqual(Array.from(got[1].subarray(0, 3)), [0, 0, 0], 'a padding position passes no gradient');
  } finally {
    d.setBackend(prev);
  }
});

/**
 * A one-layer attention block written out in ops: projections, heads split by reshape and permute,
 * scores q·kᵀ/√dh with a key-padding mask, softmax, the weighted values, heads merged, output
 * projection, residual add, LayerNorm, a GELU feed-forward with its residual and LayerNorm.
 */
class Block extends d.Module {
  readonly q: d.Linear;
  readonly k: d.Linear;
  readonly v: d.Linear;
  readonly o: d.Linear;
  readonly ff1: d.Linear;
  readonly ff2: d.Linear;
  readonly n1: d.LayerNorm;
  readonly n2: d.LayerNorm;

  /** The key-padding mask [N, 1, 1, L] (1: a key no query attends to) of the next forward. */
  mask: d.Tensor | null = null;

  constructor(
    readonly e: number,
    readonly heads: number,
    seed: number,
  ) {
    super();
    const rng = new d.Rng(seed);
    this.q = this.registerModule('q', new d.Linear(e, e, { rng }));
    this.k = this.registerModule('k', new d.Linear(e, e, { rng }));
    this.v = this.registerModule('v', new d.Linear(e, e, { rng }));
    this.o = this.registerModule('o', new d.Linear(e, e, { rng }));
    this.ff1 = this.registerModule('ff1', new d.Linear(e, 2 * e, { rng }));
    this.ff2 = this.registerModule('ff2', new d.Linear(2 * e, e, { rng }));
    this.n1 = this.registerModule('n1', new d.LayerNorm(e));
    this.n2 = this.registerModule('n2', new d.LayerNorm(e));
  }

  forward(x: d.Tensor): d.Tensor {
    const [n, l, e] = x.shape;
    const h = this.heads,
      dh = e / h;
    const split = (t: d.Tensor) => d.permute(d.reshape(t, [n, l, h, dh]), [0, 2, 1, 3]);
    const q = split(this.q.forward(x)),
      k = split(this.k.forward(x)),
      v = split(this.v.forward(x));
    const scaled = d.mul(d.matmul(q, d.transpose(k, -1, -2)), 1 / Math.sqrt(dh));
    const scores = this.mask ? d.maskedFill(scaled, this.mask, -1e9) : scaled;
    const att = d.matmul(d.softmax(scores), v);
    const merged = d.reshape(d.permute(att, [0, 2, 1, 3]), [n, l, e]);
    const y = this.n1.forward(d.add(x, this.o.forward(merged)));
    const z = this.n2.forward(d.add(y, this.ff2.forward(d.gelu(this.ff1.forward(y)))));
    return d.mean(z, 1);
  }
}

test('a composed attention block (heads, mask, softmax, LayerNorm, GELU, residuals) on webgpu equals the reference: values and every gradient', async () => {
  reseed(26);
  const prev = d.backend().name;
  d.setBackend('reference');
  try {
    const [n, l, e] = [2, 5, 8];
    const maskv = Float32Array.from([0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    const host = new Block(e, 2, 9);
    host.mask = d.fromData(maskv, [n, 1, 1, l]);
    const xv = rnd(n * l * e, -2, 2);
    const x = d.fromData(xv, [n, l, e], { requiresGrad: true });
    const y = host.forward(x);
    const gyv = rnd(y.size);
    d.sum(d.mul(y, d.fromData(gyv, y.shape))).backward();

    const dev = new Block(e, 2, 9);
    dev.mask = await d.fromData(maskv, [n, 1, 1, l]).to('webgpu');
    await dev.to('webgpu');
    const xd = await d.fromData(xv, [n, l, e], { requiresGrad: true }).to('webgpu');
    const gy = await d.fromData(gyv, y.shape).to('webgpu');
    const reads = webgpuInfo().reads;
    const yd = dev.forward(xd);
    d.sum(d.mul(yd, gy)).backward();
    assert.equal(webgpuInfo().reads, reads, 'nothing is read back to the host');
    close('attention block', await yd.read(), y.data, TOL, ' y');
    close('attention block', await xd.grad!.read(), x.grad!.data, TOL, ' dx');
    const hp = new Map(host.namedParameters());
    for (const [name, p] of dev.namedParameters())
      close('attention block', await p.grad!.read(), hp.get(name)!.grad!.data, TOL, ` d${name}`);
  } finally {
    d.setBackend(prev);
  }
});

/** Embedding (padding id 0) → the attention block, its mask the padding ids → Linear: token ids [N, L] to class logits. */
class TinyTransformer extends d.Module {
  readonly emb: d.Embedding;
  readonly block: Block;
  readonly head: d.Linear;

  constructor(vocab: number, e: number, classes: number) {
    super();
    this.emb = this.registerModule('emb', new d.Embedding(vocab, e, { paddingIdx: 0, rng: new d.Rng(4) }));
    this.block = this.registerModule('block', new Block(e, 2, 5));
    this.head = this.registerModule('head', new d.Linear(e, classes, { rng: new d.Rng(6) }));
  }

  forward(ids: d.Tensor): d.Tensor {
    const [n, l] = ids.shape;
    this.block.mask = d.reshape(d.eq(ids, 0), [n, 1, 1, l]);
    return this.head.forward(this.block.forward(this.emb.forward(ids)));
  }
}

test('Embedding → attention → Linear trains on webgpu as on wasm: step losses and parameters within float32 noise, no read inside a step', async () => {
  await initWasm();
  const prev = d.backend().name;
  const [n, l, vocab, e, classes, steps] = [6, 7, 13, 8, 3, 6];
  // ids with padding (0) at the end of some sequences, repeated ids within and across sequences
  const batches = Array.from({ length: steps }, (_, s) => {
    const ids = new Float32Array(n * l);
    for (let i = 0; i < n; i++) {
      const len = l - ((i + s) % 3);
      for (let j = 0; j < len; j++) ids[i * l + j] = 1 + ((i * 7 + j * 3 + s * 5) % (vocab - 1));
    }
    return { ids, targets: Array.from({ length: n }, (_, i) => (i + s) % classes) };
  });
  const run = async (device: boolean) => {
    const model = new TinyTransformer(vocab, e, classes);
    if (device) await model.to('webgpu');
    const opt = new d.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const losses: number[] = [];
    for (const b of batches) {
      const reads = webgpuInfo().reads;
      opt.zeroGrad();
      const loss = d.crossEntropy(model.forward(d.fromData(b.ids, [n, l])), b.targets);
      loss.backward();
      opt.step();
      if (device) assert.equal(webgpuInfo().reads, reads, 'a step reads nothing back');
      losses.push((await loss.read())[0]);
    }
    const params = await Promise.all(model.parameters().map(async (p) => Array.from(await p.read())));
    return { losses, params, model };
  };
  try {
    d.setBackend('wasm');
    const want = await run(false);
    const gathers = webgpuInfo().kernels.embeddingScatter ?? 0;
    const got = await run(true);
    assert.ok(got.model.parameters().every((p) => p.device === 'webgpu'));
    assert.equal((webgpuInfo().kernels.embeddingScatter ?? 0) - gathers, steps, 'one embeddingScatter per step');
    const lossErr = assertNear('step loss', got.losses, want.losses);
    let paramErr = 0;
    for (const [i, p] of got.params.entries()) paramErr = Math.max(paramErr, assertNear(`parameter ${i}`, p, want.params[i]));
    assert.ok(want.losses[steps - 1] < want.losses[0], `the loss falls: ${want.losses}`);
    console.log(`webgpu vs wasm tiny transformer: step loss ${lossErr.toExponential(2)}, parameters ${paramErr.toExponential(2)}`);
  } finally {
    d.setBackend(prev);
  }
});

test('narrow and split on webgpu equal the reference (the row gather, its scatter backward): first, middle and last axes', async () => {
  reseed(27);
  const shape = [3, 4, 5];
  const before = webgpuInfo().kernels.embeddingGather ?? 0;
  await compareOp('narrow(x, 0, 1, 2)', operands(shape), [shape], ([x]) => d.narrow(x, 0, 1, 2));
  await compareOp('narrow(x, 1, 2, 2)', operands(shape), [shape], ([x]) => d.narrow(x, 1, 2, 2));
  await compareOp('narrow(x, -1, 1, 3)', operands(shape), [shape], ([x]) => d.narrow(x, -1, 1, 3));
  await compareOp('split(x, 2, 1)', operands(shape), [shape], ([x]) => d.mul(d.split(x, 2, 1)[1], d.split(x, 2, 1)[0]));
  assert.ok((webgpuInfo().kernels.embeddingGather ?? 0) - before >= 4, 'the slices run as row gathers on the device');
});

test("the library's MultiheadAttention, pre-norm GELU TransformerEncoderLayer and positions train on webgpu as on wasm", async () => {
  const [n, l, f, classes, steps] = [5, 6, 8, 3, 5];
  reseed(28);
  const batches = Array.from({ length: steps }, (_, s) => ({
    x: rnd(n * l * f),
    shape: [n, l, f],
    targets: Array.from({ length: n }, (_, i) => (i + s) % classes),
  }));
  await assertStepsAlike(
    () => {
      const rng = new d.Rng(5);
      return new d.Sequential(
        new d.PositionalEmbedding(l, f, { rng }),
        new d.TransformerEncoderLayer(f, 2, { dimFeedforward: 16, dropout: 0, activation: 'gelu', normFirst: true, rng }),
        new d.MultiheadAttention(f, 4, { rng }),
        new d.SinusoidalPositionalEncoding(f),
        new d.Flatten(),
        new d.Linear(l * f, classes, { rng }),
      );
    },
    batches,
    { training: true, upload: true },
  );
});
