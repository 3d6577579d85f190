/**
 * The recurrent layers' training step on WebGPU against wasm: an LSTM(F, H) → Linear(H, 10) step
 * (forward, cross-entropy, backward, Adam) on random data, float32, in three forms: wasm's fused
 * node, the device's fused node (one product and one gate pass a step each way) and the device's
 * composed step (`fused: false`). Prints ms per step and, on the device, dispatches and uploads
 * per step (webgpuInfo's counters). On lavapipe the times say little about a GPU; the dispatch
 * counts are what a GPU's launch overhead multiplies.
 *   npx tsc -p tsconfig.json && eval "$(bash tools/lavapipe.sh)" &&
 *   node dist/tools/bench_recurrent_webgpu.js [N] [T] [F] [H] [steps]
 */
import { Adam, LSTM, Linear, Rng, Sequential, crossEntropy, rand, setBackend, type Module } from '../src/index.js';
import { initWasm } from '../src/backend/wasm/index.js';
import { disposeWebGPU, initWebGPU, webgpuInfo } from '../src/backend/webgpu/index.js';

const [N, T, F, H, steps] = [2, 3, 4, 5, 6].map((i, k) => Number(process.argv[i] ?? [32, 16, 16, 64, 5][k]));
await initWasm();
setBackend('wasm');
await initWebGPU();

async function run(label: string, device: boolean, fused: boolean): Promise<void> {
  const rng = new Rng(1);
  const model: Module = new Sequential(
    new LSTM(F, H, { returnSequences: false, fused, rng: rng.fork('lstm') }),
    new Linear(H, 10, { rng: rng.fork('linear') }),
  );
  if (device) await model.to('webgpu');
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const x = rand([N, T, F], rng.fork('x'));
  const y = Int32Array.from({ length: N }, (_, i) => i % 10);
  const step = () => {
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(x, { training: true }), y);
    loss.backward();
    opt.step();
    return loss;
  };
  await step().read();
  const before = webgpuInfo();
  const t0 = performance.now();
  let last = step();
  for (let i = 1; i < steps; i++) last = step();
  await last.read();
  const ms = (performance.now() - t0) / steps;
  const after = webgpuInfo();
  const dispatches = Object.values(after.kernels).reduce((a, b) => a + b, 0) - Object.values(before.kernels).reduce((a, b) => a + b, 0);
  const extra = device
    ? `, ${(dispatches / steps).toFixed(0)} dispatches and ${((after.uploads - before.uploads) / steps).toFixed(0)} uploads a step`
    : '';
  console.log(`${label}: ${ms.toFixed(1)} ms a step${extra}`);
}

console.log(`LSTM(${F}, ${H}) → Linear(${H}, 10), N = ${N}, T = ${T}, ${steps} steps; adapter: ${webgpuInfo().adapter}`);
await run('wasm, fused', false, true);
await run('webgpu, fused', true, true);
await run('webgpu, composed (fused: false)', true, false);
disposeWebGPU();
