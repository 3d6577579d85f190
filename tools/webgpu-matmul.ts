/**
 * Times the WebGPU backend's float32 matmul on n × n matrices (the 4096² criterion):
 *
 *   node dist/tools/webgpu-matmul.js [n=4096] [seconds=3] [autotune]
 *
 * With `autotune`, the device is started with initWebGPU({ autotune: true }) and one product is
 * read back first, so the product runs under the tile shape timed fastest (named in the line, with
 * tileFor's). Queues products of two seeded random matrices until `seconds` have passed (after 3 untimed
 * ones that compile and warm the pipeline), waits for the device, and prints one JSON line: the
 * adapter, n, the products timed, seconds, TFLOP/s (2n³ per product) and the largest error of 64
 * sampled entries against a float64 dot product on the host, scaled by the row and column norms.
 * It measures; it asserts nothing.
 */
import { GpuStorage, disposeWebGPU, initWebGPU, webgpuInfo, webgpuKernels } from '../src/backend/webgpu/index.js';
import { Rng } from '../src/index.js';
import { sampledError, timeQueued } from './webgpu-timing.js';

const n = Number(process.argv[2] ?? 4096);
const budget = Number(process.argv[3] ?? 3);
const autotune = process.argv[4] === 'autotune';
if (!Number.isInteger(n) || n < 1 || !(budget > 0) || (process.argv[4] !== undefined && !autotune)) {
  process.stderr.write(
    `webgpu-matmul: expected a size n ≥ 1, seconds > 0 and optionally autotune, got ${process.argv.slice(2).join(' ')}\n`,
  );
  process.exit(2);
}
const ctx = await initWebGPU({ powerPreference: 'high-performance', autotune });
const K = webgpuKernels(ctx);
const rng = new Rng(7);
const host = (len: number) => Float32Array.from({ length: len }, () => 2 * rng.uniform() - 1);
const ha = host(n * n);
const hb = host(n * n);
const a = GpuStorage.from(ha, ctx);
const b = GpuStorage.from(hb, ctx);
const c = GpuStorage.zeros('float32', n * n, ctx);

if (autotune) {
  // the first read times the product under every shape
  K.matmul(a, b, c, n, n, n, false, false);
  await c.read();
}
// queue in groups of 8 products so the host never runs far ahead of the device
const { calls: reps, seconds } = await timeQueued(ctx, () => K.matmul(a, b, c, n, n, n, false, false), budget, 3, 8);
const maxError = sampledError(ha, hb, (await c.read()) as Float32Array, n, 64, rng);
const info = webgpuInfo();
process.stdout.write(
  `${JSON.stringify({
    adapter: info.adapter,
    software: info.software,
    n,
    products: reps,
    seconds,
    tflops: (2 * n ** 3 * reps) / seconds / 1e12,
    maxError,
    ...(info.autotune ? { tuned: info.autotune } : {}),
  })}\n`,
);
disposeWebGPU();
