/**
 * Training speed of "sequential Fashion-MNIST": each 28×28 image read as 28 steps of 28 features,
 * LSTM(28, 128) → Linear(128, 10), batch 128, Adam, cross-entropy, float32, random data (the speed
 * does not depend on the values). Compare with tools/bench_lstm.py (PyTorch, the same shapes).
 *   npx tsc -p tsconfig.json && node dist/tools/bench_lstm.js [wasm|reference] [steps] [wasm threads]
 * Prints samples/s over `steps` steps (default 20) after 3 warm-up steps; the machine is shared, so
 * run it several times.
 */
import { Adam, LSTM, Linear, Rng, Sequential, crossEntropy, rand, setBackend } from '../src/index.js';
import { selectBackend } from '../src/cli/backend.js';
import { initWasm } from '../src/backend/wasm/index.js';

const backendName = process.argv[2] ?? 'wasm';
const steps = Number(process.argv[3] ?? 20);
// the wasm backend's threads: one per core (up to 8) unless given
if (backendName === 'wasm' && process.argv[4]) {
  await initWasm({ threads: Number(process.argv[4]) });
  setBackend('wasm');
} else await selectBackend(backendName);
const [N, T, F, H, C] = [128, 28, 28, 128, 10];
const rng = new Rng(1);
const model = new Sequential(
  new LSTM(F, H, { returnSequences: false, rng: rng.fork('lstm') }),
  new Linear(H, C, { rng: rng.fork('linear') }),
);
const opt = new Adam(model.parameters(), { lr: 1e-3 });
const x = rand([N, T, F], rng.fork('x'));
const y = Int32Array.from({ length: N }, (_, i) => i % C);
let t0 = 0;
let cpu0 = process.cpuUsage();
for (let i = 0; i < steps + 3; i++) {
  if (i === 3) {
    t0 = performance.now();
    cpu0 = process.cpuUsage();
  }
  opt.zeroGrad();
  const loss = crossEntropy(model.forward(x, { training: true }), y);
  loss.backward();
  opt.step();
}
const s = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(
  `descent (${backendName}) LSTM(28, 128) → Linear(128, 10), batch ${N}: ${((steps * N) / s).toFixed(0)} samples/s (${((s / steps) * 1000).toFixed(1)} ms/step; CPU ${((cpu.user + cpu.system) / 1000 / steps).toFixed(1)} ms/step over all threads)`,
);
