/**
 * Step scopes on the wasm backend (src/train/step-scope.ts): fit and trainStep give the same
 * results bit for bit with and without them, for every registered optimizer, and so do the
 * evaluations, predictions and generate, which scope each batch; a step's memory is reused by the
 * next; what the model, the optimizer or the step's result hold survives; a tensor of the step held
 * elsewhere (by a metric too) is released and says so when read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { initWasm, wasmPersistentBytes } from '../../src/backend/wasm/index.js';
import { setBackend } from '../../src/backend/index.js';
import { Rng } from '../../src/tensor/rng.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Linear, ReLU, Sequential } from '../../src/nn/layers.js';
import { Dropout } from '../../src/nn/dropout.js';
import { Module } from '../../src/nn/module.js';
import { Adam } from '../../src/optim/adam.js';
import { getOptimizer, optimizerNames } from '../../src/optim/registry.js';
import { fitRun, type FitOptions } from '../../src/train/trainer.js';
import { modelSampleShape, models } from '../../src/train/models.js';
import { resolveModel } from '../../src/train/spec.js';
import { wasmInfo } from '../../src/backend/wasm/index.js';
import { setHostStepScopes, trainStep } from '../../src/train/step-scope.js';
import { lrFind } from '../../src/train/lr-find.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadEmbedded } from '../../src/data/node.js';
import { crossEntropy } from '../../src/autograd/cross-entropy.js';
import { mseLoss, mul } from '../../src/autograd/ops.js';
import { evaluate, predictProba, type BatchSource } from '../../src/train/trainer.js';
import { predict } from '../../src/train/predict.js';
import { evaluateProbabilities, evaluateRegression } from '../../src/train/metrics.js';
import { evaluateEnsemble } from '../../src/ensemble/ensemble.js';
import { generate } from '../../src/train/generate.js';
import '../../src/index.js'; // every optimizer registered

setFlagsFromString('--expose-gc');
/** A full collection (the finalizers of what it collected run in a later task). */
const gc = runInNewContext('gc') as () => void;

await initWasm({ threads: 2 });
setBackend('wasm');

const data = loadEmbedded();
const train = data.train.slice(0, 256);

/** Big enough that its activations and gradients (≥ 1024 values) come from the step's arena. */
function net(seed: number): Module {
  const rng = new Rng(seed);
  return new Sequential(new Linear(784, 32, { rng }), new ReLU(), new Dropout(0.2), new Linear(32, 10, { rng }));
}

const bits1 = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');
const bits = (m: Module) =>
  m.namedParameters().map(([, p]) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).toString('hex'));

/** fn's result with the host step scopes on or off, and the bytes the kernels copied in and out meanwhile. */
function withScopes<T>(scopes: boolean, fn: () => T): { out: T; copied: number } {
  const was = setHostStepScopes(scopes);
  const before = wasmInfo().copiedBytes;
  try {
    const out = fn();
    return { out, copied: wasmInfo().copiedBytes - before };
  } finally {
    setHostStepScopes(was);
  }
}

/** Options each optimizer needs to take a few cheap steps on the net. */
const extra: Record<string, Record<string, unknown>> = { newton: { mode: 'hessianFree', cgMaxIter: 3 } };

function run(name: string, scopes: boolean, more: Partial<FitOptions> = {}) {
  const was = setHostStepScopes(scopes);
  try {
    const model = net(1);
    const optimizer = getOptimizer(name).create(model.namedParameters(), { lr: 0.01, ...extra[name] });
    const rng = new Rng(2);
    const loader = new DataLoader(train, { batchSize: 64, shuffle: true, rng: rng.fork('data'), flatten: true });
    const r = fitRun({ model, optimizer, train: loader, epochs: 2, rng, ...more });
    return {
      records: r.records.map(({ seconds, samplesPerSec, ...rest }) => rest),
      params: bits(model),
      ema: r.ema?.stateDict(),
      swa: r.swa?.stateDict(),
      snapshots: r.snapshots?.snapshots.map((m) => [...m].map(([k, v]) => [k, Array.from(v)])),
    };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    setHostStepScopes(was);
  }
}

