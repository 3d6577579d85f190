/**
 * sampleNext and generate (src/train/generate.ts): greedy decoding is the arg-max and draws nothing;
 * topK and topP never emit an excluded id; the empirical frequencies of a fixed distribution's
 * draws (with temperature and nucleus renormalisation) lie within 4 standard errors of the
 * probabilities derived by hand; same seed ⇒ same ids; generate's cropping, evaluation mode, prompt
 * forms and returned shape; the options' errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as d from '../../src/index.js';

const P = [0.5, 0.3, 0.15, 0.05];
const logitsOf = (p: number[], rows = 1) =>
  d.fromData(Array.from({ length: rows }, () => p.map(Math.log)).flat(), [rows, p.length], { dtype: 'float64' });

function argmaxRows(x: d.Tensor): number[] {
  const V = x.shape[1];
  return Array.from({ length: x.shape[0] }, (_, b) => {
    let best = 0;
    for (let c = 1; c < V; c++) if (x.data[b * V + c] > x.data[b * V + best]) best = c;
    return best;
  });
}

test('temperature 0 is the arg-max and draws nothing; topK 1 is the arg-max at any temperature', () => {
  const x = d.randn([6, 9], new d.Rng(4));
  const rng = new d.Rng(7);
  const before = rng.getState();
  assert.deepEqual(Array.from(d.sampleNext(x, { temperature: 0, rng })), argmaxRows(x));
  assert.deepEqual(rng.getState(), before, 'greedy decoding leaves the generator as it was');
  for (const temperature of [0.5, 1, 3]) assert.deepEqual(Array.from(d.sampleNext(x, { topK: 1, temperature, rng })), argmaxRows(x));
  // equal maxima: the first, as torch.argmax
  assert.deepEqual(Array.from(d.sampleNext(d.tensor([[1, 3, 3]]), { temperature: 0 })), [1]);
});

test('topK and topP never emit an excluded id over many draws (and emit every kept one)', () => {
  const x = d.randn([4, 12], new d.Rng(9));
  const rng = new d.Rng(1);
  const seen = Array.from({ length: 4 }, () => new Set<number>());
  for (let n = 0; n < 2000; n++) d.sampleNext(x, { topK: 3, temperature: 2, rng }).forEach((id, b) => seen[b].add(id));
  for (let b = 0; b < 4; b++) {
    const row = Array.from(x.data.subarray(b * 12, (b + 1) * 12));
    const top3 = [...row.keys()].sort((i, j) => row[j] - row[i]).slice(0, 3);
    assert.deepEqual([...seen[b]].sort(), top3.sort(), `row ${b}`);
  }
  // P sorted ascending: 0.05, 0.15, 0.3, 0.5, cumulative 0.05, 0.2, 0.5, 1; topP 0.75 drops the
  // cumulative ≤ 0.25 (ids 3 and 2): {0, 1}, of probability 0.8 ≥ 0.75. topP 0.4 keeps id 0 alone.
  const ids = new Set<number>();
  for (let n = 0; n < 2000; n++) ids.add(d.sampleNext(logitsOf(P), { topP: 0.75, rng })[0]);
  assert.deepEqual([...ids].sort(), [0, 1]);
  for (const topP of [0.4, 0]) for (let n = 0; n < 200; n++) assert.equal(d.sampleNext(logitsOf(P), { topP, rng })[0], 0);
});

/** Draws n ids from `logits` and checks each id's frequency is within 4 standard errors of `expected`. */
function checkFrequencies(logits: d.Tensor, opts: d.SampleOptions, expected: number[], n: number): void {
  const counts = new Array<number>(expected.length).fill(0);
  const rows = logits.shape[0];
  for (let k = 0; k < n / rows; k++) for (const id of d.sampleNext(logits, opts)) counts[id]++;
  expected.forEach((p, c) => {
    const f = counts[c] / n,
      se = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(f - p) <= 4 * se + 1e-12, `id ${c}: frequency ${f}, expected ${p} ± ${4 * se}`);
  });
}

