/**
 * Where a training step of a small Transformer encoder goes: batch 64, L 32, E 64, 4 heads,
 * feed-forward 128, 2 post-norm layers, mean over L → Linear(64, 10), Adam, cross-entropy, float32,
 * random data. Prints the whole step's time, then the time of the attention's batched products alone
 * (per layer Q·Kᵀ and A·V on [N, H, L, D] forward and backward, the shapes the step runs), and
 * their share of the step.
 *   npx tsc -p tsconfig.json && node dist/tools/profile_attention.js [wasm|reference] [steps]
 * The machine is shared: run it several times.
 */
import {
  Adam,
  Linear,
  Module,
  Rng,
  Sequential,
  type Tensor,
  TransformerEncoder,
  TransformerEncoderLayer,
  crossEntropy,
  matmul,
  mean,
  mul,
  rand,
  sum,
  transpose,
} from '../src/index.js';
import { selectBackend } from '../src/cli/backend.js';

const backendName = process.argv[2] ?? 'wasm';
const steps = Number(process.argv[3] ?? 10);
await selectBackend(backendName);
const [N, L, E, H, FF, C, layers] = [64, 32, 64, 4, 128, 10, 2];

class MeanOverL extends Module {
  forward(x: Tensor): Tensor {
    return mean(x, 1);
  }
}
const rng = new Rng(1);
const layer = new TransformerEncoderLayer(E, H, { dimFeedforward: FF, dropout: 0, rng: rng.fork('layer') });
const model = new Sequential(new TransformerEncoder(layer, layers), new MeanOverL(), new Linear(E, C, { rng: rng.fork('linear') }));
const opt = new Adam(model.parameters(), { lr: 1e-3 });
const x = rand([N, L, E], rng.fork('x'));
const y = Int32Array.from({ length: N }, (_, i) => i % C);

function time(f: () => void): number {
  for (let i = 0; i < 2; i++) f();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) f();
  return (performance.now() - t0) / steps;
}

const step = time(() => {
  opt.zeroGrad();
  const loss = crossEntropy(model.forward(x, { training: true }), y);
  loss.backward();
  opt.step();
});
const D = E / H;
const q = rand([N, H, L, D], rng.fork('q'));
const k = rand([N, H, L, D], rng.fork('k'));
const v = rand([N, H, L, D], rng.fork('v'));
for (const t of [q, k, v]) t.requiresGrad = true;
const products = time(() => {
  for (let i = 0; i < layers; i++) {
    const a = matmul(mul(q, 0.25), transpose(k, -2, -1));
    sum(matmul(a, v)).backward();
  }
});
console.log(`${backendName}: step ${step.toFixed(1)} ms (${((N / step) * 1000).toFixed(0)} samples/s)`);
console.log(
  `attention's batched products (Q·Kᵀ, A·V, forward and backward, ${layers} layers): ${products.toFixed(1)} ms = ${((100 * products) / step).toFixed(0)}% of the step`,
);
