/**
 * W1 (MLP 784-256-128-10, Adam) and W2 (CNN, Adam) take the fused paths on wasm: counted calls of
 * each extension while fit() — which runs the model through fuse() — trains a few steps, and the
 * same counts for the benchmark's own loop over a fused model. If a layer or the optimizer fell
 * back to the composed primitives, a count here would be zero. So does an MLP with GELU and SiLU
 * built from a model spec (as the CLI's --model builds it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initWasm, setWasmThreads } from '../../src/backend/wasm/index.js';
import { setBackend, registerBackend, extensionsOf, type Extensions } from '../../src/backend/backend.js';
import {
  Adam,
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Rng,
  Sequential,
  Tensor,
  crossEntropy,
  fit,
  fuse,
  accelerationInfo,
  buildFromLayers,
  parseModelSpec,
  type BatchSource,
} from '../../src/index.js';
import { floatSource } from '../helpers.js';

const wasm = await initWasm({ threads: 2 });
setWasmThreads(2);
const ext = extensionsOf('wasm');
const calls: Record<string, number> = {};
/** linear and linearBackward calls by activation ('linear gelu', …). */
const byActivation: Record<string, number> = {};
/** accumulateGw = true: the weight gradient was written straight into the parameter's .grad buffer (no copy). */
let inPlaceWeightGrads = 0;
const spied: Partial<Extensions> = {};
for (const [name, f] of Object.entries(ext) as [keyof Extensions, (...a: unknown[]) => unknown][]) {
  (spied as Record<string, unknown>)[name] = (...a: unknown[]) => {
    calls[name] = (calls[name] ?? 0) + 1;
    if (name === 'linear' || name === 'linearBackward') {
      const key = `${name} ${String(a[name === 'linear' ? 7 : 10])}`;
      byActivation[key] = (byActivation[key] ?? 0) + 1;
    }
    if ((name === 'linearBackward' || name === 'convLayerBackward' || name === 'convPoolLayerBackward') && a[a.length - 1] === true)
      inPlaceWeightGrads++;
    return f(...a);
  };
}
registerBackend({ ...wasm, name: 'wasm-counted' }, spied);

const w1 = (rng: Rng) =>
  new Sequential(new Linear(784, 256, { rng }), new ReLU(), new Linear(256, 128, { rng }), new ReLU(), new Linear(128, 10, { rng }));
const w2 = (rng: Rng) =>
  new Sequential(
    new Conv2d(1, 32, 5, { padding: 2, rng }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(32, 64, 5, { padding: 2, rng }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(64 * 7 * 7, 128, { rng }),
    new ReLU(),
    new Linear(128, 10, { rng }),
  );

function source(batch: number, batches: number, shape: number[]): BatchSource {
  const rnd = floatSource(5);
  const data = Array.from({ length: batches }, (_, b) => ({
    x: new Tensor(rnd(batch * 784), [batch, ...shape]),
    y: Int32Array.from({ length: batch }, (_, i) => (i * 7 + b) % 10),
  }));
  return {
    length: batches,
    samplesPerEpoch: batch * batches,
    *epoch() {
      yield* data;
    },
  };
}

function reset(): void {
  for (const k of Object.keys(calls)) delete calls[k];
  for (const k of Object.keys(byActivation)) delete byActivation[k];
  inPlaceWeightGrads = 0;
}

for (const [w, make, batch, shape, layers] of [
  ['W1', w1, 128, [784], { linear: 3 }],
  ['W2', w2, 64, [1, 28, 28], { convPoolLayer: 2, linear: 2 }],
] as const) {
  test(`${w}: fit() runs every layer and the Adam update through the fused extensions on wasm`, () => {
    setBackend('wasm-counted');
    try {
      const rng = new Rng(1);
      const model = make(rng);
      const optimizer = new Adam(model.namedParameters(), { lr: 1e-3 });
      const before = accelerationInfo().updates.Adam ?? { fused: 0, pure: 0 };
      reset();
      const steps = 2;
      fit({ model, optimizer, train: source(batch, steps, [...shape]), epochs: 1, rng: new Rng(2) });
      const params = model.parameters().length;
      for (const [name, perStep] of Object.entries(layers)) {
        assert.ok((calls[name] ?? 0) >= perStep * steps, `${name}: ${calls[name] ?? 0} calls, expected ≥ ${perStep * steps}`);
        assert.ok((calls[`${name}Backward`] ?? 0) >= perStep * steps, `${name}Backward: ${calls[`${name}Backward`] ?? 0} calls`);
      }
      assert.equal(calls.adamStep, params * steps, 'one fused Adam update per parameter per step');
      assert.equal(calls.batchUpdates, steps, 'one batched job per step');
      assert.ok(
        inPlaceWeightGrads >= Object.values(layers).reduce((a: number, b: number) => a + b, 0) * (steps - 1),
        'weight gradients written into .grad in place',
      );
      const after = accelerationInfo().updates.Adam;
      assert.equal(after.fused - before.fused, params * steps);
      assert.equal(after.pure - before.pure, 0, 'no parameter fell back to the rule');
    } finally {
      setBackend('reference');
    }
  });
}

test('W1: the benchmark loop over fuse(model) (zeroGrad in place, backward, step) takes the same fused paths', () => {
  setBackend('wasm-counted');
  try {
    const rng = new Rng(1);
    const model = fuse(w1(rng));
    const opt = new Adam(model.namedParameters(), { lr: 1e-3 });
    const rnd = floatSource(9);
    reset();
    for (let s = 0; s < 3; s++) {
      const l = crossEntropy(
        model.forward(new Tensor(rnd(128 * 784), [128, 784])),
        Int32Array.from({ length: 128 }, (_, i) => i % 10),
      );
      opt.zeroGrad({ setToNone: false });
      l.backward();
      opt.step();
    }
    assert.equal(calls.linear, 9);
    assert.equal(calls.linearBackward, 9);
    // step 1 has no .grad yet; step 2's zeroGrad makes the buffers; from then on backward adds into them
    assert.equal(inPlaceWeightGrads, 6, 'every weight gradient accumulated into its buffer once buffers exist');
    assert.equal(calls.adamStep, 18);
    assert.equal(calls.zero, 6, 'gradient buffers zeroed by memset once they exist');
  } finally {
    setBackend('reference');
  }
});

test('an MLP with GELU (both forms) and SiLU from a model spec trains through the fused linear extensions with its activations', () => {
  setBackend('wasm-counted');
  try {
    const { model } = buildFromLayers(parseModelSpec('linear:256,gelu,linear:128,gelu:tanh,linear:64,silu,linear'), {
      rng: new Rng(1),
      inputShape: [1, 28, 28],
      classes: 10,
    });
    const optimizer = new Adam(model.namedParameters(), { lr: 1e-3 });
    reset();
    const steps = 2;
    fit({ model, optimizer, train: source(128, steps, [784]), epochs: 1, rng: new Rng(2) });
    for (const act of ['gelu', 'geluTanh', 'silu']) {
      assert.equal(byActivation[`linear ${act}`], steps, `linear ${act}: ${JSON.stringify(byActivation)}`);
      assert.equal(byActivation[`linearBackward ${act}`], steps, `linearBackward ${act}: ${JSON.stringify(byActivation)}`);
    }
    assert.equal(byActivation['linear none'], steps, 'the last layer');
    assert.ok(!('unary' in calls), 'no activation ran as a separate pass');
  } finally {
    setBackend('reference');
  }
});