test('the draws follow the distribution: softmax(logits / τ), renormalised over the nucleus', () => {
  checkFrequencies(logitsOf(P, 4), { rng: new d.Rng(11) }, P, 40000);
  // τ = 2: ∝ √p — √0.5, √0.3, √0.15, √0.05 normalised
  const root = P.map(Math.sqrt);
  const z = root.reduce((a, b) => a + b);
  checkFrequencies(
    logitsOf(P, 4),
    { temperature: 2, rng: new d.Rng(12) },
    root.map((r) => r / z),
    40000,
  );
  // topP 0.75 keeps {0, 1}: 0.5 / 0.8 and 0.3 / 0.8
  checkFrequencies(logitsOf(P, 4), { topP: 0.75, rng: new d.Rng(13) }, [0.625, 0.375, 0, 0], 40000);
  // topK 3 keeps 0.5, 0.3, 0.15: over 0.95
  checkFrequencies(logitsOf(P, 4), { topK: 3, rng: new d.Rng(14) }, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0], 40000);
});

test('same seed ⇒ same ids; another seed, other ids', () => {
  const x = d.randn([32, 20], new d.Rng(2));
  const a = d.sampleNext(x, { rng: new d.Rng(5), topP: 0.9 });
  assert.deepEqual(d.sampleNext(x, { rng: new d.Rng(5), topP: 0.9 }), a);
  assert.notDeepEqual(d.sampleNext(x, { rng: new d.Rng(6), topP: 0.9 }), a);
  d.manualSeed(3);
  const g = d.sampleNext(x);
  d.manualSeed(3);
  assert.deepEqual(d.sampleNext(x), g, 'the global generator under manualSeed');
});

/** Predicts (last id + 1) mod V at every position, strongly; records what it was given. */
class Counter extends d.Module {
  seen: { shape: number[]; training: boolean | undefined; grad: boolean }[] = [];
  constructor(readonly V: number) {
    super();
  }
  forward(x: d.Tensor, opts?: d.ForwardOptions): d.Tensor {
    this.seen.push({ shape: [...x.shape], training: opts?.training, grad: d.isGradEnabled() });
    const [B, T] = x.shape;
    const out = new Float32Array(B * T * this.V);
    for (let i = 0; i < B * T; i++) out[i * this.V + ((x.data[i] + 1) % this.V)] = 10;
    return d.fromData(out, [B, T, this.V]);
  }
}

test('generate: greedy appends the model’s arg-max; the context is cropped to contextLength; evaluation mode without a graph; ids [B, T0 + n]', () => {
  const m = new Counter(5);
  const out = d.generate(
    m,
    [
      [0, 1],
      [3, 3],
    ],
    { maxNewTokens: 4, contextLength: 3, temperature: 0 },
  );
  assert.deepEqual(out.shape, [2, 6]);
  assert.deepEqual(Array.from(out.ids), [0, 1, 2, 3, 4, 0, 3, 3, 4, 0, 1, 2]);
  assert.deepEqual(
    m.seen.map((s) => s.shape),
    [
      [2, 2],
      [2, 3],
      [2, 3],
      [2, 3],
    ],
  );
  assert.ok(m.seen.every((s) => s.training === false && !s.grad));
  // the prompt's forms: number[], Int32Array, number[][] and a Tensor [B, T0] give the same
  const one = Array.from(d.generate(new Counter(5), [2], { maxNewTokens: 3, temperature: 0 }).ids);
  assert.deepEqual(one, [2, 3, 4, 0]);
  assert.deepEqual(Array.from(d.generate(new Counter(5), Int32Array.from([2]), { maxNewTokens: 3, temperature: 0 }).ids), one);
  assert.deepEqual(Array.from(d.generate(new Counter(5), d.tensor([[2]]), { maxNewTokens: 3, temperature: 0 }).ids), one);
  assert.deepEqual(d.generate(new Counter(5), [2], { maxNewTokens: 0 }).shape, [1, 1]);
});