test('fit on wasm: every registered optimizer gives the same records and parameters bit for bit with step scopes as without', () => {
  const names = optimizerNames();
  assert.ok(names.length >= 25, `expected the whole registry, got ${names.length}`);
  for (const name of names) {
    const plain = run(name, false);
    const scoped = run(name, true);
    assert.deepEqual(scoped, plain, `${name}: the run with step scopes differs from the run without`);
    // L-BFGS and Newton take a closure over a full batch (fit's fullBatch): a minibatch run refuses them, with scopes or without
    if ('error' in plain) assert.ok(['lbfgs', 'newton'].includes(name) && /closure/.test(plain.error as string), `${name}: ${plain.error}`);
  }
});

test('fit on wasm: every built-in model and a BatchNorm CNN give the same records and parameters bit for bit with step scopes as without, copying less', () => {
  const specs = [...models.keys(), 'conv:8:3:pad=1:bias=false,batchnorm,relu,maxpool:2,flatten,linear:10'];
  assert.ok(specs.length >= 7);
  const small = train.slice(0, 96);
  const once = (name: string, scopes: boolean) => {
    const spec = resolveModel(name);
    const rng = new Rng(7);
    const model = spec.build({ rng: rng.fork('model'), inputShape: small.shape, classes: 10 });
    const optimizer = new Adam(model.namedParameters(), { lr: 1e-3 });
    const loader = new DataLoader(small, {
      batchSize: 32,
      shuffle: true,
      rng: rng.fork('data'),
      sampleShape: modelSampleShape(spec.input, small.shape),
    });
    return withScopes(scopes, () => {
      const r = fitRun({ model, optimizer, train: loader, epochs: 2, rng });
      return {
        records: r.records.map(({ seconds, samplesPerSec, ...rest }) => rest),
        state: model.namedState().map(([n, t]) => [n, bits1(t)]),
      };
    });
  };
  for (const name of specs) {
    const plain = once(name, false);
    const scoped = once(name, true);
    assert.deepEqual(scoped.out, plain.out, `${name}: the run with step scopes differs from the run without`);
    // the step's arrays live in WebAssembly memory: the kernels read and write them in place (what
    // logreg copies is mostly its input batches, fetched before the step opens)
    assert.ok(
      scoped.copied < (name === 'logreg' ? plain.copied : plain.copied / 2),
      `${name}: ${scoped.copied} bytes copied with step scopes, ${plain.copied} without`,
    );
  }
});

test('fit on wasm with accumulation, EMA, SWA and snapshots: the same bit for bit with step scopes as without', () => {
  const more: Partial<FitOptions> = {
    accumulate: 2,
    ema: { decay: 0.9 },
    swa: { startEpoch: 1 },
    snapshots: { cycles: 2 },
  } as Partial<FitOptions>;
  const plain = run('adam', false, more);
  assert.ok(!('error' in plain), `the run failed: ${'error' in plain ? plain.error : ''}`);
  assert.deepEqual(run('adam', true, more), plain);
});

test('lrFind on wasm: the same curve and suggestion with step scopes as without, and the weights put back', () => {
  const once = (scopes: boolean) => {
    const was = setHostStepScopes(scopes);
    try {
      const model = net(8);
      const before = bits(model);
      const optimizer = getOptimizer('momentum').create(model.namedParameters(), { lr: 1e-3 });
      const rng = new Rng(9);
      const loader = new DataLoader(train, { batchSize: 32, shuffle: true, rng: rng.fork('data'), flatten: true });
      // an end rate high enough that the loss diverges and the test stops early
      const r = lrFind({ model, optimizer, train: loader, rng, startLr: 1e-4, endLr: 1e4, steps: 40 });
      assert.deepEqual(bits(model), before, 'the weights are put back');
      return r;
    } finally {
      setHostStepScopes(was);
    }
  };
  const plain = once(false);
  assert.ok(plain.diverged && plain.losses.length < 40, `expected an early stop, got ${plain.losses.length} steps`);
  assert.deepEqual(once(true), plain);
});

