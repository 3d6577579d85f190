/**
 * Time one optimizer step on 10 M float32 parameters (one tensor), as `npm run bench` reports it.
 *   npx tsc -p tsconfig.json && node dist/tools/bench_optim_step.js [adam|sgd|...] [N] [reference|wasm]
 * "reference" times the plain TypeScript loops of src/optim/*.ts; "wasm" the backend's fused kernel
 * where it has one (Adam/AdamW), with the state allocated in WebAssembly memory.
 * Compare with tools/bench_optim_step.py (PyTorch, same sizes). Prints the median of 15 steps after 3
 * warm-up steps; the machine is shared, so run it several times.
 */
import { fromData, createOptimizer } from '../src/index.js';
import { selectBackend } from '../src/cli/backend.js';

const key = process.argv[2] ?? 'adam';
const n = Number(process.argv[3] ?? 10_000_000);
const backendName = process.argv[4] ?? 'reference';
await selectBackend(backendName);
const p = fromData(
  new Float32Array(n).map((_, i) => Math.sin(i)),
  [n],
  { requiresGrad: true },
);
p.grad = fromData(
  new Float32Array(n).map((_, i) => Math.cos(i) * 1e-2),
  [n],
);
const opt = createOptimizer(key, [['w', p]], key === 'momentum' ? { lr: 1e-3 } : {});
const times: number[] = [];
for (let i = 0; i < 18; i++) {
  const t0 = performance.now();
  opt.step();
  const t1 = performance.now();
  if (i >= 3) times.push(t1 - t0);
}
times.sort((a, b) => a - b);
console.log(
  `descent (${backendName}) ${key} step on ${n} float32 parameters: median ${times[7].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[14].toFixed(1)})`,
);
