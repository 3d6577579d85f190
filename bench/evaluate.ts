/**
 * What batch scopes save in evaluation: `evaluate` of each built-in model over the test set
 * (Fashion-MNIST's 10,000 images where installed, else the embedded 200; batch 256) and `generate`
 * of 200 tokens with the default language model (a causal two-layer Transformer, context 64), each
 * with the host step scopes on and off (`setHostStepScopes`), alternating, untrained weights. Prints
 * the median of each and their ratio; the results (loss, ids) must agree.
 *   node --experimental-wasm-relaxed-simd dist/bench/evaluate.js [rounds=4] [models=mlp,cnn,lstm,transformer]
 */
import { DataLoader, Rng, evaluate, generate, setBackend } from '../src/index.js';
import { initWasm } from '../src/wasm.js';
import { loadFashionMnist } from '../src/node.js';
import { setHostStepScopes } from '../src/train/step-scope.js';
import { resolveModel } from '../src/train/spec.js';
import { modelSampleShape } from '../src/train/models.js';
import { median } from './common.js';

const [roundsArg = '4', names = 'mlp,cnn,lstm,transformer'] = process.argv.slice(2);
const rounds = Number(roundsArg);
await initWasm();
setBackend('wasm');

/** Median ms of `fn` with scopes off and on, `rounds` each, alternating; its results must be equal. */
function ab(label: string, fn: () => unknown): void {
  const ms: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const results = new Set<string>();
  for (let r = 0; r < rounds; r++) {
    for (const on of [false, true]) {
      const was = setHostStepScopes(on);
      const t0 = performance.now();
      results.add(JSON.stringify(fn()));
      ms[on ? 'on' : 'off'].push(performance.now() - t0);
      setHostStepScopes(was);
    }
  }
  if (results.size !== 1) throw new Error(`${label}: the results differ with and without scopes: ${[...results].join(' / ')}`);
  const off = median(ms.off),
    on = median(ms.on);
  console.log(
    `${label.padEnd(44)} without ${off.toFixed(0).padStart(6)} ms   with ${on.toFixed(0).padStart(6)} ms   ${(off / on).toFixed(2)}×`,
  );
}

const { test } = loadFashionMnist();
for (const name of names.split(',')) {
  const spec = resolveModel(name);
  const model = spec.build({ rng: new Rng(1), inputShape: test.shape, classes: 10 });
  const source = new DataLoader(test, { batchSize: 256, sampleShape: modelSampleShape(spec.input, test.shape) });
  ab(`evaluate ${name} (${test.length} images)`, () => evaluate(model, source));
}
const V = 65,
  T = 64;
const lm = resolveModel(`embedding:${V}:128,posembed,transformer:4:ff=512:act=gelu:prenorm=true:layers=2:causal=true,linear:${V}`).build({
  rng: new Rng(1),
  inputShape: [1, 1, T],
  classes: V,
  perStep: true,
});
ab('generate 200 tokens (default language model)', () =>
  Array.from(generate(lm, [[1, 2, 3, 4, 5, 6, 7, 8]], { maxNewTokens: 200, contextLength: T, rng: new Rng(2), temperature: 0.8 }).ids),
);