test("fit on wasm: a step's memory is reused by the next (WebAssembly memory held does not grow with the steps)", () => {
  const model = net(3);
  const optimizer = new Adam(model.namedParameters(), { lr: 1e-3 });
  const rng = new Rng(4);
  const loader = new DataLoader(train, { batchSize: 32, shuffle: true, rng: rng.fork('data'), flatten: true });
  fitRun({ model, optimizer, train: loader, epochs: 1, rng });
  const after1 = wasmPersistentBytes();
  fitRun({ model, optimizer, train: loader, epochs: 3, rng });
  const after3 = wasmPersistentBytes();
  // 8 steps an epoch, each with ~0.3 MB of arena arrays: kept, 24 more steps would add ~7 MB
  assert.ok(after3 <= after1, `persistent bytes grew from ${after1} to ${after3}`);
});

/** A module that keeps its last hidden activation (as a cache might): reachable from the model, so kept. */
class Keeper extends Module {
  readonly inner = this.registerModule('inner', new Linear(784, 64, { rng: new Rng(5) }));
  last: Tensor | null = null;
  /** A subarray of an array of the step, the array itself held by nothing. */
  rows: Float32Array | null = null;
  forward(x: Tensor): Tensor {
    this.last = this.inner.forward(x);
    this.rows = mul(this.last, 1).data.subarray(64, 128) as Float32Array;
    return this.last;
  }
}

test('trainStep: what the model (an array of the step or a subarray of one), the optimizer and the result hold survives the step; a tensor held elsewhere is released and says so', async () => {
  const model = new Keeper();
  const optimizer = new Adam(model.namedParameters(), { lr: 1e-3 });
  const x = new Tensor(train.images.slice(0, 32 * 784), [32, 784]);
  const y = train.labels.slice(0, 32);
  let outside: Tensor | null = null;
  const step = () =>
    trainStep(model, optimizer, () => {
      const out = model.forward(x);
      outside = mul(out, 2);
      const l = crossEntropy(out, y);
      optimizer.zeroGrad();
      l.backward();
      optimizer.step();
      return { loss: l.item(), doubled: mul(out, 3) };
    });
  const r1 = step();
  const cached = model.last!;
  const kept = Array.from(cached.data);
  const rows = model.rows!;
  const returned = Array.from(r1.doubled.data);
  const held = outside!;
  assert.throws(
    () => held.data,
    /tensor \[32, 64\] was computed in a training step or an evaluation batch whose memory was freed when it ended.*clone\(\)/,
  );
  // the arrays nothing holds are collected and their finalizers run: a block kept through a
  // subarray must not go back to the free list with its (unreachable) array
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  const r2 = step();
  // the next steps allocated their arrays over the freed ones; the kept ones still hold their values
  for (let i = 0; i < 4; i++) step();
  assert.deepEqual(Array.from(cached.data), kept);
  assert.deepEqual(Array.from(rows), kept.slice(64, 128));
  assert.deepEqual(Array.from(r1.doubled.data), returned);
  for (let i = 0; i < returned.length; i++) assert.equal(returned[i], Math.fround(kept[i] * 3));
  assert.notEqual(r2.loss, r1.loss);
  // the parameters' gradients are reachable from the model: kept from step to step
  for (const p of model.parameters()) assert.ok(p.grad && Number.isFinite(p.grad.data[0]));
});

test('trainStep refuses a step that is not a function', () => {
  const model = net(6);
  assert.throws(() => trainStep(model, null, 3 as unknown as () => number), /trainStep: expected the step as a function, got number/);
});

