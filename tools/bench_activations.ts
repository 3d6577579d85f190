/**
 * Forward + backward time of the activations and the row normalisations on the wasm backend,
 * x [64, 128, 256] float32: SiLU and GELU (their own kernels, for scale), Mish, Hardswish,
 * Hardsigmoid, ReLU6, SELU, LayerNorm(256) and RMSNorm(256). Given the path of another build's
 * dist/src/index.js (another checkout's `npm run build`), it times both builds, interleaved call by
 * call, so that a shared, noisy machine slows both alike:
 *   npx tsc -p tsconfig.json && node dist/tools/bench_activations.js [reps] [threads] [/other/dist/src/index.js]
 * Prints the minimum over `reps` (default 9) of each, in ms, and the ratio other/this.
 */
import { pathToFileURL } from 'node:url';
import * as here from '../src/index.js';
import { initWasm } from '../src/backend/wasm/index.js';

type Lib = typeof here;
const reps = Number(process.argv[2] ?? 9);
const threads = Number(process.argv[3] ?? 2);
const otherPath = process.argv[4];

async function load(lib: Lib, wasmIndex: { initWasm: typeof initWasm }): Promise<Lib> {
  await wasmIndex.initWasm({ threads });
  lib.setBackend('wasm');
  return lib;
}

const libs: [string, Lib][] = [['this', await load(here, { initWasm })]];
if (otherPath) {
  const url = pathToFileURL(otherPath).href;
  const other = (await import(url)) as Lib;
  const otherWasm = (await import(new URL('backend/wasm/index.js', url).href)) as { initWasm: typeof initWasm };
  libs.push(['other', await load(other, otherWasm)]);
}

const shape = [64, 128, 256];
const cases: [string, (d: Lib) => (x: here.Tensor) => here.Tensor][] = [
  ['SiLU', (d) => d.silu],
  ['GELU', (d) => (x) => d.gelu(x)],
  ['Mish', (d) => d.mish],
  ['Hardswish', (d) => d.hardswish],
  ['Hardsigmoid', (d) => d.hardsigmoid],
  ['ReLU6', (d) => d.relu6],
  ['SELU', (d) => d.selu],
  [
    'LayerNorm',
    (d) => {
      const m = new d.LayerNorm(256);
      return (x) => m.forward(x);
    },
  ],
  [
    'RMSNorm',
    (d) => {
      const m = new d.RMSNorm(256);
      return (x) => m.forward(x);
    },
  ],
];

/** ms of one forward and backward of `f` on a fresh x (its data made once per library). */
function time(d: Lib, f: (x: here.Tensor) => here.Tensor, xv: Float32Array, gv: Float32Array): number {
  const x = d.fromData(xv, shape, { requiresGrad: true });
  const gy = d.fromData(gv, shape);
  const t0 = performance.now();
  d.backward(f(x), { gradient: gy });
  return performance.now() - t0;
}

const rng = new here.Rng(1);
const xv = here.randn(shape, rng).data as Float32Array;
const gv = here.randn(shape, rng).data as Float32Array;
for (let i = 0; i < xv.length; i++) xv[i] *= 4;
console.log(`wasm, ${threads} threads, [${shape}] float32, forward + backward, min of ${reps} (ms)`);
for (const [name, make] of cases) {
  const fs = libs.map(([, d]) => make(d));
  const best = libs.map(() => Infinity);
  for (let r = 0; r < reps + 1; r++)
    for (let k = 0; k < libs.length; k++) {
      const t = time(libs[k][1], fs[k], xv, gv);
      if (r > 0) best[k] = Math.min(best[k], t); // the first is a warm-up
    }
  const cols = best.map((b, k) => `${libs[k][0]} ${b.toFixed(1)}`).join('  ');
  console.log(`${name.padEnd(12)} ${cols}${best.length > 1 ? `  other/this ${(best[1] / best[0]).toFixed(2)}` : ''}`);
}
process.exit(0);