test('generate with a trained-shape model (Embedding → Linear): same seed ⇒ same text, ids within the vocabulary', () => {
  const rng = new d.Rng(1);
  const model = new d.Sequential(new d.Embedding(7, 4, { rng }), new d.Linear(4, 7, { rng }));
  const a = d.generate(model, [1, 2], { maxNewTokens: 20, topK: 4, temperature: 0.8, rng: new d.Rng(3) });
  assert.deepEqual(d.generate(model, [1, 2], { maxNewTokens: 20, topK: 4, temperature: 0.8, rng: new d.Rng(3) }), a);
  assert.ok(Array.from(a.ids).every((id) => id >= 0 && id < 7));
  assert.deepEqual(a.shape, [1, 22]);
});

test('bad options and prompts are refused by name', () => {
  const x = d.zeros([2, 3]);
  assert.throws(() => d.sampleNext(x, { temperature: -1 }), /sampleNext: temperature must be a finite number ≥ 0, got -1/);
  assert.throws(() => d.sampleNext(x, { topK: 0 }), /sampleNext: topK must be an integer ≥ 1, got 0/);
  assert.throws(() => d.sampleNext(x, { topK: 1.5 }), /topK/);
  assert.throws(() => d.sampleNext(x, { topP: 1.5 }), /sampleNext: topP must be in \[0, 1\], got 1.5/);
  assert.throws(() => d.sampleNext(x, { top_p: 0.5 } as d.SampleOptions), /top_p/);
  assert.throws(() => d.sampleNext(d.zeros([2, 3, 4])), /expected logits \[B, V\] or \[V\], got \[2, 3, 4\]/);
  assert.throws(() => d.sampleNext(d.tensor([[0, Number.NaN]])), /logit 1 of row 0 is NaN/);
  const m = new Counter(3);
  assert.throws(() => d.generate(m, [0], {} as d.GenerateOptions), /generate: maxNewTokens is required/);
  assert.throws(() => d.generate(m, [0], { maxNewTokens: -1 }), /maxNewTokens must be an integer ≥ 0, got -1/);
  assert.throws(() => d.generate(m, [0], { maxNewTokens: 1, contextLength: 0 }), /contextLength must be an integer ≥ 1, got 0/);
  assert.throws(() => d.generate(m, [], { maxNewTokens: 1 }), /the prompt is empty/);
  assert.throws(() => d.generate(m, [[0, 1], [2]], { maxNewTokens: 1 }), /row 0 has 2 ids, row 1 1/);
  assert.throws(() => d.generate(m, [0, -1], { maxNewTokens: 1 }), /prompt\[0\]\[1\] is -1/);
  assert.throws(() => d.generate(m, 'ab' as unknown as number[], { maxNewTokens: 1 }), /prompt must be token ids/);
  class Wrong extends d.Module {
    forward(): d.Tensor {
      return d.zeros([1, 5, 3]);
    }
  }
  assert.throws(
    () => d.generate(new Wrong(), [0, 1], { maxNewTokens: 1 }),
    /the model maps ids \[1, 2\] to \[1, 5, 3\]; expected logits \[1, 2, V\]/,
  );
});

test('generateAsync on the host: the ids of generate, the same checks', async () => {
  const rng = new d.Rng(2);
  const model = new d.Sequential(new d.Embedding(7, 4, { rng }), new d.Linear(4, 7, { rng }));
  for (const o of [{ temperature: 0 }, { temperature: 0.8, topK: 4 }, { topP: 0.9 }]) {
    const want = d.generate(
      model,
      [
        [1, 2],
        [3, 4],
      ],
      { maxNewTokens: 12, contextLength: 3, ...o, rng: new d.Rng(5) },
    );
    const got = await d.generateAsync(
      model,
      [
        [1, 2],
        [3, 4],
      ],
      { maxNewTokens: 12, contextLength: 3, ...o, rng: new d.Rng(5) },
    );
    assert.deepEqual(got, want);
  }
  const m = new Counter(5);
  assert.deepEqual(Array.from((await d.generateAsync(m, [2], { maxNewTokens: 3, temperature: 0 })).ids), [2, 3, 4, 0]);
  await assert.rejects(d.generateAsync(m, [0], { maxNewTokens: -1 }), /generateAsync: maxNewTokens must be an integer ≥ 0, got -1/);
  await assert.rejects(d.generateAsync(m, [], { maxNewTokens: 1 }), /generateAsync: the prompt is empty/);
});
