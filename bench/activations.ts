/**
 * What an MLP's activation costs in a training step: 784-1000-500-10 at batch 256, Adam, with
 * ReLU, GELU (erf), GELU (tanh) and SiLU between the layers, each model fused as fit() fuses it.
 * The models' steps are interleaved (one step of each per round, so a slow phase of the machine
 * hits all of them alike); each model's time is its best of the rounds, and the ratios are to ReLU's.
 *   node --experimental-wasm-relaxed-simd dist/bench/activations.js [rounds] [backend] [--profile] [--unfused]
 * With --profile every backend kernel is wrapped in a timer and each model's median ms per step
 * per kernel (and the rest: autograd, allocation, JS) is printed after the step times. With
 * --unfused the GELU and SiLU models run unfused too (Linear, then the activation module).
 */
import {
  Adam,
  GELU,
  Linear,
  ReLU,
  Rng,
  SiLU,
  Sequential,
  Tensor,
  type Backend,
  type Module,
  backend,
  crossEntropy,
  extensionsOf,
  fuse,
  registerBackend,
  setBackend,
} from '../src/index.js';
import { initWasm } from '../src/wasm.js';
import { median } from './common.js';

const args = process.argv.slice(2);
const profile = args.includes('--profile'),
  unfused = args.includes('--unfused');
const [roundsArg = '30', which = 'wasm'] = args.filter((a) => !a.startsWith('--'));
const rounds = Number(roundsArg);
const t = process.env.DESCENT_WASM_THREADS;
await initWasm(t ? { threads: Number(t) } : {});
setBackend(which);

/** Per kernel name, the ms spent in it during the current step (profile only). */
let current = new Map<string, number>();
if (profile) {
  const inner: Record<string, unknown> = { ...backend(), ...extensionsOf(backend().name) };
  const timed: Record<string, unknown> = { name: 'timed' };
  for (const [k, f] of Object.entries(inner)) {
    if (typeof f !== 'function') continue;
    timed[k] = (...a: unknown[]) => {
      const key =
        k === 'binary' || k === 'unary'
          ? `${k} ${a[0]}`
          : k === 'linear' || k === 'linearBackward'
            ? `${k} ${String(a[k === 'linear' ? 7 : 10])}`
            : k;
      const t0 = performance.now();
      const r = (f as (...x: unknown[]) => unknown)(...a);
      current.set(key, (current.get(key) ?? 0) + performance.now() - t0);
      return r;
    };
  }
  registerBackend(timed as unknown as Backend, timed);
  setBackend('timed');
}

const B = 256,
  IN = 784,
  H1 = 1000,
  H2 = 500,
  OUT = 10;
const kinds: [string, () => Module][] = [
  ['relu', () => new ReLU()],
  ['gelu', () => new GELU()],
  ['gelu-tanh', () => new GELU('tanh')],
  ['silu', () => new SiLU()],
];
const dataRng = new Rng(7);
const x = new Tensor(
  Float32Array.from({ length: B * IN }, () => dataRng.uniform()),
  [B, IN],
);
const y = Int32Array.from({ length: B }, () => Math.floor(dataRng.uniform() * OUT));

interface Run {
  name: string;
  step: () => void;
  times: number[];
  kernels: Map<string, number[]>;
  layers: string;
}
const variants: [string, () => Module, boolean][] = kinds.map(([name, act]) => [name, act, true]);
if (unfused) for (const [name, act] of kinds.slice(1)) variants.push([`${name} unf.`, act, false]);
const runs: Run[] = variants.map(([name, act, fused]) => {
  const rng = new Rng(1);
  const plain = new Sequential(new Linear(IN, H1, { rng }), act(), new Linear(H1, H2, { rng }), act(), new Linear(H2, OUT, { rng }));
  const model = fused ? fuse(plain) : plain;
  const opt = new Adam(model.namedParameters(), { lr: 1e-3 });
  const step = () => {
    opt.zeroGrad({ setToNone: false });
    crossEntropy(model.forward(x, { training: true }), y).backward();
    opt.step();
  };
  return { name, step, times: [], kernels: new Map(), layers: model.layers.map((l) => l.describe()).join(', ') };
});

for (let i = 0; i < 3; i++) for (const r of runs) r.step();
for (let i = 0; i < rounds; i++) {
  for (const r of runs) {
    current = new Map();
    const t0 = performance.now();
    r.step();
    r.times.push(performance.now() - t0);
    for (const [k, ms] of current) {
      const list = r.kernels.get(k) ?? [];
      list.push(ms);
      r.kernels.set(k, list);
    }
  }
}

const best = (r: Run) => Math.min(...r.times);
const base = best(runs[0]);
console.log(`MLP ${IN}-${H1}-${H2}-${OUT}, batch ${B}, Adam, on ${which}; ${rounds} interleaved rounds${profile ? ' (profiled)' : ''}`);
console.log('model           best ms  median ms  best/relu');
for (const r of runs) {
  console.log(
    `${r.name.padEnd(14)}${best(r).toFixed(2).padStart(9)}${median(r.times).toFixed(2).padStart(11)}${(best(r) / base).toFixed(3).padStart(11)}   ${r.layers}`,
  );
}
if (profile) {
  for (const r of runs) {
    console.log(`\n${r.name}: kernel (median ms per step)`);
    let inKernels = 0;
    for (const [k, list] of [...r.kernels].sort((a, b) => median(b[1]) - median(a[1]))) {
      const ms = median(list);
      inKernels += ms;
      if (ms >= 0.05) console.log(`  ${k.padEnd(34)}${ms.toFixed(3).padStart(8)}`);
    }
    console.log(`  ${'outside the backend'.padEnd(34)}${(median(r.times) - inKernels).toFixed(3).padStart(8)}`);
  }
}