test('evaluate, predict, predictProba, evaluateProbabilities and evaluateEnsemble on wasm: the same to the bit with batch scopes as without, for every built-in model and a BatchNorm CNN, copying less', () => {
  const specs = [...models.keys(), 'conv:8:3:pad=1:bias=false,batchnorm,relu,maxpool:2,flatten,linear:10'];
  const small = train.slice(0, 96);
  const test = data.test.slice(0, 80);
  const once = (name: string, scopes: boolean) => {
    const spec = resolveModel(name);
    const rng = new Rng(11);
    const sampleShape = modelSampleShape(spec.input, small.shape);
    const build = (r: Rng) => spec.build({ rng: r, inputShape: small.shape, classes: 10 });
    const [a, b] = [build(rng.fork('a')), build(rng.fork('b'))];
    // trained a little (with fit's own scopes either way), so BatchNorm's running statistics move
    const loader = new DataLoader(small, { batchSize: 32, shuffle: true, rng: rng.fork('data'), sampleShape });
    fitRun({ model: a, optimizer: new Adam(a.namedParameters(), { lr: 1e-3 }), train: loader, epochs: 1, rng });
    // batches of 32, the last one short
    const source = new DataLoader(test, { batchSize: 32, sampleShape });
    return withScopes(scopes, () => {
      const p = predictProba(a, source);
      const e = evaluateProbabilities(a, source, 10);
      return {
        evaluate: evaluate(a, source),
        outputs: Array.from(predict(a, source).data),
        probs: Array.from(p.probs),
        probabilities: Array.from(e.probabilities),
        confusion: e.confusion,
        loss: e.loss,
        ensemble: evaluateEnsemble([a, b], source),
      };
    });
  };
  for (const name of specs) {
    const plain = once(name, false);
    const scoped = once(name, true);
    assert.ok(plain.out.evaluate.testLoss > 0 && plain.out.probs.length === 800, `${name}: ${JSON.stringify(plain.out.evaluate)}`);
    assert.deepEqual(scoped.out, plain.out, `${name}: the evaluations with batch scopes differ from those without`);
    // logreg's one array of a batch, its [32, 10] output, is below the arena's least size: it copies its input alike
    if (name !== 'logreg')
      assert.ok(scoped.copied < plain.copied / 2, `${name}: ${scoped.copied} bytes copied with batch scopes, ${plain.copied} without`);
  }
});

test('evaluateRegression and generate (a causal Transformer) on wasm: the same with batch scopes as without', () => {
  const rng = new Rng(12);
  const model = new Sequential(new Linear(784, 64, { rng }), new ReLU(), new Linear(64, 3, { rng }));
  const x = new Tensor(train.images.slice(0, 64 * 784), [64, 784]);
  const y = new Tensor(
    Float32Array.from({ length: 64 * 3 }, (_, i) => Math.sin(i)),
    [64, 3],
  );
  const source: BatchSource = { epoch: () => [{ x, y }], length: 1, samplesPerEpoch: 64 };
  const lm = resolveModel('embedding:24:32,posembed,transformer:4:ff=64:layers=2:causal=true,linear:24').build({
    rng: new Rng(13),
    inputShape: [1, 1, 16],
    classes: 24,
    perStep: true,
  });
  const prompt = [
    [1, 2, 3],
    [4, 5, 6],
  ];
  const once = (scopes: boolean) =>
    withScopes(scopes, () => ({
      regression: evaluateRegression(model, source, 3, (o, t) => mseLoss(o, t)),
      ids: Array.from(generate(lm, prompt, { maxNewTokens: 20, contextLength: 16, rng: new Rng(14) }).ids),
    }));
  const plain = once(false);
  assert.equal(plain.out.ids.length, 2 * 23);
  assert.ok(plain.out.regression.loss > 0);
  const scoped = once(true);
  assert.deepEqual(scoped.out, plain.out);
  assert.ok(scoped.copied < plain.copied / 2, `${scoped.copied} bytes copied with batch scopes, ${plain.copied} without`);
});

test("evaluate on wasm: a batch's memory is reused by the next, and an output a metric keeps is released and says so", () => {
  const model = net(15);
  // outputs [128, 10]: at least the arena's least size (1024 values), so they live in the batch's scope
  const source = new DataLoader(data.test.slice(0, 256), { batchSize: 128, flatten: true });
  evaluate(model, source);
  const after1 = wasmPersistentBytes();
  for (let i = 0; i < 5; i++) evaluate(model, source);
  assert.ok(wasmPersistentBytes() <= after1, `persistent bytes grew from ${after1} to ${wasmPersistentBytes()}`);
  const held: Tensor[] = [];
  const copies: Tensor[] = [];
  const r = evaluate(model, source, {
    metrics: {
      kept: (out: Tensor) => {
        held.push(out);
        copies.push(out.clone());
        return 0;
      },
    },
  });
  assert.equal(r.testKept, 0);
  assert.equal(held.length, 2);
  assert.throws(
    () => held[0].data,
    /tensor \[128, 10\] was computed in a training step or an evaluation batch whose memory was freed.*clone\(\)/,
  );
  // the clones made inside the batch are plain arrays: the same logits as a forward pass outside any scope
  const first = model.forward(new Tensor(data.test.images.slice(0, 128 * 784), [128, 784]), { training: false });
  assert.deepEqual(Array.from(copies[0].data), Array.from(first.data));
});
